// Keras 3's BatchNormalization and LayerNormalization (namespace tg::layers).
//
//   auto bn = tg::layers::BatchNormalization::make();   // axis -1: the channels of (N, H, W, C)
//   tg::Tensor y = bn(x, /*training=*/true);             // batch statistics; the moving ones updated
//   tg::Tensor z = bn(x);                                // inference: the moving statistics
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/layers/layer.hpp"

namespace tg::layers {

struct BatchNormalizationOptions {
  int axis = -1;  // the channel axis of the full input (counting the batch axis 0); not 0
  double momentum = 0.99;  // in [0, 1]
  double epsilon = 1e-3;   // > 0
  bool center = true;      // beta
  bool scale = true;       // gamma
  std::string name = "";
};

// y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, per channel (tg::batch_normalization).
// training = true: mean and the BIASED variance of the batch over every axis
// but `axis` (differentiated through), and, outside the tape (Tensor::assign),
//   moving_mean     = moving_mean * momentum + mean * (1 - momentum)
//   moving_variance = moving_variance * momentum + variance * (1 - momentum)
// (an empty batch updates nothing). training = false: the moving statistics.
// Weights (C,): gamma ones, beta zeros (trainable); moving_mean zeros,
// moving_variance ones (non-trainable: saved by save_weights, counted as
// Keras's "Non-trainable params"). A batch of one in training gives beta.
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(const BatchNormalizationOptions& options = {});
  static Ref<BatchNormalization> make(const BatchNormalizationOptions& options = {}) {
    return make_layer<BatchNormalization>(options);
  }
  const BatchNormalizationOptions& options() const { return options_; }
  // The weights; throw std::logic_error before the layer is built (or gamma without scale, beta without center).
  Tensor gamma() const;
  Tensor beta() const;
  Tensor moving_mean() const;
  Tensor moving_variance() const;

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  BatchNormalizationOptions options_;
  int axis_ = -1;  // non-negative, in the full input
  int rank_ = 0;   // of the full input
  Tensor gamma_, beta_, moving_mean_, moving_variance_;
};

struct LayerNormalizationOptions {
  std::vector<int> axis = {-1};  // the normalized axes of the full input; not 0
  double epsilon = 1e-3;         // > 0
  bool center = true;
  bool scale = true;
  std::string name = "";
};

// y = (x - mean) / sqrt(variance + epsilon) * gamma + beta, with each sample's
// mean and biased variance over `axis` (F.layer_norm over those axes), the same
// in training and inference. gamma (ones) and beta (zeros) have the dims of the
// normalized axes, in increasing axis order ((H, W, C) for axis {1, 2, 3}).
class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(const LayerNormalizationOptions& options = {});
  static Ref<LayerNormalization> make(const LayerNormalizationOptions& options = {}) {
    return make_layer<LayerNormalization>(options);
  }
  const LayerNormalizationOptions& options() const { return options_; }
  Tensor gamma() const;
  Tensor beta() const;

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  LayerNormalizationOptions options_;
  std::vector<int> axes_;  // sorted, non-negative, in the full input
  int rank_ = 0;
  std::vector<std::int64_t> broadcast_;  // gamma's shape as it broadcasts against x
  Tensor gamma_, beta_;
};

}  // namespace tg::layers
