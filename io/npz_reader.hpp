// The .npz reader's pieces shared by io/npz.cpp (the NPY arrays, the entry
// points) and io/npz_archive.cpp (the ZIP container: the central directory,
// local headers, stored and deflated members with their CRC-32). Private to io/.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "npz_format.hpp"
#include "tapegrad/io/npz.hpp"

namespace tg::io::npz_reading {

using namespace npz_format;

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

}  // namespace tg::io::npz_reading
