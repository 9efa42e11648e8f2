#include "tapegrad/layers/core.hpp"

#include <cmath>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/layers/activations.hpp"
#include "tapegrad/ops/dense.hpp"
#include "tapegrad/ops/dropout.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::layers {

using namespace detail;

// ---- Dense ----------------------------------------------------------------------

Dense::Dense(std::int64_t units, const std::string& activation, bool use_bias, const std::string& name)
    : Dense(units, DenseOptions{.activation = activation, .use_bias = use_bias, .name = name}) {}

Dense::Dense(std::int64_t units, const DenseOptions& options)
    : Layer("Dense", validated(options.name,
                               [&] {
                                 const std::string w = who("Dense", options.name);
                                 if (units <= 0)
                                   throw std::invalid_argument(w + ": units must be positive, received " +
                                                               std::to_string(units));
                                 // The bias, (units,) of float32 at the least, must fit in a tensor; the
                                 // kernel (inputs, units) and the dtype are checked when the layer is built.
                                 constexpr std::int64_t max_units = max_tensor_bytes / 4;
                                 if (units > max_units)
                                   throw std::invalid_argument(
                                       w + ": units must be at most " + std::to_string(max_units) +
                                       " (a float32 bias of that many elements takes 2^63 - 1 bytes), received " +
                                       std::to_string(units));
                                 activation_or_throw(w, options.activation);
                                 if (!options.kernel_initializer || !options.bias_initializer)
                                   throw std::invalid_argument(w + ": kernel_initializer and bias_initializer "
                                                               "must not be empty");
                               })),
      units_(units),
      activation_(options.activation),
      use_bias_(options.use_bias),
      kernel_initializer_(options.kernel_initializer),
      bias_initializer_(options.bias_initializer),
      kernel_regularizer_(options.kernel_regularizer),
      bias_regularizer_(options.bias_regularizer) {
  set_activity_regularizer(options.activity_regularizer);
}

Tensor Dense::kernel() const {
  check_built(*this);
  return kernel_;
}

Tensor Dense::bias() const {
  check_built(*this);
  if (!use_bias_) throw std::logic_error(who(*this) + ": the layer has no bias (use_bias=false)");
  return bias_;
}

void Dense::build(const std::vector<Shape>& input_shapes) {
  const Shape& s = input_shapes[0];
  if (s.rank() == 0)
    throw std::invalid_argument(who(*this) + ": expects inputs of rank >= 2, (batch, ..., features); received "
                                "a 1-d input (batch,)");
  if (!is_floating(input_dtype()))
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received " +
                                dtype_name(input_dtype()));
  kernel_ = add_weight("kernel", {s.back(), units_}, kernel_initializer_, true, input_dtype(), kernel_regularizer_);
  if (use_bias_) bias_ = add_weight("bias", {units_}, bias_initializer_, true, input_dtype(), bias_regularizer_);
}

std::vector<Tensor> Dense::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = inputs[0];
  const std::int64_t in = kernel_.dim(0);
  if (x.rank() < 2 || x.dim(-1) != in)
    throw std::invalid_argument(who(*this) + ": expects inputs of shape (batch, ..., " + std::to_string(in) +
                                "), received " + x.shape().str());
  if (x.dtype() != kernel_.dtype())
    throw std::invalid_argument(who(*this) + ": the weights are " + dtype_name(kernel_.dtype()) +
                                " (the dtype of the first input), received a " + dtype_name(x.dtype()) + " input");
  return {dense(x, kernel_, use_bias_ ? bias_ : Tensor(), activation_)};
}

std::string Dense::config() const {
  return "units=" + std::to_string(units_) + ", activation=" + activation_label(activation_) +
         ", use_bias=" + (use_bias_ ? "true" : "false");
}

// ---- Activation -----------------------------------------------------------------

Activation::Activation(const std::string& activation, const std::string& name)
    : Layer("Activation", validated(name, [&] { activation_or_throw(who("Activation", name), activation); })),
      activation_(activation),
      fn_(activations::get(activation)) {}

