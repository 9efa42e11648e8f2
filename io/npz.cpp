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
// ZIP (PKWARE APPNOTE.TXT): per member a local header (signature 0x04034b50)
// followed by the data; then the central directory, one entry per member
// (0x02014b50) with its sizes, CRC-32 and the offset of its local header; then
// the end-of-central-directory record (0x06054b50) with the directory's
// offset, size and entry count. All integers are little-endian.
//
// The reader trusts nothing: every offset and length read from the file is
// checked against the file's size before use, every allocation is bounded by
// the file's size (times deflate's maximum ratio for compressed members), and
// every member's CRC-32 is checked, before anything is returned.
#include "tapegrad/io/npz.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "npz_format.hpp"
#include "tapegrad/autodiff/format.hpp"

namespace tg::io {

using tg::detail::dims_str;

using namespace npz_format;

namespace {

// ---- reading: where the bytes come from ----------------------------------------

class Source {
 public:
  virtual ~Source() = default;
  virtual std::uint64_t size() const = 0;
  // Exactly n bytes at offset; the caller has checked offset + n <= size().
  virtual void read(std::uint64_t offset, void* out, std::size_t n) const = 0;
};

class MemorySource final : public Source {
 public:
  MemorySource(const void* data, std::size_t size) : data_(static_cast<const unsigned char*>(data)), size_(size) {}
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, void* out, std::size_t n) const override {
    if (n) std::memcpy(out, data_ + offset, n);
  }

 private:
  const unsigned char* data_;
  std::size_t size_;
};

class FileSource final : public Source {
 public:
  FileSource(int fd, std::uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, void* out, std::size_t n) const override {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      std::size_t chunk = std::min<std::size_t>(n, std::size_t{1} << 30);
      ssize_t got = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0)
        throw std::runtime_error("load_npz: " + path_ + ": read error at offset " + std::to_string(offset) + ": " +
                                 std::strerror(errno));
      if (got == 0)
        throw std::runtime_error("load_npz: " + path_ + ": the file became shorter while it was read (offset " +
                                 std::to_string(offset) + ")");
      p += got;
      offset += static_cast<std::uint64_t>(got);
      n -= static_cast<std::size_t>(got);
    }
  }

 private:
  int fd_;
  std::uint64_t size_;
  std::string path_;
};

// ---- reading: the archive -------------------------------------------------------

struct Member {
  std::string name;  // as in the archive, e.g. "dense/kernel.npy"
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;  // uncompressed
  std::uint64_t local_offset = 0;
  std::uint64_t data_offset = 0;  // filled in from the local header
};

class Reader;

// The uncompressed bytes of one member, read front to back, with their CRC-32.
class MemberStream {
 public:
  MemberStream(const Reader& reader, const Member& member);
  ~MemberStream() {
    if (inflating_) inflateEnd(&zs_);
  }
  MemberStream(const MemberStream&) = delete;
  MemberStream& operator=(const MemberStream&) = delete;

  // Exactly n more bytes, or an error.
  void read(void* out, std::size_t n);
  std::uint64_t position() const { return produced_; }
  // Checks that the member ends here and that its CRC-32 matches.
  void finish();

 private:
  std::size_t inflate_into(unsigned char* out, std::size_t n);

  const Reader& reader_;
  const Member& member_;
  std::uint64_t produced_ = 0;
  std::uint32_t crc_ = 0;
  // deflate only
  bool inflating_ = false;
  bool stream_ended_ = false;
  z_stream zs_{};
  std::uint64_t compressed_read_ = 0;
  std::vector<unsigned char> input_;
};

class Reader {
 public:
  Reader(const Source& source, std::string file) : source_(source), file_(std::move(file)) {}

  NamedArrays read_all();

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error("load_npz: " + file_ + ": " + what); }
  [[noreturn]] void fail_array(const std::string& array_name, const std::string& what) const {
    fail("array " + in_quotes(array_name) + ": " + what);
  }
  const Source& source() const { return source_; }

 private:
  std::vector<Member> read_central_directory(std::uint64_t& directory_offset);
  void read_local_header(Member& member, std::uint64_t directory_offset);
  Tensor read_array(const Member& member, const std::string& array_name);

  const Source& source_;
  std::string file_;
};

MemberStream::MemberStream(const Reader& reader, const Member& member) : reader_(reader), member_(member) {
  if (member.method == 8) {
    // Raw deflate (no zlib header): negative window bits.
    if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) reader_.fail("cannot initialise zlib's inflate");
    inflating_ = true;
    input_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(member.compressed_size, 1 << 16)));
  }
}

