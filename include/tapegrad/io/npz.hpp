// NumPy .npz files: named tensors in the format numpy.savez writes and
// numpy.load reads. The storage layer of Model::save_weights / load_weights.
//
//   tg::io::save_npz("w.npz", {{"dense/kernel", kernel}, {"dense/bias", bias}});
//   auto arrays = tg::io::load_npz("w.npz");   // same names, same order
//
//   >>> np.load("w.npz")["dense/kernel"]      # in Python
//
// The file is a ZIP archive holding one member NAME.npy per array (NPY format
// 1.0, C order, little-endian). tapegrad writes the members uncompressed
// ("stored") and byte for byte as numpy.save would write them.
//
// Writing is atomic: the archive is written to a temporary file beside `path`
// (path + ".tmp-<host>-<pid>-<random>", shortened for a long name), flushed to
// disk (fsync), renamed over `path`, and the directory is flushed. On any error
// the temporary file is removed and an existing file at `path` is left as it
// was; a process killed mid-save leaves either the old or the new complete
// file, and its temporary, which the next save of `path` removes. A symbolic
// link at `path` is followed: its final target is replaced and the link kept.
// A file the user may not write (as open() decides: root may), a directory, a
// FIFO, a device or a socket at `path` is refused. (docs/reliability.md, "Files:
// atomic saves and .npz round trips", has the details.)
//
// Reading accepts what numpy writes: numpy.savez (stored) and
// numpy.savez_compressed (deflate), NPY format versions 1.0, 2.0 and 3.0, and
// the dtypes <f4, <f8 and <i8 (as float32, float64 and int64). <i4 (numpy's
// default integer on Windows) is widened to int64. Everything else (Fortran
// order, big-endian, bool, other dtypes, structured arrays) is refused with an
// error naming the array and its dtype. The whole file is validated before
// anything is returned: a truncated or corrupt file gives an error naming the
// file and what is wrong, never a crash or a partial result.
//
// Bytes after the zip end record are ignored, as numpy ignores them. A shape
// whose element count overflows is refused even when a dimension is 0 (numpy
// refuses it too), and an array larger than the process may allocate gives an
// error naming the file, the array and the bytes it needs.
//
// Errors: std::runtime_error for files that cannot be read, written or parsed;
// std::invalid_argument for bad arguments to save_npz (an empty, duplicate or
// non-UTF-8 name, an undefined tensor, too many arrays).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::io {

// Named arrays in file order.
using NamedArrays = std::vector<std::pair<std::string, Tensor>>;

// Writes `arrays` to `path` atomically, one member "NAME.npy" per array, in
// the given order. A name may contain '/' ("dense/kernel"; numpy.load gives it
// back under the same key); it must be non-empty, valid UTF-8 (numpy.load
// decodes it so), contain no NUL byte, and be unique. At most 65535 arrays
// (the most a zip archive without zip64 holds; load_npz reads them all).
// Overwrites an existing file.
void save_npz(const std::string& path, const NamedArrays& arrays);
// The same, in the map's (sorted) order.
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays);
// The same, for a braced list: save_npz(path, {{"w", w}, {"b", b}}) (a list would
// otherwise fit the vector and the map overloads equally well).
void save_npz(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> arrays);

// Reads every array of the archive at `path`, in the archive's order. Names are
// the member names without ".npy".
NamedArrays load_npz(const std::string& path);
// The same, as a map from name to tensor.
std::map<std::string, Tensor> load_npz_map(const std::string& path);

// Reads an archive held in memory (the whole file's bytes); `name` stands for
// the file in error messages. For fuzzing and for archives that do not come
// from a file.
NamedArrays load_npz_from_memory(const void* data, std::size_t size, const std::string& name = "<memory>");

}  // namespace tg::io
