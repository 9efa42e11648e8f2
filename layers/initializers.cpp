#include "tapegrad/layers/initializers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tapegrad/autodiff/dispatch.hpp"
#include "tapegrad/autodiff/format.hpp"

namespace tg {

Initializer::Initializer(const char* name) : Initializer(initializers::get(name)) {}
Initializer::Initializer(const std::string& name) : Initializer(initializers::get(name)) {}

Tensor Initializer::operator()(const Shape& shape, DType dtype, Generator& generator) const {
  if (!function_) throw std::logic_error("Initializer: calling an empty initializer (default-constructed)");
  return function_(shape, dtype, generator);
}

namespace {

// Keras's compute_fans (the header says the rule).
std::pair<double, double> fans(const Shape& shape) {
  if (shape.rank() == 0) return {1, 1};
  if (shape.rank() == 1) return {static_cast<double>(shape[0]), static_cast<double>(shape[0])};
  double receptive = 1;
  for (int d = 0; d + 2 < shape.rank(); ++d) receptive *= static_cast<double>(shape[d]);
  return {static_cast<double>(shape[shape.rank() - 2]) * receptive, static_cast<double>(shape.back()) * receptive};
}

// A tensor of `shape` and `dtype` from values computed in double.
Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return Tensor::from_vector(values, shape).to(dtype);
}

std::vector<double> normal_values(std::int64_t n, double mean, double stddev, Generator& gen, bool truncated) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) {
    double z = gen.normal();
    while (truncated && std::abs(z) > 2.0) z = gen.normal();
    x = mean + stddev * z;
  }
  return v;
}

// Q of the thin QR factorization of the (rows, cols) row-major matrix a,
// rows >= cols, with R's diagonal positive: modified Gram-Schmidt over the
// columns, run twice ("twice is enough": orthogonal to rounding for any
// matrix of full rank, which a normal draw is with probability 1).
std::vector<double> orthonormal_columns(const std::vector<double>& a, std::int64_t rows, std::int64_t cols) {
  std::vector<std::vector<double>> q(static_cast<std::size_t>(cols), std::vector<double>(static_cast<std::size_t>(rows)));
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) q[j][i] = a[i * cols + j];
  for (std::int64_t j = 0; j < cols; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (std::int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (std::int64_t i = 0; i < rows; ++i) dot += q[k][i] * q[j][i];
        for (std::int64_t i = 0; i < rows; ++i) q[j][i] -= dot * q[k][i];
      }
    double norm = 0;
    for (double x : q[j]) norm += x * x;
    norm = std::sqrt(norm);
    for (double& x : q[j]) x /= norm;
  }
  std::vector<double> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) out[i * cols + j] = q[j][i];
  return out;
}

void check_floating(const char* who, DType dtype) {
  if (!is_floating(dtype))
    throw std::invalid_argument(std::string("initializers::") + who + ": weights must be float32 or float64, received " +
                                dtype_name(dtype));
}

}  // namespace

namespace initializers {

Initializer variance_scaling(double scale, const std::string& mode, const std::string& distribution) {
  if (!(scale > 0))
    throw std::invalid_argument("initializers::variance_scaling: scale must be > 0, received " +
                                detail::format_number(scale));
  if (mode != "fan_in" && mode != "fan_out" && mode != "fan_avg")
    throw std::invalid_argument("initializers::variance_scaling: mode must be \"fan_in\", \"fan_out\" or \"fan_avg\", "
                                "received \"" + mode + "\"");
  if (distribution != "truncated_normal" && distribution != "untruncated_normal" && distribution != "uniform")
    throw std::invalid_argument("initializers::variance_scaling: distribution must be \"truncated_normal\", "
                                "\"untruncated_normal\" or \"uniform\", received \"" + distribution + "\"");
  return Initializer(
      [scale, mode, distribution](const Shape& shape, DType dtype, Generator& gen) {
        check_floating("variance_scaling", dtype);
        auto [fan_in, fan_out] = fans(shape);
        const double n = mode == "fan_in" ? fan_in : mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2.0;
        const double s = scale / std::max(1.0, n);
        if (distribution == "uniform") {
          const double limit = std::sqrt(3.0 * s);
          return uniform(shape, -limit, limit, gen, dtype);
        }
        const bool truncated = distribution == "truncated_normal";
        const double stddev = truncated ? std::sqrt(s) / 0.87962566103423978 : std::sqrt(s);
        return from_doubles(normal_values(shape.numel(), 0.0, stddev, gen, truncated), shape, dtype);
      },
      "variance_scaling");
}

namespace {

Initializer named(Initializer init, const std::string& name) {
  return Initializer([init](const Shape& s, DType d, Generator& g) { return init(s, d, g); }, name);
}

}  // namespace

// variance_scaling(1, "fan_avg", "uniform"), written as it always was here so
// that seeded models stay bit-identical (sqrt(3 / ((a + b) / 2)) can differ in
// the last bit).
Initializer glorot_uniform() {
  return Initializer(
      [](const Shape& shape, DType dtype, Generator& gen) {
        auto [fan_in, fan_out] = fans(shape);
        const double limit = std::sqrt(6.0 / std::max(1.0, fan_in + fan_out));
        return uniform(shape, -limit, limit, gen, dtype);
      },
      "glorot_uniform");
}
Initializer glorot_normal() { return named(variance_scaling(1.0, "fan_avg", "truncated_normal"), "glorot_normal"); }
Initializer he_uniform() { return named(variance_scaling(2.0, "fan_in", "uniform"), "he_uniform"); }
Initializer he_normal() { return named(variance_scaling(2.0, "fan_in", "truncated_normal"), "he_normal"); }
Initializer lecun_uniform() { return named(variance_scaling(1.0, "fan_in", "uniform"), "lecun_uniform"); }
Initializer lecun_normal() { return named(variance_scaling(1.0, "fan_in", "truncated_normal"), "lecun_normal"); }

Initializer orthogonal(double gain) {
  return Initializer(
      [gain](const Shape& shape, DType dtype, Generator& gen) {
        check_floating("orthogonal", dtype);
        if (shape.rank() < 2)
          throw std::invalid_argument("initializers::orthogonal: the shape must have rank >= 2, received " +
                                      shape.str());
        std::int64_t rows = 1;
        for (int d = 0; d + 1 < shape.rank(); ++d) rows *= shape[d];
        const std::int64_t cols = shape.back();
        const std::int64_t tall = std::max(rows, cols), narrow = std::min(rows, cols);
        std::vector<double> q = orthonormal_columns(normal_values(tall * narrow, 0.0, 1.0, gen, false), tall, narrow);
        std::vector<double> out(q.size());
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t j = 0; j < cols; ++j)  // Q, or Q^T for a wide matrix (orthonormal rows)
            out[i * cols + j] = gain * (rows >= cols ? q[i * cols + j] : q[j * rows + i]);
        return from_doubles(out, shape, dtype);
      },
      "orthogonal");
}