std::size_t MemberStream::inflate_into(unsigned char* out, std::size_t n) {
  std::size_t total = 0;
  while (total < n && !stream_ended_) {
    if (zs_.avail_in == 0 && compressed_read_ < member_.compressed_size) {
      auto chunk = static_cast<std::size_t>(
          std::min<std::uint64_t>(input_.size(), member_.compressed_size - compressed_read_));
      reader_.source().read(member_.data_offset + compressed_read_, input_.data(), chunk);
      compressed_read_ += chunk;
      zs_.next_in = input_.data();
      zs_.avail_in = static_cast<uInt>(chunk);
    }
    auto room = static_cast<uInt>(std::min<std::size_t>(n - total, std::size_t{1} << 30));
    zs_.next_out = out + total;
    zs_.avail_out = room;
    int status = inflate(&zs_, Z_NO_FLUSH);
    total += room - zs_.avail_out;
    if (status == Z_STREAM_END) {
      stream_ended_ = true;
    } else if (status == Z_BUF_ERROR) {
      // No progress was possible: it needs input and there is none left.
      if (zs_.avail_in == 0 && compressed_read_ == member_.compressed_size)
        reader_.fail("member " + in_quotes(member_.name) + ": its compressed data ends early (after " +
                     std::to_string(produced_ + total) + " of " + std::to_string(member_.size) +
                     " bytes): the file is corrupt");
    } else if (status != Z_OK) {
      reader_.fail("member " + in_quotes(member_.name) + ": corrupt compressed data (zlib: " +
                   (zs_.msg ? zs_.msg : std::to_string(status)) + ")");
    }
  }
  return total;
}

void MemberStream::read(void* out, std::size_t n) {
  if (n == 0) return;
  if (produced_ + n > member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " is " + std::to_string(member_.size) + " bytes, too short for " +
                 std::to_string(produced_ + n));
  if (inflating_) {
    std::size_t got = inflate_into(static_cast<unsigned char*>(out), n);
    if (got < n)
      reader_.fail("member " + in_quotes(member_.name) + ": its compressed data holds " + std::to_string(produced_ + got) +
                   " bytes, the archive says " + std::to_string(member_.size) + ": the file is corrupt");
  } else {
    reader_.source().read(member_.data_offset + produced_, out, n);
  }
  crc_ = crc32_of(crc_, out, n);
  produced_ += n;
}

void MemberStream::finish() {
  if (produced_ != member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " holds " + std::to_string(member_.size - produced_) +
                 " bytes after the array's data");
  if (inflating_ && !stream_ended_) {
    unsigned char extra;
    if (inflate_into(&extra, 1) > 0 || !stream_ended_)
      reader_.fail("member " + in_quotes(member_.name) + ": its compressed data holds more than the " +
                   std::to_string(member_.size) + " bytes the archive says: the file is corrupt");
  }
  if (crc_ != member_.crc)
    reader_.fail("member " + in_quotes(member_.name) + ": CRC-32 mismatch (archive says " + hex32(member_.crc) +
                 ", the data gives " + hex32(crc_) + "): the file is corrupt");
}

