#include "graph.hpp"

#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/models/model.hpp"

namespace tg {

namespace detail {

FunctionalImpl::FunctionalImpl(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs,
                               std::string name)
    : LayerImpl("Functional", std::move(name)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
  if (inputs_.empty()) throw std::invalid_argument("Model: expected at least one input, received none");
  if (outputs_.empty()) throw std::invalid_argument("Model: expected at least one output, received none");
  std::unordered_set<const void*> input_ids;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    if (!inputs_[i].defined()) throw std::invalid_argument("Model: input " + std::to_string(i) + " is undefined");
    if (inputs_[i].node())
      throw std::invalid_argument("Model: input " + std::to_string(i) + " ('" + inputs_[i].name() +
                                  "') is the output of a layer; model inputs must come from tg::Input()");
    if (!input_ids.insert(inputs_[i].id()).second)
      throw std::invalid_argument("Model: input '" + inputs_[i].name() + "' is listed twice");
  }
  // Post-order walk from the outputs (an explicit stack: no recursion).
  std::unordered_set<const LayerNode*> done, on_stack;
  std::vector<std::pair<std::shared_ptr<LayerNode>, std::size_t>> stack;
  auto visit_tensor = [&](const SymbolicTensor& t) {
    if (!t.defined()) throw std::invalid_argument("Model: an output is undefined");
    if (!t.node()) {
      if (!input_ids.count(t.id()))
        throw std::invalid_argument("Model: the outputs depend on the input '" + t.name() +
                                    "', which is not among the model's inputs");
      return;
    }
    if (!done.count(t.node().get()) && !on_stack.count(t.node().get())) {
      stack.emplace_back(t.node(), 0);
      on_stack.insert(t.node().get());
    }
  };
  for (const SymbolicTensor& out : outputs_) {
    visit_tensor(out);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const SymbolicTensor& in = node->inputs[next++];
        visit_tensor(in);
        continue;
      }
      done.insert(node.get());
      on_stack.erase(node.get());
      nodes_.push_back(node);
      stack.pop_back();
    }
  }
  set_built();
}

std::vector<Tensor> FunctionalImpl::call(const std::vector<Tensor>& inputs, bool training) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const SymbolicTensor& spec = inputs_[i];
    Shape per_sample = inputs[i].shape();
    per_sample.erase(0);
    if (per_sample != spec.shape())
      throw std::invalid_argument(name() + ": input " + std::to_string(i) + " ('" + spec.name() + "') expects shape " +
                                  batch_shape_str(spec.shape()) + ", received " + inputs[i].shape().str());
    if (inputs[i].dtype() != spec.dtype())
      throw std::invalid_argument(name() + ": input " + std::to_string(i) + " ('" + spec.name() + "') expects dtype " +
                                  dtype_name(spec.dtype()) + ", received " + dtype_name(inputs[i].dtype()));
  }
  std::unordered_map<const void*, Tensor> values;  // symbolic input id -> tensor
  for (std::size_t i = 0; i < inputs.size(); ++i) values[inputs_[i].id()] = inputs[i];
  std::unordered_map<const LayerNode*, std::vector<Tensor>> node_outputs;
  auto value_of = [&](const SymbolicTensor& s) -> const Tensor& {
    if (!s.node()) return values.at(s.id());
    return node_outputs.at(s.node().get()).at(static_cast<std::size_t>(s.output_index()));
  };
  for (const auto& node : nodes_) {
    std::vector<Tensor> xs;
    xs.reserve(node->inputs.size());
    for (const SymbolicTensor& s : node->inputs) xs.push_back(value_of(s));
    node_outputs[node.get()] = node->layer->run(xs, training);
  }
  std::vector<Tensor> outs;
  for (const SymbolicTensor& s : outputs_) outs.push_back(value_of(s));
  return outs;
}

std::vector<std::pair<Shape, DType>> FunctionalImpl::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].shape() != inputs_[i].shape() || inputs[i].dtype() != inputs_[i].dtype())
      throw std::invalid_argument(name() + ": input " + std::to_string(i) + " expects " +
                                  batch_shape_str(inputs_[i].shape()) + " " + dtype_name(inputs_[i].dtype()) +
                                  ", received " + inputs[i].shape_str() + " " + dtype_name(inputs[i].dtype()));
  std::vector<std::pair<Shape, DType>> specs;
  for (const SymbolicTensor& out : outputs_) specs.emplace_back(out.shape(), out.dtype());
  return specs;
}

