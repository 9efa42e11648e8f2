// The pooling layers (Keras 3's MaxPooling2D, AveragePooling2D,
// GlobalAveragePooling2D, GlobalMaxPooling2D): defaults and resolved
// arguments, output shapes in Sequential and functional models, summary rows,
// the config, layer gradchecks in float64, and bad arguments and inputs.
// The ops themselves are tested in test_pool.cpp.
#include <doctest/doctest.h>

#include <numeric>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tg::layers::AveragePooling2D;
using tg::layers::GlobalAveragePooling2D;
using tg::layers::GlobalMaxPooling2D;
using tg::layers::MaxPooling2D;
using tg::layers::Pooling2DOptions;
using tgtest::error_of;
using tgtest::randn64;

namespace {

Pooling2DOptions popts(std::vector<std::int64_t> strides, const std::string& padding = "valid",
                       const std::string& data_format = "channels_last", const std::string& name = "") {
  Pooling2DOptions o;
  o.strides = std::move(strides);
  o.padding = padding;
  o.data_format = data_format;
  o.name = name;
  return o;
}

// Distinct values 0.05 apart in a seeded random order (a stable arg-max under central differences).
Tensor distinct64(const tg::Shape& shape, std::uint64_t seed) {
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  tg::Generator gen(seed);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  for (double& x : v) x = 0.05 * x - 1.0;
  return Tensor::from_vector(v, shape);
}

std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) return line;
  return "";
}

std::string squeeze(const std::string& s) { return std::regex_replace(s, std::regex(" +"), " "); }

}  // namespace

TEST_CASE("pooling layers: Keras's defaults, resolved arguments and config") {
  auto max = MaxPooling2D::make();
  CHECK(max->class_name() == "MaxPooling2D");
  CHECK(max->pool_options().pool_size == std::vector<std::int64_t>{2, 2});
  CHECK(max->pool_options().strides == std::vector<std::int64_t>{2, 2});  // strides=None -> pool_size
  CHECK(max->config() == "pool_size=(2, 2), strides=(2, 2), padding=valid, data_format=channels_last");
  CHECK(max->weights().empty());

  // One value means both axes; padding and data_format are stored in lower case, as Keras standardizes them.
  auto avg = AveragePooling2D::make({3}, popts({1, 2}, "SAME", "Channels_First", "avg"));
  CHECK(avg->name() == "avg");
  CHECK(avg->config() == "pool_size=(3, 3), strides=(1, 2), padding=same, data_format=channels_first");
  CHECK(AveragePooling2D::make({2, 3}, popts({2}))->config() ==
        "pool_size=(2, 3), strides=(2, 2), padding=valid, data_format=channels_last");

  auto gap = GlobalAveragePooling2D::make();
  CHECK(gap->config() == "data_format=channels_last, keepdims=false");
  auto gmp = GlobalMaxPooling2D::make("CHANNELS_FIRST", true, "gmp");
  CHECK(gmp->name() == "gmp");
  CHECK(gmp->data_format() == "channels_first");
  CHECK(gmp->keepdims());
  CHECK(gmp->config() == "data_format=channels_first, keepdims=true");
  CHECK_CONTAINS(gmp->repr(), "GlobalMaxPooling2D(name=gmp, data_format=channels_first, keepdims=true)");

  // The config round trip: a layer made again from the resolved arguments has
  // the same config and computes the same thing. (tapegrad has no layer
  // registry / from_config; the resolved options are what it would read.)
  const tg::PoolOptions& o = avg->pool_options();
  auto again = AveragePooling2D::make(o.pool_size, popts(o.strides, o.padding, o.data_format));
  CHECK(again->config() == avg->config());
  Tensor x = randn64({2, 3, 5, 6}, 1);
  TG_CHECK_TENSOR(again(x), avg(x), 0, 0);
  auto gmp_again = GlobalMaxPooling2D::make(gmp->data_format(), gmp->keepdims());
  CHECK(gmp_again->config() == gmp->config());
  TG_CHECK_TENSOR(gmp_again(x), gmp(x), 0, 0);
}

TEST_CASE("pooling layers: each is its op") {
  Tensor x = randn64({2, 7, 6, 3}, 2);
  TG_CHECK_TENSOR(MaxPooling2D::make({3}, popts({2}, "same"))(x), tg::max_pool2d(x, {{3, 3}, {2, 2}, "same"}), 0, 0);
  TG_CHECK_TENSOR(AveragePooling2D::make({2, 3}, popts({1}))(x), tg::avg_pool2d(x, {{2, 3}, {1, 1}}), 0, 0);
  TG_CHECK_TENSOR(GlobalAveragePooling2D::make()(x), tg::global_average_pool2d(x), 0, 0);
  TG_CHECK_TENSOR(GlobalMaxPooling2D::make("channels_first", true)(x), tg::global_max_pool2d(x, "channels_first", true), 0,
                  0);
}

