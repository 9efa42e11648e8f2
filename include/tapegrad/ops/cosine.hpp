// The cosine family: normalization, norms over several axes, cosine
// similarity with PyTorch's broadcasting semantics, and the pairwise
// similarity matrix. Each matches its reference system number for number
// (docs/cosine.md gives the exact formulas and where we deliberately differ).
//
// Every eps clamp here is differentiable: max(||x||, eps) passes the gradient
// to ||x|| where ||x|| > eps and to nothing where ||x|| < eps, so the gradient
// is the true derivative of the computed value everywhere, including for
// vectors whose norm is below eps (where PyTorch's gradient is not). At ||x||
// exactly 0 the gradient of x / max(||x||, eps) is g / eps, as PyTorch's.
#pragma once

#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

// Keras / TensorFlow: x / sqrt(max(sum(x^2, axes, keepdims), eps)). Note the eps
// is on the *squared* norm: vectors are scaled by at most 1/sqrt(eps) = 1e6.
// `axes` is one int or a list; `{}` is every axis (Keras's axis=None).
Tensor l2_normalize(const Tensor& x, const Axes& axes = -1, double eps = 1e-12);

// PyTorch F.normalize: x / max(||x||_p over axes (keepdims), eps), for p = 1, 2,
// infinity or any p > 0, over one axis or several (e.g. {1, 2, 3} for NCHW).
// A 0-d x takes axis 0 or -1 and gives x / max(|x|, eps), its sign.
Tensor normalize(const Tensor& x, double p = 2.0, const Axes& axes = {1}, double eps = 1e-12);

// PyTorch 1.12+ F.cosine_similarity: broadcast x1 and x2 to a common shape, then
// sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps), axis); the axis is removed.
// Results are clamped to [-1, 1] (PyTorch's float32 result can exceed 1); a
// NaN or infinite element gives NaN. Zero vectors give 0. Two 0-d tensors take
// axis 0 or -1 (as PyTorch): sign(x1) * sign(x2), 0 if either is 0.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis = 1, double eps = 1e-8);

// 1 - cosine_similarity(x1, x2, axis, eps): 0 for equal directions, 2 for opposite ones.
Tensor cosine_distance(const Tensor& x1, const Tensor& x2, int axis = 1, double eps = 1e-8);

// S[i, j] = cosine_similarity(a[i], b[j]) for a (N, D) and b (M, D): rows are
// normalized (eps clamp as cosine_similarity) and multiplied once, a_hat @ b_hat^T,
// with no (N, M, D) intermediate. Batched: (B, N, D) x (B, M, D) -> (B, N, M).
// The one-argument form compares the rows of `a` with each other.
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps = 1e-8);
Tensor cosine_similarity_matrix(const Tensor& a, double eps = 1e-8);

// The same functions composed from core ops only, with no fused kernel: the
// test oracles for the fused versions above (values and gradients must agree).
namespace composed {
Tensor l2_normalize(const Tensor& x, const Axes& axes, double eps = 1e-12);
Tensor normalize(const Tensor& x, double p, const Axes& axes, double eps = 1e-12);
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis = 1, double eps = 1e-8);
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps = 1e-8);
}  // namespace composed

}  // namespace tg
