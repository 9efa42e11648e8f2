// The cosine family. docs/cosine.md derives each formula and gradient.
#include "tapegrad/ops/cosine.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>

#ifdef __AVX__
#include <immintrin.h>
#endif

#include "blas.hpp"
#include "streaming.hpp"
#include "support.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

void check_eps(const char* op, double eps) {
  if (!(eps >= 0))
    throw std::invalid_argument(std::string(op) + ": eps must be >= 0, received " + std::to_string(eps));
}

}  // namespace

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
  detail::check_same_float("cosine_similarity", x1, x2);
  check_eps("cosine_similarity", eps);
  Shape shape = broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  if (shape.rank() == 0)
    throw std::invalid_argument("cosine_similarity: expected tensors of rank >= 1, received two 0-d tensors");
  int a = detail::normalize_axis("cosine_similarity", axis, shape.rank());
  Tensor u = broadcast_to(x1, shape), v = broadcast_to(x2, shape);
  Tensor u_hat = div(u, maximum(norm(u, 2.0, {a}, true), eps));
  Tensor v_hat = div(v, maximum(norm(v, 2.0, {a}, true), eps));
  return clamp(sum(mul(u_hat, v_hat), {a}), -1.0, 1.0);
}

Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  detail::check_same_float("cosine_similarity_matrix", a, b);
  check_eps("cosine_similarity_matrix", eps);
  if (a.rank() < 2 || a.rank() > 3 || b.rank() != a.rank() || a.dim(-1) != b.dim(-1) ||
      (a.rank() == 3 && a.dim(0) != b.dim(0)))
    throw std::invalid_argument("cosine_similarity_matrix: expected (N, D) and (M, D), or (B, N, D) and (B, M, D), "
                                "received " + a.shape().str() + " and " + b.shape().str());
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

// The backward of a fused op while an outer tape records: the gradient of the
// composed oracle, computed on a tape of its own so that the outer tape sees
// differentiable ops. Second and higher derivatives are then exact.
std::vector<Tensor> composed_vjp(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                 const std::vector<Tensor>& inputs, const Tensor& g) {
  GradientTape tape;
  tape.watch(inputs);
  Tensor y = f(inputs);
  return tape.gradient(y, inputs, g);
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
  std::vector<int> a = detail::normalize_axes("l2_normalize", axes, x.rank());
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
                                std::to_string(p));
  std::vector<int> a = detail::normalize_axes("normalize", axes, x.rank());
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

