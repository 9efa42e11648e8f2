// conv2d / conv1d: values and gradients against PyTorch 1.13 (strides, both
// paddings, dilation, groups, both layouts, batch 1, 1x1 kernels, kernels as
// large as the input), gradchecks, second derivatives through nested tapes,
// the empty batch, float32, and bad input.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cosine_fixtures.hpp"
#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

namespace {

tg::ConvOptions options_of(const CosineFixture& c) {
  tg::ConvOptions o;
  o.strides = parse_ints(c.params.at("strides"));
  o.dilation = parse_ints(c.params.at("dilation"));
  o.padding = c.params.at("padding");
  o.groups = std::stoll(c.params.at("groups"));
  o.data_format = c.params.at("data_format");
  return o;
}

Tensor conv(const std::string& function, const Tensor& x, const Tensor& k, const tg::ConvOptions& o) {
  return function == "conv2d" ? tg::conv2d(x, k, o) : tg::conv1d(x, k, o);
}

tg::ConvOptions opts(std::vector<std::int64_t> strides, const std::string& padding,
                     std::vector<std::int64_t> dilation = {}, std::int64_t groups = 1,
                     const std::string& data_format = "channels_last") {
  tg::ConvOptions o;
  o.strides = std::move(strides);
  o.padding = padding;
  o.dilation = std::move(dilation);
  o.groups = groups;
  o.data_format = data_format;
  return o;
}

}  // namespace

TEST_CASE("conv2d, conv1d: values and gradients against PyTorch 1.13") {
  const auto cases = load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/conv.txt");
  REQUIRE(cases.size() >= 26);
  for (const CosineFixture& c : cases) {
    CAPTURE(c.function);
    CAPTURE(c.name);
    const tg::ConvOptions o = options_of(c);
    const Tensor x = c.tensors.at("x1"), k = c.tensors.at("x2");
    TG_CHECK_TENSOR(conv(c.function, x, k, o), c.tensors.at("y"), 1e-10, 1e-10);
    const V g = grads_of([&](const V& v) { return conv(c.function, v[0], v[1], o); }, {x, k}, c.tensors.at("u"));
    TG_CHECK_TENSOR(g[0], c.tensors.at("g1"), 1e-10, 1e-10);
    TG_CHECK_TENSOR(g[1], c.tensors.at("g2"), 1e-10, 1e-10);
  }
}

TEST_CASE("conv2d: a worked example") {
  // Ones (1, 3, 3, 1) with a ones 2x2 kernel: every window sums 4 ones.
  Tensor x = tg::ones({1, 3, 3, 1}, tg::float64);
  Tensor k = tg::ones({2, 2, 1, 1}, tg::float64);
  TG_CHECK_VALUES(tg::conv2d(x, k), {4, 4, 4, 4});
  // "same" (TF): out 3x3, total pad 1 per axis, all of it after: the last row
  // and column see 2 ones, the corner 1.
  Tensor y = tg::conv2d(x, k, opts({}, "same"));
  CHECK(y.shape() == tg::Shape{1, 3, 3, 1});
  TG_CHECK_VALUES(y, {4, 4, 2, 4, 4, 2, 2, 2, 1});
  // dx of sum(y) for "valid": how many windows cover each pixel.
  TG_CHECK_VALUES(grads_of([&](const V& v) { return tg::conv2d(v[0], k); }, {x})[0], {1, 2, 1, 2, 4, 2, 1, 2, 1});
}

