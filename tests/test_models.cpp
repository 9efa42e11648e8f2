// Model training: compile, fit, train_on_batch, evaluate, predict; learning on
// XOR and on a Siamese pair task; the snippet; determinism; bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "test_models_support.hpp"

using namespace models_testing;
using tg::Tensor;
namespace layers = tg::layers;
namespace losses = tg::losses;
namespace optimizers = tg::optimizers;

namespace {

// The two-input Siamese model of issue 5, at a small size: a shared base and a
// Lambda computing a distance from the two embeddings.
struct Siamese {
  tg::SymbolicTensor a, b;
  tg::Ref<tg::Sequential> base;
  tg::Ref<tg::Model> model;
};

Siamese siamese_euclidean(std::int64_t features) {
  auto a = tg::Input({features});
  auto b = tg::Input({features});
  auto base = tg::Sequential::make({layers::Dense::make(16, "relu"), layers::Dense::make(4)});
  auto euclidean = [](const std::vector<Tensor>& v) {
    return tg::sqrt(tg::sum(tg::square(v[0] - v[1]), {-1}, /*keepdims=*/true) + 1e-6);
  };
  auto d = layers::Lambda::make(euclidean, tg::Shape{1})({base(a), base(b)});
  return {a, b, base, tg::Model::make({a, b}, d)};
}

// Redirects std::cout into a string while alive.
class CaptureCout {
 public:
  CaptureCout() : old_(std::cout.rdbuf(buffer_.rdbuf())) {}
  ~CaptureCout() { std::cout.rdbuf(old_); }
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* old_;
};

}  // namespace

TEST_CASE("models: fit learns XOR: Dense 2->8 tanh -> 1 sigmoid, binary crossentropy, Adam") {
  tg::set_seed(42);
  auto model = tg::Sequential::make({layers::Dense::make(8, "tanh"), layers::Dense::make(1, "sigmoid")});
  model->compile(optimizers::Adam(0.05), losses::BinaryCrossentropy(), {"accuracy"});
  CHECK(model->compiled());
  const tg::History history = model->fit(xor_x(), xor_y(), {.epochs = 400, .batch_size = 4, .seed = 1, .verbose = 0});
  REQUIRE(history.epochs() == 400);
  REQUIRE(history["loss"].size() == 400);
  REQUIRE(history["accuracy"].size() == 400);
  CHECK(history["loss"].front() > 0.5);  // it starts near log 2
  CHECK(history["loss"].back() < 0.05);
  CHECK(history["accuracy"].back() == 1.0);
  const auto result = model->evaluate(xor_x(), xor_y());
  CHECK(result.at("loss") < 0.05);
  CHECK(result.at("accuracy") == 1.0);
  const std::vector<double> p = values(model->predict(xor_x()));
  CHECK(p[0] < 0.5);
  CHECK(p[1] > 0.5);
  CHECK(p[2] > 0.5);
  CHECK(p[3] < 0.5);
}

TEST_CASE("models: fit learns a Siamese pair task: shared base, distance Lambda, ContrastiveLoss on the distance") {
  tg::set_seed(3);
  Siamese s = siamese_euclidean(8);
  const PairData train = pair_data(256, 11), test = pair_data(128, 12);
  s.model->compile(optimizers::Adam(0.01), losses::ContrastiveLoss(1.0));
  const double before = s.model->evaluate({test.xa, test.xb}, test.y).at("loss");
  const tg::History history =
      s.model->fit({train.xa, train.xb}, train.y, {.epochs = 30, .batch_size = 32, .seed = 5, .verbose = 0});
  const double after = s.model->evaluate({test.xa, test.xb}, test.y).at("loss");
  CHECK(after < 0.2 * before);
  CHECK(history["loss"].back() < history["loss"].front());
  // The distance separates the pairs: similar ones below margin / 2, dissimilar ones above.
  const std::vector<double> d = values(s.model->predict({test.xa, test.xb}));
  const std::vector<double> y = values(test.y);
  int correct = 0;
  for (std::size_t i = 0; i < d.size(); ++i) correct += (d[i] < 0.5) == (y[i] == 1.0);
  CHECK(correct >= 0.95 * static_cast<double>(d.size()));
  // One base, shared: its weights are the model's (2 Dense layers: 4 tensors).
  CHECK(s.model->trainable_weights().size() == 4);
}

