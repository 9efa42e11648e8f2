// SGD with optional (Nesterov) momentum: Keras's formulas (see sgd.hpp).
#include "tapegrad/optimizers/sgd.hpp"

namespace tg::optimizers {

// Slot s[0] = v (momentum > 0 only).
template <class T>
void SGD::update_block(const UpdateBlock<T>& block, const StepInfo& step) const {
  const T lr = static_cast<T>(step.learning_rate);
  const T momentum = static_cast<T>(options_.momentum);
  if (options_.momentum == 0.0) {
    block.for_each_row([&](T* w, const T* g, const auto&, std::int64_t n) {
      for (std::int64_t j = 0; j < n; ++j) w[j] -= g[j] * lr;
    });
  } else if (!options_.nesterov) {
    block.for_each_row([&](T* w, const T* g, const auto& s, std::int64_t n) {
      T* v = s[0];
      for (std::int64_t j = 0; j < n; ++j) {
        const T velocity = v[j] * momentum - g[j] * lr;
        v[j] = velocity;
        w[j] += velocity;
      }
    });
  } else {
    block.for_each_row([&](T* w, const T* g, const auto& s, std::int64_t n) {
      T* v = s[0];
      for (std::int64_t j = 0; j < n; ++j) {
        const T step_j = g[j] * lr;
        const T velocity = v[j] * momentum - step_j;
        v[j] = velocity;
        w[j] += velocity * momentum - step_j;
      }
    });
  }
}

SGD::SGD(LearningRate learning_rate, double momentum, bool nesterov)
    : SGD(Options{learning_rate, momentum, nesterov}) {}

SGD::SGD(const Options& options) : OptimizerWithOptions("SGD", options) {
  // Keras accepts momentum in [0, 1]; above 1 the velocity grows without bound.
  check_hyperparameter(options.momentum >= 0.0 && options.momentum <= 1.0, "momentum", "in [0, 1]",
                       options.momentum);
}

std::vector<SlotSpec> SGD::slot_specs() const {
  if (options_.momentum == 0.0) return {};
  return {{"momentum", 0.0}};
}

std::string SGD::hyperparameters() const {
  return "momentum=" + format_number(options_.momentum) + ", nesterov=" + (options_.nesterov ? "true" : "false");
}

template class OptimizerWithOptions<SGD, SGDOptions>;

}  // namespace tg::optimizers
