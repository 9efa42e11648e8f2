// gradcheck_walkthrough: how to check gradients, and what a wrong one looks like.
//
//   1. gradcheck a function you wrote with the library's ops;
//   2. gradcheck a layer (through its input and its weights);
//   3. gradcheck a whole Siamese model (two inputs, a shared base network,
//      a cosine-distance head);
//   4. write your own op with a hand-written backward, get it wrong twice, and
//      read the reports that catch it (which input, which element, analytic vs
//      numeric);
//   5. print the tape of a cosine similarity, fused and op by op, and write it
//      as Graphviz DOT (rendered to SVG when Graphviz's `dot` is installed).
//
// gradcheck works as PyTorch's torch.autograd.gradcheck: in float64, each
// input element is moved by +-1e-6 and the change of sum(u * f(x)) is
// compared with the tape's gradient, for a fixed-seed random upstream gradient
// u; an element passes when |analytic - numeric| <= 1e-5 + 1e-3 |numeric|.
//
// Usage: gradcheck_walkthrough [--out DIR]   (default: the current directory)
// The exit status is 0 when every check gave the expected verdict: the correct
// gradients pass and both deliberately wrong ones are caught.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

using tg::Tensor;
using Inputs = std::vector<Tensor>;

int failures = 0;

// Prints a check's verdict and counts it when it is not the expected one.
void report(const std::string& what, const tg::GradcheckResult& result, bool expect_pass) {
  std::cout << "  " << what << ": " << (result ? "passed" : "FAILED") << '\n';
  if (!result) std::cout << result << '\n';
  if (static_cast<bool>(result) != expect_pass) {
    std::cout << "  ^ unexpected: this check should have " << (expect_pass ? "passed" : "failed") << "\n";
    ++failures;
  }
}

void heading(const std::string& title) { std::cout << "\n== " << title << " ==\n"; }

// ---- 4. a custom op --------------------------------------------------------------
//
// softsign(x) = x / (1 + |x|), elementwise. Its derivative is 1 / (1 + |x|)^2,
// so the vector-Jacobian product for an upstream gradient g is
// g / (1 + |x|)^2. The forward is a plain loop; tg::record_op puts the op on
// every tape that watches x, with the backward function next to it.
enum class Backward { correct, forgets_upstream, forgets_square };

Tensor softsign(const Tensor& x, Backward backward) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const double* in = x.data<double>();  // this example's op handles float64 only
  double* out = y.data<double>();
  for (std::int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] / (1.0 + std::abs(in[i]));

  if (tg::is_recording())
    tg::record_op("softsign", {x}, y, [x, backward](const Tensor& g, tg::BackwardContext& ctx) {
      // Written with differentiable ops, so a nested tape could differentiate it again.
      Tensor denominator = 1.0 + tg::abs(x);
      switch (backward) {
        case Backward::correct:  // g / (1 + |x|)^2
          ctx.add(0, g / (denominator * denominator));
          break;
        case Backward::forgets_upstream:  // the local derivative alone: the chain rule's g is missing
          ctx.add(0, 1.0 / (denominator * denominator));
          break;
        case Backward::forgets_square:  // g / (1 + |x|): a wrong derivative
          ctx.add(0, g / denominator);
          break;
      }
    });
  return y;
}

// The gradient of sum(f(x)) from the tape, and by central differences, with
// an upstream gradient of ones: the check people often write by hand.
double ones_upstream_error(Backward backward, const Tensor& x) {
  tg::GradientTape tape;
  tape.watch(x);
  Tensor analytic = tape.gradient(tg::sum(softsign(x, backward)), {x})[0];
  double worst = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    Tensor plus = x.clone(), minus = x.clone();
    plus.data<double>()[i] += 1e-6;
    minus.data<double>()[i] -= 1e-6;
    double numeric = (tg::sum(softsign(plus, backward)).item() - tg::sum(softsign(minus, backward)).item()) / 2e-6;
    worst = std::max(worst, std::abs(analytic.data<double>()[i] - numeric));
  }
  return worst;
}

// The classic Keras cosine distance: -mean(l2_normalize(x) * l2_normalize(y), axis=-1, keepdims).
Tensor cosine_distance(const Inputs& v) {
  return -tg::mean(tg::l2_normalize(v[0], -1) * tg::l2_normalize(v[1], -1), {-1}, true);
}

