// Model::summary (the Keras table, exact parameter counts) and
// save_weights / load_weights (.npz round trip, checks before any change,
// numpy reading the file).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "test_models_support.hpp"

using namespace models_testing;
using tg::Tensor;
namespace layers = tg::layers;

namespace {

// A layer with one trainable and one non-trainable weight (a running scale,
// say), for the non-trainable count.
class FrozenScale : public tg::Layer {
 public:
  explicit FrozenScale(std::string name) : Layer("FrozenScale", std::move(name)) {}
  void build(const std::vector<tg::Shape>& shapes) override {
    gain_ = add_weight("gain", {shapes[0].back()}, tg::initializers::ones());
    scale_ = add_weight("scale", {shapes[0].back()}, tg::initializers::constant(2.0), /*trainable=*/false);
  }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
    return {inputs[0] * gain_ * scale_};
  }

 private:
  Tensor gain_, scale_;
};

tg::Ref<tg::Layer> frozen_scale(const std::string& name) { return tg::make_layer<FrozenScale>(name); }

// The line of `text` that contains `needle` (empty if none).
std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) return line;
  return "";
}

// Collapses runs of spaces to one, so rows can be compared without the padding.
std::string squeeze(const std::string& s) {
  return std::regex_replace(s, std::regex(" +"), " ");
}

}  // namespace

TEST_CASE("models: summary: a Sequential Dense(64 -> 128) has 8320 parameters") {
  auto model = tg::Sequential::make({layers::Dense::make(128, "relu", true, "hidden"), layers::Dense::make(10, "", true, "logits")},
                       "classifier");
  model->predict(tg::zeros({1, 64}));
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(text.rfind("Model: \"classifier\"\n", 0) == 0);
  CHECK(squeeze(line_with(text, "Layer (type)")) == " Layer (type) Output Shape Param #");
  // 64 * 128 + 128 = 8320; 128 * 10 + 10 = 1290.
  CHECK(squeeze(line_with(text, "hidden")) == " hidden (Dense) (None, 128) 8320");
  CHECK(squeeze(line_with(text, "logits")) == " logits (Dense) (None, 10) 1290");
  CHECK(line_with(text, "Total params") == "Total params: 9610 (37.54 KB)");  // 9610 * 4 bytes / 1024
  CHECK(line_with(text, "Trainable params") == "Trainable params: 9610 (37.54 KB)");
  CHECK(line_with(text, "Non-trainable params") == "Non-trainable params: 0 (0.00 B)");
  CHECK(model->count_params() == 9610);
  // The rows come in order, between the header's '=' line and the closing one.
  CHECK(text.find("hidden (Dense)") < text.find("logits (Dense)"));
  CHECK(text.find("=\n hidden") != std::string::npos);
}

TEST_CASE("models: summary: a Sequential that is not built says so") {
  auto model = tg::Sequential::make({layers::Dense::make(4, "", true, "later")}, "unbuilt");
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(squeeze(line_with(text, "later")) == " later (Dense) ? 0 (unbuilt)");
  CHECK(text.find("The model is not built yet") != std::string::npos);
  CHECK(line_with(text, "Total params") == "Total params: 0 (0.00 B)");
}

TEST_CASE("models: summary: non-trainable weights are counted apart") {
  auto model = tg::Sequential::make({frozen_scale("frozen")}, "with_frozen");
  model->predict(tg::zeros({1, 5}));
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(squeeze(line_with(text, "frozen (FrozenScale)")) == " frozen (FrozenScale) (None, 5) 10");
  CHECK(line_with(text, "Total params") == "Total params: 10 (40.00 B)");
  CHECK(line_with(text, "Trainable params") == "Trainable params: 5 (20.00 B)");
  CHECK(line_with(text, "Non-trainable params") == "Non-trainable params: 5 (20.00 B)");
}

TEST_CASE("models: summary: a functional Siamese model lists inputs, each call of the shared base, and connections") {
  auto a = tg::Input({64}, tg::float32, "left");
  auto b = tg::Input({64}, tg::float32, "right");
  auto base = tg::Sequential::make({layers::Dense::make(128, "relu"), layers::Dense::make(32)}, "base");
  auto cosine = [](const std::vector<Tensor>& v) { return tg::sum(v[0] * v[1], {-1}, true); };
  auto d = layers::Lambda::make(cosine, tg::Shape{1}, "distance")({base(a), base(b)});
  auto model = tg::Model::make({a, b}, d, "siamese");
  const std::string text = model->summary_string();
  INFO(text);
  CHECK(text.rfind("Model: \"siamese\"\n", 0) == 0);
  CHECK(squeeze(line_with(text, "Layer (type)")) == " Layer (type) Output Shape Param # Connected to");
  CHECK(squeeze(line_with(text, "left (InputLayer)")) == " left (InputLayer) (None, 64) 0 -");
  CHECK(squeeze(line_with(text, "right (InputLayer)")) == " right (InputLayer) (None, 64) 0 -");
  // The shared base has one row per call: 8320 + 128 * 32 + 32 = 12448 parameters each.
  CHECK(squeeze(line_with(text, "left[0][0]")) == " base (Sequential) (None, 32) 12448 left[0][0]");
  CHECK(squeeze(line_with(text, "right[0][0]")) == " base (Sequential) (None, 32) 12448 right[0][0]");
  // The Lambda reads both calls: base[0][0] and base[1][0], one per line.
  CHECK(squeeze(line_with(text, "base[0][0]")) == " distance (Lambda) (None, 1) 0 base[0][0]");
  CHECK(squeeze(line_with(text, "base[1][0]")) == " base[1][0]");
  // Shared weights count once in the totals.
  CHECK(line_with(text, "Total params") == "Total params: 12448 (48.62 KB)");
  CHECK(model->count_params() == 12448);
  std::ostringstream os;
  model->summary(os);
  CHECK(os.str() == text);
}

