// The shape of every loss: a free function returning one value per sample, and
// a thin class holding the hyperparameters and a reduction, as Keras's `Loss`.
//
//   tg::Tensor per_sample = tg::losses::mean_squared_error(y_true, y_pred);  // shape (batch,)
//   tg::losses::MeanSquaredError mse;                                        // reduction: mean
//   tg::Tensor loss = mse(y_true, y_pred);                                   // a 0-d tensor
//
// The classes come in three families by what they compare, each with its own
// argument order (written again in every loss's header):
//   - Loss:        loss(y_true, y_pred, sample_weight)         targets against predictions
//   - PairLoss:    loss(x1, x2, label, sample_weight)          two embeddings and a pair label
//   - TripletLoss: loss(anchor, positive, negative, sample_weight)
// (MultipleNegativesRankingLoss takes (anchors, positives, sample_weight)).
//
// Reduction (Keras semantics). With per-sample values v (batch,) and optional
// sample weights w, a scalar or one per sample, (batch,) or (batch, 1):
//   none                 v * w                  shape (batch,)
//   sum                  sum(v * w)             0-d
//   sum_over_batch_size  sum(v * w) / batch     0-d, the default; `mean` is another name for it
// sum_over_batch_size divides by the number of samples, not by the sum of the
// weights: a weight of 0 still counts in the denominator (as Keras).
//
// Every loss is composed of tg ops only: gradients come from the tape.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <utility>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::losses {

enum class Reduction {
  none,
  sum,
  sum_over_batch_size,
  mean = sum_over_batch_size,
};

// "none", "sum" or "sum_over_batch_size".
const char* reduction_name(Reduction reduction);

// Applies sample weights and a reduction to per-sample values of shape
// (batch,); `loss_name` names the caller in error messages. An empty batch is
// an error (the mean of nothing is not a loss).
Tensor reduce(const Tensor& per_sample, Reduction reduction, const Tensor& sample_weight = Tensor(),
              const std::string& loss_name = "reduce");

// What every loss class has: a name (the class name, used in error messages)
// and a reduction.
class LossBase {
 public:
  virtual ~LossBase() = default;
  const std::string& name() const { return name_; }
  Reduction reduction() const { return reduction_; }
  // Sample weights and this loss's reduction applied to per-sample values (batch,).
  Tensor reduce(const Tensor& per_sample, const Tensor& sample_weight = Tensor()) const;
  // E.g. "CosineSimilarityLoss(axis=1, reduction=sum_over_batch_size)".
  virtual std::string repr() const;

 protected:
  LossBase(std::string name, Reduction reduction) : name_(std::move(name)), reduction_(reduction) {}
  // The hyperparameters as "axis=1, margin=0.5" (empty for none); repr() adds the reduction.
  virtual std::string hyperparameters() const { return ""; }

 private:
  std::string name_;
  Reduction reduction_;
};

// The reduction step every family shares: call() gives the per-sample values
// of the inputs (one Tensor per type in Inputs), operator() weights and reduces
// them. The families below differ only in what their inputs are.
template <class... Inputs>
class LossOf : public LossBase {
 public:
  using InputTypes = std::tuple<Inputs...>;
  // Per-sample losses, shape (batch,).
  virtual Tensor call(const Inputs&... inputs) const = 0;
  // call(), then the sample weights and the reduction.
  Tensor operator()(const Inputs&... inputs, const Tensor& sample_weight = Tensor()) const {
    return reduce(call(inputs...), sample_weight);
  }

 protected:
  LossOf(std::string name, Reduction reduction) : LossBase(std::move(name), reduction) {}
};

// Keras's squeeze_or_expand_to_same_rank: when the ranks of x1 and x2 differ
// by one and the longer one ends in a dimension of 1, the shorter is given that
// trailing 1 if it is a vector (expand_rank_1), otherwise the longer loses it.
// Other shapes are returned unchanged.
//   (batch,) and (batch, 1) -> (batch, 1) and (batch, 1)
//   (batch, 3) and (batch, 3, 1) -> (batch, 3) and (batch, 3)
std::pair<Tensor, Tensor> squeeze_or_expand_to_same_rank(const Tensor& x1, const Tensor& x2,
                                                         bool expand_rank_1 = true);

