// Shared by the optimizer tests (test_optimizers*.cpp): variables and
// gradients from plain values, bitwise comparison, one row of a matrix.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "op_checks.hpp"

namespace optimizer_test {

using tg::Gradient;
using tg::Tensor;
using tgtest::f64;
using tgtest::i64;
using namespace tg::optimizers;

inline Tensor var64(const std::vector<double>& values, const tg::Shape& shape, const std::string& name = "") {
  return tg::Variable(f64(values, shape), name);
}
inline Tensor var64(const std::vector<double>& values) { return var64(values, {static_cast<std::int64_t>(values.size())}); }
inline Tensor var32(const std::vector<double>& values) {
  return tg::Variable(f64(values).to(tg::float32));
}
inline Tensor g32(const std::vector<double>& values) { return f64(values).to(tg::float32); }

// Bitwise equality of two tensors' buffers (same shape and dtype).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * tg::dtype_size(a.dtype())) == 0;
}

// Row r of a 2-D tensor, as a (cols,) copy.
inline Tensor row(const Tensor& t, std::int64_t r) {
  const std::int64_t cols = t.dim(1);
  std::vector<double> v = tgtest::values_of(t);
  return f64(std::vector<double>(v.begin() + r * cols, v.begin() + (r + 1) * cols)).to(t.dtype());
}

}  // namespace optimizer_test
