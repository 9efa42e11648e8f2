// The square-matrix passes of the cosine similarity matrix: the mirror of a
// symmetric product's triangle, G + G^T, and the test for G = G^T, all in
// transposed blocks (kernels/mirror.cpp says why blocks, and which).
#pragma once

#include <cstdint>

namespace tg::kernels {

// s (n x n, row-major) holds its upper triangle (syrk's output): clamps it to
// [-1, 1], NaN kept, and mirrors it into the lower one, in one pass.
void clamp_and_mirror_upper(float* s, std::int64_t n);
void clamp_and_mirror_upper(double* s, std::int64_t n);

// h = g + g^T, g and h n x n.
void symmetrize(const float* g, std::int64_t n, float* h);
void symmetrize(const double* g, std::int64_t n, double* h);

// Whether g (n x n) equals its transpose exactly (a NaN counts as a difference).
bool is_symmetric(const float* g, std::int64_t n);
bool is_symmetric(const double* g, std::int64_t n);

}  // namespace tg::kernels
