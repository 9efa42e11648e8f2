// The core layers (Dense, Activation, Dropout, Flatten, Reshape, Embedding,
// Lambda) and activations by name: values by hand, float64 gradchecks through
// inputs and weights, the row-sparse embedding gradient, dropout statistics
// and seeding, and clear errors for bad arguments and bad inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/layers.hpp>
#include <tapegrad/models/model.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::error_of;
using tgtest::f64;
using tgtest::i64;
using tgtest::randn64;
using V = std::vector<Tensor>;
namespace L = tg::layers;

namespace {

// Builds `layer` on `x`, then overwrites its weights (in creation order) with `values`.
void build_and_set(const tg::Ref<tg::Layer>& layer, const Tensor& x, const V& values) {
  layer(x);
  V w = layer->weights();
  REQUIRE(w.size() == values.size());
  for (std::size_t i = 0; i < w.size(); ++i) w[i].assign(values[i].to(w[i].dtype()));
}

}  // namespace

// ---- activations by name ---------------------------------------------------------

TEST_CASE("layers: activations::get maps each name to its op") {
  Tensor x = f64({-2, -0.5, 0.25, 3}, {2, 2});
  TG_CHECK_TENSOR(tg::activations::get("relu")(x), tg::relu(x));
  TG_CHECK_TENSOR(tg::activations::get("sigmoid")(x), tg::sigmoid(x));
  TG_CHECK_TENSOR(tg::activations::get("tanh")(x), tg::tanh(x));
  TG_CHECK_TENSOR(tg::activations::get("softplus")(x), tg::softplus(x));
  TG_CHECK_TENSOR(tg::activations::get("softmax")(x), tg::softmax(x, -1));
  TG_CHECK_TENSOR(tg::activations::get("log_softmax")(x), tg::log_softmax(x, -1));
  TG_CHECK_TENSOR(tg::activations::get("linear")(x), x);
  TG_CHECK_TENSOR(tg::activations::get("")(x), x);
  // softmax is over the last axis: row [-2, -0.5] -> [1, e^1.5] / (1 + e^1.5).
  const double e = std::exp(1.5);
  CHECK(tg::activations::get("softmax")(x).at({0, 0}) == doctest::Approx(1 / (1 + e)).epsilon(1e-12));
}

TEST_CASE("layers: an unknown activation name throws, listing the known ones") {
  const std::string msg = error_of([] { tg::activations::get("relux"); });
  CHECK_CONTAINS(msg, "unknown activation \"relux\"");
  for (const std::string& name : {"relu", "sigmoid", "tanh", "softmax", "softplus", "log_softmax", "linear"})
    CHECK_CONTAINS(msg, "\"" + name + "\"");
  CHECK_THROWS_AS(tg::activations::get("ReLU"), std::invalid_argument);  // names are case-sensitive, as Keras's
  CHECK(tg::activations::names().size() == 20);
}

// ---- Dense -------------------------------------------------------------------------

TEST_CASE("layers: Dense computes act(x @ W + b) by hand") {
  auto dense = L::Dense::make(2, "relu");
  Tensor x = f64({1, 0, -1, 2, 1, 0}, {2, 3});
  build_and_set(dense, x, {f64({1, 2, 3, 4, 5, 6}, {3, 2}), f64({0.5, -1})});
  // x @ W = [[1 - 5, 2 - 6], [2 + 3, 4 + 4]] = [[-4, -4], [5, 8]]; + b = [[-3.5, -5], [5.5, 7]]; relu.
  Tensor y = dense(x);
  CHECK(y.shape() == tg::Shape{2, 2});
  TG_CHECK_VALUES(y, {0, 0, 5.5, 7});
  CHECK(dense->units() == 2);
  CHECK(dense->kernel().name() == dense->name() + "/kernel");
  CHECK(dense->bias().name() == dense->name() + "/bias");
  CHECK(dense->kernel().trainable());
  CHECK(dense->repr() == "Dense(name=" + dense->name() + ", units=2, activation=relu, use_bias=true)");
  // The accessors return the layer's own tensors (same identity as weights()).
  CHECK(dense->kernel().id() == dense->weights()[0].id());
}

