// libFuzzer target: random expressions, their tape gradients checked against
// central finite differences (tg::gradcheck, float64).
//
// The fuzz bytes choose 1 to 3 float64 inputs (rank 0 to 3, dimensions 1 to
// 4, values in [-2, 2]) and then up to 10 steps on a stack of tensors: push an
// input again, an elementwise op, an activation, a reduction (axes, keepdims),
// reshape/transpose/expand_dims/squeeze/slice, matmul, the cosine family,
// broadcasting binary ops, concat, where, gather. The expression is the top of
// the stack.
//
// Each step is first tried at the sampled point (outside any tape). A step is
// dropped when it throws (a shape that does not fit is an ordinary refusal),
// when its result is not finite or exceeds 1e3 in magnitude, or when its
// inputs lie near a kink or a pole (|x| < 1e-2 for abs/relu/sign-like ops,
// ties within 1e-2 for max/min, denominators and logs below 0.2), where a
// finite difference measures something other than the derivative. The kept
// steps are replayed by gradcheck at perturbed points; the structure is fixed.
//
// A gradcheck failure is a finding only if it persists with a ten times
// smaller step (a kink crossed by the step disappears with a smaller one; a
// wrong derivative does not). Findings abort with the expression and report.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

using tg::Tensor;
using Stack = std::vector<Tensor>;
// A step sees the stack and the expression's inputs (for "push input i").
using Step = std::function<void(Stack&, const std::vector<Tensor>&)>;

constexpr double kink_margin = 1e-2;
constexpr double pole_margin = 0.2;
constexpr double max_magnitude = 1e3;

std::vector<double> values(const Tensor& t) { return t.to(tg::float64).to_vector<double>(); }

double min_abs(const Tensor& t) {
  double m = std::numeric_limits<double>::infinity();
  for (double v : values(t)) m = std::min(m, std::fabs(v));
  return m;
}
double min_value(const Tensor& t) {
  double m = std::numeric_limits<double>::infinity();
  for (double v : values(t)) m = std::min(m, v);
  return m;
}
double max_value(const Tensor& t) {
  double m = -std::numeric_limits<double>::infinity();
  for (double v : values(t)) m = std::max(m, v);
  return m;
}
bool tame(const Tensor& t) {
  for (double v : values(t))
    if (!std::isfinite(v) || std::fabs(v) > max_magnitude) return false;
  return true;
}

// No two values within `margin` of the extreme of their group along `axes`
// (max/min reductions and the infinity norm): the extreme is unique and stays so.
bool extreme_is_clear(const Tensor& x, const tg::Axes& axes, bool take_max) {
  Tensor e = take_max ? tg::max(x, axes, true) : tg::min(x, axes, true);
  Tensor near = take_max ? tg::greater(x, e - kink_margin) : tg::less(x, e + kink_margin);
  return max_value(tg::sum(near, axes)) <= 1.0;
}

class Builder {
 public:
  explicit Builder(FuzzedDataProvider& in) : in_(in) {}

  std::vector<Tensor> make_inputs() {
    int n = in_.ConsumeIntegralInRange(1, 3);
    std::vector<Tensor> inputs;
    for (int i = 0; i < n; ++i) {
      int rank = in_.ConsumeIntegralInRange(0, 3);
      std::vector<std::int64_t> dims;
      for (int r = 0; r < rank; ++r) dims.push_back(in_.ConsumeIntegralInRange(1, 4));
      tg::Shape shape(dims);
      std::vector<double> v(static_cast<std::size_t>(shape.numel()));
      // Values in [-2, 2], never exactly on a grid point (a small irrational offset).
      for (std::size_t k = 0; k < v.size(); ++k)
        v[k] = -2.0 + 4.0 * in_.ConsumeIntegralInRange(0, 1000) / 1000.0 + 1e-3 * std::sqrt(2.0 + k + 7 * i);
      inputs.push_back(Tensor::from_vector<double>(v, shape));
      describe("input " + std::to_string(i) + " " + shape.str());
    }
    return inputs;
  }

  // Tries one step on `stack` (the values at the sampled point); keeps it if it is safe.
  void try_step(Stack& stack, const std::vector<Tensor>& inputs) {
    Step step;
    std::string what;
    if (!choose(stack, inputs, step, what)) return;
    Stack trial = stack;
    try {
      step(trial, inputs);
    } catch (const std::logic_error&) {
      return;  // shapes, axes or arguments that do not fit: refused (invalid_argument, out_of_range)
    }
    if (trial.empty() || !tame(trial.back())) return;
    stack = std::move(trial);
    steps_.push_back(std::move(step));
    describe(what + " -> " + stack.back().shape().str());
  }

