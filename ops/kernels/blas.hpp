// The BLAS products of the ops (OpenBLAS), and who runs them on which threads.
// Not installed. kernels/blas.cpp says why the threads are arranged as they are.
#pragma once

#include <cstdint>

namespace tg::kernels {

// c (m x n, row stride ldc) = alpha op(a) op(b) + beta c, all row-major; lda
// and ldb are the stored row strides of a and b. Small products run on one
// OpenBLAS thread; large ones are cut by rows of c in one piece per tapegrad
// thread, each piece on one OpenBLAS thread (their last bits may then depend
// on the number of threads, as with any threaded BLAS).
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

// The upper triangle, diagonal included, of c (n x n, row stride ldc) = x x^T
// for x (n x d, row-major); the strict lower triangle of c is left as it was.
// Split over tapegrad's threads as gemm is, in row blocks of equal work.
void syrk_upper(std::int64_t n, std::int64_t d, const float* x, float* c, std::int64_t ldc);
void syrk_upper(std::int64_t n, std::int64_t d, const double* x, double* c, std::int64_t ldc);

// The same product as one OpenBLAS call on the calling thread, for kernels
// that split their work over tapegrad's threads themselves (inside a
// OneBlasThread scope, so that each call stays on its thread).
void gemm_this_thread(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                      std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void gemm_this_thread(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
                      std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

// OpenBLAS on one thread while alive (its own threads would compete with tapegrad's).
class OneBlasThread {
 public:
  OneBlasThread();
  ~OneBlasThread();
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  int saved_;
};

// Warns once on stderr when OpenBLAS runs SSE-only kernels on a CPU with AVX2 or
// AVX-512 (kernels/blas.cpp says why); gemm and syrk_upper call it.
void check_blas_kernels();

// gemm for packed operands, each row stride given by its shape:
// c (m x n) = op(a) op(b) + beta c.
template <class T>
void gemm_packed(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c,
                 T beta = T(0)) {
  gemm(ta, tb, m, n, k, T(1), a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

}  // namespace tg::kernels
