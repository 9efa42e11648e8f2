// Activations: gradchecks, second derivatives, hand values, stability at
// large |x|, edge cases and bad input. PyTorch values: test_fixtures.cpp, and
// for Keras 3's gelu ... mish tests/fixtures/activations.txt (made by
// scripts/make_activation_fixtures.py), read here.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <string>
#include <stdexcept>

#include "cosine_fixtures.hpp"
#include "op_checks.hpp"

using tg::Tensor;
using tgtest::away_from_zero;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

namespace {
Tensor scaled(const tg::Shape& shape, std::uint64_t seed, double scale) { return tg::mul(randn64(shape, seed), tg::Tensor::scalar(scale, tg::float64)); }
}  // namespace

TEST_CASE("activation: gradcheck the pointwise activations") {
  TG_CHECK_GRADCHECK([](const V& v) { return tg::relu(v[0]); }, {away_from_zero({3, 4}, 1)});
  for (std::uint64_t seed : {2, 3}) {
    Tensor x = scaled({3, 4}, seed, 3.0);  // values up to about +-9
    TG_CHECK_GRADCHECK([](const V& v) { return tg::sigmoid(v[0]); }, {x});
    TG_CHECK_GRADCHECK([](const V& v) { return tg::tanh(v[0]); }, {x});
    TG_CHECK_GRADCHECK([](const V& v) { return tg::softplus(v[0]); }, {x});
    TG_CHECK_GRADCHECK([](const V& v) { return tg::log_sigmoid(v[0]); }, {x});
  }
  // Far into the tails, where the stable formulas switch branches.
  Tensor tails = f64({-30.0, -12.0, -0.5, 0.5, 12.0, 30.0});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sigmoid(v[0]); }, {tails});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::softplus(v[0]); }, {tails});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::log_sigmoid(v[0]); }, {tails});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sigmoid(v[0]); }, {randn64({}, 4)});  // 0-d
}

TEST_CASE("activation: gradcheck softmax and log_softmax along each axis") {
  Tensor x = randn64({2, 3, 4}, 1);
  for (int axis : {0, 1, 2, -1, -2, -3}) {
    CAPTURE(axis);
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::softmax(v[0], axis); }, {x});
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::log_softmax(v[0], axis); }, {x});
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::softmax(v[0]); }, {randn64({5}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::log_softmax(v[0]); }, {randn64({1, 1}, 3)});
  // Large logits: the max is subtracted, so the gradient is the same as for small ones.
  Tensor big = tg::add(scaled({2, 4}, 4, 2.0), tg::Tensor::scalar(500.0, tg::float64));
  TG_CHECK_GRADCHECK([](const V& v) { return tg::softmax(v[0], -1); }, {big});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::log_softmax(v[0], -1); }, {big});
}

TEST_CASE("activation: gradgradcheck sigmoid, tanh, softplus, log_sigmoid, softmax, log_softmax") {
  Tensor x = scaled({3, 4}, 1, 2.0);
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::sigmoid(v[0]); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::tanh(v[0]); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::softplus(v[0]); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::log_sigmoid(v[0]); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::softmax(v[0], -1); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::softmax(v[0], 0); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::log_softmax(v[0], 1); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::relu(v[0]); }, {away_from_zero({5}, 2)});
}

TEST_CASE("activation: values and gradients by hand") {
  // relu: max(x, 0); gradient 1 where x > 0, and 0 at x == 0 (as PyTorch).
  Tensor r = f64({-1.0, 0.0, 2.0});
  TG_CHECK_VALUES(tg::relu(r), {0, 0, 2});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::relu(v[0]); }, {r})[0], {0, 0, 1});

  // At x = 0 and x = ln 3: sigmoid = 1/2 and 1/(1 + 1/3) = 3/4;
  // sigmoid' = y(1 - y) = 1/4 and 3/16.
  Tensor x = f64({0.0, std::log(3.0)});
  TG_CHECK_VALUES(tg::sigmoid(x), {0.5, 0.75});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::sigmoid(v[0]); }, {x})[0], {0.25, 3.0 / 16});
  // softplus = log(1 + e^x) = ln 2 and ln 4; softplus' = sigmoid = 1/2 and 3/4.
  TG_CHECK_VALUES(tg::softplus(x), {std::log(2.0), std::log(4.0)});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::softplus(v[0]); }, {x})[0], {0.5, 0.75});
  // log_sigmoid = log(1/2) and log(3/4); its derivative sigmoid(-x) = 1/2 and 1/4.
  TG_CHECK_VALUES(tg::log_sigmoid(x), {-std::log(2.0), std::log(0.75)});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::log_sigmoid(v[0]); }, {x})[0], {0.5, 0.25});
  // tanh(ln 2) = (4 - 1)/(4 + 1) = 0.6; tanh' = 1 - 0.36 = 0.64.
  Tensor t = f64({0.0, std::log(2.0)});
  TG_CHECK_VALUES(tg::tanh(t), {0.0, 0.6});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::tanh(v[0]); }, {t})[0], {1.0, 0.64});
}

