// dropout: a constant random mask times x (its gradient is mul's).
#include "tapegrad/ops/dropout.hpp"

#include <stdexcept>
#include <string>

#include "support.hpp"
#include "tapegrad/ops/elementwise.hpp"

namespace tg {

Tensor dropout(const Tensor& x, double rate, Generator& generator) {
  detail::check_float("dropout", x);
  if (!(rate >= 0.0 && rate < 1.0))
    throw std::invalid_argument("dropout: rate must be in [0, 1), received " + detail::format_number(rate));
  if (rate == 0.0) return x;
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  const double scale = 1.0 / (1.0 - rate);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* m = mask.data<T>();
    for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = generator.uniform() < rate ? T(0) : static_cast<T>(scale);
  });
  return x * mask;
}

}  // namespace tg
