// Metric-learning losses for Siamese and bi-encoder training. Argument order:
//   ContrastiveLoss:                              (x1, x2, label[, sample_weight]), label 1 similar / 0 dissimilar
//   TripletMarginLoss, CosineTripletMarginLoss:   (anchor, positive, negative[, sample_weight])
//   MultipleNegativesRankingLoss:                 (anchors, positives[, sample_weight])
// Embeddings are (batch, features), one dtype. Every free function returns one
// value per sample, shape (batch,); the classes reduce them (mean by default).
// All of these are >= 0, and 0 means "nothing to learn from this sample".
#pragma once

#include "tapegrad/losses/loss.hpp"
#include "tapegrad/ops/pairwise_distance.hpp"

namespace tg::losses {

// tg::pairwise_distance (ops/pairwise_distance.hpp), PyTorch's
// F.pairwise_distance, under the name it had here: ||x1 - x2 + eps||_p over
// the last axis, the losses' euclidean distance.
using tg::pairwise_distance;

enum class Distance {
  euclidean,  // pairwise_distance(x1, x2, 2, 1e-6), as sentence-transformers (F.pairwise_distance)
  cosine,     // 1 - cosine_similarity(x1, x2), in [0, 2]
};
const char* distance_name(Distance distance);
// repr()'s text of a Distance hyperparameter: its name.
std::string hyperparameter_text(Distance distance);

// ---- ContrastiveLoss (Hadsell, Chopra, LeCun 2006; sentence-transformers) -------
//   loss_i = 0.5 * (y_i * d_i^2 + (1 - y_i) * max(margin - d_i, 0)^2)
// with d the chosen distance and y = 1 for similar pairs, 0 for dissimilar ones
// (any other label is an error). The factor 0.5 is sentence-transformers' (and
// the paper's); the defaults are sentence-transformers': cosine distance, margin 0.5.
// Similar pairs are pulled together; dissimilar ones pushed apart until d >= margin.
//   x1 = [[1, 0]], x2 = [[0, 1]] (cosine distance 1), label = [1]  -> [0.5 * 1^2] = [0.5]
//   same pair, label = [0]                                          -> [0.5 * max(0.5 - 1, 0)^2] = [0]
Tensor contrastive_loss(const Tensor& x1, const Tensor& x2, const Tensor& label, double margin = 0.5,
                        Distance distance = Distance::cosine);

// The same loss of distances already computed: Keras's contrastive_loss(y_true,
// y_pred), whose y_pred is the distance (the classic Keras Siamese model ends in a
// layer computing it). label as above; distance of shape (batch,) or (batch, 1),
// floating; returns (batch,).
//   label = [1, 0], distance = [0.2, 0.3], margin 1  -> [0.5 * 0.2^2, 0.5 * 0.7^2] = [0.02, 0.245]
Tensor contrastive_loss_of_distance(const Tensor& label, const Tensor& distance, double margin = 0.5);

class ContrastiveLoss : public FormulaLoss<PairLoss, contrastive_loss, std::tuple<double, Distance>> {
 public:
  explicit ContrastiveLoss(double margin = 0.5, Distance distance = Distance::cosine,
                           Reduction reduction = Reduction::sum_over_batch_size);
  double margin() const { return hyperparameter<0>(); }
  Distance distance() const { return hyperparameter<1>(); }
};

// ---- TripletMarginLoss (PyTorch) ---------------------------------------------------
//   loss_i = max(d(a_i, p_i) - d(a_i, n_i) + margin, 0),   d = pairwise_distance(., ., p, eps)
// i.e. d(x, y) = ||x - y + eps||_p with eps added elementwise, as PyTorch.
// swap (Balntas et al. 2016, "distance swap", PyTorch's swap=True) replaces
// d(a_i, n_i) by min(d(a_i, n_i), d(p_i, n_i)): the harder of the two negatives.
// anchor, positive, negative: (batch, features), one shape.
//   a = [[0, 0]], p = [[3, 4]], n = [[6, 8]], eps = 0: max(5 - 10 + 1, 0) -> [0]
//   a = [[0, 0]], p = [[6, 8]], n = [[3, 4]], eps = 0: max(10 - 5 + 1, 0) -> [6]
//   swap, a = [[0, 0]], p = [[3, 4]], n = [[6, 8]], eps = 0: max(5 - min(10, 5) + 1, 0) -> [1]
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           double margin = 1.0, double p = 2.0, double eps = 1e-6, bool swap = false);

