// Metrics reported by fit() and evaluate(): each is a per-sample function of
// (y_true, y_pred) whose epoch value is the mean over all samples seen.
// The loss's mean is always reported as "loss".
#pragma once

#include <functional>
#include <string>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class Metric {
 public:
  using Function = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
  Metric(std::string name, Function per_sample);
  // By name: "accuracy" / "acc" (Keras 3's: binary, sparse categorical or
  // categorical accuracy, chosen by the shapes of y_true and y_pred: binary when
  // y_pred has one column, sparse when y_true has fewer dimensions or one
  // column against several), "binary_accuracy", "categorical_accuracy",
  // "sparse_categorical_accuracy", "cosine_similarity", "mse" /
  // "mean_squared_error", "mae" / "mean_absolute_error". Unknown names throw.
  Metric(const char* name);  // NOLINT: compile(..., {"accuracy"}) reads as in Keras
  Metric(const std::string& name);  // NOLINT

  const std::string& name() const { return name_; }
  // Per-sample values, shape (batch,). As Keras's MeanMetricWrapper, y_true
  // and y_pred are first brought to one rank (losses::squeeze_or_expand_to_same_rank:
  // a (batch,) target against a (batch, 1) prediction becomes (batch, 1)), and
  // values of shape (batch, ...) are averaged over all but the batch axis. A
  // function returning one value (0-d) for the batch is refused: fit() and
  // evaluate() average per sample.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const;

 private:
  std::string name_;
  Function per_sample_;
};

namespace metrics {
// 1 where (y_pred > threshold) equals (y_true > 0.5), averaged over the last axis.
Metric binary_accuracy(double threshold = 0.5);
// 1 where argmax(y_true) == argmax(y_pred) (the first maximum on ties), y_true one-hot (batch, classes).
Metric categorical_accuracy();
// 1 where argmax(y_pred) equals the class index y_true, (batch,) or (batch, 1).
Metric sparse_categorical_accuracy();
// The positive cosine similarity of y_true and y_pred along `axis` (Keras's
// metrics.CosineSimilarity; the loss of that name is its negative).
Metric cosine_similarity(int axis = -1);
Metric mean_squared_error();
Metric mean_absolute_error();
}  // namespace metrics

}  // namespace tg
