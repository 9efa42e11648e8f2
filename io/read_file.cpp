#include "tapegrad/io/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

namespace tg::io {

namespace {

const char* file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device (as /dev/zero or /dev/urandom)";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

// The type is checked with stat() before opening (opening some devices has
// effects), and again with fstat() on what was opened, which O_NONBLOCK keeps
// from blocking should a FIFO have replaced the file in between.
std::string read_regular_file(const std::string& path, const std::string& function, const std::string& what) {
  const std::string where = function + ": " + path + ": ";
  auto refuse_unless_regular = [&](const struct stat& info) {
    if (!S_ISREG(info.st_mode))
      throw std::runtime_error(where + "is " + file_type(info.st_mode) + ", not " + what + " (expected a regular file)");
  };
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0) {
    const int error = errno;
    throw std::runtime_error(where + "cannot open the file: " + std::strerror(error) +
                             (error == ENOENT ? " (check the path)" : ""));
  }
  refuse_unless_regular(info);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(where + "cannot open the file: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::fstat(fd, &info) != 0) throw std::runtime_error(where + "cannot stat the file: " + std::strerror(errno));
  refuse_unless_regular(info);

  std::string bytes;
  try {
    // One byte more than st_size, so that the read seeing the end needs no
    // growth; st_size is 0 for files of unknown size (/proc), which grow as read.
    bytes.resize(std::max<std::size_t>(static_cast<std::size_t>(info.st_size) + 1, 4096));
    std::size_t used = 0;
    for (;;) {
      if (used == bytes.size()) bytes.resize(bytes.size() * 2);
      const ssize_t got = ::read(fd, bytes.data() + used, bytes.size() - used);
      if (got < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(where + "reading the file failed after " + std::to_string(used) +
                                 " bytes: " + std::strerror(errno));
      }
      if (got == 0) break;
      used += static_cast<std::size_t>(got);
    }
    bytes.resize(used);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(where + "the file is " + std::to_string(info.st_size) +
                             " bytes, more than this process can hold in memory");
  }
  return bytes;
}

}  // namespace tg::io
