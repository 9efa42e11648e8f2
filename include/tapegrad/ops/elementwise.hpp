// Elementwise ops with NumPy broadcasting.
//
// Binary ops broadcast their operands (shapes aligned from the right; a
// dimension of 1 stretches), and each input's gradient is summed back over the
// broadcast dimensions to the input's shape. Both operands must have the same
// dtype: mixing float32 and float64 is an error (convert with .to()), never a
// silent promotion. A double scalar operand takes the tensor's dtype.
#pragma once

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// d(a + b) = g, g.                 d(a - b) = g, -g.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
// d(a * b) = g * b, g * a.         d(a / b) = g / b, -g * a / b^2.
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& x);

// A 0-d tensor of `like`'s dtype holding `value`.
Tensor scalar_like(const Tensor& like, double value);

Tensor neg(const Tensor& x);
// d exp(x) = g * exp(x).
Tensor exp(const Tensor& x);
// d log(x) = g / x.
Tensor log(const Tensor& x);
// d sqrt(x) = g / (2 sqrt(x)) (infinite at 0, as PyTorch).
Tensor sqrt(const Tensor& x);
// d x^2 = 2 x g.
Tensor square(const Tensor& x);
// x^p for a scalar exponent: d = g * p * x^(p-1).
Tensor pow(const Tensor& x, double p);
// x^y elementwise: d/dx = g * y * x^(y-1), d/dy = g * x^y * log(x) (0 where x == 0).
Tensor pow(const Tensor& x, const Tensor& y);
// d |x| = g * sign(x); the subgradient at 0 is 0 (as PyTorch).
Tensor abs(const Tensor& x);
// -1, 0 or 1; not differentiable (gradient zero), not recorded.
Tensor sign(const Tensor& x);

// Elementwise max / min with broadcasting. At ties each input gets half the
// gradient (PyTorch's convention).
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);
// min(max(x, lo), hi); the gradient passes where lo <= x <= hi (inclusive, as PyTorch).
Tensor clamp(const Tensor& x, double lo, double hi);
// cond ? a : b elementwise with broadcasting of all three; cond is any tensor,
// nonzero meaning true. The gradient goes to a where cond holds, else to b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons: 1 where true, 0 where false, in the dtype of the operands.
// Not differentiable, never recorded.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);

}  // namespace tg
