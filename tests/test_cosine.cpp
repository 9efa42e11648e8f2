// The cosine family: reference values (the worked examples of the issue and
// PyTorch fixtures), gradients (gradcheck, gradgradcheck, fused vs composed),
// edge cases and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tapegrad/tapegrad.hpp>

#include "cosine_fixtures.hpp"

using tg::Tensor;

namespace {

// Element by element within atol + rtol |expected|; an expected NaN must be
// NaN, an expected infinity that same infinity.
void check_close(const Tensor& got, const Tensor& expected, double rtol, double atol) {
  REQUIRE(got.shape() == expected.shape());
  Tensor a = got.to(tg::float64), b = expected.to(tg::float64);
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    INFO("element " << i << ": " << pa[i] << " vs " << pb[i]);
    if (std::isnan(pb[i])) CHECK(std::isnan(pa[i]));
    else if (std::isinf(pb[i])) CHECK(pa[i] == pb[i]);
    else CHECK(std::abs(pa[i] - pb[i]) <= atol + rtol * std::abs(pb[i]));
  }
}

// The tape's gradients of sum(u * f(inputs)).
std::vector<Tensor> vjp(const tg::TensorFunction& f, const std::vector<Tensor>& inputs, const Tensor& u) {
  tg::GradientTape tape;
  tape.watch(inputs);
  Tensor y = f(inputs);
  return tape.gradient(y, inputs, u);
}

void check_gradcheck(const tg::TensorFunction& f, const std::vector<Tensor>& inputs) {
  tg::GradcheckResult r = tg::gradcheck(f, inputs);
  INFO(r.str());
  CHECK(r.passed);
}

}  // namespace

// ---- worked examples -----------------------------------------------------------

TEST_CASE("cosine_similarity: the 2x2 example along both axes") {
  // x1 = [[1, 2], [3, 4]], x2 = [[5, 6], [7, 8]].
  // Axis 0 compares columns: (1*5 + 3*7) / (sqrt(10) sqrt(74)) = 26 / 27.2029... = 0.955779...
  //                          (2*6 + 4*8) / (sqrt(20) sqrt(100)) = 44 / 44.7214... = 0.983870...
  // Axis 1 compares rows:    (5 + 12) / (sqrt(5) sqrt(61)) = 0.973417..., (21 + 32) / (5 sqrt(113)) = 0.997164...
  Tensor x1({{1, 2}, {3, 4}}, tg::float64), x2({{5, 6}, {7, 8}}, tg::float64);
  Tensor along0 = tg::cosine_similarity(x1, x2, 0);
  Tensor along1 = tg::cosine_similarity(x1, x2, 1);
  CHECK(along0.shape() == tg::Shape{2});
  CHECK(std::abs(along0.at({0}) - 0.95577900872195) < 1e-12);
  CHECK(std::abs(along0.at({1}) - 0.9838699100999074) < 1e-12);
  CHECK(std::abs(along1.at({0}) - 0.973417168333576) < 1e-12);
  CHECK(std::abs(along1.at({1}) - 0.9971641204866132) < 1e-12);
  // The same in float32, to the four digits the documentation prints.
  Tensor f0 = tg::cosine_similarity(x1.to(tg::float32), x2.to(tg::float32), 0);
  CHECK(f0.dtype() == tg::float32);
  CHECK(f0.at({0}) == doctest::Approx(0.9558).epsilon(1e-4));
  CHECK(f0.at({1}) == doctest::Approx(0.9839).epsilon(1e-4));
  CHECK(tg::cosine_similarity(x1, x2, -1).at({1}) == along1.at({1}));
}

TEST_CASE("cosine_distance is 1 - cosine_similarity") {
  Tensor x1({{1, 2}, {3, 4}}, tg::float64), x2({{5, 6}, {-3, -4}}, tg::float64);
  Tensor d = tg::cosine_distance(x1, x2, 1);
  CHECK(d.at({0}) == doctest::Approx(1 - 0.973417168333576).epsilon(1e-12));
  CHECK(d.at({1}) == doctest::Approx(2.0));  // opposite directions
}

TEST_CASE("normalize over {1, 2, 3} of an NCHW tensor agrees with norm and with flattened cosine") {
  Tensor x = tg::randn({3, 2, 4, 5}, 1, tg::float64), y = tg::randn({3, 2, 4, 5}, 2, tg::float64);
  Tensor via_normalize = tg::sum(tg::normalize(x, 2, {1, 2, 3}) * tg::normalize(y, 2, {1, 2, 3}), {1, 2, 3});
  Tensor via_norm = tg::sum((x / tg::norm(x, 2, {1, 2, 3}, true)) * (y / tg::norm(y, 2, {1, 2, 3}, true)), {1, 2, 3});
  Tensor via_cosine = tg::cosine_similarity(tg::reshape(x, {3, -1}), tg::reshape(y, {3, -1}), 1);
  check_close(via_normalize, via_norm, 1e-13, 1e-15);
  check_close(via_normalize, via_cosine, 1e-13, 1e-15);
  // keepdims through the composed oracle too
  check_close(tg::normalize(x, 2, {1, 2, 3}), tg::composed::normalize(x, 2, {1, 2, 3}), 1e-14, 1e-15);
}

