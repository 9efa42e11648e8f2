// Atomic file writing (atomic_write.hpp: the rules for what is at the path,
// and the temporaries' names).
#include "atomic_write.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string_view>

#include "npz_format.hpp"  // FileDescriptor

namespace tg::io::detail {

using npz_format::FileDescriptor;

namespace {

constexpr int max_symlink_hops = 40;  // Linux's MAXSYMLINKS: open() gives ELOOP past it
constexpr std::size_t host_digits = 8;
constexpr std::size_t max_pid_digits = 10;  // a pid is a positive int
constexpr std::size_t random_digits = 12;
constexpr std::size_t hash_digits = 16;
// ".tmp-" HOST "-" PID "-" RANDOM after the stem.
constexpr std::size_t max_suffix = 5 + host_digits + 1 + max_pid_digits + 1 + random_digits;
// A writer keeps its temporary's mtime fresh until the rename; one untouched for
// a day has no writer, wherever it ran (another machine or PID namespace
// sharing the directory, whose tag differs, or a reused pid).
constexpr std::time_t stale_after_seconds = 24 * 60 * 60;

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

std::string hex_digits(std::uint64_t value, std::size_t digits) {
  const char* hex = "0123456789abcdef";
  std::string out(digits, '0');
  for (std::size_t i = digits; i-- > 0; value >>= 4) out[i] = hex[value & 15];
  return out;
}

bool all_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// This machine and PID namespace, in 8 hex digits: a pid in a temporary's
// name means something only where it was given. The host name alone is not
// enough: containers of one pod share it and a volume, but each has its own
// PID namespace, where the other's pid looks dead. The namespace is the
// target of /proc/self/ns/pid ("pid:[4026531836]"; empty if unreadable).
const std::string& host_tag() {
  static const std::string tag = [] {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
    char ns[64] = {};
    const ssize_t got = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    return hex_digits(fnv1a(std::string(name) + '/' + std::string(ns, got > 0 ? static_cast<std::size_t>(got) : 0)),
                      host_digits);
  }();
  return tag;
}

// Random digits for the temporary, so concurrent saves never collide.
std::string random_tag() {
  static std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), static_cast<unsigned>(::getpid()),
                       static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return std::mt19937_64(seed);
  }();
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  return hex_digits(generator(), random_digits);
}

// The target's name as it starts its temporaries' names: the name itself, or,
// when the name and the suffix would pass `name_max`, its first bytes (cut on
// a UTF-8 character boundary) and "~" with a hash of the whole name, so that
// two long names sharing their first 200 bytes still differ.
std::string temporary_stem(const std::string& name, std::size_t name_max, const std::string& where) {
  if (name.size() + max_suffix <= name_max) return name;
  if (name_max < max_suffix + 1 + hash_digits + 1)
    throw std::runtime_error(where + "the file system allows only " + std::to_string(name_max) +
                             "-byte names, too short for a temporary file beside the target");
  std::size_t cut = name_max - max_suffix - 1 - hash_digits;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return name.substr(0, cut) + "~" + hex_digits(fnv1a(name), hash_digits);
}

// The path a write through `path` reaches: its final component's symbolic
// links followed, as open() follows them. A path with nothing at its end is
// returned as it is: the file will be created there (through a dangling link,
// at the link's target, as open(O_CREAT) does).
std::string final_target(const std::string& path, const std::string& where) {
  namespace fs = std::filesystem;
  std::string current = path;
  for (int hop = 0;; ++hop) {
    struct stat st{};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    if (hop == max_symlink_hops)
      throw std::runtime_error(where + "more than " + std::to_string(max_symlink_hops) +
                               " levels of symbolic links (a loop?), the last one " + current);
    std::string link(static_cast<std::size_t>(std::max<off_t>(st.st_size, 64)) + 1, '\0');
    ssize_t length;
    while ((length = ::readlink(current.c_str(), link.data(), link.size())) == static_cast<ssize_t>(link.size()))
      link.resize(link.size() * 2);
    if (length < 0)
      throw std::runtime_error(where + "cannot read the symbolic link " + current + ": " + std::strerror(errno));
    link.resize(static_cast<std::size_t>(length));
    fs::path next(link);
    // A relative link is relative to the directory holding the link.
    if (next.is_relative()) next = fs::path(current).parent_path() / next;
    current = next.string();
  }
}

