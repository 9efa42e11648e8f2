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

// ---- 2. tensor methods ---------------------------------------------------------

TEST_CASE("ergonomics: methods spell the free ops as PyTorch and NumPy do") {
  // x = torch.tensor([[1., 2., 3.], [4., 5., 6.]], dtype=torch.float64)
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  TG_CHECK_TENSOR(x.sum(), f64({21}, {}));                  // x.sum()                 -> 21
  TG_CHECK_TENSOR(x.sum(0), f64({5, 7, 9}));                // x.sum(0)                -> [5, 7, 9]
  TG_CHECK_TENSOR(x.mean(-1, true), f64({2, 5}, {2, 1}));   // x.mean(-1, keepdim=True) -> [[2], [5]]
  TG_CHECK_TENSOR(x.max(1), f64({3, 6}));                   // x.amax(1)               -> [3, 6]
  TG_CHECK_TENSOR(x.min({0, 1}), f64({1}, {}));             // x.amin((0, 1))          -> 1
  TG_CHECK_TENSOR(x.norm(1.0, 0), f64({5, 7, 9}));          // x.norm(1, dim=0)        -> [5, 7, 9]
  TG_CHECK_VALUES(x.norm(), {std::sqrt(91.0)});             // x.norm(): sqrt(1+4+9+16+25+36)
  TG_CHECK_TENSOR(x.reshape({3, -1}), f64({1, 2, 3, 4, 5, 6}, {3, 2}));  // x.reshape(3, -1)
  TG_CHECK_TENSOR(x.T(), f64({1, 4, 2, 5, 3, 6}, {3, 2}));  // x.T (NumPy: every axis reversed)
  TG_CHECK_TENSOR(x.transpose({1, 0}), x.T());              // np.transpose(x, (1, 0))
  CHECK(tg::zeros({2, 3, 4}).T().shape() == tg::Shape{4, 3, 2});
  CHECK(tg::zeros({2, 3, 4}).transpose().shape() == tg::Shape{4, 3, 2});
  CHECK(tg::zeros({1, 3, 1}).squeeze().shape() == tg::Shape{3});       // x.squeeze()
  CHECK(tg::zeros({1, 3, 1}).squeeze(-1).shape() == tg::Shape{1, 3});  // x.squeeze(-1)
  CHECK(x.expand_dims(1).shape() == tg::Shape{2, 1, 3});               // np.expand_dims(x, 1)
  const Tensor y = f64({-4, 0.25});
  TG_CHECK_TENSOR(y.abs(), f64({4, 0.25}));                     // y.abs()
  TG_CHECK_TENSOR(y.square(), f64({16, 0.0625}));               // y.square()
  TG_CHECK_TENSOR(y.abs().sqrt(), f64({2, 0.5}));               // y.abs().sqrt()
  TG_CHECK_TENSOR(y.pow(2.0), f64({16, 0.0625}));               // y.pow(2)
  TG_CHECK_TENSOR(y.abs().pow(f64({0.5, -1})), f64({2, 4}));    // y.abs().pow(torch.tensor([.5, -1]))
  TG_CHECK_VALUES(f64({0, 1}).exp(), {1, std::exp(1.0)});       // x.exp()
  TG_CHECK_VALUES(f64({1, std::exp(2.0)}).log(), {0, 2});       // x.log()
}

TEST_CASE("ergonomics: methods are differentiable (gradcheck in float64)") {
  TG_CHECK_GRADCHECK([](const V& v) { return v[0].sum(1).square().mean(); }, {randn64({2, 3}, 1)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0].T().reshape({-1}).max(0); }, {randn64({2, 3}, 2)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0].abs().sqrt().log().exp().pow(3.0).norm(2.0, -1); },
                     {tgtest::away_from_zero({3, 2}, 3)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0].expand_dims(0).squeeze(0).min(-1, true); }, {randn64({3, 4}, 4)});
}

TEST_CASE("ergonomics: methods report bad input under the op's name") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_CONTAINS(error_of([&] { x.sum(2); }), "sum");
  CHECK_CONTAINS(error_of([&] { x.reshape({4, -1}); }), "reshape");
  CHECK_CONTAINS(error_of([&] { x.squeeze(0); }), "squeeze");
  CHECK_CONTAINS(error_of([&] { Tensor().mean(); }), "mean");
}

// ---- 3. indexing ----------------------------------------------------------------

