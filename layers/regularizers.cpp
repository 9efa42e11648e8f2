#include "tapegrad/layers/regularizers.hpp"

#include <cmath>
#include <stdexcept>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tg {

Regularizer::Regularizer(const char* name) : Regularizer(std::string(name)) {}
Regularizer::Regularizer(const std::string& name) {
  if (!name.empty()) *this = regularizers::get(name);
}

Tensor Regularizer::operator()(const Tensor& x) const {
  if (!function_) throw std::logic_error("Regularizer: calling an empty regularizer (default-constructed)");
  Tensor penalty = function_(x);
  if (!penalty.defined() || penalty.numel() != 1 || !penalty.is_floating())
    throw std::invalid_argument("Regularizer " + name_ + ": expected one floating value, returned " +
                                detail::describe(penalty));
  return penalty;
}

namespace regularizers {

namespace {

// Keras's validate_float_arg: a finite factor >= 0.
double checked(const char* who, const char* arg, double factor) {
  if (!std::isfinite(factor) || factor < 0)
    throw std::invalid_argument(std::string("regularizers::") + who + ": " + arg +
                                " must be a finite number >= 0, received " + detail::format_number(factor));
  return factor;
}

}  // namespace

Regularizer l1(double factor) {
  checked("l1", "the factor", factor);
  return Regularizer([factor](const Tensor& x) { return factor * sum(abs(x)); },
                     "l1(" + detail::format_number(factor) + ")");
}

Regularizer l2(double factor) {
  checked("l2", "the factor", factor);
  return Regularizer([factor](const Tensor& x) { return factor * sum(square(x)); },
                     "l2(" + detail::format_number(factor) + ")");
}

Regularizer l1_l2(double l1, double l2) {
  checked("l1_l2", "l1", l1);
  checked("l1_l2", "l2", l2);
  return Regularizer(
      [l1, l2](const Tensor& x) {
        Tensor penalty = scalar_like(x, 0.0);
        if (l1 != 0.0) penalty = penalty + l1 * sum(abs(x));
        if (l2 != 0.0) penalty = penalty + l2 * sum(square(x));
        return penalty;
      },
      "l1_l2(" + detail::format_number(l1) + ", " + detail::format_number(l2) + ")");
}

Regularizer get(const std::string& name) {
  if (name == "l1" || name == "L1") return l1();
  if (name == "l2" || name == "L2") return l2();
  if (name == "l1_l2" || name == "L1L2" || name == "l1l2") return l1_l2(0.01, 0.01);
  throw std::invalid_argument("regularizers::get: unknown regularizer '" + name + "' (known: l1, l2, l1_l2)");
}

}  // namespace regularizers

}  // namespace tg
