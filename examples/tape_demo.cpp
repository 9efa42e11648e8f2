// tape_demo: a GradientTape records a small computation, then runs it backwards.
//
// The function is the cosine of the angle between two vectors, written with
// core ops:
//
//   cos(a, b) = sum(a * b) / (sqrt(sum(a * a)) * sqrt(sum(b * b)))
//
// The tape is never told the derivative; it finds it from the recorded ops. By
// hand, d cos / d a = b / (|a| |b|) - cos * a / |a|^2, which the program
// compares with the tape's answer, and tg::gradcheck compares both gradients
// with finite differences.
//
// Run it from any directory: it writes tape_demo.dot (Graphviz) there.
#include <fstream>
#include <iostream>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

// One op per line, so the tape lists them in this order; the names show up in
// tape.print() and in the DOT graph.
tg::Tensor cosine(const tg::Tensor& a, const tg::Tensor& b) {
  tg::Tensor dot = tg::sum(a * b);
  tg::Tensor norm_a = tg::sqrt(tg::sum(a * a));
  tg::Tensor norm_b = tg::sqrt(tg::sum(b * b));
  tg::Tensor norms = norm_a * norm_b;
  dot.set_name("dot");
  norm_a.set_name("norm_a");
  norm_b.set_name("norm_b");
  norms.set_name("norms");
  return dot / norms;
}

}  // namespace

int main() {
  tg::Tensor a({1.0, 2.0, 2.0}, tg::float64);  // |a| = 3
  tg::Tensor b({0.0, 3.0, 4.0}, tg::float64);  // |b| = 5, a . b = 14
  a.set_name("a");
  b.set_name("b");

  tg::Tensor cos_ab;
  std::vector<tg::Tensor> grads;
  {
    tg::GradientTape tape;  // records while alive
    tape.watch({a, b});
    cos_ab = cosine(a, b);
    cos_ab.set_name("cos");

    std::cout << "cos(a, b) with a = " << a << "\n              and b = " << b << "\n\n";
    tape.print(std::cout);

    // Before gradient(): a tape that is not persistent lets go of its records then.
    std::ofstream("tape_demo.dot") << tape.to_dot();

    grads = tape.gradient(cos_ab, {a, b});  // walks the tape backwards, adding gradients
  }

  std::cout << "\ncos(a, b)   = " << cos_ab.item() << "  (14 / 15)\n";
  std::cout << "d cos / d a = " << grads[0] << '\n';
  std::cout << "d cos / d b = " << grads[1] << '\n';

  // The same gradient by hand: b / (|a| |b|) - cos * a / |a|^2.
  tg::Tensor by_hand = b / 15.0 - cos_ab * a / 9.0;
  double difference = tg::max(tg::abs(grads[0] - by_hand)).item();
  std::cout << "\nby hand, d cos / d a = " << by_hand << "  (max difference " << difference << ")\n";

  auto f = [](const std::vector<tg::Tensor>& inputs) { return cosine(inputs[0], inputs[1]); };
  tg::GradcheckResult check = tg::gradcheck(f, {a, b});
  std::cout << "gradcheck against finite differences: " << check;

  std::cout << "\nwrote tape_demo.dot (draw it with Graphviz: dot -Tsvg tape_demo.dot -o tape_demo.svg)\n";
  return check && difference < 1e-12 ? 0 : 1;
}
