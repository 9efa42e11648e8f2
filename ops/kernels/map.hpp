// The elementwise loop of the ops: out[i] = f(i) on the threads, with
// streaming stores for outputs larger than the caches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "streaming.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

// out[i] = f(i) for i in [0, n), split over the threads; outputs larger than
// the caches are streamed (kernels/streaming.hpp). f must be a pure function of i.
// Each range works on its own copy of f: values f captured by copy then live
// in a local whose address never escapes, so the compiler knows a store to
// out[i] cannot change them and keeps them in registers.
// The loop is compiled once per f (not inlined into both paths): the ops
// instantiate it for every dtype and broadcast case, and two copies doubled
// the compile time of ops/elementwise.cpp.
template <class U, class F>
void map_index(std::int64_t n, U* out, const F& f) {
  [[maybe_unused]] const bool stream = worth_streaming(static_cast<std::size_t>(n) * sizeof(U));
  detail::parallel_for(n, detail::kElementwiseGrain, [&](std::int64_t lo, std::int64_t hi) {
    const F g = f;
    // dst[0, k1 - k0) = f(k0 .. k1)
    auto fill = [&g](std::int64_t k0, std::int64_t k1, U* __restrict dst) __attribute__((noinline)) {
      for (std::int64_t i = k0; i < k1; ++i) dst[i - k0] = g(i);
    };
    if constexpr (std::is_floating_point_v<U>) {  // int64 results are never that large in practice
      if (stream) {
        write_streamed(out, lo, hi, fill);
        return;
      }
    }
    fill(lo, hi, out + lo);
  });
}

}  // namespace tg::kernels