TEST_CASE("ergonomics: x[i] selects along axis 0 and drops it") {
  // x = torch.arange(6.).reshape(2, 3)
  const Tensor x = f64({0, 1, 2, 3, 4, 5}, {2, 3});
  TG_CHECK_TENSOR(x[0], f64({0, 1, 2}));  // x[0]   -> [0, 1, 2]
  TG_CHECK_TENSOR(x[-1], f64({3, 4, 5})); // x[-1]  -> [3, 4, 5]
  TG_CHECK_TENSOR(x[1][2], f64({5}, {})); // x[1][2] -> 5, 0-d
  CHECK(x[1][-3].item() == 3.0);
  // An int64 tensor indexes too (not recorded: no gradient).
  TG_CHECK_TENSOR(i64({7, 8, 9}, {3, 1})[2], i64({9}, {1}));
  // Batch 1: x[0] of a (1, 3) tensor.
  TG_CHECK_TENSOR(f64({1, 2, 3}, {1, 3})[0], f64({1, 2, 3}));
}

TEST_CASE("ergonomics: index expressions as PyTorch's C++ frontend spells them") {
  using tg::Ellipsis;
  using tg::NewAxis;
  using tg::Slice;
  // x = np.arange(24.).reshape(2, 3, 4)
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[static_cast<std::size_t>(i)] = i;
  const Tensor x = f64(v, {2, 3, 4});
  // x[0, 1:3, None, ..., :] -> shape (2, 1, 4): rows 1 and 2 of x[0]
  Tensor a = x.index({0, Slice(1, 3), NewAxis, Ellipsis, Slice()});
  TG_CHECK_TENSOR(a, f64({4, 5, 6, 7, 8, 9, 10, 11}, {2, 1, 4}));
  // x[:, 1:3] (Keras users' x[:, 1:3]): shape (2, 2, 4)
  CHECK(x.index({Slice(), Slice(1, 3)}).shape() == tg::Shape{2, 2, 4});
  // x[..., -1] -> the last column: [[3, 7, 11], [15, 19, 23]]
  TG_CHECK_TENSOR(x.index({Ellipsis, -1}), f64({3, 7, 11, 15, 19, 23}, {2, 3}));
  // x[1, ::2, 1::2] -> [[13, 15], [21, 23]]
  TG_CHECK_TENSOR(x.index({1, Slice(tg::None, tg::None, 2), Slice(1, tg::None, 2)}), f64({13, 15, 21, 23}, {2, 2}));
  // x[1, -1, -3:-1] -> [21, 22] (negative bounds count from the end)
  TG_CHECK_TENSOR(x.index({1, -1, Slice(-3, -1)}), f64({21, 22}));
  // x[0, 0, -100:100] -> every element: bounds are clamped, as Python's
  TG_CHECK_TENSOR(x.index({0, 0, Slice(-100, 100)}), f64({0, 1, 2, 3}));
  // x[0, 0, 3:1] -> empty, shape (0,)
  CHECK(x.index({0, 0, Slice(3, 1)}).shape() == tg::Shape{0});
  // x[None] and x[..., None]: new axes in front and at the back (None is NewAxis)
  CHECK(x.index({tg::None}).shape() == tg::Shape{1, 2, 3, 4});
  CHECK(x.index({Ellipsis, NewAxis}).shape() == tg::Shape{2, 3, 4, 1});
  // x[()] is x; an empty batch slices to shape (0, 3, 4).
  CHECK(x.index({}).shape() == x.shape());
  CHECK(x.index({Slice(0, 0)}).shape() == tg::Shape{0, 3, 4});
  // A vector of items, built at run time.
  std::vector<tg::TensorIndex> items = {1, 2};
  TG_CHECK_TENSOR(x.index(items), f64({20, 21, 22, 23}));
}

TEST_CASE("ergonomics: indexing is differentiable (gradcheck in float64)") {
  using tg::Slice;
  TG_CHECK_GRADCHECK([](const V& v) { return v[0][1]; }, {randn64({3, 4}, 5)});
  TG_CHECK_GRADCHECK([](const V& v) { return v[0][-1][2]; }, {randn64({3, 4}, 6)});
  TG_CHECK_GRADCHECK(
      [](const V& v) { return v[0].index({Slice(tg::None, tg::None, 2), tg::NewAxis, tg::Ellipsis, Slice(-3, -1)}); },
      {randn64({3, 2, 4}, 7)});
  // The gradient of x[1, ::2] is the upstream scattered back into zeros.
  const Tensor x = randn64({2, 3}, 8);
  std::vector<Tensor> g = tgtest::grads_of([](const V& v) { return v[0].index({1, Slice(tg::None, tg::None, 2)}); },
                                           {x}, f64({10, 20}));
  TG_CHECK_TENSOR(g[0], f64({0, 0, 0, 10, 0, 20}, {2, 3}));
}

