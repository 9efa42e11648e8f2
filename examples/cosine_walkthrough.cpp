// A walk through the cosine family, step by step, reproducing the worked
// examples of the PyTorch and scipy documentation number for number.
//
//   ./cosine_walkthrough
//
// Each section prints what a learner needs to see: the vectors being compared,
// their norms, the eps clamp, the result, and finally one gradient computed by
// the tape and by finite differences side by side.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <tapegrad/tapegrad.hpp>

using tg::Tensor;

namespace {

void heading(const char* title) { std::printf("\n== %s ==\n", title); }

// The cosine of two vectors the long way: dot, norms, clamp, divide.
double cosine_by_hand(const std::vector<double>& a, const std::vector<double>& b, double eps) {
  double dot = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  const double na = std::sqrt(aa), nb = std::sqrt(bb);
  std::printf("    dot = %g, ||a|| = %.10g, ||b|| = %.10g, clamp: max(||a||, %g) = %.10g, max(||b||, %g) = %.10g\n", dot,
              na, nb, eps, std::max(na, eps), eps, std::max(nb, eps));
  return dot / (std::max(na, eps) * std::max(nb, eps));
}

std::vector<double> column(const Tensor& m, std::int64_t j) {
  std::vector<double> v;
  for (std::int64_t i = 0; i < m.dim(0); ++i) v.push_back(m.at({i, j}));
  return v;
}

std::vector<double> row(const Tensor& m, std::int64_t i) {
  std::vector<double> v;
  for (std::int64_t j = 0; j < m.dim(1); ++j) v.push_back(m.at({i, j}));
  return v;
}

}  // namespace

int main() {
  std::cout.precision(10);
  const double eps = 1e-8;

  heading("1. cosine_similarity(x1, x2, axis) on the 2x2 example");
  Tensor x1({{1, 2}, {3, 4}}, tg::float64), x2({{5, 6}, {7, 8}}, tg::float64);
  std::cout << "x1 = " << x1 << "\nx2 = " << x2 << "\n";
  std::printf("Along axis 0 the vectors compared are the columns:\n");
  for (std::int64_t j = 0; j < 2; ++j) {
    auto a = column(x1, j), b = column(x2, j);
    std::printf("  column %lld: a = [%g, %g], b = [%g, %g]\n", static_cast<long long>(j), a[0], a[1], b[0], b[1]);
    std::printf("    cos = %.15g\n", cosine_by_hand(a, b, eps));
  }
  std::cout << "tg::cosine_similarity(x1, x2, 0) = " << tg::cosine_similarity(x1, x2, 0) << "\n";
  std::printf("PyTorch prints tensor([0.9558, 0.9839]); scipy's 1 - cosine gives 0.95577900872195, 0.9838699100999074\n");
  std::printf("Along axis 1 the vectors compared are the rows:\n");
  for (std::int64_t i = 0; i < 2; ++i) {
    auto a = row(x1, i), b = row(x2, i);
    std::printf("  row %lld: a = [%g, %g], b = [%g, %g]\n", static_cast<long long>(i), a[0], a[1], b[0], b[1]);
    std::printf("    cos = %.15g\n", cosine_by_hand(a, b, eps));
  }
  std::cout << "tg::cosine_similarity(x1, x2, 1) = " << tg::cosine_similarity(x1, x2, 1) << "\n";
  std::printf("PyTorch prints tensor([0.9734, 0.9972]); scipy: 0.973417168333576, 0.9971641204866132\n");

  heading("2. The eps clamp: a zero vector");
  Tensor zero({{0, 0}}, tg::float64), other({{3, 4}}, tg::float64);
  std::printf("||zero|| = 0 is clamped to eps = 1e-8, so cos = 0 / (1e-8 * 5) = 0 instead of 0 / 0:\n");
  {
    tg::GradientTape tape;
    tape.watch({zero, other});
    Tensor c = tg::cosine_similarity(zero, other, 1);
    auto g = tape.gradient(c, {zero, other});
    std::cout << "  cos = " << c << "\n  d cos / d zero = " << g[0] << "   (= other_hat / eps = [0.6, 0.8] / 1e-8)\n"
              << "  d cos / d other = " << g[1] << "\n";
  }

  heading("3. normalize over several axes: the NCHW recipe");
  Tensor images = tg::randn({2, 3, 4, 4}, 1, tg::float64), others = tg::randn({2, 3, 4, 4}, 2, tg::float64);
  Tensor n1 = tg::normalize(images, 2, {1, 2, 3});  // keeps the dims: divides by a (2, 1, 1, 1) norm
  Tensor norms = tg::norm(images, 2, {1, 2, 3}, /*keepdims=*/true);
  std::cout << "norm(x, 2, {1, 2, 3}, keepdims) has shape " << norms.shape() << ": " << tg::reshape(norms, {2})
            << "\n";
  Tensor via_normalize = tg::sum(n1 * tg::normalize(others, 2, {1, 2, 3}), {1, 2, 3});
  Tensor via_flat = tg::cosine_similarity(tg::reshape(images, {2, -1}), tg::reshape(others, {2, -1}), 1);
  std::cout << "sum(normalize(x) * normalize(y))      = " << via_normalize << "\n"
            << "cosine_similarity(flatten x, flatten y) = " << via_flat << "\n";

  heading("4. The similarity matrix: normalize rows, then one matrix product");
  Tensor a = tg::randn({4, 3}, 3, tg::float64);
  Tensor s = tg::cosine_similarity_matrix(a);
  std::cout << "a = " << a << "\nS = cosine_similarity_matrix(a) = " << s << "\n";
  double worst = 0;
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      double by_loop = tg::cosine_similarity(tg::slice(a, 0, i, i + 1), tg::slice(a, 0, j, j + 1), 1).item();
      worst = std::max(worst, std::abs(by_loop - s.at({i, j})));
    }
  std::printf("The double loop of cosine_similarity over rows agrees to %.3g; the diagonal is 1.\n", worst);

  heading("5. One gradient, by the tape and by finite differences");
  Tensor u({{1, 2, 3}}, tg::float64), v({{2, -1, 0.5}}, tg::float64);
  u.set_name("u");
  v.set_name("v");
  tg::GradientTape tape;
  tape.watch(u);
  Tensor c = tg::cosine_similarity(u, v, 1);
  tape.print(std::cout);
  Tensor du = tape.gradient(c, {u})[0];
  std::printf("  element   tape                 central difference (h = 1e-6)\n");
  for (std::int64_t k = 0; k < 3; ++k) {
    Tensor up = u.clone(), down = u.clone();
    up.set({0, k}, u.at({0, k}) + 1e-6);
    down.set({0, k}, u.at({0, k}) - 1e-6);
    double numeric = (tg::cosine_similarity(up, v, 1).item() - tg::cosine_similarity(down, v, 1).item()) / 2e-6;
    std::printf("  %lld         %-20.12g %-20.12g\n", static_cast<long long>(k), du.at({0, k}), numeric);
  }
  tg::GradcheckResult check = tg::gradcheck(
      [](const std::vector<Tensor>& in) { return tg::cosine_similarity(in[0], in[1], 1); }, {u, v});
  std::cout << check;
  return check.passed ? 0 : 1;
}
