// Optimizer: argument checks, per-variable state, row-sparse gradients (their
// repeated rows combined) and the dispatch of each update to the optimizer's
// kernel. The formulas live in each optimizer's file.
#include "tapegrad/optimizers/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "tapegrad/autodiff/dispatch.hpp"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define TAPEGRAD_HAVE_MXCSR 1
#endif

namespace tg::optimizers {

namespace {

using tg::detail::describe;

// "variable 2 ('dense/kernel', (3, 4) float32)", or without the name when it has none.
std::string describe_variable(std::size_t index, const Tensor& variable) {
  std::string out = "variable " + std::to_string(index) + " (";
  if (variable.defined()) {
    if (!variable.name().empty()) out += "'" + variable.name() + "', ";
    out += describe(variable);
  } else {
    out += "undefined";
  }
  return out + ")";
}

// One variable's gradient made ready for its kernel: dense, or row-sparse
// with unique rows (repeated rows summed in the order they appear).
struct PreparedGradient {
  std::size_t index = 0;        // in the variables list
  Tensor values;                // dense: the gradient; sparse: (num_rows, row...) values of the unique rows
  std::vector<std::int64_t> rows;  // sparse only: the variable's row for each row of `values`
  bool sparse = false;
};

double squared_norm(const Tensor& t) {
  return dispatch_float(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    double s = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) s += static_cast<double>(p[i]) * static_cast<double>(p[i]);
    return s;
  });
}

// A copy of t with f applied to each element (the prepared values may be the
// caller's own gradient tensors, which must not change).
template <class F>
Tensor mapped(const Tensor& t, F f) {
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  dispatch_float(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    T* q = out.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) q[i] = static_cast<T>(f(static_cast<double>(p[i])));
  });
  return out;
}

// Keras's _clip_gradients (the header gives the rules).
void clip(const GradientClipping& clipping, std::vector<PreparedGradient>& work) {
  if (clipping.clipnorm > 0) {
    const double c = clipping.clipnorm;
    for (PreparedGradient& p : work) {
      const double norm = std::sqrt(squared_norm(p.values));
      if (norm > c) p.values = mapped(p.values, [scale = c / norm](double g) { return g * scale; });
    }
  } else if (clipping.global_clipnorm > 0) {
    const double c = clipping.global_clipnorm;
    double total = 0;
    for (const PreparedGradient& p : work) total += squared_norm(p.values);
    const double norm = std::sqrt(total);
    if (!std::isfinite(norm) || norm > c) {
      const double scale = std::isfinite(norm) ? c / norm : std::nan("");
      for (PreparedGradient& p : work) p.values = mapped(p.values, [scale](double g) { return g * scale; });
    }
  } else if (clipping.clipvalue > 0) {
    const double v = clipping.clipvalue;
    for (PreparedGradient& p : work) p.values = mapped(p.values, [v](double g) { return std::clamp(g, -v, v); });
  }
}

// The values of the unique rows of `idx` (in order of first appearance),
// repeated rows summed in the order they appear (bit for bit what
// scatter_add_rows puts in a dense gradient); their rows go to `rows`.
// `slot_of` maps a variable row to its unique row: all -1 on entry and on exit
// (only the rows touched are reset), so one scratch serves every call: the cost
// is O(indices), not a sort (word2vec: 40% of a training step went to sorting).
template <class T>
Tensor combine_repeated_rows(const Tensor& values, const std::int64_t* idx, std::int64_t n,
                             std::vector<std::int64_t>& slot_of, std::vector<std::int64_t>& rows,
                             std::int64_t row_size) {
  rows.clear();
  for (std::int64_t k = 0; k < n; ++k) {
    std::int64_t& slot = slot_of[static_cast<std::size_t>(idx[k])];
    if (slot < 0) {
      slot = static_cast<std::int64_t>(rows.size());
      rows.push_back(idx[k]);
    }
  }
  Shape shape = values.shape();
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor combined = Tensor::empty(shape, values.dtype());
  const T* in = values.data<T>();
  T* out = combined.data<T>();
  std::vector<bool> written(rows.size(), false);
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t u = slot_of[static_cast<std::size_t>(idx[k])];
    const T* src = in + k * row_size;
    T* dst = out + u * row_size;
    if (!written[static_cast<std::size_t>(u)]) {
      written[static_cast<std::size_t>(u)] = true;
      std::memcpy(dst, src, static_cast<std::size_t>(row_size) * sizeof(T));
    } else {
      for (std::int64_t j = 0; j < row_size; ++j) dst[j] += src[j];
    }
  }
  for (auto row : rows) slot_of[static_cast<std::size_t>(row)] = -1;
  return combined;
}

}  // namespace

