// NumPy .npz writing: the archive laid out and checked in memory, then written
// atomically (atomic_write.hpp: temporary file, fsync, rename, fsync of the
// directory). npz.cpp reads.
#include "tapegrad/io/npz.hpp"

#include <zlib.h>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomic_write.hpp"
#include "npz_format.hpp"

namespace tg::io {

using namespace npz_format;

namespace {


struct PlannedMember {
  std::string name;    // "dense/kernel.npy"
  std::string header;  // the npy header
  const Tensor* tensor = nullptr;
  std::uint64_t data_size = 0;
  std::uint32_t crc = 0;
  std::uint64_t local_offset = 0;
  std::uint16_t flags = 0;
};

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
  std::uint64_t offset = 0;
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
    // Bit 11: the name is UTF-8 (as Python's zipfile sets it for non-ASCII names).
    if (std::any_of(p.name.begin(), p.name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
      p.flags = 0x0800;
    p.header = npy_header(tensor.shape(), tensor.dtype());
    p.tensor = &tensor;
    p.data_size = static_cast<std::uint64_t>(tensor.numel()) * dtype_size(tensor.dtype());
    p.local_offset = offset;
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
  for (auto& p : plan)
    p.crc = crc32_of(crc32_of(0, p.header.data(), p.header.size()), p.tensor->raw_data(),
                     static_cast<std::size_t>(p.data_size));

  detail::write_atomically(path, where, [&](const detail::ByteSink& write_all) {
    for (const auto& p : plan) {
      std::string h;
      put_u32(h, local_header_signature);
      put_u16(h, 20);  // version needed to extract: 2.0
      put_u16(h, p.flags);
      put_u16(h, 0);  // stored
      put_u16(h, dos_time_midnight);
      put_u16(h, dos_date_1980);
      put_u32(h, p.crc);
      put_u32(h, p.header.size() + p.data_size);  // compressed size
      put_u32(h, p.header.size() + p.data_size);  // uncompressed size
      put_u16(h, p.name.size());
      put_u16(h, 0);  // no extra field
      h += p.name;
      h += p.header;
      write_all(h.data(), h.size());
      write_all(p.tensor->raw_data(), p.data_size);
    }
    std::string tail;
    for (const auto& p : plan) {
      put_u32(tail, central_header_signature);
      put_u16(tail, (3 << 8) | 20);  // made by: Unix, zip 2.0
      put_u16(tail, 20);
      put_u16(tail, p.flags);
      put_u16(tail, 0);
      put_u16(tail, dos_time_midnight);
      put_u16(tail, dos_date_1980);
      put_u32(tail, p.crc);
      put_u32(tail, p.header.size() + p.data_size);
      put_u32(tail, p.header.size() + p.data_size);
      put_u16(tail, p.name.size());
      put_u16(tail, 0);  // extra
      put_u16(tail, 0);  // comment
      put_u16(tail, 0);  // disk
      put_u16(tail, 0);  // internal attributes
      put_u32(tail, std::uint32_t{0100644} << 16);  // external attributes: a regular file, rw-r--r--
      put_u32(tail, p.local_offset);
      tail += p.name;
    }
    put_u32(tail, end_of_central_directory_signature);
    put_u16(tail, 0);
    put_u16(tail, 0);
    put_u16(tail, plan.size());
    put_u16(tail, plan.size());
    put_u32(tail, directory_size);
    put_u32(tail, directory_offset);
    put_u16(tail, 0);  // comment length
    write_all(tail.data(), tail.size());
  });
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  save_npz(path, NamedArrays(arrays.begin(), arrays.end()));
}

void save_npz(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> arrays) {
  save_npz(path, NamedArrays(arrays));
}

}  // namespace tg::io
