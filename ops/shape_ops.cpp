// Shape ops. Reshape-like ops (reshape, expand_dims, squeeze) share storage;
// the others copy into a new contiguous tensor.
#include "tapegrad/ops/shape_ops.hpp"

#include <cstring>

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tg {

using detail::check_defined;
using detail::check_float;
using detail::normalize_axis;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int rank = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < rank; ++i) out.push_back(1);
  for (int i = 0; i < rank; ++i) {
    int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": shapes " + a.str() + " and " + b.str() +
                                  " cannot be broadcast (axis " + std::to_string(i) + ": " + std::to_string(da) +
                                  " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  // The broadcast of two valid shapes can have more elements than int64
  // counts, (2^32, 1) with (1, 2^32): refused here, naming the op.
  checked_numel(out, op);
  return out;
}

namespace {

// A new tensor of `shape` sharing x's storage (same number of elements).
Tensor view(const Tensor& x, const Shape& shape) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = shape;
  impl->dtype = x.dtype();
  impl->data = x.raw_data();
  impl->storage = x.impl()->storage;
  impl->viewed = x.impl()->viewed ? x.impl()->viewed : x.impl();  // one version count for both (Tensor::version)
  return Tensor(std::move(impl));
}

// A reshape that records itself; every reshape-like op goes through here.
Tensor reshape_to(const char* op, const Tensor& x, const Shape& shape) {
  if (shape == x.shape()) return x;
  Tensor out = view(x, shape);
  if (is_recording())
    record_op(op, {x}, out, [in = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, reshape(g, in.to_vector()));
    });
  return out;
}

// Copies x into a new tensor of shape `out_shape` whose element i comes from
// x at offset sum(index_d * strides[d]) (strides given per output axis).
Tensor strided_copy(const Tensor& x, const Shape& out_shape, const std::vector<std::int64_t>& strides) {
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const std::vector<std::int64_t> s[1] = {strides};
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x.raw_data());
    T* o = static_cast<T*>(out.raw_data());
    if (x.numel() == 1) {  // a broadcast scalar (the gradient of a sum): a fill
      kernels::map_index(out_shape.numel(), o, [v = in[0]](std::int64_t) { return v; });
      return;
    }
    detail::for_each_broadcast<1>(out_shape, s, [&](std::int64_t i, const std::int64_t* offs) { o[i] = in[offs[0]]; });
  });
  return out;
}

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(static_cast<std::size_t>(shape.rank()));
  std::int64_t s = 1;
  for (int d = shape.rank() - 1; d >= 0; --d) {
    strides[static_cast<std::size_t>(d)] = s;
    s *= shape[d];
  }
  return strides;
}

}  // namespace

Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape) {
  check_defined("reshape", x);
  Shape target;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("reshape: only one dimension can be -1, received two");
      infer = static_cast<int>(i);
      target.push_back(1);
    } else if (shape[i] < 0) {
      throw std::invalid_argument("reshape: dimension " + std::to_string(i) + " is " + std::to_string(shape[i]) +
                                  "; expected a size >= 0 or -1");
    } else {
      target.push_back(shape[i]);
    }
  }
  auto fail = [&](const std::string& why = "") {
    std::string requested = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) requested += (i ? ", " : "") + std::to_string(shape[i]);
    requested += shape.size() == 1 ? ",)" : ")";
    return std::invalid_argument("reshape: cannot reshape a tensor of shape " + x.shape().str() + " (" +
                                 std::to_string(x.numel()) + " elements) to " + requested + why);
  };
  // The product of the given sizes (the -1 counts as 1), checked as numel() is
  // (zeros aside): unchecked, (2^62 + 1, 4) wraps around to 4 elements and
  // passes for arange(4).
  std::int64_t known = 1;
  bool has_zero = false;
  for (std::int64_t d : target) {
    has_zero |= d == 0;
    if (__builtin_mul_overflow(known, d == 0 ? 1 : d, &known))
      throw fail(": the sizes multiply to more than 2^63 - 1 elements");
  }
  if (has_zero) known = 0;
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0) throw fail();
    target[infer] = x.numel() / known;
  }
  if (target.numel() != x.numel()) throw fail();
  // The same count as x means the same bytes, except for an empty view, whose
  // non-zero dimensions are held to the byte limit as every tensor's are.
  if (has_zero) checked_byte_size(target, x.dtype(), "reshape");
  return reshape_to("reshape", x, target);
}

