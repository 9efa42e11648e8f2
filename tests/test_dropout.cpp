// dropout (inverted): the mask by hand from the generator's draws, the same
// mask sequence as the Dropout layer's for one generator state, the gradient
// as the mask, rate 0 as the identity, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

TEST_CASE("dropout: each element is zeroed when its draw is below rate, else scaled by 1 / (1 - rate)") {
  const double rate = 0.3;
  Tensor x = randn64({4, 5}, 1);
  tg::Generator gen(9), replay(9);
  Tensor y = tg::dropout(x, rate, gen);
  CHECK(y.shape() == x.shape());
  // The draws in row-major order, one per element.
  std::vector<double> want;
  for (double v : tgtest::values_of(x)) want.push_back(replay.uniform() < rate ? 0.0 : v / (1 - rate));
  TG_CHECK_VALUES(y, want, 1e-15, 0);
  // The generator has advanced by one draw per element: the next call draws on.
  CHECK(gen.uniform() == replay.uniform());
  // float32: the mask in float32, 1 / 0.7 rounded once.
  tg::Generator gen32(9);
  Tensor y32 = tg::dropout(x.to(tg::float32), rate, gen32);
  CHECK(y32.dtype() == tg::float32);
  TG_CHECK_TENSOR(y32, y, 1e-6, 1e-6);
}

TEST_CASE("dropout: the Dropout layer's mask sequence for the same generator state") {
  Tensor x = randn64({3, 7}, 2);
  tg::layers::Dropout layer(0.5, 42);
  tg::Generator gen(42);
  // Two calls in a row: the second mask continues the same sequence.
  for (int call = 0; call < 2; ++call) {
    CAPTURE(call);
    TG_CHECK_TENSOR(layer(x, true), tg::dropout(x, 0.5, gen), 0, 0);
  }
}

TEST_CASE("dropout: the gradient is the mask, and gradcheck passes") {
  Tensor x = randn64({3, 5}, 3);
  tg::Generator gen(4);
  Tensor u = randn64({3, 5}, 5);
  tg::Generator replay(4);
  auto g = grads_of([&](const V& v) { return tg::dropout(v[0], 0.25, gen); }, {x}, u);
  std::vector<double> want;
  for (double ui : tgtest::values_of(u)) want.push_back(replay.uniform() < 0.25 ? 0.0 : ui / 0.75);
  TG_CHECK_VALUES(g[0], want, 1e-15, 0);
  // A fresh generator per call: the same mask for every evaluation of the check.
  TG_CHECK_GRADCHECK(
      [](const V& v) {
        tg::Generator fixed(11);
        return tg::dropout(v[0], 0.4, fixed);
      },
      {randn64({3, 5}, 6)});
}

TEST_CASE("dropout: rate 0 returns x itself and draws nothing") {
  Tensor x = randn64({2, 3}, 7);
  tg::Generator gen(1), untouched(1);
  Tensor y = tg::dropout(x, 0.0, gen);
  CHECK(y.id() == x.id());
  CHECK(gen.uniform() == untouched.uniform());
}

TEST_CASE("dropout: bad input names the op and what was received") {
  tg::Generator gen(0);
  Tensor x = f64({1, 2});
  CHECK(error_of([&] { tg::dropout(x, 1.0, gen); }) == "dropout: rate must be in [0, 1), received 1");
  CHECK(error_of([&] { tg::dropout(x, -0.1, gen); }) == "dropout: rate must be in [0, 1), received -0.1");
  CHECK(error_of([&] { tg::dropout(x, std::nan(""), gen); }) == "dropout: rate must be in [0, 1), received nan");
  CHECK_THROWS_WITH_AS(tg::dropout(Tensor(), 0.5, gen), "dropout: received an undefined tensor", std::invalid_argument);
  CHECK(error_of([&] { tg::dropout(tgtest::i64({1, 2}), 0.5, gen); }) ==
        "dropout: expected a float32 or float64 tensor, received (2,) int64");
}
