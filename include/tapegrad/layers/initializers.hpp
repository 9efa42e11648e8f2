// Weight initializers, Keras 3's set, by object or by name.
//
//   Dense::make(64, {.activation = "relu", .kernel_initializer = "he_normal"});
//   Dense::make(64, {.kernel_initializer = tg::initializers::orthogonal(2.0)});
//
// An Initializer makes a weight's first values: init(shape, dtype, generator),
// drawing from the layer's generator (so tg::set_seed reproduces a model). A
// name converts to the initializer with Keras's default arguments; any
// callable (shape, dtype, generator) -> Tensor converts too.
//
// Fans, as Keras's compute_fans: a kernel (..., in, out) has fan_in = in * r and
// fan_out = out * r, r the product of the leading (receptive field) dimensions;
// a (n,) shape has fan_in = fan_out = n; a 0-d one 1 and 1.
#pragma once

#include <concepts>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class Initializer {
 public:
  using Function = std::function<Tensor(const Shape&, DType, Generator&)>;

  // No initializer: calling it throws (`bool(init)` is false).
  Initializer() = default;
  // By name (Keras's, snake_case or the class name: "he_normal" or "HeNormal");
  // an unknown name throws std::invalid_argument listing the known ones.
  Initializer(const char* name);          // NOLINT: a name is an initializer, as in Keras
  Initializer(const std::string& name);   // NOLINT
  // Any callable (shape, dtype, generator) -> Tensor; `name` shows in errors.
  template <class F>
    requires(std::is_invocable_r_v<Tensor, const F&, const Shape&, DType, Generator&> &&
             !std::is_convertible_v<const F&, std::string>)
  Initializer(F function, std::string name = "custom")  // NOLINT: so is a function
      : function_(std::move(function)), name_(std::move(name)) {}

  Tensor operator()(const Shape& shape, DType dtype, Generator& generator) const;
  explicit operator bool() const { return static_cast<bool>(function_); }
  // "glorot_uniform", "he_normal", ..., or the name a callable was given.
  const std::string& name() const { return name_; }

 private:
  Function function_;
  std::string name_;
};

namespace initializers {

// Keras's default kernel initializer: uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out)).
Initializer glorot_uniform();
// Truncated normal (below), stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796...
Initializer glorot_normal();
// He et al.: uniform with l = sqrt(6 / fan_in); truncated normal with
// stddev = sqrt(2 / fan_in) / 0.8796...
Initializer he_uniform();
Initializer he_normal();
// LeCun: uniform with l = sqrt(3 / fan_in); truncated normal with stddev = sqrt(1 / fan_in) / 0.8796...
Initializer lecun_uniform();
Initializer lecun_normal();
// Keras's VarianceScaling, of which the six above are cases:
// s = scale / max(1, n), n = fan_in, fan_out or their mean ("fan_in", "fan_out",
// "fan_avg"); "truncated_normal": stddev sqrt(s) / 0.87962566103423978 (the
// stddev of a unit normal truncated at +-2, so that the result has variance s);
// "untruncated_normal": stddev sqrt(s); "uniform": l = sqrt(3 s).
Initializer variance_scaling(double scale = 1.0, const std::string& mode = "fan_in",
                             const std::string& distribution = "truncated_normal");
// An orthogonal matrix times `gain` (Saxe et al.): the (rows, cols) =
// (prod(shape[:-1]), shape[-1]) reading of the shape has orthonormal columns
// (rows >= cols) or rows, from the QR factorization of a normal matrix with the
// signs of R's diagonal taken out (Keras's recipe). Rank >= 2.
Initializer orthogonal(double gain = 1.0);
// gain * I for a 2-D shape (a rectangular one gets ones on the main diagonal).
Initializer identity(double gain = 1.0);
Initializer zeros();
Initializer ones();
Initializer constant(double value);
Initializer random_uniform(double low = -0.05, double high = 0.05);
Initializer random_normal(double mean = 0.0, double stddev = 0.05);
// Normal values more than two standard deviations from the mean are drawn again
// (tf.random.truncated_normal, which Keras's TruncatedNormal uses).
Initializer truncated_normal(double mean = 0.0, double stddev = 0.05);
// By name with Keras's default arguments; the same as Initializer(name).
Initializer get(const std::string& name);
// The snake_case names get() knows.
const std::vector<std::string>& names();

}  // namespace initializers

}  // namespace tg
