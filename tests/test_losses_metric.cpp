// Metric-learning losses: hand-computed values, semantics and bad input.
// (PyTorch reference values, reductions and gradchecks: test_losses.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>

#include "loss_checks.hpp"

using loss_checks::check_close;
using loss_checks::f64;
using loss_checks::i64;
using tg::Tensor;
using tg::losses::Distance;
using tg::losses::Reduction;
namespace L = tg::losses;

TEST_CASE("losses: pairwise_distance: ||x1 - x2 + eps||_p over the last axis") {
  const Tensor x1 = f64({0, 0, 1, 1}, {2, 2}), x2 = f64({3, 4, 1, 1}, {2, 2});
  check_close(L::pairwise_distance(x1, x2, 2.0, 0.0), f64({5, 0}), 0, 0, "eps 0");
  // eps 1e-6 added elementwise: ||[-3 + 1e-6, -4 + 1e-6]|| = 5 - 1.4e-6 (to first order
  // (-3 - 4) * 1e-6 / 5); ||[1e-6, 1e-6]|| = 1.41421356e-6.
  check_close(L::pairwise_distance(x1, x2), f64({5 - 1.4e-6, std::sqrt(2.0) * 1e-6}), 1e-12, 0, "eps 1e-6");
  check_close(L::pairwise_distance(x1, x2, 1.0, 0.0), f64({7, 0}), 0, 0, "p = 1");
  CHECK_THROWS_WITH_AS(L::pairwise_distance(x1, f64({1, 2, 3}, {1, 3})),
                       "pairwise_distance: x1 and x2 must broadcast to one shape (..., features), received (2, 2) "
                       "and (1, 3) (axis 1: 2 vs 3)",
                       std::invalid_argument);
  // p = 0 counts the nonzero differences: [-3, -4] and [0, 0].
  check_close(L::pairwise_distance(x1, x2, 0.0, 0.0), f64({2, 0}), 0, 0, "p = 0");
}

// ---- ContrastiveLoss ------------------------------------------------------------------

TEST_CASE("losses: ContrastiveLoss: 0.5 * (y d^2 + (1 - y) max(margin - d, 0)^2), cosine distance by default") {
  L::ContrastiveLoss defaults;
  CHECK(defaults.margin() == 0.5);
  CHECK(defaults.distance() == Distance::cosine);
  // Pairs and their cosine distances: [1, 0] vs [0, 1]: 1;  [1, 0] vs [1, 1]: 1 - 0.70710678 = 0.29289322.
  const Tensor x1 = f64({1, 0, 1, 0, 1, 0, 1, 0}, {4, 2}), x2 = f64({0, 1, 0, 1, 1, 1, 1, 1}, {4, 2});
  const double d = 1 - 1 / std::sqrt(2.0);
  // label 1 (similar): 0.5 * d^2 -> 0.5, 0.5 * 0.08578644 = 0.04289322.
  // label 0 (dissimilar), margin 0.5: 0.5 * max(0.5 - 1, 0)^2 = 0; 0.5 * (0.5 - 0.29289322)^2 = 0.02144661.
  const Tensor label = f64({1, 0, 1, 0});
  check_close(L::contrastive_loss(x1, x2, label), f64({0.5, 0, 0.5 * d * d, 0.5 * (0.5 - d) * (0.5 - d)}), 1e-14, 1e-15,
              "per pair");
  // int64 labels of shape (batch, 1) work too.
  check_close(L::ContrastiveLoss(0.5, Distance::cosine, Reduction::none)(
                  x1, x2, Tensor::from_vector(std::vector<std::int64_t>{1, 0, 1, 0}, {4, 1})),
              L::contrastive_loss(x1, x2, label), 0, 0, "int64 labels");
}

TEST_CASE("losses: ContrastiveLoss: euclidean distance, as sentence-transformers (eps 1e-6)") {
  // d([0, 0], [3, 4]) = 5 (minus 1.4e-6 from the eps); label 1: 0.5 * 25 = 12.5;
  // label 0 with margin 6: 0.5 * (6 - 5)^2 = 0.5; with margin 2: 0.
  const Tensor x1 = f64({0, 0}, {1, 2}), x2 = f64({3, 4}, {1, 2});
  CHECK(L::contrastive_loss(x1, x2, f64({1}), 6.0, Distance::euclidean).item() == doctest::Approx(12.5).epsilon(1e-6));
  CHECK(L::contrastive_loss(x1, x2, f64({0}), 6.0, Distance::euclidean).item() == doctest::Approx(0.5).epsilon(1e-5));
  CHECK(L::contrastive_loss(x1, x2, f64({0}), 2.0, Distance::euclidean).item() == 0.0);
}

