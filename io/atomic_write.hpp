// Atomic file writing, shared by save_npz and save_word2vec_format: the
// contents go to a temporary file beside the target, which is fsynced and
// renamed over it, then the directory is fsynced. The target therefore holds
// the old file or the new one, never a part, even if the process is killed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace tg::io::detail {

// Appends bytes to the file being written (throws on a write error).
using ByteSink = std::function<void(const void* data, std::uint64_t size)>;

// Writes `path` atomically with the bytes `produce` hands to its sink. A
// replaced file keeps its permissions. Errors are std::runtime_error whose
// message starts with `where` and says what failed (a missing or read-only
// directory with a hint); on any error the temporary file is removed and
// `path` is untouched.
void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(const ByteSink& write)>& produce);

}  // namespace tg::io::detail
