// blocks() and take(): a chunk as a slice; integer-array indexing as a blockwise node whose
// output chunks read pieces (the span of needed rows) of the input chunks they touch.
// extract(): boolean masks, with the mask's true elements counted per chunk when the result is
// built. setitem(): assignment as a where() over x and the value spread onto x's shape.

#include "tessera/array/indexing.hpp"

#include <algorithm>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "selection.hpp"
#include "tessera/array/creation.hpp"
#include "tessera/array/manipulation.hpp"
#include "tessera/array/rechunk.hpp"
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

/// The number of true elements in each chunk of a 1-D bool array: one int64 per chunk.
class ChunkCountExpr final : public BlockwiseExpr {
 public:
  explicit ChunkCountExpr(const ExprPtr& mask)
      : BlockwiseExpr(ExprKind::Blockwise, Shape{mask->chunks().num_chunks(0)}, DType::Int64,
                      ChunkGrid({std::vector<index_t>(
                          static_cast<std::size_t>(mask->chunks().num_chunks(0)), 1)}),
                      {mask}, 0, "count_true") {}
  std::string_view op_name() const override { return "count_true"; }
  std::vector<Dep> deps(const Shape& coords) const override { return {{0, coords[0]}}; }
  Block compute(const Shape&, std::span<const Block* const> in) const override {
    Block out(DType::Int64, {1});
    const bool* m = in[0]->data_as<bool>();
    *out.data_as<std::int64_t>() = std::count(m, m + in[0]->size(), true);
    return out;
  }
};

/// x[mask] on 1-D x and mask of the same chunks: output chunk g packs, in order, the selected
/// elements of input chunks m_groups[g] (those with a true element; the others are not read).
class ExtractExpr final : public BlockwiseExpr {
 public:
  ExtractExpr(const ExprPtr& x, const ExprPtr& mask, std::vector<std::vector<index_t>> groups,
              std::vector<index_t> sizes, Token token)
      : BlockwiseExpr(ExprKind::Blockwise,
                      Shape{std::accumulate(sizes.begin(), sizes.end(), index_t{0})}, x->dtype(),
                      ChunkGrid({sizes}), {x, mask}, token, "extract"),
        m_groups(std::move(groups)) {}
  std::string_view op_name() const override { return "extract"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    for (index_t c : m_groups[static_cast<std::size_t>(coords[0])]) {
      out.push_back({0, c});
      out.push_back({1, c});
    }
    return out;
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const index_t want = out.size();
    index_t n = 0;
    visit_dtype(dtype(), [&]<class T>() {
      T* o = out.data_as<T>();
      for (std::size_t k = 0; k + 1 < in.size(); k += 2) {
        const T* x = in[k]->data_as<T>();
        const bool* m = in[k + 1]->data_as<bool>();
        for (index_t i = 0; i < in[k]->size(); ++i) {
          if (!m[i]) continue;
          if (n < want) o[n] = x[i];
          ++n;
        }
      }
    });
    // A mask that gives other values than when it was counted (it cannot, unless a kernel is
    // not deterministic) is an error, not a write past the block.
    if (n != want) {
      throw value_error(fmt::format(
          "extract: the mask has {} true elements in output chunk {} now, {} when it was "
          "counted (is it deterministic?)",
          n, coords[0], want));
    }
    return out;
  }

