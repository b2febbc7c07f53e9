#pragma once
/// @file
/// `rechunk`: the same values cut into other chunks (Dask's `Array.rechunk`).
///
/// A redistribution across ranks: every output chunk gathers the pieces of the input chunks it
/// overlaps, each piece cut where its input chunk lives, so only pieces travel and no rank ever
/// holds more than the chunks it owns plus the pieces of the output chunks it is assembling.
/// A piece of a fused chain (random numbers, arithmetic on a persisted array) is computed for
/// just its region. When cutting every input chunk along every output boundary would make a
/// very large graph (chunks of (1000, 1) to (1, 1000): a piece per element pair of grid cells),
/// the rechunk goes through an intermediate chunking, as Dask's plan does.

#include "tessera/array/array.hpp"

namespace tessera {

/// `x` in the chunks `chunks` asks for: a regular size for every axis (`1000`), one entry per
/// axis (`{1000, -1}`; -1 takes the whole axis), explicit sizes (`ChunkSpec::explicit_sizes`),
/// or `ChunkSpec::automatic()` (chunks of about 128 MiB, as square as the shape allows).
/// Returns `x` itself when the chunks are already those. Throws shape_error when the spec does
/// not fit x's shape (wrong number of axes, sizes that do not add up) and value_error for
/// non-positive sizes, naming the shape.
Array rechunk(const Array& x, const ChunkSpec& chunks);

/// Limits of the plan (exposed for tests and tuning).
struct RechunkPlan {
  /// A direct rechunk is used while it makes at most this many pieces, or at most
  /// `growth` times the input and output chunks together.
  index_t max_direct_pieces = index_t{1} << 16;
  index_t growth = 4;
  /// Largest intermediate chunk, in bytes (at least the largest input or output chunk).
  std::size_t max_intermediate_bytes = std::size_t{128} << 20;
};

/// rechunk with explicit plan limits.
Array rechunk(const Array& x, const ChunkSpec& chunks, const RechunkPlan& plan);

}  // namespace tessera