TEST_CASE("losses: ContrastiveLoss: similar pairs are pulled together, dissimilar ones pushed apart") {
  const Tensor x1 = f64({1, 0.2}, {1, 2}), x2 = f64({0.3, 1}, {1, 2});  // cosine distance ~ 0.51
  // Gradient descent on x2 lowers the distance for label 1 and raises it for label 0 (margin 1.5).
  for (double y : {1.0, 0.0}) {
    const auto g = loss_checks::gradients([&] { return L::ContrastiveLoss(1.5)(x1, x2, f64({y})); }, {x2});
    const Tensor before = L::cosine_similarity_loss(x1, x2);
    const Tensor after = L::cosine_similarity_loss(x1, x2 - g[0] * 0.1);
    if (y == 1.0) CHECK(after.item() < before.item());
    else CHECK(after.item() > before.item());
  }
}

TEST_CASE("losses: ContrastiveLoss: labels other than 1 and 0 are errors that name the value") {
  const Tensor x = f64({1, 2, 3, 4}, {2, 2});
  CHECK_THROWS_WITH_AS(L::ContrastiveLoss()(x, x, f64({1, -1})),
                       "ContrastiveLoss: label must be 1 (similar) or 0 (dissimilar), received -1 at index 1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::ContrastiveLoss()(x, x, i64({2, 0})),
                       "ContrastiveLoss: label must be 1 (similar) or 0 (dissimilar), received 2 at index 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::ContrastiveLoss()(x, f64({1, 2, 3}, {1, 3}), f64({1, 0})),
                       "ContrastiveLoss: x1 and x2 must have the same shape, received (2, 2) and (1, 3)",
                       std::invalid_argument);
}

// ---- TripletMarginLoss ----------------------------------------------------------------

TEST_CASE("losses: TripletMarginLoss: max(d(a, p) - d(a, n) + margin, 0) by hand") {
  // a = [0, 0]; p = [3, 4] (d 5), n = [6, 8] (d 10): max(5 - 10 + 1, 0) = 0;
  // swapped: max(10 - 5 + 1, 0) = 6; p = [3, 4], n = [4, 3] (both d 5): max(0 + 1, 0) = 1.
  const Tensor a = f64({0, 0, 0, 0, 0, 0}, {3, 2});
  const Tensor p = f64({3, 4, 6, 8, 3, 4}, {3, 2}), n = f64({6, 8, 3, 4, 4, 3}, {3, 2});
  check_close(L::triplet_margin_loss(a, p, n, 1.0, 2.0, 0.0), f64({0, 6, 1}), 0, 1e-15, "eps 0");
  // p = 1: d(a, [3, 4]) = 7, d(a, [6, 8]) = 14: [0, 8, 1].
  check_close(L::triplet_margin_loss(a, p, n, 1.0, 1.0, 0.0), f64({0, 8, 1}), 0, 1e-15, "p = 1");
  // The defaults (margin 1, p 2, eps 1e-6) change the distances by about 1e-6.
  check_close(L::triplet_margin_loss(a, p, n), f64({0, 6, 1}), 0, 1e-5, "defaults");
  // Mean: (0 + 6 + 1) / 3; with weights [1, 0.5, 2]: (0 + 3 + 2) / 3.
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0)(a, p, n).item() == doctest::Approx(7.0 / 3).epsilon(1e-14));
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0)(a, p, n, f64({1, 0.5, 2})).item() == doctest::Approx(5.0 / 3).epsilon(1e-14));
}

