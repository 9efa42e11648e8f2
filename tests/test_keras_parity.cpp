// Keras parity (issues 17 and 18): each test is a Keras pattern written as a
// Keras user writes it, the Keras code beside it in a comment. docs/keras.md
// is the table of both spellings.
#include <doctest/doctest.h>

#include <cstdio>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::error_of;
using tgtest::f64;
namespace L = tg::layers;

namespace {

// keras.io's Siamese example's loss, a plain function of (y_true, y_pred):
//   def contrastive_loss(y_true, y_pred):
//       square_pred = ops.square(y_pred)
//       margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
//       return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
Tensor keras_contrastive(const Tensor& y_true, const Tensor& y_pred) {
  const double margin = 1.0;
  Tensor square_pred = tg::square(y_pred);
  Tensor margin_square = tg::square(tg::maximum(margin - y_pred, 0.0));
  return tg::mean((1.0 - y_true) * square_pred + y_true * margin_square);
}

// A model whose output is (batch, 1): y = x @ w, w = [[1], [0]].
tg::Ref<tg::Model> column_model() {
  auto in = tg::Input({2}, tg::float64, "x");
  auto dense = L::Dense::make(1, "", false, "unit");
  auto model = tg::Model::make({in}, {dense(in)}, "column");
  dense->kernel().assign(f64({1.0, 0.0}, {2, 1}));
  return model;
}

}  // namespace

TEST_CASE("keras: squeeze_or_expand_to_same_rank, Keras's rule") {
  using tg::losses::squeeze_or_expand_to_same_rank;
  const Tensor v = tg::zeros({4}), col = tg::zeros({4, 1}), m = tg::zeros({4, 3}), m1 = tg::zeros({4, 3, 1});
  // (batch,) against (batch, 1): the vector gains the 1, whichever side it is on.
  CHECK(squeeze_or_expand_to_same_rank(v, col).first.shape() == tg::Shape{4, 1});
  CHECK(squeeze_or_expand_to_same_rank(col, v).second.shape() == tg::Shape{4, 1});
  // Without expand_rank_1, the column loses it.
  CHECK(squeeze_or_expand_to_same_rank(v, col, false).second.shape() == tg::Shape{4});
  // Higher ranks: the trailing 1 is squeezed.
  auto [a, b] = squeeze_or_expand_to_same_rank(m1, m);
  CHECK(a.shape() == tg::Shape{4, 3});
  CHECK(b.shape() == tg::Shape{4, 3});
  // Anything else is left alone: a last dim other than 1, or ranks two apart.
  CHECK(squeeze_or_expand_to_same_rank(m, v).first.shape() == tg::Shape{4, 3});
  CHECK(squeeze_or_expand_to_same_rank(m1, v).first.shape() == tg::Shape{4, 3, 1});
  CHECK(squeeze_or_expand_to_same_rank(m, v).second.shape() == tg::Shape{4});
}

TEST_CASE("keras: a plain loss function sees y_true (batch,) and y_pred (batch, 1) at one rank") {
  // model.compile(optimizer="sgd", loss=contrastive_loss)
  // model.evaluate(x, y)        # y of shape (batch,), the output (batch, 1)
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.0), keras_contrastive);
  const Tensor x = f64({0.2, 9.0, 0.5, 9.0, 1.5, 9.0}, {3, 2});  // predictions 0.2, 0.5, 1.5
  const Tensor y = f64({1.0, 0.0, 1.0});
  // Row by row: y=1: max(1 - 0.2, 0)^2 = 0.64; y=0: 0.5^2 = 0.25; y=1: max(1 - 1.5, 0)^2 = 0.
  // Broadcasting (3,) against (3, 1) would average a 3 x 3 table instead: (2 (0.64 + 0.25) + 0.04 + 0.25 + 2.25) / 9 = 0.48.
  const double want = (0.64 + 0.25 + 0.0) / 3;
  CHECK(model->evaluate(x, y).at("loss") == doctest::Approx(want).epsilon(1e-12));
  CHECK(model->train_on_batch({x}, y) == doctest::Approx(want).epsilon(1e-12));
  // The same through the wrapper by hand, named, and a lambda.
  tg::losses::LossFunctionWrapper named(keras_contrastive, "contrastive_loss");
  CHECK(named.name() == "contrastive_loss");
  CHECK(named(y, model->predict(x)).item() == doctest::Approx(want).epsilon(1e-12));
  model->compile(tg::optimizers::SGD(0.0), [](const Tensor& t, const Tensor& p) { return tg::square(t - p); });
  // (1 - 0.2)^2, 0.5^2, (1 - 1.5)^2, averaged.
  CHECK(model->evaluate(x, y).at("loss") == doctest::Approx((0.64 + 0.25 + 0.25) / 3).epsilon(1e-12));
}

