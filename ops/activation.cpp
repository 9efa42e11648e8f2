// Activations: stable forward formulas; backward passes written with ops.
#include "tapegrad/ops/activation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "fused.hpp"
#include "kernels/lanes.hpp"
#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

using detail::check_float;
using detail::map_unary;
using detail::record_fused;

namespace {

// 1 / (1 + exp(-v)) without overflow: exp is only taken of a non-positive number.
template <class T>
T stable_sigmoid(T v) {
  if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
  T e = std::exp(v);
  return e / (T(1) + e);
}

// log(1 + exp(v)) = max(v, 0) + log1p(exp(-|v|)).
template <class T>
T stable_softplus(T v) {
  return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
}

// The axis of softmax and log_softmax, normalized, for a floating x of rank >= 1.
int softmax_axis(const char* op, const Tensor& x, int axis) {
  check_float(op, x);
  if (x.rank() == 0)
    throw std::invalid_argument(std::string(op) + ": expected a tensor of rank >= 1, received a 0-d tensor");
  return detail::normalize_axis(op, axis, x.shape());
}

// The shift m of a stable softmax, exp(x - m) / sum exp(x - m): the lane's
// maximum. A lane of -inf only (or of NaN only) shifts by 0; a +inf lane is NaN
// throughout (inf - inf), as PyTorch: a diverged logit is not a probability 1.
template <class T>
T softmax_shift(const T* in, std::int64_t n, std::int64_t stride) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t k = 0; k < n; ++k) m = std::max(m, in[k * stride]);
  return m == -std::numeric_limits<T>::infinity() ? T(0) : m;
}

// The forward of softmax and log_softmax: an output of x's shape whose lanes
// along axis a are filled by body(in, o, n, stride, m), in and o pointing at
// the lane's first element (element k at k * stride), m the lane's shift.
template <class Body>
Tensor softmax_lanes(const Tensor& x, int a, Body body) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* o = out.data<T>();
    kernels::for_each_lane(x.shape(), a, [&](std::int64_t base, std::int64_t n, std::int64_t stride) {
      body(in + base, o + base, n, stride, softmax_shift(in + base, n, stride));
    });
  });
  return out;
}

}  // namespace

// relu(x) = max(x, 0), a NaN kept as NaN (as PyTorch's relu and
// numpy.maximum(x, 0)) rather than becoming 0. VJP: dx = g [x > 0], so 0 at
// the kink x = 0 and for a NaN x. Fused only in its backward (one pass instead
// of a mask and a product); the composed backward mul(g, greater(x, 0)) has a
// mask whose own derivative is 0.
Tensor relu(const Tensor& x) {
  Tensor out = map_unary("relu", x, [](auto v) { return v > 0 || std::isnan(v) ? v : decltype(v)(0); });
  if (is_recording())
    record_fused(
        "relu", {x}, out,
        [x](const Tensor& g, BackwardContext& ctx) {
          Tensor dx = Tensor::empty(x.shape(), x.dtype());
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* px = x.data<T>();
            const T* pg = g.data<T>();
            kernels::map_index(x.numel(), dx.data<T>(), [px, pg](std::int64_t i) { return px[i] > T(0) ? pg[i] : T(0); });
          });
          ctx.add(0, dx);
        },
        [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, greater(x, scalar_like(x, 0.0)))); });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = map_unary("sigmoid", x, [](auto v) { return stable_sigmoid(v); });
  if (is_recording())
    record_op("sigmoid", {x}, out, [out](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, mul(g, mul(out, 1.0 - out)));
    });
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = map_unary("tanh", x, [](auto v) { return std::tanh(v); });
  if (is_recording())
    record_op("tanh", {x}, out, [out](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, mul(g, 1.0 - square(out)));
    });
  return out;
}

Tensor softplus(const Tensor& x) {
  Tensor out = map_unary("softplus", x, [](auto v) { return stable_softplus(v); });
  if (is_recording())
    record_op("softplus", {x}, out, [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, sigmoid(x))); });
  return out;
}