TEST_CASE("pooling layers: output shapes in a functional model, and Keras's summary rows") {
  auto input = tg::Input({28, 28, 3}, tg::float32, "image");
  auto p1 = MaxPooling2D::make({2, 2}, popts({}, "valid", "channels_last", "max_pooling2d"));
  auto p2 = AveragePooling2D::make({3, 3}, popts({2, 2}, "same", "channels_last", "average_pooling2d"));
  auto p3 = MaxPooling2D::make({1, 1}, popts({}, "valid", "channels_last", "one_by_one"));
  auto g1 = GlobalAveragePooling2D::make("channels_last", false, "global_average_pooling2d");
  auto g2 = GlobalMaxPooling2D::make("channels_last", true, "global_max_pooling2d");
  auto a = p1(input);  // 28 / 2 = 14
  CHECK(a.shape() == tg::Shape{14, 14, 3});
  auto b = p2(a);  // ceil(14 / 2) = 7
  CHECK(b.shape() == tg::Shape{7, 7, 3});
  auto c = p3(b);
  CHECK(c.shape() == tg::Shape{7, 7, 3});
  auto d = g1(c);
  CHECK(d.shape() == tg::Shape{3});
  auto e = g2(c);
  CHECK(e.shape() == tg::Shape{1, 1, 3});
  auto model = tg::Model::make({input}, {d, e}, "pools");
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(squeeze(line_with(text, "max_pooling2d (MaxPooling2D)")) ==
        " max_pooling2d (MaxPooling2D) (None, 14, 14, 3) 0 image[0][0]");
  CHECK(squeeze(line_with(text, "average_pooling2d (AveragePooling2D)")) ==
        " average_pooling2d (AveragePooling2D) (None, 7, 7, 3) 0 max_pooling2d[0][0]");
  CHECK(squeeze(line_with(text, "global_average_pooling2d (GlobalAveragePooling2D)")) ==
        " global_average_pooling2d (GlobalAveragePooling2D) (None, 3) 0 one_by_one[0][0]");
  CHECK(squeeze(line_with(text, "global_max_pooling2d (GlobalMaxPooling2D)")) ==
        " global_max_pooling2d (GlobalMaxPooling2D) (None, 1, 1, 3) 0 one_by_one[0][0]");
  CHECK(line_with(text, "Total params") == "Total params: 0 (0.00 B)");
  // The symbolic shapes are the concrete ones.
  const std::vector<Tensor> y = model->call_all({tg::zeros({2, 28, 28, 3})});
  CHECK(y[0].shape() == tg::Shape{2, 3});
  CHECK(y[1].shape() == tg::Shape{2, 1, 1, 3});

  // channels_first, "valid" with strides != pool_size, a pool as large as the input.
  auto cf = tg::Input({4, 9, 8});
  CHECK(MaxPooling2D::make({3, 2}, popts({2, 3}, "valid", "channels_first"))(cf).shape() == tg::Shape{4, 4, 3});
  CHECK(AveragePooling2D::make({9, 8}, popts({}, "valid", "channels_first"))(cf).shape() == tg::Shape{4, 1, 1});
  CHECK(AveragePooling2D::make({9, 8}, popts({1}, "same", "channels_first"))(cf).shape() == tg::Shape{4, 9, 8});
  CHECK(GlobalMaxPooling2D::make("channels_first")(cf).shape() == tg::Shape{4});
}

TEST_CASE("pooling layers: in a Sequential") {
  auto model = tg::Sequential::make({MaxPooling2D::make({2}, popts({}, "valid", "channels_last", "pool")),
                                     GlobalAveragePooling2D::make("channels_last", false, "gap"),
                                     tg::layers::Dense::make(2, "", true, "head")},
                                    "seq");
  Tensor y = model->predict(tg::zeros({3, 6, 6, 4}));
  CHECK(y.shape() == tg::Shape{3, 2});
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(squeeze(line_with(text, "pool (MaxPooling2D)")) == " pool (MaxPooling2D) (None, 3, 3, 4) 0");
  CHECK(squeeze(line_with(text, "gap (GlobalAveragePooling2D)")) == " gap (GlobalAveragePooling2D) (None, 4) 0");
  CHECK(squeeze(line_with(text, "head (Dense)")) == " head (Dense) (None, 2) 10");
}