TEST_CASE("cosine_similarity_matrix equals the double loop, with a unit diagonal") {
  Tensor a = tg::randn({100, 700}, 7);  // float32
  Tensor s = tg::cosine_similarity_matrix(a);
  REQUIRE(s.shape() == tg::Shape{100, 100});
  Tensor a64 = a.to(tg::float64);
  for (std::int64_t i = 0; i < 100; i += 7)
    for (std::int64_t j = 0; j < 100; ++j) {
      Tensor ri = tg::slice(a64, 0, i, i + 1), rj = tg::slice(a64, 0, j, j + 1);
      double expected = tg::cosine_similarity(ri, rj, 1).item();
      CHECK(std::abs(s.at({i, j}) - expected) <= 2e-6);
    }
  for (std::int64_t i = 0; i < 100; ++i) CHECK(s.at({i, i}) == doctest::Approx(1.0).epsilon(2e-6));
  // Two-argument and batched forms.
  Tensor b = tg::randn({30, 700}, 8);
  Tensor s2 = tg::cosine_similarity_matrix(a, b);
  CHECK(s2.shape() == tg::Shape{100, 30});
  Tensor batched = tg::cosine_similarity_matrix(tg::stack({a, a}), tg::stack({b, b}));
  CHECK(batched.shape() == tg::Shape{2, 100, 30});
  check_close(tg::slice(batched, 0, 1, 2), tg::reshape(s2, {1, 100, 30}), 0, 0);
}

// ---- PyTorch fixtures ----------------------------------------------------------

TEST_CASE("cosine family: values and gradients match PyTorch 1.13 fixtures") {
  auto cases = load_cosine_fixtures(std::string(TAPEGRAD_FIXTURE_DIR) + "/cosine.txt");
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    CAPTURE(c.function);
    CAPTURE(c.name);
    const double eps = std::stod(c.params.at("eps"));
    tg::TensorFunction f;
    if (c.function == "cosine_similarity") {
      int axis = std::stoi(c.params.at("axis"));
      f = [=](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis, eps); };
    } else if (c.function == "normalize") {
      double p = std::stod(c.params.at("p"));
      auto axes = parse_axes(c.params.at("axes"));
      f = [=](const std::vector<Tensor>& v) { return tg::normalize(v[0], p, axes, eps); };
    } else if (c.function == "l2_normalize") {
      auto axes = parse_axes(c.params.at("axes"));
      f = [=](const std::vector<Tensor>& v) { return tg::l2_normalize(v[0], axes, eps); };
    } else {
      REQUIRE(c.function == "cosine_similarity_matrix");
      f = [=](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1], eps); };
    }
    std::vector<Tensor> inputs{c.tensors.at("x1")};
    if (c.tensors.count("x2")) inputs.push_back(c.tensors.at("x2"));
    check_close(f(inputs), c.tensors.at("y"), 1e-12, 1e-14);
    auto grads = vjp(f, inputs, c.tensors.at("u"));
    check_close(grads[0], c.tensors.at("g1"), 1e-10, 1e-12);
    if (inputs.size() > 1) check_close(grads[1], c.tensors.at("g2"), 1e-10, 1e-12);
  }
}

// ---- gradients -----------------------------------------------------------------

TEST_CASE("cosine family: gradcheck over axes and broadcast shapes") {
  Tensor a = tg::randn({4, 5}, 11, tg::float64), b = tg::randn({4, 5}, 12, tg::float64);
  for (int axis : {0, 1, -1}) {
    CAPTURE(axis);
    check_gradcheck([axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); }, {a, b});
    check_gradcheck([axis](const std::vector<Tensor>& v) { return tg::cosine_distance(v[0], v[1], axis); }, {a, b});
    check_gradcheck([axis](const std::vector<Tensor>& v) { return tg::l2_normalize(v[0], axis); }, {a});
    for (double p : {1.0, 2.0, 3.0, static_cast<double>(INFINITY)})
      check_gradcheck([axis, p](const std::vector<Tensor>& v) { return tg::normalize(v[0], p, {axis}); }, {a});
  }
  Tensor c = tg::randn({4, 1, 3}, 13, tg::float64), d = tg::randn({5, 3}, 14, tg::float64);
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], -1); }, {c, d});
  Tensor e = tg::randn({2, 3, 4}, 15, tg::float64);
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::normalize(v[0], 2, {1, 2}); }, {e});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::normalize(v[0], 2, {0, 2}); }, {e});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::l2_normalize(v[0], tg::Axes{0, 1}); }, {e});
  Tensor m = tg::randn({6, 4}, 16, tg::float64), n = tg::randn({3, 4}, 17, tg::float64);
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1]); }, {m, n});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0]); }, {m});
  Tensor bm = tg::randn({2, 3, 4}, 18, tg::float64), bn = tg::randn({2, 5, 4}, 19, tg::float64);
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1]); }, {bm, bn});
}