std::vector<Member> Reader::read_central_directory(std::uint64_t& directory_offset) {
  const std::uint64_t size = source_.size();
  if (size == 0) fail("empty file (0 bytes); an npz archive is a zip file");

  unsigned char head[8] = {};
  auto head_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof head));
  source_.read(0, head, head_size);
  if (head_size >= npy_magic_size && std::memcmp(head, npy_magic, npy_magic_size) == 0)
    fail("this is a single .npy array (as numpy.save writes), not an .npz archive (numpy.savez)");
  if (head_size >= 4 && !(std::memcmp(head, "PK\x03\x04", 4) == 0 || std::memcmp(head, "PK\x05\x06", 4) == 0))
    fail("not an npz archive: an npz file is a zip file, starting with 'PK', and this one starts with bytes " +
         hex_bytes(head, head_size));

  // The end record lies in the last 64 KiB + 22 bytes: it may be followed by its
  // comment and by other bytes, which numpy (zipfile) ignores, and so do we.
  // As zipfile, the last signature found wins; unlike zipfile, its record and
  // comment must lie within the file (a file cut inside them is truncated).
  auto tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, end_record_size + max_zip_comment));
  std::vector<unsigned char> tail(tail_size);
  source_.read(size - tail_size, tail.data(), tail_size);
  std::size_t found = tail_size;
  for (std::size_t i = tail_size >= end_record_size ? tail_size - end_record_size + 1 : 0; i-- > 0;) {
    if (get_u32(&tail[i]) == end_of_central_directory_signature &&
        i + end_record_size + get_u16(&tail[i + 20]) <= tail_size) {
      found = i;
      break;
    }
  }
  if (found == tail_size)
    fail("no zip end-of-central-directory record: the file (" + std::to_string(size) +
         " bytes) is truncated, or it is not an npz archive");
  const unsigned char* end = &tail[found];
  const std::uint64_t end_offset = size - tail_size + found;
  std::uint16_t disk = get_u16(end + 4), directory_disk = get_u16(end + 6);
  std::uint16_t entries_here = get_u16(end + 8), entries = get_u16(end + 10);
  std::uint32_t directory_size = get_u32(end + 12);
  directory_offset = get_u32(end + 16);
  // 0xFFFF and 0xFFFFFFFF mean "see the zip64 record" only when a zip64 locator
  // precedes the end record; otherwise they are counts like any other (save_npz
  // writes 65535 arrays so, as Python's zipfile does, and reads them back so).
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
    constexpr std::size_t zip64_locator_size = 20;
    unsigned char locator[4];
    if (end_offset >= zip64_locator_size) {
      source_.read(end_offset - zip64_locator_size, locator, sizeof locator);
      if (get_u32(locator) == zip64_locator_signature)
        fail("zip64 archives (more than 65535 arrays or 4 GiB) are not supported");
    }
  }
  if (disk != 0 || directory_disk != 0 || entries_here != entries)
    fail("multi-part (spanned) zip archives are not supported");
  if (directory_offset + directory_size > end_offset)
    fail("the central directory (" + std::to_string(directory_size) + " bytes at offset " +
         std::to_string(directory_offset) + ") overlaps its end record at offset " + std::to_string(end_offset) +
         ": the file is truncated or corrupt");
  if (std::uint64_t{entries} * central_header_size > directory_size)
    fail("the central directory (" + std::to_string(directory_size) + " bytes) is too small for its " +
         std::to_string(entries) + " entries: the file is corrupt");

  std::vector<unsigned char> directory(directory_size);
  source_.read(directory_offset, directory.data(), directory.size());
  std::vector<Member> members;
  members.reserve(entries);
  std::size_t pos = 0;
  for (std::size_t index = 0; index < entries; ++index) {
    auto where = [&] { return "central directory entry " + std::to_string(index + 1) + " of " + std::to_string(entries); };
    if (pos + central_header_size > directory.size()) fail(where() + " runs past the directory: the file is corrupt");
    const unsigned char* e = &directory[pos];
    if (get_u32(e) != central_header_signature) fail(where() + " has a bad signature: the file is corrupt");
    Member m;
    m.flags = get_u16(e + 8);
    m.method = get_u16(e + 10);
    m.crc = get_u32(e + 16);
    m.compressed_size = get_u32(e + 20);
    m.size = get_u32(e + 24);
    std::size_t name_length = get_u16(e + 28), extra_length = get_u16(e + 30), comment_length = get_u16(e + 32);
    std::uint16_t start_disk = get_u16(e + 34);
    m.local_offset = get_u32(e + 42);
    std::size_t variable = name_length + extra_length + comment_length;
    if (pos + central_header_size + variable > directory.size())
      fail(where() + " runs past the directory: the file is corrupt");
    m.name.assign(reinterpret_cast<const char*>(e + central_header_size), name_length);
    // Sizes and offset too large for 32 bits live in the zip64 extra field (id 1),
    // in this order, each present only when its 32-bit field is 0xFFFFFFFF.
    const unsigned char* extra = e + central_header_size + name_length;
    std::uint64_t* wide[] = {m.size == 0xFFFFFFFF ? &m.size : nullptr,
                             m.compressed_size == 0xFFFFFFFF ? &m.compressed_size : nullptr,
                             m.local_offset == 0xFFFFFFFF ? &m.local_offset : nullptr};
    if (wide[0] || wide[1] || wide[2]) {
      bool found_zip64 = false;
      for (std::size_t x = 0; x + 4 <= extra_length;) {
        std::size_t id = get_u16(extra + x), length = get_u16(extra + x + 2);
        if (x + 4 + length > extra_length) break;
        if (id == 1) {
          std::size_t at = x + 4;
          found_zip64 = true;
          for (auto* field : wide) {
            if (!field) continue;
            if (at + 8 > x + 4 + length) {
              found_zip64 = false;
              break;
            }
            *field = get_u64(extra + at);
            at += 8;
          }
          break;
        }
        x += 4 + length;
      }
      if (!found_zip64) fail(where() + " (" + in_quotes(m.name) + ") lacks its zip64 sizes: the file is corrupt");
    }
    pos += central_header_size + variable;

    if (start_disk != 0) fail("multi-part (spanned) zip archives are not supported");
    if (m.flags & 0x41) fail("member " + in_quotes(m.name) + " is encrypted; tapegrad reads only unencrypted archives");
    if (m.method != 0 && m.method != 8)
      fail("member " + in_quotes(m.name) + " uses zip compression method " + std::to_string(m.method) +
           "; tapegrad reads stored (0) and deflate (8), which numpy.savez and numpy.savez_compressed write");
    if (m.method == 0 && m.compressed_size != m.size)
      fail("member " + in_quotes(m.name) + " is stored uncompressed but its sizes differ (" +
           std::to_string(m.compressed_size) + " and " + std::to_string(m.size) + "): the file is corrupt");
    if (m.method == 8 && m.size > m.compressed_size * max_deflate_ratio + 1024)
      fail("member " + in_quotes(m.name) + " claims " + std::to_string(m.size) + " bytes from " +
           std::to_string(m.compressed_size) + " compressed bytes, more than deflate can produce: the file is corrupt");
    members.push_back(std::move(m));
  }
  return members;
}