TEST_CASE("keras: a custom Loss class and a custom metric get the same alignment") {
  // class MyLoss(keras.losses.Loss):
  //     def call(self, y_true, y_pred): return ops.square(y_true - y_pred)
  class SquaredError : public tg::losses::Loss {
   public:
    SquaredError() : Loss("SquaredError", tg::losses::Reduction::sum_over_batch_size) {}
    Tensor call(const Tensor& y_true, const Tensor& y_pred) const override {
      CHECK(y_true.shape() == y_pred.shape());
      return tg::reshape(tg::square(y_true - y_pred), {-1});
    }
  };
  const Tensor y = f64({1.0, 0.0}), p = f64({0.5, 0.5}, {2, 1});
  CHECK(SquaredError()(y, p).item() == doctest::Approx(0.25));
  // model.compile(..., metrics=[lambda y_true, y_pred: ops.abs(y_true - y_pred)])
  tg::Metric gap("gap", [](const Tensor& t, const Tensor& q) { return tg::abs(t - q); });
  CHECK(tgtest::values_of(gap(y, p)) == std::vector<double>{0.5, 0.5});
  // A metric returning one number for the batch is refused (fit averages per sample).
  tg::Metric whole("whole", [](const Tensor& t, const Tensor& q) { return tg::mean(t - q); });
  CHECK(contains(error_of([&] { whole(y, p); }), "Metric 'whole': the function returned () float64"));
  // A loss returning one number is taken as the loss, but cannot be weighted.
  tg::losses::LossFunctionWrapper scalar(keras_contrastive);
  CHECK(contains(error_of([&] { scalar(y, p, f64({1.0, 2.0})); }),
                 "loss_function: the loss function returned one value (a 0-d tensor), so there are no per-sample "
                 "values for the sample_weight (2,) float64"));
  CHECK(contains(error_of([] { tg::losses::LossFunctionWrapper empty(nullptr, "nothing"); }),
                 "LossFunctionWrapper 'nothing': the function is empty"));
}

TEST_CASE("keras: save_weights refuses a .weights.h5 name instead of writing a zip under it") {
  // model.save_weights("model.weights.h5")   # Keras writes HDF5
  auto model = column_model();
  const std::string path = (std::filesystem::temp_directory_path() / "tapegrad_parity.weights.h5").string();
  std::remove(path.c_str());
  CHECK(contains(error_of([&] { model->save_weights(path); }),
                 "save_weights: the weights file must end in \".npz\""));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(contains(error_of([&] { model->load_weights(path); }), "load_weights: the weights file must end in \".npz\""));
}

TEST_CASE("keras: a forgotten tape.watch and an empty apply_gradients are errors, not silence") {
  // with tf.GradientTape() as tape:  y = x * x   # x a constant, never watched
  // tape.gradient(y, x)  -> None in TensorFlow
  Tensor x = f64({3.0});
  tg::GradientTape tape;
  Tensor y = x * x;
  CHECK(contains(error_of([&] { tape.gradient(y, {x}); }),
                 "GradientTape::gradient: source 0 ((1,) float64) is not watched by this tape"));
  // optimizer.apply_gradients(zip(grads, model.trainable_weights)) on a model not built yet
  auto seq = tg::Sequential::make({L::Dense::make(2)});
  tg::optimizers::Adam adam;
  CHECK(contains(error_of([&] { adam.apply_gradients(std::vector<Tensor>{}, seq->trainable_weights()); }),
                 "Adam.apply_gradients: no variables to update"));
}

