// Core ops against PyTorch 1.13 in float64: forward values and the gradients
// for a fixed upstream gradient, from tests/fixtures/core_ops.txt (written by
// scripts/make_fixtures.py; no Python needed here).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "fixtures.hpp"
#include "op_checks.hpp"

using tg::Tensor;
using tgtest::FixtureCase;

namespace {

using Op = std::function<Tensor(const std::vector<Tensor>&, const FixtureCase&)>;

tg::Axes axes_of(const FixtureCase& c) { return c.has("axes") ? c.ints("axes") : tg::Axes{}; }

// How each fixture op name calls tapegrad.
const std::map<std::string, Op>& fixture_ops() {
  static const std::map<std::string, Op> ops = {
      {"add", [](const auto& v, const auto&) { return tg::add(v[0], v[1]); }},
      {"sub", [](const auto& v, const auto&) { return tg::sub(v[0], v[1]); }},
      {"mul", [](const auto& v, const auto&) { return tg::mul(v[0], v[1]); }},
      {"div", [](const auto& v, const auto&) { return tg::div(v[0], v[1]); }},
      {"neg", [](const auto& v, const auto&) { return tg::neg(v[0]); }},
      {"exp", [](const auto& v, const auto&) { return tg::exp(v[0]); }},
      {"log", [](const auto& v, const auto&) { return tg::log(v[0]); }},
      {"sqrt", [](const auto& v, const auto&) { return tg::sqrt(v[0]); }},
      {"square", [](const auto& v, const auto&) { return tg::square(v[0]); }},
      {"pow",
       [](const auto& v, const auto& c) { return c.has("p") ? tg::pow(v[0], c.number("p")) : tg::pow(v[0], v[1]); }},
      {"abs", [](const auto& v, const auto&) { return tg::abs(v[0]); }},
      {"maximum", [](const auto& v, const auto&) { return tg::maximum(v[0], v[1]); }},
      {"minimum", [](const auto& v, const auto&) { return tg::minimum(v[0], v[1]); }},
      {"clamp", [](const auto& v, const auto& c) { return tg::clamp(v[0], c.number("lo"), c.number("hi")); }},
      {"where", [](const auto& v, const auto&) { return tg::where(v[0], v[1], v[2]); }},
      {"relu", [](const auto& v, const auto&) { return tg::relu(v[0]); }},
      {"sigmoid", [](const auto& v, const auto&) { return tg::sigmoid(v[0]); }},
      {"tanh", [](const auto& v, const auto&) { return tg::tanh(v[0]); }},
      {"softplus", [](const auto& v, const auto&) { return tg::softplus(v[0]); }},
      {"log_sigmoid", [](const auto& v, const auto&) { return tg::log_sigmoid(v[0]); }},
      {"softmax", [](const auto& v, const auto& c) { return tg::softmax(v[0], c.integer("axis")); }},
      {"log_softmax", [](const auto& v, const auto& c) { return tg::log_softmax(v[0], c.integer("axis")); }},
      {"sum", [](const auto& v, const auto& c) { return tg::sum(v[0], axes_of(c), c.flag("keepdims")); }},
      {"mean", [](const auto& v, const auto& c) { return tg::mean(v[0], axes_of(c), c.flag("keepdims")); }},
      {"max", [](const auto& v, const auto& c) { return tg::max(v[0], axes_of(c), c.flag("keepdims")); }},
      {"min", [](const auto& v, const auto& c) { return tg::min(v[0], axes_of(c), c.flag("keepdims")); }},
      {"logsumexp", [](const auto& v, const auto& c) { return tg::logsumexp(v[0], axes_of(c), c.flag("keepdims")); }},
      {"norm",
       [](const auto& v, const auto& c) { return tg::norm(v[0], c.number("p"), axes_of(c), c.flag("keepdims")); }},
      {"reshape", [](const auto& v, const auto& c) { return tg::reshape(v[0], c.int64s("shape")); }},
      {"transpose",
       [](const auto& v, const auto& c) { return c.has("perm") ? tg::transpose(v[0], c.ints("perm")) : tg::transpose(v[0]); }},
      {"expand_dims", [](const auto& v, const auto& c) { return tg::expand_dims(v[0], c.integer("axis")); }},
      {"squeeze", [](const auto& v, const auto& c) { return tg::squeeze(v[0], axes_of(c)); }},
      {"concat", [](const auto& v, const auto& c) { return tg::concat(v, c.integer("axis")); }},
      {"stack", [](const auto& v, const auto& c) { return tg::stack(v, c.integer("axis")); }},
      {"slice",
       [](const auto& v, const auto& c) {
         return tg::slice(v[0], c.integer("axis"), c.int64s("start")[0], c.int64s("stop")[0], c.int64s("step")[0]);
       }},
      {"matmul",
       [](const auto& v, const auto& c) {
         return tg::matmul(v[0], v[1], c.flag("transpose_a"), c.flag("transpose_b"));
       }},
      {"gather", [](const auto& v, const auto&) { return tg::gather(v[0], v[1]); }},
      {"scatter_add_rows",
       [](const auto& v, const auto& c) { return tg::scatter_add_rows(v[0], v[1], c.int64s("num_rows")[0]); }},
  };
  return ops;
}

// |got - want| <= 1e-12 * (|want| + max |want| over the tensor): relative to the
// element, with a floor relative to the tensor's scale for values that are
// sums of cancelling terms.
std::string compare_fixture(const Tensor& got, const Tensor& want) {
  if (!got.defined()) return "undefined result";
  if (got.shape() != want.shape()) return "shape " + got.shape().str() + ", expected " + want.shape().str();
  double scale = 0;
  for (double w : tgtest::values_of(want))
    if (std::isfinite(w)) scale = std::max(scale, std::abs(w));
  return tgtest::mismatches(tgtest::values_of(got), tgtest::values_of(want), 1e-12, 1e-12 * scale);
}

std::vector<FixtureCase> core_cases() { return tgtest::load_fixtures(tgtest::fixture_path("core_ops.txt")); }

}  // namespace

