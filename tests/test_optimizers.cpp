// Optimizers and learning-rate schedules: one or two steps of each optimizer
// by hand (Keras's formulas, the arithmetic in the comments), five steps
// against PyTorch, convergence on a quadratic, row-sparse (lazy) updates,
// state, clone/copy/reset, schedules, and bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "op_checks.hpp"

using tg::Gradient;
using tg::Tensor;
using tgtest::f64;
using tgtest::i64;
using namespace tg::optimizers;

namespace {

Tensor var64(const std::vector<double>& values, const tg::Shape& shape, const std::string& name = "") {
  return tg::Variable(f64(values, shape), name);
}
Tensor var64(const std::vector<double>& values) { return var64(values, {static_cast<std::int64_t>(values.size())}); }
Tensor var32(const std::vector<double>& values) {
  return tg::Variable(f64(values).to(tg::float32));
}
Tensor g32(const std::vector<double>& values) { return f64(values).to(tg::float32); }

// Bitwise equality of two tensors' buffers (same shape and dtype).
bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * tg::dtype_size(a.dtype())) == 0;
}

// Row r of a 2-D tensor, as a (cols,) copy.
Tensor row(const Tensor& t, std::int64_t r) {
  const std::int64_t cols = t.dim(1);
  std::vector<double> v = tgtest::values_of(t);
  return f64(std::vector<double>(v.begin() + r * cols, v.begin() + (r + 1) * cols)).to(t.dtype());
}

}  // namespace

// ---- one or two steps by hand --------------------------------------------------------------

TEST_CASE("optimizers: SGD one step by hand, float32 and float64") {
  // w = w - lr * g = [1 - 0.1 * 0.5, 2 - 0.1 * (-1)] = [0.95, 2.1]
  Tensor w = var64({1.0, 2.0});
  SGD sgd(0.1);
  sgd.apply_gradients({f64({0.5, -1.0})}, {w});
  TG_CHECK_VALUES(w, {0.95, 2.1}, 1e-15);
  CHECK(sgd.iterations() == 1);
  CHECK(sgd.slot_names().empty());

  Tensor w32 = var32({1.0, 2.0});
  SGD sgd32(0.1);
  sgd32.apply_gradients({g32({0.5, -1.0})}, {w32});
  CHECK(w32.dtype() == tg::float32);
  TG_CHECK_VALUES(w32, {0.95, 2.1}, 1e-7);
}

TEST_CASE("optimizers: SGD momentum and Nesterov, two steps by hand") {
  // lr 0.1, momentum 0.9, w0 = 1, g = 0.5 at both steps.
  //   v1 = 0.9 * 0 - 0.1 * 0.5 = -0.05          w1 = 1 - 0.05 = 0.95
  //   v2 = 0.9 * (-0.05) - 0.05 = -0.095        w2 = 0.95 - 0.095 = 0.855
  Tensor w = var64({1.0});
  SGD sgd(0.1, 0.9);
  CHECK(sgd.slot_names() == std::vector<std::string>{"momentum"});
  sgd.apply_gradients({f64({0.5})}, {w});
  TG_CHECK_VALUES(w, {0.95}, 1e-15);
  TG_CHECK_VALUES(sgd.slot(w, "momentum"), {-0.05}, 1e-15);
  sgd.apply_gradients({f64({0.5})}, {w});
  TG_CHECK_VALUES(w, {0.855}, 1e-15);
  TG_CHECK_VALUES(sgd.slot(w, "momentum"), {-0.095}, 1e-15);

  // Nesterov: w += momentum * v - lr * g
  //   w1 = 1 + 0.9 * (-0.05) - 0.05 = 0.905
  //   w2 = 0.905 + 0.9 * (-0.095) - 0.05 = 0.7695
  Tensor wn = var64({1.0});
  SGD nesterov(0.1, 0.9, true);
  nesterov.apply_gradients({f64({0.5})}, {wn});
  TG_CHECK_VALUES(wn, {0.905}, 1e-15);
  nesterov.apply_gradients({f64({0.5})}, {wn});
  TG_CHECK_VALUES(wn, {0.7695}, 1e-15);
}

TEST_CASE("optimizers: Adam two steps by hand (Keras's formula, epsilon inside the bias correction)") {
  // lr 0.1, beta_1 0.9, beta_2 0.999, epsilon 1e-7; w0 = [1, -2].
  // Step 1, g = [0.5, -1]:
  //   alpha = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = 0.0316227766...
  //   m = 0 + (g - 0) * 0.1 = [0.05, -0.1];  v = 0 + (g^2 - 0) * 0.001 = [0.00025, 0.001]
  //   w = w - alpha * m / (sqrt(v) + 1e-7) = [0.9000006324515321, -1.900000316226766]
  // Step 2, g = [0.3, 0.2]:
  //   alpha = 0.1 * sqrt(1 - 0.999^2) / (1 - 0.9^2) = 0.1 * sqrt(0.001999) / 0.19 = 0.0235316725...
  //   m = m + (g - m) * 0.1 = [0.075, -0.07];  v = v + (g^2 - v) * 0.001 = [0.00033975, 0.001039]
  //   w = [0.8042521342980318, -1.8488978670466378]
  Tensor w = var64({1.0, -2.0});
  Adam adam(0.1);
  adam.apply_gradients({f64({0.5, -1.0})}, {w});
  const double alpha1 = 0.1 * std::sqrt(1 - 0.999) / (1 - 0.9);
  TG_CHECK_VALUES(w, {1 - alpha1 * 0.05 / (std::sqrt(0.00025) + 1e-7), -2 + alpha1 * 0.1 / (std::sqrt(0.001) + 1e-7)},
                  1e-14);
  TG_CHECK_VALUES(w, {0.9000006324515321, -1.900000316226766}, 1e-14);
  TG_CHECK_VALUES(adam.slot(w, "momentum"), {0.05, -0.1}, 1e-14);
  TG_CHECK_VALUES(adam.slot(w, "velocity"), {0.00025, 0.001}, 1e-14);
  adam.apply_gradients({f64({0.3, 0.2})}, {w});
  TG_CHECK_VALUES(adam.slot(w, "momentum"), {0.075, -0.07}, 1e-14);
  TG_CHECK_VALUES(adam.slot(w, "velocity"), {0.00033975, 0.001039}, 1e-14);
  TG_CHECK_VALUES(w, {0.8042521342980318, -1.8488978670466378}, 1e-14);

  // float32: the same within float32 rounding.
  Tensor w32 = var32({1.0, -2.0});
  Adam adam32(0.1);
  adam32.apply_gradients({g32({0.5, -1.0})}, {w32});
  adam32.apply_gradients({g32({0.3, 0.2})}, {w32});
  TG_CHECK_VALUES(w32, {0.8042521342980318, -1.8488978670466378}, 2e-6);
  CHECK(adam32.slot(w32, "velocity").dtype() == tg::float32);
}