TEST_CASE("keras: layer.trainable = False freezes a layer's weights, and True gives them back") {
  // base.trainable = False; model.compile(...); model.fit(x, y)
  auto first = L::Dense::make(3, "tanh", true, "frozen_dense");
  auto bn = L::BatchNormalization::make();
  auto last = L::Dense::make(1, "", true, "head");
  auto model = tg::Sequential::make({first, bn, last});
  const Tensor x = tgtest::randn64({8, 4}, 41), y = tgtest::randn64({8, 1}, 42);
  model->predict(x);
  first->set_trainable(false);
  bn->set_trainable(false);
  CHECK_FALSE(first->trainable());
  CHECK(first->trainable_weights().empty());
  CHECK(model->trainable_weights().size() == 2);  // head/kernel, head/bias
  CHECK(model->non_trainable_weights().size() == 6);
  const std::vector<double> kernel_before = tgtest::values_of(first->kernel());
  const std::vector<double> mean_before = tgtest::values_of(bn->moving_mean());
  const std::vector<double> head_before = tgtest::values_of(last->kernel());
  model->compile(tg::optimizers::SGD(0.1), "mse");
  tg::FitOptions fit;
  fit.epochs = 2;
  fit.batch_size = 4;
  fit.verbose = 0;
  model->fit(x, y, fit);
  CHECK(tgtest::values_of(first->kernel()) == kernel_before);
  CHECK(tgtest::values_of(bn->moving_mean()) == mean_before);  // frozen BatchNormalization: inference mode
  CHECK(tgtest::values_of(last->kernel()) != head_before);
  // A tape no longer watches a frozen weight by itself.
  {
    tg::GradientTape tape;
    CHECK_FALSE(tape.is_watched(first->kernel()));
  }
  // Unfrozen: the Dense weights are trainable again, the moving statistics are not.
  first->set_trainable(true);
  bn->set_trainable(true);
  CHECK(model->trainable_weights().size() == 6);
  CHECK_FALSE(bn->moving_mean().trainable());
  CHECK(bn->gamma().trainable());
  // Freezing a whole model freezes its layers.
  model->set_trainable(false);
  CHECK(model->trainable_weights().empty());
  CHECK_FALSE(last->trainable());
}

TEST_CASE("keras: metrics=[\"accuracy\"] picks binary, sparse categorical or categorical by the shapes") {
  // model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
  const tg::Metric accuracy("accuracy");
  const Tensor scores = f64({0.1, 0.7, 0.2, 0.5, 0.2, 0.3, 0.3, 0.3, 0.4}, {3, 3});  // argmax 1, 0, 2
  // Sparse: class indices (batch,) or (batch, 1), float or int64.
  CHECK(tgtest::values_of(accuracy(f64({1, 2, 2}), scores)) == std::vector<double>{1, 0, 1});
  CHECK(tgtest::values_of(accuracy(tgtest::i64({1, 0, 0}, {3, 1}), scores)) == std::vector<double>{1, 1, 0});
  // Categorical: one-hot targets of the scores' shape.
  const Tensor one_hot = f64({0, 1, 0, 0, 0, 1, 0, 0, 1}, {3, 3});
  CHECK(tgtest::values_of(accuracy(one_hot, scores)) == std::vector<double>{1, 0, 1});
  // Binary: one column of probabilities, targets (batch,) or (batch, 1).
  CHECK(tgtest::values_of(accuracy(f64({1, 0, 0}), f64({0.9, 0.2, 0.6}, {3, 1}))) == std::vector<double>{1, 1, 0});
  // Ties go to the first maximum, as argmax.
  CHECK(tgtest::values_of(tg::metrics::categorical_accuracy()(f64({1, 0}, {1, 2}), f64({0.5, 0.5}, {1, 2}))) ==
        std::vector<double>{1});
  CHECK(tg::Metric("acc").name() == "acc");
  CHECK(contains(error_of([&] { tg::metrics::sparse_categorical_accuracy()(f64({1, 2}, {1, 2}), scores); }),
                 "sparse_categorical_accuracy: expected class indices y_true (batch,) or (batch, 1)"));
  CHECK(contains(error_of([&] { tg::metrics::categorical_accuracy()(f64({1, 0}, {1, 2}), scores); }),
                 "categorical_accuracy: expected one-hot y_true and y_pred of one shape"));
  CHECK(contains(error_of([] { tg::Metric("top_k"); }), "unknown metric 'top_k'"));
}

namespace {

// TensorFlow's tf.custom_gradient example:
//   @tf.custom_gradient
//   def log1pexp(x):
//       e = tf.exp(x)
//       def grad(upstream): return upstream * (1 - 1 / (1 + e))
//       return tf.math.log(1 + e), grad
Tensor log1pexp(const Tensor& x) {
  return tg::custom_gradient("log1pexp", {x}, [](const std::vector<Tensor>& in) {
    Tensor e = tg::exp(in[0]);
    return tg::CustomGradient{tg::log(1.0 + e), [e](const Tensor& upstream) {
                                return std::vector<Tensor>{upstream * (1.0 - 1.0 / (1.0 + e))};
                              }};
  });
}

}  // namespace

