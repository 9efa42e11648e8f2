// Cosine losses. Argument order:
//   CosineSimilarityLoss, CosineSimilarity:    (y_true, y_pred[, sample_weight])  (the formula is symmetric)
//   CosineEmbeddingLoss, CosineMSELoss:        (x1, x2, label[, sample_weight])
// Inputs are (batch, features) (or (batch, ..., features) for the first two);
// every free function returns one value per sample, shape (batch,), and every
// class reduces those (mean over the batch by default, see loss.hpp).
//
// Signs, said twice because the names invite confusion:
//   CosineSimilarityLoss = 1 - cos      in [0, 2]: 0 for the same direction, 2 for opposite ones.
//   CosineSimilarity     = -cos         in [-1, 1]: Keras's loss, NEGATIVE cosine (-1 at best);
//                                       Keras's *metric* CosineSimilarity is +cos (not here).
// docs/losses.md gives the reference formulas and where each eps sits.
#pragma once

#include "tapegrad/losses/loss.hpp"

namespace tg::losses {

// ---- CosineSimilarityLoss: 1 - cos ---------------------------------------------
//   loss_i = 1 - cosine_similarity(y_true_i, y_pred_i)      (tg::cosine_similarity, eps 1e-8)
// PyTorch: `1 - F.cosine_similarity(x1, x2, dim=1)`, then `.mean()`.
// y_true and y_pred have one shape (batch, ..., features); `axis` is the feature
// axis (not 0, the batch axis). With more than two axes the values are averaged
// over the remaining ones, so each sample gets one value. Range [0, 2].
//   y_true = [[1, 0]], y_pred = [[3, 0]]   -> [0]     (same direction)
//   y_true = [[1, 0]], y_pred = [[-2, 0]]  -> [2]     (opposite)
//   y_true = [[1, 0]], y_pred = [[1, 1]]   -> [1 - 1/sqrt(2)] = [0.29289...]
Tensor cosine_similarity_loss(const Tensor& y_true, const Tensor& y_pred, int axis = 1);

class CosineSimilarityLoss : public FormulaLoss<Loss, cosine_similarity_loss, std::tuple<int>> {
 public:
  explicit CosineSimilarityLoss(int axis = 1, Reduction reduction = Reduction::sum_over_batch_size);
  int axis() const { return hyperparameter<0>(); }
};

// ---- CosineSimilarity (Keras): NEGATIVE cosine ----------------------------------
//   loss_i = -sum(l2_normalize(y_true_i) * l2_normalize(y_pred_i), axis)
// with Keras's l2_normalize: x / sqrt(max(sum(x^2), 1e-12)). Negative, so that
// minimizing it maximizes the similarity: -1 is the best value, +1 the worst.
// Same shape rules as cosine_similarity_loss; Keras's default axis is -1.
//   y_true = [[1, 0]], y_pred = [[3, 0]]   -> [-1]
//   y_true = [[1, 0]], y_pred = [[0, 5]]   -> [0]
Tensor negative_cosine_similarity(const Tensor& y_true, const Tensor& y_pred, int axis = -1);

class CosineSimilarity : public FormulaLoss<Loss, negative_cosine_similarity, std::tuple<int>> {
 public:
  explicit CosineSimilarity(int axis = -1, Reduction reduction = Reduction::sum_over_batch_size);
  int axis() const { return hyperparameter<0>(); }
};

// ---- CosineEmbeddingLoss (PyTorch): labels +1 / -1 ------------------------------
//   cos_i  = sum(x1_i * x2_i) / sqrt((sum(x1_i^2) + 1e-12) * (sum(x2_i^2) + 1e-12))
//   loss_i = 1 - cos_i                  if label_i == 1
//          = max(0, cos_i - margin)     if label_i == -1
// PyTorch's own eps convention (added to the squared norms, not a clamp; no
// clamp of cos to [-1, 1]). x1, x2: (batch, features) of one shape and dtype;
// label: (batch,) or (batch, 1), any dtype. A label other than 1 or -1 is an
// error (PyTorch silently gives 0 for it).
//   x1 = [[1, 0]], x2 = [[0, 1]], label = [1]    -> [1]
//   x1 = [[1, 0]], x2 = [[1, 1]], label = [-1], margin = 0.5  -> [1/sqrt(2) - 0.5] = [0.20710...]
Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& label, double margin = 0.0);

class CosineEmbeddingLoss : public FormulaLoss<PairLoss, cosine_embedding_loss, std::tuple<double>> {
 public:
  explicit CosineEmbeddingLoss(double margin = 0.0, Reduction reduction = Reduction::sum_over_batch_size);
  double margin() const { return hyperparameter<0>(); }
};

// ---- CosineMSELoss: (cos - label)^2 ---------------------------------------------
// sentence-transformers' "CosineSimilarityLoss", renamed so it is not confused
// with ours:
//   loss_i = (cosine_similarity(x1_i, x2_i) - label_i)^2      (eps 1e-8, as PyTorch)
// x1, x2: (batch, features); label: (batch,) or (batch, 1), a target cosine in
// [-1, 1]. A label outside [-1, 1] (or NaN) is an error: no cosine can reach it,
// and it usually means unscaled scores (STS 0-5 must be divided by 5 first).
//   x1 = [[1, 0]], x2 = [[1, 1]], label = [0.5]  -> [(0.70711 - 0.5)^2] = [0.04289...]
Tensor cosine_mse_loss(const Tensor& x1, const Tensor& x2, const Tensor& label);

class CosineMSELoss : public FormulaLoss<PairLoss, cosine_mse_loss> {
 public:
  explicit CosineMSELoss(Reduction reduction = Reduction::sum_over_batch_size);
};

}  // namespace tg::losses
