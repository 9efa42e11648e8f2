// The cosine family. docs/cosine.md derives each formula and gradient.
#include "tapegrad/ops/cosine.hpp"

#include <cmath>

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

namespace {

void check_eps(const char* op, double eps) {
  if (!(eps >= 0))
    throw std::invalid_argument(std::string(op) + ": eps must be >= 0, received " + std::to_string(eps));
}

}  // namespace

// ---- composed versions: the oracles ------------------------------------------

namespace composed {

Tensor l2_normalize(const Tensor& x, const Axes& axes, double eps) {
  detail::check_float("l2_normalize", x);
  check_eps("l2_normalize", eps);
  return div(x, sqrt(maximum(sum(square(x), axes, true), eps)));
}

Tensor normalize(const Tensor& x, double p, const Axes& axes, double eps) {
  detail::check_float("normalize", x);
  check_eps("normalize", eps);
  return div(x, maximum(norm(x, p, axes, true), eps));
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  detail::check_same_float("cosine_similarity", x1, x2);
  check_eps("cosine_similarity", eps);
  Shape shape = broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  if (shape.rank() == 0)
    throw std::invalid_argument("cosine_similarity: expected tensors of rank >= 1, received two 0-d tensors");
  int a = detail::normalize_axis("cosine_similarity", axis, shape.rank());
  Tensor u = broadcast_to(x1, shape), v = broadcast_to(x2, shape);
  Tensor u_hat = div(u, maximum(norm(u, 2.0, {a}, true), eps));
  Tensor v_hat = div(v, maximum(norm(v, 2.0, {a}, true), eps));
  return clamp(sum(mul(u_hat, v_hat), {a}), -1.0, 1.0);
}

Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  detail::check_same_float("cosine_similarity_matrix", a, b);
  check_eps("cosine_similarity_matrix", eps);
  if (a.rank() < 2 || a.rank() > 3 || b.rank() != a.rank() || a.dim(-1) != b.dim(-1) ||
      (a.rank() == 3 && a.dim(0) != b.dim(0)))
    throw std::invalid_argument("cosine_similarity_matrix: expected (N, D) and (M, D), or (B, N, D) and (B, M, D), "
                                "received " + a.shape().str() + " and " + b.shape().str());
  Tensor a_hat = div(a, maximum(norm(a, 2.0, {-1}, true), eps));
  Tensor b_hat = div(b, maximum(norm(b, 2.0, {-1}, true), eps));
  return clamp(matmul(a_hat, b_hat, false, true), -1.0, 1.0);
}

}  // namespace composed

// ---- public versions -----------------------------------------------------------

Tensor l2_normalize(const Tensor& x, int axis, double eps) { return composed::l2_normalize(x, {axis}, eps); }
Tensor l2_normalize(const Tensor& x, const Axes& axes, double eps) { return composed::l2_normalize(x, axes, eps); }

Tensor normalize(const Tensor& x, double p, const Axes& axes, double eps) {
  return composed::normalize(x, p, axes, eps);
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  return composed::cosine_similarity(x1, x2, axis, eps);
}

Tensor cosine_distance(const Tensor& x1, const Tensor& x2, int axis, double eps) {
  return 1.0 - cosine_similarity(x1, x2, axis, eps);
}

Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps) {
  return composed::cosine_similarity_matrix(a, b, eps);
}

Tensor cosine_similarity_matrix(const Tensor& a, double eps) { return cosine_similarity_matrix(a, a, eps); }

}  // namespace tg
