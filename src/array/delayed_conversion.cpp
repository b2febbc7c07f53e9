// Array <-> Delayed conversions: each side runs the other's graph inside one task (see
// delayed_conversion.hpp for what that costs).

#include "tessera/array/delayed_conversion.hpp"

#include <fmt/format.h>

#include "tessera/delayed/delayed_function.hpp"
#include "tessera/exec/synchronous_scheduler.hpp"

namespace tessera {

namespace {

/// Chunk c of an array is its own slice over the chunk's bounds.
std::vector<IndexItem> chunk_slice(const ChunkGrid& grid, index_t c) {
  const Shape coords = grid.chunk_coords(c);
  const Shape offset = grid.chunk_offset(coords), shape = grid.chunk_shape(coords);
  std::vector<IndexItem> items;
  items.reserve(offset.size());
  for (std::size_t a = 0; a < offset.size(); ++a)
    items.emplace_back(Slice{offset[a], offset[a] + shape[a], 1});
  return items;
}

/// The chunks of an Array computed by delayed graphs, one per chunk.
class FromDelayedExpr final : public BlockwiseExpr {
 public:
  FromDelayedExpr(std::vector<Delayed<Block>> blocks, const ChunkGrid& chunks, DType dtype,
                  Token params)
      : BlockwiseExpr(ExprKind::Blockwise, chunks.shape(), dtype, chunks, {}, params,
                      "from_delayed"),
        m_blocks(std::move(blocks)) {}

  std::string_view op_name() const override { return "from_delayed"; }
  std::vector<Dep> deps(const Shape&) const override { return {}; }
  Block compute(const Shape& coords, std::span<const Block* const>) const override {
    const index_t c = chunks().chunk_linear(coords);
    const Delayed<Block>& d = m_blocks[static_cast<std::size_t>(c)];
    SynchronousScheduler inside;
    Block b = d.compute({.scheduler = &inside});
    const Shape want = chunks().chunk_shape(coords);
    if (b.shape() != want) {
      throw shape_error(fmt::format("from_delayed: chunk {} ({}) has shape {}, not the chunk's {}",
                                    shape_string(coords), d.key(), shape_string(b.shape()),
                                    shape_string(want)));
    }
    if (b.dtype() != dtype()) {
      throw dtype_error(fmt::format("from_delayed: chunk {} ({}) has dtype {}, not the array's {}",
                                    shape_string(coords), d.key(), dtype_name(b.dtype()),
                                    dtype_name(dtype())));
    }
    return b;
  }

 private:
  std::vector<Delayed<Block>> m_blocks;
};

}  // namespace

std::vector<Delayed<Block>> to_delayed(const Array& x) {
  const ChunkGrid& grid = x.chunks();
  const index_t n = grid.num_chunks();
  // One wrapper per conversion: its calls are pure in the chunk number, so converting the
  // same chunk twice through it is one task.
  auto chunk = delayed(
      [x](index_t c) {
        SynchronousScheduler inside;
        return x.slice(chunk_slice(x.chunks(), c)).compute_block({.scheduler = &inside});
      },
      {.name = "to_delayed-" + x.name(), .pure = true});
  std::vector<Delayed<Block>> out;
  out.reserve(static_cast<std::size_t>(n));
  for (index_t c = 0; c < n; ++c) out.push_back(chunk(c));
  return out;
}

Array from_delayed(std::vector<Delayed<Block>> blocks, const ChunkGrid& chunks, DType dtype) {
  if (static_cast<index_t>(blocks.size()) != chunks.num_chunks()) {
    throw shape_error(fmt::format("from_delayed: {} blocks for the {} chunks of {}", blocks.size(),
                                  chunks.num_chunks(), chunks.to_string()));
  }
  Tokenizer t;
  t.add(std::string_view("from_delayed"));
  for (std::size_t c = 0; c < blocks.size(); ++c) {
    if (!blocks[c].valid())
      throw value_error(fmt::format("from_delayed: block {} is an empty Delayed", c));
    t.add(blocks[c].token());
  }
  return Array(
      std::make_shared<const FromDelayedExpr>(std::move(blocks), chunks, dtype, t.finish()));
}

}  // namespace tessera
