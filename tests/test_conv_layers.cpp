// The Conv2D and Conv1D layers: Keras's default names, output shapes and
// parameter counts (summary rows as Keras prints them), the layer against the
// op plus its bias, both layouts, the Glorot fans, float64 gradchecks through
// the input and the weights, and bad arguments and inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/layers.hpp>
#include <tapegrad/models/model.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::randn64;
namespace L = tg::layers;

namespace {

bool named_like(const std::string& name, const std::string& base) {
  return std::regex_match(name, std::regex(base + "(_[0-9]+)?"));
}

// The summary row of layer `needle`, spaces collapsed.
std::string summary_row(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) return std::regex_replace(line, std::regex(" +"), " ");
  return "";
}

}  // namespace

TEST_CASE("layers: default names are Keras's snake_case") {
  CHECK(named_like(L::Conv2D::make(2, {3})->name(), "conv2d"));
  CHECK(named_like(L::Conv1D::make(2, 3)->name(), "conv1d"));
  CHECK(named_like(L::BatchNormalization::make()->name(), "batch_normalization"));
  CHECK(named_like(L::LayerNormalization::make()->name(), "layer_normalization"));
  CHECK(named_like(L::Dense::make(2)->name(), "dense"));
  CHECK(named_like(L::MaxPooling2D::make()->name(), "max_pooling2d"));
  CHECK(named_like(L::AveragePooling2D::make()->name(), "average_pooling2d"));
  CHECK(named_like(L::GlobalAveragePooling2D::make()->name(), "global_average_pooling2d"));
  CHECK(named_like(L::GlobalMaxPooling2D::make()->name(), "global_max_pooling2d"));
}

TEST_CASE("Conv2D: by hand, a ones kernel sums each window, then the bias and the activation") {
  auto conv = L::Conv2D::make(1, {2, 2}, "relu");
  Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  conv(x);
  conv->kernel().assign(tg::ones({2, 2, 1, 1}, tg::float64));
  conv->bias().assign(f64({-13.0}));
  // Window sums 12, 16, 24, 28, minus 13, then relu.
  TG_CHECK_VALUES(conv(x), {0, 3, 11, 15});
  CHECK(conv(x).shape() == tg::Shape{1, 2, 2, 1});
}

TEST_CASE("Conv2D: output shapes of valid, same, strides and dilation, as Keras") {
  Tensor x = tg::zeros({2, 28, 28, 3});
  CHECK(L::Conv2D::make(8, {3})(x).shape() == tg::Shape{2, 26, 26, 8});
  L::Conv2DOptions same;
  same.padding = "same";
  same.strides = {2};
  CHECK(L::Conv2D::make(8, {3}, same)(x).shape() == tg::Shape{2, 14, 14, 8});
  L::Conv2DOptions dilated;
  dilated.dilation_rate = {2, 1};
  CHECK(L::Conv2D::make(4, {3, 5}, dilated)(x).shape() == tg::Shape{2, 24, 24, 4});
  L::Conv2DOptions first;
  first.data_format = "channels_first";
  CHECK(L::Conv2D::make(5, {3}, first)(tg::zeros({2, 3, 10, 12})).shape() == tg::Shape{2, 5, 8, 10});
  CHECK(L::Conv1D::make(6, 4)(tg::zeros({2, 10, 3})).shape() == tg::Shape{2, 7, 6});
}

