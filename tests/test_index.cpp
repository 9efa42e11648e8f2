// gather (embedding lookup) and scatter_add_rows: gradchecks, repeated
// indices, the row-sparse gradient, second derivatives, edge cases and bad
// input. PyTorch values: test_fixtures.cpp.
#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::i64;
using tgtest::randn64;
using V = std::vector<Tensor>;

TEST_CASE("index: gradcheck gather with repeated indices and any index shape") {
  auto gather = [](const V& v) { return tg::gather(v[0], v[1]); };
  TG_CHECK_GRADCHECK(gather, {randn64({10, 3}, 1), i64({1, 4, 1, 9, 1, 0}, {2, 3})});
  TG_CHECK_GRADCHECK(gather, {randn64({6}, 2), i64({2, 2, 5})});                // 1-D table: scalars
  TG_CHECK_GRADCHECK(gather, {randn64({5, 2, 2}, 3), i64({4, 0, 4, 4})});       // rows are matrices
  TG_CHECK_GRADCHECK(gather, {randn64({4, 3}, 4), i64({3}, {})});               // a 0-d index: one row
  TG_CHECK_GRADCHECK(gather, {randn64({4, 3}, 5), i64({}, {0})});               // no index at all
  // Used twice in one expression, as a skip-gram model uses one table for both words.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::mul(tg::gather(v[0], v[1]), tg::gather(v[0], v[2])); },
                     {randn64({5, 3}, 6), i64({0, 1, 1}), i64({1, 4, 0})});
}

TEST_CASE("index: gradcheck scatter_add_rows") {
  auto scatter = [](const V& v) { return tg::scatter_add_rows(v[0], v[1], 5); };
  TG_CHECK_GRADCHECK(scatter, {i64({0, 2, 0}), randn64({3, 4}, 1)});
  TG_CHECK_GRADCHECK(scatter, {i64({4, 4, 4, 1}), randn64({4}, 2)});
  TG_CHECK_GRADCHECK(scatter, {i64({}, {0}), randn64({0, 2}, 3)});
}

TEST_CASE("index: gradgradcheck gather and scatter_add_rows") {
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor r = tg::gather(v[0], v[1]); return tg::mul(r, r); },
                         {randn64({6, 2}, 1), i64({1, 3, 1})});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::sum(tg::mul(tg::gather(v[0], v[1]), tg::gather(v[0], v[2])), {1}); },
                         {randn64({4, 3}, 2), i64({0, 1, 2}), i64({3, 1, 1})});
  TG_CHECK_GRADGRADCHECK([](const V& v) { Tensor s = tg::scatter_add_rows(v[0], v[1], 3); return tg::mul(s, s); },
                         {i64({0, 2, 0}), randn64({3, 2}, 3)});
}

TEST_CASE("index: gather values and the scatter-add of its gradient by hand") {
  Tensor table = f64({0, 1, 10, 11, 20, 21}, {3, 2});
  Tensor idx = i64({2, 0, 2});
  Tensor rows = tg::gather(table, idx);
  CHECK(rows.shape() == tg::Shape{3, 2});
  TG_CHECK_VALUES(rows, {20, 21, 0, 1, 20, 21});
  // Upstream [[1, 2], [3, 4], [5, 6]]: row 0 gets [3, 4], row 1 nothing,
  // row 2 (used twice) gets [1 + 5, 2 + 6].
  Tensor u = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::gather(v[0], v[1]); }, {table, idx}, u)[0], {3, 4, 0, 0, 6, 8});
  // Indices of shape (2, 2) give a (2, 2, 2) result.
  Tensor grid = tg::gather(table, i64({1, 1, 0, 2}, {2, 2}));
  CHECK(grid.shape() == tg::Shape{2, 2, 2});
  TG_CHECK_VALUES(grid, {10, 11, 10, 11, 0, 1, 20, 21});
  // A 0-d index drops the index axis.
  Tensor one = tg::gather(table, i64({1}, {}));
  CHECK(one.shape() == tg::Shape{2});
  TG_CHECK_VALUES(one, {10, 11});
  // int64 tables gather too (no gradient).
  CHECK(tg::gather(i64({7, 8, 9}), i64({2, 0})).to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 7});
}

TEST_CASE("index: the gradient of gather is row-sparse, with repeats kept") {
  Tensor table = randn64({1000, 4}, 1);
  Tensor idx = i64({7, 3, 7});
  tg::GradientTape tape;
  tape.watch(table);
  Tensor y = tg::gather(table, idx);
  Tensor u = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4});
  tg::Gradient g = tape.sparse_gradient(y, {table}, u)[0];
  REQUIRE(g.is_sparse());
  CHECK(g.shape() == tg::Shape{1000, 4});
  CHECK(g.indices().to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 3, 7});
  TG_CHECK_VALUES(g.values(), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  // Densified, the repeats add up: row 7 = [1 + 9, 2 + 10, 3 + 11, 4 + 12].
  Tensor dense = g.dense();
  TG_CHECK_VALUES(tg::slice(dense, 0, 7, 8), {10, 12, 14, 16});
  TG_CHECK_VALUES(tg::slice(dense, 0, 3, 4), {5, 6, 7, 8});
  CHECK(tg::sum(tg::abs(dense)).item() == doctest::Approx(78.0 + 0.0));  // 1 + ... + 12, nothing else
}