TEST_CASE("optimizers: Adam with amsgrad keeps the largest second moment") {
  // lr 0.1, w0 = 1; g = 1 then g = 0, so v shrinks at step 2 and v_hat keeps step 1's.
  //   step 1: m = 0.1, v = v_hat = 0.001, alpha = sqrt(0.001);  w1 = 1 - alpha * 0.1 / (sqrt(0.001) + 1e-7)
  //   step 2: m = 0.09, v = 0.000999, v_hat = 0.001, alpha = 0.1 * sqrt(0.001999) / 0.19
  //           amsgrad: w2 = w1 - alpha * 0.09 / (sqrt(0.001) + 1e-7)    = 0.8330282138901206
  //           plain:   w2 = w1 - alpha * 0.09 / (sqrt(0.000999) + 1e-7) = 0.8329947028094912
  Tensor w = var64({1.0});
  Adam ams(0.1, 0.9, 0.999, 1e-7, true);
  CHECK(ams.slot_names() == std::vector<std::string>{"momentum", "velocity", "velocity_hat"});
  ams.apply_gradients({f64({1.0})}, {w});
  TG_CHECK_VALUES(w, {0.9000003162267659}, 1e-14);
  ams.apply_gradients({f64({0.0})}, {w});
  TG_CHECK_VALUES(w, {0.8330282138901206}, 1e-14);
  TG_CHECK_VALUES(ams.slot(w, "velocity"), {0.000999}, 1e-14);
  TG_CHECK_VALUES(ams.slot(w, "velocity_hat"), {0.001}, 1e-14);

  Tensor plain_w = var64({1.0});
  Adam plain(0.1);
  plain.apply_gradients({f64({1.0})}, {plain_w});
  plain.apply_gradients({f64({0.0})}, {plain_w});
  TG_CHECK_VALUES(plain_w, {0.8329947028094912}, 1e-14);
}

TEST_CASE("optimizers: AdamW decays the weights before the Adam step") {
  // lr 0.1, weight_decay 0.1, w0 = [1, -2], g = [0.5, -1]:
  //   w = w - w * 0.1 * 0.1 = [0.99, -1.98], then Adam's step 1 as above (-0.0999993675..., +0.0999996837...)
  //   = [0.890000632451532, -1.880000316226766]
  Tensor w = var64({1.0, -2.0});
  AdamW adamw(0.1, 0.1);
  adamw.apply_gradients({f64({0.5, -1.0})}, {w});
  TG_CHECK_VALUES(w, {0.890000632451532, -1.880000316226766}, 1e-14);
  // With weight_decay 0 it is Adam.
  Tensor a = var64({1.0, -2.0});
  Tensor b = var64({1.0, -2.0});
  AdamW no_decay(0.1, 0.0);
  Adam adam(0.1);
  no_decay.apply_gradients({f64({0.5, -1.0})}, {a});
  adam.apply_gradients({f64({0.5, -1.0})}, {b});
  CHECK(same_bits(a, b));
  // Default weight decay is Keras 3's 0.004.
  CHECK(AdamW().options().weight_decay == 0.004);
}

TEST_CASE("optimizers: RMSprop plain, with momentum, centered: two steps by hand") {
  // lr 0.01, rho 0.9, epsilon 1e-7 (inside the square root); w0 = 1; g = 1 then 0.5.
  //   step 1: v = 0.1 * 1 = 0.1;                     inc1 = 0.01 * 1 / sqrt(0.1 + 1e-7)
  //   step 2: v = 0.9 * 0.1 + 0.1 * 0.25 = 0.115;    inc2 = 0.01 * 0.5 / sqrt(0.115 + 1e-7)
  //   plain: w1 = 1 - inc1 = 0.9683772392096927, w2 = w1 - inc2 = 0.9536330500047185
  Tensor w = var64({1.0});
  RMSprop rms(0.01);
  CHECK(rms.slot_names() == std::vector<std::string>{"velocity"});
  rms.apply_gradients({f64({1.0})}, {w});
  TG_CHECK_VALUES(w, {0.9683772392096927}, 1e-14);
  rms.apply_gradients({f64({0.5})}, {w});
  TG_CHECK_VALUES(w, {0.9536330500047185}, 1e-14);
  TG_CHECK_VALUES(rms.slot(w, "velocity"), {0.115}, 1e-14);

  //   momentum 0.5: b1 = inc1, w1 = 1 - b1; b2 = 0.5 * inc1 + inc2, w2 = w1 - b2 = 0.9378216696095649
  Tensor wm = var64({1.0});
  RMSprop rms_momentum(0.01, 0.9, 0.5);
  CHECK(rms_momentum.slot_names() == std::vector<std::string>{"velocity", "momentum"});
  rms_momentum.apply_gradients({f64({1.0})}, {wm});
  rms_momentum.apply_gradients({f64({0.5})}, {wm});
  TG_CHECK_VALUES(wm, {0.9378216696095649}, 1e-14);

  //   centered: a = 0.1 * g averaged: a1 = 0.1, a2 = 0.09 + 0.05 = 0.14
  //     w1 = 1 - 0.01 / sqrt(0.1 - 0.1^2 + 1e-7) = 0.9666666851851697
  //     w2 = w1 - 0.005 / sqrt(0.115 - 0.14^2 + 1e-7) = 0.9504785959635366
  Tensor wc = var64({1.0});
  RMSprop centered(RMSprop::Options{.learning_rate = 0.01, .centered = true});
  CHECK(centered.slot_names() == std::vector<std::string>{"velocity", "average_gradient"});
  centered.apply_gradients({f64({1.0})}, {wc});
  TG_CHECK_VALUES(wc, {0.9666666851851697}, 1e-14);
  centered.apply_gradients({f64({0.5})}, {wc});
  TG_CHECK_VALUES(wc, {0.9504785959635366}, 1e-14);
  TG_CHECK_VALUES(centered.slot(wc, "average_gradient"), {0.14}, 1e-14);
}

TEST_CASE("optimizers: RMSprop reproduces the example of Keras's documentation") {
  // keras.optimizers.RMSprop(learning_rate=0.1); var1 = 10.0; loss = var1^2 / 2;
  // opt.minimize(loss, [var1]) -> 9.683772  (v = 0.1 * 100 = 10, w = 10 - 0.1 * 10 / sqrt(10 + 1e-7))
  Tensor var1 = tg::Variable(Tensor::scalar(10.0));
  RMSprop rms(0.1);
  Tensor loss = rms.minimize([&] { return tg::mul(var1, var1) / 2.0; }, {var1});
  CHECK(loss.item() == doctest::Approx(50.0));
  CHECK(var1.item() == doctest::Approx(9.683772).epsilon(1e-7));
}

