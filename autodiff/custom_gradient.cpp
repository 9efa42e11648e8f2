#include "tapegrad/autodiff/custom_gradient.hpp"

#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tg {

namespace {

// Tape records keep an op's name as a const char* (ops name themselves with
// literals); a user's names are kept here for the life of the program.
const char* interned(const std::string& name) {
  static std::mutex mutex;
  static std::set<std::string> names;
  std::lock_guard<std::mutex> lock(mutex);
  return names.insert(name).first->c_str();
}

}  // namespace

Tensor custom_gradient(const std::string& name, const std::vector<Tensor>& inputs,
                       const std::function<CustomGradient(const std::vector<Tensor>&)>& f) {
  if (name.empty()) throw std::invalid_argument("custom_gradient: the op needs a name");
  const std::string who = "custom_gradient '" + name + "'";
  if (!f) throw std::invalid_argument(who + ": the function is empty");
  CustomGradient result;
  {
    NoGradGuard forward_only;  // the op is recorded once, as a whole
    result = f(inputs);
  }
  if (!result.value.defined()) throw std::invalid_argument(who + ": the function returned an undefined value");
  if (!result.gradient) throw std::invalid_argument(who + ": the function returned no gradient function");
  // The recorded output must be a tensor of its own, not one of the inputs.
  Tensor out = result.value;
  for (const Tensor& in : inputs)
    if (in.defined() && in.id() == out.id()) out = out.clone();
  if (!out.is_floating()) return out;  // nothing to differentiate
  auto backward = [who, inputs, gradient = std::move(result.gradient)](const Tensor& g, BackwardContext& ctx) {
    const std::vector<Tensor> grads = gradient(g);
    if (grads.size() != inputs.size())
      throw std::invalid_argument(who + ": the gradient function returned " + std::to_string(grads.size()) +
                                  " gradients for " + std::to_string(inputs.size()) + " inputs");
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined() || !ctx.needs(i)) continue;
      if (grads[i].shape() != inputs[i].shape() || grads[i].dtype() != inputs[i].dtype())
        throw std::invalid_argument(who + ": gradient " + std::to_string(i) + " is " + detail::describe(grads[i]) +
                                    ", expected the input's " + detail::describe(inputs[i]));
      ctx.add(i, grads[i]);
    }
  };
  record_op(interned(name), inputs, out, std::move(backward));
  return out;
}

}  // namespace tg
