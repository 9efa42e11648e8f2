// Shape ops: gradchecks, values by hand, storage sharing, int64 tensors, edge
// cases and bad input. PyTorch values: test_fixtures.cpp.
#include <doctest/doctest.h>

#include <stdexcept>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::i64;
using tgtest::randn64;
using V = std::vector<Tensor>;

TEST_CASE("shape: gradcheck reshape, transpose, permute") {
  Tensor x = randn64({2, 3, 4}, 1);
  TG_CHECK_GRADCHECK([](const V& v) { return tg::reshape(v[0], {4, -1}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::reshape(v[0], {24}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::reshape(v[0], {-1, 2, 2}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::reshape(v[0], {1, 1}); }, {randn64({}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::reshape(v[0], {}); }, {randn64({1, 1}, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::transpose(v[0]); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::transpose(v[0]); }, {randn64({3, 5}, 4)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::transpose(v[0], {2, 0, 1}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::transpose(v[0], {-1, 0, -2}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::permute(v[0], {1, 2, 0}); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::permute(v[0], {0, 1, 2}); }, {x});  // identity
}

TEST_CASE("shape: gradcheck expand_dims and squeeze") {
  Tensor x = randn64({3, 4}, 1);
  for (int axis : {0, 1, 2, -1, -2, -3}) {
    CAPTURE(axis);
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::expand_dims(v[0], axis); }, {x});
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::expand_dims(v[0], 0); }, {randn64({}, 2)});
  Tensor y = randn64({3, 1, 4, 1}, 3);
  TG_CHECK_GRADCHECK([](const V& v) { return tg::squeeze(v[0], {1}); }, {y});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::squeeze(v[0], {-1}); }, {y});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::squeeze(v[0], {3, 1}); }, {y});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::squeeze(v[0]); }, {y});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::squeeze(v[0]); }, {randn64({1, 1}, 4)});  // to 0-d
}

TEST_CASE("shape: gradcheck concat and stack") {
  auto concat0 = [](const V& v) { return tg::concat(v, 0); };
  auto concat_last = [](const V& v) { return tg::concat(v, -1); };
  TG_CHECK_GRADCHECK(concat0, {randn64({2, 3}, 1), randn64({4, 3}, 2)});
  TG_CHECK_GRADCHECK(concat_last, {randn64({2, 3}, 3), randn64({2, 1}, 4), randn64({2, 2}, 5)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::concat(v, 1); }, {randn64({2, 3, 2}, 6), randn64({2, 1, 2}, 7)});
  TG_CHECK_GRADCHECK(concat0, {randn64({3}, 8)});                          // a single tensor
  TG_CHECK_GRADCHECK(concat0, {randn64({2, 3}, 9), randn64({0, 3}, 10)});  // an empty piece
  // The same tensor twice: its gradient is the sum of both slices.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::concat({v[0], v[1], v[0]}, 0); }, {randn64({2}, 11), randn64({3}, 12)});
  for (int axis : {0, 1, 2, -1, -3}) {
    CAPTURE(axis);
    TG_CHECK_GRADCHECK([axis](const V& v) { return tg::stack(v, axis); },
                       {randn64({2, 3}, 13), randn64({2, 3}, 14), randn64({2, 3}, 15)});
  }
  TG_CHECK_GRADCHECK([](const V& v) { return tg::stack(v, 0); }, {randn64({}, 16), randn64({}, 17)});  // 0-d -> (2,)
}

TEST_CASE("shape: gradcheck slice") {
  Tensor x = randn64({3, 6}, 1);
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], 1, 1, 5, 2); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], 0, 1, 3); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], -1, -4, -1); }, {x});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], 1, 0, 100, 4); }, {x});  // stop clamped
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], 1, 4, 2); }, {x});       // empty
  TG_CHECK_GRADCHECK([](const V& v) { return tg::slice(v[0], 1, 2, 5, 1); }, {randn64({2, 7, 3}, 2)});
}