TEST_CASE("conv2d, conv1d: gradcheck in float64") {
  struct Case {
    tg::Shape x, k;
    tg::ConvOptions o;
  };
  const std::vector<Case> cases = {
      {{2, 5, 4, 3}, {3, 3, 3, 2}, opts({}, "valid")},
      {{2, 5, 4, 3}, {3, 2, 3, 2}, opts({2, 1}, "same")},
      {{1, 6, 6, 2}, {2, 3, 2, 3}, opts({1}, "same", {2, 1})},
      {{2, 4, 4, 4}, {3, 3, 2, 4}, opts({}, "same", {}, 2)},
      {{2, 3, 4, 5}, {1, 1, 5, 2}, opts({}, "valid")},
      {{2, 3, 4, 2}, {3, 4, 2, 2}, opts({}, "valid")},  // kernel as large as the input
      {{2, 4, 5, 4}, {2, 2, 2, 2}, opts({2}, "same", {1, 2}, 2, "channels_first")},
  };
  std::uint64_t seed = 10;
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.k);
    const tg::ConvOptions o = c.o;
    TG_CHECK_GRADCHECK([o](const V& v) { return tg::conv2d(v[0], v[1], o); }, {randn64(c.x, seed), randn64(c.k, seed + 1)});
    seed += 2;
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::conv1d(v[0], v[1], opts({2}, "same", {2})); },
                     {randn64({2, 7, 3}, 30), randn64({3, 3, 2}, 31)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::conv1d(v[0], v[1], opts({}, "valid", {}, 2, "channels_first")); },
                     {randn64({2, 4, 6}, 32), randn64({3, 2, 4}, 33)});
}

TEST_CASE("conv2d, conv1d: second derivatives through nested tapes") {
  // im2col and col2im are each other's VJP: the backward is differentiable.
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::conv2d(v[0], v[1], opts({2, 1}, "same")); },
                         {randn64({2, 4, 5, 2}, 40), randn64({3, 2, 2, 3}, 41)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::conv2d(v[0], v[1], opts({}, "valid", {}, 2, "channels_first")); },
                         {randn64({1, 4, 4, 4}, 42), randn64({2, 2, 2, 2}, 43)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::conv1d(v[0], v[1], opts({}, "same")); },
                         {randn64({2, 5, 2}, 44), randn64({3, 2, 2}, 45)});
  // d/dx of ||dL/dx||^2 is not zero: a backward treated as a constant would give 0.
  Tensor x = randn64({1, 4, 4, 1}, 46), k = randn64({2, 2, 1, 1}, 47);
  tg::GradientTape outer;
  outer.watch(k);
  Tensor dx;
  {
    tg::GradientTape inner;
    inner.watch(x);
    dx = inner.gradient(tg::sum(tg::conv2d(x, k)), {x})[0];
  }
  Tensor dk = outer.gradient(tg::sum(tg::mul(dx, dx)), {k})[0];
  CHECK(tg::sum(tg::mul(dk, dk)).item() > 1e-6);
}

TEST_CASE("conv2d, conv1d: the empty batch") {
  Tensor x = tg::zeros({0, 5, 5, 3}, tg::float64), k = randn64({3, 3, 3, 4}, 50);
  Tensor y = tg::conv2d(x, k, opts({2}, "same"));
  CHECK(y.shape() == tg::Shape{0, 3, 3, 4});
  const V g = grads_of([](const V& v) { return tg::conv2d(v[0], v[1], opts({2}, "same")); }, {x, k});
  CHECK(g[0].shape() == x.shape());
  CHECK(g[1].shape() == k.shape());
  TG_CHECK_VALUES(tg::sum(tg::abs(g[1])), {0});
  Tensor y1 = tg::conv1d(tg::zeros({0, 3, 6}, tg::float64), randn64({2, 3, 2}, 51), opts({}, "valid", {}, 1, "channels_first"));
  CHECK(y1.shape() == tg::Shape{0, 2, 5});
}

TEST_CASE("conv2d: float32 agrees with float64") {
  Tensor x = randn64({3, 6, 6, 4}, 60), k = randn64({3, 3, 2, 6}, 61);
  const tg::ConvOptions o = opts({}, "same", {}, 2);
  Tensor y64 = tg::conv2d(x, k, o);
  Tensor y32 = tg::conv2d(x.to(tg::float32), k.to(tg::float32), o);
  CHECK(y32.dtype() == tg::float32);
  TG_CHECK_TENSOR(y32, y64, 1e-4, 1e-4);
}

