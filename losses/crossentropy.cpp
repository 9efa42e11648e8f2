// Cross-entropy losses: Keras's formulas, composed from stable ops.
#include "tapegrad/losses/crossentropy.hpp"

#include <stdexcept>

#include "support.hpp"
#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::losses {

namespace {

bool is_probability(double v) { return v >= 0.0 && v <= 1.0; }
constexpr const char* probability_text = "in [0, 1]";

// The categorical losses' y_pred: floating, the classes on its last axis.
void check_class_scores(const char* loss, const Tensor& y_pred) {
  detail::check_float(loss, "y_pred", y_pred);
  detail::check_rank(loss, "y_pred", y_pred, 2, "(batch, classes)");
}

// log of the class probabilities along the last axis: log_softmax of logits, or
// (Keras) the log of the rows rescaled to sum 1 and clipped to [eps, 1 - eps].
Tensor log_probabilities(const Tensor& y_pred, bool from_logits) {
  if (from_logits) return log_softmax(y_pred, -1);
  Tensor rescaled = div(y_pred, sum(y_pred, {-1}, true));
  return log(clamp(rescaled, probability_epsilon, 1.0 - probability_epsilon));
}

// -sum(target * log p) over the classes, averaged over any middle axes.
Tensor categorical_from_target(const Tensor& target, const Tensor& y_pred, bool from_logits) {
  return detail::per_sample_mean(neg(sum(mul(target, log_probabilities(y_pred, from_logits)), {-1})));
}

}  // namespace

// ---- BinaryCrossentropy ----------------------------------------------------------------

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  const char* loss = "BinaryCrossentropy";
  Tensor z = detail::align_target(loss, y_true, y_pred);
  detail::check_values(loss, "y_true", z, is_probability, probability_text);
  Tensor elementwise;
  if (from_logits) {
    // -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)), with log(sigmoid(x)) = -softplus(-x)
    // and log(1 - sigmoid(x)) = -softplus(x): no overflow, no cancellation.
    elementwise = add(mul(z, softplus(neg(y_pred))), mul(1.0 - z, softplus(y_pred)));
  } else {
    // tf-keras 2 (tf_keras/backend.py, binary_crossentropy, 2.21.0): clip to
    // [eps, 1 - eps], then eps added inside both logs as well:
    // -(z log(p' + eps) + (1 - z) log(1 - p' + eps)). A p clipped at 1e-7 costs
    // -log(2e-7) = 15.425, not -log(1e-7) = 16.118. Keras 3 dropped the added eps.
    Tensor p = clamp(y_pred, probability_epsilon, 1.0 - probability_epsilon);
    elementwise = neg(add(mul(z, log(p + probability_epsilon)), mul(1.0 - z, log((1.0 - p) + probability_epsilon))));
  }
  return detail::per_sample_mean(elementwise);
}

BinaryCrossentropy::BinaryCrossentropy(bool from_logits, Reduction reduction)
    : FormulaLoss("BinaryCrossentropy", reduction, {"from_logits"}, from_logits) {}

// ---- CategoricalCrossentropy -----------------------------------------------------------

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  const char* loss = "CategoricalCrossentropy";
  check_class_scores(loss, y_pred);
  Tensor target = detail::align_target(loss, y_true, y_pred);
  detail::check_values(loss, "y_true", target, is_probability, probability_text);
  return categorical_from_target(target, y_pred, from_logits);
}

CategoricalCrossentropy::CategoricalCrossentropy(bool from_logits, Reduction reduction)
    : FormulaLoss("CategoricalCrossentropy", reduction, {"from_logits"}, from_logits) {}

// ---- SparseCategoricalCrossentropy -----------------------------------------------------

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits) {
  const char* loss = "SparseCategoricalCrossentropy";
  check_class_scores(loss, y_pred);
  if (!y_true.defined()) throw std::invalid_argument(std::string(loss) + ": y_true is an undefined tensor");
  if (y_true.dtype() != DType::int64)
    throw std::invalid_argument(std::string(loss) + ": y_true must hold int64 class indices, received " +
                                detail::describe(y_true) + " (convert with .to(tg::int64))");
  Shape label_shape = y_pred.shape();
  const std::int64_t classes = label_shape.back();
  label_shape.erase(label_shape.rank() - 1);
  Shape with_one = label_shape;
  with_one.push_back(1);
  if (y_true.shape() != label_shape && y_true.shape() != with_one)
    throw std::invalid_argument(std::string(loss) + ": y_true must have shape " + label_shape.str() + " or " +
                                with_one.str() + " (one class index per sample) for y_pred of shape " +
                                y_pred.shape().str() + ", received " + y_true.shape().str());
  detail::check_nonempty(loss, "y_pred", y_pred);
  // The one-hot targets: a constant (batch, ..., classes) tensor.
  Tensor target = zeros(y_pred.shape(), y_pred.dtype());
  const std::int64_t* labels = y_true.data<std::int64_t>();
  dispatch_float(y_pred.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* t = target.data<T>();
    for (std::int64_t i = 0; i < y_true.numel(); ++i) {
      if (labels[i] < 0 || labels[i] >= classes)
        throw std::out_of_range(std::string(loss) + ": label " + std::to_string(labels[i]) + " at index " +
                                std::to_string(i) + " is out of range for " + std::to_string(classes) +
                                " classes (expected 0 to " + std::to_string(classes - 1) + ")");
      t[i * classes + labels[i]] = T(1);
    }
  });
  return categorical_from_target(target, y_pred, from_logits);
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(bool from_logits, Reduction reduction)
    : FormulaLoss("SparseCategoricalCrossentropy", reduction, {"from_logits"}, from_logits) {}

}  // namespace tg::losses
