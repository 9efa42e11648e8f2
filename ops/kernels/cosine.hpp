// The one-pass kernels of the cosine family over lanes (kernels/lanes.hpp):
// normalize's forward and backward, cosine_similarity's forward and backward.
// ops/cosine.cpp holds the formulas they compute; here is how: the sums in
// double, the rows on the threads, and the cosine gradients written with
// non-temporal stores when they are larger than the caches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#ifdef __AVX__
#include <immintrin.h>
#endif

#include "clamp.hpp"
#include "lanes.hpp"
#include "streaming.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

// out = x / c per lane, c = max(||x||, eps), or sqrt(max(||x||^2, eps)) when
// keras_eps; inv[lane] = 1 / c, and active[lane] = 1 where the norm is above
// the clamp (c = ||x||), else 0.
template <class T>
void normalize_lanes(const T* x, const Lanes& l, double eps, bool keras_eps, T* out, T* inv, T* active) {
  std::vector<double> sq(static_cast<std::size_t>(l.count()));
  lane_dot(x, x, l, sq.data());
  for (std::int64_t i = 0; i < l.count(); ++i) {
    const double s = sq[static_cast<std::size_t>(i)];
    const double c = keras_eps ? std::sqrt(std::max(s, eps)) : std::max(std::sqrt(s), eps);
    inv[i] = static_cast<T>(1.0 / c);
    active[i] = static_cast<T>(keras_eps ? s > eps : std::sqrt(s) > eps);
  }
  lane_scale(x, l, inv, out);
}

// dx = g / c - active * sum(g * x) * x / c^3 per lane, from normalize_lanes's inv and active.
template <class T>
void normalize_lanes_backward(const T* g, const T* x, const Lanes& l, const T* inv, const T* active, T* dx) {
  std::vector<double> s(static_cast<std::size_t>(l.count()));
  lane_dot(g, x, l, s.data());
  std::vector<T> cg(static_cast<std::size_t>(l.count())), cx(cg.size());
  for (std::int64_t i = 0; i < l.count(); ++i) {
    const double r = inv[i];
    cg[static_cast<std::size_t>(i)] = static_cast<T>(r);
    cx[static_cast<std::size_t>(i)] = static_cast<T>(active[i] != T(0) ? -s[static_cast<std::size_t>(i)] * r * r * r : 0.0);
  }
  axpby(g, x, l, cg.data(), cx.data(), dx);
}

// out[lane] = clamp(cos, -1, 1), NaN kept, with cos = x1 . x2 / (c1 c2) and
// c = max(||x||, eps); stats (3 x lanes) = c1, c2 and the unclamped cos. A lane
// whose sums are not finite is summed again as sum((x1 / c1) * (x2 / c2)).
template <class T>
void cosine_lanes(const T* x1, const T* x2, const Lanes& l, double eps, T* out, double* stats) {
  const std::int64_t count = l.count();
  lane_cosine_sums(x1, x2, l, [&](std::int64_t i, double s1, double s2, double w12) {
    // std::max(NaN, eps) is NaN: a NaN norm stays NaN.
    const double c1 = std::max(std::sqrt(s1), eps), c2 = std::max(std::sqrt(s2), eps);
    double cos = w12 / (c1 * c2);
    if (!(std::isfinite(s1) && std::isfinite(s2) && std::isfinite(w12))) {
      cos = 0;
      const std::int64_t outer = i / l.inner, lane = i % l.inner;
      for (std::int64_t k = 0; k < l.n; ++k) {
        const std::int64_t off = (outer * l.n + k) * l.inner + lane;
        cos += (static_cast<double>(x1[off]) / c1) * (static_cast<double>(x2[off]) / c2);
      }
    }
    stats[i] = c1;
    stats[count + i] = c2;
    stats[2 * count + i] = cos;
    out[i] = static_cast<T>(clamp_keep_nan(cos, -1.0, 1.0));
  });
}

