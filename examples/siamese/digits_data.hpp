// The UCI digits (8 x 8 images, 1,797 of them, 10 classes) and the seeded
// pairs the Siamese example and the W4 benchmarks train on.
//
// Plain C++17 and zlib, no tapegrad: the LibTorch benchmark
// (bench/torch/siamese_train_torch.cpp) includes this header too, so that
// both libraries read the same images and train on the same pairs.
//
//   siamese::Digits digits = siamese::load_digits(siamese::find_data_file("", argv[0]));
//   siamese::Split split = siamese::split_by_image(digits, 0.3, seed);
//   siamese::Rng rng(seed);
//   siamese::Pairs train = siamese::make_pairs(digits, split.train, 20000, rng);
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "pairs.hpp"

namespace siamese {

constexpr int kPixels = 64;   // 8 x 8
constexpr int kClasses = 10;

struct Digits {
  int count = 0;
  std::vector<float> pixels;  // count x 64, row-major, scaled from 0..16 to [0, 1]
  std::vector<int> labels;    // count, 0..9
};

// Reads the gzipped CSV (64 pixel counts 0..16, then the label, per line).
// Throws std::runtime_error naming the file and line on anything unexpected.
inline Digits load_digits(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open digits file '" + path + "'");
  Digits digits;
  char line[4096];
  int line_number = 0;
  auto fail = [&](const std::string& what) {
    gzclose(file);
    throw std::runtime_error(path + ":" + std::to_string(line_number) + ": " + what);
  };
  while (gzgets(file, line, sizeof line)) {
    ++line_number;
    const char* p = line;
    if (*p == '\n' || *p == '\0') continue;
    long values[kPixels + 1];
    for (int i = 0; i <= kPixels; ++i) {
      char* end = nullptr;
      values[i] = std::strtol(p, &end, 10);
      if (end == p) fail("expected 65 comma-separated integers (64 pixels and a label), found " + std::to_string(i));
      p = end;
      if (i < kPixels) {
        if (*p != ',') fail("expected 65 comma-separated integers, found " + std::to_string(i + 1));
        ++p;
      }
    }
    while (*p == '\r' || *p == '\n' || *p == ' ') ++p;
    if (*p != '\0') fail("more than 65 values on the line");
    for (int i = 0; i < kPixels; ++i) {
      if (values[i] < 0 || values[i] > 16) fail("pixel " + std::to_string(i) + " is " + std::to_string(values[i]) + ", not in 0..16");
      digits.pixels.push_back(static_cast<float>(values[i]) / 16.0f);
    }
    if (values[kPixels] < 0 || values[kPixels] >= kClasses) fail("label " + std::to_string(values[kPixels]) + " is not in 0..9");
    digits.labels.push_back(static_cast<int>(values[kPixels]));
    ++digits.count;
  }
  const bool read_error = !gzeof(file);
  gzclose(file);
  if (read_error) throw std::runtime_error("error reading digits file '" + path + "' (corrupt gzip?)");
  if (digits.count == 0) throw std::runtime_error("digits file '" + path + "' has no images");
  return digits;
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The data file: `given` when not empty (it must exist), otherwise the first
// of examples/data/digits.csv.gz found relative to the executable's directory
// (build trees inside the source tree: build/examples/, build-bench/bench/,
// build-bench-torch/), to the working directory, or to `source_dir` (a
// fallback compiled in by CMake).
inline std::string find_data_file(const std::string& given, const std::string& source_dir = "") {
  if (!given.empty()) {
    if (!file_exists(given)) throw std::runtime_error("--data: no such file '" + given + "'");
    return given;
  }
  std::vector<std::string> candidates;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.find_last_of('/'));
    for (const char* up : {"/..", "/../..", "/../../.."}) candidates.push_back(dir + up + "/examples/data/digits.csv.gz");
  }
  candidates.push_back("examples/data/digits.csv.gz");
  if (!source_dir.empty()) candidates.push_back(source_dir + "/examples/data/digits.csv.gz");
  for (const auto& c : candidates)
    if (file_exists(c)) return c;
  std::string tried;
  for (const auto& c : candidates) tried += "\n  " + c;
  throw std::runtime_error("cannot find digits.csv.gz; pass --data PATH. Tried:" + tried);
}

// Images split into train and test: no image is on both sides.
struct Split {
  std::vector<int> train, test;
};

inline Split split_by_image(const Digits& digits, double test_fraction, std::uint64_t seed) {
  std::vector<int> order(static_cast<std::size_t>(digits.count));
  for (int i = 0; i < digits.count; ++i) order[static_cast<std::size_t>(i)] = i;
  Rng rng(seed);
  rng.shuffle(order);
  const auto test_count = static_cast<std::size_t>(test_fraction * digits.count + 0.5);
  Split split;
  split.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(test_count));
  split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(test_count), order.end());
  return split;
}

// Balanced pairs of the given images (pairs.hpp), by their digit.
inline Pairs make_pairs(const Digits& digits, const std::vector<int>& images, int count, Rng& rng) {
  return make_pairs(digits.labels, kClasses, images, count, rng);
}

// The pixels of the given images, one row each: rows.size() x 64.
inline std::vector<float> gather_rows(const Digits& digits, const std::vector<int>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * kPixels);
  for (int r : rows) {
    const float* p = digits.pixels.data() + static_cast<std::size_t>(r) * kPixels;
    out.insert(out.end(), p, p + kPixels);
  }
  return out;
}

}  // namespace siamese
