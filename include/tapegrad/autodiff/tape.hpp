// GradientTape: reverse-mode automatic differentiation by recording.
//
// While a GradientTape is alive, every differentiable op whose inputs it
// watches is appended to it, in execution order (a Wengert list). Trainable
// tensors (tg::Variable) are watched automatically; `tape.watch(t)` watches any
// other floating tensor, and an op's output is watched by every tape that
// recorded it. `tape.gradient(y, {x, ...})` walks the records backwards from y,
// calling each op's backward function and *adding* the results into the
// gradients of the op's inputs.
//
//   tg::Tensor x = tg::Tensor({1.0, 2.0, 3.0});
//   tg::GradientTape tape;
//   tape.watch(x);
//   tg::Tensor y = tg::sum(x * x);
//   tg::Tensor dx = tape.gradient(y, {x})[0];   // [2, 4, 6]
//
// Backward functions are written with the library's own ops, so while an outer
// tape is active the backward computation of an inner tape is itself recorded
// on the outer one: nested tapes give higher-order derivatives (as TensorFlow).
// A tape does not record the ops of its own gradient computation.
//
// Conventions: a source not connected to the target gets a gradient of zeros
// (TensorFlow's unconnected_gradients=ZERO), of the source's shape and dtype.
// A tape answers one gradient() call unless constructed persistent.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/closure.hpp"
#include "tapegrad/autodiff/gradient.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

namespace detail {
// Serial of the newest tape alive on this thread (0: none). Serials increase
// with each tape created, so the newest tape has the largest one.
extern thread_local std::uint64_t newest_tape_serial;
// Tapes whose serial is below this are paused by a NoGradGuard (1: none
// paused). Atomic because a guard destroyed on another thread updates it; a
// relaxed load is a plain load.
extern thread_local std::atomic<std::uint64_t> no_grad_below;
// The NoGradGuards alive for one thread (see NoGradGuard).
struct NoGradState;
// What a GradientTape stores (autodiff/tape_storage.hpp, private).
struct TapeStorage;
}  // namespace detail

// True if some tape might record an op now: one comparison, inlined, so ops
// outside any tape pay nothing else.
inline bool is_recording() {
  return detail::newest_tape_serial >= detail::no_grad_below.load(std::memory_order_relaxed);
}

// Records `output = op(inputs)` on every active tape that watches one of the
// inputs, and marks `output` as watched by those tapes. Ops call it as
//
//   if (tg::is_recording())
//     tg::record_op("mul", {a, b}, out, [a, b](const Tensor& g, BackwardContext& ctx) { ... });
//
// The backward function must capture by value what it needs (tensor handles are
// cheap) and write its gradients with differentiable ops. `output` must be a
// tensor created by the op, not one of its inputs.
void record_op(const char* name, std::initializer_list<Tensor> inputs, const Tensor& output,
               BackwardFunction backward);
void record_op(const char* name, std::vector<Tensor> inputs, const Tensor& output, BackwardFunction backward);

namespace detail {
// Records `output = op(inputs)` with `closure` (of the type `ops` describes) on
// every active tape that watches an input: the last such tape takes the
// closure by move, the others copy it.
void record_closure(const char* name, const Tensor* inputs, std::size_t n, const Tensor& output, void* closure,
                    const ClosureOps& ops);
}  // namespace detail

// The form ops use, with a lambda: the lambda is stored as it is in the tape's
// arena, and when no tape watches the inputs it is never stored at all.
template <class F>
  requires(!std::is_same_v<std::decay_t<F>, BackwardFunction> &&
           std::is_invocable_v<std::decay_t<F>&, const Tensor&, BackwardContext&>)
void record_op(const char* name, std::initializer_list<Tensor> inputs, const Tensor& output, F&& backward) {
  if (!is_recording()) return;
  using Closure = std::decay_t<F>;
  if constexpr (std::is_same_v<Closure, F>) {  // an rvalue: move from it
    detail::record_closure(name, inputs.begin(), inputs.size(), output, &backward, detail::closure_ops<Closure>);
  } else {
    Closure copy(backward);
    detail::record_closure(name, inputs.begin(), inputs.size(), output, &copy, detail::closure_ops<Closure>);
  }
}

