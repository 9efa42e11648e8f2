// GradientTape: recording, accumulation, persistence, nesting, no-grad, teaching aids.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::values_of;

// ---- basics ------------------------------------------------------------------

TEST_CASE("tape: gradient of a small expression") {
  Tensor x({1.0, 2.0, 3.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = tg::sum(x * x);  // dy/dx = 2x
  auto g = tape.gradient(y, {x})[0];
  CHECK(g.to_vector<double>() == std::vector<double>{2, 4, 6});
}

TEST_CASE("tape: gradients have the source's shape and dtype") {
  Tensor w = tg::randn({3, 2}, 1);
  Tensor b = tg::randn({2}, 2);
  Tensor x = tg::randn({4, 3}, 3);
  tg::GradientTape tape;
  tape.watch({w, b});
  Tensor y = tg::sum(tg::matmul(x, w) + b);
  auto g = tape.gradient(y, {w, b});
  CHECK(g[0].shape() == w.shape());
  CHECK(g[0].dtype() == tg::float32);
  CHECK(g[1].shape() == b.shape());
  CHECK(values_of(g[1]) == std::vector<double>{4, 4});  // b is broadcast over 4 rows
}

TEST_CASE("tape: only watched tensors are recorded") {
  Tensor x({1, 2});
  Tensor c({3, 4});
  tg::GradientTape tape;
  CHECK_FALSE(tape.is_watched(x));
  Tensor unrecorded = c * c;
  CHECK(tape.size() == 0);
  tape.watch(x);
  CHECK(tape.is_watched(x));
  Tensor y = x * c;
  CHECK(tape.size() == 1);
  CHECK(tape.is_watched(y));  // outputs of recorded ops are watched
  CHECK_FALSE(tape.is_watched(unrecorded));
  CHECK_THROWS_WITH_AS(tape.watch(Tensor({1, 2}, tg::int64)), doctest::Contains("only floating tensors"),
                       std::invalid_argument);
  CHECK_THROWS_AS(tape.watch(Tensor()), std::invalid_argument);
}

TEST_CASE("tape: trainable variables are watched automatically, unless told not to") {
  Tensor w = tg::Variable(Tensor({2.0, 3.0}, tg::float64), "w");
  {
    tg::GradientTape tape;
    CHECK(tape.is_watched(w));
    Tensor y = tg::sum(w * w);
    CHECK(values_of(tape.gradient(y, {w})[0]) == std::vector<double>{4, 6});
  }
  {
    tg::GradientTape tape(/*persistent=*/false, /*watch_accessed_variables=*/false);
    CHECK_FALSE(tape.is_watched(w));
    Tensor y = tg::sum(w * w);
    CHECK(tape.size() == 0);
    // Not watched and not made on the tape: an error, not a silent zero.
    CHECK_THROWS_WITH_AS(tape.gradient(y, {w}), doctest::Contains("source 0 ((2,) float64) is not watched by this tape"),
                         std::invalid_argument);
  }
  {
    tg::GradientTape tape(false, false);
    tape.watch(w);  // explicitly watched, it is recorded
    Tensor y = tg::sum(w * w);
    CHECK(values_of(tape.gradient(y, {w})[0]) == std::vector<double>{4, 6});
  }
}

TEST_CASE("tape: ops outside any tape record nothing") {
  Tensor x({1.0, 2.0}, tg::float64);
  Tensor w = tg::Variable(x);
  CHECK_FALSE(tg::is_recording());
  Tensor before = tg::sum(w * x);
  tg::GradientTape tape;
  tape.watch(x);
  CHECK(tg::is_recording());
  CHECK(tape.size() == 0);
  CHECK_FALSE(tape.is_watched(before));
  // `before` was computed before the tape existed: it is not connected to x.
  CHECK(values_of(tape.gradient(before, {x, w})[0]) == std::vector<double>{0, 0});
}

TEST_CASE("tape: a tape that is gone records nothing and leaves no trace") {
  Tensor x({1.0, 2.0}, tg::float64);
  {
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y = x * x;
  }
  CHECK_FALSE(tg::is_recording());
  tg::GradientTape fresh;
  CHECK_FALSE(fresh.is_watched(x));  // watching was the old tape's business
  Tensor y = x * x;
  CHECK(fresh.size() == 0);
}

TEST_CASE("tape: outputs still held stay watched after a non-persistent gradient()") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x * x;
  tape.gradient(tg::sum(y), {x});  // releases the records
  CHECK(tape.size() == 0);
  CHECK(tape.is_watched(x));
  CHECK(tape.is_watched(y));  // the user still holds it
  Tensor z = y * y;
  CHECK(tape.size() == 1);
  CHECK(tape.is_watched(z));
}

TEST_CASE("tape: a new tensor at the address of a dead watched one is not watched") {
  // The tape knows the tensors it watches by address. A TensorImpl allocated
  // on its own (not with make_shared, whose block a weak reference keeps)
  // frees its address when it dies, and the allocator hands it to the next
  // TensorImpl, which must not inherit the dead tensor's watched state.
  auto fresh = [] {
    auto impl = std::shared_ptr<tg::detail::TensorImpl>(new tg::detail::TensorImpl(*tg::zeros({2}, tg::float64).impl()));
    return Tensor(std::move(impl));
  };
  auto identity_op = [](const Tensor& x, const Tensor& out) {
    tg::record_op("identity", {x}, out, [](const Tensor& g, tg::BackwardContext& ctx) { ctx.add(0, g); });
  };
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = fresh();
  identity_op(x, y);
  REQUIRE(tape.is_watched(y));
  tape.gradient(tg::sum(y), {x});  // releases the records; y survives, held here
  CHECK(tape.is_watched(y));
  const void* dead_address = y.id();
  y = Tensor();  // y dies
  bool reused = false;
  std::vector<Tensor> others;
  for (int attempt = 0; attempt < 64 && !reused; ++attempt) {
    others.push_back(fresh());
    reused = others.back().id() == dead_address;
    CHECK_FALSE(tape.is_watched(others.back()));
  }
  if (!reused) MESSAGE("the allocator did not reuse the address; the check ran on other addresses only");
  const std::size_t before = tape.size();
  Tensor w = others.back() * others.back();
  CHECK(tape.size() == before);  // an op on it is not recorded
  CHECK_FALSE(tape.is_watched(w));
}

TEST_CASE("tape: a tensor made after a persistent tape's output died is not watched") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  { Tensor t = x * x; }  // the record keeps t alive, so its address stays taken
  for (int i = 0; i < 16; ++i) CHECK_FALSE(tape.is_watched(tg::zeros({2}, tg::float64)));
  CHECK(tape.size() == 1);
}