  const std::vector<Step>& steps() const { return steps_; }
  const std::string& description() const { return description_; }

 private:
  void describe(const std::string& s) { description_ += "  " + s + "\n"; }

  int axis_of(const Tensor& x) {
    int r = std::max(x.rank(), 1);
    return in_.ConsumeIntegralInRange(-r, r - 1);
  }
  tg::Axes axes_of(const Tensor& x) {
    tg::Axes axes;
    for (int a = 0; a < x.rank(); ++a)
      if (in_.ConsumeBool()) axes.push_back(in_.ConsumeBool() ? a : a - x.rank());
    return axes;  // empty: every axis
  }
  static std::string axes_str(const tg::Axes& axes) {
    std::string s = "{";
    for (int a : axes) s += std::to_string(a) + ",";
    return s + "}";
  }

  // Picks a step and checks its preconditions at the sampled point.
  bool choose(const Stack& stack, const std::vector<Tensor>& inputs, Step& step, std::string& what) {
    const Tensor& x = stack.back();
    const bool two = stack.size() >= 2;
    const Tensor& y = two ? stack[stack.size() - 2] : x;
    auto unary = [&](std::function<Tensor(const Tensor&)> f) {
      step = [f](Stack& s, const std::vector<Tensor>&) { s.back() = f(s.back()); };
    };
    auto binary = [&](std::function<Tensor(const Tensor&, const Tensor&)> f) {
      if (!two) return false;
      step = [f](Stack& s, const std::vector<Tensor>&) {
        Tensor b = s.back();
        s.pop_back();
        s.back() = f(s.back(), b);  // f(second from top, top)
      };
      return true;
    };
    switch (in_.ConsumeIntegralInRange(0, 36)) {
      case 0: {
        int i = in_.ConsumeIntegralInRange(0, static_cast<int>(inputs.size()) - 1);
        step = [i](Stack& s, const std::vector<Tensor>& xs) { s.push_back(xs[static_cast<std::size_t>(i)]); };
        what = "push input " + std::to_string(i);
        return true;
      }
      case 1: what = "neg"; unary([](const Tensor& t) { return -t; }); return true;
      case 2: what = "exp"; if (max_value(x) > 5) return false; unary([](const Tensor& t) { return tg::exp(t); }); return true;
      case 3: what = "log"; if (min_value(x) < pole_margin) return false; unary([](const Tensor& t) { return tg::log(t); }); return true;
      case 4: what = "sqrt"; if (min_value(x) < pole_margin) return false; unary([](const Tensor& t) { return tg::sqrt(t); }); return true;
      case 5: what = "square"; unary([](const Tensor& t) { return tg::square(t); }); return true;
      case 6: {
        const double ps[] = {2.0, 3.0, 0.5, -1.0, 1.5, -0.5};
        double p = ps[in_.ConsumeIntegralInRange(0, 5)];
        what = "pow " + std::to_string(p);
        if (p != 2.0 && p != 3.0 && min_value(x) < pole_margin) return false;
        unary([p](const Tensor& t) { return tg::pow(t, p); });
        return true;
      }
      case 7: what = "abs"; if (min_abs(x) < kink_margin) return false; unary([](const Tensor& t) { return tg::abs(t); }); return true;
      case 8: what = "relu"; if (min_abs(x) < kink_margin) return false; unary([](const Tensor& t) { return tg::relu(t); }); return true;
      case 9: what = "sigmoid"; unary([](const Tensor& t) { return tg::sigmoid(t); }); return true;
      case 10: what = "tanh"; unary([](const Tensor& t) { return tg::tanh(t); }); return true;
      case 11: what = "softplus"; unary([](const Tensor& t) { return tg::softplus(t); }); return true;
      case 12: what = "log_sigmoid"; unary([](const Tensor& t) { return tg::log_sigmoid(t); }); return true;
      case 13: case 14: {
        int axis = axis_of(x);
        bool log = in_.ConsumeBool();
        what = std::string(log ? "log_softmax" : "softmax") + " axis " + std::to_string(axis);
        unary([axis, log](const Tensor& t) { return log ? tg::log_softmax(t, axis) : tg::softmax(t, axis); });
        return true;
      }
      case 15: case 16: case 17: {
        tg::Axes axes = axes_of(x);
        bool keep = in_.ConsumeBool();
        int kind = in_.ConsumeIntegralInRange(0, 2);
        what = std::string(kind == 0 ? "sum" : kind == 1 ? "mean" : "logsumexp") + " axes " + axes_str(axes) +
               (keep ? " keepdims" : "");
        unary([axes, keep, kind](const Tensor& t) {
          return kind == 0 ? tg::sum(t, axes, keep) : kind == 1 ? tg::mean(t, axes, keep) : tg::logsumexp(t, axes, keep);
        });
        return true;
      }
      case 18: {
        tg::Axes axes = axes_of(x);
        bool keep = in_.ConsumeBool(), take_max = in_.ConsumeBool();
        what = std::string(take_max ? "max" : "min") + " axes " + axes_str(axes) + (keep ? " keepdims" : "");
        try {
          if (!extreme_is_clear(x, axes, take_max)) return false;
        } catch (const std::logic_error&) {
        }
        unary([axes, keep, take_max](const Tensor& t) {
          return take_max ? tg::max(t, axes, keep) : tg::min(t, axes, keep);
        });
        return true;
      }
      case 19: {
        const double ps[] = {2.0, 1.0, 3.0, INFINITY, 1.5};
        double p = ps[in_.ConsumeIntegralInRange(0, 4)];
        tg::Axes axes = axes_of(x);
        bool keep = in_.ConsumeBool();
        what = "norm p " + std::to_string(p) + " axes " + axes_str(axes) + (keep ? " keepdims" : "");
        // Away from zero vectors; |x| away from 0 for p = 1 and p < 2; a clear max for infinity.
        if (min_abs(x) < kink_margin) return false;
        if (std::isinf(p)) {
          try {
            if (!extreme_is_clear(tg::abs(x), axes, true)) return false;
          } catch (const std::logic_error&) {
          }
        }
        unary([p, axes, keep](const Tensor& t) { return tg::norm(t, p, axes, keep); });
        return true;
      }
      case 20: {
        // A reshape to a random factorization of the size (sometimes with -1).
        std::int64_t n = x.numel();
        std::vector<std::int64_t> shape;
        int rank = in_.ConsumeIntegralInRange(0, 3);
        std::int64_t left = n;
        for (int r = 0; r + 1 < rank; ++r) {
          std::vector<std::int64_t> divisors;
          for (std::int64_t d = 1; d <= left; ++d)
            if (left % d == 0) divisors.push_back(d);
          std::int64_t d = divisors[static_cast<std::size_t>(
              in_.ConsumeIntegralInRange<std::size_t>(0, divisors.size() - 1))];
          shape.push_back(d);
          left /= d;
        }
        if (rank > 0) shape.push_back(in_.ConsumeBool() ? -1 : left);
        else if (n != 1) return false;
        what = "reshape";
        unary([shape](const Tensor& t) { return tg::reshape(t, shape); });
        return true;
      }
      case 21: {
        std::vector<int> perm(static_cast<std::size_t>(x.rank()));
        std::iota(perm.begin(), perm.end(), 0);
        for (std::size_t i = perm.size(); i > 1; --i)
          std::swap(perm[i - 1], perm[in_.ConsumeIntegralInRange<std::size_t>(0, i - 1)]);
        bool plain = in_.ConsumeBool();
        what = plain ? "transpose" : "transpose perm";
        if (plain) unary([](const Tensor& t) { return tg::transpose(t); });
        else unary([perm](const Tensor& t) { return tg::transpose(t, perm); });
        return true;
      }
      case 22: {
        int axis = in_.ConsumeIntegralInRange(-x.rank() - 1, x.rank());
        what = "expand_dims " + std::to_string(axis);
        unary([axis](const Tensor& t) { return tg::expand_dims(t, axis); });
        return true;
      }
      case 23: what = "squeeze"; unary([](const Tensor& t) { return tg::squeeze(t); }); return true;
      case 24: {
        if (x.rank() == 0) return false;
        int axis = axis_of(x);
        std::int64_t n = x.dim(axis);
        std::int64_t start = in_.ConsumeIntegralInRange<std::int64_t>(0, n - 1);
        std::int64_t stop = in_.ConsumeIntegralInRange<std::int64_t>(start + 1, n);
        std::int64_t stride = in_.ConsumeIntegralInRange<std::int64_t>(1, 2);
        what = "slice";
        unary([axis, start, stop, stride](const Tensor& t) { return tg::slice(t, axis, start, stop, stride); });
        return true;
      }
      case 25: {
        int axis = axis_of(x);
        what = "l2_normalize axis " + std::to_string(axis);
        try {
          if (min_value(tg::norm(x, 2.0, {axis})) < pole_margin) return false;
        } catch (const std::logic_error&) {
        }
        unary([axis](const Tensor& t) { return tg::l2_normalize(t, axis); });
        return true;
      }
      case 26: {
        double lo = -1.0 + in_.ConsumeIntegralInRange(0, 10) / 10.0, hi = lo + 0.5;
        what = "clamp";
        for (double v : values(x))
          if (std::fabs(v - lo) < kink_margin || std::fabs(v - hi) < kink_margin) return false;
        unary([lo, hi](const Tensor& t) { return tg::clamp(t, lo, hi); });
        return true;
      }
      case 27: {
        double c = -2.0 + in_.ConsumeIntegralInRange(0, 40) / 10.0 + 0.01;
        int kind = in_.ConsumeIntegralInRange(0, 3);
        what = "scalar op " + std::to_string(kind);
        if (kind == 3 && min_abs(x) < pole_margin) return false;
        unary([c, kind](const Tensor& t) {
          return kind == 0 ? t * c : kind == 1 ? t + c : kind == 2 ? c - t : c / t;
        });
        return true;
      }
      case 28: what = "add"; return binary([](const Tensor& a, const Tensor& b) { return a + b; });
      case 29: what = "sub"; return binary([](const Tensor& a, const Tensor& b) { return a - b; });
      case 30: what = "mul"; return binary([](const Tensor& a, const Tensor& b) { return a * b; });
      case 31: what = "div"; if (min_abs(x) < pole_margin) return false; return binary([](const Tensor& a, const Tensor& b) { return a / b; });
      case 32: {
        bool take_max = in_.ConsumeBool();
        what = take_max ? "maximum" : "minimum";
        if (!two) return false;
        try {
          if (min_abs(y - x) < kink_margin) return false;
        } catch (const std::logic_error&) {
          return false;
        }
        return binary([take_max](const Tensor& a, const Tensor& b) {
          return take_max ? tg::maximum(a, b) : tg::minimum(a, b);
        });
      }
      case 33: {
        bool ta = in_.ConsumeBool(), tb = in_.ConsumeBool();
        int variant = in_.ConsumeIntegralInRange(0, 3);
        what = std::string("matmul") + (ta ? " T" : "") + (tb ? " T" : "");
        if (variant == 1) {
          // x @ x^T: one tensor on both sides (the gradients of both uses add up).
          what = "gram matmul(x, x, T)";
          unary([](const Tensor& t) { return tg::matmul(t, t, false, true); });
          return true;
        }
        if (variant == 2) {
          // The top reshaped to fit: (inner, -1) where inner is the second's contracted size.
          if (!two || y.rank() < 2) return false;
          std::int64_t inner = ta ? y.dim(-2) : y.dim(-1);
          if (x.numel() % inner != 0) return false;
          what += " (reshaped to fit)";
          return binary([ta, inner](const Tensor& a, const Tensor& b) {
            return tg::matmul(a, tg::reshape(b, {inner, -1}), ta, false);
          });
        }
        if (variant == 3) {
          what = "cosine_similarity_matrix(x)";
          if (x.rank() != 2) return false;
          if (min_value(tg::norm(x, 2.0, {-1})) < pole_margin) return false;
          unary([](const Tensor& t) { return tg::cosine_similarity_matrix(t); });
          return true;
        }
        return binary([ta, tb](const Tensor& a, const Tensor& b) { return tg::matmul(a, b, ta, tb); });
      }
      case 34: {
        int kind = in_.ConsumeIntegralInRange(0, 2);
        int axis = in_.ConsumeIntegralInRange(-2, 1);
        what = std::string(kind == 0 ? "cosine_similarity" : kind == 1 ? "cosine_distance" : "cosine_similarity_matrix") +
               " axis " + std::to_string(axis);
        if (!two) return false;
        // Away from the eps clamp: every vector's norm well above zero. The
        // vectors are those of the broadcast operands (a 0-d operand broadcast
        // against (1,) is a vector of one element, whose norm is its |value|):
        // checking the operands as given let a near-zero 0-d operand through
        // (a fuzz finding: the clamp's kink at |x| = eps inside the step).
        // Operands that cannot be checked cannot be computed either: refused.
        try {
          if (kind == 2) {
            if (min_value(tg::norm(x, 2.0, {-1})) < pole_margin || min_value(tg::norm(y, 2.0, {-1})) < pole_margin)
              return false;
          } else {
            const tg::Shape shape = tg::broadcast_shapes(x.shape(), y.shape());
            if (min_value(tg::norm(tg::broadcast_to(x, shape), 2.0, {axis})) < pole_margin ||
                min_value(tg::norm(tg::broadcast_to(y, shape), 2.0, {axis})) < pole_margin)
              return false;
          }
        } catch (const std::logic_error&) {
          return false;
        }
        return binary([kind, axis](const Tensor& a, const Tensor& b) {
          return kind == 0 ? tg::cosine_similarity(a, b, axis)
                 : kind == 1 ? tg::cosine_distance(a, b, axis)
                             : tg::cosine_similarity_matrix(a, b);
        });
      }
      case 35: {
        int axis = axis_of(x);
        bool use_stack = in_.ConsumeBool();
        what = std::string(use_stack ? "stack" : "concat") + " axis " + std::to_string(axis);
        if (in_.ConsumeBool()) {
          // where(x > y, y, x) would be a kink; a condition fixed at the sampled point
          // is a constant mask, away from ties.
          if (!two) return false;
          Tensor cond;
          try {
            if (min_abs(y - x) < kink_margin) return false;
            cond = tg::greater(y, x);
          } catch (const std::logic_error&) {
            return false;
          }
          what = "where";
          return binary([cond](const Tensor& a, const Tensor& b) { return tg::where(cond, a, b); });
        }
        return binary([axis, use_stack](const Tensor& a, const Tensor& b) {
          return use_stack ? tg::stack({a, b}, axis) : tg::concat({a, b}, axis);
        });
      }
      case 36: {
        if (x.rank() == 0) return false;
        std::int64_t rows = x.dim(0);
        int n = in_.ConsumeIntegralInRange(1, 4);
        std::vector<std::int64_t> idx;
        for (int i = 0; i < n; ++i) idx.push_back(in_.ConsumeIntegralInRange<std::int64_t>(0, rows - 1));
        Tensor indices = Tensor::from_vector<std::int64_t>(idx, {static_cast<std::int64_t>(n)});
        what = "gather";
        unary([indices](const Tensor& t) { return tg::gather(t, indices); });
        return true;
      }
    }
    return false;
  }

