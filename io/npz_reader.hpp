// The .npz reader's pieces shared by io/npz.cpp (the NPY arrays, the entry
// points) and io/npz_archive.cpp (the ZIP container, read by libzip: the
// archive opened and checked, its members listed and streamed). Private to io/.
#pragma once

#include <unistd.h>
#include <zip.h>

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

// One member as libzip's central directory gives it (checked against its local
// header: the archive is opened with ZIP_CHECKCONS).
struct Member {
  std::string name;  // as in the archive, e.g. "dense/kernel.npy"
  zip_uint64_t index = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;  // uncompressed
};

class Reader;

// The uncompressed bytes of one member, read front to back through libzip,
// which checks its CRC-32 when the last byte has been read.
class MemberStream {
 public:
  MemberStream(const Reader& reader, const Member& member);
  ~MemberStream();
  MemberStream(const MemberStream&) = delete;
  MemberStream& operator=(const MemberStream&) = delete;

  // Exactly n more bytes, or an error.
  void read(void* out, std::size_t n);
  std::uint64_t position() const { return produced_; }
  // Checks that the member ends here and that its CRC-32 matches.
  void finish();

 private:
  // Up to n bytes; fewer only at the end of the member's data.
  std::uint64_t read_some(void* out, std::uint64_t n);

  const Reader& reader_;
  const Member& member_;
  zip_file_t* file_ = nullptr;
  std::uint64_t produced_ = 0;
};

// libzip's view of a Source: the callback of zip_source_function_create
// (npz_archive.cpp) reads through it. A Source's own read error is kept here
// whole, so that the message says the offset and errno rather than libzip's
// "Read error".
struct SourceState {
  const Source* source = nullptr;
  std::uint64_t size = 0;  // libzip sees [0, size): up to the end of the end record and its comment
  std::uint64_t position = 0;
  // libzip reads headers a few bytes at a time: small reads are served from
  // the bytes at [cached_offset, cached_offset + cache.size()).
  std::vector<unsigned char> cache;
  std::uint64_t cached_offset = 0;
  zip_error_t error{};
  std::string failure;
};

class Reader {
 public:
  Reader(const Source& source, std::string file);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  NamedArrays read_all();

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error("load_npz: " + file_ + ": " + what); }
  [[noreturn]] void fail_array(const std::string& array_name, const std::string& what) const {
    fail("array " + in_quotes(array_name) + ": " + what);
  }
  // A libzip error while reading member `member` (empty: the archive itself), as a message.
  [[noreturn]] void fail_libzip(const zip_error_t& error, const Member* member) const;
  zip_t* archive() const { return archive_; }

 private:
  // Where the archive ends for libzip, and where its members' data must end.
  void find_end_record();
  zip_t* open(int flags);
  std::vector<Member> list_members();
  void check_names(const std::vector<Member>& members, std::vector<std::string>& names) const;
  Tensor read_array(const Member& member, const std::string& array_name);

  const Source& source_;
  std::string file_;
  SourceState state_;
  std::uint64_t data_end_ = 0;  // the central directory's offset: members lie before it
  zip_t* archive_ = nullptr;
};

}  // namespace tg::io::npz_reading
