// Learning-rate schedules: the learning rate as a function of the optimizer's
// step, as Keras's `keras.optimizers.schedules`.
//
//   auto schedule = std::make_shared<tg::optimizers::ExponentialDecay>(0.1, 1000, 0.96);
//   tg::optimizers::SGD sgd(schedule);         // or SGD(ExponentialDecay(0.1, 1000, 0.96))
//   sgd.learning_rate();                        // schedule(sgd.iterations())
//
// `step` is the number of updates already applied (Optimizer::iterations()):
// the first update uses schedule(0), the second schedule(1), and so on, as
// Keras. A schedule is a pure function of the step (no state), so optimizers
// and their clones may share one. Every schedule checks its arguments and
// throws std::invalid_argument naming itself and the value received.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::optimizers {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  // The learning rate for the update that follows `step` updates (step >= 0).
  virtual double operator()(std::int64_t step) const = 0;
  // E.g. "ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.96, staircase=false)".
  virtual std::string repr() const = 0;
};

// ---- DecayRateSchedule: what ExponentialDecay and InverseTimeDecay share ----------
// Both are Keras's (initial_learning_rate, decay_steps, decay_rate, staircase)
// and decay in p = step / decay_steps, an integer division (floor) with
// staircase = true, so that the rate drops in steps every decay_steps updates.
// They differ only in the function of p (below). decay_steps > 0,
// initial_learning_rate >= 0; each checks its decay_rate.
class DecayRateSchedule : public LearningRateSchedule {
 public:
  // E.g. "ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.96, staircase=false)".
  std::string repr() const override;

 protected:
  DecayRateSchedule(const char* name, double initial_learning_rate, std::int64_t decay_steps, double decay_rate,
                    bool staircase);
  // p at `step` (>= 0, else std::invalid_argument naming the schedule).
  double progress(std::int64_t step) const;

  const char* name_;
  double initial_learning_rate_;
  std::int64_t decay_steps_;
  double decay_rate_;
  bool staircase_;
};

// ---- ExponentialDecay (Keras) -----------------------------------------------------
//   lr(step) = initial_learning_rate * decay_rate ^ p     (p: see DecayRateSchedule)
//   ExponentialDecay(0.1, 10, 0.5)(5)        = 0.1 * 0.5^0.5 = 0.070710...
//   ExponentialDecay(0.1, 10, 0.5, true)(15) = 0.1 * 0.5^1   = 0.05
// decay_steps > 0, decay_rate > 0, initial_learning_rate >= 0.
class ExponentialDecay : public DecayRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate, bool staircase = false);
  double operator()(std::int64_t step) const override;
};

// ---- InverseTimeDecay (Keras) -----------------------------------------------------
//   lr(step) = initial_learning_rate / (1 + decay_rate * p)     (p: see DecayRateSchedule)
//   InverseTimeDecay(0.1, 10, 0.5)(20) = 0.1 / (1 + 0.5 * 2) = 0.05
// decay_steps > 0, decay_rate >= 0, initial_learning_rate >= 0.
class InverseTimeDecay : public DecayRateSchedule {
 public:
  InverseTimeDecay(double initial_learning_rate, std::int64_t decay_steps, double decay_rate, bool staircase = false);
  double operator()(std::int64_t step) const override;
};

// ---- LinearDecay ------------------------------------------------------------------
//   lr(step) = initial + (final - initial) * min(step, total_steps) / total_steps
// A straight line from initial_learning_rate (step 0) to final_learning_rate
// (step total_steps), then constant: word2vec's alpha -> min_alpha over the
// whole training run (total_steps = epochs * batches per epoch). It is Keras's
// PolynomialDecay with power 1 and no cycle, under the name people look for.
//   LinearDecay(0.025, 0.0001, 100)(50)  = 0.025 + (0.0001 - 0.025) * 0.5 = 0.01255
//   LinearDecay(0.025, 0.0001, 100)(500) = 0.0001
// total_steps > 0; both rates >= 0 (final may exceed initial: a linear warm-up).
class LinearDecay : public LearningRateSchedule {
 public:
  LinearDecay(double initial_learning_rate, double final_learning_rate, std::int64_t total_steps);
  double operator()(std::int64_t step) const override;
  std::string repr() const override;

 private:
  double initial_learning_rate_;
  double final_learning_rate_;
  std::int64_t total_steps_;
};

// ---- PolynomialDecay (Keras) ------------------------------------------------------
//   s = min(step, decay_steps)
//   lr(step) = (initial - end) * (1 - s / decay_steps) ^ power + end
// With cycle = true, decay_steps is replaced by the first multiple of
// decay_steps that is >= step (decay_steps itself at step 0), so the rate
// jumps back up and decays again every decay_steps updates.
//   PolynomialDecay(0.1, 10, 0.0, 2.0)(5)  = 0.1 * 0.5^2 = 0.025
// decay_steps > 0, power > 0, both rates >= 0.
class PolynomialDecay : public LearningRateSchedule {
 public:
  PolynomialDecay(double initial_learning_rate, std::int64_t decay_steps, double end_learning_rate = 0.0001,
                  double power = 1.0, bool cycle = false);
  double operator()(std::int64_t step) const override;
  std::string repr() const override;

 private:
  double initial_learning_rate_;
  std::int64_t decay_steps_;
  double end_learning_rate_;
  double power_;
  bool cycle_;
};

// ---- CosineDecay (Keras, without warm-up) ------------------------------------------
//   s = min(step, decay_steps)
//   lr(step) = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
// From initial_learning_rate down to alpha * initial_learning_rate over
// decay_steps updates, then constant.
//   CosineDecay(0.1, 10)(5) = 0.1 * 0.5 * (1 + cos(pi / 2)) = 0.05
// decay_steps > 0, alpha in [0, 1], initial_learning_rate >= 0.
class CosineDecay : public LearningRateSchedule {
 public:
  CosineDecay(double initial_learning_rate, std::int64_t decay_steps, double alpha = 0.0);
  double operator()(std::int64_t step) const override;
  std::string repr() const override;

 private:
  double initial_learning_rate_;
  std::int64_t decay_steps_;
  double alpha_;
};

// ---- PiecewiseConstantDecay (Keras) -------------------------------------------------
//   lr(step) = values[0]  for step <= boundaries[0]
//              values[i]  for boundaries[i-1] < step <= boundaries[i]
//              values[n]  for step > boundaries[n-1]
// boundaries strictly increasing; values.size() == boundaries.size() + 1, all >= 0.
//   PiecewiseConstantDecay({100, 200}, {1.0, 0.5, 0.1}): 1.0 up to step 100, 0.5 up to 200, then 0.1
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<std::int64_t> boundaries, std::vector<double> values);
  double operator()(std::int64_t step) const override;
  std::string repr() const override;

 private:
  std::vector<std::int64_t> boundaries_;
  std::vector<double> values_;
};

}  // namespace tg::optimizers
