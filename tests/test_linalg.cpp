// matmul: gradchecks for 2-D, batched and broadcast batches with every
// transpose flag; second derivatives; values by hand and against a naive
// loop; empty operands; bad input. PyTorch values: test_fixtures.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::f64;
using tgtest::grads_of;
using tgtest::randn64;
using V = std::vector<Tensor>;

namespace {

// The operand shapes for C = op(A) op(B) with op(A): (.., m, k) and op(B): (.., k, n).
tg::Shape operand(tg::Shape batch, std::int64_t rows, std::int64_t cols, bool transposed) {
  batch.push_back(transposed ? cols : rows);
  batch.push_back(transposed ? rows : cols);
  return batch;
}

// C[i, j] = sum_k A[i, k] B[k, j] by three loops, for one 2-D pair.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const std::int64_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  Tensor c = tg::zeros({m, n}, tg::float64);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t l = 0; l < k; ++l) s += a.at({i, l}) * b.at({l, j});
      c.set({i, j}, s);
    }
  return c;
}

}  // namespace

TEST_CASE("linalg: gradcheck matmul for every transpose flag, 2-D and batched") {
  struct Batches {
    tg::Shape a, b;
  };
  const std::vector<Batches> batches = {
      {{}, {}},            // plain matrices
      {{2}, {2}},          // same batch
      {{2, 1}, {3}},       // broadcast batch: (2, 1) with (3,) -> (2, 3)
      {{}, {2}},           // a matrix against a batch
      {{3}, {1}},          // a batch of one stretched
  };
  std::uint64_t seed = 1;
  for (const auto& bt : batches)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        CAPTURE(bt.a);
        CAPTURE(bt.b);
        CAPTURE(ta);
        CAPTURE(tb);
        Tensor a = randn64(operand(bt.a, 4, 3, ta), seed++);
        Tensor b = randn64(operand(bt.b, 3, 5, tb), seed++);
        TG_CHECK_GRADCHECK([ta, tb](const V& v) { return tg::matmul(v[0], v[1], ta, tb); }, {a, b});
      }
  // Degenerate sizes: 1 x 1 and a vector-shaped matrix.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::matmul(v[0], v[1]); }, {randn64({1, 1}, 90), randn64({1, 1}, 91)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::matmul(v[0], v[1]); }, {randn64({1, 6}, 92), randn64({6, 1}, 93)});
  // A @ A: one tensor as both operands, its gradient the sum of both parts.
  TG_CHECK_GRADCHECK([](const V& v) { return tg::matmul(v[0], v[0]); }, {randn64({3, 3}, 94)});
  TG_CHECK_GRADCHECK([](const V& v) { return tg::matmul(v[0], v[0], false, true); }, {randn64({2, 3, 4}, 95)});
}

TEST_CASE("linalg: gradgradcheck matmul") {
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::matmul(v[0], v[1]); }, {randn64({4, 3}, 1), randn64({3, 2}, 2)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::matmul(v[0], v[1], true, true); },
                         {randn64({2, 3, 4}, 3), randn64({2, 3}, 4)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::matmul(v[0], v[0]); }, {randn64({3, 3}, 5)});
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::matmul(v[0], v[1]); },
                         {randn64({2, 1, 2, 3}, 6), randn64({3, 3, 2}, 7)});
}