TEST_CASE("layers: Dense initial weights: Glorot-uniform kernel, zero bias, the dtype of the first input") {
  auto dense = L::Dense::make(200);
  dense(tg::zeros({1, 100}));
  Tensor k = dense->kernel();
  CHECK(k.shape() == tg::Shape{100, 200});
  CHECK(k.dtype() == tg::float32);
  CHECK(dense->bias().dtype() == tg::float32);
  TG_CHECK_VALUES(dense->bias(), std::vector<double>(200, 0.0));
  // Uniform in [-l, l], l = sqrt(6 / (100 + 200)): variance l^2 / 3.
  const double limit = std::sqrt(6.0 / 300.0);
  const std::vector<double> v = tgtest::values_of(k);
  double max_abs = 0, mean = 0, var = 0;
  for (double w : v) max_abs = std::max(max_abs, std::abs(w)), mean += w / v.size();
  for (double w : v) var += (w - mean) * (w - mean) / v.size();
  CHECK(max_abs <= limit);
  CHECK(max_abs > 0.99 * limit);
  CHECK(std::abs(mean) < 0.01 * limit);
  CHECK(var == doctest::Approx(limit * limit / 3).epsilon(0.03));

  auto dense64 = L::Dense::make(3);
  dense64(tg::zeros({2, 4}, tg::float64));
  CHECK(dense64->kernel().dtype() == tg::float64);
  CHECK(dense64->bias().dtype() == tg::float64);
}

TEST_CASE("layers: tg::set_seed makes layer initialization reproducible") {
  tg::set_seed(123);
  auto a = L::Dense::make(4);
  tg::set_seed(123);
  auto b = L::Dense::make(4);
  auto c = L::Dense::make(4);  // the next seed: different weights
  Tensor x = tg::ones({1, 3});
  a(x), b(x), c(x);
  TG_CHECK_TENSOR(a->kernel(), b->kernel(), 0, 0);
  CHECK_FALSE(tgtest::compare_tensors(a->kernel(), c->kernel(), 0, 0).empty());
}

TEST_CASE("layers: Dense on rank >= 3 inputs applies to the last axis") {
  auto dense = L::Dense::make(5, "tanh");
  Tensor x = randn64({2, 3, 4}, 1);
  Tensor y = dense(x);
  CHECK(y.shape() == tg::Shape{2, 3, 5});
  // The same as the rows one at a time.
  TG_CHECK_TENSOR(y, tg::reshape(dense(tg::reshape(x, {6, 4})), {2, 3, 5}));
  Tensor row = dense(tg::reshape(tg::slice(tg::slice(x, 0, 1, 2), 1, 2, 3), {1, 4}));
  CHECK(row.at({0, 3}) == doctest::Approx(y.at({1, 2, 3})).epsilon(1e-14));
  CHECK(dense(randn64({2, 1, 3, 4}, 2)).shape() == tg::Shape{2, 1, 3, 5});
  CHECK(dense(tg::zeros({0, 3, 4}, tg::float64)).shape() == tg::Shape{0, 3, 5});  // an empty batch
}

TEST_CASE("layers: Dense without bias has only a kernel") {
  auto dense = L::Dense::make(2, "", /*use_bias=*/false);
  Tensor x = f64({1, 2}, {1, 2});
  build_and_set(dense, x, {f64({1, 0, 0, 1}, {2, 2})});
  TG_CHECK_VALUES(dense(x), {1, 2});
  CHECK(dense->weights().size() == 1);
  CHECK_THROWS_AS(dense->bias(), std::logic_error);
  CHECK(contains(dense->repr(), "activation=linear, use_bias=false"));
}

TEST_CASE("layers: gradcheck Dense through its inputs and weights") {
  for (const char* act : {"", "tanh", "sigmoid", "softmax", "relu", "softplus", "log_softmax"}) {
    CAPTURE(act);
    auto dense = L::Dense::make(3, act);
    TG_CHECK_GRADCHECK(dense, {randn64({4, 5}, 7)});
    CHECK(dense->kernel().dtype() == tg::float64);  // built by the float64 check
  }
  TG_CHECK_GRADCHECK(L::Dense::make(2, "tanh"), {randn64({2, 3, 4}, 8)});
  TG_CHECK_GRADCHECK(L::Dense::make(2, "", false), {randn64({3, 4}, 9)});
}

