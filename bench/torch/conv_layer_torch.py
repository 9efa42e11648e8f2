#!/usr/bin/python3
"""W6 in PyTorch (Debian python3-torch 1.13), printing the same JSON lines as
bench_conv_layer: F.conv2d of x (64, 32, 28, 28) float32 with a (64, 32, 3, 3)
weight, padding 1 (TensorFlow's "same" for a 3x3 kernel at stride 1), no bias;
loss (y * y).sum(); gradients for x and the weight; forward + backward timed
together. impl "pytorch": x and the weight contiguous in (N, C, H, W);
impl "pytorch_cl": both in torch.channels_last memory format (what tapegrad's
default layout stores). Threads: set OPENBLAS_NUM_THREADS and OMP_NUM_THREADS
in the environment (run_bench.sh does); this script also calls
torch.set_num_threads with the same number.

Usage: conv_layer_torch.py [repetitions] (default 20)."""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
torch.set_num_threads(threads)
torch.manual_seed(0)
repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def run(impl, work, warmup=2):
    for _ in range(warmup):
        work()
    ms = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        work()
        ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"workload": "conv_layer", "impl": impl, "threads": threads,
                      "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                      "repetitions": repetitions,
                      "mkldnn": torch.backends.mkldnn.is_available()}))
    sys.stdout.flush()


def bench(impl, memory_format):
    x = torch.randn(64, 32, 28, 28).to(memory_format=memory_format).requires_grad_()
    weight = torch.randn(64, 32, 3, 3).to(memory_format=memory_format).requires_grad_()

    def step():
        y = F.conv2d(x, weight, padding=1)
        (y * y).sum().backward()
        x.grad = None
        weight.grad = None

    run(impl, step)


bench("pytorch", torch.contiguous_format)
bench("pytorch_cl", torch.channels_last)