TEST_CASE("models: fit: a two-output Siamese model (the embeddings) with a pair loss learns too") {
  tg::set_seed(4);
  auto a = tg::Input({8});
  auto b = tg::Input({8});
  auto base = tg::Sequential::make({layers::Dense::make(16, "relu"), layers::Dense::make(4)});
  auto model = tg::Model::make({a, b}, {base(a), base(b)});
  model->compile(optimizers::Adam(0.01), losses::ContrastiveLoss(0.5));  // cosine distance
  const PairData train = pair_data(256, 21), test = pair_data(128, 22);
  const double before = model->evaluate({test.xa, test.xb}, test.y).at("loss");
  model->fit({train.xa, train.xb}, train.y, {.epochs = 20, .batch_size = 32, .seed = 5, .verbose = 0});
  const double after = model->evaluate({test.xa, test.xb}, test.y).at("loss");
  CHECK(after < 0.3 * before);
  const std::vector<Tensor> embeddings = model->predict_all({test.xa, test.xb});
  REQUIRE(embeddings.size() == 2);
  CHECK(embeddings[0].shape() == tg::Shape{128, 4});
  CHECK_THROWS_WITH_AS(model->predict({test.xa, test.xb}),
                       doctest::Contains("the model has 2 outputs; use predict_all()"), std::invalid_argument);
}

TEST_CASE("models: the issue's snippet compiles and runs a short fit on small random data") {
  tg::set_seed(5);
  const PairData data = pair_data(64, 31);
  const Tensor xa = tg::concat({data.xa, data.xa, data.xa, data.xa, data.xa, data.xa, data.xa, data.xa}, 1);
  const Tensor xb = tg::concat({data.xb, data.xb, data.xb, data.xb, data.xb, data.xb, data.xb, data.xb}, 1);
  const Tensor y = data.y;
  REQUIRE(xa.shape() == tg::Shape{64, 64});
  std::string printed;
  tg::History history;
  {
    CaptureCout capture;
    // ---- the snippet, verbatim ----
    auto input_a = tg::Input({64});
    auto input_b = tg::Input({64});
    auto base = tg::Sequential::make({tg::layers::Dense::make(128, "relu"), tg::layers::Dropout::make(0.1),
                                tg::layers::Dense::make(128, "relu"), tg::layers::Dense::make(32)});
    auto cosine_distance = [](const std::vector<tg::Tensor>& v) {
      auto x = tg::l2_normalize(v[0], -1);
      auto y = tg::l2_normalize(v[1], -1);
      return -tg::mean(x * y, {-1}, /*keepdims=*/true);
    };
    auto distance = tg::layers::Lambda::make(cosine_distance, /*output_shape=*/{1})({base(input_a), base(input_b)});
    auto model = tg::Model::make({input_a, input_b}, distance);
    model->compile(tg::optimizers::Adam(1e-3), tg::losses::ContrastiveLoss(1.0));
    model->summary();
    auto history_ = model->fit({xa, xb}, y, {.epochs = 10, .batch_size = 128, .validation_split = 0.1});
    // ---- end of the snippet ----
    history = history_;
    printed = capture.text();
  }
  CHECK(history.epochs() == 10);
  CHECK(history["val_loss"].size() == 10);
  for (double v : history["loss"]) CHECK(std::isfinite(v));
  CHECK(history["loss"].back() < history["loss"].front());
  CHECK(printed.find("Model: \"functional") != std::string::npos);
  CHECK(printed.find("Total params: 28960 (113.12 KB)") != std::string::npos);  // 8320 + 16512 + 4128
  CHECK(printed.find("Epoch 1/10\n") != std::string::npos);
  CHECK(printed.find("Epoch 10/10\n") != std::string::npos);
  CHECK(printed.find("1/1 [==============================]") != std::string::npos);  // 57 samples, one batch
  CHECK(printed.find(" - val_loss: ") != std::string::npos);
}