TEST_CASE("ergonomics: bad index expressions name the axis, the index and the size") {
  using tg::Ellipsis;
  using tg::Slice;
  const Tensor x = tg::zeros({2, 3});
  std::string e = error_of([&] { x[2]; });
  CHECK_CONTAINS(e, "Tensor::operator[]");
  CHECK_CONTAINS(e, "index 2 is out of range for axis 0 of size 2");
  CHECK_CONTAINS(error_of([&] { x[-3]; }), "index -3 is out of range for axis 0 of size 2");
  CHECK_CONTAINS(error_of([&] { x.index({0, 3}); }), "Tensor::index: index 3 is out of range for axis 1 of size 3");
  CHECK_CONTAINS(error_of([&] { x.index({Ellipsis, 0, Ellipsis}); }), "Tensor::index: expected at most one Ellipsis");
  e = error_of([&] { x.index({0, 0, 0}); });
  CHECK_CONTAINS(e, "Tensor::index: too many indices: 3");
  CHECK_CONTAINS(e, "(2, 3)");
  CHECK_CONTAINS(error_of([&] { tg::scalar_like(x, 1.0)[0]; }), "too many indices");
  CHECK_CONTAINS(error_of([&] { x.index({Slice(0, 2, 0)}); }), "Tensor::index: expected a slice step > 0, received 0");
  CHECK_CONTAINS(error_of([&] { x.index({Slice(0, 2, -1)}); }), "received -1");
  CHECK_CONTAINS(error_of([&] { Tensor()[0]; }), "Tensor::operator[]");
}

// ---- 4. scalar comparisons and where ---------------------------------------------

TEST_CASE("ergonomics: comparison operators, tensor with tensor and with a scalar on either side") {
  // x = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64); y = torch.tensor([0.5, 0.5, 0.5], ...)
  const Tensor x = f64({0.25, 0.5, 0.75}), y = f64({0.5, 0.5, 0.5});
  TG_CHECK_TENSOR(x > 0.5, f64({0, 0, 1}));   // x > 0.5
  TG_CHECK_TENSOR(x >= 0.5, f64({0, 1, 1}));  // x >= 0.5
  TG_CHECK_TENSOR(x < 0.5, f64({1, 0, 0}));   // x < 0.5
  TG_CHECK_TENSOR(x <= 0.5, f64({1, 1, 0}));  // x <= 0.5
  TG_CHECK_TENSOR(x == 0.5, f64({0, 1, 0}));  // x == 0.5
  TG_CHECK_TENSOR(x != 0.5, f64({1, 0, 1}));  // x != 0.5
  TG_CHECK_TENSOR(0.5 < x, f64({0, 0, 1}));   // 0.5 < x: the scalar on the left
  TG_CHECK_TENSOR(0.5 >= x, f64({1, 1, 0}));
  TG_CHECK_TENSOR(0.5 == x, f64({0, 1, 0}));
  TG_CHECK_TENSOR(0.5 != x, f64({1, 0, 1}));
  TG_CHECK_TENSOR(x > y, f64({0, 0, 1}));     // x > y
  TG_CHECK_TENSOR(x >= y, f64({0, 1, 1}));
  TG_CHECK_TENSOR(x == y, f64({0, 1, 0}));
  TG_CHECK_TENSOR(x != y, f64({1, 0, 1}));
  TG_CHECK_TENSOR(x < y, f64({1, 0, 0}));
  TG_CHECK_TENSOR(x <= y, f64({1, 1, 0}));
  // Broadcasting, and an int literal as the scalar: (x > 0) for a (2, 1) against (3,)
  TG_CHECK_TENSOR(f64({-1, 1}, {2, 1}) > y, f64({0, 0, 0, 1, 1, 1}, {2, 3}));
  TG_CHECK_TENSOR(f64({-1, 0, 2}) > 0, f64({0, 0, 1}));
  // float32 in, float32 out; not recorded: no gradient reaches x through a comparison.
  const Tensor x32 = x.to(tg::float32);
  CHECK((x32 > 0.5).dtype() == tg::float32);
  tg::GradientTape tape;
  tape.watch(x);
  Tensor mask = x > 0.5;
  CHECK(tape.size() == 0);
  CHECK(mask.dtype() == tg::float64);
}

