// Every loss against the PyTorch fixtures (tests/fixtures/losses.txt, made by
// scripts/make_loss_fixtures.py): per-sample values, every reduction with
// sample weights, gradients against PyTorch's, gradcheck in float64 through
// every differentiable input and every reduction, second derivatives, float32,
// and the empty batch. Also the reduction
// itself and the class interface.
#include <doctest/doctest.h>

#include <set>

#include "loss_checks.hpp"

using loss_checks::check_close;
using loss_checks::f64;
using tg::Tensor;
using tg::losses::Reduction;

namespace {

// Inputs of the case with each floating one converted to `dtype`.
std::vector<Tensor> inputs_as(const loss_fixtures::Case& c, tg::DType dtype) {
  std::vector<Tensor> xs;
  for (const Tensor& x : c.inputs()) xs.push_back(x.is_floating() ? x.to(dtype) : x);
  return xs;
}

// Which inputs the fixture has gradients for (the differentiable ones).
std::vector<bool> differentiable(const loss_fixtures::Case& c) {
  std::vector<bool> mask;
  for (const auto& name : c.input_names()) mask.push_back(c.has("grad_" + name));
  return mask;
}

// Points on a kink of the loss, where central differences straddle two pieces.
const std::set<std::string> on_a_kink = {
    "binary_crossentropy_clipped",  // probabilities 0, 1 and 1e-9 sit on the clip's corners
};

// Cases whose float32 result legitimately differs from the float64 reference by
// more than rounding: in float32 the clip's upper end 1 - 1e-7 rounds to
// 1 - 1.19e-7, so log(1 - p') is -15.94 instead of -16.12 (Keras's float32 too).
const std::set<std::string> float32_differs = {"binary_crossentropy_clipped"};

}  // namespace

TEST_CASE("losses: every fixture case matches PyTorch in value, reduction and gradient") {
  for (const auto& [name, c] : loss_fixtures::all()) {
    SUBCASE(name.c_str()) {
      INFO("fixture " << name << " (" << c.loss << ")");
      const std::vector<Tensor> xs = c.inputs();
      const Tensor& w = c.tensor("w");
      const Tensor& expected = c.tensor("per_sample");
      const double batch = static_cast<double>(expected.dim(0));

      // Per-sample values (reduction none, no weights).
      check_close(loss_checks::make(c, Reduction::none)(xs, Tensor()), expected, 1e-10, 1e-12, "per-sample values");
      // Each reduction with the sample weights.
      check_close(loss_checks::make(c, Reduction::none)(xs, w), expected.to(tg::float64) * w, 1e-10, 1e-12,
                  "none with weights");
      check_close(loss_checks::make(c, Reduction::sum)(xs, w), c.tensor("weighted_mean") * batch, 1e-10, 1e-12,
                  "sum with weights");
      const Tensor mean = loss_checks::make(c, Reduction::sum_over_batch_size)(xs, w);
      CHECK(mean.rank() == 0);
      check_close(mean, c.tensor("weighted_mean"), 1e-10, 1e-12, "sum_over_batch_size with weights");

      // Gradients of the weighted mean against PyTorch's.
      const std::vector<std::string> names = c.input_names();
      std::vector<Tensor> sources;
      std::vector<std::string> source_names;
      for (std::size_t i = 0; i < xs.size(); ++i)
        if (c.has("grad_" + names[i])) {
          sources.push_back(xs[i]);
          source_names.push_back(names[i]);
        }
      REQUIRE(!sources.empty());
      const auto loss = loss_checks::make(c, Reduction::sum_over_batch_size);
      const auto grads = loss_checks::gradients([&] { return loss(xs, w); }, sources);
      for (std::size_t s = 0; s < sources.size(); ++s)
        check_close(grads[s], c.tensor("grad_" + source_names[s]), 1e-8, 1e-10, "gradient to " + source_names[s]);
    }
  }
}

TEST_CASE("losses: gradcheck in float64 through every differentiable input, every reduction, with weights") {
  for (const auto& [name, c] : loss_fixtures::all()) {
    if (on_a_kink.count(name)) continue;
    SUBCASE(name.c_str()) {
      INFO("fixture " << name << " (" << c.loss << ")");
      tg::GradcheckOptions options;
      options.requires_grad = differentiable(c);
      const auto per_sample = loss_checks::make(c, Reduction::none);
      TG_LOSS_GRADCHECK([&](const std::vector<Tensor>& v) { return per_sample(v, Tensor()); }, c.inputs(), options);
      const Tensor w = c.tensor("w");
      for (Reduction reduction : {Reduction::none, Reduction::sum, Reduction::sum_over_batch_size}) {
        INFO("reduction " << tg::losses::reduction_name(reduction));
        const auto weighted = loss_checks::make(c, reduction);
        TG_LOSS_GRADCHECK([&](const std::vector<Tensor>& v) { return weighted(v, w); }, c.inputs(), options);
      }
    }
  }
}

