// W3: S = cosine_similarity_matrix(X) for X (2048, 256) float32, loss sum(S * S),
// gradient; forward + backward timed together.
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
  return checksum == 12345.0;
}
