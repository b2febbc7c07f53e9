#pragma once
/// @file
/// Reductions as free functions (the same as the Array members): tree reductions with a
/// configurable fan-in (ReduceOptions::split_every), fused with the elementwise expression
/// they consume.
///
/// Result dtypes follow NumPy: sum/prod of bool and integers give int64, of floats keep the
/// float dtype (accumulated in float64); mean/var/std give float64 (float32 stays float32);
/// min/max keep the dtype; any/all give bool; argmin/argmax give int64.

#include "tessera/array/array.hpp"

namespace tessera {

inline Array sum(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.sum(std::move(axes), o);
}
inline Array prod(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.prod(std::move(axes), o);
}
inline Array mean(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.mean(std::move(axes), o);
}
inline Array min(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.min(std::move(axes), o);
}
inline Array max(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.max(std::move(axes), o);
}
inline Array var(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.var(std::move(axes), o);
}
inline Array std(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.std(std::move(axes), o);
}
inline Array any(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.any(std::move(axes), o);
}
inline Array all(const Array& x, Axes axes = {}, ReduceOptions o = {}) {
  return x.all(std::move(axes), o);
}
inline Array argmin(const Array& x, std::optional<int> axis = std::nullopt, ReduceOptions o = {}) {
  return x.argmin(axis, o);
}
inline Array argmax(const Array& x, std::optional<int> axis = std::nullopt, ReduceOptions o = {}) {
  return x.argmax(axis, o);
}

}  // namespace tessera
