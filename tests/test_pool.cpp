// max_pool2d / avg_pool2d / global_average_pool2d / global_max_pool2d: values
// and gradients against PyTorch 1.13 (strides != pool_size, overlapping
// windows, "valid" and TF's "same", both layouts, batch 1, pools as large as
// the input, 1x1 and non-square pools, keepdims), gradchecks, derivatives of
// the backward through nested tapes, ties, the empty batch, float32, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numeric>
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

tg::PoolOptions opts(std::vector<std::int64_t> pool_size, std::vector<std::int64_t> strides = {},
                     const std::string& padding = "valid", const std::string& data_format = "channels_last") {
  tg::PoolOptions o;
  o.pool_size = std::move(pool_size);
  o.strides = std::move(strides);
  o.padding = padding;
  o.data_format = data_format;
  return o;
}

// The fixture's op as a function of x.
tg::TensorFunction op_of(const CosineFixture& c) {
  const std::string& f = c.function;
  const std::string layout = c.params.at("data_format");
  if (f == "max_pool2d" || f == "avg_pool2d") {
    const std::string s = c.params.at("strides");
    const tg::PoolOptions o =
        opts(parse_ints(c.params.at("pool_size")), s == "none" ? std::vector<std::int64_t>{} : parse_ints(s),
             c.params.at("padding"), layout);
    if (f == "max_pool2d") return [o](const V& v) { return tg::max_pool2d(v[0], o); };
    return [o](const V& v) { return tg::avg_pool2d(v[0], o); };
  }
  const bool keepdims = c.params.at("keepdims") == "1";
  if (f == "global_average_pool2d")
    return [layout, keepdims](const V& v) { return tg::global_average_pool2d(v[0], layout, keepdims); };
  if (f == "global_max_pool2d")
    return [layout, keepdims](const V& v) { return tg::global_max_pool2d(v[0], layout, keepdims); };
  throw std::runtime_error("pool.txt: unknown function " + f);
}

// Distinct values 0.05 apart in a seeded random order: no two cells of a
// window are within a central difference's step, so the arg-max is stable.
Tensor distinct64(const tg::Shape& shape, std::uint64_t seed) {
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  tg::Generator gen(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  for (double& x : v) x = 0.05 * x - 1.0;
  return Tensor::from_vector(v, shape);
}

// x -> d/dx sum(u * f(x)) with u an argument too: a gradcheck of it checks the
// backward's derivatives in both x and the upstream gradient u.
tg::TensorFunction vjp_of(tg::TensorFunction f) {
  return [f](const V& v) {
    tg::GradientTape inner;
    inner.watch(v[0]);
    Tensor y = f({v[0]});
    return inner.gradient(y, {v[0]}, v[1])[0];
  };
}

}  // namespace

TEST_CASE("pooling: values and gradients against PyTorch 1.13") {
  const auto cases = load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/pool.txt");
  REQUIRE(cases.size() == 48);
  for (const CosineFixture& c : cases) {
    CAPTURE(c.function);
    CAPTURE(c.name);
    const tg::TensorFunction f = op_of(c);
    const Tensor x = c.tensors.at("x1");
    TG_CHECK_TENSOR(f({x}), c.tensors.at("y"), 1e-12, 1e-12);
    TG_CHECK_TENSOR(grads_of(f, {x}, c.tensors.at("u"))[0], c.tensors.at("g1"), 1e-12, 1e-12);
  }
}

