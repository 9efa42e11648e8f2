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

// Keras 3's other activations (keras.activations, keras/src/activations/
// activations.py), with its definitions and defaults; the gradient at a kink is
// PyTorch 1.13's (derivatives.yaml; its vectorized CPU loops where its scalar
// loop disagrees), and so is a NaN input's. Each is finite
// for large |x| in float32 and float64 and has a hand-derived VJP, itself made
// of differentiable ops under an outer tape (higher derivatives).

// x * Phi(x) = x / 2 * erfc(-x / sqrt 2) (Phi the standard normal CDF; erfc keeps
// the relative precision of the negative tail that 1 + erf loses);
// d = Phi(x) + x * phi(x). approximate: Keras's and PyTorch's tanh form
// x / 2 * (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
// Default false, as keras.activations.gelu (keras.ops.gelu defaults to true).
Tensor gelu(const Tensor& x, bool approximate = false);
// x for x > 0, alpha (e^x - 1) otherwise; d = 1 for x > 0, alpha e^x for x <= 0
// (alpha at x = 0, as PyTorch). Any finite alpha, negative too
// (as keras.activations.elu and torch.nn.functional.elu); a NaN or inf alpha throws.
Tensor elu(const Tensor& x, double alpha = 1.0);
// scale * elu(x, alpha) with Keras's and PyTorch's alpha = 1.6732632423543772,
// scale = 1.0507009873554805; d = scale at x > 0, scale alpha e^x for x <= 0.
Tensor selu(const Tensor& x);
// x for x > 0, negative_slope * x otherwise; d = 1 or negative_slope (the slope
// at x = 0 and for NaN, as PyTorch). Default 0.2 as Keras (PyTorch's: 0.01). Any
// finite slope, negative or above 1 too (as keras.activations.leaky_relu and
// PyTorch; Keras's LeakyReLU *layer* refuses a negative one); NaN or inf throws.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.2);
// x / (1 + |x|); d = 1 / (1 + |x|)^2 (1 at x = 0).
Tensor softsign(const Tensor& x);
// x * sigmoid(x); d = s (1 + x (1 - s)), s = sigmoid(x).
Tensor silu(const Tensor& x);
// silu under Keras's other name.
Tensor swish(const Tensor& x);
// Keras 3: relu6(x + 3) / 6 (PyTorch's hardsigmoid); Keras 2's 0.2 x + 0.5
// clipped to [0, 1] is gone. d = 1/6 for -3 < x < 3, else 0 (0 at both kinks).
Tensor hard_sigmoid(const Tensor& x);
// x * hard_sigmoid(x) (PyTorch's hardswish); d = 0 for x < -3, x / 3 + 1/2 for
// -3 <= x < 3, 1 for x >= 3 (as PyTorch: -1/2 at x = -3, 1 at x = 3).
Tensor hard_silu(const Tensor& x);
// hard_silu under Keras's other name.
Tensor hard_swish(const Tensor& x);
// min(max(x, 0), 6), a NaN kept; d = 1 for 0 < x < 6, else 0 (0 at both kinks,
// as PyTorch's hardtanh backward).
Tensor relu6(const Tensor& x);
// x * tanh(softplus(x)); d = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x)).
Tensor mish(const Tensor& x);

// The activations by the names Keras's `activation=` arguments take: "relu",
// "sigmoid", "tanh", "softmax" and "log_softmax" (over the last axis),
// "softplus", "gelu" (the erf form), "elu" (alpha 1), "selu", "leaky_relu"
// (slope 0.2), "softsign", "silu" and "swish", "hard_sigmoid", "hard_silu" and
// "hard_swish", "relu6", "mish", and "linear" or "" (the identity); nullptr for
// any other name.
// The one table behind tg::dense and tg::activations::get.
using ActivationFunctionPointer = Tensor (*)(const Tensor&);
ActivationFunctionPointer activation_by_name(const std::string& name);
// The names activation_by_name knows, in the order error messages list them.
const std::vector<std::string>& activation_names();
// activation_names() as a message lists them: "relu", "sigmoid", ...
std::string activation_names_quoted();

}  // namespace tg