TEST_CASE("models: fit: validation_split holds out the LAST fraction, before shuffling") {
  tg::set_seed(6);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.01), "mse");
  // 10 samples; the last 2 have targets 1000, which would wreck the training
  // loss if they were trained on.
  std::vector<double> xs, ys;
  for (int i = 0; i < 10; ++i) {
    xs.push_back(i * 0.1);
    ys.push_back(i < 8 ? 0.5 * i * 0.1 : 1000.0);
  }
  const Tensor x = f32(xs, {10, 1}), y = f32(ys, {10, 1});
  struct Steps : tg::callbacks::Callback {
    std::int64_t steps = -1;
    int batches = 0;
    void on_train_begin(const tg::Logs&) override { steps = params().steps; }
    void on_train_batch_end(int, const tg::Logs&) override { ++batches; }
  };
  auto steps = std::make_shared<Steps>();
  const tg::History history = model->fit(
      x, y, {.epochs = 3, .batch_size = 3, .validation_split = 0.2, .seed = 9, .verbose = 0, .callbacks = {steps}});
  CHECK(steps->steps == 3);  // 8 training samples in batches of 3, 3, 2
  CHECK(steps->batches == 9);
  for (double v : history["loss"]) CHECK(v < 10.0);
  for (double v : history["val_loss"]) CHECK(v > 1e5);
  // The last epoch's val_loss is evaluate() on the last 2 samples with the final weights.
  const double val = model->evaluate(tg::slice(x, 0, 8, 10), tg::slice(y, 0, 8, 10)).at("loss");
  CHECK(history["val_loss"].back() == doctest::Approx(val).epsilon(1e-6));
}

TEST_CASE("models: fit: the epoch loss is the mean over samples, each batch weighted by its size") {
  tg::set_seed(7);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.0), "mse");  // lr 0: the weights do not move
  std::vector<double> xs, ys;
  for (int i = 0; i < 10; ++i) {
    xs.push_back(i);
    ys.push_back(i == 9 ? 50.0 : 0.0);  // the last batch of one sample has a large loss
  }
  const Tensor x = f32(xs, {10, 1}), y = f32(ys, {10, 1});
  const double exact = model->evaluate(x, y, /*batch_size=*/10).at("loss");
  const tg::History history = model->fit(x, y, {.epochs = 1, .batch_size = 3, .shuffle = false, .verbose = 0});
  // Batches of 3, 3, 3, 1: weighting by batch size gives the mean over the 10
  // samples; an unweighted mean of the 4 batch means would be far larger.
  CHECK(history["loss"][0] == doctest::Approx(exact).epsilon(1e-5));
}

TEST_CASE("models: fit: sample weights reach the loss; explicit validation data gives val_loss") {
  tg::set_seed(15);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.0), "mse");  // lr 0: predictions stay fixed
  const Tensor x = tg::randn({6, 2}, 7), y = tg::randn({6, 1}, 8);
  const Tensor vx = tg::randn({4, 2}, 9), vy = tg::randn({4, 1}, 10);
  const std::vector<double> w = {1, 0, 2, 0, 1, 0.5};
  const std::vector<double> p = values(model->predict(x)), t = values(y);
  // Keras's sum_over_batch_size: sum(w_i * loss_i) / n, zero weights still count in n.
  double expected = 0;
  for (std::size_t i = 0; i < 6; ++i) expected += w[i] * (p[i] - t[i]) * (p[i] - t[i]);
  expected /= 6;
  tg::FitOptions options;
  options.epochs = 1;
  options.batch_size = 4;  // batches of 4 and 2, weighted by size
  options.validation_x = {vx};
  options.validation_y = vy;
  options.sample_weight = f32(w, {6});
  options.verbose = 0;
  const tg::History history = model->fit(x, y, options);
  CHECK(history["loss"][0] == doctest::Approx(expected).epsilon(1e-5));
  CHECK(history["val_loss"][0] == doctest::Approx(model->evaluate(vx, vy).at("loss")).epsilon(1e-6));
  options.validation_y = Tensor();
  CHECK_THROWS_WITH_AS(model->fit(x, y, options), "fit: validation data needs both validation_x and validation_y",
                       std::invalid_argument);
}