TEST_CASE("layers: Dense errors name the layer and what was received") {
  CHECK_CONTAINS(error_of([] { L::Dense::make(0); }), "Dense: units must be positive, received 0");
  const std::string bad_act = error_of([] { L::Dense::make(3, "relux"); });
  CHECK_CONTAINS(bad_act, "Dense: unknown activation \"relux\"");
  CHECK_CONTAINS(bad_act, "known:");
  CHECK_CONTAINS(error_of([] { L::Dense::make(3, "crelu", true, "encoder"); }), "Dense 'encoder': unknown activation");

  auto dense = L::Dense::make(3, "", true, "dense_errors");
  CHECK_THROWS_AS(dense->kernel(), std::logic_error);  // not built yet
  CHECK_CONTAINS(error_of([&] { dense(tg::zeros({4})); }), "dense_errors (Dense): expects inputs of rank >= 2");
  CHECK_CONTAINS(error_of([&] { dense(i64({1, 2}, {1, 2})); }), "expects float32 or float64 inputs, received int64");
  CHECK_FALSE(dense->built());
  dense(tg::zeros({2, 4}));
  CHECK_CONTAINS(error_of([&] { dense(tg::zeros({2, 5})); }),
                 "dense_errors (Dense): expects inputs of shape (batch, ..., 4), received (2, 5)");
  CHECK_CONTAINS(error_of([&] { dense(tg::zeros({2, 4}, tg::float64)); }),
                 "the weights are float32 (the dtype of the first input), received a float64 input");
  CHECK_CONTAINS(error_of([&] { dense({tg::zeros({2, 4}), tg::zeros({2, 4})}); }),
                 "dense_errors (Dense): expected 1 input, received 2");
}

// ---- Activation ----------------------------------------------------------------------

TEST_CASE("layers: Activation applies the named function") {
  auto softmax = L::Activation::make("softmax");
  // [0, ln 2] -> [1, 2] / 3.
  TG_CHECK_VALUES(softmax(f64({0, std::log(2.0)}, {1, 2})), {1.0 / 3, 2.0 / 3}, 1e-14, 1e-15);
  auto relu = L::Activation::make("relu");
  TG_CHECK_VALUES(relu(f64({-1, 2}, {1, 2})), {0, 2});
  CHECK(relu->repr() == "Activation(name=" + relu->name() + ", activation=relu)");
  for (const char* act : {"sigmoid", "tanh", "softmax", "log_softmax", "softplus", "linear"}) {
    CAPTURE(act);
    TG_CHECK_GRADCHECK(L::Activation::make(act), {randn64({3, 4}, 3)});
  }
  CHECK_CONTAINS(error_of([] { L::Activation::make("crelu"); }), "Activation: unknown activation \"crelu\"");
}

// ---- Dropout -------------------------------------------------------------------------

TEST_CASE("layers: Dropout is the identity at inference") {
  auto dropout = L::Dropout::make(0.5);
  Tensor x = randn64({3, 4}, 1);
  Tensor y = dropout(x);  // training = false by default
  CHECK(y.id() == x.id());
  CHECK(dropout(x, false).id() == x.id());
  CHECK(dropout->weights().empty());
  CHECK(dropout->rate() == 0.5);
}

TEST_CASE("layers: Dropout in training zeroes about `rate` of the values and scales the rest by 1 / (1 - rate)") {
  const double rate = 0.3;
  auto dropout = L::Dropout::make(rate, 42);
  Tensor x = tg::uniform({200, 500}, 1.0, 2.0, 5, tg::float64);  // no zero of its own
  Tensor y = dropout(x, true);
  CHECK(y.shape() == x.shape());
  const std::vector<double> xv = tgtest::values_of(x), yv = tgtest::values_of(y);
  std::int64_t zeros = 0;
  double sum_x = 0, sum_y = 0;
  bool scaled = true;
  for (std::size_t i = 0; i < xv.size(); ++i) {
    sum_x += xv[i], sum_y += yv[i];
    if (yv[i] == 0) ++zeros;
    else scaled = scaled && std::abs(yv[i] - xv[i] / (1 - rate)) <= 1e-15 * yv[i];
  }
  CHECK(scaled);
  // 100000 Bernoulli(0.3) draws: sd = sqrt(n p (1 - p)) = 145; allow 5 sd.
  CHECK(std::abs(static_cast<double>(zeros) - rate * 1e5) < 5 * 145);
  CHECK(sum_y == doctest::Approx(sum_x).epsilon(0.01));  // expectation preserved
  // Each training call draws a new mask.
  CHECK_FALSE(tgtest::compare_tensors(dropout(x, true), y, 0, 0).empty());
}

