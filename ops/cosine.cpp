// The cosine family. docs/cosine.md derives each formula and gradient.
#include "tapegrad/ops/cosine.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#ifdef __AVX__
#include <immintrin.h>
#endif

#include "cosine_support.hpp"
#include "streaming.hpp"
#include "support.hpp"
#include "tapegrad/autodiff/threads.hpp"
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

std::vector<Tensor> composed_vjp(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                 const std::vector<Tensor>& inputs, const Tensor& g) {
  GradientTape tape;
  tape.watch(inputs);
  Tensor y = f(inputs);
  return tape.gradient(y, inputs, g);
}

}  // namespace detail

using detail::check_eps;
using detail::check_matrix_arguments;
using detail::composed_vjp;

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

// ---- fused kernels -------------------------------------------------------------
//
// A reduction axis (or a run of adjacent axes) splits a contiguous tensor into
// lanes: (outer, n, inner), lane (o, i) holding the n elements
// x[o, 0..n, i] at stride `inner`. Sums run in double (exact enough for any D:
// a float32 vector of 10^6 elements loses nothing measurable), vectorized by
// `omp simd` reductions; elementwise passes run in the tensor's dtype.

namespace {

struct Lanes {
  std::int64_t outer = 1, n = 1, inner = 1;
  std::int64_t count() const { return outer * inner; }
};

// Lanes for the sorted axes `axes` if they are adjacent; n = 0 marks "not adjacent".
Lanes lanes_of(const Shape& shape, const std::vector<int>& axes) {
  Lanes l;
  for (std::size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1) {
      l.n = -1;
      return l;
    }
  for (int d = 0; d < shape.rank(); ++d) {
    if (d < axes.front()) l.outer *= shape[d];
    else if (d > axes.back()) l.inner *= shape[d];
    else l.n *= shape[d];
  }
  return l;
}

// Rows (lanes) of n elements worth one thread of their own.
std::int64_t rows_per_thread(std::int64_t n) { return std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(n, 1)); }

// out[lane] = sum over the lane of a * b.
template <class T>
void lane_dot(const T* a, const T* b, const Lanes& l, double* out) {
  if (l.inner == 1) {
    detail::parallel_for(l.outer, rows_per_thread(l.n), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t o = lo; o < hi; ++o) {
        const T* pa = a + o * l.n;
        const T* pb = b + o * l.n;
        double acc = 0;
#pragma omp simd reduction(+ : acc)
        for (std::int64_t k = 0; k < l.n; ++k) acc += static_cast<double>(pa[k]) * static_cast<double>(pb[k]);
        out[o] = acc;
      }
    });
    return;
  }
  std::fill(out, out + l.count(), 0.0);
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.n; ++k) {
      const T* pa = a + (o * l.n + k) * l.inner;
      const T* pb = b + (o * l.n + k) * l.inner;
      double* acc = out + o * l.inner;
      for (std::int64_t i = 0; i < l.inner; ++i) acc[i] += static_cast<double>(pa[i]) * static_cast<double>(pb[i]);
    }
}

// The three sums of a cosine in one pass, |x1|^2, |x2|^2 and x1 . x2 per lane,
// handed to finish(lane, s1, s2, s12) (inside the threads' ranges for rows).
template <class T, class Finish>
void lane_cosine_sums(const T* x1, const T* x2, const Lanes& l, Finish finish) {
  if (l.inner == 1) {
    detail::parallel_for(l.outer, rows_per_thread(2 * l.n), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t o = lo; o < hi; ++o) {
        const T* a = x1 + o * l.n;
        const T* b = x2 + o * l.n;
        double aa = 0, bb = 0, ab = 0;
#pragma omp simd reduction(+ : aa, bb, ab)
        for (std::int64_t k = 0; k < l.n; ++k) {
          const double u = a[k], v = b[k];
          aa += u * u;
          bb += v * v;
          ab += u * v;
        }
        finish(o, aa, bb, ab);
      }
    });
    return;
  }
  const std::size_t count = static_cast<std::size_t>(l.count());
  std::vector<double> s1(count, 0.0), s2(count, 0.0), w12(count, 0.0);
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.n; ++k) {
      const T* a = x1 + (o * l.n + k) * l.inner;
      const T* b = x2 + (o * l.n + k) * l.inner;
      const std::int64_t base = o * l.inner;
      for (std::int64_t i = 0; i < l.inner; ++i) {
        const double u = a[i], v = b[i];
        s1[static_cast<std::size_t>(base + i)] += u * u;
        s2[static_cast<std::size_t>(base + i)] += v * v;
        w12[static_cast<std::size_t>(base + i)] += u * v;
      }
    }
  for (std::size_t i = 0; i < count; ++i) finish(static_cast<std::int64_t>(i), s1[i], s2[i], w12[i]);
}

