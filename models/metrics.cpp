// Metrics: per-sample values of (y_true, y_pred), computed in float64 from
// plain loops (a metric is never differentiated), averaged by fit()/evaluate().
#include "tapegrad/models/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/losses/loss.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

namespace {

const char* const known_metrics =
    "accuracy, acc, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, cosine_similarity, mse, "
    "mean_squared_error, mae, mean_absolute_error, precision, recall, auc, top_k_categorical_accuracy, "
    "sparse_top_k_categorical_accuracy";

using detail::describe;

// y_true and y_pred as float64 values of y_pred's shape. As the losses (and
// Keras), a y_true of shape (batch,) matches a y_pred of shape (batch, 1) and
// the reverse.
struct Aligned {
  std::vector<double> y_true, y_pred;
  std::int64_t batch = 0, per_sample = 0;
};

Aligned align(const std::string& metric, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined() || y_pred.rank() == 0 || y_true.rank() == 0)
    throw std::invalid_argument(metric + ": expected y_true and y_pred of shape (batch, ...), received " +
                                describe(y_true) + " and " + describe(y_pred));
  const Shape& t = y_true.shape();
  const Shape& p = y_pred.shape();
  const bool column_vs_vector = (t.rank() == 1 && p.rank() == 2 && p[1] == 1 && p[0] == t[0]) ||
                                (p.rank() == 1 && t.rank() == 2 && t[1] == 1 && p[0] == t[0]);
  if (t != p && !column_vs_vector)
    throw std::invalid_argument(metric + ": y_true and y_pred must have the same shape, received " + t.str() +
                                " and " + p.str());
  Aligned a;
  a.y_true = y_true.to(float64).to_vector<double>();
  a.y_pred = y_pred.to(float64).to_vector<double>();
  a.batch = p[0];
  a.per_sample = a.batch == 0 ? 0 : static_cast<std::int64_t>(a.y_pred.size()) / a.batch;
  return a;
}

// The mean of f(true, pred) over each sample's elements: shape (batch,).
template <class F>
Tensor per_sample_mean(const Aligned& a, F f) {
  std::vector<double> out(static_cast<std::size_t>(a.batch), 0.0);
  for (std::int64_t i = 0; i < a.batch; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < a.per_sample; ++j) {
      const auto k = static_cast<std::size_t>(i * a.per_sample + j);
      s += f(a.y_true[k], a.y_pred[k]);
    }
    out[static_cast<std::size_t>(i)] = a.per_sample ? s / static_cast<double>(a.per_sample) : 0.0;
  }
  return Tensor::from_vector(out, Shape{a.batch});
}

// The sample weights of a batch of n as doubles (all 1 when undefined).
std::vector<double> weights_of(const std::string& metric, const Tensor& sample_weight, std::int64_t n) {
  if (!sample_weight.defined()) return std::vector<double>(static_cast<std::size_t>(n), 1.0);
  if (sample_weight.numel() != n)
    throw std::invalid_argument(metric + ": sample_weight must have one value per sample (" + std::to_string(n) +
                                "), received " + describe(sample_weight));
  return sample_weight.to(float64).to_vector<double>();
}

