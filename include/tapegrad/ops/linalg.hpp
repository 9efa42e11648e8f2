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

}  // namespace tg
