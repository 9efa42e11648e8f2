// W1, tape overhead: 8-element float32 vectors, y = y * a + b 10,000 times
// (20,000 recorded ops), sum, gradient for a and b. The arithmetic is tiny, so
// the time is what recording and walking the tape cost. torch/ has the same
// workload in LibTorch.
//
//   bench_tape_overhead [repetitions=30] [steps=10000]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  int repetitions = 30, steps = 10000;
  CLI::App app{"W5: the tape's cost per recorded op; prints one JSON line.", "bench_tape_overhead"};
  app.add_option("repetitions", repetitions, "timed runs (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("steps", steps, "ops recorded per run")->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const tg::Tensor y0 = tg::uniform({8}, -1.0, 1.0, 1);
  // a close to 1 and b small keep y bounded over 10,000 steps.
  const tg::Tensor a = tg::uniform({8}, 0.9, 1.0, 2);
  const tg::Tensor b = tg::uniform({8}, -0.1, 0.1, 3);

  double checksum = 0;
  auto run = [&] {
    tg::GradientTape tape;
    tape.watch(a);
    tape.watch(b);
    tg::Tensor y = y0;
    for (int i = 0; i < steps; ++i) y = y * a + b;
    tg::Tensor loss = tg::sum(y);
    auto grads = tape.gradient(loss, {a, b});
    checksum = loss.item() + grads[0].at({0}) + grads[1].at({0});
  };
  bench::Timings t = bench::time_repeated(3, repetitions, run);
  if (!std::isfinite(checksum)) {
    std::fprintf(stderr, "tape_overhead: non-finite result %g\n", checksum);
    return 1;
  }
  const double ops = 2.0 * steps;
  bench::print_json("tape_overhead", "tapegrad", 1, t,
                    "\"ops\":" + std::to_string(static_cast<long>(ops)) +
                        ",\"per_op_us\":" + std::to_string(t.median_ms * 1000.0 / ops) +
                        ",\"checksum\":" + std::to_string(checksum));
  return 0;
}
