// Optimizer updates flush subnormal numbers to zero (include/tapegrad/optimizers/optimizer.hpp,
// "Arithmetic"): Adam's moments of a weight with tiny gradients would otherwise
// decay through the subnormal range, where every operation is slow. The
// caller's floating-point mode must be left as it was.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>

#include <tapegrad/tapegrad.hpp>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace {

bool is_subnormal(float v) { return std::fpclassify(v) == FP_SUBNORMAL; }

}  // namespace

TEST_CASE("optimizers: Adam's moments never hold subnormal float32 values") {
  tg::Tensor w = tg::Variable(tg::Tensor({1.0, 1.0, 1.0}));
  tg::optimizers::Adam adam(1e-3);
  // g^2 (1 - beta_2) = 1e-38 * 1e-3 = 1e-41 for the first element: subnormal
  // unless flushed. The second element's gradient is itself subnormal (1e-40).
  const tg::Tensor g = tg::Tensor({1e-19, 1e-40, 0.5});
  for (int step = 0; step < 3; ++step) adam.apply_gradients({g}, {w});
  const tg::Tensor velocity = adam.slot(w, "velocity");
  const tg::Tensor momentum = adam.slot(w, "momentum");
  for (std::int64_t i = 0; i < 3; ++i) {
    CHECK_FALSE(is_subnormal(static_cast<float>(velocity.at({i}))));
    CHECK_FALSE(is_subnormal(static_cast<float>(momentum.at({i}))));
  }
  CHECK(velocity.at({0}) == 0.0);
  // Normal values are untouched: the third element follows Keras's formula
  // (three equal gradients: m_hat = g, v_hat = g^2, so each step moves lr * g / (|g| + eps)).
  CHECK(w.at({2}) == doctest::Approx(1.0 - 3 * 1e-3 * 0.5 / (0.5 + 1e-7)).epsilon(1e-6));
}

#if defined(__SSE__) || defined(__x86_64__)
// The control bits of MXCSR (rounding, masks, FTZ, DAZ); bits 0-5 are sticky
// exception flags that any arithmetic may set.
unsigned fp_mode() { return _mm_getcsr() & ~0x3Fu; }

TEST_CASE("optimizers: apply_gradients restores the caller's floating-point mode") {
  const unsigned before = fp_mode();
  tg::Tensor w = tg::Variable(tg::Tensor({1.0, 2.0}));
  tg::optimizers::Adam adam(1e-3);
  adam.apply_gradients({tg::Tensor({0.1, 0.2})}, {w});
  CHECK(fp_mode() == before);
  // Also when the call throws (a gradient of the wrong shape).
  CHECK_THROWS(adam.apply_gradients({tg::Tensor({0.1})}, {w}));
  CHECK(fp_mode() == before);
  // Subnormal arithmetic outside the optimizer still gives subnormal results.
  volatile float tiny = FLT_MIN;
  volatile float half = tiny * 0.5f;
  CHECK(is_subnormal(half));
}
#endif
