// GradientTape misuse: no-grad guards ended out of order or on another
// thread, in-place writes between the forward pass and gradient(), names
// that DOT must escape (docs/reliability.md, "Tape misuse").
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::contains;
using tgtest::values_of;


TEST_CASE("tape: NoGradGuards destroyed out of order pause exactly what the live ones pause") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape early(/*persistent=*/true);  // paused by both guards
  early.watch(x);
  auto first = std::make_unique<tg::NoGradGuard>();
  tg::GradientTape late(/*persistent=*/true);  // created under the first guard: paused by the second only
  late.watch(x);
  auto second = std::make_unique<tg::NoGradGuard>();
  CHECK_FALSE(tg::is_recording());
  first.reset();  // the second guard still pauses both tapes
  Tensor a = x * x;
  CHECK(early.size() == 0);
  CHECK(late.size() == 0);
  second.reset();  // none left: both record again
  CHECK(tg::is_recording());
  Tensor y = tg::sum(x * x);
  CHECK(early.size() == 2);
  CHECK(late.size() == 2);
  CHECK(values_of(early.gradient(y, {x})[0]) == std::vector<double>{2, 4});
  CHECK(values_of(late.gradient(y, {x})[0]) == std::vector<double>{2, 4});

  // In creation order the other way round: ending the second guard resumes the
  // tape made under the first; ending the first resumes the other one.
  tg::GradientTape t1;
  t1.watch(x);
  auto g1 = std::make_unique<tg::NoGradGuard>();
  tg::GradientTape t2;
  t2.watch(x);
  auto g2 = std::make_unique<tg::NoGradGuard>();
  g2.reset();
  Tensor b = x * x;
  CHECK(t1.size() == 0);
  CHECK(t2.size() == 1);
  g1.reset();
  Tensor c = x * x;
  CHECK(t1.size() == 1);
  CHECK(t2.size() == 2);
}

TEST_CASE("tape: a NoGradGuard destroyed on another thread ends the pause of the thread that made it") {
  Tensor x({1.0, 2.0}, tg::float64);
  tg::GradientTape tape;
  tape.watch(x);
  auto* guard = new tg::NoGradGuard;
  CHECK_FALSE(tg::is_recording());
  // The other thread has a tape under a guard of its own: deleting our guard
  // there must not end its pause.
  bool other_paused_before = false, other_paused_after = false;
  std::thread([&] {
    Tensor z({3.0}, tg::float64);
    tg::GradientTape other;
    other.watch(z);
    tg::NoGradGuard own;
    Tensor u = z * z;
    other_paused_before = other.size() == 0;
    delete guard;
    Tensor v = z * z;
    other_paused_after = other.size() == 0;
  }).join();
  CHECK(other_paused_before);
  CHECK(other_paused_after);
  CHECK(tg::is_recording());
  Tensor y = tg::sum(x * x);
  CHECK(tape.size() == 2);
  CHECK(values_of(tape.gradient(y, {x})[0]) == std::vector<double>{2, 4});

  // A guard that outlives the thread that made it can still be destroyed.
  tg::NoGradGuard* orphan = nullptr;
  std::thread([&] { orphan = new tg::NoGradGuard; }).join();
  delete orphan;
  CHECK(tg::is_recording());
}

TEST_CASE("tape: an assign between the forward pass and gradient() is an error naming the op and the tensor") {
  Tensor w = tg::Variable(Tensor({1.0, 2.0}, tg::float64), "w");
  tg::GradientTape tape;
  Tensor y = tg::sum(w * w);
  w.assign(Tensor({10.0, 20.0}, tg::float64));  // the backward of mul would read 10, 20
  CHECK_THROWS_WITH_AS(tape.gradient(y, {w}),
                       doctest::Contains("the backward of 'mul' (op #0) would read new values: its input 0 "
                                         "('w', (2,) float64) was modified in place after the op was recorded "
                                         "(version 0 then, 1 now"),
                       std::logic_error);
}

TEST_CASE("tape: in-place writes to any tensor a backward reads are caught: constants, views, outputs, set()") {
  Tensor w = tg::Variable(Tensor({1.0, 2.0}, tg::float64), "w");
  SUBCASE("an unwatched constant, by set()") {
    Tensor c({3.0, 4.0}, tg::float64);
    tg::GradientTape tape;
    Tensor y = tg::sum(w * c);
    c.set({0}, 5.0);
    CHECK_THROWS_WITH_AS(tape.gradient(y, {w}), doctest::Contains("its input 1 ((2,) float64) was modified in place"),
                         std::logic_error);
  }
  SUBCASE("a view of the variable, when the variable is assigned") {
    tg::GradientTape tape;
    Tensor r = tg::reshape(w, {2, 1});
    Tensor y = tg::sum(r * r);
    w.assign(Tensor({10.0, 20.0}, tg::float64));
    CHECK_THROWS_WITH_AS(tape.gradient(y, {w}), doctest::Contains("the backward of 'mul' (op #1)"), std::logic_error);
  }
  SUBCASE("the variable, when a view of it is assigned") {
    tg::GradientTape tape;
    Tensor y = tg::sum(w * w);
    tg::reshape(w, {2, 1}).assign(Tensor({{10.0}, {20.0}}, tg::float64));
    CHECK_THROWS_WITH_AS(tape.gradient(y, {w}), doctest::Contains("its input 0 ('w'"), std::logic_error);
  }
  SUBCASE("a stop_gradient of a modified tensor") {
    Tensor c({3.0, 4.0}, tg::float64);
    tg::GradientTape tape;
    Tensor y = tg::sum(w * tg::stop_gradient(c));
    c.assign(Tensor({0.0, 0.0}, tg::float64));
    CHECK_THROWS_AS(tape.gradient(y, {w}), std::logic_error);
  }
  SUBCASE("an op's output, which its backward reads (exp)") {
    tg::GradientTape tape;
    Tensor e = tg::exp(w);
    e.assign(Tensor({0.0, 0.0}, tg::float64));
    CHECK_THROWS_WITH_AS(tape.gradient(e, {w}, tg::ones({2}, tg::float64)),
                         doctest::Contains("the backward of 'exp' (op #0) would read new values: its output ((2,) "
                                           "float64) was modified in place"),
                         std::logic_error);
  }
}