TEST_CASE("ergonomics: where with scalar branches") {
  // torch.where(c, x, 0.), torch.where(c, 1., x), torch.where(c, 1., 0.)
  const Tensor x = f64({1, 2, 3}), c = f64({1, 0, 1});
  TG_CHECK_TENSOR(tg::where(c, x, 0.0), f64({1, 0, 3}));
  TG_CHECK_TENSOR(tg::where(c, 1.0, x), f64({1, 2, 1}));
  TG_CHECK_TENSOR(tg::where(x > 1.5, 1.0, 0.0), f64({0, 1, 1}));  // cond float64: float64
  Tensor both = tg::where(i64({1, 0}), 1.0, -1.0);                 // cond int64: float32
  CHECK(both.dtype() == tg::float32);
  TG_CHECK_VALUES(both, {1, -1});
  CHECK(tg::where(c, x.to(tg::float32), 0.0).dtype() == tg::float32);
  // An int branch with an int scalar stays int64; with a double scalar it is float32.
  CHECK(tg::where(i64({1, 0}), i64({5, 6}), 0).dtype() == tg::int64);
  TG_CHECK_VALUES(tg::where(i64({1, 0}), i64({5, 6}), 0), {5, 0});
  Tensor half = tg::where(i64({1, 0}), 0.5, i64({5, 6}));
  CHECK(half.dtype() == tg::float32);
  TG_CHECK_VALUES(half, {0.5, 6});
  // The gradient goes to x where the branch is x: d sum(where(c, x, 0)) = c.
  TG_CHECK_GRADCHECK([c](const V& v) { return tg::where(c, v[0], 0.0) * v[0]; }, {randn64({3}, 9)});
  TG_CHECK_GRADCHECK([c](const V& v) { return tg::where(c, 2.0, v[0]).square(); }, {randn64({3}, 10)});
  std::vector<Tensor> g = tgtest::grads_of([c](const V& v) { return tg::where(c, v[0], 0.0); }, {x});
  TG_CHECK_TENSOR(g[0], f64({1, 0, 1}));
  CHECK_CONTAINS(error_of([&] { tg::where(Tensor(), 1.0, 0.0); }), "where: received an undefined tensor");
  CHECK_CONTAINS(error_of([&] { tg::where(c, Tensor(), 0.0); }), "where: received an undefined tensor");
  CHECK_CONTAINS(error_of([&] { tg::where(f64({1, 0}), x, 0.0); }), "where");
}

// ---- 5. type promotion -------------------------------------------------------------

TEST_CASE("ergonomics: int64 with a floating tensor promotes to the floating dtype") {
  // Keras 3: keras.ops.add(np.array([1, 2]), np.array([0.5, 0.25], "float32")) -> float32 [1.5, 2.25]
  const Tensor n = i64({1, 2}), h = f64({0.5, 0.25}).to(tg::float32), d = f64({0.5, 0.25});
  Tensor s = n + h;
  CHECK(s.dtype() == tg::float32);
  TG_CHECK_VALUES(s, {1.5, 2.25});
  CHECK((h + n).dtype() == tg::float32);
  // int64 with float64 -> float64, in every binary op
  TG_CHECK_TENSOR(n + d, f64({1.5, 2.25}));
  TG_CHECK_TENSOR(d - n, f64({-0.5, -1.75}));
  TG_CHECK_TENSOR(n * d, f64({0.5, 0.5}));
  TG_CHECK_TENSOR(n / d, f64({2, 8}));
  TG_CHECK_TENSOR(tg::maximum(n, d), f64({1, 2}));
  TG_CHECK_TENSOR(tg::minimum(d, n), f64({0.5, 0.25}));
  TG_CHECK_TENSOR(tg::pow(d, n), f64({0.5, 0.0625}));
  TG_CHECK_TENSOR(tg::pow(n, d), f64({1, std::pow(2.0, 0.25)}));
  TG_CHECK_TENSOR(tg::where(f64({1, 0}), n, d), f64({1, 0.25}));
  TG_CHECK_TENSOR(n > d, f64({1, 1}));
  TG_CHECK_TENSOR(tg::equal(i64({1, 2}), f64({1, 2.5})), f64({1, 0}));
}