Tensor transpose(const Tensor& x) {
  check_defined("transpose", x);
  std::vector<int> perm;
  for (int d = x.rank() - 1; d >= 0; --d) perm.push_back(d);
  return transpose(x, perm);
}

Tensor transpose(const Tensor& x, const std::vector<int>& perm) {
  check_defined("transpose", x);
  const int rank = x.rank();
  if (static_cast<int>(perm.size()) != rank)
    throw std::invalid_argument("transpose: perm has " + std::to_string(perm.size()) +
                                " entries but the tensor has rank " + std::to_string(rank) + " (shape " +
                                x.shape().str() + ")");
  std::vector<int> p;
  std::vector<bool> seen(static_cast<std::size_t>(rank), false);
  for (int axis : perm) {
    int a = normalize_axis("transpose", axis, x.shape());
    if (seen[static_cast<std::size_t>(a)])
      throw std::invalid_argument("transpose: axis " + std::to_string(a) + " appears twice in perm");
    seen[static_cast<std::size_t>(a)] = true;
    p.push_back(a);
  }
  bool identity = true;
  for (int i = 0; i < rank; ++i) identity = identity && p[static_cast<std::size_t>(i)] == i;
  if (identity) return x;
  std::vector<std::int64_t> in_strides = contiguous_strides(x.shape());
  Shape out_shape;
  std::vector<std::int64_t> strides;
  for (int a : p) {
    out_shape.push_back(x.shape()[a]);
    strides.push_back(in_strides[static_cast<std::size_t>(a)]);
  }
  Tensor out = strided_copy(x, out_shape, strides);
  if (is_recording())
    record_op("transpose", {x}, out, [p](const Tensor& g, BackwardContext& ctx) {
      std::vector<int> inverse(p.size());
      for (std::size_t i = 0; i < p.size(); ++i) inverse[static_cast<std::size_t>(p[i])] = static_cast<int>(i);
      ctx.add(0, transpose(g, inverse));
    });
  return out;
}

Tensor permute(const Tensor& x, const std::vector<int>& perm) { return transpose(x, perm); }

Tensor expand_dims(const Tensor& x, int axis) {
  check_defined("expand_dims", x);
  int a = detail::normalize_new_axis("expand_dims", axis, x.shape());
  Shape shape = x.shape();
  shape.insert(a, 1);
  return reshape_to("expand_dims", x, shape);
}