// out = ca[lane] * a + cb[lane] * b elementwise over the lanes.
template <class T>
void lane_axpby(const T* a, const T* b, const Lanes& l, const T* ca, const T* cb, T* out) {
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.n; ++k) {
      const std::int64_t off = (o * l.n + k) * l.inner;
      const T* pa = a + off;
      const T* pb = b + off;
      T* po = out + off;
      const T* pca = ca + o * l.inner;
      const T* pcb = cb + o * l.inner;
      if (l.inner == 1) {
        po[0] = pca[0] * pa[0] + pcb[0] * pb[0];
        continue;
      }
      for (std::int64_t i = 0; i < l.inner; ++i) po[i] = pca[i] * pa[i] + pcb[i] * pb[i];
    }
}

// Row form of lane_axpby (inner == 1): one coefficient pair per row, a vectorized inner loop.
template <class T>
void row_axpby(const T* a, const T* b, const Lanes& l, const T* ca, const T* cb, T* out) {
  detail::parallel_for(l.outer, rows_per_thread(2 * l.n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) {
      const T* pa = a + o * l.n;
      const T* pb = b + o * l.n;
      T* po = out + o * l.n;
      const T x = ca[o], y = cb[o];
      for (std::int64_t k = 0; k < l.n; ++k) po[k] = x * pa[k] + y * pb[k];
    }
  });
}

template <class T>
void axpby(const T* a, const T* b, const Lanes& l, const T* ca, const T* cb, T* out) {
  if (l.inner == 1) row_axpby(a, b, l, ca, cb, out);
  else lane_axpby(a, b, l, ca, cb, out);
}

// x / c with c = max(||x||_2, eps) (PyTorch) or sqrt(max(||x||^2, eps)) (Keras,
// keras_eps = true) over the lanes. Backward: with s = sum(g * x) over the
// lane, dx = g / c - [active] * s * x / c^3, where `active` says the norm is
// above the clamp (then c = ||x|| and dc/dx = x / c); below it c is constant.
Tensor fused_normalize(const char* op, const Tensor& x, const std::vector<int>& axes, const Lanes& l, double eps,
                       bool keras_eps) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor scale = Tensor::empty(Shape{l.count()}, x.dtype());  // 1 / c per lane
  Tensor active = Tensor::empty(Shape{l.count()}, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    std::vector<double> sq(static_cast<std::size_t>(l.count()));
    lane_dot(px, px, l, sq.data());
    T* inv = scale.data<T>();
    T* act = active.data<T>();
    for (std::int64_t i = 0; i < l.count(); ++i) {
      const double s = sq[static_cast<std::size_t>(i)];
      const double c = keras_eps ? std::sqrt(std::max(s, eps)) : std::max(std::sqrt(s), eps);
      inv[i] = static_cast<T>(1.0 / c);
      act[i] = static_cast<T>(keras_eps ? s > eps : std::sqrt(s) > eps);
    }
    T* po = out.data<T>();
    if (l.inner == 1) {
      detail::parallel_for(l.outer, rows_per_thread(l.n), [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t o = lo; o < hi; ++o) {
          const T r = inv[o];
          for (std::int64_t k = 0; k < l.n; ++k) po[o * l.n + k] = px[o * l.n + k] * r;
        }
      });
      return;
    }
    for (std::int64_t o = 0; o < l.outer; ++o)
      for (std::int64_t k = 0; k < l.n; ++k) {
        const std::int64_t off = (o * l.n + k) * l.inner;
        const T* r = inv + o * l.inner;
        for (std::int64_t i = 0; i < l.inner; ++i) po[off + i] = px[off + i] * r[i];
      }
  });
  if (is_recording())
    record_op(op, {x}, out, [x, axes, l, eps, keras_eps, scale, active](const Tensor& g, BackwardContext& ctx) {
      if (is_recording()) {
        auto f = [&](const std::vector<Tensor>& v) {
          return keras_eps ? composed::l2_normalize(v[0], axes, eps) : composed::normalize(v[0], 2.0, axes, eps);
        };
        ctx.add(0, composed_vjp(f, {x}, g)[0]);
        return;
      }
      Tensor dx = Tensor::empty(x.shape(), x.dtype());
      dispatch_float(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        std::vector<double> s(static_cast<std::size_t>(l.count()));
        lane_dot(g.data<T>(), x.data<T>(), l, s.data());
        const T* inv = scale.data<T>();
        const T* act = active.data<T>();
        std::vector<T> cg(static_cast<std::size_t>(l.count())), cx(cg.size());
        for (std::int64_t i = 0; i < l.count(); ++i) {
          const double r = inv[i];
          cg[static_cast<std::size_t>(i)] = static_cast<T>(r);
          cx[static_cast<std::size_t>(i)] = static_cast<T>(act[i] != T(0) ? -s[static_cast<std::size_t>(i)] * r * r * r : 0.0);
        }
        axpby(g.data<T>(), x.data<T>(), l, cg.data(), cx.data(), dx.data<T>());
      });
      ctx.add(0, dx);
    });
  return out;
}

}  // namespace

