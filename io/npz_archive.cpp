// The ZIP container of .npz files, read by libzip: the archive opened with its
// consistency checks (every local header against its central directory entry,
// every member inside the file), its members listed and checked against what
// an npz archive may hold, and their bytes streamed with their CRC-32 checked.
//
// Two things stay ours. The end record is found here (as Python's zipfile
// finds it, the last signature in the last 64 KiB + 22 bytes whose comment
// fits), because numpy ignores bytes after it and libzip's ZIP_CHECKCONS
// refuses them: libzip is shown the file up to the end of that record. And the
// limits that keep a forged file from making the reader allocate without
// bound: deflate's maximum ratio per member, and members that must not share
// bytes (libzip gives no member's offset, so their local headers and data
// together must fit before the central directory).
#include <zip.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "npz_reader.hpp"
#include "zip_source.hpp"

namespace tg::io::npz_reading {

namespace {

// zip_source_function_create's callback: a read-only, seekable view of the
// first `size` bytes of a Source.
zip_int64_t source_callback(void* userdata, void* data, zip_uint64_t length, zip_source_cmd_t command) {
  auto& state = *static_cast<SourceState*>(userdata);
  switch (command) {
    case ZIP_SOURCE_OPEN:
      state.position = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      constexpr std::uint64_t cache_size = 1 << 16;
      const std::uint64_t n = std::min<std::uint64_t>(length, state.size - state.position);
      try {
        if (n >= cache_size) {
          state.source->read(state.position, data, static_cast<std::size_t>(n));
        } else {
          if (state.position < state.cached_offset || state.position + n > state.cached_offset + state.cache.size()) {
            state.cached_offset = state.position;
            state.cache.resize(static_cast<std::size_t>(std::min(cache_size, state.size - state.position)));
            state.source->read(state.cached_offset, state.cache.data(), state.cache.size());
          }
          if (n) std::memcpy(data, state.cache.data() + (state.position - state.cached_offset), static_cast<std::size_t>(n));
        }
      } catch (const std::exception& e) {
        // No exception may cross libzip's C frames: kept, and rethrown by fail_libzip.
        state.failure = e.what();
        zip_error_set(&state.error, ZIP_ER_READ, EIO);
        return -1;
      }
      state.position += n;
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_SEEK:
      return zip_source::seek(state.position, state.size, data, length, &state.error);
    case ZIP_SOURCE_TELL:
      return static_cast<zip_int64_t>(state.position);
    case ZIP_SOURCE_STAT: {
      auto* st = static_cast<zip_stat_t*>(data);
      zip_stat_init(st);
      st->size = state.size;
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&state.error, data, length);
    case ZIP_SOURCE_FREE:
      return 0;  // the state belongs to the Reader
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_SEEK,
                                            ZIP_SOURCE_TELL, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                            ZIP_SOURCE_SUPPORTS, -1);
    default:
      zip_error_set(&state.error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

// libzip's text for an error ("Not a zip archive", "CRC error", "Zlib error: data error").
std::string libzip_text(const zip_error_t& error) {
  zip_error_t copy;  // zip_error_strerror caches its text in the error: a copy keeps `error` const
  zip_error_init(&copy);
  zip_error_set(&copy, zip_error_code_zip(&error), zip_error_code_system(&error));
  std::string text = zip_error_strerror(&copy);
  zip_error_fini(&copy);
  return text;
}

}  // namespace

Reader::Reader(const Source& source, std::string file) : source_(source), file_(std::move(file)) {
  state_.source = &source_;
  zip_error_init(&state_.error);
}

Reader::~Reader() {
  if (archive_) zip_discard(archive_);
  zip_error_fini(&state_.error);
}

void Reader::fail_libzip(const zip_error_t& error, const Member* member) const {
  if (!state_.failure.empty()) throw std::runtime_error(state_.failure);
  const int code = zip_error_code_zip(&error);
  if (code == ZIP_ER_MEMORY) throw std::bad_alloc();
  const std::string text = "libzip: " + libzip_text(error);
  if (!member) {
    if (code == ZIP_ER_MULTIDISK) fail("multi-part (spanned) zip archives are not supported");
    fail("truncated or corrupt: it cannot be read as a zip archive (" + text + ")");
  }
  const std::string name = "member " + in_quotes(member->name);
  if (code == ZIP_ER_CRC)
    fail(name + ": CRC-32 mismatch (archive says " + hex32(member->crc) + "): the file is corrupt");
  if (code == ZIP_ER_ZLIB) fail(name + ": corrupt compressed data (" + text + ")");
  if (code == ZIP_ER_INCONS)
    fail(name + ": its data does not hold the " + std::to_string(member->size) + " bytes the archive says (" + text +
         "): the file is corrupt");
  fail(name + ": cannot be read (" + text + "): the file is truncated or corrupt");
}

void Reader::find_end_record() {
  const std::uint64_t size = source_.size();
  if (size == 0) fail("empty file (0 bytes); an npz archive is a zip file");

  unsigned char head[8] = {};
  auto head_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof head));
  source_.read(0, head, head_size);
  if (head_size >= npy_magic_size && std::memcmp(head, npy_magic, npy_magic_size) == 0)
    fail("this is a single .npy array (as numpy.save writes), not an .npz archive (numpy.savez)");
  if (head_size >= 4 && !(std::memcmp(head, "PK\x03\x04", 4) == 0 || std::memcmp(head, "PK\x05\x06", 4) == 0))
    fail("not an npz archive: an npz file is a zip file, starting with 'PK', and this one starts with bytes " +
         hex_bytes(head, head_size));