TEST_CASE("index: scatter_add_rows by hand, and gather as its gradient") {
  Tensor idx = i64({0, 2, 0});
  Tensor values = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor s = tg::scatter_add_rows(idx, values, 4);
  CHECK(s.shape() == tg::Shape{4, 2});
  // Row 0: [1 + 5, 2 + 6]; row 2: [3, 4]; rows 1 and 3: zero.
  TG_CHECK_VALUES(s, {6, 8, 0, 0, 3, 4, 0, 0});
  // d/dvalues = gather(upstream, idx): rows 0, 2, 0 of the upstream.
  Tensor u = f64({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  TG_CHECK_VALUES(grads_of([](const V& v) { return tg::scatter_add_rows(v[0], v[1], 4); }, {idx, values}, u)[0],
                  {1, 2, 5, 6, 1, 2});
  CHECK(tg::scatter_add_rows(i64({}, {0}), tg::zeros({0, 3}, tg::float64), 2).shape() == tg::Shape{2, 3});
}

TEST_CASE("index: NaN propagates through gather and scatter_add_rows and their gradients") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    Tensor table = f64({1, 2, nan, 4, 5, 6}, {3, 2}).to(dtype);
    Tensor idx = i64({1, 0, 1});
    // Rows 1, 0, 1 of the table: row 1 holds the NaN.
    TG_CHECK_VALUES(tg::gather(table, idx), {nan, 4, 1, 2, nan, 4});
    // A NaN upstream reaches the rows it was gathered from (row 1 twice: NaN + 1).
    Tensor u = f64({nan, 1, 1, 1, 1, 1}, {3, 2}).to(dtype);
    TG_CHECK_VALUES(grads_of([](const V& v) { return tg::gather(v[0], v[1]); }, {table, idx}, u)[0],
                    {1, 1, nan, 2, 0, 0});
    // scatter_add_rows: the NaN value lands in row 2 and stays NaN after adding.
    Tensor values = f64({1, nan, 3, 4, 5, 6}, {3, 2}).to(dtype);
    TG_CHECK_VALUES(tg::scatter_add_rows(i64({2, 0, 2}), values, 3), {3, 4, 0, 0, 6, nan});
    Tensor us = f64({1, 2, 3, 4, nan, 6}, {3, 2}).to(dtype);
    TG_CHECK_VALUES(grads_of([](const V& v) { return tg::scatter_add_rows(v[0], v[1], 3); }, {i64({2, 0, 2}), values},
                             us)[0],
                    {nan, 6, 1, 2, nan, 6});
  }
}

TEST_CASE("index: gather bad input names the index, the rows and the dtype") {
  Tensor table = tg::zeros({10, 3});
  CHECK_THROWS_WITH_AS(tg::gather(table, i64({1, 12})), "gather: index 12 out of range for 10 rows (at position 1)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::gather(table, i64({-1})), doctest::Contains("gather: index -1 out of range for 10 rows"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::gather(table, i64({10})), doctest::Contains("gather: index 10 out of range for 10 rows"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::gather(tg::zeros({0, 3}), i64({0})), doctest::Contains("gather: index 0 out of range for 0 rows"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::gather(table, Tensor({1.0, 2.0})), "gather: indices must be int64, received (2,) float32",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gather(Tensor::scalar(1.0), i64({0})),
                       doctest::Contains("gather: the table must have rank >= 1"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gather(Tensor(), i64({0})), "gather: received an undefined tensor", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::gather(table, Tensor()), "gather: received an undefined tensor", std::invalid_argument);
}

TEST_CASE("index: scatter_add_rows bad input") {
  Tensor values = tg::zeros({3, 2}, tg::float64);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(i64({0, 5, 1}), values, 4),
                       "scatter_add_rows: index 5 out of range for 4 rows (at position 1)", std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(i64({0, 1}), values, 4),
                       doctest::Contains("scatter_add_rows: expected 1-D indices and values with one row per index, "
                                         "received (2,) int64 and (3, 2) float64"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(i64({0, 1, 2}, {3, 1}), values, 4),
                       doctest::Contains("scatter_add_rows: expected 1-D indices"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(i64({0, 1, 2}), values, -1),
                       "scatter_add_rows: num_rows must be >= 0, received -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(i64({0, 1, 2}), i64({1, 2, 3}), 4),
                       doctest::Contains("scatter_add_rows: expected a float32 or float64 tensor, received (3,) int64"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::scatter_add_rows(Tensor({0.0, 1.0, 2.0}), values, 4),
                       doctest::Contains("scatter_add_rows: indices must be int64"), std::invalid_argument);
}
