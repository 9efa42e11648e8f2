#!/usr/bin/python3
"""Reference values and gradients for tg::pairwise_distance, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13):
    /usr/bin/python3 scripts/make_pairwise_distance_fixtures.py > tests/fixtures/pairwise_distance.txt

F.pairwise_distance(x1, x2, p, eps, keepdim) in float64: x1 and x2 broadcast,
then ||x1 - x2 + eps||_p over the last axis of the broadcast. The line format is
cosine.txt's (scripts/make_cosine_fixtures.py, read by tests/cosine_fixtures.hpp):
    case pairwise_distance <name> p=<p> eps=<eps> keepdim=<0|1>
    tensor x1 / x2 (inputs), u (upstream), y (output), g1 / g2 (gradients of sum(u * y))
    end
"""
import math

import torch
import torch.nn.functional as F

from fixture_format import write_case

torch.manual_seed(20261207)


def rand(*shape):
    return torch.randn(shape, dtype=torch.float64)


def emit(name, s1, s2, p=2.0, eps=1e-6, keepdim=False, x1=None, x2=None):
    inputs = [rand(*s1) if x1 is None else x1, rand(*s2) if x2 is None else x2]
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = F.pairwise_distance(xs[0], xs[1], p=p, eps=eps, keepdim=keepdim)
    u = torch.randn(y.shape, dtype=torch.float64)
    # p = 0 is piecewise constant: PyTorch's graph does not reach x1, x2 (gradient 0).
    grads = torch.autograd.grad((y * u).sum(), xs, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads)]
    write_case(f"pairwise_distance {name} p={p!r} eps={eps!r} keepdim={int(keepdim)}", inputs, u, y, grads)


emit("same_shape", (3, 4), (3, 4))
emit("broadcast_row", (3, 4), (1, 4))
emit("broadcast_row_first", (1, 4), (3, 4), p=1.0)
emit("unbatched_with_batch", (4,), (3, 4))
emit("unbatched_both", (5,), (5,))
emit("unbatched_keepdim", (5,), (5,), keepdim=True)
emit("keepdim_broadcast", (3, 4), (1, 4), p=1.0, keepdim=True)
emit("rank3_with_vector_keepdim", (2, 3, 4), (4,), p=3.0, keepdim=True)
emit("outer_broadcast", (2, 1, 4), (3, 4))
emit("p_half", (3, 4), (3, 4), p=0.5)
emit("p0_broadcast", (3, 4), (1, 4), p=0.0)
emit("pinf_broadcast", (3, 4), (1, 4), p=math.inf)
emit("pneginf_broadcast", (3, 4), (1, 4), p=-math.inf)
emit("pneg1_keepdim", (3, 4), (3, 4), p=-1.0, keepdim=True)
emit("pneg2_5", (2, 5), (5,), p=-2.5)
emit("eps0", (3, 4), (1, 4), eps=0.0)
emit("scalars", (), ())
emit("scalar_with_vector", (), (4,))
emit("empty_batch", (0, 4), (0, 4))
emit("empty_features", (3, 0), (3, 0))
emit("empty_features_pneginf", (3, 0), (1, 0), p=-math.inf)
