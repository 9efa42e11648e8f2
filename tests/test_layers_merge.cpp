// The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
// Concatenate and Dot (Keras semantics): values by hand, float64 gradchecks,
// Dot's axes (2-D, 3-D with transpose flags, a middle axis via permute) and
// normalize = cosine similarity, output shapes, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/layers.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::error_of;
using tgtest::f64;
using tgtest::randn64;
using V = std::vector<Tensor>;
namespace L = tg::layers;

namespace {

}  // namespace

// ---- elementwise merges ----------------------------------------------------------------

TEST_CASE("layers: elementwise merges by hand") {
  Tensor a = f64({1, -2, 3, 0}, {2, 2});
  Tensor b = f64({4, 5, -6, 1}, {2, 2});
  Tensor c = f64({-1, 2, 2, 7}, {2, 2});
  TG_CHECK_VALUES(L::Add::make()({a, b, c}), {4, 5, -1, 8});
  TG_CHECK_VALUES(L::Subtract::make()({a, b}), {-3, -7, 9, -1});
  TG_CHECK_VALUES(L::Multiply::make()({a, b, c}), {-4, -20, -36, 0});
  TG_CHECK_VALUES(L::Average::make()({a, b, c}), {4.0 / 3, 5.0 / 3, -1.0 / 3, 8.0 / 3}, 1e-15, 1e-15);
  TG_CHECK_VALUES(L::Average::make()({a, b}), {2.5, 1.5, -1.5, 0.5});
  TG_CHECK_VALUES(L::Maximum::make()({a, b, c}), {4, 5, 3, 7});
  TG_CHECK_VALUES(L::Minimum::make()({a, b, c}), {-1, -2, -6, 0});
  // Broadcasting within a rank, as Keras: (2, 2) with (2, 1).
  TG_CHECK_VALUES(L::Add::make()({a, f64({10, 20}, {2, 1})}), {11, 8, 23, 20});
  TG_CHECK_VALUES(L::Multiply::make()({f64({10, 20}, {2, 1}), a}), {10, -20, 60, 0});
  CHECK(L::Add::make()({a, b}).dtype() == tg::float64);
}

TEST_CASE("layers: gradcheck the elementwise merges through every input") {
  const V three = {randn64({3, 4}, 1), randn64({3, 4}, 2), randn64({3, 4}, 3)};
  const V two = {three[0], three[1]};
  TG_CHECK_GRADCHECK(L::Add::make(), three);
  TG_CHECK_GRADCHECK(L::Subtract::make(), two);
  TG_CHECK_GRADCHECK(L::Multiply::make(), three);
  TG_CHECK_GRADCHECK(L::Average::make(), three);
  TG_CHECK_GRADCHECK(L::Maximum::make(), three);
  TG_CHECK_GRADCHECK(L::Minimum::make(), three);
  TG_CHECK_GRADCHECK(L::Multiply::make(), {randn64({3, 4}, 4), randn64({3, 1}, 5)});  // broadcast: summed back
}

TEST_CASE("layers: Subtract's and Average's gradients by hand") {
  Tensor a = randn64({2, 3}, 1), b = randn64({2, 3}, 2), c = randn64({2, 3}, 3);
  const V g = tgtest::grads_of([](const V& v) { return L::Subtract::make()({v[0], v[1]}); }, {a, b});
  TG_CHECK_TENSOR(g[0], tg::ones({2, 3}, tg::float64));
  TG_CHECK_TENSOR(g[1], tg::full({2, 3}, -1, tg::float64));
  const V h = tgtest::grads_of([](const V& v) { return L::Average::make()(v); }, {a, b, c});
  for (const Tensor& gi : h) TG_CHECK_TENSOR(gi, tg::full({2, 3}, 1.0 / 3, tg::float64), 1e-15, 1e-16);
}