// ---- public versions -----------------------------------------------------------

Tensor l2_normalize(const Tensor& x, int axis, double eps) { return l2_normalize(x, Axes{axis}, eps); }

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

// The rows [lo, hi) of both cosine gradients, d1 = c x2 + a x1 and d2 = c x1 + b x2
// with one (c, a, b) per row of n, stored with non-temporal stores straight
// from the registers (AVX-512 float32, rows that start on 64-byte boundaries);
// can_stream_rows_directly says when. Otherwise the chunked write_streamed
// path does the same through a buffer in L1, about 20% slower.
template <class T>
bool can_stream_rows_directly(const T*, const T*, std::int64_t) {
  return false;
}
template <class T>
void stream_cross_rows(const T*, const T*, const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, T*,
                       T*) {}
#ifdef __AVX512F__
template <>
bool can_stream_rows_directly<float>(const float* d1, const float* d2, std::int64_t n) {
  const auto aligned = [](const float* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; };
  return n % 16 == 0 && aligned(d1) && aligned(d2);
}
template <>
void stream_cross_rows<float>(const float* x1, const float* x2, const float* c, const float* a, const float* b,
                              std::int64_t n, std::int64_t lo, std::int64_t hi, float* d1, float* d2) {
  for (std::int64_t o = lo; o < hi; ++o) {
    const __m512 vc = _mm512_set1_ps(c[o]), va = _mm512_set1_ps(a[o]), vb = _mm512_set1_ps(b[o]);
    const float* r1 = x1 + o * n;
    const float* r2 = x2 + o * n;
    float* q1 = d1 + o * n;
    float* q2 = d2 + o * n;
    for (std::int64_t k = 0; k < n; k += 16) {
      const __m512 u = _mm512_loadu_ps(r1 + k), v = _mm512_loadu_ps(r2 + k);
      _mm512_stream_ps(q1 + k, _mm512_fmadd_ps(vc, v, _mm512_mul_ps(va, u)));
      _mm512_stream_ps(q2 + k, _mm512_fmadd_ps(vc, u, _mm512_mul_ps(vb, v)));
    }
  }
  _mm_sfence();
}
#endif

