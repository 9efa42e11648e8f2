#include "tapegrad/layers/merge.hpp"

#include <functional>
#include <stdexcept>

#include "support.hpp"
#include "tapegrad/ops/batch_dot.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::layers {

namespace detail {
namespace {

std::string shapes_str(const std::vector<Tensor>& xs) {
  std::string s;
  for (std::size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + xs[i].shape().str();
  return s;
}

// What every merge checks: floating inputs of one dtype and one batch size.
void check_common(const LayerImpl& layer, const std::vector<Tensor>& xs) {
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
int normalize_axis(const LayerImpl& layer, int axis, const Tensor& x, const char* what) {
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

// ---- elementwise merges -------------------------------------------------------------

class ElementwiseImpl : public LayerImpl {
 public:
  using Op = std::function<Tensor(const Tensor&, const Tensor&)>;
  ElementwiseImpl(std::string class_name, const std::string& name, Op op, int max_inputs, bool average)
      : LayerImpl(std::move(class_name), name), op_(std::move(op)), max_inputs_(max_inputs), average_(average) {}

  int min_inputs() const override { return 2; }
  int max_inputs() const override { return max_inputs_; }

  std::vector<Tensor> call(const std::vector<Tensor>& xs, bool) override {
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

 private:
  Op op_;
  int max_inputs_;
  bool average_;
};

std::shared_ptr<LayerImpl> elementwise(const char* class_name, const std::string& name, ElementwiseImpl::Op op,
                                       int max_inputs = -1, bool average = false) {
  return std::make_shared<ElementwiseImpl>(class_name, name, std::move(op), max_inputs, average);
}

// ---- Concatenate --------------------------------------------------------------------

class ConcatenateImpl : public LayerImpl {
 public:
  ConcatenateImpl(int axis, const std::string& name) : LayerImpl("Concatenate", name), axis_(axis) {}
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return -1; }

  std::vector<Tensor> call(const std::vector<Tensor>& xs, bool) override {
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

  std::string config() const override { return "axis=" + std::to_string(axis_); }

  int axis_;
};

// ---- Dot ----------------------------------------------------------------------------

class DotImpl : public LayerImpl {
 public:
  DotImpl(std::pair<int, int> axes, bool normalize, const std::string& name)
      : LayerImpl("Dot", name), axes_(axes), normalize_(normalize) {}
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return 2; }

  std::vector<Tensor> call(const std::vector<Tensor>& xs, bool) override {
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

  std::string config() const override {
    return "axes=(" + std::to_string(axes_.first) + ", " + std::to_string(axes_.second) +
           "), normalize=" + (normalize_ ? "true" : "false");
  }

  // Product of the dimensions of x other than the batch axis and `axis`.
  static std::int64_t rest(const Tensor& x, int axis) {
    std::int64_t n = 1;
    for (int i = 1; i < x.rank(); ++i)
      if (i != axis) n *= x.dim(i);
    return n;
  }

  std::pair<int, int> axes_;
  bool normalize_;
};

}  // namespace
}  // namespace detail

using namespace detail;

Add::Add(const std::string& name)
    : Layer(elementwise("Add", name, [](const Tensor& a, const Tensor& b) { return add(a, b); })) {}
Subtract::Subtract(const std::string& name)
    : Layer(elementwise("Subtract", name, [](const Tensor& a, const Tensor& b) { return sub(a, b); }, 2)) {}
Multiply::Multiply(const std::string& name)
    : Layer(elementwise("Multiply", name, [](const Tensor& a, const Tensor& b) { return mul(a, b); })) {}
Average::Average(const std::string& name)
    : Layer(elementwise("Average", name, [](const Tensor& a, const Tensor& b) { return add(a, b); }, -1, true)) {}
Maximum::Maximum(const std::string& name)
    : Layer(elementwise("Maximum", name, [](const Tensor& a, const Tensor& b) { return maximum(a, b); })) {}
Minimum::Minimum(const std::string& name)
    : Layer(elementwise("Minimum", name, [](const Tensor& a, const Tensor& b) { return minimum(a, b); })) {}

namespace {
std::shared_ptr<LayerImpl> make_concatenate(int axis, const std::string& name) {
  if (axis == 0)
    throw std::invalid_argument(who("Concatenate", name) +
                                ": axis 0 is the batch axis (axes count the batch axis, as Keras's); received axis=0");
  return std::make_shared<ConcatenateImpl>(axis, name);
}
std::shared_ptr<LayerImpl> make_dot(std::pair<int, int> axes, bool normalize, const std::string& name) {
  if (axes.first == 0 || axes.second == 0)
    throw std::invalid_argument(who("Dot", name) +
                                ": axis 0 is the batch axis and cannot be contracted (axes count the batch axis, as "
                                "Keras's); received axes=(" +
                                std::to_string(axes.first) + ", " + std::to_string(axes.second) + ")");
  return std::make_shared<DotImpl>(axes, normalize, name);
}
}  // namespace

Concatenate::Concatenate(int axis, const std::string& name) : Layer(make_concatenate(axis, name)) {}
int Concatenate::axis() const { return impl_as<ConcatenateImpl>().axis_; }

Dot::Dot(std::pair<int, int> axes, bool normalize, const std::string& name) : Layer(make_dot(axes, normalize, name)) {}
std::pair<int, int> Dot::axes() const { return impl_as<DotImpl>().axes_; }
bool Dot::normalize() const { return impl_as<DotImpl>().normalize_; }

}  // namespace tg::layers
