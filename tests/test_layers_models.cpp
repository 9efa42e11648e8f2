// Layers in graphs: shape inference on symbolic tensors, functional models
// with several inputs and outputs, a Sequential nested in a functional model
// (the Siamese snippet, up to compile), weight sharing (one kernel,
// gradients summed over its uses), sparse embedding gradients through a
// model, gradchecks of whole models, and errors for bad inputs.
// (No training here: compile/fit are tested with the models.)
#include <doctest/doctest.h>

#include <set>
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

std::set<const void*> ids_of(const V& tensors) {
  std::set<const void*> ids;
  for (const Tensor& t : tensors) ids.insert(t.id());
  return ids;
}

// The cosine distance: a scaled negative cosine.
Tensor cosine_distance_of(const V& v) {
  auto x = tg::l2_normalize(v[0], -1);
  auto y = tg::l2_normalize(v[1], -1);
  return -tg::mean(x * y, {-1}, /*keepdims=*/true);
}

}  // namespace

TEST_CASE("layers: symbolic shapes are inferred through every layer") {
  auto x = tg::Input({64});
  CHECK(x.shape_str() == "(None, 64)");
  auto h = L::Dense::make(32, "relu")(x);
  CHECK(h.shape_str() == "(None, 32)");
  CHECK(h.dtype() == tg::float32);
  CHECK(L::Dropout::make(0.5)(h).shape_str() == "(None, 32)");
  CHECK(L::Activation::make("softmax")(h).shape_str() == "(None, 32)");
  CHECK(L::Reshape::make({4, -1})(h).shape_str() == "(None, 4, 8)");
  CHECK(L::Flatten::make()(L::Reshape::make({4, -1})(h)).shape_str() == "(None, 32)");
  CHECK(L::Dense::make(3)(L::Reshape::make({4, 8})(h)).shape_str() == "(None, 4, 3)");
  CHECK(L::Concatenate::make()({h, x}).shape_str() == "(None, 96)");
  CHECK(L::Add::make()({h, h, h}).shape_str() == "(None, 32)");
  CHECK(L::Dot::make(1)({h, h}).shape_str() == "(None, 1)");
  CHECK(L::Dot::make({2, 2})({L::Reshape::make({4, 8})(h), L::Reshape::make({8, 8})(x)}).shape_str() == "(None, 4, 8)");

  auto ids = tg::Input({5}, tg::int64);
  auto e = L::Embedding::make(100, 8)(ids);
  CHECK(e.shape_str() == "(None, 5, 8)");
  CHECK(e.dtype() == tg::float32);
  CHECK(L::Flatten::make()(e).shape_str() == "(None, 40)");
  CHECK(L::Embedding::make(10, 3, tg::initializers::zeros(), tg::float64)(tg::Input({}, tg::int64)).shape_str() ==
        "(None, 3)");

  auto seq = tg::Sequential::make({L::Dense::make(16, "relu"), L::Dense::make(4)});
  CHECK(seq(x).shape_str() == "(None, 4)");
  auto lam = L::Lambda::make(cosine_distance_of, {1})({h, h});
  CHECK(lam.shape_str() == "(None, 1)");
  // float64 inputs propagate: weights and outputs are float64.
  auto d64 = L::Dense::make(2);
  CHECK(d64(tg::Input({3}, tg::float64)).dtype() == tg::float64);
  CHECK(d64->kernel().dtype() == tg::float64);
}

