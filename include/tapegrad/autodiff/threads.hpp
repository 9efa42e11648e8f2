// Threads for tapegrad's kernels and its BLAS products (each BLAS call runs on
// one OpenBLAS thread; ops/blas.cpp).
//
// Large kernels (elementwise ops, the cosine family, reductions over rows)
// split their work over a small pool of threads; small ones run on the
// calling thread, since waking a thread costs tens of microseconds. Each
// thread writes its own part of the output and partial results are combined
// in a fixed order, so results are bit-identical for any number of threads.
// The exception: matrix products from 1e7 multiply-adds on are cut in one
// piece per thread, and OpenBLAS may round a row differently in a call of
// another shape, so their last bits can depend on the number of threads.
//
// The number of threads is, in order: set_num_threads(n); the environment
// variable TAPEGRAD_NUM_THREADS; OMP_NUM_THREADS; the number of cores; at most
// max_num_threads.
#pragma once

#include <cstdint>
#include <type_traits>

namespace tg {

// The most threads the pool runs. Every thread is created up front and woken
// for each large kernel, so beyond the cores more threads only cost memory
// (a stack each) and wake-ups; 256 covers the largest machines.
inline constexpr int max_num_threads = 256;

// 1 <= n <= max_num_threads (std::invalid_argument otherwise: a number given
// in code is checked like any argument); 1 runs everything on the calling
// thread. The environment variables, set for all programs alike, are capped at
// max_num_threads instead, as is the number of cores.
void set_num_threads(int n);
int get_num_threads();

namespace detail {

// Calls body(lo, hi) on disjoint ranges covering [0, n), on up to
// get_num_threads() threads (the caller among them), and returns when all are
// done. `grain` is the smallest range worth a thread of its own (in units of
// the index: elements, rows); below 2 * grain everything runs on the caller,
// inline, at no cost. Nested calls (from inside a body) run on the calling
// thread. An exception thrown by a body is rethrown here.
using RangeFunction = void (*)(void* body, std::int64_t lo, std::int64_t hi);
void parallel_for_in_pool(std::int64_t n, std::int64_t grain, RangeFunction call, void* body);

template <class Body>
inline void parallel_for(std::int64_t n, std::int64_t grain, Body&& body) {
  if (n <= 0) return;
  if (n < 2 * grain) {
    body(std::int64_t{0}, n);
    return;
  }
  using B = std::remove_reference_t<Body>;
  parallel_for_in_pool(n, grain, [](void* b, std::int64_t lo, std::int64_t hi) { (*static_cast<B*>(b))(lo, hi); },
                       const_cast<void*>(static_cast<const void*>(&body)));
}

// Elements of a simple elementwise loop worth one thread (about 100 us of work).
constexpr std::int64_t kElementwiseGrain = 1 << 18;

}  // namespace detail
}  // namespace tg
