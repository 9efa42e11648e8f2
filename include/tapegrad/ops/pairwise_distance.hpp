// PyTorch's F.pairwise_distance, beside cosine_similarity (ops/cosine.hpp) as
// torch.nn.functional has them: the distance of metric-learning losses.
#pragma once

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// ||x1 - x2 + eps||_p over the last axis, with eps added elementwise (it keeps
// the norm away from 0, where PyTorch's gradient of the 2-norm is NaN):
//   d_i = (sum_k |x1[i, k] - x2[i, k] + eps|^p)^(1/p)
// x1 and x2 of one floating dtype broadcast (NumPy rules, as PyTorch): (3, 4)
// with (1, 4), or an unbatched (4,) with (3, 4), give 3 distances. The last
// axis of the broadcast shape is reduced, or kept as size 1 with keepdim; two
// 1-D (or 0-d) inputs give a 0-d distance. p is any p tg::norm takes (0: the
// number of nonzero differences, +-infinity: the largest / smallest
// |difference|, p < 0), eps finite. Composed of sub, add and norm, so its
// gradient is norm's, summed back over broadcast axes:
//   d/dx1 = g * sign(v) |v|^(p-1) / d^(p-1),  v = x1 - x2 + eps;  d/dx2 = -d/dx1.
//   x1 = [[0, 0]], x2 = [[3, 4]], eps = 0  -> [5]
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6,
                         bool keepdim = false);

}  // namespace tg
