#include "tapegrad/layers/layer.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <ostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tg {

// ---- symbolic tensors ---------------------------------------------------------

struct SymbolicTensor::Impl {
  Shape shape;
  DType dtype = DType::float32;
  std::string name;
  std::shared_ptr<LayerNode> node;
  int index = 0;
};

namespace {

const SymbolicTensor::Impl& checked(const std::shared_ptr<SymbolicTensor::Impl>& impl) {
  if (!impl) throw std::logic_error("SymbolicTensor: the symbolic tensor is undefined (default-constructed)");
  return *impl;
}

}  // namespace

const Shape& SymbolicTensor::shape() const { return checked(impl_).shape; }
DType SymbolicTensor::dtype() const { return checked(impl_).dtype; }
const std::string& SymbolicTensor::name() const { return checked(impl_).name; }
std::string SymbolicTensor::shape_str() const { return detail::batch_shape_str(shape()); }
const std::shared_ptr<LayerNode>& SymbolicTensor::node() const { return checked(impl_).node; }
int SymbolicTensor::output_index() const { return checked(impl_).index; }

namespace {

// Unique, readable names: "dense", "dense_1", ... per base name, as Keras.
std::string unique_name(const std::string& base) {
  static std::mutex mutex;
  static std::map<std::string, int> counts;
  std::lock_guard<std::mutex> lock(mutex);
  int n = counts[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

// Keras's default layer names (keras.src.utils.naming.to_snake_case): drop
// non-word characters, split before a capitalised word, then between a lower-
// case letter and a capital. "Conv2D" -> "conv2d", "MaxPooling2D" ->
// "max_pooling2d", "LSTM" -> "lstm", "Conv1DTranspose" -> "conv1d_transpose".
std::string snake_case(const std::string& name) {
  static const std::regex non_word(R"(\W+)"), capitalised_word("(.)([A-Z][a-z]+)"), lower_upper("([a-z])([A-Z])");
  std::string out = std::regex_replace(name, non_word, "");
  out = std::regex_replace(out, capitalised_word, "$1_$2");
  out = std::regex_replace(out, lower_upper, "$1_$2");
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

SymbolicTensor Input(const Shape& shape, DType dtype, const std::string& name) {
  // A batch of one must be possible: building a model runs its layers on one.
  checked_byte_size(shape, dtype, (name.empty() ? std::string("Input") : "Input '" + name + "'") + " (one sample)");
  auto impl = std::make_shared<SymbolicTensor::Impl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->name = name.empty() ? unique_name("input_layer") : name;
  return SymbolicTensor(std::move(impl));
}

// ---- initializers and seeds ---------------------------------------------------

namespace {

std::mutex seed_mutex;
Generator& seed_source() {
  static Generator source(0);
  return source;
}

std::uint64_t next_layer_seed() {
  std::lock_guard<std::mutex> lock(seed_mutex);
  return seed_source().next_u64();
}

}  // namespace

void set_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(seed_mutex);
  seed_source() = Generator(seed);
}


// ---- Layer --------------------------------------------------------------------

Layer::Layer(std::string class_name, std::string name)
    : class_name_(std::move(class_name)),
      name_(name.empty() ? unique_name(snake_case(class_name_)) : std::move(name)),
      generator_(next_layer_seed()) {}

void Layer::build(const std::vector<Shape>&) {}

namespace {

std::string count_error(const Layer& layer, std::size_t received) {
  std::string expected = layer.min_inputs() == layer.max_inputs()
                             ? std::to_string(layer.min_inputs())
                             : (layer.max_inputs() < 0 ? "at least " + std::to_string(layer.min_inputs())
                                                       : std::to_string(layer.min_inputs()) + " to " +
                                                             std::to_string(layer.max_inputs()));
  return layer.name() + " (" + layer.class_name() + "): expected " + expected + " input" +
         (expected == "1" ? "" : "s") + ", received " + std::to_string(received);
}

void check_count(const Layer& layer, std::size_t n) {
  const auto count = static_cast<int>(n);
  if (count < layer.min_inputs() || (layer.max_inputs() >= 0 && count > layer.max_inputs()))
    throw std::invalid_argument(count_error(layer, n));
}

// Layer calls in progress on this thread, and a count of outermost calls:
// add_loss needs to know whether it runs inside a call, and which one.
thread_local int call_depth = 0;
thread_local std::uint64_t outermost_calls = 0;

struct CallScope {
  CallScope() { ++call_depth; }
  ~CallScope() { --call_depth; }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;
};

}  // namespace

std::vector<Tensor> Layer::run(const std::vector<Tensor>& inputs, bool training) {
  if (call_depth == 0) {  // the entry layer (Keras 3's CallContext.entry_layer)
    ++outermost_calls;
    clear_losses();
  }
  CallScope scope;
  if (losses_call_ != outermost_calls) {
    own_losses_.clear();
    losses_call_ = outermost_calls;
  }
  check_count(*this, inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined())
      throw std::invalid_argument(name_ + " (" + class_name_ + "): input " + std::to_string(i) + " is undefined");
    if (inputs[i].rank() == 0)
      throw std::invalid_argument(name_ + " (" + class_name_ + "): input " + std::to_string(i) +
                                  " is 0-d; layers take a batch: shape (batch, ...)");
  }
  if (!built_) {
    input_dtype_ = inputs[0].dtype();
    std::vector<Shape> shapes;
    for (const Tensor& x : inputs) {
      Shape s = x.shape();
      s.erase(0);
      shapes.push_back(s);
    }
    build(shapes);
    built_ = true;
  }
  std::vector<Tensor> outputs = call(inputs, training);
  if (activity_regularizer_)
    for (const Tensor& y : outputs)
      if (y.defined() && y.is_floating()) {
        Tensor penalty = activity_regularizer_(y);
        // Keras 3.14+ divides by the batch size (divide_no_nan: 0 for an empty batch).
        if (y.rank() > 0) penalty = y.dim(0) > 0 ? penalty / static_cast<double>(y.dim(0)) : scalar_like(penalty, 0.0);
        add_loss(penalty);
      }
  return outputs;
}

std::vector<std::pair<Shape, DType>> Layer::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  std::vector<Tensor> zeros_batch;
  for (const SymbolicTensor& s : inputs) {
    Shape shape = s.shape();
    shape.insert(0, 1);
    zeros_batch.push_back(zeros(shape, s.dtype()));
  }
  std::vector<Tensor> outputs;
  {
    NoGradGuard no_grad;
    outputs = run(zeros_batch, /*training=*/false);
  }
  std::vector<std::pair<Shape, DType>> specs;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& y = outputs[i];
    if (y.rank() == 0 || y.dim(0) != 1)
      throw std::invalid_argument(name_ + " (" + class_name_ + "): output " + std::to_string(i) + " has shape " +
                                  y.shape().str() + " for a batch of 1; a layer must keep the batch dimension first");
    Shape s = y.shape();
    s.erase(0);
    specs.emplace_back(s, y.dtype());
  }
  return specs;
}

