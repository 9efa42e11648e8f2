// The ZIP container of .npz files, read (PKWARE APPNOTE.TXT; see io/npz.cpp's
// file comment for the layout): the end record and the central directory, each
// member's local header, and the bytes of stored and deflated members with
// their CRC-32 checked. Every offset and length is checked against the file's
// size before use.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "npz_reader.hpp"

namespace tg::io::npz_reading {

MemberStream::MemberStream(const Reader& reader, const Member& member) : reader_(reader), member_(member) {
  if (member.method == 8) {
    // Raw deflate (no zlib header): negative window bits.
    if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) reader_.fail("cannot initialise zlib's inflate");
    inflating_ = true;
    input_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(member.compressed_size, 1 << 16)));
  }
}

std::size_t MemberStream::inflate_into(unsigned char* out, std::size_t n) {
  std::size_t total = 0;
  while (total < n && !stream_ended_) {
    if (zs_.avail_in == 0 && compressed_read_ < member_.compressed_size) {
      auto chunk = static_cast<std::size_t>(
          std::min<std::uint64_t>(input_.size(), member_.compressed_size - compressed_read_));
      reader_.source().read(member_.data_offset + compressed_read_, input_.data(), chunk);
      compressed_read_ += chunk;
      zs_.next_in = input_.data();
      zs_.avail_in = static_cast<uInt>(chunk);
    }
    auto room = static_cast<uInt>(std::min<std::size_t>(n - total, std::size_t{1} << 30));
    zs_.next_out = out + total;
    zs_.avail_out = room;
    int status = inflate(&zs_, Z_NO_FLUSH);
    total += room - zs_.avail_out;
    if (status == Z_STREAM_END) {
      stream_ended_ = true;
    } else if (status == Z_BUF_ERROR) {
      // No progress was possible: it needs input and there is none left.
      if (zs_.avail_in == 0 && compressed_read_ == member_.compressed_size)
        reader_.fail("member " + in_quotes(member_.name) + ": its compressed data ends early (after " +
                     std::to_string(produced_ + total) + " of " + std::to_string(member_.size) +
                     " bytes): the file is corrupt");
    } else if (status != Z_OK) {
      reader_.fail("member " + in_quotes(member_.name) + ": corrupt compressed data (zlib: " +
                   (zs_.msg ? zs_.msg : std::to_string(status)) + ")");
    }
  }
  return total;
}

void MemberStream::read(void* out, std::size_t n) {
  if (n == 0) return;
  if (produced_ + n > member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " is " + std::to_string(member_.size) + " bytes, too short for " +
                 std::to_string(produced_ + n));
  if (inflating_) {
    std::size_t got = inflate_into(static_cast<unsigned char*>(out), n);
    if (got < n)
      reader_.fail("member " + in_quotes(member_.name) + ": its compressed data holds " + std::to_string(produced_ + got) +
                   " bytes, the archive says " + std::to_string(member_.size) + ": the file is corrupt");
  } else {
    reader_.source().read(member_.data_offset + produced_, out, n);
  }
  crc_ = crc32_of(crc_, out, n);
  produced_ += n;
}

void MemberStream::finish() {
  if (produced_ != member_.size)
    reader_.fail("member " + in_quotes(member_.name) + " holds " + std::to_string(member_.size - produced_) +
                 " bytes after the array's data");
  if (inflating_ && !stream_ended_) {
    unsigned char extra;
    if (inflate_into(&extra, 1) > 0 || !stream_ended_)
      reader_.fail("member " + in_quotes(member_.name) + ": its compressed data holds more than the " +
                   std::to_string(member_.size) + " bytes the archive says: the file is corrupt");
  }
  if (crc_ != member_.crc)
    reader_.fail("member " + in_quotes(member_.name) + ": CRC-32 mismatch (archive says " + hex32(member_.crc) +
                 ", the data gives " + hex32(crc_) + "): the file is corrupt");
}

