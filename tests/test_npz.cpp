// .npz files (tg::io::save_npz / load_npz): round trips, numpy's bytes,
// numpy's files and numpy reading ours. Bad files: test_npz_bad_files.cpp;
// failed and killed saves: test_npz_saving.cpp.
#include "npz_test_support.hpp"

using namespace npz_test;

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

// ---- what the writer writes, the reader and numpy read -----------------------------

namespace {

// Arrays that exercise the names and values numpy must read: every dtype,
// 0-d, empty (in each position), non-ASCII UTF-8 names of 2, 3 and 4 bytes.
NamedArrays numpy_check_arrays() {
  return {
      {"f32", Tensor::from_vector<float>({-1.5f, 0.0f, 3.25f, 1e-40f, -0.0f, 7.0f}, {2, 3})},
      {"f64", Tensor::from_vector<double>({1e300, -2.5, 0.1}, {3})},
      {"i64", Tensor::from_vector<std::int64_t>({std::numeric_limits<std::int64_t>::min(), -1, 0,
                                                 std::numeric_limits<std::int64_t>::max()},
                                                {2, 1, 2})},
      {"scalar_f32", Tensor::from_vector<float>({2.5f}, {})},
      {"scalar_f64", Tensor::from_vector<double>({-0.125}, {})},
      {"scalar_i64", Tensor::from_vector<std::int64_t>({42}, {})},
      {"empty_f32", Tensor::empty({0}, tg::float32)},
      {"empty_f64", Tensor::empty({3, 0, 2}, tg::float64)},
      {"empty_i64", Tensor::empty({0, 5}, tg::int64)},
      {"layer/\xc3\xa9t\xc3\xa9", Tensor::from_vector<float>({1}, {1})},      // 'layer/été'
      {"\xe4\xb8\xad\xe6\x96\x87/kernel", Tensor::from_vector<float>({2}, {1})},  // '中文/kernel'
      {"emoji \xf0\x9f\x98\x80", Tensor::from_vector<double>({3}, {1, 1})},    // U+1F600
      {"a/b/c d", tg::ones({1, 2, 1, 2, 1, 2, 1, 2})},                          // rank 8
  };
}

std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// One line per array: name, dtype, shape and data (hex), for the numpy side to compare.
std::string describe(const NamedArrays& arrays) {
  std::string out;
  for (const auto& [name, tensor] : arrays) {
    const char* dtype = tensor.dtype() == tg::float32 ? "<f4" : tensor.dtype() == tg::float64 ? "<f8" : "<i8";
    std::string shape;
    for (std::int64_t d : tensor.shape().to_vector()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    const std::string data = hex_of(bytes_of(tensor));
    out += hex_of(name) + " " + dtype + " " + (shape.empty() ? "-" : shape) + " " + (data.empty() ? "-" : data) + "\n";
  }
  return out;
}

// Loads NPZ with numpy and compares with DESCRIPTION: names and their order,
// dtypes, shapes, bytes; zipfile checks every CRC. Exits 1 with what differs.
const char* numpy_check_script = R"PY(
import sys, zipfile
import numpy as np
npz, description = sys.argv[1], sys.argv[2]
want = []
for line in open(description):
    name, dtype, shape, data = line.split()
    shape = () if shape == "-" else tuple(int(d) for d in shape.split(","))
    data = b"" if data == "-" else bytes.fromhex(data)
    want.append((bytes.fromhex(name).decode("utf-8"), dtype, shape, data))
def check(name, got, dtype, shape, data):
    if got.dtype.str != dtype or got.shape != shape or got.tobytes() != data:
        sys.exit("%r: %s %r differs from %s %r" % (name, got.dtype.str, got.shape, dtype, shape))
with np.load(npz) as loaded:
    if loaded.files != [w[0] for w in want]:
        sys.exit("names differ: %r" % loaded.files[:5])
    # NpzFile looks keys up in a list: loaded[name] for 65535 names takes minutes.
    for name, dtype, shape, data in want[:100]:
        check(name, loaded[name], dtype, shape, data)
with zipfile.ZipFile(npz) as archive:
    bad = archive.testzip()
    if bad is not None:
        sys.exit("bad CRC in " + repr(bad))
    # Members through numpy's own .npy reader, as loaded[name] reads them:
    # all of a small file, every 64th and the last of a large one.
    infos = archive.infolist()
    stride = 1 if len(want) <= 1000 else 64
    for i in sorted(set(range(0, len(want), stride)) | {len(want) - 1} if want else set()):
        with archive.open(infos[i]) as member:
            check(want[i][0], np.lib.format.read_array(member), *want[i][1:])
print("numpy read %d arrays" % len(want))
)PY";

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// Runs the numpy check on `path`; true when numpy read every array as `arrays` says.
bool numpy_reads(const TempDir& dir, const std::string& path, const NamedArrays& arrays) {
  write_bytes(dir.file("check.py"), numpy_check_script);
  write_bytes(dir.file("description.txt"), describe(arrays));
  const std::string command =
      "/usr/bin/python3 '" + dir.file("check.py") + "' '" + path + "' '" + dir.file("description.txt") + "'";
  int status = std::system(command.c_str());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

NamedArrays many_arrays(std::size_t n) {
  NamedArrays arrays;
  arrays.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    arrays.emplace_back("a" + std::to_string(i), Tensor::from_vector<float>({static_cast<float>(i)}, {}));
  return arrays;
}

}  // namespace

TEST_CASE("npz: the most arrays save_npz writes (65535), load_npz reads; one more is refused") {
  // The classic end record counts entries in 16 bits, so 65535 is the most
  // without zip64 (which tapegrad does not write); zipfile writes 65535 the
  // same way and reads it back.
  TempDir dir;
  const NamedArrays arrays = many_arrays(65535);
  tg::io::save_npz(dir.file("many.npz"), arrays);
  check_same(tg::io::load_npz(dir.file("many.npz")), arrays);

  NamedArrays one_more = many_arrays(65536);
  try {
    tg::io::save_npz(dir.file("too_many.npz"), one_more);
    FAIL("save_npz wrote 65536 arrays");
  } catch (const std::invalid_argument& e) {
    CHECK(contains(e.what(), "save_npz: " + dir.file("too_many.npz") + ": 65536 arrays"));
    CHECK(contains(e.what(), "65535"));
  }
  CHECK(!fs::exists(dir.file("too_many.npz")));
}

TEST_CASE("npz: reads a numpy.savez file of 65536 arrays, which needs zip64 (when /usr/bin/python3 has numpy)") {
  // libzip reads the zip64 end record that Python's zipfile writes past 65535 members.
  if (!have_numpy()) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available (Debian: apt-get install python3-numpy)");
    return;
  }
  TempDir dir;
  const std::string path = dir.file("zip64.npz");
  const std::string command = "/usr/bin/python3 -c \"import numpy as np, sys; "
                              "np.savez(sys.argv[1], **{'a%d' % i: np.float32(i) for i in range(65536)})\" '" +
                              path + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  const NamedArrays arrays = tg::io::load_npz(path);
  REQUIRE(arrays.size() == 65536);
  CHECK(arrays.back().first == "a65535");
  CHECK(arrays.back().second.to_vector<float>() == std::vector<float>{65535});
}

TEST_CASE("npz: numpy reads every file save_npz writes: every dtype, 0-d, empty, UTF-8 names, 65535 arrays") {
  if (!have_numpy()) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available (Debian: apt-get install python3-numpy)");
    return;
  }
  TempDir dir;
  const NamedArrays arrays = numpy_check_arrays();
  tg::io::save_npz(dir.file("all.npz"), arrays);
  check_same(tg::io::load_npz(dir.file("all.npz")), arrays);
  CHECK(numpy_reads(dir, dir.file("all.npz"), arrays));

  const NamedArrays many = many_arrays(65535);
  tg::io::save_npz(dir.file("many.npz"), many);
  CHECK(numpy_reads(dir, dir.file("many.npz"), many));
  check_same(tg::io::load_npz(dir.file("many.npz")), many);

  tg::io::save_npz(dir.file("none.npz"), NamedArrays{});
  CHECK(numpy_reads(dir, dir.file("none.npz"), NamedArrays{}));

  // The check fails when the file and the description differ, so a pass means something.
  NamedArrays changed = arrays;
  changed[1].second = Tensor::from_vector<double>({1e300, -2.5, 0.2}, {3});
  CHECK(!numpy_reads(dir, dir.file("all.npz"), changed));
}