// cos = w12 / (c1 c2) with c = max(||x||, eps), clamped to [-1, 1]. Backward,
// with g the lane's upstream gradient (0 where the clamp was active):
//   dx1 = g / (c1 c2) * x2 - [||x1|| > eps] * g * cos / c1^2 * x1
//   dx2 = g / (c1 c2) * x1 - [||x2|| > eps] * g * cos / c2^2 * x2
// At x1 = 0: cos = 0 and dx1 = g * x2 / (eps c2), as PyTorch.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  detail::check_same_float("cosine_similarity", x1, x2);
  check_eps("cosine_similarity", eps);
  Shape shape = broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  if (shape.rank() == 0)
    throw std::invalid_argument("cosine_similarity: expected tensors of rank >= 1, received two 0-d tensors");
  int a = detail::normalize_axis("cosine_similarity", axis, shape.rank());
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
    lane_cosine_sums(u.data<T>(), v.data<T>(), l, [&](std::int64_t i, double s1, double s2, double w12) {
      const double c1 = std::max(std::sqrt(s1), eps), c2 = std::max(std::sqrt(s2), eps);
      const double cos = w12 / (c1 * c2);
      st[i] = c1;
      st[count + i] = c2;
      st[2 * count + i] = cos;
      o[i] = static_cast<T>(std::min(1.0, std::max(-1.0, cos)));
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
            const double gi = cos >= -1.0 && cos <= 1.0 ? static_cast<double>(pg[i]) : 0.0;
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

namespace {

// Transposes of n x n row-major matrices in 8 x 8 blocks. A transposed read
// walks a column at a stride of n elements: for n a multiple of 1024 floats,
// every element of a column falls into the same L1 cache set, and tiles of any
// size thrash. An 8 x 8 block is read as 8 short rows and written as 8 short
// rows (transposed in registers for float with AVX). The matrices are large
// enough to live on huge pages (autodiff/allocator.cpp): with 4 KiB pages the
// column walk misses the TLB on every block and the transpose takes twice as long.
//
// dst[r * ld + c] = src[c * ls + r] (+ add[r * ld + c] when add is given), r, c < 8.
template <class T>
inline void transpose_block8(const T* src, std::int64_t ls, T* dst, std::int64_t ld, const T* add) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) dst[r * ld + c] = src[c * ls + r] + (add ? add[r * ld + c] : T(0));
}
#ifdef __AVX__
template <>
inline void transpose_block8<float>(const float* src, std::int64_t ls, float* dst, std::int64_t ld, const float* add) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ls), r2 = _mm256_loadu_ps(src + 2 * ls),
         r3 = _mm256_loadu_ps(src + 3 * ls), r4 = _mm256_loadu_ps(src + 4 * ls), r5 = _mm256_loadu_ps(src + 5 * ls),
         r6 = _mm256_loadu_ps(src + 6 * ls), r7 = _mm256_loadu_ps(src + 7 * ls);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  const __m256 rows[8] = {_mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
                          _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
                          _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
                          _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
  for (int r = 0; r < 8; ++r)
    _mm256_storeu_ps(dst + r * ld, add ? _mm256_add_ps(rows[r], _mm256_loadu_ps(add + r * ld)) : rows[r]);
}
#endif

// The blocks are visited in tiles of kTile x kTile (a tile of the source and
// one of the destination stay in L2), a row of tiles per task:
// f(i0, i1) for the rows [i0, i1) of each tile row of an m x m matrix (m a multiple of 8).
constexpr std::int64_t kTile = 128;
template <class F>
void for_each_tile_row(std::int64_t m, F f) {
  const std::int64_t tile_rows = (m + kTile - 1) / kTile;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(1, kTile * m));
  detail::parallel_for(tile_rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) f(t * kTile, std::min(m, (t + 1) * kTile));
  });
}

// dst block (8 x 8 at dst, stride n) = clamp(src block)^T, and the src block
// clamped in place: the mirror of one block of syrk's upper triangle.
template <class T>
inline void clamp_mirror_block8(T* src, T* dst, std::int64_t n) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) src[r * n + c] = std::min(T(1), std::max(T(-1), src[r * n + c]));
  transpose_block8<T>(src, n, dst, n, nullptr);
}
#ifdef __AVX__
template <>
inline void clamp_mirror_block8<float>(float* src, float* dst, std::int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), minus_one = _mm256_set1_ps(-1.0f);
  for (int r = 0; r < 8; ++r)
    _mm256_storeu_ps(src + r * n, _mm256_min_ps(one, _mm256_max_ps(minus_one, _mm256_loadu_ps(src + r * n))));
  transpose_block8<float>(src, n, dst, n, nullptr);  // the rows just stored are still in L1
}
#endif

