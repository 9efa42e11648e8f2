// Conv2D and Conv1D: tg::conv2d / tg::conv1d with the layer's kernel, then the
// bias along the channel axis and the activation; no gradient of their own.
#include "tapegrad/layers/conv.hpp"

#include <stdexcept>

#include "support.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::layers {

using namespace detail;

namespace {

// One value means every spatial axis (Keras's int argument); values must be positive.
std::vector<std::int64_t> per_axis(const std::string& w, const char* what, std::vector<std::int64_t> values,
                                   int spatial) {
  if (values.size() != 1 && values.size() != static_cast<std::size_t>(spatial))
    throw std::invalid_argument(w + ": " + what + " must have 1 or " + std::to_string(spatial) +
                                " values, received " + dims_str(values));
  for (auto v : values)
    if (v <= 0) throw std::invalid_argument(w + ": " + what + " must be positive, received " + dims_str(values));
  if (values.size() == 1) values.assign(static_cast<std::size_t>(spatial), values[0]);
  return values;
}

// "(batch, height, width, channels)" for messages.
std::string layout_str(int spatial, bool channels_last) {
  const std::string axes = spatial == 2 ? "height, width" : "steps";
  return channels_last ? "(batch, " + axes + ", channels)" : "(batch, channels, " + axes + ")";
}

}  // namespace

// ---- BaseConv -----------------------------------------------------------------------

BaseConv::BaseConv(const std::string& class_name, Spec spec, const std::string& name)
    : Layer(class_name, validated(name, [&] { spec = checked(class_name, spec, name); })),
      spec_(std::move(spec)),
      activation_(activations::get(spec_.activation)) {}

BaseConv::Spec BaseConv::checked(const std::string& class_name, Spec spec, const std::string& name) {
  const std::string w = who(class_name, name);
  if (spec.filters <= 0)
    throw std::invalid_argument(w + ": filters must be positive, received " + std::to_string(spec.filters));
  spec.kernel_size = per_axis(w, "kernel_size", std::move(spec.kernel_size), spec.spatial);
  spec.strides = per_axis(w, "strides", std::move(spec.strides), spec.spatial);
  spec.dilation_rate = per_axis(w, "dilation_rate", std::move(spec.dilation_rate), spec.spatial);
  if (spec.padding == "causal")
    throw std::invalid_argument(w + ": padding \"causal\" is not implemented (use \"valid\" or \"same\")");
  if (spec.padding != "valid" && spec.padding != "same")
    throw std::invalid_argument(w + ": padding must be \"valid\" or \"same\", received \"" + spec.padding + "\"");
  if (spec.data_format != "channels_last" && spec.data_format != "channels_first")
    throw std::invalid_argument(w + ": data_format must be \"channels_last\" or \"channels_first\", received \"" +
                                spec.data_format + "\"");
  if (spec.groups <= 0 || spec.filters % spec.groups != 0)
    throw std::invalid_argument(w + ": groups must be positive and divide filters = " +
                                std::to_string(spec.filters) + ", received groups = " + std::to_string(spec.groups));
  activation_or_throw(w, spec.activation);
  if (!spec.kernel_initializer || !spec.bias_initializer)
    throw std::invalid_argument(w + ": kernel_initializer and bias_initializer must not be empty");
  return spec;
}

Tensor BaseConv::kernel() const {
  check_built(*this);
  return kernel_;
}

Tensor BaseConv::bias() const {
  check_built(*this);
  if (!spec_.use_bias) throw std::logic_error(who(*this) + ": the layer has no bias (use_bias=false)");
  return bias_;
}

void BaseConv::build(const std::vector<Shape>& input_shapes) {
  const Shape& s = input_shapes[0];
  const bool last = spec_.data_format == "channels_last";
  if (s.rank() != spec_.spatial + 1)
    throw std::invalid_argument(who(*this) + ": expects inputs of rank " + std::to_string(spec_.spatial + 2) +
                                ", " + layout_str(spec_.spatial, last) + ", received " +
                                tg::detail::batch_shape_str(s));
  if (!is_floating(input_dtype()))
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received " +
                                dtype_name(input_dtype()));
  const std::int64_t channels = last ? s.back() : s[0];
  if (channels == 0 || channels % spec_.groups != 0)
    throw std::invalid_argument(who(*this) + ": the input channels must be positive and divisible by groups = " +
                                std::to_string(spec_.groups) + ", received inputs of shape " +
                                tg::detail::batch_shape_str(s) + " (" + spec_.data_format + ")");
  std::vector<std::int64_t> kernel_shape = spec_.kernel_size;
  kernel_shape.push_back(channels / spec_.groups);
  kernel_shape.push_back(spec_.filters);
  kernel_ = add_weight("kernel", Shape(kernel_shape), spec_.kernel_initializer, true, input_dtype(),
                       spec_.kernel_regularizer);
  if (spec_.use_bias)
    bias_ = add_weight("bias", {spec_.filters}, spec_.bias_initializer, true, input_dtype(), spec_.bias_regularizer);
}

