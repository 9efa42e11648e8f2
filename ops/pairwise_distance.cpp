// pairwise_distance, composed of sub, add and norm (no backward of its own).
// Its messages keep the wording they had as a loss helper (x1, x2 named as
// PyTorch names them), which the metric-learning losses and their tests use.
#include "tapegrad/ops/pairwise_distance.hpp"

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

Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps) {
  check_operand("x1", x1);
  check_operand("x2", x2);
  if (x1.dtype() != x2.dtype())
    fail(std::string("x1 and x2 must have one dtype, received ") + dtype_name(x1.dtype()) + " and " +
         dtype_name(x2.dtype()) + " (convert one with .to())");
  if (x1.shape() != x2.shape())
    fail("x1 and x2 must have the same shape, received " + x1.shape().str() + " and " + x2.shape().str());
  if (x1.rank() < 1) fail("x1 must have shape (..., features), received " + x1.shape().str());
  if (!(p > 0)) fail("p must be > 0, received " + detail::format_number(p));
  if (!std::isfinite(eps)) fail("eps must be finite, received " + detail::format_number(eps));
  return norm(sub(x1, x2) + eps, p, {-1});
}

}  // namespace tg
