// The op registry: one entry per public op (and per overload) of the core op
// headers, each with a check, run in one TEST_CASE. The headers themselves are
// read, so a newly declared op or overload without an entry fails here, and so
// does an entry without a check. Differentiable ops are checked with
// tg::gradcheck in float64 (random upstream, accumulation, determinism,
// unneeded gradients); ops that are not differentiable (sign, comparisons) are
// checked to record nothing on a tape.
//
// The per-family files (test_elementwise.cpp, ...) hold the thorough checks;
// this table is the inventory that makes a missing one stand out.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::away_from_zero;
using tgtest::f64;
using tgtest::i64;
using tgtest::randn64;
using tgtest::uniform64;
using V = std::vector<Tensor>;

namespace {

// A check returns "" when it passes, else what went wrong.
using Check = std::function<std::string()>;

struct Entry {
  std::string name;      // as declared in the header, e.g. "pow" or "operator-"
  std::string overload;  // which overload, for the reader
  Check check;           // empty: no check yet (the registry test fails)
};

Check grad(tg::TensorFunction f, std::vector<Tensor> inputs) {
  return [f = std::move(f), inputs = std::move(inputs)]() -> std::string {
    tg::GradcheckResult r = tg::gradcheck(f, inputs);
    return r.passed ? "" : r.str();
  };
}

// For ops that are not differentiable: with every input watched, nothing is recorded.
Check not_recorded(tg::TensorFunction f, std::vector<Tensor> inputs) {
  return [f = std::move(f), inputs = std::move(inputs)]() -> std::string {
    tg::GradientTape tape;
    for (const Tensor& x : inputs)
      if (x.is_floating()) tape.watch(x);
    Tensor y = f(inputs);
    if (!y.defined()) return "returned an undefined tensor";
    return tape.size() == 0 ? "" : "recorded " + std::to_string(tape.size()) + " op(s) on the tape";
  };
}

// Inputs for gradchecks: random, away from kinks where the op has one.
Tensor r(const tg::Shape& shape, std::uint64_t seed) { return randn64(shape, seed); }
Tensor positive(const tg::Shape& shape, std::uint64_t seed) { return uniform64(shape, 0.3, 3.0, seed); }
Tensor nonzero(const tg::Shape& shape, std::uint64_t seed) { return away_from_zero(shape, seed, 0.3); }

std::vector<Entry> registry() {
  return {
      // ---- elementwise.hpp ----
      {"add", "(Tensor, Tensor)", grad([](const V& v) { return tg::add(v[0], v[1]); }, {r({2, 3}, 1), r({3}, 2)})},
      {"sub", "(Tensor, Tensor)", grad([](const V& v) { return tg::sub(v[0], v[1]); }, {r({2, 1}, 3), r({1, 3}, 4)})},
      {"mul", "(Tensor, Tensor)", grad([](const V& v) { return tg::mul(v[0], v[1]); }, {r({2, 3}, 5), r({2, 1}, 6)})},
      {"div", "(Tensor, Tensor)",
       grad([](const V& v) { return tg::div(v[0], v[1]); }, {r({2, 3}, 7), nonzero({3}, 8)})},
      {"operator+", "(Tensor, Tensor)", grad([](const V& v) { return v[0] + v[1]; }, {r({3}, 9), r({}, 10)})},
      {"operator-", "(Tensor, Tensor)", grad([](const V& v) { return v[0] - v[1]; }, {r({3}, 11), r({2, 3}, 12)})},
      {"operator*", "(Tensor, Tensor)", grad([](const V& v) { return v[0] * v[1]; }, {r({3}, 13), r({2, 3}, 14)})},
      {"operator/", "(Tensor, Tensor)", grad([](const V& v) { return v[0] / v[1]; }, {r({3}, 15), nonzero({2, 3}, 16)})},
      {"operator+", "(Tensor, double)", grad([](const V& v) { return v[0] + 1.5; }, {r({3}, 17)})},
      {"operator-", "(Tensor, double)", grad([](const V& v) { return v[0] - 1.5; }, {r({3}, 18)})},
      {"operator*", "(Tensor, double)", grad([](const V& v) { return v[0] * 1.5; }, {r({3}, 19)})},
      {"operator/", "(Tensor, double)", grad([](const V& v) { return v[0] / 1.5; }, {r({3}, 20)})},
      {"operator+", "(double, Tensor)", grad([](const V& v) { return 1.5 + v[0]; }, {r({3}, 21)})},
      {"operator-", "(double, Tensor)", grad([](const V& v) { return 1.5 - v[0]; }, {r({3}, 22)})},
      {"operator*", "(double, Tensor)", grad([](const V& v) { return 1.5 * v[0]; }, {r({3}, 23)})},
      {"operator/", "(double, Tensor)", grad([](const V& v) { return 1.5 / v[0]; }, {nonzero({3}, 24)})},
      {"operator-", "(Tensor) unary", grad([](const V& v) { return -v[0]; }, {r({3}, 25)})},
      {"scalar_like", "a constant", not_recorded([](const V& v) { return tg::scalar_like(v[0], 2.0); }, {r({3}, 26)})},
      {"neg", "", grad([](const V& v) { return tg::neg(v[0]); }, {r({2, 3}, 27)})},
      {"exp", "", grad([](const V& v) { return tg::exp(v[0]); }, {r({2, 3}, 28)})},
      {"log", "", grad([](const V& v) { return tg::log(v[0]); }, {positive({2, 3}, 29)})},
      {"sqrt", "", grad([](const V& v) { return tg::sqrt(v[0]); }, {positive({2, 3}, 30)})},
      {"square", "", grad([](const V& v) { return tg::square(v[0]); }, {r({2, 3}, 31)})},
      {"pow", "(Tensor, double)", grad([](const V& v) { return tg::pow(v[0], 2.5); }, {positive({2, 3}, 32)})},
      {"pow", "(Tensor, Tensor)",
       grad([](const V& v) { return tg::pow(v[0], v[1]); }, {positive({2, 3}, 33), r({3}, 34)})},
      {"abs", "", grad([](const V& v) { return tg::abs(v[0]); }, {nonzero({2, 3}, 35)})},
      {"sign", "not differentiable", not_recorded([](const V& v) { return tg::sign(v[0]); }, {r({3}, 36)})},
      {"maximum", "(Tensor, Tensor)",
       grad([](const V& v) { return tg::maximum(v[0], v[1]); }, {f64({-1.0, 0.5, 2.0}, {3, 1}), f64({-0.5, 1.0})})},
      {"minimum", "(Tensor, Tensor)",
       grad([](const V& v) { return tg::minimum(v[0], v[1]); }, {f64({-1.0, 0.5, 2.0}, {3, 1}), f64({-0.5, 1.0})})},
      {"maximum", "(Tensor, double)",
       grad([](const V& v) { return tg::maximum(v[0], 0.25); }, {f64({-1.0, 0.0, 0.5, 2.0})})},
      {"minimum", "(Tensor, double)",
       grad([](const V& v) { return tg::minimum(v[0], 0.25); }, {f64({-1.0, 0.0, 0.5, 2.0})})},
      {"clamp", "", grad([](const V& v) { return tg::clamp(v[0], -0.5, 0.5); }, {f64({-1.0, -0.2, 0.1, 0.4, 0.9})})},
      {"where", "",
       grad([](const V& v) { return tg::where(v[0], v[1], v[2]); }, {i64({1, 0, 1}, {3, 1}), r({3, 2}, 37), r({2}, 38)})},
      {"equal", "not differentiable", not_recorded([](const V& v) { return tg::equal(v[0], v[1]); }, {r({3}, 39), r({3}, 40)})},
      {"not_equal", "not differentiable",
       not_recorded([](const V& v) { return tg::not_equal(v[0], v[1]); }, {r({3}, 41), r({3}, 42)})},
      {"greater", "not differentiable",
       not_recorded([](const V& v) { return tg::greater(v[0], v[1]); }, {r({3}, 43), r({3}, 44)})},
      {"greater_equal", "not differentiable",
       not_recorded([](const V& v) { return tg::greater_equal(v[0], v[1]); }, {r({3}, 45), r({3}, 46)})},
      {"less", "not differentiable", not_recorded([](const V& v) { return tg::less(v[0], v[1]); }, {r({3}, 47), r({3}, 48)})},
      {"less_equal", "not differentiable",
       not_recorded([](const V& v) { return tg::less_equal(v[0], v[1]); }, {r({3}, 49), r({3}, 50)})},
      // Comparison operators (tensor/tensor, tensor/double, double/tensor), where with
      // scalar branches, and the integer-scalar operand (tests/test_tensor_ergonomics.cpp).
      {"operator==", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] == v[1]; }, {r({3}, 201), r({3}, 202)})},
      {"operator==", "(Tensor, double)", not_recorded([](const V& v) { return v[0] == 0.5; }, {r({3}, 203)})},
      {"operator==", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 == v[0]; }, {r({3}, 204)})},
      {"operator!=", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] != v[1]; }, {r({3}, 205), r({3}, 206)})},
      {"operator!=", "(Tensor, double)", not_recorded([](const V& v) { return v[0] != 0.5; }, {r({3}, 207)})},
      {"operator!=", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 != v[0]; }, {r({3}, 208)})},
      {"operator>", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] > v[1]; }, {r({3}, 209), r({3}, 210)})},
      {"operator>", "(Tensor, double)", not_recorded([](const V& v) { return v[0] > 0.5; }, {r({3}, 211)})},
      {"operator>", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 > v[0]; }, {r({3}, 212)})},
      {"operator>=", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] >= v[1]; }, {r({3}, 213), r({3}, 214)})},
      {"operator>=", "(Tensor, double)", not_recorded([](const V& v) { return v[0] >= 0.5; }, {r({3}, 215)})},
      {"operator>=", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 >= v[0]; }, {r({3}, 216)})},
      {"operator<", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] < v[1]; }, {r({3}, 217), r({3}, 218)})},
      {"operator<", "(Tensor, double)", not_recorded([](const V& v) { return v[0] < 0.5; }, {r({3}, 219)})},
      {"operator<", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 < v[0]; }, {r({3}, 220)})},
      {"operator<=", "(Tensor, Tensor)", not_recorded([](const V& v) { return v[0] <= v[1]; }, {r({3}, 221), r({3}, 222)})},
      {"operator<=", "(Tensor, double)", not_recorded([](const V& v) { return v[0] <= 0.5; }, {r({3}, 223)})},
      {"operator<=", "(double, Tensor)", not_recorded([](const V& v) { return 0.5 <= v[0]; }, {r({3}, 224)})},
      {"where", "(cond, Tensor, double)",
       grad([](const V& v) { return tg::where(v[0], v[1], 0.5); }, {i64({1, 0, 1}), r({3}, 225)})},
      {"where", "(cond, double, Tensor)",
       grad([](const V& v) { return tg::where(v[0], 0.5, v[1]); }, {i64({1, 0, 1}), r({2, 3}, 226)})},
      {"where", "(cond, double, double)",
       not_recorded([](const V& v) { return tg::where(v[0] > 0.0, 1.0, 0.0); }, {r({3}, 227)})},
      {"where", "(cond, Tensor, integer)",
       grad([](const V& v) { return tg::where(v[0], v[1], 2); }, {i64({1, 0, 1}), r({3}, 228)})},
      {"where", "(cond, integer, Tensor)",
       grad([](const V& v) { return tg::where(v[0], 2, v[1]); }, {i64({0, 1, 1}), r({3}, 229)})},
      {"integer_operand", "detail: the scalar of x + 1",
       not_recorded([](const V& v) { return tg::detail::integer_operand("add", v[0], 1); }, {r({3}, 230)})},

      // ---- activation.hpp ----
      {"relu", "", grad([](const V& v) { return tg::relu(v[0]); }, {nonzero({2, 3}, 51)})},
      {"sigmoid", "", grad([](const V& v) { return tg::sigmoid(v[0]); }, {r({2, 3}, 52)})},
      {"tanh", "", grad([](const V& v) { return tg::tanh(v[0]); }, {r({2, 3}, 53)})},
      {"softplus", "", grad([](const V& v) { return tg::softplus(v[0]); }, {r({2, 3}, 54)})},
      {"log_sigmoid", "", grad([](const V& v) { return tg::log_sigmoid(v[0]); }, {r({2, 3}, 55)})},
      {"softmax", "", grad([](const V& v) { return tg::softmax(v[0], 0); }, {r({3, 2}, 56)})},
      {"log_softmax", "", grad([](const V& v) { return tg::log_softmax(v[0], -1); }, {r({2, 3}, 57)})},
      {"gelu", "", grad([](const V& v) { return tg::gelu(v[0]) + tg::gelu(v[0], true); }, {r({2, 3}, 201)})},
      {"elu", "", grad([](const V& v) { return tg::elu(v[0], 1.5); }, {nonzero({2, 3}, 202)})},
      {"selu", "", grad([](const V& v) { return tg::selu(v[0]); }, {nonzero({2, 3}, 203)})},
      {"leaky_relu", "", grad([](const V& v) { return tg::leaky_relu(v[0]); }, {nonzero({2, 3}, 204)})},
      {"softsign", "", grad([](const V& v) { return tg::softsign(v[0]); }, {r({2, 3}, 205)})},
      {"silu", "", grad([](const V& v) { return tg::silu(v[0]); }, {r({2, 3}, 206)})},
      {"swish", "", grad([](const V& v) { return tg::swish(v[0]); }, {r({2, 3}, 207)})},
      // Each piece of the piecewise ones, away from the kinks -3, 0, 3 and 6.
      {"hard_sigmoid", "",
       grad([](const V& v) { return tg::hard_sigmoid(v[0]); }, {f64({-4.0, -2.5, -0.5, 0.7, 2.6, 3.5}, {2, 3})})},
      {"hard_silu", "",
       grad([](const V& v) { return tg::hard_silu(v[0]); }, {f64({-4.0, -2.5, -0.5, 0.7, 2.6, 3.5}, {2, 3})})},
      {"hard_swish", "",
       grad([](const V& v) { return tg::hard_swish(v[0]); }, {f64({-4.0, -2.5, -0.5, 0.7, 2.6, 3.5}, {3, 2})})},
      {"relu6", "", grad([](const V& v) { return tg::relu6(v[0]); }, {f64({-1.0, -0.4, 0.7, 2.6, 5.5, 7.0}, {2, 3})})},
      {"mish", "", grad([](const V& v) { return tg::mish(v[0]); }, {r({2, 3}, 208)})},

      // ---- reduce.hpp ----
      {"sum", "", grad([](const V& v) { return tg::sum(v[0], {0, -1}, true); }, {r({2, 3, 2}, 58)})},
      {"mean", "", grad([](const V& v) { return tg::mean(v[0], {1}); }, {r({2, 3, 2}, 59)})},
      {"max", "", grad([](const V& v) { return tg::max(v[0], {-1}); }, {f64({0.1, 0.7, -0.3, 1.2, 0.4, -2.0}, {2, 3})})},
      {"min", "", grad([](const V& v) { return tg::min(v[0], {0}); }, {f64({0.1, 0.7, -0.3, 1.2, 0.4, -2.0}, {2, 3})})},
      {"logsumexp", "", grad([](const V& v) { return tg::logsumexp(v[0], {0, 2}); }, {r({2, 3, 2}, 60)})},
      {"norm", "", grad([](const V& v) { return tg::norm(v[0], 3.0, {1}); }, {nonzero({2, 3}, 61)})},

      // ---- shape_ops.hpp ----
      {"reshape", "", grad([](const V& v) { return tg::reshape(v[0], {3, -1}); }, {r({2, 3}, 62)})},
      {"transpose", "(Tensor)", grad([](const V& v) { return tg::transpose(v[0]); }, {r({2, 3, 4}, 63)})},
      {"transpose", "(Tensor, perm)", grad([](const V& v) { return tg::transpose(v[0], {1, -1, 0}); }, {r({2, 3, 4}, 64)})},
      {"permute", "", grad([](const V& v) { return tg::permute(v[0], {2, 0, 1}); }, {r({2, 3, 4}, 65)})},
      {"expand_dims", "", grad([](const V& v) { return tg::expand_dims(v[0], -2); }, {r({2, 3}, 66)})},
      {"squeeze", "", grad([](const V& v) { return tg::squeeze(v[0], {1}); }, {r({2, 1, 3}, 67)})},
      {"concat", "", grad([](const V& v) { return tg::concat(v, 1); }, {r({2, 3}, 68), r({2, 1}, 69)})},
      {"stack", "", grad([](const V& v) { return tg::stack(v, -1); }, {r({2, 3}, 70), r({2, 3}, 71)})},
      {"slice", "", grad([](const V& v) { return tg::slice(v[0], 1, 1, 6, 2); }, {r({2, 7}, 72)})},
      {"broadcast_to", "", grad([](const V& v) { return tg::broadcast_to(v[0], {4, 2, 3}); }, {r({2, 1}, 73)})},
      {"sum_to", "", grad([](const V& v) { return tg::sum_to(v[0], {2, 1}); }, {r({4, 2, 3}, 74)})},
      {"broadcast_shapes", "a shape rule, no tensor",
       []() -> std::string {
         return tg::broadcast_shapes({2, 1, 3}, {4, 1}) == tg::Shape{2, 4, 3} ? "" : "wrong broadcast shape";
       }},

      // ---- linalg.hpp ----
      {"matmul", "", grad([](const V& v) { return tg::matmul(v[0], v[1], false, true); }, {r({2, 1, 4, 3}, 75), r({3, 5, 3}, 76)})},
      {"dense", "(relu flag)", grad([](const V& v) { return tg::dense(v[0], v[1], v[2], true); }, {r({4, 3}, 79), r({3, 5}, 80), r({5}, 81)})},

      // ---- dense.hpp ----
      {"dense", "(std::string activation)",
       grad([](const V& v) { return tg::dense(v[0], v[1], v[2], std::string("tanh")); },
            {r({2, 4, 3}, 82), r({3, 5}, 83), r({5}, 84)})},
      {"dense", "(const char* activation)",
       grad([](const V& v) { return tg::dense(v[0], v[1], v[2], "sigmoid"); }, {r({4, 3}, 85), r({3, 5}, 86), r({5}, 87)})},

      // ---- batch_dot.hpp ----
      {"batch_dot", "(pair of axes)",
       grad([](const V& v) { return tg::batch_dot(v[0], v[1], {2, 1}); }, {r({2, 3, 4}, 88), r({2, 4, 5}, 89)})},
      {"batch_dot", "(one axis)", grad([](const V& v) { return tg::batch_dot(v[0], v[1], -1); }, {r({3, 4}, 90), r({3, 4}, 91)})},

      // ---- dropout.hpp ----
      {"dropout", "a fixed generator per call",
       grad(
           [](const V& v) {
             tg::Generator gen(92);
             return tg::dropout(v[0], 0.3, gen);
           },
           {r({3, 4}, 93)})},

      // ---- normalization.hpp ----
      {"moments", "both statistics",
       grad(
           [](const V& v) {
             tg::Moments m = tg::moments(v[0], {0, -1}, true);
             return m.mean + 2.0 * m.variance;
           },
           {r({3, 2, 4}, 96)})},
      {"batch_normalization", "",
       grad([](const V& v) { return tg::batch_normalization(v[0], v[1], v[2], v[3], v[4], 1e-3); },
            {r({4, 3}, 97), r({3}, 98), positive({3}, 99), r({3}, 100), r({3}, 101)})},

      // ---- conv.hpp ----
      {"conv2d", "strides, same padding, groups",
       grad(
           [](const V& v) {
             tg::ConvOptions o;
             o.strides = {2, 1};
             o.padding = "same";
             o.groups = 2;
             return tg::conv2d(v[0], v[1], o);
           },
           {r({2, 5, 4, 4}, 102), r({3, 2, 2, 4}, 103)})},
      {"conv1d", "dilation, channels first",
       grad(
           [](const V& v) {
             tg::ConvOptions o;
             o.dilation = {2};
             o.data_format = "channels_first";
             return tg::conv1d(v[0], v[1], o);
           },
           {r({2, 3, 7}, 104), r({2, 3, 2}, 105)})},

      // ---- pool.hpp ----
      {"max_pool2d", "", grad([](const V& v) { return tg::max_pool2d(v[0], {{3, 2}, {2, 1}, "same"}); },
                              {f64({0.3, -1.2, 2.1, 0.8, -0.4, 1.5, -2.2, 0.1, 1.1, -0.7, 0.6, -1.6}, {1, 3, 2, 2})})},
      {"avg_pool2d", "", grad([](const V& v) { return tg::avg_pool2d(v[0], {{2, 2}, {1, 1}, "same", "channels_first"}); },
                              {r({2, 2, 3, 3}, 102)})},
      {"global_average_pool2d", "", grad([](const V& v) { return tg::global_average_pool2d(v[0], "channels_last", true); },
                                         {r({2, 3, 2, 2}, 103)})},
      {"global_max_pool2d", "", grad([](const V& v) { return tg::global_max_pool2d(v[0], "channels_first"); },
                                     {f64({0.3, -1.2, 2.1, 0.8, -0.4, 1.5, -2.2, 0.1}, {2, 1, 2, 2})})},

      // ---- pairwise_distance.hpp ----
      {"pairwise_distance", "",
       grad([](const V& v) { return tg::pairwise_distance(v[0], v[1], 3.0); }, {r({3, 4}, 94), r({3, 4}, 95)})},

      // ---- index.hpp ----
      {"gather", "", grad([](const V& v) { return tg::gather(v[0], v[1]); }, {r({5, 3}, 77), i64({4, 1, 4, 0}, {2, 2})})},
      {"scatter_add_rows", "",
       grad([](const V& v) { return tg::scatter_add_rows(v[0], v[1], 4); }, {i64({3, 0, 3}), r({3, 2}, 78)})},
  };
}

