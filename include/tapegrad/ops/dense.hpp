// A Dense layer's computation as one op call: the choice between the fused
// op (tg::dense with a relu flag, linalg.hpp) and the composition.
#pragma once

#include <string>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// activation(x @ kernel + bias) over the last axis of x:
//   x (batch, ..., in), kernel (in, units), bias (units,) or undefined (no bias)
//   -> (batch, ..., units), one dtype (float32 or float64).
// `activation` names one of tg::activations::get's functions: "relu",
// "sigmoid", "tanh", "softmax" and "log_softmax" (over the last axis),
// "softplus", and "linear" or "" (the identity).
// A 2-D x with no activation or relu goes to the fused tg::dense(x, kernel,
// bias, relu): one pass, the bias as the product's starting value. Any other
// case is the composition matmul (through a (rows, in) reshape for rank > 2),
// + bias, then the activation. Both give the same values and gradients; the
// VJPs are matmul's, add's (summed over the rows for the bias) and the
// activation's.
//   x = [[1, 2]], kernel = [[1], [-1]], bias = [0.5], "relu"  -> [[max(1 - 2 + 0.5, 0)]] = [[0]]
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, const std::string& activation);
// The same for a string literal, which would otherwise convert to the bool of
// dense(x, kernel, bias, relu) before it converted to a std::string.
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, const char* activation);

}  // namespace tg