TEST_CASE("conv2d, conv1d: bad input") {
  using tgtest::contains;
  Tensor x = randn64({2, 5, 5, 3}, 70), k = randn64({3, 3, 3, 4}, 71);
  auto err2 = [&](const Tensor& xx, const Tensor& kk, const tg::ConvOptions& o = {}) {
    return error_of([&] { tg::conv2d(xx, kk, o); });
  };
  std::string e = err2(randn64({5, 5, 3}, 1), k);
  CHECK_CONTAINS(e, "conv2d: expected x of rank 4, (N, H, W, C_in)");
  CHECK_CONTAINS(e, "(5, 5, 3)");
  CHECK_CONTAINS(err2(x, randn64({3, 3, 3}, 1)), "expected a kernel of rank 4, (kh, kw, C_in/groups, C_out)");
  e = err2(x, randn64({3, 3, 2, 4}, 1));
  CHECK_CONTAINS(e, "x has C_in = 3");
  CHECK_CONTAINS(e, "expects 2 * groups 1 = 2");
  CHECK_CONTAINS(err2(x, randn64({3, 3, 1, 4}, 1), opts({}, "valid", {}, 2)), "C_in = 3 is not divisible by groups = 2");
  CHECK_CONTAINS(err2(randn64({2, 5, 5, 4}, 1), randn64({3, 3, 2, 3}, 1), opts({}, "valid", {}, 2)),
                 "C_out = 3 (kernel (3, 3, 2, 3), last axis) is not divisible by groups = 2");
  e = err2(x, randn64({6, 3, 3, 4}, 1));
  CHECK_CONTAINS(e, "spans 6 on axis 1");
  CHECK_CONTAINS(e, "padding=\"valid\"");
  CHECK_CONTAINS(err2(x, k, opts({}, "valid", {3})), "dilated by 3 spans 7");
  CHECK(err2(x, randn64({6, 3, 3, 4}, 1), opts({}, "same")).empty());  // "same" pads instead
  CHECK_CONTAINS(err2(x, k, opts({0}, "valid")), "conv2d: strides must be positive, received {0}");
  CHECK_CONTAINS(err2(x, k, opts({1, -1}, "valid")), "strides must be positive, received {1, -1}");
  CHECK_CONTAINS(err2(x, k, opts({1, 1, 1}, "valid")), "strides must have 1 or 2 values, received {1, 1, 1}");
  CHECK_CONTAINS(err2(x, k, opts({}, "valid", {0})), "dilation must be positive, received {0}");
  CHECK_CONTAINS(err2(x, k, opts({}, "valid", {}, 0)), "groups must be positive, received 0");
  CHECK_CONTAINS(err2(x, k, opts({}, "full")), "padding must be \"valid\" or \"same\", received \"full\"");
  CHECK_CONTAINS(err2(x, k, opts({}, "valid", {}, 1, "NHWC")), "data_format must be \"channels_last\" or \"channels_first\", received \"NHWC\"");
  CHECK_CONTAINS(err2(x, k.to(tg::float32)), "conv2d: dtypes differ");
  // A channels-first image (N, C, H, W) given where channels_last was expected.
  e = err2(randn64({2, 3, 8, 8}, 1), k);
  CHECK_CONTAINS(e, "x has C_in = 8 channels (axis 3 of (2, 3, 8, 8), expected layout (N, H, W, C_in) for "
                    "data_format=\"channels_last\")");
  CHECK_CONTAINS(e, "x looks channels_first (N, C_in, H, W): pass data_format=\"channels_first\"");
  e = err2(randn64({2, 8, 8, 3}, 1), k, opts({}, "valid", {}, 1, "channels_first"));
  CHECK_CONTAINS(e, "expected layout (N, C_in, H, W) for data_format=\"channels_first\"");
  CHECK_CONTAINS(e, "x looks channels_last (N, H, W, C_in): pass data_format=\"channels_last\"");

  Tensor x1 = randn64({2, 6, 3}, 72), k1 = randn64({3, 3, 2}, 73);
  auto err1 = [&](const Tensor& xx, const Tensor& kk, const tg::ConvOptions& o = {}) {
    return error_of([&] { tg::conv1d(xx, kk, o); });
  };
  CHECK(err1(x1, k1).empty());
  CHECK_CONTAINS(err1(x, k1), "conv1d: expected x of rank 3, (N, L, C_in)");
  CHECK_CONTAINS(err1(x1, randn64({7, 3, 2}, 1)), "conv1d: the kernel (7, 3, 2) spans 7 on axis 1");
  CHECK_CONTAINS(err1(x1, k1, opts({1, 1}, "valid")), "conv1d: strides must have 1 value, received {1, 1}");
  CHECK_CONTAINS(err1(randn64({2, 3, 6}, 1), randn64({3, 3, 2}, 1)), "x looks channels_first (N, C_in, L)");
}

