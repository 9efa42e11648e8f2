// moments and batch_normalization (tf.nn's), and the BatchNormalization and
// LayerNormalization layers (Keras 3's): gradchecks in float64, second
// derivatives, values and gradients against PyTorch 1.13 fixtures
// (scripts/make_norm_fixtures.py -> tests/fixtures/normalization.txt), the
// moving statistics by Keras's rule, saving and loading them, summaries, bad input.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cosine_fixtures.hpp"
#include "op_checks.hpp"
#include "temp_files.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using tgtest::uniform64;
using V = std::vector<Tensor>;

namespace {

// The fixtures share cosine.txt's line format (case / tensor / end).
const std::vector<CosineFixture>& norm_fixtures() {
  static const std::vector<CosineFixture> cases =
      load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/normalization.txt");
  return cases;
}

std::vector<const CosineFixture*> fixtures_of(const std::string& function) {
  std::vector<const CosineFixture*> out;
  for (const CosineFixture& c : norm_fixtures())
    if (c.function == function) out.push_back(&c);
  return out;
}

// Every axis of a rank-`rank` tensor but `axis` (non-negative).
std::vector<int> all_but(int rank, int axis) {
  std::vector<int> axes;
  for (int i = 0; i < rank; ++i)
    if (i != axis) axes.push_back(i);
  return axes;
}

// (1, ..., C, ..., 1): a per-channel vector shaped to broadcast along `axis`.
Tensor along(const Tensor& v, int rank, int axis) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank), 1);
  shape[static_cast<std::size_t>(axis)] = v.numel();
  return tg::reshape(v, shape);
}

}  // namespace

// ---- moments ----------------------------------------------------------------------

TEST_CASE("moments: mean and biased variance over the axes, keepdims, negative axes") {
  Tensor x = f64({1, 2, 3, 6}, {2, 2});
  tg::Moments m = tg::moments(x, {0});
  CHECK(m.mean.shape() == tg::Shape{2});
  TG_CHECK_VALUES(m.mean, {2, 4});
  TG_CHECK_VALUES(m.variance, {1, 4});  // ((1-2)^2 + (3-2)^2) / 2, ((2-4)^2 + (6-4)^2) / 2: divided by n, not n - 1
  tg::Moments rows = tg::moments(x, {-1}, /*keepdims=*/true);
  CHECK(rows.mean.shape() == tg::Shape{2, 1});
  CHECK(rows.variance.shape() == tg::Shape{2, 1});
  TG_CHECK_VALUES(rows.mean, {1.5, 4.5});
  TG_CHECK_VALUES(rows.variance, {0.25, 2.25});
  tg::Moments all = tg::moments(x, {});  // every axis, as tg::mean
  CHECK(all.mean.shape() == tg::Shape{});
  TG_CHECK_VALUES(all.mean, {3});
  TG_CHECK_VALUES(all.variance, {3.5});  // (4 + 1 + 0 + 9) / 4

  // (N, H, W, C) over (0, 1, 2), as BatchNormalization: the per-channel statistics.
  Tensor maps = randn64({3, 4, 5, 2}, 1);
  tg::Moments per_channel = tg::moments(maps, {0, -3, -2});
  CHECK(per_channel.mean.shape() == tg::Shape{2});
  const std::vector<double> v = tgtest::values_of(maps);
  for (int c = 0; c < 2; ++c) {
    double s = 0, s2 = 0;
    for (std::size_t i = static_cast<std::size_t>(c); i < v.size(); i += 2) s += v[i];
    const double mu = s / 60;
    for (std::size_t i = static_cast<std::size_t>(c); i < v.size(); i += 2) s2 += (v[i] - mu) * (v[i] - mu);
    CHECK(per_channel.mean.at({c}) == doctest::Approx(mu).epsilon(1e-13));
    CHECK(per_channel.variance.at({c}) == doctest::Approx(s2 / 60).epsilon(1e-13));
  }
  CHECK(tg::moments(maps.to(tg::float32), {0, 1, 2}).variance.dtype() == tg::float32);
}

