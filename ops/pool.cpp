// 2-d pooling. The formulas, VJPs and edge cases are in
// include/tapegrad/ops/pool.hpp; the loops in kernels/pool.cpp.
//
// Higher derivatives: both backwards are linear in the output gradient and are
// recorded ops themselves, each the adjoint of another:
//   max_pool2d         y = x[argmax]              VJP: scatter g into argmax
//   max_pool2d_scatter dx = scatter(g, argmax)    VJP: gather dx' at argmax
//   max_pool2d_gather  v' = dx'[argmax]           VJP: scatter
//   avg_pool2d         y = A x                    VJP: A^T g
//   avg_pool2d_adjoint dx = A^T g                 VJP: A dx'
// so a nested tape differentiates a backward like any other op, to any order.
#include "tapegrad/ops/pool.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "kernels/pool.hpp"
#include "support.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

namespace {

using kernels::PoolGeometry;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// "channels_last" -> true, "channels_first" -> false; anything else throws.
bool parse_channels_last(const char* op, const std::string& data_format) {
  const std::string f = lower(data_format);
  if (f == "channels_last") return true;
  if (f == "channels_first") return false;
  throw std::invalid_argument(std::string(op) + ": data_format must be \"channels_last\" or \"channels_first\", received " +
                              quoted(data_format));
}

// x of rank 4 in the given layout.
void check_image(const char* op, const Tensor& x, bool channels_last) {
  detail::check_float(op, x);
  if (x.rank() != 4)
    throw std::invalid_argument(std::string(op) + ": expects a 4-d input " +
                                (channels_last ? "(batch, rows, cols, channels) for data_format \"channels_last\""
                                               : "(batch, channels, rows, cols) for data_format \"channels_first\"") +
                                ", received shape " + x.shape().str());
}

// One or two positive values, as (rows, cols).
std::pair<std::int64_t, std::int64_t> pair_of(const char* op, const char* what, const std::vector<std::int64_t>& v) {
  if (v.size() != 1 && v.size() != 2)
    throw std::invalid_argument(std::string(op) + ": " + what + " must have 1 or 2 values (rows, cols), received " +
                                detail::dims_str(v));
  for (std::int64_t d : v)
    if (d <= 0)
      throw std::invalid_argument(std::string(op) + ": " + what + " must be positive, received " + detail::dims_str(v));
  return {v[0], v.back()};
}

struct Plan {
  PoolGeometry geo;
  Shape out;
};

Plan plan(const char* op, const Tensor& x, const PoolOptions& o) {
  const bool channels_last = parse_channels_last(op, o.data_format);
  check_image(op, x, channels_last);
  const auto [kh, kw] = pair_of(op, "pool_size", o.pool_size);
  const auto [sh, sw] = o.strides.empty() ? std::pair{kh, kw} : pair_of(op, "strides", o.strides);
  const std::string padding = lower(o.padding);
  if (padding != "valid" && padding != "same")
    throw std::invalid_argument(std::string(op) + ": padding must be \"valid\" or \"same\", received " + quoted(o.padding));

  PoolGeometry g;
  g.channels_last = channels_last;
  g.batch = x.dim(0);
  g.channels = channels_last ? x.dim(3) : x.dim(1);
  g.in_h = channels_last ? x.dim(1) : x.dim(2);
  g.in_w = channels_last ? x.dim(2) : x.dim(3);
  g.pool_h = kh, g.pool_w = kw, g.stride_h = sh, g.stride_w = sw;
  if (padding == "valid") {
    if (kh > g.in_h || kw > g.in_w) {
      // The usual cause is the other layout: (N, C, H, W) read as (N, H, W, C)
      // makes C a row count. Say so when the window fits the other reading.
      const std::int64_t other_h = channels_last ? x.dim(2) : x.dim(1), other_w = channels_last ? x.dim(3) : x.dim(2);
      const std::string hint =
          kh <= other_h && kw <= other_w
              ? std::string("; if x is ") + (channels_last ? "(batch, channels, rows, cols), pass data_format \"channels_first\""
                                                           : "(batch, rows, cols, channels), pass data_format \"channels_last\"")
              : std::string();
      throw std::invalid_argument(std::string(op) + ": pool_size (" + std::to_string(kh) + ", " + std::to_string(kw) +
                                  ") is larger than the input's spatial size (" + std::to_string(g.in_h) + ", " +
                                  std::to_string(g.in_w) + ") with padding \"valid\"; received input " + x.shape().str() +
                                  " with data_format " + quoted(channels_last ? "channels_last" : "channels_first") + hint);
    }
    g.out_h = (g.in_h - kh) / sh + 1;
    g.out_w = (g.in_w - kw) / sw + 1;
  } else {
    // TensorFlow's: out = ceil(in / s); the padding's odd cell goes last.
    g.out_h = (g.in_h + sh - 1) / sh;
    g.out_w = (g.in_w + sw - 1) / sw;
    g.pad_top = std::max<std::int64_t>((g.out_h - 1) * sh + kh - g.in_h, 0) / 2;
    g.pad_left = std::max<std::int64_t>((g.out_w - 1) * sw + kw - g.in_w, 0) / 2;
  }
  Plan p{g, {}};
  p.out = channels_last ? Shape{g.batch, g.out_h, g.out_w, g.channels} : Shape{g.batch, g.channels, g.out_h, g.out_w};
  return p;
}

// ---- max: the forward gathers at the arg-max, the backward scatters there ----

Tensor max_pool_gather(const Tensor& v, const Tensor& argmax, std::int64_t groups);

// dx (of x_shape) = 0, then dx[argmax[o]] += g[o].
Tensor max_pool_scatter(const Tensor& g, const Tensor& argmax, const Shape& x_shape, std::int64_t groups) {
  Tensor dx = zeros(x_shape, g.dtype());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::scatter_add_flat(g.data<T>(), argmax.data<std::int64_t>(), g.numel(), groups, dx.data<T>());
  });
  if (is_recording())
    record_op("max_pool2d_scatter", {g}, dx, [argmax, groups](const Tensor& gg, BackwardContext& ctx) {
      ctx.add(0, max_pool_gather(gg, argmax, groups));
    });
  return dx;
}