TEST_CASE("pooling layers: gradcheck in float64") {
  TG_CHECK_GRADCHECK(MaxPooling2D::make(), {distinct64({2, 4, 6, 3}, 10)});
  TG_CHECK_GRADCHECK(MaxPooling2D::make({3, 2}, popts({1}, "same", "channels_first")), {distinct64({2, 2, 5, 4}, 11)});
  TG_CHECK_GRADCHECK(AveragePooling2D::make({3}, popts({2}, "same")), {randn64({2, 5, 5, 2}, 12)});
  TG_CHECK_GRADCHECK(GlobalAveragePooling2D::make("channels_first", true), {randn64({2, 3, 2, 4}, 13)});
  TG_CHECK_GRADCHECK(GlobalMaxPooling2D::make(), {distinct64({2, 3, 2, 4}, 14)});
  // Inside a model, through a Dense's weights after the pool.
  auto input = tg::Input({4, 4, 2}, tg::float64);
  auto pooled = GlobalMaxPooling2D::make()(AveragePooling2D::make({2}, popts({1}))(input));
  TG_CHECK_GRADCHECK(tg::Model::make(input, tg::layers::Dense::make(3)(pooled)), {distinct64({2, 4, 4, 2}, 15)});
}

TEST_CASE("pooling layers: bad arguments when made, bad inputs when called") {
  CHECK_CONTAINS(error_of([] { MaxPooling2D::make({0}); }), "MaxPooling2D: max_pool2d: pool_size must be positive, received (0,)");
  CHECK_CONTAINS(error_of([] { AveragePooling2D::make({2, 2, 2}, popts({}, "valid", "channels_last", "p")); }),
                 "AveragePooling2D 'p': avg_pool2d: pool_size must have 1 or 2 values (rows, cols), received (2, 2, 2)");
  CHECK_CONTAINS(error_of([] { MaxPooling2D::make({2}, popts({1, 1, 1})); }),
                 "MaxPooling2D: max_pool2d: strides must have 1 or 2 values (rows, cols), received (1, 1, 1)");
  CHECK_CONTAINS(error_of([] { MaxPooling2D::make({2}, popts({-1})); }), "strides must be positive, received (-1,)");
  CHECK_CONTAINS(error_of([] { MaxPooling2D::make({2}, popts({}, "full")); }),
                 "MaxPooling2D: max_pool2d: padding must be \"valid\" or \"same\", received \"full\"");
  CHECK_CONTAINS(error_of([] { AveragePooling2D::make({2}, popts({}, "valid", "NHWC")); }),
                 "AveragePooling2D: avg_pool2d: data_format must be \"channels_last\" or \"channels_first\", received \"NHWC\"");
  CHECK_CONTAINS(error_of([] { GlobalAveragePooling2D::make("nchw"); }),
                 "GlobalAveragePooling2D: global_average_pool2d: data_format must be \"channels_last\" or "
                 "\"channels_first\", received \"nchw\"");
  CHECK_CONTAINS(error_of([] { GlobalMaxPooling2D::make("last", false, "g"); }), "GlobalMaxPooling2D 'g': ");

  // Rank 3 inputs: (N, H, W) without channels, concrete and symbolic.
  auto pool = MaxPooling2D::make({2}, popts({}, "valid", "channels_last", "pool_r3"));
  std::string e = error_of([&] { pool(randn64({2, 8, 8}, 1)); });
  CHECK_CONTAINS(e, "pool_r3 (MaxPooling2D): max_pool2d: expects a 4-d input (batch, rows, cols, channels)");
  CHECK_CONTAINS(e, "received shape (2, 8, 8)");
  e = error_of([] { GlobalAveragePooling2D::make("channels_last", false, "gap_r3")(tg::Input({8, 8})); });
  CHECK_CONTAINS(e, "gap_r3 (GlobalAveragePooling2D): global_average_pool2d: expects a 4-d input");
  CHECK_CONTAINS(e, "received shape (0, 8, 8)");  // the empty batch the output shape is computed on

  // A channels_first batch (N, C, H, W) given to a channels_last layer: C = 3
  // rows cannot hold a 4x4 window, and the message points at data_format.
  auto big = AveragePooling2D::make({4}, popts({}, "valid", "channels_last", "avg_cl"));
  e = error_of([&] { big(randn64({2, 3, 16, 16}, 2)); });
  CHECK_CONTAINS(e, "avg_cl (AveragePooling2D): avg_pool2d: pool_size (4, 4) is larger than the input's spatial size (3, 16)");
  CHECK_CONTAINS(e, "received input (2, 3, 16, 16) with data_format \"channels_last\"");
  CHECK_CONTAINS(e, "if x is (batch, channels, rows, cols), pass data_format \"channels_first\"");
  e = error_of([&] { big(tg::Input({3, 16, 16})); });
  CHECK_CONTAINS(e, "avg_cl (AveragePooling2D)");
  CHECK_CONTAINS(e, "pass data_format \"channels_first\"");
  // Integer images are refused by name.
  CHECK_CONTAINS(error_of([&] { pool(tg::zeros({1, 2, 2, 1}, tg::int64)); }), "pool_r3 (MaxPooling2D): max_pool2d: expected a float32");
}
