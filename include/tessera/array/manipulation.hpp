#pragma once
/// @file
/// Shape operations with NumPy's names and semantics (the array API's "manipulation
/// functions"), lazily and chunk by chunk.
///
/// - Axis orders (permute_dims, transpose, swapaxes, moveaxis, matrix_transpose): each output
///   chunk is one input chunk with its axes reordered.
/// - Size-1 axes (squeeze, expand_dims): the same chunks seen with another shape, no copy.
/// - broadcast_to: an element-by-element node that fuses with its consumers; the broadcast
///   axes are one chunk each, as in Dask (rechunk it to cut them: its pieces are computed for
///   their regions, so the whole broadcast chunk is never made).
/// - concatenate and stack: the inputs' chunks side by side, after promoting to a common dtype
///   and rechunking every input to the first one's chunks along the other axes.
/// - flip, roll, pad, tile, repeat: slices and concatenations of the input (repeat: each chunk
///   repeated in place).
/// - reshape and ravel: NumPy's row-major (C order) reshape. The result comes in row panels
///   (whole along every axis but the first), of about the input's chunk size; rechunk it as
///   needed. Reshapes that only add or drop size-1 axes keep the chunks.
///
/// Axes may be negative (counted from the end). Bad axes raise index_error, incompatible
/// shapes shape_error, naming the shapes, when the expression is built.

#include <optional>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// The axes of `x` in the order `axes` gives (a permutation of 0..ndim-1).
Array permute_dims(const Array& x, const std::vector<int>& axes);
/// The axes reversed (NumPy's `x.T` / `transpose(x)`).
Array transpose(const Array& x);
/// The same as permute_dims (NumPy's `transpose(x, axes)`).
Array transpose(const Array& x, const std::vector<int>& axes);
/// The last two axes swapped (at least 2-d).
Array matrix_transpose(const Array& x);
Array swapaxes(const Array& x, int axis1, int axis2);
/// Axes `source` moved to positions `destination`; the others keep their order.
Array moveaxis(const Array& x, const std::vector<int>& source, const std::vector<int>& destination);
Array moveaxis(const Array& x, int source, int destination);

/// Size-1 axes removed: all of them (`Axes()`), or those named (shape_error for an axis whose
/// size is not 1).
Array squeeze(const Array& x, const Axes& axes = {});
/// Size-1 axes inserted at `axes`, positions in the result (index_error when out of range).
Array expand_dims(const Array& x, const Axes& axes);

/// `x` seen with `shape` by NumPy's broadcasting rules (shape_error when it cannot be).
Array broadcast_to(const Array& x, const Shape& shape);
/// The arrays broadcast against each other.
std::vector<Array> broadcast_arrays(const std::vector<Array>& arrays);

/// The arrays joined along an existing `axis`. All have the same number of axes and the same
/// sizes except along `axis`; the result has their promoted dtype.
Array concatenate(const std::vector<Array>& arrays, int axis = 0);
/// The arrays (all of one shape) joined along a new `axis`.
Array stack(const std::vector<Array>& arrays, int axis = 0);

/// The order of elements reversed along `axes` (all by default).
Array flip(const Array& x, const Axes& axes = {});
/// Elements shifted by `shift` along `axis`, those past the end coming back at the start; with
/// no axis, over the flattened array (the result has x's shape).
Array roll(const Array& x, index_t shift, std::optional<int> axis = std::nullopt);

enum class PadMode {
  constant,   ///< `value`
  edge,       ///< the edge element repeated
  reflect,    ///< mirrored about the edge element, without it: (a b c) -> b | a b c | b
  symmetric,  ///< mirrored with the edge element: (a b c) -> a | a b c | c
  wrap,       ///< from the other end: (a b c) -> c | a b c | a
};
struct PadOptions {
  PadMode mode = PadMode::constant;
  double value = 0;  ///< for PadMode::constant, converted to x's dtype
};
/// `x` padded by (before, after) elements along every axis: one pair for every axis, or a
/// single pair for all. reflect needs widths below the axis's size, symmetric and wrap at most
/// its size (value_error otherwise), and a non-empty axis except for constant.
Array pad(const Array& x, const std::vector<std::pair<index_t, index_t>>& widths,
          PadOptions options = {});

/// `x` repeated `reps[a]` times along each axis (NumPy's tile: reps longer than x's axes add
/// leading axes, shorter reps count for the last axes).
Array tile(const Array& x, const std::vector<index_t>& reps);
/// Every element repeated `repeats` times along `axis` (with no axis, of the flattened array).
Array repeat(const Array& x, index_t repeats, std::optional<int> axis = std::nullopt);

/// The elements of `x` in row-major order, with `shape` (one entry may be -1: inferred).
/// shape_error when the sizes differ ("cannot reshape array of size 12 into shape (5, 3)").
Array reshape(const Array& x, Shape shape);
/// reshape(x, {-1}).
Array ravel(const Array& x);

}  // namespace tessera