TEST_CASE("layers: elementwise merge errors") {
  Tensor a = tg::zeros({2, 3});
  CHECK_CONTAINS(error_of([&] { L::Add::make("adder")({a}); }), "adder (Add): expected at least 2 inputs, received 1");
  CHECK_CONTAINS(error_of([&] { L::Add::make("adder")(a); }), "expected at least 2 inputs, received 1");
  CHECK_CONTAINS(error_of([&] { L::Subtract::make("sub")({a, a, a}); }), "sub (Subtract): expected 2 inputs, received 3");
  CHECK_CONTAINS(error_of([&] { L::Add::make("adder")({a, tg::zeros({2, 4})}); }),
                 "adder (Add): the input shapes cannot be broadcast together, received (2, 3), (2, 4)");
  CHECK_CONTAINS(error_of([&] { L::Multiply::make("m")({a, tg::zeros({3, 3})}); }),
                 "m (Multiply): the inputs must have the same batch size, received shapes (2, 3), (3, 3)");
  CHECK_CONTAINS(error_of([&] { L::Maximum::make("mx")({a, tg::zeros({2, 3}, tg::float64)}); }),
                 "mx (Maximum): the inputs must have one dtype, received float32 and float64");
  CHECK_CONTAINS(error_of([&] { L::Minimum::make("mn")({a, tg::zeros({2, 1, 3})}); }),
                 "mn (Minimum): the inputs must have the same rank, received shapes (2, 3), (2, 1, 3)");
  CHECK_CONTAINS(error_of([&] { L::Average::make("av")({tgtest::i64({1, 2}, {2, 1}), tgtest::i64({1, 2}, {2, 1})}); }),
                 "av (Average): expects float32 or float64 inputs, received int64");
}

// ---- Concatenate ------------------------------------------------------------------------

TEST_CASE("layers: Concatenate joins along an axis counted with the batch axis") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f64({7, 8, 9, 10}, {2, 2});
  Tensor y = L::Concatenate::make()({a, b});
  CHECK(y.shape() == tg::Shape{2, 5});
  TG_CHECK_VALUES(y, {1, 2, 3, 7, 8, 4, 5, 6, 9, 10});
  TG_CHECK_TENSOR(L::Concatenate::make(1)({a, b}), y);
  // 3-D along axis 1: (2, 1, 2) and (2, 2, 2) -> (2, 3, 2).
  Tensor p = f64({1, 2, 3, 4}, {2, 1, 2});
  Tensor q = tg::reshape(tg::arange(10, 18, 1, tg::float64), {2, 2, 2});
  Tensor z = L::Concatenate::make(1)({p, q});
  CHECK(z.shape() == tg::Shape{2, 3, 2});
  TG_CHECK_VALUES(z, {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17});
  CHECK(L::Concatenate::make(-2)({p, q}).shape() == tg::Shape{2, 3, 2});
  auto c = L::Concatenate::make(-1);
  CHECK(c->axis() == -1);
  CHECK(c->repr() == "Concatenate(name=" + c->name() + ", axis=-1)");
  TG_CHECK_GRADCHECK(L::Concatenate::make(), {randn64({2, 3}, 1), randn64({2, 2}, 2), randn64({2, 1}, 3)});
  TG_CHECK_GRADCHECK(L::Concatenate::make(1), {randn64({2, 1, 2}, 4), randn64({2, 2, 2}, 5)});
}

TEST_CASE("layers: Concatenate errors") {
  CHECK_CONTAINS(error_of([] { L::Concatenate::make(0); }), "Concatenate: axis 0 is the batch axis");
  Tensor a = tg::zeros({2, 3}), b = tg::zeros({2, 2, 3});
  CHECK_CONTAINS(error_of([&] { L::Concatenate::make(-2, "cat")({a, a}); }), "cat (Concatenate): axis -2 is the batch axis");
  CHECK_CONTAINS(error_of([&] { L::Concatenate::make(2, "cat")({a, a}); }),
                 "cat (Concatenate): axis 2 is out of range for an input of shape (2, 3)");
  CHECK_THROWS_AS(L::Concatenate::make(2)({a, a}), std::out_of_range);
  CHECK_CONTAINS(error_of([&] { L::Concatenate::make(1, "cat")({b, tg::zeros({2, 2, 4})}); }),
                 "cat (Concatenate): the inputs must have the same shape except along axis 1, received shapes (2, 2, 3), (2, 2, 4)");
  CHECK_CONTAINS(error_of([&] { L::Concatenate::make(-1, "cat")({a, b}); }), "received shapes (2, 3), (2, 2, 3)");
  CHECK_CONTAINS(error_of([&] { L::Concatenate::make(-1, "cat")({a}); }), "expected at least 2 inputs, received 1");
}

// ---- Dot -----------------------------------------------------------------------------------

