#include "tessera/array/visualize.hpp"

namespace tessera {

namespace {

/// The graph compute() would run (its default lowering), or the one lowering gives unfused.
LoweredGraph lowered(const Array& x, const VisualizeOptions& options) {
  LowerOptions lowering;
  lowering.fuse = options.optimized;
  return x.lower(lowering);
}

}  // namespace

std::string to_dot(const Array& x, const VisualizeOptions& options) {
  return to_dot(lowered(x, options).graph, options);
}

void visualize(const Array& x, const std::string& filename, const VisualizeOptions& options) {
  visualize(lowered(x, options).graph, filename, options);
}

}  // namespace tessera