TEST_CASE("optimizers: Adagrad two steps by hand") {
  // lr 0.1, initial accumulator 0.1, epsilon 1e-7 (inside the square root); w0 = 1; g = 1 then 2.
  //   step 1: acc = 0.1 + 1 = 1.1;  w1 = 1 - 0.1 * 1 / sqrt(1.1 + 1e-7)    = 0.9046537454093613
  //   step 2: acc = 1.1 + 4 = 5.1;  w2 = w1 - 0.1 * 2 / sqrt(5.1 + 1e-7)   = 0.8160922577236016
  Tensor w = var64({1.0});
  Adagrad adagrad(0.1);
  adagrad.apply_gradients({f64({1.0})}, {w});
  TG_CHECK_VALUES(w, {0.9046537454093613}, 1e-14);
  adagrad.apply_gradients({f64({2.0})}, {w});
  TG_CHECK_VALUES(w, {0.8160922577236016}, 1e-14);
  TG_CHECK_VALUES(adagrad.slot(w, "accumulator"), {5.1}, 1e-14);
}

// ---- against PyTorch ------------------------------------------------------------------------

// Five steps on loss = 0.5 * sum(c * (w - target)^2), gradient c * (w - target),
// c = [1, 3, 0.5], target = [1, 2, -1], w0 = [0.5, -1.5, 2], float64. Made with
// Debian's /usr/bin/python3 (torch 1.13) by:
//
//   import torch
//   torch.set_default_dtype(torch.float64)
//   c = torch.tensor([1.0, 3.0, 0.5]); target = torch.tensor([1.0, 2.0, -1.0])
//   cases = [
//       ("sgd_momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
//       ("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
//       ("adam", lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=0.0)),
//       ("adam_amsgrad", lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.5), eps=0.0, amsgrad=True)),
//       ("adamw", lambda p: torch.optim.AdamW(p, lr=0.1, betas=(0.9, 0.999), eps=0.0, weight_decay=0.1)),
//       ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0)),
//       ("rmsprop_centered_momentum",
//        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.5, centered=True)),
//       ("adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0)),
//   ]
//   for name, make in cases:
//       w = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
//       opt = make([w])
//       for step in range(5):
//           opt.zero_grad()
//           loss = 0.5 * (c * (w - target) ** 2).sum()
//           loss.backward()
//           opt.step()
//       print(name, " ".join(repr(x) for x in w.detach().tolist()))
//
// PyTorch's formulas differ from Keras's in form, not in value, here: its SGD
// momentum buffer is -v / lr (the same while lr is constant); its Adam, RMSprop
// and Adagrad put eps elsewhere (outside the square root, after the bias
// correction), which makes no difference with eps = 0; AdamW's decay
// w *= 1 - lr * wd is Keras's w -= w * wd * lr.
namespace {

std::vector<double> five_steps(Optimizer& optimizer) {
  const std::vector<double> c = {1.0, 3.0, 0.5}, target = {1.0, 2.0, -1.0};
  Tensor w = var64({0.5, -1.5, 2.0});
  for (int step = 0; step < 5; ++step) {
    const std::vector<double> wv = w.to_vector<double>();
    std::vector<double> g(3);
    for (std::size_t j = 0; j < 3; ++j) g[j] = c[j] * (wv[j] - target[j]);
    optimizer.apply_gradients({f64(g)}, {w});
  }
  return w.to_vector<double>();
}

}  // namespace

TEST_CASE("optimizers: five steps match PyTorch (float64, eps = 0)") {
  struct Case {
    const char* name;
    std::unique_ptr<Optimizer> optimizer;
    std::vector<double> want;
  };
  std::vector<Case> cases;
  cases.push_back({"sgd_momentum", std::make_unique<SGD>(0.1, 0.9), {1.01458, 4.72398, 0.25146781249999983}});
  cases.push_back({"sgd_nesterov", std::make_unique<SGD>(0.1, 0.9, true),
                   {1.0522908419499999, 3.21748283895, -0.05217308480312506}});
  cases.push_back({"adam", std::make_unique<Adam>(0.1, 0.9, 0.999, 0.0),
                   {0.9721855537895254, -1.0014810393053124, 1.5017794553719341}});
  cases.push_back({"adam_amsgrad", std::make_unique<Adam>(0.1, 0.9, 0.5, 0.0, true),
                   {0.9595394931950356, -0.9948655860996696, 1.4942717306069149}});
  cases.push_back({"adamw", std::make_unique<AdamW>(0.1, 0.1, 0.9, 0.999, 0.0),
                   {0.9412889955876581, -0.9380980347490657, 1.414058357325169}});
  cases.push_back({"rmsprop", std::make_unique<RMSprop>(0.01, 0.9, 0.0, 0.0),
                   {0.6023846380755814, -1.3940922595797776, 1.894184247220895}});
  cases.push_back({"rmsprop_centered_momentum", std::make_unique<RMSprop>(0.01, 0.9, 0.5, 0.0, true),
                   {0.6910179624210879, -1.2979437138582275, 1.7982178704222405}});
  cases.push_back({"adagrad", std::make_unique<Adagrad>(0.1, 0.1, 0.0),
                   {0.7531217338530468, -1.1824622878116906, 1.6871128833673037}});
  for (Case& c : cases) {
    CAPTURE(c.name);
    const std::string bad = tgtest::mismatches(five_steps(*c.optimizer), c.want, 1e-12, 1e-13);
    CHECK_MESSAGE(bad.empty(), bad);
  }
  // The amsgrad case is one where the max matters: plain Adam ends elsewhere
  // (PyTorch: [1.059642289971917, -0.9936838904975751, 1.4925572166713306]).
  Adam plain(0.1, 0.9, 0.5, 0.0);
  const std::string plain_bad =
      tgtest::mismatches(five_steps(plain), {1.059642289971917, -0.9936838904975751, 1.4925572166713306}, 1e-12, 1e-13);
  CHECK_MESSAGE(plain_bad.empty(), plain_bad);
}

// ---- convergence ------------------------------------------------------------------------------