TEST_CASE("layers: Dot of (batch, d) inputs gives (batch, 1)") {
  Tensor x = f64({1, 2, 0, -1}, {2, 2});
  Tensor y = f64({3, 4, 5, 6}, {2, 2});
  Tensor d = L::Dot::make(1)({x, y});
  CHECK(d.shape() == tg::Shape{2, 1});
  TG_CHECK_VALUES(d, {11, -6});  // 1*3 + 2*4; 0*5 - 1*6
  TG_CHECK_TENSOR(L::Dot::make(-1)({x, y}), d);
  TG_CHECK_TENSOR(L::Dot::make({1, -1})({x, y}), d);
  // normalize: the cosine similarity, 11 / (sqrt(5) * 5) = 0.98386991..., -6 / (1 * sqrt(61)).
  Tensor cos = L::Dot::make(1, true)({x, y});
  TG_CHECK_VALUES(cos, {11 / (std::sqrt(5.0) * 5), -6 / std::sqrt(61.0)}, 1e-14, 1e-15);
  Tensor a = randn64({5, 7}, 1), b = randn64({5, 7}, 2);
  TG_CHECK_TENSOR(L::Dot::make(-1, true)({a, b}), tg::reshape(tg::cosine_similarity(a, b, 1), {5, 1}), 1e-12, 1e-14);
  auto dot = L::Dot::make({2, 1}, true);
  CHECK(dot->axes() == std::pair<int, int>{2, 1});
  CHECK(dot->normalize());
  CHECK(dot->repr() == "Dot(name=" + dot->name() + ", axes=(2, 1), normalize=true)");
}

namespace {
// out[b, i, j] = sum_k x[b, i(k)] y[b, j(k)] by loops, for the 3-D cases.
Tensor batch_dot_3d(const Tensor& x, const Tensor& y, int ax, int ay) {
  const std::int64_t batch = x.dim(0), n = x.dim(ax == 1 ? 2 : 1), m = y.dim(ay == 1 ? 2 : 1), d = x.dim(ax);
  std::vector<double> out;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < d; ++k)
          s += (ax == 2 ? x.at({b, i, k}) : x.at({b, k, i})) * (ay == 2 ? y.at({b, j, k}) : y.at({b, k, j}));
        out.push_back(s);
      }
  return f64(out, {batch, n, m});
}
}  // namespace

TEST_CASE("layers: Dot of 3-D inputs along each pair of axes (transpose flags), by loops") {
  Tensor x = randn64({2, 3, 4}, 1);  // (batch, n, d) for axis 2, (batch, d, n) for axis 1
  Tensor y = randn64({2, 5, 4}, 2);
  Tensor d22 = L::Dot::make({2, 2})({x, y});
  CHECK(d22.shape() == tg::Shape{2, 3, 5});
  TG_CHECK_TENSOR(d22, batch_dot_3d(x, y, 2, 2), 1e-12, 1e-12);
  TG_CHECK_TENSOR(L::Dot::make(-1)({x, y}), d22);

  Tensor xt = randn64({2, 4, 3}, 3), yt = randn64({2, 4, 5}, 4);
  TG_CHECK_TENSOR(L::Dot::make(1)({xt, yt}), batch_dot_3d(xt, yt, 1, 1), 1e-12, 1e-12);
  TG_CHECK_TENSOR(L::Dot::make({1, 2})({xt, y}), batch_dot_3d(xt, y, 1, 2), 1e-12, 1e-12);
  TG_CHECK_TENSOR(L::Dot::make({2, 1})({x, yt}), batch_dot_3d(x, yt, 2, 1), 1e-12, 1e-12);
  // normalize along d: the cosine of each pair of rows, as cosine_similarity_matrix.
  TG_CHECK_TENSOR(L::Dot::make({2, 2}, true)({x, y}), tg::cosine_similarity_matrix(x, y), 1e-12, 1e-14);
  // (batch, n, d) . (batch, d) -> (batch, n).
  Tensor v = randn64({2, 4}, 5);
  Tensor xv = L::Dot::make({2, 1})({x, v});
  CHECK(xv.shape() == tg::Shape{2, 3});
  TG_CHECK_TENSOR(xv, tg::reshape(tg::matmul(x, tg::reshape(v, {2, 4, 1})), {2, 3}), 1e-12, 1e-12);
}

