// W3: S = cosine_similarity_matrix(X) for X (2048, 256) float32, loss sum(S * S),
// gradient; forward + backward timed together.
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

int main() {
  tg::Tensor x = tg::randn({2048, 256}, 3);
  double checksum = 0;
  bench::run("similarity_matrix", 20, [&] {
    tg::GradientTape tape;
    tape.watch(x);
    tg::Tensor s = tg::cosine_similarity_matrix(x);
    tg::Tensor loss = tg::sum(s * s);
    checksum += tape.gradient(loss, {x})[0].at({0, 0});
  });
  return checksum == 12345.0;
}
