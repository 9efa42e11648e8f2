// The word2vec text format (tg::io::save_word2vec_format / load_word2vec_format):
// bit-exact round trips, a hand-written file, gensim reading ours and we reading
// gensim's, every malformed file and every bad argument with its message, and
// failed saves that leave the earlier file as it was.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "child_process.hpp"
#include "op_checks.hpp"
#include "temp_files.hpp"

namespace fs = std::filesystem;
using tgtest::address_sanitizer;
using tgtest::ChildOutcome;
using tgtest::run_in_child;
using tg::Shape;
using tg::Tensor;
using tg::io::load_word2vec_format;
using tg::io::load_word2vec_format_from_memory;
using tg::io::save_word2vec_format;
using tgtest::read_bytes;
using tgtest::TempDir;
using tgtest::write_bytes;

namespace {

std::vector<std::uint32_t> bits_of(const Tensor& t) {
  std::vector<std::uint32_t> out;
  for (float v : t.to_vector<float>()) out.push_back(std::bit_cast<std::uint32_t>(v));
  return out;
}

// `count` float32 values of random bits, the non-finite ones drawn again:
// every exponent, subnormals included.
std::vector<float> random_finite_floats(std::int64_t count, std::uint64_t seed) {
  std::vector<float> values;
  tg::Generator generator(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    float v;
    do {
      v = std::bit_cast<float>(static_cast<std::uint32_t>(generator.next_u64()));
    } while (!std::isfinite(v));
    values.push_back(v);
  }
  return values;
}

std::string load_error(const std::string& text) {
  return tgtest::error_of([&] { load_word2vec_format_from_memory(text); });
}

// Leftover temporary files beside `path` (a failed save must remove its own).
bool has_temporaries(const std::string& directory) {
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("word2vec format: round trip is bit exact (random bits, -0.0, subnormals, extremes, UTF-8 words)") {
  const std::int64_t n = 50, dim = 7;
  std::vector<std::string> words;
  for (int i = 0; i < n; ++i) words.push_back("w" + std::to_string(i));
  words[1] = "\xc3\xa9t\xc3\xa9";         // 'été'
  words[2] = "\xe4\xb8\xad\xe6\x96\x87";  // '中文'
  words[3] = "\xf0\x9f\x98\x80";          // an emoji, 4 bytes
  words[4] = "</s>";
  std::vector<float> values = random_finite_floats(n * dim, 7);
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 0.1f, 1.0f / 3.0f,
                            123456789.0f, 1e-5f};
  for (std::size_t i = 0; i < std::size(specials); ++i) values[i] = specials[i];
  Tensor vectors = Tensor::from_vector<float>(values, {n, dim});

  TempDir dir;
  const std::string path = dir.file("vectors.txt");
  save_word2vec_format(path, words, vectors);
  auto loaded = load_word2vec_format(path);
  CHECK(loaded.words == words);
  REQUIRE(loaded.vectors.dtype() == tg::float32);
  REQUIRE(loaded.vectors.shape() == Shape{n, dim});
  CHECK(bits_of(loaded.vectors) == bits_of(vectors));
  CHECK(!has_temporaries(dir.path()));

  // Saving what was loaded gives the same bytes.
  save_word2vec_format(dir.file("again.txt"), loaded.words, loaded.vectors);
  CHECK(read_bytes(dir.file("again.txt")) == read_bytes(path));
  // The in-memory reader agrees with the file reader.
  CHECK(bits_of(load_word2vec_format_from_memory(read_bytes(path)).vectors) == bits_of(vectors));
}

TEST_CASE("word2vec format: the text written is the header and one line per word, shortest float32 decimals") {
  TempDir dir;
  const std::string path = dir.file("v.txt");
  save_word2vec_format(path, {"the", "of"}, Tensor::from_vector<float>({0.1f, -0.25f, 1e-5f, 3, -0.0f, 1e30f}, {2, 3}));
  CHECK(read_bytes(path) == "2 3\nthe 0.1 -0.25 1e-05\nof 3 -0 1e+30\n");

  SUBCASE("no words at all: a header alone, read back as a (0, dim) matrix") {
    save_word2vec_format(path, {}, Tensor::empty({0, 4}));
    CHECK(read_bytes(path) == "0 4\n");
    auto loaded = load_word2vec_format(path);
    CHECK(loaded.words.empty());
    CHECK(loaded.vectors.shape() == Shape{0, 4});
  }
}

TEST_CASE("word2vec format: a hand-written file (CRLF, trailing spaces, a BOM, '+', '.5', tiny values)") {
  // word2vec.c writes a space after the last value; Windows editors add \r and a BOM.
  const std::string text =
      "\xEF\xBB\xBF"
      "3 4\r\n"
      "the 0.5 -1 .25 +2 \r\n"
      "king\t1e-50 -1e-50 3.4028235e38 1e-45\n"
      "\xc3\xa9t\xc3\xa9  1   2 3 4   \n"
      "\n\n   \n";
  auto loaded = load_word2vec_format_from_memory(text);
  CHECK(loaded.words == std::vector<std::string>{"the", "king", "\xc3\xa9t\xc3\xa9"});
  REQUIRE(loaded.vectors.shape() == Shape{3, 4});
  std::vector<float> v = loaded.vectors.to_vector<float>();
  CHECK(v[0] == 0.5f);
  CHECK(v[1] == -1.0f);
  CHECK(v[2] == 0.25f);
  CHECK(v[3] == 2.0f);
  // Below float32's range: zero, with its sign (numpy.float32(1e-50) is 0.0).
  CHECK(std::bit_cast<std::uint32_t>(v[4]) == 0u);
  CHECK(std::bit_cast<std::uint32_t>(v[5]) == 0x80000000u);
  CHECK(v[6] == std::numeric_limits<float>::max());
  CHECK(v[7] == std::numeric_limits<float>::denorm_min());
  CHECK(std::vector<float>(v.begin() + 8, v.end()) == std::vector<float>{1, 2, 3, 4});

  // The last line may lack its newline.
  auto short_file = load_word2vec_format_from_memory("1 2\nx 1 2");
  CHECK(short_file.words == std::vector<std::string>{"x"});
}

namespace {

// We save four words (one non-ASCII, a -0.0 and a subnormal among the values)
// in the format `binary` says; gensim loads the file, compares the float32
// bits with a raw dump, and saves its own copy, which we load and compare.
// Returns false (after a MESSAGE) when /usr/bin/python3 has no gensim.
bool check_gensim_round_trip(bool binary, std::uint64_t seed) {
  if (std::system("/usr/bin/python3 -c 'import gensim' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 with gensim is not available (Debian: apt-get install python3-gensim)");
    return false;
  }
  TempDir dir;
  const std::string ext = binary ? ".bin" : ".txt", flag = binary ? "True" : "False";
  const std::vector<std::string> words = {"the", "\xc3\xa9t\xc3\xa9", "king", "</s>"};
  Tensor vectors = tg::randn({4, 5}, seed);
  vectors.set({0, 0}, -0.0);
  vectors.set({1, 1}, 1e-40);  // a subnormal
  save_word2vec_format(dir.file("ours" + ext), words, vectors, binary);
  std::ofstream raw(dir.file("ours.f32"), std::ios::binary);
  raw.write(static_cast<const char*>(vectors.raw_data()), 4 * 5 * 4);
  raw.close();
  const std::string script =
      "import sys, numpy as np\n"
      "from gensim.models import KeyedVectors\n"
      "d = sys.argv[1]\n"
      "kv = KeyedVectors.load_word2vec_format(d + '/ours" + ext + "', binary=" + flag + ")\n"
      "want = np.fromfile(d + '/ours.f32', dtype='<f4').reshape(4, 5)\n"
      "assert kv.index_to_key == ['the', '\\u00e9t\\u00e9', 'king', '</s>'], kv.index_to_key\n"
      "assert kv.vectors.dtype == np.float32\n"
      "assert (kv.vectors.view(np.uint32) == want.view(np.uint32)).all()\n"
      "kv.save_word2vec_format(d + '/gensim" + ext + "', binary=" + flag + ")\n";
  write_bytes(dir.file("check.py"), script);
  int status = std::system(("/usr/bin/python3 '" + dir.file("check.py") + "' '" + dir.path() + "'").c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto theirs = load_word2vec_format(dir.file("gensim" + ext), binary);
  CHECK(theirs.words == words);
  CHECK(bits_of(theirs.vectors) == bits_of(vectors));
  // gensim 4.2's binary writer and ours write the same bytes.
  if (binary) CHECK(read_bytes(dir.file("gensim.bin")) == read_bytes(dir.file("ours.bin")));
  return true;
}

}  // namespace

TEST_CASE("word2vec format: gensim reads our file bit for bit, and we read gensim's (when python3 has gensim)") {
  check_gensim_round_trip(/*binary=*/false, 3);
}

TEST_CASE("word2vec format: gensim reads our binary file bit for bit, and we read its (when python3 has gensim)") {
  check_gensim_round_trip(/*binary=*/true, 4);
}

TEST_CASE("word2vec format: every malformed file gives an error naming the line and what was expected") {
  struct Case {
    std::string what;
    std::string text;
    std::vector<std::string> parts;  // each must appear in the message
  };
  const std::vector<Case> cases = {
      {"empty", "", {"<memory>", "the file is empty", "COUNT DIM"}},
      {"only whitespace", " \n\n\t\r\n", {"only whitespace"}},
      {"header of one number", "3\nthe 1 2 3\n", {"line 1", "expected a header 'COUNT DIM'", "'3'"}},
      {"header of three numbers", "1 2 3\nthe 1 2\n", {"line 1", "expected a header"}},
      {"header not numbers", "the 0.1\nx 1\n", {"line 1", "'the' is not a whole number"}},
      {"negative count", "-1 2\n", {"line 1", "'-1' is not a whole number"}},
      {"fractional dim", "1 2.5\nx 1 2\n", {"line 1", "'2.5' is not a whole number"}},
      {"dim zero", "1 0\nx\n", {"line 1", "dimension 0"}},
      {"count too large to parse", "99999999999999999999999 2\n", {"line 1", "too large"}},
      {"count x dim overflows", "4294967296 4294967296\n", {"line 1", "more values than a tensor holds"}},
      {"header starts late", "\n2 3\n", {"line 1", "expected a header"}},
      {"too few values", "2 3\nthe 1 2 3\nof 1 2\n", {"line 3", "expected 3 values after the word 'of'", "found 2"}},
      {"too many values", "1 2\nthe 1 2 3\n", {"line 2", "expected 2 values", "found 3"}},
      {"a word alone", "1 2\nthe\n", {"line 2", "found 0"}},
      {"not a number", "1 3\nthe 1 abc 3\n", {"line 2", "value 2 of the word 'the' ('abc') is not a number"}},
      {"a number with junk", "1 2\nthe 1 2x\n", {"line 2", "'2x'", "not a number"}},
      {"hexadecimal", "1 1\nthe 0x10\n", {"line 2", "not a number"}},
      {"comma decimal", "1 2\nthe 0,5 1\n", {"line 2", "'0,5'", "not a number"}},
      {"double sign", "1 1\nthe +-1\n", {"line 2", "not a number"}},
      {"a lone plus", "1 1\nthe +\n", {"line 2", "not a number"}},
      {"NaN", "1 2\nthe nan 1\n", {"line 2", "is NaN", "diverged"}},
      {"infinity", "1 2\nthe 1 -inf\n", {"line 2", "is infinite"}},
      {"beyond float32", "1 1\nthe 3.5e38\n", {"line 2", "beyond the float32 range"}},
      {"beyond float64", "1 1\nthe -1e400\n", {"line 2", "beyond the float32 range"}},
      {"count too large", "3 2\nthe 1 2\nof 3 4\n", {"header says 3 words", "ends after 2 words"}},
      {"count too small", "1 2\nthe 1 2\nof 3 4\n", {"line 3", "after the 1 words the header announces"}},
      {"blank line inside", "2 2\nthe 1 2\n\nof 3 4\n", {"line 3", "the line is empty"}},
      {"line starts with a space", "1 2\n the 1 2\n", {"line 2", "starts with whitespace"}},
      {"duplicate word", "3 1\nthe 1\nof 2\nthe 3\n", {"line 4", "'the' appears again (first on line 2)"}},
      {"invalid UTF-8 word", "1 1\n\xff\xfe 1\n", {"line 2", "not valid UTF-8", "byte 1"}},
      {"truncated UTF-8", "1 1\nab\xc3 1\n", {"line 2", "not valid UTF-8", "byte 3"}},
      {"overlong UTF-8", "1 1\n\xc0\xaf 1\n", {"line 2", "not valid UTF-8"}},
      {"UTF-16 surrogate", "1 1\n\xed\xa0\x80 1\n", {"line 2", "not valid UTF-8"}},
      {"binary format", std::string("1 2\nthe \x00\x00\x80\x3f\x00\x00\x00\x40\n", 17),
       {"line 2", "this looks like the binary word2vec format", "pass binary=true"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    std::string message = load_error(c.text);
    REQUIRE_MESSAGE(!message.empty(), c.what << ": no error");
    CHECK_CONTAINS(message, "load_word2vec_format: <memory>");
    for (const auto& part : c.parts) CHECK_CONTAINS(message, part);
  }
}

TEST_CASE("word2vec format: a missing file, a directory, an empty file: errors naming the path") {
  TempDir dir;
  std::string message = tgtest::error_of([&] { load_word2vec_format(dir.file("nope.txt")); });
  CHECK_CONTAINS(message, "load_word2vec_format: " + dir.file("nope.txt"));
  CHECK_CONTAINS(message, "No such file or directory");
  message = tgtest::error_of([&] { load_word2vec_format(dir.path()); });
  CHECK_CONTAINS(message, "is a directory");
  write_bytes(dir.file("empty.txt"), "");
  message = tgtest::error_of([&] { load_word2vec_format(dir.file("empty.txt")); });
  CHECK_CONTAINS(message, dir.file("empty.txt") + ": the file is empty");
  write_bytes(dir.file("bad.txt"), "2 2\nthe 1 2\nof 1\n");
  message = tgtest::error_of([&] { load_word2vec_format(dir.file("bad.txt")); });
  CHECK_CONTAINS(message, dir.file("bad.txt") + ", line 3: expected 2 values");
}

TEST_CASE("word2vec format: every bad argument to save is refused and the earlier file is left intact") {
  TempDir dir;
  const std::string path = dir.file("v.txt");
  const Tensor good = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  save_word2vec_format(path, {"a", "b"}, good);
  const std::string before = read_bytes(path);

  struct Case {
    std::string what;
    std::vector<std::string> words;
    Tensor vectors;
    std::string part;
  };
  Tensor with_nan = good.clone();
  with_nan.set({1, 0}, std::nan(""));
  Tensor with_inf = good.clone();
  with_inf.set({0, 1}, -INFINITY);
  const std::vector<Case> cases = {
      {"undefined tensor", {"a", "b"}, Tensor(), "undefined"},
      {"float64", {"a", "b"}, good.to(tg::float64), "must be float32 (the format holds float32 values), got float64"},
      {"int64", {"a", "b"}, good.to(tg::int64), "got int64"},
      {"rank 1", {"a", "b"}, Tensor::from_vector<float>({1, 2}, {2}), "must be a matrix (words, dim), got shape (2,)"},
      {"rank 3", {"a", "b"}, tg::zeros({2, 2, 1}), "got shape (2, 2, 1)"},
      {"more words than rows", {"a", "b", "c"}, good, "3 words but 2 vectors"},
      {"fewer words than rows", {"a"}, good, "1 words but 2 vectors"},
      {"dimension 0", {"a", "b"}, Tensor::empty({2, 0}), "dimension 0"},
      {"empty word", {"a", ""}, good, "word 1 is empty"},
      {"word with a space", {"new york", "b"}, good, "word 0 ('new york') contains whitespace"},
      {"word with a newline", {"a", "b\n"}, good, "contains whitespace"},
      {"word with a tab", {"a\tb", "b"}, good, "contains whitespace"},
      {"word with a carriage return", {"a", "b\r"}, good, "contains whitespace"},
      {"invalid UTF-8 word", {"a", "\xff"}, good, "is not valid UTF-8"},
      {"duplicate word", {"a", "a"}, good, "word 1 ('a') appears twice"},
      {"NaN", {"a", "b"}, with_nan, "the vector of 'b' (row 1) holds NaN at column 0"},
      {"infinity", {"a", "b"}, with_inf, "holds an infinity at column 1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    std::string message = tgtest::error_of([&] { save_word2vec_format(path, c.words, c.vectors); });
    CHECK_CONTAINS(message, "save_word2vec_format: " + path + ": ");
    CHECK_CONTAINS(message, c.part);
    CHECK(read_bytes(path) == before);
  }
  CHECK_CONTAINS(tgtest::error_of([&] { save_word2vec_format("", {"a", "b"}, good); }), "the path is empty");
  CHECK(!has_temporaries(dir.path()));
}

TEST_CASE("word2vec format: saving into a missing directory, over a directory, or where writing fails") {
  TempDir dir;
  const Tensor good = Tensor::from_vector<float>({1, 2}, {1, 2});
  const std::string missing = dir.file("no/such/v.txt");
  std::string message = tgtest::error_of([&] { save_word2vec_format(missing, {"a"}, good); });
  CHECK_CONTAINS(message, "save_word2vec_format: " + missing);
  CHECK_CONTAINS(message, "does the directory exist?");
  CHECK(!fs::exists(dir.file("no")));

  fs::create_directory(dir.file("v.txt"));
  message = tgtest::error_of([&] { save_word2vec_format(dir.file("v.txt"), {"a"}, good); });
  CHECK_CONTAINS(message, dir.file("v.txt") + ": is a directory");

  // An unwritable directory (root writes anywhere, so the child drops to 'nobody').
  const std::string locked = dir.file("locked");
  fs::create_directory(locked);
  const std::string path = locked + "/v.txt";
  save_word2vec_format(path, {"a"}, good);
  const std::string before = read_bytes(path);
  ::chmod(locked.c_str(), 0555);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(4);
    std::string m = tgtest::error_of([&] { save_word2vec_format(path, {"b"}, good); });
    ::_exit(tgtest::contains(m, "save_word2vec_format: " + path) && tgtest::contains(m, "Permission denied") ? 0 : 2);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 4) MESSAGE("skipped: running as root and cannot drop privileges");
  else CHECK(WEXITSTATUS(status) == 0);
  ::chmod(locked.c_str(), 0755);
  CHECK(read_bytes(path) == before);
  CHECK(!has_temporaries(locked));
}

// ---- special files, the header's claim, the binary format -------------------------

namespace {

std::string fixture(const std::string& name) { return std::string(TAPEGRAD_FIXTURE_DIR) + "/word2vec/" + name; }

std::string binary_file(const std::string& header, const std::vector<std::pair<std::string, std::vector<float>>>& rows,
                        const std::string& after_vector = "") {
  std::string bytes = header + "\n";
  for (const auto& [word, values] : rows) {
    bytes += word + " ";
    for (float v : values) {
      const auto bits = std::bit_cast<std::uint32_t>(v);
      for (int k = 0; k < 4; ++k) bytes += static_cast<char>((bits >> (8 * k)) & 0xFF);  // little-endian
    }
    bytes += after_vector;
  }
  return bytes;
}

std::string binary_error(const std::string& bytes) {
  return tgtest::error_of([&] { load_word2vec_format_from_memory(bytes, /*binary=*/true); });
}

}  // namespace

TEST_CASE("word2vec format: a FIFO, /dev/zero, /dev/urandom are refused at once, naming the function and the path") {
  TempDir dir;
  const std::string fifo = dir.file("vectors.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Before any byte is read: a FIFO would block until a writer comes, a device never ends.
  ChildOutcome outcome = run_in_child([&] { load_word2vec_format(fifo); }, 5, std::uint64_t{512} << 20);
  REQUIRE_MESSAGE(outcome.returned, "load_word2vec_format on a FIFO: the child " << outcome.ended);
  CHECK_CONTAINS(outcome.error, "load_word2vec_format: " + fifo + ": is a FIFO (named pipe), not a vectors file");
  outcome = run_in_child([&] { load_word2vec_format(fifo, /*binary=*/true); }, 5, std::uint64_t{512} << 20);
  REQUIRE_MESSAGE(outcome.returned, "load_word2vec_format(binary) on a FIFO: the child " << outcome.ended);
  CHECK_CONTAINS(outcome.error, "is a FIFO");

  for (const std::string device : {"/dev/zero", "/dev/urandom"}) {
    CAPTURE(device);
    if (!fs::exists(device)) continue;
    outcome = run_in_child([&] { load_word2vec_format(device); }, 5, std::uint64_t{512} << 20);
    REQUIRE_MESSAGE(outcome.returned, "load_word2vec_format on " << device << ": the child " << outcome.ended);
    CHECK_CONTAINS(outcome.error, "load_word2vec_format: " + device + ": is a character device");
  }
  CHECK_CONTAINS(tgtest::error_of([] { load_word2vec_format(""); }), "load_word2vec_format: the path is empty");
}

TEST_CASE("word2vec format: a header claiming more than the file holds is an error saying how much, not bad_alloc") {
  // 4000000000 x 300 float32 values would be 4.8 TB; the file has a few bytes.
  const std::string text = "4000000000 300\nthe 1 2 3\nof 4 5 6\n";
  std::string message = load_error(text);
  CHECK_CONTAINS(message, "load_word2vec_format: <memory>: the header claims 4000000000 words of dimension 300");
  CHECK_CONTAINS(message, "1200000000000 float32 values, 4800000000000 bytes (4.8 TB) of memory");
  CHECK_CONTAINS(message, "the file holds only 19 bytes after the header");
  CHECK_CONTAINS(message, "at least 2400000000000 bytes (2.4 TB)");
  message = binary_error(text);
  CHECK_CONTAINS(message, "the header claims 4000000000 words of dimension 300");
  CHECK_CONTAINS(message, "in the binary format each value takes 4 bytes, so at least 4800000000000 bytes");

  TempDir dir;
  write_bytes(dir.file("big.txt"), text);
  CHECK_CONTAINS(tgtest::error_of([&] { load_word2vec_format(dir.file("big.txt")); }),
                 "load_word2vec_format: " + dir.file("big.txt") + ": the header claims 4000000000 words");

  // The bound: a value takes at least 2 bytes of text, so 1 word of dimension
  // 2 needs 4 bytes after the header. 3 bytes are refused by the claim; 4 pass
  // it and get the line's own error (no real file is this short: the word
  // and the newline take bytes too).
  CHECK_CONTAINS(load_error("1 2\nthe"), "the file holds only 3 bytes after the header");
  CHECK_CONTAINS(load_error("1 2\nthe "), "line 2: expected 2 values after the word 'the'");
  CHECK_CONTAINS(binary_error("1 3\nab cdefgh"), "the file holds only 9 bytes after the header");

  // Where the process may not have the memory the header claims, the answer is
  // the same message, not a std::bad_alloc from reserving for the claim.
  if (address_sanitizer) {
    MESSAGE("skipped the address-space cap: AddressSanitizer needs the address space for its shadow memory");
    return;
  }
  // A 4 MB file in a child allowed 48 MB more: reserving for the claim (even
  // bounded by the file's size, 2M words of 32 bytes = 64 MB, a fresh mapping)
  // would not fit.
  const std::string big = "4000000000 300\n" + std::string(std::size_t{4} << 20, 'x');
  write_bytes(dir.file("claims.txt"), big);
  ChildOutcome outcome = run_in_child([&] { load_word2vec_format(dir.file("claims.txt")); }, 20,
                                      std::uint64_t{48} << 20);
  REQUIRE_MESSAGE(outcome.returned, "the child " << outcome.ended);
  CHECK_CONTAINS(outcome.error, dir.file("claims.txt") + ": the header claims 4000000000 words of dimension 300");
}

TEST_CASE("word2vec format: gensim's binary file (binary=True) reads as exactly gensim's vectors") {
  // tests/fixtures/word2vec/ is made by scripts/make_word2vec_fixtures.py (gensim
  // 4.2): the same six words and (6, 5) float32 vectors in both formats.
  auto binary = load_word2vec_format(fixture("gensim_binary.bin"), /*binary=*/true);
  auto text = load_word2vec_format(fixture("gensim_text.txt"));
  const std::vector<std::string> words = {"the", "\xc3\xa9t\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80",
                                          "</s>", "king"};
  CHECK(binary.words == words);
  CHECK(text.words == words);
  REQUIRE(binary.vectors.shape() == Shape{6, 5});
  CHECK(bits_of(binary.vectors) == bits_of(text.vectors));
  // Values the script sets, by their bits (the vectors' bytes hold 0x0A, 0x20
  // and 0x00, which a reader splitting lines or words would cut).
  const std::vector<std::uint32_t> bits = bits_of(binary.vectors);
  CHECK(bits[0] == std::bit_cast<std::uint32_t>(0.5f));
  CHECK(bits[3] == 0x80000000u);  // -0.0
  CHECK(bits[5] == 0x0000000Au);  // a subnormal whose first byte is '\n'
  CHECK(bits[6] == 0x20202020u);
  CHECK(bits[7] == 0x0A0A0A0Au);
  CHECK(bits[10] == std::bit_cast<std::uint32_t>(std::numeric_limits<float>::max()));
  CHECK(bits[15] == 0x3F80000Au);
  CHECK(bits[16] == 0x0A20003Fu);
  CHECK(bits[29] == std::bit_cast<std::uint32_t>(42.0f));

  // Our binary writer gives gensim's bytes exactly; a round trip is bit exact.
  TempDir dir;
  save_word2vec_format(dir.file("ours.bin"), binary.words, binary.vectors, /*binary=*/true);
  CHECK(read_bytes(dir.file("ours.bin")) == read_bytes(fixture("gensim_binary.bin")));
  CHECK(!has_temporaries(dir.path()));

  // word2vec.c's own layout: a '\n' after each vector.
  std::vector<std::pair<std::string, std::vector<float>>> rows;
  const std::vector<float> values = binary.vectors.to_vector<float>();
  for (std::size_t i = 0; i < words.size(); ++i)
    rows.emplace_back(words[i], std::vector<float>(values.begin() + 5 * i, values.begin() + 5 * i + 5));
  auto c_tool = load_word2vec_format_from_memory(binary_file("6 5", rows, "\n"), /*binary=*/true);
  CHECK(c_tool.words == words);
  CHECK(bits_of(c_tool.vectors) == bits_of(binary.vectors));
}

TEST_CASE("word2vec format: binary round trip is bit exact (random bits, UTF-8 words), a header alone is (0, dim)") {
  const std::int64_t n = 40, dim = 9;
  std::vector<std::string> words;
  for (int i = 0; i < n; ++i) words.push_back("w" + std::to_string(i));
  words[1] = "\xc3\xa9t\xc3\xa9";
  words[2] = "\xf0\x9f\x98\x80";
  std::vector<float> values = random_finite_floats(n * dim, 11);
  Tensor vectors = Tensor::from_vector<float>(values, {n, dim});
  TempDir dir;
  save_word2vec_format(dir.file("v.bin"), words, vectors, /*binary=*/true);
  const std::string bytes = read_bytes(dir.file("v.bin"));
  // The header, then per word its bytes, a space and 9 * 4 bytes: the words
  // w0, w3..w9 take 2 bytes, w10..w39 3, 'été' 5 and the emoji 4.
  CHECK(bytes.size() == 5 + (8 * 2 + 30 * 3 + 5 + 4) + n * (1 + 4 * dim));
  auto loaded = load_word2vec_format(dir.file("v.bin"), /*binary=*/true);
  CHECK(loaded.words == words);
  CHECK(bits_of(loaded.vectors) == bits_of(vectors));

  save_word2vec_format(dir.file("empty.bin"), {}, Tensor::empty({0, 3}), /*binary=*/true);
  CHECK(read_bytes(dir.file("empty.bin")) == "0 3\n");
  CHECK(load_word2vec_format(dir.file("empty.bin"), true).vectors.shape() == Shape{0, 3});
  // The binary writer refuses what its reader would: control characters in a word.
  CHECK_CONTAINS(tgtest::error_of([&] {
                   save_word2vec_format(dir.file("c.bin"), {"a\x01"}, Tensor::empty({1, 2}), /*binary=*/true);
                 }),
                 "word 0 ('a\\x01') contains a control character");
}

TEST_CASE("word2vec format: a binary file read as text, and a text file read as binary, say which format it is") {
  // The parse error stays, with the hint.
  std::string message = tgtest::error_of([] { load_word2vec_format(fixture("gensim_binary.bin")); });
  CHECK_CONTAINS(message, "load_word2vec_format: " + fixture("gensim_binary.bin") + ", line 2");
  CHECK_CONTAINS(message, "this looks like the binary word2vec format, gensim's binary=True; pass binary=true");
  message = tgtest::error_of([] { load_word2vec_format(fixture("gensim_text.txt"), /*binary=*/true); });
  CHECK_CONTAINS(message, "load_word2vec_format: " + fixture("gensim_text.txt"));
  CHECK_CONTAINS(message, "this looks like the word2vec text format; pass binary=false");
  // Float bytes that hold no '\n' and no NUL are still recognised by their non-ASCII bytes.
  message = load_error(binary_file("1 2", {{"the", {-1.1f, 0.8f}}}));  // cd cc 8c bf cd cc 4c 3f
  CHECK_CONTAINS(message, "pass binary=true");
  // A text file with a bad value is not taken for binary, nor a binary file cut short for text.
  CHECK(!tgtest::contains(load_error("2 2\nthe 1 2\nof 1 x\n"), "binary"));
  CHECK(!tgtest::contains(binary_error(binary_file("2 2", {{"the", {1.0f, 2.0f}}})), "text format"));
}

TEST_CASE("word2vec format: bad binary files: cut at every byte, bad words, bad values, dimensions that overflow") {
  const std::string good = read_bytes(fixture("gensim_binary.bin"));
  // Every proper prefix is an error, never a crash or a shorter result.
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    const std::string message = binary_error(good.substr(0, cut));
    REQUIRE(!message.empty());
    CHECK_CONTAINS(message, "load_word2vec_format: <memory>");
  }
  // Within a vector: what it needed and what was there.
  std::string message = binary_error(good.substr(0, good.size() - 3));
  CHECK_CONTAINS(message, "the vector of 'king' (word 6 of 6) needs 5 float32 values (20 bytes), but the file ends "
                          "after 17");
  // After a whole vector: the count of words found.
  message = binary_error(binary_file("3 1", {{"a", {1}}, {"b", {2}}}) + "\n\n\n\n");
  CHECK_CONTAINS(message, "the header says 3 words, but the file ends after 2 words");

  struct Case {
    std::string what;
    std::string bytes;
    std::vector<std::string> parts;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases = {
      {"word not UTF-8", binary_file("2 1", {{"ok", {1}}, {"\xff\xfe", {2}}}),
       {"byte offset 11", "word 2 of 2 ('\\xff\\xfe') is not valid UTF-8 (byte 1)", "is the dimension in the header right"}},
      {"truncated UTF-8 word", binary_file("1 1", {{"ab\xc3", {1}}}), {"not valid UTF-8 (byte 3)"}},
      {"overlong UTF-8 word", binary_file("1 1", {{"\xc0\xaf", {1}}}), {"not valid UTF-8"}},
      {"surrogate in a word", binary_file("1 1", {{"\xed\xa0\x80", {1}}}), {"not valid UTF-8"}},
      {"control byte in a word", binary_file("1 1", {{"a\tb", {1}}}), {"holds the control byte 0x09 at byte 2"}},
      // The header says 1 value a word, the file has 2: the second word starts inside a vector.
      {"dimension too small", binary_file("2 1", {{"a", {1.5f, -2.0f}}, {"b", {1, 2}}}), {"word 2 of 2", "header right"}},
      {"empty word", "1 1\n " + std::string("\x00\x00\x80\x3f", 4), {"word 1 of 1 is empty"}},
      {"NaN", binary_file("1 2", {{"a", {1, nan}}}), {"byte offset 10", "value 2 of the word 'a' is NaN", "diverged"}},
      {"infinity", binary_file("1 1", {{"a", {-inf}}}), {"value 1 of the word 'a' is infinite"}},
      {"duplicate word", binary_file("2 1", {{"a", {1}}, {"a", {2}}}), {"the word 'a' appears again (first as word 1)"}},
      {"bytes after the last word", binary_file("1 1", {{"a", {1}}}) + "\nb ", {"2 more bytes after the 1 words"}},
      {"a vector too many", binary_file("1 1", {{"a", {1}}, {"b", {2}}}), {"6 more bytes after the 1 words"}},
      {"count x dim overflows", "4294967296 4294967296\nab", {"line 1", "more values than a tensor holds"}},
      {"dim at 2^62", "1 4611686018427387904\nab", {"line 1", "more values than a tensor holds"}},
      {"dim beyond 64 bits", "1 18446744073709551616\nab", {"line 1", "too large"}},
      {"dim 0", "1 0\na ", {"line 1", "dimension 0"}},
      {"claim beyond the file", "1000 1000\na " + std::string("\x00\x00\x80\x3f", 4),
       {"the header claims 1000 words of dimension 1000", "holds only 6 bytes"}},
      {"header not numbers", std::string("\x00\x00\x80\x3f", 4), {"line 1", "expected a header"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    message = binary_error(c.bytes);
    REQUIRE_MESSAGE(!message.empty(), c.what << ": no error");
    CHECK_CONTAINS(message, "load_word2vec_format: <memory>");
    for (const auto& part : c.parts) CHECK_CONTAINS(message, part);
  }
  // Whitespace after the last vector is allowed (word2vec.c's '\n').
  CHECK(load_word2vec_format_from_memory(binary_file("1 1", {{"a", {1}}}) + "\n \n", true).words.size() == 1);
}
