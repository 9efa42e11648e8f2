// moments and batch_normalization: compositions of reductions and elementwise
// ops (no backward of their own), so nested tapes differentiate them to any
// order. The formulas and their VJPs are in the header.
#include "tapegrad/ops/normalization.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

// `t` (one of batch_normalization's statistics or parameters) broadcasts to
// x's shape without enlarging it: its rank is at most x's and each of its
// dimensions, right-aligned, is 1 or x's.
void check_broadcasts_to(const char* op, const char* label, const Tensor& t, const Tensor& x) {
  detail::check_same_float(op, x, t);
  const int offset = x.rank() - t.rank();
  if (offset < 0)
    throw std::invalid_argument(std::string(op) + ": " + label + " must broadcast to x's shape " + x.shape().str() +
                                " (rank at most " + std::to_string(x.rank()) + "), received " + label + " of shape " +
                                t.shape().str());
  for (int i = 0; i < t.rank(); ++i)
    if (t.dim(i) != 1 && t.dim(i) != x.dim(offset + i))
      throw std::invalid_argument(std::string(op) + ": " + label + " must broadcast to x's shape " + x.shape().str() +
                                  " (each dimension 1 or x's, right-aligned), received " + label + " of shape " +
                                  t.shape().str() + " (x's axis " + std::to_string(offset + i) + ": " +
                                  std::to_string(x.dim(offset + i)) + " vs " + std::to_string(t.dim(i)) + ")");
}

}  // namespace

Moments moments(const Tensor& x, const Axes& axes, bool keepdims) {
  const char* op = "moments";
  detail::check_float(op, x);
  const std::vector<int> reduced = detail::normalize_reduction_axes(op, axes, x.shape());
  // Kept dims for the subtraction; squeezed afterwards when asked.
  Tensor mean_kept = mean(x, reduced, /*keepdims=*/true);
  Tensor variance = mean(square(x - mean_kept), reduced, keepdims);
  Tensor m = keepdims ? mean_kept : reshape(mean_kept, variance.shape().to_vector());
  return {m, variance};
}

Tensor batch_normalization(const Tensor& x, const Tensor& mean, const Tensor& variance, const Tensor& offset,
                           const Tensor& scale, double epsilon) {
  const char* op = "batch_normalization";
  detail::check_float(op, x);
  check_broadcasts_to(op, "mean", mean, x);
  check_broadcasts_to(op, "variance", variance, x);
  if (mean.shape() != variance.shape())
    throw std::invalid_argument(std::string(op) + ": expects mean and variance of one shape, received mean " +
                                mean.shape().str() + " and variance " + variance.shape().str());
  if (offset.defined()) check_broadcasts_to(op, "offset", offset, x);
  if (scale.defined()) check_broadcasts_to(op, "scale", scale, x);
  if (!(epsilon > 0.0) || !std::isfinite(epsilon))
    throw std::invalid_argument(std::string(op) + ": epsilon must be a finite number > 0, received " +
                                detail::format_number(epsilon));

  // inv = scale / sqrt(variance + epsilon), the size of the statistics; x is
  // then touched by one product and one sum.
  Tensor inv = pow(variance + epsilon, -0.5);
  if (scale.defined()) inv = inv * scale;
  Tensor shift = offset.defined() ? offset - mean * inv : -(mean * inv);
  return x * inv + shift;
}

}  // namespace tg
