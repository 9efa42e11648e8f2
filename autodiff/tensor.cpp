#include "tapegrad/autodiff/tensor.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/allocator.hpp"
#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/format.hpp"

namespace tg {

namespace {

// Every tensor's buffer comes from here, sized by checked_byte_size: a shape
// whose element count or byte size does not fit is refused before anything is
// allocated, with `op` (the factory the user called) in the message.
std::shared_ptr<detail::TensorImpl> allocate(const Shape& shape, DType dtype, const char* op) {
  const std::size_t bytes = checked_byte_size(shape, dtype, op);
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = detail::allocate_buffer(bytes);
  impl->data = impl->storage.get();
  return impl;
}

template <class T>
void fill_from(Tensor& t, const std::vector<double>& values) {
  T* out = t.data<T>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<T>(values[i]);
}

Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&](auto tag) { fill_from<decltype(tag)>(t, values); });
  return t;
}

std::int64_t flat_index(const Shape& shape, std::initializer_list<std::int64_t> index, const char* fn) {
  if (static_cast<int>(index.size()) != shape.rank())
    throw std::invalid_argument(std::string(fn) + ": expected " + std::to_string(shape.rank()) +
                                " indices for a tensor of shape " + shape.str() + ", received " +
                                std::to_string(index.size()));
  std::int64_t offset = 0;
  int axis = 0;
  for (std::int64_t i : index) {
    std::int64_t n = shape[axis];
    std::int64_t j = i < 0 ? i + n : i;
    if (j < 0 || j >= n)
      throw std::out_of_range(std::string(fn) + ": index " + std::to_string(i) + " out of range for axis " +
                              std::to_string(axis) + " of size " + std::to_string(n) + " (shape " + shape.str() +
                              ")");
    offset = offset * n + j;
    ++axis;
  }
  return offset;
}

// Methods that reach into the implementation throw on an undefined
// (default-constructed) tensor instead of dereferencing null.
void check_defined(const std::shared_ptr<detail::TensorImpl>& impl, const char* fn) {
  if (!impl) throw std::logic_error(std::string(fn) + ": the tensor is undefined (default-constructed)");
}

}  // namespace

// ---- construction ------------------------------------------------------------

namespace {

// Row-major flattening of a nested list, checking that it is rectangular: every
// list at one depth has the length of the first one, and numbers appear only at
// the deepest level.
void flatten_nested(const NestedList& list, int depth, const Shape& shape, std::vector<double>& out) {
  const std::int64_t expected = shape[depth];
  if (static_cast<std::int64_t>(list.size()) != expected)
    throw std::invalid_argument("Tensor: nested initializer list is ragged: at depth " + std::to_string(depth) +
                                " lists of length " + std::to_string(expected) + " and " +
                                std::to_string(list.size()));
  for (const NestedList& item : list) {
    const bool deepest = depth + 1 == shape.rank();
    if (item.is_list() == deepest) {
      std::ostringstream msg;
      msg << "Tensor: nested initializer list is ragged: at depth " << depth + 1 << " a "
          << (deepest ? "list" : "number") << " where the first entry has " << (deepest ? "a number" : "a list");
      throw std::invalid_argument(msg.str());
    }
    if (deepest) out.push_back(item.value());
    else flatten_nested(item, depth + 1, shape, out);
  }
}

}  // namespace

Tensor::Tensor(std::initializer_list<NestedList> values, DType dtype) {
  // The shape follows the first entry at each depth; flatten_nested checks the rest.
  Shape shape{static_cast<std::int64_t>(values.size())};
  for (const NestedList* first = values.size() ? values.begin() : nullptr; first && first->is_list();
       first = first->size() ? first->begin() : nullptr) {
    if (shape.rank() == Shape::max_rank)
      throw std::invalid_argument("Tensor: nested initializer list deeper than " + std::to_string(Shape::max_rank) +
                                  " levels");
    shape.push_back(static_cast<std::int64_t>(first->size()));
  }
  std::vector<double> flat;
  flat.reserve(static_cast<std::size_t>(shape.numel()));
  flatten_nested(NestedList(values), 0, shape, flat);
  *this = from_doubles(flat, shape, dtype);
}

