#include "tapegrad/models/model.hpp"

#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/autodiff/format.hpp"

namespace tg {

using detail::batch_shape_str;

// ---- Model: a graph of layer calls (training is in training.cpp) -------------------

Model::Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
             const std::string& name)
    : Layer("Functional", name), inputs_(inputs), outputs_(outputs) {
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

std::vector<Tensor> Model::call(const std::vector<Tensor>& inputs, bool training) {
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

std::vector<std::pair<Shape, DType>> Model::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].shape() != inputs_[i].shape() || inputs[i].dtype() != inputs_[i].dtype())
      throw std::invalid_argument(name() + ": input " + std::to_string(i) + " expects " +
                                  batch_shape_str(inputs_[i].shape()) + " " + dtype_name(inputs_[i].dtype()) +
                                  ", received " + inputs[i].shape_str() + " " + dtype_name(inputs[i].dtype()));
  std::vector<std::pair<Shape, DType>> specs;
  for (const SymbolicTensor& out : outputs_) specs.emplace_back(out.shape(), out.dtype());
  return specs;
}

std::vector<std::shared_ptr<Layer>> Model::sublayers() const {
  std::vector<std::shared_ptr<Layer>> layers;
  std::unordered_set<const Layer*> seen;
  for (const auto& node : nodes_)
    if (seen.insert(node->layer.get()).second) layers.push_back(node->layer);
  return layers;
}

Model::Model(const std::vector<SymbolicTensor>& inputs, const SymbolicTensor& output, const std::string& name)
    : Model(inputs, std::vector<SymbolicTensor>{output}, name) {}

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, const std::string& name)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, name) {}

Model::Model(std::string class_name, std::string name) : Layer(std::move(class_name), std::move(name)) {}

const std::vector<SymbolicTensor>& Model::inputs() const {
  if (functional()) return inputs_;
  throw std::logic_error(name() + ": a Sequential model has no symbolic inputs");
}

const std::vector<SymbolicTensor>& Model::outputs() const {
  if (functional()) return outputs_;
  throw std::logic_error(name() + ": a Sequential model has no symbolic outputs");
}

std::vector<Ref<Layer>> Model::layers() const {
  std::vector<Ref<Layer>> out;
  for (const auto& l : sublayers()) out.emplace_back(l);
  return out;
}

Ref<Layer> Model::get_layer(const std::string& name) const {
  std::string known;
  for (const Ref<Layer>& l : layers()) {
    if (l->name() == name) return l;
    known += (known.empty() ? "" : ", ") + l->name();
  }
  throw std::invalid_argument(this->name() + ": no layer named '" + name + "' (layers: " + known + ")");
}

// ---- Sequential ----------------------------------------------------------------------

Sequential::Sequential(std::vector<Ref<Layer>> layers, const std::string& name) : Model("Sequential", name) {
  for (const Ref<Layer>& l : layers) add(l);
}

void Sequential::add(const Ref<Layer>& layer) {
  if (!layer) throw std::invalid_argument(this->name() + ": cannot add an undefined layer");
  if (layer->min_inputs() > 1)
    throw std::invalid_argument(this->name() + ": " + layer->name() + " (" + layer->class_name() + ") takes " +
                                std::to_string(layer->min_inputs()) +
                                " inputs; a Sequential layer gets exactly one (use the functional Model)");
  layers_.push_back(layer);
}

void Sequential::build(const std::vector<Shape>& input_shapes) {
  input_shape_ = input_shapes.at(0);
  has_input_shape_ = true;
}

std::vector<Tensor> Sequential::call(const std::vector<Tensor>& inputs, bool training) {
  if (layers_.empty()) throw std::invalid_argument(name() + ": the model has no layers");
  last_input_dtype_ = inputs[0].dtype();
  std::vector<Tensor> x = inputs;
  for (const Ref<Layer>& layer : layers_) {
    x = layer->run(x, training);
    if (x.size() != 1)
      throw std::invalid_argument(name() + ": " + layer->name() + " returned " + std::to_string(x.size()) +
                                  " outputs; each layer of a Sequential must return one");
  }
  return x;
}

// Not Model's (a graph's outputs): the stack is run on one zero sample.
std::vector<std::pair<Shape, DType>> Sequential::compute_output_spec(const std::vector<SymbolicTensor>& inputs) {
  return Layer::compute_output_spec(inputs);
}

std::vector<std::shared_ptr<Layer>> Sequential::sublayers() const {
  return std::vector<std::shared_ptr<Layer>>(layers_.begin(), layers_.end());
}

}  // namespace tg
