// Row gather (embedding lookup) and its adjoint, the row scatter-add.
#pragma once

#include <cstdint>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// Rows of `table` (shape (V, ...)) picked by an int64 `indices` tensor of any
// shape: the result has shape indices.shape + table.shape[1:]. Each index must
// be in [0, V). The gradient to `table` is row-sparse (tg::Gradient::rows):
// only the rows used are touched, and repeated indices add up.
Tensor gather(const Tensor& table, const Tensor& indices);
// A (num_rows, ...) tensor of zeros into which row i of `values` is added at
// row indices[i] (repeats add up). The gradient to `values` is gather(g, indices).
Tensor scatter_add_rows(const Tensor& indices, const Tensor& values, std::int64_t num_rows);

}  // namespace tg
