// Models and training (namespace tg): Model, Sequential, compile/fit/evaluate/
// predict, callbacks, metrics, summary and weights I/O. docs/models.md
// describes the training API.
#pragma once

#include "tapegrad/models/callbacks.hpp"
#include "tapegrad/models/metrics.hpp"
#include "tapegrad/models/model.hpp"
