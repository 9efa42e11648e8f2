// Merge layers (namespace tg::layers): layers that take a list of inputs, with
// Keras's semantics.
//
//   auto sum = tg::layers::Add()({a, b, c});                  // a + b + c
//   auto cos = tg::layers::Dot(1, /*normalize=*/true)({a, b});  // (batch, 1) cosine similarities
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
#include <string>
#include <utility>

#include "tapegrad/layers/layer.hpp"

namespace tg::layers {

// x1 + x2 + ... + xn.
class Add : public Layer {
 public:
  explicit Add(const std::string& name = "");
};

// x1 - x2 (exactly two inputs).
class Subtract : public Layer {
 public:
  explicit Subtract(const std::string& name = "");
};

// x1 * x2 * ... * xn elementwise.
class Multiply : public Layer {
 public:
  explicit Multiply(const std::string& name = "");
};

// (x1 + ... + xn) / n.
class Average : public Layer {
 public:
  explicit Average(const std::string& name = "");
};

// Elementwise maximum of all inputs.
class Maximum : public Layer {
 public:
  explicit Maximum(const std::string& name = "");
};

// Elementwise minimum of all inputs.
class Minimum : public Layer {
 public:
  explicit Minimum(const std::string& name = "");
};

// Joins the inputs along `axis` (of the full shape; default the last). The
// inputs must have the same rank and agree on every other axis:
// (batch, 3) and (batch, 2) give (batch, 5).
class Concatenate : public Layer {
 public:
  explicit Concatenate(int axis = -1, const std::string& name = "");
  int axis() const;
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
// Spelled Dot(1), Dot(1, true), Dot({2, 2}), Dot({2, 1}, true), and with a name
// Dot(1, false, "name"). (normalize must be a bool, and Dot(int) takes no name:
// otherwise `Dot({2, 2})` would be ambiguous with Dot(2, true), and `Dot({1, 0})`
// with Dot(1, /*name=*/0).)
class Dot : public Layer {
 public:
  explicit Dot(int axes) : Dot(std::pair<int, int>{axes, axes}, false) {}
  template <std::same_as<bool> Bool>
  explicit Dot(int axes, Bool normalize, const std::string& name = "")
      : Dot(std::pair<int, int>{axes, axes}, normalize, name) {}
  explicit Dot(std::pair<int, int> axes, bool normalize = false, const std::string& name = "");
  std::pair<int, int> axes() const;
  bool normalize() const;
};

}  // namespace tg::layers