// cos = w12 / (c1 c2) with c = max(||x||, eps), clamped to [-1, 1] with NaN
// kept (a NaN or infinite input gives NaN, as the composed form and PyTorch).
// A lane whose sums are not finite (an infinite or NaN element, or float64
// squares that overflow, as for (1e200, 1e200)) is computed again as the
// composed form does, sum((x1 / c1) * (x2 / c2)): with c = inf from an
// overflow that is 0 (PyTorch gives 0 too), with an inf element NaN.
// Backward, with g the lane's upstream gradient (0 where the clamp was active):
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
    const std::int64_t count = l.count();
    double* st = stats.data<double>();
    T* o = out.data<T>();
    const T* pu = u.data<T>();
    const T* pv = v.data<T>();
    lane_cosine_sums(pu, pv, l, [&](std::int64_t i, double s1, double s2, double w12) {
      // std::max(NaN, eps) is NaN: a NaN norm stays NaN.
      const double c1 = std::max(std::sqrt(s1), eps), c2 = std::max(std::sqrt(s2), eps);
      double cos = w12 / (c1 * c2);
      if (!(std::isfinite(s1) && std::isfinite(s2) && std::isfinite(w12))) {
        cos = 0;
        const std::int64_t outer = i / l.inner, lane = i % l.inner;
        for (std::int64_t k = 0; k < l.n; ++k) {
          const std::int64_t off = (outer * l.n + k) * l.inner + lane;
          cos += (static_cast<double>(pu[off]) / c1) * (static_cast<double>(pv[off]) / c2);
        }
      }
      st[i] = c1;
      st[count + i] = c2;
      st[2 * count + i] = cos;
      o[i] = static_cast<T>(detail::clamp_keep_nan(cos, -1.0, 1.0));
    });
  });
  if (is_recording())
    record_op("cosine_similarity", {u, v}, out, [u, v, l, a, eps, stats](const Tensor& g, BackwardContext& ctx) {
      if (is_recording()) {
        auto f = [&](const std::vector<Tensor>& w) { return composed::cosine_similarity(w[0], w[1], a, eps); };
        std::vector<Tensor> grads = composed_vjp(f, {u, v}, g);
        if (ctx.needs(0)) ctx.add(0, grads[0]);
        if (ctx.needs(1)) ctx.add(1, grads[1]);
        return;
      }
      dispatch_float(u.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const std::size_t count = static_cast<std::size_t>(l.count());
        const double* st = stats.data<double>();
        const T* pg = g.data<T>();
        std::vector<T> cross(count), self1(count), self2(count);
        // The coefficients of lanes [lo, hi) (on the threads' own ranges in the row kernels).
        auto coefficients = [&](std::int64_t lo, std::int64_t hi) {
          for (std::size_t i = static_cast<std::size_t>(lo); i < static_cast<std::size_t>(hi); ++i) {
            const double c1 = st[i], c2 = st[count + i], cos = st[2 * count + i];
            // The clamp's gradient is 0 where it was active; a NaN cos keeps g (and gives NaN).
            const double gi = cos < -1.0 || cos > 1.0 ? 0.0 : static_cast<double>(pg[i]);
            cross[i] = static_cast<T>(gi / (c1 * c2));
            // ||x|| > eps exactly when c = ||x|| > eps, i.e. c > eps.
            self1[i] = static_cast<T>(c1 > eps ? -gi * cos / (c1 * c1) : 0.0);
            self2[i] = static_cast<T>(c2 > eps ? -gi * cos / (c2 * c2) : 0.0);
          }
        };
        if (ctx.needs(0) && ctx.needs(1) && l.inner == 1) {
          // Both gradients in one pass over the rows: the inputs are read once, not twice.
          Tensor d1 = Tensor::empty(u.shape(), u.dtype()), d2 = Tensor::empty(v.shape(), v.dtype());
          const T* __restrict pu = u.data<T>();
          const T* __restrict pv = v.data<T>();
          T* __restrict p1 = d1.data<T>();
          T* __restrict p2 = d2.data<T>();
          // Elements [k0, k1) of both gradients into o1, o2 (k counts over all rows).
          auto rows = [&](std::int64_t k0, std::int64_t k1, T* __restrict o1, T* __restrict o2) {
            for (std::int64_t k = k0; k < k1;) {
              const std::int64_t o = k / l.n, end = std::min(k1, (o + 1) * l.n);
              const std::size_t r = static_cast<std::size_t>(o);
              const T c = cross[r], a = self1[r], b = self2[r];
              const T* __restrict r1 = pu + k;
              const T* __restrict r2 = pv + k;
              T* __restrict q1 = o1 + (k - k0);
              T* __restrict q2 = o2 + (k - k0);
              for (std::int64_t j = 0; j < end - k; ++j) {
                const T x1 = r1[j], x2 = r2[j];
                q1[j] = c * x2 + a * x1;
                q2[j] = c * x1 + b * x2;
              }
              k = end;
            }
          };
          const bool stream = detail::worth_streaming(2 * static_cast<std::size_t>(u.numel()) * sizeof(T));
          const bool direct = stream && can_stream_rows_directly(p1, p2, l.n);
          detail::parallel_for(l.outer, rows_per_thread(4 * l.n), [&](std::int64_t lo, std::int64_t hi) {
            coefficients(lo, hi);
            if (direct) stream_cross_rows(pu, pv, cross.data(), self1.data(), self2.data(), l.n, lo, hi, p1, p2);
            else if (stream) detail::write_streamed(p1, p2, lo * l.n, hi * l.n, rows);
            else rows(lo * l.n, hi * l.n, p1 + lo * l.n, p2 + lo * l.n);
          });
          ctx.add(0, d1);
          ctx.add(1, d2);
          return;
        }
        coefficients(0, l.count());
        if (ctx.needs(0)) {
          Tensor d = Tensor::empty(u.shape(), u.dtype());
          axpby(v.data<T>(), u.data<T>(), l, cross.data(), self1.data(), d.data<T>());
          ctx.add(0, d);
        }
        if (ctx.needs(1)) {
          Tensor d = Tensor::empty(v.shape(), v.dtype());
          axpby(u.data<T>(), v.data<T>(), l, cross.data(), self2.data(), d.data<T>());
          ctx.add(1, d);
        }
      });
    });
  return out;
}

Tensor cosine_distance(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  return 1.0 - cosine_similarity(x1, x2, axis, eps);
}

}  // namespace tg
