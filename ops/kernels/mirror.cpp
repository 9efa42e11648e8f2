// The square-matrix passes of the cosine similarity matrix (kernels/mirror.hpp).
#include "mirror.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <type_traits>

#ifdef __AVX__
#include <immintrin.h>
#endif

#include "clamp.hpp"
#include "streaming.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

namespace {

// Transposes of n x n row-major matrices in 8 x 8 blocks. A transposed read
// walks a column at a stride of n elements: for n a multiple of 1024 floats,
// every element of a column falls into the same L1 cache set, and tiles of any
// size thrash. An 8 x 8 block is read as 8 short rows and written as 8 short
// rows (transposed in registers for float with AVX). The matrices are large
// enough to live on huge pages (autodiff/allocator.cpp): with 4 KiB pages the
// column walk misses the TLB on every block.
//
// dst[r * ld + c] = src[c * ls + r] (+ add[r * ld + c] when add is given), r, c < 8.
template <class T>
inline void transpose_block8(const T* src, std::int64_t ls, T* dst, std::int64_t ld, const T* add) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) dst[r * ld + c] = src[c * ls + r] + (add ? add[r * ld + c] : T(0));
}
#ifdef __AVX__
template <>
inline void transpose_block8<float>(const float* src, std::int64_t ls, float* dst, std::int64_t ld, const float* add) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ls), r2 = _mm256_loadu_ps(src + 2 * ls),
         r3 = _mm256_loadu_ps(src + 3 * ls), r4 = _mm256_loadu_ps(src + 4 * ls), r5 = _mm256_loadu_ps(src + 5 * ls),
         r6 = _mm256_loadu_ps(src + 6 * ls), r7 = _mm256_loadu_ps(src + 7 * ls);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  const __m256 rows[8] = {_mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
                          _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
                          _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
                          _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
  for (int r = 0; r < 8; ++r)
    _mm256_storeu_ps(dst + r * ld, add ? _mm256_add_ps(rows[r], _mm256_loadu_ps(add + r * ld)) : rows[r]);
}
#endif

// The blocks are visited in tiles of kTile x kTile (a tile of the source and
// one of the destination stay in L2), a row of tiles per task:
// f(i0, i1) for the rows [i0, i1) of each tile row of an m x m matrix (m a multiple of 8).
constexpr std::int64_t kTile = 128;
template <class F>
void for_each_tile_row(std::int64_t m, F f) {
  const std::int64_t tile_rows = (m + kTile - 1) / kTile;
  const std::int64_t grain = std::max<std::int64_t>(1, detail::kElementwiseGrain / std::max<std::int64_t>(1, kTile * m));
  detail::parallel_for(tile_rows, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) f(t * kTile, std::min(m, (t + 1) * kTile));
  });
}

// Whether the first m rows and columns of g (stride n, m a multiple of B)
// equal their transpose: each B x B block on and above the diagonal against
// its mirror (equal(a, b): whether the block at a equals the transpose of the
// one at b), a row of tiles per task, stopping at the first difference.
template <int B, class T, class Equal>
bool symmetric_in_blocks(const T* g, std::int64_t m, std::int64_t n, Equal equal) {
  std::atomic<bool> symmetric{true};
  for_each_tile_row(m, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = i0; j0 < m && symmetric.load(std::memory_order_relaxed); j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += B) {
        bool same = true;
        for (std::int64_t j = std::max(i, j0); j < std::min(j0 + kTile, m); j += B)
          same &= equal(g + i * n + j, g + j * n + i);
        if (!same) symmetric.store(false, std::memory_order_relaxed);
      }
  });
  return symmetric.load();
}

// dst block (8 x 8 at dst, stride n) = clamp(src block)^T, and the src block
// clamped in place: the mirror of one block of syrk's upper triangle. Every
// clamp here keeps NaN (a row with a NaN or inf gives NaN similarities, as the
// composed form): the vector min/max return their second operand when either
// is NaN, so min(1, max(-1, v)) with v second keeps it.
template <class T>
inline void clamp_mirror_block8(T* src, T* dst, std::int64_t n) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) src[r * n + c] = clamp_keep_nan(src[r * n + c], T(-1), T(1));
  transpose_block8<T>(src, n, dst, n, nullptr);
}
#ifdef __AVX__
template <>
inline void clamp_mirror_block8<float>(float* src, float* dst, std::int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), minus_one = _mm256_set1_ps(-1.0f);
  for (int r = 0; r < 8; ++r)
    _mm256_storeu_ps(src + r * n, _mm256_min_ps(one, _mm256_max_ps(minus_one, _mm256_loadu_ps(src + r * n))));
  transpose_block8<float>(src, n, dst, n, nullptr);  // the rows just stored are still in L1
}
#endif

