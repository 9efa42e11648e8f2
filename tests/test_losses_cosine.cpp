// Cosine losses: hand-computed values, signs, edge cases and bad input.
// (PyTorch reference values, reductions and gradchecks: test_losses.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "loss_checks.hpp"

using loss_checks::check_close;
using loss_checks::f64;
using loss_checks::i64;
using tg::Tensor;
using tg::losses::Reduction;
namespace L = tg::losses;

// ---- CosineSimilarityLoss: 1 - cos ------------------------------------------------------

TEST_CASE("losses: CosineSimilarityLoss: 0 for identical directions, 2 for opposite ones") {
  for (tg::DType dtype : {tg::float32, tg::float64}) {
    INFO(std::string(tg::dtype_name(dtype)));
    const double tolerance = dtype == tg::float32 ? 1e-6 : 1e-15;
    const Tensor a = f64({1, 2, 2, -3, 0.5, 4}, {2, 3}).to(dtype);
    const Tensor same = L::cosine_similarity_loss(a, a * 7.5);
    CHECK(same.dtype() == dtype);
    check_close(same, f64({0, 0}), 0, tolerance, "identical directions");
    check_close(L::cosine_similarity_loss(a, a * -0.25), f64({2, 2}), 0, tolerance, "opposite directions");
    // Mean over the batch (the default reduction): (0 + 0) / 2 and (2 + 2) / 2.
    check_close(L::CosineSimilarityLoss()(a, a * 3.0), Tensor::scalar(0.0, tg::float64), 0, tolerance, "mean, same");
    check_close(L::CosineSimilarityLoss()(a, -a), Tensor::scalar(2.0, tg::float64), 0, tolerance, "mean, opposite");
  }
}

TEST_CASE("losses: CosineSimilarityLoss: hand-computed values and reductions") {
  // Rows: [1, 0] vs [1, 1]: cos = 1/sqrt(2), loss 1 - 0.70710678 = 0.29289322;
  //       [3, 4] vs [4, 3]: cos = (12 + 12) / 25 = 0.96, loss 0.04;
  //       [1, 0] vs [0, 2]: cos = 0, loss 1.
  const Tensor y_true = f64({1, 0, 3, 4, 1, 0}, {3, 2}), y_pred = f64({1, 1, 4, 3, 0, 2}, {3, 2});
  const double l0 = 1 - 1 / std::sqrt(2.0);
  check_close(L::cosine_similarity_loss(y_true, y_pred), f64({l0, 0.04, 1}), 1e-15, 1e-15, "per sample");
  // mean: (0.29289322 + 0.04 + 1) / 3 = 0.44429774; sum: 1.33289322;
  // weights [2, 0, 1]: (0.58578644 + 0 + 1) / 3 = 0.52859548.
  CHECK(L::CosineSimilarityLoss()(y_true, y_pred).item() == doctest::Approx((l0 + 1.04) / 3).epsilon(1e-14));
  CHECK(L::CosineSimilarityLoss(1, Reduction::sum)(y_true, y_pred).item() == doctest::Approx(l0 + 1.04).epsilon(1e-14));
  CHECK(L::CosineSimilarityLoss()(y_true, y_pred, f64({2, 0, 1})).item() ==
        doctest::Approx((2 * l0 + 1) / 3).epsilon(1e-14));
  CHECK(L::CosineSimilarityLoss(1, Reduction::none)(y_true, y_pred).shape() == tg::Shape{3});
}

TEST_CASE("losses: CosineSimilarityLoss: gradient by hand") {
  // loss = 1 - cos(x, y) for x = [1, 0], y = [1, 1]: d cos / dx = y/(|x||y|) - cos x/|x|^2
  // = [1, 1]/sqrt(2) - (1/sqrt(2)) [1, 0] = [0, 1/sqrt(2)], so d loss / dx = [0, -0.70710678].
  const Tensor x = f64({1, 0}, {1, 2}), y = f64({1, 1}, {1, 2});
  const auto g = loss_checks::gradients([&] { return L::CosineSimilarityLoss()(x, y); }, {x});
  check_close(g[0], f64({0, -1 / std::sqrt(2.0)}, {1, 2}), 1e-12, 1e-15, "d loss / d y_true");
}

