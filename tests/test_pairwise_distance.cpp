// pairwise_distance (PyTorch's F.pairwise_distance): PyTorch values and
// gradients, gradchecks for several p, the losses' name for the same op, bad
// input. (Hand-computed values and the eps checks: test_losses_metric.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "cosine_fixtures.hpp"
#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

TEST_CASE("pairwise_distance: values and gradients against PyTorch 1.13") {
  // F.pairwise_distance(x1, x2, p, eps=1e-6) in float64; the gradient of p = 2
  // by torch.autograd.grad with upstream [0.5, -2].
  Tensor x1 = f64({1, 2, 3, -1, 0.5, 2}, {2, 3});
  Tensor x2 = f64({4, -5, 6, 2, 2, -1}, {2, 3});
  TG_CHECK_VALUES(tg::pairwise_distance(x1, x2), {8.185352894042076, 4.499999666666987}, 1e-14, 0);
  TG_CHECK_VALUES(tg::pairwise_distance(x1, x2, 1.0), {12.999998999999999, 7.499999}, 1e-14, 0);
  TG_CHECK_VALUES(tg::pairwise_distance(x1, x2, 3.0), {7.349597170450673, 3.856922234735993}, 1e-14, 0);
  auto g = grads_of([](const V& v) { return tg::pairwise_distance(v[0], v[1]); }, {x1, x2}, f64({0.5, -2}));
  TG_CHECK_VALUES(g[0], {-0.18325410271459572, 0.42759310994979427, -0.18325410271459572, 1.3333329876542004,
                         0.6666662716048616, -1.3333338765431553},
                  1e-12, 0);
  TG_CHECK_VALUES(g[1], {0.18325410271459572, -0.42759310994979427, 0.18325410271459572, -1.3333329876542004,
                         -0.6666662716048616, 1.3333338765431553},
                  1e-12, 0);
}

TEST_CASE("pairwise_distance: gradcheck for p = 2, 1, 3 and infinity, 1-D to 3-D") {
  const double inf = std::numeric_limits<double>::infinity();
  std::uint64_t seed = 1;
  for (double p : {2.0, 1.0, 3.0, inf})
    for (const tg::Shape& shape : {tg::Shape{5}, tg::Shape{3, 4}, tg::Shape{2, 3, 4}}) {
      CAPTURE(p);
      CAPTURE(shape);
      TG_CHECK_GRADCHECK([p](const V& v) { return tg::pairwise_distance(v[0], v[1], p); },
                         {tgtest::away_from_zero(shape, seed), tgtest::away_from_zero(shape, seed + 1)});
      seed += 2;
    }
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::pairwise_distance(v[0], v[1]); },
                         {randn64({3, 4}, 30), randn64({3, 4}, 31)});
}

TEST_CASE("pairwise_distance: broadcasting, keepdim, unbatched and p = 0, +-inf, < 0 against PyTorch 1.13 fixtures") {
  const auto cases = load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/pairwise_distance.txt");
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.function == "pairwise_distance");
    const double p = std::stod(c.params.at("p")), eps = std::stod(c.params.at("eps"));
    const bool keepdim = c.params.at("keepdim") == "1";
    auto f = [=](const V& v) { return tg::pairwise_distance(v[0], v[1], p, eps, keepdim); };
    const V inputs{c.tensors.at("x1"), c.tensors.at("x2")};
    const Tensor y = f(inputs);
    CHECK(y.shape() == c.tensors.at("y").shape());
    TG_CHECK_TENSOR(y, c.tensors.at("y"), 1e-12, 1e-14);
    auto g = grads_of(f, inputs, c.tensors.at("u"));
    CHECK(g[0].shape() == inputs[0].shape());
    CHECK(g[1].shape() == inputs[1].shape());
    TG_CHECK_TENSOR(g[0], c.tensors.at("g1"), 1e-10, 1e-12);
    TG_CHECK_TENSOR(g[1], c.tensors.at("g2"), 1e-10, 1e-12);
  }
}

