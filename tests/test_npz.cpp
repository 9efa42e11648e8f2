// .npz files (tg::io::save_npz / load_npz): round trips; numpy's bytes, numpy's
// files and numpy reading ours; every way a file can be bad (missing, empty,
// truncated at each byte, any byte flipped, corrupt, unsupported); saves that
// fail or are killed midway leave the old file whole.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

namespace fs = std::filesystem;
using tg::Shape;
using tg::Tensor;
using tg::io::NamedArrays;

namespace {

const std::string fixture_dir = std::string(TAPEGRAD_FIXTURE_DIR) + "/npz";

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tapegrad-npz-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    for (const auto& entry : fs::recursive_directory_iterator(path_, ignored))
      if (entry.is_directory(ignored)) fs::permissions(entry.path(), fs::perms::owner_all, ignored);
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Names in `directory` that start with `prefix`.
std::vector<std::string> names_starting_with(const std::string& directory, const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  return names;
}

// The arrays of scripts/npz_reference.py: keep the two in step.
NamedArrays reference_arrays() {
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
NamedArrays small_arrays() {
  return {
      {"dense/kernel", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})},
      {"dense/bias", Tensor::from_vector<double>({-1, 0.25}, {2})},
      {"step", Tensor::from_vector<std::int64_t>({7}, {})},
  };
}

std::string bytes_of(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * tg::dtype_size(t.dtype()));
}

// Same names in the same order, same dtypes, shapes and bytes (NaN, -0.0 included).
bool same_arrays(const NamedArrays& a, const NamedArrays& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.dtype() != b[i].second.dtype() ||
        a[i].second.shape() != b[i].second.shape() || bytes_of(a[i].second) != bytes_of(b[i].second))
      return false;
  }
  return true;
}