TEST_CASE("tape: in-place writes off the path to the target, or after gradient(), are fine") {
  Tensor w = tg::Variable(Tensor({1.0, 2.0}, tg::float64), "w");
  Tensor c({3.0, 4.0}, tg::float64);
  tg::GradientTape tape(/*persistent=*/true);
  tape.watch(c);
  Tensor y = tg::sum(w * w);
  Tensor unrelated = tg::sum(c * c);
  c.assign(Tensor({0.0, 0.0}, tg::float64));  // only the unrelated record read c
  CHECK(values_of(tape.gradient(y, {w})[0]) == std::vector<double>{2, 4});
  CHECK(values_of(tape.gradient(y, {w})[0]) == std::vector<double>{2, 4});  // persistent: again, unchanged
  CHECK_THROWS_AS(tape.gradient(unrelated, {c}), std::logic_error);
}

TEST_CASE("tape: an optimizer step after gradient() works; a persistent tape then refuses the stale graph") {
  // The usual loop: forward, gradient, step, with a fresh tape each step.
  // loss = sum(w^2), SGD lr 0.25: w <- w - 0.25 * 2w = w / 2.
  Tensor w = tg::Variable(Tensor({1.0, 2.0}, tg::float64), "w");
  tg::optimizers::SGD sgd(0.25);
  for (int step = 0; step < 3; ++step) {
    tg::GradientTape tape;
    Tensor loss = tg::sum(w * w);
    sgd.apply_gradients(tape.gradient(loss, {w}), {w});
  }
  CHECK(values_of(w) == std::vector<double>{0.125, 0.25});
  CHECK(w.version() == 3);  // one write per step

  // A persistent tape answers twice before the step; after it the recorded
  // mul read the old w, so a gradient from that graph would be wrong (PyTorch
  // raises the same for backward(retain_graph=True) after optimizer.step()).
  tg::GradientTape tape(/*persistent=*/true);
  Tensor loss = tg::sum(w * w);
  std::vector<Tensor> g1 = tape.gradient(loss, {w});
  std::vector<Tensor> g2 = tape.gradient(loss, {w});
  CHECK(values_of(g1[0]) == values_of(g2[0]));
  sgd.apply_gradients(g1, {w});
  CHECK_THROWS_WITH_AS(tape.gradient(loss, {w}),
                       doctest::Contains("its input 0 ('w', (2,) float64) was modified in place"), std::logic_error);
}

namespace {

// The quoted strings of a DOT text, unescaped as Graphviz reads them (\" is a
// quote, \\ a backslash; other escapes are kept); fails if a string is left
// open or a raw newline appears inside one.
std::vector<std::string> dot_strings(const std::string& dot) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < dot.size(); ++i) {
    if (dot[i] != '"') continue;
    std::string s;
    for (++i;; ++i) {
      REQUIRE(i < dot.size());
      const char ch = dot[i];
      REQUIRE(ch != '\n');
      if (ch == '"') break;
      if (ch == '\\' && i + 1 < dot.size() && (dot[i + 1] == '"' || dot[i + 1] == '\\')) {
        s += dot[++i];
        continue;
      }
      s += ch;  // \n and the like stay two characters, for the layout engine
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("tape: to_dot escapes quotes, backslashes and newlines in names") {
  Tensor a = tg::ones({2}).set_name(R"(say "hi" \ C:\dir)");
  Tensor b = tg::ones({2}).set_name("two\nlines");
  tg::GradientTape tape;
  tape.watch({a, b});
  Tensor y = a * b;
  const std::string dot = tape.to_dot();
  INFO(dot);
  CHECK(contains(dot, R"(label="say \"hi\" \\ C:\\dir\n(2,) float32")"));
  CHECK(contains(dot, R"(label="two\nlines\n(2,) float32")"));
  std::vector<std::string> strings = dot_strings(dot);
  CHECK(std::find(strings.begin(), strings.end(), R"(say "hi" \ C:\dir\n(2,) float32)") != strings.end());
}
