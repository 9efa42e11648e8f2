// The cosine family. docs/cosine.md derives each formula and gradient.
#include "tapegrad/ops/cosine.hpp"

#include <algorithm>
#include <cmath>

#include "cosine_support.hpp"
#include "fused.hpp"
#include "kernels/cosine.hpp"
#include "kernels/lanes.hpp"
#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace detail {

void check_eps(const char* op, double eps) {
  if (!(eps >= 0))
    throw std::invalid_argument(std::string(op) + ": eps must be >= 0, received " + format_number(eps));
}

void check_matrix_arguments(const Tensor& a, const Tensor& b, double eps) {
  detail::check_same_float("cosine_similarity_matrix", a, b);
  check_eps("cosine_similarity_matrix", eps);
  if (a.rank() < 2 || a.rank() > 3 || b.rank() != a.rank() || a.dim(-1) != b.dim(-1) ||
      (a.rank() == 3 && a.dim(0) != b.dim(0)))
    throw std::invalid_argument("cosine_similarity_matrix: expected (N, D) and (M, D), or (B, N, D) and (B, M, D), "
                                "received " + a.shape().str() + " and " + b.shape().str());
}

CosineArguments check_cosine_arguments(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  check_same_float("cosine_similarity", x1, x2);
  check_eps("cosine_similarity", eps);
  Shape shape = broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  if (shape.rank() == 0) {
    normalize_reduction_axes("cosine_similarity", {axis}, shape);
    return {shape, 0};
  }
  return {shape, normalize_axis("cosine_similarity", axis, shape)};
}

}  // namespace detail

using detail::check_eps;
using detail::check_matrix_arguments;
using detail::composed_backward;
using detail::record_fused;
using kernels::Lanes;
using kernels::lanes_of;

// ---- composed versions: the oracles ------------------------------------------

namespace composed {

Tensor l2_normalize(const Tensor& x, const Axes& axes, double eps) {
  detail::check_float("l2_normalize", x);
  check_eps("l2_normalize", eps);
  return div(x, sqrt(maximum(sum(square(x), axes, true), eps)));
}

Tensor normalize(const Tensor& x, double p, const Axes& axes, double eps) {
  detail::check_float("normalize", x);
  check_eps("normalize", eps);
  return div(x, maximum(norm(x, p, axes, true), eps));
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  const detail::CosineArguments checked = detail::check_cosine_arguments(x1, x2, axis, eps);
  const Shape& shape = checked.shape;
  const int a = checked.axis;
  if (shape.rank() == 0)  // the scalars seen as vectors of one element, as PyTorch
    return composed::cosine_similarity(reshape(x1, {1}), reshape(x2, {1}), 0, eps);
  Tensor u = broadcast_to(x1, shape), v = broadcast_to(x2, shape);
  Tensor u_hat = div(u, maximum(norm(u, 2.0, {a}, true), eps));
  Tensor v_hat = div(v, maximum(norm(v, 2.0, {a}, true), eps));
  return clamp(sum(mul(u_hat, v_hat), {a}), -1.0, 1.0);
}

Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  check_matrix_arguments(a, b, eps);
  Tensor a_hat = div(a, maximum(norm(a, 2.0, {-1}, true), eps));
  Tensor b_hat = div(b, maximum(norm(b, 2.0, {-1}, true), eps));
  return clamp(matmul(a_hat, b_hat, false, true), -1.0, 1.0);
}

}  // namespace composed

// ---- fused normalize ----------------------------------------------------------

namespace {

// x / c with c = max(||x||_2, eps) (PyTorch) or sqrt(max(||x||^2, eps)) (Keras,
// keras_eps = true) over the lanes of the adjacent axes. Backward: with
// s = sum(g * x) over the lane, dx = g / c - [active] * s * x / c^3, where
// `active` says the norm is above the clamp (then c = ||x|| and dc/dx = x / c);
// below it c is constant.
Tensor fused_normalize(const char* op, const Tensor& x, const std::vector<int>& axes, const Lanes& l, double eps,
                       bool keras_eps) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor scale = Tensor::empty(Shape{l.count()}, x.dtype());  // 1 / c per lane
  Tensor active = Tensor::empty(Shape{l.count()}, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::normalize_lanes(x.data<T>(), l, eps, keras_eps, out.data<T>(), scale.data<T>(), active.data<T>());
  });
  if (is_recording())
    record_fused(
        op, {x}, out,
        [x, l, scale, active](const Tensor& g, BackwardContext& ctx) {
          Tensor dx = Tensor::empty(x.shape(), x.dtype());
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            kernels::normalize_lanes_backward(g.data<T>(), x.data<T>(), l, scale.data<T>(), active.data<T>(),
                                              dx.data<T>());
          });
          ctx.add(0, dx);
        },
        composed_backward(
            [axes, eps, keras_eps](const Tensor& v) {
              return keras_eps ? composed::l2_normalize(v, axes, eps) : composed::normalize(v, 2.0, axes, eps);
            },
            x));
  return out;
}

}  // namespace

