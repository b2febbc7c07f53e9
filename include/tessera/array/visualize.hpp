#pragma once
/// @file
/// Pictures of an Array's task graph (see `tessera/graph/visualize.hpp` for what is drawn).
///
///     Array y = (x * 2 + 1).sum(0);
///     visualize(y, "y.svg");                          // the fused graph compute() runs
///     visualize(y, "y-raw.png", {.optimized = false});  // one task per node and chunk
///
/// Nothing is computed: the array is only lowered. Local, not collective.

#include <string>

#include "tessera/array/array.hpp"
#include "tessera/graph/visualize.hpp"

namespace tessera {

/// The DOT text of `x`'s task graph: the fused one compute() runs when `options.optimized`,
/// else the unoptimised one (lowered with `LowerOptions::fuse = false`).
std::string to_dot(const Array& x, const VisualizeOptions& options = {});

/// Writes a picture of `x`'s task graph to `filename` (.dot, .gv, .svg, .png or .pdf), as
/// `visualize(const TaskGraph&, ...)` does.
void visualize(const Array& x, const std::string& filename, const VisualizeOptions& options = {});

}  // namespace tessera
