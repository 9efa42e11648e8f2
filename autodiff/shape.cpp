#include "tapegrad/autodiff/shape.hpp"

#include <ostream>
#include <sstream>
#include <stdexcept>

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

std::string Shape::str() const {
  std::ostringstream os;
  os << '(';
  for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << dims_[static_cast<std::size_t>(i)];
  if (rank_ == 1) os << ',';
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.str(); }

}  // namespace tg
