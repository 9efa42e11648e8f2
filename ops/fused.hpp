// Recording a fused op: one pass forward, and a hand-derived backward in plain
// loops (ops/kernels/) that is fast but not differentiable. Not installed.
//
// While no tape records, the backward runs the kernel. While an outer tape
// records (a nested tape asked for a higher derivative), the backward must be
// made of differentiable ops instead, so that the outer tape can
// differentiate it; record_fused makes that choice, once, for every fused op:
//
//   if (is_recording())
//     record_fused("relu", {x}, out,
//                  [x](const Tensor& g, BackwardContext& ctx) { /* kernel */ },
//                  [x](const Tensor& g, BackwardContext& ctx) { ctx.add(0, mul(g, greater(x, 0))); });
//
// The composed backward is either a VJP formula written with ops (as above)
// or composed_backward(f, inputs...): the gradient of the composed forward f,
// the op's oracle, taken on a tape of its own.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tg::detail {

// Records `out = name(inputs)` with a backward that runs `kernel(g, ctx)` when
// no tape records and `composed(g, ctx)` when one does. Call it as record_op
// is called, under `if (is_recording())`, so that an op outside any tape does
// not even build the two closures.
template <class Kernel, class Composed>
void record_fused(const char* name, std::initializer_list<Tensor> inputs, const Tensor& out, Kernel kernel,
                  Composed composed) {
  record_op(name, inputs, out,
            [kernel = std::move(kernel), composed = std::move(composed)](const Tensor& g, BackwardContext& ctx) {
              if (is_recording()) composed(g, ctx);
              else kernel(g, ctx);
            });
}

// The same for a list of inputs of a length known at run time.
template <class Kernel, class Composed>
void record_fused(const char* name, std::vector<Tensor> inputs, const Tensor& out, Kernel kernel, Composed composed) {
  record_op(name, std::move(inputs), out,
            [kernel = std::move(kernel), composed = std::move(composed)](const Tensor& g, BackwardContext& ctx) {
              if (is_recording()) composed(g, ctx);
              else kernel(g, ctx);
            });
}

// The gradient of f at `inputs` for the upstream g, computed on a tape of its
// own: the outer tape then records the differentiable ops of that gradient,
// and second and higher derivatives are exact.
inline std::vector<Tensor> composed_vjp(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        const std::vector<Tensor>& inputs, const Tensor& g) {
  GradientTape tape;
  tape.watch(inputs);
  Tensor y = f(inputs);
  return tape.gradient(y, inputs, g);
}

// A composed backward for record_fused: the VJP of the composed forward
// f(inputs...) (the fused op's oracle), added to each input that needs one.
template <class F, class... Inputs>
auto composed_backward(F f, Inputs... inputs) {
  return [f = std::move(f), inputs...](const Tensor& g, BackwardContext& ctx) {
    auto call = [&f](const std::vector<Tensor>& v) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) { return f(v[I]...); }(std::index_sequence_for<Inputs...>{});
    };
    std::vector<Tensor> grads = composed_vjp(call, {inputs...}, g);
    for (std::size_t i = 0; i < grads.size(); ++i)
      if (ctx.needs(i)) ctx.add(i, grads[i]);
  };
}

}  // namespace tg::detail
