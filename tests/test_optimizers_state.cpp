// Optimizers' variables and state (clone, copy, reset), learning-rate
// schedules, repr, and bad input.
#include <limits>

#include "optimizer_checks.hpp"

using namespace optimizer_test;

// ---- variables, state, clone, copy, reset ------------------------------------------------------

TEST_CASE("optimizers: variables keep their identity; updates are not recorded") {
  Tensor w = var64({1.0, 2.0});
  Tensor alias = w;  // another handle to the same tensor, as a layer would hold
  const void* id = w.id();
  const void* data = w.raw_data();
  tg::GradientTape tape;
  Tensor y = tg::sum(tg::mul(w, w));
  const std::size_t recorded = tape.size();
  SGD sgd(0.5);
  sgd.apply_gradients({f64({1.0, 1.0})}, {w});
  CHECK(tape.size() == recorded);
  CHECK(w.id() == id);
  CHECK(w.raw_data() == data);
  CHECK(w.trainable());
  TG_CHECK_VALUES(alias, {0.5, 1.5}, 0.0, 0.0);
}

TEST_CASE("optimizers: undefined gradients skip their variable") {
  Tensor a = var64({1.0});
  Tensor b = var64({2.0});
  Adam adam(0.1);
  adam.apply_gradients(std::vector<Gradient>{Gradient(), Gradient(f64({1.0}))}, {a, b});
  adam.apply_gradients(std::vector<Tensor>{Tensor(), f64({1.0})}, {a, b});
  TG_CHECK_VALUES(a, {1.0}, 0.0, 0.0);
  CHECK(!adam.slot(a, "momentum").defined());  // no state for a variable never updated
  CHECK(adam.slot(b, "momentum").defined());
  CHECK(adam.iterations() == 2);
  CHECK(adam.num_tracked_variables() == 1);
  // All undefined: an error (Keras: "No gradients provided for any variable"); none at all too
  // (a model not built yet has no weights; Keras 3 would return quietly).
  CHECK_THROWS_WITH_AS(adam.apply_gradients(std::vector<Gradient>{Gradient(), Gradient()}, {a, b}),
                       "Adam.apply_gradients: no gradient provided for any variable (all 2 are undefined)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients(std::vector<Gradient>{}, {}),
                       doctest::Contains("Adam.apply_gradients: no variables to update (a model that is not built yet"),
                       std::invalid_argument);
  CHECK(adam.iterations() == 2);
}

TEST_CASE("optimizers: state is per variable, float32 and float64 side by side") {
  Tensor w32 = var32({1.0, -1.0});
  Tensor w64 = var64({1.0, -1.0});
  Adam adam(0.1);
  adam.apply_gradients({g32({0.5, -1.0}), f64({0.5, -1.0})}, {w32, w64});
  CHECK(adam.slot(w32, "momentum").dtype() == tg::float32);
  CHECK(adam.slot(w64, "momentum").dtype() == tg::float64);
  CHECK(adam.slot(w64, "velocity").shape() == w64.shape());
  // Same arithmetic in each dtype: float32 agrees with float64 to float32 rounding.
  TG_CHECK_TENSOR(w32.to(tg::float64), w64, 1e-6, 1e-7);
  CHECK(adam.num_tracked_variables() == 2);
  CHECK_THROWS_WITH_AS(adam.slot(w32, "nope"), "Adam.slot: no slot named 'nope' (this Adam has momentum, velocity)",
                       std::invalid_argument);
}

TEST_CASE("optimizers: the state of a destroyed variable is dropped") {
  Adam adam(0.1);
  Tensor keep = var64({1.0});
  adam.apply_gradients({f64({1.0})}, {keep});
  {
    Tensor temporary = var64({1.0, 2.0, 3.0});
    adam.apply_gradients({f64({1.0, 1.0, 1.0})}, {temporary});
    CHECK(adam.num_tracked_variables() == 2);
  }
  CHECK(adam.num_tracked_variables() == 1);
  // A new variable (possibly at the dead one's address) starts from fresh slots.
  Tensor fresh = var64({1.0, 2.0, 3.0});
  adam.apply_gradients({f64({1.0, 1.0, 1.0})}, {fresh});
  TG_CHECK_VALUES(adam.slot(fresh, "momentum"), {0.1, 0.1, 0.1}, 1e-15);
}

