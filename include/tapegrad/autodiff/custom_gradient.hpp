// TensorFlow's tf.custom_gradient: a function that returns its value and the
// function of its gradient, recorded on the tapes as ONE op, so that a user
// writes a custom op without record_op and BackwardContext.
//
//   // log(1 + exp(x)) with a gradient that stays finite for large x (TF's example)
//   tg::Tensor log1pexp(const tg::Tensor& x) {
//     return tg::custom_gradient("log1pexp", {x}, [](const std::vector<tg::Tensor>& in) {
//       tg::Tensor e = tg::exp(in[0]);
//       return tg::CustomGradient{tg::log(1.0 + e), [e](const tg::Tensor& upstream) {
//         return std::vector<tg::Tensor>{upstream * (1.0 - 1.0 / (1.0 + e))};
//       }};
//     });
//   }
//
// The forward runs with every tape paused (its inner ops are not recorded);
// the op "log1pexp" is recorded on the tapes that watch an input, and its
// backward calls the gradient function. Write that function with tg ops: a
// nested tape then differentiates it (second derivatives). Values computed in
// the forward (`e` above) are constants to every tape, as in TensorFlow, so a
// gradient function meant to be differentiated again computes from the inputs
// it captures: [x = in[0]](const Tensor& u) { return {u * tg::sigmoid(x)}; }.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

struct CustomGradient {
  Tensor value;
  // upstream (the value's shape) -> one gradient per input, each of the
  // input's shape and dtype; an undefined tensor means "no gradient" (zero).
  std::function<std::vector<Tensor>(const Tensor& upstream)> gradient;
};

// Runs f(inputs) and records its value as the op `name` (it names the op in
// the tape's printout and in error messages). Throws std::invalid_argument,
// naming the op, for an empty name or function, an undefined value, or (when
// the backward runs) a gradient function returning the wrong number of
// gradients or a gradient of the wrong shape or dtype.
Tensor custom_gradient(const std::string& name, const std::vector<Tensor>& inputs,
                       const std::function<CustomGradient(const std::vector<Tensor>&)>& f);

}  // namespace tg
