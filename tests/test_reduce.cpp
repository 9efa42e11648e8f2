// Reductions: gradchecks over one axis, several axes, negative axes, keepdims;
// second derivatives; hand values with ties and zero vectors; empty and 0-d
// inputs; bad input. PyTorch values: test_fixtures.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "op_checks.hpp"

using tg::Axes;
using tg::Tensor;
using tgtest::away_from_zero;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

namespace {

const double inf = std::numeric_limits<double>::infinity();

// Reduction settings to sweep: axes and keepdims, for a (2, 3, 4) input.
struct Reduction {
  Axes axes;
  bool keepdims;
};
const std::vector<Reduction> reductions = {
    {{}, false}, {{}, true},        {{0}, false},     {{1}, true},          {{-1}, false},
    {{-2}, true}, {{0, 2}, false},  {{2, 0}, true},   {{-1, -3}, false},    {{0, 1, 2}, true},
};

using ReduceFn = Tensor (*)(const Tensor&, const Axes&, bool);

}  // namespace

TEST_CASE("reduce: gradcheck sum, mean, logsumexp over every kind of axes list") {
  Tensor x = randn64({2, 3, 4}, 1);
  for (const auto& r : reductions) {
    CAPTURE(r.axes);
    CAPTURE(r.keepdims);
    for (ReduceFn op : {ReduceFn(tg::sum), ReduceFn(tg::mean), ReduceFn(tg::logsumexp)})
      TG_CHECK_GRADCHECK([&](const V& v) { return op(v[0], r.axes, r.keepdims); }, {x});
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sum(v[0]); }, {randn64({}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::logsumexp(v[0]); }, {randn64({}, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::mean(v[0], {0}); }, {randn64({7}, 4)});
}

TEST_CASE("reduce: gradcheck max and min on distinct values") {
  // A shuffled grid with steps of 0.1: no two elements within eps of each other.
  Tensor x = tg::mul(tg::arange(-12.0, 12.0, 1.0, tg::float64), Tensor::scalar(0.1, tg::float64));
  tg::Generator gen(5);
  std::vector<double> v = x.to_vector<double>();
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  x = f64(v, {2, 3, 4});
  for (const auto& r : reductions) {
    CAPTURE(r.axes);
    CAPTURE(r.keepdims);
    TG_CHECK_GRADCHECK([&](const V& in) { return tg::max(in[0], r.axes, r.keepdims); }, {x});
    TG_CHECK_GRADCHECK([&](const V& in) { return tg::min(in[0], r.axes, r.keepdims); }, {x});
  }
}

TEST_CASE("reduce: gradcheck norm for p = 1, 2, +-inf, 3, 1.5, 0.5, 0, -1, -2.5") {
  // Away from zero elements (the kink of |x|) and, for +-inf, distinct magnitudes.
  // p = 0 is piecewise constant: gradcheck confirms its gradient 0.
  Tensor x = away_from_zero({2, 3, 4}, 1, 0.2, 2.0);
  for (double p : {1.0, 2.0, inf, 3.0, 1.5, 0.5, -inf, 0.0, -1.0, -2.5}) {
    for (const auto& r : reductions) {
      CAPTURE(p);
      CAPTURE(r.axes);
      CAPTURE(r.keepdims);
      TG_CHECK_GRADCHECK([&](const V& v) { return tg::norm(v[0], p, r.axes, r.keepdims); }, {x});
    }
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::norm(v[0]); }, {randn64({5}, 2)});  // defaults: p 2, all axes
}

TEST_CASE("reduce: gradgradcheck sum, mean, max, logsumexp, norm") {
  Tensor x = randn64({3, 4}, 1);
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::sum(v[0], {1}); }, {x});
  // sum of a nonlinear function: its second derivative is not zero.
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::sum(tg::mul(v[0], v[0]), {0}, true); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::mean(tg::exp(v[0]), {-1}); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::max(tg::mul(v[0], v[0]), {1}); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::logsumexp(v[0], {1}); }, {x});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::logsumexp(v[0]); }, {x});
  Tensor y = away_from_zero({3, 4}, 2);
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], 2.0, {1}); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], 2.0); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], 3.0, {0}, true); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], 1.5, {-1}); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], 0.5, {-1}); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], inf, {-1}); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], -inf, {-1}); }, {y});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::norm(v[0], -1.5, {0}); }, {y});
}