TEST_CASE("fixtures: every op of the core families has PyTorch reference cases") {
  std::set<std::string> covered;
  for (const auto& c : core_cases()) covered.insert(c.op);
  // The ops the foundation issue lists; a new case file must keep covering them.
  for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "square", "pow", "abs",
                         "maximum", "minimum", "clamp", "where", "relu", "sigmoid", "tanh", "softplus",
                         "log_sigmoid", "softmax", "log_softmax", "sum", "mean", "max", "min", "logsumexp",
                         "norm", "reshape", "transpose", "expand_dims", "squeeze", "concat", "stack", "slice",
                         "matmul", "gather", "scatter_add_rows"}) {
    CAPTURE(op);
    CHECK(covered.count(op) == 1);
  }
}

TEST_CASE("fixtures: values and gradients match PyTorch float64 to 1e-12") {
  const auto cases = core_cases();
  REQUIRE(cases.size() >= 80);
  for (const FixtureCase& c : cases) {
    INFO("fixture case '", c.name, "' (op ", c.op, ", core_ops.txt line ", c.line, ")");
    auto it = fixture_ops().find(c.op);
    REQUIRE_MESSAGE(it != fixture_ops().end(), "no C++ call for fixture op " << c.op);
    const Op& op = it->second;

    std::vector<Tensor> sources;
    for (const Tensor& x : c.inputs)
      if (x.is_floating()) sources.push_back(x);
    tg::GradientTape tape;
    tape.watch(sources);
    Tensor y = op(c.inputs, c);
    {
      const std::string bad = compare_fixture(y, c.output);
      CHECK_MESSAGE(bad.empty(), "output: " << bad);
    }
    CHECK(y.dtype() == tg::float64);
    std::vector<Tensor> grads = tape.gradient(y, sources, c.upstream);

    std::size_t s = 0;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      if (!c.inputs[i].is_floating()) continue;
      auto want = c.grads.find(i);
      REQUIRE_MESSAGE(want != c.grads.end(), "the fixture has no gradient for input " << i);
      const std::string bad = compare_fixture(grads[s++], want->second);
      CHECK_MESSAGE(bad.empty(), "gradient of input " << i << ": " << bad);
    }
  }
}

TEST_CASE("fixtures: the float32 path agrees with the float64 reference to float32 precision") {
  // The same cases with float inputs and upstream in float32: the result stays
  // float32 and matches PyTorch's float64 values to about 1e-5 of the tensor's scale.
  for (const FixtureCase& c : core_cases()) {
    INFO("fixture case '", c.name, "' (op ", c.op, ") in float32");
    const Op& op = fixture_ops().at(c.op);
    std::vector<Tensor> inputs, sources;
    for (const Tensor& x : c.inputs) {
      inputs.push_back(x.is_floating() ? x.to(tg::float32) : x);
      if (x.is_floating()) sources.push_back(inputs.back());
    }
    tg::GradientTape tape;
    tape.watch(sources);
    Tensor y = op(inputs, c);
    CHECK(y.dtype() == tg::float32);
    auto compare32 = [](const Tensor& got, const Tensor& want) {
      if (got.shape() != want.shape()) return "shape " + got.shape().str() + ", expected " + want.shape().str();
      double scale = 0;
      for (double w : tgtest::values_of(want))
        if (std::isfinite(w)) scale = std::max(scale, std::abs(w));
      return tgtest::mismatches(tgtest::values_of(got), tgtest::values_of(want), 1e-5, 1e-5 * scale);
    };
    {
      const std::string bad = compare32(y, c.output);
      CHECK_MESSAGE(bad.empty(), "output: " << bad);
    }
    std::vector<Tensor> grads = tape.gradient(y, sources, c.upstream.to(tg::float32));
    std::size_t s = 0;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      if (!c.inputs[i].is_floating()) continue;
      CHECK(grads[s].dtype() == tg::float32);
      const std::string bad = compare32(grads[s++], c.grads.at(i));
      CHECK_MESSAGE(bad.empty(), "gradient of input " << i << ": " << bad);
    }
  }
}