TEST_CASE("activation: softmax and log_softmax by hand") {
  // exp([0, ln 2, ln 5]) = [1, 2, 5], total 8.
  Tensor x = f64({0.0, std::log(2.0), std::log(5.0)});
  TG_CHECK_VALUES(tg::softmax(x), {0.125, 0.25, 0.625});
  TG_CHECK_VALUES(tg::log_softmax(x), {-3 * std::log(2.0), -2 * std::log(2.0), std::log(5.0 / 8)});
  // Upstream [1, 0, 0]: softmax' = y * (g - sum(g * y)) = y * (g - 0.125):
  // 0.125 * 0.875, 0.25 * -0.125, 0.625 * -0.125.
  Tensor u = f64({1.0, 0.0, 0.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::softmax(v[0]); }, {x}, u)[0], {0.109375, -0.03125, -0.078125});
  // log_softmax' = g - softmax * sum(g) = [1 - 0.125, -0.25, -0.625].
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::log_softmax(v[0]); }, {x}, u)[0], {0.875, -0.25, -0.625});
  // Along axis 0 of a (3, 2): each column is its own distribution.
  Tensor m = f64({0.0, 1.0, std::log(2.0), 1.0, std::log(5.0), 1.0}, {3, 2});
  TG_CHECK_VALUES(tg::softmax(m, 0), {0.125, 1.0 / 3, 0.25, 1.0 / 3, 0.625, 1.0 / 3});
  // Gradient with an all-ones upstream is 0: the outputs sum to a constant.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::softmax(v[0], 0); }, {m})[0], {0, 0, 0, 0, 0, 0}, 0, 1e-15);
}

TEST_CASE("activation: NaN propagates through every activation") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = f64({nan, -1.0, 2.0});
  // relu(NaN) is NaN (as PyTorch and numpy.maximum(x, 0)), not 0; its gradient there is 0 (x > 0 is false).
  CHECK(std::isnan(tg::relu(x).at({0})));
  TG_CHECK_VALUES(tg::relu(x), {nan, 0, 2});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::relu(v[0]); }, {x})[0], {0, 0, 1});
  for (auto f : {&tg::sigmoid, &tg::tanh, &tg::softplus, &tg::log_sigmoid}) CHECK(std::isnan(f(x).at({0})));
}

TEST_CASE("activation: a NaN or +inf logit makes its softmax and log_softmax lane NaN, as PyTorch") {
  // PyTorch 1.13: softmax([nan, 1, 2]) and softmax([inf, 1, 2]) are all NaN (x - max is
  // NaN, or inf - inf), and so are their gradients; the other lanes are untouched:
  // softmax([1, 2, 3]) = [0.09003057317038045, 0.2447284710547976, 0.6652409557748218],
  // log_softmax = [-2.4076059644443806, -1.4076059644443804, -0.4076059644443804].
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double bad : {nan, inf}) {
    CAPTURE(bad);
    for (tg::DType dtype : {tg::float64, tg::float32}) {
      const double tol = dtype == tg::float64 ? 1e-15 : 1e-6;
      Tensor x = f64({bad, 1.0, 2.0, 1.0, 2.0, 3.0}, {2, 3}).to(dtype);
      TG_CHECK_VALUES(tg::softmax(x, 1), {nan, nan, nan, 0.09003057317038045, 0.2447284710547976, 0.6652409557748218},
                      tol);
      TG_CHECK_VALUES(tg::log_softmax(x, 1),
                      {nan, nan, nan, -2.4076059644443806, -1.4076059644443804, -0.4076059644443804}, tol);
      // The same lanes along axis 0 (a strided lane).
      Tensor xt = tg::transpose(x);
      TG_CHECK_VALUES(tg::softmax(xt, 0), {nan, 0.09003057317038045, nan, 0.2447284710547976, nan, 0.6652409557748218},
                      tol);
      Tensor u = f64({1.0, -2.0, 0.5, 1.0, -2.0, 0.5}, {2, 3}).to(dtype);
      for (bool log : {false, true}) {
        CAPTURE(log);
        Tensor g = grads_of([log](const V& v) { return log ? tg::log_softmax(v[0], 1) : tg::softmax(v[0], 1); }, {x}, u)[0];
        std::vector<double> gv = g.to(tg::float64).to_vector<double>();
        for (int i = 0; i < 3; ++i) CHECK(std::isnan(gv[static_cast<std::size_t>(i)]));
        for (int i = 3; i < 6; ++i) CHECK(std::isfinite(gv[static_cast<std::size_t>(i)]));
      }
    }
  }
  // A lane of -inf only has no distribution: NaN, as PyTorch (-inf - -inf).
  TG_CHECK_VALUES(tg::softmax(f64({-inf, -inf})), {nan, nan});
}

