// The ops the tape accumulates gradients with (autodiff/gradient_algebra.hpp
// says why they are injected this way).
#include "tapegrad/autodiff/gradient_algebra.hpp"

#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg::detail {

namespace {
constexpr GradientAlgebra kOpsAlgebra{
    [](const Tensor& a, const Tensor& b) { return tg::add(a, b); },
    [](const std::vector<Tensor>& parts) { return tg::concat(parts, 0); },
    [](const Tensor& indices, const Tensor& values, std::int64_t num_rows) {
      return tg::scatter_add_rows(indices, values, num_rows);
    },
};
}  // namespace

const GradientAlgebra& gradient_algebra() { return kOpsAlgebra; }

}  // namespace tg::detail
