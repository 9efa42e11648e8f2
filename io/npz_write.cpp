// NumPy .npz writing: the members laid out and checked in memory, then the
// archive written by libzip into the temporary file of an atomic save
// (atomic_write.hpp: temporary file, fsync, rename, fsync of the directory).
// npz.cpp reads.
#include "tapegrad/io/npz.hpp"

#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomic_write.hpp"
#include "npz_format.hpp"
#include "zip_source.hpp"

namespace tg::io {

using namespace npz_format;

namespace {

struct PlannedMember {
  std::string name;    // "dense/kernel.npy"
  std::string header;  // the npy header
  const Tensor* tensor = nullptr;
  std::uint64_t data_size = 0;
};

// The temporary file as libzip's archive: written at any offset (libzip goes
// back to fill in each local header's CRC and sizes), and buffered, so that
// the 8 KiB pieces libzip copies reach the file in large writes.
class DescriptorTarget {
 public:
  explicit DescriptorTarget(int fd) : fd_(fd) {
    zip_error_init(&error_);
    pending_.reserve(buffer_size);
  }
  ~DescriptorTarget() { zip_error_fini(&error_); }
  DescriptorTarget(const DescriptorTarget&) = delete;
  DescriptorTarget& operator=(const DescriptorTarget&) = delete;

  // The errno of a failed write, 0 if none failed.
  int write_errno() const { return write_errno_; }

  static zip_int64_t callback(void* userdata, void* data, zip_uint64_t length, zip_source_cmd_t command) {
    auto& target = *static_cast<DescriptorTarget*>(userdata);
    switch (command) {
      case ZIP_SOURCE_STAT:
        // The archive is new: libzip then writes it whole (ZIP_CREATE).
        zip_error_set(&target.error_, ZIP_ER_READ, ENOENT);
        return -1;
      case ZIP_SOURCE_BEGIN_WRITE:
        target.position_ = target.size_ = 0;
        return 0;
      case ZIP_SOURCE_WRITE:
        return target.write(data, length) ? static_cast<zip_int64_t>(length) : -1;
      case ZIP_SOURCE_SEEK_WRITE:
        return zip_source::seek(target.position_, target.size_, data, length, &target.error_);
      case ZIP_SOURCE_TELL_WRITE:
        return static_cast<zip_int64_t>(target.position_);
      case ZIP_SOURCE_COMMIT_WRITE:
        return target.flush() ? 0 : -1;
      case ZIP_SOURCE_ROLLBACK_WRITE:
        target.pending_.clear();  // write_atomically removes the temporary
        return 0;
      case ZIP_SOURCE_REMOVE:
      case ZIP_SOURCE_FREE:
        return 0;
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&target.error_, data, length);
      case ZIP_SOURCE_SUPPORTS:
        // Reading must be declared for zip_open_from_source, but a new archive is never read.
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_SEEK,
                                              ZIP_SOURCE_TELL, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              ZIP_SOURCE_BEGIN_WRITE, ZIP_SOURCE_WRITE, ZIP_SOURCE_COMMIT_WRITE,
                                              ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_SEEK_WRITE, ZIP_SOURCE_TELL_WRITE,
                                              ZIP_SOURCE_REMOVE, ZIP_SOURCE_SUPPORTS, -1);
      default:
        zip_error_set(&target.error_, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }

 private:
  static constexpr std::size_t buffer_size = std::size_t{1} << 20;

  // Into the buffer when it touches the buffered range: libzip's going back to
  // a small member's local header then costs no system call.
  bool write(const void* data, std::uint64_t n) {
    if (!pending_.empty() && (position_ < pending_offset_ || position_ > pending_offset_ + pending_.size()) && !flush())
      return false;
    if (pending_.empty()) pending_offset_ = position_;
    const auto at = static_cast<std::size_t>(position_ - pending_offset_);
    if (at + n > pending_.size()) pending_.resize(at + n);
    std::memcpy(pending_.data() + at, data, n);
    position_ += n;
    size_ = std::max(size_, position_);
    return pending_.size() < buffer_size || flush();
  }

  bool flush() {
    const char* p = pending_.data();
    std::size_t left = pending_.size();
    std::uint64_t offset = pending_offset_;
    pending_.clear();
    while (left > 0) {
      ssize_t written = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) {
        write_errno_ = errno;
        zip_error_set(&error_, ZIP_ER_WRITE, write_errno_);
        return false;
      }
      p += written;
      offset += static_cast<std::uint64_t>(written);
      left -= static_cast<std::size_t>(written);
    }
    return true;
  }

  int fd_;
  zip_error_t error_;
  int write_errno_ = 0;
  std::uint64_t position_ = 0, size_ = 0;
  std::uint64_t pending_offset_ = 0;
  std::vector<char> pending_;  // bytes for [pending_offset_, pending_offset_ + size)
};

struct ArchiveDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

// A zip archive without members: its end record alone. (libzip, asked to
// close an archive without members, removes the file instead.)
constexpr char empty_archive[end_record_size] = {'P', 'K', 5, 6};

// Adds one stored member, its npy header and data, with numpy's fixed
// timestamp and a regular file's attributes.
void add_member(zip_t* archive, const PlannedMember& p, const std::string& where) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(where + "libzip cannot add the member " + in_quotes(p.name) + ": " + what);
  };
  zip_buffer_fragment_t fragments[2] = {
      {reinterpret_cast<zip_uint8_t*>(const_cast<char*>(p.header.data())), p.header.size()},
      {static_cast<zip_uint8_t*>(const_cast<void*>(p.tensor->raw_data())), p.data_size}};
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* data = zip_source_buffer_fragment_create(fragments, p.data_size > 0 ? 2 : 1, 0, &error);
  if (!data) {
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail(text);
  }
  const zip_int64_t index = zip_file_add(archive, p.name.c_str(), data, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(data);
    fail(zip_strerror(archive));
  }
  const auto i = static_cast<zip_uint64_t>(index);
  if (zip_set_file_compression(archive, i, ZIP_CM_STORE, 0) != 0 ||
      zip_file_set_dostime(archive, i, dos_time_midnight, dos_date_1980, 0) != 0 ||
      zip_file_set_external_attributes(archive, i, 0, ZIP_OPSYS_UNIX, std::uint32_t{0100644} << 16) != 0)
    fail(zip_strerror(archive));
}

}  // namespace