TEST_CASE("activation: softmax and log_softmax with -inf (masked) logits") {
  // exp(-inf) = 0: masked entries get probability 0 and the rest renormalise:
  // [0.5, -inf, 1.5] -> [1, 0, e] / (1 + e).
  const double inf = std::numeric_limits<double>::infinity();
  const double e = std::exp(1.0);
  Tensor x = f64({0.5, -inf, 1.5});
  TG_CHECK_VALUES(tg::softmax(x), {1 / (1 + e), 0, e / (1 + e)});
  TG_CHECK_VALUES(tg::log_softmax(x), {-std::log1p(e), -inf, 1 - std::log1p(e)});
  Tensor u = f64({1.0, 2.0, -1.0});
  auto gs = grads_of([](const V& v) { return tg::softmax(v[0]); }, {x}, u)[0];
  auto gl = grads_of([](const V& v) { return tg::log_softmax(v[0]); }, {x}, u)[0];
  // softmax: y (u - sum(u y)); the masked entry gets exactly 0.
  const double p0 = 1 / (1 + e), p2 = e / (1 + e), dot = p0 * 1 - p2 * 1;
  TG_CHECK_VALUES(gs, {p0 * (1 - dot), 0, p2 * (-1 - dot)});
  // log_softmax: u - y sum(u), with sum(u) = 2: the masked entry keeps its upstream.
  TG_CHECK_VALUES(gl, {1 - 2 * p0, 2, -1 - 2 * p2});
}

TEST_CASE("activation: sigmoid, softplus, log_sigmoid and tanh are finite and exact at |x| = 1e4") {
  Tensor x = f64({-1e4, 1e4});
  TG_CHECK_VALUES(tg::sigmoid(x), {0.0, 1.0});
  TG_CHECK_VALUES(tg::tanh(x), {-1.0, 1.0});
  // softplus(x) = max(x, 0) + log1p(exp(-|x|)): 0 and 1e4 (e^-1e4 underflows to 0).
  TG_CHECK_VALUES(tg::softplus(x), {0.0, 1e4});
  // log_sigmoid(x) = -softplus(-x): -1e4 and 0.
  TG_CHECK_VALUES(tg::log_sigmoid(x), {-1e4, 0.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::sigmoid(v[0]); }, {x})[0], {0.0, 0.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::tanh(v[0]); }, {x})[0], {0.0, 0.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::softplus(v[0]); }, {x})[0], {0.0, 1.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::log_sigmoid(v[0]); }, {x})[0], {1.0, 0.0});
  // The same in float32, where exp(88.8) already overflows.
  Tensor x32 = Tensor({-1e4, -100.0, 100.0, 1e4}, tg::float32);
  TG_CHECK_VALUES(tg::sigmoid(x32), {0, 0, 1, 1});
  TG_CHECK_VALUES(tg::softplus(x32), {0, 0, 100, 1e4});
  TG_CHECK_VALUES(tg::log_sigmoid(x32), {-1e4, -100, 0, 0});
  for (const Tensor& g : grads_of([](const V& v) { return tg::log_sigmoid(v[0]) + tg::softplus(v[0]) + tg::sigmoid(v[0]); },
                                  {x32}))
    for (float v : g.to_vector<float>()) CHECK(std::isfinite(v));
}

TEST_CASE("activation: the tails keep their relative precision") {
  // softplus(-40) = log1p(e^-40) = e^-40 (1 - e^-40 / 2 ...) = e^-40 to double precision;
  // the naive log(1 + e^-40) gives exactly 0. Likewise log_sigmoid(40) = -e^-40.
  const double e40 = std::exp(-40.0);
  Tensor x = f64({-40.0, 40.0});
  TG_CHECK_VALUES(tg::softplus(x), {e40, 40.0});
  TG_CHECK_VALUES(tg::log_sigmoid(x), {-40.0, -e40});
  // sigmoid(-40) = e^-40 / (1 + e^-40), not 1 - 1 = 0.
  TG_CHECK_VALUES(tg::sigmoid(x), {e40 / (1 + e40), 1.0 / (1 + e40)});
}

TEST_CASE("activation: softmax and log_softmax of large logits") {
  // Shift invariance: [1000, 1001, 1002] behaves as [0, 1, 2].
  Tensor big = f64({1000.0, 1001.0, 1002.0});
  Tensor small = f64({0.0, 1.0, 2.0});
  TG_CHECK_TENSOR(tg::softmax(big), tg::softmax(small));
  TG_CHECK_TENSOR(tg::log_softmax(big), tg::log_softmax(small), 1e-12, 1e-12);
  // [-1e4, 0, 1e4]: e^-1e4 and e^-2e4 underflow to 0.
  Tensor wide = f64({-1e4, 0.0, 1e4});
  TG_CHECK_VALUES(tg::softmax(wide), {0, 0, 1});
  TG_CHECK_VALUES(tg::log_softmax(wide), {-2e4, -1e4, 0});
  for (const Tensor& g : grads_of([](const V& v) { return tg::softmax(v[0]) + tg::log_softmax(v[0]); }, {wide},
                                  f64({0.3, -1.0, 2.0})))
    for (double v : g.to_vector<double>()) CHECK(std::isfinite(v));
  // float32 logits near its overflow threshold.
  Tensor f32 = Tensor({3e38, 3e38, -3e38}, tg::float32);
  TG_CHECK_VALUES(tg::softmax(f32), {0.5, 0.5, 0.0});
}

