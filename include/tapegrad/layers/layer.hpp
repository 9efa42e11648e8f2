// Layers, Keras style: hyperparameters in the constructor, weights created on
// the first call (`build`, through `add_weight`), the computation in `call`.
//
//   tg::layers::Dense dense(3, "relu");
//   tg::Tensor y = dense(x);              // builds a (x.dim(-1), 3) kernel, then computes
//   tg::Tensor z = dense(other);          // the same weights: calling a layer twice shares them
//
// A layer object is a handle: copying it (into a Sequential, a vector, a
// lambda) shares the same layer and weights, like a Python reference. Its
// behaviour lives in a LayerImpl; a custom layer derives from LayerImpl and is
// wrapped with tg::Layer(std::make_shared<MyImpl>(...)) (docs/layers.md).
//
// Symbolic use (the functional API): `tg::Input(shape)` gives a SymbolicTensor,
// a shape without data whose batch dimension is left open; calling a layer on
// symbolic tensors records the call (a node of the layer graph) instead of
// computing, and tg::Model(inputs, outputs) turns the graph into a model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class LayerImpl;
struct LayerNode;

// ---- symbolic tensors ---------------------------------------------------------

// The output of Input() or of a layer called on symbolic tensors: a per-sample
// shape (the batch dimension is not part of it), a dtype and the node that
// produced it. It holds no data; ops cannot be applied to it (wrap such
// computations in a Lambda layer).
class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  // Per-sample shape: the full shape is (batch, shape...).
  const Shape& shape() const;
  DType dtype() const;
  const std::string& name() const;
  // "(None, 64)" as Keras prints it.
  std::string shape_str() const;
  bool defined() const { return impl_ != nullptr; }
  // The layer call that produced this tensor (null for an Input) and which of its outputs it is.
  const std::shared_ptr<LayerNode>& node() const;
  int output_index() const;
  const void* id() const { return impl_.get(); }

  struct Impl;
  explicit SymbolicTensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

// A model input: `shape` is per sample (no batch dimension), as Keras's Input.
SymbolicTensor Input(const Shape& shape, DType dtype = DType::float32, const std::string& name = "");

// One call of a layer on symbolic tensors. Its outputs point to it (not the
// other way round, so a graph holds no reference cycle).
struct LayerNode {
  std::shared_ptr<LayerImpl> layer;
  std::vector<SymbolicTensor> inputs;
  std::vector<std::pair<Shape, DType>> output_specs;  // per-sample shapes and dtypes
};

// ---- initializers and seeds ---------------------------------------------------

// Makes a weight's initial values: fn(shape, dtype, generator).
using Initializer = std::function<Tensor(const Shape&, DType, Generator&)>;

namespace initializers {
// Keras's default kernel initializer: uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out)).
Initializer glorot_uniform();
Initializer zeros();
Initializer ones();
Initializer constant(double value);
Initializer random_uniform(double low = -0.05, double high = 0.05);
Initializer random_normal(double mean = 0.0, double stddev = 0.05);
// By name: "glorot_uniform", "zeros", "ones", "random_uniform", "random_normal";
// an unknown name throws, listing the known ones.
Initializer get(const std::string& name);
}  // namespace initializers

// Seeds the source from which every layer created afterwards draws its own
// seed (weights initialization, dropout masks): the same seed and the same
// order of layer creation give bit-identical models.
void set_seed(std::uint64_t seed);

// ---- layers -------------------------------------------------------------------

// The behaviour of a layer. Subclasses override build (create weights), call
// (compute) and, when they can say it without computing, compute_output_shapes.
class LayerImpl : public std::enable_shared_from_this<LayerImpl> {
 public:
  // `class_name` is the type shown by repr() and summary(); `name` defaults to a
  // unique snake_case name derived from it ("dense", "dense_1", ...).
  explicit LayerImpl(std::string class_name, std::string name = "");
  virtual ~LayerImpl() = default;
  LayerImpl(const LayerImpl&) = delete;
  LayerImpl& operator=(const LayerImpl&) = delete;