TEST_CASE("losses: CosineSimilarityLoss: other feature axes; rank 3 is averaged per sample") {
  // (batch 2, 2 timesteps, 2 features), axis -1: sample 0 has losses [0, 2] -> 1;
  // sample 1 has [1, 0] -> 0.5.
  const Tensor a = f64({1, 0, 0, 1, 1, 0, 2, 2}, {2, 2, 2});
  const Tensor b = f64({5, 0, 0, -3, 0, 1, 1, 1}, {2, 2, 2});
  check_close(L::cosine_similarity_loss(a, b, -1), f64({1, 0.5}), 0, 1e-15, "rank 3, axis -1");
  check_close(L::cosine_similarity_loss(a, b, 2), f64({1, 0.5}), 0, 1e-15, "rank 3, axis 2");
}

TEST_CASE("losses: CosineSimilarityLoss: a zero vector gives loss 1 and a finite gradient") {
  const Tensor zero = f64({0, 0}, {1, 2}), y = f64({3, 4}, {1, 2});
  CHECK(L::cosine_similarity_loss(zero, y).item() == 1.0);
  const auto g = loss_checks::gradients([&] { return L::CosineSimilarityLoss()(zero, y); }, {zero, y});
  // PyTorch's convention at zero (REFERENCE.md): d cos / d x1 = y_hat / eps = [6e7, 8e7], so
  // d loss / d x1 = -[6e7, 8e7]; and nothing to x2.
  check_close(g[0], f64({-6e7, -8e7}, {1, 2}), 1e-9, 0, "gradient to the zero vector");
  check_close(g[1], f64({0, 0}, {1, 2}), 0, 0, "gradient to the other");
}

TEST_CASE("losses: CosineSimilarityLoss: a NaN or infinite prediction gives a NaN loss and NaN gradients") {
  // 1 - cos with cos NaN (PyTorch: 1 - F.cosine_similarity is NaN there). The fused
  // cosine's clamp turned NaN into -1, a finite loss of 2 that TerminateOnNaN never saw.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double bad : {nan, inf, -inf}) {
    CAPTURE(bad);
    for (tg::DType dtype : {tg::float64, tg::float32}) {
      const Tensor y_true = f64({1, 2, 3, 1, 0, 0}, {2, 3}).to(dtype);
      const Tensor y_pred = f64({bad, 1, 1, 2, 0, 0}, {2, 3}).to(dtype);
      const std::vector<double> per_sample = L::cosine_similarity_loss(y_true, y_pred).to(tg::float64).to_vector<double>();
      CHECK(std::isnan(per_sample[0]));
      CHECK(per_sample[1] == 0.0);  // (1, 0, 0) against (2, 0, 0)
      CHECK(std::isnan(L::CosineSimilarityLoss()(y_true, y_pred).to(tg::float64).item()));
      const auto g = loss_checks::gradients([&] { return L::CosineSimilarityLoss()(y_true, y_pred); }, {y_pred});
      const std::vector<double> gv = g[0].to(tg::float64).to_vector<double>();
      for (std::size_t k = 0; k < 3; ++k) CHECK(std::isnan(gv[k]));
      for (std::size_t k = 3; k < 6; ++k) CHECK(std::isfinite(gv[k]));
    }
  }
}

TEST_CASE("losses: CosineSimilarityLoss: bad input is an error naming the loss") {
  const Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_THROWS_WITH_AS(L::CosineSimilarityLoss()(a, f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4})),
                       "CosineSimilarityLoss: y_true and y_pred must have the same shape, received (2, 3) and (2, 4)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineSimilarityLoss()(f64({1, 2, 3}), f64({1, 2, 3})),
                       "CosineSimilarityLoss: y_pred must have shape (batch, features) or (batch, ..., features), "
                       "received (3,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineSimilarityLoss(0)(a, a),
                       "CosineSimilarityLoss: axis 0 is not a feature axis of (2, 3) (expected 1 to 1, or -1 to -1; "
                       "axis 0 is the batch)",
                       std::out_of_range);
  CHECK_THROWS_AS(L::CosineSimilarityLoss(2)(a, a), std::out_of_range);
  CHECK_THROWS_WITH_AS(L::CosineSimilarityLoss()(Tensor::empty({0, 3}, tg::float64), Tensor::empty({0, 3}, tg::float64)),
                       "CosineSimilarityLoss: empty batch: y_pred has shape (0, 3); a loss needs at least one sample "
                       "along axis 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineSimilarityLoss()(a, a.to(tg::int64)),
                       "CosineSimilarityLoss: y_pred must be a float32 or float64 tensor, received (2, 3) int64",
                       std::invalid_argument);
  // y_true is converted to y_pred's dtype (as Keras).
  CHECK(L::CosineSimilarityLoss()(a.to(tg::int64), a.to(tg::float32)).dtype() == tg::float32);
}

