// Tensor ergonomics (issue 17): an int where an axis list is expected, tensor
// methods, indexing, scalar comparisons and where, and type promotion. Each
// test is the Keras / PyTorch / NumPy code beside it in a comment; the
// expected numbers are worked by hand. docs/keras.md lists both spellings.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::i64;
using tgtest::randn64;
using V = std::vector<Tensor>;

// ---- 1. an int where an axis list is expected --------------------------------

TEST_CASE("ergonomics: an int is one axis in every op that takes an axes list") {
  // x = keras.ops.convert_to_tensor([[1., 2., 3.], [4., 5., 6.]])
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  // keras.ops.mean(x, axis=-1)                     -> [2, 5]
  TG_CHECK_TENSOR(tg::mean(x, -1), f64({2, 5}));
  // keras.ops.sum(x, axis=1, keepdims=True)        -> [[6], [15]]
  TG_CHECK_TENSOR(tg::sum(x, 1, true), f64({6, 15}, {2, 1}));
  // keras.ops.max(x, 0), keras.ops.min(x, 0)       -> [4, 5, 6], [1, 2, 3]
  TG_CHECK_TENSOR(tg::max(x, 0), f64({4, 5, 6}));
  TG_CHECK_TENSOR(tg::min(x, 0), f64({1, 2, 3}));
  // keras.ops.logsumexp(x, axis=0): log(e^1 + e^4) = 4 + log(1 + e^-3), ...
  TG_CHECK_VALUES(tg::logsumexp(x, 0), {4 + std::log1p(std::exp(-3.0)), 5 + std::log1p(std::exp(-3.0)),
                                        6 + std::log1p(std::exp(-3.0))});
  // keras.ops.norm(x, ord=1, axis=1)               -> [6, 15]
  TG_CHECK_TENSOR(tg::norm(x, 1.0, 1), f64({6, 15}));
  // tf.nn.moments(x, axes=0)                       -> mean [2.5, 3.5, 4.5], variance 2.25 each
  tg::Moments m = tg::moments(x, 0);
  TG_CHECK_TENSOR(m.mean, f64({2.5, 3.5, 4.5}));
  TG_CHECK_TENSOR(m.variance, f64({2.25, 2.25, 2.25}));
  // keras.ops.squeeze(tf.zeros((2, 1, 3)), axis=1) -> shape (2, 3)
  CHECK(tg::squeeze(tg::zeros({2, 1, 3}), 1).shape() == tg::Shape{2, 3});
  // tf.math.l2_normalize([[3., 4.]], axis=1)       -> [[0.6, 0.8]]
  TG_CHECK_TENSOR(tg::l2_normalize(f64({3, 4}, {1, 2}), 1), f64({0.6, 0.8}, {1, 2}));
  // torch.nn.functional.normalize(t, p=1, dim=0) for t = [[1, 2], [3, 6]] -> [[1/4, 1/4], [3/4, 3/4]]
  TG_CHECK_TENSOR(tg::normalize(f64({1, 2, 3, 6}, {2, 2}), 1.0, 0), f64({0.25, 0.25, 0.75, 0.75}, {2, 2}));
  // An int64 axis, as a loop variable of another type would give.
  const std::int64_t last = -1;
  TG_CHECK_TENSOR(tg::sum(x, last), f64({6, 15}));
}

TEST_CASE("ergonomics: sum(x, {}) still reduces every axis (the trap of an int overload)") {
  // keras.ops.sum(x, axis=None): an int overload beside a list would read {} as axis 0.
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor all = tg::sum(x, {});
  CHECK(all.shape() == tg::Shape{});
  CHECK(all.item() == 21.0);
  CHECK(tg::mean(x, {}).item() == 3.5);
  CHECK(tg::max(x, {}, true).shape() == tg::Shape{1, 1});
  // squeeze(x, {}) drops every size-1 axis; l2_normalize(x, {}) normalizes over all of x (axis=None).
  CHECK(tg::squeeze(tg::zeros({1, 2, 1}), {}).shape() == tg::Shape{2});
  TG_CHECK_TENSOR(tg::l2_normalize(f64({3, 0, 0, 4}, {2, 2}), {}), f64({0.6, 0, 0, 0.8}, {2, 2}));
  // Braced lists and vectors still work.
  TG_CHECK_TENSOR(tg::sum(x, {0, 1}), f64({21}, {}));
  TG_CHECK_TENSOR(tg::sum(x, {-1}), f64({6, 15}));
  const std::vector<int> axes = {0};
  TG_CHECK_TENSOR(tg::sum(x, axes), f64({5, 7, 9}));
  tg::Axes built;
  built.push_back(1);
  TG_CHECK_TENSOR(tg::sum(x, built), f64({6, 15}));
}

TEST_CASE("ergonomics: an int axis out of range is refused by the op, naming it") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_CONTAINS(error_of([&] { tg::sum(x, 2); }), "sum");
  CHECK_CONTAINS(error_of([&] { tg::sum(x, 2); }), "axis 2");
  CHECK_CONTAINS(error_of([&] { tg::mean(x, -3); }), "mean");
  CHECK_CONTAINS(error_of([&] { tg::squeeze(x, 0); }), "squeeze: axis 0 has size 2");
}
