#include "tapegrad/autodiff/format.hpp"

#include <charconv>
#include <cmath>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::detail {

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";  // whatever its sign bit (0 / 0 gives -nan on x86)
  char buffer[32];  // the longest shortest form, "-2.2250738585072014e-308", has 24 characters
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

std::string dims_str(std::span<const std::int64_t> dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

std::string describe(const Tensor& t) {
  return t.defined() ? t.shape().str() + " " + dtype_name(t.dtype()) : std::string("an undefined tensor");
}

std::string batch_shape_str(const Shape& per_sample) {
  std::string s = "(None";
  for (auto d : per_sample) s += ", " + std::to_string(d);
  return s + ")";
}

}  // namespace tg::detail
