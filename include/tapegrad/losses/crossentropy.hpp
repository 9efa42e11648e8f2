// Cross-entropy losses. Argument order (y_true, y_pred[, sample_weight]).
//
// y_pred holds probabilities (from_logits = false, the default, as Keras) or
// unnormalized logits (from_logits = true, preferred: exact for any logit).
// With probabilities, Keras clips them to [eps, 1 - eps] with eps = 1e-7 before
// the log, and so do we: a probability of exactly 0 or 1 gives a finite loss
// (at most -log(1e-7) = 16.118 per element; 15.425 for the binary loss, which
// also adds eps inside its logs as tf-keras 2 does), and the gradient is 0
// where a probability lies outside [eps, 1 - eps].
// Each free function returns one value per sample, shape (batch,).
#pragma once

#include "tapegrad/losses/loss.hpp"

namespace tg::losses {

// Keras's epsilon: the probability clip of the cross-entropies.
inline constexpr double probability_epsilon = 1e-7;

// ---- BinaryCrossentropy ------------------------------------------------------------
// Elementwise, then averaged over every axis but the batch axis (shape rules as
// mean_squared_error: y_true (batch,) against y_pred (batch, 1) is reshaped):
//   probabilities: -(z log(p' + eps) + (1 - z) log(1 - p' + eps)),   p' = clip(p, eps, 1 - eps), eps = 1e-7
//                  (tf-keras 2.21's backend.binary_crossentropy; Keras 3 leaves the eps out of the logs)
//   logits:        z softplus(-x) + (1 - z) softplus(x)
// The logit form is the same as -(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))),
// written so that no exp overflows and nothing cancels: logits of +-100 or
// +-1e4 give exact finite values and gradients sigmoid(x) - z. Targets z must
// lie in [0, 1] (soft labels allowed); anything else is an error.
//   y_true = [[1]], y_pred = [[0.5]]                      -> [-log(0.5 + 1e-7)] = [0.69314...]
//   y_true = [[1]], y_pred = [[0]] (clipped to 1e-7)      -> [-log(2e-7)] = [15.424...]
//   y_true = [[0]], y_pred = [[100]], from_logits        -> [softplus(100)] = [100]
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false);

class BinaryCrossentropy : public FormulaLoss<Loss, binary_crossentropy, std::tuple<bool>> {
 public:
  explicit BinaryCrossentropy(bool from_logits = false, Reduction reduction = Reduction::sum_over_batch_size);
  bool from_logits() const { return hyperparameter<0>(); }
};

// ---- CategoricalCrossentropy -------------------------------------------------------
// y_true, y_pred: (batch, classes), or (batch, ..., classes) with the classes on
// the last axis (values averaged over the middle axes). y_true holds one-hot or
// soft targets in [0, 1].
//   probabilities: -sum(y_true * log(clip(y_pred / sum(y_pred), 1e-7, 1 - 1e-7)))   (Keras rescales rows to sum 1)
//   logits:        -sum(y_true * log_softmax(y_pred))
//   y_true = [[0, 1]], y_pred = [[0.25, 0.75]]            -> [-log 0.75] = [0.28768...]
//   y_true = [[0, 1]], y_pred = [[0, 0]], from_logits    -> [log 2]
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false);

class CategoricalCrossentropy : public FormulaLoss<Loss, categorical_crossentropy, std::tuple<bool>> {
 public:
  explicit CategoricalCrossentropy(bool from_logits = false, Reduction reduction = Reduction::sum_over_batch_size);
  bool from_logits() const { return hyperparameter<0>(); }
};

// ---- SparseCategoricalCrossentropy -------------------------------------------------
// As categorical_crossentropy with y_true given as int64 class indices: shape
// y_pred.shape[:-1] (or with a trailing 1, as Keras), each in [0, classes). A
// label out of range is an error naming it and the number of classes.
//   y_true = [1], y_pred = [[0.25, 0.75]]                 -> [-log 0.75]
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false);

class SparseCategoricalCrossentropy : public FormulaLoss<Loss, sparse_categorical_crossentropy, std::tuple<bool>> {
 public:
  explicit SparseCategoricalCrossentropy(bool from_logits = false,
                                         Reduction reduction = Reduction::sum_over_batch_size);
  bool from_logits() const { return hyperparameter<0>(); }
};

}  // namespace tg::losses