TEST_CASE("shape: gradcheck broadcast_to and sum_to") {
  TG_CHECK_GRADCHECK([](const V& v) { return tg::broadcast_to(v[0], {2, 3}); }, {randn64({3}, 1)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::broadcast_to(v[0], {2, 3, 4}); }, {randn64({3, 1}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::broadcast_to(v[0], {2, 2}); }, {randn64({}, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sum_to(v[0], {3, 1}); }, {randn64({2, 3, 4}, 4)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sum_to(v[0], {}); }, {randn64({2, 3}, 5)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::sum_to(v[0], {1, 4}); }, {randn64({2, 3, 4}, 6)});
}

TEST_CASE("shape: gradgradcheck through shape ops") {
  // Shape ops are linear; composed with a product their second derivatives must still flow.
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::transpose(tg::mul(v[0], v[0]), {1, 0}); }, {randn64({2, 3}, 1)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor c = tg::concat({v[0], v[1]}, 0); return tg::mul(c, c); },
                         {randn64({2}, 2), randn64({3}, 3)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor s = tg::slice(v[0], 1, 1, 4, 2); return tg::mul(s, s); },
                         {randn64({2, 5}, 4)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor b = tg::broadcast_to(v[0], {3, 2}); return tg::mul(b, b); },
                         {randn64({2}, 5)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor s = tg::stack({v[0], v[0]}, 1); return tg::mul(s, tg::reshape(s, {2, 2})); },
                         {randn64({2}, 6)});
}

// ---- values by hand --------------------------------------------------------------------

TEST_CASE("shape: reshape keeps row-major order and shares storage") {
  Tensor x = tg::arange(1.0, 7.0, 1.0, tg::float64);
  Tensor r = tg::reshape(x, {2, -1});
  CHECK(r.shape() == tg::Shape{2, 3});
  TG_CHECK_VALUES(r, {1, 2, 3, 4, 5, 6});
  CHECK(r.raw_data() == x.raw_data());
  CHECK(tg::reshape(x, {-1, 1, 2}).shape() == tg::Shape{3, 1, 2});
  CHECK(tg::reshape(tg::zeros({0, 3}), {3, -1, 2}).shape() == tg::Shape{3, 0, 2});
  // The gradient comes back in the input's shape, same order.
  Tensor u = f64({10, 20, 30, 40, 50, 60}, {2, 3});
  Tensor g = grads_of([](const V& v) { return tg::reshape(v[0], {2, 3}); }, {x}, u)[0];
  CHECK(g.shape() == tg::Shape{6});
  TG_CHECK_VALUES(g, {10, 20, 30, 40, 50, 60});
}

TEST_CASE("shape: transpose and permute by hand") {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = tg::transpose(x);
  CHECK(t.shape() == tg::Shape{3, 2});
  TG_CHECK_VALUES(t, {1, 4, 2, 5, 3, 6});
  // (2, 3, 4) with perm (1, 2, 0): output[j, k, i] = x[i, j, k].
  Tensor c = tg::reshape(tg::arange(24.0, tg::float64), {2, 3, 4});
  Tensor p = tg::permute(c, {1, 2, 0});
  CHECK(p.shape() == tg::Shape{3, 4, 2});
  CHECK(p.at({2, 1, 1}) == c.at({1, 2, 1}));  // 12 + 8 + 1 = 21
  CHECK(p.at({2, 1, 1}) == 21.0);
  CHECK(tg::transpose(c).shape() == tg::Shape{4, 3, 2});
  CHECK(tg::transpose(c).at({3, 2, 1}) == c.at({1, 2, 3}));
  // The gradient is the upstream transposed back: upstream (3, 2) [[a, b], [c, d], [e, f]] -> [[a, c, e], [b, d, f]].
  Tensor g = grads_of([](const V& v) { return tg::transpose(v[0]); }, {x}, f64({1, 2, 3, 4, 5, 6}, {3, 2}))[0];
  TG_CHECK_VALUES(g, {1, 3, 5, 2, 4, 6});
  // A 0-d tensor transposes to itself.
  CHECK(tg::transpose(Tensor::scalar(3.0)).item() == 3.0);
}