#ifdef __AVX512F__
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_ps(),
// which -Wall reports as uninitialized once inlined (a false positive, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// With AVX-512 and n a multiple of 16: 16 x 16 blocks, so that each row a
// block writes below the diagonal is one whole cache line; for a large s
// (worth_streaming) those lines are written with non-temporal stores,
// which skip reading the lines first. The blocks above the diagonal are only
// written back when the clamp changes one of their values (rounding past +-1,
// for (anti)parallel rows: rare). The next op then reads s from memory rather
// than from the cache, as it does after any streamed output.
inline __m512 clamp_unit(__m512 v) {
  return _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(_mm512_set1_ps(-1.0f), v));
}

// r[i] = column i of the 16 x 16 block whose rows were r[0..15].
inline void transpose16(__m512* r) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0xDD);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
  }
}

// dst rows r < 16 = column r of the 16 x 16 block at src (stride n), written
// with non-temporal stores when `stream` (dst rows are then 64-byte aligned).
inline void transpose_block16(const float* src, std::int64_t n, float* dst, bool stream) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * n);
  transpose16(r);
  if (stream)
    for (int i = 0; i < 16; ++i) _mm512_stream_ps(dst + i * n, r[i]);
  else
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * n, r[i]);
}

// Whether the 16 x 16 block at a (stride n) equals the transpose of the one at b.
inline bool equals_transposed_block16(const float* a, const float* b, std::int64_t n) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(b + i * n);
  transpose16(r);
  __mmask16 same = 0xFFFF;
  for (int i = 0; i < 16; ++i) same &= _mm512_cmp_ps_mask(r[i], _mm512_loadu_ps(a + i * n), _CMP_EQ_OQ);
  return same == 0xFFFF;
}

// The block at src clamped (written back only if that changes it), then
// mirrored to dst.
inline void clamp_mirror_block16(float* src, float* dst, std::int64_t n, bool stream) {
  const __m512 one = _mm512_set1_ps(1.0f), minus_one = _mm512_set1_ps(-1.0f);
  __mmask16 outside = 0;
  for (int r = 0; r < 16; ++r) {
    const __m512 v = _mm512_loadu_ps(src + r * n);
    outside |= _mm512_cmp_ps_mask(v, one, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, minus_one, _CMP_LT_OQ);
  }
  if (outside)
    for (int r = 0; r < 16; ++r) _mm512_storeu_ps(src + r * n, clamp_unit(_mm512_loadu_ps(src + r * n)));
  transpose_block16(src, n, dst, stream);
}

// clamp_and_mirror_upper for n a multiple of 16 and s 64-byte aligned.
void clamp_and_mirror_upper16(float* s, std::int64_t n) {
  const bool stream = worth_streaming(static_cast<std::size_t>(n * n) * sizeof(float));
  for_each_tile_row(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = 0; j0 < i1; j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 16)
        for (std::int64_t j = j0; j < std::min(j0 + kTile, i); j += 16)
          clamp_mirror_block16(s + j * n + i, s + i * n + j, n, stream);
    if (stream) stream_fence();
    for (std::int64_t i = i0; i < i1; i += 16)  // the diagonal blocks
      for (std::int64_t r = 0; r < 16; ++r)
        for (std::int64_t c = r; c < 16; ++c) {
          float& v = s[(i + r) * n + i + c];
          v = clamp_keep_nan(v, -1.0f, 1.0f);
          s[(i + c) * n + i + r] = v;
        }
  });
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// s (n x n) holds its upper triangle (syrk's output): clamp it to [-1, 1] and
// mirror it into the lower one, in one pass. Each block below the diagonal is
// written by the task of its rows, from the block above the diagonal that it
// mirrors, which that task alone clamps: no block is touched by two tasks.
template <class T>
void clamp_and_mirror_upper(T* s, std::int64_t n) {
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float>) {
    if (n % 16 == 0 && reinterpret_cast<std::uintptr_t>(s) % 64 == 0) {
      clamp_and_mirror_upper16(s, n);
      return;
    }
  }