TEST_CASE("tape: a non-scalar target takes an output gradient") {
  Tensor x({1.0, 2.0, 3.0}, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  Tensor y = x * x;  // dy_i/dx_i = 2 x_i
  Tensor u({1.0, 10.0, 100.0}, tg::float64);
  CHECK(values_of(tape.gradient(y, {x}, u)[0]) == std::vector<double>{2, 40, 600});
  // The default output gradient is ones: the gradient of sum(y).
  CHECK(values_of(tape.gradient(y, {x})[0]) == std::vector<double>{2, 4, 6});
}

TEST_CASE("tape: an output gradient must match the target") {
  Tensor x({1.0, 2.0, 3.0}, tg::float64);
  tg::GradientTape tape(true);
  tape.watch(x);
  Tensor y = x * x;
  CHECK_THROWS_WITH_AS(tape.gradient(y, {x}, Tensor({1.0, 2.0}, tg::float64)),
                       doctest::Contains("output_gradient must match the target, (3,) float64, received (2,) float64"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tape.gradient(y, {x}, Tensor({1, 1, 1})), doctest::Contains("received (3,) float32"),
                       std::invalid_argument);
  // The failed calls did not use up anything: a correct call still works.
  CHECK(values_of(tape.gradient(y, {x})[0]) == std::vector<double>{2, 4, 6});
}

TEST_CASE("tape: bad targets and sources are rejected") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape(true);
  tape.watch(x);
  Tensor y = tg::sum(x);
  CHECK_THROWS_AS(tape.gradient(Tensor(), {x}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tape.gradient(y, {Tensor({1, 2}, tg::int64)}), doctest::Contains("source 0 must be a floating tensor"),
                       std::invalid_argument);
  CHECK_THROWS_AS(tape.gradient(y, {x, Tensor()}), std::invalid_argument);
  CHECK_THROWS_AS(tape.gradient(Tensor({1, 2}, tg::int64), {x}), std::invalid_argument);
}

TEST_CASE("tape: a source not connected to the target gets zeros of its shape and dtype") {
  Tensor x({1.0, 2.0}, tg::float64);
  Tensor z({{1.0, 2.0, 3.0}}, tg::float32);
  tg::GradientTape tape;
  tape.watch({x, z});
  Tensor y = tg::sum(x * x);
  auto g = tape.gradient(y, {x, z});
  CHECK(values_of(g[0]) == std::vector<double>{2, 4});
  CHECK(g[1].shape() == z.shape());
  CHECK(g[1].dtype() == tg::float32);
  CHECK(values_of(g[1]) == std::vector<double>{0, 0, 0});
}

TEST_CASE("tape: the gradient of a tensor with respect to itself is the output gradient") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  CHECK(values_of(tape.gradient(x, {x}, Tensor({3.0, 4.0}, tg::float64))[0]) == std::vector<double>{3, 4});
}

TEST_CASE("tape: a non-persistent tape answers once, with a clear message after") {
  Tensor x = Tensor::scalar(3.0, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x * x;
  CHECK(tape.gradient(y, {x})[0].item() == 6.0);
  CHECK(tape.size() == 0);  // the records are released after the gradient
  CHECK_THROWS_WITH_AS(tape.gradient(y, {x}), doctest::Contains("persistent"), std::logic_error);
  CHECK_THROWS_WITH_AS(tape.sparse_gradient(y, {x}), doctest::Contains("already computed a gradient"), std::logic_error);
}

TEST_CASE("tape: a persistent tape answers many times, and intermediate sources work") {
  Tensor x = Tensor::scalar(3.0, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  CHECK(tape.persistent());
  tape.watch(x);
  Tensor h = x * x;      // 9
  Tensor y = h * h + h;  // x^4 + x^2
  const std::size_t recorded = tape.size();
  CHECK(tape.gradient(y, {x})[0].item() == doctest::Approx(4 * 27 + 6));
  CHECK(tape.gradient(y, {h})[0].item() == doctest::Approx(2 * 9 + 1));
  auto both = tape.gradient(y, {x, h});
  CHECK(both[0].item() == doctest::Approx(114));
  CHECK(both[1].item() == doctest::Approx(19));
  CHECK(tape.gradient(h, {x})[0].item() == doctest::Approx(6));
  CHECK(tape.size() == recorded);  // a tape does not record its own gradient computation
}

// ---- accumulation, stop_gradient, no-grad ------------------------------------

TEST_CASE("tape: a value used twice accumulates") {
  Tensor x = Tensor::scalar(3.0, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x * x + x;  // 2x + 1 = 7
  CHECK(tape.gradient(y, {x})[0].item() == 7.0);
}

TEST_CASE("tape: a value used many times and along several paths accumulates") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor a = x * 2.0;
  Tensor b = a * x;  // 2x^2
  Tensor y = tg::sum(a + b + a * a + x);  // 2x + 2x^2 + 4x^2 + x: dy/dx = 3 + 12x
  CHECK(values_of(tape.gradient(y, {x})[0]) == std::vector<double>{15, 27});
}

TEST_CASE("tape: accumulation never modifies a tensor someone else holds") {
  // The running sum of many contributions is updated in place once it is a
  // tensor of the tape's own; the user's output gradient, passed through by
  // add's backward, must stay as it was.
  Tensor x({1.0, 2.0}, tg::float64);
  Tensor u({0.5, -1.0}, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  Tensor y = x + x;
  for (int i = 0; i < 5; ++i) y = y + x;  // y = 7x
  std::vector<Tensor> first = tape.gradient(y, {x}, u);
  CHECK(values_of(first[0]) == std::vector<double>{3.5, -7});
  CHECK(values_of(u) == std::vector<double>{0.5, -1});
  // A second call starts from scratch and leaves the first result alone.
  std::vector<Tensor> second = tape.gradient(y, {x}, u);
  CHECK(values_of(second[0]) == std::vector<double>{3.5, -7});
  CHECK(values_of(first[0]) == std::vector<double>{3.5, -7});
  CHECK(tape.gradient(y, {y}, u)[0].id() == u.id());  // the target's own gradient is the seed
}

TEST_CASE("tape: stop_gradient blocks the flow") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor s = tg::stop_gradient(x);
  CHECK(values_of(s) == values_of(x));
  CHECK_FALSE(tape.is_watched(s));
  Tensor y = tg::sum(x * tg::stop_gradient(x));  // d/dx treats the second factor as a constant
  CHECK(values_of(tape.gradient(y, {x})[0]) == std::vector<double>{1, 2});
}

TEST_CASE("tape: stop_gradient of a variable is not trainable") {
  Tensor w = tg::Variable(Tensor({2.0}, tg::float64));
  tg::GradientTape tape;
  Tensor y = tg::sum(w * tg::stop_gradient(w));
  CHECK(values_of(tape.gradient(y, {w})[0]) == std::vector<double>{2});
}

TEST_CASE("tape: NoGradGuard records nothing on the tapes alive") {
  Tensor x({1.0, 2.0}, tg::float64);
  Tensor w = tg::Variable(x);
  tg::GradientTape tape;
  tape.watch(x);
  {
    tg::NoGradGuard no_grad;
    CHECK_FALSE(tg::is_recording());
    Tensor y = x * x + w;
    CHECK(tape.size() == 0);
    CHECK_FALSE(tape.is_watched(y));
    {
      tg::NoGradGuard nested;
    }
    Tensor z = x * x;  // still paused after a nested guard ends
    CHECK(tape.size() == 0);
  }
  CHECK(tg::is_recording());
  Tensor y = x * x;
  CHECK(tape.size() == 1);
}

TEST_CASE("tape: a tape created inside a NoGradGuard records (as TensorFlow's stop_recording)") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape outer;
  outer.watch(x);
  tg::NoGradGuard no_grad;
  tg::GradientTape inner;
  inner.watch(x);
  CHECK(tg::is_recording());
  Tensor y = tg::sum(x * x);
  CHECK(outer.size() == 0);
  CHECK(values_of(inner.gradient(y, {x})[0]) == std::vector<double>{2, 4});
  CHECK(outer.size() == 0);  // the inner gradient's ops are not recorded on the paused outer tape
}

TEST_CASE("tape: sibling tapes record what each watches") {
  Tensor x = Tensor::scalar(2.0, tg::float64);
  Tensor z = Tensor::scalar(5.0, tg::float64);
  tg::GradientTape tx;
  tx.watch(x);
  tg::GradientTape tz;
  tz.watch(z);
  Tensor a = x * x;  // on tx only
  Tensor b = z * 3.0;  // on tz only
  Tensor y = a * b;  // on both
  CHECK(tx.size() == 2);
  CHECK(tz.size() == 2);
  // A tape's gradient of the other's source is an error (it knows nothing of
  // it), thrown before the tape is used up.
  CHECK_THROWS_WITH_AS(tx.gradient(y, {x, z}), doctest::Contains("source 1 (() float64) is not watched by this tape"),
                       std::invalid_argument);
  CHECK(tx.gradient(y, {x})[0].item() == doctest::Approx(2 * 2 * 15));
  CHECK(tz.gradient(y, {z})[0].item() == doctest::Approx(4 * 3));
}

TEST_CASE("tape: a chain of 100000 ops needs no recursion") {
  Tensor x = Tensor::scalar(1.0, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  CHECK(tape.size() == 100000);
  CHECK(tape.gradient(y, {x})[0].item() == 1.0);
}

TEST_CASE("tape: a long chain with real arithmetic") {
  // y_{k+1} = y_k * a + b, 1000 times, from y_0 = 0: dy/db = sum_k a^k.
  Tensor a = Tensor::scalar(0.999, tg::float64);
  Tensor b = Tensor::scalar(0.5, tg::float64);
  tg::GradientTape tape;
  tape.watch({a, b});
  Tensor y = Tensor::scalar(0.0, tg::float64);
  for (int i = 0; i < 1000; ++i) y = y * a + b;
  double expected_db = (1 - std::pow(0.999, 1000)) / (1 - 0.999);
  CHECK(tape.gradient(y, {b})[0].item() == doctest::Approx(expected_db).epsilon(1e-12));
}

// ---- higher order --------------------------------------------------------------

TEST_CASE("tape: nested tapes give the second derivative of x^3") {
  Tensor x = Tensor::scalar(2.0, tg::float64);
  tg::GradientTape outer;
  outer.watch(x);
  Tensor dy;
  {
    tg::GradientTape inner;
    inner.watch(x);
    Tensor y = x * x * x;
    dy = inner.gradient(y, {x})[0];  // 3x^2 = 12
  }
  CHECK(dy.item() == doctest::Approx(12.0));
  CHECK(outer.gradient(dy, {x})[0].item() == doctest::Approx(12.0));  // 6x
}

TEST_CASE("tape: three nested tapes give the third derivative") {
  // f = x^4 + exp(2x): f''' = 24x + 8 exp(2x).
  Tensor x = Tensor::scalar(0.7, tg::float64);
  tg::GradientTape t3;
  t3.watch(x);
  Tensor d2;
  {
    tg::GradientTape t2;
    t2.watch(x);
    Tensor d1;
    {
      tg::GradientTape t1;
      t1.watch(x);
      Tensor f = x * x * x * x + tg::exp(x * 2.0);
      d1 = t1.gradient(f, {x})[0];
    }
    d2 = t2.gradient(d1, {x})[0];
  }
  Tensor d3 = t3.gradient(d2, {x})[0];
  const double v = 0.7;
  CHECK(d2.item() == doctest::Approx(12 * v * v + 4 * std::exp(2 * v)).epsilon(1e-12));
  CHECK(d3.item() == doctest::Approx(24 * v + 8 * std::exp(2 * v)).epsilon(1e-12));
}

namespace {

// f(x) = sum(exp(x) * x^2) + x0 * x1 for a 3-vector x.
Tensor hvp_function(const Tensor& x) {
  Tensor x0 = tg::slice(x, 0, 0, 1);
  Tensor x1 = tg::slice(x, 0, 1, 2);
  return tg::sum(tg::exp(x) * x * x) + tg::sum(x0 * x1);
}

Tensor gradient_of(const Tensor& x_values) {
  Tensor x = x_values.clone();
  tg::GradientTape tape;
  tape.watch(x);
  return tape.gradient(hvp_function(x), {x})[0];
}

}  // namespace

TEST_CASE("tape: a Hessian-vector product agrees with finite differences of the gradient") {
  Tensor x({0.3, -0.5, 0.8}, tg::float64);
  Tensor v({1.0, 2.0, -1.5}, tg::float64);

  // H v = d/dx (grad f(x) . v), with the inner gradient recorded on the outer tape.
  Tensor hv;
  {
    tg::GradientTape outer;
    outer.watch(x);
    Tensor g;
    {
      tg::GradientTape inner;
      inner.watch(x);
      g = inner.gradient(hvp_function(x), {x})[0];
    }
    hv = outer.gradient(tg::sum(g * v), {x})[0];
  }

  // Central differences of the gradient along v: (g(x + h v) - g(x - h v)) / 2h.
  const double h = 1e-5;
  std::vector<double> plus = values_of(gradient_of(x + v * h));
  std::vector<double> minus = values_of(gradient_of(x - v * h));
  std::vector<double> got = values_of(hv);
  // And the exact Hessian: diag((x^2 + 4x + 2) exp(x)) plus 1 at (0, 1) and (1, 0).
  std::vector<double> xs = values_of(x), vs = values_of(v);
  std::vector<double> exact(3);
  for (std::size_t i = 0; i < 3; ++i) exact[i] = (xs[i] * xs[i] + 4 * xs[i] + 2) * std::exp(xs[i]) * vs[i];
  exact[0] += vs[1];
  exact[1] += vs[0];
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i] == doctest::Approx((plus[i] - minus[i]) / (2 * h)).epsilon(1e-7));
    CHECK(got[i] == doctest::Approx(exact[i]).epsilon(1e-12));
  }
}

