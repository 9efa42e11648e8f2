// W2: cosine_similarity of two (8192, 512) float32 tensors along axis 1, sum,
// gradient for both; forward + backward timed together.
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
  return checksum == 12345.0;  // keeps the work observable
}
