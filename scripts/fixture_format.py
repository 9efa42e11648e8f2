"""The line format of tests/fixtures/*.txt (read by tests/cosine_fixtures.hpp),
shared by the make_*_fixtures.py scripts:

    tensor LABEL RANK DIM... VALUE...      float64 values, row-major
"""
import sys

import torch


def tensor(label, t, out=sys.stdout):
    t = t.detach().to(torch.float64).contiguous()
    dims = " ".join(str(d) for d in t.shape)
    values = " ".join(repr(float(v)) for v in t.reshape(-1).tolist())
    out.write(f"tensor {label} {t.dim()} {dims} {values}\n".replace("  ", " "))