TEST_CASE("pooling: worked examples") {
  // One 2x2 plane [[1, 3], [2, 0]]: the max is 3 (at (0, 1)), the mean 1.5.
  Tensor x = f64({1, 3, 2, 0}, {1, 2, 2, 1});
  TG_CHECK_VALUES(tg::max_pool2d(x), {3});
  TG_CHECK_VALUES(tg::avg_pool2d(x), {1.5});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max_pool2d(v[0]); }, {x})[0], {0, 1, 0, 0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::avg_pool2d(v[0]); }, {x})[0], {0.25, 0.25, 0.25, 0.25});

  // Ones (1, 3, 3, 1), pool 2x2, "same": out ceil(3 / 2) = 2 per axis, total
  // padding (2 - 1) * 2 + 2 - 3 = 1, all of it after. The padding is not
  // counted, so every average of ones is 1; on 1..9 the windows hold
  // {1,2,4,5}, {3,6}, {7,8}, {9}.
  Tensor r = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  const tg::PoolOptions same = opts({2, 2}, {}, "same");
  TG_CHECK_VALUES(tg::avg_pool2d(tg::ones({1, 3, 3, 1}, tg::float64), same), {1, 1, 1, 1});
  TG_CHECK_VALUES(tg::avg_pool2d(r, same), {3, 4.5, 7.5, 9});
  TG_CHECK_VALUES(tg::max_pool2d(r, same), {5, 6, 8, 9});
  // Negative values: a padded cell (which would be 0 if it were a value) never wins.
  TG_CHECK_VALUES(tg::max_pool2d(tg::neg(r), same), {-1, -3, -7, -9});
  // d sum(avg) / dx: each cell gets 1 / count of its window (windows do not overlap here).
  TG_CHECK_VALUES(grads_of([same](const V& v) { return tg::avg_pool2d(v[0], same); }, {r})[0],
                  {0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1});
  // Overlapping windows (strides 1) add: the centre of a 3x3 is in all four 2x2 windows.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::avg_pool2d(v[0], opts({2}, {1})); }, {r})[0],
                  {0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max_pool2d(v[0], opts({2}, {1})); }, {r})[0],
                  {0, 0, 0, 0, 1, 1, 0, 1, 1});

  // Global pools: (1, 2, 2, 2) channels_last -> (1, 2).
  Tensor g = f64({1, -1, 2, -2, 3, -3, 4, -4}, {1, 2, 2, 2});
  TG_CHECK_TENSOR(tg::global_average_pool2d(g), f64({2.5, -2.5}, {1, 2}));
  TG_CHECK_TENSOR(tg::global_max_pool2d(g), f64({4, -1}, {1, 2}));
  TG_CHECK_TENSOR(tg::global_max_pool2d(g, "channels_last", true), f64({4, -1}, {1, 1, 1, 2}));
  // The same values read as channels_first (1, 2, 2, 2): planes {1, -1, 2, -2} and {3, -3, 4, -4}.
  TG_CHECK_TENSOR(tg::global_average_pool2d(g, "channels_first", true), f64({0, 0}, {1, 2, 1, 1}));
  TG_CHECK_TENSOR(tg::global_max_pool2d(g, "CHANNELS_FIRST"), f64({2, 4}, {1, 2}));
}

TEST_CASE("pooling: gradcheck in float64") {
  const std::vector<tg::PoolOptions> cases = {
      opts({2, 2}),
      opts({3, 3}, {2, 2}),
      opts({2, 2}, {1, 1}),                       // overlapping
      opts({3, 2}, {2, 1}, "same"),               // odd padding at the end
      opts({2, 3}, {1}, "same"),                  // non-square, overlapping, padded
      opts({4, 5}),                               // pool as large as the input
      opts({1, 1}, {2}, "same"),
      opts({3, 3}, {1, 2}, "same", "channels_first"),
  };
  std::uint64_t seed = 10;
  for (const tg::PoolOptions& o : cases) {
    CAPTURE(o.pool_size);
    CAPTURE(o.strides);
    CAPTURE(o.padding);
    const tg::Shape shape = o.data_format == "channels_first" ? tg::Shape{2, 3, 4, 5} : tg::Shape{2, 4, 5, 3};
    TG_CHECK_GRADCHECK([o](const V& v) { return tg::max_pool2d(v[0], o); }, {distinct64(shape, seed)});
    TG_CHECK_GRADCHECK([o](const V& v) { return tg::avg_pool2d(v[0], o); }, {randn64(shape, seed + 1)});
    seed += 2;
  }
  for (const char* layout : {"channels_last", "channels_first"})
    for (bool keepdims : {false, true}) {
      CAPTURE(layout);
      CAPTURE(keepdims);
      TG_CHECK_GRADCHECK([=](const V& v) { return tg::global_average_pool2d(v[0], layout, keepdims); },
                         {randn64({2, 3, 4, 2}, seed++)});
      TG_CHECK_GRADCHECK([=](const V& v) { return tg::global_max_pool2d(v[0], layout, keepdims); },
                         {distinct64({2, 3, 4, 2}, seed++)});
    }
}

