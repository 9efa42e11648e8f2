// Cosine losses, composed from the cosine ops (docs/losses.md gives the references).
#include "tapegrad/losses/cosine.hpp"

#include <cmath>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg::losses {

namespace {

// Target-style cosine inputs: y_true (converted to y_pred's dtype) and y_pred of
// one shape (batch, ..., features), and the feature axis, normalized, not 0.
int cosine_target_axis(const char* loss, const Tensor& y_true, Tensor& t, const Tensor& y_pred, int axis) {
  if (!y_true.defined()) throw std::invalid_argument(std::string(loss) + ": y_true is an undefined tensor");
  detail::check_float(loss, "y_pred", y_pred);
  t = detail::cast_like(y_true, y_pred);
  detail::check_same_shape(loss, "y_true", t, "y_pred", y_pred);
  detail::check_rank(loss, "y_pred", y_pred, 2, "(batch, features) or (batch, ..., features)");
  const int rank = y_pred.rank();
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 1 || a >= rank)
    throw std::out_of_range(std::string(loss) + ": axis " + std::to_string(axis) + " is not a feature axis of " +
                            y_pred.shape().str() + " (expected 1 to " + std::to_string(rank - 1) + ", or -1 to " +
                            std::to_string(1 - rank) + "; axis 0 is the batch)");
  detail::check_nonempty(loss, "y_pred", y_pred);
  return a;
}

}  // namespace

// ---- CosineSimilarityLoss ----------------------------------------------------------

Tensor cosine_similarity_loss(const Tensor& y_true, const Tensor& y_pred, int axis) {
  Tensor t;
  const int a = cosine_target_axis("CosineSimilarityLoss", y_true, t, y_pred, axis);
  return detail::per_sample_mean(1.0 - tg::cosine_similarity(t, y_pred, a));
}

CosineSimilarityLoss::CosineSimilarityLoss(int axis, Reduction reduction)
    : FormulaLoss("CosineSimilarityLoss", reduction, {"axis"}, axis) {}

// ---- CosineSimilarity (Keras, negative) -------------------------------------------

Tensor negative_cosine_similarity(const Tensor& y_true, const Tensor& y_pred, int axis) {
  Tensor t;
  const int a = cosine_target_axis("CosineSimilarity", y_true, t, y_pred, axis);
  Tensor similarity = sum(mul(tg::l2_normalize(t, a, 1e-12), tg::l2_normalize(y_pred, a, 1e-12)), {a});
  return detail::per_sample_mean(neg(similarity));
}

CosineSimilarity::CosineSimilarity(int axis, Reduction reduction)
    : FormulaLoss("CosineSimilarity", reduction, {"axis"}, axis) {}

// ---- CosineEmbeddingLoss (PyTorch) ------------------------------------------------

Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& label, double margin) {
  const char* loss = "CosineEmbeddingLoss";
  Tensor y = detail::pair_label(loss, x1, x2, label, [](double v) { return v == 1.0 || v == -1.0; }, "1 or -1");
  // PyTorch's eps: added to each squared norm (EPSILON = 1e-12 in Loss.cpp), not a clamp.
  Tensor dot = sum(mul(x1, x2), {1});
  Tensor squared_norms = mul(sum(square(x1), {1}) + 1e-12, sum(square(x2), {1}) + 1e-12);
  Tensor cos = div(dot, sqrt(squared_norms));
  Tensor similar = 1.0 - cos;
  Tensor dissimilar = relu(cos - margin);
  return where(equal(y, scalar_like(y, 1.0)), similar, dissimilar);
}

CosineEmbeddingLoss::CosineEmbeddingLoss(double margin, Reduction reduction)
    : FormulaLoss("CosineEmbeddingLoss", reduction, {"margin"}, margin) {}

// ---- CosineMSELoss (sentence-transformers' CosineSimilarityLoss) ------------------

Tensor cosine_mse_loss(const Tensor& x1, const Tensor& x2, const Tensor& label) {
  Tensor y = detail::pair_label("CosineMSELoss", x1, x2, label, [](double v) { return v >= -1.0 && v <= 1.0; },
                        "a cosine in [-1, 1] (divide scores such as STS 0-5 by their maximum first)");
  return square(sub(tg::cosine_similarity(x1, x2, 1), y));
}

CosineMSELoss::CosineMSELoss(Reduction reduction) : FormulaLoss("CosineMSELoss", reduction, {}) {}

}  // namespace tg::losses