TEST_CASE("optimizers: clone() has the hyperparameters and no state; copies are deep; reset()") {
  Tensor w = var64({1.0, -2.0});
  Adam adam(Adam::Options{.learning_rate = 0.1, .beta_2 = 0.99, .amsgrad = true});
  adam.apply_gradients({f64({0.5, -1.0})}, {w});
  adam.set_learning_rate(0.05);

  std::unique_ptr<Optimizer> fresh = adam.clone();
  CHECK(fresh->repr() == adam.repr());
  CHECK(fresh->name() == "Adam");
  CHECK(fresh->iterations() == 0);
  CHECK(fresh->learning_rate() == 0.05);
  CHECK(fresh->num_tracked_variables() == 0);
  CHECK(!fresh->slot(w, "momentum").defined());
  // Its first step is a first step (t = 1, zero slots): as a new Adam's.
  Tensor a = var64({1.0, -2.0});
  Tensor b = var64({1.0, -2.0});
  fresh->apply_gradients({f64({0.5, -1.0})}, {a});
  Adam(Adam::Options{.learning_rate = 0.05, .beta_2 = 0.99, .amsgrad = true}).apply_gradients({f64({0.5, -1.0})}, {b});
  CHECK(same_bits(a, b));
  CHECK(adam.iterations() == 1);  // the original is untouched

  // A copy carries the state, in tensors of its own.
  Adam copy = adam;
  CHECK(copy.iterations() == 1);
  CHECK(same_bits(copy.slot(w, "velocity"), adam.slot(w, "velocity")));
  CHECK(copy.slot(w, "velocity").raw_data() != adam.slot(w, "velocity").raw_data());
  copy.apply_gradients({f64({0.3, 0.2})}, {w});
  TG_CHECK_VALUES(adam.slot(w, "momentum"), {0.05, -0.1}, 1e-15);  // the original's state did not move

  adam.reset();
  CHECK(adam.iterations() == 0);
  CHECK(adam.num_tracked_variables() == 0);
  CHECK(!adam.slot(w, "momentum").defined());
}

// ---- learning rates and schedules ----------------------------------------------------------------

TEST_CASE("optimizers: schedules' values") {
  // ExponentialDecay: 0.1 * 0.5^(step / 10); staircase floors the exponent.
  ExponentialDecay exponential(0.1, 10, 0.5);
  CHECK(exponential(0) == 0.1);
  CHECK(exponential(5) == doctest::Approx(0.1 * std::sqrt(0.5)).epsilon(1e-15));
  CHECK(exponential(20) == doctest::Approx(0.025).epsilon(1e-15));
  ExponentialDecay stairs(0.1, 10, 0.5, true);
  CHECK(stairs(9) == 0.1);
  CHECK(stairs(15) == doctest::Approx(0.05).epsilon(1e-15));
  // LinearDecay: 0.025 -> 0.0001 over 100 steps, then constant (word2vec's alpha -> min_alpha).
  LinearDecay linear(0.025, 0.0001, 100);
  CHECK(linear(0) == 0.025);
  CHECK(linear(50) == doctest::Approx(0.025 + (0.0001 - 0.025) * 0.5).epsilon(1e-15));
  CHECK(linear(100) == 0.0001);
  CHECK(linear(1000) == 0.0001);
  CHECK(LinearDecay(0.0, 1.0, 4)(1) == 0.25);  // a warm-up goes up
  // PolynomialDecay: (0.1 - 0) * (1 - 5/10)^2 + 0 = 0.025; past decay_steps: the end rate.
  PolynomialDecay poly(0.1, 10, 0.0, 2.0);
  CHECK(poly(5) == doctest::Approx(0.025).epsilon(1e-15));
  CHECK(poly(30) == 0.0);
  // Power 1 and no cycle: LinearDecay.
  CHECK(PolynomialDecay(0.025, 100, 0.0001)(37) == doctest::Approx(linear(37)).epsilon(1e-15));
  // cycle: at step 15 the horizon is 20: 0.1 * (1 - 15/20)^1 = 0.025; at step 0 it is 10.
  PolynomialDecay cycling(0.1, 10, 0.0, 1.0, true);
  CHECK(cycling(0) == 0.1);
  CHECK(cycling(10) == 0.0);
  CHECK(cycling(15) == doctest::Approx(0.025).epsilon(1e-15));
  // InverseTimeDecay: 0.1 / (1 + 0.5 * 20 / 10) = 0.05; staircase: 0.1 / (1 + 0.5 * 1) at step 15.
  CHECK(InverseTimeDecay(0.1, 10, 0.5)(20) == doctest::Approx(0.05).epsilon(1e-15));
  CHECK(InverseTimeDecay(0.1, 10, 0.5, true)(15) == doctest::Approx(0.1 / 1.5).epsilon(1e-15));
  // CosineDecay: 0.1 * 0.5 * (1 + cos(pi / 2)) = 0.05 halfway; alpha * 0.1 at the end and after.
  CHECK(CosineDecay(0.1, 10)(5) == doctest::Approx(0.05).epsilon(1e-15));
  CHECK(CosineDecay(0.1, 10, 0.2)(10) == doctest::Approx(0.02).epsilon(1e-15));
  CHECK(CosineDecay(0.1, 10, 0.2)(50) == doctest::Approx(0.02).epsilon(1e-15));
  // PiecewiseConstantDecay: values[0] up to and including boundaries[0], ...
  PiecewiseConstantDecay piecewise({100, 200}, {1.0, 0.5, 0.1});
  CHECK(piecewise(0) == 1.0);
  CHECK(piecewise(100) == 1.0);
  CHECK(piecewise(101) == 0.5);
  CHECK(piecewise(200) == 0.5);
  CHECK(piecewise(201) == 0.1);
  CHECK(exponential.repr() == "ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=false)");
  CHECK(piecewise.repr() == "PiecewiseConstantDecay(boundaries=[100, 200], values=[1, 0.5, 0.1])");
  CHECK(linear.repr() == "LinearDecay(initial_learning_rate=0.025, final_learning_rate=1e-04, total_steps=100)");
}