  FuzzedDataProvider& in_;
  std::vector<Step> steps_;
  std::string description_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Builder builder(in);
  std::vector<Tensor> inputs = builder.make_inputs();
  Stack stack = inputs;
  int n_steps = in.ConsumeIntegralInRange(1, 10);
  for (int i = 0; i < n_steps && in.remaining_bytes() > 0; ++i) builder.try_step(stack, inputs);
  if (builder.steps().empty()) return 0;

  const std::vector<Step> steps = builder.steps();
  tg::TensorFunction f = [steps](const std::vector<Tensor>& xs) {
    Stack s = xs;
    for (const auto& step : steps) step(s, xs);
    return s.back();
  };
  tg::GradcheckOptions options;
  options.seed = in.ConsumeIntegral<std::uint32_t>();
  tg::GradcheckResult result = tg::gradcheck(f, inputs, options);
#ifdef FUZZ_GRADCHECK_VERBOSE
  std::fprintf(stderr, "%s: %zu steps\n%s", result ? "passed" : "FAILED", steps.size(), builder.description().c_str());
#endif
  if (result) return 0;
  options.eps = 1e-7;  // a kink crossed by the step goes away with a smaller step
  tg::GradcheckResult again = tg::gradcheck(f, inputs, options);
  if (again) return 0;
  std::fprintf(stderr, "fuzz_gradcheck: gradient mismatch\nexpression:\n%s\nwith eps 1e-6:\n%s\nwith eps 1e-7:\n%s\n",
               builder.description().c_str(), result.str().c_str(), again.str().c_str());
  std::abort();
}
