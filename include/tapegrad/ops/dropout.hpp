// Inverted dropout (Keras's and PyTorch's): the training-time noise of the
// Dropout layer, as an op.
#pragma once

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

// out = x * m, with one mask value per element of x, drawn in row-major order:
//   m_i = 0 if u_i < rate, else 1 / (1 - rate),   u_i = generator.uniform()
// Each element is kept with probability 1 - rate and scaled so that the
// expected value of out is x. The mask is a constant of the graph:
//   d/dx = g * m.
// rate 0 returns x itself and draws nothing from the generator; rate must be in
// [0, 1) and x float32 or float64. The same generator state gives the same mask.
//   x = [1, 2, 3, 4], rate 0.5, draws u = (0.7, 0.2, 0.9, 0.4)  -> [2, 0, 6, 0]
Tensor dropout(const Tensor& x, double rate, Generator& generator);

}  // namespace tg
