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

namespace detail {

namespace {

// Throws "<who>: unknown activation ..." with activations::get's list of names.
activations::ActivationFunction activation_or_throw(const std::string& who, const std::string& activation) {
  try {
    return activations::get(activation);
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    const std::string prefix = "activations::get: ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw std::invalid_argument(who + ": " + msg);
  }
}

std::string activation_label(const std::string& activation) { return activation.empty() ? "linear" : activation; }

// ---- Dense ----------------------------------------------------------------------

class DenseImpl : public LayerImpl {
 public:
  DenseImpl(std::int64_t units, std::string activation, activations::ActivationFunction fn, bool use_bias,
            const std::string& name)
      : LayerImpl("Dense", name),
        units_(units),
        activation_(std::move(activation)),
        fn_(std::move(fn)),
        use_bias_(use_bias) {}

  void build(const std::vector<Shape>& input_shapes) override {
    const Shape& s = input_shapes[0];
    if (s.rank() == 0)
      throw std::invalid_argument(who(*this) + ": expects inputs of rank >= 2, (batch, ..., features); received "
                                  "a 1-d input (batch,)");
    if (!is_floating(input_dtype()))
      throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received " +
                                  dtype_name(input_dtype()));
    kernel_ = add_weight("kernel", {s.back(), units_}, initializers::glorot_uniform(), true, input_dtype());
    if (use_bias_) bias_ = add_weight("bias", {units_}, initializers::zeros(), true, input_dtype());
  }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
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

  std::string config() const override {
    return "units=" + std::to_string(units_) + ", activation=" + activation_label(activation_) +
           ", use_bias=" + (use_bias_ ? "true" : "false");
  }

  std::int64_t units_;
  std::string activation_;
  activations::ActivationFunction fn_;
  bool use_bias_;
  Tensor kernel_, bias_;
};

// ---- Activation -----------------------------------------------------------------

class ActivationImpl : public LayerImpl {
 public:
  ActivationImpl(std::string activation, activations::ActivationFunction fn, const std::string& name)
      : LayerImpl("Activation", name), activation_(std::move(activation)), fn_(std::move(fn)) {}

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
    if (!inputs[0].is_floating())
      throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received int64");
    return {fn_(inputs[0])};
  }
  std::string config() const override { return "activation=" + activation_label(activation_); }

 private:
  std::string activation_;
  activations::ActivationFunction fn_;
};

// ---- Dropout --------------------------------------------------------------------

class DropoutImpl : public LayerImpl {
 public:
  DropoutImpl(double rate, std::optional<std::uint64_t> seed, const std::string& name)
      : LayerImpl("Dropout", name), rate_(rate), seed_(seed) {
    if (seed) own_generator_.emplace(*seed);
  }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override {
    const Tensor& x = inputs[0];
    if (!x.is_floating())
      throw std::invalid_argument(who(*this) + ": expects float32 or float64 inputs, received int64");
    if (!training) return {x};
    return {dropout(x, rate_, own_generator_ ? *own_generator_ : generator())};
  }

  std::string config() const override {
    return "rate=" + format_number(rate_) + (seed_ ? ", seed=" + std::to_string(*seed_) : "");
  }

  double rate_;
  std::optional<std::uint64_t> seed_;
  std::optional<Generator> own_generator_;
};

// ---- Flatten and Reshape ----------------------------------------------------------

class FlattenImpl : public LayerImpl {
 public:
  explicit FlattenImpl(const std::string& name) : LayerImpl("Flatten", name) {}

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
    const Tensor& x = inputs[0];
    return {reshape(x, {x.dim(0), product(x.shape(), 1, x.rank())})};
  }
};

class ReshapeImpl : public LayerImpl {
 public:
  ReshapeImpl(std::vector<std::int64_t> target, const std::string& name)
      : LayerImpl("Reshape", name), target_(std::move(target)) {}

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
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

  std::string config() const override { return "target_shape=" + dims_str(target_); }

 private:
  std::vector<std::int64_t> target_;
};

