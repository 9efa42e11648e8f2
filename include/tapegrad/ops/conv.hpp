// Convolutions (Keras's conv2d / conv1d, TensorFlow's padding), as one
// matrix product per call (per group) over the whole batch's patches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// Keras's names and defaults.
struct ConvOptions {
  std::vector<std::int64_t> strides = {};   // {} -> 1 on every spatial axis; one value -> every axis
  std::string padding = "valid";            // "valid" | "same" (TensorFlow's: out = ceil(in / stride),
                                            //  total pad = max((out-1)*s + (k-1)*d + 1 - in, 0), the odd one at the end)
  std::vector<std::int64_t> dilation = {};  // {} -> 1; one value -> every axis
  std::int64_t groups = 1;
  std::string data_format = "channels_last";  // or "channels_first" (PyTorch's (N, C, H, W))
};

// 2-D cross-correlation (what every framework calls convolution), no bias:
//   y[b, oy, ox, o] = sum_{ky, kx, ci} x[b, oy*s_h - p_top + ky*d_h, ox*s_w - p_left + kx*d_w, g*C_in/G + ci]
//                                      * kernel[ky, kx, ci, o],   g = o / (C_out/G)
// with x read as 0 in the padding. x (N, H, W, C_in) channels_last or
// (N, C_in, H, W) channels_first; the kernel is ALWAYS Keras's layout
// (kh, kw, C_in/groups, C_out) (a PyTorch weight (C_out, C_in/g, kh, kw) is
// permute(w, {2, 3, 1, 0})). y (N, OH, OW, C_out) or (N, C_out, OH, OW), with
// OH = (H - (kh-1)*d_h - 1) / s_h + 1 ("valid") or ceil(H / s_h) ("same").
// Computed as cols @ kernel, cols = im2col(x) (N*OH*OW, kh*kw*C_in/G) per
// group, so the VJPs are matmul's through im2col, whose adjoint is col2im:
//   dx = col2im(g @ kernel^T),   dkernel = cols^T @ g.
// im2col and col2im are each other's VJP, so the backward is itself made of
// differentiable ops: nested tapes give second derivatives.
//   x = ones (1, 3, 3, 1), kernel = ones (2, 2, 1, 1), "valid" -> y = 4 * ones (1, 2, 2, 1)
// Throws std::invalid_argument naming conv2d, what it expected and what it
// received (ranks, channels and the layout, strides, padding, a kernel larger
// than a "valid" input).
Tensor conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {});

// 1-D: x (N, L, C_in) / (N, C_in, L); kernel (k, C_in/groups, C_out); strides
// and dilation one value. conv2d with a unit height.
Tensor conv1d(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {});

}  // namespace tg