TEST_CASE("models: fit: validation data of the wrong per-sample shape is refused before the first epoch") {
  // Before: the validation pass after the first epoch failed in the loss (or
  // the first layer) with a message that did not say it was the validation
  // data, or, where the shapes broadcast (targets (4, 3) against outputs
  // (4, 1)), gave a wrong val_loss without any error.
  tg::set_seed(16);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.1), "mse");
  const Tensor x = tg::randn({6, 2}, 7), y = tg::randn({6, 1}, 8);
  model->predict(x);  // builds it, so that "nothing trained" can be checked
  const auto before = snapshot(model);
  struct Count : tg::callbacks::Callback {
    int epochs = 0;
    void on_epoch_begin(int, const tg::Logs&) override { ++epochs; }
  };
  auto count = std::make_shared<Count>();
  tg::FitOptions options;
  options.epochs = 2;
  options.verbose = 0;
  options.callbacks = {count};
  options.validation_x = {tg::randn({4, 2}, 9)};
  options.validation_y = tg::randn({4, 3}, 10);
  CHECK_THROWS_WITH_AS(model->fit(x, y, options),
                       "fit: validation_data: validation_y has shape (4, 3), but y has shape (6, 1); validation_y "
                       "must have shape (None, 1), as y",
                       std::invalid_argument);
  options.validation_y = tg::randn({4}, 10);
  CHECK_THROWS_WITH_AS(model->fit(x, y, options), doctest::Contains("fit: validation_data: validation_y has shape (4,)"),
                       std::invalid_argument);
  // The built model compares validation_x with its input shape (as before, now naming validation_data).
  options.validation_x = {tg::randn({4, 3}, 9)};
  options.validation_y = tg::randn({4, 1}, 10);
  CHECK_THROWS_WITH_AS(model->fit(x, y, options),
                       ("fit: validation_data (validation_x, validation_y): x has shape (4, 3), but the model '" +
                           model->name() + "' was built for inputs of shape (None, 2)")
                          .c_str(),
                       std::invalid_argument);
  CHECK(count->epochs == 0);
  CHECK(snapshot(model) == before);
  // A Sequential not built yet has no input shape to compare with: validation_x is compared with x.
  auto unbuilt = tg::Sequential::make({layers::Dense::make(1)});
  unbuilt->compile(optimizers::SGD(0.1), "mse");
  CHECK_THROWS_WITH_AS(unbuilt->fit(x, y, options),
                       "fit: validation_data: validation_x[0] is (4, 3) float32, but x[0] is (6, 2) float32; "
                       "validation_x[0] must be (None, 2) float32, as x[0]",
                       std::invalid_argument);
  options.validation_x = {tg::randn({4, 2}, 9).to(tg::float64)};
  CHECK_THROWS_WITH_AS(unbuilt->fit(x, y, options), doctest::Contains("validation_x[0] is (4, 2) float64"),
                       std::invalid_argument);
  CHECK(count->epochs == 0);
  CHECK(unbuilt->weights().empty());
  // A model with declared inputs: its own check, which now says validation_data too.
  tg::SymbolicTensor in = tg::Input({2}, tg::float32, "in");
  auto functional = tg::Model::make(in, layers::Dense::make(1)(in));
  functional->compile(optimizers::SGD(0.1), "mse");
  options.validation_x = {tg::randn({4, 5}, 9)};
  CHECK_THROWS_WITH_AS(functional->fit(x, y, options),
                       doctest::Contains("fit: validation_data (validation_x, validation_y): x[0] has shape (4, 5)"),
                       std::invalid_argument);
  // The right shapes still train and validate.
  options.validation_x = {tg::randn({4, 2}, 9)};
  options.validation_y = tg::randn({4, 1}, 10);
  CHECK(model->fit(x, y, options).epochs() == 2);
  CHECK(count->epochs == 2);
}