TEST_CASE("optimizers: an optimizer on a schedule uses schedule(iterations()) at each step") {
  // SGD with rate 1 for steps 0 and 1, then 0.5: w = 10 - 1 - 1 - 0.5 with g = 1.
  auto schedule = std::make_shared<PiecewiseConstantDecay>(std::vector<std::int64_t>{1}, std::vector<double>{1.0, 0.5});
  SGD sgd(schedule);
  Tensor w = var64({10.0});
  CHECK(sgd.learning_rate() == 1.0);
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK(sgd.learning_rate() == 1.0);
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK(sgd.learning_rate() == 0.5);
  sgd.apply_gradients({f64({1.0})}, {w});
  TG_CHECK_VALUES(w, {7.5}, 0.0, 0.0);
  CHECK(sgd.learning_rate_schedule() == schedule);
  CHECK(sgd.clone()->learning_rate_schedule() == schedule);  // shared: schedules have no state
  CHECK_THROWS_AS(sgd.set_learning_rate(0.1), std::logic_error);
  CHECK(sgd.repr() == "SGD(learning_rate=PiecewiseConstantDecay(boundaries=[1], values=[1, 0.5]), momentum=0, "
                      "nesterov=false)");

  // A schedule object by value, and LinearDecay driving Adagrad's rate down to its end value.
  Adagrad adagrad(LinearDecay(0.5, 0.1, 4));
  Tensor v = var64({1.0});
  for (int i = 0; i < 6; ++i) adagrad.apply_gradients({f64({0.0})}, {v});
  CHECK(adagrad.learning_rate() == 0.1);

  // A constant rate can be set (what a LearningRateScheduler callback does).
  Adam adam(0.1);
  adam.set_learning_rate(0.01);
  CHECK(adam.learning_rate() == 0.01);
  CHECK_THROWS_WITH_AS(adam.set_learning_rate(-1.0), "Adam: learning_rate must be a finite number >= 0, received -1",
                       std::invalid_argument);
}

TEST_CASE("optimizers: repr") {
  CHECK(SGD().repr() == "SGD(learning_rate=0.01, momentum=0, nesterov=false)");
  CHECK(SGD(0.1, 0.9, true).repr() == "SGD(learning_rate=0.1, momentum=0.9, nesterov=true)");
  CHECK(Adam().repr() == "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=false)");
  CHECK(AdamW().repr() ==
        "AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=false)");
  CHECK(RMSprop().repr() == "RMSprop(learning_rate=0.001, rho=0.9, momentum=0, epsilon=1e-07, centered=false)");
  CHECK(Adagrad().repr() == "Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07)");
}

// ---- bad input ------------------------------------------------------------------------------------