TEST_CASE("layers: a functional model with several inputs and outputs computes what its layers compute") {
  auto a = tg::Input({3}, tg::float64, "a");
  auto b = tg::Input({2}, tg::float64, "b");
  auto concat = L::Concatenate::make();
  auto hidden = L::Dense::make(4, "tanh");
  auto head1 = L::Dense::make(1);
  auto head2 = L::Dense::make(2);
  auto add = L::Add::make();
  auto h = hidden(concat({a, b}));
  auto o1 = head1(h);
  auto o2 = add({head2(h), b});
  auto model = tg::Model::make({a, b}, {o1, o2});
  CHECK(model->outputs().size() == 2);
  CHECK(model->layers().size() == 5);

  Tensor xa = randn64({4, 3}, 1), xb = randn64({4, 2}, 2);
  const V outs = model->call_all({xa, xb});
  REQUIRE(outs.size() == 2);
  Tensor hv = hidden(concat({xa, xb}));
  TG_CHECK_TENSOR(outs[0], head1(hv));
  TG_CHECK_TENSOR(outs[1], head2(hv) + xb);
  CHECK(outs[0].shape() == tg::Shape{4, 1});
  CHECK(outs[1].shape() == tg::Shape{4, 2});
  CHECK_CONTAINS(error_of([&] { model({xa, xb}); }), "has 2 outputs; use call_all()");
  // The model's weights are its layers' weights, each once.
  CHECK(model->weights().size() == 6);
  CHECK(ids_of(model->trainable_weights()) == ids_of({hidden->kernel(), hidden->bias(), head1->kernel(), head1->bias(),
                                                     head2->kernel(), head2->bias()}));
  // gradcheck of the whole model through both inputs and all six weights.
  TG_CHECK_GRADCHECK(model, {xa, xb});
}

TEST_CASE("layers: the issue's Siamese snippet, up to compile") {
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

  CHECK(distance.shape_str() == "(None, 1)");
  // One base network: 3 Dense layers, 6 weights, shared by both branches.
  CHECK(model->trainable_weights().size() == 6);
  CHECK(ids_of(model->trainable_weights()) == ids_of(base->trainable_weights()));
  std::int64_t params = 0;
  for (const Tensor& w : model->weights()) params += w.numel();
  CHECK(params == (64 * 128 + 128) + (128 * 128 + 128) + (128 * 32 + 32));

  Tensor xa = tg::randn({8, 64}, 1), xb = tg::randn({8, 64}, 2);
  Tensor d = model({xa, xb});
  CHECK(d.shape() == tg::Shape{8, 1});
  // At inference the Dropout is the identity: the same as the base network by hand.
  TG_CHECK_TENSOR(d, cosine_distance_of({base(xa), base(xb)}), 1e-6, 1e-7);
  // -mean(cos terms) over 32 features lies in [-1/32, 1/32] and is not all zeros.
  for (double v : tgtest::values_of(d)) CHECK(std::abs(v) <= 1.0 / 32 + 1e-6);
  CHECK(tg::sum(tg::abs(d)).item() > 0);
  // In training the Dropout is active: a different output.
  CHECK_FALSE(tgtest::compare_tensors(model({xa, xb}, /*training=*/true), d, 1e-6, 1e-7).empty());
  // The same inputs give the same distance (a and b swapped too: the distance is symmetric).
  TG_CHECK_TENSOR(model({xb, xa}), d, 1e-6, 1e-7);
}

TEST_CASE("layers: gradcheck a float64 Siamese model through its inputs and its shared weights") {
  auto a = tg::Input({5}, tg::float64), b = tg::Input({5}, tg::float64);
  auto base = tg::Sequential::make({L::Dense::make(4, "tanh"), L::Dropout::make(0.5), L::Dense::make(3)});
  auto distance = L::Lambda::make(cosine_distance_of, {1})({base(a), base(b)});
  auto model = tg::Model::make({a, b}, distance);
  TG_CHECK_GRADCHECK(model, {randn64({3, 5}, 1), randn64({3, 5}, 2)});
  // A cosine merge by Dot(normalize) instead of a Lambda, and a Sequential checked on its own.
  auto cosine = tg::Model::make({a, b}, L::Dot::make(1, true)({base(a), base(b)}));
  TG_CHECK_GRADCHECK(cosine, {randn64({3, 5}, 3), randn64({3, 5}, 4)});
  TG_CHECK_GRADCHECK(tg::Sequential::make({L::Dense::make(3, "sigmoid"), L::Dense::make(2, "softmax")}), {randn64({4, 2}, 5)});
}