TEST_CASE("pooling: derivatives of the backward through nested tapes") {
  // The backwards are recorded ops (max: scatter at the arg-max, whose VJP is
  // the gather; avg: A^T, whose VJP is A), so the VJP can be differentiated in
  // the upstream gradient u as well as in x (in x the derivative is 0: both
  // ops are piecewise linear).
  const tg::PoolOptions o = opts({3, 2}, {2, 1}, "same");
  const tg::PoolOptions cf = opts({2, 2}, {1, 1}, "valid", "channels_first");
  Tensor x = distinct64({2, 5, 4, 2}, 40), xcf = distinct64({1, 2, 4, 4}, 41);
  const auto u_of = [](const Tensor& xx, const tg::PoolOptions& oo, std::uint64_t seed) {
    return randn64(tg::max_pool2d(xx, oo).shape(), seed);
  };
  TG_CHECK_GRADGRADCHECK([o](const V& v) { return tg::max_pool2d(v[0], o); }, {x});
  TG_CHECK_GRADGRADCHECK([o](const V& v) { return tg::avg_pool2d(v[0], o); }, {randn64({2, 5, 4, 2}, 42)});
  TG_CHECK_GRADCHECK(vjp_of([o](const V& v) { return tg::max_pool2d(v[0], o); }), {x, u_of(x, o, 43)});
  TG_CHECK_GRADCHECK(vjp_of([o](const V& v) { return tg::avg_pool2d(v[0], o); }), {x, u_of(x, o, 44)});
  TG_CHECK_GRADCHECK(vjp_of([cf](const V& v) { return tg::max_pool2d(v[0], cf); }), {xcf, u_of(xcf, cf, 45)});
  TG_CHECK_GRADCHECK(vjp_of([cf](const V& v) { return tg::avg_pool2d(v[0], cf); }), {xcf, u_of(xcf, cf, 46)});

  // d/du <x, dx(u)> = the gather of x at the arg-max = max_pool2d(x): a backward
  // treated as a constant would give 0.
  Tensor u = u_of(x, o, 47);
  tg::GradientTape outer;
  outer.watch(u);
  Tensor dx;
  {
    tg::GradientTape inner;
    inner.watch(x);
    dx = inner.gradient(tg::max_pool2d(x, o), {x}, u)[0];
  }
  TG_CHECK_TENSOR(outer.gradient(tg::sum(tg::mul(dx, x)), {u})[0], tg::max_pool2d(x, o));
}

TEST_CASE("max_pool2d: ties give the whole gradient to the first maximum in scan order") {
  // As PyTorch (and TensorFlow's CPU kernel): among equal maxima of a window
  // the first in row-major order (rows, then columns) is the arg-max and gets
  // all of g; the others get 0. (The global max, a tg::max, shares it equally.)
  Tensor x = f64({1, 1, 1, 1}, {1, 2, 2, 1});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max_pool2d(v[0]); }, {x})[0], {1, 0, 0, 0});
  Tensor y = f64({0, 2, 2, 1}, {1, 1, 2, 2});  // channels_first: one plane [[0, 2], [2, 1]]
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max_pool2d(v[0], opts({2}, {}, "valid", "channels_first")); }, {y})[0],
                  {0, 1, 0, 0});
  // channels_last, two channels, the tie in channel 1 only; overlapping
  // windows along a row of 3 each pick their own first maximum.
  Tensor z = f64({5, 0, 5, 7, 1, 7}, {1, 1, 3, 2});
  const V g = grads_of([](const V& v) { return tg::max_pool2d(v[0], opts({1, 2}, {1})); }, {z},
                       f64({10, 100, 1000, 10000}, {1, 1, 2, 2}));
  // Windows (cells 0-1) and (cells 1-2): channel 0 values 5, 5, 1 -> cells 0, 1;
  // channel 1 values 0, 7, 7 -> cell 1 in both windows.
  TG_CHECK_VALUES(g[0], {10, 0, 1000, 100 + 10000, 0, 0});
  // The global max splits a tie equally, as tf.reduce_max / torch.amax.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::global_max_pool2d(v[0]); }, {x})[0], {0.25, 0.25, 0.25, 0.25});
}

TEST_CASE("max_pool2d: a NaN in a window is the maximum, as PyTorch") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = f64({1, nan, 3, 2}, {1, 2, 2, 1});
  Tensor y = tg::max_pool2d(x);
  CHECK(std::isnan(y.item()));
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max_pool2d(v[0]); }, {x})[0], {0, 1, 0, 0});
}

