// conv2d / conv1d: y = im2col(x) @ kernel (one product per group), computed by
// a fused kernel (kernels/conv.hpp) that runs im2col and the product block by
// block, so that the patches (kh*kw times the input) are never held for the
// whole batch, on the tape or off it. Its VJP is the kernel's: dK = sum over
// blocks of cols_b^T g_b (cols_b recomputed), dx = col2im(g_b K^T) per block.
// The composed definition (conv_composed: im2col, matmul, col2im as recorded
// ops, each the other's VJP) is the oracle, and the backward while an outer
// tape records (record_fused), so nested tapes still give second derivatives.
#include "tapegrad/ops/conv.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "fused.hpp"
#include "kernels/conv.hpp"
#include "support.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

using kernels::ConvGeometry;

std::string list_str(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "}";
}

// {} -> 1 on every axis, one value -> every axis, else one per spatial axis, all positive.
std::vector<std::int64_t> per_axis(const char* op, const char* what, const std::vector<std::int64_t>& given,
                                   int spatial) {
  std::vector<std::int64_t> v;
  if (given.empty()) v.assign(static_cast<std::size_t>(spatial), 1);
  else if (given.size() == 1) v.assign(static_cast<std::size_t>(spatial), given[0]);
  else if (given.size() == static_cast<std::size_t>(spatial)) v = given;
  else
    throw std::invalid_argument(std::string(op) + ": " + what + " must have " +
                                (spatial == 1 ? std::string("1 value") : "1 or " + std::to_string(spatial) + " values") +
                                ", received " + list_str(given));
  for (std::int64_t s : v)
    if (s <= 0)
      throw std::invalid_argument(std::string(op) + ": " + what + " must be positive, received " + list_str(given));
  return v;
}

// cols (R, P) for one group, (G, R, P) for several (kernels/conv.hpp's layout).
Shape cols_shape(const ConvGeometry& geo) {
  if (geo.groups == 1) return Shape{geo.rows(), geo.patch()};
  return Shape{geo.groups, geo.rows(), geo.patch()};
}

Tensor col2im_op(const Tensor& cols, const ConvGeometry& geo, const Shape& x_shape);

// The patches of x (read through geo's strides); VJP: col2im.
Tensor im2col_op(const Tensor& x, const ConvGeometry& geo) {
  Tensor cols = Tensor::empty(cols_shape(geo), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (cols.numel() > 0) kernels::im2col(x.data<T>(), geo, cols.data<T>());
  });
  if (is_recording())
    record_op("im2col", {x}, cols, [geo, shape = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, col2im_op(g, geo, shape));
    });
  return cols;
}

// The adjoint of im2col: each patch element added back where it was read;
// VJP: im2col.
Tensor col2im_op(const Tensor& cols, const ConvGeometry& geo, const Shape& x_shape) {
  Tensor x = Tensor::empty(x_shape, cols.dtype());
  dispatch_float(cols.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (x.numel() > 0) kernels::col2im(cols.data<T>(), geo, x.data<T>());
  });
  if (is_recording())
    record_op("col2im", {cols}, x, [geo](const Tensor& g, BackwardContext& ctx) { ctx.add(0, im2col_op(g, geo)); });
  return x;
}

// The options checked, per spatial axis.
struct Conv2dArgs {
  std::vector<std::int64_t> strides, dilation;
  bool same = false, channels_first = false;
  std::int64_t groups = 1;
};

// The geometry of x (N, H, W, C) channels_last, contiguous.
ConvGeometry geometry(const Tensor& x, const Tensor& kernel, const Conv2dArgs& a) {
  ConvGeometry geo;
  geo.n = x.dim(0), geo.h = x.dim(1), geo.w = x.dim(2), geo.c = x.dim(3);
  geo.stride_h = geo.w * geo.c, geo.stride_w = geo.c, geo.stride_c = 1;
  geo.stride_n = geo.h * geo.w * geo.c;
  geo.kh = kernel.dim(0), geo.kw = kernel.dim(1);
  geo.sh = a.strides[0], geo.sw = a.strides[1];
  geo.dh = a.dilation[0], geo.dw = a.dilation[1];
  geo.groups = a.groups;
  const std::int64_t eh = (geo.kh - 1) * geo.dh + 1, ew = (geo.kw - 1) * geo.dw + 1;
  if (a.same) {
    // TensorFlow: out = ceil(in / s), the total padding split with the odd one after.
    geo.oh = (geo.h + geo.sh - 1) / geo.sh;
    geo.ow = (geo.w + geo.sw - 1) / geo.sw;
    geo.pad_top = std::max<std::int64_t>((geo.oh - 1) * geo.sh + eh - geo.h, 0) / 2;
    geo.pad_left = std::max<std::int64_t>((geo.ow - 1) * geo.sw + ew - geo.w, 0) / 2;
  } else {
    geo.oh = (geo.h - eh) / geo.sh + 1;
    geo.ow = (geo.w - ew) / geo.sw + 1;
  }
  return geo;
}

