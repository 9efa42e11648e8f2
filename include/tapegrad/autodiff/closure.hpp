// The tape's closure erasure: a backward lambda of any type kept in a tape's
// arena by a table of functions (storage, not the tape's algorithm; tape.hpp's
// record_op template is what hands lambdas to it).
#pragma once

#include <cstddef>
#include <new>
#include <utility>

#include "tapegrad/autodiff/gradient.hpp"

namespace tg {

namespace detail {

// A backward closure of any type, type-erased by a table of functions, so a
// tape can keep it in its arena (no allocation, no std::function per op).
struct ClosureOps {
  void (*invoke)(void* self, const Tensor& grad_output, BackwardContext& ctx);
  void (*copy_to)(const void* self, void* destination);
  void (*move_to)(void* self, void* destination);
  void (*destroy)(void* self);
  std::size_t size;
  std::size_t align;
};

template <class F>
inline constexpr ClosureOps closure_ops = {
    [](void* self, const Tensor& g, BackwardContext& ctx) { (*static_cast<F*>(self))(g, ctx); },
    [](const void* self, void* dst) { ::new (dst) F(*static_cast<const F*>(self)); },
    [](void* self, void* dst) { ::new (dst) F(std::move(*static_cast<F*>(self))); },
    [](void* self) { static_cast<F*>(self)->~F(); },
    sizeof(F),
    alignof(F),
};

}  // namespace detail

}  // namespace tg