TEST_CASE("models: train_on_batch: one step; returns the loss before the update") {
  tg::set_seed(8);
  auto model = tg::Sequential::make({layers::Dense::make(3, "tanh"), layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.1), "mse");
  const Tensor x = f32({0.1, 0.2, 0.3, 0.4}, {2, 2}), y = f32({1, -1}, {2, 1});
  model->predict(x);  // builds the model
  const auto before = snapshot(model);
  const double expected = model->evaluate(x, y).at("loss");
  const double loss = model->train_on_batch({x}, y);
  CHECK(loss == doctest::Approx(expected).epsilon(1e-6));
  CHECK(snapshot(model) != before);
  CHECK(model->optimizer().iterations() == 1);
  CHECK(model->evaluate(x, y).at("loss") < expected);
}

TEST_CASE("models: fit: Embedding gradients stay row-sparse (lazy Adam leaves rows the batch did not use)") {
  tg::set_seed(9);
  auto embedding = layers::Embedding::make(10, 3);
  auto model = tg::Sequential::make({embedding, layers::Flatten::make(), layers::Dense::make(1)});
  model->compile(optimizers::Adam(0.1), "mse");
  auto ids = [](std::vector<std::int64_t> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    return Tensor::from_vector(v, tg::Shape{n, 1});
  };
  model->train_on_batch({ids({0, 1})}, f32({1, -1}, {2, 1}));
  const std::vector<double> after_first = values(embedding->embeddings());
  model->train_on_batch({ids({2, 2})}, f32({1, 1}, {2, 1}));
  const std::vector<double> after_second = values(embedding->embeddings());
  // Rows 0 and 1 have Adam moments from the first step: a dense (zero) gradient
  // would move them again; the row-sparse one leaves them.
  for (int j = 0; j < 6; ++j) CHECK(after_second[static_cast<std::size_t>(j)] == after_first[static_cast<std::size_t>(j)]);
  bool row2_moved = false;
  for (int j = 6; j < 9; ++j) row2_moved |= after_second[static_cast<std::size_t>(j)] != after_first[static_cast<std::size_t>(j)];
  CHECK(row2_moved);
}

TEST_CASE("models: evaluate and predict: batched, inference mode, shapes; predict equals a direct call") {
  tg::set_seed(10);
  auto model = tg::Sequential::make({layers::Dense::make(4, "relu"), layers::Dropout::make(0.5), layers::Dense::make(2)});
  model->compile("adam", "mse", {"mae", "mse"});
  const Tensor x = tg::randn({10, 3}, 1), y = tg::randn({10, 2}, 2);
  const Tensor p = model->predict(x, /*batch_size=*/3);
  CHECK(p.shape() == tg::Shape{10, 2});
  CHECK(values(p) == values(model(x)));  // inference mode: dropout is off
  CHECK(values(model->predict(x, 3)) == values(model->predict(x, 10)));
  const auto r = model->evaluate(x, y, 4);
  CHECK(r.size() == 3);
  // mse the metric and mse the loss agree (the loss's mean is over samples, then features).
  CHECK(r.at("mse") == doctest::Approx(r.at("loss")).epsilon(1e-5));
  CHECK(r.at("mae") > 0);
  // Nothing was recorded: no tape is alive and predict under a tape records nothing.
  tg::GradientTape tape;
  model->predict(x);
  model->evaluate(x, y);
  CHECK(tape.size() == 0);
}

TEST_CASE("models: fit inside a caller's GradientTape records nothing on it") {
  tg::set_seed(11);
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  model->compile(optimizers::SGD(0.1), "mse");
  const Tensor x = tg::randn({8, 2}, 3), y = tg::randn({8, 1}, 4);
  tg::GradientTape tape;
  model->fit(x, y, {.epochs = 2, .batch_size = 4, .verbose = 0});
  CHECK(tape.size() == 0);
}

namespace {

std::vector<Tensor> train_once(std::uint64_t layer_seed, std::uint64_t fit_seed) {
  tg::set_seed(layer_seed);
  auto model = tg::Sequential::make({layers::Dense::make(8, "relu"), layers::Dropout::make(0.2), layers::Dense::make(1)});
  model->compile(optimizers::Adam(0.01), "mse");
  const Tensor x = tg::randn({40, 5}, 100), y = tg::randn({40, 1}, 101);
  model->fit(x, y, {.epochs = 3, .batch_size = 8, .seed = fit_seed, .verbose = 0});
  return model->weights();
}

}  // namespace

