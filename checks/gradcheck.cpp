#include "tapegrad/checks/gradcheck.hpp"

#include <cmath>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/format.hpp"
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

void validate_gradcheck_options(const GradcheckOptions& o, const std::vector<Tensor>& inputs, const std::string& who) {
  if (!is_floating(o.dtype)) throw std::invalid_argument(who + ": options.dtype must be float32 or float64");
  if (!(o.eps > 0)) throw std::invalid_argument(who + ": eps must be positive, received " + format_number(o.eps));
  if (!o.requires_grad.empty() && o.requires_grad.size() != inputs.size())
    throw std::invalid_argument(who + ": requires_grad has " + std::to_string(o.requires_grad.size()) +
                                " entries for " + std::to_string(inputs.size()) + " inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) throw std::invalid_argument(who + ": input " + std::to_string(i) + " is undefined");
}

}  // namespace detail

namespace {

using detail::element;
using detail::format_number;
using detail::index_str;
using detail::unravel;

Tensor call(const TensorFunction& f, const std::vector<Tensor>& xs, const char* who) {
  Tensor y = f(xs);
  if (!y.defined() || !y.is_floating())
    throw std::invalid_argument(std::string(who) + ": the function must return a floating tensor");
  return y;
}

// The failure sentences, one wording for inputs ("input 0") and for tensors
// the function reads itself ("weight 'kernel'").
std::string value_failure(const std::string& label, const GradcheckInputReport& rep) {
  return label + ": element " + index_str(rep.worst_index) + " analytic " + format_number(rep.analytic) +
         " vs numeric " + format_number(rep.numeric) + " (abs error " + format_number(rep.abs_error) +
         ", rel error " + format_number(rep.rel_error) + ")";
}

std::string nondeterminism_failure(const std::string& label, std::int64_t j, const Shape& shape) {
  return label + ": a second gradient() call gave a different value at element " + index_str(unravel(j, shape)) +
         " (nondeterministic backward)";
}

std::string accumulation_failure(const std::string& label, const std::string& used_twice, const Tensor& once,
                                 const Tensor& twice, std::int64_t j) {
  return label + ": with " + used_twice + " used twice the gradient at " + index_str(unravel(j, once.shape())) +
         " is " + format_number(element(twice, j)) + ", expected twice " + format_number(element(once, j)) +
         " (gradients must be added, not assigned)";
}

}  // namespace

namespace detail {

void check_captured(const TensorFunction& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& tensors,
                    const std::vector<std::string>& labels, const std::string& used_twice, const GradcheckOptions& o,
                    GradcheckResult& result) {
  Tensor u;
  std::vector<Tensor> analytic, again;
  {
    GradientTape tape(/*persistent=*/true);
    tape.watch(tensors);
    Tensor y = f(xs);
    u = randn(y.shape(), o.seed, y.dtype());
    analytic = tape.gradient(y, tensors, u);
    if (o.check_determinism) again = tape.gradient(y, tensors, u);
  }
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    // The tensors are often trainable, watched by every tape: the guard keeps
    // the perturbed calls off any tape the caller has open.
    const GradcheckInputReport rep = compare_with_central_differences(
        tensors[k], analytic[k],
        [&] {
          NoGradGuard no_grad;
          return project(u, f(xs));
        },
        o);
    if (!rep.passed) result.failures.push_back(value_failure(labels[k], rep));
    if (o.check_determinism)
      if (std::int64_t j = first_difference(analytic[k], again[k]); j >= 0)
        result.failures.push_back(nondeterminism_failure(labels[k], j, tensors[k].shape()));
  }
  if (o.check_accumulation) {
    std::vector<Tensor> twice;
    {
      GradientTape tape;
      tape.watch(tensors);
      Tensor y1 = f(xs), y2 = f(xs);
      twice = tape.gradient(add(sum(mul(y1, u)), sum(mul(y2, u))), tensors);
    }
    for (std::size_t k = 0; k < tensors.size(); ++k)
      if (std::int64_t j = first_not_doubled(analytic[k], twice[k]); j >= 0)
        result.failures.push_back(accumulation_failure(labels[k], used_twice, analytic[k], twice[k], j));
  }
  result.passed = result.failures.empty();
}

}  // namespace detail

GradcheckResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  detail::validate_gradcheck_options(o, inputs, "gradcheck");
  std::vector<Tensor> xs;
  std::vector<Tensor> sources;
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
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
    const std::string label = "input " + std::to_string(i);
    if (!rep.passed) result.failures.push_back(value_failure(label, rep));
    if (o.check_determinism)
      if (std::int64_t j = detail::first_difference(analytic[s], analytic_again[s]); j >= 0)
        result.failures.push_back(nondeterminism_failure(label, j, x.shape()));
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
      if (std::int64_t j = detail::first_not_doubled(analytic[s], twice[s]); j >= 0)
        result.failures.push_back(accumulation_failure("input " + std::to_string(checked[s]), "the function",
                                                       analytic[s], twice[s], j));
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
    os << "  input " << in.input << ": " << (in.passed ? "ok" : "FAIL") << ", worst element "
       << index_str(in.worst_index) << " analytic " << format_number(in.analytic) << " numeric "
       << format_number(in.numeric) << " abs error " << format_number(in.abs_error) << " rel error "
       << format_number(in.rel_error) << '\n';
  }
  for (const auto& f : r.failures) os << "  - " << f << '\n';
  return os;
}

}  // namespace tg
