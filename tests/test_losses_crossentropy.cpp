// Cross-entropy losses: hand-computed values, stability at extreme logits and
// probabilities, Keras's clip, labels and bad input. (PyTorch references,
// reductions and gradchecks: test_losses.cpp.)
#include <doctest/doctest.h>

#include <cmath>

#include "loss_checks.hpp"

using loss_checks::check_close;
using loss_checks::f64;
using loss_checks::i64;
using tg::Tensor;
using tg::losses::Reduction;
namespace L = tg::losses;

namespace {

bool all_finite(const Tensor& t) {
  for (double v : t.to(tg::float64).to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

// ---- BinaryCrossentropy ---------------------------------------------------------------

TEST_CASE("losses: BinaryCrossentropy: hand-computed values") {
  // tf-keras 2: -(z log(p + 1e-7) + (1 - z) log(1 - p + 1e-7)). z = 1, p = 0.5:
  // -log(0.5 + 1e-7) = 0.69314698; z = 0, p = 0.2: -log(0.8 + 1e-7) = 0.22314343;
  // z = 0.25 (soft), p = 0.5: -log(0.5 + 1e-7) again. Per sample
  // [0.6931469805599654, 0.4581452034370915] (PyTorch float64, the same formula).
  const Tensor z = f64({1, 0.25, 0, 1}, {2, 2}), p = f64({0.5, 0.5, 0.2, 0.5}, {2, 2});
  check_close(L::binary_crossentropy(z, p), f64({0.6931469805599654, 0.4581452034370915}), 1e-14, 0,
              "probabilities");
  check_close(L::binary_crossentropy(z, p),
              f64({-std::log(0.5 + 1e-7), (-std::log(0.8 + 1e-7) - std::log(0.5 + 1e-7)) / 2}), 1e-15, 0,
              "probabilities by formula");
  // Logits 0 are probability 0.5: log 2 whatever the target.
  check_close(L::binary_crossentropy(z, f64({0, 0, 0, 0}, {2, 2}), true), f64({std::log(2.0), std::log(2.0)}), 1e-15,
              0, "logits 0");
  // Logit log(4) is probability 0.8: z = 1 -> -log 0.8; z = 0 -> -log 0.2 = 1.60943791.
  check_close(L::binary_crossentropy(f64({1, 0}), f64({std::log(4.0), std::log(4.0)}), true),
              f64({-std::log(0.8), -std::log(0.2)}), 1e-14, 0, "logit log 4");
}

TEST_CASE("losses: BinaryCrossentropy: logits of magnitude 100 and 1e4 give exact finite values and gradients") {
  for (tg::DType dtype : {tg::float32, tg::float64}) {
    INFO(std::string(tg::dtype_name(dtype)));
    const Tensor x = f64({100, -100, 1e4, -1e4}, {1, 4}).to(dtype);
    // Confidently right: each term softplus(-|x|) <= 3.8e-44.
    const Tensor right = f64({1, 0, 1, 0}, {1, 4}).to(dtype);
    const Tensor r = L::binary_crossentropy(right, x, true);
    CHECK(r.item() >= 0.0);
    CHECK(r.item() < 1e-40);
    // Confidently wrong: each term |x|: (100 + 100 + 1e4 + 1e4) / 4 = 5050.
    const Tensor wrong = f64({0, 1, 0, 1}, {1, 4}).to(dtype);
    CHECK(L::binary_crossentropy(wrong, x, true).item() == 5050.0);
    // d/dx = (sigmoid(x) - z) / 4: [0, 0, 0, 0] when right, [1, -1, 1, -1] / 4 when wrong.
    for (const Tensor& z : {right, wrong}) {
      const auto g = loss_checks::gradients([&] { return L::BinaryCrossentropy(true)(z, x); }, {x});
      CHECK(all_finite(g[0]));
      check_close(g[0], (tg::sigmoid(x) - z) / 4.0, 0, 1e-30, "gradient sigmoid(x) - z");
    }
  }
}

TEST_CASE("losses: BinaryCrossentropy: probabilities of exactly 0 and 1 are clipped to 1e-7..1 - 1e-7") {
  // tf-keras 2 clips to [1e-7, 1 - 1e-7] and adds 1e-7 inside both logs. float64:
  // z = 1, p = 0 -> -log(1e-7 + 1e-7) = -log(2e-7) = 15.424948470398375 (not
  // -log(1e-7) = 16.118); z = 0, p = 1 -> -log((1 - (1 - 1e-7)) + 1e-7) = 15.424948470661553;
  // their mean 15.424948470529964 (PyTorch float64, the same formula).
  // Right answers: -log((1 - 1e-7) + 1e-7) = -log(1) = 0.
  const Tensor wrong = L::binary_crossentropy(f64({1, 0}, {1, 2}), f64({0, 1}, {1, 2}));
  CHECK(wrong.item() == doctest::Approx(15.424948470529964).epsilon(1e-12));
  const Tensor right = L::binary_crossentropy(f64({1, 0}, {1, 2}), f64({1, 0}, {1, 2}));
  CHECK(right.item() == 0.0);
  // The case: z = [1, 1], p = [0, 0.5] -> (-log(2e-7) - log(0.5 + 1e-7)) / 2 =
  // 8.05904772547917 (PyTorch float64); without the eps inside the logs it was 8.4056.
  const Tensor half = f64({0, 0.5}, {1, 2});
  check_close(L::binary_crossentropy(f64({1, 1}, {1, 2}), half), f64({8.05904772547917}), 1e-13, 0, "issue case");
  // Its gradient: 0 for the clipped p, -1 / (0.5 + 1e-7) / 2 = -0.9999998000000401 for p = 0.5.
  const auto gh = loss_checks::gradients([&] { return L::BinaryCrossentropy()(f64({1, 1}, {1, 2}), half); }, {half});
  check_close(gh[0], f64({0.0, -0.9999998000000401}, {1, 2}), 1e-13, 0, "issue case gradient");
  // Outside the clip the gradient is 0; finite everywhere.
  const Tensor p = f64({0, 1, 1, 0}, {2, 2});
  const auto g = loss_checks::gradients([&] { return L::BinaryCrossentropy()(f64({1, 0, 1, 0}, {2, 2}), p); }, {p});
  CHECK(g[0].to_vector<double>() == std::vector<double>{0, 0, 0, 0});
  // float32: 1e-7 and 1 - 1e-7 round to 1.0000000117e-7 and 1 - 1.1920929e-7, so
  // z = 1, p = 0 -> -log(2.0000000233e-7) = 15.424949; z = 0, p = 1 ->
  // -log(1.1920929e-7 + 1e-7) = 15.333239 (PyTorch float32, the same formula:
  // 15.424948692321777 and 15.33323860168457).
  const Tensor w32 = L::binary_crossentropy(f64({1, 0}).to(tg::float32), f64({0, 1}).to(tg::float32));
  CHECK(w32.dtype() == tg::float32);
  check_close(w32, f64({15.424948692321777, 15.33323860168457}), 1e-6, 0, "float32 clip");
}

TEST_CASE("losses: BinaryCrossentropy: Keras's shape rules; bad targets and shapes are errors") {
  // y_true (batch,) against y_pred (batch, 1).
  check_close(L::binary_crossentropy(f64({1, 0}), f64({0.5, 0.2}, {2, 1})),
              f64({-std::log(0.5 + 1e-7), -std::log(0.8 + 1e-7)}), 1e-15, 0, "(batch,) vs (batch, 1)");
  CHECK_THROWS_WITH_AS(L::BinaryCrossentropy()(f64({1, 1.5}), f64({0.5, 0.5})),
                       "BinaryCrossentropy: y_true must be in [0, 1], received 1.5 at index 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::BinaryCrossentropy(true)(i64({0, -1}), f64({0.5, 0.5})),
                       "BinaryCrossentropy: y_true must be in [0, 1], received -1 at index 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::BinaryCrossentropy()(f64({1, 0, 1, 0, 1, 0}, {3, 2}), f64({1, 0, 1, 0, 1, 0, 1, 0, 1}, {3, 3})),
                       "BinaryCrossentropy: y_true and y_pred must have the same shape, received (3, 2) and (3, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::BinaryCrossentropy()(Tensor::empty({0}, tg::float64), Tensor::empty({0}, tg::float64)),
                       doctest::Contains("BinaryCrossentropy: empty batch"), std::invalid_argument);
}

// ---- CategoricalCrossentropy ------------------------------------------------------------

TEST_CASE("losses: CategoricalCrossentropy: hand-computed values") {
  // [0, 1] vs [0.25, 0.75]: -log 0.75 = 0.28768207. Rows are rescaled to sum 1 first (Keras),
  // so [0.5, 1.5] gives the same. Soft target [0.5, 0.5]: -(0.5 log 0.25 + 0.5 log 0.75) = 0.83698822.
  const Tensor t = f64({0, 1, 0, 1, 0.5, 0.5}, {3, 2}), p = f64({0.25, 0.75, 0.5, 1.5, 0.25, 0.75}, {3, 2});
  const double l = -std::log(0.75);
  check_close(L::categorical_crossentropy(t, p), f64({l, l, -(0.5 * std::log(0.25) + 0.5 * std::log(0.75))}), 1e-15, 0,
              "probabilities");
  // Logits [0, 0]: log 2; logits [0, log 3] are probabilities [0.25, 0.75].
  check_close(L::categorical_crossentropy(f64({0, 1, 0, 1}, {2, 2}), f64({0, 0, 0, std::log(3.0)}, {2, 2}), true),
              f64({std::log(2.0), l}), 1e-15, 0, "logits");
  // A probability of exactly 0 for the true class is clipped: -log(1e-7) = 16.118095650958.
  CHECK(L::categorical_crossentropy(f64({1, 0}, {1, 2}), f64({0, 1}, {1, 2})).item() ==
        doctest::Approx(16.118095650958).epsilon(1e-9));
}

TEST_CASE("losses: CategoricalCrossentropy: logits of magnitude 1e4 are exact, with gradient softmax - target") {
  for (tg::DType dtype : {tg::float32, tg::float64}) {
    INFO(std::string(tg::dtype_name(dtype)));
    const Tensor x = f64({1e4, 0, -1e4}, {1, 3}).to(dtype);
    CHECK(L::categorical_crossentropy(f64({0, 1, 0}, {1, 3}).to(dtype), x, true).item() == 1e4);
    CHECK(L::categorical_crossentropy(f64({0, 0, 1}, {1, 3}).to(dtype), x, true).item() == 2e4);
    CHECK(L::categorical_crossentropy(f64({1, 0, 0}, {1, 3}).to(dtype), x, true).item() == 0.0);
    const Tensor t = f64({0, 1, 0}, {1, 3}).to(dtype);
    const auto g = loss_checks::gradients([&] { return L::CategoricalCrossentropy(true)(t, x); }, {x});
    check_close(g[0], f64({1, -1, 0}, {1, 3}), 0, 1e-30, "softmax(x) - target");
  }
}

TEST_CASE("losses: the cross-entropies from float32 logits near 1000 keep float32 precision") {
  // Logits [1000, 1000.5, 1001, 999.25], true class 2: -log_softmax(x)[2] =
  // 0.7646228546961312 (PyTorch float64 F.cross_entropy of the float32 values).
  // Computing x - (max + log sum) in float32 rounds max + log sum to the float32
  // grid near 1000 (steps of 6.1e-5) and gave 0.76464844.
  const Tensor x = f64({1000.0, 1000.5, 1001.0, 999.25}, {1, 4}).to(tg::float32);
  const Tensor onehot = f64({0, 0, 1, 0}, {1, 4}).to(tg::float32);
  check_close(L::categorical_crossentropy(onehot, x, true), f64({0.7646228546961312}), 2e-7, 0, "categorical");
  check_close(L::sparse_categorical_crossentropy(i64({2}), x, true), f64({0.7646228546961312}), 2e-7, 0, "sparse");
}

TEST_CASE("losses: CategoricalCrossentropy: bad input is an error naming the loss") {
  CHECK_THROWS_WITH_AS(L::CategoricalCrossentropy()(f64({0, 1.5}, {1, 2}), f64({0.5, 0.5}, {1, 2})),
                       "CategoricalCrossentropy: y_true must be in [0, 1], received 1.5 at index 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CategoricalCrossentropy()(f64({0, 1}, {1, 2}), f64({0.2, 0.3, 0.5}, {1, 3})),
                       "CategoricalCrossentropy: y_true and y_pred must have the same shape, received (1, 2) and (1, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CategoricalCrossentropy()(f64({0, 1}), f64({0.5, 0.5})),
                       "CategoricalCrossentropy: y_pred must have shape (batch, classes), received (2,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CategoricalCrossentropy()(Tensor::empty({0, 3}, tg::float64), Tensor::empty({0, 3}, tg::float64)),
                       doctest::Contains("CategoricalCrossentropy: empty batch"), std::invalid_argument);
}

// ---- SparseCategoricalCrossentropy ------------------------------------------------------

TEST_CASE("losses: SparseCategoricalCrossentropy: hand values, and equal to the categorical loss on one-hot targets") {
  CHECK(L::sparse_categorical_crossentropy(i64({1}), f64({0.25, 0.75}, {1, 2})).item() ==
        doctest::Approx(-std::log(0.75)).epsilon(1e-15));
  // Labels of shape (batch, 1) work too (Keras).
  CHECK(L::sparse_categorical_crossentropy(Tensor::from_vector(std::vector<std::int64_t>{0}, {1, 1}),
                                           f64({0.25, 0.75}, {1, 2}))
            .item() == doctest::Approx(-std::log(0.25)).epsilon(1e-15));
  const Tensor labels = i64({2, 0, 1, 2});
  const Tensor one_hot = f64({0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}, {4, 3});
  const Tensor logits = tg::randn({4, 3}, 7, tg::float64);
  for (bool from_logits : {true, false}) {
    const Tensor y_pred = from_logits ? logits : tg::softmax(logits);
    check_close(L::sparse_categorical_crossentropy(labels, y_pred, from_logits),
                L::categorical_crossentropy(one_hot, y_pred, from_logits), 1e-15, 0, "sparse vs one-hot");
  }
  // Gradient by hand: logits [0, 0] with label 0: softmax - one_hot = [-0.5, 0.5].
  const Tensor x = f64({0, 0}, {1, 2});
  const auto g = loss_checks::gradients([&] { return L::SparseCategoricalCrossentropy(true)(i64({0}), x); }, {x});
  CHECK(g[0].to_vector<double>() == std::vector<double>{-0.5, 0.5});
}

TEST_CASE("losses: SparseCategoricalCrossentropy: out-of-range labels name the label and the class count") {
  const Tensor p = f64({0.25, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4}, {2, 4});
  CHECK_THROWS_WITH_AS(L::SparseCategoricalCrossentropy()(i64({0, 4}), p),
                       "SparseCategoricalCrossentropy: label 4 at index 1 is out of range for 4 classes (expected 0 "
                       "to 3)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(L::SparseCategoricalCrossentropy(true)(i64({-1, 0}), p),
                       "SparseCategoricalCrossentropy: label -1 at index 0 is out of range for 4 classes (expected 0 "
                       "to 3)",
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(L::SparseCategoricalCrossentropy()(f64({0, 1}), p),
                       "SparseCategoricalCrossentropy: y_true must hold int64 class indices, received (2,) float64 "
                       "(convert with .to(tg::int64))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::SparseCategoricalCrossentropy()(i64({0, 1, 2}), p),
                       "SparseCategoricalCrossentropy: y_true must have shape (2,) or (2, 1) (one class index per "
                       "sample) for y_pred of shape (2, 4), received (3,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::SparseCategoricalCrossentropy()(i64({0, 1}), f64({0.5, 0.5})),
                       "SparseCategoricalCrossentropy: y_pred must have shape (batch, classes), received (2,)",
                       std::invalid_argument);
}
