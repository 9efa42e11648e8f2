// What the two libzip source callbacks (npz_archive.cpp's reader over a
// Source, npz_write.cpp's writer to a descriptor) share. Private to io/.
#pragma once

#include <zip.h>

#include <cstdint>

namespace tg::io::zip_source {

// ZIP_SOURCE_SEEK and ZIP_SOURCE_SEEK_WRITE: libzip's seek arguments (`data`,
// `length`: a zip_source_args_seek) applied to `position` in a stream of
// `size` bytes. Returns 0, or -1 with `error` set for a target outside it.
inline zip_int64_t seek(std::uint64_t& position, std::uint64_t size, void* data, zip_uint64_t length,
                        zip_error_t* error) {
  const zip_int64_t offset = zip_source_seek_compute_offset(position, size, data, length, error);
  if (offset < 0) return -1;
  position = static_cast<std::uint64_t>(offset);
  return 0;
}

}  // namespace tg::io::zip_source