TEST_CASE("keras: tg::custom_gradient records one op with the user's gradient") {
  Tensor x = f64({0.0, 2.0, 100.0});
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(x);
  Tensor y = log1pexp(x);
  CHECK(tape.size() == 1);  // one op, its inner exp and log not recorded
  std::ostringstream printed;
  tape.print(printed);
  CHECK(contains(printed.str(), "log1pexp"));
  const std::vector<double> g = tgtest::values_of(tape.gradient(tg::sum(y), {x})[0]);
  // sigmoid(x): 0.5, 0.8808, and 1 at x = 100, where the composed gradient would be inf / inf = NaN.
  CHECK(g[0] == doctest::Approx(0.5));
  CHECK(g[1] == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))));
  CHECK(g[2] == 1.0);
  // A gradcheck of the user's op.
  CHECK(tg::gradcheck([](const std::vector<Tensor>& v) { return log1pexp(v[0]); }, {tgtest::randn64({5}, 51)}));
  // Second derivatives: a gradient function computed from the captured input
  // (the forward's e is a constant to the tapes, as in TensorFlow).
  auto softplus = [](const std::vector<Tensor>& v) {
    return tg::custom_gradient("softplus", v, [](const std::vector<Tensor>& in) {
      Tensor x = in[0];
      return tg::CustomGradient{tg::log(1.0 + tg::exp(x)), [x](const Tensor& upstream) {
                                  return std::vector<Tensor>{upstream * tg::sigmoid(x)};
                                }};
    });
  };
  CHECK(tg::gradgradcheck(softplus, {tgtest::randn64({5}, 52)}));
  // With e captured instead, the second derivative is zero: detectably wrong.
  CHECK_FALSE(tg::gradgradcheck([](const std::vector<Tensor>& v) { return log1pexp(v[0]); },
                                {tgtest::randn64({5}, 52)}).passed);
}

TEST_CASE("keras: tg::custom_gradient refuses a bad function or a bad gradient, naming the op") {
  Tensor x = f64({1.0, 2.0});
  CHECK(contains(error_of([&] { tg::custom_gradient("", {x}, nullptr); }), "custom_gradient: the op needs a name"));
  CHECK(contains(error_of([&] { tg::custom_gradient("noop", {x}, nullptr); }),
                 "custom_gradient 'noop': the function is empty"));
  auto returning = [&](std::vector<Tensor> grads) {
    return [grads](const std::vector<Tensor>& in) {
      return tg::CustomGradient{in[0] * 2.0, [grads](const Tensor&) { return grads; }};
    };
  };
  auto gradient_error = [&](std::vector<Tensor> grads) {
    tg::GradientTape tape;
    tape.watch(x);
    Tensor y = tg::custom_gradient("twice", {x}, returning(std::move(grads)));
    return error_of([&] { tape.gradient(tg::sum(y), {x}); });
  };
  CHECK(contains(gradient_error({}), "custom_gradient 'twice': the gradient function returned 0 gradients for 1 inputs"));
  CHECK(contains(gradient_error({f64({1.0})}),
                 "custom_gradient 'twice': gradient 0 is (1,) float64, expected the input's (2,) float64"));
  CHECK(contains(error_of([&] {
                   tg::custom_gradient("nothing", {x}, [](const std::vector<Tensor>&) { return tg::CustomGradient{}; });
                 }),
                 "custom_gradient 'nothing': the function returned an undefined value"));
  // An undefined gradient is no gradient: zero.
  tg::GradientTape tape;
  tape.watch(x);
  Tensor y = tg::custom_gradient("stopped", {x}, returning({Tensor()}));
  CHECK(tgtest::values_of(tape.gradient(tg::sum(y), {x})[0]) == std::vector<double>{0, 0});
}

// ---- add_loss and the layer's dtype ---------------------------------------------------

namespace {

// class Scale(keras.layers.Layer):
//     def build(self, input_shape):
//         self.w = self.add_weight(shape=(input_shape[-1],), initializer=Constant(2.0))
//     def call(self, x):
//         self.add_loss(self.rate * ops.sum(ops.square(self.w)))   # a weight penalty
//         return x * self.w
class Scale : public tg::Layer {
 public:
  explicit Scale(double rate) : tg::Layer("Scale"), rate_(rate) {}
  void build(const std::vector<tg::Shape>& shapes) override {
    w_ = add_weight("w", {shapes[0].back()}, tg::initializers::constant(2.0));  // no dtype: the layer's
  }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
    add_loss(rate_ * tg::sum(tg::square(w_)));
    return {inputs[0] * w_};
  }
  Tensor w_;

 private:
  double rate_;
};

// A layer that calls a child it does not list in sublayers(): the child's
// losses are not the parent's, but they must not pile up call after call.
class Untracked : public tg::Layer {
 public:
  Untracked() : tg::Layer("Untracked"), child_(tg::make_layer<Scale>(1.0)) {}
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override { return {child_(inputs[0])}; }
  tg::Ref<Scale> child_;
};

}  // namespace

