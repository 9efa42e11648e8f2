// Gradient and BackwardContext: the values a backward function works with.
#include "tapegrad/autodiff/gradient.hpp"

#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/gradient_algebra.hpp"

namespace tg {

using detail::describe;

Gradient::Gradient(Tensor dense) : dense_(std::move(dense)) {}

Gradient Gradient::rows(Tensor indices, Tensor values, Shape dense_shape) {
  if (indices.dtype() != DType::int64 || indices.rank() != 1)
    throw std::invalid_argument("Gradient::rows: indices must be a 1-D int64 tensor, received " + describe(indices));
  if (values.rank() != dense_shape.rank() || values.dim(0) != indices.dim(0))
    throw std::invalid_argument("Gradient::rows: values of shape " + values.shape().str() + " do not fit " +
                                std::to_string(indices.dim(0)) + " rows of a tensor of shape " + dense_shape.str());
  for (int i = 1; i < dense_shape.rank(); ++i)
    if (values.shape()[i] != dense_shape[i])
      throw std::invalid_argument("Gradient::rows: values of shape " + values.shape().str() +
                                  " do not match the rows of a tensor of shape " + dense_shape.str());
  Gradient g;
  g.indices_ = std::move(indices);
  g.values_ = std::move(values);
  g.dense_shape_ = dense_shape;
  return g;
}

Tensor Gradient::dense() const {
  if (!is_sparse()) return dense_;
  return detail::gradient_algebra().scatter_add_rows(indices_, values_, dense_shape_[0]);
}

void BackwardContext::add(std::size_t i, Gradient g) {
  if (i >= count_)
    throw std::logic_error("backward: gradient for input " + std::to_string(i) + " but the op has " +
                           std::to_string(count_) + " inputs");
  const Tensor& input = inputs_[i];
  if (!g.defined()) throw std::logic_error("backward: the gradient for input " + std::to_string(i) + " is undefined");
  if (g.shape() != input.shape() || g.dtype() != input.dtype())
    throw std::logic_error("backward: gradient for input " + std::to_string(i) + " is " + g.shape().str() + " " +
                           dtype_name(g.dtype()) + " but the input is " + describe(input));
  if (!needs(i)) ++unneeded_;
  if (sink_) {
    if (needs(i)) sink_(state_, input, std::move(g));
    return;
  }
  if (grads_.size() < count_) grads_.resize(count_);
  Gradient& slot = grads_[i];
  // An op adding twice to one input (rare) gets the dense sum.
  slot = slot.defined() ? Gradient(detail::gradient_algebra().add(slot.dense(), g.dense())) : std::move(g);
}

}  // namespace tg