std::vector<SymbolicTensor> Layer::run_symbolic(const std::vector<SymbolicTensor>& inputs) {
  check_count(*this, inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined())
      throw std::invalid_argument(name_ + " (" + class_name_ + "): symbolic input " + std::to_string(i) +
                                  " is undefined");
  // The node owns its layer, so the layer must already be owned by a shared_ptr.
  std::shared_ptr<Layer> self = weak_from_this().lock();
  if (!self)
    throw std::logic_error(name_ + " (" + class_name_ +
                           "): a layer called on symbolic tensors must be owned by a std::shared_ptr: create it "
                           "with its make() or tg::make_layer<T>(...)");
  // Build here, not only inside the default compute_output_spec (which runs
  // the layer): a layer overriding compute_output_spec must get its weights too.
  if (!built_) {
    input_dtype_ = inputs[0].dtype();
    std::vector<Shape> shapes;
    for (const SymbolicTensor& s : inputs) shapes.push_back(s.shape());
    CallScope scope;  // build() may add_loss, as in a concrete call
    build(shapes);
    built_ = true;
  }
  auto node = std::make_shared<LayerNode>();
  node->layer = std::move(self);
  node->inputs = inputs;
  node->output_specs = compute_output_spec(inputs);
  std::vector<SymbolicTensor> outputs;
  for (std::size_t i = 0; i < node->output_specs.size(); ++i) {
    auto impl = std::make_shared<SymbolicTensor::Impl>();
    impl->shape = node->output_specs[i].first;
    impl->dtype = node->output_specs[i].second;
    impl->name = name_ + (node->output_specs.size() > 1 ? ":" + std::to_string(i) : "");
    impl->node = node;
    impl->index = static_cast<int>(i);
    outputs.emplace_back(std::move(impl));
  }
  return outputs;
}