TEST_CASE("optimizers: each optimizer minimizes an ill-conditioned quadratic (float32)") {
  // loss = 0.5 * (1 * (w0 - 1)^2 + 10 * (w1 + 2)^2), from w = 0, through minimize() and the tape.
  struct Case {
    std::unique_ptr<Optimizer> optimizer;
    double tolerance;
  };
  std::vector<Case> cases;
  cases.push_back({std::make_unique<SGD>(0.05), 1e-4});
  cases.push_back({std::make_unique<SGD>(0.02, 0.9), 1e-4});
  cases.push_back({std::make_unique<SGD>(0.02, 0.9, true), 1e-4});
  cases.push_back({std::make_unique<Adam>(0.05), 1e-3});
  cases.push_back({std::make_unique<Adam>(Adam::Options{.learning_rate = 0.05, .amsgrad = true}), 1e-3});
  cases.push_back({std::make_unique<AdamW>(0.05), 5e-3});  // the decay pulls the optimum slightly toward 0
  cases.push_back({std::make_unique<RMSprop>(ExponentialDecay(0.05, 50, 0.5)), 1e-3});
  cases.push_back({std::make_unique<RMSprop>(RMSprop::Options{.learning_rate = CosineDecay(0.01, 500),
                                                              .momentum = 0.5, .centered = true}),
                   1e-3});
  cases.push_back({std::make_unique<Adagrad>(0.5), 1e-4});
  const Tensor target = Tensor({1.0, -2.0});
  const Tensor c = Tensor({1.0, 10.0});
  for (Case& k : cases) {
    CAPTURE(k.optimizer->repr());
    Tensor w = tg::Variable(tg::zeros({2}));
    auto loss = [&] { return tg::sum(tg::mul(c, tg::square(w - target))) * 0.5; };
    const double initial = loss().item();
    for (int step = 0; step < 500; ++step) k.optimizer->minimize(loss, {w});
    CHECK(k.optimizer->iterations() == 500);
    CHECK(std::abs(w.at({0}) - 1.0) < k.tolerance);
    CHECK(std::abs(w.at({1}) + 2.0) < k.tolerance);
    CHECK(loss().item() < 1e-4 * initial);
  }
}

// ---- row-sparse gradients ------------------------------------------------------------------------

TEST_CASE("optimizers: sparse SGD without momentum is the dense update, bit for bit") {
  // Rows 3 and 1 of a (5, 2) table, row 3 twice: its two rows of values add up.
  for (tg::DType dtype : {tg::float32, tg::float64}) {
    CAPTURE(tg::dtype_name(dtype));
    Tensor values = tg::randn({3, 2}, 7, dtype);
    Gradient sparse = Gradient::rows(i64({3, 1, 3}), values, {5, 2});
    Tensor a = tg::Variable(tg::randn({5, 2}, 8, dtype));
    Tensor b = tg::Variable(a.clone());
    const Tensor initial = a.clone();
    SGD(0.1).apply_gradients(std::vector<Gradient>{sparse}, {a});
    SGD(0.1).apply_gradients({sparse.dense()}, {b});
    CHECK(same_bits(a, b));
    CHECK(same_bits(row(a, 0), row(initial, 0)));
    CHECK(!same_bits(row(a, 3), row(initial, 3)));
  }
}

TEST_CASE("optimizers: sparse Adagrad is the dense update, bit for bit, over several steps") {
  Tensor a = tg::Variable(tg::randn({6, 3}, 1));
  Tensor b = tg::Variable(a.clone());
  Adagrad sparse_opt(0.1), dense_opt(0.1);
  const std::vector<std::vector<std::int64_t>> rows = {{0, 4, 4}, {2}, {4, 1, 0, 1}};
  for (std::size_t s = 0; s < rows.size(); ++s) {
    Tensor idx = i64(rows[s]);
    Gradient g = Gradient::rows(idx, tg::randn({idx.numel(), 3}, 10 + s), {6, 3});
    sparse_opt.apply_gradients(std::vector<Gradient>{g}, {a});
    dense_opt.apply_gradients({g.dense()}, {b});
  }
  CHECK(same_bits(a, b));
  CHECK(same_bits(sparse_opt.slot(a, "accumulator"), dense_opt.slot(b, "accumulator")));
}

TEST_CASE("optimizers: lazy sparse Adam touches only the rows used, with the global step") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  Tensor table = tg::Variable(tg::randn({5, 2}, 3, tg::float64));
  const Tensor initial = table.clone();
  Adam adam(lr);
  // Step 1 uses rows 1 and 4; step 2 rows 1 and 2.
  Tensor g1 = f64({0.5, -1.0, 2.0, 0.25}, {2, 2});
  Tensor g2 = f64({-0.3, 0.7, 1.5, -2.5}, {2, 2});
  adam.apply_gradients(std::vector<Gradient>{Gradient::rows(i64({1, 4}), g1, {5, 2})}, {table});
  const Tensor after_step_1 = table.clone();
  const Tensor m_after_step_1 = adam.slot(table, "momentum").clone();
  const Tensor v_after_step_1 = adam.slot(table, "velocity").clone();
  adam.apply_gradients(std::vector<Gradient>{Gradient::rows(i64({1, 2}), g2, {5, 2})}, {table});

  // Rows never used: bit-identical, slots exactly zero.
  for (std::int64_t r : {0, 3}) {
    CHECK(same_bits(row(table, r), row(initial, r)));
    TG_CHECK_VALUES(row(adam.slot(table, "momentum"), r), {0.0, 0.0}, 0.0, 0.0);
    TG_CHECK_VALUES(row(adam.slot(table, "velocity"), r), {0.0, 0.0}, 0.0, 0.0);
  }
  // Row 4, used at step 1 only: neither it nor its slots moved at step 2
  // (a dense step with a zero gradient would decay m, v and move it by m).
  CHECK(same_bits(row(table, 4), row(after_step_1, 4)));
  CHECK(same_bits(row(adam.slot(table, "momentum"), 4), row(m_after_step_1, 4)));
  CHECK(same_bits(row(adam.slot(table, "velocity"), 4), row(v_after_step_1, 4)));

  // Rows 1 (steps 1 and 2) and 2 (step 2 only, so t = 2 with fresh m and v):
  // Keras's formula row by row.
  auto adam_row = [&](std::vector<double> w, const std::vector<std::pair<int, std::vector<double>>>& steps) {
    std::vector<double> m(w.size(), 0.0), v(w.size(), 0.0);
    for (const auto& [t, g] : steps) {
      const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
      for (std::size_t j = 0; j < w.size(); ++j) {
        m[j] += (g[j] - m[j]) * (1 - b1);
        v[j] += (g[j] * g[j] - v[j]) * (1 - b2);
        w[j] -= m[j] * alpha / (std::sqrt(v[j]) + eps);
      }
    }
    return w;
  };
  TG_CHECK_VALUES(row(table, 1), adam_row(tgtest::values_of(row(initial, 1)), {{1, {0.5, -1.0}}, {2, {-0.3, 0.7}}}),
                  1e-14);
  TG_CHECK_VALUES(row(table, 2), adam_row(tgtest::values_of(row(initial, 2)), {{2, {1.5, -2.5}}}), 1e-14);
  // The dense update would have moved row 4 at step 2: the lazy rule is what keeps it.
  Tensor dense_table = tg::Variable(initial.clone());
  Adam dense(lr);
  dense.apply_gradients({Gradient::rows(i64({1, 4}), g1, {5, 2}).dense()}, {dense_table});
  dense.apply_gradients({Gradient::rows(i64({1, 2}), g2, {5, 2}).dense()}, {dense_table});
  CHECK(!same_bits(row(dense_table, 4), row(after_step_1, 4)));
  // (Rows never used do not move in the dense update either: their m stays 0.)
  CHECK(same_bits(row(dense_table, 0), row(initial, 0)));
}

