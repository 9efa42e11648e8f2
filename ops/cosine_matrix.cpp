// The cosine similarity matrix (docs/cosine.md): rows normalized by the fused
// kernel of ops/cosine.cpp, then one product; for one input, the symmetric
// product (syrk) mirrored in 8 x 8 blocks (16 x 16 with AVX-512) and a single
// product in the backward.
#include <algorithm>
#include <cstdint>

#include "cosine_support.hpp"
#include "fused.hpp"
#include "kernels/blas.hpp"
#include "kernels/mirror.hpp"
#include "support.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"

namespace tg {

using detail::check_matrix_arguments;
using detail::composed_backward;
using detail::record_fused;

namespace {

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
      kernels::syrk_upper(n, d, px, s, n);
      kernels::clamp_and_mirror_upper(s, n);
    }
  });
  if (is_recording())
    record_fused(
        "cosine_self_similarity", {x}, out,
        [x, batch, n, d](const Tensor& g, BackwardContext& ctx) {
          Tensor dx = Tensor::empty(x.shape(), x.dtype());
          Tensor h;  // g + g^T when g is not symmetric (a recycled buffer: no fresh pages)
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            for (std::int64_t b = 0; b < batch; ++b) {
              const T* px = x.data<T>() + b * n * d;
              T* pdx = dx.data<T>() + b * n * d;
              if (n == 0 || d == 0) continue;
              const T* pg = g.data<T>() + b * n * n;
              if (kernels::is_symmetric(pg, n)) {
                kernels::gemm(false, false, n, d, n, T(2), pg, n, px, d, T(0), pdx, d);  // g + g^T = 2 g, exactly
              } else {
                if (!h.defined()) h = Tensor::empty(Shape{n, n}, x.dtype());
                kernels::symmetrize(pg, n, h.data<T>());
                kernels::gemm(false, false, n, d, n, T(1), h.data<T>(), n, px, d, T(0), pdx, d);
              }
            }
          });
          ctx.add(0, dx);
        },
        composed_backward([](const Tensor& v) { return clamp(matmul(v, v, false, true), -1.0, 1.0); }, x));
  return out;
}

}  // namespace

// Rows normalized by the fused kernel (once when b is a), then one matrix
// product with the transpose passed to BLAS as a flag; when b is a, the
// symmetric product (syrk) and a single product in the backward.
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  check_matrix_arguments(a, b, eps);
  Tensor a_hat = normalize(a, 2.0, {-1}, eps);
  if (b.id() == a.id()) return self_similarity(a_hat);
  Tensor b_hat = normalize(b, 2.0, {-1}, eps);
  return clamp(matmul(a_hat, b_hat, false, true), -1.0, 1.0);
}

Tensor cosine_similarity_matrix(const Tensor& a, double eps) { return cosine_similarity_matrix(a, a, eps); }

}  // namespace tg