TEST_CASE("optimizers: invalid hyperparameters throw") {
  CHECK_THROWS_WITH_AS(SGD(-0.1), "SGD: learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(std::nan("")), "Adam: learning_rate must be a finite number >= 0, received nan",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD(0.1, -0.5), "SGD: momentum must be in [0, 1], received -0.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD(0.1, 1.5), "SGD: momentum must be in [0, 1], received 1.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 1.0), "Adam: beta_1 must be in [0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, -0.1), "Adam: beta_2 must be in [0, 1), received -0.1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, 0.999, -1e-7), "Adam: epsilon must be a finite number >= 1.1754944e-38 (the smallest normal float32; with 0, or anything that is 0 in float32, a zero gradient gives the step 0/0 = NaN), received -1e-07",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, -0.1), "AdamW: weight_decay must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, 0.004, 1.5), "AdamW: beta_1 must be in [0, 1), received 1.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 1.0), "RMSprop: rho must be in [0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, -1.0), "RMSprop: momentum must be in [0, 1], received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, 0.0, -1.0), "RMSprop: epsilon must be a finite number >= 1.1754944e-38 (the smallest normal float32; with 0, or anything that is 0 in float32, a zero gradient gives the step 0/0 = NaN), received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adagrad(0.1, -0.1), "Adagrad: initial_accumulator_value must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adagrad(0.1, 0.1, -1.0), "Adagrad: epsilon must be a finite number >= 1.1754944e-38 (the smallest normal float32; with 0, or anything that is 0 in float32, a zero gradient gives the step 0/0 = NaN), received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(std::shared_ptr<ExponentialDecay>()), doctest::Contains("Adam: the learning-rate schedule is null"),
                       std::invalid_argument);
}

TEST_CASE("optimizers: hyperparameters that make training meaningless are refused, naming the value") {
  // epsilon: 0 makes a zero gradient's step 0/0 (PyTorch accepts it); below the
  // smallest normal float32 it is 0 in a float32 step (or flushed as a subnormal).
  const std::string expected =
      "epsilon must be a finite number >= 1.1754944e-38 (the smallest normal float32; with 0, or anything that is "
      "0 in float32, a zero gradient gives the step 0/0 = NaN), received ";
  const double subnormal = 1e-40;  // a float32 subnormal
  for (double epsilon : {0.0, -0.0, -1e-7, subnormal, std::nan(""), double(INFINITY)}) {
    CAPTURE(epsilon);
    const std::string received = format_number(epsilon);
    CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, 0.999, epsilon), ("Adam: " + expected + received).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Adam(Adam::Options{.epsilon = epsilon}), ("Adam: " + expected + received).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(AdamW(AdamW::Options{.epsilon = epsilon}), ("AdamW: " + expected + received).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, 0.0, epsilon), ("RMSprop: " + expected + received).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(Adagrad(0.1, 0.1, epsilon), ("Adagrad: " + expected + received).c_str(),
                         std::invalid_argument);
  }
  CHECK_NOTHROW(Adam(0.1, 0.9, 0.999, static_cast<double>(std::numeric_limits<float>::min())));
  CHECK_NOTHROW(Adagrad(0.1, 0.0, 1.1754944e-38));  // the bound as the message writes it
  // The learning rate: negative, NaN or infinite (PyTorch refuses the first two).
  for (double lr : {-1e-3, std::nan(""), double(INFINITY), -double(INFINITY)}) {
    CAPTURE(lr);
    const std::string tail = "learning_rate must be a finite number >= 0, received " + format_number(lr);
    CHECK_THROWS_WITH_AS(SGD{lr}, ("SGD: " + tail).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Adam{lr}, ("Adam: " + tail).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(AdamW{lr}, ("AdamW: " + tail).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(RMSprop{lr}, ("RMSprop: " + tail).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Adagrad{lr}, ("Adagrad: " + tail).c_str(), std::invalid_argument);
    SGD sgd(0.1);
    CHECK_THROWS_WITH_AS(sgd.set_learning_rate(lr), ("SGD: " + tail).c_str(), std::invalid_argument);
  }
  // Betas and rho in [0, 1) (PyTorch's "Invalid beta parameter"), NaN included.
  CHECK_THROWS_WITH_AS(Adam(0.1, std::nan("")), "Adam: beta_1 must be in [0, 1), received nan", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, 1.0), "Adam: beta_2 must be in [0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, 0.004, 0.9, std::nan("")), "AdamW: beta_2 must be in [0, 1), received nan",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, std::nan("")), "RMSprop: rho must be in [0, 1), received nan", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, -0.1), "RMSprop: rho must be in [0, 1), received -0.1", std::invalid_argument);
  // Momentum in [0, 1]: above 1 the velocity b = momentum * b + step grows geometrically.
  CHECK_THROWS_WITH_AS(SGD(0.1, std::nan("")), "SGD: momentum must be in [0, 1], received nan", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, 1.5), "RMSprop: momentum must be in [0, 1], received 1.5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, std::nan("")), "RMSprop: momentum must be in [0, 1], received nan",
                       std::invalid_argument);
  CHECK_NOTHROW(RMSprop(0.1, 0.9, 1.0));
  // Weight decay and the initial accumulator: finite and >= 0 (PyTorch's "Invalid weight_decay value").
  CHECK_THROWS_WITH_AS(AdamW(0.1, std::nan("")), "AdamW: weight_decay must be a finite number >= 0, received nan",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, INFINITY), "AdamW: weight_decay must be a finite number >= 0, received inf",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adagrad(0.1, std::nan("")),
                       "Adagrad: initial_accumulator_value must be a finite number >= 0, received nan",
                       std::invalid_argument);
}

