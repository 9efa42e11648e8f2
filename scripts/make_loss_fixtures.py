#!/usr/bin/python3
"""Reference values and gradients for tg::losses, from PyTorch.

Run with Debian's interpreter (it has python3-torch 1.13 and numpy):
    /usr/bin/python3 scripts/make_loss_fixtures.py > tests/fixtures/losses.txt

Each case computes a loss in float64 with PyTorch: the PyTorch loss itself
where PyTorch has one (nn.CosineEmbeddingLoss, nn.TripletMarginLoss,
nn.TripletMarginWithDistanceLoss, nn.MSELoss, nn.L1Loss,
nn.BCEWithLogitsLoss, F.cross_entropy, F.nll_loss, F.cosine_similarity),
otherwise the reference formula written with torch ops (Keras's
CosineSimilarity, probability clip and tf-keras's binary cross-entropy on
probabilities, sentence-transformers' ContrastiveLoss,
CosineSimilarityLoss and MultipleNegativesRankingLoss), as REFERENCE.md states
them. The format, read by tests/loss_fixtures.hpp:
    case <name> <loss> key=value ...            starts a case
    tensor <label> <dtype> <rank> <dims...> <values...>   (row-major; floats as repr)
    end
Labels: the inputs under their argument names (y_true, y_pred, x1, x2, label,
anchor, positive, negative, anchors, positives), w (sample weights),
per_sample (the loss per sample, shape (batch,)), weighted_mean
(sum(per_sample * w) / batch, 0-d) and grad_<input> (the gradient of
weighted_mean with respect to each differentiable input).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
out = sys.stdout
KERAS_EPS = 1e-7


def tensor(label, t):
    t = t.detach().contiguous()
    dtype = "int64" if t.dtype == torch.int64 else "float64"
    dims = "".join(f" {d}" for d in t.shape)
    if dtype == "int64":
        values = "".join(f" {int(v)}" for v in t.reshape(-1).tolist())
    else:
        values = "".join(f" {float(v)!r}" for v in t.to(torch.float64).reshape(-1).tolist())
    out.write(f"tensor {label} {dtype} {t.dim()}{dims}{values}\n")


def emit(name, loss, params, inputs, differentiable, per_sample_fn):
    """inputs: dict argument name -> tensor (in argument order); per_sample_fn
    takes them as keyword arguments and returns the (batch,) losses."""
    xs = {k: (v.clone().requires_grad_(True) if k in differentiable else v.clone()) for k, v in inputs.items()}
    per_sample = per_sample_fn(**xs)
    batch = per_sample.shape[0]
    w = torch.rand(batch, dtype=torch.float64) * 2
    w[0] = 0.0  # a zero weight still counts in the denominator (Keras)
    weighted_mean = (per_sample * w).sum() / batch
    grads = torch.autograd.grad(weighted_mean, [xs[k] for k in differentiable])
    out.write(f"case {name} {loss}" + "".join(f" {k}={v}" for k, v in params.items()) + "\n")
    for k, v in inputs.items():
        tensor(k, v)
    tensor("w", w)
    tensor("per_sample", per_sample)
    tensor("weighted_mean", weighted_mean)
    for k, g in zip(differentiable, grads):
        tensor(f"grad_{k}", g)
    out.write("end\n")


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def signs(n):
    y = torch.where(torch.rand(n) < 0.5, -1.0, 1.0).to(torch.float64)
    y[0], y[1] = 1.0, -1.0
    return y


def bits(n):
    y = (torch.rand(n) < 0.5).to(torch.float64)
    y[0], y[1] = 1.0, 0.0
    return y


# ---- cosine losses ----------------------------------------------------------------

# CosineSimilarityLoss = 1 - F.cosine_similarity(x1, x2, dim=1); one row of the
# same direction, one opposite.
a, b = randn(6, 5), randn(6, 5)
b[1] = 2.5 * a[1]
b[2] = -0.5 * a[2]
emit("cosine_similarity_loss", "CosineSimilarityLoss", {"axis": 1}, {"y_true": a, "y_pred": b},
     ["y_true", "y_pred"], lambda y_true, y_pred: 1 - F.cosine_similarity(y_true, y_pred, dim=1))

# Rank 3, feature axis last: averaged over the middle axis per sample.
emit("cosine_similarity_loss_rank3", "CosineSimilarityLoss", {"axis": -1},
     {"y_true": randn(3, 4, 5), "y_pred": randn(3, 4, 5)}, ["y_true", "y_pred"],
     lambda y_true, y_pred: (1 - F.cosine_similarity(y_true, y_pred, dim=-1)).mean(dim=1))


# Keras CosineSimilarity: -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis),
# l2_normalize(x) = x / sqrt(max(sum(x^2), 1e-12)).
def keras_l2_normalize(x, dim):
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=dim, keepdim=True), min=1e-12))


emit("keras_cosine_similarity", "CosineSimilarity", {"axis": -1}, {"y_true": randn(5, 4), "y_pred": randn(5, 4)},
     ["y_true", "y_pred"],
     lambda y_true, y_pred: -(keras_l2_normalize(y_true, -1) * keras_l2_normalize(y_pred, -1)).sum(dim=-1))

# PyTorch CosineEmbeddingLoss, margin 0 and 0.3 (one pair with cos > margin for y = -1).
for margin in (0.0, 0.3):
    x1, x2 = randn(7, 4), randn(7, 4)
    x2[1] = x1[1] + 0.3 * randn(4)  # y = -1 with cos close to 1: the hinge is active
    emit(f"cosine_embedding_loss_margin{margin}", "CosineEmbeddingLoss", {"margin": margin},
         {"x1": x1, "x2": x2, "label": signs(7)}, ["x1", "x2"],
         lambda x1, x2, label, m=margin: nn.CosineEmbeddingLoss(margin=m, reduction="none")(x1, x2, label))

# sentence-transformers CosineSimilarityLoss: (cos - label)^2, our CosineMSELoss.
emit("cosine_mse_loss", "CosineMSELoss", {}, {"x1": randn(6, 5), "x2": randn(6, 5), "label": torch.rand(6, dtype=torch.float64)},
     ["x1", "x2"], lambda x1, x2, label: (F.cosine_similarity(x1, x2, dim=1) - label) ** 2)


# ---- metric learning ------------------------------------------------------------------

# sentence-transformers ContrastiveLoss: 0.5 * (y d^2 + (1 - y) relu(margin - d)^2),
# d = 1 - cos (COSINE_DISTANCE) or F.pairwise_distance (EUCLIDEAN, eps 1e-6).
def contrastive(distance, margin):
    def per_sample(x1, x2, label):
        d = 1 - F.cosine_similarity(x1, x2) if distance == "cosine" else F.pairwise_distance(x1, x2, p=2)
        return 0.5 * (label * d.pow(2) + (1 - label) * F.relu(margin - d).pow(2))
    return per_sample


for distance, margin in (("cosine", 0.5), ("cosine", 1.2), ("euclidean", 3.0)):
    emit(f"contrastive_loss_{distance}_{margin}", "ContrastiveLoss", {"margin": margin, "distance": distance},
         {"x1": randn(8, 4), "x2": randn(8, 4), "label": bits(8)}, ["x1", "x2"], contrastive(distance, margin))

# PyTorch TripletMarginLoss (d = ||x - y + eps||_p, eps = 1e-6).
for margin, p in ((1.0, 2.0), (0.5, 1.0), (2.0, 3.0)):
    emit(f"triplet_margin_loss_p{p}", "TripletMarginLoss", {"margin": margin, "p": p, "eps": 1e-6},
         {"anchor": randn(8, 5), "positive": randn(8, 5), "negative": randn(8, 5)},
         ["anchor", "positive", "negative"],
         lambda anchor, positive, negative, m=margin, p=p:
             nn.TripletMarginLoss(margin=m, p=p, reduction="none")(anchor, positive, negative))

# The cosine-distance variant: PyTorch TripletMarginWithDistanceLoss with d = 1 - cos.
emit("cosine_triplet_margin_loss", "CosineTripletMarginLoss", {"margin": 0.5},
     {"anchor": randn(8, 5), "positive": randn(8, 5), "negative": randn(8, 5)}, ["anchor", "positive", "negative"],
     lambda anchor, positive, negative: nn.TripletMarginWithDistanceLoss(
         distance_function=lambda x, y: 1 - F.cosine_similarity(x, y), margin=0.5, reduction="none")(
             anchor, positive, negative))


# sentence-transformers MultipleNegativesRankingLoss: cross-entropy over
# scale * normalize(a) @ normalize(b).T with labels 0..N-1; b may hold extra rows
# (hard negatives).
def mnrl(scale):
    def per_sample(anchors, positives):
        scores = F.normalize(anchors, p=2, dim=1) @ F.normalize(positives, p=2, dim=1).T * scale
        return F.cross_entropy(scores, torch.arange(anchors.shape[0]), reduction="none")
    return per_sample


emit("mnrl_square", "MultipleNegativesRankingLoss", {"scale": 20.0},
     {"anchors": randn(5, 6), "positives": randn(5, 6)}, ["anchors", "positives"], mnrl(20.0))
emit("mnrl_hard_negatives", "MultipleNegativesRankingLoss", {"scale": 5.0},
     {"anchors": randn(4, 6), "positives": randn(7, 6)}, ["anchors", "positives"], mnrl(5.0))


# ---- regression -------------------------------------------------------------------------

emit("mean_squared_error", "MeanSquaredError", {}, {"y_true": randn(5, 3), "y_pred": randn(5, 3)},
     ["y_true", "y_pred"], lambda y_true, y_pred: nn.MSELoss(reduction="none")(y_pred, y_true).mean(dim=1))
emit("mean_absolute_error", "MeanAbsoluteError", {}, {"y_true": randn(5, 3), "y_pred": randn(5, 3)},
     ["y_true", "y_pred"], lambda y_true, y_pred: nn.L1Loss(reduction="none")(y_pred, y_true).mean(dim=1))


# ---- cross-entropies ----------------------------------------------------------------------

def keras_log_clipped(p):
    return torch.log(torch.clamp(p, KERAS_EPS, 1 - KERAS_EPS))


def keras_binary_crossentropy(y_true, y_pred):
    """tf-keras 2 (tf_keras/backend.py binary_crossentropy, 2.21.0): clip to
    [eps, 1 - eps], then eps added inside both logs as well."""
    p = torch.clamp(y_pred, KERAS_EPS, 1 - KERAS_EPS)
    return -(y_true * torch.log(p + KERAS_EPS) + (1 - y_true) * torch.log(1 - p + KERAS_EPS)).mean(dim=1)


# Probabilities inside [1e-7, 1 - 1e-7] (there PyTorch's BCELoss differs from
# Keras's only by the eps inside the logs, about 1e-7 / p).
z = torch.rand(6, 3, dtype=torch.float64)
z[0] = torch.tensor([0.0, 1.0, 1.0])
emit("binary_crossentropy_probabilities", "BinaryCrossentropy", {"from_logits": 0},
     {"y_true": z, "y_pred": torch.rand(6, 3, dtype=torch.float64) * 0.98 + 0.01}, ["y_pred"],
     keras_binary_crossentropy)

# Probabilities of exactly 0 and 1 (and beyond the clip): Keras's clip to [1e-7, 1 - 1e-7].
# (PyTorch's BCELoss instead clamps the log at -100: a different convention.)
emit("binary_crossentropy_clipped", "BinaryCrossentropy", {"from_logits": 0},
     {"y_true": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.3, 0.7]], dtype=torch.float64),
      "y_pred": torch.tensor([[0.0, 1.0], [0.0, 1.0], [1e-9, 0.5], [1.0, 0.0]], dtype=torch.float64)},
     ["y_pred"], keras_binary_crossentropy)

# Logits, including +-100 and +-1e4 (PyTorch's BCEWithLogitsLoss is stable there).
logits = randn(5, 4) * 3
logits[0] = torch.tensor([100.0, -100.0, 1e4, -1e4])
logits[1] = torch.tensor([-100.0, 100.0, -1e4, 1e4])
z = bits(20).reshape(5, 4)
z[0] = torch.tensor([1.0, 0.0, 1.0, 0.0])  # confidently right
z[1] = torch.tensor([1.0, 0.0, 1.0, 0.0])  # confidently wrong
emit("binary_crossentropy_logits", "BinaryCrossentropy", {"from_logits": 1}, {"y_true": z, "y_pred": logits},
     ["y_pred"], lambda y_true, y_pred: nn.BCEWithLogitsLoss(reduction="none")(y_pred, y_true).mean(dim=1))

# Categorical: soft targets (strictly inside (0, 1), so that gradcheck may perturb
# them; one-hot targets are the sparse cases below); logits through F.cross_entropy
# (probability targets, PyTorch >= 1.10); probabilities (rows not summing to 1)
# through Keras's rescale and clip.
targets = torch.softmax(randn(5, 4), dim=1)
emit("categorical_crossentropy_logits", "CategoricalCrossentropy", {"from_logits": 1},
     {"y_true": targets, "y_pred": randn(5, 4) * 2}, ["y_true", "y_pred"],
     lambda y_true, y_pred: F.cross_entropy(y_pred, y_true, reduction="none"))
probabilities = torch.rand(5, 4, dtype=torch.float64) + 0.05
emit("categorical_crossentropy_probabilities", "CategoricalCrossentropy", {"from_logits": 0},
     {"y_true": targets, "y_pred": probabilities}, ["y_true", "y_pred"],
     lambda y_true, y_pred: -(y_true * keras_log_clipped(y_pred / y_pred.sum(dim=1, keepdim=True))).sum(dim=1))

labels = torch.tensor([2, 0, 3, 3, 1, 0], dtype=torch.int64)
emit("sparse_categorical_crossentropy_logits", "SparseCategoricalCrossentropy", {"from_logits": 1},
     {"y_true": labels, "y_pred": randn(6, 4) * 2}, ["y_pred"],
     lambda y_true, y_pred: F.cross_entropy(y_pred, y_true, reduction="none"))
emit("sparse_categorical_crossentropy_probabilities", "SparseCategoricalCrossentropy", {"from_logits": 0},
     {"y_true": labels, "y_pred": torch.rand(6, 4, dtype=torch.float64) + 0.05}, ["y_pred"],
     lambda y_true, y_pred: F.nll_loss(keras_log_clipped(y_pred / y_pred.sum(dim=1, keepdim=True)), y_true,
                                       reduction="none"))

# TripletMarginLoss(swap=True) (Balntas et al. 2016, PyTorch's swap): the
# negative distance is min(d(a, n), d(p, n)). Appended last so the cases above
# keep their random draws. The positives sit near the negatives in half the
# rows, so the swap picks d(p, n) there and d(a, n) elsewhere.
for margin, p in ((1.0, 2.0), (0.5, 1.0)):
    anchor, negative = randn(8, 5), randn(8, 5)
    positive = torch.cat([negative[:4] + 0.3 * randn(4, 5), randn(4, 5)])
    emit(f"triplet_margin_loss_swap_p{p}", "TripletMarginLoss", {"margin": margin, "p": p, "eps": 1e-6, "swap": 1},
         {"anchor": anchor, "positive": positive, "negative": negative},
         ["anchor", "positive", "negative"],
         lambda anchor, positive, negative, m=margin, p=p:
             nn.TripletMarginLoss(margin=m, p=p, swap=True, reduction="none")(anchor, positive, negative))