TEST_CASE("models: determinism: the same seeds give bit-identical weights after training") {
  const std::vector<Tensor> a = train_once(1, 2), b = train_once(1, 2);
  CHECK(same_bits(a, b));
  // Another shuffling seed gives other weights (so the check above can fail).
  CHECK_FALSE(same_bits(a, train_once(1, 3)));
}

TEST_CASE("models: an exception inside fit leaves the model usable") {
  tg::set_seed(12);
  auto model = tg::Sequential::make({layers::Dense::make(4, "tanh"), layers::Dense::make(1)});
  int calls = 0;
  tg::Metric failing("failing", [&calls](const Tensor& y_true, const Tensor&) {
    if (++calls == 5) throw std::runtime_error("boom");
    return tg::zeros({y_true.dim(0)});
  });
  model->compile(optimizers::Adam(0.01), "mse", {failing});
  const Tensor x = tg::randn({16, 2}, 5), y = tg::randn({16, 1}, 6);
  CHECK_THROWS_WITH_AS(model->fit(x, y, {.epochs = 3, .batch_size = 4, .verbose = 0}), "boom", std::runtime_error);
  CHECK_FALSE(tg::is_recording());  // the step's tape is gone
  CHECK(model->predict(x).shape() == tg::Shape{16, 1});
  const double before = model->evaluate(x, y).at("loss");
  const tg::History history = model->fit(x, y, {.epochs = 5, .batch_size = 4, .verbose = 0});
  CHECK(history.epochs() == 5);
  CHECK(model->evaluate(x, y).at("loss") < before);
}

TEST_CASE("models: compile by name; string names for optimizers, losses and metrics") {
  auto model = tg::Sequential::make({layers::Dense::make(1, "sigmoid")});
  model->compile("adam", "binary_crossentropy", {"accuracy"});
  CHECK(model->optimizer().name() == "Adam");
  model->compile("sgd", "mse");
  CHECK(model->optimizer().name() == "SGD");
  model->compile("adamw", "mse");
  CHECK(model->optimizer().name() == "AdamW");
  model->compile("rmsprop", "mae");
  CHECK(model->optimizer().name() == "RMSprop");
  model->compile("adagrad", "cosine_similarity");
  CHECK(model->optimizer().name() == "Adagrad");
  // compile clones the optimizer: the caller's object is not the model's.
  optimizers::Adam adam(0.5);
  model->compile(adam, losses::MeanSquaredError());
  CHECK(&model->optimizer() != static_cast<optimizers::Optimizer*>(&adam));
  CHECK(model->optimizer().learning_rate() == 0.5);
  CHECK(tg::Metric("accuracy").name() == "accuracy");
  CHECK(tg::Metric("mse").name() == "mse");
  CHECK(tg::metrics::binary_accuracy().name() == "binary_accuracy");
}

TEST_CASE("models: metrics: values by hand") {
  const Tensor y_true = f32({1, 0, 1, 0}, {4, 1}), y_pred = f32({0.9, 0.6, 0.4, 0.1}, {4, 1});
  CHECK(values(tg::metrics::binary_accuracy()(y_true, y_pred)) == std::vector<double>{1, 0, 0, 1});
  CHECK(values(tg::metrics::binary_accuracy(0.3)(y_true, y_pred)) == std::vector<double>{1, 0, 1, 1});
  // (batch,) against (batch, 1) is accepted, as in the losses.
  CHECK(values(tg::Metric("accuracy")(f32({1, 0, 1, 0}, {4}), y_pred)) == std::vector<double>{1, 0, 0, 1});
  // mse / mae: per sample, the mean over the features: [(1-0)^2 + (2-4)^2] / 2 = 2.5; [1 + 2] / 2 = 1.5.
  const Tensor t = f32({1, 2}, {1, 2}), p = f32({0, 4}, {1, 2});
  CHECK(values(tg::metrics::mean_squared_error()(t, p)) == std::vector<double>{2.5});
  CHECK(values(tg::metrics::mean_absolute_error()(t, p)) == std::vector<double>{1.5});
  // cosine similarity (positive): [1, 0] vs [1, 1] -> 1 / sqrt(2); [1, 0] vs [-2, 0] -> -1.
  const std::vector<double> cos =
      values(tg::metrics::cosine_similarity()(f32({1, 0, 1, 0}, {2, 2}), f32({1, 1, -2, 0}, {2, 2})));
  CHECK(cos[0] == doctest::Approx(1 / std::sqrt(2.0)));
  CHECK(cos[1] == doctest::Approx(-1.0));
  CHECK_THROWS_WITH_AS(tg::metrics::mean_squared_error()(f32({1, 2}, {2}), f32({1, 2, 3}, {3})),
                       "mean_squared_error: y_true and y_pred must have the same shape, received (2,) and (3,)",
                       std::invalid_argument);
}