TEST_CASE("keras: add_loss in call adds a penalty to what fit minimizes and evaluate reports") {
  // model = keras.Sequential([keras.Input((1,)), Scale(0.1)])
  // model.compile(SGD(1.0), "mse"); model.train_on_batch([[1.]], [[2.]])
  auto scale = tg::make_layer<Scale>(0.1);
  auto model = tg::Sequential::make({scale});
  model->compile(tg::optimizers::SGD(1.0), "mse");
  const Tensor x = f64({1.0}, {1, 1}), y = f64({2.0}, {1, 1});
  // y_pred = 1 * 2 = 2: the mse is 0, the penalty 0.1 * 2^2 = 0.4.
  CHECK(model->train_on_batch({x}, y) == doctest::Approx(0.4).epsilon(1e-12));
  // d/dw = 2 (x w - y) x + 0.2 w = 0 + 0.4, so SGD(1) takes w to 1.6.
  CHECK(scale->w_.item() == doctest::Approx(1.6).epsilon(1e-12));
  // evaluate includes it too (Keras's test_step calls compute_loss):
  // (1.6 - 2)^2 + 0.1 * 1.6^2 = 0.16 + 0.256.
  CHECK(model->evaluate(x, y).at("loss") == doctest::Approx(0.416).epsilon(1e-12));
  // model.losses: the latest call's values, one per call of the layer.
  model->predict(x);
  REQUIRE(model->losses().size() == 1);
  CHECK(model->losses()[0].item() == doctest::Approx(0.256).epsilon(1e-12));
  model->predict(x);
  CHECK(model->losses().size() == 1);  // replaced, not accumulated
}

TEST_CASE("keras: a layer shared by two branches adds its loss once per call, and the model collects both") {
  // shared = Scale(0.5); model = Model([a, b], Add()([shared(a), shared(b)]))
  auto a = tg::Input({1}, tg::float64, "a"), b = tg::Input({1}, tg::float64, "b");
  auto shared = tg::make_layer<Scale>(0.5);
  auto model = tg::Model::make({a, b}, {L::Add::make()({shared(a), shared(b)})});
  model->call_all({f64({1.0}, {1, 1}), f64({3.0}, {1, 1})});
  REQUIRE(model->losses().size() == 2);
  CHECK(model->losses()[0].item() == doctest::Approx(2.0).epsilon(1e-12));  // 0.5 * 2^2, for each call
  // A custom loop adds them itself, and the gradient reaches the weight:
  // d/dw (sum(a w + b w) + 2 * 0.5 w^2) = a + b + 2 w = 1 + 3 + 4.
  tg::GradientTape tape;
  Tensor loss = tg::sum(model->call_all({f64({1.0}, {1, 1}), f64({3.0}, {1, 1})})[0]);
  for (const Tensor& extra : model->losses()) loss = loss + tg::sum(extra);
  CHECK(tape.gradient(loss, {shared->w_})[0].item() == doctest::Approx(8.0).epsilon(1e-12));
}

TEST_CASE("keras: add_loss values of an untracked child layer are dropped at each new call") {
  auto parent = tg::make_layer<Untracked>();
  for (int i = 0; i < 3; ++i) parent(f64({1.0}, {1, 1}));
  CHECK(parent->child_->losses().size() == 1);
  CHECK(parent->losses().empty());  // the child is not one of parent's sublayers()
}

TEST_CASE("keras: add_loss refuses a call outside a layer call and a non-floating value") {
  auto scale = tg::make_layer<Scale>(0.1);
  CHECK(contains(error_of([&] { scale->add_loss(f64({1.0})); }),
                 "add_loss must be called from build() or call(), during a call of the layer"));
  class IntLoss : public tg::Layer {
   public:
    IntLoss() : tg::Layer("IntLoss") {}
    std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
      add_loss(tg::zeros({1}, tg::int64));
      return inputs;
    }
  };
  auto bad = tg::make_layer<IntLoss>();
  CHECK(contains(error_of([&] { bad(f64({1.0}, {1, 1})); }), "add_loss expects a float32 or float64 tensor, received"));
  // A float32 penalty on a float64 model is refused by fit, naming add_loss.
  class F32Penalty : public tg::Layer {
   public:
    F32Penalty() : tg::Layer("F32Penalty") {}
    std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
      add_loss(Tensor::scalar(1.0));
      return inputs;
    }
  };
  auto model = tg::Sequential::make({tg::make_layer<F32Penalty>()});
  model->compile(tg::optimizers::SGD(0.1), "mse");
  CHECK(contains(error_of([&] { model->train_on_batch({f64({1.0}, {1, 1})}, f64({1.0}, {1, 1})); }),
                 "fit: a loss added with add_loss is () float32, but the loss is float64"));
}

