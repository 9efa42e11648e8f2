// Layers, Keras style: hyperparameters in the constructor, weights created on
// the first call (`build`, through `add_weight`), the computation in `call`.
//
//   auto dense = tg::layers::Dense::make(3, "relu");  // a tg::Ref<Dense>
//   tg::Tensor y = dense(x);              // builds a (x.dim(-1), 3) kernel, then computes
//   tg::Tensor z = dense(other);          // the same weights: calling a layer twice shares them
//
// One class per layer: a layer is a subclass of tg::Layer, shared by
// reference in a tg::Ref (a std::shared_ptr that adds the call syntax), so
// copying the Ref (into a Sequential, a vector, a lambda) shares the same
// layer and weights, like a Python reference. A custom layer is one subclass
// overriding build and call, made with tg::make_layer<MyLayer>(...)
// (docs/layers.md).
//
// Symbolic use (the functional API): `tg::Input(shape)` gives a SymbolicTensor,
// a shape without data whose batch dimension is left open; calling a layer on
// symbolic tensors records the call (a node of the layer graph) instead of
// computing, and tg::Model::make(inputs, outputs) turns the graph into a model.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/layers/initializers.hpp"
#include "tapegrad/layers/regularizers.hpp"

namespace tg {

class Layer;
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
  std::shared_ptr<Layer> layer;
  std::vector<SymbolicTensor> inputs;
  std::vector<std::pair<Shape, DType>> output_specs;  // per-sample shapes and dtypes
};

// ---- seeds ----------------------------------------------------------------------

// (Initializers and regularizers: layers/initializers.hpp, layers/regularizers.hpp.)
// Seeds the source from which every layer created afterwards draws its own
// seed (weights initialization, dropout masks): the same seed and the same
// order of layer creation give bit-identical models.
void set_seed(std::uint64_t seed);

// ---- layers -------------------------------------------------------------------

// A layer: the one base class of Dense, Dot, Model, ... and of custom layers.
// Subclasses override build (create weights with add_weight), call (compute)
// and, when they can say it without computing, compute_output_spec.
//
// Layers are shared by reference, as Keras's: one object called at several
// places (graph nodes, a Sequential, user code) is one set of weights. So a
// layer lives in a std::shared_ptr (a tg::Ref, below), made by the layer's
// static make() or by tg::make_layer<MyLayer>(args...); it cannot be copied.
class Layer : public std::enable_shared_from_this<Layer> {
 public:
  // `class_name` is the type shown by repr() and summary(); `name` defaults to a
  // unique snake_case name derived from it ("dense", "dense_1", ...).
  explicit Layer(std::string class_name, std::string name = "");
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

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
  virtual std::vector<std::shared_ptr<Layer>> sublayers() const { return {}; }
  // How many inputs call() accepts; -1 for "any number >= min".
  virtual int min_inputs() const { return 1; }
  virtual int max_inputs() const { return 1; }

