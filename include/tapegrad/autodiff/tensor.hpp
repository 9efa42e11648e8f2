// Tensor: a shape, a runtime dtype and a contiguous row-major buffer.
//
// A Tensor is a cheap handle (one shared_ptr). Copying a Tensor shares its
// data: `Tensor b = a;` makes b another name for the same values, exactly as
// in PyTorch or NumPy assignment. Use `clone()` for an independent copy. Ops
// never modify their inputs; they always return a new tensor.
//
// Storage is a 64-byte-aligned contiguous buffer so that kernels are plain
// vectorizable loops. xtensor is the interchange format: include
// <tapegrad/xtensor.hpp> to build a Tensor from an xt::xarray or view a tensor as
// one without copying (docs/design.md says why the storage is not an xarray).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tapegrad/autodiff/shape.hpp"

namespace tg {

namespace detail {

struct TensorImpl {
  Shape shape;
  DType dtype = DType::float32;
  bool trainable = false;
  void* data = nullptr;
  std::shared_ptr<void> storage;  // owns `data`; shared by views such as reshape
  std::string name;  // optional, shown by tape.print() and in error messages
  // In-place writes counted (Tensor::version). A view (reshape, stop_gradient)
  // counts on the tensor whose storage it shares, `viewed`, which is never a
  // view itself: a write through either handle is seen through both.
  std::uint64_t version = 0;
  std::shared_ptr<TensorImpl> viewed;
  std::uint64_t& version_counter() { return viewed ? viewed->version : version; }
};

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::float32;
  else if constexpr (std::is_same_v<T, double>) return DType::float64;
  else {
    static_assert(std::is_same_v<T, std::int64_t>, "tapegrad tensors hold float, double or int64_t");
    return DType::int64;
  }
}

}  // namespace detail

// One entry of a nested braced list: a number or a list of entries. It exists so
// that Tensor's list constructor takes lists of every depth through one
// overload: with one overload per depth, `Tensor({{1}, {2}})` is ambiguous
// (`{1}` converts to a double as readily as to a list). A list entry prefers the
// list reading, so `{1}` is always a list of one number.
class NestedList {
 public:
  NestedList(double value) : value_(value) {}  // NOLINT: a number is an entry
  NestedList(std::initializer_list<NestedList> items)  // NOLINT: so is a braced list
      : items_(std::data(items)), size_(items.size()), is_list_(true) {}

  bool is_list() const { return is_list_; }
  double value() const { return value_; }
  std::size_t size() const { return size_; }
  const NestedList* begin() const { return items_; }
  const NestedList* end() const { return items_ + size_; }

 private:
  // The braced list's elements live until the end of the full-expression that
  // wrote them, which outlasts the Tensor constructor reading them.
  const NestedList* items_ = nullptr;
  std::size_t size_ = 0;
  bool is_list_ = false;
  double value_ = 0.0;
};

// The axes of a reduction (sum, mean, norm, squeeze, ...): one int or a list.
// `sum(x, -1)`, `sum(x, {0, 2})` and `sum(x, axes_vector)` all work, and `{}`
// (or no argument) means every axis. It is a class, not an int overload beside
// a vector overload, because with those `sum(x, {})` would pick the int
// overload ({} -> 0) and silently reduce axis 0 instead of every axis. It is a
// std::vector<int> (push_back, iteration, passing to a vector parameter) with
// only these constructors: none taking a count, so Axes(3) is the axis 3.
class Axes : public std::vector<int> {
 public:
  Axes() = default;
  template <std::integral I>
    requires(!std::same_as<I, bool>)  // sum(x, true) is a misplaced keepdims, not axis 1
  Axes(I axis) : std::vector<int>{static_cast<int>(axis)} {}  // NOLINT: an int is one axis
  Axes(std::initializer_list<int> axes) : std::vector<int>(axes) {}  // NOLINT: a braced list
  Axes(std::vector<int> axes) : std::vector<int>(std::move(axes)) {}  // NOLINT: a vector
};

// ---- index expressions (PyTorch's C++ frontend: x.index({0, Slice(1, 3), None})) ----

// PyTorch's None: an absent Slice bound (Slice(None, 3) is Python's :3) and, as
// an index item, a new axis (as NewAxis).
inline constexpr std::nullopt_t None = std::nullopt;

// start:stop:step with Python's rules: an absent start is 0, an absent stop the
// end of the axis, negative bounds count from the end, bounds past either end
// are clamped; step must be > 0 (default 1). Slice() is Python's `:`.
struct Slice {
  Slice(std::optional<std::int64_t> start = None, std::optional<std::int64_t> stop = None,
        std::optional<std::int64_t> step = None)
      : start(start), stop(stop), step(step) {}
  std::optional<std::int64_t> start, stop, step;
};