TEST_CASE("layers: Dot along a middle axis of a 4-D input (permute), by loops") {
  Tensor x = randn64({2, 2, 3, 4}, 1);  // contract axis 2 (size 3)
  Tensor y = randn64({2, 5, 3}, 2);     // with axis 2 (size 3)
  Tensor d = L::Dot::make({2, 2})({x, y});
  CHECK(d.shape() == tg::Shape{2, 2, 4, 5});
  std::vector<double> want;
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 4; ++j)
        for (std::int64_t m = 0; m < 5; ++m) {
          double s = 0;
          for (std::int64_t k = 0; k < 3; ++k) s += x.at({b, i, k, j}) * y.at({b, m, k});
          want.push_back(s);
        }
  TG_CHECK_VALUES(d, want, 1e-12, 1e-12);
  Tensor z = randn64({2, 3, 2, 2}, 3);  // y's axis in the middle too
  Tensor e = L::Dot::make({2, 1})({x, z});
  CHECK(e.shape() == tg::Shape{2, 2, 4, 2, 2});
  double s = 0;
  for (std::int64_t k = 0; k < 3; ++k) s += x.at({1, 0, k, 3}) * z.at({1, k, 1, 0});
  CHECK(e.at({1, 0, 3, 1, 0}) == doctest::Approx(s).epsilon(1e-12));
}

TEST_CASE("layers: gradcheck Dot along every kind of axis, with and without normalize") {
  for (bool normalize : {false, true}) {
    CAPTURE(normalize);
    TG_CHECK_GRADCHECK(L::Dot::make(1, normalize), {randn64({3, 4}, 1), randn64({3, 4}, 2)});
    TG_CHECK_GRADCHECK(L::Dot::make({2, 2}, normalize), {randn64({2, 3, 4}, 3), randn64({2, 5, 4}, 4)});
    TG_CHECK_GRADCHECK(L::Dot::make({1, 1}, normalize), {randn64({2, 4, 3}, 5), randn64({2, 4, 2}, 6)});
    TG_CHECK_GRADCHECK(L::Dot::make({1, 2}, normalize), {randn64({2, 4, 3}, 7), randn64({2, 2, 4}, 8)});
    TG_CHECK_GRADCHECK(L::Dot::make({2, 1}, normalize), {randn64({2, 2, 3, 2}, 9), randn64({2, 3, 2, 2}, 10)});
  }
}

TEST_CASE("layers: Dot errors") {
  CHECK_CONTAINS(error_of([] { L::Dot::make(0); }), "Dot: axis 0 is the batch axis and cannot be contracted");
  CHECK_CONTAINS(error_of([] { L::Dot::make({1, 0}); }), "received axes=(1, 0)");
  Tensor a = tg::zeros({2, 3}), b = tg::zeros({2, 4});
  CHECK_CONTAINS(error_of([&] { L::Dot::make(1, false, "dot")({a, b}); }),
                 "dot (Dot): cannot contract axis 1 of (2, 3) with axis 1 of (2, 4) (3 vs 4)");
  CHECK_CONTAINS(error_of([&] { L::Dot::make({2, 2}, false, "dot")({tg::zeros({2, 3, 4}), tg::zeros({2, 3, 5})}); }),
                 "cannot contract axis 2 of (2, 3, 4) with axis 2 of (2, 3, 5) (4 vs 5)");
  CHECK_CONTAINS(error_of([&] { L::Dot::make(-2, false, "dot")({a, a}); }), "dot (Dot): axis -2 is the batch axis");
  CHECK_CONTAINS(error_of([&] { L::Dot::make(2, false, "dot")({a, a}); }), "dot (Dot): axis 2 is out of range for an input of shape (2, 3)");
  CHECK_CONTAINS(error_of([&] { L::Dot::make(1, false, "dot")({a, a, a}); }), "dot (Dot): expected 2 inputs, received 3");
  CHECK_CONTAINS(error_of([&] { L::Dot::make(1, false, "dot")({tg::zeros({2}), tg::zeros({2})}); }),
                 "dot (Dot): expects inputs of rank >= 2, (batch, ...), received shapes (2,), (2,)");
  CHECK_CONTAINS(error_of([&] { L::Dot::make(1, false, "dot")({a, tg::zeros({3, 3})}); }), "the same batch size");
}
