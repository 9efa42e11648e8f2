#include "tapegrad/layers/merge.hpp"

#include <functional>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/ops/batch_dot.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::layers {

using namespace detail;

namespace {

std::string shapes_str(const std::vector<Tensor>& xs) {
  std::string s;
  for (std::size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + xs[i].shape().str();
  return s;
}

// What every merge checks: floating inputs of one dtype and one batch size.
void check_common(const Layer& layer, const std::vector<Tensor>& xs) {
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!xs[i].is_floating())
      throw std::invalid_argument(who(layer) + ": expects float32 or float64 inputs, received int64 for input " +
                                  std::to_string(i));
    if (xs[i].dtype() != xs[0].dtype())
      throw std::invalid_argument(who(layer) + ": the inputs must have one dtype, received " +
                                  dtype_name(xs[0].dtype()) + " and " + dtype_name(xs[i].dtype()));
    if (xs[i].dim(0) != xs[0].dim(0))
      throw std::invalid_argument(who(layer) + ": the inputs must have the same batch size, received shapes " +
                                  shapes_str(xs));
  }
}

// Axis of the full shape (batch axis included), negative from the end; the
// batch axis itself is refused.
int normalize_axis(const Layer& layer, int axis, const Tensor& x, const char* what) {
  const int rank = x.rank();
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::out_of_range(who(layer) + ": " + what + " " + std::to_string(axis) + " is out of range for an input of shape " +
                            x.shape().str());
  if (a == 0)
    throw std::invalid_argument(who(layer) + ": " + what + " " + std::to_string(axis) +
                                " is the batch axis (axes count the batch axis, as Keras's); received an input of shape " +
                                x.shape().str());
  return a;
}

}  // namespace

// ---- elementwise merges -------------------------------------------------------------

ElementwiseMerge::ElementwiseMerge(std::string class_name, const std::string& name, Op op, int max_inputs,
                                   bool average)
    : Layer(std::move(class_name), name), op_(std::move(op)), max_inputs_(max_inputs), average_(average) {}

std::vector<Tensor> ElementwiseMerge::call(const std::vector<Tensor>& xs, bool) {
  check_common(*this, xs);
  for (const Tensor& x : xs)
    if (x.rank() != xs[0].rank())
      throw std::invalid_argument(who(*this) + ": the inputs must have the same rank, received shapes " +
                                  shapes_str(xs));
  Shape out = xs[0].shape();
  try {
    for (const Tensor& x : xs) out = broadcast_shapes(out, x.shape());
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(who(*this) + ": the input shapes cannot be broadcast together, received " +
                                shapes_str(xs));
  }
  Tensor y = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) y = op_(y, xs[i]);
  if (average_) y = y * (1.0 / static_cast<double>(xs.size()));
  return {y};
}

struct ElementwiseMerge::Row {
  const char* class_name;
  Op op;
  int max_inputs = -1;
  bool average = false;

  static Row of(MergeOp merge);
};

// The library's merges: the class name, the op folded over the inputs, the most
// inputs (-1: any number), and whether the fold is divided by n (Average is
// Add's fold over n).
ElementwiseMerge::Row ElementwiseMerge::Row::of(MergeOp merge) {
  using T = const Tensor&;
  switch (merge) {
    case MergeOp::add: return {"Add", [](T a, T b) { return add(a, b); }};
    case MergeOp::subtract: return {"Subtract", [](T a, T b) { return sub(a, b); }, 2};
    case MergeOp::multiply: return {"Multiply", [](T a, T b) { return mul(a, b); }};
    case MergeOp::average: return {"Average", [](T a, T b) { return add(a, b); }, -1, true};
    case MergeOp::maximum: return {"Maximum", [](T a, T b) { return maximum(a, b); }};
    case MergeOp::minimum: return {"Minimum", [](T a, T b) { return minimum(a, b); }};
  }
  throw std::invalid_argument("ElementwiseMerge: unknown merge " + std::to_string(static_cast<int>(merge)));
}

ElementwiseMerge::ElementwiseMerge(MergeOp merge, const std::string& name) : ElementwiseMerge(Row::of(merge), name) {}

ElementwiseMerge::ElementwiseMerge(const Row& row, const std::string& name)
    : ElementwiseMerge(row.class_name, name, row.op, row.max_inputs, row.average) {}

// ---- Concatenate --------------------------------------------------------------------

namespace {

// Validated before the Layer base exists, so that a refused layer takes no
// name and no seed.
const std::string& concatenate_checked(int axis, const std::string& name) {
  if (axis == 0)
    throw std::invalid_argument(who("Concatenate", name) +
                                ": axis 0 is the batch axis (axes count the batch axis, as Keras's); received axis=0");
  return name;
}

const std::string& dot_checked(std::pair<int, int> axes, const std::string& name) {
  if (axes.first == 0 || axes.second == 0)
    throw std::invalid_argument(who("Dot", name) +
                                ": axis 0 is the batch axis and cannot be contracted (axes count the batch axis, as "
                                "Keras's); received axes=(" +
                                std::to_string(axes.first) + ", " + std::to_string(axes.second) + ")");
  return name;
}

}  // namespace

Concatenate::Concatenate(int axis, const std::string& name)
    : Layer("Concatenate", concatenate_checked(axis, name)), axis_(axis) {}

std::vector<Tensor> Concatenate::call(const std::vector<Tensor>& xs, bool) {
  check_common(*this, xs);
  const int a = normalize_axis(*this, axis_, xs[0], "axis");
  for (const Tensor& x : xs) {
    bool ok = x.rank() == xs[0].rank();
    for (int d = 0; ok && d < x.rank(); ++d) ok = d == a || x.dim(d) == xs[0].dim(d);
    if (!ok)
      throw std::invalid_argument(who(*this) + ": the inputs must have the same shape except along axis " +
                                  std::to_string(axis_) + ", received shapes " + shapes_str(xs));
  }
  return {concat(xs, a)};
}

std::string Concatenate::config() const { return "axis=" + std::to_string(axis_); }

// ---- Dot ----------------------------------------------------------------------------

Dot::Dot(std::pair<int, int> axes, bool normalize, const std::string& name)
    : Layer("Dot", dot_checked(axes, name)), axes_(axes), normalize_(normalize) {}

std::vector<Tensor> Dot::call(const std::vector<Tensor>& xs, bool) {
  check_common(*this, xs);
  for (const Tensor& x : xs)
    if (x.rank() < 2)
      throw std::invalid_argument(who(*this) + ": expects inputs of rank >= 2, (batch, ...), received shapes " +
                                  shapes_str(xs));
  Tensor x = xs[0], y = xs[1];
  const int ax = normalize_axis(*this, axes_.first, x, "axis");
  const int ay = normalize_axis(*this, axes_.second, y, "axis");
  const std::int64_t d = x.dim(ax);
  if (y.dim(ay) != d)
    throw std::invalid_argument(who(*this) + ": cannot contract axis " + std::to_string(ax) + " of " +
                                x.shape().str() + " with axis " + std::to_string(ay) + " of " + y.shape().str() +
                                " (" + std::to_string(d) + " vs " + std::to_string(y.dim(ay)) + ")");
  if (normalize_) {
    x = l2_normalize(x, ax);
    y = l2_normalize(y, ay);
  }
  return {batch_dot(x, y, {ax, ay})};
}

std::string Dot::config() const {
  return "axes=(" + std::to_string(axes_.first) + ", " + std::to_string(axes_.second) +
         "), normalize=" + (normalize_ ? "true" : "false");
}

}  // namespace tg::layers
