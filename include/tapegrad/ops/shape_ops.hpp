// Shape ops: the values are unchanged, only their arrangement.
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// Same values in a new shape with as many elements; one dimension may be -1
// (inferred). Shares storage with x (a tensor is never modified in place).
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);
// Reverses the axes (matrix transpose for rank 2).
Tensor transpose(const Tensor& x);
// Output axis i is input axis perm[i] (numpy.transpose); negative entries allowed.
Tensor transpose(const Tensor& x, const std::vector<int>& perm);
Tensor permute(const Tensor& x, const std::vector<int>& perm);
// Inserts a size-1 axis at `axis` (in the output's numbering; -1 appends).
Tensor expand_dims(const Tensor& x, int axis);
// Removes the given size-1 axes (one int or a list), or every size-1 axis when
// `axes` is empty.
Tensor squeeze(const Tensor& x, const Axes& axes = {});
// Joins tensors of equal shape except along `axis`.
Tensor concat(const std::vector<Tensor>& xs, int axis = 0);
// Stacks tensors of equal shape along a new axis.
Tensor stack(const std::vector<Tensor>& xs, int axis = 0);
// Elements start, start + step, ... below stop along `axis`, Python-style:
// negative start/stop count from the end and are clamped to the axis; step > 0.
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
// Broadcasts x to `shape` (NumPy rules); the gradient is summed back.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// Sums x down to `shape`, the inverse of broadcast_to: the gradient of a
// broadcast operand. `shape` must broadcast to x's shape.
Tensor sum_to(const Tensor& x, const Shape& shape);
// The shape both shapes broadcast to; `op` names the caller in the error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast_shapes");

}  // namespace tg