// ---- reference values -------------------------------------------------------------

TEST_CASE("reduce: sum and mean by hand, with keepdims and negative axes") {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  TG_CHECK_VALUES(tg::sum(x), {21});
  CHECK(tg::sum(x).rank() == 0);
  TG_CHECK_VALUES(tg::sum(x, {0}), {5, 7, 9});  // 1+4, 2+5, 3+6
  TG_CHECK_VALUES(tg::sum(x, {-1}), {6, 15});   // 1+2+3, 4+5+6
  CHECK(tg::sum(x, {1}, true).shape() == tg::Shape{2, 1});
  CHECK(tg::sum(x, {}, true).shape() == tg::Shape{1, 1});
  CHECK(tg::sum(x, {0, 1}).shape() == tg::Shape{});
  TG_CHECK_VALUES(tg::mean(x, {1}), {2, 5});
  TG_CHECK_VALUES(tg::mean(x), {3.5});
  // d mean over axis 1 (3 elements) = 1/3 each; with upstream [1, 2]: 1/3 and 2/3 per row.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::mean(v[0], {1}); }, {x}, f64({1, 2}))[0],
                  {1.0 / 3, 1.0 / 3, 1.0 / 3, 2.0 / 3, 2.0 / 3, 2.0 / 3});
  // d sum over axis 0 keepdims, upstream (1, 3) [1, 2, 3]: each row gets [1, 2, 3].
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::sum(v[0], {0}, true); }, {x}, f64({1, 2, 3}, {1, 3}))[0],
                  {1, 2, 3, 1, 2, 3});
  // Over axes {0, 2} of a (2, 2, 2): [[[1,2],[3,4]],[[5,6],[7,8]]] -> [1+2+5+6, 3+4+7+8].
  Tensor c = tg::arange(1.0, 9.0, 1.0, tg::float64);
  TG_CHECK_VALUES(tg::sum(tg::reshape(c, {2, 2, 2}), {0, 2}), {14, 22});
  TG_CHECK_VALUES(tg::sum(tg::reshape(c, {2, 2, 2}), {-1, -3}), {14, 22});
  TG_CHECK_VALUES(tg::mean(tg::reshape(c, {2, 2, 2}), {2, 0}, true), {3.5, 5.5});
}

TEST_CASE("reduce: float32 is accumulated in double") {
  // 1e8 + 100 ones - 1e8 in float32: an float accumulator loses every 1 (spacing 8 at
  // 1e8) and returns 0; a double accumulator returns 100.
  std::vector<float> v(102, 1.0f);
  v.front() = 1e8f;
  v.back() = -1e8f;
  Tensor x = Tensor::from_vector(v, tg::Shape{102});
  CHECK(tg::sum(x).item() == 100.0);
  CHECK(tg::sum(x).dtype() == tg::float32);
  CHECK(tg::mean(x).item() == doctest::Approx(100.0 / 102));
}

TEST_CASE("reduce: max and min share the gradient between ties") {
  Tensor x = f64({1, 3, 3, 2, 2, 2}, {2, 3});
  TG_CHECK_VALUES(tg::max(x, {1}), {3, 2});
  TG_CHECK_VALUES(tg::min(x, {1}), {1, 2});
  // Row 0: the two 3s share; row 1: the three 2s share.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max(v[0], {1}); }, {x})[0], {0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::min(v[0], {1}); }, {x})[0], {1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  // Over everything: max 3 appears twice.
  TG_CHECK_VALUES(tg::max(x), {3});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::max(v[0]); }, {x})[0], {0, 0.5, 0.5, 0, 0, 0});
  // Along axis 0 with keepdims: column maxima 2, 3, 3; column 1 ties? no: 3 vs 2.
  TG_CHECK_VALUES(tg::max(x, {0}, true), {2, 3, 3});
  CHECK(tg::max(x, {0}, true).shape() == tg::Shape{1, 3});
  TG_CHECK_VALUES(tg::min(x, {-2}), {1, 2, 2});
  // NaN propagates (as numpy and PyTorch).
  Tensor n = f64({1.0, std::nan(""), 3.0});
  CHECK(std::isnan(tg::max(n).item()));
  CHECK(std::isnan(tg::min(n).item()));
}

