// W1 in LibTorch, the peer of ../tape_overhead.cpp: 8-element float32 vectors,
// y = y * a + b 10,000 times (20,000 autograd nodes), sum, gradient for a and b
// (torch::autograd::grad, so no .grad accumulation in leaves is timed).
//
//   tape_overhead_torch [repetitions=30] [steps=10000]
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::atoi(argv[1]) : 30;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 10000;
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const torch::Tensor y0 = torch::rand({8}) * 2 - 1;
  const torch::Tensor a = (torch::rand({8}) * 0.1 + 0.9).requires_grad_(true);
  const torch::Tensor b = (torch::rand({8}) * 0.2 - 0.1).requires_grad_(true);

  double checksum = 0;
  auto run = [&] {
    torch::Tensor y = y0;
    for (int i = 0; i < steps; ++i) y = y * a + b;
    torch::Tensor loss = y.sum();
    auto grads = torch::autograd::grad({loss}, {a, b});
    checksum = loss.item<double>() + grads[0][0].item<double>() + grads[1][0].item<double>();
  };
  bench::Timings t = bench::time_repeated(3, repetitions, run);
  if (!std::isfinite(checksum)) {
    std::fprintf(stderr, "tape_overhead_torch: non-finite result %g\n", checksum);
    return 1;
  }
  const double ops = 2.0 * steps;
  bench::print_json("tape_overhead", "libtorch", torch::get_num_threads(), t,
                    "\"ops\":" + std::to_string(static_cast<long>(ops)) +
                        ",\"per_op_us\":" + std::to_string(t.median_ms * 1000.0 / ops) +
                        ",\"checksum\":" + std::to_string(checksum));
  return 0;
}
