#include "pool.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

namespace {

// The cells of one window inside the input: rows [h0, h1), columns [w0, w1).
struct Window {
  std::int64_t h0, h1, w0, w1;
  std::int64_t count() const { return (h1 - h0) * (w1 - w0); }
};

Window window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t top = oh * g.stride_h - g.pad_top, left = ow * g.stride_w - g.pad_left;
  return {std::max<std::int64_t>(top, 0), std::min(top + g.pool_h, g.in_h), std::max<std::int64_t>(left, 0),
          std::min(left + g.pool_w, g.in_w)};
}

// Output rows worth one thread: about kElementwiseGrain reads of the input.
std::int64_t row_grain(const PoolGeometry& g, std::int64_t row_outputs) {
  const std::int64_t reads = std::max<std::int64_t>(1, row_outputs * g.pool_h * g.pool_w);
  return std::max<std::int64_t>(1, detail::kElementwiseGrain / reads);
}

// Calls body(row_offset, plane_offset, oh) for every output row: channels_last
// rows are (n, oh) with all of (ow, c) inside; channels_first rows are
// (n, c, oh). The offsets are those of the row's sample (or plane) in x and of
// the row in out.
template <class Body>
void for_rows(const PoolGeometry& g, Body body) {
  const std::int64_t planes = g.channels_last ? g.batch : g.batch * g.channels;
  const std::int64_t per_row = g.channels_last ? g.out_w * g.channels : g.out_w;
  const std::int64_t plane_in = g.channels_last ? g.in_h * g.in_w * g.channels : g.in_h * g.in_w;
  detail::parallel_for(planes * g.out_h, row_grain(g, per_row), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) body(r / g.out_h * plane_in, r * per_row, r % g.out_h);
  });
}

}  // namespace

template <class T>
void max_pool_forward(const T* x, const PoolGeometry& g, T* out, std::int64_t* argmax) {
  const std::int64_t C = g.channels, W = g.in_w;
  for_rows(g, [&](std::int64_t in0, std::int64_t out0, std::int64_t oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const Window win = window(g, oh, ow);
      if (g.channels_last) {
        T* __restrict o = out + out0 + ow * C;
        std::int64_t* __restrict a = argmax + out0 + ow * C;
        const std::int64_t first = in0 + (win.h0 * W + win.w0) * C;
        for (std::int64_t c = 0; c < C; ++c) {
          o[c] = x[first + c];
          a[c] = first + c;
        }
        for (std::int64_t h = win.h0; h < win.h1; ++h)
          for (std::int64_t w = win.w0; w < win.w1; ++w) {
            const std::int64_t cell = in0 + (h * W + w) * C;
            if (cell == first) continue;
            const T* __restrict v = x + cell;
            // Branchless (selects, no call) and with a local bound (a store
            // to `a` could alias the captured C), so that the loop over the
            // channels vectorizes: a branch per value mispredicts on data.
            const std::int64_t channels = C;
            for (std::int64_t c = 0; c < channels; ++c) {
              const T value = v[c];
              const bool take = value > o[c] || value != value;  // a NaN wins
              o[c] = take ? value : o[c];
              a[c] = take ? cell + c : a[c];
            }
          }
      } else {
        std::int64_t best = in0 + win.h0 * W + win.w0;
        T m = x[best];
        for (std::int64_t h = win.h0; h < win.h1; ++h)
          for (std::int64_t w = win.w0; w < win.w1; ++w) {
            const std::int64_t cell = in0 + h * W + w;
            if (x[cell] > m || (std::isnan(x[cell]) && cell != best)) {
              m = x[cell];
              best = cell;
            }
          }
        out[out0 + ow] = m;
        argmax[out0 + ow] = best;
      }
    }
  });
}

