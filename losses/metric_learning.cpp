// Metric-learning losses, composed from ops (docs/losses.md gives the references).
#include "tapegrad/losses/metric_learning.hpp"

#include <cmath>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/pairwise_distance.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::losses {

using detail::format_number;

namespace {

void check_triplet(const char* loss, const Tensor& anchor, const Tensor& positive, const Tensor& negative) {
  detail::check_same_float(loss, "anchor", anchor, "positive", positive);
  detail::check_same_float(loss, "anchor", anchor, "negative", negative);
  detail::check_same_shape(loss, "anchor", anchor, "positive", positive);
  detail::check_same_shape(loss, "anchor", anchor, "negative", negative);
  detail::check_rank_exact(loss, "anchor", anchor, 2, "(batch, features)");
  detail::check_nonempty(loss, "anchor", anchor);
}

void check_positive(const char* loss, const char* what, double value) {
  if (!(value > 0))
    throw std::invalid_argument(std::string(loss) + ": " + what + " must be > 0, received " + format_number(value));
}

// Margins and scales. A NaN makes every loss NaN; an infinite one makes it
// infinite; a margin <= 0 makes the hinge max(margin - d, 0) (or
// max(d_ap - d_an + margin, 0)) zero for samples that are not yet separated
// (PyTorch's TripletMarginLoss refuses margin <= 0 for that reason); a scale
// <= 0 turns MultipleNegativesRankingLoss into one that pushes each anchor
// away from its positive (0: a constant loss, log(M), with no gradient).
void check_finite_positive(const char* loss, const char* what, double value) {
  if (!(value > 0) || !std::isfinite(value))
    throw std::invalid_argument(std::string(loss) + ": " + what + " must be a finite number > 0, received " +
                                format_number(value));
}

void check_finite(const char* loss, const char* what, double value) {
  if (!std::isfinite(value))
    throw std::invalid_argument(std::string(loss) + ": " + what + " must be finite, received " + format_number(value));
}

}  // namespace

const char* distance_name(Distance distance) {
  switch (distance) {
    case Distance::euclidean: return "euclidean";
    case Distance::cosine: return "cosine";
  }
  return "unknown";
}

std::string hyperparameter_text(Distance distance) { return distance_name(distance); }

// ---- ContrastiveLoss ---------------------------------------------------------------

namespace {

bool is_pair_label(double v) { return v == 0.0 || v == 1.0; }
const char* const pair_label_values = "1 (similar) or 0 (dissimilar)";

// 0.5 * (y d^2 + (1 - y) max(margin - d, 0)^2) for checked y and d of shape (batch,), one dtype.
Tensor contrastive(const Tensor& y, const Tensor& d, double margin) {
  Tensor pull = mul(y, square(d));
  Tensor push = mul(1.0 - y, square(relu(margin - d)));
  return 0.5 * add(pull, push);
}

}  // namespace

Tensor contrastive_loss(const Tensor& x1, const Tensor& x2, const Tensor& label, double margin, Distance distance) {
  check_finite_positive("ContrastiveLoss", "margin", margin);
  Tensor y = detail::pair_label("ContrastiveLoss", x1, x2, label, is_pair_label, pair_label_values);
  Tensor d = distance == Distance::cosine ? cosine_distance(x1, x2, 1) : pairwise_distance(x1, x2, 2.0, 1e-6);
  return contrastive(y, d, margin);
}

Tensor contrastive_loss_of_distance(const Tensor& label, const Tensor& distance, double margin) {
  const char* loss = "ContrastiveLoss";
  check_finite_positive(loss, "margin", margin);
  detail::check_float(loss, "the distance (the model's output)", distance);
  const bool column = distance.rank() == 2 && distance.dim(1) == 1;
  if (distance.rank() != 1 && !column)
    throw std::invalid_argument(std::string(loss) + ": the distance must have shape (batch,) or (batch, 1), received " +
                                detail::describe(distance));
  detail::check_nonempty(loss, "the distance", distance);
  Tensor d = column ? reshape(distance, {distance.dim(0)}) : distance;
  Tensor y = detail::batch_vector(loss, "label", label, d.dim(0));
  detail::check_values(loss, "label", y, is_pair_label, pair_label_values);
  return contrastive(detail::cast_like(y, d), d, margin);
}

