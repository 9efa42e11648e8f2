// Fashion-MNIST for the Siamese example and its benchmark (bench/siamese_fashion.cpp):
// the images read from Debian's IDX files, pairs as tensors, and the model of
// each --base, so that the example and the benchmark train the same thing.
#pragma once

#include <tapegrad/io/idx.hpp>
#include <tapegrad/tapegrad.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "pairs.hpp"

namespace fashion {

namespace L = tg::layers;

constexpr int kClasses = 10;
constexpr std::int64_t kSide = 28;
constexpr const char* kDefaultDir = "/usr/share/datasets/fashion-mnist";

// The batch size each base is trained with by default.
inline int default_batch(const std::string& kind) { return kind == "conv" ? 128 : 16; }

struct Images {
  tg::Tensor pixels;        // (count, 28, 28, 1) float32 in [0, 1]
  std::vector<int> labels;  // count, 0..9
};

inline Images load_images(const std::string& dir, const std::string& prefix) {
  const tg::io::IdxArray images = tg::io::read_idx_images(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  const tg::io::IdxArray labels = tg::io::read_idx_labels(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (images.dims[0] != labels.dims[0] || images.dims[1] != kSide || images.dims[2] != kSide)
    throw std::runtime_error(dir + ": expected " + prefix + " images of 28 x 28 with one label each, found " +
                             std::to_string(images.dims[0]) + " images of " + std::to_string(images.dims[1]) + " x " +
                             std::to_string(images.dims[2]) + " and " + std::to_string(labels.dims[0]) + " labels");
  Images out;
  out.pixels = tg::reshape(tg::io::idx_to_float32(images), {images.dims[0], kSide, kSide, 1});
  for (std::uint8_t label : labels.data) {
    if (label >= kClasses)
      throw std::runtime_error(dir + ": " + prefix + " label " + std::to_string(label) + " is not in 0..9");
    out.labels.push_back(label);
  }
  return out;
}

// The images of `rows`, (rows.size(), 28, 28, 1).
inline tg::Tensor take(const Images& images, const std::vector<int>& rows) {
  std::vector<std::int64_t> index(rows.begin(), rows.end());
  return tg::gather(images.pixels, tg::Tensor::from_vector(index, {static_cast<std::int64_t>(index.size())}));
}

inline tg::Tensor labels_tensor(const siamese::Pairs& pairs) {  // 1 same class, 0 not
  std::vector<float> y(pairs.same.begin(), pairs.same.end());
  return tg::Tensor::from_vector(y, {static_cast<std::int64_t>(y.size())});
}

// The shared base network of --base.
inline tg::Ref<tg::Sequential> make_base(const std::string& kind) {
  auto base = tg::Sequential::make({}, "base");
  if (kind == "conv") {
    base->add(L::Conv2D::make(32, {3, 3}, "relu"));
    base->add(L::MaxPooling2D::make({2, 2}));
    base->add(L::Conv2D::make(64, {3, 3}, "relu"));
    base->add(L::MaxPooling2D::make({2, 2}));
    base->add(L::BatchNormalization::make());
    base->add(L::Flatten::make());
    base->add(L::Dense::make(64));
  } else {
    base->add(L::BatchNormalization::make());
    base->add(L::Conv2D::make(4, {5, 5}, "tanh"));
    base->add(L::AveragePooling2D::make({2, 2}));
    base->add(L::Conv2D::make(16, {5, 5}, "tanh"));
    base->add(L::AveragePooling2D::make({2, 2}));
    base->add(L::Flatten::make());
    base->add(L::BatchNormalization::make());
    base->add(L::Dense::make(10, "tanh"));
  }
  return base;
}

struct Siamese {
  tg::Ref<tg::Sequential> base;  // the shared embedding network
  tg::Ref<tg::Model> model;      // (left, right) -> the head's distance, compiled
};

// The base called on both images and the head of `kind`, compiled with
// ContrastiveLoss(margin) on the distance and Adam(lr) (conv) or RMSprop(lr)
// (keras, as Keras's example; it trains with batches of 16):
//   conv   the cosine distance 1 - cos of the embeddings (a Lambda);
//   keras  Keras's euclidean_distance sqrt(max(sum((a - b)^2), epsilon)), then a
//          BatchNormalization and a sigmoid unit (its weight started positive),
//          whose output is the distance.
inline Siamese make_siamese(const std::string& kind, double margin, double lr) {
  auto base = make_base(kind);
  auto left = tg::Input({kSide, kSide, 1}, tg::float32, "left");
  auto right = tg::Input({kSide, kSide, 1}, tg::float32, "right");
  auto left_embedding = base(left), right_embedding = base(right);
  tg::SymbolicTensor distance;
  if (kind == "conv") {
    auto cosine_distance = [](const std::vector<tg::Tensor>& v) {
      return tg::expand_dims(tg::cosine_distance(v[0], v[1], /*axis=*/1), 1);
    };
    distance = L::Lambda::make(cosine_distance, {1}, "cosine_distance")({left_embedding, right_embedding});
  } else {
    auto euclidean = [](const std::vector<tg::Tensor>& v) {
      return tg::sqrt(tg::maximum(tg::sum(tg::square(v[0] - v[1]), {1}, /*keepdims=*/true), 1e-7));
    };
    auto d = L::Lambda::make(euclidean, {1}, "euclidean_distance")({left_embedding, right_embedding});
    auto unit = L::Dense::make(1, "sigmoid");
    distance = unit(L::BatchNormalization::make()(d));
    // The unit must start increasing in the distance. With a negative weight
    // (half of Glorot's draws) the loss asks for same-class pairs far apart and
    // others close, which no embedding can give; the weight's gradient then
    // averages to zero and training stays at chance (measured: 3 of 6 seeds, in
    // tapegrad and in PyTorch 1.13 alike). So its Glorot draw is taken positive.
    unit->kernel().assign(tg::abs(unit->kernel()));
  }
  auto model = tg::Model::make({left, right}, distance, "siamese");
  if (kind == "conv") model->compile(tg::optimizers::Adam(lr), tg::losses::ContrastiveLoss(margin));
  else model->compile(tg::optimizers::RMSprop(lr), tg::losses::ContrastiveLoss(margin));  // Keras's example's
  return {base, model};
}

}  // namespace fashion
