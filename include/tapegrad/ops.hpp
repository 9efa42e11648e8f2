// Every op family.
#pragma once

#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/batch_dot.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/cosine.hpp"
#include "tapegrad/ops/dense.hpp"
#include "tapegrad/ops/dropout.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/index.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/normalization.hpp"
#include "tapegrad/ops/pairwise_distance.hpp"
#include "tapegrad/ops/pool.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"