ContrastiveLoss::ContrastiveLoss(double margin, Distance distance, Reduction reduction)
    : FormulaLoss("ContrastiveLoss", reduction, {"margin", "distance"}, margin, distance) {
  check_finite_positive("ContrastiveLoss", "margin", margin);
}

// ---- TripletMarginLoss -----------------------------------------------------------------

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative, double margin,
                           double p, double eps, bool swap) {
  const char* loss = "TripletMarginLoss";
  check_finite_positive(loss, "margin", margin);
  check_positive(loss, "p", p);
  check_finite(loss, "eps", eps);
  check_triplet(loss, anchor, positive, negative);
  Tensor to_positive = pairwise_distance(anchor, positive, p, eps);
  Tensor to_negative = pairwise_distance(anchor, negative, p, eps);
  // PyTorch's swap: d(p, n) with p first, as F.triplet_margin_loss computes it
  // (eps makes the order matter). minimum passes the gradient to the smaller.
  if (swap) to_negative = minimum(to_negative, pairwise_distance(positive, negative, p, eps));
  return relu(sub(to_positive, to_negative) + margin);
}

TripletMarginLoss::TripletMarginLoss(double margin, double p, double eps, Reduction reduction)
    : TripletMarginLoss(margin, p, eps, false, reduction) {}

TripletMarginLoss::TripletMarginLoss(double margin, double p, double eps, bool swap, Reduction reduction)
    : FormulaLoss("TripletMarginLoss", reduction, {"margin", "p", "eps", "swap"}, margin, p, eps, swap) {
  check_finite_positive("TripletMarginLoss", "margin", margin);
  check_positive("TripletMarginLoss", "p", p);
  check_finite("TripletMarginLoss", "eps", eps);
}

// ---- CosineTripletMarginLoss -----------------------------------------------------------

Tensor cosine_triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                  double margin) {
  check_finite_positive("CosineTripletMarginLoss", "margin", margin);
  check_triplet("CosineTripletMarginLoss", anchor, positive, negative);
  Tensor to_positive = cosine_distance(anchor, positive, 1);
  Tensor to_negative = cosine_distance(anchor, negative, 1);
  return relu(sub(to_positive, to_negative) + margin);
}

CosineTripletMarginLoss::CosineTripletMarginLoss(double margin, Reduction reduction)
    : FormulaLoss("CosineTripletMarginLoss", reduction, {"margin"}, margin) {
  check_finite_positive("CosineTripletMarginLoss", "margin", margin);
}

// ---- MultipleNegativesRankingLoss ------------------------------------------------------

Tensor multiple_negatives_ranking_loss(const Tensor& anchors, const Tensor& positives, double scale) {
  const char* loss = "MultipleNegativesRankingLoss";
  detail::check_same_float(loss, "anchors", anchors, "positives", positives);
  detail::check_rank_exact(loss, "anchors", anchors, 2, "(batch, features)");
  detail::check_rank_exact(loss, "positives", positives, 2, "(batch, features)");
  detail::check_nonempty(loss, "anchors", anchors);
  const std::int64_t n = anchors.dim(0), m = positives.dim(0);
  if (anchors.dim(1) != positives.dim(1) || m < n)
    throw std::invalid_argument(std::string(loss) +
                                ": expected anchors (N, D) and positives (M, D) with M >= N (row i of positives is "
                                "anchor i's positive; extra rows are shared hard negatives), received anchors " +
                                anchors.shape().str() + " and positives " + positives.shape().str());
  check_finite_positive(loss, "scale", scale);
  Tensor scores = cosine_similarity_matrix(anchors, positives) * scale;  // (N, M)
  // The targets: 1 at (i, i), a constant through which no gradient flows.
  Tensor diagonal = zeros({n, m}, anchors.dtype());
  dispatch_float(anchors.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* e = diagonal.data<T>();
    for (std::int64_t i = 0; i < n; ++i) e[i * m + i] = T(1);
  });
  return neg(sum(mul(log_softmax(scores, 1), diagonal), {1}));
}

MultipleNegativesRankingLoss::MultipleNegativesRankingLoss(double scale, Reduction reduction)
    : FormulaLoss("MultipleNegativesRankingLoss", reduction, {"scale"}, scale) {
  check_finite_positive("MultipleNegativesRankingLoss", "scale", scale);
}

}  // namespace tg::losses