Tensor log_sigmoid(const Tensor& x) {
  Tensor out = map_unary("log_sigmoid", x, [](auto v) { return -stable_softplus(-v); });
  if (is_recording())
    record_op("log_sigmoid", {x}, out, [x](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, mul(g, sigmoid(neg(x))));
    });
  return out;
}

Tensor softmax(const Tensor& x, int axis) {
  const int a = softmax_axis("softmax", x, axis);
  Tensor out = softmax_lanes(x, a, [](const auto* in, auto* o, std::int64_t n, std::int64_t stride, auto m) {
    using T = decltype(m);
    double total = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      T e = std::exp(in[k * stride] - m);
      o[k * stride] = e;
      total += e;
    }
    for (std::int64_t k = 0; k < n; ++k) o[k * stride] = static_cast<T>(o[k * stride] / total);
  });
  if (is_recording())
    record_op("softmax", {x}, out, [out, a](const Tensor& g, BackwardContext& ctx) {
      Tensor gy = mul(g, out);
      ctx.add(0, sub(gy, mul(out, sum(gy, {a}, true))));
    });
  return out;
}

Tensor log_softmax(const Tensor& x, int axis) {
  const int a = softmax_axis("log_softmax", x, axis);
  Tensor out = softmax_lanes(x, a, [](const auto* in, auto* o, std::int64_t n, std::int64_t stride, auto m) {
    using T = decltype(m);
    double total = 0;
    for (std::int64_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(in[k * stride] - m));
    // (x - m) - log(total), as PyTorch, not x - (m + log(total)): rounding
    // m + log(total) to T first loses the digits of log(total) below m's
    // precision (for float32 near 1000, steps of 6e-5 in every output).
    const double log_total = std::log(total);
    for (std::int64_t k = 0; k < n; ++k)
      o[k * stride] = static_cast<T>((static_cast<double>(in[k * stride]) - m) - log_total);
  });
  if (is_recording())
    record_op("log_softmax", {x}, out, [out, a](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, sub(g, mul(exp(out), sum(g, {a}, true))));
    });
  return out;
}

namespace {

// A pointwise activation y = f(x) with the derivative y' = d(x): one pass
// forward, one fused pass backward (g * d(x)), and under an outer tape the
// derivative composed of ops, d_ops(x), so that higher derivatives are exact.
// f and d are generic lambdas of a float or a double.
template <class F, class D, class DOps>
Tensor pointwise(const char* name, const Tensor& x, F f, D d, DOps d_ops) {
  Tensor out = map_unary(name, x, f);
  if (is_recording())
    record_fused(
        name, {x}, out,
        [x, d](const Tensor& g, BackwardContext& ctx) {
          Tensor dx = Tensor::empty(x.shape(), x.dtype());
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* px = x.data<T>();
            const T* pg = g.data<T>();
            kernels::map_index(x.numel(), dx.data<T>(), [px, pg, d](std::int64_t i) { return pg[i] * d(px[i]); });
          });
          ctx.add(0, dx);
        },
        [x, d_ops](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, d_ops(x))); });
  return out;
}

// The same for an activation whose forward and backward share a costly
// intermediate a = aux(x) (an exp, an erfc): computed once in the forward,
// kept for the backward; y = f(x, a), y' = d(x, a).
template <class Aux, class F, class D, class DOps>
Tensor pointwise_aux(const char* name, const Tensor& x, Aux aux, F f, D d, DOps d_ops) {
  Tensor a = map_unary(name, x, aux);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pa = a.data<T>();
    kernels::map_index(x.numel(), out.data<T>(), [px, pa, f](std::int64_t i) { return f(px[i], pa[i]); });
  });
  if (is_recording())
    record_fused(
        name, {x}, out,
        [x, a, d](const Tensor& g, BackwardContext& ctx) {
          Tensor dx = Tensor::empty(x.shape(), x.dtype());
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* px = x.data<T>();
            const T* pa = a.data<T>();
            const T* pg = g.data<T>();
            kernels::map_index(x.numel(), dx.data<T>(),
                               [px, pa, pg, d](std::int64_t i) { return pg[i] * d(px[i], pa[i]); });
          });
          ctx.add(0, dx);
        },
        [x, d_ops](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, d_ops(x))); });
  return out;
}

