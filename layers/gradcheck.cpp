#include "tapegrad/layers/gradcheck.hpp"

#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/checks/central_difference.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

std::string who(const Ref<Layer>& layer) {
  return "gradcheck(" + layer->name() + " (" + layer->class_name() + "))";
}

}  // namespace

GradcheckResult gradcheck(const Ref<Layer>& layer, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  detail::validate_gradcheck_options(o, inputs, who(layer));
  // The layer as a function of its inputs: one tensor (several outputs are
  // flattened and concatenated), in inference mode.
  TensorFunction f = [layer](const std::vector<Tensor>& xs) -> Tensor {
    std::vector<Tensor> outs = layer->call_all(xs, /*training=*/false);
    if (outs.size() == 1) return outs[0];
    std::vector<Tensor> flat;
    for (const Tensor& y : outs) flat.push_back(reshape(y, {y.numel()}));
    return concat(flat, 0);
  };

  std::vector<Tensor> xs;
  bool any_input = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    xs.push_back(inputs[i].is_floating() ? inputs[i].to(o.dtype) : inputs[i]);
    if (inputs[i].is_floating() && (o.requires_grad.empty() || o.requires_grad[i])) any_input = true;
  }
  auto check_dtypes = [&](const std::vector<Tensor>& weights) {
    for (const Tensor& w : weights)
      if (w.dtype() != o.dtype)
        throw std::invalid_argument(
            who(layer) + ": weight '" + w.name() + "' is " + dtype_name(w.dtype()) + " but the check runs in " +
            dtype_name(o.dtype) +
            "; weights take the dtype of a layer's first input: check a fresh layer (its first call here builds " +
            dtype_name(o.dtype) + " weights), build models on tg::Input(shape, tg::" + dtype_name(o.dtype) +
            "), give an Embedding dtype=tg::" + dtype_name(o.dtype));
  };
  check_dtypes(layer->trainable_weights());  // a built layer: before calling it on converted inputs
  {
    NoGradGuard no_grad;  // builds the layer (with o.dtype weights if it is fresh)
    f(xs);
  }
  const std::vector<Tensor> weights = layer->trainable_weights();
  check_dtypes(weights);
  if (!any_input && weights.empty())
    throw std::invalid_argument(who(layer) + ": nothing to check: no floating input requires a gradient and the "
                                "layer has no trainable weight");

  GradcheckResult result;
  if (any_input) {
    result = gradcheck(f, xs, o);
  } else {
    result.inputs.resize(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) result.inputs[i].input = i;
  }
  if (weights.empty()) return result;

  std::vector<std::string> labels;
  for (const Tensor& w : weights) labels.push_back("weight '" + w.name() + "'");
  detail::check_captured(f, xs, weights, labels, "the layer", o, result);
  return result;
}

GradcheckResult gradcheck(const Ref<Layer>& layer, const Tensor& input, const GradcheckOptions& options) {
  return gradcheck(layer, std::vector<Tensor>{input}, options);
}

}  // namespace tg
