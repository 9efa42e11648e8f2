// Activations. Each is stable for large |x|: no overflow, no NaN.
#pragma once

#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// max(x, 0); gradient g where x > 0, 0 elsewhere (0 at x == 0, as PyTorch).
Tensor relu(const Tensor& x);
// 1 / (1 + exp(-x)), evaluated without overflow; d = g * y * (1 - y).
Tensor sigmoid(const Tensor& x);
// d = g * (1 - y^2).
Tensor tanh(const Tensor& x);
// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); d = g * sigmoid(x).
Tensor softplus(const Tensor& x);
// log(sigmoid(x)) = -softplus(-x); d = g * sigmoid(-x).
Tensor log_sigmoid(const Tensor& x);
// exp(x - max) / sum(exp(x - max)) along `axis`; d = y * (g - sum(g * y, axis)).
Tensor softmax(const Tensor& x, int axis = -1);
// x - logsumexp(x, axis), computed as (x - max) - log(sum(exp(x - max))) along
// `axis` (as PyTorch: exact for large x in float32); d = g - softmax(x) * sum(g, axis).
Tensor log_softmax(const Tensor& x, int axis = -1);

// The activations by the names Keras's `activation=` arguments take: "relu",
// "sigmoid", "tanh", "softmax" and "log_softmax" (over the last axis),
// "softplus", and "linear" or "" (the identity); nullptr for any other name.
// The one table behind tg::dense and tg::activations::get.
using ActivationFunctionPointer = Tensor (*)(const Tensor&);
ActivationFunctionPointer activation_by_name(const std::string& name);
// The names activation_by_name knows, in the order error messages list them.
const std::vector<std::string>& activation_names();
// activation_names() as a message lists them: "relu", "sigmoid", ...
std::string activation_names_quoted();

}  // namespace tg