// The definition, composed of recorded ops: y (N, OH, OW, C_out) = im2col(x) @ K.
Tensor conv_composed(const Tensor& x, const Tensor& kernel, const ConvGeometry& geo) {
  const std::int64_t c_out = kernel.dim(3), group_out = c_out / geo.groups, rows = geo.rows();
  Tensor cols = im2col_op(x, geo);
  Tensor y;
  if (geo.groups == 1) {
    y = matmul(cols, reshape(kernel, {geo.patch(), c_out}));  // (R, P) @ (P, C_out)
  } else {
    // Output channel o belongs to group o / (C_out/G): the kernel as (G, P, C_out/G).
    Tensor k3 = permute(reshape(kernel, {geo.patch(), geo.groups, group_out}), {1, 0, 2});
    y = reshape(permute(matmul(cols, k3), {1, 0, 2}), {rows, c_out});  // (G, R, C_out/G) -> (R, C_out)
  }
  return reshape(y, {geo.n, geo.oh, geo.ow, c_out});
}

// The same, fused: the tape holds x and the kernel, not cols.
Tensor conv_fused(const Tensor& x, const Tensor& kernel, const ConvGeometry& geo) {
  const std::int64_t c_out = kernel.dim(3);
  Tensor y = Tensor::empty(Shape{geo.n, geo.oh, geo.ow, c_out}, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::conv_forward(x.data<T>(), kernel.data<T>(), geo, c_out, y.data<T>());
  });
  if (is_recording())
    detail::record_fused(
        "conv2d", {x, kernel}, y,
        [x, kernel, geo, c_out](const Tensor& g, BackwardContext& ctx) {
          const bool want_x = ctx.needs(0), want_k = ctx.needs(1);
          Tensor dx = want_x ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
          Tensor dk = want_k ? Tensor::empty(kernel.shape(), kernel.dtype()) : Tensor();
          dispatch_float(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            kernels::conv_backward(x.data<T>(), kernel.data<T>(), g.data<T>(), geo, c_out,
                                   want_x ? dx.data<T>() : nullptr, want_k ? dk.data<T>() : nullptr);
          });
          if (want_x) ctx.add(0, dx);
          if (want_k) ctx.add(1, dk);
        },
        detail::composed_backward([geo](const Tensor& v, const Tensor& k) { return conv_composed(v, k, geo); }, x,
                                  kernel));
  return y;
}

// conv2d with everything checked and the spatial options per axis; x is 4-D
// in a's layout, the kernel (kh, kw, C_in/G, C_out). channels_first runs the
// channels_last convolution between two permutes (one pass over x and over
// y each, about what the per-sample rearrangement inside im2col cost).
Tensor conv2d_checked(const Tensor& x, const Tensor& kernel, const Conv2dArgs& a) {
  const Tensor xl = a.channels_first ? permute(x, {0, 2, 3, 1}) : x;
  const Tensor y = conv_fused(xl, kernel, geometry(xl, kernel, a));
  return a.channels_first ? permute(y, {0, 3, 1, 2}) : y;
}