TEST_CASE("cosine family: gradgradcheck") {
  Tensor a = tg::randn({3, 4}, 21, tg::float64), b = tg::randn({3, 4}, 22, tg::float64);
  for (int axis : {0, 1}) {
    tg::GradcheckResult r =
        tg::gradgradcheck([axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); }, {a, b});
    INFO(r.str());
    CHECK(r.passed);
  }
  tg::GradcheckResult n = tg::gradgradcheck([](const std::vector<Tensor>& v) { return tg::normalize(v[0], 2, {1}); }, {a});
  INFO(n.str());
  CHECK(n.passed);
  tg::GradcheckResult m =
      tg::gradgradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1]); }, {a, b});
  INFO(m.str());
  CHECK(m.passed);
}

TEST_CASE("cosine family: the fused kernels agree with the composed oracles") {
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-12 : 2e-5;
    Tensor a = tg::randn({7, 33}, 31, dtype), b = tg::randn({7, 33}, 32, dtype);
    Tensor u = tg::randn({7}, 33, dtype), un = tg::randn({7, 33}, 34, dtype);
    for (int axis : {1, 0}) {
      Tensor ua = axis == 1 ? u : tg::randn({33}, 35, dtype);
      auto fused = [axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); };
      auto composed = [axis](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity(v[0], v[1], axis); };
      check_close(fused({a, b}), composed({a, b}), tol, tol);
      auto gf = vjp(fused, {a, b}, ua), gc = vjp(composed, {a, b}, ua);
      check_close(gf[0], gc[0], tol, tol);
      check_close(gf[1], gc[1], tol, tol);
    }
    auto fused_n = [](const std::vector<Tensor>& v) { return tg::normalize(v[0], 2, {1}); };
    auto composed_n = [](const std::vector<Tensor>& v) { return tg::composed::normalize(v[0], 2, {1}); };
    check_close(fused_n({a}), composed_n({a}), tol, tol);
    check_close(vjp(fused_n, {a}, un)[0], vjp(composed_n, {a}, un)[0], tol, tol);
    auto fused_l2 = [](const std::vector<Tensor>& v) { return tg::l2_normalize(v[0], 0); };
    auto composed_l2 = [](const std::vector<Tensor>& v) { return tg::composed::l2_normalize(v[0], {0}); };
    check_close(vjp(fused_l2, {a}, un)[0], vjp(composed_l2, {a}, un)[0], tol, tol);
    Tensor um = tg::randn({7, 7}, 36, dtype);
    auto fused_m = [](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1]); };
    auto composed_m = [](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity_matrix(v[0], v[1]); };
    check_close(fused_m({a, b}), composed_m({a, b}), tol, tol);
    auto gfm = vjp(fused_m, {a, b}, um), gcm = vjp(composed_m, {a, b}, um);
    check_close(gfm[0], gcm[0], tol, tol);
    check_close(gfm[1], gcm[1], tol, tol);
  }
}

TEST_CASE("cosine_similarity: gradients large enough to be streamed agree with the composed oracle") {
  // Two gradients of 4 MiB and more are written with non-temporal stores:
  // float32 rows of 512 straight from AVX-512 registers (when the build has
  // it), other rows through a chunk buffer (ops/streaming.hpp), where rows of
  // 521 elements start at every alignment and exercise unaligned heads and tails.
  for (auto [dtype, columns] : {std::pair{tg::float32, 521}, std::pair{tg::float32, 512}, std::pair{tg::float64, 521}}) {
    CAPTURE(columns);
    const std::int64_t rows = dtype == tg::float32 ? 1024 : 512;
    const double tol = dtype == tg::float64 ? 1e-12 : 2e-5;
    Tensor a = tg::randn({rows, columns}, 61, dtype), b = tg::randn({rows, columns}, 62, dtype),
           u = tg::randn({rows}, 63, dtype);
    auto fused = [](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], 1); };
    auto composed = [](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity(v[0], v[1], 1); };
    auto gf = vjp(fused, {a, b}, u), gc = vjp(composed, {a, b}, u);
    check_close(gf[0], gc[0], tol, tol);
    check_close(gf[1], gc[1], tol, tol);
  }
}