std::vector<Member> Reader::read_central_directory(std::uint64_t& directory_offset) {
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

  // The end record lies in the last 64 KiB + 22 bytes: it may be followed by its
  // comment and by other bytes, which numpy (zipfile) ignores, and so do we.
  // As zipfile, the last signature found wins; unlike zipfile, its record and
  // comment must lie within the file (a file cut inside them is truncated).
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
  const unsigned char* end = &tail[found];
  const std::uint64_t end_offset = size - tail_size + found;
  std::uint16_t disk = get_u16(end + 4), directory_disk = get_u16(end + 6);
  std::uint16_t entries_here = get_u16(end + 8), entries = get_u16(end + 10);
  std::uint32_t directory_size = get_u32(end + 12);
  directory_offset = get_u32(end + 16);
  // 0xFFFF and 0xFFFFFFFF mean "see the zip64 record" only when a zip64 locator
  // precedes the end record; otherwise they are counts like any other (save_npz
  // writes 65535 arrays so, as Python's zipfile does, and reads them back so).
  if (entries == 0xFFFF || directory_size == 0xFFFFFFFF || directory_offset == 0xFFFFFFFF) {
    constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
    constexpr std::size_t zip64_locator_size = 20;
    unsigned char locator[4];
    if (end_offset >= zip64_locator_size) {
      source_.read(end_offset - zip64_locator_size, locator, sizeof locator);
      if (get_u32(locator) == zip64_locator_signature)
        fail("zip64 archives (more than 65535 arrays or 4 GiB) are not supported");
    }
  }
  if (disk != 0 || directory_disk != 0 || entries_here != entries)
    fail("multi-part (spanned) zip archives are not supported");
  if (directory_offset + directory_size > end_offset)
    fail("the central directory (" + std::to_string(directory_size) + " bytes at offset " +
         std::to_string(directory_offset) + ") overlaps its end record at offset " + std::to_string(end_offset) +
         ": the file is truncated or corrupt");
  if (std::uint64_t{entries} * central_header_size > directory_size)
    fail("the central directory (" + std::to_string(directory_size) + " bytes) is too small for its " +
         std::to_string(entries) + " entries: the file is corrupt");

  std::vector<unsigned char> directory(directory_size);
  source_.read(directory_offset, directory.data(), directory.size());
  std::vector<Member> members;
  members.reserve(entries);
  std::size_t pos = 0;
  for (std::size_t index = 0; index < entries; ++index) {
    auto where = [&] { return "central directory entry " + std::to_string(index + 1) + " of " + std::to_string(entries); };
    if (pos + central_header_size > directory.size()) fail(where() + " runs past the directory: the file is corrupt");
    const unsigned char* e = &directory[pos];
    if (get_u32(e) != central_header_signature) fail(where() + " has a bad signature: the file is corrupt");
    Member m;
    m.flags = get_u16(e + 8);
    m.method = get_u16(e + 10);
    m.crc = get_u32(e + 16);
    m.compressed_size = get_u32(e + 20);
    m.size = get_u32(e + 24);
    std::size_t name_length = get_u16(e + 28), extra_length = get_u16(e + 30), comment_length = get_u16(e + 32);
    std::uint16_t start_disk = get_u16(e + 34);
    m.local_offset = get_u32(e + 42);
    std::size_t variable = name_length + extra_length + comment_length;
    if (pos + central_header_size + variable > directory.size())
      fail(where() + " runs past the directory: the file is corrupt");
    m.name.assign(reinterpret_cast<const char*>(e + central_header_size), name_length);
    // Sizes and offset too large for 32 bits live in the zip64 extra field (id 1),
    // in this order, each present only when its 32-bit field is 0xFFFFFFFF.
    const unsigned char* extra = e + central_header_size + name_length;
    std::uint64_t* wide[] = {m.size == 0xFFFFFFFF ? &m.size : nullptr,
                             m.compressed_size == 0xFFFFFFFF ? &m.compressed_size : nullptr,
                             m.local_offset == 0xFFFFFFFF ? &m.local_offset : nullptr};
    if (wide[0] || wide[1] || wide[2]) {
      bool found_zip64 = false;
      for (std::size_t x = 0; x + 4 <= extra_length;) {
        std::size_t id = get_u16(extra + x), length = get_u16(extra + x + 2);
        if (x + 4 + length > extra_length) break;
        if (id == 1) {
          std::size_t at = x + 4;
          found_zip64 = true;
          for (auto* field : wide) {
            if (!field) continue;
            if (at + 8 > x + 4 + length) {
              found_zip64 = false;
              break;
            }
            *field = get_u64(extra + at);
            at += 8;
          }
          break;
        }
        x += 4 + length;
      }
      if (!found_zip64) fail(where() + " (" + in_quotes(m.name) + ") lacks its zip64 sizes: the file is corrupt");
    }
    pos += central_header_size + variable;

    if (start_disk != 0) fail("multi-part (spanned) zip archives are not supported");
    if (m.flags & 0x41) fail("member " + in_quotes(m.name) + " is encrypted; tapegrad reads only unencrypted archives");
    if (m.method != 0 && m.method != 8)
      fail("member " + in_quotes(m.name) + " uses zip compression method " + std::to_string(m.method) +
           "; tapegrad reads stored (0) and deflate (8), which numpy.savez and numpy.savez_compressed write");
    if (m.method == 0 && m.compressed_size != m.size)
      fail("member " + in_quotes(m.name) + " is stored uncompressed but its sizes differ (" +
           std::to_string(m.compressed_size) + " and " + std::to_string(m.size) + "): the file is corrupt");
    if (m.method == 8 && m.size > m.compressed_size * max_deflate_ratio + 1024)
      fail("member " + in_quotes(m.name) + " claims " + std::to_string(m.size) + " bytes from " +
           std::to_string(m.compressed_size) + " compressed bytes, more than deflate can produce: the file is corrupt");
    members.push_back(std::move(m));
  }
  return members;
}

