// Weight and activity regularizers, Keras 3's, by object or by name.
//
//   Dense::make(64, {.kernel_regularizer = tg::regularizers::l2(1e-4)});
//   Dense::make(64, {.kernel_regularizer = "l2", .activity_regularizer = "l1"});
//
// A Regularizer maps a tensor to a 0-d penalty. A layer applies a weight's
// regularizer to the weight each time its losses() are read (in fit, once per
// step, inside the step's tape, so the penalty's gradient reaches the weight;
// Keras's _get_regularization_losses), and an activity regularizer to each
// output of each call, divided by the batch size (Keras 3.14+; 0 for an empty
// batch), through add_loss. Only trainable weights are regularized.
#pragma once

#include <concepts>
#include <functional>
#include <string>
#include <utility>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

class Regularizer {
 public:
  using Function = std::function<Tensor(const Tensor&)>;

  // No regularizer (Keras's None); `bool(r)` is false.
  Regularizer() = default;
  // By name: "l1", "l2" (factor 0.01), "l1_l2" (0.01 and 0.01, as Keras's
  // documentation says; Keras 3's own lookup of "l1_l2" fails), or the class
  // names "L1", "L2", "L1L2"; "" is none. An unknown name throws.
  Regularizer(const char* name);         // NOLINT: a name is a regularizer, as in Keras
  Regularizer(const std::string& name);  // NOLINT
  // Any callable Tensor -> 0-d Tensor, made of tg ops (so it is differentiable).
  template <class F>
    requires(std::is_invocable_r_v<Tensor, const F&, const Tensor&> && !std::is_convertible_v<const F&, std::string>)
  Regularizer(F function, std::string name = "custom")  // NOLINT: so is a function
      : function_(std::move(function)), name_(std::move(name)) {}

  // The penalty for x; throws for an empty regularizer or a result that is not one value.
  Tensor operator()(const Tensor& x) const;
  explicit operator bool() const { return static_cast<bool>(function_); }
  // "l2(0.01)", "l1_l2(0.01, 0.02)", or the name a callable was given.
  const std::string& name() const { return name_; }

 private:
  Function function_;
  std::string name_;
};

namespace regularizers {

// factor * sum(|x|).
Regularizer l1(double factor = 0.01);
// factor * sum(x^2) (no 1/2, as Keras).
Regularizer l2(double factor = 0.01);
// l1 * sum(|x|) + l2 * sum(x^2), each term only when its factor is nonzero;
// Keras 3's L1L2 defaults (0 and 0) when called without arguments.
Regularizer l1_l2(double l1 = 0.0, double l2 = 0.0);
// By name, as Regularizer(name).
Regularizer get(const std::string& name);

}  // namespace regularizers

}  // namespace tg
