// W2: cosine_similarity of two (8192, 512) float32 tensors along axis 1, sum,
// gradient for both; forward + backward timed together.
//
// Also prints impl "memory_bound": the time of the least memory traffic the
// work needs (read both inputs once, write both gradients once: 67 MB), as
// one pass computing d1 = x1 + x2, d2 = x1 - x2 on the same threads, with
// non-temporal stores (no read for ownership of the outputs: the fastest way
// this machine moves those 67 MB; plain stores take about 1.5-2x as long).
#include <cstring>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

int main() {
  tg::Tensor x1 = tg::randn({8192, 512}, 1), x2 = tg::randn({8192, 512}, 2);
  double checksum = 0;
  bench::Timings t = bench::time_repeated(2, 30, [&] {
    tg::GradientTape tape;
    tape.watch({x1, x2});
    tg::Tensor loss = tg::sum(tg::cosine_similarity(x1, x2, 1));
    auto grads = tape.gradient(loss, {x1, x2});
    checksum += grads[0].at({0, 0});
  });
  bench::print_json("cosine_similarity", "tapegrad", bench::threads_from_env(), t);

  tg::Tensor d1 = tg::Tensor::empty(x1.shape()), d2 = tg::Tensor::empty(x1.shape());
  const float* a = x1.data<float>();
  const float* b = x2.data<float>();
  float* p = d1.data<float>();
  float* q = d2.data<float>();
  std::memset(p, 0, sizeof(float) * x1.numel());
  std::memset(q, 0, sizeof(float) * x1.numel());
  bench::Timings bound = bench::time_repeated(2, 30, [&] {
#ifdef __AVX512F__
    const std::int64_t units = x1.numel() / 16, grain = (1 << 18) / 16;
#else
    const std::int64_t units = x1.numel(), grain = 1 << 18;
#endif
    tg::detail::parallel_for(units, grain, [&](std::int64_t lo, std::int64_t hi) {
#ifdef __AVX512F__
      for (std::int64_t i = lo * 16; i < hi * 16; i += 16) {  // blocks of 16 (numel is a multiple of 16)
        const __m512 u = _mm512_load_ps(a + i), v = _mm512_load_ps(b + i);
        _mm512_stream_ps(p + i, _mm512_add_ps(u, v));
        _mm512_stream_ps(q + i, _mm512_sub_ps(u, v));
      }
      _mm_sfence();
#else
      for (std::int64_t i = lo; i < hi; ++i) {
        p[i] = a[i] + b[i];
        q[i] = a[i] - b[i];
      }
#endif
    });
    checksum += p[0];
  });
  bench::print_json("cosine_similarity", "memory_bound", bench::threads_from_env(), bound);
  return checksum == 12345.0;  // keeps the work observable
}