std::vector<Tensor> Activation::call(const std::vector<Tensor>& inputs, bool) {
  if (!inputs[0].is_floating())
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received int64");
  return {fn_(inputs[0])};
}

std::string Activation::config() const { return "activation=" + activation_label(activation_); }

// ---- Dropout --------------------------------------------------------------------

Dropout::Dropout(double rate, std::optional<std::uint64_t> seed, const std::string& name)
    : Layer("Dropout", validated(name,
                                 [&] {
                                   if (!(rate >= 0.0 && rate < 1.0))
                                     throw std::invalid_argument(who("Dropout", name) +
                                                                 ": rate must be in [0, 1), received " +
                                                                 format_number(rate));
                                 })),
      rate_(rate),
      seed_(seed) {
  if (seed) own_generator_.emplace(*seed);
}

std::vector<Tensor> Dropout::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = inputs[0];
  if (!x.is_floating())
    throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received int64");
  if (!training) return {x};
  return {dropout(x, rate_, own_generator_ ? *own_generator_ : generator())};
}

std::string Dropout::config() const {
  return "rate=" + format_number(rate_) + (seed_ ? ", seed=" + std::to_string(*seed_) : "");
}

// ---- Flatten and Reshape ----------------------------------------------------------

Flatten::Flatten(const std::string& name) : Layer("Flatten", name) {}

std::vector<Tensor> Flatten::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = inputs[0];
  return {reshape(x, {x.dim(0), product(x.shape(), 1, x.rank())})};
}

Reshape::Reshape(std::vector<std::int64_t> target_shape, const std::string& name)
    : Layer("Reshape", validated(name,
                                 [&] {
                                   int unknowns = 0;
                                   for (auto d : target_shape) {
                                     if (d == -1) ++unknowns;
                                     else if (d <= 0)
                                       throw std::invalid_argument(
                                           who("Reshape", name) +
                                           ": target_shape entries must be positive or -1, received " +
                                           dims_str(target_shape));
                                   }
                                   if (unknowns > 1)
                                     throw std::invalid_argument(
                                         who("Reshape", name) +
                                         ": at most one -1 is allowed in target_shape, received " +
                                         dims_str(target_shape));
                                 })),
      target_(std::move(target_shape)) {}

std::vector<Tensor> Reshape::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = inputs[0];
  const std::int64_t values = product(x.shape(), 1, x.rank());
  std::int64_t known = 1;
  int unknown = -1;
  for (std::size_t i = 0; i < target_.size(); ++i) {
    if (target_[i] == -1) unknown = static_cast<int>(i);
    else known *= target_[i];
  }
  std::vector<std::int64_t> shape = {x.dim(0)};
  shape.insert(shape.end(), target_.begin(), target_.end());
  const bool fits = unknown < 0 ? known == values : values % known == 0;
  if (!fits) {
    Shape sample = x.shape();
    sample.erase(0);
    throw std::invalid_argument(who(*this) + ": cannot reshape a sample of shape " + sample.str() + " (" +
                                std::to_string(values) + " values) into " + dims_str(target_) +
                                "; received input " + x.shape().str());
  }
  if (unknown >= 0) shape[static_cast<std::size_t>(unknown) + 1] = values / known;
  return {reshape(x, shape)};
}

std::string Reshape::config() const { return "target_shape=" + dims_str(target_); }