TEST_CASE("keras: add_weight without a dtype gives the layer's dtype") {
  // Keras: weights take the layer's dtype policy (float32); here the policy
  // follows the floating input that builds the layer.
  auto on64 = tg::make_layer<Scale>(0.1);
  on64(f64({1.0}, {1, 1}));
  CHECK(on64->w_.dtype() == tg::float64);
  auto on32 = tg::make_layer<Scale>(0.1);
  on32(Tensor({{1.0}}));
  CHECK(on32->w_.dtype() == tg::float32);
  // An int64 input (token ids) gives float32 weights, whatever x * w then
  // makes of int64 * float32.
  auto on_int = tg::make_layer<Scale>(0.1);
  (void)error_of([&] { on_int(Tensor({{1.0}}, tg::int64)); });
  CHECK(on_int->w_.dtype() == tg::float32);
  // An explicit dtype still wins.
  class Explicit : public tg::Layer {
   public:
    Explicit() : tg::Layer("Explicit") {}
    void build(const std::vector<tg::Shape>& shapes) override {
      w_ = add_weight("w", {shapes[0].back()}, tg::initializers::ones(), true, tg::float64);
    }
    std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override { return inputs; }
    Tensor w_;
  };
  auto explicit_layer = tg::make_layer<Explicit>();
  explicit_layer(Tensor({{1.0}}));
  CHECK(explicit_layer->w_.dtype() == tg::float64);
}

// ---- fit: class_weight, initial_epoch ---------------------------------------------------

TEST_CASE("keras: fit(class_weight=...) weighs each training sample by its class") {
  // model.compile(SGD(0.0), "mse"); model.fit(x, y, class_weight={0: 2.0}, batch_size=3)
  // y = x @ [[1], [0]] gives 1, 2, 3 against y = 0, 1, 1: squared errors 1, 1, 4;
  // class 0 weighs 2, class 1 (not listed) 1: (2 + 1 + 4) / 3.
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.0), "mse");
  const Tensor x = f64({1, 0, 2, 0, 3, 0}, {3, 2}), y = f64({0, 1, 1}, {3, 1});
  tg::FitOptions fit;
  fit.batch_size = 3;
  fit.verbose = 0;
  fit.class_weight = {{0, 2.0}};
  CHECK(model->fit(x, y, fit)["loss"][0] == doctest::Approx(7.0 / 3.0).epsilon(1e-12));
  // One-hot targets: the class is the argmax. y = [[0, 1], [0, 1]] against
  // predictions [[1, 0], [0, 1]]: errors 1 and 0, both class 1, weight 3: (3 + 0) / 2.
  auto in = tg::Input({2}, tg::float64);
  auto dense = L::Dense::make(2, {.use_bias = false, .kernel_initializer = "identity"});
  auto two = tg::Model::make(in, dense(in));
  two->compile(tg::optimizers::SGD(0.0), "mse");
  fit.class_weight = {{1, 3.0}};
  fit.batch_size = 2;
  CHECK(two->fit(f64({1, 0, 0, 1}, {2, 2}), f64({0, 1, 0, 1}, {2, 2}), fit)["loss"][0] ==
        doctest::Approx(1.5).epsilon(1e-12));
  // Not with sample_weight, not negative, not for (batch, a, b) targets.
  fit.sample_weight = f64({1, 1});
  CHECK(contains(error_of([&] { two->fit(f64({1, 0, 0, 1}, {2, 2}), f64({0, 1, 0, 1}, {2, 2}), fit); }),
                 "fit: class_weight and sample_weight cannot be given together"));
  fit.sample_weight = Tensor();
  fit.class_weight = {{1, -1.0}};
  CHECK(contains(error_of([&] { two->fit(f64({1, 0, 0, 1}, {2, 2}), f64({0, 1, 0, 1}, {2, 2}), fit); }),
                 "fit: class_weight[1] must be a finite number >= 0, received -1"));
}

