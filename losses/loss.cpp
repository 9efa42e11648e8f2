// The reduction shared by every loss, and the argument checks behind the
// losses' error messages.
#include "tapegrad/losses/loss.hpp"

#include <cmath>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::losses {

namespace detail {

namespace {

[[noreturn]] void fail(const char* loss, const std::string& message) {
  throw std::invalid_argument(std::string(loss) + ": " + message);
}

}  // namespace

void check_float(const char* loss, const char* what, const Tensor& t) {
  if (!t.defined()) fail(loss, std::string(what) + " is an undefined tensor");
  if (!t.is_floating())
    fail(loss, std::string(what) + " must be a float32 or float64 tensor, received " + describe(t));
}

void check_same_float(const char* loss, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  check_float(loss, a_name, a);
  check_float(loss, b_name, b);
  if (a.dtype() != b.dtype())
    fail(loss, std::string(a_name) + " and " + b_name + " must have one dtype, received " + dtype_name(a.dtype()) +
                   " and " + dtype_name(b.dtype()) + " (convert one with .to())");
}

void check_same_shape(const char* loss, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  if (a.shape() != b.shape())
    fail(loss, std::string(a_name) + " and " + b_name + " must have the same shape, received " + a.shape().str() +
                   " and " + b.shape().str());
}

void check_rank(const char* loss, const char* what, const Tensor& t, int min_rank, const char* expected) {
  if (t.rank() < min_rank)
    fail(loss, std::string(what) + " must have shape " + expected + ", received " + t.shape().str());
}

void check_rank_exact(const char* loss, const char* what, const Tensor& t, int rank, const char* expected) {
  if (t.rank() != rank) fail(loss, std::string(what) + " must have shape " + expected + ", received " + t.shape().str());
}

void check_nonempty(const char* loss, const char* what, const Tensor& t) {
  if (t.rank() == 0 || t.dim(0) == 0)
    fail(loss, std::string("empty batch: ") + what + " has shape " + t.shape().str() +
                   "; a loss needs at least one sample along axis 0");
}

Tensor cast_like(const Tensor& t, const Tensor& like) { return t.dtype() == like.dtype() ? t : t.to(like.dtype()); }

Tensor align_target(const char* loss, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined()) fail(loss, "y_true is an undefined tensor");
  check_float(loss, "y_pred", y_pred);
  check_rank(loss, "y_pred", y_pred, 1, "(batch, ...)");
  Tensor t = cast_like(y_true, y_pred);
  const Shape& ps = y_pred.shape();
  const Shape& ts = t.shape();
  // Keras's squeeze_or_expand_to_same_rank: a trailing axis of 1 on either side.
  if (ts.rank() + 1 == ps.rank() && ps.back() == 1) t = reshape(t, ps.to_vector());
  else if (ts.rank() == ps.rank() + 1 && ts.back() == 1) t = reshape(t, ps.to_vector());
  if (t.shape() != ps)
    fail(loss, "y_true and y_pred must have the same shape, received " + ts.str() + " and " + ps.str());
  check_nonempty(loss, "y_pred", y_pred);
  return t;
}

Tensor batch_vector(const char* loss, const char* what, const Tensor& t, std::int64_t batch) {
  if (!t.defined()) fail(loss, std::string(what) + " is an undefined tensor");
  const Shape& s = t.shape();
  if (s.rank() == 1 && s[0] == batch) return t;
  if (s.rank() == 2 && s[0] == batch && s[1] == 1) return reshape(t, {batch});
  fail(loss, std::string(what) + " must have shape (" + std::to_string(batch) + ",) or (" + std::to_string(batch) +
                 ", 1), one per sample, received " + s.str());
}

void check_values(const char* loss, const char* what, const Tensor& t, const std::function<bool(double)>& ok,
                  const char* expected) {
  const std::int64_t n = t.numel();
  dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* data = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(data[i]);
      if (!ok(v))
        fail(loss, std::string(what) + " must be " + expected + ", received " + format_number(v) + " at index " +
                       std::to_string(i));
    }
  });
}

Tensor pair_label(const char* loss, const Tensor& x1, const Tensor& x2, const Tensor& label,
                  const std::function<bool(double)>& ok, const char* expected) {
  check_same_float(loss, "x1", x1, "x2", x2);
  check_same_shape(loss, "x1", x1, "x2", x2);
  check_rank_exact(loss, "x1", x1, 2, "(batch, features)");
  check_nonempty(loss, "x1", x1);
  Tensor y = batch_vector(loss, "label", label, x1.dim(0));
  check_values(loss, "label", y, ok, expected);
  return cast_like(y, x1);
}

