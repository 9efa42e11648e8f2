// Elementwise ops. Each forward is a loop over contiguous memory (with a
// broadcast loop when shapes differ); each backward is written with these same
// ops, so it is itself differentiable (nested tapes give higher derivatives).
#include "tapegrad/ops/elementwise.hpp"

#include <cmath>
#include <cstdint>

#include "fused.hpp"
#include "support.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

using detail::check_float;
using detail::map_unary;

namespace {

// The dtype both operands of a binary op are converted to (NumPy, PyTorch and
// Keras 3): one dtype stays; int64 with a floating dtype is that floating
// dtype; float32 with float64 is float64.
DType promoted(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_defined(op, a);
  detail::check_defined(op, b);
  if (a.dtype() == b.dtype()) return a.dtype();
  if (a.dtype() == DType::int64) return b.dtype();
  if (b.dtype() == DType::int64) return a.dtype();
  return DType::float64;
}

// t in `dtype`. An int64 operand is copied off the tape: it has no gradient, so
// the gradient flows to the floating operand only. A float32 operand widened
// to float64 is recorded as a "cast" whose gradient is the upstream one
// narrowed back to float32 (itself a recorded cast, for higher derivatives).
Tensor as_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = t.to(dtype);
  if (t.is_floating() && is_recording())
    record_op("cast", {t}, out, [from = t.dtype()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, as_dtype(g, from));
    });
  return out;
}

struct Operands {
  Tensor a, b;
};
Operands promote(const char* op, const Tensor& a, const Tensor& b) {
  const DType dtype = promoted(op, a, b);
  return {as_dtype(a, dtype), as_dtype(b, dtype)};
}

// out = f(a, b) with broadcasting, for operands already of one dtype (any).
template <class F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::broadcast_binary(a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<T>(), shape, f);
  });
  return out;
}

// Only floating results are recorded: an int64 result (int64 + int64) has no gradient.
bool records(const Tensor& out) { return out.is_floating() && is_recording(); }

}  // namespace

Tensor scalar_like(const Tensor& like, double value) {
  detail::check_defined("scalar_like", like);
  return Tensor::scalar(value, like.dtype());
}

namespace {

// The scalar operand of `tensor op double`: checked first, so an undefined
// tensor is reported by the op the user called. It takes the tensor's dtype,
// float32 for an int64 tensor (PyTorch: torch.tensor([1, 2]) * 0.5 is float32).
Tensor scalar_operand(const char* op, const Tensor& like, double value) {
  detail::check_defined(op, like);
  return Tensor::scalar(value, like.dtype() == DType::int64 ? DType::float32 : like.dtype());
}

}  // namespace

namespace detail {

// The scalar operand of `tensor op integer`: the tensor's dtype, so x + 1 stays int64.
Tensor integer_operand(const char* op, const Tensor& like, std::int64_t value) {
  detail::check_defined(op, like);
  return Tensor::scalar(static_cast<double>(value), like.dtype());
}

}  // namespace detail

// ---- arithmetic --------------------------------------------------------------

Tensor add(const Tensor& a_in, const Tensor& b_in) {
  const Operands ab = promote("add", a_in, b_in);
  const Tensor &a = ab.a, &b = ab.b;
  Tensor out = binary("add", a, b, [](auto x, auto y) { return x + y; });
  if (records(out))
    record_op("add", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& g, BackwardContext& ctx) {
      if (ctx.needs(0)) ctx.add(0, sum_to(g, sa));
      if (ctx.needs(1)) ctx.add(1, sum_to(g, sb));
    });
  return out;
}

Tensor sub(const Tensor& a_in, const Tensor& b_in) {
  const Operands ab = promote("sub", a_in, b_in);
  const Tensor &a = ab.a, &b = ab.b;
  Tensor out = binary("sub", a, b, [](auto x, auto y) { return x - y; });
  if (records(out))
    record_op("sub", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensor& g, BackwardContext& ctx) {
      if (ctx.needs(0)) ctx.add(0, sum_to(g, sa));
      if (ctx.needs(1)) ctx.add(1, sum_to(neg(g), sb));
    });
  return out;
}

