// W2: cosine_similarity of two (8192, 512) float32 tensors along axis 1, sum,
// gradient for both; forward + backward timed together.
//
// Also prints impl "memory_bound": the time of the least memory traffic the
// work needs (read both inputs once, write both gradients once: 67 MB), as
// one pass computing d1 = x1 + x2, d2 = x1 - x2 on the same threads.
#include <cstring>

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
    tg::detail::parallel_for(x1.numel(), 1 << 18, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        p[i] = a[i] + b[i];
        q[i] = a[i] - b[i];
      }
    });
    checksum += p[0];
  });
  bench::print_json("cosine_similarity", "memory_bound", bench::threads_from_env(), bound);
  return checksum == 12345.0;  // keeps the work observable
}