TEST_CASE("keras: fit(initial_epoch=1, epochs=3) runs epochs 1 and 2") {
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.1), "mse");
  std::vector<int> seen;
  auto record = std::make_shared<tg::callbacks::LearningRateScheduler>([&seen](int epoch, double lr) {
    seen.push_back(epoch);
    return lr;
  });
  tg::FitOptions fit;
  fit.epochs = 3;
  fit.initial_epoch = 1;
  fit.verbose = 0;
  fit.callbacks = {record};
  const Tensor x = f64({1, 0, 2, 0}, {2, 2}), y = f64({0, 1}, {2, 1});
  CHECK(model->fit(x, y, fit)["loss"].size() == 2);
  CHECK(seen == std::vector<int>{1, 2});
  fit.initial_epoch = 3;  // nothing left to run, as Keras
  CHECK(model->fit(x, y, fit).history.empty());
  fit.initial_epoch = -1;
  CHECK(contains(error_of([&] { model->fit(x, y, fit); }), "fit: initial_epoch must be >= 0, received -1"));
}

// ---- metrics with a state: precision, recall; sample_weight; top-k ---------------------

TEST_CASE("keras: metrics=[\"precision\", \"recall\"] count over the epoch, not per batch") {
  // model.compile(..., metrics=["precision", "recall"]); model.evaluate(x, y, batch_size=2)
  // y_pred = 0.9, 0.8, 0.2, 0.7 against y_true = 1, 0, 1, 1: predicted positive
  // 0, 1, 3; tp = 2, fp = 1, fn = 1: precision = recall = 2/3. (The mean of the
  // two batches' precisions would be (1/2 + 1) / 2 = 0.75.)
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.0), "mse", {"precision", "recall"});
  const Tensor x = f64({0.9, 0, 0.8, 0, 0.2, 0, 0.7, 0}, {4, 2}), y = f64({1, 0, 1, 1}, {4, 1});
  const auto logs = model->evaluate(x, y, 2);
  CHECK(logs.at("precision") == doctest::Approx(2.0 / 3.0));
  CHECK(logs.at("recall") == doctest::Approx(2.0 / 3.0));
  // keras.metrics.Precision(thresholds=0.85): only 0.9 is positive, and right.
  auto strict = tg::metrics::precision(0.85).make_state();
  strict->update_state(y, model->predict(x), Tensor());
  CHECK(strict->result() == 1.0);
  strict->reset_state();
  CHECK(strict->result() == 0.0);  // nothing counted: 0, as Keras's divide_no_nan
  CHECK(contains(error_of([] { tg::metrics::recall(1.5); }), "metrics::recall: threshold must be in [0, 1], received 1.5"));
  CHECK(contains(error_of([&] { tg::metrics::precision()(y, y); }), "has no per-sample values: use make_state()"));
}

TEST_CASE("keras: fit's sample_weight weighs the metrics too") {
  // model.fit(x, y, sample_weight=[3, 1], metrics=["binary_accuracy"]): the
  // per-sample accuracies 1 and 0 weigh 3 and 1: 0.75 (unweighted: 0.5).
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.0), "mse", {"binary_accuracy"});
  tg::FitOptions fit;
  fit.batch_size = 2;
  fit.verbose = 0;
  fit.sample_weight = f64({3, 1});
  const Tensor x = f64({0.9, 0, 0.9, 0}, {2, 2}), y = f64({1, 0}, {2, 1});
  CHECK(model->fit(x, y, fit)["binary_accuracy"][0] == doctest::Approx(0.75));
  fit.sample_weight = Tensor();
  CHECK(model->fit(x, y, fit)["binary_accuracy"][0] == doctest::Approx(0.5));
}

TEST_CASE("keras: top_k_categorical_accuracy and its sparse form") {
  // keras.metrics.sparse_top_k_categorical_accuracy([2, 0], scores, k=2)
  const Tensor scores = f64({0.1, 0.5, 0.4, 0.1, 0.5, 0.4}, {2, 3});
  CHECK(tgtest::values_of(tg::metrics::sparse_top_k_categorical_accuracy(2)(f64({2, 0}), scores)) ==
        std::vector<double>{1, 0});
  CHECK(tgtest::values_of(tg::metrics::top_k_categorical_accuracy(1)(f64({0, 1, 0, 1, 0, 0}, {2, 3}), scores)) ==
        std::vector<double>{1, 0});
  CHECK(tg::Metric("sparse_top_k_categorical_accuracy").name() == "sparse_top_k_categorical_accuracy");
  CHECK(contains(error_of([] { tg::metrics::top_k_categorical_accuracy(0); }), "k must be >= 1, received 0"));
  CHECK(contains(error_of([&] { tg::metrics::sparse_top_k_categorical_accuracy(2)(f64({3, 0}), scores); }),
                 "y_true[0] = 3 is not a class index in [0, 3)"));
}