void Reader::read_local_header(Member& m, std::uint64_t directory_offset) {
  // Every member's local header and data lie before the central directory.
  auto needs = [&](std::uint64_t offset, std::uint64_t n, const std::string& what) {
    if (offset > directory_offset || n > directory_offset - offset)
      fail("truncated or corrupt: member " + in_quotes(m.name) + " needs " + std::to_string(n) + " bytes of " + what +
           " at offset " + std::to_string(offset) + ", but its data must end before the central directory at offset " +
           std::to_string(directory_offset) + " (the file has " + std::to_string(source_.size()) + " bytes)");
  };
  needs(m.local_offset, local_header_size, "local header");
  unsigned char h[local_header_size];
  source_.read(m.local_offset, h, sizeof h);
  if (get_u32(h) != local_header_signature)
    fail("member " + in_quotes(m.name) + ": no local header at offset " + std::to_string(m.local_offset) +
         ": the file is corrupt");
  std::size_t name_length = get_u16(h + 26), extra_length = get_u16(h + 28);
  needs(m.local_offset + local_header_size, name_length + extra_length, "name and extra field");
  std::string local_name(name_length, '\0');
  source_.read(m.local_offset + local_header_size, local_name.data(), name_length);
  if (local_name != m.name)
    fail("member " + in_quotes(m.name) + ": its local header names it " + in_quotes(local_name) + ": the file is corrupt");
  if (get_u16(h + 8) != m.method)
    fail("member " + in_quotes(m.name) + ": its local header and the central directory disagree on the compression "
         "method: the file is corrupt");
  m.data_offset = m.local_offset + local_header_size + name_length + extra_length;
  needs(m.data_offset, m.compressed_size, "data");
}

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

NamedArrays Reader::read_all() {
  std::uint64_t directory_offset = 0;
  std::vector<Member> members = read_central_directory(directory_offset);
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (Member& m : members) {
    constexpr std::string_view suffix = ".npy";
    if (m.name.size() < suffix.size() || std::string_view(m.name).substr(m.name.size() - suffix.size()) != suffix)
      fail("member " + in_quotes(m.name) + " is not a .npy array (an npz archive holds NAME.npy members only)");
    std::string name = m.name.substr(0, m.name.size() - suffix.size());
    if (!seen.insert(name).second) fail("the array name " + in_quotes(name) + " appears twice");
    names.push_back(std::move(name));
    read_local_header(m, directory_offset);
  }
  // Members must not share bytes: otherwise a small file could describe the same
  // data many times over and make the reader allocate far more than its size.
  std::vector<const Member*> by_offset;
  for (const Member& m : members) by_offset.push_back(&m);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Member* a, const Member* b) { return a->local_offset < b->local_offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const Member& a = *by_offset[i - 1];
    const Member& b = *by_offset[i];
    if (a.data_offset + a.compressed_size > b.local_offset)
      fail("members " + in_quotes(a.name) + " and " + in_quotes(b.name) + " overlap: the file is corrupt");
  }

  NamedArrays arrays;
  arrays.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) arrays.emplace_back(names[i], read_array(members[i], names[i]));
  return arrays;
}

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