TEST_CASE("activation: log_softmax of float32 logits near 1000 keeps float32 precision") {
  // PyTorch float64 log_softmax of the float32 rows (exact to the digits shown):
  //   [1000, 1000.5, 1001, 999.25] -> [-1.7646228546961313, -1.2646228546961313, -0.7646228546961312, -2.5146228546961313]
  //   [1000.1, 1000.2, 1000.3, 1000.4] (as float32) -> [-1.5425614667936527, -1.4425248456999027,
  //                                                      -1.3425492597624027, -1.2425126386686527]
  // x - (max + log(sum exp(x - max))) rounds the log-sum-exp to the float32 grid
  // near 1000 (steps of 6.1e-5): -1.7646484 and -1.5425415 before, errors of 2.6e-5
  // and 2e-5; (x - max) - log(sum exp(x - max)) is exact to float32 rounding.
  Tensor x = Tensor({{1000.0, 1000.5, 1001.0, 999.25}, {1000.1, 1000.2, 1000.3, 1000.4}}, tg::float32);
  const std::vector<double> want{-1.7646228546961313, -1.2646228546961313, -0.7646228546961312, -2.5146228546961313,
                                 -1.5425614667936527, -1.4425248456999027, -1.3425492597624027, -1.2425126386686527};
  TG_CHECK_VALUES(tg::log_softmax(x, 1), want, 1.2e-7, 0);
  // Along axis 0 (strided lanes) the same numbers.
  TG_CHECK_VALUES(tg::transpose(tg::log_softmax(tg::transpose(x), 0)), want, 1.2e-7, 0);
  // softmax and logsumexp were already shifted; they agree with the same references:
  // logsumexp = 1001.7646228546961 and 1001.6425370527312 (float32 spacing there: 6.1e-5).
  TG_CHECK_VALUES(tg::log(tg::softmax(x, 1)), want, 1e-6, 0);
  TG_CHECK_VALUES(tg::logsumexp(x, {1}), {1001.7646228546961, 1001.6425370527312}, 0, 3.1e-5);
  // float64 rows near 1e6 keep float64 precision the same way: the shift invariance is exact.
  Tensor big = f64({1e6, 1e6 + 0.5, 1e6 + 1, 1e6 - 0.75});
  Tensor small = f64({0.0, 0.5, 1.0, -0.75});
  TG_CHECK_TENSOR(tg::log_softmax(big), tg::log_softmax(small), 1e-15, 0);
  // The gradients still pass gradcheck there.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::log_softmax(v[0], -1); }, {tg::add(scaled({2, 4}, 5, 0.5), f64({1000.0}))});
}

TEST_CASE("activation: dtype, empty and 0-d inputs") {
  Tensor x32 = Tensor({{1.0, 2.0}, {3.0, 4.0}}, tg::float32);
  CHECK(tg::sigmoid(x32).dtype() == tg::float32);
  CHECK(tg::softmax(x32).dtype() == tg::float32);
  CHECK(tg::log_softmax(x32, 0).dtype() == tg::float32);
  CHECK(tg::relu(tg::zeros({0, 3}, tg::float64)).shape() == tg::Shape{0, 3});
  CHECK(tg::softmax(tg::zeros({0, 3}, tg::float64)).shape() == tg::Shape{0, 3});
  CHECK(tg::log_softmax(tg::zeros({3, 0}, tg::float64)).shape() == tg::Shape{3, 0});
  CHECK(tg::tanh(Tensor::scalar(0.0, tg::float64)).rank() == 0);
  // A single element along the axis: softmax 1, log_softmax 0.
  TG_CHECK_VALUES(tg::softmax(f64({5.0, -7.0}, {2, 1})), {1, 1});
  TG_CHECK_VALUES(tg::log_softmax(f64({5.0, -7.0}, {2, 1})), {0, 0});
}

