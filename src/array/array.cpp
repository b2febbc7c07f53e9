#include "tessera/array/array.hpp"

#include <fmt/format.h>

#include "tessera/array/elementwise.hpp"
#include "tessera/core/chunk_owners.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

Scheduler& scheduler_of(const ComputeOptions& o) {
  return o.scheduler ? *o.scheduler : default_scheduler();
}

/// Runs the graph for every chunk of every root and returns the chunks of each in row-major
/// chunk order, one root after the other (nothing on ranks other than options.root when a root
/// is set).
std::vector<Block> compute_chunks(std::span<const ExprPtr> roots, const ComputeOptions& options) {
  LoweredGraph lg = tessera::lower(roots, {}, options.lowering);
  const auto outputs = lg.all_outputs();
  Scheduler& s = scheduler_of(options);
  std::vector<Value> values;
  if (options.root >= 0) {
    if (options.root >= s.num_ranks()) {
      throw value_error(fmt::format("compute: root rank {} does not exist ({} rank(s))",
                                    options.root, s.num_ranks()));
    }
    const std::vector<std::vector<int>> to_root(outputs.size(), std::vector<int>{options.root});
    values = s.execute_to(lg.graph, outputs, to_root).values;
    if (s.rank() != options.root) return {};
  } else {
    values = s.run(lg.graph, outputs);
  }
  std::vector<Block> blocks;
  blocks.reserve(values.size());
  for (const auto& v : values) blocks.push_back(v.get<Block>());
  return blocks;
}

/// One array's chunks (in row-major chunk order) as one Block.
Block assemble(const Expr& e, std::span<const Block> blocks) {
  if (blocks.size() == 1) return blocks[0];
  Block out(e.dtype(), e.shape());
  const Shape origin(static_cast<std::size_t>(e.ndim()), 0);
  for (index_t c = 0; c < e.chunks().num_chunks(); ++c) {
    const Block& chunk = blocks[static_cast<std::size_t>(c)];
    copy_region(chunk, {origin}, out, {e.chunks().chunk_offset(e.chunks().chunk_coords(c))},
                chunk.shape());
  }
  return out;
}

}  // namespace

namespace detail {
void throw_item_size(const Shape& shape) {
  throw shape_error(
      fmt::format("item() needs an array of size 1, not shape {}", shape_string(shape)));
}
}  // namespace detail

Array::Array() : Array(detail::constant(detail::WeakScalar::of(0.0), DType::Float64)) {}

Array::Array(ExprPtr expr) : m_expr(std::move(expr)) {
  if (!m_expr) throw value_error("Array needs an expression, got a null pointer");
}

std::vector<Block> compute_blocks(const std::vector<Array>& arrays, const ComputeOptions& options) {
  std::vector<ExprPtr> roots;
  for (const Array& a : arrays) roots.push_back(a.expr());
  std::vector<Block> blocks = compute_chunks(roots, options);
  std::vector<Block> out;
  std::size_t next = 0;
  for (const Array& a : arrays) {
    if (blocks.empty()) {  // not the root: nothing landed here
      out.emplace_back(a.dtype(), Shape{0});
      continue;
    }
    const auto n = static_cast<std::size_t>(a.chunks().num_chunks());
    out.push_back(assemble(*a.expr(), std::span(blocks).subspan(next, n)));
    next += n;
  }
  return out;
}

Block Array::compute_block(const ComputeOptions& options) const {
  const ExprPtr roots[] = {m_expr};
  std::vector<Block> blocks = compute_chunks(roots, options);
  if (blocks.empty()) return Block(dtype(), Shape{0});  // not the root: nothing landed here
  return assemble(*m_expr, blocks);
}

Array Array::persist(const ComputeOptions& options) const {
  return tessera::persist({*this}, options)[0];
}

std::vector<Array> persist(const std::vector<Array>& arrays, const ComputeOptions& options) {
  std::vector<Array> out = arrays;
  std::vector<ExprPtr> roots;
  std::vector<std::size_t> which;  // the arrays that are lowered, in roots' order
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    if (arrays[k].expr()->kind() == ExprKind::Data) continue;  // stored already
    roots.push_back(arrays[k].expr());
    which.push_back(k);
  }
  if (roots.empty()) return out;
  // Chunks stay where they were computed: on their owner rank under a distributed scheduler.
  LoweredGraph lg = tessera::lower(roots, {}, options.lowering);
  const auto outputs = lg.all_outputs();
  Scheduler& s = scheduler_of(options);
  RunResult r = s.execute(lg.graph, outputs, ResultPlacement::owners);
  std::size_t next = 0;  // all_outputs(): every root's chunks, root by root
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Array& a = arrays[which[i]];
    const auto n = static_cast<std::size_t>(a.chunks().num_chunks());
    ChunkOwners owners = ChunkOwners::from_ranks(
        std::vector<int>(r.owners.begin() + static_cast<std::ptrdiff_t>(next),
                         r.owners.begin() + static_cast<std::ptrdiff_t>(next + n)));
    std::vector<Block> blocks(n);
    for (index_t c : owners.chunks_of(s.rank())) {
      blocks[static_cast<std::size_t>(c)] =
          r.values[next + static_cast<std::size_t>(c)].get<Block>();
    }
    out[which[i]] = Array(std::make_shared<DataExpr>(a.chunks(), a.dtype(), std::move(blocks),
                                                     std::move(owners), s.rank(), "persist"));
    next += n;
  }
  return out;
}

LoweredGraph Array::lower(const LowerOptions& options) const {
  const ExprPtr roots[] = {m_expr};
  return tessera::lower(roots, {}, options);
}

Array Array::astype(DType dtype) const { return detail::cast(*this, dtype); }

}  // namespace tessera
