#!/usr/bin/python3
"""Reference values and gradients for the normalization ops and layers, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_norm_fixtures.py > tests/fixtures/normalization.txt

Every case is computed in float64. The format is the one of cosine.txt, read by
tests/cosine_fixtures.hpp:
    case <function> <name> key=value ...          starts a case
    tensor <label> <rank> <dims...> <values...>   (row-major, repr of float64)
    end
Functions:
  bn_train    F.batch_norm(training=True): normalized with the batch's mean and
              BIASED variance (PyTorch normalizes with the biased one too).
              Labels: x, gamma, beta, u, y, gx, ggamma, gbeta (gradients of
              sum(u * y)), and the Keras moving statistics after one training
              call on x (moving_mean_1, moving_variance_1) and after three, on
              x, x2, x3 (moving_mean_3, moving_variance_3).
  bn_infer    F.batch_norm(training=False) with given statistics. Labels: x,
              mean, variance, gamma, beta, u, y, gx, gmean, gvariance, ggamma, gbeta.
  layer_norm  F.layer_norm over the normalized axes. Labels: x, gamma, beta, u,
              y, gx, ggamma, gbeta.
Params: axis (the channel axis for batch norm, a comma-separated list for
layer norm, as Keras's argument), epsilon, momentum.

The moving statistics follow Keras 3, not PyTorch:
    moving = moving * momentum + batch_statistic * (1 - momentum)
with the batch's BIASED variance; PyTorch's running_var is updated with the
unbiased variance (n / (n - 1) times larger), so the script computes them by
Keras's rule, from moving_mean = 0 and moving_variance = 1.
"""
import sys

import torch
import torch.nn.functional as F

from fixture_format import tensor

torch.manual_seed(20261207)
out = sys.stdout
EPS = 1e-3
MOMENTUM = 0.99


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def to_channels_at_1(x, axis):
    """Moves the channel axis to position 1, where F.batch_norm wants it."""
    axis = axis % x.dim()
    perm = [0, axis] + [d for d in range(1, x.dim()) if d != axis]
    return x.permute(perm), perm


def batch_norm_with_axis(x, gamma, beta, axis, training, mean=None, variance=None):
    xc, perm = to_channels_at_1(x, axis)
    y = F.batch_norm(xc, mean, variance, gamma, beta, training=training, eps=EPS)
    inverse = [perm.index(d) for d in range(x.dim())]
    return y.permute(inverse)


def keras_batch_stats(x, axis):
    axis = axis % x.dim()
    axes = [d for d in range(x.dim()) if d != axis]
    mean = x.mean(dim=axes)
    variance = ((x - x.mean(dim=axes, keepdim=True)) ** 2).mean(dim=axes)  # biased
    return mean, variance


def write_case(function, name, params, labelled_inputs, fn, grad_labels, extra=()):
    xs = [t.clone().requires_grad_(True) for _, t in labelled_inputs]
    y = fn(*xs)
    u = rand(*y.shape)
    grads = torch.autograd.grad((y * u).sum(), xs)
    out.write(f"case {function} {name} " + " ".join(f"{k}={v}" for k, v in params.items()) + "\n")
    for label, t in labelled_inputs:
        tensor(label, t)
    tensor("u", u)
    tensor("y", y)
    for label, g in zip(grad_labels, grads):
        tensor(label, g)
    for label, t in extra:
        tensor(label, t)
    out.write("end\n")


# (name, shape, axis): (N, C), (N, H, W, C) channels last, (N, C, H, W) channels first.
bn_shapes = [("nc", (6, 4), -1), ("nhwc", (3, 4, 5, 3), -1), ("nchw_axis1", (3, 3, 4, 5), 1)]

