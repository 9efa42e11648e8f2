// Normalization by statistics: tf.nn.moments and tf.nn.batch_normalization,
// the arithmetic of the BatchNormalization and LayerNormalization layers.
#pragma once

#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// The mean and the biased variance (divided by the count, as tf.nn.moments and
// Keras; PyTorch's unbiased var divides by count - 1) of x over `axes`:
//   mean     = sum(x) / n
//   variance = sum((x - mean)^2) / n,           n = product of the reduced dims
// Negative axes count from the end; an empty list means every axis (as
// tg::mean); with keepdims the reduced axes stay as size 1, so that the
// statistics broadcast against x. Both are composed of mean, sub and square,
// so gradients of any order are exact:
//   d mean / dx = 1 / n,   d variance / dx = 2 (x - mean) / n
// (the mean's own term in the variance's gradient, -2/n sum(x - mean), is 0).
// Over zero elements both are NaN (the mean of nothing).
//   x = [[1, 2], [3, 6]], axes {0}  -> mean [2, 4], variance [1, 4]
struct Moments {
  Tensor mean, variance;
};
Moments moments(const Tensor& x, const Axes& axes, bool keepdims = false);

// tf.nn.batch_normalization:
//   out = (x - mean) / sqrt(variance + epsilon) * scale + offset
// computed as x * inv + (offset - mean * inv), inv = scale / sqrt(variance + epsilon),
// so that x is read once for the product and once for the sum (the statistics
// are small). mean, variance, offset and scale broadcast against x (NumPy's
// rules, right-aligned) and must not enlarge it: out has x's shape. mean and
// variance must have one shape; offset and scale may be undefined Tensors
// (absent: 0 and 1). epsilon > 0. Composed of elementwise ops (gradients of
// any order exact); with s = scale / sqrt(variance + epsilon), per element:
//   d/dx = g * s,   d/dmean = -g * s,   d/doffset = g,
//   d/dscale = g * (x - mean) / sqrt(variance + epsilon),
//   d/dvariance = -g * (x - mean) * s / (2 (variance + epsilon)),
// each summed over the axes its input was broadcast along.
// With mean and variance the batch's own moments (BatchNormalization in
// training), the tape differentiates through the statistics too.
//   x = [1, 3], mean 2, variance 1, offset 0, scale 2, epsilon 1e-3
//       -> [-2, 2] / sqrt(1.001) = [-1.99900, 1.99900]
Tensor batch_normalization(const Tensor& x, const Tensor& mean, const Tensor& variance, const Tensor& offset,
                           const Tensor& scale, double epsilon);

}  // namespace tg
