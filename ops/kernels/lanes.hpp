// Lanes: a reduction axis (or a run of adjacent axes) splits a contiguous
// tensor into lanes (outer, n, inner), lane (o, i) holding the n elements
// x[o, 0..n, i] at stride `inner`. The loops over them (sums, scalings, one
// coefficient pair per lane) for the cosine family and softmax. Sums run in
// double (exact enough for any D: a float32 vector of 10^6 elements loses
// nothing measurable), vectorized by `omp simd` reductions; elementwise passes
// run in the tensor's dtype. Rows (inner == 1) are split over the threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/shape.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

struct Lanes {
  std::int64_t outer = 1, n = 1, inner = 1;
  std::int64_t count() const { return outer * inner; }
};

// Lanes for the sorted axes `axes` if they are adjacent; n = -1 marks "not adjacent".
inline Lanes lanes_of(const Shape& shape, const std::vector<int>& axes) {
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

// Calls f(first element's offset, n, stride) for each lane of `shape` around `axis`, serially.
template <class F>
void for_each_lane(const Shape& shape, int axis, F f) {
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
  const std::int64_t n = shape[axis];
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) f(o * n * inner + i, n, inner);
}

// Rows (lanes) of n elements worth one thread of their own.
inline std::int64_t rows_per_thread(std::int64_t n) {
  return std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(n, 1));
}

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

// out = x * scale[lane] over the lanes (the rows split over the threads).
template <class T>
void lane_scale(const T* x, const Lanes& l, const T* scale, T* out) {
  if (l.inner == 1) {
    detail::parallel_for(l.outer, rows_per_thread(l.n), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t o = lo; o < hi; ++o) {
        const T r = scale[o];
        for (std::int64_t k = 0; k < l.n; ++k) out[o * l.n + k] = x[o * l.n + k] * r;
      }
    });
    return;
  }
  for (std::int64_t o = 0; o < l.outer; ++o)
    for (std::int64_t k = 0; k < l.n; ++k) {
      const std::int64_t off = (o * l.n + k) * l.inner;
      const T* r = scale + o * l.inner;
      for (std::int64_t i = 0; i < l.inner; ++i) out[off + i] = x[off + i] * r[i];
    }
}

}  // namespace tg::kernels
