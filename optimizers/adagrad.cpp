// Adagrad: Keras's formulas (see adagrad.hpp).
#include "tapegrad/optimizers/adagrad.hpp"

#include <cmath>

namespace tg::optimizers {

namespace {

// Slot s[0] = accumulator.
template <class T>
void adagrad_update(const UpdateBlock<T>& block, const StepInfo& step, double epsilon_value) {
  const T lr = static_cast<T>(step.learning_rate);
  const T epsilon = static_cast<T>(epsilon_value);
  block.for_each_row([&](T* w, const T* g, const auto& s, std::int64_t n) {
    T* accumulator = s[0];
    for (std::int64_t j = 0; j < n; ++j) {
      const T gj = g[j];
      const T aj = accumulator[j] + gj * gj;
      accumulator[j] = aj;
      w[j] -= lr * gj / std::sqrt(aj + epsilon);
    }
  });
}

}  // namespace

Adagrad::Adagrad(LearningRate learning_rate, double initial_accumulator_value, double epsilon)
    : Adagrad(Options{learning_rate, initial_accumulator_value, epsilon}) {}

Adagrad::Adagrad(const Options& options) : Optimizer("Adagrad", options.learning_rate), options_(options) {
  check_hyperparameter(options.initial_accumulator_value >= 0.0 && std::isfinite(options.initial_accumulator_value),
                       "initial_accumulator_value", "a finite number >= 0", options.initial_accumulator_value);
  check_epsilon(options.epsilon);
}

Adagrad::Options Adagrad::options() const {
  Options options = options_;
  options.learning_rate = learning_rate_setting();
  return options;
}

std::unique_ptr<Optimizer> Adagrad::clone() const { return std::make_unique<Adagrad>(options()); }

std::vector<SlotSpec> Adagrad::slot_specs() const {
  return {{"accumulator", options_.initial_accumulator_value}};
}

void Adagrad::update(const UpdateBlock<float>& block, const StepInfo& step) const {
  adagrad_update(block, step, options_.epsilon);
}
void Adagrad::update(const UpdateBlock<double>& block, const StepInfo& step) const {
  adagrad_update(block, step, options_.epsilon);
}

std::string Adagrad::hyperparameters() const {
  return "initial_accumulator_value=" + format_number(options_.initial_accumulator_value) +
         ", epsilon=" + format_number(options_.epsilon);
}

}  // namespace tg::optimizers
