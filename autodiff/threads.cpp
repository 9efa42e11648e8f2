// A fixed pool of worker threads for detail::parallel_for: the caller runs the
// first range itself and the workers the others. Between jobs a worker spins
// for a short while (kSpin), then sleeps on a condition variable; the caller
// waits for the workers the same way. Waking a sleeping thread took 75-85 us
// per parallel_for on the 2-core VMs we measure on (the hypervisor parks an
// idle virtual CPU), as long as a pass over 4 MB: ops that run one pass after
// another now find the workers awake. The spin is bounded, so idle workers
// leave the cores to BLAS and to other programs soon after the last op.
#include "tapegrad/autodiff/threads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tg {

namespace {

int threads_from_environment() {
  for (const char* name : {"TAPEGRAD_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* value = std::getenv(name)) {
      char* end = nullptr;
      long n = std::strtol(value, &end, 10);
      if (end != value && *end == '\0' && n >= 1) return static_cast<int>(std::min<long>(n, max_num_threads));
    }
  }
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1U, static_cast<unsigned>(max_num_threads)));
}

thread_local bool inside_parallel_region = false;

// A body to run on ranges: the type-erased callable of parallel_for.
struct Job {
  detail::RangeFunction call;
  void* body;
  void operator()(std::int64_t lo, std::int64_t hi) const { call(body, lo, hi); }
};

// How long a thread polls for work (a worker) or for the workers (the caller)
// before it sleeps.
constexpr std::chrono::microseconds kSpin{100};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Polls ready() for up to kSpin; true as soon as it holds.
template <class Ready>
bool spin_until(Ready ready) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > kSpin) return ready();
  }
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {}
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int threads() const { return threads_; }

  // Runs body on `parts` ranges of [0, n): part 0 on the caller. The job's
  // fields are written and read under mutex_; generation_ and remaining_ are
  // atomics besides, so that the waits can poll them before they sleep.
  void run(std::int64_t n, int parts, const Job& body) {
    std::unique_lock<std::mutex> job_lock(job_mutex_);  // one job at a time (callers on several threads)
    ensure_workers(parts - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      parts_ = parts;
      next_part_ = 1;
      remaining_.store(parts - 1);
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    std::exception_ptr caller_error;
    inside_parallel_region = true;
    try {
      body(range_begin(n, 0, parts), range_begin(n, 1, parts));
    } catch (...) {
      caller_error = std::current_exception();
    }
    inside_parallel_region = false;
    spin_until([this] { return remaining_.load() == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return remaining_.load() == 0; });
    body_ = nullptr;
    std::exception_ptr error = caller_error ? caller_error : error_;
    lock.unlock();
    if (error) std::rethrow_exception(error);
  }

 private:
  // Part k of [0, n) split in `parts` near-equal ranges is [range_begin(k), range_begin(k + 1)).
  static std::int64_t range_begin(std::int64_t n, int part, int parts) { return n * part / parts; }

  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) workers_.emplace_back([this] { work(); });
  }

  void work() {
    inside_parallel_region = true;
    std::uint64_t seen = 0;
    const auto has_work = [&] { return stopping_.load() || (generation_.load() != seen && next_part_ < parts_); };
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!has_work()) {
        lock.unlock();
        spin_until([&] { return stopping_.load() || generation_.load() != seen; });
        lock.lock();
        wake_.wait(lock, has_work);
      }
      if (stopping_.load()) return;
      seen = generation_.load();
      while (next_part_ < parts_) {
        const int part = next_part_++;
        const std::int64_t lo = range_begin(n_, part, parts_), hi = range_begin(n_, part + 1, parts_);
        const auto* body = body_;
        lock.unlock();
        std::exception_ptr error;
        try {
          (*body)(lo, hi);
        } catch (...) {
          error = std::current_exception();
        }
        lock.lock();
        if (error && !error_) error_ = error;
        if (remaining_.fetch_sub(1) == 1) done_.notify_one();
      }
    }
  }

  const int threads_;
  std::mutex job_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const Job* body_ = nullptr;
  std::int64_t n_ = 0;
  int parts_ = 0, next_part_ = 0;
  std::atomic<int> remaining_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::exception_ptr error_;
  std::atomic<bool> stopping_{false};
};

std::mutex pool_mutex;
std::shared_ptr<Pool>& pool_slot() {
  static auto* slot = new std::shared_ptr<Pool>(std::make_shared<Pool>(threads_from_environment()));
  return *slot;  // never destroyed: worker threads must not be joined during static destruction
}

std::shared_ptr<Pool> current_pool() {
  std::lock_guard<std::mutex> lock(pool_mutex);
  return pool_slot();
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > max_num_threads)
    throw std::invalid_argument("set_num_threads: expected a number of threads from 1 to " +
                                std::to_string(max_num_threads) + ", received " + std::to_string(n));
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (pool_slot()->threads() != n) pool_slot() = std::make_shared<Pool>(n);
}

int get_num_threads() { return current_pool()->threads(); }

namespace detail {

void parallel_for_in_pool(std::int64_t n, std::int64_t grain, RangeFunction call, void* body) {
  const Job job{call, body};
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  if (inside_parallel_region || n < 2 * grain) {
    job(0, n);
    return;
  }
  std::shared_ptr<Pool> pool = current_pool();
  const int parts = static_cast<int>(std::min<std::int64_t>(pool->threads(), n / grain));
  if (parts <= 1) {
    job(0, n);
    return;
  }
  pool->run(n, parts, job);
}

}  // namespace detail
}  // namespace tg