// Refuses what atomic saving must not replace: special files, and regular files
// the effective user may not write (AT_EACCESS: the effective, not the real,
// ids, as open() uses; root passes, as open() lets root write any file).
void check_replaceable(const std::string& target, const struct stat& st, const std::string& where,
                       const std::string& through) {
  auto refuse = [&](const std::string& kind) {
    throw std::runtime_error(where + "is " + kind + through +
                             ", not a regular file: refusing to replace it (save to a regular file's path)");
  };
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(where + "is a directory" + through);
  if (S_ISFIFO(st.st_mode)) refuse("a FIFO (named pipe)");
  if (S_ISCHR(st.st_mode)) refuse("a character device");
  if (S_ISBLK(st.st_mode)) refuse("a block device");
  if (S_ISSOCK(st.st_mode)) refuse("a socket");
  if (!S_ISREG(st.st_mode)) refuse("a special file");
  if (::faccessat(AT_FDCWD, target.c_str(), W_OK, AT_EACCESS) != 0) {
    int error = errno;
    if (error == EROFS)
      throw std::runtime_error(where + "the file" + through + " is on a read-only file system: " + std::strerror(error));
    throw std::runtime_error(where + "the file" + through + " has no write permission for this user (" +
                             std::strerror(error) + "), so it is not replaced, as numpy.savez would refuse to open " +
                             "it; chmod u+w " + target + " to allow saving over it");
  }
}

// Removes the stale temporaries of the target whose temporaries start with
// `stem` (atomic_write.hpp says which are stale). Best effort: a temporary that
// cannot be examined or removed is left, and the save goes on.
void remove_stale_temporaries(int directory_fd, const std::string& stem) {
  int scan_fd = ::fcntl(directory_fd, F_DUPFD_CLOEXEC, 0);
  if (scan_fd < 0) return;
  DIR* listing = ::fdopendir(scan_fd);
  if (listing == nullptr) {
    ::close(scan_fd);
    return;
  }
  const std::string start = stem + ".tmp-";
  const std::time_t now = std::time(nullptr);
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(listing)) {
    std::string_view name = entry->d_name;
    if (name.size() <= start.size() || name.substr(0, start.size()) != start) continue;
    // HOST-PID-RANDOM, exactly.
    std::string_view rest = name.substr(start.size());
    if (rest.size() < host_digits + 1 + 1 + 1 + random_digits) continue;
    std::string_view host = rest.substr(0, host_digits), random = rest.substr(rest.size() - random_digits);
    std::string_view pid_text = rest.substr(host_digits + 1, rest.size() - host_digits - 2 - random_digits);
    if (rest[host_digits] != '-' || rest[rest.size() - random_digits - 1] != '-' || !all_hex(host) ||
        !all_hex(random) || pid_text.empty() || pid_text.size() > max_pid_digits || pid_text[0] == '0')
      continue;
    long pid = 0;
    auto [end, error] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (error != std::errc() || end != pid_text.data() + pid_text.size() || pid > INT_MAX) continue;
    struct stat st{};
    if (::fstatat(directory_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists).
    const bool writer_gone = host == host_tag() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    const bool untouched = now - st.st_mtime > stale_after_seconds;
    if (writer_gone || untouched) stale.emplace_back(name);
  }
  ::closedir(listing);  // closes scan_fd
  for (const std::string& name : stale) ::unlinkat(directory_fd, name.c_str(), 0);
}

}  // namespace

