// SGD: gradient descent, with optional (Nesterov) momentum. Keras's formulas:
//   momentum = 0:     w = w - lr * g
//   momentum > 0:     v = momentum * v - lr * g          (slot "momentum", starts at 0)
//                     w = w + v
//   nesterov = true:  v = momentum * v - lr * g
//                     w = w + momentum * v - lr * g
// PyTorch's SGD keeps b = momentum * b + g and does w -= lr * b: the same
// trajectory while lr is constant (v = -lr * b), not when lr changes.
//
// Row-sparse gradients (repeated rows summed first): without momentum the
// update is exactly the dense one (untouched rows have g = 0). With momentum
// it is lazy: only the rows present move and only their velocity is updated;
// a dense update would also move every other row by its decaying velocity.
//
//   tg::Tensor w = tg::Variable(tg::Tensor({1.0, 2.0}));
//   tg::optimizers::SGD sgd(0.1);
//   sgd.apply_gradients({tg::Tensor({0.5, -1.0})}, {w});   // w = [0.95, 2.1]
#pragma once

#include <memory>

#include "tapegrad/optimizers/optimizer.hpp"

namespace tg::optimizers {

// SGD::Options.
struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
  // Gradient clipping (Keras's; at most one set, 0: off; Optimizer says how).
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class SGD : public OptimizerWithOptions<SGD, SGDOptions> {
 public:
  explicit SGD(LearningRate learning_rate = 0.01, double momentum = 0.0, bool nesterov = false);
  explicit SGD(const Options& options);

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  std::string hyperparameters() const override;

 private:
  friend OptimizerWithOptions;
  template <class T>
  void update_block(const UpdateBlock<T>& block, const StepInfo& step) const;
};
extern template class OptimizerWithOptions<SGD, SGDOptions>;

}  // namespace tg::optimizers