  // Creates the weights for inputs of these per-sample shapes; called once,
  // before the first call.
  virtual void build(const std::vector<Shape>& input_shapes);
  // The computation on concrete tensors (with their batch dimension).
  virtual std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) = 0;
  // Per-sample output shapes and dtypes for symbolic inputs. The default runs
  // call() once on a batch of one zero sample, recording nothing.
  virtual std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs);
  // Hyperparameters as "units=128, activation=relu" (for repr and summary).
  virtual std::string config() const { return ""; }
  // Layers this one is made of (a model's layers), for weights and summaries.
  virtual std::vector<std::shared_ptr<LayerImpl>> sublayers() const { return {}; }
  // How many inputs call() accepts; -1 for "any number >= min".
  virtual int min_inputs() const { return 1; }
  virtual int max_inputs() const { return 1; }

  // Builds if needed, checks the number of inputs, calls. What Layer::operator() runs.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, bool training);
  // Records a node for symbolic inputs and returns its outputs.
  std::vector<SymbolicTensor> run_symbolic(const std::vector<SymbolicTensor>& inputs);

  // A new weight named "<layer name>/<name>", made by `initializer` from this
  // layer's generator. Trainable weights are tg::Variables.
  Tensor add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                    bool trainable = true, DType dtype = DType::float32);

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool built() const { return built_; }
  // This layer's own weights followed by its sublayers' (each once), in creation order.
  std::vector<Tensor> weights() const;
  std::vector<Tensor> trainable_weights() const;
  std::vector<Tensor> non_trainable_weights() const;
  // "Dense(name=dense, units=128, activation=relu)".
  std::string repr() const;

 protected:
  Generator& generator() { return generator_; }
  // Marks the layer built without calling build (for layers that build themselves).
  void set_built() { built_ = true; }
  // The dtype of the first input of the call that builds the layer (valid in
  // build(), whose argument has only shapes). Layers give their weights this
  // dtype when it is floating: a layer first called on float64 data gets
  // float64 weights, which float64 gradchecks need.
  DType input_dtype() const { return input_dtype_; }

 private:
  std::string class_name_;
  std::string name_;
  bool built_ = false;
  DType input_dtype_ = DType::float32;
  std::vector<Tensor> own_weights_;
  Generator generator_;
};

// A handle to a layer: copies share the layer. Concrete layers (Dense, Dot, ...)
// derive from it and add typed accessors.
class Layer {
 public:
  Layer() = default;
  explicit Layer(std::shared_ptr<LayerImpl> impl);

  // Concrete call, one input / several inputs; the layer must have one output.
  // `training` switches layers such as Dropout to their training behaviour.
  Tensor operator()(const Tensor& input, bool training = false) const;
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false) const;
  // All outputs, for layers (models) with several.
  std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, bool training = false) const;
  // Symbolic call: records a node of the layer graph.
  SymbolicTensor operator()(const SymbolicTensor& input) const;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) const;
  std::vector<SymbolicTensor> call_all(const std::vector<SymbolicTensor>& inputs) const;

  const std::string& name() const { return impl().name(); }
  std::vector<Tensor> weights() const { return impl().weights(); }
  std::vector<Tensor> trainable_weights() const { return impl().trainable_weights(); }
  std::vector<Tensor> non_trainable_weights() const { return impl().non_trainable_weights(); }
  std::string repr() const { return impl().repr(); }
  bool defined() const { return impl_ != nullptr; }
  LayerImpl& impl() const;
  const std::shared_ptr<LayerImpl>& impl_ptr() const { return impl_; }

 protected:
  template <class T>
  T& impl_as() const {
    return static_cast<T&>(impl());
  }

 private:
  std::shared_ptr<LayerImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Layer& layer);

}  // namespace tg
