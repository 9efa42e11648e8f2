// Private helpers shared by the op families: argument checks with uniform
// messages, axis normalisation, and the broadcast / reduction loops. Not
// installed; users writing their own ops need only tape.hpp and dispatch.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "kernels/map.hpp"

namespace tg::detail {

inline void check_defined(const char* op, const Tensor& t) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": received an undefined tensor");
}

inline void check_float(const char* op, const Tensor& t) {
  check_defined(op, t);
  if (!t.is_floating())
    throw std::invalid_argument(std::string(op) + ": expected a float32 or float64 tensor, received " + describe(t));
}

// Both floating and of one dtype: mixing float32 and float64 is an error, not a promotion.
inline void check_same_float(const char* op, const Tensor& a, const Tensor& b) {
  check_float(op, a);
  check_float(op, b);
  if (a.dtype() != b.dtype())
    throw std::invalid_argument(std::string(op) + ": dtypes differ: " + dtype_name(a.dtype()) + " and " +
                                dtype_name(b.dtype()) + " (convert one with .to(tg::float32) or .to(tg::float64))");
}

inline std::string axis_range(int rank) {
  if (rank == 0) return "a 0-d tensor has no axes";
  return "expected " + std::to_string(-rank) + " to " + std::to_string(rank - 1);
}

// axis in [-rank, rank), counted from the end when negative, as a non-negative
// axis; else "sum: axis 2 out of range for shape (2, 3) (expected -2 to 1)".
inline int normalize_axis(const char* op, int axis, const Shape& shape) {
  const int rank = shape.rank();
  int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::out_of_range(std::string(op) + ": axis " + std::to_string(axis) + " out of range for shape " +
                            shape.str() + " (" + axis_range(rank) + ")");
  return a;
}

// The position of a new axis inserted into `shape` (expand_dims, stack):
// -(rank + 1) to rank, counted in the result's numbering.
inline int normalize_new_axis(const char* op, int axis, const Shape& shape) {
  const int rank = shape.rank() + 1;
  int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::out_of_range(std::string(op) + ": axis " + std::to_string(axis) + " out of range for inserting an axis into shape " +
                            shape.str() + " (" + axis_range(rank) + ")");
  return a;
}

// Sorted, non-negative, without duplicates; an empty list means every axis.
inline std::vector<int> normalize_axes(const char* op, const std::vector<int>& axes, const Shape& shape) {
  const int rank = shape.rank();
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int axis : axes) out.push_back(normalize_axis(op, axis, shape));
  std::sort(out.begin(), out.end());
  auto repeated = std::adjacent_find(out.begin(), out.end());
  if (repeated != out.end())
    throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(*repeated) +
                                " appears twice in the axes list (shape " + shape.str() + ")");
  return out;
}

// The axes of a reduction (sum, norm, normalize, cosine_similarity): as
// normalize_axes, except that a 0-d tensor accepts axis 0 or -1 (PyTorch's
// rule: a scalar is reduced as if it had one axis of size 1), which names no
// axis of it (an empty list: the one element is reduced).
inline std::vector<int> normalize_reduction_axes(const char* op, const std::vector<int>& axes, const Shape& shape) {
  if (shape.rank() != 0) return normalize_axes(op, axes, shape);
  for (int axis : axes)
    if (axis != 0 && axis != -1)
      throw std::out_of_range(std::string(op) + ": axis " + std::to_string(axis) +
                              " out of range for shape () (expected -1 to 0: a 0-d tensor is reduced as one element)");
  if (axes.size() > 1)
    throw std::invalid_argument(std::string(op) + ": axis 0 appears twice in the axes list (shape (): -1 and 0 name "
                                "the same axis of a 0-d tensor)");
  return {};
}

