// The parts of a gradient check, shared by tg::gradcheck of a function
// (checks/gradcheck.cpp) and of a layer (layers/gradcheck.cpp, which only
// supplies the layer's weights and its own argument checks): the option
// checks, the comparison of an analytic gradient with central differences,
// and the determinism and accumulation checks, with one wording of their
// messages ("input 0: ...", "weight 'kernel': ...").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/checks/gradcheck.hpp"

namespace tg::detail {

// sum(u * y), in double.
double project(const Tensor& u, const Tensor& y);

// "[i, j, ...]".
std::string index_str(const std::vector<std::int64_t>& index);
// The index of element `flat` of a row-major tensor of this shape.
std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape);

// Compares `analytic`, the gradient of p = sum(u * f) with respect to x, with
// (p(x + eps e_j) - p(x - eps e_j)) / (2 eps) for every element j: x is
// written in place, `projected` returns p for its current values, and x is
// restored. An element passes when |analytic - numeric| <= atol + rtol |numeric|;
// the report (input, checked left to the caller) holds the element with the
// largest error relative to that tolerance.
GradcheckInputReport compare_with_central_differences(const Tensor& x, const Tensor& analytic,
                                                      const std::function<double()>& projected,
                                                      const GradcheckOptions& options);

// The first element where a and b differ at all, or -1.
std::int64_t first_difference(const Tensor& a, const Tensor& b);

// The first element where `twice` (the gradient with the function used twice in
// one graph) is not 2 * `once` to 1e-9 relative, or -1 (gradients must be
// added, never assigned).
std::int64_t first_not_doubled(const Tensor& once, const Tensor& twice);

// As element `i` of t, in double.
double element(const Tensor& t, std::int64_t i);

// The argument checks of every gradcheck, its messages prefixed by `who`
// ("gradcheck", "gradcheck(dense (Dense))"): options.dtype floating, eps
// positive, requires_grad one entry per input, every input defined. Throws
// std::invalid_argument.
void validate_gradcheck_options(const GradcheckOptions& options, const std::vector<Tensor>& inputs,
                                const std::string& who);

// gradcheck of `tensors`, which f reads itself instead of taking them as
// arguments (a layer's weights): each is perturbed in place and restored, with
// the value, determinism and accumulation checks of gradcheck; failures are
// appended to `result` under labels[k] ("weight 'kernel'"), and "with
// `used_twice` used twice" names f in the accumulation message. `xs` are the
// arguments f is called with.
void check_captured(const TensorFunction& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& tensors,
                    const std::vector<std::string>& labels, const std::string& used_twice,
                    const GradcheckOptions& options, GradcheckResult& result);

}  // namespace tg::detail
