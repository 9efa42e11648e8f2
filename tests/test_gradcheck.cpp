// gradcheck and gradgradcheck: they pass on correct functions and, more to the
// point, fail with a useful report on custom ops (written with tg::record_op)
// whose backward is wrong in each of the ways a backward goes wrong.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/autodiff/format.hpp>
#include <tapegrad/tapegrad.hpp>

using tg::Tensor;
using Inputs = std::vector<Tensor>;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// y = op(x) elementwise, computed with raw loops (no recorded ops), float64 only:
// gradcheck converts its inputs to float64.
template <class F>
Tensor raw_unary(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const double* in = x.data<double>();
  double* o = out.data<double>();
  for (std::int64_t i = 0; i < x.numel(); ++i) o[i] = f(in[i]);
  return out;
}

// y = x^2 with a wrong backward: g * x, the factor 2 forgotten.
Tensor square_missing_factor(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return v * v; });
  tg::record_op("square_missing_factor", {x}, y, [x](const Tensor& g, tg::BackwardContext& ctx) {
    if (ctx.needs(0)) ctx.add(0, g * x);
  });
  return y;
}

// y = 3 X for a square matrix X, with a backward that transposes the upstream
// gradient: 3 g^T. With an all-ones upstream gradient (the gradient of sum(y))
// g^T = g and the mistake is invisible; a random upstream reveals it.
Tensor triple_transposed_backward(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return 3 * v; });
  tg::record_op("triple_transposed_backward", {x}, y, [](const Tensor& g, tg::BackwardContext& ctx) {
    if (ctx.needs(0)) ctx.add(0, tg::transpose(g) * 3.0);
  });
  return y;
}

// y = a * b elementwise, with a correct backward that ignores ctx.needs and
// always computes both gradients: right values, wasted work.
Tensor mul_ignoring_needs(const Tensor& a, const Tensor& b) {
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  for (std::int64_t i = 0; i < a.numel(); ++i) y.data<double>()[i] = a.data<double>()[i] * b.data<double>()[i];
  tg::record_op("mul_ignoring_needs", {a, b}, y, [a, b](const Tensor& g, tg::BackwardContext& ctx) {
    ctx.add(0, g * b);
    ctx.add(1, g * a);
  });
  return y;
}

// y = x^3 whose backward is right in value but computed with raw loops, so it
// is invisible to an outer tape: the second derivative comes out as zero.
Tensor cube_raw_backward(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return v * v * v; });
  tg::record_op("cube_raw_backward", {x}, y, [x](const Tensor& g, tg::BackwardContext& ctx) {
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.data<double>()[i];
      dx.data<double>()[i] = 3 * v * v * g.data<double>()[i];
    }
    ctx.add(0, dx);
  });
  return y;
}

// cube_raw_backward, done properly: the raw backward says it is not differentiable.
Tensor cube_marked_backward(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return v * v * v; });
  tg::record_op("cube_marked_backward", {x}, y, [x](const Tensor& g, tg::BackwardContext& ctx) {
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.data<double>()[i];
      dx.data<double>()[i] = 3 * v * v * g.data<double>()[i];
    }
    tg::mark_not_differentiable("cube_marked_backward", {g, x}, dx);
    ctx.add(0, dx);
  });
  return y;
}

// y = 2x whose backward returns a slightly different value on every call.
Tensor double_nondeterministic(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return 2 * v; });
  tg::record_op("double_nondeterministic", {x}, y, [](const Tensor& g, tg::BackwardContext& ctx) {
    static int calls = 0;
    ++calls;
    ctx.add(0, g * (2.0 + 1e-12 * calls));
  });
  return y;
}