TEST_CASE("moments: gradcheck and gradgradcheck") {
  for (bool keepdims : {false, true}) {
    CAPTURE(keepdims);
    TG_CHECK_GRADCHECK([keepdims](const V& v) { return tg::moments(v[0], {0}, keepdims).mean; }, {randn64({4, 3}, 2)});
    TG_CHECK_GRADCHECK([keepdims](const V& v) { return tg::moments(v[0], {0, 1, 2}, keepdims).variance; },
                       {randn64({2, 3, 2, 3}, 3)});
    TG_CHECK_GRADCHECK([keepdims](const V& v) { return tg::moments(v[0], {-1}, keepdims).variance; },
                       {randn64({3, 5}, 4)});
  }
  // Both statistics of one tensor in one function.
  TG_CHECK_GRADCHECK(
      [](const V& v) {
        tg::Moments m = tg::moments(v[0], {1, 2});
        return m.mean * m.variance;
      },
      {randn64({3, 2, 4}, 5)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::moments(v[0], {0}).variance; }, {randn64({4, 3}, 6)});
}

TEST_CASE("moments: bad input names the function") {
  Tensor x = randn64({2, 3}, 1);
  CHECK_THROWS_WITH_AS(tg::moments(x, {2}), "moments: axis 2 out of range for shape (2, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::moments(x, {1, -1}), "moments: axis 1 appears twice in the axes list (shape (2, 3))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::moments(Tensor(), {0}), "moments: received an undefined tensor", std::invalid_argument);
  CHECK(tgtest::contains(error_of([&] { tg::moments(tgtest::i64({1, 2}), {0}); }),
                         "moments: expected a float32 or float64 tensor, received (2,) int64"));
}

// ---- batch_normalization ----------------------------------------------------------

TEST_CASE("batch_normalization: values, with and without offset and scale") {
  // (x - mean) / sqrt(variance + epsilon) * scale + offset, per channel (last axis).
  Tensor x = f64({1, 3, 0, -4}, {2, 2});
  Tensor mean = f64({2, -1}), variance = f64({1, 3}), offset = f64({0.5, -1}), scale = f64({2, 0.5});
  const double eps = 1e-3;
  const double s0 = 1 / std::sqrt(1 + eps), s1 = 1 / std::sqrt(3 + eps);
  TG_CHECK_VALUES(tg::batch_normalization(x, mean, variance, offset, scale, eps),
                  {(1 - 2) * s0 * 2 + 0.5, (3 + 1) * s1 * 0.5 - 1, (0 - 2) * s0 * 2 + 0.5, (-4 + 1) * s1 * 0.5 - 1},
                  1e-14, 1e-14);
  TG_CHECK_VALUES(tg::batch_normalization(x, mean, variance, Tensor(), Tensor(), eps),
                  {(1 - 2) * s0, (3 + 1) * s1, (0 - 2) * s0, (-4 + 1) * s1}, 1e-14, 1e-14);
  TG_CHECK_VALUES(tg::batch_normalization(x, mean, variance, offset, Tensor(), eps),
                  {(1 - 2) * s0 + 0.5, (3 + 1) * s1 - 1, (0 - 2) * s0 + 0.5, (-4 + 1) * s1 - 1}, 1e-14, 1e-14);
  TG_CHECK_VALUES(tg::batch_normalization(x, mean, variance, Tensor(), scale, eps),
                  {(1 - 2) * s0 * 2, (3 + 1) * s1 * 0.5, (0 - 2) * s0 * 2, (-4 + 1) * s1 * 0.5}, 1e-14, 1e-14);
  // The header's example, and the statistics of a channels-first map as (C, 1, 1).
  TG_CHECK_VALUES(tg::batch_normalization(f64({1, 3}), f64({2}), f64({1}), f64({0}), f64({2}), 1e-3),
                  {-2 / std::sqrt(1.001), 2 / std::sqrt(1.001)}, 1e-14, 1e-14);
  Tensor nchw = randn64({2, 3, 2, 2}, 1);
  Tensor out = tg::batch_normalization(nchw, f64({0, 0, 0}, {3, 1, 1}), f64({1, 1, 1}, {3, 1, 1}), Tensor(),
                                       Tensor(), 1e-3);
  CHECK(out.shape() == nchw.shape());
  TG_CHECK_TENSOR(out, nchw * (1 / std::sqrt(1.001)), 1e-14, 1e-14);
  CHECK(tg::batch_normalization(x.to(tg::float32), mean.to(tg::float32), variance.to(tg::float32), Tensor(),
                                Tensor(), eps)
            .dtype() == tg::float32);
}

