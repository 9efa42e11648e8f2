// Elementwise ops with NumPy broadcasting.
//
// Binary ops broadcast their operands (shapes aligned from the right; a
// dimension of 1 stretches), and each input's gradient is summed back over the
// broadcast dimensions to the input's shape.
//
// Dtypes promote as in NumPy, PyTorch and Keras 3: int64 with float32 gives
// float32, int64 with float64 gives float64 (the gradient flows to the floating
// operand only; an int64 tensor has none); int64 with int64 stays int64, except
// in div, which is true division in float32 (PyTorch's `/`); float32 with
// float64 gives float64 (the float32 operand's gradient comes back narrowed to
// float32, through a recorded "cast"). A double scalar takes the tensor's
// dtype, float32 for an int64 tensor
// (torch.tensor([1, 2]) * 0.5 is float32 [0.5, 1]); an integer scalar takes
// the tensor's dtype, so an int64 x + 1 stays int64.
#pragma once

#include <concepts>
#include <cstdint>

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

namespace detail {
// The scalar operand of `tensor op integer`: a 0-d tensor of `like`'s dtype.
Tensor integer_operand(const char* op, const Tensor& like, std::int64_t value);
}  // namespace detail

// An integer C++ scalar (int, long, std::int64_t, ...; not bool): in the
// tensor's dtype, so an int64 x + 1 stays int64 (a double would give float32).
template <class I>
concept IntegerScalar = std::integral<I> && !std::same_as<I, bool>;

#define TG_INTEGER_SCALAR_OP(op, name)                                                          \
  template <IntegerScalar I>                                                                    \
  Tensor operator op(const Tensor& a, I b) {                                                    \
    return name(a, detail::integer_operand(#name, a, static_cast<std::int64_t>(b)));           \
  }                                                                                             \
  template <IntegerScalar I>                                                                    \
  Tensor operator op(I a, const Tensor& b) {                                                    \
    return name(detail::integer_operand(#name, b, static_cast<std::int64_t>(a)), b);           \
  }

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
// A scalar branch takes the other branch's dtype (float32 for an int64 one);
// two scalars give float32, or cond's dtype when cond is floating.
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor where(const Tensor& cond, double a, const Tensor& b);
Tensor where(const Tensor& cond, double a, double b);
template <IntegerScalar I>
Tensor where(const Tensor& cond, const Tensor& a, I b) {
  return where(cond, a, detail::integer_operand("where", a, static_cast<std::int64_t>(b)));
}
template <IntegerScalar I>
Tensor where(const Tensor& cond, I a, const Tensor& b) {
  return where(cond, detail::integer_operand("where", b, static_cast<std::int64_t>(a)), b);
}

// Comparisons: 1 where true, 0 where false, in the promoted dtype of the operands
// (float32 for int64 against float32; int64 for two int64 tensors).
// Not differentiable, never recorded.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);

// x > 0.5, x >= y, x == y, ...: the comparisons above as operators, tensor with
// tensor or with a scalar on either side (the scalar promoted as in arithmetic).
// The result is a tensor of 1/0, as tg::greater, not a bool.
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator==(double a, const Tensor& b);
Tensor operator!=(double a, const Tensor& b);
Tensor operator>(double a, const Tensor& b);
Tensor operator>=(double a, const Tensor& b);
Tensor operator<(double a, const Tensor& b);
Tensor operator<=(double a, const Tensor& b);

TG_INTEGER_SCALAR_OP(+, add)
TG_INTEGER_SCALAR_OP(-, sub)
TG_INTEGER_SCALAR_OP(*, mul)
TG_INTEGER_SCALAR_OP(/, div)
TG_INTEGER_SCALAR_OP(==, equal)
TG_INTEGER_SCALAR_OP(!=, not_equal)
TG_INTEGER_SCALAR_OP(>, greater)
TG_INTEGER_SCALAR_OP(>=, greater_equal)
TG_INTEGER_SCALAR_OP(<, less)
TG_INTEGER_SCALAR_OP(<=, less_equal)
#undef TG_INTEGER_SCALAR_OP

}  // namespace tg