TEST_CASE("Conv2D: the layer is conv2d plus the bias, in both layouts, with groups") {
  Tensor x = randn64({2, 5, 6, 4}, 11);
  for (std::int64_t groups : {1, 2}) {
    L::Conv2DOptions o;
    o.groups = groups;
    o.padding = "same";
    auto conv = L::Conv2D::make(6, {3, 2}, o);
    Tensor y = conv(x);
    conv->bias().assign(randn64({6}, 12));
    tg::ConvOptions co;
    co.groups = groups;
    co.padding = "same";
    Tensor want = tg::conv2d(x, conv->kernel(), co) + conv->bias();
    TG_CHECK_TENSOR(conv(x), want, 1e-12, 1e-12);
    CHECK(conv->kernel().shape() == tg::Shape{3, 2, 4 / groups, 6});

    // The same kernel and bias, channels first, on the transposed input.
    o.data_format = "channels_first";
    auto first = L::Conv2D::make(6, {3, 2}, o);
    Tensor xf = tg::permute(x, {0, 3, 1, 2});
    first(xf);
    first->kernel().assign(conv->kernel());
    first->bias().assign(conv->bias());
    TG_CHECK_TENSOR(tg::permute(first(xf), {0, 2, 3, 1}), want, 1e-12, 1e-12);
  }
}

TEST_CASE("Conv1D: the layer is conv1d plus the bias") {
  Tensor x = randn64({3, 9, 2}, 13);
  L::Conv1DOptions o;
  o.strides = 2;
  o.dilation_rate = 1;
  o.activation = "tanh";
  auto conv = L::Conv1D::make(4, 3, o);
  conv(x);
  conv->bias().assign(randn64({4}, 14));
  tg::ConvOptions co;
  co.strides = {2};
  TG_CHECK_TENSOR(conv(x), tg::tanh(tg::conv1d(x, conv->kernel(), co) + conv->bias()), 1e-12, 1e-12);
  CHECK(conv->kernel().shape() == tg::Shape{3, 2, 4});
  CHECK(conv->kernel_size() == 3);
}

TEST_CASE("Conv2D: the kernel starts Glorot-uniform with Keras's fans, the bias at zeros") {
  auto conv = L::Conv2D::make(32, {3});
  conv(tg::zeros({1, 8, 8, 16}));
  // fan_in = 3 * 3 * 16, fan_out = 3 * 3 * 32.
  const double limit = std::sqrt(6.0 / (144.0 + 288.0));
  const std::vector<double> k = tgtest::values_of(conv->kernel());
  double max_abs = 0, sum_sq = 0;
  for (double v : k) {
    max_abs = std::max(max_abs, std::abs(v));
    sum_sq += v * v;
  }
  CHECK(max_abs <= limit);
  CHECK(max_abs > 0.95 * limit);
  // A uniform(-l, l) has variance l^2 / 3; 4608 draws give it to a few percent.
  CHECK(sum_sq / static_cast<double>(k.size()) == doctest::Approx(limit * limit / 3).epsilon(0.1));
  CHECK(tgtest::values_of(conv->bias()) == std::vector<double>(32, 0.0));
}

TEST_CASE("Conv2D, Conv1D: float64 gradchecks through the input and the weights") {
  L::Conv2DOptions o;
  o.strides = {2, 1};
  o.padding = "same";
  o.activation = "tanh";
  CHECK(tg::gradcheck(L::Conv2D::make(3, {3, 2}, o), randn64({2, 5, 4, 2}, 21)));
  o.data_format = "channels_first";
  o.groups = 3;
  o.activation = "";
  CHECK(tg::gradcheck(L::Conv2D::make(3, {2}, o), randn64({2, 3, 4, 4}, 22)));
  L::Conv1DOptions o1;
  o1.padding = "same";
  o1.dilation_rate = 2;
  CHECK(tg::gradcheck(L::Conv1D::make(2, 3, o1), randn64({2, 7, 3}, 23)));
}

TEST_CASE("Conv2D: summary rows as Keras prints them") {
  tg::SymbolicTensor in = tg::Input({28, 28, 1}, tg::float32, "image");
  auto c1 = L::Conv2D::make(4, {5, 5}, "tanh");
  L::Conv2DOptions same;
  same.padding = "same";
  same.name = "same_conv";
  auto c2 = L::Conv2D::make(16, {3}, same);
  auto model = tg::Model::make({in}, {c2(c1(in))}, "convs");
  const std::string text = model->summary_string();
  INFO(text);
  // 5 * 5 * 1 * 4 + 4 = 104; 3 * 3 * 4 * 16 + 16 = 592.
  CHECK(summary_row(text, c1->name() + " (Conv2D)") == " " + c1->name() + " (Conv2D) (None, 24, 24, 4) 104");
  CHECK(text.find("Connected to") == std::string::npos);  // a chain, as Keras prints it
  CHECK(summary_row(text, "same_conv") == " same_conv (Conv2D) (None, 24, 24, 16) 592");
  CHECK(model->count_params() == 696);
}

