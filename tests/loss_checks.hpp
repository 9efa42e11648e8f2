// Helpers shared by the loss tests: small tensors from values, gradients
// through a tape, elementwise closeness, gradcheck with its report as the
// failure message, and a registry that applies any loss class generically.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "loss_fixtures.hpp"

#define TG_LOSS_GRADCHECK(...)                                          \
  do {                                                                  \
    const tg::GradcheckResult tg_loss_result_ = tg::gradcheck(__VA_ARGS__); \
    CHECK_MESSAGE(tg_loss_result_.passed, tg_loss_result_.str());       \
  } while (0)

namespace loss_checks {

using tg::Tensor;
using tg::losses::Reduction;

inline Tensor f64(const std::vector<double>& values, const tg::Shape& shape) {
  return Tensor::from_vector(values, shape);
}
inline Tensor f64(const std::vector<double>& values) {
  return Tensor::from_vector(values, tg::Shape{static_cast<std::int64_t>(values.size())});
}
inline Tensor i64(const std::vector<std::int64_t>& values) {
  return Tensor::from_vector(values, tg::Shape{static_cast<std::int64_t>(values.size())});
}

// Every element within atol + rtol * |expected| (NaN never passes); reports the first miss.
inline void check_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                        const std::string& what) {
  INFO(what);
  REQUIRE(actual.shape() == expected.shape());
  const std::vector<double> a = actual.to(tg::float64).to_vector<double>();
  const std::vector<double> e = expected.to(tg::float64).to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool ok = std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]);
    if (!ok) {
      CHECK_MESSAGE(ok, what << ": element " << i << " is " << a[i] << ", expected " << e[i]);
      return;
    }
  }
}

// d target / d sources, with `fn` run under a tape watching the sources.
inline std::vector<Tensor> gradients(const std::function<Tensor()>& fn, const std::vector<Tensor>& sources) {
  tg::GradientTape tape;
  tape.watch(sources);
  Tensor target = fn();
  return tape.gradient(target, sources);
}

// A loss class applied to inputs in its argument order with a sample weight.
using Applied = std::function<Tensor(const std::vector<Tensor>& inputs, const Tensor& sample_weight)>;

inline Tensor invoke(const tg::losses::Loss& loss, const std::vector<Tensor>& x, const Tensor& w) {
  REQUIRE(x.size() == 2);
  return loss(x[0], x[1], w);
}
inline Tensor invoke(const tg::losses::PairLoss& loss, const std::vector<Tensor>& x, const Tensor& w) {
  REQUIRE(x.size() == 3);
  return loss(x[0], x[1], x[2], w);
}
inline Tensor invoke(const tg::losses::TripletLoss& loss, const std::vector<Tensor>& x, const Tensor& w) {
  REQUIRE(x.size() == 3);
  return loss(x[0], x[1], x[2], w);
}
inline Tensor invoke(const tg::losses::MultipleNegativesRankingLoss& loss, const std::vector<Tensor>& x,
                     const Tensor& w) {
  REQUIRE(x.size() == 2);
  return loss(x[0], x[1], w);
}

template <class L>
Applied bind(L loss) {
  return [loss](const std::vector<Tensor>& x, const Tensor& w) { return invoke(loss, x, w); };
}

// Every loss class: builds it from a fixture case's hyperparameters and a reduction.
using Factory = std::function<Applied(const loss_fixtures::Case&, Reduction)>;

inline const std::map<std::string, Factory>& registry() {
  using namespace tg::losses;
  using Case = loss_fixtures::Case;
  static const std::map<std::string, Factory> r = {
      {"CosineSimilarityLoss",
       [](const Case& c, Reduction red) { return bind(CosineSimilarityLoss(static_cast<int>(c.param("axis")), red)); }},
      {"CosineSimilarity",
       [](const Case& c, Reduction red) { return bind(CosineSimilarity(static_cast<int>(c.param("axis")), red)); }},
      {"CosineEmbeddingLoss",
       [](const Case& c, Reduction red) { return bind(CosineEmbeddingLoss(c.param("margin"), red)); }},
      {"CosineMSELoss", [](const Case&, Reduction red) { return bind(CosineMSELoss(red)); }},
      {"ContrastiveLoss",
       [](const Case& c, Reduction red) {
         Distance d = c.text_param("distance") == "cosine" ? Distance::cosine : Distance::euclidean;
         return bind(ContrastiveLoss(c.param("margin"), d, red));
       }},
      {"TripletMarginLoss",
       [](const Case& c, Reduction red) {
         const bool swap = c.params.count("swap") != 0 && c.param("swap") != 0;
         return bind(TripletMarginLoss(c.param("margin"), c.param("p"), c.param("eps"), swap, red));
       }},
      {"CosineTripletMarginLoss",
       [](const Case& c, Reduction red) { return bind(CosineTripletMarginLoss(c.param("margin"), red)); }},
      {"MultipleNegativesRankingLoss",
       [](const Case& c, Reduction red) { return bind(MultipleNegativesRankingLoss(c.param("scale"), red)); }},
      {"MeanSquaredError", [](const Case&, Reduction red) { return bind(MeanSquaredError(red)); }},
      {"MeanAbsoluteError", [](const Case&, Reduction red) { return bind(MeanAbsoluteError(red)); }},
      {"BinaryCrossentropy",
       [](const Case& c, Reduction red) { return bind(BinaryCrossentropy(c.param("from_logits") != 0, red)); }},
      {"CategoricalCrossentropy",
       [](const Case& c, Reduction red) { return bind(CategoricalCrossentropy(c.param("from_logits") != 0, red)); }},
      {"SparseCategoricalCrossentropy",
       [](const Case& c, Reduction red) {
         return bind(SparseCategoricalCrossentropy(c.param("from_logits") != 0, red));
       }},
  };
  return r;
}

inline Applied make(const loss_fixtures::Case& c, Reduction reduction) {
  auto it = registry().find(c.loss);
  REQUIRE_MESSAGE(it != registry().end(), "no registry entry for " << c.loss);
  return it->second(c, reduction);
}

}  // namespace loss_checks