Tensor mul(const Tensor& a_in, const Tensor& b_in) {
  const Operands ab = promote("mul", a_in, b_in);
  const Tensor &a = ab.a, &b = ab.b;
  Tensor out = binary("mul", a, b, [](auto x, auto y) { return x * y; });
  if (records(out) && a.id() == b.id()) {
    // x * x: one gradient 2 g x instead of g x twice and their sum (two fewer
    // passes over the data); recorded as a "mul" all the same.
    detail::record_fused(
        "mul", {a, b}, out,
        [a = a](const Tensor& g, BackwardContext& ctx) {
          ctx.add(0, binary("mul", g, a, [](auto u, auto v) { return decltype(u)(2) * u * v; }));
        },
        [a = a](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, a) * 2.0); });
    return out;
  }
  if (records(out))
    record_op("mul", {a, b}, out, [a = a, b = b](const Tensor& g, BackwardContext& ctx) {
      if (ctx.needs(0)) ctx.add(0, sum_to(mul(g, b), a.shape()));
      if (ctx.needs(1)) ctx.add(1, sum_to(mul(g, a), b.shape()));
    });
  return out;
}

Tensor div(const Tensor& a_in, const Tensor& b_in) {
  // int64 / int64 is true division in float32, as PyTorch's `/` (not C++'s truncation).
  DType dtype = promoted("div", a_in, b_in);
  if (dtype == DType::int64) dtype = DType::float32;
  const Tensor a = as_dtype(a_in, dtype), b = as_dtype(b_in, dtype);
  Tensor out = binary("div", a, b, [](auto x, auto y) { return x / y; });
  if (is_recording())
    record_op("div", {a, b}, out, [a, b, out](const Tensor& g, BackwardContext& ctx) {
      Tensor g_over_b = div(g, b);
      if (ctx.needs(0)) ctx.add(0, sum_to(g_over_b, a.shape()));
      // d(a/b)/db = -a/b^2 = -out/b
      if (ctx.needs(1)) ctx.add(1, sum_to(neg(mul(g_over_b, out)), b.shape()));
    });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_operand("add", a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_operand("sub", a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_operand("mul", a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_operand("div", a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_operand("add", b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_operand("sub", b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_operand("mul", b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_operand("div", b, a), b); }
Tensor operator-(const Tensor& x) { return neg(x); }

// ---- unary -------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  Tensor out = map_unary("neg", x, [](auto v) { return -v; });
  if (is_recording())
    record_op("neg", {x}, out, [](const Tensor& g, BackwardContext& ctx) { ctx.add(0, neg(g)); });
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = map_unary("exp", x, [](auto v) { return std::exp(v); });
  if (is_recording())
    record_op("exp", {x}, out, [out](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, out)); });
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = map_unary("log", x, [](auto v) { return std::log(v); });
  if (is_recording())
    record_op("log", {x}, out, [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, div(g, x)); });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = map_unary("sqrt", x, [](auto v) { return std::sqrt(v); });
  if (is_recording())
    record_op("sqrt", {x}, out, [out](const Tensor& g, BackwardContext& ctx) { ctx.add(0, div(g, out * 2.0)); });
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = map_unary("square", x, [](auto v) { return v * v; });
  if (is_recording())
    record_op("square", {x}, out, [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, x * 2.0)); });
  return out;
}

Tensor pow(const Tensor& x, double p) {
  Tensor out = map_unary("pow", x, [p](auto v) { return static_cast<decltype(v)>(std::pow(v, p)); });
  if (is_recording())
    record_op("pow", {x}, out, [x, p](const Tensor& g, BackwardContext& ctx) {
      // x^0 is the constant 1: gradient 0, also at x == 0 where 0 * 0^-1 would be NaN (as PyTorch).
      if (p == 0.0) ctx.add(0, zeros_like(x));
      else ctx.add(0, mul(g, pow(x, p - 1.0) * p));
    });
  return out;
}