// The core op headers the registry covers.
const char* const op_headers[] = {"elementwise.hpp", "activation.hpp", "reduce.hpp",    "shape_ops.hpp",
                                  "linalg.hpp",      "index.hpp",      "dense.hpp",     "batch_dot.hpp",
                                  "dropout.hpp",     "pairwise_distance.hpp",
                                  "normalization.hpp", "conv.hpp",  "pool.hpp"};

// name -> number of declarations (overloads), over the core op headers: every
// line that starts a declaration of a function returning a Tensor, a Shape or
// tg::Moments (moments' pair of tensors).
std::map<std::string, int> declared_ops(std::vector<std::string>& errors) {
  const std::string dir = std::string(TAPEGRAD_FIXTURE_DIR) + "/../../include/tapegrad/ops/";
  const std::regex declaration(R"(^(?:Tensor|Shape|Moments)\s+(operator\S+?|\w+)\s*\()");
  std::map<std::string, int> names;
  for (const char* header : op_headers) {
    std::ifstream in(dir + header);
    if (!in) {
      errors.push_back("cannot read " + dir + header);
      continue;
    }
    std::string line;
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_search(line, m, declaration)) ++names[m[1].str()];
  }
  return names;
}

}  // namespace

TEST_CASE("registry: every public core op has an entry, and every entry's check passes") {
  std::vector<std::string> errors;
  const std::map<std::string, int> declared = declared_ops(errors);
  for (const auto& e : errors) FAIL_CHECK(e);
  REQUIRE(declared.size() > 50);  // the parse found the headers' declarations

  const std::vector<Entry> entries = registry();
  std::map<std::string, int> registered;
  for (const Entry& e : entries) ++registered[e.name];

  // Each declared op, and each of its overloads, has an entry.
  for (const auto& [name, count] : declared) {
    CAPTURE(name);
    CHECK_MESSAGE(registered[name] >= count, "op '" << name << "' has " << count << " declaration(s) in the headers but "
                                                    << registered[name] << " registry entr(ies): add a check");
  }
  // No entry for an op that no longer exists.
  for (const auto& [name, count] : registered) {
    CAPTURE(name);
    CHECK_MESSAGE(declared.count(name) == 1, "registry entry '" << name << "' is not declared in the op headers");
  }
  // Run every check; an entry without one fails.
  for (const Entry& e : entries) {
    const std::string label = "op " + e.name + (e.overload.empty() ? "" : " " + e.overload);
    INFO(label);
    if (!e.check) {
      FAIL_CHECK("no check for this op");
      continue;
    }
    std::string failure;
    try {
      failure = e.check();
    } catch (const std::exception& ex) {
      failure = std::string("threw: ") + ex.what();
    }
    CHECK_MESSAGE(failure.empty(), failure);
  }
}
