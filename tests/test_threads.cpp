// The thread pool of the kernels: every index visited once, exceptions
// carried back, nesting, and results bit-identical for any number of threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

// Restores the number of threads on scope exit.
struct ThreadsGuard {
  int saved = tg::get_num_threads();
  ~ThreadsGuard() { tg::set_num_threads(saved); }
};

bool bitwise_equal(const tg::Tensor& a, const tg::Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * tg::dtype_size(a.dtype())) == 0;
}

// run() on 1 thread, then on 2 and 3: compare(one, other) for each output.
template <class Run, class Compare>
void for_each_thread_count(const Run& run, const Compare& compare) {
  tg::set_num_threads(1);
  const std::vector<tg::Tensor> one = run();
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    tg::set_num_threads(threads);
    const std::vector<tg::Tensor> other = run();
    REQUIRE(one.size() == other.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      CAPTURE(i);
      compare(one[i], other[i]);
    }
  }
}

}  // namespace

TEST_CASE("threads: parallel_for visits every index exactly once, on any number of threads") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    CAPTURE(threads);
    tg::set_num_threads(threads);
    CHECK(tg::get_num_threads() == threads);
    for (std::int64_t n : {0, 1, 7, 100, 1001}) {
      std::vector<std::atomic<int>> visits(static_cast<std::size_t>(n));
      tg::detail::parallel_for(n, 10, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) visits[static_cast<std::size_t>(i)]++;
      });
      for (auto& v : visits) CHECK(v.load() == 1);
    }
  }
}

TEST_CASE("threads: an exception in a body reaches the caller, and the pool keeps working") {
  ThreadsGuard guard;
  tg::set_num_threads(2);
  CHECK_THROWS_WITH_AS(tg::detail::parallel_for(1000, 10,
                                                [](std::int64_t lo, std::int64_t) {
                                                  if (lo > 0) throw std::runtime_error("boom in the second range");
                                                }),
                       "boom in the second range", std::runtime_error);
  std::atomic<std::int64_t> total{0};
  tg::detail::parallel_for(1000, 10, [&](std::int64_t lo, std::int64_t hi) { total += hi - lo; });
  CHECK(total == 1000);
}

TEST_CASE("threads: a nested parallel_for runs on the calling thread") {
  ThreadsGuard guard;
  tg::set_num_threads(2);
  std::atomic<std::int64_t> total{0};
  tg::detail::parallel_for(100, 10, [&](std::int64_t lo, std::int64_t hi) {
    tg::detail::parallel_for(hi - lo, 1, [&](std::int64_t a, std::int64_t b) { total += b - a; });
  });
  CHECK(total == 100);
}

TEST_CASE("threads: set_num_threads rejects n < 1 and n > max_num_threads, keeping the pool") {
  ThreadsGuard guard;
  tg::set_num_threads(2);
  CHECK_THROWS_WITH_AS(tg::set_num_threads(0), "set_num_threads: expected a number of threads from 1 to 256, received 0",
                       std::invalid_argument);
  // 200000 threads would be created up front (a stack each) and woken for every
  // large kernel; TAPEGRAD_NUM_THREADS is capped at the same 256.
  CHECK_THROWS_WITH_AS(tg::set_num_threads(200000),
                       "set_num_threads: expected a number of threads from 1 to 256, received 200000",
                       std::invalid_argument);
  CHECK_THROWS_AS(tg::set_num_threads(tg::max_num_threads + 1), std::invalid_argument);
  CHECK(tg::get_num_threads() == 2);
  tg::set_num_threads(tg::max_num_threads);  // the largest accepted
  CHECK(tg::get_num_threads() == tg::max_num_threads);
}

TEST_CASE("threads: large ops give bit-identical values and gradients on 1, 2 and 3 threads") {
  ThreadsGuard guard;
  // Big enough that every kernel splits its work (rows of 512, 2^19 elements).
  tg::Tensor x1 = tg::randn({1024, 512}, 1), x2 = tg::randn({1024, 512}, 2), m = tg::randn({300, 40}, 3);
  // dense: products below 1e7 multiply-adds, 16384 rows so that its mask pass splits its 40 columns.
  tg::Tensor xd = tg::randn({16384, 8}, 8), k = tg::randn({8, 40}, 4), b = tg::randn({40}, 5);
  auto run = [&] {
    tg::GradientTape tape;
    tape.watch({x1, x2, m});
    tg::Tensor cos = tg::cosine_similarity(x1, x2, 1);
    tg::Tensor n = tg::normalize(x1, 2, {1});
    tg::Tensor s = tg::cosine_similarity_matrix(m);
    tg::Tensor e = tg::tanh(x1 * x2 + 0.5) * x1;
    tg::Tensor loss = tg::sum(cos) + tg::sum(n * x2) + tg::sum(s * s) + tg::sum(e);
    std::vector<tg::Tensor> out = tape.gradient(loss, {x1, x2, m});
    out.push_back(loss);
    out.push_back(tg::sum(x1 * x2, {0}));  // the three parallel layouts of sum: columns, rows, everything
    out.push_back(tg::sum(x1, {1}));
    out.push_back(tg::sum(x2));
    {
      tg::GradientTape dense_tape;
      dense_tape.watch({xd, k, b});
      tg::Tensor y = tg::dense(xd, k, b, true);
      for (tg::Tensor& g : dense_tape.gradient(tg::sum(y * y), {xd, k, b})) out.push_back(g);
    }
    return out;
  };
  for_each_thread_count(run, [](const tg::Tensor& one, const tg::Tensor& other) { CHECK(bitwise_equal(one, other)); });
}

TEST_CASE("threads: products from 1e7 multiply-adds, cut in one piece per thread, agree across thread counts") {
  // Their last bits may differ (OpenBLAS sums a row differently in calls of
  // other shapes), as with any threaded BLAS; the values agree to rounding.
  ThreadsGuard guard;
  tg::Tensor x = tg::randn({1024, 300}, 6, tg::float64), w = tg::randn({300, 200}, 7, tg::float64);
  auto run = [&] {
    tg::GradientTape tape;
    tape.watch({x, w});
    tg::Tensor s = tg::cosine_similarity_matrix(tg::slice(x, 1, 0, 64));  // syrk in row blocks
    tg::Tensor y = tg::matmul(x, w);                                      // gemm in row pieces
    std::vector<tg::Tensor> out = tape.gradient(tg::sum(s * s) + tg::sum(y * y), {x, w});
    out.push_back(s);
    out.push_back(y);
    return out;
  };
  for_each_thread_count(run, [](const tg::Tensor& one, const tg::Tensor& other) {
    REQUIRE(one.shape() == other.shape());
    const double* p = one.data<double>();
    const double* q = other.data<double>();
    double worst = 0;
    for (std::int64_t j = 0; j < one.numel(); ++j) worst = std::max(worst, std::abs(p[j] - q[j]) / (1.0 + std::abs(p[j])));
    CHECK(worst < 1e-12);
  });
}
