#include <iostream>
#include <tapegrad/tapegrad.hpp>

int main() {
  tg::Tensor x({1.0, 2.0, 3.0});
  tg::GradientTape tape;                           // records ops on watched tensors
  tape.watch(x);
  tg::Tensor y = tg::sum(x * x + 3.0 * x);         // y = sum(x^2 + 3x)
  tg::Tensor dy_dx = tape.gradient(y, {x})[0];     // 2x + 3
  std::cout << "dy/dx = " << dy_dx << '\n';
}
