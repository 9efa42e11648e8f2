// Adagrad, with Keras's formulas. Slot "accumulator" (starts at
// initial_accumulator_value):
//   accumulator = accumulator + g^2
//   w = w - lr * g / sqrt(accumulator + epsilon)
// epsilon is inside the square root (Keras); PyTorch's Adagrad adds it
// outside and starts the accumulator at 0 by default.
//
// Row-sparse gradients (repeated rows summed first): only the rows present are
// updated, which is exactly the dense update (a zero gradient changes neither
// the accumulator nor the weight).
#pragma once

#include <memory>

#include "tapegrad/optimizers/optimizer.hpp"

namespace tg::optimizers {

// Adagrad::Options.
struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;  // >= 0
  double epsilon = 1e-7;                   // finite, >= 1.1754944e-38 (see Optimizer::check_epsilon)
  // Gradient clipping (Keras's; at most one set, 0: off; Optimizer says how).
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class Adagrad : public OptimizerWithOptions<Adagrad, AdagradOptions> {
 public:
  explicit Adagrad(LearningRate learning_rate = 0.001, double initial_accumulator_value = 0.1,
                   double epsilon = 1e-7);
  explicit Adagrad(const Options& options);

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  std::string hyperparameters() const override;

 private:
  friend OptimizerWithOptions;
  template <class T>
  void update_block(const UpdateBlock<T>& block, const StepInfo& step) const;
};
extern template class OptimizerWithOptions<Adagrad, AdagradOptions>;

}  // namespace tg::optimizers
