// Optimizer: the base of every optimizer (Keras semantics).
//
//   tg::optimizers::Adam adam(1e-3);
//   for (...) {
//     tg::GradientTape tape;
//     tg::Tensor loss = ...;
//     auto grads = tape.sparse_gradient(loss, variables);  // or tape.gradient(...)
//     adam.apply_gradients(grads, variables);              // updates the variables in place
//   }
//
// apply_gradients(grads, variables):
//   - grads[i] is the gradient of variables[i]: dense, or row-sparse
//     (tg::Gradient::rows, what embedding lookups produce), or undefined (that
//     variable is skipped, as Keras skips None gradients);
//   - every variable is updated IN PLACE: its identity, and so every handle to
//     it (a layer's weight, the tape's watch), stays the same. The update runs
//     under a tg::NoGradGuard: no tape records it;
//   - each call is one step: iterations() grows by one. An empty list is a
//     no-op (no step), a list whose gradients are all undefined an error, as
//     Keras;
//   - every check is made before anything is written, so a call that throws
//     leaves the variables, the state and iterations() unchanged.
// Checks (std::invalid_argument, naming the optimizer and the variable by
// index and name): as many gradients as variables; each variable defined,
// float32 or float64 and trainable, listed once; each gradient of its
// variable's shape and dtype; row indices within the variable's first axis.
//
// State. Optimizers keep per-variable state ("slots": Adam's first and second
// moments, SGD's velocity, ...), created lazily on a variable's first update
// with the variable's shape and dtype, and keyed by the variable's identity
// (Tensor::id()): pass the same variables (handles to the same tensors) at
// every step. A destroyed variable's state is dropped at a later step. `slot()`
// shows the state, `reset()` forgets it, `clone()` makes a fresh optimizer
// with the same hyperparameters and no state. Copying an optimizer object
// copies its state (deep: the copy's slots are independent tensors).
//
// Row-sparse gradients. Repeated indices are summed first; then only the rows
// listed are updated, without reading or writing (let alone densifying) the
// rest of the table. For SGD without momentum, and for Adagrad, this is
// exactly the dense update (the other rows would not move anyway). For SGD
// with momentum, Adam, AdamW and RMSprop it is the "lazy" update of PyTorch's
// SparseAdam and TensorFlow Addons' LazyAdam: the untouched rows do not move
// and their slots are not decayed, while the step count (Adam's bias
// correction) is the global one. docs/optimizers.md compares the choices.
//
// Gradient clipping, Keras's, before the update (the Options structs'
// clipnorm, clipvalue, global_clipnorm; at most one may be set, each > 0):
//   clipnorm c:         each gradient g becomes g * c / max(||g||, c);
//   global_clipnorm c:  every gradient is scaled by c / max(N, c), N the norm of
//                       all the step's gradients together (a NaN or infinite N
//                       makes every gradient NaN, as Keras's clip_by_global_norm);
//   clipvalue v:        each element is clamped to [-v, v].
// A row-sparse gradient's norm is that of its rows after repeated rows are
// summed: the norm of the dense gradient it stands for.
//
// Arithmetic is done in the variable's dtype, over contiguous memory, with
// subnormal numbers flushed to zero (x86: MXCSR's FTZ and DAZ, set for the
// update loop only and restored afterwards, as TensorFlow does on CPU):
// moments of weights whose gradient is 0 or tiny decay through the subnormal
// range, where each operation costs about a hundred cycles (Adam spent 15% of
// W4's epoch there); flushing changes values below 1.2e-38 (float32) only. Writing
// an optimizer: derive, list the slots in slot_specs(), write update() for a
// block of rows (both dtypes, usually one template), clone() and
// hyperparameters(); or derive from OptimizerWithOptions (below), which
// writes update() and clone() from one template and an Options struct.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/optimizers/schedules.hpp"

namespace tg::optimizers {

// A learning rate: a constant or a schedule. Converts implicitly from a number,
// from a schedule object and from a shared_ptr to one, so that every optimizer
// takes `Adam(1e-3)`, `Adam(ExponentialDecay(1e-3, 1000, 0.9))` or
// `Adam(std::make_shared<ExponentialDecay>(1e-3, 1000, 0.9))`.
class LearningRate {
 public:
  LearningRate(double value) : value_(value) {}  // NOLINT: a number is a learning rate
  template <std::derived_from<LearningRateSchedule> S>
  LearningRate(std::shared_ptr<S> schedule) : schedule_(std::move(schedule)), is_schedule_(true) {}  // NOLINT
  template <std::derived_from<LearningRateSchedule> S>
  LearningRate(S schedule) : schedule_(std::make_shared<S>(std::move(schedule))), is_schedule_(true) {}  // NOLINT

