// Every layer (namespace tg::layers), the layer core (tg::Layer, tg::Input,
// initializers), activations by name and the layer gradcheck. docs/layers.md
// lists the layers and shows how to write one.
#pragma once

#include "tapegrad/layers/activations.hpp"
#include "tapegrad/layers/conv.hpp"
#include "tapegrad/layers/core.hpp"
#include "tapegrad/layers/gradcheck.hpp"
#include "tapegrad/layers/layer.hpp"
#include "tapegrad/layers/merge.hpp"
#include "tapegrad/layers/normalization.hpp"
#include "tapegrad/layers/pooling.hpp"