Tensor per_sample_mean(const Tensor& values) {
  if (values.rank() <= 1) return values;
  Axes axes;
  for (int d = 1; d < values.rank(); ++d) axes.push_back(d);
  return mean(values, axes);
}

}  // namespace detail

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return "none";
    case Reduction::sum: return "sum";
    case Reduction::sum_over_batch_size: return "sum_over_batch_size";
  }
  return "unknown";
}

Tensor reduce(const Tensor& per_sample, Reduction reduction, const Tensor& sample_weight, const std::string& loss_name) {
  const char* loss = loss_name.c_str();
  detail::check_float(loss, "the per-sample losses", per_sample);
  detail::check_rank_exact(loss, "the per-sample losses", per_sample, 1, "(batch,)");
  detail::check_nonempty(loss, "the per-sample losses", per_sample);
  const std::int64_t batch = per_sample.dim(0);
  Tensor values = per_sample;
  if (sample_weight.defined()) {
    Tensor w = sample_weight.rank() == 0 ? sample_weight : detail::batch_vector(loss, "sample_weight", sample_weight, batch);
    values = mul(values, detail::cast_like(w, per_sample));
  }
  switch (reduction) {
    case Reduction::none: return values;
    case Reduction::sum: return sum(values);
    case Reduction::sum_over_batch_size: return sum(values) / static_cast<double>(batch);
  }
  throw std::invalid_argument(loss_name + ": unknown reduction " + std::to_string(static_cast<int>(reduction)));
}

std::pair<Tensor, Tensor> squeeze_or_expand_to_same_rank(const Tensor& x1, const Tensor& x2, bool expand_rank_1) {
  if (!x1.defined() || !x2.defined() || x1.rank() == x2.rank()) return {x1, x2};
  // Keras's rule, written once for "a is the longer one".
  auto fit = [&](const Tensor& longer, const Tensor& shorter) -> std::pair<Tensor, Tensor> {
    if (longer.rank() != shorter.rank() + 1 || longer.dim(-1) != 1) return {longer, shorter};
    if (shorter.rank() == 1 && expand_rank_1) return {longer, expand_dims(shorter, -1)};
    return {squeeze(longer, {-1}), shorter};
  };
  if (x1.rank() > x2.rank()) return fit(x1, x2);
  auto [b, a] = fit(x2, x1);
  return {a, b};
}

LossFunctionWrapper::LossFunctionWrapper(Function fn, std::string name, Reduction reduction)
    : Loss(std::move(name), reduction), fn_(std::move(fn)) {
  if (!fn_) throw std::invalid_argument("LossFunctionWrapper '" + this->name() + "': the function is empty");
}

Tensor LossFunctionWrapper::call(const Tensor& y_true, const Tensor& y_pred) const {
  Tensor values = fn_(y_true, y_pred);
  if (!values.defined() || !values.is_floating())
    throw std::invalid_argument(name() + ": the loss function returned " + detail::describe(values) +
                                "; expected a floating tensor, one value per sample (batch,)");
  if (values.rank() >= 2) {
    std::vector<int> rest;
    for (int a = 1; a < values.rank(); ++a) rest.push_back(a);
    values = mean(values, rest);
  }
  return values;
}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const {
  auto [t, p] = squeeze_or_expand_to_same_rank(y_true, y_pred);
  Tensor values = call(t, p);
  if (values.rank() == 0) {
    if (sample_weight.defined())
      throw std::invalid_argument(name() + ": the loss function returned one value (a 0-d tensor), so there are "
                                  "no per-sample values for the sample_weight " + detail::describe(sample_weight) +
                                  " to weigh; return one value per sample (batch,)");
    return values;
  }
  return reduce(values, sample_weight);
}

Tensor LossBase::reduce(const Tensor& per_sample, const Tensor& sample_weight) const {
  return losses::reduce(per_sample, reduction_, sample_weight, name_);
}

std::string hyperparameter_text(bool value) { return value ? "true" : "false"; }
std::string hyperparameter_text(int value) { return std::to_string(value); }
std::string hyperparameter_text(double value) { return detail::format_number(value); }

std::string LossBase::repr() const {
  std::string h = hyperparameters();
  return name_ + "(" + h + (h.empty() ? "" : ", ") + "reduction=" + reduction_name(reduction_) + ")";
}

}  // namespace tg::losses
