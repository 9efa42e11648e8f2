// What a backward function receives and returns: a gradient (dense or
// row-sparse), the context that says which inputs need one and takes them,
// and the type of a backward function. The tape (tape.hpp) walks records of
// these; a custom op (tg::record_op) writes one backward with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// A gradient that is either dense (a Tensor) or row-sparse: the rows `indices`
// of a tensor of shape `dense_shape` hold `values` (repeated indices add up), as
// TensorFlow's IndexedSlices. Embedding lookups produce the row-sparse form, so
// an optimizer can update only the rows a batch touched.
class Gradient {
 public:
  Gradient() = default;
  Gradient(Tensor dense);  // NOLINT: a dense tensor is a gradient
  static Gradient rows(Tensor indices, Tensor values, Shape dense_shape);

  bool defined() const { return dense_.defined() || indices_.defined(); }
  bool is_sparse() const { return indices_.defined(); }
  const Shape& shape() const { return is_sparse() ? dense_shape_ : dense_.shape(); }
  DType dtype() const { return is_sparse() ? values_.dtype() : dense_.dtype(); }
  // The dense tensor (row-sparse gradients are scattered into zeros).
  Tensor dense() const;
  // Row-sparse parts: int64 indices of shape (n,), values of shape (n, rest of dense_shape...).
  const Tensor& indices() const { return indices_; }
  const Tensor& values() const { return values_; }

 private:
  Tensor dense_;
  Tensor indices_, values_;
  Shape dense_shape_;
};

// Handed to a backward function: which inputs need a gradient, and where to put it.
class BackwardContext {
 public:
  // Where a tape sends each needed gradient: straight into its accumulation.
  using Sink = void (*)(void* state, const Tensor& input, Gradient&& gradient);

  // A context that collects the gradients in gradients() (to call a backward
  // function by hand).
  BackwardContext(const std::vector<Tensor>& inputs, std::uint64_t needs_mask)
      : inputs_(inputs.data()), count_(inputs.size()), needs_mask_(needs_mask) {}
  // A context that passes each needed gradient to `sink` (what GradientTape does).
  BackwardContext(const Tensor* inputs, std::size_t count, std::uint64_t needs_mask, Sink sink, void* state)
      : inputs_(inputs), count_(count), needs_mask_(needs_mask), sink_(sink), state_(state) {}

  // True if input i needs a gradient (it is watched); compute only those.
  bool needs(std::size_t i) const { return i >= 64 || ((needs_mask_ >> i) & 1U); }
  // Adds g to input i's gradient. g must have the input's shape and dtype.
  void add(std::size_t i, Gradient g);
  // The collected gradients, one per input (undefined where none was added);
  // empty for a context with a sink.
  std::vector<Gradient>& gradients() { return grads_; }
  // Gradients added for inputs that did not need one (wasted work).
  std::size_t unneeded() const { return unneeded_; }

 private:
  const Tensor* inputs_;
  std::size_t count_;
  std::uint64_t needs_mask_;
  Sink sink_ = nullptr;
  void* state_ = nullptr;
  std::vector<Gradient> grads_;
  std::size_t unneeded_ = 0;
};

// Computes the inputs' gradients from the output's gradient.
using BackwardFunction = std::function<void(const Tensor& grad_output, BackwardContext& ctx)>;

}  // namespace tg
