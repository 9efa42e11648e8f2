// Sizes: element counts and byte sizes that overflow int64 are refused, with
// the op and the shape in the message, before anything is allocated. Each
// case below crashed, wrote past its buffer or was silently accepted before
// (issue 14). None of them allocates more than a few bytes.
#include <doctest/doctest.h>

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include <tapegrad/autodiff/allocator.hpp>
#include <tapegrad/tapegrad.hpp>

#include "op_checks.hpp"

using tg::Shape;
using tg::Tensor;
using tgtest::error_of;

namespace {

constexpr std::int64_t p32 = std::int64_t{1} << 32;
constexpr std::int64_t p62 = std::int64_t{1} << 62;

}  // namespace

TEST_CASE("sizes: Shape::numel and checked_numel refuse products beyond 2^63 - 1") {
  // 3037000500^2 = 9223372037000250000 > 2^63 - 1 = 9223372036854775807: the
  // unchecked product was negative.
  CHECK_THROWS_WITH_AS((Shape{3037000500, 3037000500}.numel()),
                       "Shape::numel: shape (3037000500, 3037000500) has about 9.22e+18 elements, more than the "
                       "2^63 - 1 a tensor can have",
                       std::invalid_argument);
  CHECK(Shape{3037000499, 3037000499}.numel() == 9223372030926249001);  // the largest square below 2^63
  CHECK(Shape{INT64_MAX}.numel() == INT64_MAX);
  CHECK_THROWS_WITH_AS(tg::checked_numel(Shape{p32, p32}, "my_op"),
                       "my_op: shape (4294967296, 4294967296) has about 1.84e+19 elements, more than the 2^63 - 1 a "
                       "tensor can have",
                       std::invalid_argument);
  // As numpy: the non-zero dimensions must multiply to a count that fits, in
  // any order, even when a zero makes the tensor empty.
  CHECK_THROWS_AS((Shape{p32, p32, 0}.numel()), std::invalid_argument);
  CHECK_THROWS_AS((Shape{0, p32, p32}.numel()), std::invalid_argument);
  CHECK(Shape{0, p62}.numel() == 0);
  CHECK(Shape{}.numel() == 1);
}

TEST_CASE("sizes: checked_byte_size refuses more than 2^63 - 1 bytes") {
  CHECK(tg::checked_byte_size(Shape{(p62 - 1) / 2}, tg::float32, "op") == static_cast<std::size_t>(p62 - 2) * 2);
  CHECK(tg::checked_byte_size(Shape{INT64_MAX / 8}, tg::float64, "op") == static_cast<std::size_t>(INT64_MAX / 8) * 8);
  CHECK_THROWS_WITH_AS(tg::checked_byte_size(Shape{INT64_MAX / 8 + 1}, tg::float64, "op"),
                       "op: a float64 tensor of shape (1152921504606846976,) would take about 9.22e+18 bytes, more "
                       "than the 2^63 - 1 a tensor can have",
                       std::invalid_argument);
  // An empty tensor is no loophole (numpy refuses np.zeros((0, 2**61), 'f8') too).
  CHECK_THROWS_AS(tg::checked_byte_size(Shape{0, std::int64_t{1} << 61}, tg::float64, "op"), std::invalid_argument);
  CHECK(tg::checked_byte_size(Shape{0, std::int64_t{1} << 59}, tg::float64, "op") == 0);
  CHECK(tg::checked_byte_size(Shape{}, tg::int64, "op") == 8);
}