// ---- Embedding --------------------------------------------------------------------

Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, Initializer embeddings_initializer,
                     DType dtype, const std::string& name)
    : Embedding(input_dim, output_dim,
                EmbeddingOptions{.embeddings_initializer = std::move(embeddings_initializer), .dtype = dtype,
                                 .name = name}) {}

Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, const EmbeddingOptions& options)
    : Layer("Embedding",
            validated(options.name,
                      [&] {
                        const std::string w = who("Embedding", options.name);
                        if (input_dim <= 0 || output_dim <= 0)
                          throw std::invalid_argument(
                              w + ": input_dim and output_dim must be positive, received input_dim=" +
                              std::to_string(input_dim) + ", output_dim=" + std::to_string(output_dim));
                        if (!is_floating(options.dtype))
                          throw std::invalid_argument(w + ": the table's dtype must be float32 or float64, received " +
                                                      dtype_name(options.dtype));
                        if (!options.embeddings_initializer)
                          throw std::invalid_argument(w + ": the embeddings initializer is empty");
                        checked_byte_size(Shape{input_dim, output_dim}, options.dtype, w + ": the table (input_dim, output_dim)");
                      })),
      input_dim_(input_dim),
      output_dim_(output_dim),
      init_(options.embeddings_initializer),
      regularizer_(options.embeddings_regularizer),
      dtype_(options.dtype) {
  set_activity_regularizer(options.activity_regularizer);
}

Tensor Embedding::embeddings() const {
  check_built(*this);
  return table_;
}

void Embedding::build(const std::vector<Shape>&) {
  check_dtype(input_dtype());
  table_ = add_weight("embeddings", {input_dim_, output_dim_}, init_, true, dtype_, regularizer_);
}

std::vector<Tensor> Embedding::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& ids = inputs[0];
  check_dtype(ids.dtype());
  const std::int64_t* p = ids.data<std::int64_t>();
  for (std::int64_t i = 0; i < ids.numel(); ++i)
    if (p[i] < 0 || p[i] >= input_dim_)
      throw std::out_of_range(who(*this) + ": index " + std::to_string(p[i]) + " is out of range for input_dim " +
                              std::to_string(input_dim_) + " (valid indices: 0 to " +
                              std::to_string(input_dim_ - 1) + "); received it in an input of shape " +
                              ids.shape().str());
  return {gather(table_, ids)};
}

std::string Embedding::config() const {
  return "input_dim=" + std::to_string(input_dim_) + ", output_dim=" + std::to_string(output_dim_) +
         (dtype_ == DType::float32 ? "" : std::string(", dtype=") + dtype_name(dtype_));
}

void Embedding::check_dtype(DType dtype) const {
  if (dtype != DType::int64)
    throw std::invalid_argument(who(*this) + ": expects int64 indices, received a " + dtype_name(dtype) +
                                " input");
}

// ---- Lambda -----------------------------------------------------------------------

Lambda::Lambda(Wrapped fn, OutputShape output_shape, const std::string& name)
    : Layer("Lambda", validated(name,
                                [&] {
                                  if (!fn.fn) throw std::invalid_argument(who("Lambda", name) + ": the function is empty");
                                })),
      fn_(std::move(fn.fn)),
      unary_(fn.unary),
      output_shape_(output_shape.get()) {}

std::vector<Tensor> Lambda::call(const std::vector<Tensor>& inputs, bool) {
  Tensor y = fn_(inputs);
  const std::int64_t batch = inputs[0].dim(0);
  if (!y.defined()) throw std::invalid_argument(who(*this) + ": the function returned an undefined tensor");
  if (y.rank() == 0 || y.dim(0) != batch)
    throw std::invalid_argument(who(*this) + ": the function returned shape " + y.shape().str() +
                                " for a batch of " + std::to_string(batch) + "; it must keep the batch axis first");
  if (output_shape_) {
    Shape sample = y.shape();
    sample.erase(0);
    if (sample != *output_shape_)
      throw std::invalid_argument(who(*this) + ": the function returned per-sample shape " + sample.str() +
                                  " but output_shape is " + output_shape_->str() + "; received output " +
                                  y.shape().str());
  }
  return {y};
}

std::vector<std::pair<Shape, DType>> Lambda::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  // With a declared shape the function is not run: the output is taken to
  // have that shape and the first input's dtype (checked at each real call).
  if (output_shape_) return {{*output_shape_, inputs[0].dtype()}};
  return Layer::compute_output_spec(inputs);
}

std::string Lambda::config() const {
  std::string c = unary_ ? "inputs=1" : "inputs=list";
  if (output_shape_) c += ", output_shape=" + output_shape_->str();
  return c;
}

}  // namespace tg::layers