TEST_CASE("pooling: the empty batch gives an empty output") {
  Tensor x = tg::zeros({0, 5, 5, 3}, tg::float64);
  for (const tg::PoolOptions& o : {opts({2}), opts({3}, {2}, "same")}) {
    const tg::Shape want = o.padding == "same" ? tg::Shape{0, 3, 3, 3} : tg::Shape{0, 2, 2, 3};
    CHECK(tg::max_pool2d(x, o).shape() == want);
    CHECK(tg::avg_pool2d(x, o).shape() == want);
    CHECK(grads_of([o](const V& v) { return tg::max_pool2d(v[0], o); }, {x})[0].shape() == x.shape());
    CHECK(grads_of([o](const V& v) { return tg::avg_pool2d(v[0], o); }, {x})[0].shape() == x.shape());
  }
  Tensor xcf = tg::zeros({0, 3, 4, 4}, tg::float64);
  CHECK(tg::max_pool2d(xcf, opts({2}, {}, "valid", "channels_first")).shape() == tg::Shape{0, 3, 2, 2});
  CHECK(tg::global_average_pool2d(x).shape() == tg::Shape{0, 3});
  CHECK(tg::global_max_pool2d(xcf, "channels_first", true).shape() == tg::Shape{0, 3, 1, 1});
}

TEST_CASE("pooling: float32 agrees with float64") {
  Tensor x = randn64({3, 7, 6, 4}, 60);
  for (const tg::PoolOptions& o : {opts({3}, {2}, "same"), opts({2}, {1}, "valid", "channels_first")}) {
    Tensor m32 = tg::max_pool2d(x.to(tg::float32), o), a32 = tg::avg_pool2d(x.to(tg::float32), o);
    CHECK(m32.dtype() == tg::float32);
    CHECK(a32.dtype() == tg::float32);
    TG_CHECK_TENSOR(m32, tg::max_pool2d(x, o), 1e-6, 1e-6);
    TG_CHECK_TENSOR(a32, tg::avg_pool2d(x, o), 1e-5, 1e-5);
  }
}

TEST_CASE("pooling: results do not depend on the number of threads") {
  // Large enough for the kernels to split the forward by output rows and the
  // backward by sample / plane (kElementwiseGrain reads a piece): 1, 2 and 3
  // threads give bit-identical values and gradients.
  const int saved = tg::get_num_threads();
  Tensor x = randn64({8, 64, 64, 16}, 80), xcf = randn64({4, 16, 64, 64}, 81);
  const tg::PoolOptions cl = opts({3}, {1}, "same"), cf = opts({3, 2}, {2, 1}, "same", "channels_first");
  Tensor u = randn64(tg::max_pool2d(x, cl).shape(), 82), ucf = randn64(tg::max_pool2d(xcf, cf).shape(), 83);
  auto run = [&] {
    V r;
    for (const bool max : {true, false}) {
      auto f = [max](const tg::PoolOptions& o) {
        return [max, o](const V& v) { return max ? tg::max_pool2d(v[0], o) : tg::avg_pool2d(v[0], o); };
      };
      r.push_back(f(cl)({x}));
      r.push_back(grads_of(f(cl), {x}, u)[0]);
      r.push_back(f(cf)({xcf}));
      r.push_back(grads_of(f(cf), {xcf}, ucf)[0]);
    }
    return r;
  };
  tg::set_num_threads(1);
  const V one = run();
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    tg::set_num_threads(threads);
    const V many = run();
    for (std::size_t i = 0; i < one.size(); ++i) {
      CAPTURE(i);
      TG_CHECK_TENSOR(many[i], one[i], 0, 0);
    }
  }
  tg::set_num_threads(saved);
}