// Strides (in elements) of a contiguous tensor of `shape`, right-aligned to
// `rank` with 0 for missing or broadcast (size-1 stretched) dimensions.
inline std::vector<std::int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  std::vector<std::int64_t> strides(static_cast<std::size_t>(out.rank()), 0);
  std::int64_t s = 1;
  for (int i = shape.rank() - 1, j = out.rank() - 1; i >= 0; --i, --j) {
    strides[static_cast<std::size_t>(j)] = shape[i] == 1 && out[j] != 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

// Calls body(offsets...) for every element of `out` in row-major order, where
// offsets are the matching element offsets of the operands (one stride vector
// each, from broadcast_strides). The last axis is the inner loop.
template <std::size_t N, class Body>
void for_each_broadcast(const Shape& out, const std::vector<std::int64_t> (&strides)[N], Body body) {
  const int rank = out.rank();
  if (out.numel() == 0) return;
  if (rank == 0) {
    std::int64_t offs[N] = {};
    std::int64_t o = 0;
    body(o, offs);
    return;
  }
  const std::int64_t inner = out[rank - 1];
  std::int64_t index[Shape::max_rank] = {};
  std::int64_t base[N] = {};
  std::int64_t inner_stride[N];
  for (std::size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][static_cast<std::size_t>(rank - 1)];
  std::int64_t o = 0;
  const std::int64_t total = out.numel();
  while (o < total) {
    std::int64_t offs[N];
    for (std::int64_t i = 0; i < inner; ++i, ++o) {
      for (std::size_t k = 0; k < N; ++k) offs[k] = base[k] + i * inner_stride[k];
      body(o, offs);
    }
    // Advance the odometer over the outer axes.
    for (int d = rank - 2; d >= 0; --d) {
      for (std::size_t k = 0; k < N; ++k) base[k] += strides[k][static_cast<std::size_t>(d)];
      if (++index[d] < out[d]) break;
      for (std::size_t k = 0; k < N; ++k) base[k] -= strides[k][static_cast<std::size_t>(d)] * out[d];
      index[d] = 0;
    }
  }
}

// y = f(x) elementwise for a floating x (elementwise and activation ops); f is
// a generic lambda over the element type. kernels::map_index's threads and streaming
// stores; each value depends on its element alone, so the split changes nothing.
template <class F>
Tensor map_unary(const char* op, const Tensor& x, F f) {
  check_float(op, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    kernels::map_index(x.numel(), out.data<T>(), [in, f](std::int64_t i) { return f(in[i]); });
  });
  return out;
}

// out = f(a, b) elementwise with broadcasting; a, b and out are contiguous.
template <class T, class U, class F>
void broadcast_binary(const T* a, const Shape& sa, const T* b, const Shape& sb, U* out, const Shape& so, F f) {
  const std::int64_t n = so.numel();
  if (sa == so && sb == so) {
    kernels::map_index(n, out, [&](std::int64_t i) { return f(a[i], b[i]); });
  } else if (sa == so && sb.numel() == 1) {
    // The scalar is copied into the lambda: reached through a reference, it
    // could alias out[i] (same type), so the compiler would reload it after
    // every store and not vectorize (relu's backward mask, greater(x, 0), ran
    // as a branchy scalar loop).
    kernels::map_index(n, out, [&, bv = b[0]](std::int64_t i) { return f(a[i], bv); });
  } else if (sb == so && sa.numel() == 1) {
    kernels::map_index(n, out, [&, av = a[0]](std::int64_t i) { return f(av, b[i]); });
  } else {
    const std::vector<std::int64_t> strides[2] = {broadcast_strides(sa, so), broadcast_strides(sb, so)};
    for_each_broadcast<2>(so, strides, [&](std::int64_t o, const std::int64_t* offs) { out[o] = f(a[offs[0]], b[offs[1]]); });
  }
}

// The axes of `shape` with neighbouring axes that are both reduced or both
// kept merged into one (size-1 axes dropped): fewer, longer loops. Returns
// the merged sizes and whether each is reduced.
inline std::pair<std::vector<std::int64_t>, std::vector<bool>> merge_reduced_axes(const Shape& shape,
                                                                                 const std::vector<bool>& reduced) {
  std::vector<std::int64_t> dims;
  std::vector<bool> flags;
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && flags.back() == reduced[static_cast<std::size_t>(d)]) dims.back() *= shape[d];
    else {
      dims.push_back(shape[d]);
      flags.push_back(reduced[static_cast<std::size_t>(d)]);
    }
  }
  return {dims, flags};
}