// NumPy's np.newaxis (a size-1 axis inserted) and `...` (as many whole axes as
// the other items leave).
struct NewAxisIndex {};
struct EllipsisIndex {};
inline constexpr NewAxisIndex NewAxis{};
inline constexpr EllipsisIndex Ellipsis{};

// One item of an index expression: an integer (selects one position and drops
// the axis; negative counts from the end), a Slice, NewAxis (or None), or Ellipsis.
class TensorIndex {
 public:
  template <std::integral I>
    requires(!std::same_as<I, bool>)  // a bool would be a mask, which is not supported
  TensorIndex(I i) : kind_(Kind::integer), integer_(static_cast<std::int64_t>(i)) {}  // NOLINT
  TensorIndex(Slice s) : kind_(Kind::slice), slice_(s) {}                               // NOLINT
  TensorIndex(NewAxisIndex) : kind_(Kind::new_axis) {}                                  // NOLINT
  TensorIndex(std::nullopt_t) : kind_(Kind::new_axis) {}                                // NOLINT
  TensorIndex(EllipsisIndex) : kind_(Kind::ellipsis) {}                                 // NOLINT

  bool is_integer() const { return kind_ == Kind::integer; }
  bool is_slice() const { return kind_ == Kind::slice; }
  bool is_new_axis() const { return kind_ == Kind::new_axis; }
  bool is_ellipsis() const { return kind_ == Kind::ellipsis; }
  std::int64_t integer() const { return integer_; }
  const Slice& slice() const { return slice_; }

 private:
  enum class Kind { integer, slice, new_axis, ellipsis };
  Kind kind_;
  std::int64_t integer_ = 0;
  Slice slice_;
};

class Tensor {
 public:
  // An undefined tensor (no storage); `defined()` is false.
  Tensor() = default;

  // From nested braced lists of any depth up to 8: Tensor({1, 2}) is a (2,)
  // float32, Tensor({{1, 2}, {3, 4}}) a (2, 2), Tensor({{1}, {2}}) a (2, 1).
  // Ragged lists throw std::invalid_argument.
  Tensor(std::initializer_list<NestedList> values, DType dtype = DType::float32);

  // A 0-d tensor holding one value.
  static Tensor scalar(double value, DType dtype = DType::float32);
  // A tensor of the given shape from row-major values; T is float, double or int64_t.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  // Uninitialized storage of the given shape (the values are unspecified).
  static Tensor empty(const Shape& shape, DType dtype = DType::float32);

