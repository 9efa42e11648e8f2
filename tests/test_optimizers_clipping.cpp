// Gradient clipping (issue 18): Keras's clipnorm, global_clipnorm and
// clipvalue, by hand on SGD(learning_rate=1), where the step is -g', g' the
// clipped gradient.
#include <cmath>
#include <limits>

#include "optimizer_checks.hpp"

using namespace optimizer_test;
using tgtest::contains;
using tgtest::error_of;

TEST_CASE("optimizers: clipnorm scales each gradient to at most that norm") {
  // keras.optimizers.SGD(1.0, clipnorm=1.0): g = [3, 4], ||g|| = 5 -> [0.6, 0.8];
  // h = [0.3, 0.4], ||h|| = 0.5 <= 1 -> unchanged.
  Tensor w = var64({0.0, 0.0}), v = var64({0.0, 0.0});
  const Tensor g = f64({3.0, 4.0});
  SGD sgd(SGD::Options{.learning_rate = 1.0, .clipnorm = 1.0});
  sgd.apply_gradients({g, f64({0.3, 0.4})}, {w, v});
  TG_CHECK_VALUES(w, {-0.6, -0.8}, 1e-15);
  TG_CHECK_VALUES(v, {-0.3, -0.4}, 1e-15);
  TG_CHECK_VALUES(g, {3.0, 4.0}, 0.0);  // the caller's gradient is not changed
  CHECK(sgd.repr() == "SGD(learning_rate=1, momentum=0, nesterov=false, clipnorm=1)");
  // clone() keeps it.
  auto copy = sgd.clone();
  Tensor u = var64({0.0, 0.0});
  copy->apply_gradients({f64({3.0, 4.0})}, {u});
  TG_CHECK_VALUES(u, {-0.6, -0.8}, 1e-15);
}

TEST_CASE("optimizers: global_clipnorm scales all gradients by one factor") {
  // Adam's step does not show the scale, so SGD: g1 = [3], g2 = [4]; the global
  // norm 5 > 2 scales both by 2 / 5.
  Tensor a = var64({0.0}), b = var64({0.0});
  SGD sgd(SGD::Options{.learning_rate = 1.0, .global_clipnorm = 2.0});
  sgd.apply_gradients({f64({3.0}), f64({4.0})}, {a, b});
  TG_CHECK_VALUES(a, {-1.2}, 1e-15);
  TG_CHECK_VALUES(b, {-1.6}, 1e-15);
  // An infinite norm makes every gradient NaN (Keras's clip_by_global_norm).
  Tensor c = var64({0.0}), d = var64({0.0});
  sgd.apply_gradients({f64({std::numeric_limits<double>::infinity()}), f64({1.0})}, {c, d});
  CHECK(std::isnan(c.item()));
  CHECK(std::isnan(d.item()));
}

TEST_CASE("optimizers: clipvalue clamps each element, and a row-sparse gradient is clipped as the dense one") {
  // SGD(1.0, clipvalue=0.5): g = [3, -0.2, -7] -> [0.5, -0.2, -0.5]
  Tensor w = var32({0.0, 0.0, 0.0});
  SGD sgd(SGD::Options{.learning_rate = 1.0, .clipvalue = 0.5});
  sgd.apply_gradients({g32({3.0, -0.2, -7.0})}, {w});
  TG_CHECK_VALUES(w, {-0.5, 0.2, 0.5}, 1e-7);
  // Rows 1, 1 of a (3, 2) table with values [1, 1] and [2, 2]: row 1's gradient
  // is [3, 3], of norm sqrt(18); clipnorm 3 scales it to [3, 3] * 3 / sqrt(18).
  Tensor table = var64({0, 0, 0, 0, 0, 0}, {3, 2});
  SGD by_norm(SGD::Options{.learning_rate = 1.0, .clipnorm = 3.0});
  const tg::Gradient rows = tg::Gradient::rows(i64({1, 1}),
                                               f64({1, 1, 2, 2}, {2, 2}), tg::Shape{3, 2});
  by_norm.apply_gradients(std::vector<tg::Gradient>{rows}, {table});
  const double step = 3.0 * 3.0 / std::sqrt(18.0);
  TG_CHECK_VALUES(table, {0, 0, -step, -step, 0, 0}, 1e-15);
}

TEST_CASE("optimizers: clipping settings are checked") {
  CHECK(contains(error_of([] { Adam(Adam::Options{.clipnorm = 1.0, .clipvalue = 0.5}); }),
                 "Adam: only one of clipnorm, clipvalue and global_clipnorm can be set, received clipnorm=1, "
                 "clipvalue=0.5, global_clipnorm=0"));
  CHECK(contains(error_of([] { SGD(SGD::Options{.global_clipnorm = -1.0}); }),
                 "SGD: global_clipnorm must be a finite number > 0 (or 0: off), received -1"));
  CHECK(contains(error_of([] { RMSprop(RMSprop::Options{.clipvalue = NAN}); }), "RMSprop: clipvalue must be"));
}