// Keras's MeanMetricWrapper: sum(w * values) / sum(w).
class WeightedMean : public MetricState {
 public:
  explicit WeightedMean(Metric metric) : metric_(std::move(metric)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override {
    const Tensor per_sample = metric_(y_true, y_pred);
    if (per_sample.rank() != 1 || per_sample.dim(0) != y_true.dim(0))
      throw std::invalid_argument("metric '" + metric_.name() + "': expected one value per sample, shape (" +
                                  std::to_string(y_true.dim(0)) + ",), received " + describe(per_sample));
    const std::vector<double> values = per_sample.to(float64).to_vector<double>();
    const std::vector<double> w = weights_of(metric_.name(), sample_weight, y_true.dim(0));
    for (std::size_t i = 0; i < values.size(); ++i) {
      total_ += w[i] * values[i];
      count_ += w[i];
    }
  }
  double result() const override { return count_ != 0 ? total_ / count_ : 0.0; }
  void reset_state() override { total_ = count_ = 0; }

 private:
  Metric metric_;
  double total_ = 0, count_ = 0;
};

// Precision and recall: weighted true positives, false positives, false negatives.
class ConfusionCounts : public MetricState {
 public:
  ConfusionCounts(std::string name, double threshold, bool recall)
      : name_(std::move(name)), threshold_(threshold), recall_(recall) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override {
    const Aligned a = align(name_, y_true, y_pred);
    const std::vector<double> w = weights_of(name_, sample_weight, a.batch);
    for (std::int64_t i = 0; i < a.batch; ++i)
      for (std::int64_t j = 0; j < a.per_sample; ++j) {
        const auto k = static_cast<std::size_t>(i * a.per_sample + j);
        const bool predicted = a.y_pred[k] > threshold_, actual = a.y_true[k] != 0.0;
        const double weight = w[static_cast<std::size_t>(i)];
        if (predicted && actual) tp_ += weight;
        else if (predicted) fp_ += weight;
        else if (actual) fn_ += weight;
      }
  }
  double result() const override {
    const double denominator = tp_ + (recall_ ? fn_ : fp_);
    return denominator != 0 ? tp_ / denominator : 0.0;
  }
  void reset_state() override { tp_ = fp_ = fn_ = 0; }

 private:
  std::string name_;
  double threshold_;
  bool recall_;
  double tp_ = 0, fp_ = 0, fn_ = 0;
};

// Keras's AUC state: weighted tp, fp, tn, fn at each threshold.
class AreaUnderCurve : public MetricState {
 public:
  AreaUnderCurve(int num_thresholds, bool pr, int summation) : pr_(pr), summation_(summation) {
    const int n = num_thresholds;
    thresholds_.push_back(static_cast<float>(0.0 - 1e-7));
    for (int i = 0; i < n - 2; ++i) thresholds_.push_back(static_cast<float>((i + 1) * 1.0 / (n - 1)));
    thresholds_.push_back(static_cast<float>(1.0 + 1e-7));
    reset_state();
  }
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override {
    const Aligned a = align("auc", y_true, y_pred);
    const std::vector<double> w = weights_of("auc", sample_weight, a.batch);
    for (std::int64_t i = 0; i < a.batch; ++i)
      for (std::int64_t j = 0; j < a.per_sample; ++j) {
        const auto k = static_cast<std::size_t>(i * a.per_sample + j);
        const double p = a.y_pred[k];
        if (!(p >= 0.0 && p <= 1.0))
          throw std::invalid_argument("auc: y_pred must be probabilities in [0, 1], received " +
                                      detail::format_number(p) + " at sample " + std::to_string(i));
        const bool actual = a.y_true[k] != 0.0;
        const float p32 = static_cast<float>(p);
        const double weight = w[static_cast<std::size_t>(i)];
        for (std::size_t t = 0; t < thresholds_.size(); ++t) {
          const bool predicted = p32 > thresholds_[t];
          (predicted ? (actual ? tp_ : fp_) : (actual ? fn_ : tn_))[t] += weight;
        }
      }
  }
  double result() const override {
    const std::size_t n = thresholds_.size();
    auto ratio = [](double a, double b) { return b != 0 ? a / b : 0.0; };  // divide_no_nan
    double area = 0;
    if (pr_ && summation_ == 0) {  // interpolate_pr_auc
      for (std::size_t t = 0; t + 1 < n; ++t) {
        const double dtp = tp_[t] - tp_[t + 1];
        const double pa = tp_[t] + fp_[t], pb = tp_[t + 1] + fp_[t + 1];
        const double slope = ratio(dtp, std::max(pa - pb, 0.0));
        const double intercept = tp_[t + 1] - slope * pb;
        const double p_ratio = pa > 0 && pb > 0 ? ratio(pa, std::max(pb, 0.0)) : 1.0;
        area += ratio(slope * (dtp + intercept * std::log(p_ratio)), std::max(tp_[t + 1] + fn_[t + 1], 0.0));
      }
      return area;
    }
    std::vector<double> x(n), y(n);
    for (std::size_t t = 0; t < n; ++t) {
      const double recall = ratio(tp_[t], tp_[t] + fn_[t]);
      x[t] = pr_ ? recall : ratio(fp_[t], fp_[t] + tn_[t]);
      y[t] = pr_ ? ratio(tp_[t], tp_[t] + fp_[t]) : recall;
    }
    for (std::size_t t = 0; t + 1 < n; ++t) {
      const double height = summation_ == 0   ? (y[t] + y[t + 1]) / 2.0
                             : summation_ == 1 ? std::min(y[t], y[t + 1])
                                               : std::max(y[t], y[t + 1]);
      area += (x[t] - x[t + 1]) * height;
    }
    return area;
  }
  void reset_state() override {
    for (auto* v : {&tp_, &fp_, &tn_, &fn_}) v->assign(thresholds_.size(), 0.0);
  }

