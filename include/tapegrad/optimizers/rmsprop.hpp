// RMSprop, with Keras's formulas. Slot "velocity" (v, starts at 0):
//   v = rho * v + (1 - rho) * g^2
//   centered (slot "average_gradient", a, starts at 0):
//       a = rho * a + (1 - rho) * g
//       denominator = max(v - a^2, 0) + epsilon   (v - a^2 >= 0 but for rounding)
//   else denominator = v + epsilon
//   increment = lr * g / sqrt(denominator)
//   momentum > 0 (slot "momentum", b, starts at 0):  b = momentum * b + increment;  w = w - b
//   else                                            w = w - increment
// epsilon is inside the square root (Keras); PyTorch adds it outside,
// lr * g / (sqrt(v) + eps); they agree when epsilon is negligible beside v.
// Keras and PyTorch compute the centered denominator without the max, and get
// NaN when rounding makes v - a^2 negative (a constant float32 gradient does it).
//
// Row-sparse gradients (repeated rows summed first): lazy, as Adam's: only the
// rows present update their slots and move.
#pragma once

#include <memory>

#include "tapegrad/optimizers/optimizer.hpp"

namespace tg::optimizers {

// RMSprop::Options.
struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;        // in [0, 1)
  double momentum = 0.0;   // in [0, 1]
  double epsilon = 1e-7;   // finite, >= 1.1754944e-38 (see Optimizer::check_epsilon)
  bool centered = false;
  // Gradient clipping (Keras's; at most one set, 0: off; Optimizer says how).
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class RMSprop : public OptimizerWithOptions<RMSprop, RMSpropOptions> {
 public:
  explicit RMSprop(LearningRate learning_rate = 0.001, double rho = 0.9, double momentum = 0.0,
                   double epsilon = 1e-7, bool centered = false);
  explicit RMSprop(const Options& options);

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  std::string hyperparameters() const override;

 private:
  friend OptimizerWithOptions;
  template <class T>
  void update_block(const UpdateBlock<T>& block, const StepInfo& step) const;
};
extern template class OptimizerWithOptions<RMSprop, RMSpropOptions>;

}  // namespace tg::optimizers