// ---- construction, copies -------------------------------------------------------------

Optimizer::Optimizer(std::string name, const LearningRate& learning_rate, const GradientClipping& clipping)
    : name_(std::move(name)),
      clipping_(clipping),
      learning_rate_(learning_rate.value()),
      schedule_(learning_rate.schedule()) {
  const double settings[] = {clipping.clipnorm, clipping.clipvalue, clipping.global_clipnorm};
  const char* names[] = {"clipnorm", "clipvalue", "global_clipnorm"};
  int set = 0;
  for (int k = 0; k < 3; ++k) {
    check_hyperparameter(settings[k] >= 0.0 && std::isfinite(settings[k]), names[k],
                         "a finite number > 0 (or 0: off)", settings[k]);
    set += settings[k] > 0.0;
  }
  if (set > 1)
    throw std::invalid_argument(name_ + ": only one of clipnorm, clipvalue and global_clipnorm can be set, received "
                                "clipnorm=" + format_number(clipping.clipnorm) + ", clipvalue=" +
                                format_number(clipping.clipvalue) + ", global_clipnorm=" +
                                format_number(clipping.global_clipnorm));
  if (learning_rate.is_schedule() && !schedule_)
    throw std::invalid_argument(name_ + ": the learning-rate schedule is null");
  if (!schedule_) check_hyperparameter(learning_rate_ >= 0.0 && std::isfinite(learning_rate_), "learning_rate",
                                       "a finite number >= 0", learning_rate_);
}

Optimizer::Optimizer(const Optimizer& other)
    : name_(other.name_),
      clipping_(other.clipping_),
      learning_rate_(other.learning_rate_),
      schedule_(other.schedule_),
      iterations_(other.iterations_),
      state_(other.state_) {
  for (auto& [id, state] : state_)
    for (Tensor& slot : state.slots) slot = slot.clone();
}

Optimizer& Optimizer::operator=(const Optimizer& other) {
  if (this == &other) return *this;
  name_ = other.name_;
  clipping_ = other.clipping_;
  learning_rate_ = other.learning_rate_;
  schedule_ = other.schedule_;
  iterations_ = other.iterations_;
  state_ = other.state_;
  for (auto& [id, state] : state_)
    for (Tensor& slot : state.slots) slot = slot.clone();
  return *this;
}

void Optimizer::check_hyperparameter(bool ok, const char* what, const char* expected, double value) const {
  if (!ok)
    throw std::invalid_argument(name_ + ": " + what + " must be " + expected + ", received " + format_number(value));
}

void Optimizer::check_epsilon(double epsilon) const {
  check_hyperparameter(std::isfinite(epsilon) && epsilon >= static_cast<double>(std::numeric_limits<float>::min()),
                       "epsilon",
                       "a finite number >= 1.1754944e-38 (the smallest normal float32; with 0, or anything that "
                       "is 0 in float32, a zero gradient gives the step 0/0 = NaN)",
                       epsilon);
}

// ---- learning rate ----------------------------------------------------------------------

double Optimizer::learning_rate() const { return schedule_ ? (*schedule_)(iterations_) : learning_rate_; }

void Optimizer::set_learning_rate(double learning_rate) {
  if (schedule_)
    throw std::logic_error(name_ + ": the learning rate is the schedule " + schedule_->repr() +
                           ", so it cannot be set; build the optimizer with a number to set it");
  check_hyperparameter(learning_rate >= 0.0 && std::isfinite(learning_rate), "learning_rate", "a finite number >= 0",
                       learning_rate);
  learning_rate_ = learning_rate;
}

LearningRate Optimizer::learning_rate_setting() const {
  if (schedule_) return LearningRate(schedule_);
  return LearningRate(learning_rate_);
}

std::string Optimizer::repr() const {
  std::string out = name_ + "(learning_rate=" + (schedule_ ? schedule_->repr() : format_number(learning_rate_));
  const std::string rest = hyperparameters();
  if (!rest.empty()) out += ", " + rest;
  if (clipping_.clipnorm > 0) out += ", clipnorm=" + format_number(clipping_.clipnorm);
  if (clipping_.clipvalue > 0) out += ", clipvalue=" + format_number(clipping_.clipvalue);
  if (clipping_.global_clipnorm > 0) out += ", global_clipnorm=" + format_number(clipping_.global_clipnorm);
  return out + ")";
}

// ---- state ------------------------------------------------------------------------------

void Optimizer::reset() {
  state_.clear();
  iterations_ = 0;
}

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names;
  for (const SlotSpec& spec : slot_specs()) names.push_back(spec.name);
  return names;
}

