// The three operations the tape sums gradients with, supplied by the ops layer.
//
// The tape adds the gradients that reach one tensor, concatenates the rows of
// row-sparse ones and densifies them; it knows no op to do so. These must be
// the library's differentiable ops: when an outer tape watches a gradient, the
// accumulation is recorded on it like any other computation, which is what
// makes nested tapes give second derivatives.
//
// How they reach the tape: link-time injection. gradient_algebra() is declared
// here and defined in ops/gradient_algebra.cpp. Because the tape calls it, the
// linker must resolve it, and pulls that object file out of a static
// libtapegrad whatever the program uses; a self-registering static object in
// ops/ would be dropped from a static library unless something else
// referenced its file, and registering on an op's first use would put a check
// in every op. The price: autodiff does not link without ops (they are one
// library), and a build without ops fails at link time naming this function.
// Nothing of autodiff includes an ops header (scripts/check_includes.sh).
#pragma once

#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::detail {

struct GradientAlgebra {
  // a + b, of one shape and dtype.
  Tensor (*add)(const Tensor& a, const Tensor& b);
  // The tensors joined along axis 0 (the indices, or the values, of the
  // row-sparse gradients reaching one tensor).
  Tensor (*concat_rows)(const std::vector<Tensor>& parts);
  // Zeros of num_rows rows of values' row shape, with values[k] added to row
  // indices[k] (repeated indices add up).
  Tensor (*scatter_add_rows)(const Tensor& indices, const Tensor& values, std::int64_t num_rows);
};

// Defined by the ops layer (ops/gradient_algebra.cpp).
const GradientAlgebra& gradient_algebra();

}  // namespace tg::detail