// ---- save_weights / load_weights ------------------------------------------------------------

namespace {

tg::Ref<tg::Model> small_siamese(const std::string& prefix, std::int64_t units) {
  auto a = tg::Input({3});
  auto b = tg::Input({3});
  auto base = tg::Sequential::make({layers::Dense::make(units, "tanh", true, prefix + "_hidden"), layers::Dense::make(2, "", true, prefix + "_out")},
                      prefix + "_base");
  auto diff = layers::Subtract::make(prefix + "_diff")({base(a), base(b)});
  return tg::Model::make({a, b}, diff, prefix);
}

}  // namespace

TEST_CASE("models: save_weights / load_weights: round trip; values restored in place, identities kept") {
  TempDir dir;
  tg::set_seed(20);
  auto model = small_siamese("rt", 4);
  const auto named = model->named_weights();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "rt_hidden/kernel");
  CHECK(named[1].first == "rt_hidden/bias");
  CHECK(named[2].first == "rt_out/kernel");
  CHECK(named[3].first == "rt_out/bias");
  // Non-trivial values everywhere (biases start at zero).
  for (auto [name, w] : named) w.assign(tg::randn(w.shape(), 7));
  const auto saved = snapshot(model);
  std::vector<const void*> ids;
  for (const Tensor& w : model->weights()) ids.push_back(w.id());

  const std::string path = dir.file("weights.npz");
  model->save_weights(path);
  for (Tensor w : model->weights()) w.assign(tg::zeros(w.shape()));
  CHECK(snapshot(model) != saved);
  model->load_weights(path);
  CHECK(snapshot(model) == saved);
  std::vector<const void*> ids_after;
  for (const Tensor& w : model->weights()) ids_after.push_back(w.id());
  CHECK(ids_after == ids);
  // The file holds exactly the named weights, in order, with their values.
  const auto arrays = tg::io::load_npz(path);
  REQUIRE(arrays.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(arrays[i].first == named[i].first);
    CHECK(values(arrays[i].second) == saved[i]);
  }
}

