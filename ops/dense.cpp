// dense with a named activation: the fused op where there is one, else the
// composition of matmul, add and the activation (no backward of its own).
#include "tapegrad/ops/dense.hpp"

#include <stdexcept>
#include <vector>

#include "support.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, const std::string& activation) {
  const char* op = "dense";
  detail::check_same_float(op, x, kernel);
  if (bias.defined()) detail::check_same_float(op, x, bias);
  if (x.rank() < 2 || kernel.rank() != 2 || x.dim(-1) != kernel.dim(0))
    throw std::invalid_argument("dense: expected x (batch, ..., in) and kernel (in, units), received " +
                                x.shape().str() + " and " + kernel.shape().str());
  const std::int64_t in = kernel.dim(0), units = kernel.dim(1);
  if (bias.defined() && bias.shape() != Shape{units})
    throw std::invalid_argument("dense: expected a bias of shape (" + std::to_string(units) + ",), received " +
                                bias.shape().str());
  const ActivationFunctionPointer activate = activation_by_name(activation);
  if (!activate)
    throw std::invalid_argument("dense: unknown activation \"" + activation + "\" (known: " +
                                activation_names_quoted() + ")");
  const bool fused = x.rank() == 2 && (activation.empty() || activation == "linear" || activation == "relu");
  if (fused) return dense(x, kernel, bias, activation == "relu");

  Tensor y;
  if (x.rank() == 2) {
    y = matmul(x, kernel);
  } else {
    // (batch, ..., in) -> (rows, in) @ (in, units) -> (batch, ..., units)
    std::vector<std::int64_t> out_shape = x.shape().to_vector();
    std::int64_t rows = 1;
    for (int i = 0; i + 1 < x.rank(); ++i) rows *= x.dim(i);
    out_shape.back() = units;
    y = reshape(matmul(reshape(x, {rows, in}), kernel), out_shape);
  }
  if (bias.defined()) y = y + bias;
  return activate(y);
}

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, const char* activation) {
  return dense(x, kernel, bias, std::string(activation));
}

}  // namespace tg