TEST_CASE("models: ContrastiveLoss on a one-output model: the output is the distance") {
  // d = [0.2, 0.3], y = [1, 0], margin 1: 0.5 * (0.04 + 0.49) / 2 = 0.1325.
  auto in = tg::Input({1});
  auto model = tg::Model::make(in, layers::Activation::make("linear")(in));
  model->compile(optimizers::SGD(0.1), losses::ContrastiveLoss(1.0));
  const Tensor d = f32({0.2, 0.3}, {2, 1});
  CHECK(model->evaluate(d, f32({1, 0}, {2})).at("loss") == doctest::Approx(0.1325).epsilon(1e-6));
  // sum reduction: 0.265
  model->compile(optimizers::SGD(0.1), losses::ContrastiveLoss(1.0, losses::Distance::cosine, losses::Reduction::sum));
  CHECK(model->evaluate(d, f32({1, 0}, {2})).at("loss") == doctest::Approx(0.265).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(model->evaluate(d, f32({1, 2}, {2})),
                       "ContrastiveLoss: label must be 1 (similar) or 0 (dissimilar), received 2 at index 1",
                       std::invalid_argument);
}

// ---- bad input ---------------------------------------------------------------------------

TEST_CASE("models: bad input: fit/evaluate before compile, unknown names") {
  auto model = tg::Sequential::make({layers::Dense::make(1)});
  const Tensor x = tg::randn({4, 2}, 1), y = tg::randn({4, 1}, 2);
  CHECK_FALSE(model->compiled());
  CHECK_THROWS_WITH_AS(model->fit(x, y), doctest::Contains("fit: the model must be compiled first"), std::logic_error);
  CHECK_THROWS_WITH_AS(model->evaluate(x, y), doctest::Contains("evaluate: the model must be compiled first"),
                       std::logic_error);
  CHECK_THROWS_WITH_AS(model->train_on_batch({x}, y), doctest::Contains("must be compiled first"), std::logic_error);
  CHECK_THROWS_WITH_AS(model->optimizer(), doctest::Contains("call model.compile(optimizer, loss) first"),
                       std::logic_error);
  CHECK_THROWS_WITH_AS(model->compile("adamx", "mse"),
                       doctest::Contains("compile: unknown optimizer 'adamx' (known: sgd, adam, adamw, rmsprop, adagrad)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(model->compile("adam", "msee"),
                       doctest::Contains("compile: unknown loss 'msee' (known: mse, mean_squared_error, mae"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(model->compile("adam", "mse", {"accuracyy"}),
                       "Metric: unknown metric 'accuracyy' (known: accuracy, acc, binary_accuracy, "
                       "categorical_accuracy, sparse_categorical_accuracy, cosine_similarity, mse, "
                       "mean_squared_error, mae, mean_absolute_error, precision, recall, auc, top_k_categorical_accuracy, "
                       "sparse_top_k_categorical_accuracy)",
                       std::invalid_argument);
  CHECK_FALSE(model->compiled());  // a failed compile leaves the model uncompiled
  CHECK_THROWS_WITH_AS(model->compile("adam", "mse", {"mse", "mse"}), doctest::Contains("'mse' is listed twice"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::Metric("loss", [](const Tensor& a, const Tensor&) { return a; }),
                       doctest::Contains("the name 'loss' is reserved"), std::invalid_argument);
}

TEST_CASE("models: bad input: the number, shapes and lengths of the arrays") {
  tg::set_seed(13);
  Siamese s = siamese_euclidean(8);
  s.model->compile(optimizers::Adam(0.01), losses::ContrastiveLoss(1.0));
  const PairData data = pair_data(10, 1);
  const std::string a_name = s.a.name(), b_name = s.b.name();
  const std::string count_error = "fit: the model '" + s.model->name() + "' takes 2 input arrays, received 1";
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa}, data.y), count_error.c_str(), std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb, data.xb}, data.y), doctest::Contains("takes 2 input arrays, received 3"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, tg::slice(data.xb, 0, 0, 9)}, data.y),
                       "fit: the input arrays must have the same number of samples, received x[0] of shape (10, 8) "
                       "and x[1] of shape (9, 8)",
                       std::invalid_argument);
  const std::string shape_error =
      "fit: x[1] has shape (10, 7), but the model's input 1 ('" + b_name + "') expects (None, 8)";
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, tg::randn({10, 7}, 1)}, data.y), shape_error.c_str(),
                       std::invalid_argument);
  const std::string dtype_error = "fit: x[0] is float64, but the model's input 0 ('" + a_name +
                                  "') expects float32 (convert with x.to(tg::float32))";
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa.to(tg::float64), data.xb}, data.y), dtype_error.c_str(),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb}, tg::slice(data.y, 0, 0, 9)),
                       "fit: y has 9 samples (shape (9,)), but x has 10 (x[0] of shape (10, 8)); give one target "
                       "per sample",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->evaluate({data.xa, data.xb}, tg::slice(data.y, 0, 0, 9)),
                       doctest::Contains("evaluate: y has 9 samples"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->predict({data.xa}), doctest::Contains("predict: the model"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb}, data.y, {.batch_size = 0}),
                       "fit: batch_size must be >= 1, received 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb}, data.y, {.validation_split = 1.0}),
                       doctest::Contains("fit: validation_split must be in [0, 1), received 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb}, data.y, {.validation_split = 0.95, .verbose = 0}),
                       "fit: validation_split 0.95 of 10 samples leaves no training sample", std::invalid_argument);
  tg::FitOptions weighted;
  weighted.sample_weight = tg::ones({9});
  weighted.verbose = 0;
  CHECK_THROWS_WITH_AS(s.model->fit({data.xa, data.xb}, data.y, weighted),
                       "fit: sample_weight must have one value per sample, shape (10,), received (9,) float32",
                       std::invalid_argument);
  // Nothing was trained by the failed calls.
  CHECK(s.model->optimizer().iterations() == 0);
}