TEST_CASE("activation: bad input names the op") {
  Tensor x = tg::zeros({2, 3}, tg::float64);
  CHECK_THROWS_WITH_AS(tg::softmax(x, 2), "softmax: axis 2 out of range for shape (2, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::log_softmax(x, -3), doctest::Contains("log_softmax: axis -3 out of range for shape (2, 3)"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::softmax(Tensor::scalar(1.0)), doctest::Contains("softmax: expected a tensor of rank >= 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::log_softmax(Tensor::scalar(1.0)), doctest::Contains("log_softmax: expected a tensor of rank"),
                       std::invalid_argument);
  Tensor idx = Tensor::from_vector(std::vector<std::int64_t>{1, 2}, tg::Shape{2});
  CHECK_THROWS_WITH_AS(tg::relu(idx), "relu: expected a float32 or float64 tensor, received (2,) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sigmoid(idx), doctest::Contains("sigmoid: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::tanh(idx), doctest::Contains("tanh: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::softplus(idx), doctest::Contains("softplus: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::log_sigmoid(idx), doctest::Contains("log_sigmoid: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::softmax(idx), doctest::Contains("softmax: expected a float32 or float64 tensor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::log_softmax(idx), doctest::Contains("log_softmax: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sigmoid(Tensor()), "sigmoid: received an undefined tensor", std::invalid_argument);
}

// ---- Keras 3's other activations: gelu, elu, selu, leaky_relu, softsign, silu,
// hard_sigmoid, hard_silu, relu6, mish ---------------------------------------------

namespace {

using Unary = std::function<Tensor(const Tensor&)>;

// The op a fixture case names, with its parameters.
Unary keras_activation(const CosineFixture& c) {
  const std::string& f = c.function;
  if (f == "gelu") {
    const bool approximate = c.params.at("approximate") == "1";
    return [approximate](const Tensor& x) { return tg::gelu(x, approximate); };
  }
  if (f == "elu") {
    const double alpha = std::stod(c.params.at("alpha"));
    return [alpha](const Tensor& x) { return tg::elu(x, alpha); };
  }
  if (f == "leaky_relu") {
    const double slope = std::stod(c.params.at("negative_slope"));
    return [slope](const Tensor& x) { return tg::leaky_relu(x, slope); };
  }
  if (f == "selu") return [](const Tensor& x) { return tg::selu(x); };
  if (f == "softsign") return [](const Tensor& x) { return tg::softsign(x); };
  if (f == "silu") return [](const Tensor& x) { return tg::silu(x); };
  if (f == "hard_sigmoid") return [](const Tensor& x) { return tg::hard_sigmoid(x); };
  if (f == "hard_silu") return [](const Tensor& x) { return tg::hard_silu(x); };
  if (f == "relu6") return [](const Tensor& x) { return tg::relu6(x); };
  if (f == "mish") return [](const Tensor& x) { return tg::mish(x); };
  return {};
}

const std::vector<std::pair<std::string, Unary>>& keras_activations() {
  static const std::vector<std::pair<std::string, Unary>> all = {
      {"gelu", [](const Tensor& x) { return tg::gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return tg::gelu(x, true); }},
      {"elu", [](const Tensor& x) { return tg::elu(x); }},
      {"elu alpha 2.5", [](const Tensor& x) { return tg::elu(x, 2.5); }},
      {"selu", [](const Tensor& x) { return tg::selu(x); }},
      {"leaky_relu", [](const Tensor& x) { return tg::leaky_relu(x); }},
      {"softsign", [](const Tensor& x) { return tg::softsign(x); }},
      {"silu", [](const Tensor& x) { return tg::silu(x); }},
      {"hard_sigmoid", [](const Tensor& x) { return tg::hard_sigmoid(x); }},
      {"hard_silu", [](const Tensor& x) { return tg::hard_silu(x); }},
      {"relu6", [](const Tensor& x) { return tg::relu6(x); }},
      {"mish", [](const Tensor& x) { return tg::mish(x); }},
  };
  return all;
}

// Points at least 0.05 from every kink (-3, 0, 3, 6), so that central
// differences never straddle one.
Tensor off_kinks() {
  return f64({-7.3, -4.1, -2.9, -1.7, -0.6, -0.21, 0.23, 0.9, 2.2, 2.95, 3.4, 5.5, 6.6, 9.1}, {2, 7});
}

}  // namespace

TEST_CASE("activation: Keras's activations against PyTorch 1.13, float64 and float32, values and gradients") {
  const auto cases = load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/activations.txt");
  REQUIRE(cases.size() == 3 * 18);
  std::set<std::string> seen;
  for (const CosineFixture& c : cases) {
    std::string params;
    for (const auto& [k, v] : c.params) params += " " + k + "=" + v;
    CAPTURE(c.function);
    CAPTURE(c.name);
    CAPTURE(params);
    const Unary f = keras_activation(c);
    REQUIRE(f);
    seen.insert(c.function);
    const Tensor& x = c.tensors.at("x1");
    const Tensor& u = c.tensors.at("u");
    // The inputs and upstreams are float32 numbers, so both dtypes see the same
    // points: to float64's or float32's rounding, above an absolute floor for
    // PyTorch's own cancellation in 1 + erf and 1 + tanh far left (|error| up to
    // 1e-16 |x|: its gelu(-7.57) = -1.3624e-13 is -1.3611e-13, 1e-3 relative off;
    // tapegrad's erfc form is exact there). The floor also covers float32
    // results that underflow (gelu(-20) = -3e-88 is 0 in float32); the tails
    // are checked by hand below.
    for (tg::DType dtype : {tg::float64, tg::float32}) {
      const std::string dtype_str = tg::dtype_name(dtype);
      CAPTURE(dtype_str);
      const double rtol = dtype == tg::float64 ? 1e-12 : 1e-5;
      const double atol = 1e-14;
      Tensor xd = x.to(dtype);
      Tensor y = f(xd);
      CHECK(y.dtype() == dtype);
      CHECK(y.shape() == x.shape());
      TG_CHECK_TENSOR(y, c.tensors.at("y"), rtol, atol);
      Tensor g = grads_of([&f](const V& v) { return f(v[0]); }, {xd}, u.to(dtype))[0];
      CHECK(g.dtype() == dtype);
      // PyTorch's float64 hardsigmoid gradient is 1.0f / 6, a float32 number
      // (3e-8 relative off); ours is 1/6 to float64 (checked by hand below).
      const bool float_sixth = c.function == "hard_sigmoid" && dtype == tg::float64;
      TG_CHECK_TENSOR(g, c.tensors.at("g1"), float_sixth ? 5e-8 : rtol, atol);
    }
  }
  CHECK(seen.size() == 10);
}

TEST_CASE("activation: gradcheck and gradgradcheck Keras's activations with a random upstream") {
  // tg::gradcheck draws the upstream from GradcheckOptions::seed; two seeds.
  tg::GradcheckOptions other_upstream;
  other_upstream.seed = 7;
  for (const auto& [name, f] : keras_activations()) {
    CAPTURE(name);
    const tg::TensorFunction fn = [f = f](const V& v) { return f(v[0]); };
    TG_CHECK_GRADCHECK(fn, {off_kinks()});
    TG_CHECK_GRADCHECK(fn, {off_kinks()}, other_upstream);
    TG_CHECK_GRADCHECK(fn, {scaled({3, 4}, 11, 2.0)});
    TG_CHECK_GRADCHECK(fn, {Tensor::scalar(0.7, tg::float64)});  // 0-d
    // Under an outer tape the backward is the composed one; its gradient is the second derivative.
    TG_CHECK_GRADGRADCHECK(fn, {off_kinks()});
  }
  // The smooth ones at and around their zeros and far into the tails.
  Tensor tails = f64({-30.0, -12.0, -5.0, -1e-3, 0.0, 1e-3, 5.0, 12.0, 30.0});
  for (const char* smooth : {"gelu", "gelu tanh", "softsign", "silu", "mish"})
    for (const auto& [name, f] : keras_activations())
      if (name == smooth) {
        CAPTURE(name);
        TG_CHECK_GRADCHECK([f = f](const V& v) { return f(v[0]); }, {tails});
        TG_CHECK_GRADGRADCHECK([f = f](const V& v) { return f(v[0]); }, {tails});
      }
  // The kinks' first derivative under an outer tape (the composed backward) is
  // the fused one's, so PyTorch's conventions hold at every order's first step.
  Tensor kinks = f64({-3.0, 0.0, 3.0, 6.0});
  Tensor u = f64({0.5, -1.5, 2.0, 0.25});
  for (const auto& [name, f] : keras_activations()) {
    CAPTURE(name);
    Tensor fused = grads_of([f = f](const V& v) { return f(v[0]); }, {kinks}, u)[0];
    tg::GradientTape outer;
    outer.watch(kinks);
    Tensor composed = grads_of([f = f](const V& v) { return f(v[0]); }, {kinks}, u)[0];
    TG_CHECK_TENSOR(composed, fused, 1e-15, 0);
  }
}

TEST_CASE("activation: Keras's activations and their kinks by hand") {
  // gelu(x) = x Phi(x): 0 at 0 with slope 1/2; gelu(1) = Phi(1) = 0.8413447460685429,
  // gelu'(1) = Phi(1) + phi(1) = 0.8413447460685429 + 0.24197072451914337.
  Tensor x = f64({0.0, 1.0});
  TG_CHECK_VALUES(tg::gelu(x), {0.0, 0.8413447460685429});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::gelu(v[0]); }, {x})[0], {0.5, 0.8413447460685429 + 0.24197072451914337});
  // The tanh form at 1: u = sqrt(2/pi) * 1.044715, 0.5 (1 + tanh u).
  const double uu = std::sqrt(2 / std::numbers::pi) * 1.044715;
  TG_CHECK_VALUES(tg::gelu(x, true), {0.0, 0.5 * (1 + std::tanh(uu))});
  // elu and selu at x = 0 take the left branch's slope (alpha, scale alpha), as PyTorch.
  Tensor k = f64({-1.0, 0.0, 2.0});
  TG_CHECK_VALUES(tg::elu(k, 2.0), {2.0 * std::expm1(-1.0), 0.0, 2.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::elu(v[0], 2.0); }, {k})[0], {2.0 * std::exp(-1.0), 2.0, 1.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::selu(v[0]); }, {k})[0],
                  {1.0507009873554805 * 1.6732632423543772 * std::exp(-1.0), 1.0507009873554805 * 1.6732632423543772,
                   1.0507009873554805});
  // leaky_relu: Keras's default slope 0.2 (not PyTorch's 0.01); the slope at 0.
  TG_CHECK_VALUES(tg::leaky_relu(k), {-0.2, 0.0, 2.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::leaky_relu(v[0]); }, {k})[0], {0.2, 0.2, 1.0});
  // softsign(-1) = -1/2, softsign(2) = 2/3; slopes 1/4, 1, 1/9.
  TG_CHECK_VALUES(tg::softsign(k), {-0.5, 0.0, 2.0 / 3});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::softsign(v[0]); }, {k})[0], {0.25, 1.0, 1.0 / 9});
  // silu(0) = 0 with slope 1/2; swish is silu.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::silu(v[0]); }, {f64({0.0})})[0], {0.5});
  TG_CHECK_TENSOR(tg::swish(off_kinks()), tg::silu(off_kinks()), 0, 0);
  TG_CHECK_TENSOR(tg::hard_swish(off_kinks()), tg::hard_silu(off_kinks()), 0, 0);
  // Keras 3's hard_sigmoid is x/6 + 1/2 clipped (Keras 2's 0.2 x + 0.5 would give 0.7 at 1):
  // at -3, -1, 0, 1, 3: 0, 1/3, 1/2, 2/3, 1; slope 1/6 strictly inside, 0 at the kinks.
  Tensor h = f64({-3.0, -1.0, 0.0, 1.0, 3.0});
  TG_CHECK_VALUES(tg::hard_sigmoid(h), {0.0, 1.0 / 3, 0.5, 2.0 / 3, 1.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::hard_sigmoid(v[0]); }, {h})[0], {0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0});
  // hard_silu = x hard_sigmoid(x); PyTorch's (vectorized) slope at the kink -3 is the
  // inner branch's x/3 + 1/2 = -1/2, at the kink 3 the outer branch's 1.
  TG_CHECK_VALUES(tg::hard_silu(h), {0.0, -1.0 / 3, 0.0, 2.0 / 3, 3.0});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::hard_silu(v[0]); }, {h})[0], {-0.5, 1.0 / 6, 0.5, 5.0 / 6, 1.0});
  // relu6: 0 slope at both kinks 0 and 6.
  Tensor r = f64({-1.0, 0.0, 3.0, 6.0, 7.0});
  TG_CHECK_VALUES(tg::relu6(r), {0, 0, 3, 6, 6});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::relu6(v[0]); }, {r})[0], {0, 0, 1, 0, 0});
  // mish(0) = 0 with slope tanh(ln 2) = 3/5.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::mish(v[0]); }, {f64({0.0})})[0], {0.6});
}