TEST_CASE("losses: second derivatives through nested tapes (gradgradcheck)") {
  // Losses are compositions of ops whose backward passes are themselves ops, so
  // the Hessian-vector products a nested tape computes must be right too.
  for (const auto& [name, c] : loss_fixtures::all()) {
    if (on_a_kink.count(name)) continue;
    SUBCASE(name.c_str()) {
      INFO("fixture " << name << " (" << c.loss << ")");
      tg::GradcheckOptions options;
      options.requires_grad = differentiable(c);
      const auto per_sample = loss_checks::make(c, Reduction::none);
      const tg::GradcheckResult result = tg::gradgradcheck(
          [&](const std::vector<Tensor>& v) { return per_sample(v, Tensor()); }, c.inputs(), options);
      CHECK_MESSAGE(result.passed, result.str());
    }
  }
}

TEST_CASE("losses: float32 inputs give float32 losses close to the float64 reference") {
  for (const auto& [name, c] : loss_fixtures::all()) {
    if (float32_differs.count(name)) continue;
    SUBCASE(name.c_str()) {
      INFO("fixture " << name << " (" << c.loss << ")");
      const Tensor out = loss_checks::make(c, Reduction::none)(inputs_as(c, tg::float32), Tensor());
      CHECK(out.dtype() == tg::float32);
      check_close(out, c.tensor("per_sample"), 1e-5, 1e-5, "float32 per-sample values");
    }
  }
}

TEST_CASE("losses: an empty batch is an error naming the loss") {
  for (const auto& [name, c] : loss_fixtures::all()) {
    SUBCASE(name.c_str()) {
      std::vector<Tensor> empty;
      for (const Tensor& x : c.inputs()) {
        tg::Shape shape = x.shape();
        shape[0] = 0;
        empty.push_back(Tensor::empty(shape, x.dtype()));
      }
      const auto loss = loss_checks::make(c, Reduction::sum_over_batch_size);
      CHECK_THROWS_WITH_AS(loss(empty, Tensor()), doctest::Contains((c.loss + ": empty batch").c_str()), std::invalid_argument);
    }
  }
}

TEST_CASE("losses: the registry covers every loss class, and each has a PyTorch fixture") {
  std::set<std::string> with_fixture;
  for (const auto& [name, c] : loss_fixtures::all()) {
    CHECK_MESSAGE(loss_checks::registry().count(c.loss), "fixture " << name << " names an unregistered loss " << c.loss);
    with_fixture.insert(c.loss);
  }
  for (const auto& [loss, factory] : loss_checks::registry())
    CHECK_MESSAGE(with_fixture.count(loss), loss << " has no fixture case");
  CHECK(loss_checks::registry().size() == 13);
}

// ---- the reduction and the class interface ---------------------------------------------

TEST_CASE("losses: reduce applies sample weights and each reduction with Keras semantics") {
  const Tensor v = f64({1, 2, 3, 4});
  // none: v; sum: 10; mean: 10 / 4.
  CHECK(tg::losses::reduce(v, Reduction::none).to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(tg::losses::reduce(v, Reduction::sum).item() == 10.0);
  CHECK(tg::losses::reduce(v, Reduction::sum_over_batch_size).item() == 2.5);
  CHECK(tg::losses::reduce(v, Reduction::mean).item() == 2.5);
  // Weights [0, 1, 2, 0.5]: weighted values [0, 2, 6, 2], sum 10, divided by the
  // batch size 4 (not by the sum of the weights, 3.5): 2.5.
  const Tensor w = f64({0, 1, 2, 0.5});
  CHECK(tg::losses::reduce(v, Reduction::none, w).to_vector<double>() == std::vector<double>{0, 2, 6, 2});
  CHECK(tg::losses::reduce(v, Reduction::sum, w).item() == 10.0);
  CHECK(tg::losses::reduce(v, Reduction::sum_over_batch_size, w).item() == 2.5);
  // A scalar weight scales everything; a (batch, 1) weight is one per sample.
  CHECK(tg::losses::reduce(v, Reduction::sum, Tensor::scalar(2.0, tg::float64)).item() == 20.0);
  CHECK(tg::losses::reduce(v, Reduction::sum, f64({0, 1, 2, 0.5}, {4, 1})).item() == 10.0);
  // int64 and float32 weights are converted to the losses' dtype.
  CHECK(tg::losses::reduce(v, Reduction::sum, loss_checks::i64({1, 1, 0, 0})).item() == 3.0);
  CHECK(tg::losses::reduce(v, Reduction::sum, f64({1, 1, 0, 0}).to(tg::float32)).dtype() == tg::float64);
}

TEST_CASE("losses: the gradient of a weighted mean is weight / batch per sample") {
  const Tensor v = f64({1, 2, 3, 4});
  const Tensor w = f64({0, 1, 2, 0.5});
  const auto g = loss_checks::gradients([&] { return tg::losses::reduce(v, Reduction::sum_over_batch_size, w); }, {v});
  CHECK(g[0].to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.125});
}