namespace {

// The definition, one multiply-add at a time, in float64 on x (N, H, W, C_in):
// y[b, oy, ox, o] = sum over ky, kx, ci of k[ky, kx, ci, o] *
// x[b, oy*sh - top + ky*dh, ox*sw - left + kx*dw, (o / (C_out/G)) * C_in/G + ci].
Tensor direct_conv2d(const Tensor& x, const Tensor& k, const tg::ConvOptions& o) {
  const std::vector<double> xv = tgtest::values_of(x), kv = tgtest::values_of(k);
  const std::int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const std::int64_t kh = k.dim(0), kw = k.dim(1), cg = k.dim(2), c_out = k.dim(3), gout = c_out / o.groups;
  const std::int64_t sh = o.strides.empty() ? 1 : o.strides[0], sw = o.strides.empty() ? 1 : o.strides.back();
  const std::int64_t dh = o.dilation.empty() ? 1 : o.dilation[0], dw = o.dilation.empty() ? 1 : o.dilation.back();
  const std::int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  std::int64_t oh = (h - eh) / sh + 1, ow = (w - ew) / sw + 1, top = 0, left = 0;
  if (o.padding == "same") {
    oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw;
    top = std::max<std::int64_t>((oh - 1) * sh + eh - h, 0) / 2;
    left = std::max<std::int64_t>((ow - 1) * sw + ew - w, 0) / 2;
  }
  std::vector<double> y(static_cast<std::size_t>(n * oh * ow * c_out), 0.0);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t oy = 0; oy < oh; ++oy)
      for (std::int64_t ox = 0; ox < ow; ++ox)
        for (std::int64_t oc = 0; oc < c_out; ++oc) {
          double s = 0;
          for (std::int64_t ky = 0; ky < kh; ++ky)
            for (std::int64_t kx = 0; kx < kw; ++kx) {
              const std::int64_t iy = oy * sh - top + ky * dh, ix = ox * sw - left + kx * dw;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (std::int64_t ci = 0; ci < cg; ++ci)
                s += xv[static_cast<std::size_t>(((b * h + iy) * w + ix) * c + (oc / gout) * cg + ci)] *
                     kv[static_cast<std::size_t>(((ky * kw + kx) * cg + ci) * c_out + oc)];
            }
          y[static_cast<std::size_t>(((b * oh + oy) * ow + ox) * c_out + oc)] = s;
        }
  return tg::Tensor::from_vector(y, tg::Shape{n, oh, ow, c_out});
}

// While an outer tape records, a fused op's backward is its composed
// definition's (ops/fused.hpp): the gradients of the composition, the oracle.
V composed_grads_of(const tgtest::Fn& f, const V& inputs, const Tensor& u) {
  tg::GradientTape outer;
  return grads_of(f, inputs, u);
}

struct ThreadCount {
  int saved = tg::get_num_threads();
  explicit ThreadCount(int n) { tg::set_num_threads(n); }
  ~ThreadCount() { tg::set_num_threads(saved); }
};

}  // namespace