// ---- Embedding --------------------------------------------------------------------

class EmbeddingImpl : public LayerImpl {
 public:
  EmbeddingImpl(std::int64_t input_dim, std::int64_t output_dim, Initializer init, DType dtype,
                const std::string& name)
      : LayerImpl("Embedding", name),
        input_dim_(input_dim),
        output_dim_(output_dim),
        init_(std::move(init)),
        dtype_(dtype) {}

  void build(const std::vector<Shape>&) override {
    check_dtype(input_dtype());
    table_ = add_weight("embeddings", {input_dim_, output_dim_}, init_, true, dtype_);
  }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
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

  std::string config() const override {
    return "input_dim=" + std::to_string(input_dim_) + ", output_dim=" + std::to_string(output_dim_) +
           (dtype_ == DType::float32 ? "" : std::string(", dtype=") + dtype_name(dtype_));
  }

  void check_dtype(DType dtype) const {
    if (dtype != DType::int64)
      throw std::invalid_argument(who(*this) + ": expects int64 indices, received a " + dtype_name(dtype) +
                                  " input");
  }

  std::int64_t input_dim_, output_dim_;
  Initializer init_;
  DType dtype_;
  Tensor table_;
};

// ---- Lambda -----------------------------------------------------------------------

class LambdaImpl : public LayerImpl {
 public:
  LambdaImpl(Lambda::ListFunction fn, bool unary, std::optional<Shape> output_shape, const std::string& name)
      : LayerImpl("Lambda", name), fn_(std::move(fn)), unary_(unary), output_shape_(std::move(output_shape)) {}

  int min_inputs() const override { return 1; }
  int max_inputs() const override { return unary_ ? 1 : -1; }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool) override {
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

  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override {
    // With a declared shape the function is not run: the output is taken to
    // have that shape and the first input's dtype (checked at each real call).
    if (output_shape_) return {{*output_shape_, inputs[0].dtype()}};
    return LayerImpl::compute_output_spec(inputs);
  }

  std::string config() const override {
    std::string c = unary_ ? "inputs=1" : "inputs=list";
    if (output_shape_) c += ", output_shape=" + output_shape_->str();
    return c;
  }

  Lambda::ListFunction fn_;
  bool unary_;
  std::optional<Shape> output_shape_;
};

}  // namespace
}  // namespace detail

using namespace detail;

// ---- handles ----------------------------------------------------------------------

namespace {

std::shared_ptr<LayerImpl> make_dense(std::int64_t units, const std::string& activation, bool use_bias,
                                      const std::string& name) {
  const std::string w = who("Dense", name);
  if (units <= 0) throw std::invalid_argument(w + ": units must be positive, received " + std::to_string(units));
  // The bias, (units,) of float32 at the least, must fit in a tensor; the
  // kernel (inputs, units) and the dtype are checked when the layer is built.
  constexpr std::int64_t max_units = max_tensor_bytes / 4;
  if (units > max_units)
    throw std::invalid_argument(w + ": units must be at most " + std::to_string(max_units) +
                                " (a float32 bias of that many elements takes 2^63 - 1 bytes), received " +
                                std::to_string(units));
  auto fn = activation_or_throw(w, activation);
  return std::make_shared<DenseImpl>(units, activation, std::move(fn), use_bias, name);
}

template <class Impl>
Impl& built(const Layer& layer, const Impl& impl) {
  if (!layer.impl().built())
    throw std::logic_error(who(layer.impl()) + ": the layer has no weights yet; they are created at its first call");
  return const_cast<Impl&>(impl);
}

}  // namespace

Dense::Dense(std::int64_t units, const std::string& activation, bool use_bias, const std::string& name)
    : Layer(make_dense(units, activation, use_bias, name)) {}
std::int64_t Dense::units() const { return impl_as<DenseImpl>().units_; }
Tensor Dense::kernel() const { return built(*this, impl_as<DenseImpl>()).kernel_; }
Tensor Dense::bias() const {
  const auto& d = built(*this, impl_as<DenseImpl>());
  if (!d.use_bias_) throw std::logic_error(who(d) + ": the layer has no bias (use_bias=false)");
  return d.bias_;
}

