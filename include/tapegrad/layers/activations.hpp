// Activation functions by name, as Keras's `activation="relu"` arguments.
//
//   auto act = tg::activations::get("relu");
//   tg::Tensor y = act(x);                      // tg::relu(x)
//
// Known names: "relu", "sigmoid", "tanh", "softmax" (over the last axis),
// "softplus", "log_softmax" (over the last axis), and Keras 3's "gelu" (the erf
// form, as keras.activations.gelu's approximate=False), "elu" (alpha 1),
// "selu", "leaky_relu" (negative_slope 0.2, Keras's default), "softsign",
// "silu" and "swish", "hard_sigmoid" (Keras 3's relu6(x + 3) / 6), "hard_silu"
// and "hard_swish", "relu6", "mish"; "linear" and "" (both the identity).
// Names are Keras's, case-sensitive. An unknown name throws
// std::invalid_argument listing the known ones. Each function is a tg op
// (ops/activation.hpp), so its gradient is the op's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::activations {

using ActivationFunction = std::function<Tensor(const Tensor&)>;

ActivationFunction get(const std::string& name);
// The names get() accepts, in the order the error message lists them.
const std::vector<std::string>& names();

}  // namespace tg::activations
