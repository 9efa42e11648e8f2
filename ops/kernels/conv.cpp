// im2col / col2im loops. A patch's channels are contiguous in channels_last
// input (stride_c == 1), so each kernel tap is one run of C_in/groups copies
// (or adds); channels_first samples are rearranged to channels_last first.
#include "conv.hpp"

#include <algorithm>
#include <vector>

#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

namespace {

// A sample's channels as the innermost axis: out (h*w, c) from x read through
// geo's strides (one sample), and back. For channels_first input a tap's
// C_in/G channels lie h*w elements apart; im2col and col2im on the sample
// rearranged this way copy (or add) contiguous runs instead, and the
// rearrangement is one pass over a sample, which stays in L2 (100 KB for
// 28 x 28 x 32 float32). Measured on W6 channels_first (bench/RESULTS.md).
template <class T>
void to_channels_last(const T* x, const ConvGeometry& geo, T* __restrict out) {
  for (std::int64_t ci = 0; ci < geo.c; ++ci)
    for (std::int64_t iy = 0; iy < geo.h; ++iy) {
      const T* src = x + ci * geo.stride_c + iy * geo.stride_h;
      T* dst = out + iy * geo.w * geo.c + ci;
      for (std::int64_t ix = 0; ix < geo.w; ++ix) dst[ix * geo.c] = src[ix * geo.stride_w];
    }
}

template <class T>
void from_channels_last(const T* in, const ConvGeometry& geo, T* __restrict x) {
  for (std::int64_t ci = 0; ci < geo.c; ++ci)
    for (std::int64_t iy = 0; iy < geo.h; ++iy) {
      const T* src = in + iy * geo.w * geo.c + ci;
      T* dst = x + ci * geo.stride_c + iy * geo.stride_h;
      for (std::int64_t ix = 0; ix < geo.w; ++ix) dst[ix * geo.stride_w] = src[ix * geo.c];
    }
}

// geo for one sample stored channels_last (what to_channels_last writes).
ConvGeometry channels_last_sample(ConvGeometry geo) {
  geo.n = 1;
  geo.stride_n = geo.h * geo.w * geo.c;
  geo.stride_h = geo.w * geo.c, geo.stride_w = geo.c, geo.stride_c = 1;
  return geo;
}

// Output position p = oy*ow + ox of group g of one sample (x points at the
// sample): its kh*kw taps, each a run of C_in/G channels (or zeros), into dst.
template <class T>
void im2col_row(const T* x, const ConvGeometry& geo, std::int64_t p, std::int64_t g, T* __restrict dst) {
  const std::int64_t cg = geo.group_channels(), oy = p / geo.ow, ox = p % geo.ow;
  const T* base = x + g * cg * geo.stride_c;
  for (std::int64_t ky = 0; ky < geo.kh; ++ky) {
    const std::int64_t iy = oy * geo.sh - geo.pad_top + ky * geo.dh;
    for (std::int64_t kx = 0; kx < geo.kw; ++kx, dst += cg) {
      const std::int64_t ix = ox * geo.sw - geo.pad_left + kx * geo.dw;
      if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) {
        std::fill(dst, dst + cg, T(0));
        continue;
      }
      const T* __restrict src = base + iy * geo.stride_h + ix * geo.stride_w;
      if (geo.stride_c == 1) std::copy(src, src + cg, dst);
      else
        for (std::int64_t ci = 0; ci < cg; ++ci) dst[ci] = src[ci * geo.stride_c];
    }
  }
}

// The adjoint of im2col_row: src's taps added where im2col_row read them.
template <class T>
void col2im_row(const T* __restrict src, const ConvGeometry& geo, std::int64_t p, std::int64_t g, T* x) {
  const std::int64_t cg = geo.group_channels(), oy = p / geo.ow, ox = p % geo.ow;
  T* base = x + g * cg * geo.stride_c;
  for (std::int64_t ky = 0; ky < geo.kh; ++ky) {
    const std::int64_t iy = oy * geo.sh - geo.pad_top + ky * geo.dh;
    for (std::int64_t kx = 0; kx < geo.kw; ++kx, src += cg) {
      const std::int64_t ix = ox * geo.sw - geo.pad_left + kx * geo.dw;
      if (iy < 0 || iy >= geo.h || ix < 0 || ix >= geo.w) continue;
      T* __restrict dst = base + iy * geo.stride_h + ix * geo.stride_w;
      if (geo.stride_c == 1)
        for (std::int64_t ci = 0; ci < cg; ++ci) dst[ci] += src[ci];
      else
        for (std::int64_t ci = 0; ci < cg; ++ci) dst[ci * geo.stride_c] += src[ci];
    }
  }
}

