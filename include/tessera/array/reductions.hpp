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

/// The nan- reductions (NumPy's): NaN inputs are left out. nansum of a slice of NaNs is 0,
/// nanprod 1; nanmean, nanvar, nanstd, nanmin and nanmax of one are NaN; nanargmin and
/// nanargmax of one fail the compute with value_error ("All-NaN slice encountered"). For
/// integer and bool arrays they are the ordinary reductions.
Array nansum(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanprod(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanmean(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanmin(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanmax(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanvar(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanstd(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanargmin(const Array& x, std::optional<int> axis = std::nullopt, ReduceOptions o = {});
Array nanargmax(const Array& x, std::optional<int> axis = std::nullopt, ReduceOptions o = {});
/// The number of elements that are not zero (not false), as int64.
Array count_nonzero(const Array& x, Axes axes = {}, ReduceOptions o = {});

/// Cumulative sum and product along `axis` (over the flattened array when none): NumPy's
/// cumsum/cumprod, with their dtypes (bool and integers give int64, floats keep theirs).
/// A parallel scan: each chunk is scanned from the combination of the totals of the chunks
/// before it along the axis, so floating-point results can differ from a serial scan by
/// rounding (as Dask's do).
Array cumsum(const Array& x, std::optional<int> axis = std::nullopt);
Array cumprod(const Array& x, std::optional<int> axis = std::nullopt);

}  // namespace tessera