for name, shape, axis in bn_shapes:
    c = shape[axis]
    x, x2, x3 = rand(*shape), rand(*shape) * 2 + 0.5, rand(*shape) * 0.5 - 1
    gamma, beta = rand(c) + 1.0, rand(c)
    # Keras's moving statistics, from zeros and ones.
    moving_mean, moving_variance = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    after = []
    for batch in (x, x2, x3):
        m, v = keras_batch_stats(batch, axis)
        moving_mean = moving_mean * MOMENTUM + m * (1 - MOMENTUM)
        moving_variance = moving_variance * MOMENTUM + v * (1 - MOMENTUM)
        after.append((moving_mean.clone(), moving_variance.clone()))
    # PyTorch's running_mean agrees with Keras's moving_mean (momentum 1 - 0.99):
    # a check of the script's own arithmetic.
    running_mean, running_var = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    xc, _ = to_channels_at_1(x, axis)
    F.batch_norm(xc, running_mean, running_var, None, None, training=True, momentum=1 - MOMENTUM, eps=EPS)
    assert torch.allclose(running_mean, after[0][0], rtol=0, atol=1e-15)
    n = x.numel() // c
    batch_variance = keras_batch_stats(x, axis)[1]
    assert torch.allclose(running_var, MOMENTUM + (1 - MOMENTUM) * batch_variance * n / (n - 1))  # unbiased
    assert torch.allclose(after[0][1], MOMENTUM + (1 - MOMENTUM) * batch_variance)                  # biased
    write_case("bn_train", name, {"axis": axis, "epsilon": EPS, "momentum": MOMENTUM},
               [("x", x), ("gamma", gamma), ("beta", beta)],
               lambda x_, g_, b_, axis=axis: batch_norm_with_axis(x_, g_, b_, axis, training=True),
               ["gx", "ggamma", "gbeta"],
               extra=[("moving_mean_1", after[0][0]), ("moving_variance_1", after[0][1]),
                      ("x2", x2), ("x3", x3),
                      ("moving_mean_3", after[2][0]), ("moving_variance_3", after[2][1])])

def inference_batch_norm(x, mean, variance, gamma, beta, axis):
    """The formula written out: F.batch_norm refuses gradients for its running
    statistics. Checked against F.batch_norm(training=False) below."""
    shape = [1] * x.dim()
    shape[axis % x.dim()] = x.shape[axis]
    m, v, g, b = (t.reshape(shape) for t in (mean, variance, gamma, beta))
    return (x - m) / torch.sqrt(v + EPS) * g + b


for name, shape, axis in bn_shapes:
    c = shape[axis]
    x = rand(*shape)
    mean, variance = rand(c) * 0.5, rand(c).abs() + 0.5
    gamma, beta = rand(c) + 1.0, rand(c)
    with torch.no_grad():
        assert torch.allclose(inference_batch_norm(x, mean, variance, gamma, beta, axis),
                              batch_norm_with_axis(x, gamma, beta, axis, False, mean, variance), rtol=1e-14, atol=1e-14)
    write_case("bn_infer", name, {"axis": axis, "epsilon": EPS},
               [("x", x), ("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)],
               lambda x_, m_, v_, g_, b_, axis=axis: inference_batch_norm(x_, m_, v_, g_, b_, axis),
               ["gx", "gmean", "gvariance", "ggamma", "gbeta"])


def layer_norm_axes(x, gamma, beta, axes):
    """Keras's LayerNormalization over `axes` (sorted, non-negative): F.layer_norm
    normalizes the last dims, so move the normalized axes last first."""
    rest = [d for d in range(x.dim()) if d not in axes]
    perm = rest + list(axes)
    y = F.layer_norm(x.permute(perm), [x.shape[a] for a in axes], gamma, beta, eps=EPS)
    inverse = [perm.index(d) for d in range(x.dim())]
    return y.permute(inverse)


# (name, shape, axes as Keras's argument, the same axes non-negative)
ln_cases = [
    ("nc", (5, 6), "-1", [1]),
    ("nhwc_last", (2, 3, 4, 5), "-1", [3]),
    ("nhwc_all", (2, 3, 4, 5), "1,2,3", [1, 2, 3]),
    ("nchw_axis1", (2, 4, 3, 3), "1", [1]),
    ("middle_pair", (3, 4, 2, 5), "-3,-2", [1, 2]),
]
for name, shape, axis_arg, axes in ln_cases:
    x = rand(*shape) * 1.5 + 0.3
    pshape = [shape[a] for a in axes]
    gamma, beta = rand(*pshape) + 1.0, rand(*pshape)
    write_case("layer_norm", name, {"axis": axis_arg, "epsilon": EPS},
               [("x", x), ("gamma", gamma), ("beta", beta)],
               lambda x_, g_, b_, axes=axes: layer_norm_axes(x_, g_, b_, axes),
               ["gx", "ggamma", "gbeta"])
