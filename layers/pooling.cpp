// The pooling layers: the ops of tapegrad/ops/pool.hpp with Keras's arguments;
// no weights, no gradient of their own.
#include "tapegrad/layers/pooling.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "support.hpp"

namespace tg::layers {

using namespace detail;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Runs `f`, prefixing the op's std::invalid_argument with the layer's name:
// "max_pooling2d (MaxPooling2D): max_pool2d: expects a 4-d input ...".
template <class F>
auto as_layer(const std::string& w, F f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(w + ": " + e.what());
  }
}

// An empty batch of images in `data_format` with (rows, cols) = (h, w): the
// op's checks of the arguments run on it for free, so the layer validates them
// when it is made (as Keras) with the op's own rules and messages.
Tensor empty_images(const std::string& data_format, std::int64_t h, std::int64_t w) {
  return lower(data_format) == "channels_first" ? zeros({0, 1, h, w}) : zeros({0, h, w, 1});
}

std::vector<std::int64_t> two(const std::vector<std::int64_t>& v) { return {v.front(), v.back()}; }

// pool_size and strides as two values (strides {} -> pool_size), padding and
// data_format in lower case, after the op has accepted them.
PoolOptions resolve(const std::string& class_name, const std::vector<std::int64_t>& pool_size,
                    const Pooling2DOptions& options, bool max) {
  PoolOptions o;
  o.pool_size = pool_size;
  o.strides = options.strides;
  o.padding = options.padding;
  o.data_format = options.data_format;
  as_layer(who(class_name, options.name), [&] {
    const bool counts_ok = pool_size.size() == 1 || pool_size.size() == 2;
    const std::int64_t h = counts_ok ? std::max<std::int64_t>(pool_size.front(), 1) : 1;
    const std::int64_t w = counts_ok ? std::max<std::int64_t>(pool_size.back(), 1) : 1;
    const Tensor x = empty_images(o.data_format, h, w);
    return max ? max_pool2d(x, o) : avg_pool2d(x, o);
  });
  o.pool_size = two(pool_size);
  o.strides = options.strides.empty() ? o.pool_size : two(options.strides);
  o.padding = lower(options.padding);
  o.data_format = lower(options.data_format);
  return o;
}

std::string checked_data_format(const std::string& class_name, const std::string& data_format, const std::string& name) {
  as_layer(who(class_name, name), [&] { return global_average_pool2d(empty_images(data_format, 1, 1), data_format); });
  return lower(data_format);
}

// The spec of `pool` on an empty batch of the symbolic input's shape.
template <class Pool>
std::vector<std::pair<Shape, DType>> spec_of(const std::string& w, const SymbolicTensor& input, Pool pool) {
  Shape shape = input.shape();
  shape.insert(0, 0);
  const Tensor y = as_layer(w, [&] { return pool(zeros(shape, input.dtype())); });
  Shape out = y.shape();
  out.erase(0);
  return {{out, y.dtype()}};
}

}  // namespace

// ---- MaxPooling2D, AveragePooling2D -------------------------------------------------

Pooling2D::Pooling2D(const std::string& class_name, PoolOptions resolved, const std::string& name)
    : Layer(class_name, name), options_(std::move(resolved)) {}

std::vector<Tensor> Pooling2D::call(const std::vector<Tensor>& inputs, bool) {
  return {as_layer(who(*this), [&] { return pool(inputs[0]); })};
}

std::vector<std::pair<Shape, DType>> Pooling2D::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  return spec_of(who(*this), inputs[0], [this](const Tensor& x) { return pool(x); });
}

std::string Pooling2D::config() const {
  return "pool_size=" + dims_str(options_.pool_size) + ", strides=" + dims_str(options_.strides) +
         ", padding=" + options_.padding + ", data_format=" + options_.data_format;
}

MaxPooling2D::MaxPooling2D(std::vector<std::int64_t> pool_size, const Pooling2DOptions& options)
    : Pooling2D("MaxPooling2D", resolve("MaxPooling2D", pool_size, options, true), options.name) {}

Tensor MaxPooling2D::pool(const Tensor& x) const { return max_pool2d(x, pool_options()); }

AveragePooling2D::AveragePooling2D(std::vector<std::int64_t> pool_size, const Pooling2DOptions& options)
    : Pooling2D("AveragePooling2D", resolve("AveragePooling2D", pool_size, options, false), options.name) {}

Tensor AveragePooling2D::pool(const Tensor& x) const { return avg_pool2d(x, pool_options()); }

// ---- GlobalAveragePooling2D, GlobalMaxPooling2D ---------------------------------------

GlobalPooling2D::GlobalPooling2D(const std::string& class_name, std::string data_format, bool keepdims,
                                 const std::string& name)
    : Layer(class_name, name), data_format_(std::move(data_format)), keepdims_(keepdims) {}

std::vector<Tensor> GlobalPooling2D::call(const std::vector<Tensor>& inputs, bool) {
  return {as_layer(who(*this), [&] { return pool(inputs[0]); })};
}

std::vector<std::pair<Shape, DType>> GlobalPooling2D::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  return spec_of(who(*this), inputs[0], [this](const Tensor& x) { return pool(x); });
}

std::string GlobalPooling2D::config() const {
  return "data_format=" + data_format_ + ", keepdims=" + (keepdims_ ? "true" : "false");
}

GlobalAveragePooling2D::GlobalAveragePooling2D(const std::string& data_format, bool keepdims, const std::string& name)
    : GlobalPooling2D("GlobalAveragePooling2D", checked_data_format("GlobalAveragePooling2D", data_format, name),
                      keepdims, name) {}

Tensor GlobalAveragePooling2D::pool(const Tensor& x) const {
  return global_average_pool2d(x, data_format(), keepdims());
}

GlobalMaxPooling2D::GlobalMaxPooling2D(const std::string& data_format, bool keepdims, const std::string& name)
    : GlobalPooling2D("GlobalMaxPooling2D", checked_data_format("GlobalMaxPooling2D", data_format, name), keepdims,
                      name) {}

Tensor GlobalMaxPooling2D::pool(const Tensor& x) const { return global_max_pool2d(x, data_format(), keepdims()); }

}  // namespace tg::layers
