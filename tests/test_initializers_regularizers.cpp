// Keras 3's initializers and regularizers (issue 18, "Layer options"): each
// test is the Keras code in a comment beside its tapegrad spelling. Expected
// numbers are by hand, or the statistics the distribution must have.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::error_of;
using tgtest::f64;
namespace L = tg::layers;
namespace init = tg::initializers;
namespace reg = tg::regularizers;

namespace {

std::vector<double> draw(const tg::Initializer& initializer, const tg::Shape& shape, std::uint64_t seed = 7) {
  tg::Generator gen(seed);
  return tgtest::values_of(initializer(shape, tg::float64, gen));
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// Columns (or rows, `rows_of`) of a row-major (r, c) matrix: their Gram matrix.
std::vector<double> gram(const std::vector<double>& a, std::int64_t r, std::int64_t c, bool rows_of) {
  const std::int64_t n = rows_of ? r : c, len = rows_of ? c : r;
  std::vector<double> g(static_cast<std::size_t>(n * n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t k = 0; k < len; ++k)
        g[i * n + j] += rows_of ? a[i * c + k] * a[j * c + k] : a[k * c + i] * a[k * c + j];
  return g;
}

void check_identity(const std::vector<double>& g, std::int64_t n, double scale) {
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) CHECK(g[i * n + j] == doctest::Approx(i == j ? scale : 0.0).epsilon(1e-12).scale(1.0));
}

}  // namespace

TEST_CASE("initializers: the variance-scaling family has Keras's variances and bounds") {
  // keras.initializers.HeNormal()(shape=(400, 300)): truncated at 2 stddev,
  // stddev = sqrt(2 / fan_in) / 0.8796..., so the variance is 2 / fan_in.
  const std::vector<double> he = draw(init::he_normal(), {400, 300});
  CHECK(std_of(he) == doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  CHECK(std::abs(mean_of(he)) < 0.002);
  CHECK(max_abs(he) <= 2 * std::sqrt(2.0 / 400) / 0.87962566103423978);
  // HeUniform: limit sqrt(6 / fan_in); a uniform's stddev is limit / sqrt(3).
  const std::vector<double> hu = draw("he_uniform", {400, 300});
  CHECK(max_abs(hu) <= std::sqrt(6.0 / 400));
  CHECK(max_abs(hu) > 0.99 * std::sqrt(6.0 / 400));
  CHECK(std_of(hu) == doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  // GlorotNormal: fan_avg = (400 + 300) / 2.
  CHECK(std_of(draw("glorot_normal", {400, 300})) == doctest::Approx(std::sqrt(2.0 / 700)).epsilon(0.02));
  // LecunNormal / LecunUniform: 1 / fan_in.
  CHECK(std_of(draw("lecun_normal", {400, 300})) == doctest::Approx(std::sqrt(1.0 / 400)).epsilon(0.02));
  CHECK(max_abs(draw("LecunUniform", {400, 300})) <= std::sqrt(3.0 / 400));
  // A conv kernel (3, 3, 16, 32): fan_in = 3 * 3 * 16 = 144, fan_out = 288.
  CHECK(max_abs(draw("he_uniform", {3, 3, 16, 32})) <= std::sqrt(6.0 / 144));
  CHECK(max_abs(draw("glorot_uniform", {3, 3, 16, 32})) <= std::sqrt(6.0 / (144 + 288)));
  CHECK(std_of(draw(init::variance_scaling(3.0, "fan_out", "untruncated_normal"), {300, 400})) ==
        doctest::Approx(std::sqrt(3.0 / 400)).epsilon(0.02));
  // The same generator state gives the same values; float32 rounds the float64 draw.
  CHECK(draw("he_normal", {5, 4}, 3) == draw("he_normal", {5, 4}, 3));
  tg::Generator gen(3);
  const Tensor f32 = init::he_normal()({5, 4}, tg::float32, gen);
  CHECK(f32.dtype() == tg::float32);
  CHECK(tgtest::values_of(f32)[0] == doctest::Approx(draw("he_normal", {5, 4}, 3)[0]).epsilon(1e-6));
}

TEST_CASE("initializers: orthogonal, identity and truncated_normal") {
  // keras.initializers.Orthogonal()((6, 4)): orthonormal columns.
  check_identity(gram(draw("orthogonal", {6, 4}), 6, 4, false), 4, 1.0);
  // (4, 6): fewer rows than columns, orthonormal rows.
  check_identity(gram(draw("orthogonal", {4, 6}), 4, 6, true), 4, 1.0);
  // A conv kernel (3, 3, 2, 4) is read as (18, 4); gain 2 scales Q.
  check_identity(gram(draw(init::orthogonal(2.0), {3, 3, 2, 4}), 18, 4, false), 4, 4.0);
  CHECK(contains(error_of([] { draw("orthogonal", {5}); }),
                 "initializers::orthogonal: the shape must have rank >= 2, received (5,)"));
  // keras.initializers.Identity(gain=3)((2, 3))
  CHECK(draw(init::identity(3.0), {2, 3}) == std::vector<double>{3, 0, 0, 0, 3, 0});
  CHECK(contains(error_of([] { draw("identity", {2, 2, 2}); }), "initializers::identity: the shape must be 2-D"));
  // TruncatedNormal(mean=1, stddev=0.5): every value within 2 stddev of the mean.
  const std::vector<double> t = draw(init::truncated_normal(1.0, 0.5), {2000});
  CHECK(*std::min_element(t.begin(), t.end()) >= 0.0);
  CHECK(*std::max_element(t.begin(), t.end()) <= 2.0);
  CHECK(mean_of(t) == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("initializers: by name, and bad names and arguments") {
  CHECK(tg::Initializer("he_normal").name() == "he_normal");
  CHECK(tg::Initializer("HeNormal").name() == "he_normal");
  CHECK(init::names().size() == 14);
  CHECK(contains(error_of([] { tg::Initializer("he_normel"); }),
                 "initializers::get: unknown initializer 'he_normel' (known: glorot_uniform, glorot_normal"));
  CHECK(contains(error_of([] { init::variance_scaling(1.0, "fan_both"); }),
                 "initializers::variance_scaling: mode must be \"fan_in\", \"fan_out\" or \"fan_avg\", received "
                 "\"fan_both\""));
  CHECK(contains(error_of([] { init::variance_scaling(0.0); }), "scale must be > 0, received 0"));
  CHECK(contains(error_of([] { init::variance_scaling(1.0, "fan_in", "normal"); }),
                 "distribution must be \"truncated_normal\", \"untruncated_normal\" or \"uniform\""));
  CHECK(contains(error_of([] { init::truncated_normal(0.0, -1.0); }), "stddev must be >= 0, received -1"));
  tg::Generator gen(1);
  CHECK(contains(error_of([&] { tg::Initializer()({2}, tg::float32, gen); }), "calling an empty initializer"));
}

TEST_CASE("layers: Dense and Conv2D take kernel_initializer and bias_initializer by name or object") {
  // Dense(3, kernel_initializer="ones", bias_initializer=Constant(0.5))
  auto dense = L::Dense::make(3, {.kernel_initializer = "ones", .bias_initializer = init::constant(0.5)});
  const Tensor y = dense(f64({1, 2}, {1, 2}));
  CHECK(tgtest::values_of(y) == std::vector<double>{3.5, 3.5, 3.5});
  // Conv2D(2, 3, kernel_initializer="zeros", use_bias=False)
  auto conv = L::Conv2D::make(2, {3}, {.use_bias = false, .kernel_initializer = "zeros"});
  CHECK(max_abs(tgtest::values_of(conv(tgtest::randn64({1, 4, 4, 1}, 3)))) == 0.0);
  // A user's own initializer: any (shape, dtype, generator) -> Tensor.
  auto custom = L::Dense::make(
      2, {.kernel_initializer = [](const tg::Shape& s, tg::DType d, tg::Generator&) { return tg::full(s, 2.0, d); }});
  custom(f64({1}, {1, 1}));
  CHECK(tgtest::values_of(custom->kernel()) == std::vector<double>{2, 2});
  CHECK(contains(error_of([] { L::Dense::make(2, {.kernel_initializer = tg::Initializer()}); }),
                 "kernel_initializer and bias_initializer must not be empty"));
  CHECK(contains(error_of([] { L::Conv2D::make(2, {3}, {.bias_initializer = tg::Initializer()}); }),
                 "kernel_initializer and bias_initializer must not be empty"));
}

TEST_CASE("regularizers: l1, l2 and l1_l2 compute Keras's penalties") {
  const Tensor w = f64({1, -2});
  // keras.regularizers.L2(0.5)(w) = 0.5 * (1 + 4)
  CHECK(reg::l2(0.5)(w).item() == doctest::Approx(2.5));
  // L1(0.1): 0.1 * (1 + 2)
  CHECK(reg::l1(0.1)(w).item() == doctest::Approx(0.3));
  // L1L2(l1=0.1, l2=0.5): 0.3 + 2.5; L1L2() is no penalty (Keras 3's defaults)
  CHECK(reg::l1_l2(0.1, 0.5)(w).item() == doctest::Approx(2.8));
  CHECK(reg::l1_l2()(w).item() == 0.0);
  // By name: 0.01 each ("l1_l2" as Keras documents it)
  CHECK(tg::Regularizer("l2")(w).item() == doctest::Approx(0.05));
  CHECK(tg::Regularizer("l1_l2")(w).item() == doctest::Approx(0.03 + 0.05));
  CHECK(tg::Regularizer("L1")(w).item() == doctest::Approx(0.03));
  CHECK_FALSE(static_cast<bool>(tg::Regularizer("")));
  CHECK(reg::l2(0.5).name() == "l2(0.5)");
  CHECK(contains(error_of([] { reg::l2(-0.1); }), "regularizers::l2: the factor must be a finite number >= 0, received -0.1"));
  CHECK(contains(error_of([] { reg::l1_l2(0.1, NAN); }), "regularizers::l1_l2: l2 must be a finite number >= 0"));
  CHECK(contains(error_of([] { tg::Regularizer("l3"); }), "regularizers::get: unknown regularizer 'l3' (known: l1, l2, l1_l2)"));
  const tg::Regularizer per_element([](const Tensor& x) { return x * 2.0; }, "per_element");
  CHECK(contains(error_of([&] { per_element(w); }), "Regularizer per_element: expected one floating value, returned (2,) float64"));
}

TEST_CASE("layers: kernel_regularizer adds its penalty to fit's loss and gradient") {
  // model = Sequential([Dense(1, use_bias=False, kernel_initializer="ones",
  //                           kernel_regularizer=L2(0.5))])
  // model.compile(SGD(0.1), "mse"); model.train_on_batch(zeros((1, 2)), zeros((1, 1)))
  auto dense = L::Dense::make(1, {.use_bias = false, .kernel_initializer = "ones", .kernel_regularizer = reg::l2(0.5)});
  auto model = tg::Sequential::make({dense});
  model->compile(tg::optimizers::SGD(0.1), "mse");
  const Tensor x = tg::zeros({1, 2}, tg::float64), y = tg::zeros({1, 1}, tg::float64);
  // mse 0, penalty 0.5 * (1 + 1) = 1; d/dk = 2 * 0.5 * k = 1, so SGD(0.1) takes k to 0.9.
  CHECK(model->train_on_batch({x}, y) == doctest::Approx(1.0));
  CHECK(tgtest::values_of(dense->kernel()) == std::vector<double>{0.9, 0.9});
  REQUIRE(model->losses().size() == 1);
  CHECK(model->losses()[0].item() == doctest::Approx(0.5 * 2 * 0.81));
  // A frozen layer's weights are not regularized (Keras: trainable_weights only).
  dense->set_trainable(false);
  CHECK(model->losses().empty());
  // Conv2D(kernel_regularizer="l1", bias_regularizer="l2"): one penalty each.
  auto conv = L::Conv2D::make(2, {3}, {.kernel_regularizer = "l1", .bias_regularizer = "l2"});
  conv(tgtest::randn64({1, 4, 4, 1}, 5));
  CHECK(conv->losses().size() == 2);
}

TEST_CASE("layers: activity_regularizer adds regularizer(output) / batch at each call") {
  // Dense(2, use_bias=False, kernel_initializer="ones", activity_regularizer=L1(0.1))
  auto dense = L::Dense::make(2, {.use_bias = false, .kernel_initializer = "ones", .activity_regularizer = reg::l1(0.1)});
  // x = [[1, 2], [3, 4]]: outputs [[3, 3], [7, 7]], 0.1 * 20 / batch 2 = 1.
  dense(f64({1, 2, 3, 4}, {2, 2}));
  REQUIRE(dense->losses().size() == 1);
  CHECK(dense->losses()[0].item() == doctest::Approx(1.0));
  // A new call replaces it: x = [[1, 1]] gives 0.1 * 4 / 1.
  dense(f64({1, 1}, {1, 2}));
  REQUIRE(dense->losses().size() == 1);
  CHECK(dense->losses()[0].item() == doctest::Approx(0.4));
  // An empty batch adds 0 (Keras's divide_no_nan).
  dense(tg::zeros({0, 2}, tg::float64));
  CHECK(dense->losses()[0].item() == 0.0);
  // Any layer takes one.
  auto act = L::Activation::make("relu");
  act->set_activity_regularizer("l2");
  act(f64({-1, 2}, {1, 2}));
  CHECK(act->losses()[0].item() == doctest::Approx(0.01 * 4));
}

TEST_CASE("layers: Embedding takes embeddings_initializer and embeddings_regularizer by name") {
  // Embedding(3, 2, embeddings_initializer="ones", embeddings_regularizer=L2(0.5))
  auto emb = L::Embedding::make(3, 2, L::EmbeddingOptions{.embeddings_initializer = "ones",
                                                         .embeddings_regularizer = reg::l2(0.5),
                                                         .dtype = tg::float64});
  tg::GradientTape tape;
  Tensor y = emb(tgtest::i64({0, 0}, {2}));
  REQUIRE(emb->losses().size() == 1);
  CHECK(emb->losses()[0].item() == doctest::Approx(0.5 * 6));  // 0.5 * sum of six ones
  // The penalty's gradient reaches every row (2 * 0.5 * 1), the lookup's only row 0.
  const Tensor g = tape.gradient(tg::sum(y) + emb->losses()[0], {emb->embeddings()})[0];
  CHECK(tgtest::values_of(g) == std::vector<double>{3, 3, 1, 1, 1, 1});
  // Keras's aliases "uniform", "normal", "zero", "one".
  CHECK(tg::Initializer("uniform").name() == "random_uniform");
  CHECK(tg::Initializer("one").name() == "ones");
  CHECK(contains(error_of([] { L::Embedding::make(3, 2, L::EmbeddingOptions{.embeddings_initializer = tg::Initializer()}); }),
                 "the embeddings initializer is empty"));
}