TEST_CASE("keras: metrics.AUC, the cases of Keras's own AUCTest") {
  // y_true = [0, 0, 1, 1], y_pred = [0, 0.5, 0.3, 0.9], sample_weight = [1, 2, 3, 4],
  // AUC(num_thresholds=3): thresholds [-1e-7, 0.5, 1 + 1e-7];
  // weighted tp = [7, 4, 0], fp = [3, 0, 0], fn = [0, 3, 7], tn = [0, 3, 3].
  const Tensor y = f64({0, 0, 1, 1}), p = f64({0, 0.5, 0.3, 0.9}), w = f64({1, 2, 3, 4});
  auto result = [&](const tg::Metric& m, const Tensor& weights) {
    auto state = m.make_state();
    state->update_state(y, p, weights);
    return state->result();
  };
  CHECK(result(tg::metrics::auc(3), Tensor()) == doctest::Approx(0.75));       // test_unweighted
  CHECK(result(tg::metrics::auc(3), f64({1, 0, 0, 1})) == doctest::Approx(1.0));  // the docstring's second case
  // recall = [1, 4/7, 0], fp_rate = [1, 0, 0]
  CHECK(result(tg::metrics::auc(3), w) == doctest::Approx((1 + 4.0 / 7) / 2));
  CHECK(result(tg::metrics::auc(3, "ROC", "majoring"), w) == doctest::Approx(1.0));
  CHECK(result(tg::metrics::auc(3, "ROC", "minoring"), w) == doctest::Approx(4.0 / 7));
  // precision = [0.7, 1, 0]; widths along recall [3/7, 4/7]
  CHECK(result(tg::metrics::auc(3, "PR", "majoring"), w) == doctest::Approx(1.0));
  CHECK(result(tg::metrics::auc(3, "PR", "minoring"), w) == doctest::Approx(0.7 * 3 / 7));
  // interpolate_pr_auc: slope [0.5, 1], intercept [2, 0], P ratio [2.5, 1]:
  // (0.5 * (3 + 2 log 2.5) + 1 * 4) / 7
  CHECK(result(tg::metrics::auc(3, "PR"), w) == doctest::Approx((0.5 * (3 + 2 * std::log(2.5)) + 4) / 7));
  // test_unweighted_all_correct, with the default 200 thresholds.
  auto all = tg::metrics::auc().make_state();
  all->update_state(y, y, Tensor());
  CHECK(all->result() == doctest::Approx(1.0));
  // In compile, by name; bad arguments and inputs.
  CHECK(tg::Metric("auc").name() == "auc");
  CHECK(contains(error_of([&] { tg::metrics::auc(3).make_state()->update_state(y, f64({0, 1.5, 0, 0}), Tensor()); }),
                 "auc: y_pred must be probabilities in [0, 1], received 1.5 at sample 1"));
  CHECK(contains(error_of([] { tg::metrics::auc(1); }), "metrics::auc: num_thresholds must be > 1, received 1"));
  CHECK(contains(error_of([] { tg::metrics::auc(200, "PRGAIN"); }), "curve must be \"ROC\" or \"PR\""));
  CHECK(contains(error_of([] { tg::metrics::auc(200, "ROC", "careful"); }), "summation_method must be"));
}

TEST_CASE("keras: fit(steps_per_epoch=3) carries the pass over the data across epochs") {
  // 4 samples in batches of 1: a pass is 4 batches. Epoch 0 takes batches 1-3
  // of the pass, epoch 1 the 4th and then runs out (Keras warns and ends the
  // epoch), epoch 2 starts a new pass and takes 3 again.
  auto model = column_model();
  model->compile(tg::optimizers::SGD(0.0), "mse");
  struct Steps : tg::callbacks::Callback {
    std::vector<int> per_epoch;
    void on_epoch_begin(int, const tg::Logs&) override { per_epoch.push_back(0); }
    void on_train_batch_end(int, const tg::Logs&) override { ++per_epoch.back(); }
  };
  auto steps = std::make_shared<Steps>();
  tg::FitOptions fit;
  fit.epochs = 3;
  fit.batch_size = 1;
  fit.verbose = 0;
  fit.steps_per_epoch = 3;
  fit.callbacks = {steps};
  const Tensor x = f64({1, 0, 2, 0, 3, 0, 4, 0}, {4, 2}), y = f64({0, 1, 1, 0}, {4, 1});
  model->fit(x, y, fit);
  CHECK(steps->per_epoch == std::vector<int>{3, 1, 3});
  fit.steps_per_epoch = -1;
  CHECK(contains(error_of([&] { model->fit(x, y, fit); }), "fit: steps_per_epoch must be >= 0"));
}