TEST_CASE("linalg: matmul values by hand") {
  Tensor a = f64({1, 2, 3, 4}, {2, 2});
  Tensor b = f64({5, 6, 7, 8}, {2, 2});
  // [[1*5 + 2*7, 1*6 + 2*8], [3*5 + 4*7, 3*6 + 4*8]]
  TG_CHECK_VALUES(tg::matmul(a, b), {19, 22, 43, 50});
  // A^T B: [[1, 3], [2, 4]] @ B = [[1*5 + 3*7, 1*6 + 3*8], [2*5 + 4*7, 2*6 + 4*8]]
  TG_CHECK_VALUES(tg::matmul(a, b, true, false), {26, 30, 38, 44});
  // A B^T: [[1*5 + 2*6, 1*7 + 2*8], [3*5 + 4*6, 3*7 + 4*8]]
  TG_CHECK_VALUES(tg::matmul(a, b, false, true), {17, 23, 39, 53});
  // A^T B^T = (B A)^T: B A = [[23, 34], [31, 46]]
  TG_CHECK_VALUES(tg::matmul(a, b, true, true), {23, 31, 34, 46});
  // With an all-ones upstream G: dA = G B^T = [[5+6, 7+8]] per row; dB = A^T G = [[1+3], [2+4]] per column.
  auto g = grads_of([](const V& v) { return tg::matmul(v[0], v[1]); }, {a, b});
  TG_CHECK_VALUES(g[0], {11, 15, 11, 15});
  TG_CHECK_VALUES(g[1], {4, 4, 6, 6});
  // A non-square product keeps (m, n): (1, 3) @ (3, 2).
  Tensor row = f64({1, 2, 3}, {1, 3});
  Tensor m = f64({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor c = tg::matmul(row, m);
  CHECK(c.shape() == tg::Shape{1, 2});
  TG_CHECK_VALUES(c, {4, 5});  // [1 + 3, 2 + 3]
}

TEST_CASE("linalg: matmul agrees with a naive loop, batched and broadcast") {
  Tensor a = randn64({17, 33}, 1);
  Tensor b = randn64({33, 9}, 2);
  TG_CHECK_TENSOR(tg::matmul(a, b), naive_matmul(a, b), 1e-12, 1e-12);
  TG_CHECK_TENSOR(tg::matmul(tg::transpose(a), b, true, false), naive_matmul(a, b), 1e-12, 1e-12);
  TG_CHECK_TENSOR(tg::matmul(a, tg::transpose(b), false, true), naive_matmul(a, b), 1e-12, 1e-12);
  // float32 through sgemm.
  Tensor c32 = tg::matmul(a.to(tg::float32), b.to(tg::float32));
  CHECK(c32.dtype() == tg::float32);
  TG_CHECK_TENSOR(c32, naive_matmul(a, b), 1e-4, 1e-4);
  // Batch (2, 1) against (3,): output batch (2, 3), each block its own 2-D product.
  Tensor x = randn64({2, 1, 4, 3}, 3);
  Tensor y = randn64({3, 3, 5}, 4);
  Tensor z = tg::matmul(x, y);
  CHECK(z.shape() == tg::Shape{2, 3, 4, 5});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      Tensor xi = tg::reshape(tg::slice(x, 0, i, i + 1), {4, 3});
      Tensor yj = tg::reshape(tg::slice(y, 0, j, j + 1), {3, 5});
      Tensor zij = tg::reshape(tg::slice(tg::slice(z, 0, i, i + 1), 1, j, j + 1), {4, 5});
      TG_CHECK_TENSOR(zij, naive_matmul(xi, yj), 1e-12, 1e-12);
    }
  // A batched gradient is summed over the broadcast batch: with an all-ones
  // upstream, dx[i, 0] = sum_j ones(4, 5) @ y[j]^T.
  auto g = grads_of([](const V& v) { return tg::matmul(v[0], v[1]); }, {x, y});
  CHECK(g[0].shape() == x.shape());
  CHECK(g[1].shape() == y.shape());
  Tensor expected = tg::matmul(tg::ones({4, 5}, tg::float64), tg::sum(y, {0}), false, true);
  TG_CHECK_TENSOR(tg::reshape(tg::slice(g[0], 0, 1, 2), {4, 3}), expected, 1e-12, 1e-12);
}

TEST_CASE("linalg: batched products below and above the tiny-product size agree with the naive loop") {
  // Batches of products of at most 4096 multiply-adds run in loops of their
  // own, larger ones through BLAS: both, every transpose flag, both dtypes.
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-12 : 1e-4;
    for (auto [m, k, n] : {std::tuple{1, 100, 6}, std::tuple{4, 3, 5}, std::tuple{20, 30, 25}}) {
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          CAPTURE(m);
          CAPTURE(ta);
          CAPTURE(tb);
          Tensor a = randn64({3, m, k}, 5), b = randn64({3, k, n}, 6);
          Tensor oa = ta ? tg::transpose(a, {0, 2, 1}) : a, ob = tb ? tg::transpose(b, {0, 2, 1}) : b;
          Tensor c = tg::matmul(oa.to(dtype), ob.to(dtype), ta, tb);
          for (std::int64_t i = 0; i < 3; ++i) {
            Tensor ai = tg::reshape(tg::slice(a, 0, i, i + 1), {m, k});
            Tensor bi = tg::reshape(tg::slice(b, 0, i, i + 1), {k, n});
            Tensor ci = tg::reshape(tg::slice(c, 0, i, i + 1), {m, n});
            TG_CHECK_TENSOR(ci, naive_matmul(ai, bi), tol, tol);
          }
        }
    }
  }
}

