// W3: S = cosine_similarity_matrix(X) for X (2048, 256) float32, loss sum(S * S),
// gradient; forward + backward timed together.
//
// Also prints impl "blas_products": the time OpenBLAS takes for the matrix
// products the computation needs (the symmetric X X^T by ssyrk, and one
// (2048 x 2048) (2048 x 256) sgemm for the backward), the yardstick.
#include <cblas.h>

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
  return checksum == 12345.0;
}
