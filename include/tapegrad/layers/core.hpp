// The core Keras layers: Dense, Activation, Dropout, Flatten, Reshape,
// Embedding and Lambda (namespace tg::layers).
//
//   auto dense = tg::layers::Dense::make(3, "relu");  // a tg::Ref<Dense>
//   tg::Tensor y = dense(x);                   // x (batch, 4) -> y (batch, 3); builds a (4, 3) kernel
//   tg::Tensor k = dense->kernel();            // the same tensor the layer uses (a tg::Variable)
//
// Each class is a tg::Layer, made by its static make() (the constructor's
// arguments) and shared by reference: one object called twice shares its
// weights. Weights are created on the first call with the dtype of
// its first input: float32 normally, float64 when the layer is first called on
// float64 data (what a float64 gradcheck needs). Embedding, whose input is
// int64 indices, takes its dtype as an argument instead. Every `name` argument
// defaults to a unique snake_case name ("dense", "dense_1", ...).
//
// Arguments are validated when the layer is constructed, inputs when it is
// called; errors (std::invalid_argument, std::out_of_range for indices) name
// the layer and end with what was received.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/layers/activations.hpp"
#include "tapegrad/layers/layer.hpp"

namespace tg::layers {

// Keras's Dense arguments after `units`, with its defaults, by name:
//   Dense::make(64, {.activation = "relu", .kernel_initializer = "he_normal",
//                    .kernel_regularizer = tg::regularizers::l2(1e-4)});
struct DenseOptions {
  std::string activation = "";  // a name tg::activations::get() knows ("" or "linear": none)
  bool use_bias = true;
  Initializer kernel_initializer = initializers::glorot_uniform();
  Initializer bias_initializer = initializers::zeros();
  Regularizer kernel_regularizer = {};  // none
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  std::string name = "";
};

// y = activation(x @ kernel + bias) over the last axis.
// Inputs (batch, ..., in) of rank >= 2 give (batch, ..., units): the leading
// axes are flattened for one matrix product, then restored. The kernel
// (in, units) starts Glorot-uniform, the bias (units,) at zeros, as Keras.
//   Dense(2) on x = [[1, 2]] with kernel [[1, 0], [0, 1]] and bias [0.5, 0] gives [[1.5, 2]].
class Dense : public Layer {
 public:
  Dense(std::int64_t units, const DenseOptions& options);
  // `activation`: a name tg::activations::get() knows ("" or "linear": none).
  explicit Dense(std::int64_t units, const std::string& activation = "", bool use_bias = true,
                 const std::string& name = "");
  static Ref<Dense> make(std::int64_t units, const DenseOptions& options) {
    return make_layer<Dense>(units, options);
  }
  static Ref<Dense> make(std::int64_t units) { return make_layer<Dense>(units); }
  // A template so that a braced list never reaches it: GCC 12 reads
  // `{.kernel_regularizer = "l1", .bias_regularizer = "l2"}` as a candidate
  // std::string (from two const char*) too, which made the call ambiguous.
  template <class S>
    requires std::is_convertible_v<const S&, std::string>
  static Ref<Dense> make(std::int64_t units, const S& activation, bool use_bias = true, const std::string& name = "") {
    return make_layer<Dense>(units, std::string(activation), use_bias, name);
  }
  std::int64_t units() const { return units_; }
  // The weights; throw std::logic_error before the layer is built (first call).
  Tensor kernel() const;
  Tensor bias() const;  // also throws when use_bias is false

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  std::int64_t units_;
  std::string activation_;
  bool use_bias_;
  Initializer kernel_initializer_, bias_initializer_;
  Regularizer kernel_regularizer_, bias_regularizer_;
  Tensor kernel_, bias_;
};

// Applies a named activation: Activation("softmax")(x) == tg::softmax(x, -1).
class Activation : public Layer {
 public:
  explicit Activation(const std::string& activation, const std::string& name = "");
  static Ref<Activation> make(const std::string& activation, const std::string& name = "") {
    return make_layer<Activation>(activation, name);
  }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  std::string activation_;
  activations::ActivationFunction fn_;
};

// Inverted dropout. In training (layer(x, /*training=*/true)) each element is
// zeroed with probability `rate` and the others are scaled by 1 / (1 - rate),
// so the expected value is unchanged; at inference it is the identity (the
// same tensor is returned). rate must be in [0, 1).
// The masks come from the layer's own generator (seeded from tg::set_seed's
// source when the layer is created), or from `seed` when given: two Dropout
// layers with the same seed draw the same sequence of masks. Each training
// call draws a new mask.
class Dropout : public Layer {
 public:
  explicit Dropout(double rate, std::optional<std::uint64_t> seed = std::nullopt, const std::string& name = "");
  static Ref<Dropout> make(double rate, std::optional<std::uint64_t> seed = std::nullopt,
                           const std::string& name = "") {
    return make_layer<Dropout>(rate, seed, name);
  }
  double rate() const { return rate_; }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  double rate_;
  std::optional<std::uint64_t> seed_;
  std::optional<Generator> own_generator_;
};

// (batch, d1, d2, ...) -> (batch, d1 * d2 * ...); (batch,) -> (batch, 1), as Keras.
class Flatten : public Layer {
 public:
  explicit Flatten(const std::string& name = "");
  static Ref<Flatten> make(const std::string& name = "") { return make_layer<Flatten>(name); }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
};

// Reshapes each sample: (batch, ...) -> (batch, target_shape...). One entry of
// target_shape may be -1 (inferred from the sample's size); the others must be
// positive. Reshape({-1, 2}) on a (batch, 2, 3) input gives (batch, 3, 2).
class Reshape : public Layer {
 public:
  explicit Reshape(std::vector<std::int64_t> target_shape, const std::string& name = "");
  static Ref<Reshape> make(std::vector<std::int64_t> target_shape, const std::string& name = "") {
    return make_layer<Reshape>(std::move(target_shape), name);
  }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  std::vector<std::int64_t> target_;
};

// A lookup table of `input_dim` rows of size `output_dim`: int64 indices
// (batch, ...) give (batch, ..., output_dim), row i of the table for index i
// (tg::gather). The table's gradient is row-sparse: only the rows a batch used
// are touched (tape.sparse_gradient gives the rows; repeated indices add up).
// An index outside [0, input_dim) throws std::out_of_range naming it; a
// non-int64 input throws std::invalid_argument.
// The table starts uniform in [-0.05, 0.05] (Keras's default) and has dtype
// `dtype` (float64 for a float64 gradcheck of the table).
// Keras's Embedding arguments after input_dim and output_dim, by name:
//   Embedding::make(10000, 64, EmbeddingOptions{.embeddings_regularizer = tg::regularizers::l2(1e-5)});
// (A regularized table gets a dense gradient: the penalty touches every row.)
struct EmbeddingOptions {
  Initializer embeddings_initializer = initializers::random_uniform(-0.05, 0.05);  // Keras's "uniform"
  Regularizer embeddings_regularizer = {};
  Regularizer activity_regularizer = {};
  DType dtype = DType::float32;
  std::string name = "";
};

class Embedding : public Layer {
 public:
  Embedding(std::int64_t input_dim, std::int64_t output_dim, const EmbeddingOptions& options);
  static Ref<Embedding> make(std::int64_t input_dim, std::int64_t output_dim, const EmbeddingOptions& options) {
    return make_layer<Embedding>(input_dim, output_dim, options);
  }
  Embedding(std::int64_t input_dim, std::int64_t output_dim,
            Initializer embeddings_initializer = initializers::random_uniform(-0.05, 0.05),
            DType dtype = DType::float32, const std::string& name = "");
  static Ref<Embedding> make(std::int64_t input_dim, std::int64_t output_dim,
                             Initializer embeddings_initializer = initializers::random_uniform(-0.05, 0.05),
                             DType dtype = DType::float32, const std::string& name = "") {
    return make_layer<Embedding>(input_dim, output_dim, std::move(embeddings_initializer), dtype, name);
  }
  std::int64_t input_dim() const { return input_dim_; }
  std::int64_t output_dim() const { return output_dim_; }
  // The (input_dim, output_dim) table; throws std::logic_error before the first call.
  Tensor embeddings() const;

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  void check_dtype(DType dtype) const;