TEST_CASE("activation: Keras's activations are finite for every finite x, float32 and float64") {
  // +-88 (float32's exp limit), +-1e4 and float32's large numbers, where x^2
  // and x^3 overflow: values and gradients stay finite (PyTorch's gelu and
  // softsign give NaN gradients only at +-inf). 3e38, not float32's largest
  // 3.4e38: selu's scale 1.05 would take that past it, a true overflow.
  const std::vector<double> far = {-3e38, -1e30, -1e4, -88.0, -1e-30, 0.0, 1e-30, 88.0, 1e4, 1e30, 3e38};
  for (tg::DType dtype : {tg::float32, tg::float64}) {
    const std::string dtype_str = tg::dtype_name(dtype);
    CAPTURE(dtype_str);
    Tensor x = f64(far).to(dtype);
    for (const auto& [name, f] : keras_activations()) {
      CAPTURE(name);
      for (double v : tgtest::values_of(f(x))) CHECK(std::isfinite(v));
      for (double v : tgtest::values_of(grads_of([f = f](const V& w) { return f(w[0]); }, {x})[0])) CHECK(std::isfinite(v));
    }
  }
  // Exact far out: the identity (or 0, or its scaled form) and slope 1 (or 0).
  Tensor x = Tensor({-1e4, -88.0, 88.0, 1e4}, tg::float32);
  TG_CHECK_VALUES(tg::gelu(x), {0, 0, 88, 1e4}, 0, 0);
  TG_CHECK_VALUES(tg::gelu(x, true), {0, 0, 88, 1e4}, 0, 0);
  TG_CHECK_VALUES(tg::silu(x), {0, -88 * std::exp(-88.0), 88, 1e4}, 1e-5, 1e-40);
  TG_CHECK_VALUES(tg::mish(x), {0, -88 * std::exp(-88.0), 88, 1e4}, 1e-5, 1e-40);
  TG_CHECK_VALUES(tg::elu(x), {-1, -1, 88, 1e4}, 0, 0);
  TG_CHECK_VALUES(tg::softsign(x), {-1e4 / 10001, -88.0 / 89, 88.0 / 89, 1e4 / 10001}, 1e-7, 0);
  for (const auto& [name, f] : keras_activations()) {
    CAPTURE(name);
    Tensor g = grads_of([f = f](const V& w) { return f(w[0]); }, {Tensor({1e4}, tg::float32)})[0];
    if (name == "selu") TG_CHECK_VALUES(g, {1.0507009873554805}, 1e-7, 0);
    else if (name == "softsign") TG_CHECK_VALUES(g, {1 / (10001.0 * 10001.0)}, 1e-6, 0);
    else if (name == "hard_sigmoid" || name == "relu6") TG_CHECK_VALUES(g, {0}, 0, 0);
    else TG_CHECK_VALUES(g, {1}, 0, 0);
  }
}