TEST_CASE("shape: expand_dims and squeeze by hand") {
  Tensor x = tg::zeros({3, 4});
  CHECK(tg::expand_dims(x, 0).shape() == tg::Shape{1, 3, 4});
  CHECK(tg::expand_dims(x, 1).shape() == tg::Shape{3, 1, 4});
  CHECK(tg::expand_dims(x, 2).shape() == tg::Shape{3, 4, 1});
  CHECK(tg::expand_dims(x, -1).shape() == tg::Shape{3, 4, 1});
  CHECK(tg::expand_dims(x, -3).shape() == tg::Shape{1, 3, 4});
  CHECK(tg::expand_dims(Tensor::scalar(1.0), 0).shape() == tg::Shape{1});
  Tensor y = tg::zeros({1, 3, 1, 4});
  CHECK(tg::squeeze(y).shape() == tg::Shape{3, 4});
  CHECK(tg::squeeze(y, {0}).shape() == tg::Shape{3, 1, 4});
  CHECK(tg::squeeze(y, {-2}).shape() == tg::Shape{1, 3, 4});
  CHECK(tg::squeeze(y, {0, 2}).shape() == tg::Shape{3, 4});
  CHECK(tg::squeeze(tg::zeros({1, 1})).shape() == tg::Shape{});
  CHECK(tg::squeeze(tg::zeros({2, 3})).shape() == tg::Shape{2, 3});
}

TEST_CASE("shape: concat and stack by hand, with their gradients") {
  Tensor a = f64({1, 2, 3, 4}, {2, 2});
  Tensor b = f64({5, 6}, {2, 1});
  Tensor c = tg::concat({a, b}, 1);
  CHECK(c.shape() == tg::Shape{2, 3});
  TG_CHECK_VALUES(c, {1, 2, 5, 3, 4, 6});
  TG_CHECK_VALUES(tg::concat({a, tg::transpose(b)}, 0), {1, 2, 3, 4, 5, 6});
  // Upstream [[10, 20, 30], [40, 50, 60]] splits into the columns each input filled.
  auto g = grads_of([](const V& v) { return tg::concat(v, -1); }, {a, b}, f64({10, 20, 30, 40, 50, 60}, {2, 3}));
  TG_CHECK_VALUES(g[0], {10, 20, 40, 50});
  TG_CHECK_VALUES(g[1], {30, 60});
  Tensor s = tg::stack({f64({1, 2}), f64({3, 4}), f64({5, 6})}, 1);
  CHECK(s.shape() == tg::Shape{2, 3});
  TG_CHECK_VALUES(s, {1, 3, 5, 2, 4, 6});
  CHECK(tg::stack({f64({1, 2}), f64({3, 4})}, 0).shape() == tg::Shape{2, 2});
  CHECK(tg::stack({f64({1, 2}), f64({3, 4})}, -1).shape() == tg::Shape{2, 2});
  TG_CHECK_VALUES(tg::stack({f64({1, 2}), f64({3, 4})}, -1), {1, 3, 2, 4});
  auto gs = grads_of([](const V& v) { return tg::stack(v, 1); }, {f64({1, 2}), f64({3, 4})}, f64({1, 2, 3, 4}, {2, 2}));
  TG_CHECK_VALUES(gs[0], {1, 3});
  TG_CHECK_VALUES(gs[1], {2, 4});
}

TEST_CASE("shape: slice follows Python's rules") {
  Tensor x = tg::arange(10.0, tg::float64);
  TG_CHECK_VALUES(tg::slice(x, 0, 1, 8, 3), {1, 4, 7});  // x[1:8:3]
  TG_CHECK_VALUES(tg::slice(x, 0, -3, 10), {7, 8, 9});   // x[-3:]
  TG_CHECK_VALUES(tg::slice(x, 0, -100, 2), {0, 1});     // start clamped to 0
  TG_CHECK_VALUES(tg::slice(x, 0, 8, 100), {8, 9});      // stop clamped to 10
  CHECK(tg::slice(x, 0, 5, 2).shape() == tg::Shape{0});  // start after stop: empty
  CHECK(tg::slice(x, 0, 12, 20).shape() == tg::Shape{0});
  Tensor m = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  TG_CHECK_VALUES(tg::slice(m, 1, 1, 3), {2, 3, 5, 6});
  TG_CHECK_VALUES(tg::slice(m, -2, 1, 2), {4, 5, 6});
  // The gradient lands at the sliced positions and is 0 elsewhere.
  Tensor g = grads_of([](const V& v) { return tg::slice(v[0], 0, 1, 8, 3); }, {x}, f64({1, 2, 3}))[0];
  TG_CHECK_VALUES(g, {0, 1, 0, 0, 2, 0, 0, 3, 0, 0});
  g = grads_of([](const V& v) { return tg::slice(v[0], 1, 2, 3); }, {m}, f64({7, 8}, {2, 1}))[0];
  TG_CHECK_VALUES(g, {0, 0, 7, 0, 0, 8});
}

