// Adam and AdamW, with Keras's formulas. At step t = iterations() + 1, with
// slots m ("momentum") and v ("velocity"), both starting at 0:
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//   m = m + (g - m) * (1 - beta_1)                 (= beta_1 m + (1 - beta_1) g)
//   v = v + (g^2 - v) * (1 - beta_2)
//   amsgrad: v_hat = max(v_hat, v), used in place of v (slot "velocity_hat")
//   w = w - alpha * m / (sqrt(v) + epsilon)
// AdamW first decays the weights, decoupled from the gradient (Keras 3,
// Loshchilov & Hutter):
//   w = w - w * weight_decay * lr                   then the Adam step above.
//
// Where epsilon sits. Keras adds epsilon to sqrt(v) *before* the bias
// correction (it is folded into alpha), PyTorch after it:
//   Keras:   w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
//   PyTorch: w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// so Keras's epsilon equals PyTorch's eps * sqrt(1 - b2^t) (smaller in the
// first steps); they agree when epsilon is negligible beside sqrt(v) (eps = 0
// is refused: see Optimizer::check_epsilon). Keras's default epsilon is 1e-7,
// PyTorch's 1e-8.
//
// Row-sparse gradients (repeated rows summed first) get the lazy update of
// PyTorch's SparseAdam and TensorFlow Addons' LazyAdam: only the rows present
// update their m and v and move; the other rows and their slots are left
// untouched (a dense update would decay their m and v and keep moving them by
// the decaying m). The bias correction uses the global step t, not a per-row
// count. AdamW decays only the rows present (a dense update would decay the
// whole table at every step).
//
//   tg::Tensor w = tg::Variable(tg::Tensor({1.0}));
//   tg::optimizers::Adam adam(0.1);
//   adam.apply_gradients({tg::Tensor({2.0})}, {w});
//   // m = 0.2, v = 0.004, alpha = 0.1 * sqrt(0.001) / 0.1 = 0.0316227...,
//   // w = 1 - 0.0316227 * 0.2 / (0.0632455 + 1e-7) = 0.9000001...
#pragma once

#include <memory>

#include "tapegrad/optimizers/optimizer.hpp"

namespace tg::optimizers {

// Adam::Options.
struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;     // in [0, 1)
  double beta_2 = 0.999;   // in [0, 1)
  double epsilon = 1e-7;   // finite, >= 1.1754944e-38 (see Optimizer::check_epsilon)
  bool amsgrad = false;
  // Gradient clipping (Keras's; at most one set, 0: off; Optimizer says how).
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class Adam : public OptimizerWithOptions<Adam, AdamOptions> {
 public:
  explicit Adam(LearningRate learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999,
                double epsilon = 1e-7, bool amsgrad = false);
  explicit Adam(const Options& options);

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  std::string hyperparameters() const override;

 private:
  friend OptimizerWithOptions;
  template <class T>
  void update_block(const UpdateBlock<T>& block, const StepInfo& step) const;
};
extern template class OptimizerWithOptions<Adam, AdamOptions>;

// AdamW::Options.
struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;  // >= 0
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;        // as Adam's
  bool amsgrad = false;
  // Gradient clipping (Keras's; at most one set, 0: off; Optimizer says how).
  double clipnorm = 0.0;
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

class AdamW : public OptimizerWithOptions<AdamW, AdamWOptions> {
 public:
  explicit AdamW(LearningRate learning_rate = 0.001, double weight_decay = 0.004, double beta_1 = 0.9,
                 double beta_2 = 0.999, double epsilon = 1e-7, bool amsgrad = false);
  explicit AdamW(const Options& options);

 protected:
  std::vector<SlotSpec> slot_specs() const override;
  std::string hyperparameters() const override;

 private:
  friend OptimizerWithOptions;
  template <class T>
  void update_block(const UpdateBlock<T>& block, const StepInfo& step) const;
};
extern template class OptimizerWithOptions<AdamW, AdamWOptions>;

}  // namespace tg::optimizers