// out (of argmax's shape) = v[argmax[o]].
Tensor max_pool_gather(const Tensor& v, const Tensor& argmax, std::int64_t groups) {
  Tensor out = Tensor::empty(argmax.shape(), v.dtype());
  dispatch_float(v.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gather_flat(v.data<T>(), argmax.data<std::int64_t>(), argmax.numel(), out.data<T>());
  });
  if (is_recording())
    record_op("max_pool2d_gather", {v}, out, [argmax, groups, shape = v.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, max_pool_scatter(g, argmax, shape, groups));
    });
  return out;
}

// ---- average: A and its adjoint A^T, each the other's VJP ----

Tensor avg_pool_adjoint(const Tensor& g, const PoolGeometry& geo, const Shape& x_shape);

Tensor avg_pool_apply(const Tensor& x, const PoolGeometry& geo, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::avg_pool_forward(x.data<T>(), geo, out.data<T>());
  });
  if (is_recording())
    record_op("avg_pool2d", {x}, out, [geo, shape = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, avg_pool_adjoint(g, geo, shape));
    });
  return out;
}

Tensor avg_pool_adjoint(const Tensor& g, const PoolGeometry& geo, const Shape& x_shape) {
  Tensor dx = zeros(x_shape, g.dtype());
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::avg_pool_adjoint(g.data<T>(), geo, dx.data<T>());
  });
  if (is_recording())
    record_op("avg_pool2d_adjoint", {g}, dx, [geo, shape = g.shape()](const Tensor& gg, BackwardContext& ctx) {
      ctx.add(0, avg_pool_apply(gg, geo, shape));
    });
  return dx;
}

// The spatial axes of a 4-d image in its layout, checked.
std::vector<int> spatial_axes(const char* op, const Tensor& x, const std::string& data_format) {
  const bool channels_last = parse_channels_last(op, data_format);
  check_image(op, x, channels_last);
  return channels_last ? std::vector<int>{1, 2} : std::vector<int>{2, 3};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const PoolOptions& options) {
  const Plan p = plan("max_pool2d", x, options);
  Tensor out = Tensor::empty(p.out, x.dtype());
  Tensor argmax = Tensor::empty(p.out, DType::int64);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::max_pool_forward(x.data<T>(), p.geo, out.data<T>(), argmax.data<std::int64_t>());
  });
  if (is_recording())
    record_op("max_pool2d", {x}, out,
              [argmax, shape = x.shape(), groups = p.geo.batch](const Tensor& g, BackwardContext& ctx) {
                ctx.add(0, max_pool_scatter(g, argmax, shape, groups));
              });
  return out;
}

Tensor avg_pool2d(const Tensor& x, const PoolOptions& options) {
  const Plan p = plan("avg_pool2d", x, options);
  return avg_pool_apply(x, p.geo, p.out);
}

Tensor global_average_pool2d(const Tensor& x, const std::string& data_format, bool keepdims) {
  return mean(x, spatial_axes("global_average_pool2d", x, data_format), keepdims);
}

Tensor global_max_pool2d(const Tensor& x, const std::string& data_format, bool keepdims) {
  const std::vector<int> axes = spatial_axes("global_max_pool2d", x, data_format);
  if (x.dim(axes[0]) == 0 || x.dim(axes[1]) == 0)
    throw std::invalid_argument("global_max_pool2d: expects an image of at least one cell, received shape " +
                                x.shape().str() + " with data_format " + quoted(lower(data_format)));
  return max(x, axes, keepdims);
}

}  // namespace tg
