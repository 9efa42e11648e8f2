// Private helpers shared by the losses: argument checks whose messages name
// the loss and end with what was received, label-value checks, and the
// per-sample mean. Not installed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tg::losses::detail {

// describe() and format_number() are tg::detail's (tapegrad/autodiff/format.hpp).
using tg::detail::describe;
using tg::detail::format_number;

// `t` is defined and float32 or float64.
void check_float(const char* loss, const char* what, const Tensor& t);
// Both floating, of one dtype.
void check_same_float(const char* loss, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
void check_same_shape(const char* loss, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
// rank >= min_rank; `expected` describes the expected shape, e.g. "(batch, features)".
void check_rank(const char* loss, const char* what, const Tensor& t, int min_rank, const char* expected);
// Exactly rank `rank`.
void check_rank_exact(const char* loss, const char* what, const Tensor& t, int rank, const char* expected);
// At least one sample along axis 0.
void check_nonempty(const char* loss, const char* what, const Tensor& t);

// `t` in `like`'s dtype (a converted copy, through which no gradient flows, if
// the dtypes differ; `t` itself otherwise).
Tensor cast_like(const Tensor& t, const Tensor& like);

// Target-style inputs: y_pred floating with a non-empty batch, y_true converted
// to y_pred's dtype and of y_pred's shape. As Keras, a y_true of shape (batch,)
// against a y_pred of shape (batch, 1) (or the reverse) is reshaped to y_pred's.
Tensor align_target(const char* loss, const Tensor& y_true, const Tensor& y_pred);

// One value per sample: `t` of shape (batch,) or (batch, 1), returned as (batch,).
// `what` names the argument ("label", "sample_weight").
Tensor batch_vector(const char* loss, const char* what, const Tensor& t, std::int64_t batch);

// Throws unless ok(v) holds for every element v of t (read as double), naming
// the first offending value and its index: "<loss>: <what> must be <expected>,
// received 0 at index 2".
void check_values(const char* loss, const char* what, const Tensor& t, const std::function<bool(double)>& ok,
                  const char* expected);

// Pair inputs: x1, x2 of one shape (batch, features) and one floating dtype,
// and a label of shape (batch,) or (batch, 1) whose values all satisfy ok().
// Returns the label as a (batch,) tensor of x1's dtype.
Tensor pair_label(const char* loss, const Tensor& x1, const Tensor& x2, const Tensor& label,
                  const std::function<bool(double)>& ok, const char* expected);

// The mean over every axis but the first: (batch, ...) -> (batch,). A (batch,)
// tensor is returned unchanged.
Tensor per_sample_mean(const Tensor& values);

}  // namespace tg::losses::detail
