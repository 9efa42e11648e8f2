#include "tapegrad/checks/gradcheck.hpp"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/checks/central_difference.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape_ops.hpp"

namespace tg {

GradcheckOptions GradcheckOptions::float32() {
  GradcheckOptions o;
  o.dtype = DType::float32;
  o.eps = 1e-3;
  o.atol = 1e-3;
  o.rtol = 1e-2;
  return o;
}

namespace detail {

namespace {
void set_element(const Tensor& t, std::int64_t i, double v) {
  dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(t.raw_data())[i] = static_cast<T>(v);
  });
}
}  // namespace

double element(const Tensor& t, std::int64_t i) {
  return dispatch(t.dtype(), [&](auto tag) { return static_cast<double>(static_cast<const decltype(tag)*>(t.raw_data())[i]); });
}

double project(const Tensor& u, const Tensor& y) {
  double s = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) s += element(u, i) * element(y, i);
  return s;
}

std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(shape.rank()));
  for (int d = shape.rank() - 1; d >= 0; --d) {
    index[static_cast<std::size_t>(d)] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return index;
}

std::string index_str(const std::vector<std::int64_t>& index) {
  std::string s = "[";
  for (std::size_t i = 0; i < index.size(); ++i) s += (i ? ", " : "") + std::to_string(index[i]);
  return s + "]";
}

GradcheckInputReport compare_with_central_differences(const Tensor& x, const Tensor& analytic,
                                                      const std::function<double()>& projected,
                                                      const GradcheckOptions& o) {
  GradcheckInputReport rep;
  double worst = -1;
  for (std::int64_t j = 0; j < x.numel(); ++j) {
    const double original = element(x, j);
    set_element(x, j, original + o.eps);
    const double plus = projected();
    set_element(x, j, original - o.eps);
    const double minus = projected();
    set_element(x, j, original);
    const double numeric = (plus - minus) / (2 * o.eps);
    const double a = element(analytic, j);
    const double err = std::abs(a - numeric);
    const double ratio = std::isnan(err) ? INFINITY : err / (o.atol + o.rtol * std::abs(numeric));
    if (ratio > worst) {
      worst = ratio;
      rep.worst_index = unravel(j, x.shape());
      rep.analytic = a;
      rep.numeric = numeric;
      rep.abs_error = err;
      rep.rel_error = numeric != 0 ? err / std::abs(numeric) : err;
    }
  }
  rep.passed = worst <= 1.0;
  return rep;
}

std::int64_t first_difference(const Tensor& a, const Tensor& b) {
  for (std::int64_t j = 0; j < a.numel(); ++j)
    if (element(a, j) != element(b, j)) return j;
  return -1;
}

std::int64_t first_not_doubled(const Tensor& once, const Tensor& twice) {
  for (std::int64_t j = 0; j < once.numel(); ++j) {
    const double expected = 2 * element(once, j), got = element(twice, j);
    if (std::abs(got - expected) > 1e-9 * (1 + std::abs(expected))) return j;
  }
  return -1;
}

}  // namespace detail

namespace {

using detail::element;
using detail::index_str;
using detail::unravel;

Tensor call(const TensorFunction& f, const std::vector<Tensor>& xs, const char* who) {
  Tensor y = f(xs);
  if (!y.defined() || !y.is_floating())
    throw std::invalid_argument(std::string(who) + ": the function must return a floating tensor");
  return y;
}

}  // namespace

GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  if (!is_floating(o.dtype)) throw std::invalid_argument("gradcheck: options.dtype must be float32 or float64");
  if (!(o.eps > 0)) throw std::invalid_argument("gradcheck: eps must be positive, received " + std::to_string(o.eps));
  if (!o.requires_grad.empty() && o.requires_grad.size() != inputs.size())
    throw std::invalid_argument("gradcheck: requires_grad has " + std::to_string(o.requires_grad.size()) +
                                " entries for " + std::to_string(inputs.size()) + " inputs");
  std::vector<Tensor> xs;
  std::vector<Tensor> sources;
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined()) throw std::invalid_argument("gradcheck: input " + std::to_string(i) + " is undefined");
    xs.push_back(in.is_floating() ? in.to(o.dtype) : in);
    if (in.is_floating() && (o.requires_grad.empty() || o.requires_grad[i])) {
      sources.push_back(xs.back());
      checked.push_back(i);
    }
  }
  GradcheckResult result;
  result.inputs.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) result.inputs[i].input = i;
  if (sources.empty()) {
    result.passed = false;
    result.failures.push_back("no floating input to check");
    return result;
  }

  // Analytic gradients through a fixed-seed random upstream gradient.
  Tensor u;
  std::vector<Tensor> analytic, analytic_again;
  {
    GradientTape tape(/*persistent=*/true);
    tape.watch(sources);
    Tensor y = call(f, xs, "gradcheck");
    u = randn(y.shape(), o.seed, y.dtype());
    analytic = tape.gradient(y, sources, u);
    if (o.check_determinism) analytic_again = tape.gradient(y, sources, u);
  }

  // Numeric gradients by central differences. No tape of ours is alive here, so
  // nothing is recorded; tapes that f itself creates (gradgradcheck's inner
  // tape) must keep working, so recording is not disabled.
  for (std::size_t s = 0; s < sources.size(); ++s) {
    const std::size_t i = checked[s];
    Tensor& x = xs[i];
    GradcheckInputReport& rep = result.inputs[i];
    rep = detail::compare_with_central_differences(
        x, analytic[s], [&] { return detail::project(u, call(f, xs, "gradcheck")); }, o);
    rep.input = i;
    rep.checked = true;
    if (!rep.passed) {
      std::ostringstream msg;
      msg << std::setprecision(10) << "input " << i << ": element " << index_str(rep.worst_index) << " analytic "
          << rep.analytic << " vs numeric " << rep.numeric << " (abs error " << rep.abs_error << ", rel error "
          << rep.rel_error << ")";
      result.failures.push_back(msg.str());
    }
    if (o.check_determinism)
      if (std::int64_t j = detail::first_difference(analytic[s], analytic_again[s]); j >= 0)
        result.failures.push_back("input " + std::to_string(i) + ": a second gradient() call gave a different value at element " +
                                  index_str(unravel(j, x.shape())) + " (nondeterministic backward)");
  }

  if (o.check_accumulation) {
    // f used twice in one graph: each source's gradient must be exactly doubled.
    std::vector<Tensor> twice;
    {
      GradientTape tape;
      tape.watch(sources);
      Tensor y1 = call(f, xs, "gradcheck");
      Tensor y2 = call(f, xs, "gradcheck");
      Tensor target = add(sum(mul(y1, u)), sum(mul(y2, u)));
      twice = tape.gradient(target, sources);
    }
    for (std::size_t s = 0; s < sources.size(); ++s)
      if (std::int64_t j = detail::first_not_doubled(analytic[s], twice[s]); j >= 0) {
        std::ostringstream msg;
        msg << std::setprecision(10) << "input " << checked[s] << ": with the function used twice the gradient at "
            << index_str(unravel(j, sources[s].shape())) << " is " << element(twice[s], j) << ", expected twice "
            << element(analytic[s], j) << " (gradients must be added, not assigned)";
        result.failures.push_back(msg.str());
      }
  }

  // With one input watched at a time, no backward may compute a gradient for
  // another input, or for a constant the function uses (so the check is made
  // with a single checked input too).
  if (o.check_unneeded) {
    for (std::size_t s = 0; s < sources.size(); ++s) {
      GradientTape tape;
      tape.watch(sources[s]);
      Tensor y = call(f, xs, "gradcheck");
      tape.gradient(y, {sources[s]}, u);
      if (tape.unneeded_gradients() > 0)
        result.failures.push_back("with only input " + std::to_string(checked[s]) + " watched, " +
                                  std::to_string(tape.unneeded_gradients()) +
                                  " gradient(s) were computed for inputs that did not need one");
    }
  }

  result.passed = result.failures.empty();
  return result;
}

GradcheckResult gradgradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  std::vector<std::size_t> floating;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].is_floating() && (o.requires_grad.empty() || o.requires_grad[i]))
      floating.push_back(i);
  Tensor u;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> xs;
    for (const Tensor& in : inputs) xs.push_back(in.is_floating() ? in.to(o.dtype) : in);
    u = randn(f(xs).shape(), o.seed + 1, o.dtype);
  }
  // x -> the flattened gradients of sum(u * f(x)), computed by an inner tape.
  TensorFunction first_derivative = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> sources;
    for (std::size_t i : floating) sources.push_back(xs[i]);
    GradientTape inner;
    inner.watch(sources);
    Tensor y = f(xs);
    std::vector<Tensor> grads = inner.gradient(y, sources, u);
    std::vector<Tensor> flat;
    for (const Tensor& g : grads) flat.push_back(reshape(g, {-1}));
    return concat(flat, 0);
  };
  GradcheckOptions second = o;
  second.check_unneeded = false;  // the inner tape watches every input by construction
  return gradcheck(first_derivative, inputs, second);
}

std::string GradcheckResult::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) {
  os << "gradcheck " << (r.passed ? "passed" : "FAILED") << '\n';
  for (const auto& in : r.inputs) {
    if (!in.checked) continue;
    os << std::setprecision(6) << "  input " << in.input << ": " << (in.passed ? "ok" : "FAIL") << ", worst element "
       << index_str(in.worst_index) << " analytic " << in.analytic << " numeric " << in.numeric << " abs error "
       << in.abs_error << " rel error " << in.rel_error << '\n';
  }
  for (const auto& f : r.failures) os << "  - " << f << '\n';
  return os;
}

}  // namespace tg
