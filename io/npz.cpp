// NumPy .npz reading and writing (see the header for the contract).
//
// The formats, as far as they matter here:
//
// NPY (numpy/lib/format.py): "\x93NUMPY", a version byte pair, the header
// length (uint16 for 1.0, uint32 for 2.0 and 3.0), then a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n' so that the data starts at a multiple of
// 64 bytes; then the raw data in C order.
//
// ZIP (PKWARE APPNOTE.TXT) is libzip's: io/npz_archive.cpp opens the archive
// with it, and npz_write.cpp writes with it.
//
// The reader trusts nothing: libzip checks every offset and length against the
// file and every local header against the central directory; every allocation
// is bounded by the file's size (times deflate's maximum ratio for compressed
// members), and every member's CRC-32 is checked, before anything is returned.
#include "tapegrad/io/npz.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "npz_format.hpp"
#include "npz_reader.hpp"
#include "tapegrad/autodiff/format.hpp"

namespace tg::io {

using tg::detail::dims_str;

using namespace npz_format;
using namespace npz_reading;

namespace {

// A Python literal dict as numpy writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

class HeaderParser {
 public:
  // `context` starts every error message ("load_npz: FILE: array 'NAME': ").
  HeaderParser(std::string_view text, std::string context) : text_(text), context_(std::move(context)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    skip_space();
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = parse_string("a key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (has_descr) error("'descr' appears twice");
        if (peek() != '\'' && peek() != '"')
          error("'descr' is not a dtype string such as '<f4' (structured arrays are not supported)");
        header.descr = parse_string("the descr");
        has_descr = true;
      } else if (key == "fortran_order") {
        if (has_order) error("'fortran_order' appears twice");
        header.fortran_order = parse_bool();
        has_order = true;
      } else if (key == "shape") {
        if (has_shape) error("'shape' appears twice");
        header.shape = parse_shape();
        has_shape = true;
      } else {
        error("unexpected key " + in_quotes(key) + " (an npy header has exactly descr, fortran_order and shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      if (peek() != '}') error("expected ',' or '}' at position " + std::to_string(at_));
    }
    ++at_;  // '}'
    skip_space();
    if (at_ != text_.size()) error("unexpected text after the dict at position " + std::to_string(at_));
    if (!has_descr || !has_order || !has_shape)
      error(std::string("missing key '") + (!has_descr ? "descr" : !has_order ? "fortran_order" : "shape") + "'");
    return header;
  }

 private:
  [[noreturn]] void error(const std::string& what) {
    throw std::runtime_error(context_ + "malformed npy header " + in_quotes(text_) + ": " + what);
  }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "' at position " + std::to_string(at_));
    ++at_;
  }
  std::string parse_string(const char* what) {
    char quote = peek();
    if (quote != '\'' && quote != '"') error(std::string("expected a quoted string for ") + what);
    std::size_t start = ++at_;
    while (at_ < text_.size() && text_[at_] != quote) {
      if (text_[at_] == '\\') error("escape sequences are not supported in npy header strings");
      ++at_;
    }
    if (at_ >= text_.size()) error("unterminated string");
    return std::string(text_.substr(start, at_++ - start));
  }
  bool parse_bool() {
    if (text_.substr(at_, 4) == "True") {
      at_ += 4;
      return true;
    }
    if (text_.substr(at_, 5) == "False") {
      at_ += 5;
      return false;
    }
    error("'fortran_order' is not True or False");
  }
  std::vector<std::int64_t> parse_shape() {
    expect('(');
    std::vector<std::int64_t> dims;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() == '-') error("negative dimension in the shape");
      if (peek() < '0' || peek() > '9') error("the shape is not a tuple of integers");
      std::int64_t value = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) error("a dimension is too large");
        value = value * 10 + (peek() - '0');
        ++at_;
      }
      if (peek() == 'L') ++at_;  // Python 2 wrote long integers as 3L
      dims.push_back(value);
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++at_;
        continue;
      }
      if (peek() != ')') error("expected ',' or ')' in the shape at position " + std::to_string(at_));
    }
    ++at_;  // ')'
    if (dims.size() == 1 && !trailing_comma) error("the shape is not a tuple: (n) needs a comma, (n,)");
    return dims;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::string context_;
};

}  // namespace

