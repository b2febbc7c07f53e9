#pragma once
/// @file
/// `ChunkGrid`: how an N-d array is cut into blocks, and `ChunkSpec`: how a user asks for it.

#include <cstddef>
#include <variant>
#include <vector>

#include "tessera/core/dtype.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {

/// The chunk sizes along every axis. Chunks along one axis may differ in size (the last one
/// is usually shorter); chunk (i, j, ...) is the product of the i-th interval of axis 0, the
/// j-th of axis 1, and so on. A 0-d array has one chunk.
class ChunkGrid {
 public:
  ChunkGrid() = default;
  /// The most chunks a grid may have (2^26, 64 Mi): every grid keeps a size and an offset per
  /// chunk and axis, and lowering makes a task per chunk, so a grid past this is a chunking
  /// mistake (chunks far too small for the shape). Dask's 128 MiB default reaches it at 8 EiB.
  static constexpr index_t max_chunks = index_t{1} << 26;

  /// Throws shape_error for a negative size, a zero-size chunk on a non-empty axis, extents
  /// past 2^63 - 1, or more than max_chunks chunks.
  explicit ChunkGrid(std::vector<std::vector<index_t>> sizes);

  int ndim() const noexcept { return static_cast<int>(m_sizes.size()); }
  Shape shape() const;
  /// Chunk sizes along `axis`.
  const std::vector<index_t>& sizes(int axis) const {
    return m_sizes[static_cast<std::size_t>(axis)];
  }
  /// Chunk start offsets along `axis` (sizes(axis).size()+1 entries, the last is the extent).
  const std::vector<index_t>& offsets(int axis) const {
    return m_offsets[static_cast<std::size_t>(axis)];
  }
  index_t num_chunks(int axis) const { return static_cast<index_t>(sizes(axis).size()); }
  /// Chunks per axis.
  Shape grid_shape() const;
  /// Total number of chunks.
  index_t num_chunks() const;

  /// Chunk coordinates of the linear (row-major) chunk number `linear`, and back.
  Shape chunk_coords(index_t linear) const;
  index_t chunk_linear(const Shape& coords) const;
  Shape chunk_shape(const Shape& coords) const;
  Shape chunk_offset(const Shape& coords) const;
  /// The chunk along `axis` that holds global index `i` (0 <= i < extent).
  index_t chunk_of(int axis, index_t i) const;
  /// Largest chunk, in elements.
  index_t max_chunk_size() const;

  bool operator==(const ChunkGrid& other) const { return m_sizes == other.m_sizes; }
  /// "((1000, 1000, 500), (700,))": Dask's `chunks` tuple.
  std::string to_string() const;

 private:
  std::vector<std::vector<index_t>> m_sizes;
  std::vector<std::vector<index_t>> m_offsets;
};

/// Chunking of one axis: a regular size (-1: the whole axis), an explicit list, or automatic.
struct AxisChunks {
  struct Auto {};
  std::variant<index_t, std::vector<index_t>, Auto> spec;

  AxisChunks(index_t regular) : spec(regular) {}  // NOLINT: implicit, like Dask's ints
  AxisChunks(int regular) : spec(static_cast<index_t>(regular)) {}    // NOLINT
  AxisChunks(std::vector<index_t> sizes) : spec(std::move(sizes)) {}  // NOLINT
  AxisChunks(Auto a) : spec(a) {}                                     // NOLINT
};

/// What a user passes as `chunks=`: like Dask, `1000` (every axis), `{1000, 500}` (per axis),
/// explicit per-axis lists, or "auto" from a target chunk size in bytes.
class ChunkSpec {
 public:
  /// Every axis in chunks of `n` elements (-1: one chunk along every axis).
  ChunkSpec(index_t n) : m_axes{AxisChunks(n)}, m_broadcast(true) {}  // NOLINT
  ChunkSpec(int n) : ChunkSpec(static_cast<index_t>(n)) {}            // NOLINT
  /// One entry per axis.
  ChunkSpec(std::initializer_list<AxisChunks> per_axis) : m_axes(per_axis) {}
  explicit ChunkSpec(std::vector<AxisChunks> per_axis) : m_axes(std::move(per_axis)) {}

  /// Chunks of at most `target_bytes` (default 128 MiB, Dask's array.chunk-size; more only
  /// when the axes chunked explicitly exceed it already), as square as the shape allows.
  /// Axes shorter than the ideal edge are taken whole; the others are cut regularly (equal
  /// chunks and a shorter last one) into as few chunks as the target allows, each as small
  /// as that count permits: 10000 float64 elements per axis at 128 MiB give
  /// (3334, 3334, 3332) where Dask gives (4096, 4096, 1808). A target smaller than one
  /// element gives one-element chunks.
  static ChunkSpec automatic(std::size_t target_bytes = default_auto_bytes);
  /// Explicit chunk sizes for every axis: `{{2, 3}, {4}}` for shape (5, 4).
  static ChunkSpec explicit_sizes(std::vector<std::vector<index_t>> sizes);

  /// The grid for an array of `shape` and `dtype`. Throws shape_error when the spec does not
  /// fit the shape (wrong number of axes, sizes that do not add up) or gives more than
  /// ChunkGrid::max_chunks chunks (checked before any per-chunk list is built), and
  /// value_error for non-positive sizes.
  ChunkGrid resolve(const Shape& shape, DType dtype) const;

  static constexpr std::size_t default_auto_bytes = std::size_t{128} << 20;

 private:
  ChunkSpec() = default;
  std::vector<AxisChunks> m_axes;
  bool m_broadcast = false;  // one AxisChunks applies to every axis
  std::size_t m_auto_bytes = default_auto_bytes;
};

}  // namespace tessera