TEST_CASE("optimizers: invalid schedules throw") {
  CHECK_THROWS_WITH_AS(ExponentialDecay(0.1, 0, 0.5), "ExponentialDecay: decay_steps must be > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ExponentialDecay(-0.1, 10, 0.5),
                       "ExponentialDecay: initial_learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ExponentialDecay(0.1, 10, 0.0), "ExponentialDecay: decay_rate must be a finite number > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, -0.1, 10),
                       "LinearDecay: final_learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, 0.0, -5), "LinearDecay: total_steps must be > 0, received -5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PolynomialDecay(0.1, 10, 0.0, 0.0), "PolynomialDecay: power must be a finite number > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CosineDecay(0.1, 10, 1.5), "CosineDecay: alpha must be in [0, 1], received 1.5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PiecewiseConstantDecay({10, 20}, {1.0, 0.5}),
                       "PiecewiseConstantDecay: expected one more value than boundaries, received 2 boundaries and 2 values",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PiecewiseConstantDecay({20, 10}, {1.0, 0.5, 0.1}),
                       "PiecewiseConstantDecay: boundaries must be strictly increasing, received 20 then 10 at index 1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, 0.0, 10)(-1), "LinearDecay: step must be >= 0, received -1", std::invalid_argument);
}

TEST_CASE("optimizers: bad apply_gradients arguments throw and change nothing") {
  Tensor a = var64({1.0, 2.0});
  Tensor kernel = tg::Variable(tg::zeros({3, 4}), "dense/kernel");
  Adam adam(0.1);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0})}, {a, kernel}),
                       "Adam.apply_gradients: expected one gradient per variable, received 1 gradients for 2 variables",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), tg::zeros({4, 3})}, {a, kernel}),
                       "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (4, 3) "
                       "float32 (dense), expected (3, 4) float32",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), tg::zeros({3, 4}, tg::float64)}, {a, kernel}),
                       "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (3, 4) "
                       "float64 (dense), expected (3, 4) float32",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      adam.apply_gradients(std::vector<Gradient>{Gradient(f64({1.0, 1.0})),
                                                 Gradient::rows(i64({0}), tg::zeros({1, 3}), {2, 3})},
                           {a, kernel}),
      "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (2, 3) float32 "
      "(row-sparse), expected (3, 4) float32",
      std::invalid_argument);
  Tensor constant = f64({1.0, 2.0});  // not a Variable
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0, 1.0})}, {a, constant}),
                       "Adam.apply_gradients: variable 1 ((2,) float64) is not trainable (make it with tg::Variable or "
                       "set_trainable(true))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), i64({1, 1})}, {a, i64({1, 2})}),
                       "Adam.apply_gradients: variable 1 ((2,) int64) is not float32 or float64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0})}, {a, Tensor()}),
                       "Adam.apply_gradients: variable 1 (undefined) is undefined", std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0, 1.0})}, {a, a}),
                       doctest::Contains("variable 1 ((2,) float64) appears twice in the list"), std::invalid_argument);
  // Nothing was written by any of these calls.
  TG_CHECK_VALUES(a, {1.0, 2.0}, 0.0, 0.0);
  CHECK(adam.iterations() == 0);
  CHECK(adam.num_tracked_variables() == 0);
}

TEST_CASE("optimizers: a schedule giving a negative rate is caught at the step") {
  struct Negative : LearningRateSchedule {
    double operator()(std::int64_t step) const override { return step < 1 ? 0.1 : -0.1; }
    std::string repr() const override { return "Negative()"; }
  };
  SGD sgd(Negative{});
  Tensor w = var64({1.0});
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK_THROWS_WITH_AS(sgd.apply_gradients({f64({1.0})}, {w}),
                       "SGD.apply_gradients: the learning rate at step 1 is -0.1 (from Negative()); it must be a "
                       "finite number >= 0",
                       std::invalid_argument);
  TG_CHECK_VALUES(w, {0.9}, 1e-15);
  CHECK(sgd.iterations() == 1);
}
