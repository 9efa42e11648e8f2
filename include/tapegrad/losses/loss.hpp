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

#include <string>
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

// A loss comparing targets with predictions: argument order (y_true, y_pred).
class Loss : public LossBase {
 public:
  // Per-sample losses, shape (batch,).
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;
  // call(), then the sample weights and the reduction.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) const {
    return reduce(call(y_true, y_pred), sample_weight);
  }

 protected:
  using LossBase::LossBase;
};

// A loss on pairs of embeddings with one label per pair: argument order (x1, x2, label).
class PairLoss : public LossBase {
 public:
  // Per-pair losses, shape (batch,).
  virtual Tensor call(const Tensor& x1, const Tensor& x2, const Tensor& label) const = 0;
  Tensor operator()(const Tensor& x1, const Tensor& x2, const Tensor& label,
                    const Tensor& sample_weight = Tensor()) const {
    return reduce(call(x1, x2, label), sample_weight);
  }

 protected:
  using LossBase::LossBase;
};

// A loss on triplets: argument order (anchor, positive, negative).
class TripletLoss : public LossBase {
 public:
  // Per-triplet losses, shape (batch,).
  virtual Tensor call(const Tensor& anchor, const Tensor& positive, const Tensor& negative) const = 0;
  Tensor operator()(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                    const Tensor& sample_weight = Tensor()) const {
    return reduce(call(anchor, positive, negative), sample_weight);
  }

 protected:
  using LossBase::LossBase;
};

}  // namespace tg::losses
