// Every loss (namespace tg::losses). Target-style losses take (y_true, y_pred),
// pair losses (x1, x2, label), triplet losses (anchor, positive, negative);
// each header says so again. docs/losses.md compares them with Keras, PyTorch
// and sentence-transformers.
#pragma once

#include "tapegrad/losses/cosine.hpp"
#include "tapegrad/losses/crossentropy.hpp"
#include "tapegrad/losses/loss.hpp"
#include "tapegrad/losses/metric_learning.hpp"
#include "tapegrad/losses/regression.hpp"