TEST_CASE("layers: a layer used at two nodes has one kernel whose gradient sums the two uses") {
  auto a = tg::Input({3}, tg::float64), b = tg::Input({3}, tg::float64);
  auto shared = L::Dense::make(2, "tanh");
  auto model = tg::Model::make({a, b}, L::Concatenate::make()({shared(a), shared(b)}));
  CHECK(model->weights().size() == 2);  // one kernel, one bias

  Tensor xa = randn64({4, 3}, 1), xb = randn64({4, 3}, 2);
  Tensor u = randn64({4, 4}, 3);  // upstream of the (4, 4) output: columns 0-1 for a, 2-3 for b
  Tensor u_a = tg::slice(u, 1, 0, 2), u_b = tg::slice(u, 1, 2, 4);
  auto grads = [&](const std::function<Tensor()>& f, const Tensor& upstream) {
    tg::GradientTape tape;
    return tape.gradient(f(), {shared->kernel(), shared->bias()}, upstream);
  };
  const V both = grads([&] { return model({xa, xb}); }, u);
  const V use_a = grads([&] { return shared(xa); }, u_a);
  const V use_b = grads([&] { return shared(xb); }, u_b);
  for (std::size_t i = 0; i < 2; ++i) {
    TG_CHECK_TENSOR(both[i], use_a[i] + use_b[i], 1e-12, 1e-14);
    // Both uses contribute (neither gradient alone is the total).
    CHECK_FALSE(tgtest::compare_tensors(both[i], use_a[i], 1e-6, 1e-9).empty());
    CHECK_FALSE(tgtest::compare_tensors(both[i], use_b[i], 1e-6, 1e-9).empty());
  }
}

TEST_CASE("layers: a shared Embedding's gradient through a model stays row-sparse (the word2vec pattern)") {
  // Keras's skip-gram model: one table for target and context words, a dot
  // product, a sigmoid unit.
  auto target = tg::Input({1}, tg::int64), context = tg::Input({1}, tg::int64);
  auto embedding = L::Embedding::make(50, 4, tg::initializers::random_normal(0, 1), tg::float64);
  auto t = L::Reshape::make({4})(embedding(target));
  auto c = L::Reshape::make({4})(embedding(context));
  auto out = L::Dense::make(1, "sigmoid");
  auto model = tg::Model::make({target, context}, out(L::Dot::make(1)({t, c})));

  Tensor ids_t = i64({3, 7, 3}, {3, 1}), ids_c = i64({7, 11, 42}, {3, 1});
  tg::GradientTape tape;
  Tensor y = model({ids_t, ids_c});
  CHECK(y.shape() == tg::Shape{3, 1});
  const std::vector<tg::Gradient> g = tape.sparse_gradient(y, {embedding->embeddings(), out->kernel()});
  REQUIRE(g[0].is_sparse());
  std::multiset<std::int64_t> rows;
  for (std::int64_t i : g[0].indices().to_vector<std::int64_t>()) rows.insert(i);
  CHECK(rows == std::multiset<std::int64_t>{3, 7, 3, 7, 11, 42});  // both uses, repeats kept
  CHECK_FALSE(g[1].is_sparse());
  // Densified, untouched rows are zero.
  Tensor dense = g[0].dense();
  CHECK(tg::sum(tg::abs(tg::slice(dense, 0, 0, 3))).item() == 0);
  CHECK(tg::sum(tg::abs(tg::slice(dense, 0, 3, 4))).item() > 0);
  TG_CHECK_GRADCHECK(model, {ids_t, ids_c});
}

TEST_CASE("layers: nested models: a functional model used as a layer in another") {
  auto x = tg::Input({4}, tg::float64);
  auto inner = tg::Model::make(x, L::Dense::make(3, "tanh")(x));
  auto y = tg::Input({4}, tg::float64);
  auto outer_out = L::Dense::make(1)(L::Add::make()({inner(y), L::Dense::make(3)(y)}));
  auto outer = tg::Model::make(y, outer_out);
  CHECK(outer_out.shape_str() == "(None, 1)");
  CHECK(outer->weights().size() == 6);
  Tensor v = randn64({2, 4}, 1);
  CHECK(outer(v).shape() == tg::Shape{2, 1});
  TG_CHECK_GRADCHECK(outer, v);
}