TEST_CASE("pairwise_distance: shapes of broadcast, keepdim and unbatched forms") {
  Tensor m = randn64({3, 4}, 5), row = randn64({1, 4}, 6), vec = randn64({4}, 7);
  CHECK(tg::pairwise_distance(m, row).shape() == tg::Shape{3});
  CHECK(tg::pairwise_distance(row, m, 2.0, 1e-6, true).shape() == tg::Shape{3, 1});
  CHECK(tg::pairwise_distance(vec, m).shape() == tg::Shape{3});
  CHECK(tg::pairwise_distance(vec, vec).rank() == 0);
  CHECK(tg::pairwise_distance(vec, vec, 2.0, 1e-6, true).shape() == tg::Shape{1});
  CHECK(tg::pairwise_distance(randn64({2, 1, 4}, 8), m).shape() == tg::Shape{2, 3});
  // Broadcasting is the same as repeating the row.
  TG_CHECK_TENSOR(tg::pairwise_distance(m, row, 3.0), tg::pairwise_distance(m, tg::broadcast_to(row, {3, 4}), 3.0), 0, 0);
  // Empty batch and empty features (an empty sum: 0, for p < 0 too, as PyTorch).
  CHECK(tg::pairwise_distance(tg::zeros({0, 4}, tg::float64), tg::zeros({0, 4}, tg::float64)).shape() == tg::Shape{0});
  const double inf = std::numeric_limits<double>::infinity();
  for (double p : {2.0, 0.0, -1.0, -inf}) {
    CAPTURE(p);
    TG_CHECK_VALUES(tg::pairwise_distance(tg::zeros({3, 0}, tg::float64), tg::zeros({1, 0}, tg::float64), p),
                    {0, 0, 0}, 0, 0);
  }
}

TEST_CASE("pairwise_distance: gradcheck with broadcasting, keepdim and p = -inf, -1.5, 0") {
  const double inf = std::numeric_limits<double>::infinity();
  std::uint64_t seed = 40;
  const std::vector<std::pair<tg::Shape, tg::Shape>> shapes = {
      {{3, 4}, {1, 4}}, {{4}, {3, 4}}, {{2, 1, 4}, {3, 4}}, {{5}, {5}}};
  for (double p : {2.0, 3.0, inf, -inf, -1.5, 0.0})
    for (const auto& [s1, s2] : shapes)
      for (bool keepdim : {false, true}) {
        CAPTURE(p);
        CAPTURE(s1);
        CAPTURE(s2);
        CAPTURE(keepdim);
        TG_CHECK_GRADCHECK([p, keepdim](const V& v) { return tg::pairwise_distance(v[0], v[1], p, 1e-6, keepdim); },
                           {tgtest::away_from_zero(s1, seed), tgtest::away_from_zero(s2, seed + 1)});
        seed += 2;
      }
}

TEST_CASE("pairwise_distance: tg::losses::pairwise_distance is the same function") {
  Tensor a = randn64({4, 3}, 1), b = randn64({4, 3}, 2);
  TG_CHECK_TENSOR(tg::losses::pairwise_distance(a, b, 3.0, 1e-4), tg::pairwise_distance(a, b, 3.0, 1e-4), 0, 0);
  CHECK(tg::pairwise_distance(a, b).shape() == tg::Shape{4});
  CHECK(tg::pairwise_distance(a.to(tg::float32), b.to(tg::float32)).dtype() == tg::float32);
}

TEST_CASE("pairwise_distance: bad input names the op and what was received") {
  Tensor x = f64({1, 2, 3, 4}, {2, 2});
  CHECK(error_of([&] { tg::pairwise_distance(x, f64({1, 2, 3}, {1, 3})); }) ==
        "pairwise_distance: x1 and x2 must broadcast to one shape (..., features), received (2, 2) and (1, 3) "
        "(axis 1: 2 vs 3)");
  CHECK(error_of([&] { tg::pairwise_distance(f64({1, 2, 3, 4, 5, 6}, {3, 2}), f64({1, 2, 3, 4}, {2, 2})); }) ==
        "pairwise_distance: x1 and x2 must broadcast to one shape (..., features), received (3, 2) and (2, 2) "
        "(axis 0: 3 vs 2)");
  CHECK(error_of([&] { tg::pairwise_distance(x, x, std::nan("")); }) ==
        "pairwise_distance: p must be a number (0, 1, 2, +-infinity or any other real p), received nan");
  CHECK(error_of([&] { tg::pairwise_distance(x, x, 2.0, std::nan("")); }) ==
        "pairwise_distance: eps must be finite, received nan");
  CHECK(error_of([&] { tg::pairwise_distance(x, x.to(tg::float32)); }) ==
        "pairwise_distance: x1 and x2 must have one dtype, received float64 and float32 (convert one with .to())");
  CHECK(error_of([&] { tg::pairwise_distance(Tensor(), x); }) == "pairwise_distance: x1 is an undefined tensor");
  CHECK(error_of([&] { tg::pairwise_distance(x, tgtest::i64({1, 2, 3, 4}, {2, 2})); }) ==
        "pairwise_distance: x2 must be a float32 or float64 tensor, received (2, 2) int64");
}
