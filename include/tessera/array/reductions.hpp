#pragma once
/// @file
/// Reductions as free functions (the same as the Array members): tree reductions with a
/// configurable fan-in (ReduceOptions::split_every), fused with the elementwise expression
/// they consume.
///
/// Result dtypes follow NumPy: sum/prod of bool and integers give int64, of floats keep the
/// float dtype (accumulated in float64); mean/var/std give float64 (float32 stays float32);
/// min/max keep the dtype; any/all give bool; argmin/argmax give int64.

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tessera/array/array.hpp"
#include "tessera/core/block.hpp"

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
/// The index of the first minimum (maximum) over `axes`, as int64: over all axes (the default),
/// the flat index (NumPy's axis=None); over one axis, the index along it; over several, the
/// row-major index within the sub-array they span, as if those axes were moved last and
/// flattened into one (NumPy's argmin takes one axis; this is what reshaping gives there).
Array argmin(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array argmax(const Array& x, Axes axes = {}, ReduceOptions o = {});

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
Array nanargmin(const Array& x, Axes axes = {}, ReduceOptions o = {});
Array nanargmax(const Array& x, Axes axes = {}, ReduceOptions o = {});
/// The number of elements that are not zero (not false), as int64.
Array count_nonzero(const Array& x, Axes axes = {}, ReduceOptions o = {});

/// Cumulative sum and product along `axis` (over the flattened array when none): NumPy's
/// cumsum/cumprod, with their dtypes (bool and integers give int64, floats keep theirs).
/// A parallel scan: each chunk is scanned from the combination of the totals of the chunks
/// before it along the axis, so floating-point results can differ from a serial scan by
/// rounding (as Dask's do).
Array cumsum(const Array& x, std::optional<int> axis = std::nullopt);
Array cumprod(const Array& x, std::optional<int> axis = std::nullopt);

/// The steps of a user-defined tree reduction (reduction()). A state is one or more Blocks, each
/// of the output region's shape with the reduced axes kept as size 1 (e.g. a sum and a count).
/// The steps run on whichever rank holds the data, possibly on several threads at once.
struct ReductionSteps {
  /// The state of one input chunk; `axes` are the reduced axes (sorted, non-negative).
  std::function<std::vector<Block>(const Block& chunk, std::span<const int> axes)> chunk;
  /// Two states of the same output region folded into one; `later` covers input positions
  /// after those of `earlier` (row-major chunk order), for reductions that care about order.
  std::function<std::vector<Block>(const std::vector<Block>& earlier,
                                   const std::vector<Block>& later)>
      combine;
  /// The output values of a complete state: one Block of the state's shape and of the dtype
  /// given to reduction().
  std::function<Block(const std::vector<Block>& state)> aggregate;
};

/// A tree reduction of `x` over `axes` from user-written steps, as Dask's `da.reduction(x,
/// chunk, aggregate, combine=...)`: `steps.chunk` on every input chunk (fused with the
/// expression that makes it), `steps.combine` up a tree of fan-in `options.split_every`, and
/// `steps.aggregate` once per output chunk. The result has dtype `dtype` and the shape of any
/// reduction over `axes` (options.keepdims as usual). A step that returns the wrong shape or
/// dtype fails the compute with a value_error naming `name`.
Array reduction(const Array& x, ReductionSteps steps, DType dtype, Axes axes = {},
                ReduceOptions options = {}, std::string name = "reduction");

}  // namespace tessera