TEST_CASE("tape: the outer tape sees an inner gradient's accumulation") {
  // y = x * x uses x twice: the inner gradient 2x is the sum of two paths, and
  // that sum must itself be differentiable.
  Tensor x({1.5, -2.0}, tg::float64);
  tg::GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    tg::GradientTape inner;
    inner.watch(x);
    g = inner.gradient(tg::sum(x * x * x), {x})[0];  // 3x^2
  }
  CHECK(values_of(g) == std::vector<double>{6.75, 12});
  CHECK(values_of(outer.gradient(g, {x})[0]) == std::vector<double>{9, -12});  // 6x
}

// ---- teaching aids -------------------------------------------------------------

TEST_CASE("tape: print lists op names, inputs, shapes and dtypes") {
  Tensor x = tg::ones({2, 3}).set_name("x");
  Tensor w = tg::Variable(tg::ones({3, 4}), "w");
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  Tensor y = tg::sum(tg::relu(tg::matmul(x, w)));
  std::ostringstream os;
  tape.print(os);
  const std::string text = os.str();
  CHECK(contains(text, "GradientTape with 3 recorded ops (persistent)"));
  CHECK(contains(text, "matmul(x:(2, 3), w:(3, 4)) -> (2, 4) float32"));
  CHECK(contains(text, "relu(t0:(2, 4)) -> (2, 4) float32"));
  CHECK(contains(text, "sum(t1:(2, 4)) -> () float32"));
}

