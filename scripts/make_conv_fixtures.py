#!/usr/bin/python3
"""Reference values and gradients for conv2d / conv1d, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_conv_fixtures.py > tests/fixtures/conv.txt

Every case is computed in float64, in tapegrad's (Keras's) layouts: x is
channels_last (N, H, W, C) unless data_format=channels_first, the kernel is
always (kh, kw, C_in/groups, C_out) ((k, C_in/groups, C_out) for conv1d).
PyTorch sees x.permute(0, 3, 1, 2) and the weight kernel.permute(3, 2, 0, 1).
"same" is TensorFlow's: out = ceil(in / stride), total padding
max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the odd one at the end,
applied explicitly with F.pad before an unpadded conv (PyTorch's own
padding="same" pads symmetrically and refuses strides).

The format is that of tests/fixtures/cosine.txt (tests/cosine_fixtures.hpp):
    case <function> <name> key=value ...
    tensor <label> <rank> <dims...> <values...>
    end
Labels: x1 (x), x2 (kernel), u (upstream gradient), y (output), g1, g2
(gradients of sum(u * y) with respect to x and the kernel).
Parameters: strides=a,b dilation=a,b padding= groups= data_format=.
"""

import torch
import torch.nn.functional as F

from fixture_format import write_case

torch.manual_seed(20261207)