bool run_graphviz(const std::filesystem::path& dot_file) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) return false;
  std::filesystem::path svg = dot_file;
  svg.replace_extension(".svg");
  std::string command = "dot -Tsvg '" + dot_file.string() + "' -o '" + svg.string() + "'";
  return std::system(command.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path out_dir = ".";
  CLI::App app{"How to check gradients, and what a wrong one looks like.", "gradcheck_walkthrough"};
  app.add_option("--out", out_dir, "where the DOT and SVG files go")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::filesystem::create_directories(out_dir);

  // ---- 1. a function -------------------------------------------------------------
  heading("1. A function written with the library's ops");
  std::cout << "  f(a, b) = sum(tanh(a @ b) * a @ b), a (3, 4), b (4, 2), float64\n";
  auto f = [](const Inputs& v) {
    Tensor ab = tg::matmul(v[0], v[1]);
    return tg::sum(tg::tanh(ab) * ab);
  };
  Tensor a = tg::randn({3, 4}, 1, tg::float64), b = tg::randn({4, 2}, 2, tg::float64);
  report("gradcheck(f, {a, b})", tg::gradcheck(f, {a, b}), true);
  // Second derivatives: the gradient is itself computed on a tape (nested tapes).
  report("gradgradcheck(f, {a, b})", tg::gradgradcheck(f, {a, b}), true);

  // ---- 2. a layer ----------------------------------------------------------------
  heading("2. A layer: Dense(3, tanh) on a (4, 5) batch");
  std::cout << "  checks the input and both weights (kernel (5, 3), bias (3)); the first call\n"
               "  builds the weights in float64 because the input is float64\n";
  auto dense = tg::layers::Dense::make(3, "tanh");
  report("gradcheck(dense, {x})", tg::gradcheck(dense, {tg::randn({4, 5}, 3, tg::float64)}), true);

  // ---- 3. a whole model ------------------------------------------------------------
  heading("3. A Siamese model: shared Dense base, cosine-distance Lambda head");
  auto input_a = tg::Input({6}, tg::float64), input_b = tg::Input({6}, tg::float64);
  // tanh rather than relu: finite differences straddling relu's kink at 0 disagree
  // with either one-sided derivative, and would fail for a reason unrelated to the code.
  auto base = tg::Sequential::make({tg::layers::Dense::make(8, "tanh"), tg::layers::Dense::make(4)});
  auto distance = tg::layers::Lambda::make(cosine_distance, {1})({base(input_a), base(input_b)});
  auto siamese = tg::Model::make({input_a, input_b}, distance);
  std::cout << "  " << siamese->count_params() << " parameters, shared by both branches\n";
  report("gradcheck(siamese, {xa, xb})",
         tg::gradcheck(siamese, {tg::randn({5, 6}, 4, tg::float64), tg::randn({5, 6}, 5, tg::float64)}), true);

  // ---- 4. a custom op, right and wrong ------------------------------------------------
  heading("4. A custom op: softsign(x) = x / (1 + |x|), backward g / (1 + |x|)^2");
  Tensor x = tg::randn({2, 3}, 6, tg::float64);
  report("correct backward", tg::gradcheck([](const Inputs& v) { return softsign(v[0], Backward::correct); }, {x}),
         true);

  std::cout << "\n  Bug 1: the backward returns 1 / (1 + |x|)^2 and forgets to multiply by g.\n"
               "  Checked by hand with an upstream gradient of ones (d sum(f) / dx), the bug\n"
               "  hides, because then g is 1 everywhere: largest difference "
            << ones_upstream_error(Backward::forgets_upstream, x) << ".\n"
            << "  gradcheck pulls back a random upstream gradient instead, and catches it:\n";
  report("backward without g",
         tg::gradcheck([](const Inputs& v) { return softsign(v[0], Backward::forgets_upstream); }, {x}), false);

  std::cout << "\n  Bug 2: the backward returns g / (1 + |x|), a wrong derivative. The report\n"
               "  names the input, the element with the largest error, and both values:\n";
  report("backward without the square",
         tg::gradcheck([](const Inputs& v) { return softsign(v[0], Backward::forgets_square); }, {x}), false);

  // ---- 5. the tape of a cosine similarity ------------------------------------------
  heading("5. The tape of a cosine similarity");
  Tensor u({{1.0, 2.0, 2.0}, {3.0, 0.0, 4.0}}, tg::float64);
  Tensor w({{0.0, 3.0, 4.0}, {1.0, 1.0, 1.0}}, tg::float64);
  u.set_name("x1");
  w.set_name("x2");
  {
    tg::GradientTape tape;
    tape.watch({u, w});
    Tensor cos = tg::cosine_similarity(u, w, 1);
    cos.set_name("cos");
    std::cout << "  tg::cosine_similarity(x1, x2, 1) = " << cos << " is one fused op on the tape:\n";
    tape.print(std::cout);
  }
  {
    tg::GradientTape tape;
    tape.watch({u, w});
    Tensor cos = tg::composed::cosine_similarity(u, w, 1);
    cos.set_name("cos");
    std::cout << "\n  tg::composed::cosine_similarity, the same function op by op (the oracle the\n"
                 "  fused op is tested against), records "
              << tape.size() << " ops:\n";
    tape.print(std::cout);
    std::filesystem::path dot_file = out_dir / "cosine_tape.dot";
    std::ofstream(dot_file) << tape.to_dot();
    std::cout << "\n  wrote " << dot_file.string();
    if (run_graphviz(dot_file)) std::cout << " and " << (out_dir / "cosine_tape.svg").string() << " (Graphviz)";
    else std::cout << " (install graphviz and run: dot -Tsvg " << dot_file.string() << " -o cosine_tape.svg)";
    std::cout << '\n';
  }

  std::cout << '\n'
            << (failures == 0 ? "Every check gave the expected verdict.\n"
                              : std::to_string(failures) + " check(s) gave an unexpected verdict.\n");
  return failures == 0 ? 0 : 1;
}