TEST_CASE("reduce: logsumexp by hand and for large values") {
  // log(e^0 + e^(ln 3)) = log 4; the gradient is softmax: [1/4, 3/4].
  Tensor x = f64({0.0, std::log(3.0)});
  TG_CHECK_VALUES(tg::logsumexp(x), {std::log(4.0)});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::logsumexp(v[0]); }, {x})[0], {0.25, 0.75});
  // 1000 + log(1 + e + e^2) without overflow; -1000 + ... without underflow to -inf.
  const double tail = std::log(1 + std::exp(1.0) + std::exp(2.0));
  Tensor big = f64({1000, 1001, 1002, -1002, -1001, -1000}, {2, 3});
  TG_CHECK_VALUES(tg::logsumexp(big, {1}), {1002 + tail - 2, -1000 + tail - 2});
  CHECK(tg::logsumexp(big, {1}, true).shape() == tg::Shape{2, 1});
  for (double g : grads_of([](const V& v) { return tg::logsumexp(v[0], {1}); }, {big})[0].to_vector<double>())
    CHECK(std::isfinite(g));
  // -inf entries contribute nothing; +inf gives +inf.
  TG_CHECK_VALUES(tg::logsumexp(f64({-inf, 0.0})), {0.0});
  TG_CHECK_VALUES(tg::logsumexp(f64({inf, 0.0})), {inf});
  TG_CHECK_VALUES(tg::logsumexp(f64({-inf, -inf})), {-inf});
  // The max that logsumexp subtracts is a constant: it is not recorded.
  tg::GradientTape tape;
  tape.watch(x);
  (void)tg::logsumexp(x);
  std::ostringstream listing;
  tape.print(listing);
  CHECK(listing.str().find("= max(") == std::string::npos);
  CHECK(listing.str().find("= exp(") != std::string::npos);
}

TEST_CASE("reduce: norm by hand for p = 1, 2, inf, 3") {
  Tensor x = f64({3.0, -4.0});
  // ||[3, -4]||: p 2 = 5, p 1 = 7, p inf = 4, p 3 = (27 + 64)^(1/3) = 91^(1/3).
  TG_CHECK_VALUES(tg::norm(x), {5});
  TG_CHECK_VALUES(tg::norm(x, 1.0), {7});
  TG_CHECK_VALUES(tg::norm(x, inf), {4});
  TG_CHECK_VALUES(tg::norm(x, 3.0), {std::cbrt(91.0)});
  // Gradients: x/||x|| = [0.6, -0.8]; sign(x) = [1, -1]; the max |x|: [0, -1];
  // p 3: sign(x) |x|^2 / ||x||^2 = [9, -16] / 91^(2/3).
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0]); }, {x})[0], {0.6, -0.8});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], 1.0); }, {x})[0], {1, -1});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], inf); }, {x})[0], {0, -1});
  const double n23 = std::pow(91.0, 2.0 / 3);
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], 3.0); }, {x})[0], {9 / n23, -16 / n23});
  // p inf with tied magnitudes share the gradient: [3, -3, 1] -> [0.5, -0.5, 0].
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], inf); }, {f64({3, -3, 1})})[0], {0.5, -0.5, 0});
  // Rows of a matrix, keepdims.
  Tensor m = f64({3, 4, 0, 6, 8, 0}, {2, 3});
  TG_CHECK_VALUES(tg::norm(m, 2.0, {1}, true), {5, 10});
  CHECK(tg::norm(m, 2.0, {1}, true).shape() == tg::Shape{2, 1});
  TG_CHECK_VALUES(tg::norm(m, 2.0, {-2}), {std::sqrt(45.0), std::sqrt(80.0), 0});
}

