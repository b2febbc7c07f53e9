#pragma once
/// @file
/// Shapes, index math and broadcasting (NumPy semantics).

#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

/// Global element index or extent along one axis. Signed so that negative indices
/// (counting from the end) and reverse steps are expressible.
using index_t = std::int64_t;

/// Extents of an N-d array, outermost axis first (row-major).
using Shape = std::vector<index_t>;

/// "(3, 4)", "(5,)", "()": how NumPy prints shapes.
std::string shape_string(const Shape& shape);

/// Number of elements (1 for a 0-d shape).
index_t shape_size(const Shape& shape) noexcept;

/// Row-major element strides of a contiguous array of `shape`.
Shape row_major_strides(const Shape& shape);

/// NumPy broadcasting of two shapes; throws shape_error naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);

/// Resolves a possibly negative `axis` against `ndim`; throws index_error naming both.
int normalize_axis(int axis, int ndim);

/// Resolves and sorts a list of axes; throws index_error on out-of-range or repeated axes.
/// An empty list means "every axis".
std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim);

}  // namespace tessera