// Channels_last input threads over rows (any batch size splits). Other
// layouts thread over samples, each rearranged first into a scratch buffer of
// its own (to_channels_last).
template <class T>
void im2col_impl(const T* x, const ConvGeometry& geo, T* cols) {
  const std::int64_t rows = geo.rows(), patch = geo.patch(), per_sample = geo.oh * geo.ow;
  const std::int64_t row_work = std::max<std::int64_t>(1, geo.groups * patch);
  if (geo.stride_c == 1) {
    const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / row_work);
    detail::parallel_for(rows, grain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) {
        const T* sample = x + (r / per_sample) * geo.stride_n;
        for (std::int64_t g = 0; g < geo.groups; ++g)
          im2col_row(sample, geo, r % per_sample, g, cols + (g * rows + r) * patch);
      }
    });
    return;
  }
  const ConvGeometry local = channels_last_sample(geo);
  const std::int64_t sample_size = geo.h * geo.w * geo.c;
  const std::int64_t grain =
      std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(1, per_sample * row_work + sample_size));
  detail::parallel_for(geo.n, grain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> scratch(static_cast<std::size_t>(sample_size));
    for (std::int64_t b = lo; b < hi; ++b) {
      to_channels_last(x + b * geo.stride_n, geo, scratch.data());
      for (std::int64_t p = 0; p < per_sample; ++p)
        for (std::int64_t g = 0; g < geo.groups; ++g)
          im2col_row(scratch.data(), local, p, g, cols + (g * rows + b * per_sample + p) * patch);
    }
  });
}

// Threads over the batch: the patches of one sample overlap, those of two
// samples never do. Channels_last output accumulates in place; other layouts
// in a channels_last scratch sample, rearranged into x at the end.
template <class T>
void col2im_impl(const T* cols, const ConvGeometry& geo, T* x) {
  const std::int64_t rows = geo.rows(), patch = geo.patch();
  const std::int64_t per_sample = geo.oh * geo.ow, sample_size = geo.h * geo.w * geo.c;
  const std::int64_t work = std::max<std::int64_t>(1, per_sample * geo.groups * patch + sample_size);
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / work);
  const bool direct = geo.stride_c == 1;
  const ConvGeometry local = direct ? geo : channels_last_sample(geo);
  detail::parallel_for(geo.n, grain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<T> scratch(direct ? 0 : static_cast<std::size_t>(sample_size));
    for (std::int64_t b = lo; b < hi; ++b) {
      // One sample is one contiguous block of h*w*c elements in either layout.
      T* sample = direct ? x + b * geo.stride_n : scratch.data();
      std::fill(sample, sample + sample_size, T(0));
      for (std::int64_t p = 0; p < per_sample; ++p)
        for (std::int64_t g = 0; g < geo.groups; ++g)
          col2im_row(cols + (g * rows + b * per_sample + p) * patch, local, p, g, sample);
      if (!direct) from_channels_last(scratch.data(), geo, x + b * geo.stride_n);
    }
  });
}

}  // namespace

void im2col(const float* x, const ConvGeometry& geo, float* cols) { im2col_impl(x, geo, cols); }
void im2col(const double* x, const ConvGeometry& geo, double* cols) { im2col_impl(x, geo, cols); }
void col2im(const float* cols, const ConvGeometry& geo, float* x) { col2im_impl(cols, geo, x); }
void col2im(const double* cols, const ConvGeometry& geo, double* x) { col2im_impl(cols, geo, x); }

}  // namespace tg::kernels
