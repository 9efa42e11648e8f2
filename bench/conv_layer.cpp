// W6: a Conv2D layer, 64 filters 3x3 "same", no bias, on x (64, 28, 28, 32)
// float32 channels_last; loss sum(y * y); gradient for x and the kernel;
// forward + backward timed together. No bias, so that the work is exactly
// PyTorch's F.conv2d(x, w) (bench/torch/conv_layer_torch.py).
//
// Also prints
//   impl "tapegrad_cf": tg::conv2d with data_format "channels_first" on
//     (64, 32, 28, 28) (the op, not the layer; same loss and gradients);
//   impl "gemm_products": the yardstick, the time OpenBLAS takes for
//     the three sgemm products alone on preallocated buffers, with
//     R = N*OH*OW = 50176 rows and P = 9*C_in = 288:
//       forward   y     = cols (R, P) x K (P, C_out)
//       backward  dcols = g (R, C_out) x K^T (C_out, P)
//                 dK    = cols^T (P, R) x g (R, C_out)
//     Nothing else: no im2col, col2im, loss or its gradient.
//
// Usage: bench_conv_layer [repetitions] (default 20).
#include <cblas.h>

#include <cstdlib>

#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const int threads = bench::threads_from_env();
  const std::int64_t n = 64, h = 28, w = 28, c_in = 32, c_out = 64;
  double checksum = 0;

  tg::Tensor x = tg::randn({n, h, w, c_in}, 1);
  tg::layers::Conv2DOptions options;
  options.padding = "same";
  options.use_bias = false;
  auto conv = tg::layers::Conv2D::make(c_out, {3, 3}, options);
  checksum += conv(x).at({0, 0, 0, 0});  // builds the layer outside the timing
  tg::Tensor kernel = conv->kernel();
  bench::Timings t = bench::time_repeated(2, reps, [&] {
    tg::GradientTape tape;
    tape.watch({x, kernel});
    tg::Tensor y = conv(x);
    tg::Tensor loss = tg::sum(y * y);
    auto grads = tape.gradient(loss, {x, kernel});
    checksum += grads[0].at({0, 0, 0, 0}) + grads[1].at({0, 0, 0, 0});
  });
  bench::print_json("conv_layer", "tapegrad", threads, t);

  tg::Tensor x_cf = tg::randn({n, c_in, h, w}, 2);
  tg::ConvOptions cf;
  cf.padding = "same";
  cf.data_format = "channels_first";
  bench::Timings t_cf = bench::time_repeated(2, reps, [&] {
    tg::GradientTape tape;
    tape.watch({x_cf, kernel});
    tg::Tensor y = tg::conv2d(x_cf, kernel, cf);
    tg::Tensor loss = tg::sum(y * y);
    auto grads = tape.gradient(loss, {x_cf, kernel});
    checksum += grads[0].at({0, 0, 0, 0}) + grads[1].at({0, 0, 0, 0});
  });
  bench::print_json("conv_layer", "tapegrad_cf", threads, t_cf);

  const int rows = static_cast<int>(n * h * w), patch = static_cast<int>(9 * c_in), co = static_cast<int>(c_out);
  tg::Tensor cols = tg::randn({rows, patch}, 3), k = tg::randn({patch, co}, 4), g = tg::randn({rows, co}, 5);
  tg::Tensor y = tg::Tensor::empty({rows, co}), dcols = tg::Tensor::empty({rows, patch}),
             dk = tg::Tensor::empty({patch, co});
  bench::Timings blas = bench::time_repeated(2, reps, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, co, patch, 1.0f, cols.data<float>(), patch,
                k.data<float>(), co, 0.0f, y.data<float>(), co);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, patch, co, 1.0f, g.data<float>(), co,
                k.data<float>(), co, 0.0f, dcols.data<float>(), patch);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, patch, co, rows, 1.0f, cols.data<float>(), patch,
                g.data<float>(), co, 0.0f, dk.data<float>(), co);
    checksum += y.at({0, 0}) + dcols.at({0, 0}) + dk.at({0, 0});
  });
  bench::print_json("conv_layer", "gemm_products", threads, blas);
  return checksum == 12345.0;
}
