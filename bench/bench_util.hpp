// Timing helpers shared by the benchmark programs: wall-clock repetitions and
// the JSON line each program prints (the format run_bench.sh parses).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace bench {

// The thread count the run was given (OPENBLAS_NUM_THREADS, as run_bench.sh sets it).
inline int threads_from_env() {
  const char* s = std::getenv("OPENBLAS_NUM_THREADS");
  return s ? std::atoi(s) : 1;
}

struct Timings {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int repetitions = 0;
};

// Runs `body` `warmup` times untimed, then `repetitions` times timed.
template <class Body>
Timings time_repeated(int warmup, int repetitions, Body body) {
  for (int i = 0; i < warmup; ++i) body();
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(repetitions));
  for (int i = 0; i < repetitions; ++i) {
    auto start = std::chrono::steady_clock::now();
    body();
    auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  Timings t;
  t.repetitions = repetitions;
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  const std::size_t n = ms.size();
  t.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return t;
}

// {"workload":..., "impl":..., "threads":..., "median_ms":..., ..., extra}
inline void print_json(const std::string& workload, const std::string& impl, int threads, const Timings& t,
                       const std::string& extra = "") {
  std::printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"threads\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,"
              "\"max_ms\":%.4f,\"repetitions\":%d%s%s}\n",
              workload.c_str(), impl.c_str(), threads, t.median_ms, t.min_ms, t.max_ms, t.repetitions,
              extra.empty() ? "" : ",", extra.c_str());
  std::fflush(stdout);
}

}  // namespace bench
