// Merge layers (namespace tg::layers): layers that take a list of inputs, with
// Keras's semantics.
//
//   auto sum = tg::layers::Add::make()({a, b, c});                  // a + b + c
//   auto cos = tg::layers::Dot::make(1, /*normalize=*/true)({a, b});  // (batch, 1) cosine similarities
//
// All inputs must have the same dtype and batch size. The elementwise merges
// (Add, Subtract, Multiply, Average, Maximum, Minimum) take at least two inputs
// (Subtract exactly two) whose shapes broadcast together (NumPy rules, as
// Keras); gradients flow to every input (at ties Maximum/Minimum split the
// gradient equally, tg::maximum's convention). Axis arguments (Concatenate,
// Dot) count the batch axis, as Keras's: axis 0 is the batch axis and cannot be
// used; negative axes count from the end of each input's full shape.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/layers/layer.hpp"

namespace tg::layers {

// The library's elementwise merges, named by their op.
enum class MergeOp { add, subtract, multiply, average, maximum, minimum };

// What the elementwise merges share: a binary op folded over the inputs
// (x1 op x2 op ... op xn), optionally divided by n.
class ElementwiseMerge : public Layer {
 public:
  using Op = std::function<Tensor(const Tensor&, const Tensor&)>;

  int min_inputs() const override { return 2; }
  int max_inputs() const override { return max_inputs_; }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;

 protected:
  ElementwiseMerge(std::string class_name, const std::string& name, Op op, int max_inputs = -1, bool average = false);
  // One of the library's merges: its class name, op, input count and averaging
  // come from the table in merge.cpp.
  ElementwiseMerge(MergeOp merge, const std::string& name);

 private:
  struct Row;  // a row of merge.cpp's table
  ElementwiseMerge(const Row& row, const std::string& name);

  Op op_;
  int max_inputs_;
  bool average_;
};

// The class of each library merge: Add, Subtract, ... below.
template <MergeOp merge>
class ElementwiseMergeOf : public ElementwiseMerge {
 public:
  explicit ElementwiseMergeOf(const std::string& name = "") : ElementwiseMerge(merge, name) {}
  static Ref<ElementwiseMergeOf> make(const std::string& name = "") { return make_layer<ElementwiseMergeOf>(name); }
};

// x1 + x2 + ... + xn.
using Add = ElementwiseMergeOf<MergeOp::add>;
// x1 - x2 (exactly two inputs).
using Subtract = ElementwiseMergeOf<MergeOp::subtract>;
// x1 * x2 * ... * xn elementwise.
using Multiply = ElementwiseMergeOf<MergeOp::multiply>;
// (x1 + ... + xn) / n.
using Average = ElementwiseMergeOf<MergeOp::average>;
// Elementwise maximum of all inputs.
using Maximum = ElementwiseMergeOf<MergeOp::maximum>;
// Elementwise minimum of all inputs.
using Minimum = ElementwiseMergeOf<MergeOp::minimum>;

// Joins the inputs along `axis` (of the full shape; default the last). The
// inputs must have the same rank and agree on every other axis:
// (batch, 3) and (batch, 2) give (batch, 5).
class Concatenate : public Layer {
 public:
  explicit Concatenate(int axis = -1, const std::string& name = "");
  static Ref<Concatenate> make(int axis = -1, const std::string& name = "") {
    return make_layer<Concatenate>(axis, name);
  }
  int axis() const { return axis_; }

  int min_inputs() const override { return 2; }
  int max_inputs() const override { return -1; }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  int axis_;
};

// Per-sample dot product of two inputs x (batch, ...) and y (batch, ...) along
// axes (ax, ay) (Keras's batch_dot): out[b, i..., j...] = sum_k x[b, i..., k, ...] y[b, j..., k, ...].
// The output shape is x's without the batch axis and ax, then y's without the
// batch axis and ay, after the batch axis; an output of no other axis is
// (batch, 1), as Keras's. So
//   (batch, d) . (batch, d), axes 1 or -1          -> (batch, 1)
//   (batch, n, d) . (batch, m, d), axes (2, 2)     -> (batch, n, m)  (matmul with a transpose flag)
// With normalize = true each input is first tg::l2_normalize'd along its
// axis (Keras: x / sqrt(max(sum(x^2), 1e-12))), so the output is the cosine
// similarity. A single int means the same axis for both inputs.
//   Dot(1)({[[1, 2]], [[3, 4]]}) = [[11]];  Dot(1, true) of the same = [[11 / (sqrt(5) * 5)]] = [[0.98387]].
//
// Spelled Dot::make(1), Dot::make(1, true), Dot::make({2, 2}), Dot::make({2, 1}, true),
// and with a name Dot::make(1, false, "name") (the constructors take the same
// arguments). (normalize must be a bool, and Dot(int) takes no name:
// otherwise `Dot({2, 2})` would be ambiguous with Dot(2, true), and `Dot({1, 0})`
// with Dot(1, /*name=*/0).)
class Dot : public Layer {
 public:
  explicit Dot(int axes) : Dot(std::pair<int, int>{axes, axes}, false) {}
  template <std::same_as<bool> Bool>
  explicit Dot(int axes, Bool normalize, const std::string& name = "")
      : Dot(std::pair<int, int>{axes, axes}, normalize, name) {}
  explicit Dot(std::pair<int, int> axes, bool normalize = false, const std::string& name = "");
  static Ref<Dot> make(int axes) { return make_layer<Dot>(axes); }
  template <std::same_as<bool> Bool>
  static Ref<Dot> make(int axes, Bool normalize, const std::string& name = "") {
    return make_layer<Dot>(axes, normalize, name);
  }
  static Ref<Dot> make(std::pair<int, int> axes, bool normalize = false, const std::string& name = "") {
    return make_layer<Dot>(axes, normalize, name);
  }
  std::pair<int, int> axes() const { return axes_; }
  bool normalize() const { return normalize_; }

  int min_inputs() const override { return 2; }
  int max_inputs() const override { return 2; }
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::string config() const override;

 private:
  std::pair<int, int> axes_;
  bool normalize_;
};

}  // namespace tg::layers