TEST_CASE("tape: unnamed scalar constants are labelled by value, generated names avoid the user's") {
  Tensor x1 = tg::ones({2}, tg::float64).set_name("x0");  // a user's name that a generated label would take
  Tensor unnamed = tg::ones({2}, tg::float64);
  tg::GradientTape tape;
  tape.watch({x1, unnamed});
  Tensor y = tg::maximum(x1 * unnamed, 1e-08) * 2.0;
  std::ostringstream os;
  tape.print(os);
  const std::string text = os.str();
  INFO(text);
  CHECK(contains(text, "mul(x0:(2,), x1:(2,))"));  // the unnamed leaf skips the taken "x0"
  CHECK(contains(text, "maximum(t0:(2,), 1e-08:())"));
  CHECK(contains(text, "mul(t1:(2,), 2:())"));
  // Two constants with one label stay two nodes in the DOT graph.
  tg::GradientTape tape2;
  tape2.watch(x1);
  Tensor z = x1 * 2.0 + 2.0;
  const std::string dot = tape2.to_dot();
  std::size_t twos = 0;
  for (std::size_t p = dot.find("label=\"2\\n"); p != std::string::npos; p = dot.find("label=\"2\\n", p + 1)) ++twos;
  CHECK(twos == 2);
}

TEST_CASE("tape: to_dot writes a Graphviz digraph with an edge per input and output") {
  Tensor a = tg::ones({2}).set_name("a");
  Tensor b = tg::ones({2});
  tg::GradientTape tape;
  tape.watch({a, b});
  Tensor y = tg::sum(a * b);
  const std::string dot = tape.to_dot();
  CHECK(dot.rfind("digraph tape {", 0) == 0);
  CHECK(dot.substr(dot.size() - 2) == "}\n");
  CHECK(contains(dot, "op0 [shape=box"));
  CHECK(contains(dot, "#0 mul"));
  CHECK(contains(dot, "#1 sum"));
  // Tensors are nodes v0, v1, ... in order of appearance, labelled with their name and shape.
  CHECK(contains(dot, "v0 [shape=ellipse, label=\"a\\n(2,) float32\"];"));
  CHECK(contains(dot, "v1 [shape=ellipse, label=\"x0\\n(2,) float32\"];"));  // an unnamed leaf
  CHECK(contains(dot, "v0 -> op0;"));
  CHECK(contains(dot, "v1 -> op0;"));
  CHECK(contains(dot, "op0 -> v2;"));
  CHECK(contains(dot, "v2 -> op1;"));
  CHECK(contains(dot, "op1 -> v3;"));
  CHECK(contains(dot, "label=\"t1\\n() float32\""));
  std::size_t edges = 0;
  for (std::size_t p = dot.find("->"); p != std::string::npos; p = dot.find("->", p + 2)) ++edges;
  CHECK(edges == 5);  // mul: 2 in + 1 out; sum: 1 in + 1 out
  std::size_t open = 0, close = 0;
  for (char c : dot) {
    open += c == '{';
    close += c == '}';
  }
  CHECK(open == close);
}