TEST_CASE("losses: TripletMarginLoss: swap uses min(d(a, n), d(p, n)) by hand") {
  // Row 0: d(a, p) = 5, d(a, n) = 10, d(p, n) = 5: without swap max(5 - 10 + 1, 0) = 0,
  // with swap max(5 - 5 + 1, 0) = 1. Row 1: d(a, p) = 10, d(a, n) = 5, d(p, n) = 5: 6 either
  // way. Row 2: p = [3, 4], n = [-3, -4]: d(a, n) = 5 < d(p, n) = 10, so swap keeps 1.
  const Tensor a = f64({0, 0, 0, 0, 0, 0}, {3, 2});
  const Tensor p = f64({3, 4, 6, 8, 3, 4}, {3, 2}), n = f64({6, 8, 3, 4, -3, -4}, {3, 2});
  check_close(L::triplet_margin_loss(a, p, n, 1.0, 2.0, 0.0), f64({0, 6, 1}), 0, 1e-15, "no swap");
  check_close(L::triplet_margin_loss(a, p, n, 1.0, 2.0, 0.0, true), f64({1, 6, 1}), 0, 1e-15, "swap");
  // p = 1: row 0: d(a, p) = 7, d(p, n) = 7: 1; row 1: 14 - 7 + 1 = 8; row 2: 7 - 7 + 1 = 1.
  check_close(L::triplet_margin_loss(a, p, n, 1.0, 1.0, 0.0, true), f64({1, 8, 1}), 0, 1e-15, "swap, p = 1");
  // The gradient of row 0 flows through d(p, n), not d(a, n): a only gets d(a, p)'s.
  const Tensor a0 = f64({0, 0}, {1, 2}), p0 = f64({3, 4}, {1, 2}), n0 = f64({6, 8}, {1, 2});
  tg::GradientTape tape;
  tape.watch(a0);
  tape.watch(p0);
  tape.watch(n0);
  Tensor loss = tg::sum(L::triplet_margin_loss(a0, p0, n0, 1.0, 2.0, 0.0, true));
  auto g = tape.gradient(loss, {a0, p0, n0});
  // loss = d(a, p) - d(p, n) + 1: d/da = (a - p) / 5 = [-0.6, -0.8];
  // d/dp = (p - a) / 5 - (p - n) / 5 = [1.2, 1.6]; d/dn = -(n - p) / 5 = [-0.6, -0.8].
  check_close(g[0], f64({-0.6, -0.8}, {1, 2}), 0, 1e-15, "d/da");
  check_close(g[1], f64({1.2, 1.6}, {1, 2}), 0, 1e-15, "d/dp");
  check_close(g[2], f64({-0.6, -0.8}, {1, 2}), 0, 1e-15, "d/dn");
  // The class: PyTorch's order (margin, p, eps, swap, reduction) and the older (margin, p, eps, reduction).
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0, true)(a, p, n).item() == doctest::Approx(8.0 / 3).epsilon(1e-14));
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0, true, Reduction::sum)(a, p, n).item() == doctest::Approx(8.0).epsilon(1e-14));
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0, Reduction::sum)(a, p, n).item() == doctest::Approx(7.0).epsilon(1e-14));
  CHECK(L::TripletMarginLoss(1.0, 2.0, 0.0, true).swap());
  CHECK_FALSE(L::TripletMarginLoss(1.0, 2.0, 0.0, Reduction::sum).swap());
  CHECK(L::TripletMarginLoss(1.0, 2.0, 1e-6, true).repr() ==
        "TripletMarginLoss(margin=1, p=2, eps=1e-06, swap=true, reduction=sum_over_batch_size)");
}

TEST_CASE("losses: TripletMarginLoss: bad input is an error naming the loss") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss()(x, x, f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4})),
                       "TripletMarginLoss: anchor and negative must have the same shape, received (2, 3) and (2, 4)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss()(x, f64({1, 2, 3}, {1, 3}), x),
                       "TripletMarginLoss: anchor and positive must have the same shape, received (2, 3) and (1, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss(1.0, -1.0)(x, x, x), "TripletMarginLoss: p must be > 0, received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss()(x, x, x.to(tg::float32)),
                       doctest::Contains("TripletMarginLoss: anchor and negative must have one dtype"),
                       std::invalid_argument);
  // swap checks the same way before computing d(p, n).
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss(1.0, 2.0, 1e-6, true)(x, f64({1, 2, 3}, {1, 3}), x),
                       "TripletMarginLoss: anchor and positive must have the same shape, received (2, 3) and (1, 3)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::triplet_margin_loss(x, x, x, 1.0, -1.0, 1e-6, true),
                       "TripletMarginLoss: p must be > 0, received -1", std::invalid_argument);
}

// ---- CosineTripletMarginLoss -------------------------------------------------------------