TEST_CASE("layers: Dropout masks are reproducible: same seed same mask, and tg::set_seed for unseeded layers") {
  Tensor x = tg::ones({4, 50}, tg::float64);
  auto a = L::Dropout::make(0.5, 7);
  auto b = L::Dropout::make(0.5, 7);
  auto c = L::Dropout::make(0.5, 8);
  Tensor ya = a(x, true);
  TG_CHECK_TENSOR(b(x, true), ya, 0, 0);
  CHECK_FALSE(tgtest::compare_tensors(c(x, true), ya, 0, 0).empty());
  // The second draws agree too: the same sequence of masks.
  TG_CHECK_TENSOR(a(x, true), b(x, true), 0, 0);

  tg::set_seed(99);
  auto d = L::Dropout::make(0.5);
  Tensor yd = d(x, true);
  tg::set_seed(99);
  auto e = L::Dropout::make(0.5);
  TG_CHECK_TENSOR(e(x, true), yd, 0, 0);
  CHECK(contains(a->repr(), "rate=0.5, seed=7"));
}

TEST_CASE("layers: Dropout's gradient in training is the mask, and rate 0 is the identity") {
  Tensor x = tg::ones({2, 10}, tg::float64);
  auto dropout = L::Dropout::make(0.25, 3);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = dropout(x, true);
  Tensor g = tape.gradient(tg::sum(y), {x})[0];
  TG_CHECK_TENSOR(g, y);  // x = 1, so y is the mask: 0 or 1 / 0.75
  // gradcheck in training mode with a fixed mask (a fresh layer of the same seed per call).
  TG_CHECK_GRADCHECK([](const V& v) { return L::Dropout::make(0.4, 11)(v[0], true); }, {randn64({3, 5}, 1)});

  auto none = L::Dropout::make(0.0);
  Tensor z = randn64({2, 3}, 2);
  CHECK(none(z, true).id() == z.id());
}

TEST_CASE("layers: Dropout rate outside 0 <= rate < 1 throws") {
  CHECK_CONTAINS(error_of([] { L::Dropout::make(1.0); }), "Dropout: rate must be in [0, 1), received 1");
  CHECK_CONTAINS(error_of([] { L::Dropout::make(-0.1); }), "Dropout: rate must be in [0, 1), received -0.1");
  CHECK_CONTAINS(error_of([] { L::Dropout::make(1.5, 3, "drop"); }), "Dropout 'drop': rate must be in [0, 1), received 1.5");
  CHECK_THROWS_AS(L::Dropout::make(std::nan("")), std::invalid_argument);
  CHECK_NOTHROW(L::Dropout::make(0.999));
}

// ---- Flatten and Reshape -----------------------------------------------------------

TEST_CASE("layers: Flatten keeps the batch axis and the row-major order") {
  auto flatten = L::Flatten::make();
  Tensor x = tg::arange(24, tg::float64);
  Tensor y = flatten(tg::reshape(x, {2, 3, 4}));
  CHECK(y.shape() == tg::Shape{2, 12});
  TG_CHECK_TENSOR(y, tg::reshape(x, {2, 12}));
  CHECK(flatten(f64({1, 2, 3})).shape() == tg::Shape{3, 1});  // (batch,) -> (batch, 1), as Keras
  CHECK(flatten(tg::zeros({0, 2, 2})).shape() == tg::Shape{0, 4});
  TG_CHECK_GRADCHECK(flatten, {randn64({2, 2, 3}, 1)});
}

TEST_CASE("layers: Reshape reshapes each sample, inferring one -1") {
  Tensor x = tg::reshape(tg::arange(12, tg::float64), {2, 6});
  Tensor y = L::Reshape::make({3, 2})(x);
  CHECK(y.shape() == tg::Shape{2, 3, 2});
  CHECK(y.at({1, 2, 1}) == 11);
  CHECK(L::Reshape::make({-1, 2})(tg::zeros({4, 2, 3})).shape() == tg::Shape{4, 3, 2});
  CHECK(L::Reshape::make({6, -1})(x).shape() == tg::Shape{2, 6, 1});
  CHECK(L::Reshape::make({-1})(tg::zeros({0, 2, 3})).shape() == tg::Shape{0, 6});
  auto r = L::Reshape::make({2, -1});
  CHECK(r->repr() == "Reshape(name=" + r->name() + ", target_shape=(2, -1))");
  TG_CHECK_GRADCHECK(L::Reshape::make({3, 2}), {randn64({2, 6}, 1)});
}

