// Tensor's methods: each is the free op of the same name (x.sum(1) is
// tg::sum(x, 1)), so that a PyTorch or NumPy user's spelling works. They live
// here, with the ops, because tensor.hpp (below the ops) must not include the
// op headers. Indexing is composed of slice and reshape, so it records on the
// tape as those ops and its gradient is theirs (a slice's scatter-back).
#include <limits>
#include <stdexcept>
#include <string>

#include "support.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

Tensor Tensor::sum(const Axes& axes, bool keepdims) const { return tg::sum(*this, axes, keepdims); }
Tensor Tensor::mean(const Axes& axes, bool keepdims) const { return tg::mean(*this, axes, keepdims); }
Tensor Tensor::max(const Axes& axes, bool keepdims) const { return tg::max(*this, axes, keepdims); }
Tensor Tensor::min(const Axes& axes, bool keepdims) const { return tg::min(*this, axes, keepdims); }
Tensor Tensor::norm(double p, const Axes& axes, bool keepdims) const { return tg::norm(*this, p, axes, keepdims); }
Tensor Tensor::reshape(const std::vector<std::int64_t>& shape) const { return tg::reshape(*this, shape); }
Tensor Tensor::transpose() const { return tg::transpose(*this); }
Tensor Tensor::transpose(const std::vector<int>& perm) const { return tg::transpose(*this, perm); }
Tensor Tensor::T() const { return tg::transpose(*this); }
Tensor Tensor::squeeze(const Axes& axes) const { return tg::squeeze(*this, axes); }
Tensor Tensor::expand_dims(int axis) const { return tg::expand_dims(*this, axis); }
Tensor Tensor::abs() const { return tg::abs(*this); }
Tensor Tensor::exp() const { return tg::exp(*this); }
Tensor Tensor::log() const { return tg::log(*this); }
Tensor Tensor::sqrt() const { return tg::sqrt(*this); }
Tensor Tensor::square() const { return tg::square(*this); }
Tensor Tensor::pow(double p) const { return tg::pow(*this, p); }
Tensor Tensor::pow(const Tensor& p) const { return tg::pow(*this, p); }

// ---- indexing ------------------------------------------------------------------

namespace {

// x indexed by `items` (PyTorch's Tensor::index, NumPy's basic indexing): an
// integer selects one position of its axis and drops the axis, a Slice keeps
// the axis with start:stop:step (Python's rules: negative bounds count from
// the end, out-of-range bounds are clamped), NewAxis inserts a size-1 axis,
// Ellipsis stands for as many full axes as the other items leave, and axes
// past the last item are kept whole. Computed as one slice per axis that is
// narrowed, then one reshape that drops the integer axes and inserts the new
// ones (a view: no copy).
Tensor index_of(const char* fn, const Tensor& x, const TensorIndex* items, std::size_t n) {
  detail::check_defined(fn, x);
  const int rank = x.rank();
  int consumed = 0, ellipses = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (items[k].is_integer() || items[k].is_slice()) ++consumed;
    if (items[k].is_ellipsis()) ++ellipses;
  }
  if (ellipses > 1)
    throw std::invalid_argument(std::string(fn) + ": expected at most one Ellipsis, received " +
                                std::to_string(ellipses));
  if (consumed > rank)
    throw std::invalid_argument(std::string(fn) + ": too many indices: " + std::to_string(consumed) +
                                " index an axis (integers and slices), the tensor has " + std::to_string(rank) +
                                " (shape " + x.shape().str() + ")");
  Tensor y = x;
  Shape out;
  int axis = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const TensorIndex& item = items[k];
    if (item.is_integer()) {
      const std::int64_t size = x.shape()[axis];
      const std::int64_t i = item.integer() < 0 ? item.integer() + size : item.integer();
      if (i < 0 || i >= size)
        throw std::out_of_range(std::string(fn) + ": index " + std::to_string(item.integer()) +
                                " is out of range for axis " + std::to_string(axis) + " of size " +
                                std::to_string(size) + " (shape " + x.shape().str() + ")");
      if (size != 1) y = tg::slice(y, axis, i, i + 1);
      ++axis;
    } else if (item.is_slice()) {
      const Slice& s = item.slice();
      const std::int64_t step = s.step.value_or(1);
      if (step <= 0)
        throw std::invalid_argument(std::string(fn) + ": expected a slice step > 0, received " +
                                    std::to_string(step) + " (for axis " + std::to_string(axis) + ")");
      if (s.start || s.stop || step != 1)
        y = tg::slice(y, axis, s.start.value_or(0), s.stop.value_or(std::numeric_limits<std::int64_t>::max()), step);
      out.push_back(y.shape()[axis]);
      ++axis;
    } else if (item.is_new_axis()) {
      out.push_back(1);
    } else {  // Ellipsis: the axes no other item names
      for (int fill = rank - consumed; fill > 0; --fill) out.push_back(y.shape()[axis++]);
    }
  }
  for (; axis < rank; ++axis) out.push_back(y.shape()[axis]);
  return out == y.shape() ? y : tg::reshape(y, out.to_vector());
}

}  // namespace

Tensor Tensor::operator[](std::int64_t i) const {
  const TensorIndex item(i);
  return index_of("Tensor::operator[]", *this, &item, 1);
}

Tensor Tensor::index(std::initializer_list<TensorIndex> indices) const {
  return index_of("Tensor::index", *this, std::data(indices), indices.size());
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  return index_of("Tensor::index", *this, indices.data(), indices.size());
}

}  // namespace tg
