// Shared by the .npz tests (test_npz_*.cpp): the fixtures' directory, the
// arrays the tests save, how a load ends (loaded or which exception), and an
// independent zip and npy writer to craft files save_npz never writes.
#pragma once

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "temp_files.hpp"

namespace npz_test {

namespace fs = std::filesystem;
using tg::Shape;
using tg::Tensor;
using tg::io::NamedArrays;
using tgtest::read_bytes;
using tgtest::TempDir;
using tgtest::write_bytes;

inline const std::string fixture_dir = std::string(TAPEGRAD_FIXTURE_DIR) + "/npz";

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Names in `directory` that start with `prefix`.
inline std::vector<std::string> names_starting_with(const std::string& directory, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  return names;
}

// The arrays of scripts/npz_reference.py: keep the two in step.
inline NamedArrays reference_arrays() {
  return {
      {"dense/kernel", Tensor::from_vector<float>({-1, -0.5, 0, 0.5, 1, 1.5}, {2, 3})},
      {"dense/bias", Tensor::from_vector<double>({0.1, -2.5, 1e300}, {3})},
      {"step", Tensor::from_vector<std::int64_t>({42}, {})},
      {"indices", Tensor::from_vector<std::int64_t>({-3, 0, 7, std::int64_t{1} << 40}, {4})},
      {"empty", Tensor::empty({0, 3}, tg::float32)},
      {"scalar", Tensor::from_vector<double>({3.25}, {})},
      {"emb/\xc3\xa9", Tensor::from_vector<float>({7}, {1})},  // 'emb/é'
  };
}

// A small archive for the byte-by-byte sweeps: three members, one per dtype.
inline NamedArrays small_arrays() {
  return {
      {"dense/kernel", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})},
      {"dense/bias", Tensor::from_vector<double>({-1, 0.25}, {2})},
      {"step", Tensor::from_vector<std::int64_t>({7}, {})},
  };
}

inline std::string bytes_of(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * tg::dtype_size(t.dtype()));
}

// Same names in the same order, same dtypes, shapes and bytes (NaN, -0.0 included).
inline bool same_arrays(const NamedArrays& a, const NamedArrays& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.dtype() != b[i].second.dtype() ||
        a[i].second.shape() != b[i].second.shape() || bytes_of(a[i].second) != bytes_of(b[i].second))
      return false;
  }
  return true;
}

inline void check_same(const NamedArrays& got, const NamedArrays& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(want[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second.dtype() == want[i].second.dtype());
    CHECK(got[i].second.shape() == want[i].second.shape());
    CHECK(bytes_of(got[i].second) == bytes_of(want[i].second));
  }
}

enum class Outcome { loaded, runtime_error, invalid_argument, other_exception };

// What loading does, and the error message if it throws.
template <class Load>
Outcome outcome_of(Load&& load, NamedArrays* arrays = nullptr, std::string* message = nullptr) {
  try {
    NamedArrays result = load();
    if (arrays) *arrays = std::move(result);
    return Outcome::loaded;
  } catch (const std::invalid_argument& e) {
    if (message) *message = e.what();
    return Outcome::invalid_argument;
  } catch (const std::runtime_error& e) {
    if (message) *message = e.what();
    return Outcome::runtime_error;
  } catch (...) {
    return Outcome::other_exception;
  }
}

// The runtime_error message of loading `path`; fails the test if it loads.
inline std::string load_error(const std::string& path) {
  std::string message;
  Outcome outcome = outcome_of([&] { return tg::io::load_npz(path); }, nullptr, &message);
  CHECK(outcome == Outcome::runtime_error);
  return message;
}

inline std::string load_error_from_memory(const std::string& bytes) {
  std::string message;
  Outcome outcome =
      outcome_of([&] { return tg::io::load_npz_from_memory(bytes.data(), bytes.size(), "test.npz"); }, nullptr, &message);
  CHECK(outcome == Outcome::runtime_error);
  return message;
}

// ---- an independent zip and npy writer, to craft files save_npz never writes ----

inline std::uint32_t crc32_of(const std::string& data) {
  return static_cast<std::uint32_t>(::crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

inline void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}
inline void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

struct ZipEntry {
  std::string name;
  std::string data;                  // as stored in the archive
  std::int64_t crc = -1;             // -1: the CRC-32 of data
  std::int64_t size = -1;            // uncompressed size; -1: data.size()
  std::uint16_t method = 0;          // 0 stored
  std::int64_t local_offset = -1;    // -1: write a local header and data here
};

// A zip archive: local headers and data for the entries without a local_offset,
// then the central directory and its end record.
inline std::string make_zip(const std::vector<ZipEntry>& entries) {
  std::string out;
  std::vector<std::uint32_t> offsets;
  for (const auto& e : entries) {
    if (e.local_offset >= 0) {
      offsets.push_back(static_cast<std::uint32_t>(e.local_offset));
      continue;
    }
    offsets.push_back(static_cast<std::uint32_t>(out.size()));
    auto crc = static_cast<std::uint32_t>(e.crc >= 0 ? e.crc : crc32_of(e.data));
    auto size = static_cast<std::uint32_t>(e.size >= 0 ? e.size : static_cast<std::int64_t>(e.data.size()));
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, e.method);
    put16(out, 0);
    put16(out, 0x21);
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(e.data.size()));
    put32(out, size);
    put16(out, static_cast<std::uint32_t>(e.name.size()));
    put16(out, 0);
    out += e.name;
    out += e.data;
  }
  std::string directory;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    auto crc = static_cast<std::uint32_t>(e.crc >= 0 ? e.crc : crc32_of(e.data));
    auto size = static_cast<std::uint32_t>(e.size >= 0 ? e.size : static_cast<std::int64_t>(e.data.size()));
    put32(directory, 0x02014b50);
    put16(directory, 20);
    put16(directory, 20);
    put16(directory, 0);
    put16(directory, e.method);
    put16(directory, 0);
    put16(directory, 0x21);
    put32(directory, crc);
    put32(directory, static_cast<std::uint32_t>(e.data.size()));
    put32(directory, size);
    put16(directory, static_cast<std::uint32_t>(e.name.size()));
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, 0);
    put32(directory, offsets[i]);
    directory += e.name;
  }
  auto directory_offset = static_cast<std::uint32_t>(out.size());
  out += directory;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(directory.size()));
  put32(out, directory_offset);
  put16(out, 0);
  return out;
}

// An NPY 1.0 member with this header dict (padded to 64 bytes as numpy pads) and data.
inline std::string make_npy(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  put16(out, static_cast<std::uint32_t>(header.size()));
  return out + header + data;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

inline std::string dict_for(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

}  // namespace npz_test