TEST_CASE("linalg: products large enough to be cut in pieces agree with the naive loop") {
  // From 1e7 multiply-adds on, a product runs in one piece per thread
  // (ops/blas.cpp): by rows of the result, or by columns when it has few rows.
  // Every transpose flag, on 1, 2 and 3 threads.
  const int saved = tg::get_num_threads();
  for (auto [m, k, n] : {std::tuple{300, 200, 180}, std::tuple{100, 500, 400}}) {
    Tensor a = randn64({m, k}, 7), b = randn64({k, n}, 8);
    Tensor expected = naive_matmul(a, b);
    for (int threads : {1, 2, 3}) {
      tg::set_num_threads(threads);
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          CAPTURE(m);
          CAPTURE(threads);
          CAPTURE(ta);
          CAPTURE(tb);
          Tensor c = tg::matmul(ta ? tg::transpose(a) : a, tb ? tg::transpose(b) : b, ta, tb);
          TG_CHECK_TENSOR(c, expected, 1e-12, 1e-12);
        }
    }
  }
  tg::set_num_threads(saved);
}

TEST_CASE("linalg: matmul with empty operands") {
  // k = 0: the sum over nothing is zero.
  Tensor c = tg::matmul(tg::zeros({3, 0}, tg::float64), tg::zeros({0, 2}, tg::float64));
  CHECK(c.shape() == tg::Shape{3, 2});
  TG_CHECK_VALUES(c, {0, 0, 0, 0, 0, 0});
  CHECK(tg::matmul(tg::zeros({0, 4}, tg::float64), tg::zeros({4, 2}, tg::float64)).shape() == tg::Shape{0, 2});
  CHECK(tg::matmul(tg::zeros({0, 2, 3}, tg::float64), tg::zeros({3, 2}, tg::float64)).shape() == tg::Shape{0, 2, 2});
  auto g = grads_of([](const V& v) { return tg::matmul(v[0], v[1]); },
                    {tg::zeros({3, 0}, tg::float64), tg::zeros({0, 2}, tg::float64)});
  CHECK(g[0].shape() == tg::Shape{3, 0});
  CHECK(g[1].shape() == tg::Shape{0, 2});
}