Tensor squeeze(const Tensor& x, const Axes& axes) {
  check_defined("squeeze", x);
  Shape shape;
  if (axes.empty()) {
    for (auto d : x.shape())
      if (d != 1) shape.push_back(d);
  } else {
    std::vector<int> drop = detail::normalize_axes("squeeze", axes, x.shape());
    for (int d = 0; d < x.rank(); ++d) {
      bool dropped = std::find(drop.begin(), drop.end(), d) != drop.end();
      if (dropped && x.shape()[d] != 1)
        throw std::invalid_argument("squeeze: axis " + std::to_string(d) + " has size " +
                                    std::to_string(x.shape()[d]) + ", not 1 (shape " + x.shape().str() + ")");
      if (!dropped) shape.push_back(x.shape()[d]);
    }
  }
  return reshape_to("squeeze", x, shape);
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("concat: expected at least one tensor, received none");
  for (const Tensor& t : xs) check_defined("concat", t);
  const Tensor& first = xs[0];
  const int rank = first.rank();
  if (rank == 0) throw std::invalid_argument("concat: cannot concatenate 0-d tensors (use stack)");
  int a = normalize_axis("concat", axis, first.shape());
  Shape out_shape = first.shape();
  out_shape[a] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    if (t.dtype() != first.dtype())
      throw std::invalid_argument(std::string("concat: dtypes differ: tensor 0 is ") + dtype_name(first.dtype()) +
                                  ", tensor " + std::to_string(i) + " is " + dtype_name(t.dtype()));
    bool ok = t.rank() == rank;
    for (int d = 0; ok && d < rank; ++d) ok = d == a || t.shape()[d] == first.shape()[d];
    if (!ok)
      throw std::invalid_argument("concat: tensor " + std::to_string(i) + " has shape " + t.shape().str() +
                                  " but tensor 0 has shape " + first.shape().str() +
                                  "; all dimensions except axis " + std::to_string(a) + " must match");
    if (__builtin_add_overflow(out_shape[a], t.shape()[a], &out_shape[a]))
      throw std::invalid_argument("concat: the sizes along axis " + std::to_string(a) +
                                  " add up to more than 2^63 - 1 (tensor " + std::to_string(i) + " has shape " +
                                  t.shape().str() + ")");
  }
  checked_byte_size(out_shape, first.dtype(), "concat");
  Tensor out = Tensor::empty(out_shape, first.dtype());
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= out_shape[d];
  for (int d = a + 1; d < rank; ++d) inner *= out_shape[d];
  const std::size_t elem = dtype_size(first.dtype());
  const std::int64_t out_row = out_shape[a] * inner;
  std::int64_t offset = 0;
  for (const Tensor& t : xs) {
    const std::int64_t chunk = t.shape()[a] * inner;
    auto* dst = static_cast<char*>(out.raw_data());
    const auto* src = static_cast<const char*>(t.raw_data());
    for (std::int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + static_cast<std::size_t>(o * out_row + offset) * elem,
                  src + static_cast<std::size_t>(o * chunk) * elem, static_cast<std::size_t>(chunk) * elem);
    offset += chunk;
  }
  if (is_recording() && first.is_floating()) {
    std::vector<std::int64_t> sizes;
    for (const Tensor& t : xs) sizes.push_back(t.shape()[a]);
    record_op("concat", xs, out, [a, sizes](const Tensor& g, BackwardContext& ctx) {
      std::int64_t start = 0;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (ctx.needs(i)) ctx.add(i, slice(g, a, start, start + sizes[i]));
        start += sizes[i];
      }
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("stack: expected at least one tensor, received none");
  for (std::size_t i = 0; i < xs.size(); ++i) {
    check_defined("stack", xs[i]);
    if (xs[i].shape() != xs[0].shape())
      throw std::invalid_argument("stack: tensor " + std::to_string(i) + " has shape " + xs[i].shape().str() +
                                  " but tensor 0 has shape " + xs[0].shape().str() + "; all must match");
    if (xs[i].dtype() != xs[0].dtype())
      throw std::invalid_argument(std::string("stack: dtypes differ: tensor 0 is ") + dtype_name(xs[0].dtype()) +
                                  ", tensor " + std::to_string(i) + " is " + dtype_name(xs[i].dtype()));
  }
  int a = detail::normalize_new_axis("stack", axis, xs[0].shape());
  std::vector<Tensor> expanded;
  expanded.reserve(xs.size());
  for (const Tensor& t : xs) expanded.push_back(expand_dims(t, a));
  return concat(expanded, a);
}

namespace {

// Python's slice.indices(n) for step > 0: the first index and the count.
std::pair<std::int64_t, std::int64_t> slice_range(std::int64_t n, std::int64_t start, std::int64_t stop,
                                                  std::int64_t step) {
  auto clamp_index = [n](std::int64_t i) {
    if (i < 0) i += n;
    return std::min(std::max(i, std::int64_t{0}), n);
  };
  std::int64_t s = clamp_index(start), e = clamp_index(stop);
  std::int64_t count = e > s ? (e - s + step - 1) / step : 0;
  return {s, count};
}

// The adjoint of slice: g placed at the sliced positions of a zero tensor of
// `shape`. Its own gradient is the slice again.
Tensor unslice(const Tensor& g, const Shape& shape, int axis, std::int64_t first, std::int64_t step) {
  Tensor out = zeros(shape, g.dtype());
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
  const std::int64_t count = g.shape()[axis];
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = g.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t k = 0; k < count; ++k)
        std::memcpy(dst + (o * shape[axis] + first + k * step) * inner, src + (o * count + k) * inner,
                    static_cast<std::size_t>(inner) * sizeof(T));
  });
  if (is_recording())
    record_op("unslice", {g}, out, [axis, first, step, count](const Tensor& gg, BackwardContext& ctx) {
      ctx.add(0, slice(gg, axis, first, first + count * step, step));
    });
  return out;
}

}  // namespace

Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
  check_defined("slice", x);
  if (x.rank() == 0) throw std::invalid_argument("slice: cannot slice a 0-d tensor");
  int a = normalize_axis("slice", axis, x.shape());
  if (step <= 0) throw std::invalid_argument("slice: step must be positive, received " + std::to_string(step));
  auto [first, count] = slice_range(x.shape()[a], start, stop, step);
  Shape out_shape = x.shape();
  out_shape[a] = count;
  std::vector<std::int64_t> strides = contiguous_strides(x.shape());
  // Start at `first` along the axis: shift the base by copying from an offset view.
  std::vector<std::int64_t> out_strides = strides;
  out_strides[static_cast<std::size_t>(a)] *= step;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const std::vector<std::int64_t> s[1] = {out_strides};
  const std::int64_t base = first * strides[static_cast<std::size_t>(a)];
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x.raw_data()) + base;
    T* o = static_cast<T*>(out.raw_data());
    detail::for_each_broadcast<1>(out_shape, s, [&](std::int64_t i, const std::int64_t* offs) { o[i] = in[offs[0]]; });
  });
  if (is_recording() && x.is_floating())
    // "first = first": clang before 16 cannot capture a structured binding by name (scripts/fuzz.sh uses clang 14).
    record_op("slice", {x}, out, [in = x.shape(), a, first = first, step](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, unslice(g, in, a, first, step));
    });
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  check_defined("broadcast_to", x);
  if (x.shape() == shape) return x;
  if (broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
    throw std::invalid_argument("broadcast_to: cannot broadcast shape " + x.shape().str() + " to " + shape.str());
  checked_byte_size(shape, x.dtype(), "broadcast_to");  // the copy's buffer, before anything is allocated
  Tensor out = strided_copy(x, shape, detail::broadcast_strides(x.shape(), shape));
  if (is_recording())
    record_op("broadcast_to", {x}, out, [in = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, sum_to(g, in));
    });
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  check_float("sum_to", x);
  if (x.shape() == shape) return x;
  if (shape.rank() > x.rank() || broadcast_shapes(shape, x.shape(), "sum_to") != x.shape())
    throw std::invalid_argument("sum_to: shape " + shape.str() + " does not broadcast to " + x.shape().str());
  // Reduced: the leading axes x has beyond `shape`, and the axes where shape has 1.
  std::vector<bool> reduced(static_cast<std::size_t>(x.rank()), false);
  const int lead = x.rank() - shape.rank();
  for (int d = 0; d < x.rank(); ++d)
    reduced[static_cast<std::size_t>(d)] = d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1);
  Tensor out = Tensor::empty(shape, x.dtype());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<double> acc(static_cast<std::size_t>(shape.numel()), 0.0);
    detail::sum_axes(x.data<T>(), x.shape(), reduced, acc.data());
    T* o = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<T>(acc[i]);
  });
  if (is_recording())
    record_op("sum_to", {x}, out, [in = x.shape()](const Tensor& g, BackwardContext& ctx) {
      ctx.add(0, broadcast_to(g, in));
    });
  return out;
}

}  // namespace tg
