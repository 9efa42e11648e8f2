// The tape's storage and bookkeeping (tape_storage.hpp): the arena of
// records, the tensors a tape watches, the tapes alive on a thread and the
// NoGradGuards pausing them. The recording and the backward walk are in
// tape.cpp.
#include "tape_storage.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <new>

namespace tg {

namespace detail {
thread_local std::uint64_t newest_tape_serial = 0;
thread_local std::atomic<std::uint64_t> no_grad_below{1};

// The live NoGradGuards of one thread, by the threshold each pauses below, in
// creation order: serials only grow, so the list is sorted and its last entry
// is the largest. A tape is paused while any guard pausing it lives, so the
// thread's no_grad_below is that largest threshold (1 when none is left),
// recomputed whenever a guard ends, in any order. A guard may end on another
// thread, hence the mutex and the atomic; `below` is cleared when the thread
// exits, after which ending a guard has nothing left to resume.
struct NoGradState {
  std::mutex mutex;
  std::vector<std::uint64_t> thresholds;
  std::atomic<std::uint64_t>* below = nullptr;
};
}  // namespace detail

namespace {

std::atomic<std::uint64_t> next_serial{1};

// This thread's NoGradState, shared with its guards so that one outliving the
// thread (deleted elsewhere later) still finds it.
struct NoGradThread {
  std::shared_ptr<detail::NoGradState> state = std::make_shared<detail::NoGradState>();
  NoGradThread() { state->below = &detail::no_grad_below; }
  ~NoGradThread() {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->below = nullptr;
  }
  NoGradThread(const NoGradThread&) = delete;
  NoGradThread& operator=(const NoGradThread&) = delete;
};
thread_local NoGradThread no_grad_thread;

}  // namespace

namespace detail {

// ---- the arena ---------------------------------------------------------------

void* Arena::allocate(std::size_t bytes, std::size_t align) {
  constexpr std::size_t kChunk = 64 * 1024;
  auto fits = [&] {
    auto address = reinterpret_cast<std::uintptr_t>(next_);
    std::size_t pad = (align - address % align) % align;
    return next_ && pad + bytes <= left_ ? pad : SIZE_MAX;
  };
  std::size_t pad = fits();
  if (pad == SIZE_MAX) {
    // alignof(max_align_t) from new[]; larger alignments get room to pad.
    const std::size_t size = std::max(kChunk, bytes + align);
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(size));
    next_ = chunks_.back().get();
    left_ = size;
    pad = fits();
  }
  void* p = next_ + pad;
  next_ += pad + bytes;
  left_ -= pad + bytes;
  return p;
}

void Arena::clear() {
  chunks_.clear();
  next_ = nullptr;
  left_ = 0;
}

// ---- records -----------------------------------------------------------------

void TapeStorage::append(const char* name, const Tensor* inputs, std::size_t n, const Tensor& output,
                         void* closure, const ClosureOps& ops, bool move_closure, std::uint64_t mask) {
  void* stored = arena.allocate(ops.size, ops.align);
  if (move_closure) ops.move_to(closure, stored);
  else ops.copy_to(closure, stored);
  auto* stored_inputs = static_cast<Tensor*>(arena.allocate(n * sizeof(Tensor), alignof(Tensor)));
  for (std::size_t i = 0; i < n; ++i) ::new (stored_inputs + i) Tensor(inputs[i]);
  auto* versions =
      static_cast<std::uint64_t*>(arena.allocate((n + 1) * sizeof(std::uint64_t), alignof(std::uint64_t)));
  for (std::size_t i = 0; i < n; ++i) versions[i] = inputs[i].defined() ? inputs[i].impl()->version_counter() : 0;
  versions[n] = output.impl()->version_counter();
  try {
    records.push_back({name, stored_inputs, n, output, stored, &ops, mask, versions});
  } catch (...) {
    ops.destroy(stored);
    for (std::size_t i = 0; i < n; ++i) stored_inputs[i].~Tensor();
    throw;
  }
  watching.insert_held(output.impl().get());  // the record holds it
}

void TapeStorage::destroy_record_contents() {
  for (TapeRecord& r : records) {
    r.closure_ops->destroy(r.closure);
    for (std::size_t i = 0; i < r.input_count; ++i) r.inputs[i].~Tensor();
  }
}

void TapeStorage::release_records() {
  destroy_record_contents();
  watching.release(records, watched);  // once the closures and inputs no longer hold the outputs
  records.clear();
  arena.clear();
}

void WatchedTensors::release(const std::vector<TapeRecord>& records, const std::vector<Tensor>& watched) {
  if (records.empty()) return;
  // What still holds an output now is outside the records (another tensor's
  // handle, the user's, a watch()), so a count of 1 is the record's own.
  for (const TapeRecord& r : records) {
    if (r.output.impl().use_count() == 1) continue;
    if (!released_) released_.emplace(records.size());
    released_->get(r.output.impl().get()) = r.output.impl();
  }
  held_.clear();
  for (const Tensor& t : watched) held_.insert(t.impl().get());
}

}  // namespace detail

// ---- the tapes alive -----------------------------------------------------------

GradientTape::GradientTape(bool persistent, bool watch_accessed_variables)
    : serial_(next_serial.fetch_add(1)),
      persistent_(persistent),
      watch_accessed_variables_(watch_accessed_variables),
      storage_(std::make_unique<detail::TapeStorage>()) {
  detail::live_tapes.push_back(this);
  detail::newest_tape_serial = serial_;
}

GradientTape::~GradientTape() {
  storage_.reset();  // the records first, while the tape is still on the list
  std::vector<GradientTape*>& live = detail::live_tapes;
  auto it = std::find(live.begin(), live.end(), this);
  if (it != live.end()) live.erase(it);
  // Tapes are pushed in creation order, so the last one has the largest serial.
  detail::newest_tape_serial = live.empty() ? 0 : live.back()->serial_;
}

std::size_t GradientTape::size() const { return storage_->records.size(); }

// Every tape created so far has a serial below next_serial, and no guard of
// this thread has a larger threshold (serials only grow).
NoGradGuard::NoGradGuard() : below_(next_serial.load()), state_(no_grad_thread.state) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->thresholds.push_back(below_);
  if (state_->below) state_->below->store(below_, std::memory_order_relaxed);  // null once the thread is exiting
}

NoGradGuard::~NoGradGuard() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<std::uint64_t>& live = state_->thresholds;
  // Guards of one threshold pause the same tapes: removing any one of them will do.
  live.erase(std::find(live.begin(), live.end(), below_));
  if (state_->below) state_->below->store(live.empty() ? 1 : live.back(), std::memory_order_relaxed);
}

}  // namespace tg