// s (n x n) holds its upper triangle (syrk's output): clamp it to [-1, 1] and
// mirror it into the lower one, in one pass. Each block below the diagonal is
// written by the task of its rows, from the block above the diagonal that it
// mirrors, which that task alone clamps: no block is touched by two tasks.
template <class T>
void clamp_and_mirror_upper(T* s, std::int64_t n) {
  const std::int64_t n8 = n - n % 8;
  for_each_tile_row(n8, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = 0; j0 < i1; j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 8)
        for (std::int64_t j = j0; j < std::min(j0 + kTile, i); j += 8)
          clamp_mirror_block8<T>(s + j * n + i, s + i * n + j, n);
  });
  const auto clamp = [](T v) { return std::min(T(1), std::max(T(-1), v)); };
  // What the blocks strictly below the diagonal leave: the diagonal blocks, the
  // last n % 8 columns of the first n8 rows and the last n % 8 rows.
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t block_start = i < n8 ? i - i % 8 : i;
    for (std::int64_t j = i; j < std::min(n, i < n8 ? block_start + 8 : n); ++j) s[i * n + j] = clamp(s[i * n + j]);
    for (std::int64_t j = n8; j < n && i < n8; ++j) s[i * n + j] = clamp(s[i * n + j]);
    for (std::int64_t j = i < n8 ? block_start : 0; j < i; ++j) s[i * n + j] = s[j * n + i];
  }
}

// h = g + g^T, g and h n x n.
template <class T>
void symmetrize(const T* g, std::int64_t n, T* h) {
  const std::int64_t n8 = n - n % 8;
  for_each_tile_row(n8, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = 0; j0 < n8; j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 8)
        for (std::int64_t j = j0; j < std::min(j0 + kTile, n8); j += 8)
          transpose_block8<T>(g + j * n + i, n, h + i * n + j, n, g + i * n + j);
  });
  // The last n % 8 columns of the first n8 rows, then the last n % 8 rows.
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i < n8 ? n8 : 0; j < n; ++j) h[i * n + j] = g[i * n + j] + g[j * n + i];
}

// Whether the 8 x 8 block at a (stride n) equals the transpose of the one at b.
template <class T>
inline bool equals_transposed_block8(const T* a, const T* b, std::int64_t n) {
  alignas(64) T t[64];
  transpose_block8<T>(b, n, t, 8, nullptr);
  bool same = true;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) same &= t[r * 8 + c] == a[r * n + c];
  return same;
}
#ifdef __AVX__
template <>
inline bool equals_transposed_block8<float>(const float* a, const float* b, std::int64_t n) {
  alignas(32) float t[64];
  transpose_block8<float>(b, n, t, 8, nullptr);
  __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (int r = 0; r < 8; ++r)
    all = _mm256_and_ps(all, _mm256_cmp_ps(_mm256_load_ps(t + 8 * r), _mm256_loadu_ps(a + r * n), _CMP_EQ_OQ));
  return _mm256_movemask_ps(all) == 0xFF;
}
#endif

// Whether g (n x n) equals its transpose exactly: blocks above the diagonal
// against the blocks below, stopping at the first difference (a NaN counts as
// one). The gradient reaching a similarity matrix is usually symmetric (any
// elementwise function of S, summed); checking costs one read of g, where
// forming g + g^T costs a read and a write.
template <class T>
bool is_symmetric(const T* g, std::int64_t n) {
  const std::int64_t n8 = n - n % 8;
  std::atomic<bool> symmetric{true};
  // Blocks on and above the diagonal, each against the transpose of its mirror, in tiles as symmetrize.
  for_each_tile_row(n8, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = i0; j0 < n8 && symmetric.load(std::memory_order_relaxed); j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 8) {
        bool same = true;
        for (std::int64_t j = std::max(i, j0); j < std::min(j0 + kTile, n8); j += 8)
          same &= equals_transposed_block8<T>(g + i * n + j, g + j * n + i, n);
        if (!same) symmetric.store(false, std::memory_order_relaxed);
      }
  });
  for (std::int64_t i = 0; i < n && symmetric.load(); ++i)
    for (std::int64_t j = std::max(i + 1, n8); j < n; ++j)
      if (!(g[i * n + j] == g[j * n + i])) return false;
  return symmetric.load();
}