 private:
  bool pr_;
  int summation_;  // 0 interpolation, 1 minoring, 2 majoring
  std::vector<float> thresholds_;
  std::vector<double> tp_, fp_, tn_, fn_;
};

// 1 where the score of class c in row i is among the k largest (ties count as in).
double in_top_k(const std::vector<double>& p, std::int64_t i, std::int64_t n, std::int64_t c, int k) {
  const double score = p[static_cast<std::size_t>(i * n + c)];
  std::int64_t above = 0;
  for (std::int64_t j = 0; j < n; ++j) above += p[static_cast<std::size_t>(i * n + j)] > score;
  return above < k ? 1.0 : 0.0;
}

Metric named(const std::string& name, const Metric& metric) {
  // The function of `metric`, under the name the user wrote ("mse", "acc"...).
  return Metric(name, [metric](const Tensor& y_true, const Tensor& y_pred) { return metric(y_true, y_pred); });
}

// The index of the first maximum of row i of a (rows x n) table (Keras's argmax).
std::int64_t argmax_row(const std::vector<double>& v, std::int64_t i, std::int64_t n) {
  std::int64_t best = 0;
  for (std::int64_t j = 1; j < n; ++j)
    if (v[static_cast<std::size_t>(i * n + j)] > v[static_cast<std::size_t>(i * n + best)]) best = j;
  return best;
}

// Keras 3's "accuracy" (compile_utils.get_metric): chosen by the shapes at the
// first batch, binary when y_pred has one column, sparse categorical when
// y_true has fewer dimensions than y_pred (or one column against several),
// categorical otherwise.
Metric shape_resolved_accuracy(const std::string& name) {
  return Metric(name, [name](const Tensor& y_true, const Tensor& y_pred) {
    if (!y_true.defined() || !y_pred.defined() || y_true.rank() == 0 || y_pred.rank() == 0)
      throw std::invalid_argument(name + ": expected y_true and y_pred of shape (batch, ...), received " +
                                  describe(y_true) + " and " + describe(y_pred));
    const std::int64_t t_last = y_true.dim(-1), p_last = y_pred.dim(-1);
    if (p_last == 1 || y_pred.rank() == 1) return metrics::binary_accuracy()(y_true, y_pred);
    if (y_true.rank() < y_pred.rank() || (t_last == 1 && p_last > 1))
      return metrics::sparse_categorical_accuracy()(y_true, y_pred);
    return metrics::categorical_accuracy()(y_true, y_pred);
  });
}

Metric from_name(const std::string& name) {
  if (name == "accuracy" || name == "acc") return shape_resolved_accuracy(name);
  if (name == "binary_accuracy") return metrics::binary_accuracy();
  if (name == "categorical_accuracy") return metrics::categorical_accuracy();
  if (name == "sparse_categorical_accuracy") return metrics::sparse_categorical_accuracy();
  if (name == "cosine_similarity") return metrics::cosine_similarity();
  if (name == "mse" || name == "mean_squared_error") return named(name, metrics::mean_squared_error());
  if (name == "mae" || name == "mean_absolute_error") return named(name, metrics::mean_absolute_error());
  if (name == "precision") return metrics::precision();
  if (name == "recall") return metrics::recall();
  if (name == "auc" || name == "AUC") return metrics::auc();
  if (name == "top_k_categorical_accuracy") return metrics::top_k_categorical_accuracy();
  if (name == "sparse_top_k_categorical_accuracy") return metrics::sparse_top_k_categorical_accuracy();
  throw std::invalid_argument("Metric: unknown metric '" + name + "' (known: " + known_metrics + ")");
}

// A metric's name becomes a key of fit's logs, beside "loss" and "val_...".
void check_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("Metric: the name must not be empty");
  if (name == "loss" || name.rfind("val_", 0) == 0)
    throw std::invalid_argument("Metric: the name '" + name +
                                "' is reserved (fit reports the loss as 'loss' and validation values as 'val_...')");
}

