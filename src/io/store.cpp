#include "io/store.hpp"

#include <fmt/format.h>

namespace tessera::detail {

void store_chunks(Scheduler& s, const std::vector<ExprPtr>& roots, const LowerOptions& lowering,
                  ChunkWriter write) {
  LoweredGraph lg = tessera::lower(roots, {}, lowering);
  auto writer = std::make_shared<const ChunkWriter>(std::move(write));
  std::vector<TaskId> stores;
  for (std::size_t k = 0; k < roots.size(); ++k) {
    const auto label = lg.graph.add_label(fmt::format("store-{}", short_token(roots[k]->token())));
    const ChunkGrid& grid = roots[k]->chunks();
    for (index_t c = 0; c < grid.num_chunks(); ++c) {
      const Shape coords = grid.chunk_coords(c);
      const TaskId dep = lg.outputs[k][static_cast<std::size_t>(c)];
      // Placed with its chunk (owner computes), so the chunk never travels.
      stores.push_back(
          lg.graph.add(label, coords, std::span(&dep, 1),
                       [writer, k, origin = grid.chunk_offset(coords)](std::span<const Value> in) {
                         const Block& b = in[0].get<Block>();
                         if (b.size() > 0) (*writer)(k, origin, b);
                         return Value::make(static_cast<std::int64_t>(b.nbytes()));
                       }));
    }
  }
  order_tasks(lg.graph, stores);
  s.execute(lg.graph, stores, ResultPlacement::owners);
}

}  // namespace tessera::detail
