// Elementwise ops: gradchecks (with broadcasting), hand-computed values, edge
// cases and bad input. PyTorch reference values are in test_fixtures.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::away_from_zero;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::i64;
using tgtest::randn64;
using tgtest::uniform64;
using V = std::vector<Tensor>;

// ---- gradchecks --------------------------------------------------------------

TEST_CASE("elementwise: gradcheck add and sub with broadcasting") {
  auto add = [](const V& v) { return tg::add(v[0], v[1]); };
  auto sub = [](const V& v) { return tg::sub(v[0], v[1]); };
  auto plus = [](const V& v) { return v[0] + v[1]; };
  auto minus = [](const V& v) { return v[0] - v[1]; };
  for (const auto& f : {tg::TensorFunction(add), tg::TensorFunction(sub), tg::TensorFunction(plus),
                        tg::TensorFunction(minus)}) {
    TG_CHECK_GRADCHECK(f, {randn64({3, 4}, 1), randn64({3, 4}, 2)});
    TG_CHECK_GRADCHECK(f, {randn64({2, 3}, 3), randn64({3}, 4)});        // row broadcast
    TG_CHECK_GRADCHECK(f, {randn64({4, 1}, 5), randn64({1, 5}, 6)});     // outer broadcast, both stretched
    TG_CHECK_GRADCHECK(f, {randn64({}, 7), randn64({2, 2}, 8)});         // 0-d with a matrix
    TG_CHECK_GRADCHECK(f, {randn64({2, 3, 4}, 9), randn64({3, 1}, 10)}); // rank 3 with rank 2
    TG_CHECK_GRADCHECK(f, {randn64({1}, 11), randn64({2, 1, 3}, 12)});
  }
}

TEST_CASE("elementwise: gradcheck mul and div with broadcasting") {
  auto mul = [](const V& v) { return tg::mul(v[0], v[1]); };
  auto div = [](const V& v) { return tg::div(v[0], v[1]); };
  TG_CHECK_GRADCHECK(mul, {randn64({3, 4}, 1), randn64({3, 4}, 2)});
  TG_CHECK_GRADCHECK(mul, {randn64({3, 4}, 3), randn64({4}, 4)});
  TG_CHECK_GRADCHECK(mul, {randn64({2, 1, 3}, 5), randn64({4, 1}, 6)});
  TG_CHECK_GRADCHECK(mul, {randn64({}, 7), randn64({5}, 8)});
  // The same tensor on both sides: d(x * x) = 2x, accumulated from both inputs.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::mul(v[0], v[0]); }, {randn64({6}, 9)});
  TG_CHECK_GRADCHECK(div, {randn64({3, 4}, 10), away_from_zero({3, 4}, 11, 0.5)});
  TG_CHECK_GRADCHECK(div, {randn64({3, 4}, 12), away_from_zero({4}, 13, 0.5)});
  TG_CHECK_GRADCHECK(div, {randn64({2, 1}, 14), away_from_zero({1, 3}, 15, 0.5)});
  TG_CHECK_GRADCHECK(div, {randn64({1}, 16), away_from_zero({2, 3}, 17, 0.5)});
}

TEST_CASE("elementwise: gradcheck the scalar operator overloads") {
  TG_CHECK_GRADCHECK([](const V& v) { return v[0] + 2.5; }, {randn64({3}, 1)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0] - 2.5; }, {randn64({3}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0] * 2.5; }, {randn64({3}, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0] / 2.5; }, {randn64({3}, 4)});
  TG_CHECK_GRADCHECK([](const V& v) { return 2.5 + v[0]; }, {randn64({3}, 5)});
  TG_CHECK_GRADCHECK([](const V& v) { return 2.5 - v[0]; }, {randn64({3}, 6)});
  TG_CHECK_GRADCHECK([](const V& v) { return 2.5 * v[0]; }, {randn64({3}, 7)});
  TG_CHECK_GRADCHECK([](const V& v) { return 2.5 / v[0]; }, {away_from_zero({3}, 8, 0.5)});
  TG_CHECK_GRADCHECK([](const V& v) { return -v[0]; }, {randn64({3}, 9)});
}