void Reader::read_local_header(Member& m, std::uint64_t directory_offset) {
  // Every member's local header and data lie before the central directory.
  auto needs = [&](std::uint64_t offset, std::uint64_t n, const std::string& what) {
    if (offset > directory_offset || n > directory_offset - offset)
      fail("truncated or corrupt: member " + in_quotes(m.name) + " needs " + std::to_string(n) + " bytes of " + what +
           " at offset " + std::to_string(offset) + ", but its data must end before the central directory at offset " +
           std::to_string(directory_offset) + " (the file has " + std::to_string(source_.size()) + " bytes)");
  };
  needs(m.local_offset, local_header_size, "local header");
  unsigned char h[local_header_size];
  source_.read(m.local_offset, h, sizeof h);
  if (get_u32(h) != local_header_signature)
    fail("member " + in_quotes(m.name) + ": no local header at offset " + std::to_string(m.local_offset) +
         ": the file is corrupt");
  std::size_t name_length = get_u16(h + 26), extra_length = get_u16(h + 28);
  needs(m.local_offset + local_header_size, name_length + extra_length, "name and extra field");
  std::string local_name(name_length, '\0');
  source_.read(m.local_offset + local_header_size, local_name.data(), name_length);
  if (local_name != m.name)
    fail("member " + in_quotes(m.name) + ": its local header names it " + in_quotes(local_name) + ": the file is corrupt");
  if (get_u16(h + 8) != m.method)
    fail("member " + in_quotes(m.name) + ": its local header and the central directory disagree on the compression "
         "method: the file is corrupt");
  m.data_offset = m.local_offset + local_header_size + name_length + extra_length;
  needs(m.data_offset, m.compressed_size, "data");
}

}  // namespace tg::io::npz_reading
