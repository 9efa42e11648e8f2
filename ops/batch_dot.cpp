// batch_dot: Keras's per-sample contraction, composed of reshape, permute and
// matmul (no backward of its own).
#include "tapegrad/ops/batch_dot.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

// Product of the dimensions of x other than the batch axis and `axis`.
std::int64_t rest(const Tensor& x, int axis) {
  std::int64_t n = 1;
  for (int i = 1; i < x.rank(); ++i)
    if (i != axis) n *= x.dim(i);
  return n;
}

std::string axes_str(std::pair<int, int> axes) {
  return "(" + std::to_string(axes.first) + ", " + std::to_string(axes.second) + ")";
}

}  // namespace

Tensor batch_dot(const Tensor& x, const Tensor& y, std::pair<int, int> axes) {
  const char* op = "batch_dot";
  detail::check_same_float(op, x, y);
  if (x.rank() < 2 || y.rank() < 2)
    throw std::invalid_argument("batch_dot: expects x and y of rank >= 2, (batch, ...), received shapes " +
                                x.shape().str() + " and " + y.shape().str());
  if (x.dim(0) != y.dim(0))
    throw std::invalid_argument("batch_dot: x and y must have the same batch size, received shapes " +
                                x.shape().str() + " and " + y.shape().str());
  const int ax = detail::normalize_axis(op, axes.first, x.shape());
  const int ay = detail::normalize_axis(op, axes.second, y.shape());
  if (ax == 0 || ay == 0)
    throw std::invalid_argument(
        "batch_dot: axis 0 is the batch axis and cannot be contracted (axes count the batch axis, as Keras's); "
        "received axes=" + axes_str(axes) + " for shapes " + x.shape().str() + " and " + y.shape().str());
  const std::int64_t d = x.dim(ax);
  if (y.dim(ay) != d)
    throw std::invalid_argument("batch_dot: cannot contract axis " + std::to_string(ax) + " of " + x.shape().str() +
                                " with axis " + std::to_string(ay) + " of " + y.shape().str() + " (" +
                                std::to_string(d) + " vs " + std::to_string(y.dim(ay)) + ")");

  const std::int64_t batch = x.dim(0);
  const std::int64_t rows_x = rest(x, ax), rows_y = rest(y, ay);
  std::vector<std::int64_t> out_shape = {batch};
  for (int i = 1; i < x.rank(); ++i)
    if (i != ax) out_shape.push_back(x.dim(i));
  for (int i = 1; i < y.rank(); ++i)
    if (i != ay) out_shape.push_back(y.dim(i));
  if (out_shape.size() == 1) out_shape.push_back(1);  // (batch,) -> (batch, 1), as Keras

  // x as (B, X, d), or its reshape (B, d, X) with transpose_x when the
  // contracted axis comes first; y as (B, d, Y), or (B, Y, d) with transpose_y.
  Tensor x3, y3;
  bool transpose_x = false, transpose_y = false;
  if (ax == x.rank() - 1) {
    x3 = reshape(x, {batch, rows_x, d});
  } else if (ax == 1) {
    x3 = reshape(x, {batch, d, rows_x});
    transpose_x = true;
  } else {
    std::vector<int> perm = {0};
    for (int i = 1; i < x.rank(); ++i)
      if (i != ax) perm.push_back(i);
    perm.push_back(ax);
    x3 = reshape(permute(x, perm), {batch, rows_x, d});
  }
  if (ay == 1) {
    y3 = reshape(y, {batch, d, rows_y});
  } else if (ay == y.rank() - 1) {
    y3 = reshape(y, {batch, rows_y, d});
    transpose_y = true;
  } else {
    std::vector<int> perm = {0, ay};
    for (int i = 1; i < y.rank(); ++i)
      if (i != ay) perm.push_back(i);
    y3 = reshape(permute(y, perm), {batch, d, rows_y});
  }
  return reshape(matmul(x3, y3, transpose_x, transpose_y), out_shape);
}

Tensor batch_dot(const Tensor& x, const Tensor& y, int axis) { return batch_dot(x, y, {axis, axis}); }

}  // namespace tg
