#!/usr/bin/python3
"""Reference values and gradients for Keras 3's activations, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_activation_fixtures.py > tests/fixtures/activations.txt

Every case is computed in float64 on inputs that are float32 numbers, so that
the tests can compare both dtypes with the same lines. The format is the
cosine fixtures' (read by tests/cosine_fixtures.hpp):
    case <function> <name> key=value ...     starts a case
    tensor <label> <rank> <dims...> <values...>   (row-major, repr of float64)
    end
Labels: x1 (input), u (upstream gradient), y (output), g1 (gradient of sum(u * y)).

Keras 3's definitions (keras/src/activations/activations.py) in PyTorch's terms:
gelu (approximate=False) is F.gelu, approximate=True is approximate='tanh';
elu, selu, softsign, silu (swish), mish are F's; leaky_relu is F.leaky_relu
with Keras's default slope 0.2 (PyTorch's is 0.01); hard_sigmoid is
F.hardsigmoid (relu6(x + 3) / 6), hard_silu is F.hardswish, relu6 is F.relu6.
"""
import sys

import torch
import torch.nn.functional as F

from fixture_format import tensor

torch.manual_seed(20261207)
out = sys.stdout

# 0, both sides of 0, the kinks (-3, 0, 3, 6), the float32 exp limit (88) and far out.
POINTS = [-1e4, -88.0, -20.0, -6.0, -3.0, -2.5, -1.0, -0.5, -1e-8, 0.0, 1e-8, 0.5, 1.0, 2.5, 3.0, 6.0, 7.0, 20.0,
          88.0, 1e4]


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def emit(function, name, params, x, fn):
    xs = x.clone().requires_grad_(True)
    y = fn(xs)
    u = f32(torch.randn(y.shape, dtype=torch.float64))
    (g,) = torch.autograd.grad((y * u).sum(), [xs])
    out.write(f"case {function} {name} " + " ".join(f"{k}={v}" for k, v in params.items()) + "\n")
    tensor("x1", x, out)
    tensor("u", u, out)
    tensor("y", y, out)
    tensor("g1", g, out)
    out.write("end\n")


# PyTorch 1.13's CPU kernels run a vectorized loop over the bulk of a tensor and
# a scalar loop over its last few elements, and the two disagree for some
# gradients: hardswish at x = 3 (1 vectorized, 3/2 scalar), and for a NaN input
# elu, selu, hardswish (NaN vs 1) and relu6 (0 vs 1). tapegrad follows the
# vectorized loop, so the points of interest come first, and a padding of 0.25
# fills the tensor past the last element the vectorized loop takes (48 elements:
# a multiple of 16 float32 and of 8 float64 lanes, its unrolled step).
def padded(values):
    return f32(torch.tensor(values + [0.25] * (48 - len(values)), dtype=torch.float64))


def emit_all(function, params, fn):
    emit(function, "points", params, padded(POINTS), fn)
    emit(function, "random", params, f32(3 * torch.randn(3, 4, dtype=torch.float64)), fn)
    # PyTorch's gradient for a NaN input is part of the kink conventions.
    emit(function, "nan", params, padded([float("nan"), -1.0, 2.0, float("nan")]), fn)


emit_all("gelu", {"approximate": 0}, lambda x: F.gelu(x))
emit_all("gelu", {"approximate": 1}, lambda x: F.gelu(x, approximate="tanh"))
for alpha in [1.0, 2.5, 0.3, -0.5]:
    emit_all("elu", {"alpha": alpha}, lambda x, a=alpha: F.elu(x, a))
emit_all("selu", {}, F.selu)
for slope in [0.2, 0.01, 0.0, 1.5, -0.5]:
    emit_all("leaky_relu", {"negative_slope": slope}, lambda x, s=slope: F.leaky_relu(x, s))
emit_all("softsign", {}, F.softsign)
emit_all("silu", {}, F.silu)
emit_all("hard_sigmoid", {}, F.hardsigmoid)
emit_all("hard_silu", {}, F.hardswish)
emit_all("relu6", {}, F.relu6)
emit_all("mish", {}, F.mish)
