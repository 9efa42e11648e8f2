// The NPY format and the few ZIP facts that npz.cpp (reading) and
// npz_write.cpp (writing) need beside libzip, which handles the container:
// constants, little-endian integers, the NPY header and the small formatting
// helpers of error messages. Private to io/.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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

#include "tapegrad/io/npz.hpp"

namespace tg::io::npz_format {


// The NPY data is written and read as the host's bytes; both formats are little-endian.
static_assert(std::endian::native == std::endian::little, "tapegrad's npz code assumes a little-endian host");

inline constexpr std::uint32_t end_of_central_directory_signature = 0x06054b50;
inline constexpr std::size_t local_header_size = 30;
inline constexpr std::size_t central_header_size = 46;
inline constexpr std::size_t end_record_size = 22;
inline constexpr std::size_t max_zip_comment = 0xFFFF;
// 0xFFFFFFFF marks a zip64 field, so a plain zip holds sizes and offsets below it.
inline constexpr std::uint64_t zip32_limit = 0xFFFFFFFEu;
inline constexpr std::uint64_t max_members = 0xFFFF;
// DOS date of 1980-01-01, 00:00: a fixed timestamp (numpy writes the same) makes
// the output a function of the arrays alone.
inline constexpr std::uint16_t dos_date_1980 = (0 << 9) | (1 << 5) | 1;
inline constexpr std::uint16_t dos_time_midnight = 0;
// Deflate expands at most about 1032:1; a member claiming more is corrupt, and
// this bound keeps a forged size from making the reader allocate without limit.
inline constexpr std::uint64_t max_deflate_ratio = 1100;
// numpy's own headers are a few hundred bytes (it refuses more than 10000 by default).
inline constexpr std::uint64_t max_npy_header = 1 << 20;

inline const char npy_magic[] = "\x93NUMPY";
inline constexpr std::size_t npy_magic_size = 6;

// ---- little helpers ------------------------------------------------------------

inline std::uint16_t get_u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
inline std::uint32_t get_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline void put_u16(std::string& out, std::uint64_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}

// The length of the UTF-8 sequence starting at p (at most `available` bytes),
// or 0 if none starts there. Strict, as Python's decoder (which numpy.load's
// zipfile uses for flagged names) is: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF.
inline std::size_t utf8_sequence_length(const unsigned char* p, std::size_t available) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;   // below: overlong
    if (c == 0xED) high = 0x9F;  // above: surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;   // below: overlong
    if (c == 0xF4) high = 0x8F;  // above: past U+10FFFF
  } else {
    return 0;
  }
  if (available < length || p[1] < low || p[1] > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return length;
}

// The offset of the first byte that is not part of valid UTF-8, or npos.
inline std::size_t utf8_error_offset(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = utf8_sequence_length(p + i, text.size() - i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

// A name or a piece of a file, quoted for an error message: control bytes,
// quotes and bytes that are not valid UTF-8 escaped, so that a corrupt file
// cannot garble the message.
inline std::string in_quotes(std::string_view text, std::size_t max_length = 200) {
  const char* hex = "0123456789abcdef";
  std::string out = "'";
  std::size_t n = std::min(text.size(), max_length);
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < n;) {
    auto c = bytes[i];
    std::size_t length = c < 0x80 ? 1 : utf8_sequence_length(bytes + i, n - i);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F || length == 0) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    ++i;
  }
  out += "'";
  if (text.size() > max_length) out += "...";
  return out;
}

inline std::string hex_bytes(const unsigned char* p, std::size_t n) {
  const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += hex[p[i] >> 4];
    out += hex[p[i] & 15];
  }
  return out;
}

inline std::string hex32(std::uint32_t v) {
  const char* hex = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += hex[(v >> shift) & 15];
  return out;
}


inline const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::float32: return "<f4";
    case DType::float64: return "<f8";
    case DType::int64: return "<i8";
  }
  return "?";
}

// The NPY 1.0 header numpy.save writes for a C-ordered array of this shape and
// dtype, byte for byte, including numpy's spare spaces for growing axis 0.
// (Within tapegrad's 8 dimensions those spaces never push a header past 128
// bytes, so dropping them would go unnoticed; numpy's rule is kept anyway.)
inline std::string npy_header(const Shape& shape, DType dtype) {
  std::string dict = std::string("{'descr': '") + npy_descr(dtype) + "', 'fortran_order': False, 'shape': " +
                     shape.str() + ", }";
  if (shape.rank() > 0) {
    constexpr std::size_t growth_axis_max_digits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
    std::size_t digits = std::to_string(shape[0]).size();
    if (digits < growth_axis_max_digits) dict.append(growth_axis_max_digits - digits, ' ');
  }
  constexpr std::size_t prefix = npy_magic_size + 2 + 2;  // magic, version, uint16 length
  std::size_t with_newline = dict.size() + 1;
  std::size_t padding = 64 - (prefix + with_newline) % 64;
  std::string out(npy_magic, npy_magic_size);
  out += '\x01';
  out += '\x00';
  put_u16(out, with_newline + padding);
  out += dict;
  out.append(padding, ' ');
  out += '\n';
  return out;
}

// A file descriptor closed on destruction.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() { close(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    close();
    fd_ = fd;
  }
  // Closes now and reports close's error (it can be the first to report a failed write).
  int close() {
    int result = 0;
    if (fd_ >= 0) result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

}  // namespace tg::io::npz_format