// S = clamp(X X^T, -1, 1) for the (batched) rows X of unit norm, as one
// symmetric rank-k update (half the flops of a general product), mirrored.
// Backward: dX = (G + G^T) X, one product (gemm: OpenBLAS's symm packs its
// operand through slow transposed copies; building G + G^T in full is cheaper),
// and when G is symmetric, as it is for any loss that treats S_ij and S_ji
// alike, dX = 2 G X without forming G + G^T. The clamp's zero gradient is not
// applied: it only changes entries that rounding pushed past +-1, i.e. pairs of
// (anti)parallel rows, and for those the row normalization's backward removes
// the contribution anyway (d S_ij / d x_i = x_j is radial for x_i).
Tensor self_similarity(const Tensor& x) {
  const std::int64_t batch = x.rank() == 3 ? x.dim(0) : 1, n = x.dim(-2), d = x.dim(-1);
  Shape out_shape = x.rank() == 3 ? Shape{batch, n, n} : Shape{n, n};
  Tensor out = Tensor::empty(out_shape, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (std::int64_t b = 0; b < batch; ++b) {
      const T* px = x.data<T>() + b * n * d;
      T* s = out.data<T>() + b * n * n;
      if (n == 0) continue;
      if (d == 0) {
        std::fill(s, s + n * n, T(0));
        continue;
      }
      detail::syrk_upper(n, d, px, s, n);
      clamp_and_mirror_upper(s, n);
    }
  });
  if (is_recording())
    record_op("cosine_self_similarity", {x}, out, [x, batch, n, d](const Tensor& g, BackwardContext& ctx) {
      if (is_recording()) {
        auto f = [](const std::vector<Tensor>& v) { return clamp(matmul(v[0], v[0], false, true), -1.0, 1.0); };
        ctx.add(0, composed_vjp(f, {x}, g)[0]);
        return;
      }
      Tensor dx = Tensor::empty(x.shape(), x.dtype());
      Tensor h;  // g + g^T when g is not symmetric (a recycled buffer: no fresh pages)
      dispatch_float(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t b = 0; b < batch; ++b) {
          const T* px = x.data<T>() + b * n * d;
          T* pdx = dx.data<T>() + b * n * d;
          if (n == 0 || d == 0) continue;
          const T* pg = g.data<T>() + b * n * n;
          if (is_symmetric(pg, n)) {
            detail::gemm(false, false, n, d, n, T(2), pg, n, px, d, T(0), pdx, d);  // g + g^T = 2 g, exactly
          } else {
            if (!h.defined()) h = Tensor::empty(Shape{n, n}, x.dtype());
            symmetrize(pg, n, h.data<T>());
            detail::gemm(false, false, n, d, n, T(1), h.data<T>(), n, px, d, T(0), pdx, d);
          }
        }
      });
      ctx.add(0, dx);
    });
  return out;
}

}  // namespace

// Rows normalized by the fused kernel (once when b is a), then one matrix
// product with the transpose passed to BLAS as a flag; when b is a, the
// symmetric product (syrk) and a single product in the backward.
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  detail::check_same_float("cosine_similarity_matrix", a, b);
  check_eps("cosine_similarity_matrix", eps);
  if (a.rank() < 2 || a.rank() > 3 || b.rank() != a.rank() || a.dim(-1) != b.dim(-1) ||
      (a.rank() == 3 && a.dim(0) != b.dim(0)))
    throw std::invalid_argument("cosine_similarity_matrix: expected (N, D) and (M, D), or (B, N, D) and (B, M, D), "
                                "received " + a.shape().str() + " and " + b.shape().str());
  Tensor a_hat = normalize(a, 2.0, {-1}, eps);
  if (b.id() == a.id()) return self_similarity(a_hat);
  Tensor b_hat = normalize(b, 2.0, {-1}, eps);
  return clamp(matmul(a_hat, b_hat, false, true), -1.0, 1.0);
}

Tensor cosine_similarity_matrix(const Tensor& a, double eps) { return cosine_similarity_matrix(a, a, eps); }

}  // namespace tg