// y = x * x with a backward that keeps state and contributes only on every
// other call: used twice in one graph, the function gets its gradient once, as
// with a backward that assigns instead of adding.
int square_backward_calls = 0;
Tensor square_every_other_call(const Tensor& x) {
  Tensor y = raw_unary(x, [](double v) { return v * v; });
  tg::record_op("square_every_other_call", {x}, y, [x](const Tensor& g, tg::BackwardContext& ctx) {
    if (++square_backward_calls % 2 == 0) return;
    ctx.add(0, g * x * 2.0);
  });
  return y;
}

}  // namespace

// ---- passing ---------------------------------------------------------------------

TEST_CASE("gradcheck: passes on correct functions") {
  Tensor a = tg::randn({3, 4}, 1, tg::float64);
  Tensor b = tg::randn({4, 2}, 2, tg::float64);
  Tensor c = tg::randn({2}, 3, tg::float64);
  auto f = [](const Inputs& v) { return tg::tanh(tg::matmul(v[0], v[1]) + v[2]) * tg::exp(v[2]); };
  tg::GradcheckResult r = tg::gradcheck(f, {a, b, c});
  CHECK_MESSAGE(r.passed, r.str());
  REQUIRE(r.inputs.size() == 3);
  for (const auto& in : r.inputs) {
    CHECK(in.checked);
    CHECK(in.passed);
    CHECK(in.abs_error < 1e-8);
  }
  CHECK(r.failures.empty());
  CHECK(static_cast<bool>(r));
  CHECK(contains(r.str(), "gradcheck passed"));
}

TEST_CASE("gradcheck: a scalar-valued and a broadcasting function") {
  Tensor x = tg::randn({2, 3}, 4, tg::float64);
  Tensor row = tg::randn({3}, 5, tg::float64);
  CHECK(tg::gradcheck([](const Inputs& v) { return tg::sum(v[0] * v[0]); }, {x}));
  CHECK(tg::gradcheck([](const Inputs& v) { return v[0] / (tg::exp(v[1]) + 1.0); }, {x, row}));
}

TEST_CASE("gradcheck: int64 inputs pass through unchecked") {
  Tensor table = tg::randn({5, 3}, 6, tg::float64);
  Tensor idx({4, 0, 4}, tg::int64);
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return tg::gather(v[0], v[1]); }, {table, idx});
  CHECK_MESSAGE(r.passed, r.str());
  CHECK(r.inputs[0].checked);
  CHECK_FALSE(r.inputs[1].checked);
}

TEST_CASE("gradcheck: requires_grad chooses the inputs to check") {
  Tensor x = tg::randn({3}, 7, tg::float64);
  Tensor y = tg::randn({3}, 8, tg::float64);
  tg::GradcheckOptions o;
  o.requires_grad = {false, true};
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {x, y}, o);
  CHECK_MESSAGE(r.passed, r.str());
  CHECK_FALSE(r.inputs[0].checked);
  CHECK(r.inputs[1].checked);
  o.requires_grad = {true};
  CHECK_THROWS_WITH_AS(tg::gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {x, y}, o),
                       doctest::Contains("requires_grad has 1 entries for 2 inputs"), std::invalid_argument);
  o.requires_grad = {false, false};
  tg::GradcheckResult none = tg::gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {x, y}, o);
  CHECK_FALSE(none.passed);  // nothing checked is not a pass
  CHECK(contains(none.str(), "no floating input to check"));
}