TEST_CASE("models: load_weights: a file that does not match leaves the model unchanged and names the weight") {
  TempDir dir;
  tg::set_seed(21);
  auto four = small_siamese("mm", 4);
  const std::string path = dir.file("four.npz");
  four->save_weights(path);

  auto five = small_siamese("mm", 5);  // the same names, other shapes
  const auto before = snapshot(five);
  CHECK_THROWS_WITH_AS(five->load_weights(path),
                       doctest::Contains("weight 'mm_hidden/kernel' is (3, 5) float32 in the model but (3, 4) float32 "
                                         "in the file"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(five->load_weights(path), doctest::Contains("(the model is unchanged)"), std::invalid_argument);
  CHECK(snapshot(five) == before);

  // Missing and extra arrays: a model with another layer name.
  auto other = small_siamese("zz", 4);
  const auto other_before = snapshot(other);
  CHECK_THROWS_WITH_AS(other->load_weights(path),
                       doctest::Contains("weight 'zz_hidden/kernel' of shape (3, 4) float32 is missing from the file"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(other->load_weights(path),
                       doctest::Contains("the file's array 'mm_hidden/kernel' of shape (3, 4) float32 is not a weight of the "
                                         "model"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(other->load_weights(path), doctest::Contains("No name matches: names are the keys"),
                       std::invalid_argument);
  CHECK(snapshot(other) == other_before);

  // A float64 array where the model has float32: refused (never converted silently).
  tg::io::NamedArrays arrays = tg::io::load_npz(path);
  arrays[1].second = arrays[1].second.to(tg::float64);
  const std::string wrong_dtype = dir.file("dtype.npz");
  tg::io::save_npz(wrong_dtype, arrays);
  auto same = small_siamese("mm", 4);
  const auto same_before = snapshot(same);
  CHECK_THROWS_WITH_AS(same->load_weights(wrong_dtype),
                       doctest::Contains("weight 'mm_hidden/bias' is (4,) float32 in the model but (4,) float64 in the file"),
                       std::invalid_argument);
  CHECK(snapshot(same) == same_before);
  same->load_weights(path);  // the right file loads
  CHECK(snapshot(same) == snapshot(four));
}

TEST_CASE("models: load_weights: missing, empty, truncated or foreign files give an error and change nothing") {
  TempDir dir;
  tg::set_seed(22);
  auto model = small_siamese("bad", 3);
  const auto before = snapshot(model);
  const std::string missing = dir.file("missing.npz");
  CHECK_THROWS_WITH_AS(model->load_weights(missing), doctest::Contains("load_weights: "), std::runtime_error);
  CHECK_THROWS_WITH_AS(model->load_weights(missing), doctest::Contains("missing.npz"), std::runtime_error);
  const std::string empty = dir.file("empty.npz");
  std::ofstream(empty).close();
  CHECK_THROWS_AS(model->load_weights(empty), std::runtime_error);
  const std::string text = dir.file("text.npz");
  std::ofstream(text) << "not an npz file at all";
  CHECK_THROWS_AS(model->load_weights(text), std::runtime_error);
  // A valid file cut in half.
  const std::string good = dir.file("good.npz");
  model->save_weights(good);
  const std::string bytes = read_file(good);
  const std::string cut = dir.file("cut.npz");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_AS(model->load_weights(cut), std::runtime_error);
  CHECK(snapshot(model) == before);
  // Saving into a directory that does not exist: an error, nothing written.
  CHECK_THROWS_WITH_AS(model->save_weights(dir.file("no/such/dir/w.npz")), doctest::Contains("save_weights: "),
                       std::runtime_error);
}

TEST_CASE("models: named_weights: colliding names get _1, _2 deterministically; save/load round-trips them") {
  TempDir dir;
  tg::set_seed(23);
  auto model = tg::Sequential::make({layers::Dense::make(2, "", true, "same"), layers::Dense::make(2, "", true, "same")}, "collide");
  model->predict(tg::zeros({1, 2}));
  const auto named = model->named_weights();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "same/kernel");
  CHECK(named[1].first == "same/bias");
  CHECK(named[2].first == "same/kernel_1");
  CHECK(named[3].first == "same/bias_1");
  for (auto [name, w] : named) w.assign(tg::randn(w.shape(), 3));
  const auto saved = snapshot(model);
  model->save_weights(dir.file("c.npz"));
  for (Tensor w : model->weights()) w.assign(tg::zeros(w.shape()));
  model->load_weights(dir.file("c.npz"));
  CHECK(snapshot(model) == saved);
}

TEST_CASE("models: save_weights / load_weights on a Sequential that is not built: a clear error") {
  auto model = tg::Sequential::make({layers::Dense::make(2)});
  CHECK_THROWS_WITH_AS(model->save_weights("/tmp/never.npz"), doctest::Contains("is not built yet"), std::logic_error);
  CHECK_THROWS_WITH_AS(model->load_weights("/tmp/never.npz"), doctest::Contains("is not built yet"), std::logic_error);
}

TEST_CASE("models: save_weights: numpy reads the file and sees every key and value") {
  if (!have_numpy()) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available (Debian: apt-get install python3-numpy)");
    return;
  }
  TempDir dir;
  tg::set_seed(24);
  auto model = small_siamese("np", 3);
  for (auto [name, w] : model->named_weights()) w.assign(tg::randn(w.shape(), 9));
  const std::string path = dir.file("np.npz");
  const std::string out = dir.file("np.txt");
  model->save_weights(path);
  const std::string command = "/usr/bin/python3 -c \"import numpy as np, sys; f = np.load(sys.argv[1]); "
                              "print(' '.join(f.files)); "
                              "[print(k, f[k].dtype, f[k].shape, repr(float(f[k].ravel()[0]))) for k in f.files]\" " +
                              path + " > " + out;
  REQUIRE(std::system(command.c_str()) == 0);
  std::istringstream lines(read_file(out));
  std::string keys;
  std::getline(lines, keys);
  CHECK(keys == "np_hidden/kernel np_hidden/bias np_out/kernel np_out/bias");
  for (const auto& [name, w] : model->named_weights()) {
    std::string line;
    std::getline(lines, line);
    std::ostringstream shape;
    shape << "(";
    for (int d = 0; d < w.rank(); ++d) shape << w.shape()[d] << (w.rank() == 1 ? "," : d + 1 < w.rank() ? ", " : "");
    shape << ")";
    INFO(line);
    CHECK(line.rfind(name + " float32 " + shape.str() + " ", 0) == 0);
    // The first value, as Python prints the float32 widened to double.
    const double first = std::stod(line.substr(line.rfind(' ') + 1));
    CHECK(first == static_cast<double>(w.to(tg::float32).data<float>()[0]));
  }
}
