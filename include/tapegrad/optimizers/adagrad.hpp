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

class Adagrad : public Optimizer {
 public:
  struct Options {
    LearningRate learning_rate = 0.001;
    double initial_accumulator_value = 0.1;  // >= 0
    double epsilon = 1e-7;                   // finite, >= 1.1754944e-38 (see Optimizer::check_epsilon)
  };

  explicit Adagrad(LearningRate learning_rate = 0.001, double initial_accumulator_value = 0.1,
                   double epsilon = 1e-7);
  explicit Adagrad(const Options& options);

  Options options() const;
  std::unique_ptr<Optimizer> clone() const override;

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  void update(const UpdateBlock<float>& block, const StepInfo& step) const override;
  void update(const UpdateBlock<double>& block, const StepInfo& step) const override;
  std::string hyperparameters() const override;

 private:
  Options options_;
};

}  // namespace tg::optimizers
