#pragma once
// The write half of every output format: one pass over the graph of several arrays, each chunk
// handed to the format's writer as soon as it is computed. Uncompressed chunks are written on
// the rank that computed them; compressed ones are encoded there too (in parallel) and only
// their encoded bytes travel, to rank 0, which writes them into the file's chunk index.

#include <functional>
#include <vector>

#include "io/chunk_filters.hpp"
#include "io/posix_file.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/lower.hpp"

namespace tessera::detail {

/// Writes chunk `block` of array `k`, whose first element is at global index `origin`.
/// Called from worker threads, concurrently.
using ChunkWriter = std::function<void(std::size_t k, const Shape& origin, const Block& block)>;

/// Arrays written chunk by chunk of the file's own grid, each file chunk encoded apart.
struct EncodedOutputs {
  /// Per array: the file's chunk grid (regular; an empty grid: the array is not encoded but
  /// written by the ChunkWriter).
  std::vector<ChunkGrid> grids;
  /// Encodes file chunk `chunk` of array `k` (its values, edge chunks padded with zeros to the
  /// full chunk shape). On the rank holding the array's chunk, concurrently.
  std::function<EncodedChunk(std::size_t k, const Block& chunk)> encode;
  /// Writes the encoded file chunk of array `k` whose first element is at `origin`. On rank 0,
  /// concurrently.
  std::function<void(std::size_t k, const Shape& origin, const EncodedChunk& chunk)> write;
};

/// Computes every chunk of every root (inputs they share are computed once) and writes each
/// with `write` on the rank that computed it, or for the roots `encoded` names, encodes each
/// file chunk and writes it on rank 0; nothing else is gathered. Collective.
void store_chunks(Scheduler& s, const std::vector<ExprPtr>& roots, const LowerOptions& lowering,
                  ChunkWriter write, const EncodedOutputs* encoded = nullptr);

}  // namespace tessera::detail
