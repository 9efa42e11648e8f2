// MeanSquaredError and MeanAbsoluteError: hand-computed values, Keras's shape
// rules, gradients and bad input. (PyTorch references: test_losses.cpp.)
#include <doctest/doctest.h>

#include "loss_checks.hpp"

using loss_checks::check_close;
using loss_checks::f64;
using loss_checks::i64;
using tg::Tensor;
using tg::losses::Reduction;
namespace L = tg::losses;

TEST_CASE("losses: MeanSquaredError: the mean of squares per sample, by hand") {
  // Sample 0: [0, 1] vs [1, 1] -> (1 + 0) / 2 = 0.5; sample 1: [0, 0] vs [1, 0] -> 0.5;
  // sample 2: [1, 2] vs [-1, 5] -> (4 + 9) / 2 = 6.5.
  const Tensor y_true = f64({0, 1, 0, 0, 1, 2}, {3, 2}), y_pred = f64({1, 1, 1, 0, -1, 5}, {3, 2});
  CHECK(L::mean_squared_error(y_true, y_pred).to_vector<double>() == std::vector<double>{0.5, 0.5, 6.5});
  CHECK(L::MeanSquaredError()(y_true, y_pred).item() == doctest::Approx(7.5 / 3).epsilon(1e-15));
  CHECK(L::MeanSquaredError(Reduction::sum)(y_true, y_pred).item() == 7.5);
  // Weights [1, 2, 0]: (0.5 + 1 + 0) / 3 = 0.5.
  CHECK(L::MeanSquaredError()(y_true, y_pred, f64({1, 2, 0})).item() == doctest::Approx(0.5).epsilon(1e-15));
}

TEST_CASE("losses: MeanSquaredError: gradient 2 (y_pred - y_true) / (features * batch)") {
  const Tensor y_true = f64({0, 1, 0, 0}, {2, 2}), y_pred = f64({1, 1, 3, -2}, {2, 2});
  const auto g = loss_checks::gradients([&] { return L::MeanSquaredError()(y_true, y_pred); }, {y_pred, y_true});
  // 2 * [1, 0, 3, -2] / 4 = [0.5, 0, 1.5, -1]; y_true gets the negative.
  CHECK(g[0].to_vector<double>() == std::vector<double>{0.5, 0, 1.5, -1});
  CHECK(g[1].to_vector<double>() == std::vector<double>{-0.5, 0, -1.5, 1});
}

TEST_CASE("losses: MeanAbsoluteError: the mean of absolute differences, subgradient 0 at equality") {
  // [0, 1] vs [2, -1] -> (2 + 2) / 2 = 2; [3, 3] vs [3, 4] -> (0 + 1) / 2 = 0.5.
  const Tensor y_true = f64({0, 1, 3, 3}, {2, 2}), y_pred = f64({2, -1, 3, 4}, {2, 2});
  CHECK(L::mean_absolute_error(y_true, y_pred).to_vector<double>() == std::vector<double>{2, 0.5});
  CHECK(L::MeanAbsoluteError()(y_true, y_pred).item() == 1.25);
  const auto g = loss_checks::gradients([&] { return L::MeanAbsoluteError(Reduction::sum)(y_true, y_pred); }, {y_pred});
  // sign(y_pred - y_true) / 2 = [0.5, -0.5, 0, 0.5].
  CHECK(g[0].to_vector<double>() == std::vector<double>{0.5, -0.5, 0, 0.5});
}

TEST_CASE("losses: MeanSquaredError: Keras's shape rules") {
  // (batch,) inputs: one element per sample.
  CHECK(L::mean_squared_error(f64({0, 1, 2}), f64({1, 3, 2})).to_vector<double>() == std::vector<double>{1, 4, 0});
  // y_true (batch,) against a Dense(1) output (batch, 1), and the reverse.
  CHECK(L::mean_squared_error(f64({0, 1, 2}), f64({1, 3, 2}, {3, 1})).to_vector<double>() ==
        std::vector<double>{1, 4, 0});
  CHECK(L::mean_squared_error(f64({0, 1, 2}, {3, 1}), f64({1, 3, 2})).to_vector<double>() ==
        std::vector<double>{1, 4, 0});
  // Rank 3: the mean over both non-batch axes: sample 0 (1 + 0 + 4 + 1) / 4 = 1.5, sample 1: 0.
  const Tensor t = f64({0, 0, 0, 0, 1, 1, 1, 1}, {2, 2, 2}), p = f64({1, 0, 2, -1, 1, 1, 1, 1}, {2, 2, 2});
  CHECK(L::mean_squared_error(t, p).to_vector<double>() == std::vector<double>{1.5, 0});
  // int64 targets are converted to y_pred's dtype.
  const Tensor out = L::mean_squared_error(i64({0, 1, 2}), f64({1, 3, 2}).to(tg::float32));
  CHECK(out.dtype() == tg::float32);
  CHECK(out.to(tg::float64).to_vector<double>() == std::vector<double>{1, 4, 0});
}

TEST_CASE("losses: MeanSquaredError and MeanAbsoluteError: bad input is an error naming the loss") {
  const Tensor a = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK_THROWS_WITH_AS(L::MeanSquaredError()(a, f64({1, 2, 3, 4, 5, 6}, {2, 3})),
                       "MeanSquaredError: y_true and y_pred must have the same shape, received (3, 2) and (2, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MeanAbsoluteError()(f64({1, 2}), a),
                       "MeanAbsoluteError: y_true and y_pred must have the same shape, received (2,) and (3, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MeanSquaredError()(a, a.to(tg::int64)),
                       "MeanSquaredError: y_pred must be a float32 or float64 tensor, received (3, 2) int64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MeanSquaredError()(Tensor::scalar(1.0, tg::float64), Tensor::scalar(1.0, tg::float64)),
                       "MeanSquaredError: y_pred must have shape (batch, ...), received ()", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MeanAbsoluteError()(Tensor::empty({0, 2}, tg::float64), Tensor::empty({0, 2}, tg::float64)),
                       "MeanAbsoluteError: empty batch: y_pred has shape (0, 2); a loss needs at least one sample along "
                       "axis 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MeanSquaredError()(Tensor(), a), "MeanSquaredError: y_true is an undefined tensor",
                       std::invalid_argument);
}
