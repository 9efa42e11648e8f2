// Atomic file writing, shared by save_npz and save_word2vec_format: the
// contents go to a temporary file beside the target, which is fsynced and
// renamed over it, then the directory is fsynced. The target therefore holds
// the old file or the new one, never a part, even if the process is killed.
//
// What is at the path decides what happens (docs/reliability.md, "Files:
// atomic saves and .npz round trips"):
// - nothing: the file is created (mode 0666 less the umask);
// - a regular file: replaced, keeping its permission bits (and, when root
//   replaces it, its owner and group), if the effective user may write it
//   (faccessat(W_OK, AT_EACCESS): root may, as open() would let it); a file
//   without write permission is refused, as numpy.savez's open() refuses it;
// - a symbolic link: followed to its final target (a chain of links, relative
//   or absolute, dangling or not), and that target is replaced by these rules;
//   the links stay;
// - a directory, FIFO, device or socket: refused.
//
// The temporary is named TARGET.tmp-HOST-PID-RANDOM (HOST: 8 hex digits of a
// hash of the host name and the PID namespace, PID: the writer's, RANDOM: 12 hex digits); a TARGET
// name too long for that within the file system's name limit is cut (on a
// UTF-8 character boundary) and completed with a hash of the whole name, so
// every legal name saves. Each save first removes the stale temporaries of
// its own target: regular files of exactly that pattern whose writer is gone
// (HOST is this process's and PID is not a running process) or that nobody
// touched for 24 hours. Nothing else is ever removed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace tg::io::detail {

// Appends bytes to the file being written (throws on a write error).
using ByteSink = std::function<void(const void* data, std::uint64_t size)>;

// Writes `path` atomically with the bytes `produce` hands to its sink, by the
// rules above. Errors are std::runtime_error whose message starts with `where`
// and says what failed (a missing or read-only directory with a hint); on any
// error the temporary file is removed and `path` is untouched.
void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const ByteSink& write)>& produce);

// The temporary file as write_atomically_to_descriptor hands it over: its open
// descriptor (written at any offset, e.g. by libzip, which goes back to fill in
// the local headers) and how to report a failed write.
struct TemporaryFile {
  int fd;
  // Throws the std::runtime_error of a failed write: `where`, `what`, the
  // temporary's name and strerror(error).
  std::function<void(const std::string& what, int error)> fail;
};

// The same, for a producer that writes the temporary file itself.
void write_atomically_to_descriptor(const std::string& path, const std::string& where,
                                    const std::function<void(const TemporaryFile& file)>& produce);

}  // namespace tg::io::detail
