// Reductions. Forward passes fold each element into its output with one pass
// over the input (float32 accumulated in double); backward passes broadcast the
// output gradient back with differentiable ops.
#include "tapegrad/ops/reduce.hpp"

#include <cmath>
#include <limits>

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

using detail::check_float;

namespace {

struct Plan {
  std::vector<int> axes;        // sorted, non-negative
  std::vector<bool> reduced;    // per input axis
  Shape kept;                   // output shape with keepdims
  Shape out;                    // output shape as requested
  std::int64_t count = 1;       // elements folded into each output
};

Plan plan(const char* op, const Tensor& x, const Axes& axes, bool keepdims) {
  check_float(op, x);
  Plan p;
  p.axes = detail::normalize_reduction_axes(op, axes, x.shape());  // a 0-d x takes axis 0 or -1
  p.reduced.assign(static_cast<std::size_t>(x.rank()), false);
  for (int a : p.axes) {
    p.reduced[static_cast<std::size_t>(a)] = true;
    p.count *= x.shape()[a];
  }
  p.kept = detail::reduced_shape(x.shape(), p.axes, true);
  p.out = keepdims ? p.kept : detail::reduced_shape(x.shape(), p.axes, false);
  return p;
}

// Folds x into a tensor of shape p.out: acc starts at `init`, step(acc, v) folds
// each element, finish(acc) gives the output value.
template <class Step, class Finish>
Tensor fold(const Tensor& x, const Plan& p, double init, Step step, Finish finish) {
  Tensor out = Tensor::empty(p.out, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> acc(static_cast<std::size_t>(p.out.numel()), init);
    detail::reduce_axes(x.data<T>(), x.shape(), p.reduced, acc.data(),
                        [&](double& a, T v) { step(a, static_cast<double>(v)); });
    T* o = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<T>(finish(acc[i]));
  });
  return out;
}

// g (shape p.out) reshaped to keepdims form and broadcast to `shape`.
Tensor expand_grad(const Tensor& g, const Plan& p, const Shape& shape) {
  return broadcast_to(reshape(g, p.kept.to_vector()), shape);
}

// The sum over p's axes, divided by `divisor` (sum and mean), with vectorized runs.
Tensor sum_over(const Tensor& x, const Plan& p, double divisor) {
  Tensor out = Tensor::empty(p.out, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> acc(static_cast<std::size_t>(p.out.numel()), 0.0);
    detail::sum_axes(x.data<T>(), x.shape(), p.reduced, acc.data());
    T* o = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<T>(acc[i] / divisor);
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan p = plan("sum", x, axes, keepdims);
  Tensor out = sum_over(x, p, 1.0);
  if (is_recording())
    record_op("sum", {x}, out, [p, in = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, expand_grad(g, p, in));
    });
  return out;
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan p = plan("mean", x, axes, keepdims);
  const double count = static_cast<double>(p.count);
  Tensor out = sum_over(x, p, count);
  if (is_recording())
    record_op("mean", {x}, out, [p, in = x.shape(), count](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, expand_grad(g / count, p, in));
    });
  return out;
}

namespace {

Tensor extremum(const char* op, const Tensor& x, const Axes& axes, bool keepdims, bool is_max) {
  Plan p = plan(op, x, axes, keepdims);
  if (p.count == 0)
    throw std::invalid_argument(std::string(op) + ": cannot reduce over an axis of size 0 (shape " +
                                x.shape().str() + ")");
  const double inf = std::numeric_limits<double>::infinity();
  // NaN propagates: once the accumulator is NaN it stays NaN.
  Tensor out = is_max ? fold(x, p, -inf, [](double& a, double v) { if (v > a || std::isnan(v)) a = std::isnan(a) ? a : v; },
                             [](double a) { return a; })
                      : fold(x, p, inf, [](double& a, double v) { if (v < a || std::isnan(v)) a = std::isnan(a) ? a : v; },
                             [](double a) { return a; });
  if (is_recording())
    record_op(op, {x}, out, [p, x, out](const Tensor& g, BackwardContext& ctx) {
      // Ties share the gradient equally: mask / (number of tied elements).
      Tensor mask = equal(x, broadcast_to(reshape(out, p.kept.to_vector()), x.shape()));
      Tensor share = div(mask, broadcast_to(sum(mask, p.axes, true), x.shape()));
      ctx.add(0, mul(expand_grad(g, p, x.shape()), share));
    });
  return out;
}

}  // namespace

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extremum("max", x, axes, keepdims, true); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extremum("min", x, axes, keepdims, false); }

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan p = plan("logsumexp", x, axes, keepdims);
  // m = max over the axes, held constant (its gradient contributions cancel),
  // so it is computed without recording. An infinite m (all -inf, or +inf
  // present) is replaced by 0 so x - m stays defined; over zero elements m is 0
  // and the result log(0) = -inf, as PyTorch's and SciPy's logsumexp.
  Tensor m;
  {
    NoGradGuard no_grad;
    m = p.count == 0 ? zeros(p.kept, x.dtype()) : max(x, p.axes, true);
  }
  dispatch_float(m.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* pm = m.data<T>();
    for (std::int64_t i = 0; i < m.numel(); ++i)
      if (!std::isfinite(pm[i])) pm[i] = T(0);
  });
  Tensor result = add(log(sum(exp(sub(x, m)), p.axes, true)), m);
  return keepdims ? result : reshape(result, p.out.to_vector());
}