Tensor pow(const Tensor& x_in, const Tensor& y_in) {
  const Operands xy = promote("pow", x_in, y_in);
  const Tensor &x = xy.a, &y = xy.b;
  if (x.dtype() == DType::int64) {
    // int64 ** int64 stays int64, exact (PyTorch); a negative exponent has no integer result.
    const std::int64_t* e = y.data<std::int64_t>();
    for (std::int64_t i = 0; i < y.numel(); ++i)
      if (e[i] < 0)
        throw std::invalid_argument("pow: int64 to a negative int64 power (" + std::to_string(e[i]) +
                                    ") has no int64 result; convert to float first (as PyTorch)");
  }
  Tensor out = binary("pow", x, y, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      // Square-and-multiply in unsigned arithmetic: a result beyond int64
      // wraps modulo 2^64, as PyTorch's, instead of a signed overflow (UB).
      std::uint64_t r = 1, base = static_cast<std::uint64_t>(a);
      for (T n = b; n > 0; n >>= 1) {
        if (n & 1) r *= base;
        if (n > 1) base *= base;
      }
      return static_cast<T>(r);
    } else {
      return std::pow(a, b);
    }
  });
  if (records(out))
    record_op("pow", {x, y}, out, [x = x, y = y, out](const Tensor& g, BackwardContext& ctx) {
      if (ctx.needs(0)) {
        // y x^(y-1), which is 0 where y == 0 (as PyTorch). There x^(y-1) can be
        // infinite (x == 0), so those x are replaced by 1 before the pow: no 0 * inf.
        Tensor x_safe = where(equal(y, scalar_like(y, 0.0)), scalar_like(x, 1.0), x);
        ctx.add(0, sum_to(mul(g, mul(y, pow(x_safe, y - 1.0))), x.shape()));
      }
      if (ctx.needs(1)) {
        // log(x) with the x == 0 entries replaced before the log, so neither this
        // gradient nor its own derivative meets log(0) (0 * -inf = NaN).
        Tensor is_zero = equal(x, scalar_like(x, 0.0));
        Tensor log_x = where(is_zero, scalar_like(x, 0.0), log(where(is_zero, scalar_like(x, 1.0), x)));
        ctx.add(1, sum_to(mul(g, mul(out, log_x)), y.shape()));
      }
    });
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = map_unary("abs", x, [](auto v) { return std::abs(v); });
  if (is_recording())
    record_op("abs", {x}, out, [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, sign(x))); });
  return out;
}