// Precision's and recall's threshold, a probability.
void check_threshold(const char* who, double threshold) {
  if (!(threshold >= 0.0 && threshold <= 1.0))
    throw std::invalid_argument(std::string(who) + ": threshold must be in [0, 1], received " +
                                detail::format_number(threshold));
}

}  // namespace

Metric::Metric(std::string name, Function per_sample) : name_(std::move(name)), per_sample_(std::move(per_sample)) {
  check_name(name_);
  if (!per_sample_) throw std::invalid_argument("Metric '" + name_ + "': the function is empty");
}

Metric::Metric(std::string name, StateFactory make_state) : name_(std::move(name)), make_state_(std::move(make_state)) {
  check_name(name_);
  if (!make_state_) throw std::invalid_argument("Metric '" + name_ + "': the state factory is empty");
}

std::unique_ptr<MetricState> Metric::make_state() const {
  if (make_state_) return make_state_();
  return std::make_unique<WeightedMean>(*this);
}

Tensor Metric::operator()(const Tensor& y_true, const Tensor& y_pred) const {
  if (!per_sample_)
    throw std::logic_error("Metric '" + name_ + "' keeps a state over batches (precision, recall, ...) and has no "
                           "per-sample values: use make_state()");
  auto [t, p] = losses::squeeze_or_expand_to_same_rank(y_true, y_pred);
  Tensor values = per_sample_(t, p);
  if (!values.defined() || !values.is_floating() || values.rank() == 0)
    throw std::invalid_argument("Metric '" + name_ + "': the function returned " + describe(values) +
                                "; expected a floating tensor with one value per sample (batch,)");
  if (values.rank() >= 2) {
    std::vector<int> rest;
    for (int a = 1; a < values.rank(); ++a) rest.push_back(a);
    values = mean(values, rest);
  }
  return values;
}

Metric::Metric(const char* name) : Metric(from_name(name == nullptr ? std::string() : std::string(name))) {}
Metric::Metric(const std::string& name) : Metric(from_name(name)) {}

