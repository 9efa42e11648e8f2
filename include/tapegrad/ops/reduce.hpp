// Reductions over one axis, several axes, or all of them.
//
// `axes` is one int or a list (tg::Axes): sum(x, -1), sum(x, {0, 2}); it
// may hold negative axes (counted from the end); an empty `axes` list
// means every axis. With keepdims the reduced axes stay as size 1. A 0-d tensor
// accepts axis 0 or -1, as PyTorch (norm(scalar(-8.44), 2, {0}) = 8.44, 0-d).
// float32 inputs are accumulated in double, so long sums lose no precision.
#pragma once

#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// d sum = g broadcast back over the reduced axes.
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// sum / count; the mean over zero elements is NaN (as NumPy and PyTorch).
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Max / min; the gradient is shared equally between tied extrema (as PyTorch's
// amax/amin). Reducing an empty axis is an error.
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// log(sum(exp(x))), computed as m + log(sum(exp(x - m))) with m = max(x).
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Vector p-norm over `axes` (torch.linalg.vector_norm): p = 2 (default), 1,
// infinity (max |x|), -infinity (min |x|), 0 (the number of nonzero elements,
// gradient 0) or any other real p: (sum |x|^p)^(1/p); for p < 0 one zero
// element makes the norm 0. At a norm of 0 the gradient is 0 for every p (the
// naive sqrt(sum(x^2)) would give NaN); for p = +-infinity tied extrema share
// the gradient equally. Over zero elements p >= 0 gives 0; p < 0 and -infinity
// throw (no identity), as PyTorch. NaN p throws.
Tensor norm(const Tensor& x, double p = 2.0, const Axes& axes = {}, bool keepdims = false);

}  // namespace tg
