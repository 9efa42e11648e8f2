// Activations: stable forward formulas; backward passes written with ops.
#include "tapegrad/ops/activation.hpp"

#include <cmath>
#include <limits>

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

ActivationFunctionPointer activation_by_name(const std::string& name) {
  if (name == "relu") return [](const Tensor& x) { return relu(x); };
  if (name == "sigmoid") return [](const Tensor& x) { return sigmoid(x); };
  if (name == "tanh") return [](const Tensor& x) { return tanh(x); };
  if (name == "softmax") return [](const Tensor& x) { return softmax(x, -1); };
  if (name == "softplus") return [](const Tensor& x) { return softplus(x); };
  if (name == "log_softmax") return [](const Tensor& x) { return log_softmax(x, -1); };
  if (name == "linear" || name.empty()) return [](const Tensor& x) { return x; };
  return nullptr;
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> known = {"relu",        "sigmoid", "tanh", "softmax", "softplus",
                                                 "log_softmax", "linear",  ""};
  return known;
}

std::string activation_names_quoted() {
  std::string known;
  for (const std::string& n : activation_names()) known += (known.empty() ? "" : ", ") + ("\"" + n + "\"");
  return known;
}

}  // namespace tg