  double value() const { return value_; }
  // Null for a constant learning rate.
  const std::shared_ptr<const LearningRateSchedule>& schedule() const { return schedule_; }
  // True if made from a schedule (even a null shared_ptr, which optimizers reject).
  bool is_schedule() const { return is_schedule_; }

 private:
  double value_ = 0.0;
  std::shared_ptr<const LearningRateSchedule> schedule_;
  bool is_schedule_ = false;
};

// One step's update of some rows of one variable, handed to Optimizer::update.
// The variable (and each slot, same shape) is seen as num_rows-or-more rows of
// row_size contiguous elements. A dense update is one row holding the whole
// tensor; a row-sparse one lists the variable's rows to update (unique).
template <class T>
struct UpdateBlock {
  T* variable = nullptr;
  // The slots' data, in slot_specs() order (unused entries are null).
  std::array<T*, 4> slots{};
  // num_rows * row_size values: the gradient of row r is at gradient + r * row_size.
  const T* gradient = nullptr;
  // The variable's row for gradient row r; null for a dense update (row r is row r).
  const std::int64_t* rows = nullptr;
  std::int64_t num_rows = 0;
  std::int64_t row_size = 0;

  // Calls f(w, g, s, n) for each row, with w the row of the variable, g its
  // gradient, s the rows of the slots and n = row_size: each optimizer writes
  // its update once, as a plain loop over j < n.
  template <class F>
  void for_each_row(F&& f) const {
    for (std::int64_t r = 0; r < num_rows; ++r) {
      const std::int64_t offset = (rows != nullptr ? rows[r] : r) * row_size;
      std::array<T*, 4> s{};
      for (std::size_t k = 0; k < s.size(); ++k) s[k] = slots[k] != nullptr ? slots[k] + offset : nullptr;
      f(variable + offset, gradient + r * row_size, s, row_size);
    }
  }
};

// What an update needs to know about the step: the learning rate (already
// taken from the schedule) and the 1-based step number t = iterations() + 1.
struct StepInfo {
  double learning_rate = 0.0;
  std::int64_t step = 1;
};

// A slot every variable gets from an optimizer: its name and initial value.
struct SlotSpec {
  std::string name;
  double initial_value = 0.0;
};

// The three clipping settings every Options struct carries (0: off).
struct GradientClipping {
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One step: updates variables[i] in place with grads[i] (see the top of this file).
  void apply_gradients(const std::vector<Gradient>& grads, const std::vector<Tensor>& variables);
  // The same with dense gradients (an undefined Tensor skips its variable).
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& variables);
  // So that a braced list of tensors, `apply_gradients({g}, {w})`, is not
  // ambiguous between the two (a Tensor converts to a Gradient).
  void apply_gradients(std::initializer_list<Tensor> grads, const std::vector<Tensor>& variables) {
    apply_gradients(std::vector<Tensor>(grads), variables);
  }
  // One step on `loss()`: computes it on a fresh GradientTape, takes the
  // gradients of `variables` (row-sparse where they are) and applies them.
  // Returns the loss, as computed before the update.
  Tensor minimize(const std::function<Tensor()>& loss, const std::vector<Tensor>& variables);

  // Steps taken (apply_gradients calls that updated something).
  std::int64_t iterations() const { return iterations_; }
  // The learning rate of the next step: the constant, or schedule(iterations()).
  double learning_rate() const;
  // Replaces a constant learning rate (>= 0). An optimizer built on a schedule
  // throws std::logic_error, as Keras: its learning rate is the schedule's.
  void set_learning_rate(double learning_rate);
  // Null unless the learning rate is a schedule.
  const std::shared_ptr<const LearningRateSchedule>& learning_rate_schedule() const { return schedule_; }

  // "SGD", "Adam", ...: the class name, which error messages start with.
  const std::string& name() const { return name_; }
  // E.g. "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=false)".
  std::string repr() const;

  // A fresh optimizer of the same type with the same hyperparameters and
  // learning rate (schedules are shared: they have no state), iterations() = 0
  // and no per-variable state.
  virtual std::unique_ptr<Optimizer> clone() const = 0;
  // Forgets the state of every variable and sets iterations() back to 0.
  void reset();

  // The names of this optimizer's slots ("momentum", "velocity", ...), in order.
  std::vector<std::string> slot_names() const;
  // The slot `slot_name` of `variable`: a handle sharing the optimizer's
  // state (writing to it changes the state). Undefined if the variable has no
  // state yet; throws std::invalid_argument for a name not in slot_names().
  Tensor slot(const Tensor& variable, std::string_view slot_name) const;
  // How many live variables have state.
  std::size_t num_tracked_variables() const;