void check_same(const NamedArrays& got, const NamedArrays& want) {
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
std::string load_error(const std::string& path) {
  std::string message;
  Outcome outcome = outcome_of([&] { return tg::io::load_npz(path); }, nullptr, &message);
  CHECK(outcome == Outcome::runtime_error);
  return message;
}

std::string load_error_from_memory(const std::string& bytes) {
  std::string message;
  Outcome outcome =
      outcome_of([&] { return tg::io::load_npz_from_memory(bytes.data(), bytes.size(), "test.npz"); }, nullptr, &message);
  CHECK(outcome == Outcome::runtime_error);
  return message;
}

// ---- an independent zip and npy writer, to craft files save_npz never writes ----

std::uint32_t crc32_bitwise(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& out, std::uint32_t v) {
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
std::string make_zip(const std::vector<ZipEntry>& entries) {
  std::string out;
  std::vector<std::uint32_t> offsets;
  for (const auto& e : entries) {
    if (e.local_offset >= 0) {
      offsets.push_back(static_cast<std::uint32_t>(e.local_offset));
      continue;
    }
    offsets.push_back(static_cast<std::uint32_t>(out.size()));
    auto crc = static_cast<std::uint32_t>(e.crc >= 0 ? e.crc : crc32_bitwise(e.data));
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
    auto crc = static_cast<std::uint32_t>(e.crc >= 0 ? e.crc : crc32_bitwise(e.data));
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
std::string make_npy(const std::string& dict, const std::string& data) {
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

std::string dict_for(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

}  // namespace

// ---- round trips -------------------------------------------------------------

TEST_CASE("npz: round trip of float32, float64 and int64 arrays, 0-d, empty, names with '/'") {
  TempDir dir;
  const std::string path = dir.file("weights.npz");
  NamedArrays arrays = reference_arrays();
  tg::io::save_npz(path, arrays);
  NamedArrays loaded = tg::io::load_npz(path);
  check_same(loaded, arrays);
  CHECK(loaded[2].second.rank() == 0);
  CHECK(loaded[2].second.item() == 42);
  CHECK(loaded[4].second.shape() == Shape{0, 3});
  CHECK(loaded[4].second.numel() == 0);
  // Loaded tensors own their storage: changing one leaves the others and the file alone.
  loaded[0].second.set({0, 0}, 99);
  CHECK(tg::io::load_npz(path)[0].second.at({0, 0}) == -1);
  // Nothing is left beside the file.
  CHECK(names_starting_with(dir.path(), "weights.npz.tmp").empty());

  SUBCASE("the map helpers") {
    std::map<std::string, Tensor> map(arrays.begin(), arrays.end());
    tg::io::save_npz(dir.file("map.npz"), map);
    auto back = tg::io::load_npz_map(dir.file("map.npz"));
    REQUIRE(back.size() == map.size());
    for (const auto& [name, tensor] : map) {
      CAPTURE(name);
      REQUIRE(back.count(name) == 1);
      CHECK(bytes_of(back.at(name)) == bytes_of(tensor));
      CHECK(back.at(name).shape() == tensor.shape());
    }
    // Saved in the map's sorted order.
    auto ordered = tg::io::load_npz(dir.file("map.npz"));
    CHECK(ordered.front().first == "dense/bias");
  }
  SUBCASE("an archive with no arrays") {
    tg::io::save_npz(dir.file("none.npz"), NamedArrays{});
    CHECK(tg::io::load_npz(dir.file("none.npz")).empty());
  }
  SUBCASE("saving again replaces the file") {
    tg::io::save_npz(path, small_arrays());
    check_same(tg::io::load_npz(path), small_arrays());
  }
}

TEST_CASE("npz: NaN, infinities, -0.0, subnormals and int64 extremes survive bit for bit") {
  TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  NamedArrays arrays = {
      {"f8", Tensor::from_vector<double>({nan, inf, -inf, -0.0, 4.9e-324, 1.7976931348623157e308}, {2, 3})},
      {"f4", Tensor::from_vector<float>({std::numeric_limits<float>::quiet_NaN(), -0.0f, 1e-45f, 3.4028235e38f}, {4})},
      {"i8", Tensor::from_vector<std::int64_t>({std::numeric_limits<std::int64_t>::min(),
                                                std::numeric_limits<std::int64_t>::max(), -1, 0},
                                               {2, 1, 2})},
  };
  tg::io::save_npz(dir.file("special.npz"), arrays);
  check_same(tg::io::load_npz(dir.file("special.npz")), arrays);
}

TEST_CASE("npz: a rank-8 array and a long axis round trip; each npy header keeps the data 64-byte aligned") {
  TempDir dir;
  NamedArrays arrays = {
      {"rank8", tg::arange(256, tg::float64).to(tg::float64)},
      {"long", tg::arange(100000, tg::int64)},
  };
  arrays[0].second = Tensor::from_vector<double>(arrays[0].second.to_vector<double>(), {2, 2, 2, 2, 2, 2, 2, 2});
  tg::io::save_npz(dir.file("a.npz"), arrays);
  check_same(tg::io::load_npz(dir.file("a.npz")), arrays);
  // The first member's npy header starts after the 30-byte local header and its name.
  std::string bytes = read_bytes(dir.file("a.npz"));
  std::size_t start = 30 + std::string("rank8.npy").size();
  std::size_t header_length = static_cast<unsigned char>(bytes[start + 8]) | (static_cast<unsigned char>(bytes[start + 9]) << 8);
  CHECK((10 + header_length) % 64 == 0);
  CHECK(bytes[start + 10 + header_length - 1] == '\n');
  CHECK(contains(bytes.substr(start, 10 + header_length), "'shape': (2, 2, 2, 2, 2, 2, 2, 2), }"));
}

// ---- the bytes we write --------------------------------------------------------

TEST_CASE("npz: the .npy header is byte for byte the one numpy.save writes") {
  TempDir dir;
  // numpy 1.24: the dict, 21 - len("2") = 20 spare spaces for growing axis 0,
  // padding to 128 bytes in all (10-byte prefix + 59-byte dict + 58 spaces + '\n').
  const std::string expected_2x3 = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                   "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') +
                                   "\n";
  REQUIRE(expected_2x3.size() == 128);
  // The same bytes from numpy itself (tests/fixtures/npz/header_2x3_f4.npy, numpy.save of zeros((2, 3), '<f4')).
  CHECK(read_bytes(fixture_dir + "/header_2x3_f4.npy").substr(0, 128) == expected_2x3);

  tg::io::save_npz(dir.file("a.npz"), {{"a", tg::zeros({2, 3})}});
  std::string bytes = read_bytes(dir.file("a.npz"));
  // Local header: signature, version 2.0, no flags, stored, 1980-01-01, CRC, sizes 152, name length 5.
  CHECK(bytes.substr(0, 4) == "PK\x03\x04");
  CHECK(bytes.substr(30, 5) == "a.npy");
  CHECK(bytes.substr(35, 128) == expected_2x3);
  CHECK(bytes.substr(35 + 128, 24) == std::string(24, '\0'));  // six float32 zeros
  // numpy.save's whole file is header + data: the member is exactly that.
  CHECK(bytes.substr(35, 152) == read_bytes(fixture_dir + "/header_2x3_f4.npy"));
  // Then one central directory entry (46 + 5 bytes) and the 22-byte end record.
  CHECK(bytes.size() == 35 + 152 + 51 + 22);
  CHECK(bytes.substr(bytes.size() - 22, 4) == "PK\x05\x06");

  // A 0-d float64: no spare spaces (no axis 0), 10 + 55 + 62 + 1 = 128 bytes.
  tg::io::save_npz(dir.file("s.npz"), {{"s", Tensor::scalar(1.0, tg::float64)}});
  const std::string expected_scalar = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                      "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" + std::string(62, ' ') + "\n";
  CHECK(read_bytes(dir.file("s.npz")).substr(35, 128) == expected_scalar);

  // Identical arrays give identical files (fixed timestamps), so saves are reproducible.
  tg::io::save_npz(dir.file("a2.npz"), {{"a", tg::zeros({2, 3})}});
  CHECK(read_bytes(dir.file("a2.npz")) == bytes);
}

// ---- numpy's files -----------------------------------------------------------

TEST_CASE("npz: reads numpy.savez and numpy.savez_compressed files (fixtures)") {
  SUBCASE("numpy.savez: stored members with zip64 extra fields in their local headers") {
    check_same(tg::io::load_npz(fixture_dir + "/savez.npz"), reference_arrays());
  }
  SUBCASE("numpy.savez_compressed: deflated members") {
    NamedArrays expected = reference_arrays();
    std::vector<float> big(1000);
    for (int i = 0; i < 1000; ++i) big[static_cast<std::size_t>(i)] = static_cast<float>(i % 7) * 0.25f;
    expected.emplace_back("big", Tensor::from_vector(big, {100, 10}));
    check_same(tg::io::load_npz(fixture_dir + "/savez_compressed.npz"), expected);
  }
  SUBCASE("npy format versions 2.0 and 3.0") {
    check_same(tg::io::load_npz(fixture_dir + "/versions.npz"),
               {{"v2", Tensor::from_vector<double>({1.5, -2.0, 0.0, 4.0}, {2, 2})},
                {"v3", Tensor::from_vector<std::int64_t>({5, 6, 7}, {3})}});
  }
  SUBCASE("sizes and CRCs in data descriptors after the data (zip flag bit 3), stored and deflated") {
    std::vector<std::int64_t> y(12);
    for (int i = 0; i < 12; ++i) y[static_cast<std::size_t>(i)] = i;
    check_same(tg::io::load_npz(fixture_dir + "/data_descriptor.npz"),
               {{"x", Tensor::from_vector<float>({1, 2}, {2})}, {"y", Tensor::from_vector(y, {3, 4})}});
  }
  SUBCASE("<i4 is widened to int64") {
    check_same(tg::io::load_npz(fixture_dir + "/int32.npz"),
               {{"counts", Tensor::from_vector<std::int64_t>({1, -2, 2147483647, -2147483648LL}, {2, 2})}});
  }
}

TEST_CASE("npz: refuses Fortran order, bool and big-endian arrays, naming the array and its dtype") {
  std::string message = load_error(fixture_dir + "/fortran.npz");
  CHECK(contains(message, "fortran.npz"));
  CHECK(contains(message, "array 'kernel'"));
  CHECK(contains(message, "Fortran order"));

  message = load_error(fixture_dir + "/bool.npz");
  CHECK(contains(message, "array 'mask'"));
  CHECK(contains(message, "dtype '|b1' is not supported"));

  message = load_error(fixture_dir + "/big_endian.npz");
  CHECK(contains(message, "array 'weights'"));
  CHECK(contains(message, "dtype '>f4'"));
  CHECK(contains(message, "big-endian"));
}

TEST_CASE("npz: numpy.load reads what save_npz writes (when /usr/bin/python3 has numpy)") {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available (Debian: apt-get install python3-numpy)");
    return;
  }
  TempDir dir;
  const std::string path = dir.file("from_tapegrad.npz");
  tg::io::save_npz(path, reference_arrays());
  // scripts/check_npz.py: names, order, dtypes, shapes, values, CRCs, and each
  // member byte-identical to numpy.save's output.
  const std::string script = std::string(TAPEGRAD_FIXTURE_DIR) + "/../../scripts/check_npz.py";
  const std::string command = "/usr/bin/python3 '" + script + "' '" + path + "'";
  int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // And a corrupted copy makes the checker fail, so a pass above means something.
  std::string bytes = read_bytes(path);
  bytes[40] = static_cast<char>(bytes[40] ^ 1);
  write_bytes(dir.file("corrupt.npz"), bytes);
  status = std::system(("/usr/bin/python3 '" + script + "' '" + dir.file("corrupt.npz") + "' >/dev/null 2>&1").c_str());
  CHECK(WEXITSTATUS(status) != 0);
}

// ---- bad files -----------------------------------------------------------------

TEST_CASE("npz: missing, empty, a directory, not a zip, a lone .npy: clear errors naming the file") {
  TempDir dir;
  std::string message = load_error(dir.file("missing.npz"));
  CHECK(contains(message, "load_npz: " + dir.file("missing.npz") + ": cannot open: No such file or directory"));

  write_bytes(dir.file("empty.npz"), "");
  message = load_error(dir.file("empty.npz"));
  CHECK(contains(message, dir.file("empty.npz")));
  CHECK(contains(message, "empty file (0 bytes)"));

  message = load_error(dir.path());
  CHECK(contains(message, "is a directory"));

  write_bytes(dir.file("text.npz"), "dense/kernel 1 2 3\n");
  message = load_error(dir.file("text.npz"));
  CHECK(contains(message, "not an npz archive"));
  CHECK(contains(message, "64 65 6e 73 65 2f 6b 65"));  // "dense/ke"

  message = load_error(fixture_dir + "/header_2x3_f4.npy");
  CHECK(contains(message, "single .npy array"));

  // Shorter than a zip end record, and starting like one.
  write_bytes(dir.file("pk.npz"), "PK\x03\x04");
  message = load_error(dir.file("pk.npz"));
  CHECK(contains(message, "truncated"));
}

TEST_CASE("npz: a file truncated at every byte offset gives a clean error, never a crash or a result") {
  TempDir dir;
  const std::string path = dir.file("small.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() > 500);
  check_same(tg::io::load_npz(path), small_arrays());  // the whole file is fine

  int clean = 0;
  std::vector<std::size_t> bad_lengths;
  // Cut one copy shorter and shorter (truncate(2) is much faster than rewriting it).
  write_bytes(dir.file("cut.npz"), bytes);
  for (std::size_t k = bytes.size(); k-- > 0;) {
    REQUIRE(::truncate(dir.file("cut.npz").c_str(), static_cast<off_t>(k)) == 0);
    std::string message;
    Outcome outcome = outcome_of([&] { return tg::io::load_npz(dir.file("cut.npz")); }, nullptr, &message);
    if (outcome == Outcome::runtime_error && contains(message, dir.file("cut.npz"))) ++clean;
    else bad_lengths.push_back(k);
  }
  CHECK(clean == static_cast<int>(bytes.size()));
  CHECK(bad_lengths.empty());
  if (!bad_lengths.empty()) MESSAGE("a bad prefix length: " << bad_lengths.front());

  // Archives numpy wrote (deflated members, data descriptors), cut in memory.
  for (const char* name : {"savez_compressed.npz", "data_descriptor.npz", "versions.npz", "savez.npz"}) {
    CAPTURE(name);
    const std::string fixture = read_bytes(fixture_dir + "/" + name);
    int failures = 0;
    for (std::size_t k = 0; k < fixture.size(); ++k) {
      Outcome outcome = outcome_of([&] { return tg::io::load_npz_from_memory(fixture.data(), k, name); });
      if (outcome != Outcome::runtime_error) ++failures;
    }
    CHECK(failures == 0);
  }
}

TEST_CASE("npz: any single flipped byte gives a clean error or the same arrays, never wrong values") {
  // Bytes outside the checked fields (timestamps, attributes, the local copies of
  // sizes and CRC, deflate's padding bits) may change without harm; everything
  // else must be caught, most of it by the CRC-32.
  TempDir dir;
  tg::io::save_npz(dir.file("small.npz"), small_arrays());
  struct Case {
    std::string name;
    std::string bytes;
  };
  std::vector<Case> cases = {{"ours", read_bytes(dir.file("small.npz"))},
                             {"savez_compressed.npz", read_bytes(fixture_dir + "/savez_compressed.npz")},
                             {"data_descriptor.npz", read_bytes(fixture_dir + "/data_descriptor.npz")}};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const NamedArrays original = tg::io::load_npz_from_memory(c.bytes.data(), c.bytes.size());
    int errors = 0, harmless = 0, wrong = 0;
    for (std::size_t i = 0; i < c.bytes.size(); ++i) {
      for (unsigned mask : {0x01u, 0x80u, 0xFFu}) {
        std::string flipped = c.bytes;
        flipped[i] = static_cast<char>(static_cast<unsigned char>(flipped[i]) ^ mask);
        NamedArrays arrays;
        Outcome outcome = outcome_of([&] { return tg::io::load_npz_from_memory(flipped.data(), flipped.size()); }, &arrays);
        if (outcome == Outcome::runtime_error) ++errors;
        else if (outcome == Outcome::loaded && same_arrays(arrays, original)) ++harmless;
        else {
          ++wrong;
          if (wrong == 1) MESSAGE("byte " << i << " ^ " << mask << " gave a wrong result or a wrong exception");
        }
      }
    }
    CHECK(wrong == 0);
    CHECK(errors > harmless);  // most bytes matter
  }
}

TEST_CASE("npz: corrupt and unsupported members: clear errors naming the file, the array and the fault") {
  const std::string kernel = make_npy(dict_for("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5, 6}));
  auto error_of = [](const std::vector<ZipEntry>& entries) { return load_error_from_memory(make_zip(entries)); };

  // The crafted archives are valid zip files: the good one loads.
  std::string good = make_zip({{"dense/kernel.npy", kernel}});
  check_same(tg::io::load_npz_from_memory(good.data(), good.size()),
             {{"dense/kernel", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})}});
  CHECK(tg::io::load_npz_from_memory(make_zip({}).data(), 22).empty());

  SUBCASE("bad CRC") {
    std::string message = error_of({{"dense/kernel.npy", kernel, /*crc=*/0x12345678}});
    CHECK(contains(message, "load_npz: test.npz: "));
    CHECK(contains(message, "'dense/kernel.npy'"));
    CHECK(contains(message, "CRC-32 mismatch"));
    CHECK(contains(message, "0x12345678"));
  }
  SUBCASE("wrong magic") {
    std::string bad = kernel;
    bad[5] = 'X';
    std::string message = error_of({{"dense/kernel.npy", bad}});
    CHECK(contains(message, "array 'dense/kernel'"));
    CHECK(contains(message, "not a .npy array"));
  }
  SUBCASE("unknown npy version") {
    std::string bad = kernel;
    bad[6] = 9;
    CHECK(contains(error_of({{"a.npy", bad}}), "npy format version 9.0 is not supported"));
  }
  SUBCASE("malformed header dicts") {
    const std::string data = raw<float>({1, 2, 3});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", "unexpected key 'extra'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }", "'shape' appears twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }", "negative dimension"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "expected '('"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }", "not True or False"},
        {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured arrays"},
        {"{'descr': '<f4", "unterminated string"},
        {"['descr', '<f4']", "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } trailing", "unexpected text after the dict"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "too large"},
    };
    for (const auto& [dict, expected] : cases) {
      CAPTURE(dict);
      std::string message = error_of({{"w.npy", make_npy(dict, data)}});
      CHECK(contains(message, "array 'w'"));
      CHECK(contains(message, "malformed npy header"));
      CHECK(contains(message, expected));
    }
    // Whitespace, double quotes, any key order and Python 2's 3L are still valid.
    std::string loose = make_zip({{"w.npy", make_npy("{ \"shape\" : (3L,) , 'fortran_order':False,'descr':'<f4'}",
                                                     data)}});
    check_same(tg::io::load_npz_from_memory(loose.data(), loose.size()),
               {{"w", Tensor::from_vector<float>({1, 2, 3}, {3})}});
  }
  SUBCASE("shape and data size disagree") {
    std::string message = error_of({{"dense/kernel.npy", make_npy(dict_for("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5}))}});
    CHECK(contains(message, "array 'dense/kernel'"));
    CHECK(contains(message, "shape (2, 3) and dtype <f4 need 24 bytes, but the member holds 20 bytes of data"));
    // Too much data is as wrong as too little.
    message = error_of({{"b.npy", make_npy(dict_for("<f8", "(1,)"), raw<double>({1, 2}))}});
    CHECK(contains(message, "need 8 bytes, but the member holds 16"));
  }
  SUBCASE("a huge shape is refused before anything is allocated") {
    std::string message =
        error_of({{"big.npy", make_npy(dict_for("<f8", "(1099511627776, 1099511627776, 1099511627776)"), raw<double>({1}))}});
    CHECK(contains(message, "need more bytes than the member holds"));
    // A header length beyond the member.
    std::string bad = kernel;
    bad[8] = '\xff';
    bad[9] = '\xff';
    CHECK(contains(error_of({{"k.npy", bad}}), "npy header claims 65535 bytes"));
    // A deflated member claiming 4 GB from 10 bytes.
    CHECK(contains(error_of({{"z.npy", std::string(10, 'x'), -1, 4000000000, 8}}), "more than deflate can produce"));
  }
  SUBCASE("more than 8 dimensions") {
    std::string message = error_of({{"r.npy", make_npy(dict_for("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), raw<float>({1}))}});
    CHECK(contains(message, "has 9 dimensions; tapegrad tensors have at most 8"));
  }
  SUBCASE("unsupported dtypes are named; Fortran order is fine where it is the same layout") {
    std::string message = error_of({{"counts.npy", make_npy(dict_for("<i2", "(2,)"), raw<std::int16_t>({1, 2}))}});
    CHECK(contains(message, "array 'counts'"));
    CHECK(contains(message, "dtype '<i2' is not supported"));
    std::string row = make_zip({{"row.npy", make_npy(dict_for("<f4", "(1, 3)", "True"), raw<float>({1, 2, 3}))}});
    check_same(tg::io::load_npz_from_memory(row.data(), row.size()),
               {{"row", Tensor::from_vector<float>({1, 2, 3}, {1, 3})}});
    CHECK(contains(error_of({{"m.npy", make_npy(dict_for("<f4", "(2, 2)", "True"), raw<float>({1, 2, 3, 4}))}}),
                   "Fortran order"));
  }
  SUBCASE("duplicate names, non-npy members, unsupported compression") {
    CHECK(contains(error_of({{"a.npy", kernel}, {"b.npy", kernel}, {"a.npy", kernel}}),
                   "the array name 'a' appears twice"));
    CHECK(contains(error_of({{"a.npy", kernel}, {"readme.txt", "hello"}}), "member 'readme.txt' is not a .npy array"));
    CHECK(contains(error_of({{"a.npy", kernel, -1, -1, 12}}), "compression method 12"));
  }
  SUBCASE("members that overlap, so that a small file could describe much data") {
    // 'b' lives inside the data of 'a' (an int64 array whose bytes hold b's local header and npy).
    std::string b_npy = make_npy(dict_for("<f4", "(1,)"), raw<float>({5}));
    std::string b_local;
    put32(b_local, 0x04034b50);
    put16(b_local, 20);
    put16(b_local, 0);
    put16(b_local, 0);
    put16(b_local, 0);
    put16(b_local, 0x21);
    put32(b_local, crc32_bitwise(b_npy));
    put32(b_local, static_cast<std::uint32_t>(b_npy.size()));
    put32(b_local, static_cast<std::uint32_t>(b_npy.size()));
    put16(b_local, 5);
    put16(b_local, 0);
    std::string inner = b_local + "b.npy" + b_npy;
    inner.resize((inner.size() + 7) / 8 * 8, '\0');
    std::string a_npy = make_npy(dict_for("<i8", "(" + std::to_string(inner.size() / 8) + ",)"), inner);
    std::size_t b_offset = 30 + 5 + (a_npy.size() - inner.size());
    std::string message = error_of({{"a.npy", a_npy}, {"b.npy", b_npy, -1, -1, 0, static_cast<std::int64_t>(b_offset)}});
    CHECK(contains(message, "members 'a.npy' and 'b.npy' overlap"));
  }
  SUBCASE("a damaged central directory or end record") {
    std::string bytes = good;
    // The entry count claims 65535 arrays: zip64 is not supported.
    bytes[bytes.size() - 12] = '\xff';
    bytes[bytes.size() - 11] = '\xff';
    bytes[bytes.size() - 14] = '\xff';
    bytes[bytes.size() - 13] = '\xff';
    CHECK(contains(load_error_from_memory(bytes), "zip64"));
    // 200 entries in a directory with room for one.
    bytes = good;
    bytes[bytes.size() - 12] = static_cast<char>(200);
    bytes[bytes.size() - 14] = static_cast<char>(200);
    CHECK(contains(load_error_from_memory(bytes), "too small for its 200 entries"));
    // A local header offset pointing past the data.
    bytes = good;
    std::size_t directory = bytes.size() - 22 - 46 - std::string("dense/kernel.npy").size();
    bytes[directory + 42] = static_cast<char>(200);
    std::string message = load_error_from_memory(bytes);
    CHECK((contains(message, "no local header at offset 200") || contains(message, "truncated or corrupt")));
    // The data runs into the central directory.
    bytes = good;
    bytes[directory + 20] = static_cast<char>(bytes[directory + 20] + 100);
    bytes[directory + 24] = static_cast<char>(bytes[directory + 24] + 100);
    message = load_error_from_memory(bytes);
    CHECK(contains(message, "truncated or corrupt: member 'dense/kernel.npy' needs"));
    CHECK(contains(message, "bytes of data at offset 46"));
  }
}

// ---- saving: bad arguments and failures leave the old file -----------------------

TEST_CASE("npz: save_npz refuses bad names and undefined tensors, and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("w.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  auto message_of = [&](const NamedArrays& arrays) {
    try {
      tg::io::save_npz(path, arrays);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    FAIL("save_npz did not throw std::invalid_argument");
    return std::string();
  };
  Tensor x = tg::zeros({2});
  CHECK(contains(message_of({{"a", x}, {"a", x}}), "save_npz: " + path + ": the array name 'a' appears twice"));
  CHECK(contains(message_of({{"", x}}), "an array name is empty"));
  CHECK(contains(message_of({{std::string("a\0b", 3), x}}), "contains a NUL byte"));
  CHECK(contains(message_of({{"a", Tensor()}}), "the array 'a' is an undefined tensor"));
  CHECK(contains(message_of({{std::string(70000, 'n'), x}}), "longer than a zip archive allows"));
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(dir.path(), "w.npz.").empty());
}

TEST_CASE("npz: saving into a missing directory or over a directory fails clearly and changes nothing") {
  TempDir dir;
  std::string missing = dir.file("no/such/dir/w.npz");
  try {
    tg::io::save_npz(missing, small_arrays());
    FAIL("saving into a missing directory did not throw");
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    CHECK(contains(message, "save_npz: " + missing));
    CHECK(contains(message, "No such file or directory"));
    CHECK(contains(message, "does the directory exist?"));
  }
  CHECK(!fs::exists(dir.file("no")));

  fs::create_directory(dir.file("weights.npz"));
  write_bytes(dir.file("weights.npz/keep"), "keep");
  try {
    tg::io::save_npz(dir.file("weights.npz"), small_arrays());
    FAIL("saving over a directory did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(contains(e.what(), dir.file("weights.npz") + ": is a directory"));
  }
  CHECK(read_bytes(dir.file("weights.npz/keep")) == "keep");
  CHECK(names_starting_with(dir.path(), "weights.npz.tmp").empty());
}

TEST_CASE("npz: a save into an unwritable directory fails clearly and leaves the old file") {
  TempDir dir;
  const std::string locked = dir.file("locked");
  fs::create_directory(locked);
  const std::string path = locked + "/w.npz";
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  ::chmod(locked.c_str(), 0555);
  // root writes anywhere: the saving child then drops to the user 'nobody'.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(4);
    try {
      tg::io::save_npz(path, reference_arrays());
      ::_exit(1);
    } catch (const std::runtime_error& e) {
      ::_exit(contains(e.what(), "save_npz: " + path) && contains(e.what(), "Permission denied") ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 4) {
    MESSAGE("skipped: running as root and cannot drop privileges to test an unwritable directory");
  } else {
    CHECK(WEXITSTATUS(status) == 0);  // 1: it saved, 2: the message, 3: the wrong exception
  }
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(locked, "w.npz.").empty());
}

TEST_CASE("npz: a write that fails midway (file size limit) removes the temporary and leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("w.npz");
  tg::io::save_npz(path, small_arrays());
  const std::string before = read_bytes(path);
  ::chmod(path.c_str(), 0640);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Writes beyond 4 KiB now fail with EFBIG in the middle of the array data.
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(4);
    try {
      tg::io::save_npz(path, {{"big", tg::ones({64, 64})}});
      ::_exit(1);
    } catch (const std::runtime_error& e) {
      ::_exit(contains(e.what(), "save_npz: " + path) && contains(e.what(), "File too large") ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: it saved, 2: the message, 3: the wrong exception, 4: no rlimit
  CHECK(read_bytes(path) == before);
  CHECK(names_starting_with(dir.path(), "w.npz.").empty());

  SUBCASE("a successful save keeps the replaced file's permissions") {
    tg::io::save_npz(path, reference_arrays());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
  }
}

TEST_CASE("npz: a save killed at random moments leaves the old or the new file, complete") {
  // A child saves B, A, B, A, ... over the same path without pause; the parent
  // kills it (SIGKILL, no cleanup) after a seeded random delay, 50 times, and
  // each time the file on disk must be exactly A or exactly B.
  TempDir dir;
  auto make = [](float value) {
    return NamedArrays{{"dense/kernel", tg::full({256, 256}, value)}, {"dense/bias", tg::full({256}, -value)}};
  };
  const NamedArrays a = make(1.0f), b = make(2.0f);
  tg::io::save_npz(dir.file("a.npz"), a);
  tg::io::save_npz(dir.file("b.npz"), b);
  const std::string bytes_a = read_bytes(dir.file("a.npz")), bytes_b = read_bytes(dir.file("b.npz"));
  REQUIRE(bytes_a != bytes_b);

  const std::string path = dir.file("weights.npz");
  auto start = std::chrono::steady_clock::now();
  tg::io::save_npz(path, a);
  auto one_save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  // Delays up to a few saves long, so that kills land before, inside and between saves.
  const long max_delay_us = std::clamp<long>(4 * one_save_us, 2000, 40000);

  std::mt19937 rng(20240607);
  std::uniform_int_distribution<long> delay(0, max_delay_us);
  int saw_a = 0, saw_b = 0, neither = 0, interrupted = 0, child_failed = 0;
  for (int round = 0; round < 50; ++round) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (long i = 0;; ++i) {
        try {
          tg::io::save_npz(path, i % 2 == 0 ? b : a);
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    ::usleep(static_cast<useconds_t>(delay(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) ++child_failed;

    const std::string on_disk = read_bytes(path);
    NamedArrays loaded;
    Outcome outcome = outcome_of([&] { return tg::io::load_npz(path); }, &loaded);
    if (on_disk == bytes_a && outcome == Outcome::loaded && same_arrays(loaded, a)) ++saw_a;
    else if (on_disk == bytes_b && outcome == Outcome::loaded && same_arrays(loaded, b)) ++saw_b;
    else ++neither;
    // A temporary left beside the file means the kill landed inside a save.
    for (const auto& name : names_starting_with(dir.path(), "weights.npz.tmp-")) {
      ++interrupted;
      fs::remove(dir.file(name));
    }
  }
  MESSAGE("kill test: one save takes " << one_save_us << " us; after 50 kills the file was A " << saw_a << " times, B "
                                       << saw_b << " times; " << interrupted << " kills interrupted a save");
  CHECK(neither == 0);
  CHECK(child_failed == 0);
  // Otherwise the test proved nothing: kills must have landed inside saves, and
  // saves must have completed.
  CHECK(interrupted > 0);
  CHECK(saw_b > 0);
}
