// Activation functions by name, as Keras's `activation="relu"` arguments.
//
//   auto act = tg::activations::get("relu");
//   tg::Tensor y = act(x);                      // tg::relu(x)
//
// Known names: "relu", "sigmoid", "tanh", "softmax" (over the last axis),
// "softplus", "log_softmax" (over the last axis), "linear" and "" (both the
// identity). An unknown name throws std::invalid_argument listing the known
// ones. Each function is a composition of tg ops (ops/activation.hpp), so its
// gradient is the ops'.
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