TEST_CASE("cosine_similarity_matrix of one input: the blocked mirror and transpose agree with the oracle") {
  // The self-similarity kernel mirrors syrk's triangle and forms G + G^T in
  // 8 x 8 blocks plus scalar edges (float32 with AVX-512 and n % 16 == 0: 16 x 16
  // blocks, no edges): sizes below, at and past multiples of 8 and 16, batched,
  // both dtypes, an asymmetric upstream gradient.
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-12 : 2e-5;
    for (std::int64_t n : {1, 7, 8, 9, 16, 21, 32, 40, 48, 300}) {
      CAPTURE(n);
      for (bool batched : {false, true}) {
        Tensor x = batched ? tg::randn({2, n, 5}, 40 + n, dtype) : tg::randn({n, 5}, 40 + n, dtype);
        Tensor u = batched ? tg::randn({2, n, n}, 90 + n, dtype) : tg::randn({n, n}, 90 + n, dtype);
        auto fused = [](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0]); };
        auto composed = [](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity_matrix(v[0], v[0]); };
        Tensor s = fused({x});
        check_close(s, composed({x}), tol, tol);
        check_close(s, tg::transpose(s, batched ? std::vector<int>{0, 2, 1} : std::vector<int>{1, 0}), 0, 0);
        check_close(vjp(fused, {x}, u)[0], vjp(composed, {x}, u)[0], tol, tol);
        // A symmetric upstream gradient takes the backward's other path (2 G X, no G + G^T).
        Tensor us = u + tg::transpose(u, batched ? std::vector<int>{0, 2, 1} : std::vector<int>{1, 0});
        check_close(vjp(fused, {x}, us)[0], vjp(composed, {x}, us)[0], tol, tol);
        // Symmetric but for the first element of the last row (in the scalar edge when n % 8 != 0).
        Tensor ua = us.to(tg::float64);
        ua.data<double>()[ua.numel() - n] += 1.0;
        ua = ua.to(dtype);
        check_close(vjp(fused, {x}, ua)[0], vjp(composed, {x}, ua)[0], tol, tol);
      }
    }
  }
}

TEST_CASE("cosine_similarity_matrix of one input: a mirror large enough to stream, parallel rows clamped in both "
          "triangles") {
  // 1024 x 1024 float32 is 4 MiB: the mirror's lower triangle is written with
  // non-temporal stores (with AVX-512). Rows 3, 100 and 700 are multiples of
  // row 0 (and row 901 a negative one), so their similarities round to about
  // +-1 and the clamp must give the same value on both sides of the diagonal.
  Tensor x = tg::randn({1024, 24}, 61);
  float* p = x.data<float>();
  for (auto [row, factor] : {std::pair{3, 3.0f}, {100, 0.5f}, {700, 7.0f}, {901, -2.0f}})
    for (int k = 0; k < 24; ++k) p[row * 24 + k] = factor * p[k];
  auto fused = [](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0]); };
  auto composed = [](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity_matrix(v[0], v[0]); };
  Tensor s = fused({x});
  check_close(s, composed({x}), 2e-5, 2e-5);
  check_close(s, tg::transpose(s, {1, 0}), 0, 0);
  const float* ps = s.data<float>();
  float largest = 0;
  for (std::int64_t i = 0; i < s.numel(); ++i) largest = std::max(largest, std::abs(ps[i]));
  CHECK(largest <= 1.0f);
  for (int row : {3, 100, 700}) CHECK(s.at({0, row}) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(s.at({901, 0}) == doctest::Approx(-1.0).epsilon(1e-6));
  Tensor u = tg::randn({1024, 1024}, 62);
  check_close(vjp(fused, {x}, u)[0], vjp(composed, {x}, u)[0], 2e-5, 2e-5);
}

// ---- edge cases ------------------------------------------------------------------

TEST_CASE("cosine_similarity_matrix of one input: syrk cut in pieces agrees with the oracle") {
  // 600 rows of 64: over 1e7 multiply-adds, so the triangle is computed in 4
  // pieces of equal work (ops/blas.cpp), and the backward product in 4 row pieces.
  Tensor x = tg::randn({600, 64}, 51, tg::float64), u = tg::randn({600, 600}, 52, tg::float64);
  Tensor us = u + tg::transpose(u);
  auto fused = [](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0]); };
  auto composed = [](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity_matrix(v[0], v[0]); };
  check_close(fused({x}), composed({x}), 1e-12, 1e-12);
  check_close(vjp(fused, {x}, us)[0], vjp(composed, {x}, us)[0], 1e-12, 1e-12);
}

TEST_CASE("cosine_similarity: zero vectors give 0 and PyTorch's gradient at zero") {
  Tensor x1({{0, 0}}, tg::float64), x2({{3, 4}}, tg::float64);
  tg::GradientTape tape;
  tape.watch({x1, x2});
  Tensor y = tg::cosine_similarity(x1, x2, 1);
  CHECK(y.item() == 0.0);
  auto g = tape.gradient(y, {x1, x2});
  // d/dx1 = x2_hat / eps = [0.6, 0.8] / 1e-8; d/dx2 = 0 (PyTorch 1.13 gives the same).
  CHECK(g[0].at({0, 0}) == doctest::Approx(6e7));
  CHECK(g[0].at({0, 1}) == doctest::Approx(8e7));
  CHECK(g[1].at({0, 0}) == 0.0);
  CHECK(g[1].at({0, 1}) == 0.0);
  // Both zero: value and gradients all zero.
  Tensor z1 = tg::zeros({1, 3}, tg::float64), z2 = tg::zeros({1, 3}, tg::float64);
  tg::GradientTape t2;
  t2.watch({z1, z2});
  Tensor yz = tg::cosine_similarity(z1, z2, 1);
  CHECK(yz.item() == 0.0);
  for (const Tensor& gz : t2.gradient(yz, {z1, z2}))
    for (double v : gz.to_vector<double>()) CHECK(v == 0.0);
  // normalize of a zero vector: value 0, gradient g / eps (PyTorch's differentiable clamp).
  Tensor z = tg::zeros({1, 2}, tg::float64);
  tg::GradientTape t3;
  t3.watch(z);
  Tensor n = tg::normalize(z, 2, {1}, 1e-12);
  CHECK(tg::sum(tg::abs(n)).item() == 0.0);
  CHECK(t3.gradient(n, {z})[0].at({0, 1}) == doctest::Approx(1e12));
}