// ---- sparse gradients ------------------------------------------------------------

TEST_CASE("tape: a gather's gradient is row-sparse, with repeated indices") {
  Tensor table = tg::randn({10, 4}, 7, tg::float64);
  Tensor idx({3, 7, 3, 0}, tg::int64);
  Tensor u = tg::randn({4, 4}, 8, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(table);
  Tensor rows = tg::gather(table, idx);
  Tensor y = tg::sum(rows * u);

  tg::Gradient g = tape.sparse_gradient(y, {table})[0];
  REQUIRE(g.is_sparse());
  CHECK(g.shape() == table.shape());
  CHECK(g.dtype() == tg::float64);
  CHECK(g.indices().to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 7, 3, 0});
  CHECK(g.values().shape() == tg::Shape{4, 4});
  CHECK(g.values().to_vector<double>() == u.to_vector<double>());

  // Densified: row 3 gets two rows of u, rows 7 and 0 one each, the others zero.
  Tensor dense = tape.gradient(y, {table})[0];
  CHECK(values_of(g.dense()) == values_of(dense));
  for (int j = 0; j < 4; ++j) {
    CHECK(dense.at({3, j}) == doctest::Approx(u.at({0, j}) + u.at({2, j})));
    CHECK(dense.at({7, j}) == u.at({1, j}));
    CHECK(dense.at({0, j}) == u.at({3, j}));
    CHECK(dense.at({5, j}) == 0);
  }
}