Tensor Optimizer::slot(const Tensor& variable, std::string_view slot_name) const {
  const std::vector<SlotSpec> specs = slot_specs();
  std::size_t k = 0;
  while (k < specs.size() && specs[k].name != slot_name) ++k;
  if (k == specs.size()) {
    std::string known;
    for (const SlotSpec& spec : specs) known += (known.empty() ? "" : ", ") + spec.name;
    throw std::invalid_argument(name_ + ".slot: no slot named '" + std::string(slot_name) + "' (this " + name_ +
                                " has " + (known.empty() ? std::string("none") : known) + ")");
  }
  if (!variable.defined()) return Tensor();
  auto it = state_.find(variable.id());
  if (it == state_.end() || it->second.variable.lock() != variable.impl()) return Tensor();
  return it->second.slots[k];
}

std::size_t Optimizer::num_tracked_variables() const {
  std::size_t n = 0;
  for (const auto& [id, state] : state_) n += state.variable.expired() ? 0 : 1;
  return n;
}

Optimizer::VariableState& Optimizer::state_for(const Tensor& variable) {
  auto it = state_.find(variable.id());
  if (it != state_.end() && it->second.variable.lock() == variable.impl()) return it->second;
  // A new variable (or a new one at a dead variable's address): drop the state
  // of dead variables now, so that it does not pile up, then create its slots.
  std::erase_if(state_, [](const auto& entry) { return entry.second.variable.expired(); });
  const std::vector<SlotSpec> specs = slot_specs();
  if (specs.size() > UpdateBlock<float>{}.slots.size())
    throw std::logic_error(name_ + ": an optimizer has at most 4 slots, this one lists " + std::to_string(specs.size()));
  VariableState state;
  state.variable = variable.impl();
  for (const SlotSpec& spec : specs) state.slots.push_back(tg::full(variable.shape(), spec.initial_value, variable.dtype()));
  return state_.insert_or_assign(variable.id(), std::move(state)).first->second;
}

// ---- apply_gradients -----------------------------------------------------------------------

namespace {

// Flush-to-zero and denormals-are-zero for this thread while alive; the
// caller's floating-point mode is restored on exit (exceptions included).
// Optimizer state decaying through the subnormal range otherwise costs a
// microcode assist per operation. A no-op where there is no MXCSR.
class FlushSubnormalsGuard {
 public:
#ifdef TAPEGRAD_HAVE_MXCSR
  FlushSubnormalsGuard() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushSubnormalsGuard() { _mm_setcsr(saved_); }
#endif
  FlushSubnormalsGuard(const FlushSubnormalsGuard&) = delete;
  FlushSubnormalsGuard& operator=(const FlushSubnormalsGuard&) = delete;

 private:
#ifdef TAPEGRAD_HAVE_MXCSR
  static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  unsigned saved_;
#endif
};

}  // namespace

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& variables) {
  std::vector<Gradient> gradients;
  gradients.reserve(grads.size());
  for (const Tensor& g : grads) gradients.push_back(g.defined() ? Gradient(g) : Gradient());
  apply_gradients(gradients, variables);
}