TEST_CASE("elementwise: gradcheck the unary ops") {
  TG_CHECK_GRADCHECK([](const V& v) { return tg::neg(v[0]); }, {randn64({3, 4}, 1)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::exp(v[0]); }, {randn64({3, 4}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::log(v[0]); }, {uniform64({3, 4}, 0.2, 3.0, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sqrt(v[0]); }, {uniform64({3, 4}, 0.2, 4.0, 4)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::square(v[0]); }, {randn64({3, 4}, 5)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::abs(v[0]); }, {away_from_zero({3, 4}, 6)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::exp(v[0]); }, {randn64({}, 7)});  // 0-d
}

TEST_CASE("elementwise: gradcheck pow with a scalar and with a tensor exponent") {
  TG_CHECK_GRADCHECK([](const V& v) { return tg::pow(v[0], 3.0); }, {randn64({3, 4}, 1)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::pow(v[0], 2.0); }, {randn64({5}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::pow(v[0], 0.5); }, {uniform64({5}, 0.2, 3.0, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::pow(v[0], -1.5); }, {uniform64({2, 3}, 0.2, 3.0, 4)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::pow(v[0], 0.0); }, {randn64({4}, 5)});
  auto pow2 = [](const V& v) { return tg::pow(v[0], v[1]); };
  TG_CHECK_GRADCHECK(pow2, {uniform64({3, 4}, 0.2, 3.0, 6), randn64({3, 4}, 7)});
  TG_CHECK_GRADCHECK(pow2, {uniform64({3, 4}, 0.2, 3.0, 8), randn64({4}, 9)});         // exponent broadcast
  TG_CHECK_GRADCHECK(pow2, {uniform64({3, 1}, 0.2, 3.0, 10), randn64({1, 2}, 11)});    // both broadcast
}

TEST_CASE("elementwise: gradcheck maximum, minimum, clamp away from ties and bounds") {
  // Every a - b pair differs by at least 0.3, so +-eps never flips a comparison.
  Tensor a = f64({-1.0, 0.5, 2.0}, {3, 1});
  Tensor b = f64({-0.5, 0.2, 1.0, 3.0});
  auto maximum = [](const V& v) { return tg::maximum(v[0], v[1]); };
  auto minimum = [](const V& v) { return tg::minimum(v[0], v[1]); };
  TG_CHECK_GRADCHECK(maximum, {a, b});
  TG_CHECK_GRADCHECK(minimum, {a, b});
  Tensor x = randn64({3, 4}, 1);
  Tensor y = tg::add(x, away_from_zero({3, 4}, 2, 0.1));
  TG_CHECK_GRADCHECK(maximum, {x, y});
  TG_CHECK_GRADCHECK(minimum, {x, y});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::maximum(v[0], 0.25); }, {f64({-1.0, 0.0, 0.5, 2.0})});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::minimum(v[0], 0.25); }, {f64({-1.0, 0.0, 0.5, 2.0})});
  // -2.05, -1.75, ..., 1.85: none within 0.05 of the bounds -0.9 and 1.1.
  Tensor grid = tg::arange(-2.05, 2.0, 0.3, tg::float64);
  TG_CHECK_GRADCHECK([](const V& v) { return tg::clamp(v[0], -0.9, 1.1); }, {grid});
}

TEST_CASE("elementwise: gradcheck where with a broadcast condition") {
  auto where = [](const V& v) { return tg::where(v[0], v[1], v[2]); };
  TG_CHECK_GRADCHECK(where, {i64({1, 0, 1}, {3, 1}), randn64({3, 4}, 1), randn64({4}, 2)});
  TG_CHECK_GRADCHECK(where, {i64({0, 1, 1, 1, 0, 0}, {2, 3}), randn64({2, 3}, 3), randn64({2, 3}, 4)});
  // The condition sets the output shape: a and b both broadcast up to it.
  TG_CHECK_GRADCHECK(where, {i64({0, 1, 1, 1, 0, 0}, {2, 3}), randn64({3}, 5), randn64({}, 6)});
  // A float condition: nonzero is true. It is not differentiated.
  tg::GradcheckOptions only_values;
  only_values.requires_grad = {false, true, true};
  TG_CHECK_GRADCHECK(where, {f64({0.5, 0.0, -2.0}), randn64({3}, 7), randn64({3}, 8)}, only_values);
}

TEST_CASE("elementwise: gradcheck in float32 with float32 tolerances") {
  TG_CHECK_GRADCHECK([](const V& v) { return tg::mul(v[0], v[1]); }, {randn64({3, 4}, 1), randn64({4}, 2)},
                     tg::GradcheckOptions::float32());
  TG_CHECK_GRADCHECK([](const V& v) { return tg::exp(v[0]) / v[1]; },
                     {randn64({3}, 3), away_from_zero({3}, 4, 0.5)}, tg::GradcheckOptions::float32());
}