TEST_CASE("models: bad input: a built Sequential refuses other sample shapes; losses need the right number of outputs") {
  tg::set_seed(14);
  auto model = tg::Sequential::make({layers::Dense::make(2)});
  model->compile("sgd", "mse");
  model->predict(tg::randn({3, 4}, 1));  // built for (None, 4)
  const std::string built_error =
      "fit: x has shape (3, 5), but the model '" + model->name() + "' was built for inputs of shape (None, 4)";
  CHECK_THROWS_WITH_AS(model->fit(tg::randn({3, 5}, 1), tg::randn({3, 2}, 2), {.verbose = 0}), built_error.c_str(),
                       std::invalid_argument);
  auto a = tg::Input({3});
  auto b = tg::Input({3});
  auto shared = layers::Dense::make(2);
  auto two = tg::Model::make({a, b}, {shared(a), shared(b)});
  CHECK_THROWS_WITH_AS(two->compile("adam", "mse", {"accuracy"}),
                       doctest::Contains("metrics compare y with the model's output, but the model has 2 outputs"),
                       std::invalid_argument);
  two->compile("adam", "mse");
  CHECK_THROWS_WITH_AS(two->fit({tg::randn({4, 3}, 1), tg::randn({4, 3}, 2)}, tg::randn({4, 2}, 3), {.verbose = 0}),
                       doctest::Contains("MeanSquaredError: the loss takes the model's single output (y_true, "
                                         "y_pred), but the model has 2 outputs"),
                       std::invalid_argument);
}
