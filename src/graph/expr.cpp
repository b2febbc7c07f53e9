#include "tessera/graph/expr.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

Token node_token(ExprKind kind, std::string_view name, const Shape& shape, DType dtype,
                 const ChunkGrid& chunks, const std::vector<ExprPtr>& inputs, Token params) {
  Tokenizer t;
  t.add(static_cast<int>(kind)).add(name).add_range(shape).add(static_cast<int>(dtype)).add(params);
  for (int a = 0; a < chunks.ndim(); ++a) t.add_range(chunks.sizes(a));
  for (const auto& in : inputs) t.add(in->token());
  return t.finish();
}

/// Common refinement of the inputs' chunk boundaries along every output axis.
ChunkGrid refine(const Shape& shape, const std::vector<ExprPtr>& inputs) {
  const auto nd = shape.size();
  std::vector<std::vector<index_t>> sizes(nd);
  for (std::size_t a = 0; a < nd; ++a) {
    std::vector<index_t> bounds{0, shape[a]};
    for (const auto& in : inputs) {
      const auto lead = nd - static_cast<std::size_t>(in->ndim());
      if (a < lead) continue;
      const int ia = static_cast<int>(a - lead);
      if (in->shape()[static_cast<std::size_t>(ia)] != shape[a]) continue;  // broadcast axis
      const auto& off = in->chunks().offsets(ia);
      bounds.insert(bounds.end(), off.begin(), off.end());
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    for (std::size_t i = 1; i < bounds.size(); ++i) sizes[a].push_back(bounds[i] - bounds[i - 1]);
    if (sizes[a].empty()) sizes[a].push_back(0);
  }
  return ChunkGrid(std::move(sizes));
}

ChunkGrid reduced_grid(const Expr& in, const std::vector<int>& axes, bool keepdims) {
  std::vector<std::vector<index_t>> sizes;
  for (int a = 0; a < in.ndim(); ++a) {
    const bool reduced = std::find(axes.begin(), axes.end(), a) != axes.end();
    if (!reduced)
      sizes.push_back(in.chunks().sizes(a));
    else if (keepdims)
      sizes.push_back({1});
  }
  return ChunkGrid(std::move(sizes));
}

Shape reduced_shape(const Shape& s, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int a = 0; a < static_cast<int>(s.size()); ++a) {
    const bool reduced = std::find(axes.begin(), axes.end(), a) != axes.end();
    if (!reduced)
      out.push_back(s[static_cast<std::size_t>(a)]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

}  // namespace

Expr::Expr(ExprKind kind, Shape shape, DType dtype, ChunkGrid chunks, std::vector<ExprPtr> inputs,
           Token params, std::string_view name)
    : m_kind(kind),
      m_shape(std::move(shape)),
      m_dtype(dtype),
      m_chunks(std::move(chunks)),
      m_inputs(std::move(inputs)),
      m_token(node_token(kind, name, m_shape, dtype, m_chunks, m_inputs, params)) {
  // Every array's element count and bytes fit index_t, so size(), nbytes() and the element
  // offsets of the index math cannot overflow downstream.
  shape_nbytes(m_shape, dtype_size(dtype), dtype_name(dtype));
  if (m_chunks.shape() != m_shape) {
    throw shape_error(fmt::format("{}: chunks {} do not tile shape {}", name, m_chunks.to_string(),
                                  shape_string(m_shape)));
  }
}

void SourceExpr::fill_region(void* out, const Shape& start, const Shape& count) const {
  const int nd = ndim();
  const index_t total = shape_size(count);
  if (total == 0) return;
  if (nd == 0) {
    fill(out, nullptr, 1);
    return;
  }
  const index_t row = count.back();
  const std::size_t row_bytes = static_cast<std::size_t>(row) * dtype_size(dtype());
  Shape idx = start;
  auto* o = static_cast<std::byte*>(out);
  for (index_t r = 0; r < total / row; ++r) {
    fill(o, idx.data(), row);
    o += row_bytes;
    for (int a = nd - 2; a >= 0; --a) {  // next row: advance the leading axes with carry
      const auto ua = static_cast<std::size_t>(a);
      if (++idx[ua] < start[ua] + count[ua]) break;
      idx[ua] = start[ua];
    }
  }
}

std::string Expr::label() const { return fmt::format("{}-{}", op_name(), short_token(m_token)); }

// The grid is copied, not moved, into the delegated call: the order in which arguments are
// evaluated is unspecified, and everywhere() reads its chunk count.
DataExpr::DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks, std::string_view name)
    : DataExpr(chunks, dtype, std::move(blocks), ChunkOwners::everywhere(chunks.num_chunks()), 0,
               name) {}

DataExpr::DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks, Token content,
                   std::string_view name)
    : DataExpr(chunks, dtype, std::move(blocks), ChunkOwners::everywhere(chunks.num_chunks()), 0,
               name, Tokenizer().add(std::string_view("content")).add(content).finish()) {}

