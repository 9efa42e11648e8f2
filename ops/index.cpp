// Row gather and row scatter-add: each other's adjoint. The gather's gradient
// is row-sparse, so an embedding table is never densified for a small batch.
#include "tapegrad/ops/index.hpp"

#include <cstring>

#include "support.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

void check_indices(const char* op, const Tensor& indices, std::int64_t rows) {
  detail::check_defined(op, indices);
  if (indices.dtype() != DType::int64)
    throw std::invalid_argument(std::string(op) + ": indices must be int64, received " + detail::describe(indices));
  const std::int64_t* p = indices.data<std::int64_t>();
  for (std::int64_t i = 0; i < indices.numel(); ++i)
    if (p[i] < 0 || p[i] >= rows)
      throw std::out_of_range(std::string(op) + ": index " + std::to_string(p[i]) + " out of range for " +
                              std::to_string(rows) + " rows (at position " + std::to_string(i) + ")");
}

}  // namespace

Tensor gather(const Tensor& table, const Tensor& indices) {
  detail::check_defined("gather", table);
  if (table.rank() < 1) throw std::invalid_argument("gather: the table must have rank >= 1, received a 0-d tensor");
  const std::int64_t rows = table.shape()[0];
  check_indices("gather", indices, rows);
  Shape out_shape = indices.shape();
  for (int d = 1; d < table.rank(); ++d) out_shape.push_back(table.shape()[d]);
  Tensor out = Tensor::empty(out_shape, table.dtype());
  const std::int64_t row = rows ? table.numel() / rows : 0;
  const std::size_t row_bytes = static_cast<std::size_t>(row) * dtype_size(table.dtype());
  const std::int64_t* idx = indices.data<std::int64_t>();
  const auto* src = static_cast<const char*>(table.raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  for (std::int64_t i = 0; i < indices.numel(); ++i)
    std::memcpy(dst + static_cast<std::size_t>(i) * row_bytes, src + static_cast<std::size_t>(idx[i]) * row_bytes,
                row_bytes);
  if (is_recording() && table.is_floating())
    record_op("gather", {table}, out, [indices, shape = table.shape()](const Tensor& g, BackwardContext& ctx) {
      std::vector<std::int64_t> values_shape{indices.numel()};
      for (int d = 1; d < shape.rank(); ++d) values_shape.push_back(shape[d]);
      ctx.add(0, Gradient::rows(reshape(indices, {indices.numel()}), reshape(g, values_shape), shape));
    });
  return out;
}

Tensor scatter_add_rows(const Tensor& indices, const Tensor& values, std::int64_t num_rows) {
  detail::check_float("scatter_add_rows", values);
  if (num_rows < 0)
    throw std::invalid_argument("scatter_add_rows: num_rows must be >= 0, received " + std::to_string(num_rows));
  check_indices("scatter_add_rows", indices, num_rows);
  if (indices.rank() != 1 || values.rank() < 1 || values.shape()[0] != indices.numel())
    throw std::invalid_argument("scatter_add_rows: expected 1-D indices and values with one row per index, received " +
                                detail::describe(indices) + " and " + detail::describe(values));
  Shape out_shape = values.shape();
  out_shape[0] = num_rows;
  Tensor out = zeros(out_shape, values.dtype());
  const std::int64_t row = indices.numel() ? values.numel() / indices.numel() : 0;
  const std::int64_t* idx = indices.data<std::int64_t>();
  dispatch_float(values.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = values.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t i = 0; i < indices.numel(); ++i) {
      T* d = dst + idx[i] * row;
      const T* s = src + i * row;
      for (std::int64_t j = 0; j < row; ++j) d[j] += s[j];
    }
  });
  if (is_recording())
    record_op("scatter_add_rows", {values}, out, [indices](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, gather(g, indices));
    });
  return out;
}

}  // namespace tg
