// Atomic file writing (atomic_write.hpp).
#include "atomic_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>

#include "npz_format.hpp"  // FileDescriptor

namespace tg::io::detail {

using npz_format::FileDescriptor;

namespace {

// A random suffix for the temporary file, so concurrent saves never collide.
std::string temporary_suffix() {
  static std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), static_cast<unsigned>(::getpid()),
                       static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return std::mt19937_64(seed);
  }();
  static std::mutex mutex;
  std::uint64_t r;
  {
    std::lock_guard<std::mutex> lock(mutex);
    r = generator();
  }
  std::string hex;
  const char* digits = "0123456789abcdef";
  for (int i = 0; i < 12; ++i, r >>= 4) hex += digits[r & 15];
  return ".tmp-" + std::to_string(::getpid()) + "-" + hex;
}

}  // namespace

void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const ByteSink& write)>& produce) {
  struct stat target{};
  bool target_exists = ::stat(path.c_str(), &target) == 0;
  if (target_exists && S_ISDIR(target.st_mode)) throw std::runtime_error(where + "is a directory");

  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string directory = parent.empty() ? std::string(".") : parent.string();

  std::string temporary;
  FileDescriptor fd;
  for (int attempt = 0; attempt < 100 && fd.get() < 0; ++attempt) {
    temporary = path + temporary_suffix();
    fd.reset(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.get() < 0 && errno != EEXIST) {
      int error = errno;
      std::string hint = error == ENOENT                     ? " (does the directory exist?)"
                         : error == EACCES || error == EROFS ? " (is the directory writable?)"
                                                             : "";
      throw std::runtime_error(where + "cannot create a file in the directory '" + directory + "': " +
                               std::strerror(error) + hint);
    }
  }
  if (fd.get() < 0) throw std::runtime_error(where + "cannot find a free temporary file name beside it");

  try {
    auto fail = [&](const std::string& what) {
      int error = errno;
      throw std::runtime_error(where + what + " (writing the temporary file " + temporary + "): " +
                               std::strerror(error));
    };
    // A replaced file keeps its permissions (a private weights file stays private).
    if (target_exists && S_ISREG(target.st_mode) && ::fchmod(fd.get(), target.st_mode & 07777) != 0)
      fail("cannot copy the permissions of the existing file");
    produce([&](const void* data, std::uint64_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, std::uint64_t{1} << 30));
        ssize_t written = ::write(fd.get(), p, chunk);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) fail("write failed");
        p += written;
        size -= static_cast<std::uint64_t>(written);
      }
    });
    if (::fsync(fd.get()) != 0) fail("fsync failed");
    if (fd.close() != 0) fail("close failed");
    if (::rename(temporary.c_str(), path.c_str()) != 0)
      throw std::runtime_error(where + "cannot rename the temporary file " + temporary + " over it: " +
                               std::strerror(errno));
  } catch (...) {
    fd.close();
    ::unlink(temporary.c_str());
    throw;
  }

  // The rename is durable only once the directory itself is flushed.
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0 && ::fsync(dir.get()) != 0 && errno != EINVAL && errno != ENOTSUP)
    throw std::runtime_error(where + "the file was replaced, but flushing its directory '" + directory +
                             "' failed, so the change may not survive a power failure: " + std::strerror(errno));
}


}  // namespace tg::io::detail