TEST_CASE("linalg: matmul bad input names the shapes") {
  Tensor a = tg::zeros({4, 3}), b = tg::zeros({5, 2});
  CHECK_THROWS_WITH_AS(tg::matmul(a, b), "matmul: inner dimensions differ: (4, 3) @ (5, 2) (3 vs 5)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(a, tg::zeros({4, 2}), false, true),
                       "matmul: inner dimensions differ: (4, 3) @ (4, 2)^T (3 vs 2)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(a, tg::zeros({3, 2}), true), doctest::Contains("(4, 3)^T @ (3, 2) (4 vs 3)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(tg::zeros({3}), tg::zeros({3, 2})),
                       "matmul: expected operands of rank >= 2, received (3,) @ (3, 2) (reshape a vector to (1, n) or (n, 1))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(tg::zeros({2, 4, 3}), tg::zeros({3, 3, 5})),
                       "matmul: batch dimensions (2,) and (3,) cannot be broadcast: (2, 4, 3) @ (3, 3, 5)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(a, tg::zeros({3, 2}, tg::float64)),
                       doctest::Contains("matmul: dtypes differ: float32 and float64"), std::invalid_argument);
  Tensor idx = Tensor::from_vector(std::vector<std::int64_t>{1, 2, 3, 4}, tg::Shape{2, 2});
  CHECK_THROWS_WITH_AS(tg::matmul(idx, idx), "matmul: expected a float32 or float64 tensor, received (2, 2) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::matmul(Tensor(), a), "matmul: received an undefined tensor", std::invalid_argument);
}

// ---- dense: matmul + bias + relu as one op --------------------------------------

namespace {

Tensor composed_dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, bool relu) {
  Tensor y = tg::matmul(x, kernel);
  if (bias.defined()) y = y + bias;
  return relu ? tg::relu(y) : y;
}

}  // namespace

TEST_CASE("linalg: dense equals matmul + bias + relu, values and gradients") {
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-13 : 1e-5;
    for (bool relu : {false, true})
      for (bool with_bias : {false, true}) {
        CAPTURE(relu);
        CAPTURE(with_bias);
        Tensor x = tg::randn({6, 4}, 11, dtype), k = tg::randn({4, 5}, 12, dtype);
        Tensor b = with_bias ? tg::randn({5}, 13, dtype) : Tensor();
        Tensor u = tg::randn({6, 5}, 14, dtype);
        V inputs = with_bias ? V{x, k, b} : V{x, k};
        auto fused = [&](const V& v) { return tg::dense(v[0], v[1], with_bias ? v[2] : Tensor(), relu); };
        auto composed = [&](const V& v) { return composed_dense(v[0], v[1], with_bias ? v[2] : Tensor(), relu); };
        CHECK(tgtest::mismatches(tgtest::values_of(fused(inputs)), tgtest::values_of(composed(inputs)), tol, tol) == "");
        auto gf = grads_of(fused, inputs, u), gc = grads_of(composed, inputs, u);
        REQUIRE(gf.size() == gc.size());
        for (std::size_t i = 0; i < gf.size(); ++i) {
          CAPTURE(i);
          CHECK(gf[i].shape() == gc[i].shape());
          CHECK(tgtest::mismatches(tgtest::values_of(gf[i]), tgtest::values_of(gc[i]), tol, tol) == "");
        }
      }
  }
}

TEST_CASE("linalg: gradcheck and gradgradcheck dense") {
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    TG_CHECK_GRADCHECK([relu](const V& v) { return tg::dense(v[0], v[1], v[2], relu); },
                       {randn64({5, 3}, 21), randn64({3, 4}, 22), randn64({4}, 23)});
    TG_CHECK_GRADCHECK([relu](const V& v) { return tg::dense(v[0], v[1], Tensor(), relu); },
                       {randn64({5, 3}, 24), randn64({3, 4}, 25)});
    TG_CHECK_GRADGRADCHECK([relu](const V& v) { return tg::dense(v[0], v[1], v[2], relu); },
                           {randn64({4, 3}, 26), randn64({3, 2}, 27), randn64({2}, 28)});
  }
}

TEST_CASE("linalg: dense relu passes NaN forward, gives 0 gradient at 0 and for NaN") {
  // x @ I + b picks the pre-activations: -1, 0, 2, NaN.
  Tensor x = f64({-1, 0, 2, std::nan("")}, {4, 1}), k = f64({1}, {1, 1}), b = f64({0}, {1});
  Tensor y = tg::dense(x, k, b, true);
  auto v = tgtest::values_of(y);
  CHECK(v[0] == 0);
  CHECK(v[1] == 0);
  CHECK(v[2] == 2);
  CHECK(std::isnan(v[3]));
  auto g = grads_of([](const V& w) { return tg::dense(w[0], w[1], w[2], true); }, {x, k, b});
  auto gx = tgtest::values_of(g[0]);
  CHECK(gx == std::vector<double>{0, 0, 1, 0});
  CHECK(tgtest::values_of(g[2]) == std::vector<double>{1});  // only the positive row reaches the bias
}

