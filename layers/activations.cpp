#include "tapegrad/layers/activations.hpp"

#include <stdexcept>

#include "tapegrad/ops/activation.hpp"

namespace tg::activations {

const std::vector<std::string>& names() {
  static const std::vector<std::string> known = {"relu",        "sigmoid", "tanh", "softmax", "softplus",
                                                 "log_softmax", "linear",  ""};
  return known;
}

ActivationFunction get(const std::string& name) {
  if (name == "relu") return [](const Tensor& x) { return tg::relu(x); };
  if (name == "sigmoid") return [](const Tensor& x) { return tg::sigmoid(x); };
  if (name == "tanh") return [](const Tensor& x) { return tg::tanh(x); };
  if (name == "softmax") return [](const Tensor& x) { return tg::softmax(x, -1); };
  if (name == "softplus") return [](const Tensor& x) { return tg::softplus(x); };
  if (name == "log_softmax") return [](const Tensor& x) { return tg::log_softmax(x, -1); };
  if (name == "linear" || name.empty()) return [](const Tensor& x) { return x; };
  std::string known;
  for (const std::string& n : names()) known += (known.empty() ? "" : ", ") + ("\"" + n + "\"");
  throw std::invalid_argument("activations::get: unknown activation \"" + name + "\" (known: " + known + ")");
}

}  // namespace tg::activations