Tensor Tensor::scalar(double value, DType dtype) { return from_doubles({value}, Shape{}, dtype); }

Tensor Tensor::empty(const Shape& shape, DType dtype) { return Tensor(allocate(shape, dtype, "Tensor::empty")); }

// E, not T: inside Tensor's scope the name T is the method x.T(), which hides
// a template parameter of that name in these out-of-class definitions.
template <class E>
Tensor Tensor::from_vector(const std::vector<E>& values, const Shape& shape) {
  const std::int64_t n = checked_numel(shape, "Tensor::from_vector");
  if (static_cast<std::int64_t>(values.size()) != n)
    throw std::invalid_argument("Tensor::from_vector: " + std::to_string(values.size()) +
                                " values cannot fill shape " + shape.str() + " (" + std::to_string(n) +
                                " elements)");
  Tensor t(allocate(shape, detail::dtype_of<E>(), "Tensor::from_vector"));
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(E));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&);

// ---- access ----------------------------------------------------------------

void Tensor::undefined(const char* fn) {
  throw std::logic_error(std::string(fn) + ": the tensor is undefined (default-constructed)");
}

void Tensor::check_dtype(DType expected) const {
  if (!impl_) throw std::logic_error("Tensor: the tensor is undefined (default-constructed)");
  if (impl_->dtype != expected)
    throw std::invalid_argument(std::string("Tensor::data: requested ") + dtype_name(expected) +
                                " but the tensor is " + dtype_name(impl_->dtype));
}

std::int64_t Tensor::dim(int axis) const {
  check_defined(impl_, "Tensor::dim");
  int r = rank();
  int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw std::out_of_range("Tensor::dim: axis " + std::to_string(axis) + " out of range for shape " +
                            shape().str());
  return shape()[a];
}

double Tensor::item() const {
  if (!impl_) throw std::logic_error("Tensor::item: the tensor is undefined");
  if (numel() != 1)
    throw std::invalid_argument("Tensor::item: expected a tensor with one element, received shape " +
                                shape().str());
  return dispatch(dtype(), [&](auto tag) { return static_cast<double>(*static_cast<const decltype(tag)*>(raw_data())); });
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  check_defined(impl_, "Tensor::at");
  std::int64_t off = flat_index(shape(), index, "Tensor::at");
  return dispatch(dtype(), [&](auto tag) {
    return static_cast<double>(static_cast<const decltype(tag)*>(raw_data())[off]);
  });
}

void Tensor::set(std::initializer_list<std::int64_t> index, double value) {
  check_defined(impl_, "Tensor::set");
  std::int64_t off = flat_index(shape(), index, "Tensor::set");
  dispatch(dtype(), [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(raw_data())[off] = static_cast<T>(value);
  });
  bump_version();
}

