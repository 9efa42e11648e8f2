// Keras's batch_dot: a per-sample contraction of one axis of x with one axis
// of y (what the Dot layer computes).
#pragma once

#include <utility>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// x of shape (B, ...), y of shape (B, ...), both of rank >= 2 and one floating
// dtype; axes = (ax, ay), an axis of each (counting the batch axis 0, as
// Keras's; negative ones from the end), neither the batch axis:
//   out[b, i..., j...] = sum_k x[b, i... with k at ax] * y[b, j... with k at ay]
// out has x's axes but ax, then y's axes but the batch axis and ay; a result
// of rank 1 (two (B, d) inputs) is returned as (B, 1), as Keras's.
// Computed as one batched matmul of x as (B, X, d) and y as (B, d, Y), the
// transposes passed as flags; a contracted axis that is neither the first nor
// the last after the batch axis is moved last (x) or first (y) by a permute.
// Its VJP is matmul's, through the reshapes and the permute:
//   d/dx = g @ y3^T and d/dy = x3^T @ g, per sample, back in x's and y's layouts.
//   x = [[1, 2]], y = [[3, 4]], axes (1, 1)       -> [[1*3 + 2*4]] = [[11]]
//   x (B, 2, 3), y (B, 3, 4), axes (2, 1)         -> (B, 2, 4), a batched matmul
Tensor batch_dot(const Tensor& x, const Tensor& y, std::pair<int, int> axes);
// One axis for both: batch_dot(x, y, {axis, axis}).
Tensor batch_dot(const Tensor& x, const Tensor& y, int axis);

}  // namespace tg