TEST_CASE("reduce: norm by hand for p = 0, -inf and p < 0") {
  Tensor x = f64({3, 0, -4, 0.5, 0, 0, 0, 0}, {2, 4});
  TG_CHECK_VALUES(tg::norm(x, 0.0, {1}), {3, 0}, 0, 0);  // nonzeros per row
  TG_CHECK_VALUES(tg::norm(x, 0.0), {3}, 0, 0);
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], 0.0, {1}); }, {x})[0], {0, 0, 0, 0, 0, 0, 0, 0}, 0, 0);
  Tensor y = f64({3, -4, 0.5, -0.5});
  TG_CHECK_VALUES(tg::norm(y, -inf), {0.5}, 0, 0);
  // The two tied minima share the gradient: sign * 1/2.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], -inf); }, {y})[0], {0, 0, 0.5, -0.5}, 0, 0);
  // p = -1: 1 / (1/3 + 1/4) = 12/7; d/dx_i = sign(x_i) (|x_i| / n)^(-2).
  Tensor z = f64({3, -4});
  const double n = 12.0 / 7;
  TG_CHECK_VALUES(tg::norm(z, -1.0), {n}, 1e-15);
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], -1.0); }, {z})[0], {n * n / 9, -n * n / 16}, 1e-15);
  // p < 0 with a zero element: norm 0 and the whole vector's gradient 0 (PyTorch's too).
  Tensor w = f64({0, 2, -3});
  TG_CHECK_VALUES(tg::norm(w, -2.0), {0}, 0, 0);
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], -2.0); }, {w})[0], {0, 0, 0}, 0, 0);
  // The empty sum: p = 0 and p > 0 give 0 (as PyTorch).
  Tensor e = tg::zeros({2, 0}, tg::float64);
  TG_CHECK_VALUES(tg::norm(e, 0.0, {1}), {0, 0}, 0, 0);
}

TEST_CASE("reduce: norm of a zero vector is 0 with gradient 0 for every p") {
  Tensor m = f64({0, 0, 0, 1, -2, 2}, {2, 3});
  for (double p : {1.0, 2.0, inf, 3.0, 1.5, 0.5, 0.0, -inf, -1.0, -2.5}) {
    CAPTURE(p);
    Tensor n = tg::norm(m, p, {1});
    CHECK(n.at({0}) == 0.0);
    Tensor g = grads_of([p](const V& v) { return tg::norm(v[0], p, {1}); }, {m}, f64({1.7, 1.0}))[0];
    TG_CHECK_VALUES(tg::slice(g, 0, 0, 1), {0, 0, 0}, 0, 0);  // exactly zero, not NaN
    for (double v : g.to_vector<double>()) CHECK(std::isfinite(v));
  }
  // Zero elements in a nonzero vector for p < 1: gradient 0 there (as PyTorch), not NaN.
  Tensor z = f64({0.0, 4.0});
  TG_CHECK_VALUES(tg::norm(z, 0.5), {4});  // (0 + 2)^2
  // d/dx1 = |x1|^(p-1) ||x||^(1-p) = 4^-0.5 * 4^0.5 = 1.
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0], 0.5); }, {z})[0], {0, 1});
  // Second derivatives at a zero vector are finite too.
  tg::GradientTape outer;
  Tensor zero = tg::zeros({3}, tg::float64);
  outer.watch(zero);
  Tensor g;
  {
    tg::GradientTape inner;
    inner.watch(zero);
    g = inner.gradient(tg::norm(zero, 3.0), {zero})[0];
  }
  for (double v : outer.gradient(tg::sum(g), {zero})[0].to_vector<double>()) CHECK(std::isfinite(v));
}

// ---- edge cases -----------------------------------------------------------------------

TEST_CASE("reduce: empty and 0-d inputs") {
  Tensor e = tg::zeros({0, 3}, tg::float64);
  TG_CHECK_VALUES(tg::sum(e, {0}), {0, 0, 0});
  CHECK(tg::sum(e, {1}).shape() == tg::Shape{0});
  TG_CHECK_VALUES(tg::sum(e), {0});
  // The mean of nothing is NaN (as NumPy and PyTorch).
  Tensor m = tg::mean(e, {0});
  for (double v : m.to_vector<double>()) CHECK(std::isnan(v));
  // log(sum of no exponentials) = log 0 = -inf (as PyTorch and SciPy).
  TG_CHECK_VALUES(tg::logsumexp(e, {0}), {-inf, -inf, -inf});
  CHECK(tg::logsumexp(e, {0}, true).shape() == tg::Shape{1, 3});
  CHECK(tg::logsumexp(e, {1}).shape() == tg::Shape{0});
  TG_CHECK_VALUES(tg::norm(e, 2.0, {0}), {0, 0, 0});
  TG_CHECK_VALUES(tg::norm(e, inf, {0}), {0, 0, 0});
  CHECK(tg::max(e, {1}).shape() == tg::Shape{0});
  auto g = grads_of([](const V& v) { return tg::sum(v[0], {0}); }, {e});
  CHECK(g[0].shape() == tg::Shape{0, 3});

  Tensor s = Tensor::scalar(-2.5, tg::float64);
  for (ReduceFn op : {ReduceFn(tg::sum), ReduceFn(tg::mean), ReduceFn(tg::max), ReduceFn(tg::min),
                      ReduceFn(tg::logsumexp)}) {
    Tensor y = op(s, {}, false);
    CHECK(y.rank() == 0);
    CHECK(y.item() == doctest::Approx(-2.5));
    CHECK(op(s, {}, true).rank() == 0);
  }
  TG_CHECK_VALUES(tg::norm(s, 3.0), {2.5});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::norm(v[0]); }, {s})[0], {-1});
}

