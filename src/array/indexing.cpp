// blocks() and take(): a chunk as a slice; integer-array indexing as a blockwise node whose
// output chunks read pieces (the span of needed rows) of the input chunks they touch.

#include "tessera/array/indexing.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tessera/array/manipulation.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

class TakeExpr final : public BlockwiseExpr {
 public:
  TakeExpr(const ExprPtr& x, int axis, std::vector<index_t> indices, Shape shape, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), x->dtype(), std::move(grid), {x},
                      Tokenizer().add(axis).add_range(indices).finish(), "take"),
        m_axis(axis),
        m_indices(std::move(indices)) {}

  std::string_view op_name() const override { return "take"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    for (const Span& s : spans(coords)) {
      Shape ic = coords, start(coords.size(), 0);
      ic[axis()] = s.chunk;
      Shape count = inputs()[0]->chunks().chunk_shape(ic);
      start[axis()] = s.lo;
      count[axis()] = s.hi - s.lo;
      out.push_back({0, inputs()[0]->chunks().chunk_linear(ic), start, count});
    }
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    if (out.size() == 0) return out;
    const std::vector<Span> sp = spans(coords);
    const auto& off = inputs()[0]->chunks().offsets(m_axis);
    const index_t first = chunks().offsets(m_axis)[static_cast<std::size_t>(coords[axis()])];
    Shape slab = out.shape();
    slab[axis()] = 1;
    for (index_t p = 0; p < out.shape()[axis()]; ++p) {
      const index_t i = m_indices[static_cast<std::size_t>(first + p)];
      const index_t c = inputs()[0]->chunks().chunk_of(m_axis, i);
      const auto k = static_cast<std::size_t>(
          std::lower_bound(sp.begin(), sp.end(), c,
                           [](const Span& s, index_t v) { return s.chunk < v; }) -
          sp.begin());
      Shape from(slab.size(), 0), to(slab.size(), 0);
      from[axis()] = i - off[static_cast<std::size_t>(c)] - sp[k].lo;
      to[axis()] = p;
      copy_region(*in[k], {from}, out, {to}, slab);
    }
    return out;
  }

 private:
  /// Rows [lo, hi) of input chunk `chunk` (along the axis, relative to the chunk's start).
  struct Span {
    index_t chunk, lo, hi;
  };
  std::size_t axis() const { return static_cast<std::size_t>(m_axis); }
  /// The input chunks output chunk `coords` reads, in chunk order, with their spans.
  std::vector<Span> spans(const Shape& coords) const {
    const auto& g = inputs()[0]->chunks();
    const auto& off = chunks().offsets(m_axis);
    std::vector<Span> out;
    for (index_t p = off[static_cast<std::size_t>(coords[axis()])];
         p < off[static_cast<std::size_t>(coords[axis()] + 1)]; ++p) {
      const index_t i = m_indices[static_cast<std::size_t>(p)];
      const index_t c = g.chunk_of(m_axis, i);
      const index_t local = i - g.offsets(m_axis)[static_cast<std::size_t>(c)];
      auto it = std::lower_bound(out.begin(), out.end(), c,
                                 [](const Span& s, index_t v) { return s.chunk < v; });
      if (it == out.end() || it->chunk != c) {
        out.insert(it, {c, local, local + 1});
      } else {
        it->lo = std::min(it->lo, local);
        it->hi = std::max(it->hi, local + 1);
      }
    }
    return out;
  }

  int m_axis;
  std::vector<index_t> m_indices;
};

}  // namespace

Array blocks(const Array& x, const std::vector<index_t>& coords) {
  if (static_cast<int>(coords.size()) != x.ndim()) {
    throw index_error(fmt::format("blocks: {} chunk coordinates for a {}-dimensional array",
                                  coords.size(), x.ndim()));
  }
  std::vector<IndexItem> index;
  for (int a = 0; a < x.ndim(); ++a) {
    const index_t n = x.chunks().num_chunks(a);
    index_t c = coords[static_cast<std::size_t>(a)];
    if (c < -n || c >= n) {
      throw index_error(fmt::format("blocks: chunk {} is out of range along axis {} of chunks {}",
                                    c, a, x.chunks().to_string()));
    }
    if (c < 0) c += n;
    const auto& off = x.chunks().offsets(a);
    index.emplace_back(
        Slice{off[static_cast<std::size_t>(c)], off[static_cast<std::size_t>(c + 1)]});
  }
  return x.slice(index);
}

Array take(const Array& x, const std::vector<index_t>& indices, std::optional<int> axis) {
  if (!axis) return take(ravel(x), indices, 0);
  const int a = normalize_axis(*axis, x.ndim());
  const index_t n = x.shape()[static_cast<std::size_t>(a)];
  std::vector<index_t> resolved;
  resolved.reserve(indices.size());
  for (index_t i : indices) {
    if (i < -n || i >= n) {
      throw index_error(
          fmt::format("take: index {} is out of bounds for axis {} with size {}", i, a, n));
    }
    resolved.push_back(i < 0 ? i + n : i);
  }
  Shape shape = x.shape();
  shape[static_cast<std::size_t>(a)] = static_cast<index_t>(resolved.size());
  // Along the axis, chunks the size of x's largest there.
  const auto& along = x.chunks().sizes(a);
  const index_t size = std::max<index_t>(1, *std::max_element(along.begin(), along.end()));
  std::vector<std::vector<index_t>> sizes;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d != a) {
      sizes.push_back(x.chunks().sizes(d));
      continue;
    }
    std::vector<index_t> s;
    for (index_t left = static_cast<index_t>(resolved.size()); left > 0; left -= size)
      s.push_back(std::min(left, size));
    if (s.empty()) s.push_back(0);
    sizes.push_back(std::move(s));
  }
  return Array(std::make_shared<TakeExpr>(x.expr(), a, std::move(resolved), std::move(shape),
                                          ChunkGrid(std::move(sizes))));
}

}  // namespace tessera
