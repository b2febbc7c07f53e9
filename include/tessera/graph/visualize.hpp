#pragma once
/// @file
/// Pictures of task graphs: Graphviz DOT text, and files rendered by Graphviz's `dot`.
///
/// One node per task, labelled with its name (`TaskGraph::name`, as in error messages):
/// an ellipse for a task that computes, a box for a value the graph already holds (a literal,
/// a persisted or adopted chunk: `TaskGraph::add_value`), as Dask draws functions and data.
/// Tasks that share a label share a fill colour, so a fused region, the partials of a
/// reduction and its combines read as groups. Edges go from a dependency to its consumer,
/// one per entry of `deps()` (an input read twice is two edges).
///
///     TaskGraph g = ...;
///     visualize(g, "graph.svg", {.rankdir = "LR", .title = "my graph"});
///
/// The array layer draws an `Array`'s graph (`tessera/array/visualize.hpp`); raw graphs and
/// delayed values lower to a TaskGraph, which these functions draw.
///
/// Drawing is local, not collective: call it on one rank. Graphviz lays out a few thousand
/// nodes in seconds, but not 10^5; draw a small instance of a large computation.

#include <string>

#include "tessera/graph/task_graph.hpp"

namespace tessera {

struct VisualizeOptions {
  /// Direction of the arrows: "TB" (top to bottom, the default), "LR", "BT" or "RL".
  std::string rankdir = "TB";
  /// A caption drawn above the graph; none when empty.
  std::string title = {};
  /// The DOT graph's name (what `digraph "<name>"` says; some viewers show it).
  std::string name = "tessera";
  /// Fill tasks with a colour per label (off: white nodes, for printing).
  bool color = true;
  /// For collections that lower to a graph (an Array): true draws the graph compute() runs
  /// (fused); false draws the unoptimised graph, one task per expression node and chunk.
  /// Ignored for a TaskGraph, which is drawn as it is.
  bool optimized = true;
};

/// The graph as Graphviz DOT text. Throws value_error for an unknown rankdir.
std::string to_dot(const TaskGraph& graph, const VisualizeOptions& options = {});

/// Writes a picture of the graph to `filename`, by its extension: ".dot"/".gv" (the DOT text),
/// or ".svg", ".png", ".pdf" (rendered by running Graphviz's `dot`, found on PATH).
///
/// The file appears complete or not at all: the output is written to a temporary file in the
/// same folder and renamed over `filename` on success; on failure the temporary is removed and
/// a tessera::error is thrown — naming `dot`'s own message when dot failed, and saying how to
/// install Graphviz when it is not on PATH. An unknown extension is a value_error naming it.
void visualize(const TaskGraph& graph, const std::string& filename,
               const VisualizeOptions& options = {});

}  // namespace tessera