  // The accessors below throw std::logic_error on an undefined tensor ("Tensor::shape:
  // the tensor is undefined (default-constructed)"); the test is one predicted
  // branch, the throw is out of line.
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return defined_impl("Tensor::shape").shape; }
  int rank() const { return defined_impl("Tensor::rank").shape.rank(); }
  // Size of dimension `axis`; negative axes count from the end.
  std::int64_t dim(int axis) const;
  std::int64_t numel() const { return defined_impl("Tensor::numel").shape.numel(); }
  DType dtype() const { return defined_impl("Tensor::dtype").dtype; }
  bool is_floating() const { return tg::is_floating(defined_impl("Tensor::is_floating").dtype); }

  // Typed access to the contiguous row-major buffer; throws if T does not match dtype().
  template <class T>
  T* data() {
    if (!impl_ || impl_->dtype != detail::dtype_of<T>()) check_dtype(detail::dtype_of<T>());  // throws
    return static_cast<T*>(impl_->data);
  }
  template <class T>
  const T* data() const {
    if (!impl_ || impl_->dtype != detail::dtype_of<T>()) check_dtype(detail::dtype_of<T>());  // throws
    return static_cast<const T*>(impl_->data);
  }
  void* raw_data() const { return defined_impl("Tensor::raw_data").data; }

  // The single value of a one-element tensor, converted to double.
  double item() const;
  // One element by multi-index (negative indices count from the end), converted to double.
  double at(std::initializer_list<std::int64_t> index) const;
  // Writes one element in place (converted to the tensor's dtype).
  void set(std::initializer_list<std::int64_t> index, double value);
  template <class T>
  std::vector<T> to_vector() const;

  // A copy converted to `dtype` (a plain copy when the dtype is already `dtype`).
  Tensor to(DType dtype) const;
  // An independent copy of the values (not trainable, not watched).
  Tensor clone() const;
  // Overwrites the values in place with `values` (same shape, same dtype), keeping
  // this tensor's identity: how optimizers and load_weights update variables.
  void assign(const Tensor& values);

  // The number of in-place writes to this tensor's values so far (assign, set,
  // optimizer steps), shared with its views, as PyTorch's tensor._version. A
  // tape refuses a gradient through an op whose tensors were written after it
  // was recorded. Writes through data<T>() or as_xarray() are not counted:
  // call bump_version() after one.
  std::uint64_t version() const;
  void bump_version();

  // Trainable tensors (variables) are watched by every tape automatically.
  bool trainable() const { return defined_impl("Tensor::trainable").trainable; }
  Tensor& set_trainable(bool trainable);
  const std::string& name() const { return defined_impl("Tensor::name").name; }
  Tensor& set_name(std::string name);

  // ---- methods: the free op of the same name (PyTorch / NumPy spelling) ----
  // x.sum(1) is tg::sum(x, 1), x.T() is tg::transpose(x), and so on; recorded
  // and differentiated as those ops. Defined with the ops (ops/tensor_methods.cpp).
  Tensor sum(const Axes& axes = {}, bool keepdims = false) const;
  Tensor mean(const Axes& axes = {}, bool keepdims = false) const;
  Tensor max(const Axes& axes = {}, bool keepdims = false) const;
  Tensor min(const Axes& axes = {}, bool keepdims = false) const;
  Tensor norm(double p = 2.0, const Axes& axes = {}, bool keepdims = false) const;
  Tensor reshape(const std::vector<std::int64_t>& shape) const;
  Tensor transpose() const;
  Tensor transpose(const std::vector<int>& perm) const;
  // NumPy's .T: the axes reversed (the matrix transpose for rank 2).
  Tensor T() const;
  Tensor squeeze(const Axes& axes = {}) const;
  Tensor expand_dims(int axis) const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor square() const;
  Tensor pow(double p) const;
  Tensor pow(const Tensor& p) const;

  // x[i]: position i of axis 0 (negative counts from the end), the axis dropped,
  // as x[i] in PyTorch and NumPy. Differentiable (a slice and a reshape).
  Tensor operator[](std::int64_t i) const;
  // x.index({0, Slice(1, 3), NewAxis, Ellipsis}): NumPy's x[0, 1:3, None, ...]
  // (PyTorch's C++ Tensor::index). Differentiable. Throws std::out_of_range for
  // an integer outside its axis, std::invalid_argument for two Ellipses, more
  // integers and slices than axes, or a step <= 0.
  Tensor index(std::initializer_list<TensorIndex> indices) const;
  Tensor index(const std::vector<TensorIndex>& indices) const;

  // Identity used by tapes; two handles to the same tensor have the same id.
  const void* id() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  void check_dtype(DType expected) const;
  const detail::TensorImpl& defined_impl(const char* fn) const {
    if (!impl_) [[unlikely]] undefined(fn);  // throws
    return *impl_;
  }
  [[noreturn]] static void undefined(const char* fn);
  std::shared_ptr<detail::TensorImpl> impl_;
};

// A trainable tensor: a copy of `initial_value` watched by every GradientTape.
Tensor Variable(const Tensor& initial_value, std::string name = "");

// Prints values, shape and dtype, e.g.
// tensor([[1, 2], [3, 4]], shape=(2, 2), dtype=float32)
std::ostream& operator<<(std::ostream& os, const Tensor& tensor);
std::string to_string(const Tensor& tensor);

// ---- factories -------------------------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::float32);
Tensor ones(const Shape& shape, DType dtype = DType::float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::float32);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
// Values start, start + step, ... below stop (as numpy.arange).
Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::float32);
Tensor arange(double stop, DType dtype = DType::float32);

// A seeded random source whose sequence is the same on every run and platform
// (it does not use std::normal_distribution, whose output is implementation-defined).
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0);
  std::uint64_t next_u64();
  // Uniform in [0, 1).
  double uniform();
  // Standard normal (Box-Muller).
  double normal();
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n);

 private:
  std::uint64_t state_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

Tensor randn(const Shape& shape, Generator& generator, DType dtype = DType::float32);
Tensor randn(const Shape& shape, std::uint64_t seed, DType dtype = DType::float32);
// Uniform in [low, high).
Tensor uniform(const Shape& shape, double low, double high, Generator& generator,
               DType dtype = DType::float32);
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed,
               DType dtype = DType::float32);
// Integers uniform in [low, high), int64.
Tensor randint(const Shape& shape, std::int64_t low, std::int64_t high, Generator& generator);

}  // namespace tg
