// The loops of 2-d pooling (ops/pool.cpp holds the formulas): max with its
// arg-max, average, the average's adjoint, and the gather / scatter through
// recorded arg-max indices. Both layouts: channels_last (N, H, W, C), whose
// innermost loop runs over the contiguous channels, and channels_first
// (N, C, H, W), one plane at a time. Rows of the output go to the threads; a
// scatter is split by sample (or plane), whose windows never overlap another's,
// so no two threads write one element and the results do not depend on the
// number of threads.
#pragma once

#include <cstdint>

namespace tg::kernels {

// Where the windows lie. Output (oh, ow) reads rows [oh * stride_h - pad_top,
// + pool_h) and columns [ow * stride_w - pad_left, + pool_w), clipped to the
// input: padded cells are never read (they neither win a max nor count in an
// average).
struct PoolGeometry {
  std::int64_t batch = 0, channels = 0;
  std::int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  std::int64_t pool_h = 1, pool_w = 1, stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;
  bool channels_last = true;

  std::int64_t in_numel() const { return batch * channels * in_h * in_w; }
  std::int64_t out_numel() const { return batch * channels * out_h * out_w; }
};

// out = the max over each window, argmax = the flat offset into x of the
// element chosen: the first in scan order (rows, then columns) among equal
// maxima, and a NaN wins over any number (a later NaN over an earlier one), as
// PyTorch's max_pool2d.
template <class T>
void max_pool_forward(const T* x, const PoolGeometry& geo, T* out, std::int64_t* argmax);

// out = the mean over each window's cells inside the input.
template <class T>
void avg_pool_forward(const T* x, const PoolGeometry& geo, T* out);

// The adjoint of avg_pool_forward: dx[cell] += g[o] / count(o) for every
// output o whose window holds the cell. dx must be zeroed by the caller.
template <class T>
void avg_pool_adjoint(const T* g, const PoolGeometry& geo, T* dx);

// out[o] = v[index[o]] for o in [0, n).
template <class T>
void gather_flat(const T* v, const std::int64_t* index, std::int64_t n, T* out);

// dx[index[o]] += g[o]; the n outputs come in `groups` equal runs, each of
// whose indices stay inside its own run of dx (a sample), which is how the
// work is split. dx must be initialized by the caller.
template <class T>
void scatter_add_flat(const T* g, const std::int64_t* index, std::int64_t n, std::int64_t groups, T* dx);

}  // namespace tg::kernels
