// BLAS products and their threads.
//
// Three rules, each from a measurement (bench/RESULTS.md, "Moved from comments"):
// - Products below 1e7 multiply-adds (some 100 us of work) run on one OpenBLAS
//   thread: OpenBLAS splits from about 2.6e5 on, and waking its second thread
//   cost more than it saved on the Siamese benchmark's 128 x 128 x 128
//   products. Cutting them in pieces on tapegrad's pool is worse still.
// - Larger products are cut in pieces run on tapegrad's own pool, each on one
//   OpenBLAS thread, rather than handed to OpenBLAS's threads. After a
//   product OpenBLAS's workers keep spinning (sched_yield) for a while, and the
//   ops that follow on tapegrad's pool then share the cores with them. With
//   one pool there is one thread per core.
// - The OpenBLAS thread count is process-wide: it is set to 1 around a call
//   and restored after. A product another thread runs meanwhile may run on
//   fewer threads: slower, never wrong.
#include "blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "tapegrad/autodiff/threads.hpp"

namespace tg::kernels {

namespace {

CBLAS_TRANSPOSE flag(bool t) { return t ? CblasTrans : CblasNoTrans; }

}  // namespace

OneBlasThread::OneBlasThread() : saved_(openblas_get_num_threads()) {
  if (saved_ > 1) openblas_set_num_threads(1);
}
OneBlasThread::~OneBlasThread() {
  if (saved_ > 1) openblas_set_num_threads(saved_);
}

void gemm_this_thread(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                      std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
              a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
void gemm_this_thread(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
                      std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
              a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

namespace {

constexpr std::int64_t kSingleThreadedGemm = 10'000'000;
constexpr std::int64_t kRowsPerPart = 64;  // a piece of a split product has at least this many rows

// The triangle is zeroed here and accumulated into (beta = 1): with beta = 0,
// OpenBLAS 0.3.21 first scales it by zero one column at a time (sscal, which
// reads what it overwrites), which costs several times more than zeroing the
// rows.
template <class T>
void zero_upper(std::int64_t n, T* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < n; ++i) std::memset(c + i * ldc + i, 0, static_cast<std::size_t>(n - i) * sizeof(T));
}
void call_syrk(std::int64_t n, std::int64_t d, const float* x, float* c, std::int64_t ldc) {
  zero_upper(n, c, ldc);
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(n), static_cast<int>(d), 1.0f, x,
              static_cast<int>(d), 1.0f, c, static_cast<int>(ldc));
}
void call_syrk(std::int64_t n, std::int64_t d, const double* x, double* c, std::int64_t ldc) {
  zero_upper(n, c, ldc);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(n), static_cast<int>(d), 1.0, x,
              static_cast<int>(d), 1.0, c, static_cast<int>(ldc));
}

// A large product is cut into one piece of about equal work per thread. The
// pieces depend on the number of threads, and OpenBLAS's result for a row
// depends on the shape of the call it is in (its small-matrix kernels and edge
// tiles sum in other orders), so such products may differ in the last bits
// between thread counts, as with any threaded BLAS. Fixed pieces would avoid
// that but cost a repacking of the shared operand per piece, which the
// similarity-matrix benchmark measured on one thread.
template <class T>
void gemm_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
               const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  check_blas_kernels();
  OneBlasThread one;
  const int parts = get_num_threads();
  if (parts == 1 || m * n * k < kSingleThreadedGemm || (m < parts * kRowsPerPart && n < parts * kRowsPerPart)) {
    gemm_this_thread(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m < parts * kRowsPerPart) {
    // Few rows, many columns: piece p is columns [n p / parts, n (p + 1) / parts) of c
    // (columns of b, or rows when b is transposed).
    detail::parallel_for(parts, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t p = lo; p < hi; ++p) {
        const std::int64_t c0 = n * p / parts, c1 = n * (p + 1) / parts;
        gemm_this_thread(ta, tb, m, c1 - c0, k, alpha, a, lda, tb ? b + c0 * ldb : b + c0, ldb, beta, c + c0, ldc);
      }
    });
    return;
  }
  // Piece p: rows [m p / parts, m (p + 1) / parts) of c (rows of a, or columns when a is transposed).
  detail::parallel_for(parts, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const std::int64_t r0 = m * p / parts, r1 = m * (p + 1) / parts;
      gemm_this_thread(ta, tb, r1 - r0, n, k, alpha, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
    }
  });
}

template <class T>
void syrk_impl(std::int64_t n, std::int64_t d, const T* x, T* c, std::int64_t ldc) {
  check_blas_kernels();
  OneBlasThread one;
  const int parts = get_num_threads();
  if (parts == 1 || n * n * d / 2 < kSingleThreadedGemm || n < parts * kRowsPerPart) {
    call_syrk(n, d, x, c, ldc);
    return;
  }
  // Piece p takes rows [r_p, r_p+1) of the triangle: its diagonal block (syrk)
  // and the block right of it (gemm). Row r starts n - r entries, so equal
  // work puts the boundaries at n (1 - sqrt(1 - p / parts)).
  std::vector<std::int64_t> bound(static_cast<std::size_t>(parts) + 1, n);
  for (int p = 0; p < parts; ++p)
    bound[static_cast<std::size_t>(p)] =
        static_cast<std::int64_t>(static_cast<double>(n) * (1.0 - std::sqrt(1.0 - static_cast<double>(p) / parts)));
  detail::parallel_for(parts, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) {
      const std::int64_t r0 = bound[static_cast<std::size_t>(p)], r1 = bound[static_cast<std::size_t>(p) + 1];
      if (r1 <= r0) continue;
      call_syrk(r1 - r0, d, x + r0 * d, c + r0 * ldc + r0, ldc);
      if (r1 < n)
        gemm_this_thread(false, true, r1 - r0, n - r1, d, T(1), x + r0 * d, d, x + r1 * d, d, T(0), c + r0 * ldc + r1, ldc);
    }
  });
}

// OpenBLAS picks its kernels for the CPU when it loads. 0.3.21 (Debian 12)
// does not know CPUs newer than it (Emerald Rapids, say) and falls back to its
// SSE3 "Prescott" kernels: products then run about 3x slower than the CPU
// allows, with nothing to tell why. The fix has to come from outside the
// process (OpenBLAS reads OPENBLAS_CORETYPE when it loads, before any of our
// code runs), so the first product says so, once, on stderr.
bool is_sse_only_core(const char* core) {
  for (const char* name : {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
                           "Northwood", "Banias"})
    if (std::strcmp(core, name) == 0) return true;
  return false;
}

}  // namespace

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  gemm_impl(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  gemm_impl(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void syrk_upper(std::int64_t n, std::int64_t d, const float* x, float* c, std::int64_t ldc) { syrk_impl(n, d, x, c, ldc); }
void syrk_upper(std::int64_t n, std::int64_t d, const double* x, double* c, std::int64_t ldc) {
  syrk_impl(n, d, x, c, ldc);
}

void check_blas_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OPENBLAS_CORETYPE")) return;
    const char* core = openblas_get_corename();
    if (!core || !is_sse_only_core(core)) return;
    const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                         : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                           : nullptr;
    if (!better) return;
    std::fprintf(stderr,
                 "tapegrad: OpenBLAS did not recognize this CPU and uses its %s kernels; matrix products run about 3x "
                 "slower than they could. Start the program with OPENBLAS_CORETYPE=%s in its environment.\n",
                 core, better);
  });
}

}  // namespace tg::kernels
