// A fixed pool of worker threads for detail::parallel_for: the caller runs the
// first range itself and the workers the others; workers sleep on a condition
// variable between jobs (no spinning, so they do not compete with BLAS's own
// threads for the cores).
#include "tapegrad/autodiff/threads.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tg {

namespace {

int threads_from_environment() {
  for (const char* name : {"TAPEGRAD_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* value = std::getenv(name)) {
      char* end = nullptr;
      long n = std::strtol(value, &end, 10);
      if (end != value && *end == '\0' && n >= 1) return static_cast<int>(std::min(n, 256L));
    }
  }
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

thread_local bool inside_parallel_region = false;

// A body to run on ranges: the type-erased callable of parallel_for.
struct Job {
  detail::RangeFunction call;
  void* body;
  void operator()(std::int64_t lo, std::int64_t hi) const { call(body, lo, hi); }
};

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {}
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int threads() const { return threads_; }

  // Runs body on `parts` ranges of [0, n): part 0 on the caller.
  void run(std::int64_t n, int parts, const Job& body) {
    std::unique_lock<std::mutex> job_lock(job_mutex_);  // one job at a time (callers on several threads)
    ensure_workers(parts - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      parts_ = parts;
      next_part_ = 1;
      remaining_ = parts - 1;
      error_ = nullptr;
      ++generation_;
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
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return remaining_ == 0; });
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
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && next_part_ < parts_); });
      if (stopping_) return;
      seen = generation_;
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
        if (--remaining_ == 0) done_.notify_one();
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
  int parts_ = 0, next_part_ = 0, remaining_ = 0;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
  bool stopping_ = false;
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
  if (n < 1) throw std::invalid_argument("set_num_threads: expected a number of threads >= 1, received " + std::to_string(n));
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
