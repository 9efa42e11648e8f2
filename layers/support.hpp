// Helpers shared by the concrete layers (private to layers/).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/layers/activations.hpp"
#include "tapegrad/layers/layer.hpp"

namespace tg::layers::detail {

// "dense_1 (Dense)": how every error message names its layer.
inline std::string who(const Layer& layer) { return layer.name() + " (" + layer.class_name() + ")"; }

// "Dense" or "Dense 'encoder'": for errors raised before the layer exists.
inline std::string who(const std::string& class_name, const std::string& name) {
  return name.empty() ? class_name : class_name + " '" + name + "'";
}

// How messages and repr() write numbers and tensors (tapegrad/autodiff/format.hpp).
using tg::detail::describe;
using tg::detail::dims_str;  // "(2, -1)" for a list of dimensions that may hold -1
using tg::detail::format_number;

// Row-major product of dims [first, last) of `shape`.
inline std::int64_t product(const Shape& shape, int first, int last) {
  std::int64_t n = 1;
  for (int i = first; i < last; ++i) n *= shape[i];
  return n;
}

// Throws "<who>: unknown activation ..." with activations::get's list of names.
inline activations::ActivationFunction activation_or_throw(const std::string& who, const std::string& activation) {
  try {
    return activations::get(activation);
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    const std::string prefix = "activations::get: ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw std::invalid_argument(who + ": " + msg);
  }
}

inline std::string activation_label(const std::string& activation) {
  return activation.empty() ? "linear" : activation;
}

// Runs `check` and returns `name`: constructors validate their arguments
// before the Layer base exists, so that a refused layer takes no name and no
// seed from the sources every layer draws from.
template <class Check>
const std::string& validated(const std::string& name, Check check) {
  check();
  return name;
}

// The weights' accessors: a layer has none before its first call.
inline void check_built(const Layer& layer) {
  if (!layer.built())
    throw std::logic_error(who(layer) + ": the layer has no weights yet; they are created at its first call");
}

}  // namespace tg::layers::detail