TEST_CASE("optimizers: sparse updates with every row present equal the dense ones") {
  // For each optimizer, a row-sparse gradient listing every row (shuffled) is the dense gradient.
  std::vector<std::unique_ptr<Optimizer>> optimizers;
  optimizers.push_back(std::make_unique<SGD>(0.1, 0.9, true));
  optimizers.push_back(std::make_unique<Adam>(0.1, 0.9, 0.999, 1e-7, true));
  optimizers.push_back(std::make_unique<AdamW>(0.1, 0.1));
  optimizers.push_back(std::make_unique<RMSprop>(0.01, 0.9, 0.5, 1e-7, true));
  optimizers.push_back(std::make_unique<Adagrad>(0.1));
  for (auto& sparse_opt : optimizers) {
    CAPTURE(sparse_opt->repr());
    auto dense_opt = sparse_opt->clone();
    Tensor a = tg::Variable(tg::randn({4, 3}, 5, tg::float64));
    Tensor b = tg::Variable(a.clone());
    for (std::uint64_t s = 0; s < 3; ++s) {
      Tensor idx = i64({2, 0, 3, 1});
      Gradient g = Gradient::rows(idx, tg::randn({4, 3}, 20 + s, tg::float64), {4, 3});
      sparse_opt->apply_gradients(std::vector<Gradient>{g}, {a});
      dense_opt->apply_gradients({g.dense()}, {b});
    }
    CHECK(same_bits(a, b));
  }
}

TEST_CASE("optimizers: repeated rows of a sparse gradient are summed first") {
  // Rows {2, 0, 2} with values r0, r1, r2 are rows {0, 2} with values r1, r0 + r2.
  Tensor values = f64({1.0, 2.0, -3.0, 0.5, 0.25, -4.0}, {3, 2});
  Gradient repeated = Gradient::rows(i64({2, 0, 2}), values, {4, 2});
  Gradient combined = Gradient::rows(i64({0, 2}), f64({-3.0, 0.5, 1.0 + 0.25, 2.0 - 4.0}, {2, 2}), {4, 2});
  Tensor a = tg::Variable(tg::randn({4, 2}, 11, tg::float64));
  Tensor b = tg::Variable(a.clone());
  Adam first(0.1), second(0.1);
  first.apply_gradients(std::vector<Gradient>{repeated}, {a});
  second.apply_gradients(std::vector<Gradient>{combined}, {b});
  CHECK(same_bits(a, b));
  CHECK(same_bits(first.slot(a, "velocity"), second.slot(b, "velocity")));
  // Not applied twice one after the other: the velocity of row 2 holds (r0 + r2)^2, not r0^2 + r2^2.
  TG_CHECK_VALUES(row(first.slot(a, "velocity"), 2), {0.001 * 1.25 * 1.25, 0.001 * 4.0}, 1e-14);
}

TEST_CASE("optimizers: lazy sparse SGD momentum, RMSprop and AdamW leave unused rows alone") {
  // Step 1 uses row 0, step 2 row 1. A dense update would move row 0 again at
  // step 2 (SGD: by its velocity; RMSprop with momentum: by its momentum; AdamW:
  // by the decay and by m); the lazy one does not.
  std::vector<std::unique_ptr<Optimizer>> optimizers;
  optimizers.push_back(std::make_unique<SGD>(0.1, 0.9));
  optimizers.push_back(std::make_unique<RMSprop>(0.01, 0.9, 0.5));
  optimizers.push_back(std::make_unique<AdamW>(0.1, 0.5));
  for (auto& opt : optimizers) {
    CAPTURE(opt->repr());
    Tensor table = tg::Variable(tg::randn({3, 2}, 4, tg::float64));
    const Tensor initial = table.clone();
    opt->apply_gradients(std::vector<Gradient>{Gradient::rows(i64({0}), f64({1.0, -1.0}, {1, 2}), {3, 2})}, {table});
    const Tensor after_step_1 = table.clone();
    CHECK(!same_bits(row(table, 0), row(initial, 0)));
    opt->apply_gradients(std::vector<Gradient>{Gradient::rows(i64({1}), f64({0.5, 2.0}, {1, 2}), {3, 2})}, {table});
    CHECK(same_bits(row(table, 0), row(after_step_1, 0)));
    CHECK(!same_bits(row(table, 1), row(initial, 1)));
    CHECK(same_bits(row(table, 2), row(initial, 2)));  // AdamW: no decay of unused rows either
    // The dense update differs on row 0 at step 2.
    auto dense = opt->clone();
    Tensor d = tg::Variable(initial.clone());
    dense->apply_gradients({f64({1.0, -1.0, 0, 0, 0, 0}, {3, 2})}, {d});
    dense->apply_gradients({f64({0, 0, 0.5, 2.0, 0, 0}, {3, 2})}, {d});
    CHECK(!same_bits(row(d, 0), row(after_step_1, 0)));
  }
}

TEST_CASE("optimizers: a row-sparse gradient with no rows is a step that moves nothing") {
  Tensor table = tg::Variable(tg::randn({3, 2}, 6, tg::float64));
  const Tensor initial = table.clone();
  Adam adam(0.1);
  adam.apply_gradients(std::vector<Gradient>{Gradient::rows(i64({}, {0}), tg::zeros({0, 2}, tg::float64), {3, 2})},
                       {table});
  CHECK(same_bits(table, initial));
  CHECK(adam.iterations() == 1);
  TG_CHECK_VALUES(adam.slot(table, "momentum"), {0, 0, 0, 0, 0, 0}, 0.0, 0.0);
}

TEST_CASE("optimizers: minimize on an embedding lookup updates only the rows looked up") {
  Tensor table = tg::Variable(tg::randn({6, 3}, 2), "embedding");
  const Tensor initial = table.clone();
  Adam adam(0.01);
  // Does the tape hand a row-sparse gradient to the optimizer? (Then only rows 1 and 4 can change.)
  {
    tg::GradientTape tape;
    Tensor loss = tg::sum(tg::square(tg::gather(table, i64({1, 1, 4}))));
    CHECK(tape.sparse_gradient(loss, {table})[0].is_sparse());
  }
  adam.minimize([&] { return tg::sum(tg::square(tg::gather(table, i64({1, 1, 4})))); }, {table});
  for (std::int64_t r : {0, 2, 3, 5}) CHECK(same_bits(row(table, r), row(initial, r)));
  for (std::int64_t r : {1, 4}) CHECK(!same_bits(row(table, r), row(initial, r)));
  CHECK(table.dtype() == tg::float32);
}

