// GradientTape: recording, accumulation, persistence, nesting, no-grad, teaching aids.
#include <doctest/doctest.h>

#include <sstream>
#include <tapegrad/tapegrad.hpp>

using tg::Tensor;

TEST_CASE("tape: gradient of a small expression") {
  Tensor x({1.0, 2.0, 3.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = tg::sum(x * x);  // dy/dx = 2x
  auto g = tape.gradient(y, {x})[0];
  CHECK(g.to_vector<double>() == std::vector<double>{2, 4, 6});
}

TEST_CASE("tape: a value used twice accumulates") {
  Tensor x = Tensor::scalar(3.0, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x * x + x;  // 2x + 1 = 7
  CHECK(tape.gradient(y, {x})[0].item() == 7.0);
}

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

TEST_CASE("tape: a chain of 100000 ops needs no recursion") {
  Tensor x = Tensor::scalar(1.0, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  CHECK(tape.gradient(y, {x})[0].item() == 1.0);
}