Tensor Layer::add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                         bool trainable, std::optional<DType> requested, const Regularizer& regularizer) {
  const DType dtype = requested ? *requested : is_floating(input_dtype_) ? input_dtype_ : DType::float32;
  if (!is_floating(dtype))
    throw std::invalid_argument(name_ + ": add_weight '" + name + "': weights must be float32 or float64");
  // Checked before the initializer runs, so that the message names the layer
  // and the weight rather than the initializer's factory.
  checked_byte_size(shape, dtype, name_ + ": add_weight '" + name + "'");
  Tensor value = initializer(shape, dtype, generator_);
  if (value.shape() != shape || value.dtype() != dtype)
    throw std::logic_error(name_ + ": add_weight '" + name + "': the initializer returned " + detail::describe(value) +
                           ", expected " + shape.str() + " " + dtype_name(dtype));
  Tensor w = value.clone();
  w.set_name(name_ + "/" + name);
  if (trainable && trainable_) w.set_trainable(true);
  own_weights_.push_back(w);
  own_weights_trainable_.push_back(trainable);
  own_weights_regularizer_.push_back(regularizer);
  return w;
}

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (std::size_t i = 0; i < own_weights_.size(); ++i)
    own_weights_[i].set_trainable(trainable && own_weights_trainable_[i]);
  for (const auto& sub : sublayers()) sub->set_trainable(trainable);
}

std::vector<Tensor> Layer::weights() const {
  std::vector<Tensor> all;
  std::unordered_set<const void*> seen;
  auto add = [&](const Tensor& w) {
    if (seen.insert(w.id()).second) all.push_back(w);
  };
  for (const Tensor& w : own_weights_) add(w);
  for (const auto& sub : sublayers())
    for (const Tensor& w : sub->weights()) add(w);
  return all;
}

void Layer::add_loss(const Tensor& loss) {
  if (call_depth == 0)
    throw std::logic_error(name_ + ": add_loss must be called from build() or call(), during a call of the layer; "
                           "a value added outside a call would be dropped by the next call without counting");
  if (!loss.defined() || !loss.is_floating())
    throw std::invalid_argument(name_ + ": add_loss expects a float32 or float64 tensor, received " +
                                detail::describe(loss));
  own_losses_.push_back(loss);
}

void Layer::clear_losses() {
  own_losses_.clear();
  losses_call_ = outermost_calls;
  for (const auto& sub : sublayers()) sub->clear_losses();
}

std::vector<Tensor> Layer::losses() const {
  // This layer and its sublayers, each once, in weights() order (pre-order).
  std::vector<const Layer*> layers;
  std::unordered_set<const Layer*> seen;
  std::vector<const Layer*> stack{this};
  while (!stack.empty()) {
    const Layer* layer = stack.back();
    stack.pop_back();
    if (!seen.insert(layer).second) continue;
    layers.push_back(layer);
    std::vector<std::shared_ptr<Layer>> subs = layer->sublayers();
    for (auto it = subs.rbegin(); it != subs.rend(); ++it) stack.push_back(it->get());
  }
  std::vector<Tensor> all;
  for (const Layer* layer : layers) all.insert(all.end(), layer->own_losses_.begin(), layer->own_losses_.end());
  std::unordered_set<const void*> regularized;  // a weight shared by two layers counts once
  for (const Layer* layer : layers)
    for (std::size_t i = 0; i < layer->own_weights_.size(); ++i) {
      const Tensor& w = layer->own_weights_[i];
      if (layer->own_weights_regularizer_[i] && w.trainable() && regularized.insert(w.id()).second)
        all.push_back(layer->own_weights_regularizer_[i](w));
    }
  return all;
}

std::vector<Tensor> Layer::trainable_weights() const {
  std::vector<Tensor> out;
  for (const Tensor& w : weights())
    if (w.trainable()) out.push_back(w);
  return out;
}

std::vector<Tensor> Layer::non_trainable_weights() const {
  std::vector<Tensor> out;
  for (const Tensor& w : weights())
    if (!w.trainable()) out.push_back(w);
  return out;
}

std::string Layer::repr() const {
  std::string c = config();
  return class_name_ + "(name=" + name_ + (c.empty() ? "" : ", " + c) + ")";
}

// ---- calls ------------------------------------------------------------------------

namespace {

template <class T>
const T& single(const std::vector<T>& outputs, const Layer& layer) {
  if (outputs.size() != 1)
    throw std::invalid_argument(layer.name() + " (" + layer.class_name() + ") has " + std::to_string(outputs.size()) +
                                " outputs; use call_all() to get all of them");
  return outputs[0];
}

}  // namespace

Tensor Layer::operator()(const Tensor& input, bool training) { return single(run({input}, training), *this); }
Tensor Layer::operator()(const std::vector<Tensor>& inputs, bool training) {
  return single(run(inputs, training), *this);
}
std::vector<Tensor> Layer::call_all(const std::vector<Tensor>& inputs, bool training) {
  return run(inputs, training);
}
SymbolicTensor Layer::operator()(const SymbolicTensor& input) { return single(run_symbolic({input}), *this); }
SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& inputs) {
  return single(run_symbolic(inputs), *this);
}
std::vector<SymbolicTensor> Layer::call_all(const std::vector<SymbolicTensor>& inputs) {
  return run_symbolic(inputs);
}

std::ostream& operator<<(std::ostream& os, const Layer& layer) { return os << layer.repr(); }

}  // namespace tg