TEST_CASE("optimizers: a sparse gradient with an index out of range changes nothing") {
  Tensor a = var64({1.0, 2.0});
  Tensor table = tg::Variable(tg::randn({3, 2}, 1, tg::float64), "table");
  const Tensor initial = table.clone();
  Adam adam(0.1);
  std::vector<Gradient> grads = {Gradient(f64({1.0, 1.0})),
                                 Gradient::rows(i64({0, 3}), f64({1, 1, 1, 1}, {2, 2}), {3, 2})};
  CHECK_THROWS_WITH_AS(adam.apply_gradients(grads, {a, table}),
                       "Adam.apply_gradients: the row-sparse gradient of variable 1 ('table', (3, 2) float64) has "
                       "index 3 at position 1, outside [0, 3)",
                       std::invalid_argument);
  grads[1] = Gradient::rows(i64({-1}), f64({1, 1}, {1, 2}), {3, 2});
  CHECK_THROWS_WITH_AS(adam.apply_gradients(grads, {a, table}), doctest::Contains("has index -1 at position 0"),
                       std::invalid_argument);
  TG_CHECK_VALUES(a, {1.0, 2.0}, 0.0, 0.0);  // the first variable was not updated either
  CHECK(same_bits(table, initial));
  CHECK(adam.iterations() == 0);
  CHECK(adam.num_tracked_variables() == 0);
}

// ---- variables, state, clone, copy, reset ------------------------------------------------------

TEST_CASE("optimizers: variables keep their identity; updates are not recorded") {
  Tensor w = var64({1.0, 2.0});
  Tensor alias = w;  // another handle to the same tensor, as a layer would hold
  const void* id = w.id();
  const void* data = w.raw_data();
  tg::GradientTape tape;
  Tensor y = tg::sum(tg::mul(w, w));
  const std::size_t recorded = tape.size();
  SGD sgd(0.5);
  sgd.apply_gradients({f64({1.0, 1.0})}, {w});
  CHECK(tape.size() == recorded);
  CHECK(w.id() == id);
  CHECK(w.raw_data() == data);
  CHECK(w.trainable());
  TG_CHECK_VALUES(alias, {0.5, 1.5}, 0.0, 0.0);
}

TEST_CASE("optimizers: undefined gradients skip their variable") {
  Tensor a = var64({1.0});
  Tensor b = var64({2.0});
  Adam adam(0.1);
  adam.apply_gradients(std::vector<Gradient>{Gradient(), Gradient(f64({1.0}))}, {a, b});
  adam.apply_gradients(std::vector<Tensor>{Tensor(), f64({1.0})}, {a, b});
  TG_CHECK_VALUES(a, {1.0}, 0.0, 0.0);
  CHECK(!adam.slot(a, "momentum").defined());  // no state for a variable never updated
  CHECK(adam.slot(b, "momentum").defined());
  CHECK(adam.iterations() == 2);
  CHECK(adam.num_tracked_variables() == 1);
  // All undefined: an error (Keras: "No gradients provided for any variable"); none at all: a no-op.
  CHECK_THROWS_WITH_AS(adam.apply_gradients(std::vector<Gradient>{Gradient(), Gradient()}, {a, b}),
                       "Adam.apply_gradients: no gradient provided for any variable (all 2 are undefined)",
                       std::invalid_argument);
  adam.apply_gradients(std::vector<Gradient>{}, {});
  CHECK(adam.iterations() == 2);
}

TEST_CASE("optimizers: state is per variable, float32 and float64 side by side") {
  Tensor w32 = var32({1.0, -1.0});
  Tensor w64 = var64({1.0, -1.0});
  Adam adam(0.1);
  adam.apply_gradients({g32({0.5, -1.0}), f64({0.5, -1.0})}, {w32, w64});
  CHECK(adam.slot(w32, "momentum").dtype() == tg::float32);
  CHECK(adam.slot(w64, "momentum").dtype() == tg::float64);
  CHECK(adam.slot(w64, "velocity").shape() == w64.shape());
  // Same arithmetic in each dtype: float32 agrees with float64 to float32 rounding.
  TG_CHECK_TENSOR(w32.to(tg::float64), w64, 1e-6, 1e-7);
  CHECK(adam.num_tracked_variables() == 2);
  CHECK_THROWS_WITH_AS(adam.slot(w32, "nope"), "Adam.slot: no slot named 'nope' (this Adam has momentum, velocity)",
                       std::invalid_argument);
}

TEST_CASE("optimizers: the state of a destroyed variable is dropped") {
  Adam adam(0.1);
  Tensor keep = var64({1.0});
  adam.apply_gradients({f64({1.0})}, {keep});
  {
    Tensor temporary = var64({1.0, 2.0, 3.0});
    adam.apply_gradients({f64({1.0, 1.0, 1.0})}, {temporary});
    CHECK(adam.num_tracked_variables() == 2);
  }
  CHECK(adam.num_tracked_variables() == 1);
  // A new variable (possibly at the dead one's address) starts from fresh slots.
  Tensor fresh = var64({1.0, 2.0, 3.0});
  adam.apply_gradients({f64({1.0, 1.0, 1.0})}, {fresh});
  TG_CHECK_VALUES(adam.slot(fresh, "momentum"), {0.1, 0.1, 0.1}, 1e-15);
}

TEST_CASE("optimizers: clone() has the hyperparameters and no state; copies are deep; reset()") {
  Tensor w = var64({1.0, -2.0});
  Adam adam(Adam::Options{.learning_rate = 0.1, .beta_2 = 0.99, .amsgrad = true});
  adam.apply_gradients({f64({0.5, -1.0})}, {w});
  adam.set_learning_rate(0.05);

  std::unique_ptr<Optimizer> fresh = adam.clone();
  CHECK(fresh->repr() == adam.repr());
  CHECK(fresh->name() == "Adam");
  CHECK(fresh->iterations() == 0);
  CHECK(fresh->learning_rate() == 0.05);
  CHECK(fresh->num_tracked_variables() == 0);
  CHECK(!fresh->slot(w, "momentum").defined());
  // Its first step is a first step (t = 1, zero slots): as a new Adam's.
  Tensor a = var64({1.0, -2.0});
  Tensor b = var64({1.0, -2.0});
  fresh->apply_gradients({f64({0.5, -1.0})}, {a});
  Adam(Adam::Options{.learning_rate = 0.05, .beta_2 = 0.99, .amsgrad = true}).apply_gradients({f64({0.5, -1.0})}, {b});
  CHECK(same_bits(a, b));
  CHECK(adam.iterations() == 1);  // the original is untouched

  // A copy carries the state, in tensors of its own.
  Adam copy = adam;
  CHECK(copy.iterations() == 1);
  CHECK(same_bits(copy.slot(w, "velocity"), adam.slot(w, "velocity")));
  CHECK(copy.slot(w, "velocity").raw_data() != adam.slot(w, "velocity").raw_data());
  copy.apply_gradients({f64({0.3, 0.2})}, {w});
  TG_CHECK_VALUES(adam.slot(w, "momentum"), {0.05, -0.1}, 1e-15);  // the original's state did not move

  adam.reset();
  CHECK(adam.iterations() == 0);
  CHECK(adam.num_tracked_variables() == 0);
  CHECK(!adam.slot(w, "momentum").defined());
}