TEST_CASE("reduce: a 0-d tensor takes axis 0 or -1, as PyTorch") {
  // PyTorch 1.13: a dim of a 0-d tensor must be in [-1, 0]; torch.sum(t, 0) of a
  // 0-d t is t, torch.linalg.vector_norm(tensor(-8.44), ord, 0) = 8.44 for every
  // ord (gradient sign(x) = -1), with or without keepdim a 0-d result.
  Tensor s = Tensor::scalar(-8.44, tg::float64);
  for (int axis : {0, -1}) {
    CAPTURE(axis);
    for (ReduceFn op : {ReduceFn(tg::sum), ReduceFn(tg::mean), ReduceFn(tg::max), ReduceFn(tg::min),
                        ReduceFn(tg::logsumexp)}) {
      for (bool keepdims : {false, true}) {
        Tensor y = op(s, {axis}, keepdims);
        CHECK(y.rank() == 0);
        CHECK(y.item() == doctest::Approx(-8.44).epsilon(1e-15));
      }
      TG_CHECK_VALUES(grads_of([op, axis](const V& v) { return op(v[0], {axis}, false); }, {s})[0], {1});
    }
    for (double p : {2.0, 1.0, inf, 3.0, 0.5}) {
      CAPTURE(p);
      Tensor n = tg::norm(s, p, {axis});
      CHECK(n.rank() == 0);
      CHECK(tg::norm(s, p, {axis}, true).rank() == 0);
      TG_CHECK_VALUES(n, {8.44}, 1e-15);
      TG_CHECK_VALUES(grads_of([p, axis](const V& v) { return tg::norm(v[0], p, {axis}); }, {s})[0], {-1}, 1e-14);
    }
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::norm(v[0], 2.0, {axis}); }, {s});
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::logsumexp(v[0], {axis}, true); }, {s});
  }
  // PyTorch: "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
  // and "dim 0 appears multiple times in the list of dims".
  CHECK_THROWS_WITH_AS(tg::norm(s, 2.0, {1}),
                       "norm: axis 1 out of range for shape () (expected -1 to 0: a 0-d tensor is reduced as one element)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::sum(s, {-2}), doctest::Contains("sum: axis -2 out of range for shape () (expected -1 to 0"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::sum(s, {0, -1}), doctest::Contains("sum: axis 0 appears twice"), std::invalid_argument);
}

TEST_CASE("reduce: NaN propagates through every reduction, and into the gradients that depend on it") {
  // PyTorch 1.13 for [[nan, 1, 2], [1, 2, 3]] along axis 1: sum, mean, amax, amin,
  // logsumexp and every vector_norm give NaN for the first row; the gradients of
  // amax, logsumexp and the 2- and p-norms are NaN there (those of sum and mean,
  // constants, are not); the second row is untouched.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    Tensor x = f64({nan, 1.0, 2.0, 1.0, 2.0, 3.0}, {2, 3}).to(dtype);
    for (ReduceFn op : {ReduceFn(tg::sum), ReduceFn(tg::mean), ReduceFn(tg::max), ReduceFn(tg::min),
                        ReduceFn(tg::logsumexp)}) {
      std::vector<double> y = tgtest::values_of(op(x, {1}, false));
      CHECK(std::isnan(y[0]));
      CHECK(std::isfinite(y[1]));
    }
    for (double p : {2.0, 1.0, inf, 3.0, 0.5}) {
      CAPTURE(p);
      std::vector<double> y = tgtest::values_of(tg::norm(x, p, {1}));
      CHECK(std::isnan(y[0]));
      CHECK(std::isfinite(y[1]));
    }
    // Along axis 0 of the transpose (strided lanes), and over everything.
    CHECK(std::isnan(tgtest::values_of(tg::max(tg::transpose(x), {0}))[0]));
    CHECK(std::isnan(tg::norm(x).to(tg::float64).item()));
    CHECK(std::isnan(tg::logsumexp(x).to(tg::float64).item()));
    const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> nan_gradients = {
        {"max", [](const Tensor& t) { return tg::max(t, {1}); }},
        {"min", [](const Tensor& t) { return tg::min(t, {1}); }},
        {"logsumexp", [](const Tensor& t) { return tg::logsumexp(t, {1}); }},
        {"norm 2", [](const Tensor& t) { return tg::norm(t, 2.0, {1}); }},
        {"norm 3", [](const Tensor& t) { return tg::norm(t, 3.0, {1}); }},
        {"norm 0.5", [](const Tensor& t) { return tg::norm(t, 0.5, {1}); }}};
    for (const auto& [name, f] : nan_gradients) {
      CAPTURE(name);
      std::vector<double> g = tgtest::values_of(grads_of([&f](const V& v) { return f(v[0]); }, {x})[0]);
      for (int i = 0; i < 3; ++i) CHECK(std::isnan(g[static_cast<std::size_t>(i)]));
      for (int i = 3; i < 6; ++i) CHECK(std::isfinite(g[static_cast<std::size_t>(i)]));
    }
  }
}

