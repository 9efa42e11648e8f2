// Keras 3's 2-d pooling layers (namespace tg::layers): MaxPooling2D,
// AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D. No weights;
// each is its op of tapegrad/ops/pool.hpp (formulas, ties, padding there).
//
//   auto pool = tg::layers::MaxPooling2D::make();           // 2x2, strides 2, "valid"
//   tg::Tensor y = pool(x);                                  // (N, 28, 28, C) -> (N, 14, 14, C)
//   auto gap = tg::layers::GlobalAveragePooling2D::make();   // (N, H, W, C) -> (N, C)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/layers/layer.hpp"
#include "tapegrad/ops/pool.hpp"

namespace tg::layers {

// Keras's arguments after pool_size, with its defaults.
struct Pooling2DOptions {
  std::vector<std::int64_t> strides = {};     // {} -> pool_size (Keras: strides=None); one value: both axes
  std::string padding = "valid";              // "valid" | "same" (TensorFlow's), case-insensitive
  std::string data_format = "channels_last";  // (N, H, W, C), or "channels_first" (N, C, H, W)
  std::string name = "";
};

// What MaxPooling2D and AveragePooling2D share (Keras's BasePooling): the
// arguments, resolved and validated when the layer is made (pool_size and
// strides as two values, strides {} as pool_size, padding and data_format in
// lower case), the output shape, the config.
//   Output (rows, cols): "valid" floor((in - pool) / strides) + 1, "same" ceil(in / strides).
class Pooling2D : public Layer {
 public:
  // The resolved arguments, as the op takes them.
  const PoolOptions& pool_options() const { return options_; }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  // From the shapes alone (the op on an empty batch), without computing.
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  // "pool_size=(2, 2), strides=(2, 2), padding=valid, data_format=channels_last" (Keras's get_config keys).
  std::string config() const override;

 protected:
  Pooling2D(const std::string& class_name, PoolOptions resolved, const std::string& name);
  virtual Tensor pool(const Tensor& x) const = 0;

 private:
  PoolOptions options_;
};

// y = the max over each pool_size window (tg::max_pool2d: the gradient goes to
// the first maximum of a window, as PyTorch).
class MaxPooling2D : public Pooling2D {
 public:
  explicit MaxPooling2D(std::vector<std::int64_t> pool_size = {2, 2}, const Pooling2DOptions& options = {});
  static Ref<MaxPooling2D> make(std::vector<std::int64_t> pool_size = {2, 2}, const Pooling2DOptions& options = {}) {
    return make_layer<MaxPooling2D>(std::move(pool_size), options);
  }

 protected:
  Tensor pool(const Tensor& x) const override;
};

// y = the mean over each window's cells inside the input (tg::avg_pool2d:
// "same" padding is not counted, as TensorFlow).
class AveragePooling2D : public Pooling2D {
 public:
  explicit AveragePooling2D(std::vector<std::int64_t> pool_size = {2, 2}, const Pooling2DOptions& options = {});
  static Ref<AveragePooling2D> make(std::vector<std::int64_t> pool_size = {2, 2},
                                    const Pooling2DOptions& options = {}) {
    return make_layer<AveragePooling2D>(std::move(pool_size), options);
  }

 protected:
  Tensor pool(const Tensor& x) const override;
};

// What the global pools share: data_format (validated, in lower case), keepdims.
//   (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims; channels_first
//   (N, C, H, W) -> (N, C), or (N, C, 1, 1).
class GlobalPooling2D : public Layer {
 public:
  const std::string& data_format() const { return data_format_; }
  bool keepdims() const { return keepdims_; }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  // "data_format=channels_last, keepdims=false".
  std::string config() const override;

 protected:
  GlobalPooling2D(const std::string& class_name, std::string data_format, bool keepdims, const std::string& name);
  virtual Tensor pool(const Tensor& x) const = 0;

 private:
  std::string data_format_;
  bool keepdims_;
};

// y = the mean over H and W (tg::global_average_pool2d).
class GlobalAveragePooling2D : public GlobalPooling2D {
 public:
  explicit GlobalAveragePooling2D(const std::string& data_format = "channels_last", bool keepdims = false,
                                  const std::string& name = "");
  static Ref<GlobalAveragePooling2D> make(const std::string& data_format = "channels_last", bool keepdims = false,
                                          const std::string& name = "") {
    return make_layer<GlobalAveragePooling2D>(data_format, keepdims, name);
  }

 protected:
  Tensor pool(const Tensor& x) const override;
};

// y = the max over H and W (tg::global_max_pool2d: tied maxima share the
// gradient equally, as tf.reduce_max).
class GlobalMaxPooling2D : public GlobalPooling2D {
 public:
  explicit GlobalMaxPooling2D(const std::string& data_format = "channels_last", bool keepdims = false,
                              const std::string& name = "");
  static Ref<GlobalMaxPooling2D> make(const std::string& data_format = "channels_last", bool keepdims = false,
                                      const std::string& name = "") {
    return make_layer<GlobalMaxPooling2D>(data_format, keepdims, name);
  }

 protected:
  Tensor pool(const Tensor& x) const override;
};

}  // namespace tg::layers
