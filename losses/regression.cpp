// Regression losses.
#include "tapegrad/losses/regression.hpp"

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tg::losses {

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = detail::align_target("MeanSquaredError", y_true, y_pred);
  return detail::per_sample_mean(square(sub(y_pred, t)));
}

MeanSquaredError::MeanSquaredError(Reduction reduction) : Loss("MeanSquaredError", reduction) {}

Tensor MeanSquaredError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return mean_squared_error(y_true, y_pred);
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = detail::align_target("MeanAbsoluteError", y_true, y_pred);
  return detail::per_sample_mean(abs(sub(y_pred, t)));
}

MeanAbsoluteError::MeanAbsoluteError(Reduction reduction) : Loss("MeanAbsoluteError", reduction) {}

Tensor MeanAbsoluteError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return mean_absolute_error(y_true, y_pred);
}

}  // namespace tg::losses