Initializer identity(double gain) {
  return Initializer(
      [gain](const Shape& shape, DType dtype, Generator&) {
        check_floating("identity", dtype);
        if (shape.rank() != 2)
          throw std::invalid_argument("initializers::identity: the shape must be 2-D, received " + shape.str());
        std::vector<double> v(static_cast<std::size_t>(shape.numel()), 0.0);
        for (std::int64_t i = 0; i < std::min(shape[0], shape[1]); ++i) v[i * shape[1] + i] = gain;
        return from_doubles(v, shape, dtype);
      },
      "identity");
}

Initializer zeros() {
  return Initializer([](const Shape& shape, DType dtype, Generator&) { return tg::zeros(shape, dtype); }, "zeros");
}
Initializer ones() {
  return Initializer([](const Shape& shape, DType dtype, Generator&) { return tg::ones(shape, dtype); }, "ones");
}
Initializer constant(double value) {
  return Initializer([value](const Shape& shape, DType dtype, Generator&) { return tg::full(shape, value, dtype); },
                     "constant");
}
Initializer random_uniform(double low, double high) {
  return Initializer(
      [low, high](const Shape& shape, DType dtype, Generator& gen) { return uniform(shape, low, high, gen, dtype); },
      "random_uniform");
}
Initializer random_normal(double mean, double stddev) {
  return Initializer(
      [mean, stddev](const Shape& shape, DType dtype, Generator& gen) {
        Tensor t = randn(shape, gen, dtype);
        dispatch_float(dtype, [&](auto tag) {
          using T = decltype(tag);
          T* p = t.data<T>();
          for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(mean + stddev * p[i]);
        });
        return t;
      },
      "random_normal");
}
Initializer truncated_normal(double mean, double stddev) {
  if (!(stddev >= 0))
    throw std::invalid_argument("initializers::truncated_normal: stddev must be >= 0, received " +
                                detail::format_number(stddev));
  return Initializer(
      [mean, stddev](const Shape& shape, DType dtype, Generator& gen) {
        check_floating("truncated_normal", dtype);
        return from_doubles(normal_values(shape.numel(), mean, stddev, gen, true), shape, dtype);
      },
      "truncated_normal");
}

namespace {

struct Named {
  const char* snake;
  const char* keras_class;
  Initializer (*make)();
};

const std::vector<Named>& table() {
  static const std::vector<Named> t = {
      {"glorot_uniform", "GlorotUniform", [] { return glorot_uniform(); }},
      {"glorot_normal", "GlorotNormal", [] { return glorot_normal(); }},
      {"he_uniform", "HeUniform", [] { return he_uniform(); }},
      {"he_normal", "HeNormal", [] { return he_normal(); }},
      {"lecun_uniform", "LecunUniform", [] { return lecun_uniform(); }},
      {"lecun_normal", "LecunNormal", [] { return lecun_normal(); }},
      {"orthogonal", "Orthogonal", [] { return orthogonal(); }},
      {"identity", "Identity", [] { return identity(); }},
      {"variance_scaling", "VarianceScaling", [] { return variance_scaling(); }},
      {"zeros", "Zeros", [] { return zeros(); }},
      {"ones", "Ones", [] { return ones(); }},
      {"random_uniform", "RandomUniform", [] { return random_uniform(); }},
      {"random_normal", "RandomNormal", [] { return random_normal(); }},
      {"truncated_normal", "TruncatedNormal", [] { return truncated_normal(); }},
  };
  return t;
}

}  // namespace

Initializer get(const std::string& name) {
  // Keras's aliases (keras/src/initializers/__init__.py).
  if (name == "uniform") return random_uniform();
  if (name == "normal") return random_normal();
  if (name == "zero") return zeros();
  if (name == "one") return ones();
  for (const Named& n : table())
    if (name == n.snake || name == n.keras_class) return n.make();
  std::string known;
  for (const Named& n : table()) known += (known.empty() ? "" : ", ") + std::string(n.snake);
  throw std::invalid_argument("initializers::get: unknown initializer '" + name + "' (known: " + known + ")");
}

const std::vector<std::string>& names() {
  static const std::vector<std::string> n = [] {
    std::vector<std::string> v;
    for (const Named& e : table()) v.emplace_back(e.snake);
    return v;
  }();
  return n;
}

}  // namespace initializers

}  // namespace tg
