"""The line format of tests/fixtures/*.txt (read by tests/cosine_fixtures.hpp),
shared by the make_*_fixtures.py scripts:

    tensor LABEL RANK DIM... VALUE...      float64 values, row-major

and the case of an op with inputs x1, x2, ..., upstream u, output y and the
gradients g1, g2, ... (write_case).
"""
import sys

import torch


def tensor(label, t, out=sys.stdout):
    t = t.detach().to(torch.float64).contiguous()
    dims = " ".join(str(d) for d in t.shape)
    values = " ".join(repr(float(v)) for v in t.reshape(-1).tolist())
    out.write(f"tensor {label} {t.dim()} {dims} {values}\n".replace("  ", " "))


def write_case(header, inputs, u, y, grads, out=sys.stdout):
    """`case HEADER`, the inputs x1.., u, y, the gradients g1.., `end`."""
    out.write(f"case {header}\n")
    for i, x in enumerate(inputs):
        tensor(f"x{i + 1}", x, out)
    tensor("u", u, out)
    tensor("y", y, out)
    for i, g in enumerate(grads):
        tensor(f"g{i + 1}", g, out)
    out.write("end\n")
