// Every optimizer and learning-rate schedule (namespace tg::optimizers).
// optimizers/optimizer.hpp says what apply_gradients does and checks;
// docs/optimizers.md gives the formulas, the sparse (lazy) semantics and the
// differences from Keras and PyTorch.
#pragma once

#include "tapegrad/optimizers/adagrad.hpp"
#include "tapegrad/optimizers/adam.hpp"
#include "tapegrad/optimizers/optimizer.hpp"
#include "tapegrad/optimizers/rmsprop.hpp"
#include "tapegrad/optimizers/schedules.hpp"
#include "tapegrad/optimizers/sgd.hpp"