// ---- learning rates and schedules ----------------------------------------------------------------

TEST_CASE("optimizers: schedules' values") {
  // ExponentialDecay: 0.1 * 0.5^(step / 10); staircase floors the exponent.
  ExponentialDecay exponential(0.1, 10, 0.5);
  CHECK(exponential(0) == 0.1);
  CHECK(exponential(5) == doctest::Approx(0.1 * std::sqrt(0.5)).epsilon(1e-15));
  CHECK(exponential(20) == doctest::Approx(0.025).epsilon(1e-15));
  ExponentialDecay stairs(0.1, 10, 0.5, true);
  CHECK(stairs(9) == 0.1);
  CHECK(stairs(15) == doctest::Approx(0.05).epsilon(1e-15));
  // LinearDecay: 0.025 -> 0.0001 over 100 steps, then constant (word2vec's alpha -> min_alpha).
  LinearDecay linear(0.025, 0.0001, 100);
  CHECK(linear(0) == 0.025);
  CHECK(linear(50) == doctest::Approx(0.025 + (0.0001 - 0.025) * 0.5).epsilon(1e-15));
  CHECK(linear(100) == 0.0001);
  CHECK(linear(1000) == 0.0001);
  CHECK(LinearDecay(0.0, 1.0, 4)(1) == 0.25);  // a warm-up goes up
  // PolynomialDecay: (0.1 - 0) * (1 - 5/10)^2 + 0 = 0.025; past decay_steps: the end rate.
  PolynomialDecay poly(0.1, 10, 0.0, 2.0);
  CHECK(poly(5) == doctest::Approx(0.025).epsilon(1e-15));
  CHECK(poly(30) == 0.0);
  // Power 1 and no cycle: LinearDecay.
  CHECK(PolynomialDecay(0.025, 100, 0.0001)(37) == doctest::Approx(linear(37)).epsilon(1e-15));
  // cycle: at step 15 the horizon is 20: 0.1 * (1 - 15/20)^1 = 0.025; at step 0 it is 10.
  PolynomialDecay cycling(0.1, 10, 0.0, 1.0, true);
  CHECK(cycling(0) == 0.1);
  CHECK(cycling(10) == 0.0);
  CHECK(cycling(15) == doctest::Approx(0.025).epsilon(1e-15));
  // InverseTimeDecay: 0.1 / (1 + 0.5 * 20 / 10) = 0.05; staircase: 0.1 / (1 + 0.5 * 1) at step 15.
  CHECK(InverseTimeDecay(0.1, 10, 0.5)(20) == doctest::Approx(0.05).epsilon(1e-15));
  CHECK(InverseTimeDecay(0.1, 10, 0.5, true)(15) == doctest::Approx(0.1 / 1.5).epsilon(1e-15));
  // CosineDecay: 0.1 * 0.5 * (1 + cos(pi / 2)) = 0.05 halfway; alpha * 0.1 at the end and after.
  CHECK(CosineDecay(0.1, 10)(5) == doctest::Approx(0.05).epsilon(1e-15));
  CHECK(CosineDecay(0.1, 10, 0.2)(10) == doctest::Approx(0.02).epsilon(1e-15));
  CHECK(CosineDecay(0.1, 10, 0.2)(50) == doctest::Approx(0.02).epsilon(1e-15));
  // PiecewiseConstantDecay: values[0] up to and including boundaries[0], ...
  PiecewiseConstantDecay piecewise({100, 200}, {1.0, 0.5, 0.1});
  CHECK(piecewise(0) == 1.0);
  CHECK(piecewise(100) == 1.0);
  CHECK(piecewise(101) == 0.5);
  CHECK(piecewise(200) == 0.5);
  CHECK(piecewise(201) == 0.1);
  CHECK(exponential.repr() == "ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=false)");
  CHECK(piecewise.repr() == "PiecewiseConstantDecay(boundaries=[100, 200], values=[1, 0.5, 0.1])");
  CHECK(linear.repr() == "LinearDecay(initial_learning_rate=0.025, final_learning_rate=1e-04, total_steps=100)");
}

TEST_CASE("optimizers: an optimizer on a schedule uses schedule(iterations()) at each step") {
  // SGD with rate 1 for steps 0 and 1, then 0.5: w = 10 - 1 - 1 - 0.5 with g = 1.
  auto schedule = std::make_shared<PiecewiseConstantDecay>(std::vector<std::int64_t>{1}, std::vector<double>{1.0, 0.5});
  SGD sgd(schedule);
  Tensor w = var64({10.0});
  CHECK(sgd.learning_rate() == 1.0);
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK(sgd.learning_rate() == 1.0);
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK(sgd.learning_rate() == 0.5);
  sgd.apply_gradients({f64({1.0})}, {w});
  TG_CHECK_VALUES(w, {7.5}, 0.0, 0.0);
  CHECK(sgd.learning_rate_schedule() == schedule);
  CHECK(sgd.clone()->learning_rate_schedule() == schedule);  // shared: schedules have no state
  CHECK_THROWS_AS(sgd.set_learning_rate(0.1), std::logic_error);
  CHECK(sgd.repr() == "SGD(learning_rate=PiecewiseConstantDecay(boundaries=[1], values=[1, 0.5]), momentum=0, "
                      "nesterov=false)");

  // A schedule object by value, and LinearDecay driving Adagrad's rate down to its end value.
  Adagrad adagrad(LinearDecay(0.5, 0.1, 4));
  Tensor v = var64({1.0});
  for (int i = 0; i < 6; ++i) adagrad.apply_gradients({f64({0.0})}, {v});
  CHECK(adagrad.learning_rate() == 0.1);

  // A constant rate can be set (what a LearningRateScheduler callback does).
  Adam adam(0.1);
  adam.set_learning_rate(0.01);
  CHECK(adam.learning_rate() == 0.01);
  CHECK_THROWS_WITH_AS(adam.set_learning_rate(-1.0), "Adam: learning_rate must be a finite number >= 0, received -1",
                       std::invalid_argument);
}

