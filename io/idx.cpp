#include "tapegrad/io/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace tg::io {

namespace {

std::string hex_magic(std::uint32_t magic) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", magic);
  return buf;
}

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

// gzFile closed at scope end.
struct GzFile {
  gzFile file = nullptr;
  ~GzFile() {
    if (file) gzclose(file);
  }
};

// Reads up to `size` bytes; returns how many were read (fewer only at the end
// of the data). A read error (corrupt gzip stream, I/O error) throws.
std::size_t read_some(gzFile file, void* into, std::size_t size, const std::string& where) {
  std::size_t done = 0;
  while (done < size) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1u << 30));
    const int got = gzread(file, static_cast<char*>(into) + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw std::runtime_error(where + "reading failed after " + std::to_string(done) + " bytes: " +
                               (code == Z_ERRNO ? std::strerror(errno) : message) +
                               (code == Z_DATA_ERROR ? " (not a valid gzip file?)" : ""));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

// expected_magic 0 accepts any unsigned-byte IDX file; `what` names what the
// file should hold, for the messages.
IdxArray read_idx_checked(const std::string& path, const std::string& function, std::uint32_t expected_magic,
                          const char* what) {
  const std::string where = function + ": " + path + ": ";
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) {
    const int error = errno;
    throw std::runtime_error(where + "cannot open the file: " + std::strerror(error) +
                             (error == ENOENT ? " (check the path)" : ""));
  }
  if (!S_ISREG(info.st_mode))
    throw std::runtime_error(where + "is not a regular file (expected " + what + ", an IDX file)");
  GzFile in;
  in.file = gzopen(path.c_str(), "rb");
  if (!in.file) throw std::runtime_error(where + "cannot open the file: " + std::strerror(errno));
  gzbuffer(in.file, 1u << 18);

  unsigned char magic_bytes[4];
  const std::size_t magic_read = read_some(in.file, magic_bytes, 4, where);
  if (magic_read < 4)
    throw std::runtime_error(where + "the file ends after " + std::to_string(magic_read) +
                             " bytes, inside the 4-byte magic number (expected " + what + ", an IDX file)");
  const std::uint32_t magic = (std::uint32_t{magic_bytes[0]} << 24) | (std::uint32_t{magic_bytes[1]} << 16) |
                              (std::uint32_t{magic_bytes[2]} << 8) | magic_bytes[3];
  const int ndims = magic_bytes[3];
  if (expected_magic != 0 && magic != expected_magic)
    throw std::runtime_error(where + "magic number " + hex_magic(magic) + ", expected " + hex_magic(expected_magic) +
                             " (" + what + ": unsigned bytes, " + std::to_string(expected_magic & 0xFF) +
                             " dimensions)" +
                             (magic == 0x00000801 || magic == 0x00000803
                                  ? std::string(magic == 0x00000801 ? "; this is a labels file" : "; this is an images file")
                                  : std::string()));
  if (magic_bytes[0] != 0 || magic_bytes[1] != 0 || magic_bytes[2] != 0x08 || ndims < 1 || ndims > 8)
    throw std::runtime_error(where + "magic number " + hex_magic(magic) +
                             ", expected 0x000008NN (an IDX file of unsigned bytes with NN = 1 to 8 dimensions)" +
                             (magic_bytes[0] == 0 && magic_bytes[1] == 0 && magic_bytes[2] != 0x08
                                  ? "; IDX type " + hex_magic(magic_bytes[2]).substr(8) + " is not unsigned bytes"
                                  : std::string()));

  unsigned char size_bytes[4 * 8];
  const std::size_t header = 4 * static_cast<std::size_t>(ndims);
  const std::size_t sizes_read = read_some(in.file, size_bytes, header, where);
  if (sizes_read < header)
    throw std::runtime_error(where + "the header is truncated: " + std::to_string(ndims) + " dimension sizes need " +
                             std::to_string(header) + " bytes after the magic number, the file has " +
                             std::to_string(sizes_read));
  IdxArray array;
  std::uint64_t count = 1;
  bool overflow = false;
  for (int d = 0; d < ndims; ++d) {
    const unsigned char* b = size_bytes + 4 * d;
    const std::uint64_t size = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) | (std::uint64_t{b[2]} << 8) | b[3];
    array.dims.push_back(static_cast<std::int64_t>(size));
    if (size != 0 && count > std::numeric_limits<std::uint64_t>::max() / size) overflow = true;
    count *= size;
  }
  if (overflow || count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw std::runtime_error(where + "dims " + dims_string(array.dims) + " hold more values than can be addressed");

  // Grown as the data arrives, so that a header promising more than the file
  // holds fails at the end of the data instead of allocating its claim.
  std::size_t have = 0;
  const std::size_t expected = static_cast<std::size_t>(count);
  while (have < expected) {
    const std::size_t next = std::min(expected, std::max<std::size_t>(have * 2, std::size_t{1} << 20));
    array.data.resize(next);
    const std::size_t got = read_some(in.file, array.data.data() + have, next - have, where);
    have += got;
    if (have < next) break;
  }
  if (have < expected)
    throw std::runtime_error(where + "the data is truncated: dims " + dims_string(array.dims) + " need " +
                             std::to_string(expected) + " bytes after the " + std::to_string(4 + header) +
                             "-byte header, the file has " + std::to_string(have));
  array.data.resize(expected);
  unsigned char extra[4096];
  const std::size_t trailing = read_some(in.file, extra, sizeof extra, where);
  if (trailing > 0) {
    std::size_t more = trailing;
    while (const std::size_t got = read_some(in.file, extra, sizeof extra, where)) more += got;
    throw std::runtime_error(where + "dims " + dims_string(array.dims) + " account for " + std::to_string(expected) +
                             " bytes of data, the file has " + std::to_string(more) +
                             " bytes more (the dims do not match the size)");
  }
  return array;
}

}  // namespace

IdxArray read_idx(const std::string& path) { return read_idx_checked(path, "read_idx", 0, "an IDX array"); }

IdxArray read_idx_images(const std::string& path) {
  return read_idx_checked(path, "read_idx_images", 0x00000803, "images");
}

IdxArray read_idx_labels(const std::string& path) {
  return read_idx_checked(path, "read_idx_labels", 0x00000801, "labels");
}

namespace {

void check_consistent(const IdxArray& array, const char* function) {
  std::int64_t count = 1;
  for (std::int64_t d : array.dims) {
    if (d < 0) throw std::invalid_argument(std::string(function) + ": negative dimension " + std::to_string(d));
    count *= d;
  }
  if (array.dims.empty() || static_cast<std::size_t>(count) != array.data.size())
    throw std::invalid_argument(std::string(function) + ": dims " + dims_string(array.dims) + " need " +
                                std::to_string(array.dims.empty() ? 0 : count) + " values, the array has " +
                                std::to_string(array.data.size()));
}

}  // namespace

Tensor idx_to_float32(const IdxArray& array) {
  check_consistent(array, "idx_to_float32");
  std::vector<float> values(array.data.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(array.data[i]) / 255.0f;
  return Tensor::from_vector(values, Shape(array.dims));
}

Tensor idx_to_int64(const IdxArray& array) {
  check_consistent(array, "idx_to_int64");
  std::vector<std::int64_t> values(array.data.begin(), array.data.end());
  return Tensor::from_vector(values, Shape(array.dims));
}

}  // namespace tg::io
