// Helpers shared by the model, training, summary, weights-I/O and callback
// tests: small data sets, weight snapshots, temporary directories.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <tapegrad/io/npz.hpp>
#include <tapegrad/layers/core.hpp>
#include <tapegrad/layers/merge.hpp>
#include <tapegrad/losses.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/ops.hpp>
#include <tapegrad/optimizers.hpp>

#include "temp_files.hpp"

namespace models_testing {

using tg::Tensor;

inline Tensor f32(const std::vector<double>& values, const tg::Shape& shape) {
  return Tensor::from_vector(values, shape).to(tg::float32);
}

inline std::vector<double> values(const Tensor& t) { return t.to(tg::float64).to_vector<double>(); }

// The four XOR points and their labels, (4, 2) and (4, 1), float32.
inline Tensor xor_x() { return f32({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2}); }
inline Tensor xor_y() { return f32({0, 1, 1, 0}, {4, 1}); }

// Copies of every weight's values, in weights() order.
inline std::vector<std::vector<double>> snapshot(const tg::Layer& model) {
  std::vector<std::vector<double>> out;
  for (const Tensor& w : model.weights()) out.push_back(values(w));
  return out;
}
inline std::vector<std::vector<double>> snapshot(const tg::Ref<tg::Layer>& model) { return snapshot(*model); }

// Bit-for-bit equality of the float32 values of two lists of weights.
inline bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape() || a[i].dtype() != b[i].dtype()) return false;
    const auto bytes = static_cast<std::size_t>(a[i].numel()) * tg::dtype_size(a[i].dtype());
    if (std::memcmp(a[i].raw_data(), b[i].raw_data(), bytes) != 0) return false;
  }
  return true;
}

using tgtest::TempDir;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Pairs of 8-dimensional points from two well-separated clusters; label 1 when
// both points come from the same cluster (about half of the pairs).
struct PairData {
  Tensor xa, xb, y;
};
inline PairData pair_data(std::int64_t n, std::uint64_t seed) {
  tg::Generator gen(seed);
  const std::int64_t d = 8;
  std::vector<double> a(static_cast<std::size_t>(n * d)), b(a.size()), y(static_cast<std::size_t>(n));
  auto center = [](int cls, std::int64_t j) { return cls == 0 ? (j % 2 == 0 ? 1.0 : -1.0) : (j < 4 ? 1.0 : -1.0); };
  for (std::int64_t i = 0; i < n; ++i) {
    const int ca = static_cast<int>(gen.below(2));
    const int cb = gen.uniform() < 0.5 ? ca : 1 - ca;
    y[static_cast<std::size_t>(i)] = ca == cb ? 1.0 : 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
      a[static_cast<std::size_t>(i * d + j)] = center(ca, j) + 0.3 * gen.normal();
      b[static_cast<std::size_t>(i * d + j)] = center(cb, j) + 0.3 * gen.normal();
    }
  }
  return {f32(a, {n, d}), f32(b, {n, d}), f32(y, {n})};
}

// True when /usr/bin/python3 can import numpy.
inline bool have_numpy() {
  return std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0;
}

}  // namespace models_testing