class TripletMarginLoss
    : public FormulaLoss<TripletLoss, triplet_margin_loss, std::tuple<double, double, double, bool>> {
 public:
  // PyTorch's argument order: (margin, p, eps, swap, reduction).
  explicit TripletMarginLoss(double margin = 1.0, double p = 2.0, double eps = 1e-6, bool swap = false,
                             Reduction reduction = Reduction::sum_over_batch_size);
  // The order before swap existed, (margin, p, eps, reduction): swap = false.
  TripletMarginLoss(double margin, double p, double eps, Reduction reduction);
  double margin() const { return hyperparameter<0>(); }
  double p() const { return hyperparameter<1>(); }
  double eps() const { return hyperparameter<2>(); }
  bool swap() const { return hyperparameter<3>(); }
};

// ---- CosineTripletMarginLoss: the triplet loss with the cosine distance ------------
//   loss_i = max(c(a_i, p_i) - c(a_i, n_i) + margin, 0),   c = 1 - cosine_similarity (eps 1e-8)
// PyTorch: TripletMarginWithDistanceLoss(distance_function=lambda x, y: 1 - F.cosine_similarity(x, y),
// margin=1). Cosine distances lie in [0, 2], so useful margins are below 2
// (sentence-transformers' TripletLoss defaults to margin 5, chosen for its euclidean metric).
//   a = [[1, 0]], p = [[1, 0]], n = [[0, 1]], margin 1: max(0 - 1 + 1, 0) -> [0]
//   a = [[1, 0]], p = [[0, 1]], n = [[1, 0]], margin 1: max(1 - 0 + 1, 0) -> [2]
Tensor cosine_triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                  double margin = 1.0);

class CosineTripletMarginLoss : public FormulaLoss<TripletLoss, cosine_triplet_margin_loss, std::tuple<double>> {
 public:
  explicit CosineTripletMarginLoss(double margin = 1.0, Reduction reduction = Reduction::sum_over_batch_size);
  double margin() const { return hyperparameter<0>(); }
};

// ---- MultipleNegativesRankingLoss (sentence-transformers; InfoNCE) -----------------
//   S = scale * cosine_similarity_matrix(anchors, positives)          (N, M)
//   loss_i = -log_softmax(S[i, :])[i] = logsumexp_j S[i, j] - S[i, i]
// Row i of `positives` is anchor i's positive; every other row is one of its
// negatives (in-batch negatives). `positives` may have more rows than `anchors`
// (M >= N): the extra rows are hard negatives shared by every anchor, as
// sentence-transformers' concatenation of (anchor, positive, negative) columns.
// Rows are normalized with tg's eps clamp 1e-8 (sentence-transformers: 1e-12;
// they differ only for rows of norm below 1e-8).
//   anchors = [[1, 0], [0, 1]], positives = the same, scale 1:
//     S = [[1, 0], [0, 1]]  -> [log(e + 1) - 1, same] = [0.31326..., 0.31326...]
Tensor multiple_negatives_ranking_loss(const Tensor& anchors, const Tensor& positives, double scale = 20.0);

class MultipleNegativesRankingLoss
    : public FormulaLoss<LossOf<Tensor, Tensor>, multiple_negatives_ranking_loss, std::tuple<double>> {
 public:
  // call(anchors, positives): per-anchor losses, shape (N,).
  explicit MultipleNegativesRankingLoss(double scale = 20.0, Reduction reduction = Reduction::sum_over_batch_size);
  double scale() const { return hyperparameter<0>(); }
};

}  // namespace tg::losses