TEST_CASE("batch_normalization: gradcheck through every input, broadcasting, absent offset and scale") {
  // Per channel of (N, C), of (N, H, W, C), of (N, C, H, W) as (C, 1, 1), and one
  // statistic for every element (as LayerNormalization's per-sample moments).
  struct Case {
    tg::Shape x, stats, params;
  };
  const std::vector<Case> cases = {
      {{5, 3}, {3}, {3}},
      {{2, 3, 2, 4}, {4}, {1, 1, 4}},
      {{2, 3, 2, 2}, {3, 1, 1}, {1, 3, 1, 1}},
      {{3, 4}, {3, 1}, {4}},
      {{2, 3}, {2, 3}, {}},
  };
  std::uint64_t seed = 10;
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.stats);
    TG_CHECK_GRADCHECK(
        [](const V& v) { return tg::batch_normalization(v[0], v[1], v[2], v[3], v[4], 1e-3); },
        {randn64(c.x, seed), randn64(c.stats, seed + 1), uniform64(c.stats, 0.2, 2.0, seed + 2), randn64(c.params, seed + 3),
         randn64(c.params, seed + 4)});
    TG_CHECK_GRADCHECK([](const V& v) { return tg::batch_normalization(v[0], v[1], v[2], Tensor(), Tensor(), 1e-3); },
                       {randn64(c.x, seed + 5), randn64(c.stats, seed + 6), uniform64(c.stats, 0.2, 2.0, seed + 7)});
    seed += 8;
  }
  // With the batch's own moments: the statistics are differentiated too.
  TG_CHECK_GRADCHECK(
      [](const V& v) {
        tg::Moments m = tg::moments(v[0], {0, 1, 2}, true);
        return tg::batch_normalization(v[0], m.mean, m.variance, v[1], v[2], 1e-3);
      },
      {randn64({3, 2, 2, 3}, 60), randn64({3}, 61), randn64({3}, 62)});
}

TEST_CASE("batch_normalization: gradgradcheck (composed of differentiable ops)") {
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::batch_normalization(v[0], v[1], v[2], v[3], v[4], 1e-3); },
                         {randn64({4, 3}, 1), randn64({3}, 2), uniform64({3}, 0.3, 2.0, 3), randn64({3}, 4),
                          randn64({3}, 5)});
  TG_CHECK_GRADGRADCHECK(
      [](const V& v) {
        tg::Moments m = tg::moments(v[0], {0}, true);
        return tg::batch_normalization(v[0], m.mean, m.variance, Tensor(), v[1], 1e-3);
      },
      {randn64({5, 2}, 6), randn64({2}, 7)});
}

