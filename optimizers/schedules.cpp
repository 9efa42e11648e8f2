// Learning-rate schedules (the formulas are in the header, after Keras's
// keras/src/optimizers/schedules/learning_rate_schedule.py).
#include "tapegrad/optimizers/schedules.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "tapegrad/optimizers/optimizer.hpp"

namespace tg::optimizers {

namespace {

[[noreturn]] void fail(const char* schedule, const std::string& message) {
  throw std::invalid_argument(std::string(schedule) + ": " + message);
}

void check_rate(const char* schedule, const char* what, double value) {
  if (!(value >= 0.0) || !std::isfinite(value))
    fail(schedule, std::string(what) + " must be a finite number >= 0, received " + format_number(value));
}

void check_steps(const char* schedule, const char* what, std::int64_t steps) {
  if (steps <= 0) fail(schedule, std::string(what) + " must be > 0, received " + std::to_string(steps));
}

void check_step(const char* schedule, std::int64_t step) {
  if (step < 0) fail(schedule, "step must be >= 0, received " + std::to_string(step));
}

const char* boolean(bool value) { return value ? "true" : "false"; }

}  // namespace

// ---- DecayRateSchedule ----------------------------------------------------------------

DecayRateSchedule::DecayRateSchedule(const char* name, double initial_learning_rate, std::int64_t decay_steps,
                                     double decay_rate, bool staircase)
    : name_(name),
      initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  check_rate(name, "initial_learning_rate", initial_learning_rate);
  check_steps(name, "decay_steps", decay_steps);
}

double DecayRateSchedule::progress(std::int64_t step) const {
  check_step(name_, step);
  if (staircase_) return static_cast<double>(step / decay_steps_);
  return static_cast<double>(step) / static_cast<double>(decay_steps_);
}

std::string DecayRateSchedule::repr() const {
  return std::string(name_) + "(initial_learning_rate=" + format_number(initial_learning_rate_) +
         ", decay_steps=" + std::to_string(decay_steps_) + ", decay_rate=" + format_number(decay_rate_) +
         ", staircase=" + boolean(staircase_) + ")";
}

// ---- ExponentialDecay ---------------------------------------------------------------

ExponentialDecay::ExponentialDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate,
                                   bool staircase)
    : DecayRateSchedule("ExponentialDecay", initial_learning_rate, decay_steps, decay_rate, staircase) {
  if (!(decay_rate > 0.0) || !std::isfinite(decay_rate))
    fail("ExponentialDecay", "decay_rate must be a finite number > 0, received " + format_number(decay_rate));
}

double ExponentialDecay::operator()(std::int64_t step) const {
  return initial_learning_rate_ * std::pow(decay_rate_, progress(step));
}

// ---- InverseTimeDecay ---------------------------------------------------------------

InverseTimeDecay::InverseTimeDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate,
                                   bool staircase)
    : DecayRateSchedule("InverseTimeDecay", initial_learning_rate, decay_steps, decay_rate, staircase) {
  check_rate("InverseTimeDecay", "decay_rate", decay_rate);
}

double InverseTimeDecay::operator()(std::int64_t step) const {
  return initial_learning_rate_ / (1.0 + decay_rate_ * progress(step));
}

// ---- LinearDecay --------------------------------------------------------------------

LinearDecay::LinearDecay(double initial_learning_rate, double final_learning_rate, std::int64_t total_steps)
    : initial_learning_rate_(initial_learning_rate),
      final_learning_rate_(final_learning_rate),
      total_steps_(total_steps) {
  check_rate("LinearDecay", "initial_learning_rate", initial_learning_rate);
  check_rate("LinearDecay", "final_learning_rate", final_learning_rate);
  check_steps("LinearDecay", "total_steps", total_steps);
}

double LinearDecay::operator()(std::int64_t step) const {
  check_step("LinearDecay", step);
  if (step >= total_steps_) return final_learning_rate_;
  const double progress = static_cast<double>(step) / static_cast<double>(total_steps_);
  return initial_learning_rate_ + (final_learning_rate_ - initial_learning_rate_) * progress;
}

std::string LinearDecay::repr() const {
  return "LinearDecay(initial_learning_rate=" + format_number(initial_learning_rate_) +
         ", final_learning_rate=" + format_number(final_learning_rate_) +
         ", total_steps=" + std::to_string(total_steps_) + ")";
}

// ---- PolynomialDecay ----------------------------------------------------------------