  // As zipfile, the last signature found wins; its record and comment must lie
  // within the file (a file cut inside them is truncated).
  auto tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, end_record_size + max_zip_comment));
  std::vector<unsigned char> tail(tail_size);
  source_.read(size - tail_size, tail.data(), tail_size);
  std::size_t found = tail_size;
  for (std::size_t i = tail_size >= end_record_size ? tail_size - end_record_size + 1 : 0; i-- > 0;) {
    if (get_u32(&tail[i]) == end_of_central_directory_signature &&
        i + end_record_size + get_u16(&tail[i + 20]) <= tail_size) {
      found = i;
      break;
    }
  }
  if (found == tail_size)
    fail("no zip end-of-central-directory record: the file (" + std::to_string(size) +
         " bytes) is truncated, or it is not an npz archive");
  const std::uint64_t end_offset = size - tail_size + found;
  state_.size = end_offset + end_record_size + get_u16(&tail[found + 20]);
  // 0xFFFFFFFF: the offset is in the zip64 record, which libzip reads; the end
  // record's own offset is then the bound.
  const std::uint32_t directory_offset = get_u32(&tail[found + 16]);
  data_end_ = directory_offset != 0xFFFFFFFF ? std::min<std::uint64_t>(directory_offset, end_offset) : end_offset;
}

zip_t* Reader::open(int flags) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_function_create(source_callback, &state_, &error);
  if (!source) fail_libzip(error, nullptr);
  zip_t* archive = zip_open_from_source(source, flags, &error);
  if (!archive) {
    zip_source_free(source);
    // A duplicate name: open it again without the check to say which name.
    if (zip_error_code_zip(&error) == ZIP_ER_EXISTS && (flags & ZIP_CHECKCONS)) {
      zip_error_fini(&error);
      archive_ = open(flags & ~ZIP_CHECKCONS);
      std::vector<std::string> names;
      check_names(list_members(), names);
      fail("the archive has a duplicate member name: the file is corrupt");
    }
    fail_libzip(error, nullptr);
  }
  zip_error_fini(&error);
  return archive;
}

std::vector<Member> Reader::list_members() {
  const zip_int64_t count = zip_get_num_entries(archive_, 0);
  std::vector<Member> members;
  members.reserve(static_cast<std::size_t>(std::max<zip_int64_t>(count, 0)));
  for (zip_int64_t index = 0; index < count; ++index) {
    zip_stat_t st;
    zip_stat_init(&st);
    // Raw names: the bytes of the archive, decoded by nobody (numpy decodes
    // flagged names as UTF-8, and tapegrad writes only those).
    if (zip_stat_index(archive_, static_cast<zip_uint64_t>(index), ZIP_FL_ENC_RAW, &st) != 0)
      fail_libzip(*zip_get_error(archive_), nullptr);
    Member m;
    m.name = st.name ? st.name : "";
    m.index = static_cast<zip_uint64_t>(index);
    m.method = st.comp_method;
    m.crc = st.crc;
    m.compressed_size = st.comp_size;
    m.size = st.size;
    if (st.encryption_method != ZIP_EM_NONE)
      fail("member " + in_quotes(m.name) + " is encrypted; tapegrad reads only unencrypted archives");
    if (m.method != ZIP_CM_STORE && m.method != ZIP_CM_DEFLATE)
      fail("member " + in_quotes(m.name) + " uses zip compression method " + std::to_string(m.method) +
           "; tapegrad reads stored (0) and deflate (8), which numpy.savez and numpy.savez_compressed write");
    if (m.method == ZIP_CM_STORE && m.compressed_size != m.size)
      fail("member " + in_quotes(m.name) + " is stored uncompressed but its sizes differ (" +
           std::to_string(m.compressed_size) + " and " + std::to_string(m.size) + "): the file is corrupt");
    if (m.method == ZIP_CM_DEFLATE && m.size > m.compressed_size * max_deflate_ratio + 1024)
      fail("member " + in_quotes(m.name) + " claims " + std::to_string(m.size) + " bytes from " +
           std::to_string(m.compressed_size) + " compressed bytes, more than deflate can produce: the file is corrupt");
    members.push_back(std::move(m));
  }
  return members;
}