#endif
  const std::int64_t n8 = n - n % 8;
  for_each_tile_row(n8, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = 0; j0 < i1; j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 8)
        for (std::int64_t j = j0; j < std::min(j0 + kTile, i); j += 8)
          clamp_mirror_block8<T>(s + j * n + i, s + i * n + j, n);
  });
  const auto clamp = [](T v) { return clamp_keep_nan(v, T(-1), T(1)); };
  // What the blocks strictly below the diagonal leave: the diagonal blocks, the
  // last n % 8 columns of the first n8 rows and the last n % 8 rows.
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t block_start = i < n8 ? i - i % 8 : i;
    for (std::int64_t j = i; j < std::min(n, i < n8 ? block_start + 8 : n); ++j) s[i * n + j] = clamp(s[i * n + j]);
    for (std::int64_t j = n8; j < n && i < n8; ++j) s[i * n + j] = clamp(s[i * n + j]);
    for (std::int64_t j = i < n8 ? block_start : 0; j < i; ++j) s[i * n + j] = s[j * n + i];
  }
}

// h = g + g^T, g and h n x n.
template <class T>
void symmetrize(const T* g, std::int64_t n, T* h) {
  const std::int64_t n8 = n - n % 8;
  for_each_tile_row(n8, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t j0 = 0; j0 < n8; j0 += kTile)
      for (std::int64_t i = i0; i < i1; i += 8)
        for (std::int64_t j = j0; j < std::min(j0 + kTile, n8); j += 8)
          transpose_block8<T>(g + j * n + i, n, h + i * n + j, n, g + i * n + j);
  });
  // The last n % 8 columns of the first n8 rows, then the last n % 8 rows.
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i < n8 ? n8 : 0; j < n; ++j) h[i * n + j] = g[i * n + j] + g[j * n + i];
}

// Whether the 8 x 8 block at a (stride n) equals the transpose of the one at b.
template <class T>
inline bool equals_transposed_block8(const T* a, const T* b, std::int64_t n) {
  alignas(64) T t[64];
  transpose_block8<T>(b, n, t, 8, nullptr);
  bool same = true;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) same &= t[r * 8 + c] == a[r * n + c];
  return same;
}
#ifdef __AVX__
template <>
inline bool equals_transposed_block8<float>(const float* a, const float* b, std::int64_t n) {
  alignas(32) float t[64];
  transpose_block8<float>(b, n, t, 8, nullptr);
  __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (int r = 0; r < 8; ++r)
    all = _mm256_and_ps(all, _mm256_cmp_ps(_mm256_load_ps(t + 8 * r), _mm256_loadu_ps(a + r * n), _CMP_EQ_OQ));
  return _mm256_movemask_ps(all) == 0xFF;
}
#endif

// Whether g (n x n) equals its transpose exactly: blocks above the diagonal
// against the blocks below, stopping at the first difference (a NaN counts as
// one). The gradient reaching a similarity matrix is usually symmetric (any
// elementwise function of S, summed); checking costs one read of g, where
// forming g + g^T costs a read and a write.
template <class T>
bool is_symmetric(const T* g, std::int64_t n) {
#ifdef __AVX512F__
  if constexpr (std::is_same_v<T, float>)
    if (n % 16 == 0)
      return symmetric_in_blocks<16>(g, n, n, [n](const float* a, const float* b) {
        return equals_transposed_block16(a, b, n);
      });
#endif
  const std::int64_t n8 = n - n % 8;
  if (!symmetric_in_blocks<8>(g, n8, n, [n](const T* a, const T* b) { return equals_transposed_block8<T>(a, b, n); }))
    return false;
  // The last n % 8 columns (and so, by symmetry, rows).
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = std::max(i + 1, n8); j < n; ++j)
      if (!(g[i * n + j] == g[j * n + i])) return false;
  return true;
}

}  // namespace

// The templates above, named with their argument (a call without it would pick these overloads).
void clamp_and_mirror_upper(float* s, std::int64_t n) { clamp_and_mirror_upper<float>(s, n); }
void clamp_and_mirror_upper(double* s, std::int64_t n) { clamp_and_mirror_upper<double>(s, n); }
void symmetrize(const float* g, std::int64_t n, float* h) { symmetrize<float>(g, n, h); }
void symmetrize(const double* g, std::int64_t n, double* h) { symmetrize<double>(g, n, h); }
bool is_symmetric(const float* g, std::int64_t n) { return is_symmetric<float>(g, n); }
bool is_symmetric(const double* g, std::int64_t n) { return is_symmetric<double>(g, n); }

}  // namespace tg::kernels