// A loss comparing targets with predictions: argument order (y_true, y_pred).
// operator() first brings y_true and y_pred to one rank as Keras does
// (squeeze_or_expand_to_same_rank), so that call() of a custom loss never sees
// a (batch,) target against a (batch, 1) prediction, whose product would
// broadcast to (batch, batch) without an error. A call() that returns one
// value (0-d) for the whole batch is taken as the loss, without sample weights.
class Loss : public LossOf<Tensor, Tensor> {
 public:
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) const;

 protected:
  using LossOf::LossOf;
};

// Keras's LossFunctionWrapper: a plain function (y_true, y_pred) -> Tensor as a
// Loss. It receives y_true and y_pred brought to one rank, and may return one
// value per sample (batch,), values of shape (batch, ...) (averaged over all
// but the batch axis, as Keras's reduction averages every element), or a 0-d
// loss (as Loss::operator() takes it).
//   tg::losses::LossFunctionWrapper mse([](const tg::Tensor& t, const tg::Tensor& p) {
//     return tg::mean(tg::square(t - p), {-1});
//   }, "my_mse");
class LossFunctionWrapper : public Loss {
 public:
  using Function = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
  explicit LossFunctionWrapper(Function fn, std::string name = "loss_function",
                               Reduction reduction = Reduction::sum_over_batch_size);
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  Function fn_;
};

// A loss on pairs of embeddings with one label per pair: argument order (x1, x2, label).
class PairLoss : public LossOf<Tensor, Tensor, Tensor> {
 protected:
  using LossOf::LossOf;
};

// A loss on triplets: argument order (anchor, positive, negative).
class TripletLoss : public LossOf<Tensor, Tensor, Tensor> {
 protected:
  using LossOf::LossOf;
};

// repr()'s text of one hyperparameter value: "true", "1", "0.5".
std::string hyperparameter_text(bool value);
std::string hyperparameter_text(int value);
std::string hyperparameter_text(double value);

// Keras's LossFunctionWrapper: a loss class that is its free function with the
// hyperparameters bound,
//   call(inputs...) = formula(inputs..., hyperparameters...),
// and repr() listing them by name ("margin=0.5, distance=cosine"). A loss class
// derives from FormulaLoss<Family, formula, std::tuple<hyperparameter types>>
// and adds its constructor (the defaults, the checks) and named accessors:
//   class CosineEmbeddingLoss : public FormulaLoss<PairLoss, cosine_embedding_loss, std::tuple<double>> {
//     ...
//     double margin() const { return hyperparameter<0>(); }
//   };
// The last template argument is the family's inputs, left to its default.
template <class Family, auto formula, class Hyperparameters = std::tuple<>,
          class Inputs = typename Family::InputTypes>
class FormulaLoss;

template <class Family, auto formula, class... Hyperparameters, class... Inputs>
class FormulaLoss<Family, formula, std::tuple<Hyperparameters...>, std::tuple<Inputs...>> : public Family {
 public:
  Tensor call(const Inputs&... inputs) const override {
    return std::apply([&](const Hyperparameters&... values) { return formula(inputs..., values...); }, values_);
  }

 protected:
  using Names = std::array<const char*, sizeof...(Hyperparameters)>;

  FormulaLoss(std::string name, Reduction reduction, Names names, Hyperparameters... values)
      : Family(std::move(name), reduction), names_(names), values_(values...) {}

  template <std::size_t i>
  const auto& hyperparameter() const {
    return std::get<i>(values_);
  }

  std::string hyperparameters() const override {
    std::string text;
    [&]<std::size_t... i>(std::index_sequence<i...>) {
      ((text += std::string(i ? ", " : "") + names_[i] + "=" + hyperparameter_text(std::get<i>(values_))), ...);
    }(std::index_sequence_for<Hyperparameters...>{});
    return text;
  }

 private:
  Names names_;
  std::tuple<Hyperparameters...> values_;
};

}  // namespace tg::losses