// sigmoid(x) from e = exp(-|x|), the one exp stable_sigmoid takes.
template <class T>
T sigmoid_of(T v, T e) {
  return v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// A parameter of an activation: any finite number (Keras and PyTorch accept
// negative alphas and slopes); NaN or inf would only make every output NaN.
void check_finite(const char* op, const char* what, double value) {
  if (!std::isfinite(value))
    throw std::invalid_argument(std::string(op) + ": expected a finite " + what + ", received " +
                                std::to_string(value));
}

// phi(x) = e^(-x^2/2) / sqrt(2 pi), of ops.
Tensor normal_pdf(const Tensor& x) {
  return exp(square(x) * -0.5) * (1 / std::sqrt(2 * std::numbers::pi));
}

// Phi(x), the standard normal CDF, as an op: erfc(-x / sqrt 2) / 2 with the
// derivative phi(x). gelu's composed derivative needs it; not public (tg has
// no erf).
Tensor normal_cdf(const Tensor& x) {
  Tensor out = map_unary("gelu", x, [](auto v) {
    using T = decltype(v);
    return static_cast<T>(0.5) * std::erfc(-v * static_cast<T>(std::numbers::sqrt2 / 2));
  });
  if (is_recording())
    record_op("normal_cdf", {x}, out, [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, normal_pdf(x))); });
  return out;
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
// The tanh form of gelu: u = sqrt(2/pi) (x + 0.044715 x^3).
constexpr double kGeluTanhK = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluTanhC = 0.044715;

}  // namespace

