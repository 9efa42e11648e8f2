// gradcheck: compare the tape's gradients with central finite differences.
//
//   auto f = [](const std::vector<tg::Tensor>& v) { return tg::sum(v[0] * v[1]); };
//   tg::GradcheckResult r = tg::gradcheck(f, {a, b});
//   if (!r) std::cerr << r;       // which input, which element, analytic vs numeric
//
// The check (as PyTorch's torch.autograd.gradcheck): inputs are converted to
// float64; a fixed-seed random upstream gradient u of the output's shape is
// pulled back by the tape (a random u catches transposed gradients that an
// all-ones u hides); each input element is perturbed by +-eps and the
// derivative of sum(u * f) is estimated as (f+ - f-) / (2 eps). An element
// passes when |analytic - numeric| <= atol + rtol * |numeric|.
// Besides the values it checks that
//   - using the function twice in one graph gives exactly twice the gradient
//     (accumulation adds, never overwrites);
//   - computing the gradient twice gives identical results (determinism);
//   - when only one input is watched, no backward computes a gradient for the
//     other inputs or for constants the function uses (each op computes only
//     the gradients that are needed).
// int64 inputs (indices) are passed through unchanged and not checked.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // PyTorch's defaults, meant for float64
  double rtol = 1e-3;
  DType dtype = DType::float64;  // the inputs are converted to this dtype
  std::uint64_t seed = 0;        // of the random upstream gradient
  // Which floating inputs to check; empty means all of them.
  std::vector<bool> requires_grad;
  bool check_accumulation = true;
  bool check_determinism = true;
  bool check_unneeded = true;

  // Defaults that work for a check run in float32: step 1e-3, atol 1e-3, rtol 1e-2.
  static GradcheckOptions float32();
};

struct GradcheckInputReport {
  std::size_t input = 0;
  bool checked = false;  // false for int64 inputs and inputs not requiring grad
  bool passed = true;
  std::vector<std::int64_t> worst_index;  // the element with the largest error relative to its tolerance
  double analytic = 0, numeric = 0, abs_error = 0, rel_error = 0;
};

struct GradcheckResult {
  bool passed = true;
  std::vector<GradcheckInputReport> inputs;
  std::vector<std::string> failures;  // one sentence per failed check
  explicit operator bool() const { return passed; }
  std::string str() const;
};
std::ostream& operator<<(std::ostream& os, const GradcheckResult& result);

using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// Checks second derivatives: gradcheck of the function x -> d/dx sum(u * f(x)),
// whose gradient the tape computes through a nested tape.
GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tg