// Whether stream_cross_rows can write d1 and d2: AVX-512 float32, rows of a
// multiple of 16 that start on 64-byte boundaries.
template <class T>
bool can_stream_rows_directly(const T*, const T*, std::int64_t) {
  return false;
}
// The rows [lo, hi) of d1 = c x2 + a x1 and d2 = c x1 + b x2 (one (c, a, b) per
// row of n), stored with non-temporal stores straight from the registers.
template <class T>
void stream_cross_rows(const T*, const T*, const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t, T*,
                       T*) {}
#ifdef __AVX512F__
template <>
inline bool can_stream_rows_directly<float>(const float* d1, const float* d2, std::int64_t n) {
  const auto aligned = [](const float* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; };
  return n % 16 == 0 && aligned(d1) && aligned(d2);
}
template <>
inline void stream_cross_rows<float>(const float* x1, const float* x2, const float* c, const float* a, const float* b,
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

// The gradients of cosine_lanes from its stats and the upstream g (one per lane):
//   d1 = cross * x2 + self1 * x1,  d2 = cross * x1 + self2 * x2,
//   cross = g' / (c1 c2), self_k = -[c_k > eps] g' cos / c_k^2,
// g' = g where the clamp was inactive, else 0 (a NaN cos keeps g). d1 or d2
// may be null (not needed). With both and rows (inner == 1), one pass over the
// rows computes both (the inputs are read once, not twice); gradients larger
// than the caches are streamed, from the registers when
// can_stream_rows_directly, else through a chunk buffer in L1 (a copy more).
template <class T>
void cosine_lanes_backward(const T* g, const T* x1, const T* x2, const Lanes& l, double eps, const double* stats,
                           T* d1, T* d2) {
  const std::size_t count = static_cast<std::size_t>(l.count());
  const double* st = stats;
  const T* pg = g;
  std::vector<T> cross(count), self1(count), self2(count);
  // The coefficients of lanes [lo, hi) (on the threads' own ranges in the row kernels).
  auto coefficients = [&](std::int64_t lo, std::int64_t hi) {
    for (std::size_t i = static_cast<std::size_t>(lo); i < static_cast<std::size_t>(hi); ++i) {
      const double c1 = st[i], c2 = st[count + i], cos = st[2 * count + i];
      const double gi = cos < -1.0 || cos > 1.0 ? 0.0 : static_cast<double>(pg[i]);
      cross[i] = static_cast<T>(gi / (c1 * c2));
      // ||x|| > eps exactly when c = ||x|| > eps, i.e. c > eps.
      self1[i] = static_cast<T>(c1 > eps ? -gi * cos / (c1 * c1) : 0.0);
      self2[i] = static_cast<T>(c2 > eps ? -gi * cos / (c2 * c2) : 0.0);
    }
  };
  if (d1 && d2 && l.inner == 1) {
    const T* __restrict pu = x1;
    const T* __restrict pv = x2;
    T* __restrict p1 = d1;
    T* __restrict p2 = d2;
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
    const bool stream = worth_streaming(2 * static_cast<std::size_t>(l.outer * l.n) * sizeof(T));
    const bool direct = stream && can_stream_rows_directly(p1, p2, l.n);
    detail::parallel_for(l.outer, rows_per_thread(4 * l.n), [&](std::int64_t lo, std::int64_t hi) {
      coefficients(lo, hi);
      if (direct) stream_cross_rows(pu, pv, cross.data(), self1.data(), self2.data(), l.n, lo, hi, p1, p2);
      else if (stream) write_streamed(p1, p2, lo * l.n, hi * l.n, rows);
      else rows(lo * l.n, hi * l.n, p1 + lo * l.n, p2 + lo * l.n);
    });
    return;
  }
  coefficients(0, l.count());
  if (d1) axpby(x2, x1, l, cross.data(), self1.data(), d1);
  if (d2) axpby(x1, x2, l, cross.data(), self2.data(), d2);
}

}  // namespace tg::kernels