TEST_CASE("activation: Keras's activations keep the dtype and take empty and 0-d tensors") {
  for (const auto& [name, f] : keras_activations()) {
    CAPTURE(name);
    CHECK(f(Tensor({{1.0, -2.0}}, tg::float32)).dtype() == tg::float32);
    CHECK(f(tg::zeros({0, 3}, tg::float64)).shape() == tg::Shape{0, 3});
    CHECK(grads_of([f = f](const V& v) { return f(v[0]); }, {tg::zeros({0, 3}, tg::float64)})[0].shape() == tg::Shape{0, 3});
    CHECK(f(Tensor::scalar(0.5, tg::float64)).rank() == 0);
    // NaN in, NaN out.
    CHECK(std::isnan(f(f64({std::numeric_limits<double>::quiet_NaN()})).at({0})));
  }
}

TEST_CASE("activation: Keras's names in the table, Dense and Conv2D") {
  Tensor x = off_kinks();
  const std::vector<std::pair<std::string, Tensor>> by_name = {
      {"gelu", tg::gelu(x)},         {"elu", tg::elu(x)},         {"selu", tg::selu(x)},
      {"leaky_relu", tg::leaky_relu(x, 0.2)}, {"softsign", tg::softsign(x)}, {"silu", tg::silu(x)},
      {"swish", tg::silu(x)},        {"hard_sigmoid", tg::hard_sigmoid(x)}, {"hard_silu", tg::hard_silu(x)},
      {"hard_swish", tg::hard_silu(x)}, {"relu6", tg::relu6(x)},   {"mish", tg::mish(x)}};
  for (const auto& [name, want] : by_name) {
    CAPTURE(name);
    REQUIRE(static_cast<bool>(tg::activation_by_name(name)));
    TG_CHECK_TENSOR(tg::activations::get(name)(x), want, 0, 0);
    CHECK(tgtest::contains(tg::activation_names_quoted(), "\"" + name + "\""));
  }
  // keras.layers.Dense(8, activation="gelu"): act(x @ W + b), the erf form.
  auto dense = tg::layers::Dense::make(8, "gelu");
  Tensor in = randn64({3, 5}, 21);
  Tensor y = dense(in);
  TG_CHECK_TENSOR(y, tg::gelu(tg::matmul(in, dense->kernel()) + dense->bias()), 1e-12, 1e-14);
  TG_CHECK_TENSOR(tg::dense(in, dense->kernel(), dense->bias(), "swish"),
                  tg::silu(tg::matmul(in, dense->kernel()) + dense->bias()), 1e-12, 1e-14);
  TG_CHECK_GRADCHECK(tg::layers::Dense::make(2, "mish"), {randn64({2, 3}, 22)});
  // keras.layers.Conv2D(2, 3, activation="selu"): selu(conv2d(x, W) + b).
  auto conv = tg::layers::Conv2D::make(2, {3}, "selu");
  Tensor image = randn64({1, 4, 4, 3}, 23);
  Tensor conv_y = conv(image);  // the first call creates the weights
  TG_CHECK_TENSOR(conv_y, tg::selu(tg::conv2d(image, conv->kernel()) + conv->bias()), 1e-12, 1e-14);
  // keras.layers.Activation("hard_sigmoid").
  TG_CHECK_TENSOR(tg::layers::Activation::make("hard_sigmoid")(x), tg::hard_sigmoid(x), 0, 0);
  // Keras's spellings only: names are case-sensitive and PyTorch's differ.
  for (const char* other : {"GELU", "hardswish", "hardsigmoid", "LeakyReLU"}) {
    CAPTURE(other);
    CHECK_FALSE(static_cast<bool>(tg::activation_by_name(other)));
  }
}