TEST_CASE("ergonomics: scalars with an int64 tensor, PyTorch's rules") {
  const Tensor n = i64({1, 2});
  // torch.tensor([1, 2]) * 0.5 -> tensor([0.5, 1.0]) (float32)
  Tensor half = n * 0.5;
  CHECK(half.dtype() == tg::float32);
  TG_CHECK_VALUES(half, {0.5, 1.0});
  CHECK((0.5 + n).dtype() == tg::float32);
  // torch.tensor([1, 2]) + 1 -> tensor([2, 3]) (int64); 1L, int64_t and unsigned too
  Tensor plus = n + 1;
  CHECK(plus.dtype() == tg::int64);
  CHECK(plus.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 3});
  CHECK((n + 1L).dtype() == tg::int64);
  CHECK((std::int64_t{3} * n).to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 6});
  CHECK((n - 1u).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  CHECK((10 - n).to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 8});
  // int64 + int64 stays int64; int64 / int64 is true division: float32 (torch: tensor([1, 2]) / 2 -> [0.5, 1.])
  CHECK((n + n).dtype() == tg::int64);
  CHECK((n * n).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 4});
  Tensor q = n / 2;
  CHECK(q.dtype() == tg::float32);
  TG_CHECK_VALUES(q, {0.5, 1.0});
  TG_CHECK_VALUES(i64({7, -7}) / i64({2, 2}), {3.5, -3.5});  // not C++'s truncation to 3, -3
  // int64 ** int64 stays int64 and exact: 3^39 > 2^53 would round in a double.
  Tensor p = tg::pow(i64({2, 3, 5}), i64({10, 39, 0}));
  CHECK(p.dtype() == tg::int64);
  CHECK(p.to_vector<std::int64_t>() == std::vector<std::int64_t>{1024, 4052555153018976267LL, 1});
  // Beyond int64 it wraps modulo 2^64, as PyTorch: torch.tensor([3]) ** 41 -> -420491770248316829.
  CHECK(tg::pow(i64({3}), i64({41})).to_vector<std::int64_t>() == std::vector<std::int64_t>{-420491770248316829LL});
  // Comparisons with an int scalar stay int64; with a double they compare in float32.
  CHECK((n > 1).dtype() == tg::int64);
  CHECK((n > 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  CHECK((n > 1.5).dtype() == tg::float32);
  TG_CHECK_VALUES(n > 1.5, {0, 1});
  // A float tensor with an int scalar keeps its dtype, as before.
  CHECK((f64({1.5}) + 1).dtype() == tg::float64);
  CHECK((f64({1.5}).to(tg::float32) * 2).dtype() == tg::float32);
  // Not recorded: an int64 result has no gradient.
  tg::GradientTape tape;
  Tensor ignored = n + n;
  CHECK(tape.size() == 0);
}

TEST_CASE("ergonomics: the gradient of a promoted op flows to the floating operand only") {
  const Tensor n = i64({1, 2, 3});
  // gradcheck in float64 of every binary op with an int64 operand
  TG_CHECK_GRADCHECK([n](const V& v) { return v[0] + n; }, {randn64({3}, 11)});
  TG_CHECK_GRADCHECK([n](const V& v) { return n - v[0]; }, {randn64({2, 3}, 12)});
  TG_CHECK_GRADCHECK([n](const V& v) { return v[0] * n; }, {randn64({3}, 13)});
  TG_CHECK_GRADCHECK([n](const V& v) { return n / v[0]; }, {tgtest::away_from_zero({3}, 14, 0.5)});
  TG_CHECK_GRADCHECK([n](const V& v) { return v[0] / n; }, {randn64({3}, 15)});
  TG_CHECK_GRADCHECK([n](const V& v) { return tg::pow(v[0], n); }, {randn64({3}, 16)});
  TG_CHECK_GRADCHECK([n](const V& v) { return tg::pow(n, v[0]); }, {randn64({3}, 17)});
  TG_CHECK_GRADCHECK([n](const V& v) { return tg::maximum(v[0] * 3.0, n); }, {tgtest::uniform64({3}, 0.0, 0.5, 18)});
  TG_CHECK_GRADCHECK([n](const V& v) { return tg::where(f64({1, 0, 1}), v[0], n); }, {randn64({3}, 19)});
  // By hand: d sum(x * n) / dx = n = [1, 2, 3]; d sum((x + n) / 2) / dx = 1/2.
  const Tensor x = f64({0.1, 0.2, 0.3});
  TG_CHECK_TENSOR(tgtest::grads_of([n](const V& v) { return v[0] * n; }, {x})[0], f64({1, 2, 3}));
  TG_CHECK_TENSOR(tgtest::grads_of([n](const V& v) { return (v[0] + n) / 2; }, {x})[0], f64({0.5, 0.5, 0.5}));
}

TEST_CASE("ergonomics: float32 with float64 promotes to float64, differentiably") {
  // torch.tensor([1., 2.]) + torch.tensor([0.5, 0.25], dtype=torch.float64) -> float64 [1.5, 2.25]
  const Tensor h = f64({1, 2}).to(tg::float32), d = f64({0.5, 0.25});
  Tensor s = h + d;
  CHECK(s.dtype() == tg::float64);
  TG_CHECK_VALUES(s, {1.5, 2.25});
  CHECK((d > h).dtype() == tg::float64);
  TG_CHECK_VALUES(d > h, {0, 0});
  CHECK(tg::where(d, h, d).dtype() == tg::float64);
  // int64 * 0.5 is float32, so (n * 0.5) + float64 is float64: PyTorch's chain.
  CHECK((i64({1}) * 0.5 + d).dtype() == tg::float64);
  // The float32 operand gets a float32 gradient: d sum(h * d) / dh = d, d sum(h * d) / dd = h.
  tg::GradientTape tape;
  tape.watch({h, d});
  Tensor y = tg::sum(h * d);
  std::vector<Tensor> g = tape.gradient(y, {h, d});
  CHECK(g[0].dtype() == tg::float32);
  CHECK(g[1].dtype() == tg::float64);
  TG_CHECK_VALUES(g[0], {0.5, 0.25});
  TG_CHECK_VALUES(g[1], {1, 2});
  // gradcheck of the widening: the float32 input (GradcheckOptions::float32)
  // times a float64 constant, so the result is float64 and the gradient comes
  // back through the cast; then a float64 input with a float32 constant.
  const Tensor w = f64({0.25, 0.5, -0.75});
  // Its accumulation check is off: the gradient of f used twice is narrowed to
  // float32 after the sum, once, not twice, so it may differ from twice the
  // single gradient by one float32 ulp.
  tg::GradcheckOptions f32 = tg::GradcheckOptions::float32();
  f32.check_accumulation = false;
  TG_CHECK_GRADCHECK([w](const V& v) { return tg::square(v[0] * w + v[0]); }, {randn64({3}, 21)}, f32);
  TG_CHECK_GRADCHECK([w](const V& v) { return tg::square(w.to(tg::float32) * v[0] + v[0]); }, {randn64({3}, 22)});
  // Second derivatives through the cast: d^2 (h^2 d) / dh^2 = 2 d, by hand.
  tg::GradientTape outer;
  outer.watch(h);
  tg::GradientTape inner;
  inner.watch(h);
  Tensor z = tg::sum(h * h * d);
  Tensor dz = inner.gradient(z, {h})[0];
  CHECK(dz.dtype() == tg::float32);
  TG_CHECK_VALUES(dz, {2 * 1 * 0.5, 2 * 2 * 0.25});
  Tensor d2 = outer.gradient(tg::sum(dz), {h})[0];
  TG_CHECK_VALUES(d2, {1.0, 0.5});
}

TEST_CASE("ergonomics: promotion's bad input") {
  const Tensor h = f64({1, 2}).to(tg::float32), d = f64({1, 2});
  // int64 to a negative int64 power has no int64 result (PyTorch refuses it too).
  CHECK_CONTAINS(error_of([&] { tg::pow(i64({2}), i64({-1})); }), "pow: int64 to a negative int64 power (-1)");
  CHECK_CONTAINS(error_of([&] { i64({1}) + Tensor(); }), "add: received an undefined tensor");
  CHECK_CONTAINS(error_of([&] { Tensor() * 2; }), "mul: received an undefined tensor");
  // Unary ops still need a floating tensor.
  CHECK_CONTAINS(error_of([&] { tg::exp(i64({1})); }), "exp: expected a float32 or float64 tensor");
}
