// xtensor interop: the one public header that includes xtensor, so an xtensor
// upgrade touches this file only.
//
//   xt::xarray<double> a = {{1, 2}, {3, 4}};
//   tg::Tensor t = tg::from_xarray(a);            // a copy: (2, 2) float64
//   xt::xarray<double> b = tg::to_xarray<double>(t);  // a copy back
//   auto v = tg::as_xarray<double>(t);            // no copy: v(0, 1) = 5 writes into t
//
// The element type must match the tensor's dtype (float <-> float32, double <->
// float64, std::int64_t <-> int64); convert with Tensor::to() first otherwise,
// as everywhere else in tapegrad.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg {

namespace detail {

template <class T>
void check_xarray_dtype(const Tensor& t, const char* fn) {
  if (!t.defined()) throw std::invalid_argument(std::string(fn) + ": the tensor is undefined");
  if (t.dtype() != dtype_of<T>())
    throw std::invalid_argument(std::string(fn) + ": requested " + dtype_name(dtype_of<T>()) +
                                " elements but the tensor is " + dtype_name(t.dtype()) + " (convert it with .to(tg::" +
                                dtype_name(dtype_of<T>()) + ") first)");
}

inline std::vector<std::size_t> xshape(const Shape& shape) { return {shape.begin(), shape.end()}; }

}  // namespace detail

// A tensor holding a copy of `array`'s values, with its shape and the dtype of
// T (float -> float32, double -> float64, std::int64_t -> int64). At most 8
// dimensions, as every tensor.
template <class T>
Tensor from_xarray(const xt::xarray<T>& array) {
  Shape shape(array.shape().begin(), array.shape().end());
  Tensor t = Tensor::empty(shape, detail::dtype_of<T>());
  T* out = t.data<T>();
  // Iteration is row-major whatever the array's layout, as the tensor's storage.
  std::size_t i = 0;
  for (auto it = array.template cbegin<xt::layout_type::row_major>();
       it != array.template cend<xt::layout_type::row_major>(); ++it)
    out[i++] = *it;
  return t;
}

// A copy of the tensor's values as an xt::xarray<T>; T must match the dtype.
template <class T>
xt::xarray<T> to_xarray(const Tensor& tensor) {
  detail::check_xarray_dtype<T>(tensor, "to_xarray");
  xt::xarray<T> out = xt::xarray<T>::from_shape(detail::xshape(tensor.shape()));
  const T* p = tensor.data<T>();
  std::copy(p, p + tensor.numel(), out.data());
  return out;
}

// A view of the tensor's storage as an xtensor expression, without copying:
// reads see the tensor's values and writes change them (for every handle of
// the tensor, as Tensor::set does). The view does not own the storage: keep a
// handle to the tensor alive while using it. T must match the dtype.
template <class T>
auto as_xarray(Tensor& tensor) {
  detail::check_xarray_dtype<T>(tensor, "as_xarray");
  return xt::adapt(tensor.data<T>(), static_cast<std::size_t>(tensor.numel()), xt::no_ownership(),
                   detail::xshape(tensor.shape()));
}

}  // namespace tg