// Checks shared by conv1d and conv2d; `spatial` is 1 or 2; x and kernel as the
// caller received them.
Conv2dArgs check_conv(const char* op, const Tensor& x, const Tensor& kernel, const ConvOptions& o, int spatial) {
  detail::check_same_float(op, x, kernel);
  const std::string name = op;
  const bool one = spatial == 1;
  const std::string cl = one ? "(N, L, C_in)" : "(N, H, W, C_in)";
  const std::string cf = one ? "(N, C_in, L)" : "(N, C_in, H, W)";
  const std::string kl = one ? "(k, C_in/groups, C_out)" : "(kh, kw, C_in/groups, C_out)";
  if (o.data_format != "channels_last" && o.data_format != "channels_first")
    throw std::invalid_argument(name + ": data_format must be \"channels_last\" or \"channels_first\", received \"" +
                                o.data_format + "\"");
  if (o.padding != "valid" && o.padding != "same")
    throw std::invalid_argument(name + ": padding must be \"valid\" or \"same\", received \"" + o.padding + "\"");
  Conv2dArgs a;
  a.channels_first = o.data_format == "channels_first";
  a.same = o.padding == "same";
  a.strides = per_axis(op, "strides", o.strides, spatial);
  a.dilation = per_axis(op, "dilation", o.dilation, spatial);
  if (o.groups <= 0)
    throw std::invalid_argument(name + ": groups must be positive, received " + std::to_string(o.groups));
  a.groups = o.groups;
  const std::string layout = a.channels_first ? cf : cl;
  if (x.rank() != spatial + 2)
    throw std::invalid_argument(name + ": expected x of rank " + std::to_string(spatial + 2) + ", " + layout +
                                " (data_format=\"" + o.data_format + "\"), received shape " + x.shape().str());
  if (kernel.rank() != spatial + 2)
    throw std::invalid_argument(name + ": expected a kernel of rank " + std::to_string(spatial + 2) + ", " + kl +
                                ", received shape " + kernel.shape().str());
  const int channel_axis = a.channels_first ? 1 : spatial + 1;
  const std::int64_t c_in = x.dim(channel_axis), kc = kernel.dim(spatial), c_out = kernel.dim(spatial + 1);
  if (c_in % a.groups != 0)
    throw std::invalid_argument(name + ": C_in = " + std::to_string(c_in) + " is not divisible by groups = " +
                                std::to_string(a.groups) + " (x " + x.shape().str() + ", data_format=\"" +
                                o.data_format + "\")");
  if (c_out % a.groups != 0)
    throw std::invalid_argument(name + ": C_out = " + std::to_string(c_out) + " (kernel " + kernel.shape().str() +
                                ", last axis) is not divisible by groups = " + std::to_string(a.groups));
  if (c_in != kc * a.groups) {
    std::string msg = name + ": x has C_in = " + std::to_string(c_in) + " channels (axis " +
                      std::to_string(channel_axis) + " of " + x.shape().str() + ", expected layout " + layout +
                      " for data_format=\"" + o.data_format + "\") but the kernel " + kernel.shape().str() + " " + kl +
                      " expects " + std::to_string(kc) + " * groups " + std::to_string(a.groups) + " = " +
                      std::to_string(kc * a.groups);
    const int other_axis = a.channels_first ? spatial + 1 : 1;
    if (x.dim(other_axis) == kc * a.groups)
      msg += "; x looks " + std::string(a.channels_first ? "channels_last " + cl : "channels_first " + cf) +
             ": pass data_format=\"" + (a.channels_first ? "channels_last" : "channels_first") + "\"";
    throw std::invalid_argument(msg);
  }
  if (!a.same)
    for (int i = 0; i < spatial; ++i) {
      const int axis = (a.channels_first ? 2 : 1) + i;
      const std::int64_t d = a.dilation[static_cast<std::size_t>(i)];
      const std::int64_t extent = (kernel.dim(i) - 1) * d + 1;
      if (extent > x.dim(axis))
        throw std::invalid_argument(name + ": the kernel " + kernel.shape().str() +
                                    (d > 1 ? " dilated by " + std::to_string(d) + " spans " : " spans ") +
                                    std::to_string(extent) + " on axis " + std::to_string(axis) + " of x " +
                                    x.shape().str() + ", larger than its " + std::to_string(x.dim(axis)) +
                                    " with padding=\"valid\" (use padding=\"same\" or a smaller kernel)");
    }
  return a;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options) {
  const Conv2dArgs a = check_conv("conv2d", x, kernel, options, 2);
  return conv2d_checked(x, kernel, a);
}

// A unit axis before the length: (N, L, C) -> (N, 1, L, C), (N, C, L) -> (N, C, 1, L),
// the kernel (k, C_in/G, C_out) -> (1, k, C_in/G, C_out), then back.
Tensor conv1d(const Tensor& x, const Tensor& kernel, const ConvOptions& options) {
  Conv2dArgs a = check_conv("conv1d", x, kernel, options, 1);
  a.strides.insert(a.strides.begin(), 1);
  a.dilation.insert(a.dilation.begin(), 1);
  Tensor x4 = a.channels_first ? reshape(x, {x.dim(0), x.dim(1), 1, x.dim(2)})
                               : reshape(x, {x.dim(0), 1, x.dim(1), x.dim(2)});
  Tensor k4 = reshape(kernel, {1, kernel.dim(0), kernel.dim(1), kernel.dim(2)});
  Tensor y = conv2d_checked(x4, k4, a);
  return a.channels_first ? reshape(y, {y.dim(0), y.dim(1), y.dim(3)}) : reshape(y, {y.dim(0), y.dim(2), y.dim(3)});
}

}  // namespace tg
