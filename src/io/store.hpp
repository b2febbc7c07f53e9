#pragma once
// The write half of every output format: one pass over the graph of several arrays, each chunk
// handed to the format's writer on the rank that computed it, as soon as it is computed.

#include <functional>
#include <vector>

#include "io/posix_file.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/lower.hpp"

namespace tessera::detail {

/// Writes chunk `block` of array `k`, whose first element is at global index `origin`.
/// Called from worker threads, concurrently.
using ChunkWriter = std::function<void(std::size_t k, const Shape& origin, const Block& block)>;

/// Computes every chunk of every root (inputs they share are computed once) and writes each
/// with `write` on the rank that computed it; nothing is gathered. Collective.
void store_chunks(Scheduler& s, const std::vector<ExprPtr>& roots, const LowerOptions& lowering,
                  ChunkWriter write);

}  // namespace tessera::detail
