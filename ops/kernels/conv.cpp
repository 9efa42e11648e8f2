// im2col / col2im loops and the fused convolution on them. A patch's
// channels are contiguous in channels_last input (stride_c == 1), so each
// kernel tap is one run of C_in/groups copies (or adds); the whole-batch
// im2col and col2im rearrange channels_first samples to channels_last first.
#include "conv.hpp"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "blas.hpp"
#include "tapegrad/autodiff/allocator.hpp"
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

// Without dilation along w, one group and channels_last, a row of kw taps
// reads kw*C consecutive elements of x (pixels ix0 .. ix0 + kw - 1, all their
// channels): one copy instead of kw, where the row lies inside the image.
bool taps_contiguous(const ConvGeometry& geo) {
  return geo.dw == 1 && geo.groups == 1 && geo.stride_c == 1 && geo.stride_w == geo.c;
}

// Output position p = oy*ow + ox of group g of one sample (x points at the
// sample): its kh*kw taps, each a run of C_in/G channels (or zeros), into dst.
template <class T>
void im2col_row(const T* x, const ConvGeometry& geo, std::int64_t p, std::int64_t g, T* __restrict dst) {
  const std::int64_t cg = geo.group_channels(), oy = p / geo.ow, ox = p % geo.ow;
  const std::int64_t ix0 = ox * geo.sw - geo.pad_left, run = geo.kw * cg;
  const T* base = x + g * cg * geo.stride_c;
  for (std::int64_t ky = 0; ky < geo.kh; ++ky) {
    const std::int64_t iy = oy * geo.sh - geo.pad_top + ky * geo.dh;
    if (iy < 0 || iy >= geo.h) {  // a row of taps in the padding
      std::fill(dst, dst + run, T(0));
      dst += run;
      continue;
    }
    if (taps_contiguous(geo) && ix0 >= 0 && ix0 + geo.kw <= geo.w) {  // the row's taps: one run of kw*C
      const T* __restrict src = base + iy * geo.stride_h + ix0 * geo.stride_w;
      std::copy(src, src + run, dst);
      dst += run;
      continue;
    }
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
  const std::int64_t ix0 = ox * geo.sw - geo.pad_left, run = geo.kw * cg;
  T* base = x + g * cg * geo.stride_c;
  for (std::int64_t ky = 0; ky < geo.kh; ++ky) {
    const std::int64_t iy = oy * geo.sh - geo.pad_top + ky * geo.dh;
    if (iy < 0 || iy >= geo.h) {
      src += run;
      continue;
    }
    if (taps_contiguous(geo) && ix0 >= 0 && ix0 + geo.kw <= geo.w) {
      T* __restrict dst = base + iy * geo.stride_h + ix0 * geo.stride_w;
      for (std::int64_t i = 0; i < run; ++i) dst[i] += src[i];
      src += run;
      continue;
    }
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

// ---- The fused convolution ----

// A block's cols: about 1 MB, so that they are still in L2 (1 MB a core on
// Zen 4) when the product reads them right after im2col wrote them, and in the
// backward when col2im reads the dcols the product just wrote. Measured on W6
// (bench/RESULTS.md, session 10).
constexpr std::size_t kBlockBytes = std::size_t{1} << 20;
// Below this many multiply-adds a convolution runs on the calling thread
// (the rule of kernels/blas.cpp for products: waking a thread costs more).
constexpr std::int64_t kParallelWork = 10'000'000;

// Rows [r0, r1) of im2col's cols into a block (groups, r1 - r0, patch), and
// the adjoint: a block's rows added back into x.
template <class T>
void im2col_rows(const T* x, const ConvGeometry& geo, std::int64_t r0, std::int64_t r1, T* __restrict cols) {
  const std::int64_t per_sample = geo.oh * geo.ow, patch = geo.patch(), m = r1 - r0;
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t g = 0; g < geo.groups; ++g)
      im2col_row(x + (r / per_sample) * geo.stride_n, geo, r % per_sample, g, cols + (g * m + r - r0) * patch);
}
template <class T>
void col2im_rows(const T* __restrict cols, const ConvGeometry& geo, std::int64_t r0, std::int64_t r1, T* x) {
  const std::int64_t per_sample = geo.oh * geo.ow, patch = geo.patch(), m = r1 - r0;
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t g = 0; g < geo.groups; ++g)
      col2im_row(cols + (g * m + r - r0) * patch, geo, r % per_sample, g, x + (r / per_sample) * geo.stride_n);
}

// How many threads share a convolution: whole samples each, so that their
// col2im never add to the same element.
int conv_parts(const ConvGeometry& geo, std::int64_t c_out) {
  if (geo.rows() * geo.patch() * (c_out / geo.groups) < kParallelWork) return 1;
  return static_cast<int>(std::min<std::int64_t>(get_num_threads(), geo.n));
}

// body(part, first row, end row, scratch of one block) for part p's samples
// [n p / parts, n (p + 1) / parts), block by block of at most `block` rows.
template <class T, class Body>
void run_blocks(const ConvGeometry& geo, int parts, Body body) {
  const std::int64_t per_sample = geo.oh * geo.ow, row_elems = geo.groups * geo.patch();
  const std::int64_t block =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(kBlockBytes / sizeof(T)) / std::max<std::int64_t>(1, row_elems));
  auto part = [&](std::int64_t p) {
    const std::int64_t r_begin = geo.n * p / parts * per_sample, r_end = geo.n * (p + 1) / parts * per_sample;
    const std::int64_t rows = std::min(block, r_end - r_begin);
    if (rows <= 0) return;
    std::shared_ptr<void> buffer = detail::allocate_buffer(static_cast<std::size_t>(rows * row_elems) * sizeof(T));
    T* scratch = static_cast<T*>(buffer.get());
    for (std::int64_t r0 = r_begin; r0 < r_end; r0 += rows) body(p, r0, std::min(r0 + rows, r_end), scratch);
  };
  if (parts == 1) return part(0);
  detail::parallel_for(parts, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) part(p);
  });
}