TEST_CASE("losses: CosineTripletMarginLoss: the triplet loss on cosine distances by hand") {
  // a = [1, 0]. p = [1, 0] (distance 0), n = [0, 1] (distance 1), margin 1: max(0 - 1 + 1, 0) = 0.
  // p = [0, 1], n = [1, 0]: max(1 - 0 + 1, 0) = 2.  p = [1, 1] (0.29289), n = [-1, 0] (2): 0.
  // p = [1, 1] (0.29289), n = [1, 1] (0.29289): max(0 + 1, 0) = 1.
  const Tensor a = f64({1, 0, 1, 0, 1, 0, 1, 0}, {4, 2});
  const Tensor p = f64({1, 0, 0, 1, 1, 1, 1, 1}, {4, 2}), n = f64({0, 1, 1, 0, -1, 0, 1, 1}, {4, 2});
  check_close(L::cosine_triplet_margin_loss(a, p, n), f64({0, 2, 0, 1}), 0, 1e-15, "margin 1");
  // margin 0.5: [0, 1.5, 0, 0.5].
  check_close(L::CosineTripletMarginLoss(0.5, Reduction::none)(a, p, n), f64({0, 1.5, 0, 0.5}), 0, 1e-15, "margin 0.5");
  CHECK_THROWS_WITH_AS(L::CosineTripletMarginLoss()(a, p, f64({1, 0}, {1, 2})),
                       "CosineTripletMarginLoss: anchor and negative must have the same shape, received (4, 2) and (1, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::CosineTripletMarginLoss()(f64({1, 0}), f64({1, 0}), f64({1, 0})),
                       "CosineTripletMarginLoss: anchor must have shape (batch, features), received (2,)",
                       std::invalid_argument);
}

// ---- MultipleNegativesRankingLoss ---------------------------------------------------------

TEST_CASE("losses: MultipleNegativesRankingLoss: cross-entropy over scaled cosines, diagonal positives") {
  // anchors = positives = [[1, 0], [0, 1]], scale 1: S = [[1, 0], [0, 1]];
  // loss_i = log(e^1 + e^0) - 1 = log(3.71828183) - 1 = 0.31326169 for both rows.
  const Tensor e = f64({1, 0, 0, 1}, {2, 2});
  const double l = std::log(std::exp(1.0) + 1.0) - 1.0;
  check_close(L::multiple_negatives_ranking_loss(e, e, 1.0), f64({l, l}), 1e-14, 0, "scale 1");
  // scale 20: log(e^20 + 1) - 20 = log1p(e^-20) = 2.0611536e-9 (log_softmax computes
  // log(1 + 2.06e-9), exact to about 1e-16 absolute, so 5e-8 relative).
  check_close(L::multiple_negatives_ranking_loss(e, e), f64({2.0611536181902e-9, 2.0611536181902e-9}), 1e-6, 0,
              "scale 20");
  // Swapping the positives makes each anchor's positive the orthogonal row:
  // loss_i = log(e^20 + 1) - 0 = 20.000000002.
  const Tensor swapped = f64({0, 1, 1, 0}, {2, 2});
  check_close(L::multiple_negatives_ranking_loss(e, swapped), f64({20, 20}), 1e-9, 0, "wrong pairing");
  CHECK(L::MultipleNegativesRankingLoss().scale() == 20.0);
}

TEST_CASE("losses: MultipleNegativesRankingLoss: extra rows of positives are hard negatives for every anchor") {
  // anchors [[1, 0]], positives [[1, 0], [1, 0]] (a hard negative identical to the positive),
  // scale 1: S = [[1, 1]], loss = log(2e) - 1 = log 2.
  const Tensor a = f64({1, 0}, {1, 2}), b = f64({1, 0, 1, 0}, {2, 2});
  check_close(L::multiple_negatives_ranking_loss(a, b, 1.0), f64({std::log(2.0)}), 1e-14, 0, "one hard negative");
  // Only the first N rows of positives are positives: (2, 2) anchors with (3, 2) positives.
  const Tensor b3 = f64({1, 0, 0, 1, -1, 0}, {3, 2});
  // Row 0: S = [1, 0, -1], loss = log(e + 1 + 1/e) - 1; row 1: S = [0, 1, 0], loss = log(1 + e + 1) - 1.
  const double e1 = std::exp(1.0);
  check_close(L::multiple_negatives_ranking_loss(f64({1, 0, 0, 1}, {2, 2}), b3, 1.0),
              f64({std::log(e1 + 1 + 1 / e1) - 1, std::log(e1 + 2) - 1}), 1e-14, 0, "N = 2, M = 3");
}

