// gradcheck of a layer or a model, through its inputs and its trainable weights.
//
//   auto dense = tg::layers::Dense::make(3, "tanh");
//   tg::Tensor x = tg::randn({4, 5}, 0, tg::float64);
//   tg::GradcheckResult r = tg::gradcheck(dense, {x});   // builds float64 weights, checks x and them
//   if (!r) std::cerr << r;
//
// The inputs are checked by tg::gradcheck (checks/gradcheck.hpp, with all
// its checks). The weights cannot be handed to that function (the layer reads
// its own tensors), so checks/ checks them in place, in the same way: a fixed-seed
// random upstream gradient u is pulled back by the tape to each trainable
// weight (densified if row-sparse, as an Embedding's), then each weight
// element is perturbed in place by +-eps and d sum(u * layer(x)) / dw is
// estimated by central differences; the original value is restored
// afterwards. Also checked for the weights: a second gradient() call gives the
// same values (determinism) and calling the layer twice in one graph doubles
// them (accumulation).
//
// Requirements:
//   - the layer runs in inference mode (training = false): Dropout is the identity;
//   - the weights must have options.dtype (float64 by default). Weights take
//     the dtype of a layer's first input, so check a fresh layer (its first
//     call here, on the inputs converted to float64, builds float64 weights),
//     build a functional model on tg::Input(shape, tg::float64), and give an
//     Embedding dtype = tg::float64. A float32 weight throws, naming it;
//   - a model with several outputs is checked on their flattened concatenation.
// int64 inputs (indices) are passed through unchanged and not checked.
#pragma once

#include <type_traits>
#include <vector>

#include "tapegrad/checks/gradcheck.hpp"
#include "tapegrad/layers/layer.hpp"

namespace tg {

GradcheckResult gradcheck(const Ref<Layer>& layer, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
GradcheckResult gradcheck(const Ref<Layer>& layer, const Tensor& input, const GradcheckOptions& options = {});

// A Ref<Dense>, Ref<Model>, ...: an exact match, so that it is not taken for a
// TensorFunction (a Ref is callable on a list of tensors).
template <class T>
  requires(std::is_base_of_v<Layer, T> && !std::is_same_v<T, Layer>)
GradcheckResult gradcheck(const Ref<T>& layer, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {}) {
  return gradcheck(Ref<Layer>(layer), inputs, options);
}
template <class T>
  requires(std::is_base_of_v<Layer, T> && !std::is_same_v<T, Layer>)
GradcheckResult gradcheck(const Ref<T>& layer, const Tensor& input, const GradcheckOptions& options = {}) {
  return gradcheck(Ref<Layer>(layer), input, options);
}

}  // namespace tg