void write_atomically_to_descriptor(const std::string& path, const std::string& where,
                                    const std::function<void(const TemporaryFile& file)>& produce) {
  namespace fs = std::filesystem;
  const std::string target = final_target(path, where);
  const std::string through = target == path ? "" : " (the target of the symbolic link, " + target + ")";

  struct stat existing{};
  const bool target_exists = ::lstat(target.c_str(), &existing) == 0;
  if (target_exists) check_replaceable(target, existing, where, through);

  const fs::path target_path(target);
  const std::string name = target_path.filename().string();
  if (name.empty() || name == "." || name == "..") throw std::runtime_error(where + "is a directory" + through);
  const std::string directory = target_path.parent_path().empty() ? std::string(".") : target_path.parent_path().string();
  auto directory_error = [&](const std::string& what, int error) {
    std::string hint = error == ENOENT                     ? " (does the directory exist?)"
                       : error == EACCES || error == EROFS ? " (is the directory writable?)"
                                                           : "";
    return std::runtime_error(where + what + " '" + directory + "': " + std::strerror(error) + hint);
  };
  // The directory is opened once: the temporary is created, renamed and the
  // directory flushed through this descriptor (names relative to it are short
  // whatever the path's length, and stay in one directory if it is moved).
  bool can_list = true;
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 && errno == EACCES) {
    // Writable but not readable (mode -wx): still a place to save, without the
    // stale-temporary scan and the directory flush, which need reading.
    dir.reset(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    can_list = false;
  }
  if (dir.get() < 0) throw directory_error("cannot open the directory", errno);

  long limit = ::fpathconf(dir.get(), _PC_NAME_MAX);
  const std::size_t name_max = limit > 0 ? static_cast<std::size_t>(limit) : NAME_MAX;
  if (name.size() > name_max)
    throw std::runtime_error(where + "the file name is " + std::to_string(name.size()) +
                             " bytes, longer than the file system allows (" + std::to_string(name_max) +
                             " bytes per name)");
  const std::string stem = temporary_stem(name, name_max, where);
  if (can_list) remove_stale_temporaries(dir.get(), stem);

  const std::string own_prefix = stem + ".tmp-" + host_tag() + "-" + std::to_string(::getpid()) + "-";
  std::string temporary_name;
  FileDescriptor fd;
  for (int attempt = 0; attempt < 100 && fd.get() < 0; ++attempt) {
    temporary_name = own_prefix + random_tag();
    fd.reset(::openat(dir.get(), temporary_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.get() < 0 && errno != EEXIST) throw directory_error("cannot create a file in the directory", errno);
  }
  if (fd.get() < 0) throw std::runtime_error(where + "cannot find a free temporary file name beside it");
  const std::string temporary = (directory == "." ? std::string() : directory + "/") + temporary_name;

  try {
    auto fail = [&](const std::string& what) {
      int error = errno;
      throw std::runtime_error(where + what + " (writing the temporary file " + temporary + "): " +
                               std::strerror(error));
    };
    if (target_exists) {
      // Root replacing another user's file keeps its owner and group, as writing
      // in place would (best effort: a file system may refuse, e.g. NFS root squash).
      if (::geteuid() == 0) {
        [[maybe_unused]] int ignored = ::fchown(fd.get(), existing.st_uid, existing.st_gid);
      }
      // A replaced file keeps its permissions (a private weights file stays private).
      if (::fchmod(fd.get(), existing.st_mode & 07777) != 0) fail("cannot copy the permissions of the existing file");
    }
    produce(TemporaryFile{fd.get(), [&](const std::string& what, int error) {
                            errno = error;
                            fail(what);
                          }});
    if (::fsync(fd.get()) != 0) fail("fsync failed");
    if (fd.close() != 0) fail("close failed");
    if (::renameat(dir.get(), temporary_name.c_str(), dir.get(), name.c_str()) != 0)
      throw std::runtime_error(where + "cannot rename the temporary file " + temporary + " over " + target + ": " +
                               std::strerror(errno));
  } catch (...) {
    fd.close();
    ::unlinkat(dir.get(), temporary_name.c_str(), 0);
    throw;
  }

  // The rename is durable only once the directory itself is flushed.
  if (can_list && ::fsync(dir.get()) != 0 && errno != EINVAL && errno != ENOTSUP)
    throw std::runtime_error(where + "the file was replaced, but flushing its directory '" + directory +
                             "' failed, so the change may not survive a power failure: " + std::strerror(errno));
}

void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const ByteSink& write)>& produce) {
  write_atomically_to_descriptor(path, where, [&](const TemporaryFile& file) {
    produce([&](const void* data, std::uint64_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, std::uint64_t{1} << 30));
        ssize_t written = ::write(file.fd, p, chunk);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) file.fail("write failed", errno);
        p += written;
        size -= static_cast<std::uint64_t>(written);
      }
    });
  });
}

}  // namespace tg::io::detail