TEST_CASE("layers: bad inputs to layers and models give clear errors") {
  auto a = tg::Input({64}), b = tg::Input({64});
  auto dense = L::Dense::make(8, "", true, "enc");
  CHECK_CONTAINS(error_of([&] { dense({a, b}); }), "enc (Dense): expected 1 input, received 2");
  auto model = tg::Model::make({a, b}, L::Subtract::make()({dense(a), dense(b)}), "pair");
  // Wrong number of inputs.
  CHECK_CONTAINS(error_of([&] { model(tg::zeros({2, 64})); }), "pair (Functional): expected 2 inputs, received 1");
  CHECK_CONTAINS(error_of([&] { model({tg::zeros({2, 64}), tg::zeros({2, 64}), tg::zeros({2, 64})}); }),
                 "expected 2 inputs, received 3");
  // Wrong shapes and dtypes.
  CHECK_CONTAINS(error_of([&] { model({tg::zeros({2, 64}), tg::zeros({2, 63})}); }),
                 "pair: input 1 ('" + b.name() + "') expects shape (None, 64), received (2, 63)");
  CHECK_CONTAINS(error_of([&] { model({tg::zeros({2, 64}), tg::zeros({2, 64}, tg::float64)}); }),
                 "expects dtype float32, received float64");
  // Shapes that do not fit are found when the graph is built, naming the layer.
  CHECK_CONTAINS(error_of([&] { L::Dot::make(1, false, "dotty")({a, tg::Input({32})}); }),
                 "dotty (Dot): cannot contract axis 1 of (1, 64) with axis 1 of (1, 32) (64 vs 32)");
  CHECK_CONTAINS(error_of([&] { L::Add::make(std::string("adder"))({a, tg::Input({32})}); }), "adder (Add): the input shapes cannot be broadcast");
  CHECK_CONTAINS(error_of([&] { dense(tg::Input({10})); }), "enc (Dense): expects inputs of shape (batch, ..., 64), received (1, 10)");
  CHECK_CONTAINS(error_of([] { L::Embedding::make(5, 2)(tg::Input({3})); }), "expects int64 indices, received a float32 input");
  // A Sequential rejects multi-input layers.
  CHECK_CONTAINS(error_of([] { tg::Sequential::make({L::Dense::make(2), L::Add::make()}); }), "takes 2 inputs; a Sequential layer gets exactly one");
}

namespace {

// A custom layer with a weight that states its output shape without running
// (compute_output_spec overridden): y = x * scale, scale of shape (features,).
class Scale : public tg::Layer {
 public:
  Scale() : tg::Layer("Scale") {}
  void build(const std::vector<tg::Shape>& shapes) override {
    scale_ = add_weight("scale", {shapes[0].back()}, tg::initializers::constant(2.0), true, input_dtype());
  }
  std::vector<Tensor> call(const V& inputs, bool) override { return {inputs[0] * scale_}; }
  std::vector<std::pair<tg::Shape, tg::DType>> compute_output_spec(const std::vector<tg::SymbolicTensor>& in) override {
    return {{in[0].shape(), in[0].dtype()}};
  }
  Tensor scale_;
};

}  // namespace

TEST_CASE("layers: a custom layer that infers its shape without running is built by its first symbolic call") {
  auto scale = tg::make_layer<Scale>();
  auto x = tg::Input({3}, tg::float64);
  auto y = scale(x);
  CHECK(y.shape_str() == "(None, 3)");
  // Its weights exist (float64, from the symbolic input) before any concrete call.
  REQUIRE(scale->weights().size() == 1);
  CHECK(scale->weights()[0].dtype() == tg::float64);
  auto model = tg::Model::make(x, y);
  TG_CHECK_VALUES(model(f64({1, 2, 3}, {1, 3})), {2, 4, 6});
  TG_CHECK_GRADCHECK(model, {randn64({2, 3}, 1)});
}

TEST_CASE("layers: a layer not owned by a shared_ptr cannot be called symbolically; an empty Ref cannot be called") {
  tg::layers::Dense on_stack(2, "", true, "on_stack");
  CHECK(on_stack(f64({1, 2}, {1, 2})).shape() == tg::Shape{1, 2});  // concrete calls need no shared_ptr
  CHECK_THROWS_WITH_AS(on_stack(tg::Input({2})),
                       "on_stack (Dense): a layer called on symbolic tensors must be owned by a std::shared_ptr: "
                       "create it with its make() or tg::make_layer<T>(...)",
                       std::logic_error);
  tg::Ref<tg::Layer> empty;
  CHECK_THROWS_WITH_AS(empty(tg::zeros({1, 2})), "Layer: the layer is undefined (default-constructed)",
                       std::logic_error);
}
