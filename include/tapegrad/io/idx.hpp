// IDX files, the format of MNIST and Fashion-MNIST (LeCun's "THE IDX FILE
// FORMAT"), plain or gzip-compressed as they are distributed:
//
//   auto images = tg::io::read_idx_images("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
//   auto labels = tg::io::read_idx_labels("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
//   images.dims                              // {60000, 28, 28}
//   tg::Tensor x = tg::io::idx_to_float32(images);   // (60000, 28, 28) float32, pixel / 255
//   tg::Tensor y = tg::io::idx_to_int64(labels);     // (60000,) int64, 0..9
//
// The format: a 4-byte magic number 0x00 0x00 TYPE NDIMS, then NDIMS sizes as
// big-endian 32-bit unsigned integers, then the prod(sizes) values in
// row-major order. Only TYPE 0x08 (unsigned byte) is read, the type of every
// MNIST-family file: images have magic 0x00000803 (count, rows, columns),
// labels 0x00000801 (count).
//
// A gzip file is recognised by its bytes (zlib's gzread reads a plain file
// as it is), so the ".gz" in the name does not matter.
//
// Errors: std::runtime_error "FUNCTION: PATH: ..." for a file that cannot be
// opened, is not a regular file, is not valid gzip, has another magic number
// (the message gives the one found and the one expected), a truncated header
// or data (how many bytes the dims promise and how many there are), or more
// bytes than its dims account for. The whole file is read and checked before
// anything is returned; a header promising more than the file holds fails
// when the data ends, without allocating what the header claims.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::io {

struct IdxArray {
  std::vector<std::int64_t> dims;   // the sizes from the header, outermost first
  std::vector<std::uint8_t> data;   // prod(dims) values, row-major
};

// Any unsigned-byte IDX file (magic 0x000008NN, 1 <= NN <= 8 dimensions).
IdxArray read_idx(const std::string& path);
// An unsigned-byte IDX file of images: magic 0x00000803, dims (count, rows, columns).
IdxArray read_idx_images(const std::string& path);
// An unsigned-byte IDX file of labels: magic 0x00000801, dims (count,).
IdxArray read_idx_labels(const std::string& path);

// The values as float32 scaled to [0, 1] (value / 255), of shape `dims`.
Tensor idx_to_float32(const IdxArray& array);
// The values as int64 (0..255 unchanged), of shape `dims`, for labels.
Tensor idx_to_int64(const IdxArray& array);

}  // namespace tg::io
