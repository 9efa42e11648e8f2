// IDX files (tg::io::read_idx*, idx_to_float32 / idx_to_int64): small files
// written here, plain and gzip-compressed, read back byte for byte; every
// malformed file with its message; and Debian's Fashion-MNIST when installed.
#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "temp_files.hpp"

using tg::io::IdxArray;
using tg::io::read_idx;
using tg::io::read_idx_images;
using tg::io::read_idx_labels;

namespace {

std::string big_endian(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// The bytes of an IDX file: magic 0x000008NN, the sizes, the values.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values,
                      std::uint8_t type = 0x08) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) bytes += big_endian(d);
  bytes.append(values.begin(), values.end());
  return bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

std::vector<std::uint8_t> counting(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 5) % 256);
  return v;
}

// The message of the runtime_error that `read` throws.
template <class F>
std::string error_of(F read) {
  try {
    read();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("no std::runtime_error was thrown");
  return "";
}

}  // namespace

TEST_CASE("read_idx_images / read_idx_labels: plain and gzip files read back byte for byte") {
  tgtest::TempDir dir;
  const std::vector<std::uint8_t> pixels = counting(3 * 4 * 5);
  const std::vector<std::uint8_t> labels = {7, 0, 9};
  const std::string images_bytes = idx_bytes({3, 4, 5}, pixels), labels_bytes = idx_bytes({3}, labels);
  tgtest::write_bytes(dir.file("images"), images_bytes);
  write_gzip(dir.file("images.gz"), images_bytes);
  tgtest::write_bytes(dir.file("labels"), labels_bytes);
  write_gzip(dir.file("labels.gz"), labels_bytes);
  // A gzip file named without .gz is still recognised by its bytes.
  write_gzip(dir.file("labels-gzip-no-suffix"), labels_bytes);

  for (const char* name : {"images", "images.gz"}) {
    CAPTURE(name);
    const IdxArray a = read_idx_images(dir.file(name));
    CHECK(a.dims == std::vector<std::int64_t>{3, 4, 5});
    CHECK(a.data == pixels);
  }
  for (const char* name : {"labels", "labels.gz", "labels-gzip-no-suffix"}) {
    CAPTURE(name);
    const IdxArray a = read_idx_labels(dir.file(name));
    CHECK(a.dims == std::vector<std::int64_t>{3});
    CHECK(a.data == labels);
  }
  // read_idx takes either, and any other number of dimensions.
  CHECK(read_idx(dir.file("images.gz")).dims == std::vector<std::int64_t>{3, 4, 5});
  tgtest::write_bytes(dir.file("matrix"), idx_bytes({2, 3}, counting(6)));
  CHECK(read_idx(dir.file("matrix")).dims == std::vector<std::int64_t>{2, 3});
  CHECK(read_idx(dir.file("matrix")).data == counting(6));
}

TEST_CASE("read_idx: a large gzip file (more than one read buffer) and an empty set") {
  tgtest::TempDir dir;
  // 300 images of 28 x 28: 235,200 bytes, several gzread buffers.
  const std::vector<std::uint8_t> pixels = counting(300 * 28 * 28);
  write_gzip(dir.file("many.gz"), idx_bytes({300, 28, 28}, pixels));
  const IdxArray a = read_idx_images(dir.file("many.gz"));
  CHECK(a.dims == std::vector<std::int64_t>{300, 28, 28});
  CHECK(a.data == pixels);

  tgtest::write_bytes(dir.file("none"), idx_bytes({0, 28, 28}, {}));
  const IdxArray none = read_idx_images(dir.file("none"));
  CHECK(none.dims == std::vector<std::int64_t>{0, 28, 28});
  CHECK(none.data.empty());
  CHECK(tg::io::idx_to_float32(none).shape() == tg::Shape({0, 28, 28}));
}

TEST_CASE("idx_to_float32 scales to [0, 1]; idx_to_int64 keeps the values") {
  const IdxArray a{{2, 3}, {0, 255, 51, 1, 128, 254}};
  const tg::Tensor x = tg::io::idx_to_float32(a);
  CHECK(x.dtype() == tg::float32);
  CHECK(x.shape() == tg::Shape({2, 3}));
  const std::vector<float> v = x.to_vector<float>();
  CHECK(v[0] == 0.0f);
  CHECK(v[1] == 1.0f);
  CHECK(v[2] == doctest::Approx(0.2));
  CHECK(v[3] == doctest::Approx(1.0 / 255));
  CHECK(v[4] == doctest::Approx(128.0 / 255));
  const tg::Tensor y = tg::io::idx_to_int64(IdxArray{{4}, {9, 0, 3, 255}});
  CHECK(y.dtype() == tg::int64);
  CHECK(y.to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 0, 3, 255});
  // An array whose dims do not match its data (made by hand) is refused.
  CHECK_THROWS_WITH_AS(tg::io::idx_to_float32(IdxArray{{2, 3}, {1, 2}}),
                       "idx_to_float32: dims (2, 3) need 6 values, the array has 2", std::invalid_argument);
  CHECK_THROWS_AS(tg::io::idx_to_int64(IdxArray{{}, {1}}), std::invalid_argument);
}

