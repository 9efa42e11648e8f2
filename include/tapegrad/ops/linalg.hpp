// Matrix products through BLAS (OpenBLAS sgemm / dgemm).
#pragma once

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// op(a) @ op(b), where op transposes the last two axes when asked: the
// transposes are passed to BLAS as flags, never materialized. Rank-2 inputs
// give a matrix product; higher ranks are batches of matrices whose leading
// (batch) dimensions broadcast (numpy.matmul). A 1-D operand is not accepted:
// reshape it to (1, n) or (n, 1).
//   d/da = g @ op(b)^T (transposed back if transpose_a), d/db likewise.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// A dense layer's computation as one op: x (batch, in) @ kernel (in, units)
// + bias (units,), then relu when asked: relu(x @ kernel + bias). The bias
// may be undefined (no bias). Equal to the composition of matmul, add and
// relu, in one recorded op: the bias rows are the product's starting value
// (BLAS beta = 1, no separate addition), relu is applied in place, and the
// backward masks the gradient and sums it for the bias in one pass.
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu);

}  // namespace tg