void Optimizer::apply_gradients(const std::vector<Gradient>& grads, const std::vector<Tensor>& variables) {
  const std::string where = name_ + ".apply_gradients: ";
  if (grads.size() != variables.size())
    throw std::invalid_argument(where + "expected one gradient per variable, received " +
                                std::to_string(grads.size()) + " gradients for " + std::to_string(variables.size()) +
                                " variables");
  // No variables (a Sequential not built yet has no weights) would be a step
  // that changes nothing, in silence: TensorFlow refuses it ("No gradients
  // provided for any variable"), so does this (Keras 3 returns quietly).
  if (grads.empty())
    throw std::invalid_argument(where + "no variables to update (a model that is not built yet has no weights: "
                                "call it on data first; one whose layers are all frozen has no trainable ones)");

  // Every check first, so that a call that throws changes nothing.
  std::vector<PreparedGradient> work;
  std::unordered_set<const void*> seen;
  for (std::size_t i = 0; i < variables.size(); ++i) {
    const Tensor& variable = variables[i];
    const Gradient& grad = grads[i];
    if (!variable.defined()) throw std::invalid_argument(where + describe_variable(i, variable) + " is undefined");
    if (!variable.is_floating())
      throw std::invalid_argument(where + describe_variable(i, variable) + " is not float32 or float64");
    if (!variable.trainable())
      throw std::invalid_argument(where + describe_variable(i, variable) +
                                  " is not trainable (make it with tg::Variable or set_trainable(true))");
    if (!seen.insert(variable.id()).second)
      throw std::invalid_argument(where + describe_variable(i, variable) +
                                  " appears twice in the list; sum its gradients and pass it once");
    if (!grad.defined()) continue;  // skipped, as Keras skips a None gradient
    if (grad.shape() != variable.shape() || grad.dtype() != variable.dtype())
      throw std::invalid_argument(where + "the gradient of " + describe_variable(i, variable) + " is " +
                                  grad.shape().str() + " " + dtype_name(grad.dtype()) + " (" +
                                  (grad.is_sparse() ? "row-sparse" : "dense") + "), expected " + describe(variable));
    PreparedGradient prepared;
    prepared.index = i;
    if (!grad.is_sparse()) {
      prepared.values = grad.dense();
    } else {
      prepared.sparse = true;
      if (variable.rank() == 0)
        throw std::invalid_argument(where + "a row-sparse gradient for the 0-d " + describe_variable(i, variable));
      const Tensor& indices = grad.indices();
      const std::int64_t num_rows = variable.dim(0);
      const std::int64_t n = indices.numel();
      const std::int64_t* idx = indices.data<std::int64_t>();
      for (std::int64_t k = 0; k < n; ++k)
        if (idx[k] < 0 || idx[k] >= num_rows)
          throw std::invalid_argument(where + "the row-sparse gradient of " + describe_variable(i, variable) +
                                      " has index " + std::to_string(idx[k]) + " at position " + std::to_string(k) +
                                      ", outside [0, " + std::to_string(num_rows) + ")");
      // Repeated rows? A scratch map from row to unique row, reset after use.
      thread_local std::vector<std::int64_t> slot_of;
      if (static_cast<std::int64_t>(slot_of.size()) < num_rows) slot_of.resize(static_cast<std::size_t>(num_rows), -1);
      bool repeated = false;
      for (std::int64_t k = 0; k < n && !repeated; ++k) {
        std::int64_t& slot = slot_of[static_cast<std::size_t>(idx[k])];
        if (slot >= 0) repeated = true;
        slot = 0;
      }
      for (std::int64_t k = 0; k < n; ++k) slot_of[static_cast<std::size_t>(idx[k])] = -1;
      if (!repeated) {
        // Unique rows: the gradient's own values, in its own order.
        prepared.values = grad.values();
        prepared.rows.assign(idx, idx + n);
      } else {
        const std::int64_t row_size = num_rows > 0 ? variable.numel() / num_rows : 0;
        prepared.values = dispatch_float(variable.dtype(), [&](auto tag) {
          using T = decltype(tag);
          return combine_repeated_rows<T>(grad.values(), idx, n, slot_of, prepared.rows, row_size);
        });
      }
    }
    work.push_back(std::move(prepared));
  }
  if (work.empty())
    throw std::invalid_argument(where + "no gradient provided for any variable (all " + std::to_string(grads.size()) +
                                " are undefined)");
  clip(clipping_, work);
  StepInfo step;
  step.learning_rate = learning_rate();
  step.step = iterations_ + 1;
  if (!(step.learning_rate >= 0.0) || !std::isfinite(step.learning_rate))
    throw std::invalid_argument(where + "the learning rate at step " + std::to_string(iterations_) + " is " +
                                format_number(step.learning_rate) + " (from " +
                                (schedule_ ? schedule_->repr() : std::string("the constant")) +
                                "); it must be a finite number >= 0");

  NoGradGuard no_grad;
  FlushSubnormalsGuard flush_subnormals;
  for (const PreparedGradient& prepared : work) {
    Tensor variable = variables[prepared.index];
    VariableState& state = state_for(variable);
    dispatch_float(variable.dtype(), [&](auto tag) {
      using T = decltype(tag);
      UpdateBlock<T> block;
      block.variable = variable.data<T>();
      for (std::size_t k = 0; k < state.slots.size(); ++k) block.slots[k] = state.slots[k].data<T>();
      block.gradient = prepared.values.data<T>();
      if (prepared.sparse) {
        block.rows = prepared.rows.data();
        block.num_rows = static_cast<std::int64_t>(prepared.rows.size());
        block.row_size = variable.dim(0) > 0 ? variable.numel() / variable.dim(0) : 0;
      } else {
        block.num_rows = 1;
        block.row_size = variable.numel();
      }
      update(block, step);
    });
    variable.bump_version();  // a tape that recorded the old values refuses them (Tensor::version)
  }
  ++iterations_;
}

Tensor Optimizer::minimize(const std::function<Tensor()>& loss, const std::vector<Tensor>& variables) {
  GradientTape tape;
  Tensor value = loss();
  if (!value.defined()) throw std::invalid_argument(name_ + ".minimize: the loss function returned an undefined tensor");
  std::vector<Gradient> grads = tape.sparse_gradient(value, variables);
  apply_gradients(grads, variables);
  return value;
}

}  // namespace tg::optimizers