TEST_CASE("batch_normalization: batch statistics against PyTorch 1.13 (F.batch_norm, training=True)") {
  const auto cases = fixtures_of("bn_train");
  REQUIRE(cases.size() == 3);
  for (const CosineFixture* c : cases) {
    CAPTURE(c->name);
    const Tensor& x = c->tensors.at("x");
    const int axis = (std::stoi(c->params.at("axis")) + x.rank()) % x.rank();
    const double eps = std::stod(c->params.at("epsilon"));
    auto f = [axis, eps](const V& v) {
      tg::Moments m = tg::moments(v[0], all_but(v[0].rank(), axis), /*keepdims=*/true);
      return tg::batch_normalization(v[0], m.mean, m.variance, along(v[2], v[0].rank(), axis),
                                     along(v[1], v[0].rank(), axis), eps);
    };
    const V inputs = {x, c->tensors.at("gamma"), c->tensors.at("beta")};
    TG_CHECK_TENSOR(f(inputs), c->tensors.at("y"), 1e-10, 1e-12);
    V g = grads_of(f, inputs, c->tensors.at("u"));
    TG_CHECK_TENSOR(g[0], c->tensors.at("gx"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[1], c->tensors.at("ggamma"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[2], c->tensors.at("gbeta"), 1e-9, 1e-11);
    // The biased variance, as Keras and F.batch_norm's normalization.
    tg::Moments m = tg::moments(x, all_but(x.rank(), axis));
    const Tensor mean1 = c->tensors.at("moving_mean_1"), var1 = c->tensors.at("moving_variance_1");
    TG_CHECK_TENSOR(m.mean * 0.01, mean1, 1e-10, 1e-13);
    TG_CHECK_TENSOR(m.variance * 0.01 + 0.99, var1, 1e-10, 1e-13);
  }
}

TEST_CASE("batch_normalization: given statistics against PyTorch 1.13 (F.batch_norm, training=False)") {
  const auto cases = fixtures_of("bn_infer");
  REQUIRE(cases.size() == 3);
  for (const CosineFixture* c : cases) {
    CAPTURE(c->name);
    const Tensor& x = c->tensors.at("x");
    const int axis = (std::stoi(c->params.at("axis")) + x.rank()) % x.rank();
    const double eps = std::stod(c->params.at("epsilon"));
    auto f = [axis, eps](const V& v) {
      const int rank = v[0].rank();
      return tg::batch_normalization(v[0], along(v[1], rank, axis), along(v[2], rank, axis), along(v[4], rank, axis),
                                     along(v[3], rank, axis), eps);
    };
    const V inputs = {x, c->tensors.at("mean"), c->tensors.at("variance"), c->tensors.at("gamma"),
                      c->tensors.at("beta")};
    TG_CHECK_TENSOR(f(inputs), c->tensors.at("y"), 1e-10, 1e-12);
    V g = grads_of(f, inputs, c->tensors.at("u"));
    const char* labels[] = {"gx", "gmean", "gvariance", "ggamma", "gbeta"};
    for (int i = 0; i < 5; ++i) {
      CAPTURE(labels[i]);
      TG_CHECK_TENSOR(g[static_cast<std::size_t>(i)], c->tensors.at(labels[i]), 1e-9, 1e-11);
    }
  }
}

TEST_CASE("batch_normalization: layer norm as moments over the feature axes, against F.layer_norm") {
  const auto cases = fixtures_of("layer_norm");
  REQUIRE(cases.size() == 5);
  for (const CosineFixture* c : cases) {
    CAPTURE(c->name);
    const Tensor& x = c->tensors.at("x");
    std::vector<int> axes = parse_axes(c->params.at("axis"));
    for (int& a : axes) a = (a + x.rank()) % x.rank();
    const double eps = std::stod(c->params.at("epsilon"));
    // gamma and beta have the normalized axes' dims; shape them to broadcast.
    std::vector<std::int64_t> pshape(static_cast<std::size_t>(x.rank()), 1);
    for (int a : axes) pshape[static_cast<std::size_t>(a)] = x.dim(a);
    auto f = [axes, eps, pshape](const V& v) {
      tg::Moments m = tg::moments(v[0], axes, true);
      return tg::batch_normalization(v[0], m.mean, m.variance, tg::reshape(v[2], pshape), tg::reshape(v[1], pshape),
                                     eps);
    };
    const V inputs = {x, c->tensors.at("gamma"), c->tensors.at("beta")};
    TG_CHECK_TENSOR(f(inputs), c->tensors.at("y"), 1e-10, 1e-12);
    V g = grads_of(f, inputs, c->tensors.at("u"));
    TG_CHECK_TENSOR(g[0], c->tensors.at("gx"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[1], c->tensors.at("ggamma"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[2], c->tensors.at("gbeta"), 1e-9, 1e-11);
  }
}

TEST_CASE("batch_normalization: a batch of one normalizes to the offset (variance 0)") {
  Tensor x = f64({3, -1, 7}, {1, 3});
  tg::Moments m = tg::moments(x, {0}, true);
  TG_CHECK_VALUES(m.variance, {0, 0, 0});
  Tensor beta = f64({0.5, -2, 1}), gamma = f64({2, 3, 4});
  TG_CHECK_VALUES(tg::batch_normalization(x, m.mean, m.variance, beta, gamma, 1e-3), {0.5, -2, 1});
  // Its gradient to x is 0: each value is its own mean.
  V g = grads_of(
      [](const V& v) {
        tg::Moments s = tg::moments(v[0], {0}, true);
        return tg::batch_normalization(v[0], s.mean, s.variance, Tensor(), v[1], 1e-3);
      },
      {x, gamma}, f64({1, 2, 3}, {1, 3}));
  TG_CHECK_VALUES(g[0], {0, 0, 0});
  TG_CHECK_VALUES(g[1], {0, 0, 0});
}

TEST_CASE("batch_normalization: bad input names the function, what it expected and what it received") {
  Tensor x = randn64({4, 3}, 1), s = uniform64({3}, 0.5, 1.0, 2);
  CHECK(error_of([&] { tg::batch_normalization(x, randn64({3}, 3), uniform64({1, 3}, 0.5, 1, 4), s, s, 1e-3); }) ==
        "batch_normalization: expects mean and variance of one shape, received mean (3,) and variance (1, 3)");
  CHECK(error_of([&] { tg::batch_normalization(x, randn64({4}, 3), randn64({4}, 4), s, s, 1e-3); }) ==
        "batch_normalization: mean must broadcast to x's shape (4, 3) (each dimension 1 or x's, right-aligned), "
        "received mean of shape (4,) (x's axis 1: 3 vs 4)");
  CHECK(error_of([&] { tg::batch_normalization(x, s, s, randn64({2, 4, 3}, 3), s, 1e-3); }) ==
        "batch_normalization: offset must broadcast to x's shape (4, 3) (rank at most 2), received offset of shape "
        "(2, 4, 3)");
  CHECK(error_of([&] { tg::batch_normalization(x, s, s, s, randn64({2}, 3), 1e-3); }) ==
        "batch_normalization: scale must broadcast to x's shape (4, 3) (each dimension 1 or x's, right-aligned), "
        "received scale of shape (2,) (x's axis 1: 3 vs 2)");
  CHECK(error_of([&] { tg::batch_normalization(x, s, s, s, s, 0.0); }) ==
        "batch_normalization: epsilon must be a finite number > 0, received 0");
  CHECK(error_of([&] { tg::batch_normalization(x, s, s, s, s, -1e-3); }) ==
        "batch_normalization: epsilon must be a finite number > 0, received -0.001");
  CHECK(error_of([&] { tg::batch_normalization(x, s, Tensor(), s, s, 1e-3); }) ==
        "batch_normalization: received an undefined tensor");
  CHECK(error_of([&] { tg::batch_normalization(x, s.to(tg::float32), s, s, s, 1e-3); }) ==
        "batch_normalization: dtypes differ: float64 and float32 (convert one with .to(tg::float32) or .to(tg::float64))");
}

// ---- BatchNormalization -----------------------------------------------------------

namespace {

using tg::layers::BatchNormalization;
using tg::layers::BatchNormalizationOptions;
using tg::layers::LayerNormalization;
using tg::layers::LayerNormalizationOptions;

// Runs the wrapped layer in training mode, so that the layer gradcheck (which
// calls in inference mode) checks the training path and its weights.
class InTraining : public tg::Layer {
 public:
  explicit InTraining(tg::Ref<tg::Layer> inner) : tg::Layer("InTraining"), inner_(std::move(inner)) {}
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override { return inner_->run(inputs, true); }
  std::vector<std::shared_ptr<tg::Layer>> sublayers() const override { return {inner_}; }

 private:
  tg::Ref<tg::Layer> inner_;
};

}  // namespace

TEST_CASE("BatchNormalization: training and inference against PyTorch, moving statistics by Keras's rule") {
  for (const CosineFixture* c : fixtures_of("bn_train")) {
    CAPTURE(c->name);
    BatchNormalizationOptions o;
    o.axis = std::stoi(c->params.at("axis"));
    auto bn = BatchNormalization::make(o);
    const Tensor& x = c->tensors.at("x");
    bn(x);  // builds float64 weights; inference changes no statistic
    TG_CHECK_VALUES(bn->moving_mean(), std::vector<double>(static_cast<std::size_t>(bn->moving_mean().numel()), 0.0));
    bn->gamma().assign(c->tensors.at("gamma"));
    bn->beta().assign(c->tensors.at("beta"));
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y = bn(x, /*training=*/true);
    V g = tape.gradient(y, {x, bn->gamma(), bn->beta()}, c->tensors.at("u"));
    TG_CHECK_TENSOR(y, c->tensors.at("y"), 1e-10, 1e-12);
    TG_CHECK_TENSOR(g[0], c->tensors.at("gx"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[1], c->tensors.at("ggamma"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[2], c->tensors.at("gbeta"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(bn->moving_mean(), c->tensors.at("moving_mean_1"), 1e-12, 1e-14);
    TG_CHECK_TENSOR(bn->moving_variance(), c->tensors.at("moving_variance_1"), 1e-12, 1e-14);
    bn(c->tensors.at("x2"), true);
    bn(c->tensors.at("x3"), true);
    TG_CHECK_TENSOR(bn->moving_mean(), c->tensors.at("moving_mean_3"), 1e-12, 1e-14);
    TG_CHECK_TENSOR(bn->moving_variance(), c->tensors.at("moving_variance_3"), 1e-12, 1e-14);
  }
  for (const CosineFixture* c : fixtures_of("bn_infer")) {
    CAPTURE(c->name);
    BatchNormalizationOptions o;
    o.axis = std::stoi(c->params.at("axis"));
    auto bn = BatchNormalization::make(o);
    const Tensor& x = c->tensors.at("x");
    bn(x);
    bn->gamma().assign(c->tensors.at("gamma"));
    bn->beta().assign(c->tensors.at("beta"));
    bn->moving_mean().assign(c->tensors.at("mean"));
    bn->moving_variance().assign(c->tensors.at("variance"));
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y = bn(x);
    V g = tape.gradient(y, {x, bn->gamma(), bn->beta()}, c->tensors.at("u"));
    TG_CHECK_TENSOR(y, c->tensors.at("y"), 1e-10, 1e-12);
    TG_CHECK_TENSOR(g[0], c->tensors.at("gx"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[1], c->tensors.at("ggamma"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[2], c->tensors.at("gbeta"), 1e-9, 1e-11);
    CHECK_FALSE(bn->moving_mean().trainable());  // a non-trainable weight: no tape watches it
  }
}

TEST_CASE("BatchNormalization: gradcheck in inference and in training mode") {
  for (int axis : {-1, 1}) {
    CAPTURE(axis);
    BatchNormalizationOptions o;
    o.axis = axis;
    TG_CHECK_GRADCHECK(BatchNormalization::make(o), {randn64({4, 3, 2, 3}, 1)});
    auto bn = BatchNormalization::make(o);
    TG_CHECK_GRADCHECK(tg::make_layer<InTraining>(bn), {randn64({4, 3, 2, 3}, 2)});
  }
  BatchNormalizationOptions plain;
  plain.center = plain.scale = false;
  TG_CHECK_GRADCHECK(tg::make_layer<InTraining>(BatchNormalization::make(plain)), {randn64({5, 2}, 3)});
}

TEST_CASE("BatchNormalization: a batch of one in training gives beta; an empty batch updates nothing") {
  auto bn = BatchNormalization::make();
  Tensor x = f64({3, -1, 7}, {1, 3});
  bn(x);
  bn->beta().assign(f64({0.5, -2, 1}));
  bn->gamma().assign(f64({2, 3, 4}));
  TG_CHECK_VALUES(bn(x, true), {0.5, -2, 1});
  TG_CHECK_VALUES(bn->moving_mean(), {0.03, -0.01, 0.07}, 1e-12, 1e-15);
  TG_CHECK_VALUES(bn->moving_variance(), {0.99, 0.99, 0.99}, 1e-12, 1e-15);
  Tensor empty = tg::zeros({0, 3}, tg::float64);
  CHECK(bn(empty, true).shape() == tg::Shape{0, 3});
  TG_CHECK_VALUES(bn->moving_mean(), {0.03, -0.01, 0.07}, 1e-12, 1e-15);
}

TEST_CASE("BatchNormalization: Keras's summary counts, save_weights / load_weights restore the moving statistics") {
  auto input = tg::Input({8, 8, 64});
  auto bn = BatchNormalization::make();
  auto model = tg::Model::make({input}, bn(input));
  const std::string s = model->summary_string();
  CHECK_CONTAINS(s, "(None, 8, 8, 64)");
  CHECK_CONTAINS(s, "256");
  CHECK_CONTAINS(s, "Total params: 256 (1.00 KB)");
  CHECK_CONTAINS(s, "Trainable params: 128 (512.00 B)");
  CHECK_CONTAINS(s, "Non-trainable params: 128 (512.00 B)");

  Tensor x = tg::randn({4, 8, 8, 64}, 5);
  bn(x, true);
  bn(x * 2.0 + 1.0, true);
  const Tensor mean = bn->moving_mean().clone(), variance = bn->moving_variance().clone();
  tgtest::TempDir dir;
  model->save_weights(dir.file("bn.npz"));
  bn->moving_mean().assign(tg::zeros({64}));
  bn->moving_variance().assign(tg::ones({64}));
  model->load_weights(dir.file("bn.npz"));
  TG_CHECK_TENSOR(bn->moving_mean(), mean, 0, 0);
  TG_CHECK_TENSOR(bn->moving_variance(), variance, 0, 0);
}

TEST_CASE("BatchNormalization: inside a Siamese model, fit trains it and updates the statistics, predict does not") {
  auto base = tg::Sequential::make({tg::layers::Dense::make(4), BatchNormalization::make(), tg::layers::Dense::make(2)});
  auto a = tg::Input({3}), b = tg::Input({3});
  auto diff = tg::layers::Subtract::make()({base(a), base(b)});
  auto model = tg::Model::make({a, b}, diff);
  model->compile("sgd", "mse");
  Tensor xa = tg::randn({16, 3}, 1), xb = tg::randn({16, 3}, 2), y = tg::zeros({16, 2});
  auto bn = std::dynamic_pointer_cast<BatchNormalization>(std::shared_ptr<tg::Layer>(base->layers()[1]));
  REQUIRE(bn);
  model->fit({xa, xb}, y, {.epochs = 1, .batch_size = 8, .verbose = 0});
  const Tensor after_fit = bn->moving_mean().clone();
  CHECK(tgtest::values_of(after_fit) != std::vector<double>(4, 0.0));  // two calls per step, two steps
  model->predict({xa, xb});
  TG_CHECK_TENSOR(bn->moving_mean(), after_fit, 0, 0);
}

TEST_CASE("BatchNormalization: bad arguments and inputs name the layer, the expectation and what was received") {
  BatchNormalizationOptions o;
  o.momentum = 1.5;
  CHECK(error_of([&] { BatchNormalization::make(o); }) == "BatchNormalization: momentum must be in [0, 1], received 1.5");
  o.momentum = 0.9;
  o.epsilon = 0;
  CHECK(error_of([&] { BatchNormalization::make(o); }) ==
        "BatchNormalization: epsilon must be a finite number > 0, received 0");
  o.epsilon = 1e-3;
  o.axis = 3;
  o.name = "bn";
  CHECK_THROWS_WITH_AS(BatchNormalization::make(o)(randn64({2, 3}, 1)),
                       "bn (BatchNormalization): axis 3 is out of range for inputs of rank 2 (expected -2 to 1), "
                       "received inputs of shape (None, 3)",
                       std::out_of_range);
  o.axis = 0;
  CHECK(error_of([&] { BatchNormalization::make(o)(randn64({2, 3}, 1)); }) ==
        "bn (BatchNormalization): axis 0 is the batch axis (axes count the batch axis 0, as Keras's), received inputs "
        "of shape (None, 3)");
  auto bn = BatchNormalization::make();
  bn(randn64({2, 3}, 1));
  CHECK(tgtest::contains(error_of([&] { bn(randn64({2, 4}, 1)); }), ": expects 3 channels on axis 1, received inputs of shape (2, 4)"));
  CHECK(tgtest::contains(error_of([&] { bn(randn64({2, 3, 1}, 1)); }), ": expects inputs of rank 2 (the rank it was built for), received (2, 3, 1)"));
}

// ---- LayerNormalization -----------------------------------------------------------

TEST_CASE("LayerNormalization: against F.layer_norm, gradcheck, bad arguments") {
  for (const CosineFixture* c : fixtures_of("layer_norm")) {
    CAPTURE(c->name);
    LayerNormalizationOptions o;
    o.axis = parse_axes(c->params.at("axis"));
    auto ln = LayerNormalization::make(o);
    const Tensor& x = c->tensors.at("x");
    ln(x);
    ln->gamma().assign(c->tensors.at("gamma"));
    ln->beta().assign(c->tensors.at("beta"));
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y = ln(x, true);
    V g = tape.gradient(y, {x, ln->gamma(), ln->beta()}, c->tensors.at("u"));
    TG_CHECK_TENSOR(y, c->tensors.at("y"), 1e-10, 1e-12);
    TG_CHECK_TENSOR(g[0], c->tensors.at("gx"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[1], c->tensors.at("ggamma"), 1e-9, 1e-11);
    TG_CHECK_TENSOR(g[2], c->tensors.at("gbeta"), 1e-9, 1e-11);
    TG_CHECK_GRADCHECK(LayerNormalization::make(o), {randn64(x.shape(), 7)});
  }
  auto input = tg::Input({5, 64});
  auto model = tg::Model::make({input}, LayerNormalization::make()(input));
  CHECK_CONTAINS(model->summary_string(), "Trainable params: 128 (512.00 B)");
  LayerNormalizationOptions bad;
  bad.epsilon = -1;
  CHECK(error_of([&] { LayerNormalization::make(bad); }) ==
        "LayerNormalization: epsilon must be a finite number > 0, received -1");
  bad.epsilon = 1e-3;
  bad.axis = {2};
  CHECK_THROWS_AS(LayerNormalization::make(bad)(randn64({2, 3}, 1)), std::out_of_range);
}