// gelu(x) = x Phi(x) = x / 2 * erfc(-x / sqrt 2), the erf form (Keras's
// approximate=False, PyTorch's approximate='none'); d = Phi(x) + x phi(x).
// At x -> -inf both tend to 0 (erfc(+large) underflows to 0, x phi(x) to -0);
// at x -> +inf to x and 1. The tanh form, x / 2 (1 + tanh u) =
// x sigmoid(2u), u = k (x + c x^3): d = s + 2 x s (1 - s) k (1 + 3 c x^2),
// s = sigmoid(2u); where s (1 - s) is 0 the second term is 0 (x^2 may have
// overflowed to inf there, and 0 * inf is NaN). sigmoid(2u) rather than
// (1 + tanh u) / 2: the same number without the cancellation of 1 + tanh u
// for negative u.
Tensor gelu(const Tensor& x, bool approximate) {
  if (!approximate)
    return pointwise_aux(
        "gelu", x,
        [](auto v) {
          using T = decltype(v);
          return static_cast<T>(0.5) * std::erfc(-v * static_cast<T>(std::numbers::sqrt2 / 2));
        },
        [](auto v, auto cdf) { return v * cdf; },
        [](auto v, auto cdf) {
          using T = decltype(v);
          const T pdf = std::exp(static_cast<T>(-0.5) * v * v) * static_cast<T>(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
          return cdf + v * pdf;
        },
        [](const Tensor& v) { return normal_cdf(v) + v * normal_pdf(v); });
  return pointwise_aux(
      "gelu", x,
      [](auto v) {
        using T = decltype(v);
        return stable_sigmoid(static_cast<T>(2 * kGeluTanhK) * (v + static_cast<T>(kGeluTanhC) * v * v * v));
      },
      [](auto v, auto s) { return v * s; },
      [](auto v, auto s) {
        using T = decltype(v);
        const T ds = s * (T(1) - s);
        if (ds == T(0)) return s;
        return s + T(2) * v * ds * static_cast<T>(kGeluTanhK) * (T(1) + static_cast<T>(3 * kGeluTanhC) * v * v);
      },
      [](const Tensor& v) {
        Tensor s = sigmoid(v * (2 * kGeluTanhK) + pow(v, 3.0) * (2 * kGeluTanhK * kGeluTanhC));
        return s + v * s * (1.0 - s) * (2 * kGeluTanhK) * (1.0 + square(v) * (3 * kGeluTanhC));
      });
}

// elu(x) = x for x > 0, alpha expm1(x) otherwise (expm1: exact near 0, and
// -alpha, not NaN, far left). d = 1 for x > 0, alpha e^x for x <= 0, so the kink
// x = 0 gets alpha, as PyTorch's elu_backward; a NaN gets NaN, as its vectorized
// loop (its scalar loop, for the last few elements of a tensor, gives 1).
Tensor elu(const Tensor& x, double alpha) {
  check_float("elu", x);
  check_finite("elu", "alpha", alpha);
  return pointwise(
      "elu", x,
      [alpha](auto v) {
        using T = decltype(v);
        return v > T(0) ? v : static_cast<T>(alpha) * std::expm1(v);
      },
      [alpha](auto v) {
        using T = decltype(v);
        return v > T(0) ? T(1) : static_cast<T>(alpha) * std::exp(v);
      },
      [alpha](const Tensor& v) { return where(greater(v, scalar_like(v, 0.0)), scalar_like(v, 1.0), exp(v) * alpha); });
}

// selu(x) = scale * elu(x, alpha), the constants of Klambauer et al. (Keras's
// and PyTorch's, to all their digits); the VJP is elu's times scale.
Tensor selu(const Tensor& x) {
  return pointwise(
      "selu", x,
      [](auto v) {
        using T = decltype(v);
        return v > T(0) ? static_cast<T>(kSeluScale) * v : static_cast<T>(kSeluScale * kSeluAlpha) * std::expm1(v);
      },
      [](auto v) {
        using T = decltype(v);
        return v > T(0) ? static_cast<T>(kSeluScale) : static_cast<T>(kSeluScale * kSeluAlpha) * std::exp(v);
      },
      [](const Tensor& v) {
        return where(greater(v, scalar_like(v, 0.0)), scalar_like(v, kSeluScale), exp(v) * (kSeluScale * kSeluAlpha));
      });
}

// leaky_relu(x) = x > 0 ? x : slope x: PyTorch's form and Keras's JAX and torch
// backends' (Keras's numpy backend writes max(x, slope x), the same for a slope
// in [0, 1]). d = 1 for x > 0, else slope (so slope at 0 and for a NaN).
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  check_float("leaky_relu", x);
  check_finite("leaky_relu", "negative_slope", negative_slope);
  return pointwise(
      "leaky_relu", x,
      [negative_slope](auto v) {
        using T = decltype(v);
        return v > T(0) ? v : v * static_cast<T>(negative_slope);
      },
      [negative_slope](auto v) {
        using T = decltype(v);
        return v > T(0) ? T(1) : static_cast<T>(negative_slope);
      },
      [negative_slope](const Tensor& v) {
        return where(greater(v, scalar_like(v, 0.0)), scalar_like(v, 1.0), scalar_like(v, negative_slope));
      });
}

// softsign(x) = x / (1 + |x|); d = 1 / (1 + |x|)^2, 1 at x = 0 (smooth there:
// the one-sided derivatives agree), 0 once (1 + |x|)^2 overflows.
Tensor softsign(const Tensor& x) {
  return pointwise(
      "softsign", x,
      [](auto v) {
        using T = decltype(v);
        return v / (T(1) + std::abs(v));
      },
      [](auto v) {
        using T = decltype(v);
        const T a = T(1) + std::abs(v);
        return T(1) / (a * a);
      },
      [](const Tensor& v) { return 1.0 / square(1.0 + abs(v)); });
}