TEST_CASE("layers: Reshape errors") {
  CHECK_CONTAINS(error_of([] { L::Reshape::make({-1, -1}); }), "Reshape: at most one -1 is allowed in target_shape, received (-1, -1)");
  CHECK_CONTAINS(error_of([] { L::Reshape::make({2, 0}); }), "Reshape: target_shape entries must be positive or -1, received (2, 0)");
  CHECK_CONTAINS(error_of([] { L::Reshape::make({-2}); }), "received (-2,)");
  auto r = L::Reshape::make({4}, "to4");
  CHECK_CONTAINS(error_of([&] { r(tg::zeros({2, 6})); }),
                 "to4 (Reshape): cannot reshape a sample of shape (6,) (6 values) into (4,); received input (2, 6)");
  CHECK_CONTAINS(error_of([] { L::Reshape::make({4, -1})(tg::zeros({2, 6})); }), "into (4, -1)");
}

// ---- Embedding -----------------------------------------------------------------------

TEST_CASE("layers: Embedding looks up rows of its table") {
  auto embedding = L::Embedding::make(4, 2);
  Tensor ids = i64({3, 0, 3, 1, 1, 2}, {2, 3});
  build_and_set(embedding, ids, {tg::Tensor({{0, 1}, {10, 11}, {20, 21}, {30, 31}})});
  Tensor y = embedding(ids);
  CHECK(y.shape() == tg::Shape{2, 3, 2});
  CHECK(y.dtype() == tg::float32);
  TG_CHECK_VALUES(y, {30, 31, 0, 1, 30, 31, 10, 11, 10, 11, 20, 21});
  CHECK(embedding(i64({2}, {1})).shape() == tg::Shape{1, 2});  // (batch,) -> (batch, output_dim)
  CHECK(embedding->input_dim() == 4);
  CHECK(embedding->output_dim() == 2);
  CHECK(embedding->embeddings().name() == embedding->name() + "/embeddings");
  CHECK(embedding->repr() == "Embedding(name=" + embedding->name() + ", input_dim=4, output_dim=2)");
}

TEST_CASE("layers: Embedding's default initializer is uniform in -0.05 to 0.05") {
  auto embedding = L::Embedding::make(1000, 8);
  CHECK_THROWS_AS(embedding->embeddings(), std::logic_error);  // before the first call
  embedding(i64({0}, {1}));
  const std::vector<double> v = tgtest::values_of(embedding->embeddings());
  double lo = 1, hi = -1;
  for (double w : v) lo = std::min(lo, w), hi = std::max(hi, w);
  CHECK(lo >= -0.05);
  CHECK(hi <= 0.05);
  CHECK(lo < -0.049);
  CHECK(hi > 0.049);
  auto ones = L::Embedding::make(3, 2, tg::initializers::ones(), tg::float64);
  TG_CHECK_VALUES(ones(i64({2}, {1})), {1, 1});
  CHECK(ones->embeddings().dtype() == tg::float64);
}

TEST_CASE("layers: Embedding's gradient is row-sparse: touched rows only, repeats kept (they add when densified)") {
  auto embedding = L::Embedding::make(1000, 3, tg::initializers::random_uniform(), tg::float64);
  Tensor ids = i64({7, 3, 7, 500}, {2, 2});
  embedding(ids);
  tg::GradientTape tape;
  Tensor y = embedding(ids);
  Tensor u = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3});
  tg::Gradient g = tape.sparse_gradient(y, {embedding->embeddings()}, u)[0];
  REQUIRE(g.is_sparse());
  CHECK(g.shape() == tg::Shape{1000, 3});
  CHECK(g.indices().to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 3, 7, 500});
  TG_CHECK_VALUES(g.values(), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor dense = g.dense();
  TG_CHECK_VALUES(tg::slice(dense, 0, 7, 8), {1 + 7, 2 + 8, 3 + 9});
  TG_CHECK_VALUES(tg::slice(dense, 0, 3, 4), {4, 5, 6});
  TG_CHECK_VALUES(tg::slice(dense, 0, 500, 501), {10, 11, 12});
  CHECK(tg::sum(tg::abs(dense)).item() == doctest::Approx(78));  // nothing elsewhere
}