 private:
  std::vector<std::vector<index_t>> m_groups;
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

Array extract(const Array& mask, const Array& x, const ComputeOptions& options) {
  if (mask.dtype() != DType::Bool) {
    throw dtype_error(fmt::format("extract: the mask must be bool, not {} (integer indices: take)",
                                  dtype_name(mask.dtype())));
  }
  if (mask.shape() != x.shape()) {
    throw shape_error(fmt::format(
        "boolean index did not match indexed array: the mask has shape {}, the array {}",
        shape_string(mask.shape()), shape_string(x.shape())));
  }
  const Array flat = ravel(x);
  std::vector<std::vector<index_t>> chunk_sizes{flat.chunks().sizes(0)};
  const Array flat_mask = rechunk(ravel(mask), ChunkSpec::explicit_sizes(chunk_sizes));
  // The count exchange: every rank learns how many elements each chunk selects.
  ComputeOptions everywhere = options;
  everywhere.root = -1;
  const auto counts =
      Array(std::make_shared<ChunkCountExpr>(flat_mask.expr())).compute<std::int64_t>(everywhere);
  // Consecutive chunks with true elements packed up to the largest chunk's size.
  const auto& sizes = chunk_sizes[0];
  const index_t target = std::max<index_t>(1, *std::max_element(sizes.begin(), sizes.end()));
  std::vector<std::vector<index_t>> groups(1);
  std::vector<index_t> out_sizes{0};
  Tokenizer t;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    const index_t n = counts(c);
    t.add(n);
    if (n == 0) continue;
    if (out_sizes.back() > 0 && out_sizes.back() + n > target) {
      groups.emplace_back();
      out_sizes.push_back(0);
    }
    groups.back().push_back(static_cast<index_t>(c));
    out_sizes.back() += n;
  }
  return Array(std::make_shared<ExtractExpr>(flat.expr(), flat_mask.expr(), std::move(groups),
                                             std::move(out_sizes), t.finish()));
}

Array Array::operator[](const Array& mask) const { return extract(mask, *this); }

