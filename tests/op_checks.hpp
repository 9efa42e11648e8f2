// Helpers shared by the op-family tests: float64 tensors from values, inputs
// away from kinks, gradients through a tape, closeness checks, and gradcheck
// macros that print the report when they fail.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

// gradcheck / gradgradcheck with the report as the failure message.
#define TG_CHECK_GRADCHECK(...)                                      \
  do {                                                               \
    const tg::GradcheckResult tg_result_ = tg::gradcheck(__VA_ARGS__); \
    CHECK_MESSAGE(tg_result_.passed, tg_result_.str());              \
  } while (0)
#define TG_CHECK_GRADGRADCHECK(...)                                      \
  do {                                                                   \
    const tg::GradcheckResult tg_result_ = tg::gradgradcheck(__VA_ARGS__); \
    CHECK_MESSAGE(tg_result_.passed, tg_result_.str());                  \
  } while (0)

namespace tgtest {

using tg::Tensor;
using Fn = tg::TensorFunction;

inline Tensor f64(const std::vector<double>& values, const tg::Shape& shape) {
  return Tensor::from_vector(values, shape);
}
inline Tensor f64(const std::vector<double>& values) {
  return Tensor::from_vector(values, tg::Shape{static_cast<std::int64_t>(values.size())});
}
inline Tensor i64(const std::vector<std::int64_t>& values, const tg::Shape& shape) {
  return Tensor::from_vector(values, shape);
}
inline Tensor i64(const std::vector<std::int64_t>& values) {
  return Tensor::from_vector(values, tg::Shape{static_cast<std::int64_t>(values.size())});
}

// Seeded standard normal values in float64.
inline Tensor randn64(const tg::Shape& shape, std::uint64_t seed) { return tg::randn(shape, seed, tg::float64); }
inline Tensor uniform64(const tg::Shape& shape, double lo, double hi, std::uint64_t seed) {
  return tg::uniform(shape, lo, hi, seed, tg::float64);
}

// Random signs and magnitudes in [margin, hi): at least `margin` from a kink at 0
// (abs, relu, sign-dependent gradients), so central differences never straddle it.
inline Tensor away_from_zero(const tg::Shape& shape, std::uint64_t seed, double margin = 0.2, double hi = 2.0) {
  tg::Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  for (double& x : v) {
    const double magnitude = margin + (hi - margin) * gen.uniform();
    x = gen.uniform() < 0.5 ? -magnitude : magnitude;
  }
  return Tensor::from_vector(v, shape);
}

// d sum(upstream * f(inputs)) / d input for each floating input (upstream: ones if undefined).
inline std::vector<Tensor> grads_of(const Fn& f, const std::vector<Tensor>& inputs,
                                    const Tensor& upstream = Tensor()) {
  std::vector<Tensor> sources;
  for (const Tensor& x : inputs)
    if (x.is_floating()) sources.push_back(x);
  tg::GradientTape tape;
  tape.watch(sources);
  Tensor y = f(inputs);
  return tape.gradient(y, sources, upstream);
}

inline std::vector<double> values_of(const Tensor& t) { return t.to(tg::float64).to_vector<double>(); }

// Elementwise |got - want| <= rtol * |want| + atol, with NaN == NaN and equal
// infinities. Returns "" when close, else the first mismatches.
inline std::string mismatches(const std::vector<double>& got, const std::vector<double>& want, double rtol,
                              double atol) {
  std::ostringstream os;
  os.precision(17);
  if (got.size() != want.size()) {
    os << "sizes differ: " << got.size() << " vs " << want.size();
    return os.str();
  }
  int shown = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    bool ok;
    if (std::isnan(w)) ok = std::isnan(g);
    else if (std::isinf(w)) ok = g == w;
    else ok = std::abs(g - w) <= rtol * std::abs(w) + atol;
    if (!ok && shown++ < 5) os << "[" << i << "] got " << g << " want " << w << "; ";
  }
  return os.str();
}

inline std::string compare_values(const Tensor& got, const std::vector<double>& want, double rtol = 1e-12,
                                  double atol = 1e-12) {
  return mismatches(values_of(got), want, rtol, atol);
}

inline std::string compare_tensors(const Tensor& got, const Tensor& want, double rtol = 1e-12, double atol = 1e-12) {
  if (!got.defined()) return "undefined tensor";
  if (got.shape() != want.shape()) return "shape " + got.shape().str() + ", expected " + want.shape().str();
  return mismatches(values_of(got), values_of(want), rtol, atol);
}

// The message of the std::exception `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace tgtest

#define CHECK_CONTAINS(text, part) \
  CHECK_MESSAGE(tgtest::contains(text, part), "'" << (text) << "' lacks '" << (part) << "'")

// TG_CHECK_VALUES(tensor, {v0, v1, ...} [, rtol [, atol]]): the row-major values.
#define TG_CHECK_VALUES(...)                                     \
  do {                                                           \
    const std::string tg_bad_ = tgtest::compare_values(__VA_ARGS__); \
    CHECK_MESSAGE(tg_bad_.empty(), tg_bad_);                     \
  } while (0)
// TG_CHECK_TENSOR(got, want [, rtol [, atol]]): shape and values.
#define TG_CHECK_TENSOR(...)                                      \
  do {                                                            \
    const std::string tg_bad_ = tgtest::compare_tensors(__VA_ARGS__); \
    CHECK_MESSAGE(tg_bad_.empty(), tg_bad_);                      \
  } while (0)
