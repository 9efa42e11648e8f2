// BatchNormalization and LayerNormalization: tg::moments and
// tg::batch_normalization with the layers' weights; no gradient of their own.
#include "tapegrad/layers/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/normalization.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::layers {

using namespace detail;

namespace {

void check_epsilon(const std::string& w, double epsilon) {
  if (!(epsilon > 0.0) || !std::isfinite(epsilon))
    throw std::invalid_argument(w + ": epsilon must be a finite number > 0, received " + format_number(epsilon));
}

// `axis` of a full input of rank `rank` (batch axis 0 included), non-negative; the batch axis is refused.
int channel_axis(const std::string& w, int axis, int rank, const Shape& sample) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::out_of_range(w + ": axis " + std::to_string(axis) + " is out of range for inputs of rank " +
                            std::to_string(rank) + " (expected " + std::to_string(-rank) + " to " +
                            std::to_string(rank - 1) + "), received inputs of shape " +
                            tg::detail::batch_shape_str(sample));
  if (a == 0)
    throw std::invalid_argument(w + ": axis " + std::to_string(axis) +
                                " is the batch axis (axes count the batch axis 0, as Keras's), received inputs of shape " +
                                tg::detail::batch_shape_str(sample));
  return a;
}

void check_input(const Layer& layer, const Tensor& x, int rank, DType dtype) {
  if (!x.is_floating())
    throw std::invalid_argument(who(layer) + ": expects float32 or float64 inputs, received " + describe(x));
  if (x.rank() != rank)
    throw std::invalid_argument(who(layer) + ": expects inputs of rank " + std::to_string(rank) +
                                " (the rank it was built for), received " + x.shape().str());
  if (x.dtype() != dtype)
    throw std::invalid_argument(who(layer) + ": the weights are " + dtype_name(dtype) +
                                " (the dtype of the first input), received a " + dtype_name(x.dtype()) + " input");
}

}  // namespace

// ---- BatchNormalization -------------------------------------------------------------

BatchNormalization::BatchNormalization(const BatchNormalizationOptions& options)
    : Layer("BatchNormalization", [&]() -> const std::string& {
        const std::string w = who("BatchNormalization", options.name);
        if (!(options.momentum >= 0.0 && options.momentum <= 1.0))
          throw std::invalid_argument(w + ": momentum must be in [0, 1], received " + format_number(options.momentum));
        check_epsilon(w, options.epsilon);
        return options.name;
      }()),
      options_(options) {}

void BatchNormalization::build(const std::vector<Shape>& input_shapes) {
  const Shape& s = input_shapes[0];
  rank_ = s.rank() + 1;
  axis_ = channel_axis(who(*this), options_.axis, rank_, s);
  if (!is_floating(input_dtype()))
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received " +
                                dtype_name(input_dtype()));
  const Shape c{s[axis_ - 1]};
  if (options_.scale) gamma_ = add_weight("gamma", c, initializers::ones(), true, input_dtype());
  if (options_.center) beta_ = add_weight("beta", c, initializers::zeros(), true, input_dtype());
  moving_mean_ = add_weight("moving_mean", c, initializers::zeros(), false, input_dtype());
  moving_variance_ = add_weight("moving_variance", c, initializers::ones(), false, input_dtype());
}

std::vector<Tensor> BatchNormalization::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = inputs[0];
  check_input(*this, x, rank_, moving_mean_.dtype());
  const std::int64_t channels = moving_mean_.dim(0);
  if (x.dim(axis_) != channels)
    throw std::invalid_argument(who(*this) + ": expects " + std::to_string(channels) + " channels on axis " +
                                std::to_string(axis_) + ", received inputs of shape " + x.shape().str());
  // Per-channel vectors as (1, ..., C, ..., 1); axis -1 needs no reshape.
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank_), 1);
  shape[static_cast<std::size_t>(axis_)] = channels;
  auto along = [&](const Tensor& v) { return v.defined() && axis_ != rank_ - 1 ? reshape(v, shape) : v; };

  Tensor mean, variance;
  if (training && trainable()) {  // frozen: inference mode, as Keras 3
    std::vector<int> axes;
    for (int i = 0; i < rank_; ++i)
      if (i != axis_) axes.push_back(i);
    Moments m = moments(x, axes);
    mean = m.mean;
    variance = m.variance;
    if (x.numel() > 0) {
      // Outside every tape: the moving statistics are state, not part of the graph.
      NoGradGuard no_grad;
      const double mo = options_.momentum;
      moving_mean_.assign(moving_mean_ * mo + mean * (1.0 - mo));
      moving_variance_.assign(moving_variance_ * mo + variance * (1.0 - mo));
    }
  } else {
    mean = moving_mean_;
    variance = moving_variance_;
  }
  return {batch_normalization(x, along(mean), along(variance), along(beta_), along(gamma_), options_.epsilon)};
}

