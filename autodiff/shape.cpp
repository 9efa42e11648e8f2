#include "tapegrad/autodiff/shape.hpp"

#include <ostream>
#include <sstream>
#include <climits>
#include <stdexcept>

#include "tapegrad/autodiff/format.hpp"

namespace tg {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int64: return 8;
  }
  return 0;
}

std::ostream& operator<<(std::ostream& os, DType dtype) { return os << dtype_name(dtype); }

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  for (auto d : dims) push_back(d);
}

Shape::Shape(const std::vector<std::int64_t>& dims) {
  for (auto d : dims) push_back(d);
}

void Shape::bad_push_back(std::int64_t dim) const {
  if (rank_ == max_rank)
    throw std::invalid_argument("Shape: at most " + std::to_string(max_rank) +
                                " dimensions are supported, received one more than that");
  throw std::invalid_argument("Shape: dimensions must be non-negative, received " + std::to_string(dim));
}

namespace {

// The product of the non-zero dimensions as a double, for messages about
// products too large for int64.
double approximate_product(const Shape& shape) {
  double n = 1.0;
  for (std::int64_t d : shape)
    if (d != 0) n *= static_cast<double>(d);
  return n;
}

std::string approximate(double value) {
  std::ostringstream os;
  os.precision(3);
  os << value;
  return os.str();
}

[[noreturn]] void too_many_elements(const Shape& shape, std::string_view op) {
  throw std::invalid_argument(std::string(op) + ": shape " + shape.str() + " has about " +
                              approximate(approximate_product(shape)) +
                              " elements, more than the 2^63 - 1 a tensor can have");
}

}  // namespace

void Shape::numel_overflow() const { too_many_elements(*this, "Shape::numel"); }

std::int64_t checked_numel(const Shape& shape, std::string_view op) {
  std::int64_t n = 1;
  bool has_zero = false;
  for (std::int64_t d : shape) {
    has_zero |= d == 0;
    if (__builtin_mul_overflow(n, d == 0 ? 1 : d, &n)) too_many_elements(shape, op);
  }
  return has_zero ? 0 : n;
}

std::size_t checked_byte_size(const Shape& shape, DType dtype, std::string_view op) {
  static_assert(max_tensor_bytes == INT64_MAX, "the check below is an int64 overflow test");
  const std::int64_t n = checked_numel(shape, op);
  // As in numpy, the non-zero dimensions times the element size must fit, so
  // that an empty tensor is not a loophole.
  const auto item = static_cast<std::int64_t>(dtype_size(dtype));
  std::int64_t nonzero = 1;
  for (std::int64_t d : shape) nonzero *= d == 0 ? 1 : d;  // cannot overflow: checked_numel passed
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(nonzero, item, &bytes))
    throw std::invalid_argument(std::string(op) + ": a " + dtype_name(dtype) + " tensor of shape " + shape.str() +
                                " would take about " + approximate(approximate_product(shape) * static_cast<double>(item)) +
                                " bytes, more than the 2^63 - 1 a tensor can have");
  return static_cast<std::size_t>(n * item);
}

void Shape::insert(int position, std::int64_t dim) {
  if (position < 0 || position > rank_)
    throw std::out_of_range("Shape::insert: position " + std::to_string(position) + " out of range for rank " +
                            std::to_string(rank_));
  push_back(dim);
  for (int i = rank_ - 1; i > position; --i) dims_[static_cast<std::size_t>(i)] = dims_[static_cast<std::size_t>(i - 1)];
  dims_[static_cast<std::size_t>(position)] = dim;
}

void Shape::erase(int position) {
  if (position < 0 || position >= rank_)
    throw std::out_of_range("Shape::erase: position " + std::to_string(position) + " out of range for rank " +
                            std::to_string(rank_));
  for (int i = position; i + 1 < rank_; ++i) dims_[static_cast<std::size_t>(i)] = dims_[static_cast<std::size_t>(i + 1)];
  --rank_;
}

std::string Shape::str() const { return detail::dims_str({begin(), end()}); }

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.str(); }

}  // namespace tg
