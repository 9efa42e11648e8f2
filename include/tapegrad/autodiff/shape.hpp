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
  // Product of the dimensions (1 for a scalar's empty shape).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
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
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

}  // namespace tg
