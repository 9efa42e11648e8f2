// Helpers shared by the concrete layers (private to layers/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
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

}  // namespace tg::layers::detail