TEST_CASE("layers: gradcheck Embedding through its table, and after a Dense") {
  TG_CHECK_GRADCHECK(L::Embedding::make(6, 3, tg::initializers::random_normal(0, 1), tg::float64),
                     {i64({5, 0, 5, 2, 1, 1}, {3, 2})});
  // A model of both: the sparse gradient flows through a Flatten and a Dense.
  auto ids = tg::Input({2}, tg::int64);
  auto out = L::Dense::make(2, "tanh")(L::Flatten::make()(L::Embedding::make(5, 3, tg::initializers::random_normal(0, 1), tg::float64)(ids)));
  TG_CHECK_GRADCHECK(tg::Model::make({ids}, out), {i64({4, 4, 0, 3}, {2, 2})});
}

TEST_CASE("layers: Embedding errors: out-of-range index, non-int64 input, bad arguments") {
  auto embedding = L::Embedding::make(10, 4, tg::initializers::random_uniform(), tg::float32, "words");
  const std::string high = error_of([&] { embedding(i64({1, 10, 2}, {3})); });
  CHECK_CONTAINS(high, "words (Embedding): index 10 is out of range for input_dim 10 (valid indices: 0 to 9)");
  CHECK_THROWS_AS(embedding(i64({1, 10, 2}, {3})), std::out_of_range);
  CHECK_CONTAINS(error_of([&] { embedding(i64({-1}, {1})); }), "index -1 is out of range for input_dim 10");
  CHECK_CONTAINS(error_of([&] { embedding(tg::zeros({2, 3}, tg::float64)); }),
                 "words (Embedding): expects int64 indices, received a float64 input");
  auto fresh = L::Embedding::make(10, 4);
  CHECK_CONTAINS(error_of([&] { fresh(tg::zeros({2, 3})); }), "expects int64 indices, received a float32 input");
  CHECK_FALSE(fresh->built());  // the float input was refused before any weight was made
  CHECK(fresh->weights().empty());
  CHECK_NOTHROW(fresh(i64({9, 0}, {2})));
  CHECK_CONTAINS(error_of([] { L::Embedding::make(0, 4); }), "Embedding: input_dim and output_dim must be positive, received input_dim=0, output_dim=4");
  CHECK_CONTAINS(error_of([] { L::Embedding::make(3, 4, tg::initializers::zeros(), tg::int64); }),
                 "the table's dtype must be float32 or float64, received int64");
}

// ---- Lambda --------------------------------------------------------------------------

TEST_CASE("layers: Lambda wraps a one-tensor function or a list function") {
  auto square = L::Lambda::make([](const Tensor& x) { return x * x; });
  TG_CHECK_VALUES(square(f64({1, -2, 3}, {1, 3})), {1, 4, 9});
  CHECK_CONTAINS(error_of([&] { square({f64({1}, {1, 1}), f64({1}, {1, 1})}); }), "(Lambda): expected 1 input, received 2");

  auto weighted = L::Lambda::make([](const V& v) { return v[0] + 2.0 * v[1] - v[2]; });
  TG_CHECK_VALUES(weighted({f64({1, 2}, {1, 2}), f64({3, 4}, {1, 2}), f64({5, 6}, {1, 2})}), {2, 4});
  // A list function takes any number >= 1 of inputs, one included.
  auto first = L::Lambda::make([](const V& v) { return v[0] * 3.0; });
  TG_CHECK_VALUES(first(f64({1, 2}, {1, 2})), {3, 6});
  // A std::function works as well.
  std::function<Tensor(const Tensor&)> neg = [](const Tensor& x) { return -x; };
  TG_CHECK_VALUES(L::Lambda::make(neg)(f64({1, 2}, {1, 2})), {-1, -2});
}