// ---- CosineSimilarity (Keras): NEGATIVE cos ---------------------------------------------

TEST_CASE("losses: CosineSimilarity (Keras): the negative cosine, -1 at best and +1 at worst") {
  // Rows: same direction -> -1; opposite -> +1; orthogonal -> 0; [1, 0] vs [1, 1] -> -0.70710678.
  const Tensor y_true = f64({1, 2, 1, 2, 1, 0, 1, 0}, {4, 2});
  const Tensor y_pred = f64({2, 4, -1, -2, 0, 3, 1, 1}, {4, 2});
  check_close(L::negative_cosine_similarity(y_true, y_pred), f64({-1, 1, 0, -1 / std::sqrt(2.0)}), 1e-15, 1e-15,
              "per sample");
  // Mean: (-1 + 1 + 0 - 0.70710678) / 4 = -0.17677670.
  CHECK(L::CosineSimilarity()(y_true, y_pred).item() == doctest::Approx(-1 / std::sqrt(2.0) / 4).epsilon(1e-14));
  // For nonzero vectors it is our CosineSimilarityLoss minus 1.
  const Tensor a = tg::randn({5, 3}, 11, tg::float64), b = tg::randn({5, 3}, 12, tg::float64);
  check_close(L::negative_cosine_similarity(a, b), L::cosine_similarity_loss(a, b) - 1.0, 1e-14, 1e-14,
              "negative cosine = (1 - cos) - 1");
  // Keras's l2_normalize of a zero vector is zero: loss 0.
  CHECK(L::negative_cosine_similarity(f64({0, 0}, {1, 2}), f64({3, 4}, {1, 2})).item() == 0.0);
  CHECK(L::CosineSimilarity().axis() == -1);
}

TEST_CASE("losses: CosineSimilarity (Keras): bad input is an error naming the loss") {
  CHECK_THROWS_WITH_AS(L::CosineSimilarity()(f64({1, 2}, {1, 2}), f64({1, 2, 3}, {1, 3})),
                       "CosineSimilarity: y_true and y_pred must have the same shape, received (1, 2) and (1, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineSimilarity()(Tensor::empty({0, 2}, tg::float64), Tensor::empty({0, 2}, tg::float64)),
                       doctest::Contains("CosineSimilarity: empty batch"), std::invalid_argument);
}

// ---- CosineEmbeddingLoss (PyTorch) ------------------------------------------------------

TEST_CASE("losses: CosineEmbeddingLoss: 1 - cos for label 1, max(0, cos - margin) for label -1") {
  // Pairs: [1, 0] vs [1, 1] (cos 0.70710678) with label 1 -> 0.29289322; with label -1 and
  // margin 0.5 -> 0.20710678; [1, 0] vs [-1, 1] (cos -0.70710678), label -1 -> max(0, -1.207) = 0.
  // (PyTorch adds 1e-12 to each squared norm: a relative change of 1e-12 here.)
  const Tensor x1 = f64({1, 0, 1, 0, 1, 0}, {3, 2}), x2 = f64({1, 1, 1, 1, -1, 1}, {3, 2});
  const double c = 1 / std::sqrt(2.0);
  check_close(L::cosine_embedding_loss(x1, x2, f64({1, -1, -1}), 0.5), f64({1 - c, c - 0.5, 0}), 1e-11, 1e-12,
              "margin 0.5");
  check_close(L::cosine_embedding_loss(x1, x2, f64({1, -1, -1})), f64({1 - c, c, 0}), 1e-11, 1e-12, "margin 0");
  // Labels may be int64 and (batch, 1); the mean is (0.29289 + 0.20711 + 0) / 3 = 1/6.
  CHECK(L::CosineEmbeddingLoss(0.5)(x1, x2, Tensor::from_vector(std::vector<std::int64_t>{1, -1, -1}, {3, 1})).item() ==
        doctest::Approx(0.5 / 3).epsilon(1e-10));
  // PyTorch's eps convention at a zero vector: cos = 0 / sqrt(1e-12 * 2) = 0, so loss 1 for label 1.
  CHECK(L::cosine_embedding_loss(f64({0, 0}, {1, 2}), f64({1, 1}, {1, 2}), f64({1})).item() == 1.0);
}