TEST_CASE("optimizers: repr") {
  CHECK(SGD().repr() == "SGD(learning_rate=0.01, momentum=0, nesterov=false)");
  CHECK(SGD(0.1, 0.9, true).repr() == "SGD(learning_rate=0.1, momentum=0.9, nesterov=true)");
  CHECK(Adam().repr() == "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=false)");
  CHECK(AdamW().repr() ==
        "AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=false)");
  CHECK(RMSprop().repr() == "RMSprop(learning_rate=0.001, rho=0.9, momentum=0, epsilon=1e-07, centered=false)");
  CHECK(Adagrad().repr() == "Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07)");
}

// ---- bad input ------------------------------------------------------------------------------------

TEST_CASE("optimizers: invalid hyperparameters throw") {
  CHECK_THROWS_WITH_AS(SGD(-0.1), "SGD: learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(std::nan("")), "Adam: learning_rate must be a finite number >= 0, received nan",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD(0.1, -0.5), "SGD: momentum must be in [0, 1], received -0.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(SGD(0.1, 1.5), "SGD: momentum must be in [0, 1], received 1.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 1.0), "Adam: beta_1 must be in [0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, -0.1), "Adam: beta_2 must be in [0, 1), received -0.1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(0.1, 0.9, 0.999, -1e-7), "Adam: epsilon must be a finite number >= 0, received -1e-07",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, -0.1), "AdamW: weight_decay must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(AdamW(0.1, 0.004, 1.5), "AdamW: beta_1 must be in [0, 1), received 1.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 1.0), "RMSprop: rho must be in [0, 1), received 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, -1.0), "RMSprop: momentum must be a finite number >= 0, received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(RMSprop(0.1, 0.9, 0.0, -1.0), "RMSprop: epsilon must be a finite number >= 0, received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adagrad(0.1, -0.1), "Adagrad: initial_accumulator_value must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adagrad(0.1, 0.1, -1.0), "Adagrad: epsilon must be a finite number >= 0, received -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam(std::shared_ptr<ExponentialDecay>()), doctest::Contains("Adam: the learning-rate schedule is null"),
                       std::invalid_argument);
}

TEST_CASE("optimizers: invalid schedules throw") {
  CHECK_THROWS_WITH_AS(ExponentialDecay(0.1, 0, 0.5), "ExponentialDecay: decay_steps must be > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ExponentialDecay(-0.1, 10, 0.5),
                       "ExponentialDecay: initial_learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ExponentialDecay(0.1, 10, 0.0), "ExponentialDecay: decay_rate must be a finite number > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, -0.1, 10),
                       "LinearDecay: final_learning_rate must be a finite number >= 0, received -0.1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, 0.0, -5), "LinearDecay: total_steps must be > 0, received -5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PolynomialDecay(0.1, 10, 0.0, 0.0), "PolynomialDecay: power must be a finite number > 0, received 0",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CosineDecay(0.1, 10, 1.5), "CosineDecay: alpha must be in [0, 1], received 1.5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PiecewiseConstantDecay({10, 20}, {1.0, 0.5}),
                       "PiecewiseConstantDecay: expected one more value than boundaries, received 2 boundaries and 2 values",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(PiecewiseConstantDecay({20, 10}, {1.0, 0.5, 0.1}),
                       "PiecewiseConstantDecay: boundaries must be strictly increasing, received 20 then 10 at index 1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearDecay(0.1, 0.0, 10)(-1), "LinearDecay: step must be >= 0, received -1", std::invalid_argument);
}

TEST_CASE("optimizers: bad apply_gradients arguments throw and change nothing") {
  Tensor a = var64({1.0, 2.0});
  Tensor kernel = tg::Variable(tg::zeros({3, 4}), "dense/kernel");
  Adam adam(0.1);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0})}, {a, kernel}),
                       "Adam.apply_gradients: expected one gradient per variable, received 1 gradients for 2 variables",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), tg::zeros({4, 3})}, {a, kernel}),
                       "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (4, 3) "
                       "float32 (dense), expected (3, 4) float32",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), tg::zeros({3, 4}, tg::float64)}, {a, kernel}),
                       "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (3, 4) "
                       "float64 (dense), expected (3, 4) float32",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      adam.apply_gradients(std::vector<Gradient>{Gradient(f64({1.0, 1.0})),
                                                 Gradient::rows(i64({0}), tg::zeros({1, 3}), {2, 3})},
                           {a, kernel}),
      "Adam.apply_gradients: the gradient of variable 1 ('dense/kernel', (3, 4) float32) is (2, 3) float32 "
      "(row-sparse), expected (3, 4) float32",
      std::invalid_argument);
  Tensor constant = f64({1.0, 2.0});  // not a Variable
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0, 1.0})}, {a, constant}),
                       "Adam.apply_gradients: variable 1 ((2,) float64) is not trainable (make it with tg::Variable or "
                       "set_trainable(true))",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), i64({1, 1})}, {a, i64({1, 2})}),
                       "Adam.apply_gradients: variable 1 ((2,) int64) is not float32 or float64",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0})}, {a, Tensor()}),
                       "Adam.apply_gradients: variable 1 (undefined) is undefined", std::invalid_argument);
  CHECK_THROWS_WITH_AS(adam.apply_gradients({f64({1.0, 1.0}), f64({1.0, 1.0})}, {a, a}),
                       doctest::Contains("variable 1 ((2,) float64) appears twice in the list"), std::invalid_argument);
  // Nothing was written by any of these calls.
  TG_CHECK_VALUES(a, {1.0, 2.0}, 0.0, 0.0);
  CHECK(adam.iterations() == 0);
  CHECK(adam.num_tracked_variables() == 0);
}

TEST_CASE("optimizers: a schedule giving a negative rate is caught at the step") {
  struct Negative : LearningRateSchedule {
    double operator()(std::int64_t step) const override { return step < 1 ? 0.1 : -0.1; }
    std::string repr() const override { return "Negative()"; }
  };
  SGD sgd(Negative{});
  Tensor w = var64({1.0});
  sgd.apply_gradients({f64({1.0})}, {w});
  CHECK_THROWS_WITH_AS(sgd.apply_gradients({f64({1.0})}, {w}),
                       "SGD.apply_gradients: the learning rate at step 1 is -0.1 (from Negative()); it must be a "
                       "finite number >= 0",
                       std::invalid_argument);
  TG_CHECK_VALUES(w, {0.9}, 1e-15);
  CHECK(sgd.iterations() == 1);
}
