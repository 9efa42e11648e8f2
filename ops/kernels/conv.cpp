// im2col / col2im loops. A patch's channels are contiguous in channels_last
// input (stride_c == 1), so each kernel tap is one run of C_in/groups copies
// (or adds); channels_first reads them with a stride.
#include "conv.hpp"

#include <algorithm>

#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

namespace {

template <class T>
void im2col_impl(const T* x, const ConvGeometry& geo, T* cols) {
  const std::int64_t rows = geo.rows(), patch = geo.patch(), cg = geo.group_channels();
  const std::int64_t per_sample = geo.oh * geo.ow;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(1, geo.groups * patch));
  detail::parallel_for(rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int64_t b = r / per_sample, oy = (r % per_sample) / geo.ow, ox = r % geo.ow;
      for (std::int64_t g = 0; g < geo.groups; ++g) {
        T* __restrict dst = cols + (g * rows + r) * patch;
        const T* base = x + b * geo.stride_n + g * cg * geo.stride_c;
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
    }
  });
}

template <class T>
void col2im_impl(const T* cols, const ConvGeometry& geo, T* x) {
  const std::int64_t rows = geo.rows(), patch = geo.patch(), cg = geo.group_channels();
  const std::int64_t per_sample = geo.oh * geo.ow, sample_size = geo.h * geo.w * geo.c;
  const std::int64_t work = std::max<std::int64_t>(1, per_sample * geo.groups * patch + sample_size);
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / work);
  detail::parallel_for(geo.n, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) {
      // One sample is one contiguous block of h*w*c elements in either layout.
      std::fill(x + b * geo.stride_n, x + b * geo.stride_n + sample_size, T(0));
      for (std::int64_t p = 0; p < per_sample; ++p) {
        const std::int64_t r = b * per_sample + p, oy = p / geo.ow, ox = p % geo.ow;
        for (std::int64_t g = 0; g < geo.groups; ++g) {
          const T* __restrict src = cols + (g * rows + r) * patch;
          T* base = x + b * geo.stride_n + g * cg * geo.stride_c;
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
      }
    }
  });
}

}  // namespace

void im2col(const float* x, const ConvGeometry& geo, float* cols) { im2col_impl(x, geo, cols); }
void im2col(const double* x, const ConvGeometry& geo, double* cols) { im2col_impl(x, geo, cols); }
void col2im(const float* cols, const ConvGeometry& geo, float* x) { col2im_impl(cols, geo, x); }
void col2im(const double* cols, const ConvGeometry& geo, double* x) { col2im_impl(cols, geo, x); }

}  // namespace tg::kernels