Tensor sign(const Tensor& x) {
  return map_unary("sign", x, [](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
}

// ---- max, min, clamp, where --------------------------------------------------

namespace {

// The share of the gradient that goes to `a` in maximum (wins = greater) or
// minimum (wins = less): 1 where a wins, 1/2 at ties, 0 where b wins.
Tensor winner_mask(const Tensor& a, const Tensor& b, bool maximum_op) {
  Tensor wins = maximum_op ? greater(a, b) : less(a, b);
  return add(wins, mul(equal(a, b), scalar_like(a, 0.5)));
}

Tensor extremum(const char* op, const Tensor& a_in, const Tensor& b_in, bool maximum_op) {
  const Operands ab = promote(op, a_in, b_in);
  const Tensor &a = ab.a, &b = ab.b;
  Tensor out = maximum_op
                   ? binary(op, a, b, [](auto x, auto y) { return x > y ? x : (x < y ? y : (std::isnan(x) ? x : y)); })
                   : binary(op, a, b, [](auto x, auto y) { return x < y ? x : (x > y ? y : (std::isnan(x) ? x : y)); });
  if (records(out))
    record_op(op, {a, b}, out, [a = a, b = b, maximum_op](const Tensor& g, BackwardContext& ctx) {
      Tensor share_a = winner_mask(a, b, maximum_op);
      if (ctx.needs(0)) ctx.add(0, sum_to(mul(g, share_a), a.shape()));
      if (ctx.needs(1)) ctx.add(1, sum_to(mul(g, 1.0 - share_a), b.shape()));
    });
  return out;
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }
Tensor maximum(const Tensor& a, double b) { return maximum(a, scalar_operand("maximum", a, b)); }
Tensor minimum(const Tensor& a, double b) { return minimum(a, scalar_operand("minimum", a, b)); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (!(lo <= hi))
    throw std::invalid_argument("clamp: expected lo <= hi, received lo " + detail::format_number(lo) + " and hi " +
                                detail::format_number(hi));
  Tensor out = map_unary("clamp", x, [lo, hi](auto v) {
    using T = decltype(v);
    return v < static_cast<T>(lo) ? static_cast<T>(lo) : (v > static_cast<T>(hi) ? static_cast<T>(hi) : v);
  });
  if (is_recording())
    record_op("clamp", {x}, out, [x, lo, hi](const Tensor& g, BackwardContext& ctx) {
      Tensor inside = mul(greater_equal(x, scalar_like(x, lo)), less_equal(x, scalar_like(x, hi)));
      ctx.add(0, mul(g, inside));
    });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a_in, const Tensor& b_in) {
  detail::check_defined("where", cond);
  const Operands ab = promote("where", a_in, b_in);
  const Tensor &a = ab.a, &b = ab.b;
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, a.dtype());
  const std::vector<std::int64_t> strides[3] = {detail::broadcast_strides(cond.shape(), shape),
                                                detail::broadcast_strides(a.shape(), shape),
                                                detail::broadcast_strides(b.shape(), shape)};
  dispatch(cond.dtype(), [&](auto ctag) {
    using C = decltype(ctag);
    const C* c = cond.data<C>();
    dispatch(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* o = out.data<T>();
      detail::for_each_broadcast<3>(shape, strides, [&](std::int64_t i, const std::int64_t* offs) {
        o[i] = c[offs[0]] != C(0) ? pa[offs[1]] : pb[offs[2]];
      });
    });
  });
  if (records(out))
    record_op("where", {a, b}, out, [cond, sa = a.shape(), sb = b.shape()](const Tensor& g, BackwardContext& ctx) {
      Tensor zero = scalar_like(g, 0.0);
      if (ctx.needs(0)) ctx.add(0, sum_to(where(cond, g, zero), sa));
      if (ctx.needs(1)) ctx.add(1, sum_to(where(cond, zero, g), sb));
    });
  return out;
}

// ---- comparisons (not differentiable) ------------------------------------------

#define TG_COMPARISON(name, expr)                                                              \
  Tensor name(const Tensor& a_in, const Tensor& b_in) {                                       \
    const Operands ab = promote(#name, a_in, b_in);                                           \
    return binary(#name, ab.a, ab.b, [](auto x, auto y) { return static_cast<decltype(x)>(expr); }); \
  }
TG_COMPARISON(equal, x == y)
TG_COMPARISON(not_equal, x != y)
TG_COMPARISON(greater, x > y)
TG_COMPARISON(greater_equal, x >= y)
TG_COMPARISON(less, x < y)
TG_COMPARISON(less_equal, x <= y)
#undef TG_COMPARISON

Tensor operator==(const Tensor& a, const Tensor& b) { return equal(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return not_equal(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return greater(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return greater_equal(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return less(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return less_equal(a, b); }

#define TG_SCALAR_COMPARISON(op, name)                                                                 \
  Tensor operator op(const Tensor& a, double b) { return name(a, scalar_operand(#name, a, b)); }   \
  Tensor operator op(double a, const Tensor& b) { return name(scalar_operand(#name, b, a), b); }
TG_SCALAR_COMPARISON(==, equal)
TG_SCALAR_COMPARISON(!=, not_equal)
TG_SCALAR_COMPARISON(>, greater)
TG_SCALAR_COMPARISON(>=, greater_equal)
TG_SCALAR_COMPARISON(<, less)
TG_SCALAR_COMPARISON(<=, less_equal)
#undef TG_SCALAR_COMPARISON

Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_operand("where", a, b)); }
Tensor where(const Tensor& cond, double a, const Tensor& b) { return where(cond, scalar_operand("where", b, a), b); }
Tensor where(const Tensor& cond, double a, double b) {
  detail::check_defined("where", cond);
  const DType dtype = cond.is_floating() ? cond.dtype() : DType::float32;
  return where(cond, Tensor::scalar(a, dtype), Tensor::scalar(b, dtype));
}

}  // namespace tg