TEST_CASE("gradcheck: bad options are refused, numbers written by format_number") {
  Tensor x = tg::randn({3}, 7, tg::float64);
  auto f = [](const Inputs& v) { return v[0] * v[0]; };
  tg::GradcheckOptions o;
  o.eps = -1e-7;  // std::to_string would write -0.000000
  CHECK_THROWS_WITH_AS(tg::gradcheck(f, {x}, o), "gradcheck: eps must be positive, received -1e-07",
                       std::invalid_argument);
  o = {};
  o.dtype = tg::int64;
  CHECK_THROWS_WITH_AS(tg::gradcheck(f, {x}, o), "gradcheck: options.dtype must be float32 or float64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gradcheck(f, {x, Tensor()}), "gradcheck: input 1 is undefined", std::invalid_argument);
}

TEST_CASE("gradcheck: a failure prints its numbers as format_number does") {
  tg::GradcheckOptions o;
  o.check_accumulation = o.check_determinism = o.check_unneeded = false;
  tg::GradcheckResult r =
      tg::gradcheck([](const Inputs& v) { return square_missing_factor(v[0]); }, {Tensor({0.1}, tg::float64)}, o);
  REQUIRE_FALSE(r.passed);
  const tg::GradcheckInputReport& rep = r.inputs[0];
  using tg::detail::format_number;
  CHECK(r.failures.at(0) == "input 0: element [0] analytic " + format_number(rep.analytic) + " vs numeric " +
                                format_number(rep.numeric) + " (abs error " + format_number(rep.abs_error) +
                                ", rel error " + format_number(rep.rel_error) + ")");
  CHECK(contains(r.str(), "analytic " + format_number(rep.analytic) + " numeric " + format_number(rep.numeric)));
}

TEST_CASE("gradcheck: float32 inputs are checked in float64 by default") {
  Tensor x = tg::randn({4}, 9);  // float32
  CHECK(tg::gradcheck([](const Inputs& v) { return tg::sigmoid(v[0]) * v[0]; }, {x}));
}

TEST_CASE("gradcheck: a float32 check with the float32 options") {
  Tensor x = tg::randn({3, 3}, 10);
  Tensor w = tg::randn({3, 2}, 11);
  auto f = [](const Inputs& v) { return tg::tanh(tg::matmul(v[0], v[1])); };
  tg::GradcheckOptions o = tg::GradcheckOptions::float32();
  CHECK(o.dtype == tg::float32);
  CHECK(o.eps == 1e-3);
  CHECK(o.atol == 1e-3);
  CHECK(o.rtol == 1e-2);
  tg::GradcheckResult r = tg::gradcheck(f, {x, w}, o);
  CHECK_MESSAGE(r.passed, r.str());
  // PyTorch's float64 defaults are too strict for float32 arithmetic.
  tg::GradcheckOptions strict;
  strict.dtype = tg::float32;
  CHECK_FALSE(tg::gradcheck(f, {x, w}, strict).passed);
}

TEST_CASE("gradcheck: bad options and functions are rejected") {
  Tensor x = tg::randn({2}, 12, tg::float64);
  tg::GradcheckOptions o;
  o.dtype = tg::int64;
  CHECK_THROWS_AS(tg::gradcheck([](const Inputs& v) { return v[0]; }, {x}, o), std::invalid_argument);
  o = {};
  o.eps = 0;
  CHECK_THROWS_AS(tg::gradcheck([](const Inputs& v) { return v[0]; }, {x}, o), std::invalid_argument);
  CHECK_THROWS_AS(tg::gradcheck([](const Inputs& v) { return v[0]; }, {Tensor()}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gradcheck([](const Inputs&) { return Tensor({1, 2}, tg::int64); }, {x}),
                       doctest::Contains("must return a floating tensor"), std::invalid_argument);
}

// ---- failing -------------------------------------------------------------------

TEST_CASE("gradcheck: a wrong backward fails with input, element, analytic and numeric") {
  Tensor x({{0.5, -1.0, 2.0}, {1.5, 3.0, -0.25}}, tg::float64);
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return square_missing_factor(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  REQUIRE(r.inputs.size() == 1);
  const tg::GradcheckInputReport& rep = r.inputs[0];
  CHECK(rep.checked);
  CHECK_FALSE(rep.passed);
  // analytic = u x, numeric = 2 u x: the worst element is where |u x| is largest.
  REQUIRE(rep.worst_index.size() == 2);
  CHECK(rep.numeric == doctest::Approx(2 * rep.analytic).epsilon(1e-6));
  CHECK(rep.abs_error == doctest::Approx(std::abs(rep.analytic)).epsilon(1e-6));
  CHECK(rep.rel_error == doctest::Approx(0.5).epsilon(1e-6));
  const double x_worst = x.at({rep.worst_index[0], rep.worst_index[1]});
  Tensor u = tg::randn({2, 3}, 0, tg::float64);  // gradcheck's upstream (seed 0)
  CHECK(rep.analytic == doctest::Approx(u.at({rep.worst_index[0], rep.worst_index[1]}) * x_worst));
  const std::string report = r.str();
  CHECK(contains(report, "gradcheck FAILED"));
  CHECK(contains(report, "input 0: FAIL"));
  CHECK(contains(report, "element [" + std::to_string(rep.worst_index[0]) + ", " + std::to_string(rep.worst_index[1]) + "]"));
  CHECK(contains(report, "analytic"));
  CHECK(contains(report, "numeric"));
  REQUIRE_FALSE(r.failures.empty());
  CHECK(contains(r.failures[0], "input 0: element ["));
}

TEST_CASE("gradcheck: names the failing input among several") {
  Tensor a = tg::randn({3}, 13, tg::float64);
  Tensor b = tg::randn({3}, 14, tg::float64);
  tg::GradcheckResult r =
      tg::gradcheck([](const Inputs& v) { return v[0] * 2.0 + square_missing_factor(v[1]); }, {a, b});
  CHECK_FALSE(r.passed);
  CHECK(r.inputs[0].passed);
  CHECK_FALSE(r.inputs[1].passed);
  CHECK(contains(r.str(), "input 1: FAIL"));
  CHECK(contains(r.str(), "input 0: ok"));
}

TEST_CASE("gradcheck: a transposed gradient is caught though an all-ones upstream hides it") {
  Tensor x = tg::randn({3, 3}, 15, tg::float64);
  // Through the gradient of sum(y), the upstream gradient is all ones and the
  // wrong backward gives the right answer, 3 everywhere:
  {
    tg::GradientTape tape;
    tape.watch(x);
    Tensor g = tape.gradient(tg::sum(triple_transposed_backward(x)), {x})[0];
    for (double v : g.to_vector<double>()) CHECK(v == 3.0);
  }
  // gradcheck's random upstream gradient catches it.
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return triple_transposed_backward(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK_FALSE(r.inputs[0].passed);
  // The correct op passes the same check.
  CHECK(tg::gradcheck([](const Inputs& v) { return v[0] * 3.0; }, {x}));
}

TEST_CASE("gradcheck: gradients computed for inputs that need none are reported") {
  Tensor a = tg::randn({4}, 16, tg::float64);
  Tensor b = tg::randn({4}, 17, tg::float64);
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return mul_ignoring_needs(v[0], v[1]); }, {a, b});
  CHECK_FALSE(r.passed);
  // The values are right: only the wasted work fails the check.
  CHECK(r.inputs[0].passed);
  CHECK(r.inputs[1].passed);
  CHECK(contains(r.str(), "with only input 0 watched, 1 gradient(s) were computed for inputs that did not need one"));
  CHECK(contains(r.str(), "with only input 1 watched"));
  tg::GradcheckOptions o;
  o.check_unneeded = false;
  CHECK(tg::gradcheck([](const Inputs& v) { return mul_ignoring_needs(v[0], v[1]); }, {a, b}, o));
}

TEST_CASE("gradcheck: wasted gradients for a constant are reported with one checked input") {
  Tensor a = tg::randn({4}, 18, tg::float64);
  const Tensor constant = tg::randn({4}, 19, tg::float64);
  tg::GradcheckResult r =
      tg::gradcheck([constant](const Inputs& v) { return mul_ignoring_needs(v[0], constant); }, {a});
  CHECK_FALSE(r.passed);
  CHECK(r.inputs[0].passed);
  CHECK(contains(r.str(), "did not need one"));
}

TEST_CASE("gradcheck: a nondeterministic backward is reported") {
  Tensor x = tg::randn({3}, 20, tg::float64);
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return double_nondeterministic(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK(r.inputs[0].passed);  // within tolerance each time, but not the same twice
  CHECK(contains(r.str(), "nondeterministic backward"));
}

TEST_CASE("gradcheck: a backward that drops a contribution is caught by the accumulation check") {
  Tensor x = tg::randn({3}, 21, tg::float64);
  tg::GradcheckOptions o;
  o.check_determinism = false;
  square_backward_calls = 0;  // the first call (the analytic gradient) contributes
  tg::GradcheckResult r = tg::gradcheck([](const Inputs& v) { return square_every_other_call(v[0]); }, {x}, o);
  CHECK(r.inputs[0].passed);
  CHECK_FALSE(r.passed);
  CHECK(contains(r.str(), "gradients must be added, not assigned"));
}

// ---- second derivatives ----------------------------------------------------------

TEST_CASE("gradgradcheck: passes on x^3, on mul and on a composite") {
  Tensor x = tg::randn({4}, 22, tg::float64);
  Tensor y = tg::randn({4}, 23, tg::float64);
  tg::GradcheckResult cube = tg::gradgradcheck([](const Inputs& v) { return v[0] * v[0] * v[0]; }, {x});
  CHECK_MESSAGE(cube.passed, cube.str());
  tg::GradcheckResult mul = tg::gradgradcheck([](const Inputs& v) { return v[0] * v[1]; }, {x, y});
  CHECK_MESSAGE(mul.passed, mul.str());
  tg::GradcheckResult composite =
      tg::gradgradcheck([](const Inputs& v) { return tg::exp(v[0]) * tg::tanh(v[1]) / (v[0] * v[0] + 1.0); }, {x, y});
  CHECK_MESSAGE(composite.passed, composite.str());
}

TEST_CASE("gradgradcheck: a backward computed outside the tape fails it, though gradcheck passes") {
  Tensor x({0.5, -1.2, 2.0}, tg::float64);
  auto f = [](const Inputs& v) { return cube_raw_backward(v[0]); };
  tg::GradcheckResult first = tg::gradcheck(f, {x});
  CHECK_MESSAGE(first.passed, first.str());
  tg::GradcheckResult second = tg::gradgradcheck(f, {x});
  CHECK_FALSE(second.passed);
  // The tape sees no second derivative at all; the numeric one is 6 x u.
  CHECK(second.inputs[0].analytic == 0.0);
  CHECK(second.inputs[0].numeric != doctest::Approx(0.0));
}

TEST_CASE("gradgradcheck: a backward marked not differentiable raises a clear error") {
  Tensor x({0.5, -1.2, 2.0}, tg::float64);
  auto f = [](const Inputs& v) { return cube_marked_backward(v[0]); };
  tg::GradcheckResult first = tg::gradcheck(f, {x});
  CHECK_MESSAGE(first.passed, first.str());  // first derivatives are unaffected
  CHECK_THROWS_WITH_AS(tg::gradgradcheck(f, {x}),
                       doctest::Contains("cube_marked_backward: its backward is computed without differentiable ops"),
                       std::logic_error);
  // The same through nested tapes by hand.
  tg::GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    tg::GradientTape inner;
    inner.watch(x);
    g = inner.gradient(tg::sum(cube_marked_backward(x)), {x})[0];
  }
  CHECK(g.at({2}) == doctest::Approx(12.0));
  CHECK_THROWS_WITH_AS(outer.gradient(tg::sum(g), {x}), doctest::Contains("has no higher derivative"),
                       std::logic_error);
}

TEST_CASE("gradgradcheck: works when called under a NoGradGuard") {
  Tensor x = tg::randn({3}, 24, tg::float64);
  tg::NoGradGuard no_grad;
  tg::GradcheckResult r = tg::gradgradcheck([](const Inputs& v) { return v[0] * v[0] * v[0]; }, {x});
  CHECK_MESSAGE(r.passed, r.str());
}
