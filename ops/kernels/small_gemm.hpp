// Matrix products too small for BLAS: in a batch of many, a call each costs
// more in call overhead than in arithmetic (Keras's Dot on (batch, 1, d) and
// (batch, K, d), say).
#pragma once

#include <algorithm>
#include <cstdint>

namespace tg::kernels {

// Products of at most this many multiply-adds, in batches, skip BLAS.
constexpr std::int64_t kTinyProduct = 4096;

// c = op(a) op(b) by loops whose innermost runs over contiguous memory where
// the layout allows (float accumulation, as BLAS): rows of a against rows of b
// (dot products) for b transposed, and rows of b scaled into rows of c otherwise.
template <class T>
void tiny_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c) {
  if (!ta && tb) {
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        const T* __restrict x = a + i * k;
        const T* __restrict y = b + j * k;
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (std::int64_t p = 0; p < k; ++p) acc += x[p] * y[p];
        c[i * n + j] = acc;
      }
    return;
  }
  std::fill(c, c + m * n, T(0));
  if (!tb) {  // c[i, :] += op(a)[i, p] b[p, :]
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t p = 0; p < k; ++p) {
        const T s = ta ? a[p * m + i] : a[i * k + p];
        const T* __restrict y = b + p * n;
        T* __restrict z = c + i * n;
        for (std::int64_t j = 0; j < n; ++j) z[j] += s * y[j];
      }
    return;
  }
  for (std::int64_t i = 0; i < m; ++i)  // both transposed: a[p, i] b[j, p]
    for (std::int64_t j = 0; j < n; ++j) {
      T acc = 0;
      for (std::int64_t p = 0; p < k; ++p) acc += a[p * m + i] * b[j * k + p];
      c[i * n + j] = acc;
    }
}

}  // namespace tg::kernels
