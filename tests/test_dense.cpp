// dense with a named activation: PyTorch values, the fused path and the
// composition agreeing, gradchecks for each activation and rank, the Dense
// layer as the same op, bad input. (The fused tg::dense(x, kernel, bias,
// relu) itself: test_linalg.cpp.)
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "op_checks.hpp"

using tg::Tensor;
using tgtest::error_of;
using tgtest::f64;
using tgtest::randn64;
using V = std::vector<Tensor>;

namespace {
const std::vector<std::string> activations = {"", "linear", "relu", "sigmoid", "tanh", "softmax", "softplus",
                                              "log_softmax"};
}  // namespace

TEST_CASE("dense: values against PyTorch 1.13") {
  // torch: act(x @ W + b) in float64.
  Tensor x = f64({1, -2, 0.5, 0, 1, 2, -1, 0, 1, 2, 2, -3}, {2, 2, 3});
  Tensor w = f64({0.5, -1, 1, 0.25, -0.5, 2}, {3, 2});
  Tensor b = f64({0.1, -0.2});
  Tensor x0 = tg::reshape(tg::slice(x, 0, 0, 1), {2, 3}), x1 = tg::reshape(tg::slice(x, 0, 1, 2), {2, 3});
  Tensor s = tg::dense(x, w, b, "sigmoid");
  CHECK(s.shape() == tg::Shape{2, 2, 2});
  TG_CHECK_VALUES(s, {0.16110894957658525, 0.3318122278318339, 0.52497918747894, 0.9828759666842724,
                      0.289050497374996, 0.9426758241011313, 0.9900481981330957, 0.000452622223240535},
                  1e-12, 1e-15);
  TG_CHECK_VALUES(tg::dense(x0, w, b, "softmax"),
                  {0.27888482197713693, 0.7211151780228631, 0.01889096193703906, 0.9811090380629609}, 1e-12, 1e-15);
  TG_CHECK_VALUES(tg::dense(x1, w, b, "relu"), {0, 2.8, 4.6, 0}, 1e-14, 1e-15);
  TG_CHECK_VALUES(tg::dense(x1, w, Tensor(), "tanh"),
                  {-0.7615941559557649, 0.9950547536867305, 0.9997532108480275, -0.9999993881955461}, 1e-12, 1e-15);
  // By hand: [1, 2] @ [[1], [-1]] + 0.5 = -0.5, relu 0; linear keeps -0.5.
  TG_CHECK_VALUES(tg::dense(f64({1, 2}, {1, 2}), f64({1, -1}, {2, 1}), f64({0.5}), "relu"), {0});
  TG_CHECK_VALUES(tg::dense(f64({1, 2}, {1, 2}), f64({1, -1}, {2, 1}), f64({0.5}), std::string("linear")), {-0.5});
}

TEST_CASE("dense: every activation, rank 2 and 3, with and without bias, is the composition") {
  Tensor w = randn64({4, 3}, 1), b = randn64({3}, 2);
  for (const std::string& act : activations)
    for (const tg::Shape& shape : {tg::Shape{5, 4}, tg::Shape{2, 3, 4}})
      for (bool bias : {true, false}) {
        CAPTURE(act);
        CAPTURE(shape);
        CAPTURE(bias);
        Tensor x = randn64(shape, 3);
        Tensor y = tg::matmul(tg::reshape(x, {-1, 4}), w);
        if (bias) y = y + b;
        y = tg::activations::get(act)(y);
        std::vector<std::int64_t> out = shape.to_vector();
        out.back() = 3;
        TG_CHECK_TENSOR(tg::dense(x, w, bias ? b : Tensor(), act), tg::reshape(y, out), 1e-12, 1e-14);
        // The fused path (rank 2, none or relu) is the fused op itself.
        if (shape.rank() == 2 && (act.empty() || act == "linear" || act == "relu"))
          TG_CHECK_TENSOR(tg::dense(x, w, bias ? b : Tensor(), act), tg::dense(x, w, bias ? b : Tensor(), act == "relu"),
                          0, 0);
      }
}

TEST_CASE("dense: gradcheck through x, kernel and bias for each activation") {
  std::uint64_t seed = 1;
  for (const std::string& act : activations)
    for (const tg::Shape& shape : {tg::Shape{4, 3}, tg::Shape{2, 2, 3}}) {
      CAPTURE(act);
      CAPTURE(shape);
      // Inputs away from relu's kink: x and kernel of one sign pattern's magnitude >= 0.3.
      Tensor x = tgtest::away_from_zero(shape, seed, 0.3), w = tgtest::away_from_zero({3, 2}, seed + 1, 0.3);
      Tensor b = f64({0.05, -0.05});
      TG_CHECK_GRADCHECK([act](const V& v) { return tg::dense(v[0], v[1], v[2], act); }, {x, w, b});
      TG_CHECK_GRADCHECK([act](const V& v) { return tg::dense(v[0], v[1], Tensor(), act); }, {x, w});
      seed += 2;
    }
  TG_CHECK_GRADGRADCHECK([](const V& v) { return tg::dense(v[0], v[1], v[2], "tanh"); },
                         {randn64({2, 2, 3}, 40), randn64({3, 2}, 41), randn64({2}, 42)});
}

TEST_CASE("dense: the Dense layer is dense of its weights") {
  for (const std::string& act : {"relu", "tanh", ""}) {
    CAPTURE(act);
    tg::layers::Dense layer(3, act);
    for (const tg::Shape& shape : {tg::Shape{4, 5}, tg::Shape{2, 4, 5}}) {
      Tensor x = randn64(shape, 7);
      Tensor y = layer(x);  // the first call creates the weights
      TG_CHECK_TENSOR(y, tg::dense(x, layer.kernel(), layer.bias(), act), 0, 0);
    }
  }
}

TEST_CASE("dense: bad input names the op and what was received") {
  Tensor x = randn64({2, 3}, 1), w = randn64({3, 4}, 2), b = randn64({4}, 3);
  CHECK(tgtest::contains(error_of([&] { tg::dense(x, w, b, "crelu"); }), "dense: unknown activation \"crelu\" (known: \"relu\""));
  CHECK(error_of([&] { tg::dense(x, randn64({2, 4}, 4), b, "tanh"); }) ==
        "dense: expected x (batch, ..., in) and kernel (in, units), received (2, 3) and (2, 4)");
  CHECK(error_of([&] { tg::dense(randn64({3}, 5), w, b, "tanh"); }) ==
        "dense: expected x (batch, ..., in) and kernel (in, units), received (3,) and (3, 4)");
  CHECK(error_of([&] { tg::dense(x, w, randn64({3}, 6), "sigmoid"); }) ==
        "dense: expected a bias of shape (4,), received (3,)");
  CHECK(tgtest::contains(error_of([&] { tg::dense(x, w.to(tg::float32), b, "relu"); }), "dense: dtypes differ: float64 and float32"));
  CHECK(error_of([&] { tg::dense(Tensor(), w, b, "relu"); }) == "dense: received an undefined tensor");
}