 protected:
  Optimizer(std::string name, const LearningRate& learning_rate, const GradientClipping& clipping = {});
  // Copies the hyperparameters and deep-copies the state.
  Optimizer(const Optimizer& other);
  Optimizer& operator=(const Optimizer& other);
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  // The slots each variable gets (at most 4), with their initial value.
  virtual std::vector<SlotSpec> slot_specs() const { return {}; }
  // Updates the rows of `block` (variable and slots) from their gradient.
  virtual void update(const UpdateBlock<float>& block, const StepInfo& step) const = 0;
  virtual void update(const UpdateBlock<double>& block, const StepInfo& step) const = 0;
  // "momentum=0.9, nesterov=true": repr() puts the learning rate before them.
  virtual std::string hyperparameters() const { return ""; }
  // The learning rate as given (or last set): what clone() passes on.
  LearningRate learning_rate_setting() const;

  // Throws std::invalid_argument "<name>: <what> must be <expected>, received <value>"
  // unless ok; for constructors checking their hyperparameters.
  void check_hyperparameter(bool ok, const char* what, const char* expected, double value) const;
  // The check of every `epsilon` (Adam, AdamW, RMSprop, Adagrad): finite and
  // at least the smallest normal float32, 1.1754944e-38. PyTorch accepts
  // eps = 0, but then a zero gradient (a weight that does not affect this
  // batch's loss, a ReLU unit that is off) makes the step 0 / 0 = NaN. A
  // positive epsilon below that bound is no better: it rounds to 0 in a
  // float32 step, or is flushed to 0 as a subnormal (FTZ/DAZ, at the top of this file).
  void check_epsilon(double epsilon) const;

 private:
  struct VariableState {
    std::weak_ptr<detail::TensorImpl> variable;  // to tell a live variable from a dead one at the same address
    std::vector<Tensor> slots;
  };
  VariableState& state_for(const Tensor& variable);

  std::string name_;
  GradientClipping clipping_;
  double learning_rate_ = 0.0;
  std::shared_ptr<const LearningRateSchedule> schedule_;
  std::int64_t iterations_ = 0;
  std::unordered_map<const void*, VariableState> state_;
};

// The part every built-in optimizer shares, `class X : public
// OptimizerWithOptions<X, XOptions>`: the hyperparameters as given
// (options_), read back with the current learning rate (options()), clone()
// from them, and both dtypes' update() turned into one call of X's template
//   template <class T> void update_block(const UpdateBlock<T>&, const StepInfo&) const;
// so that X's own file holds only its checks, its slots, its repr and its
// update rule. X::Options is XOptions, so `X::Options{.learning_rate = 0.1}` works.
//
// The members below are compiled once, in X's .cpp, by
// `template class OptimizerWithOptions<X, XOptions>;` after update_block's
// definition (X's header says `extern template class ...;`, so no other file
// instantiates them): update_block is inlined into update() there, and a step
// costs one virtual call per block, as an optimizer writing update() by hand.
template <class Self, class OptionsT>
class OptimizerWithOptions : public Optimizer {
 public:
  using Options = OptionsT;

  // The hyperparameters, with the current learning rate (or schedule).
  Options options() const {
    Options options = options_;
    options.learning_rate = learning_rate_setting();
    return options;
  }
  std::unique_ptr<Optimizer> clone() const override { return std::make_unique<Self>(options()); }

 protected:
  OptimizerWithOptions(std::string name, const Options& options)
      : Optimizer(std::move(name), options.learning_rate,
                  GradientClipping{options.clipnorm, options.clipvalue, options.global_clipnorm}),
        options_(options) {}

  void update(const UpdateBlock<float>& block, const StepInfo& step) const override;
  void update(const UpdateBlock<double>& block, const StepInfo& step) const override;

  // As given to the constructor: its learning_rate is not updated by
  // set_learning_rate (the base holds the current one; options() merges them).
  Options options_;
};

// Out of the class (so not inline): see the explicit instantiation above.
template <class Self, class OptionsT>
void OptimizerWithOptions<Self, OptionsT>::update(const UpdateBlock<float>& block, const StepInfo& step) const {
  static_cast<const Self&>(*this).update_block(block, step);
}
template <class Self, class OptionsT>
void OptimizerWithOptions<Self, OptionsT>::update(const UpdateBlock<double>& block, const StepInfo& step) const {
  static_cast<const Self&>(*this).update_block(block, step);
}

// Shortest decimal that reads back as `value` ("0.001", "1e-07"): how repr()
// writes numbers (tg::detail's, the one every error message uses).
using tg::detail::format_number;

}  // namespace tg::optimizers
