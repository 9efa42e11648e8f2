// Metrics reported by fit() and evaluate(), as Keras's: each keeps a state
// over the batches of an epoch (or of one evaluation) and reports its result.
// Most are per-sample functions of (y_true, y_pred) whose result is the mean
// over the samples seen, weighted by sample_weight when fit has one (Keras's
// MeanMetricWrapper); others (precision, recall) keep counts. The loss's
// mean is always reported as "loss".
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// Keras's Metric API: what fit and evaluate accumulate, one fresh state per
// epoch and per evaluation.
class MetricState {
 public:
  virtual ~MetricState() = default;
  // One batch; sample_weight is (batch,) or undefined (every sample weighs 1).
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) = 0;
  // The value over every batch so far (0 when nothing was counted, as Keras's divide_no_nan).
  virtual double result() const = 0;
  virtual void reset_state() = 0;
};

class Metric {
 public:
  using Function = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
  using StateFactory = std::function<std::unique_ptr<MetricState>()>;
  Metric(std::string name, Function per_sample);
  // A metric that is not a mean of per-sample values: `make_state` gives a fresh state.
  Metric(std::string name, StateFactory make_state);
  // By name: "accuracy" / "acc" (Keras 3's: binary, sparse categorical or
  // categorical accuracy, chosen by the shapes of y_true and y_pred: binary when
  // y_pred has one column, sparse when y_true has fewer dimensions or one
  // column against several), "binary_accuracy", "categorical_accuracy",
  // "sparse_categorical_accuracy", "cosine_similarity", "mse" /
  // "mean_squared_error", "mae" / "mean_absolute_error", "precision",
  // "recall", "auc", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"
  // (k = 5). Unknown names throw.
  Metric(const char* name);  // NOLINT: compile(..., {"accuracy"}) reads as in Keras
  Metric(const std::string& name);  // NOLINT

  const std::string& name() const { return name_; }
  // Per-sample values, shape (batch,). As Keras's MeanMetricWrapper, y_true
  // and y_pred are first brought to one rank (losses::squeeze_or_expand_to_same_rank:
  // a (batch,) target against a (batch, 1) prediction becomes (batch, 1)), and
  // values of shape (batch, ...) are averaged over all but the batch axis. A
  // function returning one value (0-d) for the batch is refused: fit() and
  // evaluate() average per sample.
  // Throws std::logic_error for a metric made from a StateFactory (it has no
  // per-sample values; use make_state()).
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred) const;
  // A fresh state: for a per-sample metric, the weighted mean of its values.
  std::unique_ptr<MetricState> make_state() const;

 private:
  std::string name_;
  Function per_sample_;
  StateFactory make_state_;
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
// 1 where the class index y_true ((batch,) or (batch, 1)) is among the k
// largest scores of y_pred (batch, classes), and the one-hot form; ties at
// the k-th score count as in (Keras's in_top_k).
Metric sparse_top_k_categorical_accuracy(int k = 5);
Metric top_k_categorical_accuracy(int k = 5);
// Keras's Precision and Recall at one threshold: a prediction is positive when
// y_pred > threshold, a target when y_true != 0; precision = tp / (tp + fp),
// recall = tp / (tp + fn), counted over the epoch (not averaged per batch),
// each sample counted with its weight; 0 when the denominator is 0.
Metric precision(double threshold = 0.5);
Metric recall(double threshold = 0.5);
// Keras's AUC: confusion counts at num_thresholds thresholds (-1e-7, 1/(n-1),
// ..., (n-2)/(n-1), 1 + 1e-7, in float32 as Keras's variables), then the area
// under curve "ROC" (x = false-positive rate, y = recall) or "PR" (x = recall,
// y = precision) by summation_method "interpolation" (trapezoids; for PR the
// Davis-Goadrich interpolation of Keras's interpolate_pr_auc), "minoring" or
// "majoring". y_pred must be probabilities in [0, 1]; one curve over every
// element (multi_label = False).
Metric auc(int num_thresholds = 200, const std::string& curve = "ROC",
           const std::string& summation_method = "interpolation");
}  // namespace metrics

}  // namespace tg
