// Adam and AdamW: Keras's formulas (see adam.hpp), one kernel for both.
#include "tapegrad/optimizers/adam.hpp"

#include <cmath>

namespace tg::optimizers {

namespace {

// Slots: s[0] = m, s[1] = v, s[2] = v_hat (amsgrad only). weight_decay = 0 for Adam.
template <class T>
void adam_update(const UpdateBlock<T>& block, const StepInfo& step, double beta_1, double beta_2, double epsilon_value,
                 bool amsgrad, double weight_decay) {
  // The per-step scalars once, in double, then in the variable's dtype.
  const double t = static_cast<double>(step.step);
  const T alpha = static_cast<T>(step.learning_rate * std::sqrt(1.0 - std::pow(beta_2, t)) / (1.0 - std::pow(beta_1, t)));
  const T one_minus_beta_1 = static_cast<T>(1.0 - beta_1);
  const T one_minus_beta_2 = static_cast<T>(1.0 - beta_2);
  const T epsilon = static_cast<T>(epsilon_value);
  const T decay = static_cast<T>(weight_decay * step.learning_rate);
  block.for_each_row([&](T* w, const T* g, const auto& s, std::int64_t n) {
    T* m = s[0];
    T* v = s[1];
    if (weight_decay != 0.0)
      for (std::int64_t j = 0; j < n; ++j) w[j] -= w[j] * decay;
    if (!amsgrad) {
      for (std::int64_t j = 0; j < n; ++j) {
        const T gj = g[j];
        const T mj = m[j] + (gj - m[j]) * one_minus_beta_1;
        const T vj = v[j] + (gj * gj - v[j]) * one_minus_beta_2;
        m[j] = mj;
        v[j] = vj;
        w[j] -= mj * alpha / (std::sqrt(vj) + epsilon);
      }
    } else {
      T* v_hat = s[2];
      for (std::int64_t j = 0; j < n; ++j) {
        const T gj = g[j];
        const T mj = m[j] + (gj - m[j]) * one_minus_beta_1;
        const T vj = v[j] + (gj * gj - v[j]) * one_minus_beta_2;
        const T hj = v_hat[j] > vj ? v_hat[j] : vj;
        m[j] = mj;
        v[j] = vj;
        v_hat[j] = hj;
        w[j] -= mj * alpha / (std::sqrt(hj) + epsilon);
      }
    }
  });
}

std::vector<SlotSpec> adam_slots(bool amsgrad) {
  std::vector<SlotSpec> slots = {{"momentum", 0.0}, {"velocity", 0.0}};
  if (amsgrad) slots.push_back({"velocity_hat", 0.0});
  return slots;
}

std::string adam_hyperparameters(double beta_1, double beta_2, double epsilon, bool amsgrad) {
  return "beta_1=" + format_number(beta_1) + ", beta_2=" + format_number(beta_2) +
         ", epsilon=" + format_number(epsilon) + ", amsgrad=" + (amsgrad ? "true" : "false");
}

}  // namespace

// ---- Adam ---------------------------------------------------------------------------

template <class T>
void Adam::update_block(const UpdateBlock<T>& block, const StepInfo& step) const {
  adam_update(block, step, options_.beta_1, options_.beta_2, options_.epsilon, options_.amsgrad, 0.0);
}

Adam::Adam(LearningRate learning_rate, double beta_1, double beta_2, double epsilon, bool amsgrad)
    : Adam(Options{learning_rate, beta_1, beta_2, epsilon, amsgrad}) {}

Adam::Adam(const Options& options) : OptimizerWithOptions("Adam", options) {
  check_hyperparameter(options.beta_1 >= 0.0 && options.beta_1 < 1.0, "beta_1", "in [0, 1)", options.beta_1);
  check_hyperparameter(options.beta_2 >= 0.0 && options.beta_2 < 1.0, "beta_2", "in [0, 1)", options.beta_2);
  check_epsilon(options.epsilon);
}

std::vector<SlotSpec> Adam::slot_specs() const { return adam_slots(options_.amsgrad); }

std::string Adam::hyperparameters() const {
  return adam_hyperparameters(options_.beta_1, options_.beta_2, options_.epsilon, options_.amsgrad);
}

template class OptimizerWithOptions<Adam, AdamOptions>;

// ---- AdamW --------------------------------------------------------------------------

template <class T>
void AdamW::update_block(const UpdateBlock<T>& block, const StepInfo& step) const {
  adam_update(block, step, options_.beta_1, options_.beta_2, options_.epsilon, options_.amsgrad,
              options_.weight_decay);
}

AdamW::AdamW(LearningRate learning_rate, double weight_decay, double beta_1, double beta_2, double epsilon,
             bool amsgrad)
    : AdamW(Options{learning_rate, weight_decay, beta_1, beta_2, epsilon, amsgrad}) {}

AdamW::AdamW(const Options& options) : OptimizerWithOptions("AdamW", options) {
  check_hyperparameter(options.weight_decay >= 0.0 && std::isfinite(options.weight_decay), "weight_decay",
                       "a finite number >= 0", options.weight_decay);
  check_hyperparameter(options.beta_1 >= 0.0 && options.beta_1 < 1.0, "beta_1", "in [0, 1)", options.beta_1);
  check_hyperparameter(options.beta_2 >= 0.0 && options.beta_2 < 1.0, "beta_2", "in [0, 1)", options.beta_2);
  check_epsilon(options.epsilon);
}

std::vector<SlotSpec> AdamW::slot_specs() const { return adam_slots(options_.amsgrad); }

std::string AdamW::hyperparameters() const {
  return "weight_decay=" + format_number(options_.weight_decay) + ", " +
         adam_hyperparameters(options_.beta_1, options_.beta_2, options_.epsilon, options_.amsgrad);
}

template class OptimizerWithOptions<AdamW, AdamWOptions>;

}  // namespace tg::optimizers