def same_pads(size, k, s, d):
    o = -(-size // s)
    total = max((o - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_tf(x, kernel, strides, padding, dilation, groups, channels_first):
    xt = x if channels_first else x.permute(0, 3, 1, 2)
    w = kernel.permute(3, 2, 0, 1)
    if padding == "same":
        top, bottom = same_pads(xt.shape[2], kernel.shape[0], strides[0], dilation[0])
        left, right = same_pads(xt.shape[3], kernel.shape[1], strides[1], dilation[1])
        xt = F.pad(xt, (left, right, top, bottom))
    y = F.conv2d(xt, w, stride=strides, dilation=dilation, groups=groups)
    return y if channels_first else y.permute(0, 2, 3, 1)


def conv1d_tf(x, kernel, stride, padding, dilation, groups, channels_first):
    xt = x if channels_first else x.permute(0, 2, 1)
    w = kernel.permute(2, 1, 0)
    if padding == "same":
        xt = F.pad(xt, same_pads(xt.shape[2], kernel.shape[0], stride, dilation))
    y = F.conv1d(xt, w, stride=stride, dilation=dilation, groups=groups)
    return y if channels_first else y.permute(0, 2, 1)


def emit(function, name, params, inputs, fn):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    u = torch.randn(y.shape, dtype=torch.float64)
    grads = torch.autograd.grad((y * u).sum(), xs)
    write_case(f"{function} {name} " + " ".join(f"{k}={v}" for k, v in params.items()), inputs, u, y, grads)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


# name, N, (H, W), C_in, (kh, kw), C_out, strides, padding, dilation, groups, layout
conv2d_cases = [
    ("basic", 2, (5, 6), 3, (3, 3), 4, (1, 1), "valid", (1, 1), 1, "channels_last"),
    ("same", 2, (5, 6), 3, (3, 3), 4, (1, 1), "same", (1, 1), 1, "channels_last"),
    ("stride2_valid", 2, (7, 6), 2, (3, 3), 3, (2, 2), "valid", (1, 1), 1, "channels_last"),
    ("stride2_same_odd_pad", 2, (7, 6), 2, (3, 2), 3, (2, 2), "same", (1, 1), 1, "channels_last"),
    ("stride_mixed_same", 1, (6, 7), 2, (2, 3), 2, (3, 2), "same", (1, 1), 1, "channels_last"),
    ("even_kernel_same", 2, (5, 5), 2, (4, 2), 3, (1, 1), "same", (1, 1), 1, "channels_last"),
    ("dilation2_valid", 2, (7, 7), 2, (3, 3), 3, (1, 1), "valid", (2, 2), 1, "channels_last"),
    ("dilation_same", 1, (6, 7), 2, (3, 2), 2, (1, 1), "same", (2, 3), 1, "channels_last"),
    ("groups2", 2, (5, 5), 4, (3, 3), 6, (1, 1), "valid", (1, 1), 2, "channels_last"),
    ("depthwise_same", 2, (4, 5), 3, (3, 3), 3, (1, 1), "same", (1, 1), 3, "channels_last"),
    ("groups_stride_dilation", 1, (8, 8), 4, (2, 2), 4, (2, 1), "same", (1, 2), 2, "channels_last"),
    ("batch1", 1, (4, 4), 2, (3, 3), 2, (1, 1), "valid", (1, 1), 1, "channels_last"),
    ("kernel1x1", 2, (3, 4), 5, (1, 1), 3, (1, 1), "valid", (1, 1), 1, "channels_last"),
    ("kernel1x1_stride2", 2, (5, 4), 3, (1, 1), 2, (2, 2), "same", (1, 1), 1, "channels_last"),
    ("kernel_as_input", 2, (4, 3), 2, (4, 3), 3, (1, 1), "valid", (1, 1), 1, "channels_last"),
    ("kernel_as_input_same", 2, (4, 3), 2, (4, 3), 3, (1, 1), "same", (1, 1), 1, "channels_last"),
    ("cf_basic", 2, (5, 6), 3, (3, 3), 4, (1, 1), "valid", (1, 1), 1, "channels_first"),
    ("cf_same_stride", 2, (7, 6), 2, (3, 3), 3, (2, 2), "same", (1, 1), 1, "channels_first"),
    ("cf_groups_dilation", 1, (7, 7), 4, (3, 2), 2, (1, 2), "valid", (2, 1), 2, "channels_first"),
]
for name, n, (h, w), cin, (kh, kw), cout, strides, padding, dilation, groups, layout in conv2d_cases:
    cf = layout == "channels_first"
    x = rand(n, cin, h, w) if cf else rand(n, h, w, cin)
    kernel = rand(kh, kw, cin // groups, cout)
    params = {"strides": "%d,%d" % strides, "padding": padding, "dilation": "%d,%d" % dilation,
              "groups": groups, "data_format": layout}
    emit("conv2d", name, params, [x, kernel],
         lambda a, b, s=strides, p=padding, d=dilation, g=groups, c=cf: conv2d_tf(a, b, s, p, d, g, c))

# name, N, L, C_in, k, C_out, stride, padding, dilation, groups, layout
conv1d_cases = [
    ("basic", 2, 7, 3, 3, 4, 1, "valid", 1, 1, "channels_last"),
    ("same_stride2", 2, 8, 2, 4, 3, 2, "same", 1, 1, "channels_last"),
    ("dilation3_same", 1, 9, 2, 3, 2, 1, "same", 3, 1, "channels_last"),
    ("groups3", 2, 6, 3, 2, 6, 1, "valid", 1, 3, "channels_last"),
    ("kernel1", 2, 5, 4, 1, 2, 1, "valid", 1, 1, "channels_last"),
    ("kernel_as_input", 1, 5, 2, 5, 3, 1, "valid", 1, 1, "channels_last"),
    ("cf_same_stride3", 2, 10, 3, 3, 2, 3, "same", 1, 1, "channels_first"),
]
for name, n, length, cin, k, cout, stride, padding, dilation, groups, layout in conv1d_cases:
    cf = layout == "channels_first"
    x = rand(n, cin, length) if cf else rand(n, length, cin)
    kernel = rand(k, cin // groups, cout)
    params = {"strides": stride, "padding": padding, "dilation": dilation, "groups": groups, "data_format": layout}
    emit("conv1d", name, params, [x, kernel],
         lambda a, b, s=stride, p=padding, d=dilation, g=groups, c=cf: conv1d_tf(a, b, s, p, d, g, c))
