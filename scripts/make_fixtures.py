#!/usr/bin/python3
"""Reference values for tapegrad's core ops, computed by PyTorch in float64.

Run with Debian's interpreter (python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 scripts/make_fixtures.py            # writes tests/fixtures/core_ops.txt
    /usr/bin/python3 scripts/make_fixtures.py OUT.txt    # or another file

The output is committed; the C++ tests (tests/test_fixtures.cpp, loader in
tests/fixtures.hpp) read it and never need Python.

File format (line based, whitespace separated, '#' starts a comment line):

    case <name>                      starts a case; <name> is unique
    op <op>                          the tapegrad function, e.g. add, norm, matmul
    param <key> <v1> <v2> ...        zero or more; numbers (ints, floats, inf)
    input <tensor>                   one line per positional tensor argument
    upstream <tensor>                the output gradient pulled back (same shape as the output)
    output <tensor>                  the forward value
    grad <i> <tensor>                d sum(upstream * output) / d input i, for each float input
    end

    <tensor> := <dtype> <rank> <dim_0> ... <dim_{rank-1}> <value> ...   (row-major values)

dtype is float64 or int64; a 0-d tensor has rank 0 and one value. Values are
Python repr() of float64 (shortest round-trip form; inf, -inf, nan), so
strtod reads back the exact double. int64 inputs (indices, conditions) have no
grad line.

Params by op (names as the C++ functions' arguments):
    pow                  p (scalar exponent; absent: the exponent is input 1)
    clamp                lo hi
    softmax log_softmax  axis
    sum mean max min logsumexp   axes (absent: all axes), keepdims (0/1)
    norm                 p, axes (absent: all), keepdims
    reshape              shape (may hold -1)
    transpose            perm (absent: reverse the axes)
    expand_dims          axis
    squeeze              axes (absent: every size-1 axis)
    concat stack         axis
    slice                axis start stop step
    matmul               transpose_a transpose_b (0/1)
    scatter_add_rows     num_rows

The upstream gradient of every case is drawn from a generator seeded by the
case's name, so the file is the same on every run and adding a case leaves the
others unchanged.
"""
import math
import sys
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
DT = torch.float64


def fmt_value(v):
    if isinstance(v, int):
        return str(v)
    return repr(float(v))


def fmt_tensor(t):
    t = t.detach()
    dtype = "int64" if t.dtype == torch.int64 else "float64"
    if dtype == "float64":
        assert t.dtype == torch.float64, t.dtype
    dims = [str(d) for d in t.shape]
    values = [fmt_value(v) for v in t.reshape(-1).tolist()]
    return " ".join([dtype, str(t.dim())] + dims + values)


