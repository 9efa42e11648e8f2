// pairwise_distance, composed of sub, add and norm (no backward of its own).
// Its messages keep the wording they had as a loss helper (x1, x2 named as
// PyTorch names them), which the metric-learning losses and their tests use.
#include "tapegrad/ops/pairwise_distance.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument("pairwise_distance: " + message); }

void check_operand(const char* what, const Tensor& t) {
  if (!t.defined()) fail(std::string(what) + " is an undefined tensor");
  if (!t.is_floating()) fail(std::string(what) + " must be a float32 or float64 tensor, received " + detail::describe(t));
}

}  // namespace

Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps, bool keepdim) {
  check_operand("x1", x1);
  check_operand("x2", x2);
  if (x1.dtype() != x2.dtype())
    fail(std::string("x1 and x2 must have one dtype, received ") + dtype_name(x1.dtype()) + " and " +
         dtype_name(x2.dtype()) + " (convert one with .to())");
  const Shape& a = x1.shape();
  const Shape& b = x2.shape();
  const int rank = std::max(a.rank(), b.rank());
  for (int i = 1; i <= std::min(a.rank(), b.rank()); ++i)
    if (a[a.rank() - i] != b[b.rank() - i] && a[a.rank() - i] != 1 && b[b.rank() - i] != 1)
      fail("x1 and x2 must broadcast to one shape (..., features), received " + a.str() + " and " + b.str() +
           " (axis " + std::to_string(rank - i) + ": " + std::to_string(a[a.rank() - i]) + " vs " +
           std::to_string(b[b.rank() - i]) + ")");
  if (std::isnan(p)) fail("p must be a number (0, 1, 2, +-infinity or any other real p), received nan");
  if (!std::isfinite(eps)) fail("eps must be finite, received " + detail::format_number(eps));
  Tensor v = sub(x1, x2) + eps;
  // Over zero features every norm is an empty sum, 0 as PyTorch's at::norm
  // gives it, also for p < 0 and -infinity where tg::norm refuses (it has no
  // identity there): p = 1 computes that 0 and keeps the (empty) gradient path.
  const bool no_features = v.rank() > 0 && v.shape()[v.rank() - 1] == 0;
  return norm(v, no_features && p < 0 ? 1.0 : p, {-1}, keepdim);
}

}  // namespace tg
