// The layer graphs behind Model and Sequential (private to models/).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tapegrad/layers/layer.hpp"

namespace tg::detail {

// A functional model: the nodes between its inputs and outputs, in an order in
// which every node comes after the nodes it reads from.
class FunctionalImpl : public LayerImpl {
 public:
  FunctionalImpl(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name);

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  std::vector<std::shared_ptr<LayerImpl>> sublayers() const override;
  int min_inputs() const override { return static_cast<int>(inputs_.size()); }
  int max_inputs() const override { return static_cast<int>(inputs_.size()); }

  const std::vector<SymbolicTensor>& inputs() const { return inputs_; }
  const std::vector<SymbolicTensor>& outputs() const { return outputs_; }
  const std::vector<std::shared_ptr<LayerNode>>& nodes() const { return nodes_; }

 private:
  std::vector<SymbolicTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<LayerNode>> nodes_;
};

// A stack of layers, each taking the previous one's single output.
class SequentialImpl : public LayerImpl {
 public:
  SequentialImpl(std::vector<Layer> layers, std::string name);

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::shared_ptr<LayerImpl>> sublayers() const override;
  void add(const Layer& layer);
  const std::vector<Layer>& layers() const { return layers_; }
  // The per-sample input shape seen at the first call (empty rank -1 before).
  bool has_input_shape() const { return has_input_shape_; }
  const Shape& input_shape() const { return input_shape_; }
  DType input_dtype() const { return input_dtype_; }
  void build(const std::vector<Shape>& input_shapes) override;

 private:
  std::vector<Layer> layers_;
  bool has_input_shape_ = false;
  Shape input_shape_;
  DType input_dtype_ = DType::float32;
};

}  // namespace tg::detail
