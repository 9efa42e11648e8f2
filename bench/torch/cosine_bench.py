#!/usr/bin/python3
"""W2 and W3 in PyTorch (Debian python3-torch), printing the same JSON lines as
the tapegrad programs. Threads: set OPENBLAS_NUM_THREADS and OMP_NUM_THREADS in
the environment (Debian's torch takes its matmul threads from OpenBLAS); this
script also calls torch.set_num_threads with the same number."""
import json
import os
import statistics
import sys
import time

import torch

threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
torch.set_num_threads(threads)
torch.manual_seed(0)


def run(workload, repetitions, work, warmup=2):
    for _ in range(warmup):
        work()
    ms = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        work()
        ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"workload": workload, "impl": "pytorch", "threads": threads,
                      "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                      "repetitions": repetitions}))
    sys.stdout.flush()


x1 = torch.randn(8192, 512, requires_grad=True)
x2 = torch.randn(8192, 512, requires_grad=True)


def cosine():
    loss = torch.nn.functional.cosine_similarity(x1, x2, dim=1).sum()
    torch.autograd.grad(loss, [x1, x2])


x = torch.randn(2048, 256, requires_grad=True)


def matrix():
    xn = torch.nn.functional.normalize(x, dim=1, eps=1e-8)
    s = xn @ xn.t()
    torch.autograd.grad((s * s).sum(), [x])


which = sys.argv[1:] or ["cosine_similarity", "similarity_matrix"]
if "cosine_similarity" in which:
    run("cosine_similarity", 30, cosine)
if "similarity_matrix" in which:
    run("similarity_matrix", 20, matrix)