TEST_CASE("shape: broadcast_to, sum_to and broadcast_shapes by hand") {
  CHECK(tg::broadcast_shapes({2, 1}, {3}) == tg::Shape{2, 3});
  CHECK(tg::broadcast_shapes({}, {4, 1}) == tg::Shape{4, 1});
  CHECK(tg::broadcast_shapes({5, 1, 3}, {4, 1}) == tg::Shape{5, 4, 3});
  CHECK(tg::broadcast_shapes({0, 3}, {1, 3}) == tg::Shape{0, 3});
  Tensor b = tg::broadcast_to(f64({1, 2, 3}), {2, 3});
  TG_CHECK_VALUES(b, {1, 2, 3, 1, 2, 3});
  TG_CHECK_VALUES(tg::broadcast_to(f64({1, 2}, {2, 1}), {2, 3}), {1, 1, 1, 2, 2, 2});
  // sum_to is broadcast_to's adjoint: (2, 3) -> (1, 3) sums rows, -> (2, 1) sums columns.
  Tensor m = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  TG_CHECK_VALUES(tg::sum_to(m, {1, 3}), {5, 7, 9});
  TG_CHECK_VALUES(tg::sum_to(m, {3}), {5, 7, 9});
  TG_CHECK_VALUES(tg::sum_to(m, {2, 1}), {6, 15});
  TG_CHECK_VALUES(tg::sum_to(m, {}), {21});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::broadcast_to(v[0], {2, 3}); }, {f64({1, 2, 3})}, m)[0], {5, 7, 9});
}