// silu(x) = x sigmoid(x); d = s + x s (1 - s) = s (1 + x (1 - s)), as PyTorch's
// silu_backward. s is the stable sigmoid: 0 or 1 far out, never NaN.
Tensor silu(const Tensor& x) {
  return pointwise_aux(
      "silu", x, [](auto v) { return stable_sigmoid(v); }, [](auto v, auto s) { return v * s; },
      [](auto v, auto s) {
        using T = decltype(v);
        return s * (T(1) + v * (T(1) - s));
      },
      [](const Tensor& v) {
        Tensor s = sigmoid(v);
        return s * (1.0 + v * (1.0 - s));
      });
}

Tensor swish(const Tensor& x) { return silu(x); }

// hard_sigmoid(x) = min(max(x + 3, 0), 6) / 6, Keras 3's (x / 6 + 1/2 clipped to
// [0, 1]) written as PyTorch's hardsigmoid; Keras 2's slope 0.2 is gone.
// d = 1/6 strictly inside (-3, 3), 0 at the kinks, outside and for NaN (PyTorch).
// PyTorch's float64 kernel multiplies by the float literal 1.0f / 6 (off by
// 3e-8 relative); this one uses 1/6 in the tensor's dtype.
Tensor hard_sigmoid(const Tensor& x) {
  return pointwise(
      "hard_sigmoid", x,
      [](auto v) {
        using T = decltype(v);
        return std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
      },
      [](auto v) {
        using T = decltype(v);
        return v > T(-3) && v < T(3) ? T(1) / T(6) : T(0);
      },
      [](const Tensor& v) {
        return greater(v, scalar_like(v, -3.0)) * less(v, scalar_like(v, 3.0)) * (1.0 / 6);
      });
}

// hard_silu(x) = x hard_sigmoid(x) (PyTorch's hardswish, Keras's hard_silu and
// hard_swish). d = 0 for x < -3, x / 3 + 1/2 for -3 <= x < 3, 1 for x >= 3: so
// -1/2 at the kink -3 and 1 at the kink 3, and NaN for a NaN, as PyTorch
// 1.13's vectorized hardswish_backward. (Its scalar loop, which takes the last
// few elements of a tensor, tests x <= 3 instead: 3/2 at x = 3, 1 for a NaN.)
Tensor hard_silu(const Tensor& x) {
  return pointwise(
      "hard_silu", x,
      [](auto v) {
        using T = decltype(v);
        return v * (std::min(std::max(v + T(3), T(0)), T(6)) / T(6));
      },
      [](auto v) {
        using T = decltype(v);
        if (v < T(-3)) return T(0);
        if (v >= T(3)) return T(1);
        return v / T(3) + T(0.5);
      },
      [](const Tensor& v) {
        return where(less(v, scalar_like(v, -3.0)), scalar_like(v, 0.0),
                     where(greater_equal(v, scalar_like(v, 3.0)), scalar_like(v, 1.0), v / 3.0 + 0.5));
      });
}

Tensor hard_swish(const Tensor& x) { return hard_silu(x); }

// relu6(x) = min(max(x, 0), 6) with a NaN kept (std::max(NaN, 0) is NaN).
// d = 1 for 0 < x < 6, else 0: both kinks get 0, as PyTorch's hardtanh_backward,
// and so does a NaN, as its vectorized loop (its scalar loop gives 1).
Tensor relu6(const Tensor& x) {
  return pointwise(
      "relu6", x,
      [](auto v) {
        using T = decltype(v);
        return std::min(std::max(v, T(0)), T(6));
      },
      [](auto v) {
        using T = decltype(v);
        return v > T(0) && v < T(6) ? T(1) : T(0);
      },
      [](const Tensor& v) { return greater(v, scalar_like(v, 0.0)) * less(v, scalar_like(v, 6.0)); });
}