TEST_CASE("losses: bad sample weights and bad per-sample values are errors naming the loss") {
  const Tensor y_true = f64({1, 2, 3, 4}, {2, 2}), y_pred = f64({1, 2, 3, 5}, {2, 2});
  tg::losses::MeanSquaredError mse;
  CHECK_THROWS_WITH_AS(mse(y_true, y_pred, f64({1, 2, 3})),
                       "MeanSquaredError: sample_weight must have shape (2,) or (2, 1), one per sample, received (3,)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(mse(y_true, y_pred, f64({1, 2, 3, 4}, {2, 2})),
                       "MeanSquaredError: sample_weight must have shape (2,) or (2, 1), one per sample, received (2, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::losses::reduce(f64({1, 2, 3, 4}, {2, 2}), Reduction::sum, Tensor(), "MyLoss"),
                       "MyLoss: the per-sample losses must have shape (batch,), received (2, 2)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::losses::reduce(Tensor::empty({0}, tg::float64), Reduction::sum, Tensor(), "MyLoss"),
                       doctest::Contains("MyLoss: empty batch"), std::invalid_argument);
}

TEST_CASE("losses: name, reduction and repr") {
  tg::losses::CosineSimilarityLoss cosine;
  CHECK(cosine.name() == "CosineSimilarityLoss");
  CHECK(cosine.reduction() == Reduction::sum_over_batch_size);
  CHECK(cosine.repr() == "CosineSimilarityLoss(axis=1, reduction=sum_over_batch_size)");
  CHECK(tg::losses::ContrastiveLoss(0.25, tg::losses::Distance::euclidean, Reduction::sum).repr() ==
        "ContrastiveLoss(margin=0.25, distance=euclidean, reduction=sum)");
  CHECK(tg::losses::TripletMarginLoss().repr() == "TripletMarginLoss(margin=1, p=2, eps=1e-06, swap=false, reduction=sum_over_batch_size)");
  CHECK(tg::losses::MeanSquaredError(Reduction::none).repr() == "MeanSquaredError(reduction=none)");
  CHECK(tg::losses::BinaryCrossentropy(true).repr() == "BinaryCrossentropy(from_logits=true, reduction=sum_over_batch_size)");
  CHECK(tg::losses::MultipleNegativesRankingLoss().repr() == "MultipleNegativesRankingLoss(scale=20, reduction=sum_over_batch_size)");
  CHECK(std::string(tg::losses::reduction_name(Reduction::mean)) == "sum_over_batch_size");
}

TEST_CASE("losses: a class is usable through its family's base") {
  // Loss& / PairLoss& / TripletLoss& dispatch to the derived call().
  const Tensor a = f64({1, 0, 0, 1}, {2, 2}), b = f64({1, 0, 0, -1}, {2, 2});
  tg::losses::CosineSimilarityLoss cosine(1, Reduction::none);
  const tg::losses::Loss& base = cosine;
  CHECK(base(a, b).to_vector<double>() == std::vector<double>{0, 2});
  // Rows: same direction with label 1 -> 1 - 1 = 0; opposite with label 1 -> 1 - (-1) = 2.
  tg::losses::CosineEmbeddingLoss embedding(0.0, Reduction::sum);
  const tg::losses::PairLoss& pair = embedding;
  // (PyTorch's eps convention leaves 1 - 1/(1 + 1e-12) = 1e-12 for the first.)
  check_close(pair.call(a, b, f64({1, 1})), f64({0, 2}), 0, 1e-11, "PairLoss::call");
  check_close(pair(a, b, f64({1, 1})), Tensor::scalar(2.0, tg::float64), 0, 1e-11, "PairLoss::operator()");
  // anchor = positive (cosine distance 0), negative = -anchor (distance 2): max(0 - 2 + 1, 0) = 0;
  // swapped: max(2 - 0 + 1, 0) = 3.
  tg::losses::CosineTripletMarginLoss triplet(1.0, Reduction::none);
  const tg::losses::TripletLoss& triple = triplet;
  CHECK(triple(a, a, -a).to_vector<double>() == std::vector<double>{0, 0});
  CHECK(triple(a, -a, a).to_vector<double>() == std::vector<double>{3, 3});
}