void save_npz(const std::string& path, const NamedArrays& arrays) {
  const std::string where = "save_npz: " + path + ": ";
  if (path.empty()) throw std::invalid_argument("save_npz: the path is empty");

  // Validate everything and lay the archive out before touching the disk.
  // The classic end record counts members in 16 bits; load_npz reads every
  // count up to this limit (zip64, which would hold more, is not written).
  if (arrays.size() > max_members)
    throw std::invalid_argument(where + std::to_string(arrays.size()) + " arrays, more than a zip archive without " +
                                "zip64 holds (" + std::to_string(max_members) + "); save them in several files");
  std::vector<PlannedMember> plan;
  plan.reserve(arrays.size());
  std::set<std::string> seen;
  std::uint64_t offset = 0;  // where the next local header goes, as libzip lays the members out
  for (const auto& [name, tensor] : arrays) {
    if (name.empty()) throw std::invalid_argument(where + "an array name is empty");
    if (name.find('\0') != std::string::npos)
      throw std::invalid_argument(where + "the array name " + in_quotes(name) + " contains a NUL byte");
    // Names are written with the UTF-8 flag, and numpy.load decodes flagged
    // names strictly: anything else would make a file numpy cannot open.
    if (std::size_t bad = utf8_error_offset(name); bad != std::string::npos)
      throw std::invalid_argument(where + "the array name " + in_quotes(name) + " is not valid UTF-8 (byte " +
                                  std::to_string(bad + 1) + "); numpy.load could not read its name");
    if (!seen.insert(name).second)
      throw std::invalid_argument(where + "the array name " + in_quotes(name) + " appears twice");
    if (!tensor.defined())
      throw std::invalid_argument(where + "the array " + in_quotes(name) + " is an undefined tensor");
    PlannedMember p;
    p.name = name + ".npy";
    if (p.name.size() > 0xFFFF)
      throw std::invalid_argument(where + "the array name " + in_quotes(name) + " is longer than a zip archive allows");
    p.header = npy_header(tensor.shape(), tensor.dtype());
    p.tensor = &tensor;
    p.data_size = static_cast<std::uint64_t>(tensor.numel()) * dtype_size(tensor.dtype());
    std::uint64_t member_size = p.header.size() + p.data_size;
    if (member_size > zip32_limit || offset > zip32_limit)
      throw std::invalid_argument(where + "the array " + in_quotes(name) + " (" + std::to_string(member_size) +
                                  " bytes) does not fit: tapegrad writes zip archives of at most 4 GiB (no zip64)");
    offset += local_header_size + p.name.size() + member_size;
    plan.push_back(std::move(p));
  }
  const std::uint64_t directory_offset = offset;
  std::uint64_t directory_size = 0;
  for (const auto& p : plan) directory_size += central_header_size + p.name.size();
  if (directory_offset > zip32_limit || directory_size > zip32_limit)
    throw std::invalid_argument(where + "the arrays take " + std::to_string(directory_offset) +
                                " bytes: tapegrad writes zip archives of at most 4 GiB (no zip64)");
  if (plan.empty()) {
    detail::write_atomically(path, where, [](const detail::ByteSink& write) { write(empty_archive, sizeof empty_archive); });
    return;
  }

  detail::write_atomically_to_descriptor(path, where, [&](const detail::TemporaryFile& file) {
    DescriptorTarget target(file.fd);
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_function_create(DescriptorTarget::callback, &target, &error);
    zip_t* opened = source ? zip_open_from_source(source, ZIP_CREATE | ZIP_TRUNCATE, &error) : nullptr;
    if (!opened) {
      if (source) zip_source_free(source);
      std::string text = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw std::runtime_error(where + "libzip cannot start the archive: " + text);
    }
    zip_error_fini(&error);
    std::unique_ptr<zip_t, ArchiveDiscard> archive(opened);
    // Names are flagged UTF-8 (zip flag bit 11) when they are not ASCII, as
    // Python's zipfile flags them; numpy.load decodes flagged names as UTF-8.
    for (const auto& p : plan) add_member(archive.get(), p, where);
    // zip_close writes every member, their CRC-32 and the central directory.
    if (zip_close(archive.get()) != 0) {
      if (target.write_errno() != 0) file.fail("write failed", target.write_errno());
      throw std::runtime_error(where + "libzip cannot write the archive: " + zip_strerror(archive.get()));
    }
    archive.release();  // zip_close freed it
  });
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  save_npz(path, NamedArrays(arrays.begin(), arrays.end()));
}

void save_npz(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> arrays) {
  save_npz(path, NamedArrays(arrays));
}

}  // namespace tg::io
