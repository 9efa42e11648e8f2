// Adagrad: Keras's formulas (see adagrad.hpp).
#include "tapegrad/optimizers/adagrad.hpp"

#include <cmath>

namespace tg::optimizers {

// Slot s[0] = accumulator.
template <class T>
void Adagrad::update_block(const UpdateBlock<T>& block, const StepInfo& step) const {
  const T lr = static_cast<T>(step.learning_rate);
  const T epsilon = static_cast<T>(options_.epsilon);
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

Adagrad::Adagrad(LearningRate learning_rate, double initial_accumulator_value, double epsilon)
    : Adagrad(Options{learning_rate, initial_accumulator_value, epsilon}) {}

Adagrad::Adagrad(const Options& options) : OptimizerWithOptions("Adagrad", options) {
  check_hyperparameter(options.initial_accumulator_value >= 0.0 && std::isfinite(options.initial_accumulator_value),
                       "initial_accumulator_value", "a finite number >= 0", options.initial_accumulator_value);
  check_epsilon(options.epsilon);
}

std::vector<SlotSpec> Adagrad::slot_specs() const {
  return {{"accumulator", options_.initial_accumulator_value}};
}

std::string Adagrad::hyperparameters() const {
  return "initial_accumulator_value=" + format_number(options_.initial_accumulator_value) +
         ", epsilon=" + format_number(options_.epsilon);
}

template class OptimizerWithOptions<Adagrad, AdagradOptions>;

}  // namespace tg::optimizers