// Reduction over a set of axes. `reduced[d]` marks the reduced axes of `shape`;
// out (size: product of the kept dims) must be initialized by the caller, and
// step(out_element, x_element) folds each input element into its output.
// fold_row(acc, row, n) folds a contiguous run of n elements into one output
// (the innermost axes reduced); the overload without it loops over step.
template <class T, class Acc, class Step, class FoldRow>
void reduce_axes(const T* x, const Shape& shape, const std::vector<bool>& reduced, Acc* out, Step step,
                 FoldRow fold_row) {
  const auto merged = merge_reduced_axes(shape, reduced);
  const std::vector<std::int64_t>& dims = merged.first;
  const std::vector<bool>& flags = merged.second;
  const std::int64_t total = shape.numel();
  if (total == 0) return;
  if (dims.empty()) {
    step(out[0], x[0]);
    return;
  }
  // Output strides: kept axes contiguous in order, reduced axes stride 0.
  std::vector<std::int64_t> out_strides(dims.size(), 0);
  std::int64_t s = 1;
  for (std::size_t d = dims.size(); d-- > 0;)
    if (!flags[d]) {
      out_strides[d] = s;
      s *= dims[d];
    }
  const std::int64_t inner = dims.back();
  const bool inner_reduced = flags.back();
  const std::vector<std::int64_t> strides[1] = {out_strides};
  const int rank = static_cast<int>(dims.size());
  std::int64_t index[Shape::max_rank] = {};
  std::int64_t base = 0;
  for (std::int64_t i = 0; i < total; i += inner) {
    const T* row = x + i;
    if (inner_reduced) {
      fold_row(out[base], row, inner);
    } else {
      Acc* o = out + base;
      for (std::int64_t j = 0; j < inner; ++j) step(o[j], row[j]);
    }
    for (int d = rank - 2; d >= 0; --d) {
      base += strides[0][static_cast<std::size_t>(d)];
      if (++index[d] < dims[static_cast<std::size_t>(d)]) break;
      base -= strides[0][static_cast<std::size_t>(d)] * dims[static_cast<std::size_t>(d)];
      index[d] = 0;
    }
  }
}

template <class T, class Acc, class Step>
void reduce_axes(const T* x, const Shape& shape, const std::vector<bool>& reduced, Acc* out, Step step) {
  reduce_axes(x, shape, reduced, out, step, [&](Acc& acc, const T* row, std::int64_t n) {
    for (std::int64_t j = 0; j < n; ++j) step(acc, row[j]);
  });
}

// The sum of n contiguous elements in double, with a vectorized reduction
// (several partial sums, so the order differs from a left-to-right loop,
// deterministically).
template <class T>
double sum_run(const T* row, std::int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t j = 0; j < n; ++j) s += static_cast<double>(row[j]);
  return s;
}

// Sums over the reduced axes into double accumulators (zeroed by the caller).
// The common layouts are split over the threads, with results that do not
// depend on the number of threads: everything into one sum (fixed blocks of
// 2^14 elements, their sums added in order), rows into one sum each, and
// columns (a sum over the leading axis, as for bias gradients).
template <class T>
void sum_axes(const T* x, const Shape& shape, const std::vector<bool>& reduced, double* out) {
  const auto merged = merge_reduced_axes(shape, reduced);
  const std::vector<std::int64_t>& dims = merged.first;
  const std::vector<bool>& flags = merged.second;
  if (shape.numel() == 0) return;
  if (dims.size() == 1 && flags[0]) {
    constexpr std::int64_t block = 1 << 14;
    const std::int64_t n = dims[0], blocks = (n + block - 1) / block;
    std::vector<double> partial(static_cast<std::size_t>(blocks));
    parallel_for(blocks, std::max<std::int64_t>(1, kElementwiseGrain / block), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t b = lo; b < hi; ++b)
        partial[static_cast<std::size_t>(b)] = sum_run(x + b * block, std::min(block, n - b * block));
    });
    double s = 0;
    for (double p : partial) s += p;
    out[0] += s;
    return;
  }
  if (dims.size() == 2 && !flags[0] && flags[1]) {
    const std::int64_t rows = dims[0], n = dims[1];
    parallel_for(rows, std::max<std::int64_t>(1, kElementwiseGrain / n), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) out[r] += sum_run(x + r * n, n);
    });
    return;
  }
  if (dims.size() == 2 && flags[0] && !flags[1]) {
    const std::int64_t rows = dims[0], n = dims[1];
    parallel_for(n, std::max<std::int64_t>(16, kElementwiseGrain / rows), [&](std::int64_t lo, std::int64_t hi) {
      double* __restrict o = out;
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* __restrict row = x + r * n;
        for (std::int64_t c = lo; c < hi; ++c) o[c] += static_cast<double>(row[c]);
      }
    });
    return;
  }
  reduce_axes(x, shape, reduced, out, [](double& a, T v) { a += static_cast<double>(v); },
              [](double& acc, const T* row, std::int64_t n) { acc += sum_run(row, n); });
}

// Shape after reducing `axes` (sorted, normalized): removed, or kept as 1.
inline Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int d = 0; d < shape.rank(); ++d) {
    bool r = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!r) out.push_back(shape[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

}  // namespace tg::detail
