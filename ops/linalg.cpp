// Matrix products through OpenBLAS. Transposes are BLAS flags, never copies;
// broadcast batch dimensions loop over gemm calls.
#include "tapegrad/ops/linalg.hpp"

#include <algorithm>

#include "fused.hpp"
#include "kernels/blas.hpp"
#include "kernels/dense.hpp"
#include "kernels/small_gemm.hpp"
#include "support.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

Shape batch_of(const Shape& s) {
  Shape b;
  for (int d = 0; d + 2 < s.rank(); ++d) b.push_back(s[d]);
  return b;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  detail::check_same_float("matmul", a, b);
  if (a.rank() < 2 || b.rank() < 2)
    throw std::invalid_argument("matmul: expected operands of rank >= 2, received " + a.shape().str() + " @ " +
                                b.shape().str() + " (reshape a vector to (1, n) or (n, 1))");
  const std::int64_t m = transpose_a ? a.dim(-1) : a.dim(-2);
  const std::int64_t k = transpose_a ? a.dim(-2) : a.dim(-1);
  const std::int64_t kb = transpose_b ? b.dim(-1) : b.dim(-2);
  const std::int64_t n = transpose_b ? b.dim(-2) : b.dim(-1);
  if (k != kb)
    throw std::invalid_argument("matmul: inner dimensions differ: " + a.shape().str() + (transpose_a ? "^T" : "") +
                                " @ " + b.shape().str() + (transpose_b ? "^T" : "") + " (" + std::to_string(k) +
                                " vs " + std::to_string(kb) + ")");
  const Shape batch_a = batch_of(a.shape()), batch_b = batch_of(b.shape());
  for (int i = 1; i <= std::min(batch_a.rank(), batch_b.rank()); ++i) {
    const std::int64_t da = batch_a[batch_a.rank() - i], db = batch_b[batch_b.rank() - i];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument("matmul: batch dimensions " + batch_a.str() + " and " + batch_b.str() +
                                  " cannot be broadcast: " + a.shape().str() + " @ " + b.shape().str());
  }
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  const std::int64_t count = batch.numel();
  const std::vector<std::int64_t> strides[2] = {detail::broadcast_strides(batch_a, batch),
                                                detail::broadcast_strides(batch_b, batch)};
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = out.data<T>();
    if (count == 0 || m == 0 || n == 0) return;
    if (k == 0) {
      for (std::int64_t i = 0; i < out.numel(); ++i) pc[i] = T(0);
      return;
    }
    const std::int64_t size_a = m * k, size_b = k * n, size_c = m * n;
    if (batch.rank() == 0) {
      kernels::gemm_packed(transpose_a, transpose_b, m, n, k, pa, pb, pc);
      return;
    }
    if (size_c * k <= kernels::kTinyProduct) {
      // Many tiny products (Keras's Dot on (batch, 1, d) and (batch, K, d), say):
      // a BLAS call each would cost more in call overhead than in arithmetic.
      detail::for_each_broadcast<2>(batch, strides, [&](std::int64_t i, const std::int64_t* offs) {
        kernels::tiny_gemm(transpose_a, transpose_b, m, n, k, pa + offs[0] * size_a, pb + offs[1] * size_b, pc + i * size_c);
      });
      return;
    }
    detail::for_each_broadcast<2>(batch, strides, [&](std::int64_t i, const std::int64_t* offs) {
      kernels::gemm_packed(transpose_a, transpose_b, m, n, k, pa + offs[0] * size_a, pb + offs[1] * size_b, pc + i * size_c);
    });
  });
  if (is_recording())
    record_op("matmul", {a, b}, out, [a, b, transpose_a, transpose_b](const Tensor& g, BackwardContext& ctx) {
      // C = op(A) op(B): dA = G op(B)^T (or its transpose when A was transposed), dB likewise.
      if (ctx.needs(0)) {
        Tensor da = transpose_a ? matmul(b, g, transpose_b, true) : matmul(g, b, false, !transpose_b);
        ctx.add(0, sum_to(da, a.shape()));
      }
      if (ctx.needs(1)) {
        Tensor db = transpose_b ? matmul(g, a, true, transpose_a) : matmul(a, g, !transpose_a, false);
        ctx.add(1, sum_to(db, b.shape()));
      }
    });
  return out;
}