  // Concrete call, one input / several inputs; the layer must have one output.
  // `training` switches layers such as Dropout to their training behaviour.
  Tensor operator()(const Tensor& input, bool training = false);
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false);
  // All outputs, for layers (models) with several.
  std::vector<Tensor> call_all(const std::vector<Tensor>& inputs, bool training = false);
  // Symbolic call: records a node of the layer graph. The node keeps the layer
  // alive, so the layer must be owned by a std::shared_ptr (made with make()
  // or tg::make_layer); otherwise this throws std::logic_error.
  SymbolicTensor operator()(const SymbolicTensor& input);
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs);
  std::vector<SymbolicTensor> call_all(const std::vector<SymbolicTensor>& inputs);

  // Builds if needed, checks the number of inputs, calls. What operator() runs.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, bool training);
  // Records a node for symbolic inputs and returns its outputs.
  std::vector<SymbolicTensor> run_symbolic(const std::vector<SymbolicTensor>& inputs);

  // A new weight named "<layer name>/<name>", made by `initializer` from this
  // layer's generator. Trainable weights are tg::Variables. Without a dtype
  // the weight takes the layer's: the dtype of the input that built it when
  // that is floating, float32 otherwise (Keras's float32 policy), so a custom
  // layer first called on float64 data (a gradcheck) gets float64 weights.
  // A `regularizer` adds regularizer(weight) to losses() while the weight is
  // trainable (Keras's add_weight(regularizer=...)).
  Tensor add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                    bool trainable = true, std::optional<DType> dtype = std::nullopt,
                    const Regularizer& regularizer = {});

  // Keras's `self.add_loss(value)`: a penalty (an activity or weight
  // regularization) for the training objective, called from build() or call().
  // A value of any shape counts as its sum (Keras's _aggregate_additional_loss).
  // The losses of a call replace those of the previous one: the outermost
  // layer call (the model's, in fit) clears them for itself and its sublayers
  // first, as Keras 3's entry layer does. fit, train_on_batch and evaluate add
  // the sum of model.losses() to the compiled loss, in training and in
  // inference alike (Keras's compute_loss); a custom loop adds them itself:
  //   tg::Tensor loss = loss_fn(y, model(x, true));
  //   for (const tg::Tensor& extra : model->losses()) loss = loss + tg::sum(extra);
  // Throws outside a layer call (the value would be dropped by the next call
  // without ever counting) and for an undefined or non-floating value.
  void add_loss(const Tensor& loss);
  // The add_loss values of the latest call (this layer's, then its
  // sublayers', each layer once, in the order they were added), then the
  // penalties of the regularized trainable weights, computed now (Keras's
  // `layer.losses`).
  std::vector<Tensor> losses() const;
  // Keras's activity_regularizer: each call adds regularizer(output) / batch
  // for each floating output, with add_loss. Empty (the default): none.
  void set_activity_regularizer(Regularizer regularizer) { activity_regularizer_ = std::move(regularizer); }
  const Regularizer& activity_regularizer() const { return activity_regularizer_; }

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool built() const { return built_; }
  // This layer's own weights followed by its sublayers' (each once), in creation order.
  std::vector<Tensor> weights() const;
  std::vector<Tensor> trainable_weights() const;
  std::vector<Tensor> non_trainable_weights() const;
  // Keras's `layer.trainable = False`: freezes every weight of this layer and
  // of its sublayers (they leave trainable_weights(), tapes stop watching them,
  // fit() stops updating them; summary() counts them as non-trainable).
  // set_trainable(true) gives each weight back the trainability add_weight
  // gave it (a BatchNormalization's moving statistics stay non-trainable).
  // A frozen BatchNormalization runs in inference mode, as Keras 3's.
  void set_trainable(bool trainable);
  bool trainable() const { return trainable_; }
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
  bool trainable_ = true;
  std::vector<Tensor> own_weights_;
  std::vector<bool> own_weights_trainable_;  // as add_weight was asked, whatever set_trainable does
  std::vector<Regularizer> own_weights_regularizer_;
  std::vector<Tensor> own_losses_;
  Regularizer activity_regularizer_;
  // The outermost call during which own_losses_ were added; a layer running in
  // a later one drops them first, even one its owner does not list in
  // sublayers() (which the entry layer's clearing cannot reach).
  std::uint64_t losses_call_ = 0;
  void clear_losses();
  Generator generator_;
};

std::ostream& operator<<(std::ostream& os, const Layer& layer);

// A shared layer: a std::shared_ptr<T> that is also called like a Keras layer,
// `dense(x)`, `merge({a, b})`, while members are reached through it as
// through any pointer, `dense->kernel()`, `model->fit(...)`. Ref<Derived>
// converts to Ref<Layer> and to std::shared_ptr. Calling an empty Ref throws
// std::logic_error.
template <class T>
class Ref : public std::shared_ptr<T> {
 public:
  Ref() = default;
  Ref(std::nullptr_t) {}  // NOLINT: an empty Ref, as shared_ptr
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(std::shared_ptr<U> layer) : std::shared_ptr<T>(std::move(layer)) {}  // NOLINT: Ref<Dense> -> Ref<Layer>

  Tensor operator()(const Tensor& input, bool training = false) const { return layer()(input, training); }
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false) const {
    return layer()(inputs, training);
  }
  SymbolicTensor operator()(const SymbolicTensor& input) const { return layer()(input); }
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) const { return layer()(inputs); }

 private:
  T& layer() const {
    if (!*this) throw std::logic_error("Layer: the layer is undefined (default-constructed)");
    return **this;
  }
};

template <class T>
std::ostream& operator<<(std::ostream& os, const Ref<T>& layer) {
  if (!layer) return os << "Layer(undefined)";
  return os << *layer;
}

// A custom layer (a subclass of tg::Layer) in a Ref: make_layer<Scale>(2.0).
template <class T, class... Args>
  requires std::is_base_of_v<Layer, T>
Ref<T> make_layer(Args&&... args) {
  return Ref<T>(std::make_shared<T>(std::forward<Args>(args)...));
}

}  // namespace tg