// ---- public versions -----------------------------------------------------------

Tensor l2_normalize(const Tensor& x, const Axes& axes, double eps) {
  detail::check_float("l2_normalize", x);
  check_eps("l2_normalize", eps);
  std::vector<int> a = detail::normalize_reduction_axes("l2_normalize", axes, x.shape());
  if (x.rank() == 0) return composed::l2_normalize(x, axes, eps);
  Lanes l = lanes_of(x.shape(), a);
  if (l.n < 0) return composed::l2_normalize(x, axes, eps);
  return fused_normalize("l2_normalize", x, a, l, eps, /*keras_eps=*/true);
}

Tensor normalize(const Tensor& x, double p, const Axes& axes, double eps) {
  detail::check_float("normalize", x);
  check_eps("normalize", eps);
  if (!(p > 0))
    throw std::invalid_argument("normalize: p must be > 0 (1, 2, infinity or any positive p), received " +
                                detail::format_number(p));
  std::vector<int> a = detail::normalize_reduction_axes("normalize", axes, x.shape());
  if (p != 2.0 || x.rank() == 0) return composed::normalize(x, p, axes, eps);
  Lanes l = lanes_of(x.shape(), a);
  if (l.n < 0) return composed::normalize(x, p, axes, eps);
  return fused_normalize("normalize", x, a, l, eps, /*keras_eps=*/false);
}

// cos = x1 . x2 / (c1 c2) along `axis`, with c = max(||x||, eps), clamped to [-1, 1] with NaN
// kept (a NaN or infinite input gives NaN, as the composed form and PyTorch).
// A lane whose sums are not finite (an infinite or NaN element, or float64
// squares that overflow, as for (1e200, 1e200)) is computed again as the
// composed form does, sum((x1 / c1) * (x2 / c2)): with c = inf from an
// overflow that is 0 (PyTorch gives 0 too), with an inf element NaN.
// Backward, with g the lane's upstream gradient (0 where the clamp was active;
// a NaN cos keeps g, and gives NaN):
//   dx1 = g / (c1 c2) * x2 - [||x1|| > eps] * g * cos / c1^2 * x1
//   dx2 = g / (c1 c2) * x1 - [||x2|| > eps] * g * cos / c2^2 * x2
// At x1 = 0: cos = 0 and dx1 = g * x2 / (eps c2), as PyTorch.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  // Plain variables, not a structured binding: clang 14 (the fuzz build)
  // cannot capture a binding in a lambda, as the backward below does.
  const detail::CosineArguments checked = detail::check_cosine_arguments(x1, x2, axis, eps);
  const Shape& shape = checked.shape;
  const int a = checked.axis;
  if (shape.rank() == 0)  // the scalars seen as vectors of one element, as PyTorch
    return cosine_similarity(reshape(x1, {1}), reshape(x2, {1}), 0, eps);
  // Broadcast operands are expanded first (recorded, so their gradients are summed back).
  Tensor u = broadcast_to(x1, shape), v = broadcast_to(x2, shape);
  Lanes l = lanes_of(shape, {a});
  Shape out_shape = shape;
  out_shape.erase(a);
  Tensor out = Tensor::empty(out_shape, u.dtype());
  Tensor stats = Tensor::empty(Shape{3, l.count()}, DType::float64);  // c1, c2, unclamped cos per lane
  dispatch_float(u.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::cosine_lanes(u.data<T>(), v.data<T>(), l, eps, out.data<T>(), stats.data<double>());
  });
  if (is_recording())
    record_fused(
        "cosine_similarity", {u, v}, out,
        [u, v, l, eps, stats](const Tensor& g, BackwardContext& ctx) {
          Tensor d1 = ctx.needs(0) ? Tensor::empty(u.shape(), u.dtype()) : Tensor();
          Tensor d2 = ctx.needs(1) ? Tensor::empty(v.shape(), v.dtype()) : Tensor();
          dispatch_float(u.dtype(), [&](auto tag) {
            using T = decltype(tag);
            kernels::cosine_lanes_backward(g.data<T>(), u.data<T>(), v.data<T>(), l, eps, stats.data<double>(),
                                           d1.defined() ? d1.data<T>() : nullptr,
                                           d2.defined() ? d2.data<T>() : nullptr);
          });
          if (d1.defined()) ctx.add(0, d1);
          if (d2.defined()) ctx.add(1, d2);
        },
        composed_backward(
            [a, eps](const Tensor& p, const Tensor& q) { return composed::cosine_similarity(p, q, a, eps); }, u, v));
  return out;
}

Tensor cosine_distance(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  return 1.0 - cosine_similarity(x1, x2, axis, eps);
}

}  // namespace tg