// out = x @ W + b, then relu when asked. With gp = g [out > 0] under relu (g
// itself without): dx = gp W^T, dW = x^T gp, db = the sum of gp over the rows.
// The bias rows are the product's starting value (BLAS beta = 1); with in = 0
// the output is the bias (or 0); a NaN propagates through relu, as in relu().
// The kernel backward forms gp and db in one pass; the composed one masks with
// mul(g, greater(out, 0)), a mask whose own derivative is 0.
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu) {
  detail::check_same_float("dense", x, kernel);
  if (bias.defined()) detail::check_same_float("dense", x, bias);
  if (x.rank() != 2 || kernel.rank() != 2 || x.dim(1) != kernel.dim(0))
    throw std::invalid_argument("dense: expected x (batch, in) and kernel (in, units), received " + x.shape().str() +
                                " and " + kernel.shape().str());
  const std::int64_t m = x.dim(0), k = x.dim(1), n = kernel.dim(1);
  if (bias.defined() && bias.shape() != Shape{n})
    throw std::invalid_argument("dense: expected a bias of shape (" + std::to_string(n) + ",), received " +
                                bias.shape().str());
  Tensor out = Tensor::empty(Shape{m, n}, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* pc = out.data<T>();
    if (m == 0 || n == 0) return;
    if (bias.defined())
      for (std::int64_t i = 0; i < m; ++i) std::copy(bias.data<T>(), bias.data<T>() + n, pc + i * n);
    else if (k == 0)
      std::fill(pc, pc + m * n, T(0));
    if (k > 0) kernels::gemm_packed(false, false, m, n, k, x.data<T>(), kernel.data<T>(), pc, bias.defined() ? T(1) : T(0));
    // NaN propagates, as in relu().
    if (relu)
      kernels::map_index(m * n, pc, [pc](std::int64_t i) { return pc[i] > T(0) || pc[i] != pc[i] ? pc[i] : T(0); });
  });
  if (is_recording()) {
    std::vector<Tensor> inputs{x, kernel};
    if (bias.defined()) inputs.push_back(bias);
    const bool has_bias = bias.defined();
    // Both backwards end with the two products, from gp, the gradient before relu.
    auto products = [x, kernel](const Tensor& gp, BackwardContext& ctx) {
      if (ctx.needs(0)) ctx.add(0, matmul(gp, kernel, false, true));
      if (ctx.needs(1)) ctx.add(1, matmul(x, gp, true, false));
    };
    detail::record_fused(
        "dense", std::move(inputs), out,
        [out, relu, has_bias, products](const Tensor& g, BackwardContext& ctx) {
          Tensor gp = g;
          if (relu || (has_bias && ctx.needs(2))) {
            if (relu) gp = Tensor::empty(out.shape(), out.dtype());
            Tensor db = has_bias && ctx.needs(2) ? Tensor::empty(Shape{out.dim(1)}, out.dtype()) : Tensor();
            dispatch_float(out.dtype(), [&](auto tag) {
              using T = decltype(tag);
              kernels::dense_mask_and_bias_grad(out.data<T>(), g.data<T>(), gp.data<T>(), out.dim(0), out.dim(1), relu,
                                                db.defined() ? db.data<T>() : nullptr);
            });
            if (db.defined()) ctx.add(2, db);
          }
          products(gp, ctx);
        },
        [out, relu, has_bias, products](const Tensor& g, BackwardContext& ctx) {
          Tensor gp = relu ? mul(g, greater(out, scalar_like(out, 0.0))) : g;
          if (has_bias && ctx.needs(2)) ctx.add(2, sum(gp, {0}));
          products(gp, ctx);
        });
  }
  return out;
}

}  // namespace tg