TEST_CASE("elementwise: gradgradcheck mul, div, exp, log, pow") {
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::mul(v[0], v[1]); }, {randn64({3, 4}, 1), randn64({4}, 2)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::mul(v[0], v[0]); }, {randn64({5}, 3)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::div(v[0], v[1]); },
                         {randn64({2, 3}, 4), away_from_zero({3}, 5, 0.5)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::exp(v[0]); }, {randn64({3, 4}, 6)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::log(v[0]); }, {uniform64({4}, 0.3, 3.0, 7)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::sqrt(v[0]); }, {uniform64({4}, 0.3, 3.0, 8)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::pow(v[0], 3.0); }, {randn64({4}, 9)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::pow(v[0], v[1]); },
                         {uniform64({2, 3}, 0.3, 3.0, 10), randn64({3}, 11)});
}

// ---- reference values ----------------------------------------------------------

TEST_CASE("elementwise: values and gradients by hand") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f64({10, 20, 30});
  TG_CHECK_VALUES(a + b, {11, 22, 33, 14, 25, 36});
  TG_CHECK_VALUES(a - b, {-9, -18, -27, -6, -15, -24});
  TG_CHECK_VALUES(a * b, {10, 40, 90, 40, 100, 180});
  TG_CHECK_VALUES(b / a, {10, 10, 10, 2.5, 4, 5});  // (3,) / (2, 3): 10/1 20/2 30/3; 10/4 20/5 30/6
  // d sum(a * b) / db = column sums of a = [1+4, 2+5, 3+6]; / da = b in each row.
  auto g = grads_of([](const V& v) { return tg::mul(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[0], {10, 20, 30, 10, 20, 30});
  TG_CHECK_VALUES(g[1], {5, 7, 9});
  // d sum(b / a) / da = -b / a^2: -10/1, -20/4, -30/9, -10/16, -20/25, -30/36.
  g = grads_of([](const V& v) { return tg::div(v[1], v[0]); }, {a, b});
  TG_CHECK_VALUES(g[0], {-10.0, -5.0, -30.0 / 9, -0.625, -0.8, -30.0 / 36});
  // / db = sum over rows of 1 / a: 1/1 + 1/4, 1/2 + 1/5, 1/3 + 1/6.
  TG_CHECK_VALUES(g[1], {1.25, 0.7, 0.5});
  // d sum(a - b) / db = -(number of rows) = -2.
  g = grads_of([](const V& v) { return tg::sub(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[1], {-2, -2, -2});

  Tensor x = f64({0.5, 1.0, 4.0});
  TG_CHECK_VALUES(tg::exp(x), {std::exp(0.5), std::exp(1.0), std::exp(4.0)});
  TG_CHECK_VALUES(tg::log(x), {-std::log(2.0), 0.0, 2 * std::log(2.0)});
  TG_CHECK_VALUES(tg::sqrt(x), {std::sqrt(0.5), 1, 2});
  TG_CHECK_VALUES(tg::square(x), {0.25, 1, 16});
  TG_CHECK_VALUES(tg::pow(x, 3.0), {0.125, 1, 64});
  TG_CHECK_VALUES(tg::neg(x), {-0.5, -1, -4});
  // d sqrt(x) = 1 / (2 sqrt(x)): 1/(2*0.7071) = 0.7071, 1/2, 1/4.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::sqrt(v[0]); }, {x})[0], {1 / std::sqrt(2.0), 0.5, 0.25});
  // d log(x) = 1/x: 2, 1, 0.25.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::log(v[0]); }, {x})[0], {2, 1, 0.25});
  // d x^3 = 3x^2: 0.75, 3, 48.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::pow(v[0], 3.0); }, {x})[0], {0.75, 3, 48});
  // d x^2 = 2x: 1, 2, 8.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::square(v[0]); }, {x})[0], {1, 2, 8});
}

TEST_CASE("elementwise: pow with a tensor exponent, including x == 0") {
  Tensor x = f64({0.0, 2.0, 3.0});
  Tensor y = f64({2.0, 3.0, 0.5});
  TG_CHECK_VALUES(tg::pow(x, y), {0, 8, std::sqrt(3.0)});
  auto g = grads_of([](const V& v) { return tg::pow(v[0], v[1]); }, {x, y});
  // d/dx = y x^(y-1): 2*0 = 0, 3*4 = 12, 0.5/sqrt(3).
  TG_CHECK_VALUES(g[0], {0, 12, 0.5 / std::sqrt(3.0)});
  // d/dy = x^y log x: 0 at x == 0 (not 0 * -inf = NaN), 8 log 2, sqrt(3) log 3.
  TG_CHECK_VALUES(g[1], {0, 8 * std::log(2.0), std::sqrt(3.0) * std::log(3.0)});
}

TEST_CASE("elementwise: pow with a zero exponent has gradient 0, also at x == 0") {
  // x^0 = 1 everywhere; d/dx = 0 * x^-1 would be 0 * inf = NaN at x == 0 (PyTorch gives 0).
  Tensor x = f64({0.0, 1.5, -2.0});
  TG_CHECK_VALUES(tg::pow(x, 0.0), {1, 1, 1});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::pow(v[0], 0.0); }, {x})[0], {0, 0, 0}, 0, 0);
  // Tensor exponent: y == 0 gives d/dx = 0 even at x == 0; (x, y) = (0, 2): 2 * 0 = 0;
  // (0.5, 3): 3 * 0.25 = 0.75.
  Tensor a = f64({0.0, 0.0, 0.5});
  Tensor b = f64({0.0, 2.0, 3.0});
  auto g = grads_of([](const V& v) { return tg::pow(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[0], {0, 0, 0.75});
  // d/dy = x^y log x: 0 at x == 0; 0.125 * log 0.5.
  TG_CHECK_VALUES(g[1], {0, 0, 0.125 * std::log(0.5)});
  // Second derivatives there are finite too.
  tg::GradientTape outer;
  outer.watch(a);
  Tensor first;
  {
    tg::GradientTape inner;
    inner.watch(a);
    first = inner.gradient(tg::sum(tg::pow(a, b)), {a})[0];
  }
  for (double v : outer.gradient(tg::sum(first), {a})[0].to_vector<double>()) CHECK(std::isfinite(v));
}

TEST_CASE("elementwise: abs, sign and their subgradient at 0") {
  Tensor x = f64({-2.0, 0.0, 3.0});
  TG_CHECK_VALUES(tg::abs(x), {2, 0, 3});
  TG_CHECK_VALUES(tg::sign(x), {-1, 0, 1});
  // d|x| = sign(x): -1, 0 (the subgradient at 0, as PyTorch), 1.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::abs(v[0]); }, {x})[0], {-1, 0, 1});
  // sign is not differentiable: not recorded, so x gets the zero gradient of an unconnected source.
  tg::GradientTape tape;
  tape.watch(x);
  Tensor s = tg::sign(x);
  CHECK(tape.size() == 0);
  TG_CHECK_VALUES(tape.gradient(tg::sum(s * 1.0), {x})[0], {0, 0, 0});
}

TEST_CASE("elementwise: maximum and minimum share the gradient at ties") {
  Tensor a = f64({1.0, 2.0, 3.0, -1.0});
  Tensor b = f64({1.0, 0.0, 5.0, -1.0});
  TG_CHECK_VALUES(tg::maximum(a, b), {1, 2, 5, -1});
  TG_CHECK_VALUES(tg::minimum(a, b), {1, 0, 3, -1});
  // Ties (elements 0 and 3) give each input half: as PyTorch.
  auto g = grads_of([](const V& v) { return tg::maximum(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[0], {0.5, 1, 0, 0.5});
  TG_CHECK_VALUES(g[1], {0.5, 0, 1, 0.5});
  g = grads_of([](const V& v) { return tg::minimum(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[0], {0.5, 0, 1, 0.5});
  TG_CHECK_VALUES(g[1], {0.5, 1, 0, 0.5});
  // Broadcast: (2, 1) against (3,); b's gradient sums over the two rows.
  Tensor col = f64({0.0, 2.0}, {2, 1});
  Tensor row = f64({-1.0, 0.0, 3.0});
  TG_CHECK_VALUES(tg::maximum(col, row), {0, 0, 3, 2, 2, 3});
  g = grads_of([](const V& v) { return tg::maximum(v[0], v[1]); }, {col, row});
  // col 0 wins over -1, ties 0, loses to 3: 1 + 0.5 + 0; col 2 wins twice: 2.
  TG_CHECK_VALUES(g[0], {1.5, 2});
  TG_CHECK_VALUES(g[1], {0, 0.5, 2});
  // NaN propagates from either side (as numpy.maximum and torch.maximum).
  Tensor nan = f64({std::numeric_limits<double>::quiet_NaN(), 1.0});
  Tensor one = f64({1.0, std::numeric_limits<double>::quiet_NaN()});
  Tensor m = tg::maximum(nan, one);
  CHECK(std::isnan(m.at({0})));
  CHECK(std::isnan(m.at({1})));
  Tensor n = tg::minimum(nan, one);
  CHECK(std::isnan(n.at({0})));
  CHECK(std::isnan(n.at({1})));
}

TEST_CASE("elementwise: clamp passes the gradient inside the bounds, bounds included") {
  Tensor x = f64({-2.0, -1.0, 0.5, 1.0, 2.0});
  TG_CHECK_VALUES(tg::clamp(x, -1.0, 1.0), {-1, -1, 0.5, 1, 1});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::clamp(v[0], -1.0, 1.0); }, {x})[0], {0, 1, 1, 1, 0});
  TG_CHECK_VALUES(tg::clamp(x, 0.0, 0.0), {0, 0, 0, 0, 0});
}

TEST_CASE("elementwise: NaN propagates through every op, clamp included, and into the gradients that use it") {
  // clamp keeps NaN (as torch.clamp and numpy.clip); its gradient there is 0 (the
  // inside mask is false), as PyTorch's. The smooth ops' gradients are NaN at NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    Tensor x = f64({nan, 0.5}).to(dtype);
    auto first_is_nan = [](const Tensor& t) { return std::isnan(tgtest::values_of(t)[0]); };
    CHECK(first_is_nan(tg::clamp(x, -1.0, 1.0)));
    CHECK(tgtest::values_of(tg::clamp(x, -1.0, 1.0))[1] == 0.5);
    CHECK(first_is_nan(tg::clamp(x, 0.0, 0.0)));
    TG_CHECK_VALUES(grads_of([](const V& v) { return tg::clamp(v[0], -1.0, 1.0); }, {x})[0], {0, 1});
    Tensor one = f64({1.0, 1.0}).to(dtype);
    using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
    const std::vector<Binary> binary = {
        [](const Tensor& a, const Tensor& b) { return tg::add(a, b); },
        [](const Tensor& a, const Tensor& b) { return tg::sub(a, b); },
        [](const Tensor& a, const Tensor& b) { return tg::mul(a, b); },
        [](const Tensor& a, const Tensor& b) { return tg::div(a, b); },
        [](const Tensor& a, const Tensor& b) { return tg::maximum(a, b); },
        [](const Tensor& a, const Tensor& b) { return tg::minimum(a, b); }};
    for (const Binary& f : binary) {
      CHECK(first_is_nan(f(x, one)));
      CHECK(first_is_nan(f(one, x)));
    }
    CHECK(first_is_nan(tg::pow(x, one)));
    CHECK(first_is_nan(tg::pow(one + one, x)));
    const std::vector<std::function<Tensor(const Tensor&)>> smooth = {
        [](const Tensor& t) { return tg::exp(t); },    [](const Tensor& t) { return tg::log(t); },
        [](const Tensor& t) { return tg::sqrt(t); },   [](const Tensor& t) { return tg::square(t); },
        [](const Tensor& t) { return tg::pow(t, 3.0); }, [](const Tensor& t) { return tg::neg(t); },
        [](const Tensor& t) { return tg::abs(t); }};
    for (std::size_t k = 0; k < smooth.size(); ++k) {
      CAPTURE(k);
      CHECK(first_is_nan(smooth[k](x)));
      // neg's and abs's gradients do not depend on x's value (abs: sign(NaN) = 0, as PyTorch).
      if (k < 5) CHECK(first_is_nan(grads_of([&](const V& v) { return smooth[k](v[0]); }, {x})[0]));
    }
  }
}

TEST_CASE("elementwise: where picks by a broadcast condition and routes the gradient") {
  Tensor cond = i64({1, 0}, {2, 1});
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f64({-1, -2, -3});
  TG_CHECK_VALUES(tg::where(cond, a, b), {1, 2, 3, -1, -2, -3});
  auto g = grads_of([](const V& v) { return tg::where(v[0], v[1], v[2]); }, {cond, a, b});
  TG_CHECK_VALUES(g[0], {1, 1, 1, 0, 0, 0});
  TG_CHECK_VALUES(g[1], {1, 1, 1});  // row 1 of the output, once per column
  // A float32 condition works with float64 values: nonzero is true.
  Tensor fcond = Tensor({0.0, 2.5, -1.0}, tg::float32);
  TG_CHECK_VALUES(tg::where(fcond, f64({1, 2, 3}), f64({7, 8, 9})), {7, 2, 3});
}

TEST_CASE("elementwise: comparisons give 0/1, are never recorded, and accept int64") {
  Tensor a = f64({1, 2, 3});
  Tensor b = f64({2, 2, 2});
  TG_CHECK_VALUES(tg::equal(a, b), {0, 1, 0});
  TG_CHECK_VALUES(tg::not_equal(a, b), {1, 0, 1});
  TG_CHECK_VALUES(tg::greater(a, b), {0, 0, 1});
  TG_CHECK_VALUES(tg::greater_equal(a, b), {0, 1, 1});
  TG_CHECK_VALUES(tg::less(a, b), {1, 0, 0});
  TG_CHECK_VALUES(tg::less_equal(a, b), {1, 1, 0});
  CHECK(tg::equal(a, b).dtype() == tg::float64);
  Tensor ia = i64({1, 5}), ib = i64({1, 4});
  Tensor eq = tg::equal(ia, ib);
  CHECK(eq.dtype() == tg::int64);
  CHECK(eq.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  tg::GradientTape tape;
  tape.watch(a);
  (void)tg::greater(a, b);
  (void)tg::less_equal(a, b);
  CHECK(tape.size() == 0);
}

TEST_CASE("elementwise: scalar operands take the tensor's dtype") {
  Tensor x32 = Tensor({1.0, 2.0}, tg::float32);
  CHECK((x32 * 2.0).dtype() == tg::float32);
  CHECK((1.0 - x32).dtype() == tg::float32);
  TG_CHECK_VALUES(1.0 - x32, {0, -1});
  TG_CHECK_VALUES(3.0 / f64({2, 4}), {1.5, 0.75});
  CHECK(tg::scalar_like(x32, 0.5).dtype() == tg::float32);
  CHECK(tg::scalar_like(x32, 0.5).rank() == 0);
  CHECK(tg::scalar_like(x32, 0.5).item() == 0.5);
}

// ---- edge cases ------------------------------------------------------------------

TEST_CASE("elementwise: outputs of 4 MiB and more, written with non-temporal stores, hold the same values") {
  // Outputs this large go through a chunk buffer and streaming stores
  // (ops/streaming.hpp); an odd length leaves a tail after the last chunk.
  const std::int64_t n = (std::int64_t{1} << 20) + 3;
  Tensor a = tg::randn({n}, 71), b = tg::randn({n}, 72);
  Tensor prod = a * b, scaled = a * 2.0, shifted = 1.0 - b, e = tg::exp(a), eq = tg::greater(a, b);
  tg::GradientTape tape;
  tape.watch(a);
  Tensor grad = tape.gradient(tg::sum(a), {a})[0];  // the gradient of a sum: a fill
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    wrong += prod.data<float>()[i] != pa[i] * pb[i];
    wrong += scaled.data<float>()[i] != pa[i] * 2.0f;
    wrong += shifted.data<float>()[i] != 1.0f - pb[i];
    wrong += e.data<float>()[i] != std::exp(pa[i]);
    wrong += eq.data<float>()[i] != (pa[i] > pb[i] ? 1.0f : 0.0f);
    wrong += grad.data<float>()[i] != 1.0f;
  }
  CHECK(wrong == 0);
}

TEST_CASE("elementwise: empty and 0-d tensors") {
  Tensor empty = tg::zeros({0, 3}, tg::float64);
  Tensor row = randn64({3}, 1);
  Tensor sum = tg::add(empty, row);
  CHECK(sum.shape() == tg::Shape{0, 3});
  CHECK(tg::exp(tg::zeros({0}, tg::float64)).shape() == tg::Shape{0});
  // Gradients of an empty broadcast are zeros of each input's shape.
  auto g = grads_of([](const V& v) { return tg::mul(v[0], v[1]); }, {empty, row});
  CHECK(g[0].shape() == tg::Shape{0, 3});
  CHECK(g[1].shape() == tg::Shape{3});
  TG_CHECK_VALUES(g[1], {0, 0, 0});
  Tensor s = Tensor::scalar(2.0, tg::float64);
  Tensor y = tg::mul(s, s);
  CHECK(y.rank() == 0);
  CHECK(y.item() == 4.0);
  CHECK(grads_of([](const V& v) { return tg::mul(v[0], v[0]); }, {s})[0].item() == 4.0);
  CHECK(tg::add(s, tg::zeros({2, 0}, tg::float64)).shape() == tg::Shape{2, 0});
}

// ---- bad input ---------------------------------------------------------------------

TEST_CASE("elementwise: shapes that do not broadcast name the op and both shapes") {
  Tensor a = tg::zeros({2, 3}, tg::float64), b = tg::zeros({4}, tg::float64);
  CHECK_THROWS_WITH_AS(tg::add(a, b), "add: shapes (2, 3) and (4,) cannot be broadcast (axis 1: 3 vs 4)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sub(a, b), doctest::Contains("sub: shapes (2, 3) and (4,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(a * b, doctest::Contains("mul: shapes (2, 3) and (4,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(a / b, doctest::Contains("div: shapes (2, 3) and (4,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::pow(a, b), doctest::Contains("pow: shapes (2, 3) and (4,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::maximum(a, b), doctest::Contains("maximum: shapes (2, 3) and (4,)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::minimum(a, b), doctest::Contains("minimum: shapes (2, 3) and (4,)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::equal(a, b), doctest::Contains("equal: shapes (2, 3) and (4,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::where(tg::ones({2, 3}, tg::float64), a, b), doctest::Contains("where: shapes"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::where(tg::ones({5}, tg::float64), a, a),
                       doctest::Contains("where: shapes (5,) and (2, 3) cannot be broadcast"), std::invalid_argument);
}

TEST_CASE("elementwise: float32 with float64 promotes to float64 (as NumPy, PyTorch, Keras 3)") {
  // Promotion replaced the refusal: tests/test_tensor_ergonomics.cpp checks values and gradients.
  Tensor a = tg::zeros({2}, tg::float32), b = tg::zeros({2}, tg::float64);
  CHECK(tg::add(a, b).dtype() == tg::float64);
  CHECK((a * b).dtype() == tg::float64);
  CHECK((b / (a + 1.0)).dtype() == tg::float64);
  CHECK(tg::pow(a, b).dtype() == tg::float64);
  CHECK(tg::maximum(a, b).dtype() == tg::float64);
  CHECK(tg::where(tg::ones({2}), a, b).dtype() == tg::float64);
  CHECK(tg::less(a, b).dtype() == tg::float64);
}

TEST_CASE("elementwise: int64 where a float is needed names the op, the shape and the dtype") {
  Tensor idx = i64({1, 2, 3});
  CHECK_THROWS_WITH_AS(tg::exp(idx), "exp: expected a float32 or float64 tensor, received (3,) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::log(idx), doctest::Contains("log: expected a float32 or float64 tensor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sqrt(idx), doctest::Contains("sqrt: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::abs(idx), doctest::Contains("abs: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::neg(idx), doctest::Contains("neg: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::pow(idx, 2.0), doctest::Contains("pow: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::clamp(idx, 0.0, 1.0), doctest::Contains("clamp: expected"), std::invalid_argument);
  // Binary ops promote int64 instead (idx + 1.0 is float32, idx * idx int64):
  // tests/test_tensor_ergonomics.cpp.
}

TEST_CASE("elementwise: undefined tensors and bad clamp bounds") {
  // A scalar operand next to an undefined tensor: an error naming the op, not a crash.
  CHECK_THROWS_WITH_AS(Tensor() + 1.0, "add: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(2.0 * Tensor(), "mul: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Tensor() / 2.0, "div: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(1.0 - Tensor(), "sub: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::maximum(Tensor(), 0.0), "maximum: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::minimum(Tensor(), 0.0), "minimum: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::scalar_like(Tensor(), 0.0), "scalar_like: received an undefined tensor",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::exp(Tensor()), "exp: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::add(Tensor(), f64({1})), doctest::Contains("add: received an undefined tensor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::where(Tensor(), f64({1}), f64({1})), doctest::Contains("where: received an undefined"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::clamp(f64({1}), 2.0, 1.0), doctest::Contains("clamp: expected lo <= hi"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::clamp(f64({1}), std::nan(""), 1.0), doctest::Contains("clamp: expected lo <= hi"),
                       std::invalid_argument);
}
