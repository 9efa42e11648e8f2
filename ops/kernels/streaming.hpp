// Non-temporal ("streaming") stores for outputs larger than the caches.
//
// An ordinary store first reads the cache line it writes (read for
// ownership): a pass writing a 16 MB gradient moves 32 MB. A non-temporal
// store writes whole lines straight to memory, so that pass moves 16 MB. For
// outputs that fit in the caches it is a loss (the next op would read them
// back from memory), hence the threshold.
//
// The loops themselves stay plain C++ for the compiler to vectorize: they
// write a chunk into a small buffer in L1, which stream_copy then moves out.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tg::kernels {

// Outputs of at least this many bytes (about the L2 cache of one core) are streamed.
constexpr std::size_t kStreamingBytes = std::size_t{4} << 20;

inline bool worth_streaming(std::size_t bytes) { return bytes >= kStreamingBytes; }

// Copies `bytes` bytes from src to dst, with non-temporal stores for the
// 64-byte aligned part of dst (plain stores for the rest). Call stream_fence()
// before the data is read by another thread.
void stream_copy(void* dst, const void* src, std::size_t bytes);

// Orders the non-temporal stores of this thread before its later stores.
void stream_fence();

// Elements of a chunk: 16 KiB of float32, well inside L1 with the loop's inputs.
template <class T>
constexpr std::int64_t kStreamChunk = static_cast<std::int64_t>(16384 / sizeof(T));

// out[lo, hi) = what compute(k0, k1, buffer) writes into buffer[0, k1 - k0),
// chunk by chunk, streamed to out.
template <class T, class Compute>
void write_streamed(T* out, std::int64_t lo, std::int64_t hi, Compute compute) {
  alignas(64) T buffer[kStreamChunk<T>];
  for (std::int64_t k0 = lo; k0 < hi; k0 += kStreamChunk<T>) {
    const std::int64_t k1 = std::min(hi, k0 + kStreamChunk<T>);
    compute(k0, k1, buffer);
    stream_copy(out + k0, buffer, static_cast<std::size_t>(k1 - k0) * sizeof(T));
  }
  stream_fence();
}

// The same for two outputs computed together: compute(k0, k1, buffer1, buffer2).
template <class T, class Compute>
void write_streamed(T* out1, T* out2, std::int64_t lo, std::int64_t hi, Compute compute) {
  constexpr std::int64_t chunk = kStreamChunk<T> / 2;
  alignas(64) T buffer1[chunk];
  alignas(64) T buffer2[chunk];
  for (std::int64_t k0 = lo; k0 < hi; k0 += chunk) {
    const std::int64_t k1 = std::min(hi, k0 + chunk);
    compute(k0, k1, buffer1, buffer2);
    stream_copy(out1 + k0, buffer1, static_cast<std::size_t>(k1 - k0) * sizeof(T));
    stream_copy(out2 + k0, buffer2, static_cast<std::size_t>(k1 - k0) * sizeof(T));
  }
  stream_fence();
}

}  // namespace tg::kernels
