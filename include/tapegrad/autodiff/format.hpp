// How error messages and repr() write tensors, numbers and batch shapes, in
// one place so that a number reads the same whichever layer raises the error.
// Public so that every folder can include it, but an implementation detail
// (tg::detail): not part of the API users write against.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tg {

class Shape;
class Tensor;

namespace detail {

// The shortest decimal that reads back as `value` (std::to_chars): "0.5",
// "0.1", "-1", "1e-07", "1e+30", "inf", and "nan" for any NaN. std::to_string would give
// "0.500000", and a fixed precision either rounds (6 digits: 1.0000001 prints
// as 1) or prints noise (17 digits: 0.1 prints as 0.10000000000000001).
std::string format_number(double value);

// A list of dimensions as Python prints a tuple: "()", "(5,)", "(2, -1)"; the
// form of Shape::str, for lists a Shape cannot hold (negative, or more than 8).
std::string dims_str(std::span<const std::int64_t> dims);

// "(4, 3) float32", or "an undefined tensor".
std::string describe(const Tensor& t);

// A symbolic tensor's shape with its batch axis, as Keras prints it: the
// per-sample shape (64,) gives "(None, 64)", the per-sample shape () "(None)".
std::string batch_shape_str(const Shape& per_sample);

}  // namespace detail
}  // namespace tg