TEST_CASE("activation: Keras's activations: bad input names the function") {
  Tensor idx = Tensor::from_vector(std::vector<std::int64_t>{1, 2}, tg::Shape{2});
  CHECK_THROWS_WITH_AS(tg::gelu(idx), "gelu: expected a float32 or float64 tensor, received (2,) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gelu(idx, true), doctest::Contains("gelu: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::elu(idx), "elu: expected a float32 or float64 tensor, received (2,) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::selu(idx), doctest::Contains("selu: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::leaky_relu(idx), doctest::Contains("leaky_relu: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::softsign(idx), doctest::Contains("softsign: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::silu(idx), doctest::Contains("silu: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::hard_sigmoid(idx), doctest::Contains("hard_sigmoid: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::hard_silu(idx), doctest::Contains("hard_silu: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::relu6(idx), doctest::Contains("relu6: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::mish(idx), doctest::Contains("mish: expected a float32"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gelu(Tensor()), "gelu: received an undefined tensor", std::invalid_argument);
  // Any finite alpha or slope is allowed, negative too (keras.activations.elu and
  // leaky_relu, and PyTorch, accept them); NaN and inf are refused.
  Tensor x = f64({-1.0, 2.0});
  TG_CHECK_VALUES(tg::elu(x, -0.5), {-0.5 * std::expm1(-1.0), 2.0});
  TG_CHECK_VALUES(tg::leaky_relu(x, -0.5), {0.5, 2.0});
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(tg::elu(x, std::numeric_limits<double>::quiet_NaN()),
                       doctest::Contains("elu: expected a finite alpha, received nan"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::leaky_relu(x, inf), doctest::Contains("leaky_relu: expected a finite negative_slope, received inf"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::leaky_relu(x, -inf), doctest::Contains("leaky_relu: expected a finite negative_slope"),
                       std::invalid_argument);
  // The dtype is checked before the parameter: an int tensor is the first thing wrong.
  CHECK_THROWS_WITH_AS(tg::elu(idx, inf), doctest::Contains("elu: expected a float32"), std::invalid_argument);
}