Tensor norm(const Tensor& x, double ord, const Axes& axes, bool keepdims) {
  Plan p = plan("norm", x, axes, keepdims);
  if (std::isnan(ord))
    throw std::invalid_argument("norm: p must be a number (0, 1, 2, +-infinity or any other real p), received nan");
  // min |x| and p < 0 have no identity over zero elements (PyTorch refuses
  // them); p >= 0 sums, so an empty axis gives 0. p = +infinity keeps its
  // identity 0 (max |x| >= 0) here, where PyTorch 1.13 refuses it.
  if (p.count == 0 && ord < 0)
    throw std::invalid_argument("norm: cannot compute the " + detail::format_number(ord) +
                                "-norm over zero elements (shape " + x.shape().str() +
                                "; p < 0 and p = -infinity (min |x|) have no identity)");
  const bool is_inf = std::isinf(ord);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor out;
  if (is_inf && ord > 0)
    out = fold(x, p, 0.0, [nan](double& a, double v) { a = std::isnan(v) || std::isnan(a) ? nan : std::max(a, std::abs(v)); },
               [](double a) { return a; });
  else if (is_inf)
    out = fold(x, p, std::numeric_limits<double>::infinity(),
               [nan](double& a, double v) { a = std::isnan(v) || std::isnan(a) ? nan : std::min(a, std::abs(v)); },
               [](double a) { return a; });
  else if (ord == 0.0)  // the number of nonzero elements (NaN counts: it is not 0)
    out = fold(x, p, 0.0, [](double& a, double v) { a += v != 0.0 ? 1.0 : 0.0; }, [](double a) { return a; });
  else if (ord == 1.0)
    out = fold(x, p, 0.0, [](double& a, double v) { a += std::abs(v); }, [](double a) { return a; });
  else if (ord == 2.0)
    out = fold(x, p, 0.0, [](double& a, double v) { a += v * v; }, [](double a) { return std::sqrt(a); });
  else
    // p < 0: a zero element makes |0|^p = inf and the norm inf^(1/p) = 0, as PyTorch.
    out = fold(x, p, 0.0, [ord](double& a, double v) { a += std::pow(std::abs(v), ord); },
               [ord](double a) { return std::pow(a, 1.0 / ord); });
  // p = 0 is piecewise constant: its gradient is 0 everywhere (PyTorch's too).
  if (is_recording())
    record_op("norm", {x}, out, [p, x, out, ord, is_inf](const Tensor& g, BackwardContext& ctx) {
      Tensor gb = expand_grad(g, p, x.shape());
      Tensor n = broadcast_to(reshape(out, p.kept.to_vector()), x.shape());
      Tensor zero = scalar_like(x, 0.0);
      Tensor at_zero = equal(n, zero);
      Tensor safe_n = where(at_zero, scalar_like(x, 1.0), n);  // the gradient at a zero vector is 0
      Tensor grad;
      if (ord == 0.0) {
        grad = mul(gb, zero);  // g * 0 rather than a constant: it stays a function of g
      } else if (is_inf) {
        // +-infinity: the gradient goes to the elements with |x| = max (min)
        // |x|, tied ones sharing it equally.
        Tensor mask = equal(abs(x), n);
        Tensor share = div(mask, broadcast_to(sum(mask, p.axes, true), x.shape()));
        grad = mul(gb, mul(sign(x), share));
      } else if (ord == 1.0) {
        grad = mul(gb, sign(x));
      } else if (ord == 2.0) {
        grad = mul(gb, div(x, safe_n));
      } else if (ord > 1.0) {
        // d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1)
        grad = mul(gb, mul(sign(x), pow(div(abs(x), safe_n), ord - 1.0)));
      } else {
        // p < 1, p != 0: |x|^(p-1) is infinite at a zero element, where the
        // gradient is taken as 0 (as PyTorch). The zeros are replaced before
        // the pow, so neither this gradient nor its own derivative meets inf.
        // For p < 0 one zero element already makes the norm 0; the whole
        // vector's gradient is then 0 (PyTorch's too), hence the at_zero mask.
        Tensor x_zero = equal(x, zero);
        Tensor dead = ord < 0 ? where(at_zero, 1.0, x_zero) : x_zero;
        Tensor ratio = div(where(x_zero, scalar_like(x, 1.0), abs(x)), safe_n);
        grad = where(dead, zero, mul(gb, mul(sign(x), pow(ratio, ord - 1.0))));
      }
      ctx.add(0, grad);
    });
  return out;
}

}  // namespace tg
