// batch_dot (Keras's per-sample contraction): gradchecks for every placement
// of the contracted axes (last, first, a middle one through a permute),
// second derivatives, PyTorch values, the Dot layer as the same op, bad input.
#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

TEST_CASE("batch_dot: gradcheck for each placement of the contracted axes") {
  struct Case {
    tg::Shape x, y;
    std::pair<int, int> axes;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {3, 4}, {1, 1}},              // two (B, d): (B, 1)
      {{2, 3, 4}, {2, 4, 5}, {2, 1}},        // a batched matmul
      {{2, 4, 3}, {2, 4, 5}, {1, 1}},        // x's axis first: transpose_x
      {{2, 3, 4}, {2, 5, 4}, {-1, -1}},      // y's axis last: transpose_y
      {{2, 2, 3, 4}, {2, 5, 3}, {2, 2}},     // x's axis in the middle: a permute
      {{2, 3, 4}, {2, 2, 4, 2}, {2, 2}},     // y's axis in the middle
      {{2, 3, 4}, {2, 4}, {2, 1}},           // (B, n, d) . (B, d) -> (B, n)
  };
  std::uint64_t seed = 1;
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.y);
    CAPTURE(c.axes.first);
    CAPTURE(c.axes.second);
    const std::pair<int, int> axes = c.axes;
    TG_CHECK_GRADCHECK([axes](const V& v) { return tg::batch_dot(v[0], v[1], axes); },
                       {randn64(c.x, seed), randn64(c.y, seed + 1)});
    seed += 2;
  }
  // One tensor as both operands: its gradient is the sum of both parts.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::batch_dot(v[0], v[0], 2); }, {randn64({2, 3, 4}, 20)});
}

TEST_CASE("batch_dot: gradgradcheck") {
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::batch_dot(v[0], v[1], {2, 1}); },
                         {randn64({2, 3, 4}, 1), randn64({2, 4, 2}, 2)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::batch_dot(v[0], v[1], {2, 2}); },
                         {randn64({2, 2, 3, 2}, 3), randn64({2, 2, 3}, 4)});
}

TEST_CASE("batch_dot: values and gradients against PyTorch 1.13") {
  // torch.einsum('bik,bkj->bij', x, y) in float64, and torch.autograd.grad with upstream u.
  Tensor x = f64({1, 2, 3, 4, 5, 6, -1, 0, 2, 3, -2, 1}, {2, 2, 3});
  Tensor y = f64({1, -1, 0, 2, 3, 1, 2, 0, -1, 1, 0.5, -3}, {2, 3, 2});
  Tensor u = f64({1, -2, 0.5, 3, -1, 1, 2, 0.25}, {2, 2, 2});
  Tensor out = tg::batch_dot(x, y, {2, 1});
  CHECK(out.shape() == tg::Shape{2, 2, 2});
  TG_CHECK_VALUES(out, {10, 6, 22, 12, -1, -6, 8.5, -5});
  auto g = grads_of([](const V& v) { return tg::batch_dot(v[0], v[1], {2, 1}); }, {x, y}, u);
  TG_CHECK_VALUES(g[0], {3, -4, 1, -2.5, 6, 4.5, -2, 2, -3.5, 4, -1.75, 0.25});
  TG_CHECK_VALUES(g[1], {3, 10, 4.5, 11, 6, 12, 7, -0.25, -4, -0.5, 0, 2.25});
  // torch.einsum('bki,bkj->bij', x, z): both contracted axes first.
  Tensor z = f64({1, 2, 3, -1, 0.5, 0, -2, 4}, {2, 2, 2});
  Tensor first = tg::batch_dot(x, z, 1);
  CHECK(first.shape() == tg::Shape{2, 3, 2});
  TG_CHECK_VALUES(first, {13, -2, 17, -1, 21, 0, -6.5, 12, 4, -8, -1, 4});
  // Two (B, d): (a * b).sum(1, keepdim=True), as Keras's (B, 1).
  Tensor a = f64({1, 2, 3, -1, 0.5, 2}, {2, 3});
  Tensor b = f64({4, -5, 6, 2, 2, -1}, {2, 3});
  Tensor rows = tg::batch_dot(a, b, {1, -1});
  CHECK(rows.shape() == tg::Shape{2, 1});
  TG_CHECK_VALUES(rows, {12, -3});  // 4 - 10 + 18; -2 + 1 - 2
}

TEST_CASE("batch_dot: the Dot layer is batch_dot of its inputs (after normalize)") {
  Tensor x = randn64({3, 2, 4, 5}, 1), y = randn64({3, 4, 2}, 2);
  TG_CHECK_TENSOR(tg::layers::Dot({2, 1})({x, y}), tg::batch_dot(x, y, {2, 1}), 0, 0);
  TG_CHECK_TENSOR(tg::layers::Dot({2, 1}, true)({x, y}),
                  tg::batch_dot(tg::l2_normalize(x, 2), tg::l2_normalize(y, 1), {2, 1}), 0, 0);
  CHECK(tg::batch_dot(x.to(tg::float32), y.to(tg::float32), {2, 1}).dtype() == tg::float32);
}

TEST_CASE("batch_dot: bad input names the op and what was received") {
  Tensor x = randn64({2, 3}, 1);
  CHECK(error_of([&] { tg::batch_dot(x, randn64({2, 4}, 2), 1); }) ==
        "batch_dot: cannot contract axis 1 of (2, 3) with axis 1 of (2, 4) (3 vs 4)");
  CHECK(error_of([&] { tg::batch_dot(x, randn64({3, 3}, 2), 1); }) ==
        "batch_dot: x and y must have the same batch size, received shapes (2, 3) and (3, 3)");
  CHECK(error_of([&] { tg::batch_dot(x, randn64({2}, 2), {1, 0}); }) ==
        "batch_dot: expects x and y of rank >= 2, (batch, ...), received shapes (2, 3) and (2,)");
  CHECK(error_of([&] { tg::batch_dot(x, x, {-2, 1}); }) ==
        "batch_dot: axis 0 is the batch axis and cannot be contracted (axes count the batch axis, as Keras's); "
        "received axes=(-2, 1) for shapes (2, 3) and (2, 3)");
  CHECK_THROWS_WITH_AS(tg::batch_dot(x, x, {1, 2}), "batch_dot: axis 2 out of range for shape (2, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::batch_dot(x, x.to(tg::float32), 1),
                       "batch_dot: dtypes differ: float64 and float32 (convert one with .to(tg::float32) or .to(tg::float64))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::batch_dot(x, Tensor(), 1), "batch_dot: received an undefined tensor", std::invalid_argument);
  CHECK(tgtest::contains(error_of([&] { tg::batch_dot(tgtest::i64({1, 2}, {1, 2}), x, 1); }),
                         "batch_dot: expected a float32 or float64 tensor, received (1, 2) int64"));
}
