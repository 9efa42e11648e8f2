// Regression losses.
#include "tapegrad/losses/regression.hpp"

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tg::losses {

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = detail::align_target("MeanSquaredError", y_true, y_pred);
  return detail::per_sample_mean(square(sub(y_pred, t)));
}

MeanSquaredError::MeanSquaredError(Reduction reduction) : FormulaLoss("MeanSquaredError", reduction, {}) {}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  Tensor t = detail::align_target("MeanAbsoluteError", y_true, y_pred);
  return detail::per_sample_mean(abs(sub(y_pred, t)));
}

MeanAbsoluteError::MeanAbsoluteError(Reduction reduction) : FormulaLoss("MeanAbsoluteError", reduction, {}) {}

}  // namespace tg::losses