TEST_CASE("losses: CosineEmbeddingLoss: labels other than 1 and -1 are errors that name the value") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, x, f64({1, -1, 0})),
                       "CosineEmbeddingLoss: label must be 1 or -1, received 0 at index 2", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, x, i64({2, 1, 1})),
                       "CosineEmbeddingLoss: label must be 1 or -1, received 2 at index 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, x, f64({1, 0.5, 1})),
                       "CosineEmbeddingLoss: label must be 1 or -1, received 0.5 at index 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, x, f64({1, -1})),
                       "CosineEmbeddingLoss: label must have shape (3,) or (3, 1), one per sample, received (2,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, f64({1, 2, 3, 4}, {2, 2}), f64({1, 1, 1})),
                       "CosineEmbeddingLoss: x1 and x2 must have the same shape, received (3, 2) and (2, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(x, x.to(tg::float32), f64({1, 1, 1})),
                       "CosineEmbeddingLoss: x1 and x2 must have one dtype, received float64 and float32 (convert one "
                       "with .to())",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineEmbeddingLoss()(Tensor::empty({0, 2}, tg::float64), Tensor::empty({0, 2}, tg::float64),
                                                Tensor::empty({0}, tg::float64)),
                       doctest::Contains("CosineEmbeddingLoss: empty batch"), std::invalid_argument);
}

// ---- CosineMSELoss: (cos - label)^2 -----------------------------------------------------

TEST_CASE("losses: CosineMSELoss: (cos - label)^2 by hand") {
  // [1, 0] vs [1, 1]: cos 0.70710678; label 0.5 -> 0.20710678^2 = 0.04289322.
  // [1, 0] vs [0, 1]: cos 0; label -1 -> 1.   [2, 0] vs [3, 0]: cos 1; label 1 -> 0.
  const Tensor x1 = f64({1, 0, 1, 0, 2, 0}, {3, 2}), x2 = f64({1, 1, 0, 1, 3, 0}, {3, 2});
  const double d = 1 / std::sqrt(2.0) - 0.5;
  check_close(L::cosine_mse_loss(x1, x2, f64({0.5, -1, 1})), f64({d * d, 1, 0}), 1e-14, 1e-15, "per sample");
  CHECK(L::CosineMSELoss()(x1, x2, f64({0.5, -1, 1})).item() == doctest::Approx((d * d + 1) / 3).epsilon(1e-14));
}

TEST_CASE("losses: CosineMSELoss: labels outside -1..1 are errors that name the value") {
  const Tensor x = f64({1, 2, 3, 4}, {2, 2});
  CHECK_THROWS_WITH_AS(L::CosineMSELoss()(x, x, f64({0.5, 4.2})),
                       "CosineMSELoss: label must be a cosine in [-1, 1] (divide scores such as STS 0-5 by their "
                       "maximum first), received 4.2 at index 1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineMSELoss()(x, x, f64({std::nan(""), 0})), doctest::Contains("received nan at index 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineMSELoss()(x, f64({1, 2, 3}, {1, 3}), f64({0, 0})),
                       "CosineMSELoss: x1 and x2 must have the same shape, received (2, 2) and (1, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineMSELoss()(f64({1, 2}), f64({1, 2}), f64({0, 0})),
                       "CosineMSELoss: x1 must have shape (batch, features), received (2,)", std::invalid_argument);
}