// mish(x) = x tanh(softplus(x)); d = t + x sigmoid(x) (1 - t^2),
// t = tanh(softplus(x)), as PyTorch's mish_backward. All from one exp,
// e = exp(-|x|), kept for the backward: tanh(log q) = (q^2 - 1) / (q^2 + 1) with
// q = 1 + e^x gives, with no cancellation,
//   x >= 0:  t = (1 + 2e) / n,     n = 1 + 2e + 2e^2,  1 - t^2 = 4 e^2 (1 + e)^2 / n^2
//   x <  0:  t = e (2 + e) / n,    n = 2 + 2e + e^2,   1 - t^2 = 4 (1 + e)^2 / n^2
// (one exp for both passes instead of exp, log1p and tanh in each; 1 - t^2
// keeps its relative precision where t is near 1). Far out e = 0: t = 1 or 0,
// d = 1 or 0.
Tensor mish(const Tensor& x) {
  return pointwise_aux(
      "mish", x, [](auto v) { return std::exp(-std::abs(v)); },
      [](auto v, auto e) {
        using T = decltype(v);
        const T t = v >= T(0) ? (T(1) + T(2) * e) / (T(1) + T(2) * e + T(2) * e * e) : e * (T(2) + e) / (T(2) + T(2) * e + e * e);
        return v * t;
      },
      [](auto v, auto e) {
        using T = decltype(v);
        const T q = (T(1) + e) * (T(1) + e);
        T t, one_minus_t2;
        if (v >= T(0)) {
          const T n = T(1) + T(2) * e + T(2) * e * e;
          t = (T(1) + T(2) * e) / n;
          one_minus_t2 = T(4) * e * e * q / (n * n);
        } else {
          const T n = T(2) + T(2) * e + e * e;
          t = e * (T(2) + e) / n;
          one_minus_t2 = T(4) * q / (n * n);
        }
        return t + v * sigmoid_of(v, e) * one_minus_t2;
      },
      [](const Tensor& v) {
        Tensor t = tanh(softplus(v));
        return t + v * sigmoid(v) * (1.0 - square(t));
      });
}

ActivationFunctionPointer activation_by_name(const std::string& name) {
  if (name == "relu") return [](const Tensor& x) { return relu(x); };
  if (name == "sigmoid") return [](const Tensor& x) { return sigmoid(x); };
  if (name == "tanh") return [](const Tensor& x) { return tanh(x); };
  if (name == "softmax") return [](const Tensor& x) { return softmax(x, -1); };
  if (name == "softplus") return [](const Tensor& x) { return softplus(x); };
  if (name == "log_softmax") return [](const Tensor& x) { return log_softmax(x, -1); };
  if (name == "gelu") return [](const Tensor& x) { return gelu(x); };
  if (name == "elu") return [](const Tensor& x) { return elu(x); };
  if (name == "selu") return [](const Tensor& x) { return selu(x); };
  if (name == "leaky_relu") return [](const Tensor& x) { return leaky_relu(x); };
  if (name == "softsign") return [](const Tensor& x) { return softsign(x); };
  if (name == "silu" || name == "swish") return [](const Tensor& x) { return silu(x); };
  if (name == "hard_sigmoid") return [](const Tensor& x) { return hard_sigmoid(x); };
  if (name == "hard_silu" || name == "hard_swish") return [](const Tensor& x) { return hard_silu(x); };
  if (name == "relu6") return [](const Tensor& x) { return relu6(x); };
  if (name == "mish") return [](const Tensor& x) { return mish(x); };
  if (name == "linear" || name.empty()) return [](const Tensor& x) { return x; };
  return nullptr;
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> known = {
      "relu",     "sigmoid", "tanh",  "softmax",      "softplus",  "log_softmax", "gelu",  "elu",  "selu",
      "leaky_relu", "softsign", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish",  "relu6", "mish",
      "linear",   ""};
  return known;
}

std::string activation_names_quoted() {
  std::string known;
  for (const std::string& n : activation_names()) known += (known.empty() ? "" : ", ") + ("\"" + n + "\"");
  return known;
}

}  // namespace tg