TEST_CASE("losses: MultipleNegativesRankingLoss: bad input is an error naming the loss") {
  const Tensor a = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK_THROWS_WITH_AS(L::MultipleNegativesRankingLoss()(a, f64({1, 2, 3, 4}, {2, 2})),
                       "MultipleNegativesRankingLoss: expected anchors (N, D) and positives (M, D) with M >= N (row i "
                       "of positives is anchor i's positive; extra rows are shared hard negatives), received anchors "
                       "(3, 2) and positives (2, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MultipleNegativesRankingLoss()(a, f64({1, 2, 3, 4, 5, 6}, {2, 3})),
                       doctest::Contains("received anchors (3, 2) and positives (2, 3)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MultipleNegativesRankingLoss()(f64({1, 2}), f64({1, 2})),
                       "MultipleNegativesRankingLoss: anchors must have shape (batch, features), received (2,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::MultipleNegativesRankingLoss()(a, a, f64({1, 1})),
                       "MultipleNegativesRankingLoss: sample_weight must have shape (3,) or (3, 1), one per sample, "
                       "received (2,)",
                       std::invalid_argument);
}

// ---- hyperparameters ------------------------------------------------------------------------

TEST_CASE("losses: metric-learning margins and scales that make the loss meaningless are refused") {
  // NaN: every loss NaN. Infinite: every loss infinite. margin <= 0: the hinge
  // is 0 for pairs and triplets not yet separated (PyTorch's TripletMarginLoss:
  // "expected margin to be greater than 0"). scale <= 0: the ranking loss
  // pushes anchors away from their positives (0: constant, no gradient).
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3}), y = f64({1, 0});
  const std::pair<double, const char*> cases[] = {
      {0.0, "0"}, {-0.5, "-0.5"}, {std::nan(""), "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"}};
  for (const auto& [bad, text] : cases) {
    CAPTURE(bad);
    const std::string received = std::string(", received ") + text;
    const std::string margin = "margin must be a finite number > 0" + received;
    CHECK_THROWS_WITH_AS(L::ContrastiveLoss{bad}, ("ContrastiveLoss: " + margin).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::ContrastiveLoss(bad, Distance::euclidean), ("ContrastiveLoss: " + margin).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::contrastive_loss(x, x, y, bad), ("ContrastiveLoss: " + margin).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::TripletMarginLoss{bad}, ("TripletMarginLoss: " + margin).c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::triplet_margin_loss(x, x, x, bad), ("TripletMarginLoss: " + margin).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::CosineTripletMarginLoss{bad}, ("CosineTripletMarginLoss: " + margin).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::cosine_triplet_margin_loss(x, x, x, bad), ("CosineTripletMarginLoss: " + margin).c_str(),
                         std::invalid_argument);
    const std::string scale = "MultipleNegativesRankingLoss: scale must be a finite number > 0" + received;
    CHECK_THROWS_WITH_AS(L::MultipleNegativesRankingLoss{bad}, scale.c_str(), std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::multiple_negatives_ranking_loss(x, x, bad), scale.c_str(), std::invalid_argument);
  }
  // The distance's eps: NaN or infinite make every distance so (p > 0 was checked already).
  for (const auto& [bad, text] : {std::pair<double, const char*>{std::nan(""), "nan"}, {INFINITY, "inf"}}) {
    const std::string received = text;
    CHECK_THROWS_WITH_AS(L::TripletMarginLoss(1.0, 2.0, bad), ("TripletMarginLoss: eps must be finite, received " + received).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(L::pairwise_distance(x, x, 2.0, bad), ("pairwise_distance: eps must be finite, received " + received).c_str(),
                         std::invalid_argument);
  }
  CHECK_THROWS_WITH_AS(L::TripletMarginLoss(1.0, std::nan("")), "TripletMarginLoss: p must be > 0, received nan",
                       std::invalid_argument);
  // Small positive margins and scales stay allowed.
  CHECK_NOTHROW(L::ContrastiveLoss(1e-3));
  CHECK_NOTHROW(L::TripletMarginLoss(1e-3, 1.0, 0.0));
  CHECK_NOTHROW(L::MultipleNegativesRankingLoss(0.5));
}