DataExpr::DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks, ChunkOwners owners,
                   int this_rank, std::string_view name, Token params)
    : Expr(ExprKind::Data, chunks.shape(), dtype, chunks, {}, params, name),
      m_blocks(std::move(blocks)),
      m_owners(std::move(owners)),
      m_rank(this_rank),
      m_name(name) {
  if (static_cast<index_t>(m_blocks.size()) != this->chunks().num_chunks() ||
      m_owners.num_chunks() != this->chunks().num_chunks()) {
    throw shape_error(fmt::format("{} blocks and {} owners given for a grid of {} chunks",
                                  m_blocks.size(), m_owners.num_chunks(),
                                  this->chunks().num_chunks()));
  }
  if (!m_owners.all_placed()) {
    index_t c = 0;
    while (!m_owners.is_unplaced(c)) ++c;
    throw value_error(fmt::format("{}: chunk {} exists but is placed on no rank", name, c));
  }
  for (index_t c = 0; c < this->chunks().num_chunks(); ++c) {
    if (!holds(c)) continue;
    const Block& b = m_blocks[static_cast<std::size_t>(c)];
    const Shape want = this->chunks().chunk_shape(this->chunks().chunk_coords(c));
    if (b.shape() != want || b.dtype() != dtype) {
      throw shape_error(fmt::format("block {} has shape {} and dtype {}, expected {} and {}", c,
                                    shape_string(b.shape()), dtype_name(b.dtype()),
                                    shape_string(want), dtype_name(dtype)));
    }
  }
}

ElementwiseExpr::ElementwiseExpr(Shape shape, DType dtype, std::vector<ExprPtr> inputs,
                                 Token params, std::string_view name)
    // `inputs` is copied, not moved: the order in which arguments are evaluated is unspecified.
    : Expr(ExprKind::Elementwise, shape, dtype, refine(shape, inputs), inputs, params, name) {}

ReduceExpr::ReduceExpr(ExprPtr input, std::vector<int> axes, bool keepdims, int split_every,
                       DType dtype, Token params, std::string_view name)
    : Expr(ExprKind::Reduce, reduced_shape(input->shape(), axes, keepdims), dtype,
           reduced_grid(*input, axes, keepdims), {input},
           Tokenizer().add(params).add_range(axes).add(keepdims).add(split_every).finish(), name),
      m_axes(std::move(axes)),
      m_keepdims(keepdims),
      m_split_every(split_every) {
  if (m_split_every < 2)
    throw value_error(fmt::format("split_every must be at least 2, got {}", m_split_every));
}

bool ReduceExpr::reduces(int axis) const noexcept {
  return std::find(m_axes.begin(), m_axes.end(), axis) != m_axes.end();
}

Partial ReduceExpr::chunk_partial(const Block&) const {
  throw std::logic_error(fmt::format("{}: folds runs, not whole chunks", label()));
}

}  // namespace tessera

namespace tessera {

void Serializer<Partial>::write(const Partial& p, WireWriter& w) {
  Serializer<std::vector<Block>>::write(p.fields, w);
}
Partial Serializer<Partial>::read(WireReader& r) {
  return Partial{Serializer<std::vector<Block>>::read(r)};
}

Piece::Piece(Block block, Shape start, Shape count)
    : m_block(std::move(block)),
      m_start(std::move(start)),
      m_count(std::move(count)),
      m_cut(std::make_shared<Cut>()) {}

Piece::Piece(Block block)
    : Piece(block, Shape(static_cast<std::size_t>(block.ndim()), 0), block.shape()) {}

const Block& Piece::region() const {
  if (m_count == m_block.shape()) return m_block;
  std::call_once(m_cut->once, [this] {
    // One contiguous range: every axis after the first the region spans fully.
    const std::size_t nd = m_count.size();
    std::size_t first = 0;  // the first axis where the region holds more than one index
    while (first < nd && m_count[first] == 1) ++first;
    bool contiguous = true;
    for (std::size_t a = first + 1; a < nd; ++a) contiguous &= m_count[a] == m_block.shape()[a];
    if (contiguous && shape_size(m_count) > 0) {
      const Shape strides = row_major_strides(m_block.shape());
      index_t offset = 0;
      for (std::size_t a = 0; a < nd; ++a) offset += m_start[a] * strides[a];
      auto* base = static_cast<const std::byte*>(m_block.data()) +
                   static_cast<std::size_t>(offset) * dtype_size(m_block.dtype());
      m_cut->region = Block::adopt(m_block.dtype(), m_count, const_cast<std::byte*>(base),
                                   std::make_shared<Block>(m_block));
    } else {
      m_cut->region = Block(m_block.dtype(), m_count);
      copy_region(m_block, {m_start}, m_cut->region, {Shape(nd, 0)}, m_count);
    }
  });
  return m_cut->region;
}

void Serializer<Piece>::write(const Piece& p, WireWriter& w) {
  // The region is kept with the piece, and so with the Value the sender holds until it is sent.
  Serializer<Block>::write(p.region(), w);
}
Piece Serializer<Piece>::read(WireReader& r) { return Piece(Serializer<Block>::read(r)); }

Block BlockwiseExpr::compute(const Shape& coords, std::span<const Block* const> inputs) const {
  std::vector<Piece> pieces;
  pieces.reserve(inputs.size());
  for (const Block* b : inputs) pieces.emplace_back(*b);
  return compute_pieces(coords, pieces);
}

Block BlockwiseExpr::compute_pieces(const Shape&, std::span<const Piece>) const {
  throw std::logic_error(fmt::format("{}: does not read pieces in place", label()));
}

namespace detail {
void register_graph_serializers() {
  // Partials cross ranks in distributed reductions, pieces in rechunks. Registered on first
  // use rather than by a static initialiser, which a static library may leave out of the link.
  static const bool once = (register_serializer<Partial>(), register_serializer<Piece>(), true);
  (void)once;
}
}  // namespace detail

}  // namespace tessera