TEST_CASE("tape: two gathers of one table accumulate their rows") {
  Tensor table = tg::Variable(tg::randn({10, 4}, 9, tg::float64));
  Tensor i1({1, 2}, tg::int64);
  Tensor i2({{2, 9}, {1, 1}}, tg::int64);  // a 2-D index gives (2, 2, 4) rows
  tg::GradientTape tape(true);
  Tensor y = tg::sum(tg::gather(table, i1)) + tg::sum(tg::gather(table, i2) * 2.0);
  tg::Gradient g = tape.sparse_gradient(y, {table})[0];
  REQUIRE(g.is_sparse());
  CHECK(g.indices().numel() == 6);  // concatenated, not densified
  Tensor dense = g.dense();
  for (int j = 0; j < 4; ++j) {
    CHECK(dense.at({1, j}) == 1 + 2 + 2);
    CHECK(dense.at({2, j}) == 1 + 2);
    CHECK(dense.at({9, j}) == 2);
    CHECK(dense.at({0, j}) == 0);
  }
  CHECK(values_of(tape.gradient(y, {table})[0]) == values_of(dense));
}

TEST_CASE("tape: a sparse and a dense gradient of one table add up densely") {
  Tensor table = tg::randn({5, 2}, 10, tg::float64);
  tg::GradientTape tape;
  tape.watch(table);
  Tensor y = tg::sum(tg::gather(table, Tensor({4, 4}, tg::int64))) + tg::sum(table * table);
  tg::Gradient g = tape.sparse_gradient(y, {table})[0];
  CHECK_FALSE(g.is_sparse());
  Tensor expected = table * 2.0;
  for (int j = 0; j < 2; ++j) expected.set({4, j}, expected.at({4, j}) + 2);
  CHECK(values_of(g.dense()) == values_of(expected));
}