TEST_CASE("cosine family: gradcheck passes for norms below eps, where PyTorch's gradient does not") {
  // With eps = 1 and vectors of norm ~0.3 the clamp is active for x1: the function is
  // sum(x1 * x2_hat) / eps there, and our gradient is its true derivative.
  Tensor small = tg::randn({3, 4}, 41, tg::float64) * 0.1, big = tg::randn({3, 4}, 42, tg::float64);
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], 1, 1.0); }, {small, big});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::normalize(v[0], 2, {1}, 1.0); }, {small});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::l2_normalize(v[0], 1, 1.0); }, {small});
  check_gradcheck([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0], v[1], 1.0); },
                  {small, big});
}

TEST_CASE("cosine_similarity: float32 never leaves -1..1 (pytorch#78064)") {
  Tensor x = tg::arange(84);
  CHECK(tg::cosine_similarity(x, x, 0).item() <= 1.0);
  CHECK(tg::cosine_similarity(x, -x, 0).item() >= -1.0);
  Tensor r = tg::randn({64, 300}, 43);
  Tensor s = tg::cosine_similarity_matrix(r);
  CHECK(tg::max(s).item() <= 1.0);
  CHECK(tg::min(s).item() >= -1.0);
  Tensor same = tg::cosine_similarity(r, r, 1);
  CHECK(tg::max(same).item() <= 1.0);
}

TEST_CASE("cosine family: long float32 vectors keep float64 precision") {
  // Sums are accumulated in double: for D = 4096 and 65536 the float32 result is the
  // float64 result rounded once.
  for (std::int64_t d : {4096, 65536}) {
    Tensor a64 = tg::randn({2, d}, 51, tg::float64) + 3.0, b64 = tg::randn({2, d}, 52, tg::float64) + 3.0;
    Tensor a = a64.to(tg::float32), b = b64.to(tg::float32);
    Tensor exact = tg::cosine_similarity(a, b, 1).to(tg::float64);
    Tensor ref = tg::cosine_similarity(a.to(tg::float64), b.to(tg::float64), 1);
    check_close(exact, ref, 1e-7, 0);
    Tensor n32 = tg::norm(a, 2, {1}), n64 = tg::norm(a.to(tg::float64), 2, {1});
    check_close(n32.to(tg::float64), n64, 1e-7, 0);
  }
}

TEST_CASE("cosine family: extreme magnitudes in float32 without overflow or NaN") {
  for (double scale : {1e-20, 1e20, 1e30}) {
    CAPTURE(scale);
    Tensor a = tg::Tensor({{1, 2, 3}}) * scale, b = tg::Tensor({{2, 4, 6.5}}) * scale;
    Tensor cos = tg::cosine_similarity(a, b, 1);
    CHECK(std::isfinite(cos.item()));
    // Above the clamp the cosine does not depend on the scale: 29.5 / (sqrt(14) sqrt(62.25)) = 0.999282...
    if (scale > 1) CHECK(cos.item() == doctest::Approx(29.5 / (std::sqrt(14.0) * std::sqrt(62.25))).epsilon(1e-6));
    Tensor n = tg::normalize(a, 2, {1});
    for (float v : n.to_vector<float>()) CHECK(std::isfinite(v));
    Tensor l2 = tg::l2_normalize(a, -1);
    for (float v : l2.to_vector<float>()) CHECK(std::isfinite(v));
  }
  // Tiny vectors: norms (3.7e-20) below eps = 1e-8, so the clamp scales the cosine down to
  // w12 / eps^2 = 14e-40 / 1e-16, about 1e-23 (PyTorch gives the same).
  Tensor tiny = tg::Tensor({{1, 2, 3}}) * 1e-20;
  CHECK(tg::cosine_similarity(tiny, tiny, 1).item() == doctest::Approx(0.0).epsilon(1e-20));
}