TEST_CASE("layers: Lambda output shapes: declared (not run symbolically, checked when run) or inferred") {
  auto calls = std::make_shared<int>(0);
  auto fn = [calls](const V& v) {
    ++*calls;
    return tg::sum(v[0] * v[1], {-1}, true);
  };
  auto a = tg::Input({4}), b = tg::Input({4});
  auto declared = L::Lambda::make(fn, {1});
  CHECK(declared->output_shape() == std::optional<tg::Shape>(tg::Shape{1}));
  auto s = declared({a, b});
  CHECK(s.shape_str() == "(None, 1)");
  CHECK(*calls == 0);
  auto inferred = L::Lambda::make(fn);
  CHECK_FALSE(inferred->output_shape().has_value());
  CHECK(inferred({a, b}).shape_str() == "(None, 1)");
  CHECK(*calls == 1);  // ran once, on a batch of one zero sample
  CHECK(L::Lambda::make(fn, {})->output_shape() == std::nullopt);

  // A declared shape that the function does not produce throws at the real call.
  auto wrong = L::Lambda::make(fn, {2}, "wrong");
  CHECK(wrong({a, b}).shape_str() == "(None, 2)");  // trusted symbolically
  CHECK_CONTAINS(error_of([&] { wrong({tg::ones({3, 4}), tg::ones({3, 4})}); }),
                 "wrong (Lambda): the function returned per-sample shape (1,) but output_shape is (2,); received output (3, 1)");
  // One value per sample: declared as tg::Shape{}.
  auto per_sample = L::Lambda::make([](const V& v) { return tg::sum(v[0], {-1}); }, tg::Shape{});
  CHECK(per_sample(tg::ones({3, 4})).shape() == tg::Shape{3});
  // Dropping the batch axis is refused.
  CHECK_CONTAINS(error_of([] { L::Lambda::make([](const Tensor& x) { return tg::sum(x); })(tg::ones({3, 4})); }),
                 "the function returned shape () for a batch of 3; it must keep the batch axis first");
}

TEST_CASE("layers: gradcheck Lambda through its inputs") {
  auto cosine_distance = [](const V& v) {
    return -tg::mean(tg::l2_normalize(v[0], -1) * tg::l2_normalize(v[1], -1), {-1}, true);
  };
  TG_CHECK_GRADCHECK(L::Lambda::make(cosine_distance, {1}), {randn64({3, 5}, 1), randn64({3, 5}, 2)});
  TG_CHECK_GRADCHECK(L::Lambda::make([](const Tensor& x) { return tg::softplus(x) * x; }), {randn64({2, 3}, 3)});
}

// ---- the layer gradcheck itself ------------------------------------------------------

namespace {

// y = x * w (w of shape (features,)) through a custom op whose gradient for w
// is wrong by a factor 2: the layer gradcheck must catch it in the weight.
class BadScale : public tg::Layer {
 public:
  BadScale() : tg::Layer("BadScale") {}
  void build(const std::vector<tg::Shape>& shapes) override {
    w_ = add_weight("w", {shapes[0].back()}, tg::initializers::random_normal(1, 0.5), true, input_dtype());
  }
  std::vector<Tensor> call(const V& inputs, bool) override {
    const Tensor x = inputs[0], w = w_;
    Tensor y = tg::stop_gradient(x * w);
    tg::record_op("bad_scale", {x, w}, y, [x, w](const Tensor& g, tg::BackwardContext& ctx) {
      if (ctx.needs(0)) ctx.add(0, g * w);
      if (ctx.needs(1)) ctx.add(1, tg::sum(g * x, {0}) * 2.0);  // should be sum(g * x, 0)
    });
    return {y};
  }
  Tensor w_;
};

}  // namespace

TEST_CASE("layers: the layer gradcheck catches a wrong weight gradient and restores the weights") {
  auto bad = tg::make_layer<BadScale>();
  const tg::GradcheckResult r = tg::gradcheck(bad, {randn64({3, 4}, 1)});
  CHECK_FALSE(r.passed);
  CHECK_CONTAINS(r.str(), "weight '" + bad->name() + "/w'");
  CHECK(r.inputs.at(0).checked);
  CHECK(r.inputs.at(0).passed);  // the input's gradient is right

  auto dense = L::Dense::make(3, "tanh");
  Tensor x = randn64({2, 4}, 2);
  dense(x);
  const Tensor before = dense->kernel().clone();
  CHECK(tg::gradcheck(dense, x).passed);
  TG_CHECK_TENSOR(dense->kernel(), before, 0, 0);  // bit for bit
}

TEST_CASE("layers: the layer gradcheck refuses float32 weights and layers with nothing to check") {
  auto dense = L::Dense::make(2);
  dense(tg::zeros({1, 3}));  // float32 weights
  const std::string msg = error_of([&] { tg::gradcheck(dense, {randn64({1, 3}, 1)}); });
  CHECK_CONTAINS(msg, "weight '" + dense->name() + "/kernel' is float32 but the check runs in float64");
  CHECK_CONTAINS(error_of([] { tg::gradcheck(L::Embedding::make(3, 2), {i64({1}, {1})}); }), "weight");
  CHECK_CONTAINS(error_of([] { tg::gradcheck(L::Flatten::make(), {i64({1}, {1, 1})}); }), "nothing to check");
}