TEST_CASE("Conv2D, Conv1D: bad arguments are refused at construction, naming the layer") {
  using tgtest::contains;
  CHECK(contains(error_of([] { L::Conv2D::make(0, {3}); }), "Conv2D: filters must be positive, received 0"));
  CHECK(contains(error_of([] { L::Conv2D::make(2, {3, 3, 3}); }),
                 "Conv2D: kernel_size must have 1 or 2 values, received (3, 3, 3)"));
  CHECK(contains(error_of([] { L::Conv2D::make(2, {3, 0}); }), "kernel_size must be positive, received (3, 0)"));
  L::Conv2DOptions o;
  o.strides = {0};
  o.name = "bad";
  CHECK(contains(error_of([&] { L::Conv2D::make(2, {3}, o); }),
                 "Conv2D 'bad': strides must be positive, received (0,)"));
  o = {};
  o.strides = {-1, 1};
  CHECK(contains(error_of([&] { L::Conv2D::make(2, {3}, o); }), "strides must be positive, received (-1, 1)"));
  o = {};
  o.padding = "full";
  CHECK(contains(error_of([&] { L::Conv2D::make(2, {3}, o); }),
                 "padding must be \"valid\" or \"same\", received \"full\""));
  o = {};
  o.data_format = "NHWC";
  CHECK(contains(error_of([&] { L::Conv2D::make(2, {3}, o); }), "data_format must be"));
  o = {};
  o.groups = 3;
  CHECK(contains(error_of([&] { L::Conv2D::make(4, {3}, o); }),
                 "groups must be positive and divide filters = 4, received groups = 3"));
  o = {};
  o.activation = "swishy";
  CHECK(contains(error_of([&] { L::Conv2D::make(4, {3}, o); }), "Conv2D: unknown activation \"swishy\""));
  L::Conv1DOptions o1;
  o1.padding = "causal";
  CHECK(contains(error_of([&] { L::Conv1D::make(4, 3, o1); }), "Conv1D: padding \"causal\" is not implemented"));
}

TEST_CASE("Conv2D, Conv1D: bad inputs name the layer, the layout expected and what was received") {
  using tgtest::contains;
  L::Conv2DOptions o;
  o.name = "enc";
  auto conv = L::Conv2D::make(8, {3}, o);
  CHECK(contains(error_of([&] { conv(tg::zeros({28, 28, 1})); }),
                 "enc (Conv2D): expects inputs of rank 4, (batch, height, width, channels), received (None, 28, 1)"));
  conv(tg::zeros({2, 10, 10, 3}));
  CHECK(contains(error_of([&] { conv(tg::zeros({2, 10, 10})); }),
                 "enc (Conv2D): expects inputs of rank 4, (batch, height, width, channels), received (2, 10, 10)"));
  CHECK(contains(error_of([&] { conv(tg::zeros({2, 10, 10, 4})); }),
                 "enc (Conv2D): expects channels_last inputs (batch, height, width, channels) with 3 channels, "
                 "received (2, 10, 10, 4)"));
  // A channels_first batch (N, C, H, W) given to a channels_last layer.
  const std::string flipped = error_of([&] { conv(tg::zeros({2, 3, 10, 10})); });
  CHECK(contains(flipped, "received (2, 3, 10, 10), which looks like channels_first"));
  CHECK(contains(flipped, "data_format=\"channels_first\""));
  CHECK(contains(error_of([&] { conv(tg::zeros({2, 10, 10, 3}, tg::float64)); }),
                 "enc (Conv2D): the weights are float32"));
  // A kernel larger than a "valid" input: the op's message, prefixed with the layer.
  const std::string small = error_of([&] { conv(tg::zeros({2, 2, 5, 3})); });
  CHECK(contains(small, "enc (Conv2D): conv2d: "));
  CHECK(contains(small, "(2, 2, 5, 3)"));

  L::Conv2DOptions first;
  first.data_format = "channels_first";
  auto cf = L::Conv2D::make(8, {3}, first);
  cf(tg::zeros({2, 3, 10, 10}));
  CHECK(contains(error_of([&] { cf(tg::zeros({2, 10, 10, 3})); }),
                 "expects channels_first inputs (batch, channels, height, width) with 3 channels, received "
                 "(2, 10, 10, 3), which looks like channels_last"));
  L::Conv2DOptions grouped;
  grouped.groups = 2;
  CHECK(contains(error_of([&] { L::Conv2D::make(4, {3}, grouped)(tg::zeros({1, 5, 5, 3})); }),
                 "the input channels must be positive and divisible by groups = 2, received inputs of shape "
                 "(None, 5, 5, 3) (channels_last)"));
  CHECK(contains(error_of([&] { L::Conv1D::make(4, 3)(tg::zeros({2, 5})); }),
                 "expects inputs of rank 3, (batch, steps, channels), received (None, 5)"));
  CHECK_THROWS_AS(L::Conv2D::make(2, {3})->kernel(), std::logic_error);
}