  std::int64_t input_dim_, output_dim_;
  Initializer init_;
  Regularizer regularizer_;
  DType dtype_;
  Tensor table_;
};

// Lambda's output_shape argument: a per-sample shape, or none (inferred).
// `{}` is none; `{1}`, `{3, 4}` or a tg::Shape (tg::Shape{} too) are shapes.
class OutputShape {
 public:
  OutputShape() = default;
  OutputShape(std::nullopt_t) {}                                           // NOLINT: none
  OutputShape(std::initializer_list<std::int64_t> dims) : shape_(Shape(dims)) {}  // NOLINT: {1} is a shape
  OutputShape(const Shape& shape) : shape_(shape) {}                       // NOLINT
  const std::optional<Shape>& get() const { return shape_; }

 private:
  std::optional<Shape> shape_;
};

// Wraps a function of tensors as a layer, as Keras's Lambda: the merge layer of
// the Siamese pattern.
//
//   auto cosine_distance = [](const std::vector<tg::Tensor>& v) {
//     return -tg::mean(tg::l2_normalize(v[0], -1) * tg::l2_normalize(v[1], -1), {-1}, true);
//   };
//   auto d = tg::layers::Lambda::make(cosine_distance, /*output_shape=*/{1})({base(a), base(b)});
//
// `fn` takes `const std::vector<tg::Tensor>&` (any number >= 1 of inputs) or
// `const tg::Tensor&` (exactly one input), and must be made of tg ops (so the
// tape differentiates it) and keep the batch axis first. Write the parameter
// type out: a generic lambda (`const auto&`) is taken as a list function.
// `output_shape` is per sample (no batch axis). When given, symbolic calls use
// it (with the first input's dtype) without running fn, and every concrete
// call checks the output against it (a mismatch throws). When omitted (or {})
// it is inferred by running fn once on a batch of one zero sample; a function
// returning one value per sample, (batch,), declares tg::Shape{} explicitly.
// Keras warns that a Lambda's function cannot be serialized; here too only
// weights are saved, and a Lambda has none.
class Lambda : public Layer {
 public:
  using ListFunction = std::function<Tensor(const std::vector<Tensor>&)>;
  using UnaryFunction = std::function<Tensor(const Tensor&)>;

