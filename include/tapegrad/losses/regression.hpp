// Regression losses. Argument order (y_true, y_pred[, sample_weight]).
//
// y_true and y_pred have one shape (batch, ...); y_true is converted to
// y_pred's dtype (as Keras; no gradient flows into a converted y_true), and a
// y_true of shape (batch,) against a y_pred of shape (batch, 1) is reshaped, as
// Keras does for a Dense(1) output. Each free function returns one value per
// sample, shape (batch,): the mean over every axis but the batch axis (a
// (batch,) input gives the elementwise value). Keras averages over the last
// axis only; with the default reduction the two agree.
#pragma once

#include "tapegrad/losses/loss.hpp"

namespace tg::losses {

// loss_i = mean((y_true_i - y_pred_i)^2)
//   y_true = [[0, 1], [0, 0]], y_pred = [[1, 1], [1, 0]]  -> [(1 + 0) / 2, (1 + 0) / 2] = [0.5, 0.5]
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred);

class MeanSquaredError : public FormulaLoss<Loss, mean_squared_error> {
 public:
  explicit MeanSquaredError(Reduction reduction = Reduction::sum_over_batch_size);
};

// loss_i = mean(|y_true_i - y_pred_i|); the subgradient at y_true == y_pred is 0.
//   y_true = [[0, 1]], y_pred = [[2, -1]]  -> [(2 + 2) / 2] = [2]
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);

class MeanAbsoluteError : public FormulaLoss<Loss, mean_absolute_error> {
 public:
  explicit MeanAbsoluteError(Reduction reduction = Reduction::sum_over_batch_size);
};

}  // namespace tg::losses