namespace detail {

namespace {

/// The value as an array of x's dtype (NumPy's assignment casts, unsafely).
Array value_as(const Operand& value, DType dtype) {
  if (const auto* a = std::get_if<Array>(&value)) return a->astype(dtype);
  return constant(std::get<WeakScalar>(value), dtype);
}

/// The value as an array of x's dtype broadcast to the selection's shape `target`, with
/// NumPy's message when it does not broadcast.
Array value_as(const Operand& value, DType dtype, const Shape& target) {
  const Array v = value_as(value, dtype);
  try {
    return broadcast_to(v, target);
  } catch (const shape_error&) {
    throw shape_error(fmt::format("could not broadcast input array from shape {} into shape {}",
                                  shape_string(v.shape()), shape_string(target)));
  }
}

/// A 1-D bool array laid along `axis` of an `ndim`-dimensional array (size 1 elsewhere).
Array along_axis(const std::vector<bool>& flags, int axis, int ndim) {
  const auto n = static_cast<index_t>(flags.size());
  std::vector<std::uint8_t> bytes(flags.begin(), flags.end());
  Shape shape(static_cast<std::size_t>(ndim), 1);
  shape[static_cast<std::size_t>(axis)] = n;
  return from_buffer(bytes.data(), DType::Bool, shape, ChunkSpec(-1));
}

/// x with `v` (of x's shape but `positions[a].size()` along each axis a) written at the
/// positions: v spread onto x's shape with take(), where() between them, in x's chunks.
/// positions[a] holds, for each element of v along axis a, its position in x.
Array scatter(const Array& x, Array v, const std::vector<std::vector<index_t>>& positions) {
  std::optional<Array> selected;  // the mask of written elements (none: every element)
  for (int a = 0; a < x.ndim(); ++a) {
    const auto& p = positions[static_cast<std::size_t>(a)];
    const index_t n = x.shape()[static_cast<std::size_t>(a)];
    if (p.empty()) return x;  // nothing selected
    std::vector<index_t> source(static_cast<std::size_t>(n), -1);
    for (std::size_t k = 0; k < p.size(); ++k)
      source[static_cast<std::size_t>(p[k])] = static_cast<index_t>(k);
    bool whole = static_cast<index_t>(p.size()) == n;
    for (index_t i = 0; whole && i < n; ++i) whole = source[static_cast<std::size_t>(i)] == i;
    if (whole) continue;  // every position, in order: v is already laid out along this axis
    std::vector<bool> written(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) {
      auto& s = source[static_cast<std::size_t>(i)];
      written[static_cast<std::size_t>(i)] = s >= 0;
      s = std::max<index_t>(s, 0);  // any element: where() does not take it
    }
    v = take(v, source, a);
    const Array flags = along_axis(written, a, x.ndim());
    selected = selected ? *selected & flags : flags;
  }
  v = rechunk(v, ChunkSpec::explicit_sizes([&] {
                std::vector<std::vector<index_t>> s;
                for (int a = 0; a < x.ndim(); ++a) s.push_back(x.chunks().sizes(a));
                return s;
              }()));
  return selected ? where(*selected, v, x) : v;
}

}  // namespace

Array setitem(const Array& x, const std::vector<IndexItem>& index, const Operand& value) {
  const auto [items, new_axes] = expand_index(index, x.ndim());
  const Shape target = x.slice(index).shape();
  Array v = value_as(value, x.dtype(), target);
  // v laid along x's axes: without the new axes, with the integer-indexed axes back (size 1).
  if (!new_axes.empty()) v = squeeze(v, Axes(new_axes));
  std::vector<int> dropped;
  std::vector<std::vector<index_t>> positions;
  for (int a = 0; a < x.ndim(); ++a) {
    const AxisRange r = resolve_index(items[static_cast<std::size_t>(a)],
                                      x.shape()[static_cast<std::size_t>(a)], a);
    if (r.drop) dropped.push_back(a);
    std::vector<index_t> p;
    for (index_t k = 0; k < r.len; ++k) p.push_back(r.start + k * r.step);
    positions.push_back(std::move(p));
  }
  if (!dropped.empty()) v = expand_dims(v, Axes(dropped));
  return scatter(x, v, positions);
}

Array setitem(const Array& x, const std::vector<index_t>& indices, int axis, const Operand& value) {
  const int a = normalize_axis(axis, x.ndim());
  const index_t n = x.shape()[static_cast<std::size_t>(a)];
  // The positions written, each once: for a repeated index the last value wins.
  std::vector<index_t> last(static_cast<std::size_t>(n), -1);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const index_t i = indices[k];
    if (i < -n || i >= n) {
      throw index_error(
          fmt::format("setitem: index {} is out of bounds for axis {} with size {}", i, a, n));
    }
    last[static_cast<std::size_t>(i < 0 ? i + n : i)] = static_cast<index_t>(k);
  }
  Shape target = x.shape();
  target[static_cast<std::size_t>(a)] = static_cast<index_t>(indices.size());
  Array v = value_as(value, x.dtype(), target);
  // The winning value of each written position, in position order.
  std::vector<index_t> winners, written;
  for (index_t i = 0; i < n; ++i) {
    if (last[static_cast<std::size_t>(i)] < 0) continue;
    winners.push_back(last[static_cast<std::size_t>(i)]);
    written.push_back(i);
  }
  if (written.empty()) return x;
  v = take(v, winners, a);
  std::vector<std::vector<index_t>> positions;
  for (int d = 0; d < x.ndim(); ++d) {
    std::vector<index_t> p(static_cast<std::size_t>(x.shape()[static_cast<std::size_t>(d)]));
    std::iota(p.begin(), p.end(), index_t{0});
    positions.push_back(d == a ? written : std::move(p));
  }
  return scatter(x, v, positions);
}

Array setitem(const Array& x, const Array& mask, const Operand& value) {
  if (mask.dtype() != DType::Bool) {
    throw dtype_error(
        fmt::format("setitem: the mask must be bool, not {}", dtype_name(mask.dtype())));
  }
  if (mask.shape() != x.shape()) {
    throw shape_error(fmt::format(
        "boolean index did not match indexed array: the mask has shape {}, the array {}",
        shape_string(mask.shape()), shape_string(x.shape())));
  }
  const Array v = value_as(value, x.dtype());
  bool fits = false;
  try {
    fits = broadcast_shapes(v.shape(), x.shape()) == x.shape();
  } catch (const shape_error&) {
  }
  if (!fits) {
    throw shape_error(fmt::format("setitem: a value of shape {} does not broadcast to {}",
                                  shape_string(v.shape()), shape_string(x.shape())));
  }
  return where(mask, v, x);
}

}  // namespace detail

}  // namespace tessera