Tensor BatchNormalization::gamma() const {
  check_built(*this);
  if (!options_.scale) throw std::logic_error(who(*this) + ": the layer has no gamma (scale=false)");
  return gamma_;
}
Tensor BatchNormalization::beta() const {
  check_built(*this);
  if (!options_.center) throw std::logic_error(who(*this) + ": the layer has no beta (center=false)");
  return beta_;
}
Tensor BatchNormalization::moving_mean() const {
  check_built(*this);
  return moving_mean_;
}
Tensor BatchNormalization::moving_variance() const {
  check_built(*this);
  return moving_variance_;
}

std::string BatchNormalization::config() const {
  return "axis=" + std::to_string(options_.axis) + ", momentum=" + format_number(options_.momentum) +
         ", epsilon=" + format_number(options_.epsilon) + ", center=" + (options_.center ? "true" : "false") +
         ", scale=" + (options_.scale ? "true" : "false");
}

// ---- LayerNormalization -------------------------------------------------------------

LayerNormalization::LayerNormalization(const LayerNormalizationOptions& options)
    : Layer("LayerNormalization", [&]() -> const std::string& {
        const std::string w = who("LayerNormalization", options.name);
        if (options.axis.empty()) throw std::invalid_argument(w + ": axis must name at least one axis, received []");
        check_epsilon(w, options.epsilon);
        return options.name;
      }()),
      options_(options) {}

void LayerNormalization::build(const std::vector<Shape>& input_shapes) {
  const Shape& s = input_shapes[0];
  rank_ = s.rank() + 1;
  if (!is_floating(input_dtype()))
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received " +
                                dtype_name(input_dtype()));
  axes_.clear();
  for (int a : options_.axis) axes_.push_back(channel_axis(who(*this), a, rank_, s));
  std::sort(axes_.begin(), axes_.end());
  if (std::adjacent_find(axes_.begin(), axes_.end()) != axes_.end())
    throw std::invalid_argument(who(*this) + ": an axis appears twice in axis, received inputs of shape " +
                                tg::detail::batch_shape_str(s));
  std::vector<std::int64_t> pshape;
  broadcast_.assign(static_cast<std::size_t>(rank_), 1);
  for (int a : axes_) {
    pshape.push_back(s[a - 1]);
    broadcast_[static_cast<std::size_t>(a)] = s[a - 1];
  }
  if (options_.scale) gamma_ = add_weight("gamma", Shape(pshape), initializers::ones(), true, input_dtype());
  if (options_.center) beta_ = add_weight("beta", Shape(pshape), initializers::zeros(), true, input_dtype());
}

std::vector<Tensor> LayerNormalization::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = inputs[0];
  check_input(*this, x, rank_, input_dtype());
  for (int a : axes_)
    if (x.dim(a) != broadcast_[static_cast<std::size_t>(a)])
      throw std::invalid_argument(who(*this) + ": expects size " + std::to_string(broadcast_[static_cast<std::size_t>(a)]) +
                                  " on axis " + std::to_string(a) + ", received inputs of shape " + x.shape().str());
  auto along = [&](const Tensor& v) { return v.defined() ? reshape(v, broadcast_) : v; };
  Moments m = moments(x, axes_, /*keepdims=*/true);
  return {batch_normalization(x, m.mean, m.variance, along(beta_), along(gamma_), options_.epsilon)};
}

Tensor LayerNormalization::gamma() const {
  check_built(*this);
  if (!options_.scale) throw std::logic_error(who(*this) + ": the layer has no gamma (scale=false)");
  return gamma_;
}
Tensor LayerNormalization::beta() const {
  check_built(*this);
  if (!options_.center) throw std::logic_error(who(*this) + ": the layer has no beta (center=false)");
  return beta_;
}

std::string LayerNormalization::config() const {
  std::string axes;
  for (int a : options_.axis) axes += (axes.empty() ? "" : ", ") + std::to_string(a);
  return "axis=[" + axes + "], epsilon=" + format_number(options_.epsilon) +
         ", center=" + (options_.center ? "true" : "false") + ", scale=" + (options_.scale ? "true" : "false");
}

}  // namespace tg::layers