TEST_CASE("conv2d: the fused kernel agrees with the definition and the composed backward") {
  struct Case {
    tg::Shape x, k;
    tg::ConvOptions o;
  };
  // The first two are large enough to be split over threads (1e7 multiply-adds)
  // and to take several blocks of rows (1 MB of cols each), blocks that start
  // and end inside a sample.
  const std::vector<Case> cases = {
      {{8, 32, 32, 16}, {3, 3, 16, 32}, opts({}, "same")},
      {{8, 32, 32, 16}, {3, 3, 8, 48}, opts({}, "same", {}, 2)},
      {{3, 9, 7, 6}, {3, 2, 3, 4}, opts({2, 1}, "same", {1, 2}, 2)},
      {{4, 8, 10, 10}, {3, 3, 2, 8}, opts({}, "valid", {}, 4, "channels_first")},
      {{1, 5, 5, 3}, {5, 5, 3, 2}, opts({}, "valid")},  // kernel as large as the input
      {{5, 16, 16, 8}, {1, 1, 8, 4}, opts({2}, "valid")},
      {{2, 9, 8, 3}, {3, 3, 3, 5}, opts({2}, "same", {2, 1})},  // a row of taps is one run of kw*C
      {{2, 9, 8, 3}, {3, 2, 3, 5}, opts({1, 2}, "valid", {1, 3})},  // ... and not with dilation along w
  };
  std::uint64_t seed = 80;
  for (const Case& c : cases)
    for (const int threads : {1, 2}) {
      CAPTURE(c.x);
      CAPTURE(c.k);
      CAPTURE(threads);
      ThreadCount count(threads);
      const tg::ConvOptions o = c.o;
      const bool cf = o.data_format == "channels_first";
      const Tensor x = tg::randn(c.x, seed, tg::float32), k = tg::randn(c.k, seed + 1, tg::float32);
      auto f = [o](const V& v) { return tg::conv2d(v[0], v[1], o); };
      const Tensor y = f({x, k});
      const Tensor want = cf ? tg::permute(direct_conv2d(tg::permute(x, {0, 2, 3, 1}), k, o), {0, 3, 1, 2})
                             : direct_conv2d(x, k, o);
      TG_CHECK_TENSOR(y, want, 1e-4, 1e-4);
      const Tensor u = tg::randn(y.shape(), seed + 2, tg::float32);
      const V fused = grads_of(f, {x, k}, u), composed = composed_grads_of(f, {x, k}, u);
      TG_CHECK_TENSOR(fused[0], composed[0], 1e-4, 1e-4);
      TG_CHECK_TENSOR(fused[1], composed[1], 1e-4, 1e-3);
      // float64: the same blocks, to float64 rounding.
      const Tensor x64 = x.to(tg::float64), k64 = k.to(tg::float64), u64 = u.to(tg::float64);
      TG_CHECK_TENSOR(f({x64, k64}), want, 1e-10, 1e-10);
      const V fused64 = grads_of(f, {x64, k64}, u64), composed64 = composed_grads_of(f, {x64, k64}, u64);
      TG_CHECK_TENSOR(fused64[0], composed64[0], 1e-10, 1e-10);
      TG_CHECK_TENSOR(fused64[1], composed64[1], 1e-10, 1e-10);
      seed += 3;
    }
}

TEST_CASE("conv2d: only the wanted gradient is computed, either alone is right") {
  const Tensor x = randn64({2, 6, 5, 4}, 90), k = randn64({3, 3, 2, 6}, 91);
  const tg::ConvOptions o = opts({}, "same", {}, 2);
  const Tensor u = randn64({2, 6, 5, 6}, 92);
  auto f = [o](const V& v) { return tg::conv2d(v[0], v[1], o); };
  const V both = grads_of(f, {x, k}, u);
  tg::GradientTape tx;
  tx.watch(x);
  TG_CHECK_TENSOR(tx.gradient(tg::conv2d(x, k, o), {x}, u)[0], both[0], 1e-14, 1e-14);
  tg::GradientTape tk;
  tk.watch(k);
  TG_CHECK_TENSOR(tk.gradient(tg::conv2d(x, k, o), {k}, u)[0], both[1], 1e-14, 1e-14);
}
