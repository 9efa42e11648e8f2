#include "tapegrad/layers/gradcheck.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

double element(const Tensor& t, std::int64_t i) {
  return dispatch_float(t.dtype(), [&](auto tag) {
    return static_cast<double>(static_cast<const decltype(tag)*>(t.raw_data())[i]);
  });
}

void set_element(const Tensor& t, std::int64_t i, double v) {
  dispatch_float(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(t.raw_data())[i] = static_cast<T>(v);
  });
}

double project(const Tensor& u, const Tensor& y) {
  double s = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) s += element(u, i) * element(y, i);
  return s;
}

std::string index_str(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(shape.rank()));
  for (int d = shape.rank() - 1; d >= 0; --d) {
    index[static_cast<std::size_t>(d)] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (std::size_t i = 0; i < index.size(); ++i) s += (i ? ", " : "") + std::to_string(index[i]);
  return s + "]";
}

std::string who(const Layer& layer) {
  return "gradcheck(" + layer.name() + " (" + layer.impl().class_name() + "))";
}

}  // namespace

GradcheckResult gradcheck(const Layer& layer, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  if (!is_floating(o.dtype)) throw std::invalid_argument(who(layer) + ": options.dtype must be float32 or float64");
  if (!(o.eps > 0)) throw std::invalid_argument(who(layer) + ": eps must be positive");
  if (!o.requires_grad.empty() && o.requires_grad.size() != inputs.size())
    throw std::invalid_argument(who(layer) + ": requires_grad has " + std::to_string(o.requires_grad.size()) +
                                " entries for " + std::to_string(inputs.size()) + " inputs");
  // The layer as a function of its inputs: one tensor (several outputs are
  // flattened and concatenated), in inference mode.
  TensorFunction f = [layer](const std::vector<Tensor>& xs) -> Tensor {
    std::vector<Tensor> outs = layer.call_all(xs, /*training=*/false);
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
  check_dtypes(layer.trainable_weights());  // a built layer: before calling it on converted inputs
  {
    NoGradGuard no_grad;  // builds the layer (with o.dtype weights if it is fresh)
    f(xs);
  }
  const std::vector<Tensor> weights = layer.trainable_weights();
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
    double worst = -1, worst_a = 0, worst_n = 0;
    std::int64_t worst_j = 0;
    for (std::int64_t j = 0; j < w.numel(); ++j) {
      const double original = element(w, j);
      double plus, minus;
      {
        NoGradGuard no_grad;
        set_element(w, j, original + o.eps);
        plus = project(u, f(xs));
        set_element(w, j, original - o.eps);
        minus = project(u, f(xs));
        set_element(w, j, original);
      }
      const double numeric = (plus - minus) / (2 * o.eps);
      const double a = element(analytic[k], j);
      const double err = std::abs(a - numeric);
      const double ratio = std::isnan(err) ? INFINITY : err / (o.atol + o.rtol * std::abs(numeric));
      if (ratio > worst) {
        worst = ratio;
        worst_j = j;
        worst_a = a;
        worst_n = numeric;
      }
    }
    if (worst > 1.0) {
      std::ostringstream msg;
      msg << std::setprecision(10) << "weight '" << w.name() << "': element " << index_str(worst_j, w.shape())
          << " analytic " << worst_a << " vs numeric " << worst_n << " (abs error " << std::abs(worst_a - worst_n)
          << ")";
      result.failures.push_back(msg.str());
    }
    if (o.check_determinism)
      for (std::int64_t j = 0; j < w.numel(); ++j)
        if (element(analytic[k], j) != element(again[k], j)) {
          result.failures.push_back("weight '" + w.name() +
                                    "': a second gradient() call gave a different value at element " +
                                    index_str(j, w.shape()) + " (nondeterministic backward)");
          break;
        }
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
      for (std::int64_t j = 0; j < weights[k].numel(); ++j) {
        const double expected = 2 * element(analytic[k], j), got = element(twice[k], j);
        if (std::abs(got - expected) > 1e-9 * (1 + std::abs(expected))) {
          std::ostringstream msg;
          msg << std::setprecision(10) << "weight '" << weights[k].name() << "': with the layer used twice the gradient at "
              << index_str(j, weights[k].shape()) << " is " << got << ", expected twice " << expected / 2
              << " (gradients must be added, not assigned)";
          result.failures.push_back(msg.str());
          break;
        }
      }
  }
  result.passed = result.failures.empty();
  return result;
}

GradcheckResult gradcheck(const Layer& layer, const Tensor& input, const GradcheckOptions& options) {
  return gradcheck(layer, std::vector<Tensor>{input}, options);
}

}  // namespace tg