TEST_CASE("shape: int64 tensors (indices) reshape, transpose, concat, stack and slice") {
  Tensor idx = i64({0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(tg::reshape(idx, {3, 2}).dtype() == tg::int64);
  CHECK(tg::transpose(idx).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(tg::concat({idx, idx}, 0).shape() == tg::Shape{4, 3});
  CHECK(tg::stack({idx, idx}, 0).dtype() == tg::int64);
  CHECK(tg::slice(idx, 1, 1, 3).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 4, 5});
  CHECK(tg::expand_dims(idx, 0).shape() == tg::Shape{1, 2, 3});
}

TEST_CASE("shape: empty tensors") {
  Tensor e = tg::zeros({0, 3}, tg::float64);
  CHECK(tg::transpose(e).shape() == tg::Shape{3, 0});
  CHECK(tg::concat({e, e}, 0).shape() == tg::Shape{0, 3});
  CHECK(tg::concat({e, tg::zeros({0, 2}, tg::float64)}, 1).shape() == tg::Shape{0, 5});
  CHECK(tg::stack({e, e}, 1).shape() == tg::Shape{0, 2, 3});
  CHECK(tg::slice(e, 1, 0, 2).shape() == tg::Shape{0, 2});
  CHECK(tg::broadcast_to(f64({1, 2, 3}), {0, 3}).shape() == tg::Shape{0, 3});
  auto g = grads_of([](const V& v) { return tg::broadcast_to(v[0], {0, 3}); }, {f64({1, 2, 3})});
  TG_CHECK_VALUES(g[0], {0, 0, 0});
}

// ---- bad input ------------------------------------------------------------------------------

TEST_CASE("shape: reshape errors name both shapes") {
  Tensor x = tg::zeros({2, 3});
  CHECK_THROWS_WITH_AS(tg::reshape(x, {4, 2}), "reshape: cannot reshape a tensor of shape (2, 3) (6 elements) to (4, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(x, {4, -1}), doctest::Contains("to (4, -1)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(x, {5}), doctest::Contains("to (5,)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(x, {-1, -1}), doctest::Contains("reshape: only one dimension can be -1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(x, {-2, 3}), doctest::Contains("reshape: dimension 0 is -2"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(tg::zeros({0, 3}), {-1, 0}), doctest::Contains("reshape: cannot reshape"),
                       std::invalid_argument);
}

TEST_CASE("shape: transpose, expand_dims, squeeze errors") {
  Tensor x = tg::zeros({2, 3, 4});
  CHECK_THROWS_WITH_AS(tg::transpose(x, {1, 0}), doctest::Contains("transpose: perm has 2 entries but the tensor has rank 3 (shape (2, 3, 4))"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::transpose(x, {0, 1, 3}), "transpose: axis 3 out of range for shape (2, 3, 4) (expected -3 to 2)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::permute(x, {0, 1, -3}), doctest::Contains("transpose: axis 0 appears twice"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::expand_dims(x, 4),
                       "expand_dims: axis 4 out of range for inserting an axis into shape (2, 3, 4) (expected -4 to 3)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::expand_dims(x, -5), doctest::Contains("expand_dims: axis -5 out of range"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::squeeze(x, {1}), "squeeze: axis 1 has size 3, not 1 (shape (2, 3, 4))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::squeeze(x, {3}), doctest::Contains("squeeze: axis 3 out of range for shape (2, 3, 4)"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::transpose(Tensor()), "transpose: received an undefined tensor", std::invalid_argument);
}

TEST_CASE("shape: concat and stack errors name the offending tensor") {
  Tensor a = tg::zeros({3, 3}), b = tg::zeros({2, 4});
  CHECK_THROWS_WITH_AS(tg::concat({a, b}, 0),
                       "concat: tensor 1 has shape (2, 4) but tensor 0 has shape (3, 3); all dimensions except axis 0 must match",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({a, tg::zeros({3})}, 0), doctest::Contains("concat: tensor 1 has shape (3,)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({a, a}, 2), "concat: axis 2 out of range for shape (3, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::concat({}, 0), "concat: expected at least one tensor, received none", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({Tensor::scalar(1.0), Tensor::scalar(2.0)}, 0),
                       doctest::Contains("concat: cannot concatenate 0-d tensors"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({a, a.to(tg::float64)}, 0),
                       "concat: dtypes differ: tensor 0 is float32, tensor 1 is float64", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::stack({a, b}, 0),
                       "stack: tensor 1 has shape (2, 4) but tensor 0 has shape (3, 3); all must match",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::stack({a, a.to(tg::float64)}, 0),
                       "stack: dtypes differ: tensor 0 is float32, tensor 1 is float64", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::stack({a, a}, 3),
                       "stack: axis 3 out of range for inserting an axis into shape (3, 3) (expected -3 to 2)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::stack({}, 0), "stack: expected at least one tensor, received none", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({a, Tensor()}, 0), "concat: received an undefined tensor", std::invalid_argument);
}

TEST_CASE("shape: slice, broadcast_to and sum_to errors") {
  Tensor x = tg::zeros({2, 3});
  CHECK_THROWS_WITH_AS(tg::slice(x, 2, 0, 1), "slice: axis 2 out of range for shape (2, 3) (expected -2 to 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::slice(x, 0, 0, 1, 0), "slice: step must be positive, received 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::slice(x, 0, 2, 0, -1), doctest::Contains("slice: step must be positive, received -1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::slice(Tensor::scalar(1.0), 0, 0, 1), "slice: cannot slice a 0-d tensor",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::broadcast_to(x, {3, 3}),
                       doctest::Contains("broadcast_to: shapes (2, 3) and (3, 3) cannot be broadcast (axis 0: 2 vs 3)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::broadcast_to(f64({1, 2, 3}), {3, 1}),
                       "broadcast_to: cannot broadcast shape (3,) to (3, 1)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sum_to(x, {2, 2}), doctest::Contains("sum_to:"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::sum_to(x, {1, 2, 3}), "sum_to: shape (1, 2, 3) does not broadcast to (2, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::broadcast_shapes({2, 3}, {4}, "my_op"),
                       "my_op: shapes (2, 3) and (4,) cannot be broadcast (axis 1: 3 vs 4)", std::invalid_argument);
}