template <class T>
void avg_pool_forward(const T* x, const PoolGeometry& g, T* out) {
  const std::int64_t C = g.channels, W = g.in_w;
  for_rows(g, [&](std::int64_t in0, std::int64_t out0, std::int64_t oh) {
    std::vector<double> acc(static_cast<std::size_t>(g.channels_last ? C : 1));
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const Window win = window(g, oh, ow);
      const double inv = 1.0 / static_cast<double>(win.count());
      std::fill(acc.begin(), acc.end(), 0.0);
      double* __restrict s = acc.data();
      for (std::int64_t h = win.h0; h < win.h1; ++h)
        for (std::int64_t w = win.w0; w < win.w1; ++w) {
          if (g.channels_last) {
            const T* __restrict v = x + in0 + (h * W + w) * C;
            for (std::int64_t c = 0; c < C; ++c) s[c] += static_cast<double>(v[c]);
          } else {
            s[0] += static_cast<double>(x[in0 + h * W + w]);
          }
        }
      if (g.channels_last) {
        T* __restrict o = out + out0 + ow * C;
        for (std::int64_t c = 0; c < C; ++c) o[c] = static_cast<T>(s[c] * inv);
      } else {
        out[out0 + ow] = static_cast<T>(s[0] * inv);
      }
    }
  });
}

template <class T>
void avg_pool_adjoint(const T* g, const PoolGeometry& geo, T* dx) {
  // Split by plane (a sample for channels_last, a (sample, channel) plane for
  // channels_first): overlapping windows only ever share cells of one plane.
  const std::int64_t C = geo.channels, W = geo.in_w;
  const std::int64_t planes = geo.channels_last ? geo.batch : geo.batch * geo.channels;
  const std::int64_t per_plane_out = geo.out_h * geo.out_w * (geo.channels_last ? C : 1);
  const std::int64_t per_plane_in = geo.in_h * geo.in_w * (geo.channels_last ? C : 1);
  const std::int64_t grain = std::max<std::int64_t>(
      1, detail::kElementwiseGrain / std::max<std::int64_t>(1, per_plane_out * geo.pool_h * geo.pool_w));
  detail::parallel_for(planes, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const T* gp = g + p * per_plane_out;
      T* dp = dx + p * per_plane_in;
      for (std::int64_t oh = 0; oh < geo.out_h; ++oh)
        for (std::int64_t ow = 0; ow < geo.out_w; ++ow) {
          const Window win = window(geo, oh, ow);
          const double inv = 1.0 / static_cast<double>(win.count());
          for (std::int64_t h = win.h0; h < win.h1; ++h)
            for (std::int64_t w = win.w0; w < win.w1; ++w) {
              if (geo.channels_last) {
                const T* __restrict go = gp + (oh * geo.out_w + ow) * C;
                T* __restrict d = dp + (h * W + w) * C;
                for (std::int64_t c = 0; c < C; ++c) d[c] += static_cast<T>(static_cast<double>(go[c]) * inv);
              } else {
                dp[h * W + w] += static_cast<T>(static_cast<double>(gp[oh * geo.out_w + ow]) * inv);
              }
            }
        }
    }
  });
}

template <class T>
void gather_flat(const T* v, const std::int64_t* index, std::int64_t n, T* out) {
  detail::parallel_for(n, detail::kElementwiseGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o) out[o] = v[index[o]];
  });
}

template <class T>
void scatter_add_flat(const T* g, const std::int64_t* index, std::int64_t n, std::int64_t groups, T* dx) {
  if (n == 0 || groups == 0) return;
  const std::int64_t per_group = n / groups;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(1, per_group));
  detail::parallel_for(groups, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo * per_group; o < hi * per_group; ++o) dx[index[o]] += g[o];
  });
}

#define TG_POOL_INSTANTIATE(T)                                                                       \
  template void max_pool_forward<T>(const T*, const PoolGeometry&, T*, std::int64_t*);               \
  template void avg_pool_forward<T>(const T*, const PoolGeometry&, T*);                              \
  template void avg_pool_adjoint<T>(const T*, const PoolGeometry&, T*);                              \
  template void gather_flat<T>(const T*, const std::int64_t*, std::int64_t, T*);                     \
  template void scatter_add_flat<T>(const T*, const std::int64_t*, std::int64_t, std::int64_t, T*);
TG_POOL_INSTANTIATE(float)
TG_POOL_INSTANTIATE(double)
#undef TG_POOL_INSTANTIATE

}  // namespace tg::kernels