TEST_CASE("pooling: bad input") {
  Tensor x = randn64({2, 5, 5, 3}, 70);
  auto max_err = [&](const Tensor& xx, const tg::PoolOptions& o) { return error_of([&] { tg::max_pool2d(xx, o); }); };
  auto avg_err = [&](const Tensor& xx, const tg::PoolOptions& o) { return error_of([&] { tg::avg_pool2d(xx, o); }); };

  std::string e = max_err(randn64({5, 5, 3}, 1), opts({2}));
  CHECK_CONTAINS(e, "max_pool2d: expects a 4-d input (batch, rows, cols, channels) for data_format \"channels_last\"");
  CHECK_CONTAINS(e, "received shape (5, 5, 3)");
  e = avg_err(randn64({1, 2, 5, 5, 3}, 1), opts({2}, {}, "valid", "channels_first"));
  CHECK_CONTAINS(e, "avg_pool2d: expects a 4-d input (batch, channels, rows, cols) for data_format \"channels_first\"");
  CHECK_CONTAINS(e, "received shape (1, 2, 5, 5, 3)");
  CHECK_CONTAINS(error_of([&] { tg::global_average_pool2d(randn64({4, 3}, 1)); }),
                 "global_average_pool2d: expects a 4-d input (batch, rows, cols, channels)");
  CHECK_CONTAINS(error_of([&] { tg::global_max_pool2d(randn64({4, 3, 2}, 1)); }),
                 "global_max_pool2d: expects a 4-d input");

  CHECK_CONTAINS(max_err(x, opts({0})), "max_pool2d: pool_size must be positive, received (0,)");
  CHECK_CONTAINS(avg_err(x, opts({2, -1})), "avg_pool2d: pool_size must be positive, received (2, -1)");
  CHECK_CONTAINS(max_err(x, opts({2, 2, 2})), "max_pool2d: pool_size must have 1 or 2 values (rows, cols), received (2, 2, 2)");
  CHECK_CONTAINS(max_err(x, opts({})), "pool_size must have 1 or 2 values (rows, cols), received ()");
  CHECK_CONTAINS(max_err(x, opts({2}, {0, 1})), "max_pool2d: strides must be positive, received (0, 1)");
  CHECK_CONTAINS(avg_err(x, opts({2}, {-2})), "avg_pool2d: strides must be positive, received (-2,)");
  CHECK_CONTAINS(avg_err(x, opts({2}, {1, 1, 1})), "avg_pool2d: strides must have 1 or 2 values (rows, cols), received (1, 1, 1)");

  e = max_err(x, opts({6, 3}));
  CHECK_CONTAINS(e, "max_pool2d: pool_size (6, 3) is larger than the input's spatial size (5, 5) with padding \"valid\"");
  CHECK_CONTAINS(e, "received input (2, 5, 5, 3) with data_format \"channels_last\"");
  CHECK(max_err(x, opts({6, 3}, {}, "same")).empty());  // "same" pads instead
  // A channels_first image (N, C, H, W) given to a channels_last op: C = 3 rows.
  e = avg_err(randn64({2, 3, 8, 8}, 1), opts({4}));
  CHECK_CONTAINS(e, "avg_pool2d: pool_size (4, 4) is larger than the input's spatial size (3, 8)");
  CHECK_CONTAINS(e, "if x is (batch, channels, rows, cols), pass data_format \"channels_first\"");
  e = avg_err(randn64({2, 8, 8, 3}, 1), opts({4}, {}, "valid", "channels_first"));
  CHECK_CONTAINS(e, "spatial size (8, 3)");
  CHECK_CONTAINS(e, "if x is (batch, rows, cols, channels), pass data_format \"channels_last\"");
  CHECK(!tgtest::contains(max_err(x, opts({9})), "if x is"));  // fits neither reading: no hint

  CHECK_CONTAINS(max_err(x, opts({2}, {}, "full")), "max_pool2d: padding must be \"valid\" or \"same\", received \"full\"");
  CHECK(max_err(x, opts({2}, {}, "SAME")).empty());  // case-insensitive, as Keras
  CHECK_CONTAINS(avg_err(x, opts({2}, {}, "valid", "NHWC")),
                 "avg_pool2d: data_format must be \"channels_last\" or \"channels_first\", received \"NHWC\"");
  CHECK_CONTAINS(error_of([&] { tg::global_average_pool2d(x, "nchw"); }),
                 "global_average_pool2d: data_format must be \"channels_last\" or \"channels_first\", received \"nchw\"");
  CHECK_CONTAINS(error_of([&] { tg::global_max_pool2d(x, "channels"); }), "global_max_pool2d: data_format must be");

  e = max_err(tg::zeros({1, 2, 2, 1}, tg::int64), opts({2}));
  CHECK_CONTAINS(e, "max_pool2d");
  CHECK_CONTAINS(e, "int64");
  e = error_of([&] { tg::global_max_pool2d(tg::zeros({2, 0, 4, 3}, tg::float64)); });
  CHECK_CONTAINS(e, "global_max_pool2d: expects an image of at least one cell, received shape (2, 0, 4, 3)");
}