// Reader's NPY half (its ZIP half is in io/npz_archive.cpp).
namespace npz_reading {

Tensor Reader::read_array(const Member& m, const std::string& array_name) {
  MemberStream in(*this, m);
  constexpr std::size_t v1_prefix = npy_magic_size + 2 + 2;
  if (m.size < v1_prefix)
    fail_array(array_name, "member " + in_quotes(m.name) + " has " + std::to_string(m.size) + " bytes, too few for a .npy array");
  unsigned char prefix[12];
  in.read(prefix, v1_prefix);
  if (std::memcmp(prefix, npy_magic, npy_magic_size) != 0)
    fail_array(array_name, "member " + in_quotes(m.name) + " is not a .npy array: it starts with bytes " + hex_bytes(prefix, 8) +
        ", not the magic \\x93NUMPY");
  int major = prefix[6], minor = prefix[7];
  std::uint64_t header_length;
  if (major == 1 && minor == 0) {
    header_length = get_u16(prefix + 8);
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (m.size < v1_prefix + 2) fail_array(array_name, "the .npy member is too short for its version " + std::to_string(major) + ".0 header");
    in.read(prefix + v1_prefix, 2);
    header_length = get_u32(prefix + 8);
  } else {
    fail_array(array_name, "npy format version " + std::to_string(major) + "." + std::to_string(minor) +
        " is not supported (1.0, 2.0 and 3.0 are)");
  }
  if (header_length > m.size - in.position())
    fail_array(array_name, "its npy header claims " + std::to_string(header_length) + " bytes, but the member has only " +
        std::to_string(m.size - in.position()) + " after the magic");
  if (header_length > max_npy_header) fail_array(array_name, "its npy header claims " + std::to_string(header_length) + " bytes, too many");
  std::string text(static_cast<std::size_t>(header_length), '\0');
  in.read(text.data(), text.size());
  NpyHeader header = HeaderParser(text, "load_npz: " + file_ + ": array " + in_quotes(array_name) + ": ").parse();

  DType dtype;
  std::size_t file_item_size;
  if (header.descr == "<f4") {
    dtype = DType::float32;
    file_item_size = 4;
  } else if (header.descr == "<f8") {
    dtype = DType::float64;
    file_item_size = 8;
  } else if (header.descr == "<i8") {
    dtype = DType::int64;
    file_item_size = 8;
  } else if (header.descr == "<i4") {
    dtype = DType::int64;  // widened
    file_item_size = 4;
  } else {
    fail_array(array_name, "dtype " + in_quotes(header.descr) +
        " is not supported; tapegrad reads <f4 (float32), <f8 (float64), <i8 (int64) and <i4 (widened to int64)" +
        (!header.descr.empty() && header.descr[0] == '>' ? "; this array is big-endian" : ""));
  }
  if (static_cast<int>(header.shape.size()) > Shape::max_rank)
    fail_array(array_name, "shape " + dims_str(header.shape) + " has " + std::to_string(header.shape.size()) +
        " dimensions; tapegrad tensors have at most " + std::to_string(Shape::max_rank));
  if (header.fortran_order) {
    // Fortran and C order lay out the same bytes when at most one dimension exceeds 1.
    auto long_dims = std::count_if(header.shape.begin(), header.shape.end(), [](std::int64_t d) { return d > 1; });
    if (long_dims > 1)
      fail_array(array_name, "it is stored in Fortran order (fortran_order: True), which tapegrad does not read; save a C-ordered "
          "array (numpy.ascontiguousarray)");
  }
  // numpy's rule (PyArray_NewFromDescr): the item size times the product of the
  // nonzero dimensions must fit in int64, even when a 0 leaves no element, so
  // (2^32, 2^32, 0) is refused and no count below can overflow.
  {
    std::uint64_t bytes = dtype_size(dtype);
    constexpr auto max_bytes = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (std::int64_t d : header.shape) {
      auto dim = static_cast<std::uint64_t>(d);
      if (dim == 0) continue;
      if (bytes > max_bytes / dim)
        fail_array(array_name, "shape " + dims_str(header.shape) + " has too many elements: " +
                                   std::to_string(dtype_size(dtype)) + " bytes per element times its nonzero "
                                   "dimensions pass 2^63 - 1 bytes (numpy refuses it too)");
      bytes *= dim;
    }
  }
  // The data must fill the rest of the member exactly; checked without overflow
  // before anything is allocated.
  const std::uint64_t available = m.size - in.position();
  std::uint64_t count = 1;
  bool too_large = false;
  if (std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end()) {
    count = 0;
  } else {
    for (std::int64_t d : header.shape) {
      auto dim = static_cast<std::uint64_t>(d);
      if (count > available / dim) {
        too_large = true;  // count * dim alone exceeds the member
        break;
      }
      count *= dim;
    }
  }
  if (too_large || count * file_item_size != available)
    fail_array(array_name, "shape " + dims_str(header.shape) + " and dtype " + header.descr + " need " +
        (too_large ? std::string("more bytes than the member holds") : std::to_string(count * file_item_size) + " bytes") +
        ", but the member holds " + std::to_string(available) + " bytes of data");

  // A file may rightly claim more memory than the process may have (a large
  // array, or up to 1100 times a deflated member's size): say so, with the file
  // and the bytes, rather than let a bare std::bad_alloc escape.
  auto out_of_memory = [&](std::uint64_t bytes) {
    fail_array(array_name, "out of memory: its shape " + dims_str(header.shape) + " of dtype " + header.descr +
                               " needs " + std::to_string(bytes) + " bytes, which this process cannot allocate");
  };
  Tensor tensor;
  try {
    tensor = Tensor::empty(Shape(header.shape), dtype);
  } catch (const std::bad_alloc&) {
    out_of_memory(count * dtype_size(dtype));
  } catch (const std::exception& e) {
    // The tensor's own limits on shapes (the checks above keep within them).
    fail_array(array_name, std::string("shape ") + dims_str(header.shape) + " is refused: " + e.what());
  }
  if (file_item_size == dtype_size(dtype)) {
    in.read(tensor.raw_data(), static_cast<std::size_t>(available));
  } else {
    std::vector<std::int32_t> narrow;
    try {
      narrow.resize(static_cast<std::size_t>(count));
    } catch (const std::bad_alloc&) {
      out_of_memory(count * (dtype_size(dtype) + file_item_size));
    }
    in.read(narrow.data(), narrow.size() * sizeof(std::int32_t));
    std::copy(narrow.begin(), narrow.end(), static_cast<std::int64_t*>(tensor.raw_data()));
  }
  in.finish();
  return tensor;
}

}  // namespace npz_reading

