#include "tapegrad/layers/gradcheck.hpp"

#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/checks/central_difference.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

using detail::element;

std::string index_str(std::int64_t flat, const Shape& shape) { return detail::index_str(detail::unravel(flat, shape)); }

std::string who(const Ref<Layer>& layer) {
  return "gradcheck(" + layer->name() + " (" + layer->class_name() + "))";
}

}  // namespace

GradcheckResult gradcheck(const Ref<Layer>& layer, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  if (!is_floating(o.dtype)) throw std::invalid_argument(who(layer) + ": options.dtype must be float32 or float64");
  if (!(o.eps > 0)) throw std::invalid_argument(who(layer) + ": eps must be positive");
  if (!o.requires_grad.empty() && o.requires_grad.size() != inputs.size())
    throw std::invalid_argument(who(layer) + ": requires_grad has " + std::to_string(o.requires_grad.size()) +
                                " entries for " + std::to_string(inputs.size()) + " inputs");
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
    if (!inputs[i].defined())
      throw std::invalid_argument(who(layer) + ": input " + std::to_string(i) + " is undefined");
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

  Tensor u;
  std::vector<Tensor> analytic, again;
  {
    GradientTape tape(/*persistent=*/true);  // trainable weights are watched automatically
    Tensor y = f(xs);
    u = randn(y.shape(), o.seed, y.dtype());
    analytic = tape.gradient(y, weights, u);
    if (o.check_determinism) again = tape.gradient(y, weights, u);
  }
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const Tensor& w = weights[k];
    const GradcheckInputReport rep = detail::compare_with_central_differences(
        w, analytic[k],
        [&] {
          NoGradGuard no_grad;
          return detail::project(u, f(xs));
        },
        o);
    if (!rep.passed) {
      std::ostringstream msg;
      msg << std::setprecision(10) << "weight '" << w.name() << "': element " << detail::index_str(rep.worst_index)
          << " analytic " << rep.analytic << " vs numeric " << rep.numeric << " (abs error " << rep.abs_error << ")";
      result.failures.push_back(msg.str());
    }
    if (o.check_determinism)
      if (std::int64_t j = detail::first_difference(analytic[k], again[k]); j >= 0)
        result.failures.push_back("weight '" + w.name() +
                                  "': a second gradient() call gave a different value at element " +
                                  index_str(j, w.shape()) + " (nondeterministic backward)");
  }
  if (o.check_accumulation) {
    // The layer used twice in one graph: each weight's gradient must double.
    std::vector<Tensor> twice;
    {
      GradientTape tape;
      Tensor y1 = f(xs), y2 = f(xs);
      twice = tape.gradient(add(sum(mul(y1, u)), sum(mul(y2, u))), weights);
    }
    for (std::size_t k = 0; k < weights.size(); ++k)
      if (std::int64_t j = detail::first_not_doubled(analytic[k], twice[k]); j >= 0) {
        std::ostringstream msg;
        msg << std::setprecision(10) << "weight '" << weights[k].name() << "': with the layer used twice the gradient at "
            << index_str(j, weights[k].shape()) << " is " << element(twice[k], j) << ", expected twice "
            << element(analytic[k], j) << " (gradients must be added, not assigned)";
        result.failures.push_back(msg.str());
      }
  }
  result.passed = result.failures.empty();
  return result;
}

GradcheckResult gradcheck(const Ref<Layer>& layer, const Tensor& input, const GradcheckOptions& options) {
  return gradcheck(layer, std::vector<Tensor>{input}, options);
}

}  // namespace tg