TEST_CASE("cosine family: NaN and infinite inputs give NaN, as the composed form and PyTorch") {
  // PyTorch 1.13 float64: cos([nan, 1], [1, 2]) and cos([inf, 1], [1, 2]) are NaN,
  // with NaN gradients for both inputs. The fused kernel's clamp min(1, max(-1, c))
  // turned a NaN c into -1 (so CosineSimilarityLoss reported 2.0 while the weights
  // became NaN).
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-12 : 2e-5;
    // Rows: NaN in x1, inf in x1, NaN in x2, -inf in x2, both inf, and a finite row.
    Tensor x1 = Tensor({{nan, 1, 2}, {inf, 1, 2}, {1, 2, 3}, {1, 2, 3}, {inf, 0, 0}, {1, 2, 3}}, tg::float64).to(dtype);
    Tensor x2 = Tensor({{1, 2, 3}, {1, 2, 3}, {1, nan, 3}, {1, -inf, 3}, {inf, 0, 0}, {3, 2, 1}}, tg::float64).to(dtype);
    for (int axis : {1, 0}) {
      CAPTURE(axis);
      Tensor a = axis == 1 ? x1 : tg::transpose(x1), b = axis == 1 ? x2 : tg::transpose(x2);
      Tensor u = tg::randn({6}, 70, dtype);
      auto fused = [axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); };
      auto composed = [axis](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity(v[0], v[1], axis); };
      Tensor c = fused({a, b});
      std::vector<double> cv = c.to(tg::float64).to_vector<double>();
      for (int r = 0; r < 5; ++r) CHECK(std::isnan(cv[static_cast<std::size_t>(r)]));
      CHECK(cv[5] == doctest::Approx(10.0 / 14.0).epsilon(1e-6));  // (3 + 4 + 3) / 14
      check_close(c, composed({a, b}), tol, tol);
      auto gf = vjp(fused, {a, b}, u), gc = vjp(composed, {a, b}, u);
      check_close(gf[0], gc[0], tol, tol);
      check_close(gf[1], gc[1], tol, tol);
      for (const Tensor& g : gf) {
        Tensor rows = axis == 1 ? g : tg::transpose(g);
        std::vector<double> gv = rows.to(tg::float64).to_vector<double>();
        for (int k = 0; k < 15; ++k) CHECK(std::isnan(gv[static_cast<std::size_t>(k)]));  // rows 0..4
        for (int k = 15; k < 18; ++k) CHECK(std::isfinite(gv[static_cast<std::size_t>(k)]));
      }
      // The matrix forms (two inputs; one input: syrk, its mirror and clamp): the NaN rows
      // give NaN rows and columns, on and off the diagonal.
      check_close(tg::cosine_similarity_matrix(x1, x2), tg::composed::cosine_similarity_matrix(x1, x2), tol, tol);
    }
    // normalize and l2_normalize of a NaN or inf row: NaN row, NaN gradient there.
    Tensor un = tg::randn({6, 3}, 71, dtype);
    for (bool keras : {false, true}) {
      CAPTURE(keras);
      auto fused = [keras](const std::vector<Tensor>& v) { return keras ? tg::l2_normalize(v[0], 1) : tg::normalize(v[0], 2, {1}); };
      auto composed = [keras](const std::vector<Tensor>& v) {
        return keras ? tg::composed::l2_normalize(v[0], {1}) : tg::composed::normalize(v[0], 2, {1});
      };
      Tensor n = fused({x1});
      std::vector<double> nv = n.to(tg::float64).to_vector<double>();
      for (int k = 0; k < 3; ++k) CHECK(std::isnan(nv[static_cast<std::size_t>(k)]));  // the NaN row
      CHECK(std::isnan(nv[3]));  // [inf, 1, 2] / inf = [NaN, 0, 0]
      CHECK(nv[4] == 0.0);
      check_close(n, composed({x1}), tol, tol);
      Tensor g = vjp(fused, {x1}, un)[0];
      check_close(g, vjp(composed, {x1}, un)[0], tol, tol);
      std::vector<double> gv = g.to(tg::float64).to_vector<double>();
      for (int k = 0; k < 6; ++k) CHECK(std::isnan(gv[static_cast<std::size_t>(k)]));
    }
  }
}

TEST_CASE("cosine_similarity_matrix of one input: a NaN row gives a NaN row and column, diagonal included") {
  // The mirror's clamps (scalar, AVX and AVX-512 blocks, the diagonal blocks and
  // the edges) all keep NaN: sizes inside, at and past the 8 and 16 blocks.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (tg::DType dtype : {tg::float64, tg::float32}) {
    const double tol = dtype == tg::float64 ? 1e-12 : 2e-5;
    for (std::int64_t n : {3, 8, 16, 21, 32, 40}) {
      CAPTURE(n);
      Tensor x = tg::randn({n, 5}, 80 + n, tg::float64);
      const std::int64_t bad = n / 2;
      x.data<double>()[bad * 5 + 2] = nan;
      x = x.to(dtype);
      Tensor s = tg::cosine_similarity_matrix(x);
      check_close(s, tg::composed::cosine_similarity_matrix(x, x), tol, tol);
      const Tensor s64 = s.to(tg::float64);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          CAPTURE(i);
          CAPTURE(j);
          CHECK(std::isnan(s64.at({i, j})) == (i == bad || j == bad));
        }
      // The gradient of the NaN row is NaN.
      Tensor g = vjp([](const std::vector<Tensor>& v) { return tg::cosine_similarity_matrix(v[0]); }, {x},
                     tg::randn({n, n}, 81, dtype))[0];
      for (std::int64_t k = 0; k < 5; ++k) CHECK(std::isnan(g.to(tg::float64).at({bad, k})));
    }
  }
}

