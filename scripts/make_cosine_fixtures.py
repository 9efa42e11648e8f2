#!/usr/bin/python3
"""Reference values and gradients for the cosine family, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_cosine_fixtures.py > tests/fixtures/cosine.txt

Every case is computed in float64. The format is line based, read by
tests/cosine_fixtures.hpp:
    case <function> <name> key=value ...     starts a case
    tensor <label> <rank> <dims...> <values...>   (row-major, repr of float64)
    end
Labels: x1, x2 (inputs), u (upstream gradient), y (output), g1, g2 (gradients of
sum(u * y) with respect to x1 and x2).
"""
import math

import torch
import torch.nn.functional as F

from fixture_format import write_case

torch.manual_seed(20261123)


def emit(function, name, params, inputs, fn):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    u = torch.randn(y.shape, dtype=torch.float64)
    grads = torch.autograd.grad((y * u).sum(), xs)
    write_case(f"{function} {name} " + " ".join(f"{k}={v}" for k, v in params.items()), inputs, u, y, grads)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


# cosine_similarity (PyTorch 1.12+ semantics: broadcast, then per-norm clamp)
cos_cases = [
    ("rows", (6, 5), (6, 5), 1),
    ("cols", (4, 3), (4, 3), 0),
    ("last_neg", (2, 3, 4), (2, 3, 4), -1),
    ("middle", (2, 5, 3), (2, 5, 3), 1),
    ("first_of_3d", (4, 2, 3), (4, 2, 3), -3),
    ("broadcast_rank", (4, 1, 3), (5, 3), -1),
    ("broadcast_pairwise", (3, 1, 6), (1, 4, 6), 2),
    ("broadcast_row", (5, 7), (7,), 1),
    ("vector", (9,), (9,), 0),
    ("d1", (5, 1), (5, 1), 1),
]
for name, s1, s2, axis in cos_cases:
    emit("cosine_similarity", name, {"axis": axis, "eps": 1e-8}, [rand(*s1), rand(*s2)],
         lambda a, b, axis=axis: F.cosine_similarity(a, b, dim=axis, eps=1e-8))

# normalize (F.normalize: x / max(||x||_p, eps), dim an int or a tuple)
norm_cases = [
    ("p2_rows", (5, 6), 2.0, (1,)),
    ("p2_cols", (5, 6), 2.0, (0,)),
    ("p1", (4, 5), 1.0, (1,)),
    ("p3", (4, 5), 3.0, (1,)),
    ("pinf", (4, 5), math.inf, (1,)),
    ("p2_chw", (2, 3, 2, 2), 2.0, (1, 2, 3)),
    ("p2_neg", (3, 4, 5), 2.0, (-1,)),
    ("p2_outer_axes", (3, 4, 5), 2.0, (0, 2)),
]
for name, shape, p, axes in norm_cases:
    emit("normalize", name, {"p": p, "axes": ",".join(map(str, axes)), "eps": 1e-12}, [rand(*shape)],
         lambda x, p=p, axes=axes: F.normalize(x, p=p, dim=axes, eps=1e-12))

# l2_normalize (Keras/TF: x / sqrt(max(sum(x^2), eps)))
def keras_l2_normalize(x, axes, eps=1e-12):
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=axes, keepdim=True), min=eps))


for name, shape, axes in [("rows", (5, 6), (-1,)), ("cols", (5, 6), (0,)), ("two_axes", (2, 3, 4), (1, 2))]:
    emit("l2_normalize", name, {"axes": ",".join(map(str, axes)), "eps": 1e-12}, [rand(*shape)],
         lambda x, axes=axes: keras_l2_normalize(x, axes))

# cosine_similarity_matrix: normalize rows (eps 1e-8), then a @ b^T
def matrix(a, b, eps=1e-8):
    return F.normalize(a, dim=-1, eps=eps) @ F.normalize(b, dim=-1, eps=eps).transpose(-1, -2)


for name, sa, sb in [("square", (6, 4), (6, 4)), ("rect", (5, 7), (3, 7)), ("batched", (2, 4, 5), (2, 3, 5))]:
    emit("cosine_similarity_matrix", name, {"eps": 1e-8}, [rand(*sa), rand(*sb)], matrix)
