// Keras 3's Conv2D and Conv1D (namespace tg::layers): tg::conv2d / tg::conv1d
// with the layer's kernel, plus a bias and an activation.
//
//   auto conv = tg::layers::Conv2D::make(32, {3, 3}, "relu");   // x (N, H, W, C) -> (N, H-2, W-2, 32)
//   auto same = tg::layers::Conv2D::make(64, {3}, {.strides = {2, 2}, .padding = "same"});
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/layers/activations.hpp"
#include "tapegrad/layers/layer.hpp"

namespace tg::layers {

// What Conv1D and Conv2D share (Keras's BaseConv): the weights, the call
// y = activation(conv(x, kernel) + bias) and the config. The kernel
// (k..., C_in/groups, filters) starts Glorot-uniform (fans as Keras's:
// receptive field times the channels), the bias (filters,) at zeros. Inputs
// have rank spatial + 2 in the layer's layout; the number of input channels is
// fixed at the first call. Errors name the layer and, when an input looks like
// the other layout, say which one was expected.
class BaseConv : public Layer {
 public:
  std::int64_t filters() const { return spec_.filters; }
  // The weights; throw std::logic_error before the layer is built (first call).
  Tensor kernel() const;
  Tensor bias() const;  // also throws when use_bias is false

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 protected:
  struct Spec {  // every per-axis list holds one value per spatial axis
    int spatial;
    std::int64_t filters;
    std::vector<std::int64_t> kernel_size, strides, dilation_rate;
    std::string padding, data_format;
    std::int64_t groups;
    std::string activation;
    bool use_bias;
    Initializer kernel_initializer, bias_initializer;
    Regularizer kernel_regularizer, bias_regularizer;
  };
  // Validates `spec` (the errors name class_name and name) before the Layer base takes a name.
  BaseConv(const std::string& class_name, Spec spec, const std::string& name);
  const Spec& spec() const { return spec_; }

 private:
  static Spec checked(const std::string& class_name, Spec spec, const std::string& name);
  Spec spec_;
  activations::ActivationFunction activation_;
  Tensor kernel_, bias_;
};

// Keras's arguments after kernel_size, with its defaults. strides and
// dilation_rate take one value (every spatial axis) or one per axis.
struct Conv2DOptions {
  std::vector<std::int64_t> strides = {1, 1};
  std::string padding = "valid";  // "valid" | "same" (TensorFlow's, the odd pad at the end)
  std::string data_format = "channels_last";  // or "channels_first": inputs (N, C, H, W)
  std::vector<std::int64_t> dilation_rate = {1, 1};
  std::int64_t groups = 1;     // divides the input channels and filters
  std::string activation = "";  // a name tg::activations::get() knows ("" or "linear": none)
  bool use_bias = true;
  Initializer kernel_initializer = initializers::glorot_uniform();
  Initializer bias_initializer = initializers::zeros();
  Regularizer kernel_regularizer = {};  // none
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  std::string name = "";
};

// y = activation(conv2d(x, kernel) + bias): inputs (N, H, W, C) (or (N, C, H, W)),
// kernel (kh, kw, C_in/groups, filters), output (N, OH, OW, filters) with
// OH = (H - (kh-1)*d - 1) / s + 1 for "valid", ceil(H / s) for "same".
class Conv2D : public BaseConv {
 public:
  Conv2D(std::int64_t filters, std::vector<std::int64_t> kernel_size, const Conv2DOptions& options = {});
  // kernel_size {3} means 3x3.
  static Ref<Conv2D> make(std::int64_t filters, std::vector<std::int64_t> kernel_size,
                          const Conv2DOptions& options = {}) {
    return make_layer<Conv2D>(filters, std::move(kernel_size), options);
  }
  template <class S>  // a template, so that a braced options list never reaches it (Dense says why)
    requires std::is_convertible_v<const S&, std::string>
  static Ref<Conv2D> make(std::int64_t filters, std::vector<std::int64_t> kernel_size, const S& activation) {
    Conv2DOptions options;
    options.activation = activation;
    return make_layer<Conv2D>(filters, std::move(kernel_size), options);
  }
  const std::vector<std::int64_t>& kernel_size() const { return spec().kernel_size; }  // (kh, kw)
  const Conv2DOptions& options() const { return options_; }

 private:
  Conv2DOptions options_;
};

struct Conv1DOptions {
  std::int64_t strides = 1;
  std::string padding = "valid";  // "valid" | "same" ("causal" is not implemented)
  std::string data_format = "channels_last";  // or "channels_first": inputs (N, C, L)
  std::int64_t dilation_rate = 1;
  std::int64_t groups = 1;
  std::string activation = "";
  bool use_bias = true;
  Initializer kernel_initializer = initializers::glorot_uniform();
  Initializer bias_initializer = initializers::zeros();
  Regularizer kernel_regularizer = {};  // none
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  std::string name = "";
};

// y = activation(conv1d(x, kernel) + bias): inputs (N, L, C), kernel
// (kernel_size, C_in/groups, filters), output (N, OL, filters).
class Conv1D : public BaseConv {
 public:
  Conv1D(std::int64_t filters, std::int64_t kernel_size, const Conv1DOptions& options = {});
  static Ref<Conv1D> make(std::int64_t filters, std::int64_t kernel_size, const Conv1DOptions& options = {}) {
    return make_layer<Conv1D>(filters, kernel_size, options);
  }
  template <class S>  // a template, so that a braced options list never reaches it (Dense says why)
    requires std::is_convertible_v<const S&, std::string>
  static Ref<Conv1D> make(std::int64_t filters, std::int64_t kernel_size, const S& activation) {
    Conv1DOptions options;
    options.activation = activation;
    return make_layer<Conv1D>(filters, kernel_size, options);
  }
  std::int64_t kernel_size() const { return spec().kernel_size[0]; }
  const Conv1DOptions& options() const { return options_; }

 private:
  Conv1DOptions options_;
};

}  // namespace tg::layers
