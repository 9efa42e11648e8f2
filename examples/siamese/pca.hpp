// A 2-D principal component projection of a few hundred small vectors (the
// 32-dimensional embeddings of the test digits): the covariance matrix
// (d x d, d = 32), its two leading eigenvectors by power iteration with
// deflation, and the centred points projected on them. Plain C++, double
// precision; at this size it takes well under a millisecond.
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace siamese {

struct Projection {
  std::vector<double> x, y;         // the points' coordinates on the two components
  double variance[2] = {0, 0};      // the eigenvalues (variance along each component)
  double total_variance = 0;        // the trace of the covariance
};

// rows: n points of dimension d, row-major (n x d).
inline Projection pca_2d(const std::vector<float>& rows, std::size_t n, std::size_t d) {
  if (n < 2 || rows.size() != n * d) throw std::invalid_argument("pca_2d: need at least two points of dimension d");
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[j] += rows[i * d + j];
  for (double& m : mean) m /= static_cast<double>(n);
  // C = (X - mean)^T (X - mean) / (n - 1)
  std::vector<double> cov(d * d, 0.0);
  std::vector<double> centred(d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) centred[j] = rows[i * d + j] - mean[j];
    for (std::size_t j = 0; j < d; ++j)
      for (std::size_t k = 0; k < d; ++k) cov[j * d + k] += centred[j] * centred[k];
  }
  for (double& c : cov) c /= static_cast<double>(n - 1);

  Projection p;
  for (std::size_t j = 0; j < d; ++j) p.total_variance += cov[j * d + j];
  std::vector<std::vector<double>> components;
  for (int c = 0; c < 2; ++c) {
    // Power iteration from a fixed start, v <- C v / |C v|, until v stops moving.
    // C is symmetric positive semi-definite, so it converges to the leading
    // eigenvector (at the rate lambda2 / lambda1); the previous component has
    // been deflated away (C <- C - lambda v v^T).
    std::vector<double> v(d), w(d);
    for (std::size_t j = 0; j < d; ++j) v[j] = 1.0 / std::sqrt(static_cast<double>(d)) * (1.0 + 0.01 * static_cast<double>(j));
    double lambda = 0;
    for (int iteration = 0; iteration < 10000; ++iteration) {
      for (std::size_t j = 0; j < d; ++j) {
        double s = 0;
        for (std::size_t k = 0; k < d; ++k) s += cov[j * d + k] * v[k];
        w[j] = s;
      }
      double norm = 0;
      for (double x : w) norm += x * x;
      norm = std::sqrt(norm);
      if (norm == 0) break;  // no variance left
      double change = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double next = w[j] / norm;
        change += (next - v[j]) * (next - v[j]);
        v[j] = next;
      }
      lambda = norm;
      if (change < 1e-20) break;
    }
    p.variance[c] = lambda;
    for (std::size_t j = 0; j < d; ++j)
      for (std::size_t k = 0; k < d; ++k) cov[j * d + k] -= lambda * v[j] * v[k];
    components.push_back(v);
  }
  p.x.resize(n);
  p.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    double a = 0, b = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double c = rows[i * d + j] - mean[j];
      a += c * components[0][j];
      b += c * components[1][j];
    }
    p.x[i] = a;
    p.y[i] = b;
  }
  return p;
}

}  // namespace siamese
