// SGD with optional (Nesterov) momentum: Keras's formulas (see sgd.hpp).
#include "tapegrad/optimizers/sgd.hpp"

namespace tg::optimizers {

namespace {

template <class T>
void sgd_update(const UpdateBlock<T>& block, const StepInfo& step, double momentum_value, bool nesterov) {
  const T lr = static_cast<T>(step.learning_rate);
  const T momentum = static_cast<T>(momentum_value);
  if (momentum_value == 0.0) {
    block.for_each_row([&](T* w, const T* g, const auto&, std::int64_t n) {
      for (std::int64_t j = 0; j < n; ++j) w[j] -= g[j] * lr;
    });
  } else if (!nesterov) {
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

}  // namespace

SGD::SGD(LearningRate learning_rate, double momentum, bool nesterov)
    : Optimizer("SGD", learning_rate), momentum_(momentum), nesterov_(nesterov) {
  // Keras accepts momentum in [0, 1]; above 1 the velocity grows without bound.
  check_hyperparameter(momentum >= 0.0 && momentum <= 1.0, "momentum", "in [0, 1]", momentum);
}

SGD::SGD(const Options& options) : SGD(options.learning_rate, options.momentum, options.nesterov) {}

SGD::Options SGD::options() const { return {learning_rate_setting(), momentum_, nesterov_}; }

std::unique_ptr<Optimizer> SGD::clone() const { return std::make_unique<SGD>(options()); }

std::vector<SlotSpec> SGD::slot_specs() const {
  if (momentum_ == 0.0) return {};
  return {{"momentum", 0.0}};
}

void SGD::update(const UpdateBlock<float>& block, const StepInfo& step) const {
  sgd_update(block, step, momentum_, nesterov_);
}
void SGD::update(const UpdateBlock<double>& block, const StepInfo& step) const {
  sgd_update(block, step, momentum_, nesterov_);
}

std::string SGD::hyperparameters() const {
  return "momentum=" + format_number(momentum_) + ", nesterov=" + (nesterov_ ? "true" : "false");
}

}  // namespace tg::optimizers
