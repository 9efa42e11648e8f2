// The whole public API of tapegrad: #include <tapegrad/tapegrad.hpp>.
// Finer headers (tapegrad/autodiff/*.hpp, tapegrad/ops/*.hpp, ...) can be included on their own.
#pragma once

#include "tapegrad/autodiff/custom_gradient.hpp"
#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/shape.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/checks/gradcheck.hpp"
#include "tapegrad/data/skipgram_trainer.hpp"
#include "tapegrad/data/word2vec.hpp"
#include "tapegrad/io/idx.hpp"
#include "tapegrad/io/npz.hpp"
#include "tapegrad/io/read_file.hpp"
#include "tapegrad/io/word2vec_format.hpp"
#include "tapegrad/layers.hpp"
#include "tapegrad/losses.hpp"
#include "tapegrad/models.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/optimizers.hpp"
#include "tapegrad/xtensor.hpp"  // the only header that includes xtensor
