// Helpers the cosine family's files share (ops/cosine.cpp, ops/cosine_matrix.cpp). Not installed.
#pragma once

#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::detail {

// Throws "<op>: eps must be >= 0, received ..." for a negative or NaN eps.
void check_eps(const char* op, double eps);

// The arguments of cosine_similarity_matrix (the fused op and its composed
// oracle): one floating dtype, (N, D) and (M, D) or (B, N, D) and (B, M, D),
// and eps >= 0; throws std::invalid_argument naming the op otherwise.
void check_matrix_arguments(const Tensor& a, const Tensor& b, double eps);

// The arguments of cosine_similarity (the fused op and its composed oracle):
// one floating dtype, eps >= 0, broadcastable shapes, and an axis of the
// broadcast shape (0 or -1 when it is 0-d, as PyTorch). Returns the broadcast
// shape and the axis made non-negative (0 for a 0-d shape).
struct CosineArguments {
  Shape shape;
  int axis;
};
CosineArguments check_cosine_arguments(const Tensor& x1, const Tensor& x2, int axis, double eps);

}  // namespace tg::detail