  template <class F>
    requires(std::is_invocable_r_v<Tensor, const F&, const std::vector<Tensor>&> ||
             std::is_invocable_r_v<Tensor, const F&, const Tensor&>)
  explicit Lambda(F fn, OutputShape output_shape = {}, const std::string& name = "")
      : Lambda(wrap(std::move(fn)), output_shape, name) {}
  template <class F>
    requires(std::is_invocable_r_v<Tensor, const F&, const std::vector<Tensor>&> ||
             std::is_invocable_r_v<Tensor, const F&, const Tensor&>)
  static Ref<Lambda> make(F fn, OutputShape output_shape = {}, const std::string& name = "") {
    return make_layer<Lambda>(std::move(fn), output_shape, name);
  }

  // The declared per-sample output shape, if any.
  std::optional<Shape> output_shape() const { return output_shape_; }

  int min_inputs() const override { return 1; }
  int max_inputs() const override { return unary_ ? 1 : -1; }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  std::string config() const override;

 private:
  struct Wrapped {
    ListFunction fn;
    bool unary;
  };
  template <class F>
  static Wrapped wrap(F fn) {
    if constexpr (std::is_invocable_r_v<Tensor, const F&, const std::vector<Tensor>&>)
      return {ListFunction(std::move(fn)), false};
    else
      return {[f = std::move(fn)](const std::vector<Tensor>& v) -> Tensor { return f(v[0]); }, true};
  }
  Lambda(Wrapped fn, OutputShape output_shape, const std::string& name);

  ListFunction fn_;
  bool unary_;
  std::optional<Shape> output_shape_;
};

}  // namespace tg::layers
