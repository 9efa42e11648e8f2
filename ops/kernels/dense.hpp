// The one pass of dense's backward before its two products.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

// For out and g (rows x n): masked = g where out > 0, else 0 (when relu;
// otherwise masked is g's own buffer and is not written), and, when db is
// given, db = the column sums of the (masked) gradient, accumulated in double.
// Split by columns: each column's sum runs over the rows in order, on any
// number of threads.
template <class T>
void dense_mask_and_bias_grad(const T* out, const T* g, T* masked, std::int64_t rows, std::int64_t n, bool relu,
                              T* db) {
  const T* po = out;
  const T* pg = g;
  T* pm = masked;
  std::vector<double> column(static_cast<std::size_t>(db ? n : 0), 0.0);
  const std::int64_t grain = std::max<std::int64_t>(16, detail::kElementwiseGrain / std::max<std::int64_t>(rows, 1));
  detail::parallel_for(n, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* __restrict orow = po + r * n;
      const T* __restrict grow = pg + r * n;
      T* __restrict mrow = pm + r * n;
      if (relu)
        for (std::int64_t c = lo; c < hi; ++c) mrow[c] = orow[c] > T(0) ? grow[c] : T(0);
      if (db) {
        double* __restrict acc = column.data();
        const T* __restrict src = relu ? mrow : grow;
        for (std::int64_t c = lo; c < hi; ++c) acc[c] += static_cast<double>(src[c]);
      }
    }
  });
  if (db)
    for (std::int64_t c = 0; c < n; ++c) db[c] = static_cast<T>(column[static_cast<std::size_t>(c)]);
}

}  // namespace tg::kernels
