// A convolution as matrix products: im2col and col2im (the composed form's
// two halves), and the fused kernels that run them block by block with the
// products. Not installed; they know shapes and strides, not tensors or tapes.
#pragma once

#include <cstdint>

namespace tg::kernels {

// One 2-D convolution's geometry. The input is read through element strides,
// so channels_last (N, H, W, C) and channels_first (N, C, H, W) are one code
// path: only stride_c and the spatial strides differ.
struct ConvGeometry {
  std::int64_t n = 0, h = 0, w = 0, c = 0;           // input: batch, height, width, channels (C_in)
  std::int64_t stride_n = 0, stride_h = 0, stride_w = 0, stride_c = 0;  // its element strides
  std::int64_t kh = 1, kw = 1;                       // kernel extent
  std::int64_t sh = 1, sw = 1;                       // strides
  std::int64_t dh = 1, dw = 1;                       // dilation
  std::int64_t pad_top = 0, pad_left = 0;            // padding before (TF "same": the smaller half)
  std::int64_t oh = 0, ow = 0;                       // output extent
  std::int64_t groups = 1;

  std::int64_t group_channels() const { return c / groups; }
  std::int64_t rows() const { return n * oh * ow; }                         // one per output position
  std::int64_t patch() const { return kh * kw * group_channels(); }         // one patch's length
};

// cols (groups, n*oh*ow, kh*kw*C_in/groups), row-major: row (b, oy, ox) of
// group g holds x[b, oy*sh - pad_top + ky*dh, ox*sw - pad_left + kx*dw,
// g*C_in/groups + ci] at column (ky*kw + kx)*(C_in/groups) + ci, and 0 where
// that position falls in the padding. The column order is that of a Keras
// kernel (kh, kw, C_in/groups, C_out) read as a (kh*kw*C_in/groups, C_out)
// matrix, so the forward is one product cols @ kernel per group.
// Threads over rows; every element of cols is written.
void im2col(const float* x, const ConvGeometry& geo, float* cols);
void im2col(const double* x, const ConvGeometry& geo, double* cols);

// The adjoint of im2col: x (through the geometry's strides, zero-filled here
// first) = the sum over every cols element of its value at the input position
// im2col read it from (padding positions dropped). Threads over the batch:
// the patches of one sample overlap, those of two samples never do.
void col2im(const float* cols, const ConvGeometry& geo, float* x);
void col2im(const double* cols, const ConvGeometry& geo, double* x);

// The convolution fused: y (n*oh*ow, c_out) = im2col(x) @ k, computed one
// block of rows at a time (cols of a block, about 1 MB, stay in L2 between
// im2col writing them and the product reading them), so cols never exist for
// the whole batch. k is the kernel (kh, kw, C_in/groups, C_out) read as
// (patch, c_out); output channel o belongs to group o / (c_out/groups).
// Threads over samples, each thread with its own scratch and single-threaded
// BLAS products.
void conv_forward(const float* x, const float* k, const ConvGeometry& geo, std::int64_t c_out, float* y);
void conv_forward(const double* x, const double* k, const ConvGeometry& geo, std::int64_t c_out, double* y);

// Its VJP for the upstream g (n*oh*ow, c_out), per block of rows b:
//   dk += cols_b^T g_b       (cols_b recomputed from x)
//   dx_b = col2im(g_b k^T)   (the samples of a block are its own: no race)
// dx (laid out as x) and dk (patch, c_out) are overwritten; either may be
// null when not wanted. With several threads each accumulates a dk of its
// own, summed in thread order at the end.
void conv_backward(const float* x, const float* k, const float* g, const ConvGeometry& geo, std::int64_t c_out,
                   float* dx, float* dk);
void conv_backward(const double* x, const double* k, const double* g, const ConvGeometry& geo, std::int64_t c_out,
                   double* dx, double* dk);

}  // namespace tg::kernels
