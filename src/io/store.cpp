#include "io/store.hpp"

#include <fmt/format.h>

#include "tessera/core/copy_region.hpp"

namespace tessera::detail {
namespace {

/// The first and last chunk index along each axis of `grid` that region [origin, origin + n)
/// overlaps.
std::pair<Shape, Shape> overlapped(const ChunkGrid& grid, const Shape& origin, const Shape& n) {
  Shape first(origin.size()), last(origin.size());
  for (std::size_t a = 0; a < origin.size(); ++a) {
    first[a] = grid.chunk_of(static_cast<int>(a), origin[a]);
    last[a] = grid.chunk_of(static_cast<int>(a), origin[a] + n[a] - 1);
  }
  return {first, last};
}

/// Steps `c` to the next coordinates in [first, last] (row-major); false after the last.
bool next(Shape& c, const Shape& first, const Shape& last) {
  for (std::size_t a = c.size(); a-- > 0;) {
    if (++c[a] <= last[a]) return true;
    c[a] = first[a];
  }
  return false;
}

/// Adds, for every chunk of `file` (root `k`'s file grid), a task that gathers its values from
/// the array chunks overlapping it and encodes them, and a task on rank 0 that writes the result.
/// Returns the write tasks.
std::vector<TaskId> add_encoded_stores(LoweredGraph& lg, std::size_t k, const Expr& root,
                                       const ChunkGrid& file, const EncodedOutputs& encoded) {
  const ChunkGrid& grid = root.chunks();
  const DType dtype = root.dtype();
  const std::string token = short_token(root.token());
  const auto piece_label = lg.graph.add_label(fmt::format("encode-{}-piece", token));
  const auto encode_label = lg.graph.add_label(fmt::format("encode-{}", token));
  const auto write_label = lg.graph.add_label(fmt::format("store-{}", token));
  const auto nd = static_cast<std::size_t>(grid.ndim());
  Shape full(nd);  // HDF5 chunks are regular: every stored chunk has the first chunk's shape
  for (std::size_t a = 0; a < nd; ++a) full[a] = file.sizes(static_cast<int>(a))[0];
  std::vector<TaskId> writes;
  for (index_t f = 0; f < file.num_chunks(); ++f) {
    const Shape fc = file.chunk_coords(f);
    const Shape origin = file.chunk_offset(fc);
    const Shape extent = file.chunk_shape(fc);
    const auto [first, last] = overlapped(grid, origin, extent);
    // Each overlapping array chunk's part of this file chunk, where it goes in the file chunk.
    std::vector<TaskId> deps;
    std::vector<Shape> at;
    const bool single = first == last;
    for (Shape c = first;;) {
      const TaskId chunk = lg.outputs[k][static_cast<std::size_t>(grid.chunk_linear(c))];
      const Shape co = grid.chunk_offset(c), cs = grid.chunk_shape(c);
      Shape n(nd), from(nd), to(nd);  // the overlap's size, and where it starts in each
      for (std::size_t a = 0; a < nd; ++a) {
        const index_t lo = std::max(origin[a], co[a]);
        n[a] = std::min(origin[a] + extent[a], co[a] + cs[a]) - lo;
        from[a] = lo - co[a];
        to[a] = lo - origin[a];
      }
      if (single) {
        // The whole file chunk lies in one array chunk: cut and encode it there in one task.
        deps.push_back(chunk);
        at.push_back(from);
      } else {
        // A piece cut where its array chunk lives, so that only the piece travels.
        Shape name = fc;
        name.insert(name.end(), c.begin(), c.end());
        deps.push_back(lg.graph.add(piece_label, name, std::span(&chunk, 1),
                                    [from, n](std::span<const Value> in) {
                                      const Block& b = in[0].get<Block>();
                                      Block part(b.dtype(), n);
                                      copy_region(b, {from}, part, {Shape(n.size(), 0)}, n);
                                      return Value::make(std::move(part));
                                    }));
        at.push_back(to);
      }
      if (!next(c, first, last)) break;
    }
    const TaskId encode = lg.graph.add(
        encode_label, fc, deps,
        [&encoded, k, dtype, single, full, extent, at](std::span<const Value> in) {
          const Block& b0 = in[0].get<Block>();
          if (single && b0.shape() == full) {  // the array chunk is the file chunk
            return Value::make(encoded.encode(k, b0));
          }
          Block chunk = extent == full ? Block(dtype, full) : Block::zeros(dtype, full);
          for (std::size_t i = 0; i < in.size(); ++i) {
            const Block& b = in[i].get<Block>();
            if (single) {
              copy_region(b, {at[i]}, chunk, {Shape(full.size(), 0)}, extent);
            } else {
              copy_region(b, {Shape(full.size(), 0)}, chunk, {at[i]}, b.shape());
            }
          }
          return Value::make(encoded.encode(k, chunk));
        });
    const TaskId write = lg.graph.add(write_label, fc, std::span(&encode, 1),
                                      [&encoded, k, origin](std::span<const Value> in) {
                                        const auto& c = in[0].get<EncodedChunk>();
                                        encoded.write(k, origin, c);
                                        return Value::make(static_cast<std::int64_t>(c.size));
                                      });
    lg.graph.pin(write, 0);
    writes.push_back(write);
  }
  return writes;
}

}  // namespace

void store_chunks(Scheduler& s, const std::vector<ExprPtr>& roots, const LowerOptions& lowering,
                  ChunkWriter write, const EncodedOutputs* encoded) {
  if (encoded != nullptr) register_serializer<EncodedChunk>();
  LoweredGraph lg = tessera::lower(roots, {}, lowering);
  auto writer = std::make_shared<const ChunkWriter>(std::move(write));
  std::vector<TaskId> stores;
  for (std::size_t k = 0; k < roots.size(); ++k) {
    if (encoded != nullptr && !encoded->grids[k].shape().empty()) {
      const auto w = add_encoded_stores(lg, k, *roots[k], encoded->grids[k], *encoded);
      stores.insert(stores.end(), w.begin(), w.end());
      continue;
    }
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
