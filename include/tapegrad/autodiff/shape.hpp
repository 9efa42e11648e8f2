// Shape and DType: the two small value types every tensor carries.
//
// A Shape is a list of at most 8 non-negative dimensions stored inline (no heap
// allocation), because a shape is built for every op's output and a heap
// allocation there would dominate the cost of small ops.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace tg {

enum class DType : std::uint8_t { float32, float64, int64 };

inline constexpr DType float32 = DType::float32;
inline constexpr DType float64 = DType::float64;
inline constexpr DType int64 = DType::int64;

// "float32", "float64" or "int64".
const char* dtype_name(DType dtype);
// Bytes per element.
std::size_t dtype_size(DType dtype);
inline bool is_floating(DType dtype) { return dtype != DType::int64; }
std::ostream& operator<<(std::ostream& os, DType dtype);

class Shape {
 public:
  static constexpr int max_rank = 8;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(const std::vector<std::int64_t>& dims);
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<std::int64_t>(*first));
  }

  // Number of dimensions (the rank), as for any container.
  int size() const { return rank_; }
  int rank() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  // Product of the dimensions (1 for a scalar's empty shape). As in numpy, the
  // product of the non-zero dimensions must fit in int64 even when a zero makes
  // the count 0, so that the answer does not depend on the order of the axes:
  // (2^32, 2^32, 0) and (0, 2^32, 2^32) both throw std::invalid_argument.
  // Tensors are checked when they are made (checked_byte_size below), so for a
  // tensor's shape this never throws; the check costs one flag test per axis.
  std::int64_t numel() const {
    std::int64_t n = 1;
    bool has_zero = false;
    for (int i = 0; i < rank_; ++i) {
      const std::int64_t d = dims_[static_cast<std::size_t>(i)];
      has_zero |= d == 0;
      if (__builtin_mul_overflow(n, d == 0 ? 1 : d, &n)) numel_overflow();  // throws
    }
    return has_zero ? 0 : n;
  }

  std::int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t back() const { return dims_[static_cast<std::size_t>(rank_ - 1)]; }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + rank_; }
  std::int64_t* begin() { return dims_.data(); }
  std::int64_t* end() { return dims_.data() + rank_; }

  void push_back(std::int64_t dim) {
    if (rank_ == max_rank || dim < 0) bad_push_back(dim);  // throws
    dims_[static_cast<std::size_t>(rank_++)] = dim;
  }
  void insert(int position, std::int64_t dim);
  void erase(int position);
  std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }

  // "(2, 3)", "(5,)" for rank 1 and "()" for a scalar, as Python prints tuples.
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  [[noreturn]] void bad_push_back(std::int64_t dim) const;
  [[noreturn]] void numel_overflow() const;
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

// The most bytes one tensor may take: 2^63 - 1 (PTRDIFF_MAX), numpy's limit
// too. Below it, byte offsets, pointer differences and the allocator's
// rounding up to 64 bytes or to a 2 MiB page cannot wrap around.
inline constexpr std::int64_t max_tensor_bytes = INT64_MAX;

// shape.numel(), or std::invalid_argument naming `op` and the shape when the
// product of the non-zero dimensions exceeds 2^63 - 1, e.g. "reshape: shape
// (4611686018427387905, 4) has about 1.84e+19 elements, more than the
// 2^63 - 1 a tensor can have".
std::int64_t checked_numel(const Shape& shape, std::string_view op);
// The bytes a tensor of `shape` and `dtype` takes, or std::invalid_argument
// naming `op`, the dtype and the shape when it exceeds max_tensor_bytes. Every
// tensor's buffer is sized through this check (Tensor::empty and the
// factories), so a shape that passes it has a numel() that cannot overflow.
std::size_t checked_byte_size(const Shape& shape, DType dtype, std::string_view op);

}  // namespace tg
