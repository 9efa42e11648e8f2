// 2-d pooling: max and average over sliding windows, and the global ones over
// the whole image, in Keras's layout (channels_last, (N, H, W, C), the
// default) or PyTorch's (channels_first, (N, C, H, W)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// Keras's names and defaults (MaxPooling2D / AveragePooling2D).
struct PoolOptions {
  std::vector<std::int64_t> pool_size = {2, 2};  // (rows, cols); one value: both
  std::vector<std::int64_t> strides = {};        // {} -> pool_size (Keras: strides=None); one value: both
  std::string padding = "valid";                 // "valid" | "same" (case-insensitive, as Keras)
  std::string data_format = "channels_last";     // or "channels_first"
};

// Windows of pool_size (kh, kw) every (sh, sw) cells, per sample and channel.
//   "valid": out = floor((in - k) / s) + 1 (in >= k, else an error);
//   "same" (TensorFlow's): out = ceil(in / s), total padding
//     max((out - 1) * s + k - in, 0), the odd cell at the bottom / right.
// Padded cells are not values: they never win a max and do not count in an
// average (TensorFlow's avg_pool; PyTorch's count_include_pad=False).
//
// max_pool2d: y[o] = max over window(o) of x. The arg-max is recorded in the
// forward: the first in scan order (rows, then columns) among equal maxima, as
// PyTorch (a NaN wins: the last NaN of the window). VJP: dx[argmax(o)] += g[o].
// That backward is linear in g for fixed indices, and is itself a recorded op
// (a scatter whose VJP is the gather g'[o] = dx'[argmax(o)]), so nested tapes
// give exact higher derivatives (zero in x away from ties: the max is
// piecewise linear).
//   x = [[1, 3], [2, 0]] (one 2x2 plane), pool 2x2 -> [[3]]; dx = [[0, g], [0, 0]]
Tensor max_pool2d(const Tensor& x, const PoolOptions& options = {});

// avg_pool2d: y[o] = sum over window(o) of x / count(o), count(o) the cells
// of the window inside the input. VJP: dx[cell] += g[o] / count(o) for every
// window holding the cell; a recorded op whose VJP is avg_pool2d again.
//   x = [[1, 3], [2, 0]], pool 2x2 -> [[1.5]]; padding "same" on a 3x3 input
//   with pool 2x2 gives 2x2 outputs, the last row and column averaging 2 or 1 cells.
Tensor avg_pool2d(const Tensor& x, const PoolOptions& options = {});

// The mean / max over the spatial axes: (N, H, W, C) -> (N, C) for
// channels_last, (N, C, H, W) -> (N, C) for channels_first; keepdims gives
// (N, 1, 1, C) / (N, C, 1, 1). They are tg::mean / tg::max over those axes:
// at tied maxima the gradient is shared equally (as tf.reduce_max, which
// Keras's GlobalMaxPooling2D uses, and torch.amax). The max of an empty
// image (H * W = 0) is an error; the average of one is NaN.
Tensor global_average_pool2d(const Tensor& x, const std::string& data_format = "channels_last", bool keepdims = false);
Tensor global_max_pool2d(const Tensor& x, const std::string& data_format = "channels_last", bool keepdims = false);

}  // namespace tg