std::vector<Tensor> BaseConv::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = inputs[0];
  const bool last = spec_.data_format == "channels_last";
  const int rank = spec_.spatial + 2;
  const std::int64_t channels = kernel_.dim(-2) * spec_.groups;
  if (x.rank() != rank)
    throw std::invalid_argument(who(*this) + ": expects inputs of rank " + std::to_string(rank) + ", " +
                                layout_str(spec_.spatial, last) + ", received " + x.shape().str());
  const std::int64_t received = last ? x.dim(-1) : x.dim(1);
  if (received != channels) {
    const std::int64_t other = last ? x.dim(1) : x.dim(-1);
    throw std::invalid_argument(
        who(*this) + ": expects " + spec_.data_format + " inputs " + layout_str(spec_.spatial, last) + " with " +
        std::to_string(channels) + " channels, received " + x.shape().str() +
        (other == channels ? std::string(", which looks like ") + (last ? "channels_first" : "channels_last") +
                                 " (give the layer data_format=\"" + (last ? "channels_first" : "channels_last") +
                                 "\" or transpose the input)"
                           : std::string()));
  }
  if (x.dtype() != kernel_.dtype())
    throw std::invalid_argument(who(*this) + ": the weights are " + dtype_name(kernel_.dtype()) +
                                " (the dtype of the first input), received a " + dtype_name(x.dtype()) + " input");
  ConvOptions options;
  options.strides = spec_.strides;
  options.padding = spec_.padding;
  options.dilation = spec_.dilation_rate;
  options.groups = spec_.groups;
  options.data_format = spec_.data_format;
  Tensor y;
  try {
    y = spec_.spatial == 2 ? conv2d(x, kernel_, options) : conv1d(x, kernel_, options);
  } catch (const std::invalid_argument& e) {  // e.g. a kernel larger than a "valid" input
    throw std::invalid_argument(who(*this) + ": " + e.what());
  }
  if (spec_.use_bias) {
    // The bias runs along the channel axis: (filters,) broadcasts against
    // channels_last outputs, (filters, 1[, 1]) against channels_first ones.
    std::vector<std::int64_t> along(static_cast<std::size_t>(spec_.spatial + 1), 1);
    along[0] = spec_.filters;
    y = y + (last ? bias_ : reshape(bias_, along));
  }
  return {spec_.activation.empty() ? y : activation_(y)};
}

std::string BaseConv::config() const {
  return "filters=" + std::to_string(spec_.filters) + ", kernel_size=" + dims_str(spec_.kernel_size) +
         ", strides=" + dims_str(spec_.strides) + ", padding=" + spec_.padding +
         ", data_format=" + spec_.data_format + ", dilation_rate=" + dims_str(spec_.dilation_rate) +
         ", groups=" + std::to_string(spec_.groups) + ", activation=" + activation_label(spec_.activation) +
         ", use_bias=" + (spec_.use_bias ? "true" : "false");
}

// ---- Conv2D, Conv1D --------------------------------------------------------------

Conv2D::Conv2D(std::int64_t filters, std::vector<std::int64_t> kernel_size, const Conv2DOptions& options)
    : BaseConv("Conv2D",
               {2, filters, std::move(kernel_size), options.strides, options.dilation_rate, options.padding,
                options.data_format, options.groups, options.activation, options.use_bias,
                options.kernel_initializer, options.bias_initializer, options.kernel_regularizer,
                options.bias_regularizer},
               options.name),
      options_(options) {
  set_activity_regularizer(options.activity_regularizer);
}

Conv1D::Conv1D(std::int64_t filters, std::int64_t kernel_size, const Conv1DOptions& options)
    : BaseConv("Conv1D",
               {1, filters, {kernel_size}, {options.strides}, {options.dilation_rate}, options.padding,
                options.data_format, options.groups, options.activation, options.use_bias,
                options.kernel_initializer, options.bias_initializer, options.kernel_regularizer,
                options.bias_regularizer},
               options.name),
      options_(options) {
  set_activity_regularizer(options.activity_regularizer);
}

}  // namespace tg::layers