TEST_CASE("cosine_similarity: float64 squares that overflow give the composed form's 0, not NaN or -1") {
  // PyTorch 1.13 float64: ||(1e200, 1e200)|| = inf, so x / ||x|| = 0 and
  // cos((1e200, 1e200), (1e200, 1e200)) = cos((1e200, 1e200), (1, 2)) = 0, with
  // zero gradients. The fused kernel's w12 / (c1 c2) = inf / inf was NaN, clamped to -1.
  Tensor big({{1e200, 1e200}, {1e200, 1e200}}, tg::float64), other({{1e200, 1e200}, {1, 2}}, tg::float64);
  for (int axis : {1, 0}) {
    CAPTURE(axis);
    Tensor a = axis == 1 ? big : tg::transpose(big), b = axis == 1 ? other : tg::transpose(other);
    auto fused = [axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); };
    auto composed = [axis](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity(v[0], v[1], axis); };
    Tensor c = fused({a, b});
    CHECK(c.to_vector<double>() == std::vector<double>{0.0, 0.0});
    check_close(c, composed({a, b}), 0, 0);
    Tensor u({0.5, -2.0}, tg::float64);
    auto gf = vjp(fused, {a, b}, u), gc = vjp(composed, {a, b}, u);
    check_close(gf[0], gc[0], 0, 1e-300);
    check_close(gf[1], gc[1], 0, 1e-300);
    CHECK(gf[0].to_vector<double>() == std::vector<double>(4, 0.0));
  }
}

TEST_CASE("cosine family: 0-d tensors take axis 0 or -1, as PyTorch") {
  // PyTorch 1.13 float64 (dim in [-1, 0] for a 0-d tensor):
  //   F.cosine_similarity(tensor(-8.44), tensor(3.), dim=0) = -1, gradients 0 and 0;
  //   F.cosine_similarity(tensor(0.), tensor(3.), dim=0) = 0, gradients 1e8 (x2_hat / eps) and 0;
  //   F.cosine_similarity(tensor(-8.44), tensor([1., 2.]), dim=0) = -0.9486832980505137,
  //     gradients ~0 and [-0.12649110640673517, 0.06324555320336755];
  //   F.normalize(tensor(-8.44), dim=0) = -1 (its sign), gradient 0; at 0: 0, gradient 1e12 (1 / eps);
  //   dim 1 or -2: "Dimension out of range (expected to be in range of [-1, 0], but got 1)".
  Tensor a = Tensor::scalar(-8.44, tg::float64), b = Tensor::scalar(3.0, tg::float64);
  Tensor zero = Tensor::scalar(0.0, tg::float64);
  for (int axis : {0, -1}) {
    CAPTURE(axis);
    auto cos = [axis](const std::vector<Tensor>& v) { return tg::cosine_similarity(v[0], v[1], axis); };
    auto cos_composed = [axis](const std::vector<Tensor>& v) { return tg::composed::cosine_similarity(v[0], v[1], axis); };
    Tensor c = cos({a, b});
    CHECK(c.rank() == 0);
    CHECK(c.item() == -1.0);
    CHECK(cos_composed({a, b}).item() == -1.0);
    CHECK(cos({zero, b}).item() == 0.0);
    CHECK(tg::cosine_distance(a, b, axis).item() == 2.0);
    auto g = vjp(cos, {a, b}, Tensor::scalar(1.0, tg::float64));
    CHECK(g[0].rank() == 0);
    CHECK(std::abs(g[0].item()) < 1e-15);  // 3 / 25.32 - 8.44 / 71.2336: 0 up to rounding
    CHECK(std::abs(g[1].item()) < 1e-15);
    auto gz = vjp(cos, {zero, b}, Tensor::scalar(1.0, tg::float64));
    CHECK(gz[0].item() == doctest::Approx(1e8).epsilon(1e-12));
    CHECK(gz[1].item() == 0.0);
    check_gradcheck(cos, {a, b});
    // A 0-d tensor against a vector broadcasts as usual.
    Tensor v({1.0, 2.0}, tg::float64);
    Tensor cv = cos({a, v});
    CHECK(cv.rank() == 0);
    CHECK(cv.item() == doctest::Approx(-0.9486832980505137).epsilon(1e-15));
    auto gv = vjp(cos, {a, v}, Tensor::scalar(1.0, tg::float64));
    CHECK(std::abs(gv[0].item()) < 1e-15);
    check_close(gv[1], Tensor({-0.12649110640673517, 0.06324555320336755}, tg::float64), 1e-14, 0);
    check_gradcheck(cos, {a, v});

    for (double p : {2.0, 1.0, std::numeric_limits<double>::infinity()}) {
      CAPTURE(p);
      Tensor n = tg::normalize(a, p, {axis});
      CHECK(n.rank() == 0);
      CHECK(n.item() == -1.0);
      CHECK(tg::normalize(zero, p, {axis}).item() == 0.0);
      auto norm_of = [p, axis](const std::vector<Tensor>& w) { return tg::normalize(w[0], p, {axis}); };
      CHECK(vjp(norm_of, {a}, Tensor::scalar(1.0, tg::float64))[0].item() == 0.0);
      CHECK(vjp(norm_of, {zero}, Tensor::scalar(1.0, tg::float64))[0].item() == doctest::Approx(1e12).epsilon(1e-12));
      check_gradcheck(norm_of, {a});
    }
    // Keras's l2_normalize: x / sqrt(max(x^2, 1e-12)) = -1; at 0 the gradient is 1 / sqrt(eps) = 1e6.
    CHECK(tg::l2_normalize(a, axis).item() == -1.0);
    CHECK(tg::l2_normalize(zero, axis).item() == 0.0);
    auto l2 = [axis](const std::vector<Tensor>& w) { return tg::l2_normalize(w[0], axis); };
    CHECK(vjp(l2, {zero}, Tensor::scalar(1.0, tg::float64))[0].item() == doctest::Approx(1e6).epsilon(1e-12));
    check_gradcheck(l2, {a});
  }
  for (int axis : {1, -2}) {
    CAPTURE(axis);
    const std::string want = "axis " + std::to_string(axis) + " out of range for shape () (expected -1 to 0";
    CHECK_THROWS_WITH_AS(tg::cosine_similarity(a, b, axis), doctest::Contains(("cosine_similarity: " + want).c_str()),
                         std::out_of_range);
    CHECK_THROWS_WITH_AS(tg::composed::cosine_similarity(a, b, axis),
                         doctest::Contains(("cosine_similarity: " + want).c_str()), std::out_of_range);
    CHECK_THROWS_WITH_AS(tg::normalize(a, 2.0, {axis}), doctest::Contains(("normalize: " + want).c_str()),
                         std::out_of_range);
    CHECK_THROWS_WITH_AS(tg::l2_normalize(a, axis), doctest::Contains(("l2_normalize: " + want).c_str()),
                         std::out_of_range);
  }
  // The default axis of cosine_similarity is 1, as PyTorch's dim=1: out of range for 0-d.
  CHECK_THROWS_AS(tg::cosine_similarity(a, b), std::out_of_range);
}