// For a backward computed with plain loops instead of differentiable ops:
// call it on each gradient such a backward produces, naming the tensors the
// gradient was computed from (the output gradient and what the backward
// captured). If an outer tape watches one of them (a nested tape is asking for
// a higher derivative through this op), the outer tape then raises a clear
// error when it differentiates through `gradient`, instead of silently
// treating it as a constant (a wrong, zero, higher derivative).
//
//   Tensor dx = plain_kernel(g, x);
//   tg::mark_not_differentiable("my_op", {g, x}, dx);
//   ctx.add(0, dx);
void mark_not_differentiable(const char* op, std::initializer_list<Tensor> computed_from, const Tensor& gradient);

class GradientTape {
 public:
  explicit GradientTape(bool persistent = false, bool watch_accessed_variables = true);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  // Watches a floating tensor: ops on it are recorded from now on.
  void watch(const Tensor& tensor);
  void watch(const std::vector<Tensor>& tensors);
  bool is_watched(const Tensor& tensor) const;

  // d target / d source for each source (dense, with the source's shape and
  // dtype). A non-scalar target takes `output_gradient` (default: ones).
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                               const Tensor& output_gradient = Tensor());
  // As gradient(), keeping row-sparse gradients (embedding lookups) sparse.
  std::vector<Gradient> sparse_gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                        const Tensor& output_gradient = Tensor());

  bool persistent() const { return persistent_; }
  // Tapes are numbered in creation order (a NoGradGuard pauses those below a number).
  std::uint64_t serial() const { return serial_; }
  bool watches_accessed_variables() const { return watch_accessed_variables_; }
  // False while the tape computes its own gradient or a NoGradGuard pauses it.
  bool records_now() const { return !paused_ && serial_ >= detail::no_grad_below.load(std::memory_order_relaxed); }
  // Number of recorded ops.
  std::size_t size() const;
  // Gradients that backward functions computed for inputs that did not need
  // one, over this tape's gradient calls: wasted work, which gradcheck reports.
  std::size_t unneeded_gradients() const { return unneeded_gradients_; }

  // Lists each recorded op with its inputs and its output's shape and dtype.
  void print(std::ostream& os) const;
  // Graphviz DOT of the recorded graph: tensors as ellipses, ops as boxes.
  std::string to_dot() const;

 private:
  friend void detail::record_closure(const char*, const Tensor*, std::size_t, const Tensor&, void*,
                                     const detail::ClosureOps&);
  std::vector<Gradient> run_backward(const Tensor& target, const std::vector<Tensor>& sources,
                                     const Tensor& output_gradient, const char* caller);

  std::uint64_t serial_;
  bool persistent_;
  bool watch_accessed_variables_;
  bool used_ = false;
  bool paused_ = false;
  std::size_t unneeded_gradients_ = 0;
  // The records, their arena and the watched tensors, behind a pointer so
  // that none of it is in this header.
  std::unique_ptr<detail::TapeStorage> storage_;
};

// Pauses, while alive, every tape of this thread that exists when the guard is
// created (for initialization, optimizer steps, evaluation): ops record nothing
// on them. A tape created inside the guard records normally, as a new tape
// inside TensorFlow's tape.stop_recording() does, so a function that computes
// a gradient of its own keeps working when called under a guard.
//
// A tape is paused exactly while some guard that pauses it is alive, whatever
// order the guards end in (two held by unique_ptr and reset out of order) and
// whichever thread destroys one (a guard made with new and deleted on another
// thread ends the pause of the thread that made it, and of no other). The
// thread keeps the set of its live guards instead of each guard restoring a
// saved flag, which would leave tapes paused for good in both cases.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  std::uint64_t below_;  // pauses the tapes whose serial is below this (those alive when it was made)
  std::shared_ptr<detail::NoGradState> state_;  // of the thread that made it
};

// The same values, seen by no tape: gradients do not flow through it.
Tensor stop_gradient(const Tensor& x);

}  // namespace tg
