// Optimizers with row-sparse (embedding) gradients: lazy updates of the rows
// used, repeated rows summed first, bit-for-bit agreement with dense updates.
#include "optimizer_checks.hpp"

using namespace optimizer_test;

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