class Gen:
    """Per-case seeded draws, so that adding a case does not change the others."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def randn(self, *shape, scale=1.0):
        return torch.randn(tuple(shape), generator=self.g, dtype=DT) * scale

    def uniform(self, lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(tuple(shape), generator=self.g, dtype=DT)

    def away(self, *shape, margin=0.2, hi=2.0):
        """Random signs, magnitudes in [margin, hi): away from kinks at 0."""
        mag = self.uniform(margin, hi, *shape)
        sign = torch.where(torch.rand(tuple(shape), generator=self.g, dtype=DT) < 0.5, -1.0, 1.0)
        return mag * sign


CASES = []


def case(name, op, fn, inputs, **params):
    """fn(list of input tensors) -> output tensor, computed by torch."""
    CASES.append((name, op, fn, inputs, params))


def t(values, dtype=DT):
    return torch.tensor(values, dtype=dtype)


def dims_of(x, axes):
    return tuple(range(x.dim())) if axes is None else tuple(axes)


def build_cases():
    seed = iter(range(1000, 100000))

    def G():
        return Gen(next(seed))

    # ---- elementwise -------------------------------------------------------
    g = G()
    case("add_broadcast_row", "add", lambda v: v[0] + v[1], [g.randn(2, 3), g.randn(3)])
    g = G()
    case("add_outer", "add", lambda v: v[0] + v[1], [g.randn(4, 1), g.randn(1, 5)])
    g = G()
    case("add_scalar_0d", "add", lambda v: v[0] + v[1], [g.randn(), g.randn(2, 2)])
    g = G()
    case("sub_broadcast", "sub", lambda v: v[0] - v[1], [g.randn(2, 3, 4), g.randn(3, 1)])
    g = G()
    case("sub_same", "sub", lambda v: v[0] - v[1], [g.randn(3, 4), g.randn(3, 4)])
    g = G()
    case("mul_broadcast_row", "mul", lambda v: v[0] * v[1], [g.randn(3, 4), g.randn(4)])
    g = G()
    case("mul_broadcast_3d", "mul", lambda v: v[0] * v[1], [g.randn(2, 1, 3), g.randn(4, 1)])
    g = G()
    case("div_broadcast", "div", lambda v: v[0] / v[1], [g.randn(3, 4), g.away(4, margin=0.5)])
    g = G()
    case("div_by_column", "div", lambda v: v[0] / v[1], [g.randn(2, 3), g.away(2, 1, margin=0.5)])
    g = G()
    case("div_scalar_numerator", "div", lambda v: v[0] / v[1], [g.randn(1), g.away(2, 3, margin=0.5)])
    g = G()
    case("neg", "neg", lambda v: -v[0], [g.randn(3, 4)])
    g = G()
    case("exp", "exp", lambda v: torch.exp(v[0]), [g.randn(3, 4)])
    g = G()
    case("log", "log", lambda v: torch.log(v[0]), [g.uniform(0.1, 3.0, 3, 4)])
    g = G()
    case("sqrt", "sqrt", lambda v: torch.sqrt(v[0]), [g.uniform(0.1, 4.0, 3, 4)])
    g = G()
    case("square", "square", lambda v: torch.square(v[0]), [g.randn(3, 4)])
    g = G()
    case("pow_cube", "pow", lambda v: torch.pow(v[0], 3.0), [g.randn(3, 4)], p=3.0)
    g = G()
    case("pow_half", "pow", lambda v: torch.pow(v[0], 0.5), [g.uniform(0.1, 3.0, 5)], p=0.5)
    g = G()
    case("pow_negative", "pow", lambda v: torch.pow(v[0], -1.5), [g.uniform(0.2, 3.0, 2, 3)], p=-1.5)
    g = G()
    case("pow_tensor", "pow", lambda v: torch.pow(v[0], v[1]), [g.uniform(0.2, 3.0, 3, 4), g.randn(4)])
    # x^0 at x == 0 and y == 0 exponents: gradient 0, not 0 * inf = NaN.
    case("pow_zero_exponent", "pow", lambda v: torch.pow(v[0], 0.0), [t([0.0, 1.5, -2.0])], p=0.0)
    case("pow_tensor_zeros", "pow", lambda v: torch.pow(v[0], v[1]),
         [t([0.0, 0.0, 2.0, 0.5, 0.0]), t([0.0, 2.0, 0.0, 3.0, 1.0])])
    g = G()
    case("abs_with_zero", "abs", lambda v: torch.abs(v[0]),
         [torch.cat([t([0.0, -1.5, 2.0]), g.away(9)])])
    g = G()
    case("maximum_ties", "maximum", lambda v: torch.maximum(v[0], v[1]),
         [t([1.0, 2.0, 3.0, 4.0, -1.0]), t([1.0, 5.0, 3.0, 0.0, -1.0])])
    g = G()
    case("maximum_broadcast", "maximum", lambda v: torch.maximum(v[0], v[1]), [g.randn(3, 1), g.randn(4)])
    g = G()
    case("minimum_ties", "minimum", lambda v: torch.minimum(v[0], v[1]),
         [t([1.0, 2.0, 3.0, 4.0, -1.0]), t([1.0, 5.0, 3.0, 0.0, -1.0])])
    g = G()
    case("minimum_broadcast", "minimum", lambda v: torch.minimum(v[0], v[1]), [g.randn(2, 3), g.randn(2, 1)])
    g = G()
    case("clamp_boundaries", "clamp", lambda v: torch.clamp(v[0], -1.0, 1.0),
         [t([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])], lo=-1.0, hi=1.0)
    g = G()
    case("clamp_random", "clamp", lambda v: torch.clamp(v[0], -0.5, 0.7), [g.randn(3, 4)], lo=-0.5, hi=0.7)
    g = G()
    case("where_broadcast", "where", lambda v: torch.where(v[0].bool(), v[1], v[2]),
         [t([[1], [0], [1]], dtype=torch.int64), g.randn(3, 4), g.randn(4)])
    g = G()
    case("where_elementwise", "where", lambda v: torch.where(v[0].bool(), v[1], v[2]),
         [t([[0, 1, 1], [1, 0, 0]], dtype=torch.int64), g.randn(2, 3), g.randn(2, 3)])

    # ---- activations ---------------------------------------------------------
    g = G()
    case("relu_with_zero", "relu", lambda v: F.relu(v[0]), [torch.cat([t([0.0, -0.0, 1.0, -1.0]), g.away(8)])])
    g = G()
    case("sigmoid", "sigmoid", lambda v: torch.sigmoid(v[0]),
         [torch.cat([t([-30.0, 30.0, 0.0]), g.randn(9, scale=3.0)])])
    g = G()
    case("tanh", "tanh", lambda v: torch.tanh(v[0]), [g.randn(3, 4, scale=2.0)])
    g = G()
    # |x| < 20: PyTorch's softplus switches to x above its threshold 20.
    case("softplus", "softplus", lambda v: F.softplus(v[0]),
         [torch.cat([t([-19.0, 19.0, 0.0]), g.randn(9, scale=3.0)])])
    g = G()
    case("log_sigmoid", "log_sigmoid", lambda v: F.logsigmoid(v[0]),
         [torch.cat([t([-30.0, 30.0, 0.0]), g.randn(9, scale=3.0)])])
    g = G()
    case("softmax_last", "softmax", lambda v: torch.softmax(v[0], -1), [g.randn(3, 5)], axis=-1)
    g = G()
    case("softmax_middle", "softmax", lambda v: torch.softmax(v[0], 1), [g.randn(2, 4, 3)], axis=1)
    g = G()
    case("softmax_large_logits", "softmax", lambda v: torch.softmax(v[0], 0),
         [t([[1000.0, -1000.0], [1001.0, -999.0], [999.0, -1001.0]])], axis=0)
    case("softmax_masked", "softmax", lambda v: torch.softmax(v[0], -1),
         [t([[0.5, -math.inf, 1.5], [-math.inf, 2.0, -math.inf]])], axis=-1)
    case("log_softmax_masked", "log_softmax", lambda v: torch.log_softmax(v[0], -1),
         [t([[0.5, -math.inf, 1.5], [-math.inf, 2.0, -math.inf]])], axis=-1)
    g = G()
    case("log_softmax_last", "log_softmax", lambda v: torch.log_softmax(v[0], -1), [g.randn(3, 5)], axis=-1)
    g = G()
    case("log_softmax_first", "log_softmax", lambda v: torch.log_softmax(v[0], 0), [g.randn(4, 2, 3)], axis=0)
    g = G()
    case("log_softmax_large_logits", "log_softmax", lambda v: torch.log_softmax(v[0], -1),
         [t([[1000.0, 1001.0, 999.0], [-1000.0, -999.0, -1001.0]])], axis=-1)

    # ---- reductions ------------------------------------------------------------
    def reduce_case(name, op, fn, x, axes=None, keepdims=False):
        params = {"keepdims": int(keepdims)}
        if axes is not None:
            params["axes"] = list(axes)
        case(name, op, lambda v: fn(v[0], dims_of(v[0], axes), keepdims), [x], **params)

    tsum = lambda x, d, k: torch.sum(x, dim=d, keepdim=k)
    tmean = lambda x, d, k: torch.mean(x, dim=d, keepdim=k)
    tmax = lambda x, d, k: torch.amax(x, dim=d, keepdim=k)
    tmin = lambda x, d, k: torch.amin(x, dim=d, keepdim=k)
    tlse = lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k)

    g = G()
    reduce_case("sum_all", "sum", tsum, g.randn(3, 4))
    g = G()
    reduce_case("sum_axes_keepdims", "sum", tsum, g.randn(2, 3, 4), axes=[0, 2], keepdims=True)
    g = G()
    reduce_case("sum_negative_axis", "sum", tsum, g.randn(2, 3, 4), axes=[-1])
    g = G()
    reduce_case("mean_all", "mean", tmean, g.randn(3, 4))
    g = G()
    reduce_case("mean_axis_keepdims", "mean", tmean, g.randn(3, 4), axes=[1], keepdims=True)
    g = G()
    reduce_case("mean_negative_axes", "mean", tmean, g.randn(2, 3, 4), axes=[-1, -3])
    ties = t([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [-1.0, 0.0, -5.0]])
    reduce_case("max_ties_axis1", "max", tmax, ties, axes=[1])
    reduce_case("max_ties_all", "max", tmax, t([[1.0, 4.0], [4.0, 0.0]]))
    g = G()
    reduce_case("max_axes_keepdims", "max", tmax, g.randn(3, 2, 4), axes=[0, 2], keepdims=True)
    reduce_case("min_ties_axis0", "min", tmin, ties, axes=[0])
    reduce_case("min_ties_all", "min", tmin, t([[1.0, -4.0], [-4.0, 0.0]]))
    g = G()
    reduce_case("min_negative_axis", "min", tmin, g.randn(3, 2, 4), axes=[-2])
    g = G()
    reduce_case("logsumexp_last", "logsumexp", tlse, g.randn(3, 5), axes=[-1])
    g = G()
    reduce_case("logsumexp_axes_keepdims", "logsumexp", tlse, g.randn(2, 3, 4), axes=[0, 1], keepdims=True)
    g = G()
    reduce_case("logsumexp_all", "logsumexp", tlse, g.randn(2, 3))
    reduce_case("logsumexp_large", "logsumexp", tlse, t([[1000.0, 1001.0, 999.0], [-1000.0, -999.0, -1001.0]]),
                axes=[1])

    def norm_case(name, x, p, axes=None, keepdims=False):
        params = {"p": p, "keepdims": int(keepdims)}
        if axes is not None:
            params["axes"] = list(axes)
        case(name, "norm",
             lambda v: torch.linalg.vector_norm(v[0], ord=p, dim=dims_of(v[0], axes), keepdim=keepdims), [x],
             **params)

    g = G()
    with_zero_row = torch.cat([g.randn(2, 4), torch.zeros(1, 4)], 0)
    norm_case("norm2_rows_zero_row", with_zero_row, 2.0, axes=[-1])
    norm_case("norm1_rows_zero_row", torch.cat([t([[0.0, 1.5, -2.0, 0.5]]), with_zero_row]), 1.0, axes=[1])
    norm_case("norminf_ties_zero_row", t([[3.0, -3.0, 1.0], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.5]]), math.inf,
              axes=[1])
    norm_case("norm3_zero_row", with_zero_row, 3.0, axes=[-1], keepdims=True)
    g = G()
    norm_case("norm2_all", g.randn(3, 4), 2.0)
    g = G()
    norm_case("norm2_axes_keepdims", g.randn(2, 3, 4), 2.0, axes=[0, 2], keepdims=True)
    g = G()
    norm_case("norm3_axes", g.randn(2, 3, 4), 3.0, axes=[1, 2])
    g = G()
    norm_case("norm_p1_5", g.randn(3, 4), 1.5, axes=[0])
    # p < 1: |x|^(p-1) is infinite at a zero element; PyTorch (and we) give 0 there.
    norm_case("norm_half_zero_elements", t([[0.0, 1.5, -2.0, 0.5], [0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.25, 3.0]]),
              0.5, axes=[1])
    # p = 0 (count of nonzeros, gradient 0), p = -inf (min |x|, tied minima share),
    # p < 0 (one zero element makes the norm 0, and the row's gradient 0).
    # Literal inputs: no G(), so the seeds of the cases below do not move.
    mixed = t([[1.5, 0.0, -2.0, 0.5], [0.0, 0.0, 0.0, 0.0], [-1.0, 1.0, 0.3, -1.0], [0.7, -0.2, 1.1, -3.0]])
    norm_case("norm0_count_nonzero", mixed, 0.0, axes=[1])
    norm_case("norm0_all_keepdims", mixed, 0.0, axes=[0, 1], keepdims=True)
    norm_case("normneginf_ties_zero", mixed, -math.inf, axes=[-1])
    norm_case("normneginf_ties_cols", t([[2.0, -0.5, 1.0], [-0.5, 3.0, -1.0], [0.5, 0.25, 4.0]]), -math.inf,
              axes=[0])
    norm_case("normneg1_zero_rows", mixed, -1.0, axes=[1])
    norm_case("normneg2_5_cols", t([[0.7, -1.2, 2.0], [-0.4, 0.9, 1.3], [1.6, -0.3, -2.2]]), -2.5, axes=[0],
              keepdims=True)
    norm_case("normneg0_5_all", t([[0.7, -1.2], [2.0, -0.4]]), -0.5)
    norm_case("norm0_empty_axis", torch.zeros(2, 0, dtype=DT), 0.0, axes=[1])

    # ---- shape ops -----------------------------------------------------------------
    g = G()
    case("reshape_infer", "reshape", lambda v: v[0].reshape(4, -1), [g.randn(2, 3, 4)], shape=[4, -1])
    g = G()
    case("reshape_to_0d", "reshape", lambda v: v[0].reshape(()), [g.randn(1, 1)], shape=[])
    g = G()
    case("transpose_default", "transpose", lambda v: v[0].permute(2, 1, 0), [g.randn(2, 3, 4)])
    g = G()
    case("transpose_perm", "transpose", lambda v: v[0].permute(2, 0, 1), [g.randn(2, 3, 4)], perm=[2, 0, 1])
    g = G()
    case("transpose_negative_perm", "transpose", lambda v: v[0].permute(2, 0, 1), [g.randn(2, 3, 4)],
         perm=[-1, 0, 1])
    g = G()
    case("expand_dims_middle", "expand_dims", lambda v: v[0].unsqueeze(1), [g.randn(3, 4)], axis=1)
    g = G()
    case("expand_dims_last", "expand_dims", lambda v: v[0].unsqueeze(-1), [g.randn(3, 4)], axis=-1)
    g = G()
    case("squeeze_axis", "squeeze", lambda v: v[0].squeeze(1), [g.randn(3, 1, 4, 1)], axes=[1])
    g = G()
    case("squeeze_all", "squeeze", lambda v: v[0].squeeze(), [g.randn(3, 1, 4, 1)])
    g = G()
    case("concat_axis0", "concat", lambda v: torch.cat(v, 0), [g.randn(2, 3), g.randn(4, 3)], axis=0)
    g = G()
    case("concat_last", "concat", lambda v: torch.cat(v, -1), [g.randn(2, 3), g.randn(2, 1), g.randn(2, 2)],
         axis=-1)
    g = G()
    case("stack_first", "stack", lambda v: torch.stack(v, 0), [g.randn(2, 3), g.randn(2, 3), g.randn(2, 3)],
         axis=0)
    g = G()
    case("stack_last", "stack", lambda v: torch.stack(v, -1), [g.randn(2, 3), g.randn(2, 3)], axis=-1)
    g = G()
    case("slice_step", "slice", lambda v: v[0][:, 1:5:2], [g.randn(3, 6)], axis=1, start=1, stop=5, step=2)
    g = G()
    case("slice_negative", "slice", lambda v: v[0][..., -4:-1], [g.randn(2, 3, 6)], axis=-1, start=-4, stop=-1,
         step=1)
    g = G()
    case("slice_clamped", "slice", lambda v: v[0][1:100:3], [g.randn(8, 2)], axis=0, start=1, stop=100, step=3)

    # ---- linear algebra ------------------------------------------------------------
    def mm(ta, tb):
        def f(v):
            a = v[0].transpose(-1, -2) if ta else v[0]
            b = v[1].transpose(-1, -2) if tb else v[1]
            return torch.matmul(a, b)
        return f

    g = G()
    case("matmul_2d", "matmul", mm(0, 0), [g.randn(4, 3), g.randn(3, 5)], transpose_a=0, transpose_b=0)
    g = G()
    case("matmul_batched_broadcast", "matmul", mm(0, 0), [g.randn(2, 1, 4, 3), g.randn(3, 3, 5)],
         transpose_a=0, transpose_b=0)
    g = G()
    case("matmul_transpose_a", "matmul", mm(1, 0), [g.randn(3, 4), g.randn(3, 5)], transpose_a=1, transpose_b=0)
    g = G()
    case("matmul_transpose_b", "matmul", mm(0, 1), [g.randn(2, 4, 3), g.randn(5, 3)], transpose_a=0,
         transpose_b=1)
    g = G()
    case("matmul_transpose_both", "matmul", mm(1, 1), [g.randn(2, 3, 4), g.randn(2, 5, 3)], transpose_a=1,
         transpose_b=1)

    # ---- indexing ------------------------------------------------------------------
    g = G()
    case("gather_repeated", "gather", lambda v: v[0][v[1]],
         [g.randn(10, 3), t([[1, 4, 1], [9, 1, 0]], dtype=torch.int64)])
    g = G()
    case("gather_1d_table", "gather", lambda v: v[0][v[1]], [g.randn(6), t([2, 2, 5], dtype=torch.int64)])
    g = G()
    case("scatter_add_rows_repeated", "scatter_add_rows",
         lambda v: torch.zeros(5, 4).index_add(0, v[0], v[1]),
         [t([0, 2, 0], dtype=torch.int64), g.randn(3, 4)], num_rows=5)


def emit(out):
    lines = [
        "# tapegrad core-op fixtures: PyTorch %s, float64. Generated by scripts/make_fixtures.py;" % torch.__version__,
        "# do not edit by hand (the format is described at the top of that script).",
    ]
    names = set()
    for name, op, fn, inputs, params in CASES:
        assert name not in names, name
        names.add(name)
        leaves = []
        for x in inputs:
            x = x.clone()
            if x.is_floating_point():
                x.requires_grad_(True)
            leaves.append(x)
        y = fn(leaves)
        upstream = Gen(zlib.crc32(name.encode())).randn(*y.shape)  # by name: adding a case changes no other
        floats = [x for x in leaves if x.requires_grad]
        grads = torch.autograd.grad(y, floats, grad_outputs=upstream, allow_unused=True)
        lines.append("case " + name)
        lines.append("op " + op)
        for key, value in params.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            lines.append(" ".join(["param", key] + [fmt_value(v) for v in values]))
        for x in leaves:
            lines.append("input " + fmt_tensor(x))
        lines.append("upstream " + fmt_tensor(upstream))
        lines.append("output " + fmt_tensor(y))
        grad_iter = iter(grads)
        for i, x in enumerate(leaves):
            if not x.requires_grad:
                continue
            gx = next(grad_iter)
            if gx is None:
                gx = torch.zeros_like(x)
            lines.append("grad %d %s" % (i, fmt_tensor(gx)))
        lines.append("end")
    Path(out).write_text("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(CASES), out))


if __name__ == "__main__":
    torch.manual_seed(0)
    build_cases()
    default = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "core_ops.txt"
    emit(sys.argv[1] if len(sys.argv) > 1 else default)
