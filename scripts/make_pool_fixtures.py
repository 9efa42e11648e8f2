#!/usr/bin/python3
"""Reference values and gradients for the 2-d pooling ops, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_pool_fixtures.py > tests/fixtures/pool.txt

Every case is computed in float64, in tapegrad's (Keras's) layouts: x is
channels_last (N, H, W, C) unless data_format=channels_first; PyTorch sees
x.permute(0, 3, 1, 2). "same" is TensorFlow's: out = ceil(in / stride), total
padding max((out - 1) * stride + k - in, 0), the odd cell at the end, applied
explicitly with F.pad (PyTorch's own pooling pads symmetrically and at most
k / 2): with -inf for max, so a padded cell never wins; for the average, the
sum-pool of x padded with 0 divided by the sum-pool of a ones tensor padded
with 0, so the padding is not counted (TensorFlow's avg_pool,
count_include_pad=False).

The format is that of tests/fixtures/conv.txt (tests/cosine_fixtures.hpp):
    case <function> <name> key=value ...
    tensor <label> <rank> <dims...> <values...>
    end
Labels: x1 (x), u (upstream gradient), y (output), g1 (gradient of sum(u * y)
with respect to x). Parameters: pool_size=a,b strides=a,b (or "none": Keras's
strides=None, i.e. pool_size) padding= data_format= for max_pool2d /
avg_pool2d; data_format= keepdims=0|1 for global_average_pool2d /
global_max_pool2d. The random values make ties improbable (the tests check
ties separately).
"""
import sys

import torch
import torch.nn.functional as F

from fixture_format import tensor

torch.manual_seed(20261207)
out = sys.stdout


def same_pads(size, k, s):
    o = -(-size // s)
    total = max((o - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pool2d_tf(kind, x, pool, strides, padding, channels_first):
    xt = x if channels_first else x.permute(0, 3, 1, 2)
    pads = (0, 0, 0, 0)
    if padding == "same":
        top, bottom = same_pads(xt.shape[2], pool[0], strides[0])
        left, right = same_pads(xt.shape[3], pool[1], strides[1])
        pads = (left, right, top, bottom)
    if kind == "max":
        y = F.max_pool2d(F.pad(xt, pads, value=float("-inf")), pool, strides)
    else:
        total = F.avg_pool2d(F.pad(xt, pads), pool, strides, divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(xt), pads), pool, strides, divisor_override=1)
        y = total / count
    return y if channels_first else y.permute(0, 2, 3, 1)


def emit(function, name, params, x, fn):
    xs = x.clone().requires_grad_(True)
    y = fn(xs)
    u = torch.randn(y.shape, dtype=torch.float64)
    (g,) = torch.autograd.grad((y * u).sum(), [xs])
    out.write(f"case {function} {name} " + " ".join(f"{k}={v}" for k, v in params.items()) + "\n")
    tensor("x1", x)
    tensor("u", u)
    tensor("y", y)
    tensor("g1", g)
    out.write("end\n")


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


# name, N, (H, W), C, pool, strides (None: pool), padding, layout
pool_cases = [
    ("basic", 2, (6, 6), 3, (2, 2), None, "valid", "channels_last"),
    ("basic_odd_input", 2, (5, 7), 2, (2, 2), None, "valid", "channels_last"),
    ("pool3_stride2", 2, (7, 8), 2, (3, 3), (2, 2), "valid", "channels_last"),
    ("overlap_stride1", 2, (5, 5), 3, (2, 2), (1, 1), "valid", "channels_last"),
    ("overlap_stride1_same", 2, (4, 5), 2, (3, 3), (1, 1), "same", "channels_last"),
    ("same_default_strides", 2, (5, 7), 2, (2, 2), None, "same", "channels_last"),
    ("same_pool3_stride2", 1, (5, 6), 3, (3, 3), (2, 2), "same", "channels_last"),
    ("nonsquare_pool", 2, (6, 7), 2, (2, 3), (1, 2), "valid", "channels_last"),
    ("nonsquare_same", 2, (5, 6), 2, (3, 2), (2, 1), "same", "channels_last"),
    ("strides_larger_than_pool", 2, (7, 7), 2, (2, 2), (3, 3), "valid", "channels_last"),
    ("batch1", 1, (4, 4), 2, (2, 2), None, "valid", "channels_last"),
    ("pool_as_input", 2, (4, 5), 3, (4, 5), None, "valid", "channels_last"),
    ("pool_as_input_same_stride1", 2, (3, 4), 2, (3, 4), (1, 1), "same", "channels_last"),
    ("pool1x1", 2, (3, 4), 3, (1, 1), None, "valid", "channels_last"),
    ("pool1x1_stride2_same", 2, (5, 4), 2, (1, 1), (2, 2), "same", "channels_last"),
    ("cf_basic", 2, (6, 6), 3, (2, 2), None, "valid", "channels_first"),
    ("cf_overlap_same", 2, (5, 6), 2, (3, 3), (1, 1), "same", "channels_first"),
    ("cf_nonsquare_stride", 1, (7, 6), 3, (3, 2), (2, 2), "same", "channels_first"),
    ("cf_pool_as_input", 2, (3, 4), 2, (3, 4), None, "valid", "channels_first"),
]
for kind, function in (("max", "max_pool2d"), ("avg", "avg_pool2d")):
    for name, n, (h, w), c, pool, strides, padding, layout in pool_cases:
        cf = layout == "channels_first"
        x = rand(n, c, h, w) if cf else rand(n, h, w, c)
        s = strides if strides is not None else pool
        params = {"pool_size": "%d,%d" % pool, "strides": "none" if strides is None else "%d,%d" % strides,
                  "padding": padding, "data_format": layout}
        emit(function, name, params, x,
             lambda a, k=kind, p=pool, s=s, pad=padding, c=cf: pool2d_tf(k, a, p, s, pad, c))

# name, N, (H, W), C, keepdims, layout
global_cases = [
    ("basic", 2, (4, 5), 3, False, "channels_last"),
    ("keepdims", 2, (4, 5), 3, True, "channels_last"),
    ("batch1_1x1", 1, (1, 1), 4, False, "channels_last"),
    ("cf", 2, (3, 4), 3, False, "channels_first"),
    ("cf_keepdims", 2, (3, 4), 3, True, "channels_first"),
]
for function in ("global_average_pool2d", "global_max_pool2d"):
    for name, n, (h, w), c, keepdims, layout in global_cases:
        cf = layout == "channels_first"
        x = rand(n, c, h, w) if cf else rand(n, h, w, c)
        dims = (2, 3) if cf else (1, 2)
        params = {"data_format": layout, "keepdims": int(keepdims)}
        if function == "global_average_pool2d":
            fn = lambda a, d=dims, k=keepdims: a.mean(dim=d, keepdim=k)
        else:
            fn = lambda a, d=dims, k=keepdims: a.amax(dim=d, keepdim=k)
        emit(function, name, params, x, fn)