TEST_CASE("cosine family: D = 1, 1-D inputs, keepdims via norm") {
  Tensor a({{2}, {-3}}, tg::float64), b({{5}, {4}}, tg::float64);
  Tensor c = tg::cosine_similarity(a, b, 1);
  CHECK(c.at({0}) == 1.0);
  CHECK(c.at({1}) == -1.0);
  Tensor v1({1, 0, 0}, tg::float64), v2({0, 1, 0}, tg::float64);
  CHECK(tg::cosine_similarity(v1, v2, 0).item() == 0.0);
  CHECK(tg::cosine_similarity(v1, v2, 0).rank() == 0);
  Tensor x = tg::randn({2, 3, 4}, 61, tg::float64);
  CHECK(tg::norm(x, 2, {1, 2}, true).shape() == tg::Shape{2, 1, 1});
  CHECK(tg::norm(x, 2, {-1}).shape() == tg::Shape{2, 3});
}

TEST_CASE("cosine family: bad input") {
  Tensor a = tg::ones({4, 3}), b = tg::ones({5, 3});
  CHECK_THROWS_WITH_AS(tg::cosine_similarity(a, b, 1),
                       "cosine_similarity: shapes (4, 3) and (5, 3) cannot be broadcast (axis 0: 4 vs 5)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity(a, a, 2), doctest::Contains("axis 2 out of range"), std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity(a, a, 1, -1.0), doctest::Contains("eps must be >= 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity(a, a.to(tg::float64), 1), doctest::Contains("dtypes differ"),
                       std::invalid_argument);
  Tensor idx = tg::zeros({4, 3}, tg::int64);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity(idx, idx, 1), doctest::Contains("expected a float32 or float64"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::normalize(a, 0.0, {1}), doctest::Contains("p must be > 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::normalize(a, -2.0, {1}), doctest::Contains("p must be > 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::normalize(a, 2.0, {1}, -1e-3), doctest::Contains("eps must be >= 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::l2_normalize(a, 3), doctest::Contains("l2_normalize: axis 3 out of range"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(tg::l2_normalize(idx, 1), doctest::Contains("l2_normalize"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::norm(a, std::nan(""), {1}), doctest::Contains("norm: p must be a number"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity_matrix(tg::ones({4, 3}), tg::ones({4, 2})),
                       "cosine_similarity_matrix: expected (N, D) and (M, D), or (B, N, D) and (B, M, D), received "
                       "(4, 3) and (4, 2)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::cosine_similarity_matrix(tg::ones({3})), doctest::Contains("cosine_similarity_matrix"),
                       std::invalid_argument);
}
