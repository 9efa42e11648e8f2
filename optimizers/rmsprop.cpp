// RMSprop: Keras's formulas (see rmsprop.hpp).
#include "tapegrad/optimizers/rmsprop.hpp"

#include <cmath>

namespace tg::optimizers {

// Slots: s[0] = velocity, then momentum (if momentum > 0), then average_gradient (if centered).
template <class T>
void RMSprop::update_block(const UpdateBlock<T>& block, const StepInfo& step) const {
  const T lr = static_cast<T>(step.learning_rate);
  const T rho = static_cast<T>(options_.rho);
  const T one_minus_rho = static_cast<T>(1.0 - options_.rho);
  const T momentum = static_cast<T>(options_.momentum);
  const T epsilon = static_cast<T>(options_.epsilon);
  const bool use_momentum = options_.momentum > 0.0;
  const bool centered = options_.centered;
  block.for_each_row([&](T* w, const T* g, const auto& s, std::int64_t n) {
    T* v = s[0];
    T* b = use_momentum ? s[1] : nullptr;
    T* a = centered ? s[use_momentum ? 2 : 1] : nullptr;
    for (std::int64_t j = 0; j < n; ++j) {
      const T gj = g[j];
      const T vj = rho * v[j] + one_minus_rho * (gj * gj);
      v[j] = vj;
      T denominator = vj + epsilon;
      if (centered) {
        const T aj = rho * a[j] + one_minus_rho * gj;
        a[j] = aj;
        // v - a^2 estimates the variance of g: >= 0 in exact arithmetic (a^2 <=
        // (1 - rho^t) v by Cauchy-Schwarz), but rounding can make it negative,
        // and sqrt(negative + epsilon) is NaN: in float32 a constant gradient
        // 0.74967486 with rho 0.9 gives v - a^2 = -7.9e-8 at step 138 (numpy
        // float32), below -epsilon. Keras and PyTorch have this NaN; we clamp
        // at 0, written so that a NaN still passes (NaN < 0 is false).
        const T variance = vj - aj * aj;
        denominator = (variance < T(0) ? T(0) : variance) + epsilon;
      }
      const T increment = lr * gj / std::sqrt(denominator);
      if (use_momentum) {
        const T bj = momentum * b[j] + increment;
        b[j] = bj;
        w[j] -= bj;
      } else {
        w[j] -= increment;
      }
    }
  });
}

RMSprop::RMSprop(LearningRate learning_rate, double rho, double momentum, double epsilon, bool centered)
    : RMSprop(Options{learning_rate, rho, momentum, epsilon, centered}) {}

RMSprop::RMSprop(const Options& options) : OptimizerWithOptions("RMSprop", options) {
  check_hyperparameter(options.rho >= 0.0 && options.rho < 1.0, "rho", "in [0, 1)", options.rho);
  // As SGD's (and Keras's SGD): above 1 the momentum b = momentum * b + increment grows without bound.
  check_hyperparameter(options.momentum >= 0.0 && options.momentum <= 1.0, "momentum", "in [0, 1]",
                       options.momentum);
  check_epsilon(options.epsilon);
}

std::vector<SlotSpec> RMSprop::slot_specs() const {
  std::vector<SlotSpec> slots = {{"velocity", 0.0}};
  if (options_.momentum > 0.0) slots.push_back({"momentum", 0.0});
  if (options_.centered) slots.push_back({"average_gradient", 0.0});
  return slots;
}

std::string RMSprop::hyperparameters() const {
  return "rho=" + format_number(options_.rho) + ", momentum=" + format_number(options_.momentum) +
         ", epsilon=" + format_number(options_.epsilon) + ", centered=" + (options_.centered ? "true" : "false");
}

template class OptimizerWithOptions<RMSprop, RMSpropOptions>;

}  // namespace tg::optimizers