template <class E>
std::vector<E> Tensor::to_vector() const {
  const E* p = data<E>();
  return std::vector<E>(p, p + numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

Tensor Tensor::to(DType target) const {
  check_defined(impl_, "Tensor::to");
  Tensor out = empty(shape(), target);
  std::int64_t n = numel();
  dispatch(dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* src = static_cast<const From*>(raw_data());
    dispatch(target, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* dst = static_cast<To*>(out.raw_data());
      for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<To>(src[i]);
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  check_defined(impl_, "Tensor::clone");
  return to(dtype());
}

void Tensor::assign(const Tensor& values) {
  check_defined(impl_, "Tensor::assign");
  if (!values.defined()) throw std::invalid_argument("Tensor::assign: the values are undefined");
  if (values.shape() != shape() || values.dtype() != dtype())
    throw std::invalid_argument("Tensor::assign: expected values of shape " + shape().str() + " and dtype " +
                                dtype_name(dtype()) + ", received shape " + values.shape().str() + " and dtype " +
                                dtype_name(values.dtype()));
  if (values.raw_data() == raw_data()) return;  // the same values: nothing is written
  std::memmove(raw_data(), values.raw_data(), static_cast<std::size_t>(numel()) * dtype_size(dtype()));
  bump_version();
}

std::uint64_t Tensor::version() const {
  check_defined(impl_, "Tensor::version");
  return impl_->version_counter();
}

void Tensor::bump_version() {
  check_defined(impl_, "Tensor::bump_version");
  ++impl_->version_counter();
}

Tensor& Tensor::set_trainable(bool trainable) {
  check_defined(impl_, "Tensor::set_trainable");
  if (trainable && !is_floating())
    throw std::invalid_argument(std::string("Tensor::set_trainable: only floating tensors can be trainable, this one is ") +
                                dtype_name(dtype()));
  impl_->trainable = trainable;
  return *this;
}

Tensor& Tensor::set_name(std::string name) {
  check_defined(impl_, "Tensor::set_name");
  impl_->name = std::move(name);
  return *this;
}

Tensor Variable(const Tensor& initial_value, std::string name) {
  Tensor v = initial_value.clone();
  v.set_trainable(true);
  v.set_name(std::move(name));
  return v;
}

// ---- printing ----------------------------------------------------------------

namespace {

template <class T>
void print_values(std::ostream& os, const T* p, const Shape& shape, int axis, std::int64_t offset,
                  std::int64_t stride_product) {
  constexpr std::int64_t kEdge = 3;  // elements shown at each end of a long axis
  if (shape.rank() == 0) {
    os << +p[0];
    return;
  }
  std::int64_t n = shape[axis];
  std::int64_t inner = n ? stride_product / n : 0;  // an empty axis prints as []
  bool truncate = n > 2 * kEdge + 1 && shape.numel() > 1000;
  // Rows of a matrix on their own lines, aligned under the first one ("tensor([" is 8 wide).
  const std::string separator =
      axis + 1 == shape.rank() ? std::string(", ") : ",\n" + std::string(static_cast<std::size_t>(8 + axis), ' ');
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (truncate && i == kEdge) {
      os << "..." << separator;
      i = n - kEdge;
    }
    if (axis + 1 == shape.rank()) os << +p[offset + i];
    else print_values(os, p, shape, axis + 1, offset + i * inner, inner);
    if (i + 1 < n) os << separator;
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::ostringstream body;
  body << std::setprecision(t.dtype() == DType::float64 ? 10 : 6);
  dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    print_values(body, static_cast<const T*>(t.raw_data()), t.shape(), 0, 0, t.numel());
  });
  os << "tensor(" << body.str() << ", shape=" << t.shape() << ", dtype=" << t.dtype();
  if (t.trainable()) os << ", trainable";
  if (!t.name().empty()) os << ", name=" << t.name();
  return os << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

// ---- factories -------------------------------------------------------------

namespace {

Tensor filled(const Shape& shape, double value, DType dtype, const char* op) {
  Tensor t(allocate(shape, dtype, op));
  std::int64_t n = t.numel();
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    T v = static_cast<T>(value);
    for (std::int64_t i = 0; i < n; ++i) p[i] = v;
  });
  return t;
}

void check_like(const Tensor& like, const char* op) {
  if (!like.defined()) throw std::invalid_argument(std::string(op) + ": received an undefined tensor");
}

}  // namespace

Tensor full(const Shape& shape, double value, DType dtype) { return filled(shape, value, dtype, "full"); }
Tensor zeros(const Shape& shape, DType dtype) { return filled(shape, 0.0, dtype, "zeros"); }
Tensor ones(const Shape& shape, DType dtype) { return filled(shape, 1.0, dtype, "ones"); }
Tensor zeros_like(const Tensor& like) {
  check_like(like, "zeros_like");
  return zeros(like.shape(), like.dtype());
}
Tensor ones_like(const Tensor& like) {
  check_like(like, "ones_like");
  return ones(like.shape(), like.dtype());
}
Tensor full_like(const Tensor& like, double value) {
  check_like(like, "full_like");
  return full(like.shape(), value, like.dtype());
}

Tensor arange(double start, double stop, double step, DType dtype) {
  using detail::format_number;
  auto range = [&] {
    return "start " + format_number(start) + ", stop " + format_number(stop) + ", step " + format_number(step);
  };
  // numpy refuses these too ("arange: cannot compute length", "Maximum allowed
  // size exceeded"); a NaN would otherwise give an empty tensor, since every
  // comparison with it is false.
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    throw std::invalid_argument("arange: start, stop and step must be finite, received " + range());
  if (step == 0.0) throw std::invalid_argument("arange: step must be non-zero, received 0");
  // numpy's length, ceil((stop - start) / step); stop - start may overflow to
  // inf for finite bounds, and a count of 2^63 or more does not fit in int64
  // (converting it would be undefined behaviour).
  const double count = std::ceil((stop - start) / step);
  if (!(count < 0x1p63))
    throw std::invalid_argument("arange: the range " + range() + " has about " + format_number(count) +
                                " elements, more than the 2^63 - 1 a tensor can have");
  std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  Tensor t(allocate(Shape{n}, dtype, "arange"));
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}
Tensor arange(double stop, DType dtype) { return arange(0.0, stop, 1.0, dtype); }

// xoshiro256** seeded through splitmix64: fast, small and the same everywhere.
Generator::Generator(std::uint64_t seed) {
  std::uint64_t z = seed;
  for (auto& s : state_) {
    z += 0x9e3779b97f4a7c15ULL;
    std::uint64_t x = z;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    s = x ^ (x >> 31);
  }
}

std::uint64_t Generator::next_u64() {
  auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 0.0;
  while (u1 <= 0.0) u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  spare_ = r * std::sin(kTwoPi * u2);
  has_spare_ = true;
  return r * std::cos(kTwoPi * u2);
}

std::uint64_t Generator::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Generator::below: n must be positive, received 0");
  // Rejection sampling: no modulo bias.
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  if (!is_floating(dtype)) throw std::invalid_argument("randn: dtype must be float32 or float64, received int64");
  Tensor t(allocate(shape, dtype, "randn"));
  std::int64_t n = t.numel();
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(gen.normal());
  });
  return t;
}
Tensor randn(const Shape& shape, std::uint64_t seed, DType dtype) {
  Generator gen(seed);
  return randn(shape, gen, dtype);
}

Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype) {
  if (!is_floating(dtype)) throw std::invalid_argument("uniform: dtype must be float32 or float64, received int64");
  if (!(low <= high))
    throw std::invalid_argument("uniform: expected low <= high, received low " + detail::format_number(low) +
                                " and high " + detail::format_number(high));
  Tensor t(allocate(shape, dtype, "uniform"));
  std::int64_t n = t.numel();
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0; i < n; ++i) {
      T v = static_cast<T>(low + (high - low) * gen.uniform());
      p[i] = v < static_cast<T>(high) || low == high ? v : static_cast<T>(low);  // rounding must not reach high
    }
  });
  return t;
}
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, DType dtype) {
  Generator gen(seed);
  return uniform(shape, low, high, gen, dtype);
}

Tensor randint(const Shape& shape, std::int64_t low, std::int64_t high, Generator& gen) {
  if (high <= low)
    throw std::invalid_argument("randint: expected low < high, received low " + std::to_string(low) + " and high " +
                                std::to_string(high));
  Tensor t(allocate(shape, DType::int64, "randint"));
  auto* p = static_cast<std::int64_t*>(t.raw_data());
  for (std::int64_t i = 0; i < t.numel(); ++i)
    p[i] = low + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(high - low)));
  return t;
}

}  // namespace tg
