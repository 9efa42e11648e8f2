#include "tapegrad/layers/activations.hpp"

#include <stdexcept>

#include "tapegrad/ops/activation.hpp"

namespace tg::activations {

const std::vector<std::string>& names() { return activation_names(); }

ActivationFunction get(const std::string& name) {
  if (ActivationFunctionPointer fn = activation_by_name(name)) return fn;
  throw std::invalid_argument("activations::get: unknown activation \"" + name +
                              "\" (known: " + activation_names_quoted() + ")");
}

}  // namespace tg::activations
