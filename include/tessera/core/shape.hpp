#pragma once
/// @file
/// Shapes, index math and broadcasting (NumPy semantics).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

/// Global element index or extent along one axis. Signed so that negative indices
/// (counting from the end) and reverse steps are expressible.
using index_t = std::int64_t;

/// Extents of an N-d array, outermost axis first (row-major).
using Shape = std::vector<index_t>;

/// "(3, 4)", "(5,)", "()": how NumPy prints shapes.
std::string shape_string(const Shape& shape);

/// Number of elements (1 for a 0-d shape). Throws shape_error (NumPy's "array is too big")
/// when the count does not fit index_t; a shape with a zero extent has 0 elements whatever
/// its other extents, as in NumPy.
index_t shape_size(const Shape& shape);

/// shape_size, or nullopt when it overflows (for callers that must not throw: a collective
/// reports the problem on every rank instead).
std::optional<index_t> checked_shape_size(const Shape& shape) noexcept;

/// Bytes of an array of `shape` with `itemsize`-byte elements (dtype `dtype_name`, for the
/// message). Throws shape_error when the count or the bytes exceed index_t's range: NumPy's
/// limit, and what keeps every element and byte offset in range for the index math.
index_t shape_nbytes(const Shape& shape, std::size_t itemsize, std::string_view dtype_name);

/// a * b and a + b for sizes, or nullopt on overflow of index_t.
std::optional<index_t> checked_mul(index_t a, index_t b) noexcept;
std::optional<index_t> checked_add(index_t a, index_t b) noexcept;

/// Row-major element strides of a contiguous array of `shape` (computed with wrap-around
/// for an empty shape whose other extents overflow; its strides address nothing).
Shape row_major_strides(const Shape& shape);

/// NumPy broadcasting of two shapes; throws shape_error naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

/// Resolves a possibly negative `axis` against `ndim`; throws index_error naming both.
int normalize_axis(int axis, int ndim);

/// Resolves and sorts a list of axes; throws index_error on out-of-range or repeated axes.
/// An empty list is no axis at all (NumPy's `axis=()`), never "every axis": callers that mean
/// every axis say so (Axes::all()).
std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim);

}  // namespace tessera
