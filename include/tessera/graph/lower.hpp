#pragma once
/// @file
/// Lowering: expression DAG -> chunk-level TaskGraph.
///
/// - Culling: only the chunks the requested outputs need get tasks.
/// - CSE: nodes with equal tokens are one node; each (node, chunk) is one task.
/// - Fusion: sources and elementwise nodes whose every consumer is in the same fused region
///   become one task per output chunk, evaluated in tiles of `tile_elements` with no
///   chunk-size temporaries; a region feeding a reduction produces the reduction's partial
///   directly, so a fused producer's chunk is never materialised. Sources of one value, and
///   sources that read files when a consumer also waits for a reduction over them, are
///   evaluated again in every consumer rather than held (so `x - x.mean(0)` over a file reads
///   x twice and never holds it whole).
/// - Reductions: one partial per input chunk, a tree of combines with fan-in split_every,
///   and a finalising task per output chunk.
/// - Ordering: priorities from a depth-first post-order from the outputs, so a branch is
///   finished (and its memory released) before the next one starts.
///
/// Output tasks yield a `Block` holding the output chunk.

#include <span>
#include <vector>

#include "tessera/graph/expr.hpp"
#include "tessera/graph/task_graph.hpp"

namespace tessera {

struct LowerOptions {
  /// Elements per tile in fused evaluation (a few tiles of float64 fit in L1/L2).
  index_t tile_elements = 2048;
  /// Fuse sources and elementwise chains (off: one task per node and chunk; for testing).
  bool fuse = true;
};

struct LoweredGraph {
  /// The expressions lowered: tasks refer to their nodes, so the graph keeps them alive.
  std::vector<ExprPtr> roots;
  TaskGraph graph;
  /// outputs[r][k]: the task that yields chunk chunks[r][k] of roots[r].
  std::vector<std::vector<TaskId>> outputs;
  /// Flattened outputs (the argument a Scheduler wants).
  std::vector<TaskId> all_outputs() const;
};

/// Lowers the chunks `chunks[r]` of every `roots[r]` (all its chunks when `chunks` is empty
/// or chunks[r] is empty). Nothing runs.
LoweredGraph lower(std::span<const ExprPtr> roots,
                   std::span<const std::vector<index_t>> chunks = {},
                   const LowerOptions& options = {});

/// Sets depth-first, branch-finishing priorities on `graph` (see the file comment).
void order_tasks(TaskGraph& graph, std::span<const TaskId> outputs);

}  // namespace tessera
