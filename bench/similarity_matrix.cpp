// W3: S = cosine_similarity_matrix(X) for X (2048, 256) float32, loss sum(S * S),
// gradient; forward + backward timed together.
//
// Also prints impl "blas_products": the time OpenBLAS takes for the matrix
// products the computation needs (the symmetric X X^T by ssyrk, and one
// (2048 x 2048) (2048 x 256) sgemm for the backward), the yardstick;
// and impl "eager_floor": those products plus the least memory traffic that
// `tg::sum(s * s)` itself asks of a library that computes each op when it is
// called (as PyTorch does): s * s written once (read 16 MB, write 16 MB with
// non-temporal stores) and read once by the sum, as plain vectorized passes on
// the same threads. Nothing of the backward beyond the product is counted, so
// an eager implementation on OpenBLAS's products cannot go below it.
#include <cblas.h>

#include <cstring>
#include <vector>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

int main() {
  tg::Tensor x = tg::randn({2048, 256}, 3);
  double checksum = 0;
  bench::Timings t = bench::time_repeated(2, 20, [&] {
    tg::GradientTape tape;
    tape.watch(x);
    tg::Tensor s = tg::cosine_similarity_matrix(x);
    tg::Tensor loss = tg::sum(s * s);
    checksum += tape.gradient(loss, {x})[0].at({0, 0});
  });
  bench::print_json("similarity_matrix", "tapegrad", bench::threads_from_env(), t);

  const int n = 2048, d = 256;
  tg::Tensor s = tg::randn({n, n}, 4), g = tg::randn({n, n}, 5), dx = tg::Tensor::empty({n, d});
  bench::Timings blas = bench::time_repeated(2, 20, [&] {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, x.data<float>(), d, 0.0f, s.data<float>(), n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, g.data<float>(), n, x.data<float>(), d, 0.0f,
                dx.data<float>(), d);
    checksum += dx.at({0, 0});
  });
  bench::print_json("similarity_matrix", "blas_products", bench::threads_from_env(), blas);

  tg::Tensor squares = tg::Tensor::empty({n, n});
  float* q = squares.data<float>();
  std::memset(q, 0, sizeof(float) * n * n);
  bench::Timings floor = bench::time_repeated(2, 20, [&] {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, x.data<float>(), d, 0.0f, s.data<float>(), n);
    const float* p = s.data<float>();
    const std::int64_t count = std::int64_t{n} * n, grain = 1 << 18;
    tg::detail::parallel_for(count / 16, grain / 16, [&](std::int64_t lo, std::int64_t hi) {  // q = s * s
      for (std::int64_t i = lo * 16; i < hi * 16; i += 16) {
#ifdef __AVX512F__
        const __m512 v = _mm512_load_ps(p + i);
        _mm512_stream_ps(q + i, _mm512_mul_ps(v, v));
#else
        for (int k = 0; k < 16; ++k) q[i + k] = p[i + k] * p[i + k];
#endif
      }
#ifdef __AVX512F__
      _mm_sfence();
#endif
    });
    std::vector<double> partial(static_cast<std::size_t>(count / grain));
    tg::detail::parallel_for(count / grain, 1, [&](std::int64_t lo, std::int64_t hi) {  // sum(q)
      for (std::int64_t b = lo; b < hi; ++b) {
        float lanes[16] = {};  // 16 running sums: one vector register, no ordering constraint
        for (std::int64_t i = b * grain; i < (b + 1) * grain; i += 16)
          for (int k = 0; k < 16; ++k) lanes[k] += q[i + k];
        double sum = 0;
        for (float v : lanes) sum += v;
        partial[static_cast<std::size_t>(b)] = sum;
      }
    });
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, g.data<float>(), n, x.data<float>(), d, 0.0f,
                dx.data<float>(), d);
    checksum += dx.at({0, 0}) + partial[0];
  });
  bench::print_json("similarity_matrix", "eager_floor", bench::threads_from_env(), floor);
  return checksum == 12345.0;
}