// ---- bad input ----------------------------------------------------------------------------

TEST_CASE("reduce: bad axes name the op, the axis and the shape") {
  Tensor x = tg::zeros({2, 3}, tg::float64);
  CHECK_THROWS_WITH_AS(tg::sum(x, {2}), "sum: axis 2 out of range for shape (2, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::mean(x, {-3}), doctest::Contains("mean: axis -3 out of range for shape (2, 3)"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::max(x, {0, 5}), doctest::Contains("max: axis 5 out of range"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::min(x, {7}), doctest::Contains("min: axis 7"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::logsumexp(x, {2}), doctest::Contains("logsumexp: axis 2 out of range"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::norm(x, 2.0, {2}), doctest::Contains("norm: axis 2 out of range"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::sum(Tensor::scalar(1.0), {1}),
                       doctest::Contains("sum: axis 1 out of range for shape () (expected -1 to 0"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::sum(x, {1, -1}), doctest::Contains("sum: axis 1 appears twice"), std::invalid_argument);
}

TEST_CASE("reduce: wrong dtypes, empty extrema and bad p") {
  Tensor idx = Tensor::from_vector(std::vector<std::int64_t>{1, 2}, tg::Shape{2});
  CHECK_THROWS_WITH_AS(tg::sum(idx), "sum: expected a float32 or float64 tensor, received (2,) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::mean(idx), doctest::Contains("mean: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::max(idx), doctest::Contains("max: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::logsumexp(idx), doctest::Contains("logsumexp: expected"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::norm(idx), doctest::Contains("norm: expected"), std::invalid_argument);
  Tensor e = tg::zeros({0, 3}, tg::float64);
  CHECK_THROWS_WITH_AS(tg::max(e, {0}), "max: cannot reduce over an axis of size 0 (shape (0, 3))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::min(e), doctest::Contains("min: cannot reduce over an axis of size 0"),
                       std::invalid_argument);
  Tensor x = f64({1, 2});
  CHECK_THROWS_WITH_AS(tg::norm(x, std::nan("")),
                       "norm: p must be a number (0, 1, 2, +-infinity or any other real p), received nan",
                       std::invalid_argument);
  // min |x| and p < 0 over zero elements: no identity (PyTorch refuses them too).
  CHECK_THROWS_WITH_AS(tg::norm(e, -inf, {0}),
                       "norm: cannot compute the -inf-norm over zero elements (shape (0, 3); p < 0 and p = "
                       "-infinity (min |x|) have no identity)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::norm(e, -1.0), doctest::Contains("norm: cannot compute the -1-norm over zero elements"),
                       std::invalid_argument);
  CHECK_NOTHROW(tg::norm(e, -1.0, {1}));  // (0, 3) over axis 1: zero vectors of 3 elements
}