template <class T>
void conv_forward_impl(const T* x, const T* k, const ConvGeometry& geo, std::int64_t c_out, T* y) {
  const std::int64_t patch = geo.patch(), group_out = c_out / geo.groups;
  if (geo.rows() == 0 || c_out == 0) return;
  if (patch == 0) {  // no input channels: every output is an empty sum
    std::fill(y, y + geo.rows() * c_out, T(0));
    return;
  }
  check_blas_kernels();
  OneBlasThread one;
  run_blocks<T>(geo, conv_parts(geo, c_out), [&](int, std::int64_t r0, std::int64_t r1, T* cols) {
    const std::int64_t m = r1 - r0;
    im2col_rows(x, geo, r0, r1, cols);
    for (std::int64_t g = 0; g < geo.groups; ++g)
      gemm_this_thread(false, false, m, group_out, patch, T(1), cols + g * m * patch, patch, k + g * group_out, c_out,
                       T(0), y + r0 * c_out + g * group_out, c_out);
  });
}

template <class T>
void conv_backward_impl(const T* x, const T* k, const T* g, const ConvGeometry& geo, std::int64_t c_out, T* dx,
                        T* dk) {
  const std::int64_t patch = geo.patch(), group_out = c_out / geo.groups, dk_size = patch * c_out;
  if (dk) std::fill(dk, dk + dk_size, T(0));
  if (dx) std::fill(dx, dx + geo.n * geo.stride_n, T(0));
  if (geo.rows() == 0 || c_out == 0 || patch == 0) return;
  check_blas_kernels();
  OneBlasThread one;
  const int parts = conv_parts(geo, c_out);
  // Part 0 accumulates into dk, part p > 0 into partial p - 1.
  std::shared_ptr<void> partials;
  T* partial = nullptr;
  if (dk && parts > 1) {
    partials = detail::allocate_buffer(static_cast<std::size_t>((parts - 1) * dk_size) * sizeof(T));
    partial = static_cast<T*>(partials.get());
    std::fill(partial, partial + (parts - 1) * dk_size, T(0));
  }
  run_blocks<T>(geo, parts, [&](int p, std::int64_t r0, std::int64_t r1, T* cols) {
    const std::int64_t m = r1 - r0;
    if (dk) {
      T* acc = p == 0 ? dk : partial + (p - 1) * dk_size;
      im2col_rows(x, geo, r0, r1, cols);
      for (std::int64_t j = 0; j < geo.groups; ++j)  // dk[:, group j] += cols_j^T g[:, group j]
        gemm_this_thread(true, false, patch, group_out, m, T(1), cols + j * m * patch, patch,
                         g + r0 * c_out + j * group_out, c_out, T(1), acc + j * group_out, c_out);
    }
    if (dx) {
      for (std::int64_t j = 0; j < geo.groups; ++j)  // dcols_j = g[:, group j] k[:, group j]^T
        gemm_this_thread(false, true, m, patch, group_out, T(1), g + r0 * c_out + j * group_out, c_out,
                         k + j * group_out, c_out, T(0), cols + j * m * patch, patch);
      col2im_rows(cols, geo, r0, r1, dx);
    }
  });
  for (int p = 1; p < parts && dk; ++p) {
    const T* src = partial + (p - 1) * dk_size;
    for (std::int64_t i = 0; i < dk_size; ++i) dk[i] += src[i];
  }
}

}  // namespace

void conv_forward(const float* x, const float* k, const ConvGeometry& geo, std::int64_t c_out, float* y) {
  conv_forward_impl(x, k, geo, c_out, y);
}
void conv_forward(const double* x, const double* k, const ConvGeometry& geo, std::int64_t c_out, double* y) {
  conv_forward_impl(x, k, geo, c_out, y);
}
void conv_backward(const float* x, const float* k, const float* g, const ConvGeometry& geo, std::int64_t c_out,
                   float* dx, float* dk) {
  conv_backward_impl(x, k, g, geo, c_out, dx, dk);
}
void conv_backward(const double* x, const double* k, const double* g, const ConvGeometry& geo, std::int64_t c_out,
                   double* dx, double* dk) {
  conv_backward_impl(x, k, g, geo, c_out, dx, dk);
}

void im2col(const float* x, const ConvGeometry& geo, float* cols) { im2col_impl(x, geo, cols); }
void im2col(const double* x, const ConvGeometry& geo, double* cols) { im2col_impl(x, geo, cols); }
void col2im(const float* cols, const ConvGeometry& geo, float* x) { col2im_impl(cols, geo, x); }
void col2im(const double* cols, const ConvGeometry& geo, double* x) { col2im_impl(cols, geo, x); }

}  // namespace tg::kernels