TEST_CASE("sizes: the factories refuse shapes whose count or byte size overflows") {
  // zeros({2^32, 2^32}) got a 64-byte buffer (the byte size wrapped to 0) and
  // full() then wrote 2^64 elements into it.
  CHECK_THROWS_WITH_AS(tg::zeros({p32, p32}),
                       "zeros: shape (4294967296, 4294967296) has about 1.84e+19 elements, more than the 2^63 - 1 a "
                       "tensor can have",
                       std::invalid_argument);
  // 2^62 - 1 elements fit in int64, but 4 bytes each wrap around 2^64 after
  // the rounding up to 64 bytes: full() wrote past the buffer.
  CHECK_THROWS_WITH_AS(tg::zeros({p62 - 1}),
                       "zeros: a float32 tensor of shape (4611686018427387903,) would take about 1.84e+19 bytes, more "
                       "than the 2^63 - 1 a tensor can have",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::ones({3037000500, 3037000500}), doctest::Contains("ones: shape (3037000500, 3037000500)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::full({p32, p32}, 2.0), doctest::Contains("full: shape"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Tensor::empty({p62}, tg::int64), doctest::Contains("Tensor::empty: a int64 tensor of shape"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::randn({p32, p32}, 0), doctest::Contains("randn: shape (4294967296, 4294967296)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::uniform({p62}, 0, 1, 0), doctest::Contains("uniform: a float32 tensor"),
                       std::invalid_argument);
  tg::Generator gen(0);
  CHECK_THROWS_WITH_AS(tg::randint({p32, p32}, 0, 2, gen), doctest::Contains("randint: shape"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::Tensor::from_vector(std::vector<float>{1}, Shape{p32, p32}),
                       doctest::Contains("Tensor::from_vector: shape (4294967296, 4294967296)"), std::invalid_argument);
  // Empty tensors with huge (but countable) dimensions are fine.
  CHECK(tg::zeros({0, p62 / 8}).numel() == 0);
}

TEST_CASE("sizes: the allocator refuses sizes its rounding would wrap, saying how much") {
  // Callers check first; this is the allocator's own guard (SIZE_MAX rounded
  // up to 64 bytes is 0).
  const std::string message = error_of([] { tg::detail::allocate_buffer(SIZE_MAX); });
  CHECK(message == "tapegrad: cannot allocate 18446744073709551615 bytes (17179869183 GiB) for a tensor");
  CHECK_THROWS_AS(tg::detail::allocate_buffer(SIZE_MAX - 10), std::bad_alloc);
}

TEST_CASE("sizes: reshape checks the product of the requested sizes") {
  // (2^62 + 1) * 4 = 2^64 + 4 wrapped around to 4, so arange(4) was "reshaped" to it.
  CHECK_THROWS_WITH_AS(tg::reshape(tg::arange(4), {p62 + 1, 4}),
                       "reshape: cannot reshape a tensor of shape (4,) (4 elements) to (4611686018427387905, 4): the "
                       "sizes multiply to more than 2^63 - 1 elements",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::reshape(tg::arange(4), {-1, p62, 4}), doctest::Contains("multiply to more than 2^63 - 1"),
                       std::invalid_argument);
  CHECK_THROWS_AS(tg::reshape(tg::zeros({0}), {0, p62, 4}), std::invalid_argument);
  // An empty view is held to the byte limit too, as every tensor is: 2^62 float32 dimensions would take 2^64 bytes.
  CHECK_THROWS_WITH_AS(tg::reshape(tg::zeros({0}), {0, p62}),
                       doctest::Contains("reshape: a float32 tensor of shape (0, 4611686018427387904)"),
                       std::invalid_argument);
  CHECK(tg::reshape(tg::zeros({0}), {0, p62 / 8}).shape() == Shape{0, p62 / 8});
  CHECK(tg::reshape(tg::arange(4), {-1, 2}).shape() == Shape{2, 2});
}

TEST_CASE("sizes: broadcast_to, broadcast_shapes and concat refuse results that overflow") {
  const Tensor x = tg::ones({1});
  CHECK_THROWS_WITH_AS(tg::broadcast_to(x, {p32, p32, 3}),
                       "broadcast_to: shape (4294967296, 4294967296, 3) has about 5.53e+19 elements, more than the "
                       "2^63 - 1 a tensor can have",
                       std::invalid_argument);
  // 2^62 elements fit; 8 bytes each do not.
  CHECK_THROWS_WITH_AS(tg::broadcast_to(tg::ones({1}, tg::float64), {std::int64_t{1} << 31, std::int64_t{1} << 31}),
                       doctest::Contains("broadcast_to: a float64 tensor of shape (2147483648, 2147483648)"),
                       std::invalid_argument);
  // What a binary op such as add((2^32, 1), (1, 2^32)) computes first.
  CHECK_THROWS_WITH_AS(tg::broadcast_shapes({p32, 1}, {1, p32}, "add"),
                       doctest::Contains("add: shape (4294967296, 4294967296) has about 1.84e+19"),
                       std::invalid_argument);
  // Empty tensors whose lengths along the axis add up to too many bytes, then beyond int64.
  const Tensor part = tg::zeros({0, std::int64_t{1} << 60}, tg::float32);
  CHECK_THROWS_WITH_AS(tg::concat({part, part}, 1),
                       doctest::Contains("concat: a float32 tensor of shape (0, 2305843009213693952)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::concat({part, part, part, part, part, part, part, part}, 1),
                       "concat: the sizes along axis 1 add up to more than 2^63 - 1 (tensor 7 has shape (0, "
                       "1152921504606846976))",
                       std::invalid_argument);
  CHECK(tg::concat({part, part}, 0).shape() == Shape{0, std::int64_t{1} << 60});
}

TEST_CASE("sizes: layers and Input refuse sizes no tensor can hold") {
  namespace L = tg::layers;
  // Dense(2^62) crashed when built: its bias alone, (2^62,) float32, takes 2^64 bytes.
  CHECK_THROWS_WITH_AS(L::Dense{p62},
                       "Dense: units must be at most 2305843009213693951 (a float32 bias of that many elements takes "
                       "2^63 - 1 bytes), received 4611686018427387904",
                       std::invalid_argument);
  CHECK(L::Dense::make(std::int64_t{1} << 40)->units() == std::int64_t{1} << 40);  // no weights until built
  // The kernel (inputs, units) is checked when the layer is built, before its initializer runs.
  auto wide = L::Dense::make(std::int64_t{1} << 42, "", true, "wide");
  CHECK_THROWS_WITH_AS(wide(tg::Input({std::int64_t{1} << 22})),
                       "wide: add_weight 'kernel': shape (4194304, 4398046511104) has about 1.84e+19 elements, more "
                       "than the 2^63 - 1 a tensor can have",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::Embedding::make(p32, p32),
                       "Embedding: the table (input_dim, output_dim): shape (4294967296, 4294967296) has about "
                       "1.84e+19 elements, more than the 2^63 - 1 a tensor can have",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(L::Embedding::make(p62, 1, tg::initializers::zeros(), tg::float64),
                       doctest::Contains("Embedding: the table (input_dim, output_dim): a float64 tensor"),
                       std::invalid_argument);
  // Input({2^32, 2^32}) built a model; building runs each layer on a batch of one.
  CHECK_THROWS_WITH_AS(tg::Input({p32, p32}),
                       "Input (one sample): shape (4294967296, 4294967296) has about 1.84e+19 elements, more than the "
                       "2^63 - 1 a tensor can have",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::Input({p62}, tg::float32, "ids"), doctest::Contains("Input 'ids' (one sample): a float32"),
                       std::invalid_argument);
  CHECK(tg::Input({0, p62 / 8}).shape() == Shape{0, p62 / 8});
}