namespace {

// Every allocation is bounded by the file's size, yet the directory, the
// headers and the arrays together can pass what the process may allocate:
// arrays say it themselves (read_array), and anything else says it here.
NamedArrays read_all_or_say_out_of_memory(const Source& source, const std::string& file) {
  try {
    return Reader(source, file).read_all();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("load_npz: " + file + ": out of memory while reading it (the file has " +
                             std::to_string(source.size()) + " bytes)");
  }
}

}  // namespace

NamedArrays load_npz(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer; the check
  // below refuses it instead. Reads of a regular file ignore the flag.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) throw std::runtime_error("load_npz: " + path + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) throw std::runtime_error("load_npz: " + path + ": cannot stat: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw std::runtime_error("load_npz: " + path + ": is a directory, not an npz file");
  if (!S_ISREG(st.st_mode)) throw std::runtime_error("load_npz: " + path + ": is not a regular file");
  FileSource source(fd.get(), static_cast<std::uint64_t>(st.st_size), path);
  return read_all_or_say_out_of_memory(source, path);
}

std::map<std::string, Tensor> load_npz_map(const std::string& path) {
  NamedArrays arrays = load_npz(path);
  return std::map<std::string, Tensor>(arrays.begin(), arrays.end());
}

NamedArrays load_npz_from_memory(const void* data, std::size_t size, const std::string& name) {
  if (data == nullptr && size != 0) throw std::invalid_argument("load_npz_from_memory: null data of nonzero size");
  MemorySource source(data, size);
  return read_all_or_say_out_of_memory(source, name);
}

}  // namespace tg::io