PolynomialDecay::PolynomialDecay(double initial_learning_rate, std::int64_t decay_steps, double end_learning_rate,
                                 double power, bool cycle)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      end_learning_rate_(end_learning_rate),
      power_(power),
      cycle_(cycle) {
  check_rate("PolynomialDecay", "initial_learning_rate", initial_learning_rate);
  check_rate("PolynomialDecay", "end_learning_rate", end_learning_rate);
  check_steps("PolynomialDecay", "decay_steps", decay_steps);
  if (!(power > 0.0) || !std::isfinite(power))
    fail("PolynomialDecay", "power must be a finite number > 0, received " + format_number(power));
}

double PolynomialDecay::operator()(std::int64_t step) const {
  check_step("PolynomialDecay", step);
  double steps = static_cast<double>(decay_steps_);
  double s = static_cast<double>(step);
  if (cycle_) {
    // The first multiple of decay_steps that is >= step (decay_steps at step 0).
    const std::int64_t multiple = step == 0 ? 1 : (step + decay_steps_ - 1) / decay_steps_;
    steps = static_cast<double>(multiple) * static_cast<double>(decay_steps_);
  } else {
    s = std::min(s, steps);
  }
  return (initial_learning_rate_ - end_learning_rate_) * std::pow(1.0 - s / steps, power_) + end_learning_rate_;
}

std::string PolynomialDecay::repr() const {
  return "PolynomialDecay(initial_learning_rate=" + format_number(initial_learning_rate_) +
         ", decay_steps=" + std::to_string(decay_steps_) + ", end_learning_rate=" + format_number(end_learning_rate_) +
         ", power=" + format_number(power_) + ", cycle=" + boolean(cycle_) + ")";
}

// ---- CosineDecay --------------------------------------------------------------------

CosineDecay::CosineDecay(double initial_learning_rate, std::int64_t decay_steps, double alpha)
    : initial_learning_rate_(initial_learning_rate), decay_steps_(decay_steps), alpha_(alpha) {
  check_rate("CosineDecay", "initial_learning_rate", initial_learning_rate);
  check_steps("CosineDecay", "decay_steps", decay_steps);
  if (!(alpha >= 0.0 && alpha <= 1.0))
    fail("CosineDecay", "alpha must be in [0, 1], received " + format_number(alpha));
}

double CosineDecay::operator()(std::int64_t step) const {
  check_step("CosineDecay", step);
  const double progress =
      static_cast<double>(std::min(step, decay_steps_)) / static_cast<double>(decay_steps_);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return initial_learning_rate_ * ((1.0 - alpha_) * cosine + alpha_);
}

std::string CosineDecay::repr() const {
  return "CosineDecay(initial_learning_rate=" + format_number(initial_learning_rate_) +
         ", decay_steps=" + std::to_string(decay_steps_) + ", alpha=" + format_number(alpha_) + ")";
}

// ---- PiecewiseConstantDecay -----------------------------------------------------------

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<std::int64_t> boundaries, std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  const char* name = "PiecewiseConstantDecay";
  if (values_.size() != boundaries_.size() + 1)
    fail(name, "expected one more value than boundaries, received " + std::to_string(boundaries_.size()) +
                   " boundaries and " + std::to_string(values_.size()) + " values");
  for (std::size_t i = 1; i < boundaries_.size(); ++i)
    if (boundaries_[i] <= boundaries_[i - 1])
      fail(name, "boundaries must be strictly increasing, received " + std::to_string(boundaries_[i - 1]) +
                     " then " + std::to_string(boundaries_[i]) + " at index " + std::to_string(i));
  for (double v : values_) check_rate(name, "every value", v);
}

double PiecewiseConstantDecay::operator()(std::int64_t step) const {
  check_step("PiecewiseConstantDecay", step);
  // values[i] for the first boundary i with step <= boundaries[i].
  const auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), step);
  return values_[static_cast<std::size_t>(it - boundaries_.begin())];
}

std::string PiecewiseConstantDecay::repr() const {
  std::string out = "PiecewiseConstantDecay(boundaries=[";
  for (std::size_t i = 0; i < boundaries_.size(); ++i) out += (i ? ", " : "") + std::to_string(boundaries_[i]);
  out += "], values=[";
  for (std::size_t i = 0; i < values_.size(); ++i) out += (i ? ", " : "") + format_number(values_[i]);
  return out + "])";
}

}  // namespace tg::optimizers