std::vector<std::shared_ptr<LayerImpl>> FunctionalImpl::sublayers() const {
  std::vector<std::shared_ptr<LayerImpl>> layers;
  std::unordered_set<const LayerImpl*> seen;
  for (const auto& node : nodes_)
    if (seen.insert(node->layer.get()).second) layers.push_back(node->layer);
  return layers;
}

SequentialImpl::SequentialImpl(std::vector<Layer> layers, std::string name)
    : LayerImpl("Sequential", std::move(name)) {
  for (const Layer& l : layers) add(l);
}

void SequentialImpl::add(const Layer& layer) {
  if (!layer.defined()) throw std::invalid_argument(this->name() + ": cannot add an undefined layer");
  if (layer.impl().min_inputs() > 1)
    throw std::invalid_argument(this->name() + ": " + layer.name() + " (" + layer.impl().class_name() + ") takes " +
                                std::to_string(layer.impl().min_inputs()) +
                                " inputs; a Sequential layer gets exactly one (use the functional Model)");
  layers_.push_back(layer);
}

void SequentialImpl::build(const std::vector<Shape>& input_shapes) {
  input_shape_ = input_shapes.at(0);
  has_input_shape_ = true;
}

std::vector<Tensor> SequentialImpl::call(const std::vector<Tensor>& inputs, bool training) {
  if (layers_.empty()) throw std::invalid_argument(name() + ": the model has no layers");
  input_dtype_ = inputs[0].dtype();
  std::vector<Tensor> x = inputs;
  for (const Layer& layer : layers_) {
    x = layer.impl().run(x, training);
    if (x.size() != 1)
      throw std::invalid_argument(name() + ": " + layer.name() + " returned " + std::to_string(x.size()) +
                                  " outputs; each layer of a Sequential must return one");
  }
  return x;
}

std::vector<std::shared_ptr<LayerImpl>> SequentialImpl::sublayers() const {
  std::vector<std::shared_ptr<LayerImpl>> out;
  for (const Layer& l : layers_) out.push_back(l.impl_ptr());
  return out;
}

}  // namespace detail

// ---- Model / Sequential handles (graph side; training is in training.cpp) --------

Model::Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
             const std::string& name)
    : Layer(std::make_shared<detail::FunctionalImpl>(inputs, outputs, name)) {}

Model::Model(const std::vector<SymbolicTensor>& inputs, const SymbolicTensor& output, const std::string& name)
    : Model(inputs, std::vector<SymbolicTensor>{output}, name) {}

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, const std::string& name)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, name) {}

Model::Model(std::shared_ptr<LayerImpl> impl) : Layer(std::move(impl)) {}

namespace {

const detail::FunctionalImpl* functional(const Layer& model) {
  return dynamic_cast<const detail::FunctionalImpl*>(&model.impl());
}

}  // namespace

const std::vector<SymbolicTensor>& Model::inputs() const {
  if (const auto* f = functional(*this)) return f->inputs();
  throw std::logic_error(name() + ": a Sequential model has no symbolic inputs");
}

const std::vector<SymbolicTensor>& Model::outputs() const {
  if (const auto* f = functional(*this)) return f->outputs();
  throw std::logic_error(name() + ": a Sequential model has no symbolic outputs");
}

std::vector<Layer> Model::layers() const {
  std::vector<Layer> out;
  for (const auto& l : impl().sublayers()) out.emplace_back(l);
  return out;
}

Layer Model::get_layer(const std::string& name) const {
  std::string known;
  for (const Layer& l : layers()) {
    if (l.name() == name) return l;
    known += (known.empty() ? "" : ", ") + l.name();
  }
  throw std::invalid_argument(this->name() + ": no layer named '" + name + "' (layers: " + known + ")");
}

Sequential::Sequential(std::vector<Layer> layers, const std::string& name)
    : Model(std::make_shared<detail::SequentialImpl>(std::move(layers), name)) {}

void Sequential::add(const Layer& layer) { static_cast<detail::SequentialImpl&>(impl()).add(layer); }

}  // namespace tg