TEST_CASE("summary: Keras's MNIST Siamese embedding network, 5,318 parameters, row by row") {
  // keras.io "Image similarity estimation using a Siamese Network with a
  // contrastive loss": its embedding network's summary.
  L::BatchNormalizationOptions bn0, bn1;
  bn0.name = "bn_input";
  bn1.name = "bn_features";
  L::Conv2DOptions c1, c2;
  c1.activation = c2.activation = "tanh";
  c1.name = "conv_a";
  c2.name = "conv_b";
  L::Pooling2DOptions p1, p2;
  p1.name = "pool_a";
  p2.name = "pool_b";
  tg::SymbolicTensor in = tg::Input({28, 28, 1}, tg::float32, "image");
  tg::SymbolicTensor x = L::BatchNormalization::make(bn0)(in);
  x = L::AveragePooling2D::make({2, 2}, p1)(L::Conv2D::make(4, {5, 5}, c1)(x));
  x = L::AveragePooling2D::make({2, 2}, p2)(L::Conv2D::make(16, {5, 5}, c2)(x));
  x = L::Dense::make(10, "tanh", true, "embedding")(
      L::BatchNormalization::make(bn1)(L::Flatten::make("flat")(x)));
  auto model = tg::Model::make({in}, {x}, "embedding_network");
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(summary_row(text, "bn_input") == " bn_input (BatchNormalization) (None, 28, 28, 1) 4");
  CHECK(summary_row(text, "conv_a") == " conv_a (Conv2D) (None, 24, 24, 4) 104");
  CHECK(summary_row(text, "pool_a") == " pool_a (AveragePooling2D) (None, 12, 12, 4) 0");
  CHECK(summary_row(text, "conv_b") == " conv_b (Conv2D) (None, 8, 8, 16) 1616");
  CHECK(summary_row(text, "pool_b") == " pool_b (AveragePooling2D) (None, 4, 4, 16) 0");
  CHECK(summary_row(text, "flat (") == " flat (Flatten) (None, 256) 0");
  CHECK(summary_row(text, "bn_features") == " bn_features (BatchNormalization) (None, 256) 1024");
  CHECK(summary_row(text, "embedding (") == " embedding (Dense) (None, 10) 2570");
  CHECK(summary_row(text, "Total params") == "Total params: 5318 (20.77 KB)");
  CHECK(summary_row(text, "Trainable params") == "Trainable params: 4804 (18.77 KB)");
  CHECK(summary_row(text, "Non-trainable params") == "Non-trainable params: 514 (2.01 KB)");
}
