// Runtime dtype -> compile-time element type. An op is written once as a
// generic lambda over a tag value and dispatched once per call:
//
//   dispatch_float(x.dtype(), [&](auto tag) { using T = decltype(tag); ... });
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "tapegrad/autodiff/shape.hpp"

namespace tg {

template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    case DType::int64: return f(std::int64_t{});
  }
  throw std::logic_error("dispatch: unknown dtype");
}

// Like dispatch, for floating dtypes only; `op` names the caller in the error.
template <class F>
decltype(auto) dispatch_float(DType dtype, F&& f, const char* op = "op") {
  switch (dtype) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    case DType::int64: break;
  }
  throw std::invalid_argument(std::string(op) + ": expected a float32 or float64 tensor, received int64");
}

}  // namespace tg