TEST_CASE("read_idx: a missing file, a directory, an empty file") {
  tgtest::TempDir dir;
  const std::string missing = dir.file("nope.gz");
  CHECK(error_of([&] { read_idx_images(missing); }) ==
        "read_idx_images: " + missing + ": cannot open the file: No such file or directory (check the path)");
  const std::string d = error_of([&] { read_idx_labels(dir.path()); });
  CHECK(d.find("read_idx_labels: " + dir.path() + ": is not a regular file") == 0);
  tgtest::write_bytes(dir.file("empty"), "");
  CHECK(error_of([&] { read_idx(dir.file("empty")); }) ==
        "read_idx: " + dir.file("empty") +
            ": the file ends after 0 bytes, inside the 4-byte magic number (expected an IDX array, an IDX file)");
}

TEST_CASE("read_idx: wrong magic numbers say which was found and which expected") {
  tgtest::TempDir dir;
  write_gzip(dir.file("labels.gz"), idx_bytes({3}, {1, 2, 3}));
  write_gzip(dir.file("images.gz"), idx_bytes({1, 2, 2}, {1, 2, 3, 4}));
  CHECK(error_of([&] { read_idx_images(dir.file("labels.gz")); }) ==
        "read_idx_images: " + dir.file("labels.gz") +
            ": magic number 0x00000801, expected 0x00000803 (images: unsigned bytes, 3 dimensions); this is a labels file");
  CHECK(error_of([&] { read_idx_labels(dir.file("images.gz")); }) ==
        "read_idx_labels: " + dir.file("images.gz") +
            ": magic number 0x00000803, expected 0x00000801 (labels: unsigned bytes, 1 dimensions); this is an images file");
  // Another IDX type (0x0D: float32) and a file that is not IDX at all.
  tgtest::write_bytes(dir.file("floats"), idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
  CHECK(error_of([&] { read_idx(dir.file("floats")); }) ==
        "read_idx: " + dir.file("floats") +
            ": magic number 0x00000D01, expected 0x000008NN (an IDX file of unsigned bytes with NN = 1 to 8 "
            "dimensions); IDX type 0D is not unsigned bytes");
  tgtest::write_bytes(dir.file("text"), "hello, world\n");
  CHECK(error_of([&] { read_idx(dir.file("text")); }).find("magic number 0x68656C6C, expected 0x000008NN") !=
        std::string::npos);
  tgtest::write_bytes(dir.file("zero-dims"), std::string("\0\0\x08\0", 4));
  CHECK(error_of([&] { read_idx(dir.file("zero-dims")); }).find("magic number 0x00000800") != std::string::npos);
}

TEST_CASE("read_idx: truncated headers and data, extra bytes, corrupt gzip") {
  tgtest::TempDir dir;
  const std::string full = idx_bytes({2, 3, 3}, counting(18));
  tgtest::write_bytes(dir.file("short-header"), full.substr(0, 10));
  CHECK(error_of([&] { read_idx_images(dir.file("short-header")); }) ==
        "read_idx_images: " + dir.file("short-header") +
            ": the header is truncated: 3 dimension sizes need 12 bytes after the magic number, the file has 6");
  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    const std::string path = dir.file(gzip ? "short-data.gz" : "short-data");
    gzip ? write_gzip(path, full.substr(0, full.size() - 5)) : tgtest::write_bytes(path, full.substr(0, full.size() - 5));
    CHECK(error_of([&] { read_idx_images(path); }) ==
          "read_idx_images: " + path +
              ": the data is truncated: dims (2, 3, 3) need 18 bytes after the 16-byte header, the file has 13");
    const std::string long_path = dir.file(gzip ? "long.gz" : "long");
    gzip ? write_gzip(long_path, full + "abc") : tgtest::write_bytes(long_path, full + "abc");
    CHECK(error_of([&] { read_idx_images(long_path); }) ==
          "read_idx_images: " + long_path +
              ": dims (2, 3, 3) account for 18 bytes of data, the file has 3 bytes more (the dims do not match the size)");
  }
  // A header that promises 4 GB in a file of a few bytes fails at the end of
  // the data, without allocating the promise.
  tgtest::write_bytes(dir.file("huge"), idx_bytes({0xFFFFFFFFu}, {1, 2, 3}));
  CHECK(error_of([&] { read_idx_labels(dir.file("huge")); }).find("need 4294967295 bytes after the 8-byte header, the file has 3") !=
        std::string::npos);
  // A gzip header followed by garbage: zlib's data error, named.
  std::string gz;
  {
    write_gzip(dir.file("good.gz"), full);
    gz = tgtest::read_bytes(dir.file("good.gz"));
  }
  for (std::size_t i = 12; i < gz.size() - 8; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5A);
  tgtest::write_bytes(dir.file("corrupt.gz"), gz);
  const std::string corrupt = error_of([&] { read_idx_images(dir.file("corrupt.gz")); });
  CHECK(corrupt.find("read_idx_images: " + dir.file("corrupt.gz") + ": ") == 0);
}

TEST_CASE("read_idx: Debian's Fashion-MNIST test set, when installed (scripts/setup.sh installs it)") {
  const std::string root = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(root + "t10k-labels-idx1-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  const IdxArray images = read_idx_images(root + "t10k-images-idx3-ubyte.gz");
  const IdxArray labels = read_idx_labels(root + "t10k-labels-idx1-ubyte.gz");
  CHECK(images.dims == std::vector<std::int64_t>{10000, 28, 28});
  CHECK(labels.dims == std::vector<std::int64_t>{10000});
  std::vector<int> per_class(10, 0);
  for (std::uint8_t y : labels.data) {
    REQUIRE(y < 10);
    ++per_class[y];
  }
  CHECK(per_class == std::vector<int>(10, 1000));  // the test set is balanced
  // The first test image is an ankle boot (class 9), as in every Fashion-MNIST loader.
  CHECK(labels.data[0] == 9);
}