TEST_CASE("linalg: matmul and dense pass NaN and inf to the outputs and gradients that use them") {
  // x = [[nan, 1], [inf, 1], [1, 2]], k = [[1, -1], [2, 3]], b = [0.5, -0.5]:
  // x k + b = [[nan, nan], [inf, -inf], [5.5, 4.5]]; relu keeps the NaN and maps -inf to 0.
  // The kernel's gradient x^T g (g = ones) is NaN in the row that meets x's NaN column:
  // [[nan, nan], [4, 4]], or [[nan, nan], [3, 2]] after relu's mask (nan * 0 is NaN);
  // x's gradient g k^T = [0, 5] per row does not depend on x.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    Tensor x = f64({nan, 1, inf, 1, 1, 2}, {3, 2}).to(dtype);
    Tensor k = f64({1, -1, 2, 3}, {2, 2}).to(dtype);
    Tensor b = f64({0.5, -0.5}, {2}).to(dtype);
    TG_CHECK_VALUES(tg::dense(x, k, b, false), {nan, nan, inf, -inf, 5.5, 4.5});
    TG_CHECK_VALUES(tg::dense(x, k, b, true), {nan, nan, inf, 0, 5.5, 4.5});
    TG_CHECK_VALUES(tg::matmul(x, k), {nan, nan, inf, -inf, 5, 5});
    for (bool relu : {false, true}) {
      CAPTURE(relu);
      auto g = grads_of([relu](const V& v) { return tg::dense(v[0], v[1], v[2], relu); }, {x, k, b});
      if (!relu) TG_CHECK_VALUES(g[0], {0, 5, 0, 5, 0, 5});
      TG_CHECK_VALUES(g[1], {nan, nan, relu ? 3.0 : 4.0, relu ? 2.0 : 4.0});
    }
  }
}

TEST_CASE("linalg: dense with empty batch or no inputs") {
  Tensor y = tg::dense(tg::zeros({0, 3}, tg::float64), tg::zeros({3, 2}, tg::float64), f64({1, 2}, {2}), false);
  CHECK(y.shape() == tg::Shape{0, 2});
  Tensor z = tg::dense(tg::zeros({2, 0}, tg::float64), tg::zeros({0, 2}, tg::float64), f64({1, -2}, {2}), true);
  CHECK(tgtest::values_of(z) == std::vector<double>{1, 0, 1, 0});
  auto g = grads_of([](const V& v) { return tg::dense(v[0], v[1], v[2], false); },
                    {tg::zeros({0, 3}, tg::float64), randn64({3, 2}, 1), f64({1, 2}, {2})});
  CHECK(tgtest::values_of(g[1]) == std::vector<double>(6, 0.0));
  CHECK(tgtest::values_of(g[2]) == std::vector<double>{0, 0});
}

TEST_CASE("linalg: dense bad input names the shapes") {
  Tensor x = tg::zeros({4, 3}), k = tg::zeros({3, 2});
  CHECK_THROWS_WITH_AS(tg::dense(x, tg::zeros({2, 2}), Tensor(), false),
                       "dense: expected x (batch, in) and kernel (in, units), received (4, 3) and (2, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::dense(tg::zeros({2, 4, 3}), k, Tensor(), false),
                       "dense: expected x (batch, in) and kernel (in, units), received (2, 4, 3) and (3, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::dense(x, k, tg::zeros({3}), true), "dense: expected a bias of shape (2,), received (3,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::dense(x, k, tg::zeros({2}, tg::float64), true),
                       doctest::Contains("dense: dtypes differ: float32 and float64"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::dense(Tensor(), k, Tensor(), true), "dense: received an undefined tensor",
                       std::invalid_argument);
}
