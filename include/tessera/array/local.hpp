#pragma once
/// @file
/// Arrays over a simulation's own distributed data: `from_local` adopts each rank's block of
/// a global array without copying it; `to_local` writes this rank's region of a result into
/// the caller's own buffer. Both are collective: every rank calls them, in the same order.

#include <span>

#include "tessera/array/array.hpp"

namespace tessera {

/// Collective. Makes a global array from one block per rank: this rank's `data` (contiguous,
/// row-major, `shape` elements) lies at `offset` in the global index space. The buffer is
/// adopted, not copied: the caller keeps it alive and unchanged while the array (or anything
/// built from it) may still be computed; to snapshot changing data, `persist()` a copy, e.g.
/// `(x + 0).persist()`.
///
/// The blocks must form a block decomposition: every block is one cell of a grid whose
/// boundaries per axis are the blocks' own boundaries, the cells cover the array without
/// overlap, and the global shape is the blocks' extent. Blocks may differ in size; a rank
/// with no part passes a block with a zero in its shape. Each chunk of the result is one
/// block and lives on the rank that handed it over. Bad decompositions raise shape_error on
/// every rank, naming the ranks, offsets and shapes. `scheduler` (default: the default
/// scheduler) supplies the collective; a local scheduler sees one rank, whose block must be
/// the whole array.
Array from_local(const Block& local, const Shape& offset, Scheduler* scheduler = nullptr);
template <ElementType T>
Array from_local(std::span<const T> data, const Shape& offset, const Shape& shape,
                 Scheduler* scheduler = nullptr);

/// Collective. Computes `x` and writes its region [offset, offset + shape) into `out`
/// (row-major, as many elements as `shape` has; T must be x's element type). Ranks may ask
/// for different regions, overlapping or empty; each rank receives only the chunks its region
/// touches. Invalid regions raise value_error or shape_error on every rank.
template <ElementType T>
void to_local(const Array& x, std::span<T> out, const Shape& offset, const Shape& shape,
              const ComputeOptions& options = {});
/// Untyped form: `out` holds the region's elements of x's dtype.
void to_local(const Array& x, void* out, std::size_t out_elements, DType out_dtype,
              const Shape& offset, const Shape& shape, const ComputeOptions& options = {});

// --- implementation ---------------------------------------------------------------------------

namespace detail {
/// from_local with this rank's problem, if any, found before the collective: it is reported
/// on every rank instead of leaving the others waiting.
Array from_local(const Block& local, const Shape& offset, const std::string& problem,
                 Scheduler* scheduler);
}  // namespace detail

template <ElementType T>
Array from_local(std::span<const T> data, const Shape& offset, const Shape& shape,
                 Scheduler* scheduler) {
  // Checked without throwing: a problem found here is reported on every rank by the collective.
  const std::optional<index_t> size = checked_shape_size(shape);
  if (!size || static_cast<index_t>(data.size()) != *size) {
    return detail::from_local(Block(dtype_of<T>(), Shape(shape.size(), 0)), offset,
                              "the buffer has " + std::to_string(data.size()) +
                                  " elements, but shape " + shape_string(shape) + " needs " +
                                  (size ? std::to_string(*size) : "more than 2^63 - 1"),
                              scheduler);
  }
  // Blocks are immutable once adopted: the const_cast only fits Block's one buffer type.
  return from_local(Block::adopt(dtype_of<T>(), shape, const_cast<T*>(data.data()), nullptr),
                    offset, scheduler);
}

template <ElementType T>
void to_local(const Array& x, std::span<T> out, const Shape& offset, const Shape& shape,
              const ComputeOptions& options) {
  to_local(x, out.data(), out.size(), dtype_of<T>(), offset, shape, options);
}

}  // namespace tessera