namespace metrics {

Metric binary_accuracy(double threshold) {
  return Metric("binary_accuracy", [threshold](const Tensor& y_true, const Tensor& y_pred) {
    const Aligned a = align("binary_accuracy", y_true, y_pred);
    return per_sample_mean(a, [threshold](double t, double p) { return (p > threshold) == (t > 0.5) ? 1.0 : 0.0; });
  });
}

Metric cosine_similarity(int axis) {
  return Metric("cosine_similarity", [axis](const Tensor& y_true, const Tensor& y_pred) {
    if (!y_true.defined() || !y_pred.defined() || y_true.shape() != y_pred.shape() || y_pred.rank() < 2)
      throw std::invalid_argument("cosine_similarity: expected y_true and y_pred of one shape (batch, ..., features), "
                                  "received " + describe(y_true) + " and " + describe(y_pred));
    NoGradGuard no_grad;
    Tensor cos = tg::cosine_similarity(y_true.to(float64), y_pred.to(float64), axis);
    if (cos.rank() > 1) {
      Axes rest;
      for (int d = 1; d < cos.rank(); ++d) rest.push_back(d);
      cos = mean(cos, rest);
    }
    return cos;
  });
}

Metric categorical_accuracy() {
  return Metric("categorical_accuracy", [](const Tensor& y_true, const Tensor& y_pred) {
    if (!y_true.defined() || !y_pred.defined() || y_pred.rank() != 2 || y_true.shape() != y_pred.shape())
      throw std::invalid_argument("categorical_accuracy: expected one-hot y_true and y_pred of one shape (batch, "
                                  "classes), received " + describe(y_true) + " and " + describe(y_pred));
    const std::vector<double> t = y_true.to(float64).to_vector<double>(), p = y_pred.to(float64).to_vector<double>();
    const std::int64_t batch = y_pred.dim(0), n = y_pred.dim(1);
    std::vector<double> out(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i)
      out[static_cast<std::size_t>(i)] = argmax_row(t, i, n) == argmax_row(p, i, n) ? 1.0 : 0.0;
    return Tensor::from_vector(out, Shape{batch});
  });
}

Metric sparse_categorical_accuracy() {
  return Metric("sparse_categorical_accuracy", [](const Tensor& y_true, const Tensor& y_pred) {
    const bool shapes_ok = y_true.defined() && y_pred.defined() && y_pred.rank() == 2 &&
                           ((y_true.rank() == 1 && y_true.dim(0) == y_pred.dim(0)) ||
                            (y_true.rank() == 2 && y_true.dim(1) == 1 && y_true.dim(0) == y_pred.dim(0)));
    if (!shapes_ok)
      throw std::invalid_argument("sparse_categorical_accuracy: expected class indices y_true (batch,) or (batch, "
                                  "1) and scores y_pred (batch, classes), received " + describe(y_true) + " and " +
                                  describe(y_pred));
    const std::vector<double> t = y_true.to(float64).to_vector<double>(), p = y_pred.to(float64).to_vector<double>();
    const std::int64_t batch = y_pred.dim(0), n = y_pred.dim(1);
    std::vector<double> out(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i)
      out[static_cast<std::size_t>(i)] =
          static_cast<double>(argmax_row(p, i, n)) == t[static_cast<std::size_t>(i)] ? 1.0 : 0.0;
    return Tensor::from_vector(out, Shape{batch});
  });
}

Metric precision(double threshold) {
  check_threshold("metrics::precision", threshold);
  return Metric("precision", Metric::StateFactory([threshold] {
                  return std::make_unique<ConfusionCounts>("precision", threshold, false);
                }));
}

Metric recall(double threshold) {
  check_threshold("metrics::recall", threshold);
  return Metric("recall", Metric::StateFactory([threshold] {
                  return std::make_unique<ConfusionCounts>("recall", threshold, true);
                }));
}

Metric auc(int num_thresholds, const std::string& curve, const std::string& summation_method) {
  if (num_thresholds <= 1)
    throw std::invalid_argument("metrics::auc: num_thresholds must be > 1, received " + std::to_string(num_thresholds));
  if (curve != "ROC" && curve != "PR")
    throw std::invalid_argument("metrics::auc: curve must be \"ROC\" or \"PR\", received \"" + curve + "\"");
  const int summation = summation_method == "interpolation" ? 0
                        : summation_method == "minoring"    ? 1
                        : summation_method == "majoring"    ? 2
                                                            : -1;
  if (summation < 0)
    throw std::invalid_argument("metrics::auc: summation_method must be \"interpolation\", \"minoring\" or "
                                "\"majoring\", received \"" + summation_method + "\"");
  const bool pr = curve == "PR";
  return Metric("auc", Metric::StateFactory([num_thresholds, pr, summation] {
                  return std::make_unique<AreaUnderCurve>(num_thresholds, pr, summation);
                }));
}

Metric sparse_top_k_categorical_accuracy(int k) {
  if (k < 1) throw std::invalid_argument("metrics::sparse_top_k_categorical_accuracy: k must be >= 1, received " +
                                         std::to_string(k));
  return Metric("sparse_top_k_categorical_accuracy", [k](const Tensor& y_true, const Tensor& y_pred) {
    const bool shapes_ok = y_true.defined() && y_pred.defined() && y_pred.rank() == 2 &&
                           ((y_true.rank() == 1 && y_true.dim(0) == y_pred.dim(0)) ||
                            (y_true.rank() == 2 && y_true.dim(1) == 1 && y_true.dim(0) == y_pred.dim(0)));
    if (!shapes_ok)
      throw std::invalid_argument("sparse_top_k_categorical_accuracy: expected class indices y_true (batch,) or "
                                  "(batch, 1) and scores y_pred (batch, classes), received " + describe(y_true) +
                                  " and " + describe(y_pred));
    const std::vector<double> t = y_true.to(float64).to_vector<double>(), p = y_pred.to(float64).to_vector<double>();
    const std::int64_t batch = y_pred.dim(0), n = y_pred.dim(1);
    std::vector<double> out(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i) {
      const double c = t[static_cast<std::size_t>(i)];
      if (!(c >= 0 && c < static_cast<double>(n)) || c != std::floor(c))
        throw std::invalid_argument("sparse_top_k_categorical_accuracy: y_true[" + std::to_string(i) + "] = " +
                                    detail::format_number(c) + " is not a class index in [0, " + std::to_string(n) +
                                    ")");
      out[static_cast<std::size_t>(i)] = in_top_k(p, i, n, static_cast<std::int64_t>(c), k);
    }
    return Tensor::from_vector(out, Shape{batch});
  });
}

Metric top_k_categorical_accuracy(int k) {
  if (k < 1)
    throw std::invalid_argument("metrics::top_k_categorical_accuracy: k must be >= 1, received " + std::to_string(k));
  return Metric("top_k_categorical_accuracy", [k](const Tensor& y_true, const Tensor& y_pred) {
    if (!y_true.defined() || !y_pred.defined() || y_pred.rank() != 2 || y_true.shape() != y_pred.shape())
      throw std::invalid_argument("top_k_categorical_accuracy: expected one-hot y_true and y_pred of one shape "
                                  "(batch, classes), received " + describe(y_true) + " and " + describe(y_pred));
    const std::vector<double> t = y_true.to(float64).to_vector<double>(), p = y_pred.to(float64).to_vector<double>();
    const std::int64_t batch = y_pred.dim(0), n = y_pred.dim(1);
    std::vector<double> out(static_cast<std::size_t>(batch));
    for (std::int64_t i = 0; i < batch; ++i) out[static_cast<std::size_t>(i)] = in_top_k(p, i, n, argmax_row(t, i, n), k);
    return Tensor::from_vector(out, Shape{batch});
  });
}

Metric mean_squared_error() {
  return Metric("mean_squared_error", [](const Tensor& y_true, const Tensor& y_pred) {
    return per_sample_mean(align("mean_squared_error", y_true, y_pred),
                           [](double t, double p) { return (t - p) * (t - p); });
  });
}

Metric mean_absolute_error() {
  return Metric("mean_absolute_error", [](const Tensor& y_true, const Tensor& y_pred) {
    return per_sample_mean(align("mean_absolute_error", y_true, y_pred),
                           [](double t, double p) { return std::abs(t - p); });
  });
}

}  // namespace metrics

}  // namespace tg