void Reader::check_names(const std::vector<Member>& members, std::vector<std::string>& names) const {
  std::set<std::string> seen;
  for (const Member& m : members) {
    constexpr std::string_view suffix = ".npy";
    if (m.name.size() < suffix.size() || std::string_view(m.name).substr(m.name.size() - suffix.size()) != suffix)
      fail("member " + in_quotes(m.name) + " is not a .npy array (an npz archive holds NAME.npy members only)");
    std::string name = m.name.substr(0, m.name.size() - suffix.size());
    if (!seen.insert(name).second) fail("the array name " + in_quotes(name) + " appears twice");
    names.push_back(std::move(name));
  }
}

NamedArrays Reader::read_all() {
  find_end_record();
  archive_ = open(ZIP_RDONLY | ZIP_CHECKCONS);
  std::vector<Member> members = list_members();
  std::vector<std::string> names;
  check_names(members, names);
  // Members must not share bytes: otherwise a small file could describe the same
  // data many times over and make the reader allocate far more than its size.
  // Apart, their local headers (30 bytes and the name at least) and data fit
  // before the central directory.
  std::uint64_t needed = 0;
  for (const Member& m : members) {
    needed += local_header_size + m.name.size();
    needed += std::min<std::uint64_t>(m.compressed_size, data_end_ + 1);
    if (needed > data_end_)
      fail("members overlap: their local headers and data need more than the " + std::to_string(data_end_) +
           " bytes before the central directory: the file is corrupt");
  }

  NamedArrays arrays;
  arrays.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) arrays.emplace_back(names[i], read_array(members[i], names[i]));
  return arrays;
}

MemberStream::MemberStream(const Reader& reader, const Member& member) : reader_(reader), member_(member) {
  file_ = zip_fopen_index(reader.archive(), member.index, 0);
  if (!file_) reader.fail_libzip(*zip_get_error(reader.archive()), &member);
}

MemberStream::~MemberStream() {
  if (file_) zip_fclose(file_);
}

std::uint64_t MemberStream::read_some(void* out, std::uint64_t n) {
  auto* p = static_cast<unsigned char*>(out);
  std::uint64_t total = 0;
  while (total < n) {
    zip_int64_t got = zip_fread(file_, p + total, std::min<std::uint64_t>(n - total, std::uint64_t{1} << 30));
    if (got < 0) reader_.fail_libzip(*zip_file_get_error(file_), &member_);
    if (got == 0) break;
    total += static_cast<std::uint64_t>(got);
  }
  return total;
}

void MemberStream::read(void* out, std::size_t n) {
  if (n == 0) return;
  if (produced_ + n > member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " is " + std::to_string(member_.size) + " bytes, too short for " +
                 std::to_string(produced_ + n));
  std::uint64_t got = read_some(out, n);
  if (got < n)
    reader_.fail("member " + in_quotes(member_.name) + ": its " +
                 (member_.method == ZIP_CM_DEFLATE ? "compressed data" : "data") + " holds " +
                 std::to_string(produced_ + got) + " bytes, the archive says " + std::to_string(member_.size) +
                 ": the file is corrupt");
  produced_ += n;
}

void MemberStream::finish() {
  if (produced_ != member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " holds " + std::to_string(member_.size - produced_) +
                 " bytes after the array's data");
  // Reading on to the end is what makes libzip check the CRC-32.
  unsigned char extra;
  if (read_some(&extra, 1) > 0)
    reader_.fail("member " + in_quotes(member_.name) + ": its compressed data holds more than the " +
                 std::to_string(member_.size) + " bytes the archive says: the file is corrupt");
}

}  // namespace tg::io::npz_reading