Activation::Activation(const std::string& activation, const std::string& name)
    : Layer(std::make_shared<ActivationImpl>(activation, activation_or_throw(who("Activation", name), activation),
                                             name)) {}

namespace {
std::shared_ptr<LayerImpl> make_dropout(double rate, std::optional<std::uint64_t> seed, const std::string& name) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw std::invalid_argument(who("Dropout", name) + ": rate must be in [0, 1), received " + format_number(rate));
  return std::make_shared<DropoutImpl>(rate, seed, name);
}
}  // namespace

Dropout::Dropout(double rate, std::optional<std::uint64_t> seed, const std::string& name)
    : Layer(make_dropout(rate, seed, name)) {}
double Dropout::rate() const { return impl_as<DropoutImpl>().rate_; }

Flatten::Flatten(const std::string& name) : Layer(std::make_shared<FlattenImpl>(name)) {}

namespace {
std::shared_ptr<LayerImpl> make_reshape(std::vector<std::int64_t> target, const std::string& name) {
  int unknowns = 0;
  for (auto d : target) {
    if (d == -1) ++unknowns;
    else if (d <= 0)
      throw std::invalid_argument(who("Reshape", name) + ": target_shape entries must be positive or -1, received " +
                                  dims_str(target));
  }
  if (unknowns > 1)
    throw std::invalid_argument(who("Reshape", name) + ": at most one -1 is allowed in target_shape, received " +
                                dims_str(target));
  return std::make_shared<ReshapeImpl>(std::move(target), name);
}
}  // namespace

Reshape::Reshape(std::vector<std::int64_t> target_shape, const std::string& name)
    : Layer(make_reshape(std::move(target_shape), name)) {}

namespace {
std::shared_ptr<LayerImpl> make_embedding(std::int64_t input_dim, std::int64_t output_dim, Initializer init,
                                          DType dtype, const std::string& name) {
  const std::string w = who("Embedding", name);
  if (input_dim <= 0 || output_dim <= 0)
    throw std::invalid_argument(w + ": input_dim and output_dim must be positive, received input_dim=" +
                                std::to_string(input_dim) + ", output_dim=" + std::to_string(output_dim));
  if (!is_floating(dtype))
    throw std::invalid_argument(w + ": the table's dtype must be float32 or float64, received " +
                                dtype_name(dtype));
  if (!init) throw std::invalid_argument(w + ": the embeddings initializer is empty");
  checked_byte_size(Shape{input_dim, output_dim}, dtype, w + ": the table (input_dim, output_dim)");
  return std::make_shared<EmbeddingImpl>(input_dim, output_dim, std::move(init), dtype, name);
}
}  // namespace

Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, Initializer embeddings_initializer,
                     DType dtype, const std::string& name)
    : Layer(make_embedding(input_dim, output_dim, std::move(embeddings_initializer), dtype, name)) {}
std::int64_t Embedding::input_dim() const { return impl_as<EmbeddingImpl>().input_dim_; }
std::int64_t Embedding::output_dim() const { return impl_as<EmbeddingImpl>().output_dim_; }
Tensor Embedding::embeddings() const { return built(*this, impl_as<EmbeddingImpl>()).table_; }

namespace {
std::shared_ptr<LayerImpl> make_lambda(Lambda::ListFunction fn, bool unary, std::optional<Shape> output_shape,
                                       const std::string& name) {
  if (!fn) throw std::invalid_argument(who("Lambda", name) + ": the function is empty");
  return std::make_shared<LambdaImpl>(std::move(fn), unary, std::move(output_shape), name);
}
}  // namespace

Lambda::Lambda(Wrapped fn, OutputShape output_shape, const std::string& name)
    : Layer(make_lambda(std::move(fn.fn), fn.unary, output_shape.get(), name)) {}
std::optional<Shape> Lambda::output_shape() const { return impl_as<LambdaImpl>().output_shape_; }

}  // namespace tg::layers