TEST_CASE("tape: Gradient::rows checks its parts") {
  Tensor idx({0, 2}, tg::int64);
  CHECK_THROWS_AS(tg::Gradient::rows(Tensor({0.0, 2.0}), tg::ones({2, 3}), tg::Shape{4, 3}), std::invalid_argument);
  CHECK_THROWS_AS(tg::Gradient::rows(idx, tg::ones({3, 3}), tg::Shape{4, 3}), std::invalid_argument);
  CHECK_THROWS_AS(tg::Gradient::rows(idx, tg::ones({2, 2}), tg::Shape{4, 3}), std::invalid_argument);
  tg::Gradient g = tg::Gradient::rows(idx, tg::ones({2, 3}), tg::Shape{4, 3});
  CHECK(g.is_sparse());
  CHECK(values_of(g.dense()) == std::vector<double>{1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0});
  CHECK_FALSE(tg::Gradient(tg::ones({2})).is_sparse());
  CHECK_FALSE(tg::Gradient().defined());
}

// ---- custom ops through record_op ------------------------------------------------

TEST_CASE("tape: record_op with a custom op, and errors from a bad backward") {
  // A custom "cube" op: y = x^3, dy/dx = 3x^2, its backward written with ops.
  auto cube = [](const Tensor& x) {
    Tensor out = x * x * x;  // computed here with ops only for brevity; recorded below as one op
    Tensor y = out.clone();
    if (tg::is_recording())
      tg::record_op("cube", {x}, y, [x](const Tensor& g, tg::BackwardContext& ctx) {
        if (ctx.needs(0)) ctx.add(0, g * x * x * 3.0);
      });
    return y;
  };
  Tensor x({1.0, 2.0}, tg::float64);
  {
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y;
    {
      tg::NoGradGuard no_grad;  // the forward's own ops are not recorded
      y = cube(x);
    }
    CHECK(tape.size() == 0);
    Tensor y2 = cube(x);
    CHECK(tape.size() == 3);  // the two muls and the cube, as written
  }

  // A backward that returns the wrong shape is caught, naming the op.
  Tensor x2({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x2);
  Tensor y = x2.clone();
  tg::record_op("bad_shape", {x2}, y, [](const Tensor&, tg::BackwardContext& ctx) {
    ctx.add(0, tg::ones({3}, tg::float64));
  });
  CHECK_THROWS_WITH_AS(tape.gradient(tg::sum(y), {x2}), doctest::Contains("in the backward of 'bad_shape'"),
                       std::logic_error);

  // An op returning one of its inputs is refused when recorded.
  tg::GradientTape tape2;
  tape2.watch(x2);
  CHECK_THROWS_WITH_AS(
      tg::record_op("identity", {x2}, x2, [](const Tensor&, tg::BackwardContext&) {}),
      doctest::Contains("returned one of its inputs"), std::logic_error);
}
