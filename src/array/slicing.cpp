// Basic indexing: integers and start:stop:step slices (NumPy semantics). Each output chunk
// reads exactly one input chunk, so only the chunks a slice touches are ever computed.

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "selection.hpp"
#include "tessera/array/array.hpp"
#include "tessera/array/manipulation.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

index_t floor_div(index_t a, index_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
index_t ceil_div(index_t a, index_t b) { return -floor_div(-a, b); }

}  // namespace

namespace detail {

AxisRange resolve_index(const IndexItem& item, index_t n, int axis) {
  AxisRange s;
  if (const auto* i = std::get_if<index_t>(&item)) {
    if (*i < -n || *i >= n) {
      throw index_error(
          fmt::format("index {} is out of bounds for axis {} with size {}", *i, axis, n));
    }
    s.start = *i < 0 ? *i + n : *i;
    s.len = 1;
    s.drop = true;
  } else {
    const Slice& sl = std::get<Slice>(item);
    if (sl.step == 0) throw value_error(fmt::format("slice step cannot be zero (axis {})", axis));
    // A step longer than the axis selects at most one element, as a step of the axis length
    // does: using that keeps -step and step * stride in range (-INT64_MIN is undefined; NumPy
    // gives the last element for ::INT64_MIN).
    const index_t longest = std::max<index_t>(n, 1);
    s.step = sl.step > longest ? longest : sl.step < -longest ? -longest : sl.step;
    auto clamp = [&](std::optional<index_t> v, index_t dflt, index_t lo, index_t hi) {
      if (!v) return dflt;
      index_t x = *v < 0 ? *v + n : *v;
      return std::clamp(x, lo, hi);
    };
    if (s.step > 0) {
      s.start = clamp(sl.start, 0, 0, n);
      const index_t stop = clamp(sl.stop, n, 0, n);
      s.len = std::max<index_t>(0, ceil_div(stop - s.start, s.step));
    } else {
      s.start = clamp(sl.start, n - 1, -1, n - 1);
      const index_t stop = clamp(sl.stop, -1, -1, n - 1);
      s.len = std::max<index_t>(0, ceil_div(s.start - stop, -s.step));
    }
  }
  return s;
}

ExpandedIndex expand_index(const std::vector<IndexItem>& full_index, int ndim) {
  int indexed = 0, ellipses = 0;
  for (const IndexItem& item : full_index) {
    indexed += std::holds_alternative<index_t>(item) || std::holds_alternative<Slice>(item);
    ellipses += std::holds_alternative<Ellipsis>(item);
  }
  if (ellipses > 1) throw index_error("an index can only have a single ellipsis ('...')");
  if (indexed > ndim) {
    throw index_error(fmt::format(
        "too many indices for array: array is {}-dimensional, but {} were indexed", ndim, indexed));
  }
  ExpandedIndex out;
  int out_axis = 0;
  for (const IndexItem& item : full_index) {
    if (std::holds_alternative<NewAxis>(item)) {
      out.new_axes.push_back(out_axis++);
    } else if (std::holds_alternative<Ellipsis>(item)) {
      for (int k = 0; k < ndim - indexed; ++k, ++out_axis) out.items.emplace_back(Slice{});
    } else {
      out_axis += std::holds_alternative<Slice>(item);
      out.items.push_back(item);
    }
  }
  while (static_cast<int>(out.items.size()) < ndim) out.items.emplace_back(Slice{});
  return out;
}

}  // namespace detail

namespace {

/// What one input axis selects (AxisRange), and the output chunks along it.
struct AxisSelection : detail::AxisRange {
  /// Output chunks along this axis: (input chunk, first k, count).
  struct Piece {
    index_t chunk, k0, count;
  };
  std::vector<Piece> pieces;
};

AxisSelection select_axis(const IndexItem& item, index_t n, int axis, const ChunkGrid& grid) {
  AxisSelection s;
  static_cast<detail::AxisRange&>(s) = detail::resolve_index(item, n, axis);
  if (s.len == 0) return s;
  const auto& off = grid.offsets(axis);
  const index_t nch = grid.num_chunks(axis);
  for (index_t j = 0; j < nch; ++j) {
    const index_t c = s.step > 0 ? j : nch - 1 - j;  // traverse in the step's direction
    const index_t lo = off[static_cast<std::size_t>(c)], hi = off[static_cast<std::size_t>(c + 1)];
    index_t k0, k1;
    if (s.step > 0) {
      k0 = ceil_div(lo - s.start, s.step);
      k1 = ceil_div(hi - s.start, s.step);
    } else {
      k0 = floor_div(s.start - hi, -s.step) + 1;
      k1 = floor_div(s.start - lo, -s.step) + 1;
    }
    k0 = std::max<index_t>(k0, 0);
    k1 = std::min(k1, s.len);
    if (k1 > k0) s.pieces.push_back({c, k0, k1 - k0});
  }
  return s;
}

class SliceExpr final : public BlockwiseExpr {
 public:
  SliceExpr(const ExprPtr& input, std::vector<AxisSelection> sel, Shape shape, ChunkGrid grid,
            Token params)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), input->dtype(), std::move(grid),
                      {input}, params, "getitem"),
        m_sel(std::move(sel)) {}

  std::string_view op_name() const override { return "getitem"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    if (shape_size(shape()) == 0) return {};
    return {{0, inputs()[0]->chunks().chunk_linear(input_coords(coords))}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    if (out.size() == 0) return out;
    const Block& src = *in[0];
    const Shape ioff = inputs()[0]->chunks().chunk_offset(input_coords(coords));
    // Per input axis: the local index of the first selected element, the step, and how many
    // elements; output axes are the non-dropped input axes in order, and a dropped axis (an
    // integer index) is a size-1 axis of the output seen with the input's axes.
    const std::size_t ind = m_sel.size();
    Shape first(ind), step(ind), count(ind);
    std::size_t o = 0;
    for (std::size_t a = 0; a < ind; ++a) {
      const auto& s = m_sel[a];
      index_t k0 = 0;
      count[a] = 1;
      if (!s.drop) {
        k0 = s.pieces[static_cast<std::size_t>(coords[o])].k0;
        count[a] = out.shape()[o++];
      }
      first[a] = s.start + k0 * s.step - ioff[a];
      step[a] = s.step;
    }
    Block dst = out.reshaped(count);  // the same buffer
    copy_region(src, {first, step}, dst, {Shape(ind, 0)}, count);
    return out;
  }

 private:
  Shape input_coords(const Shape& coords) const {
    Shape ic;
    std::size_t o = 0;
    for (const auto& s : m_sel) {
      ic.push_back(s.drop ? s.pieces[0].chunk
                          : s.pieces[static_cast<std::size_t>(coords[o++])].chunk);
    }
    return ic;
  }

  std::vector<AxisSelection> m_sel;
};

}  // namespace

Array Array::operator[](std::initializer_list<IndexItem> index) const {
  return slice(std::vector<IndexItem>(index));
}

Array Array::slice(const std::vector<IndexItem>& full_index) const {
  const auto [index, new_axes] = detail::expand_index(full_index, ndim());
  if (!new_axes.empty()) {
    // The axes after the last item are kept whole: they follow the new axes in the result.
    return expand_dims(slice(index), Axes(new_axes));
  }
  std::vector<AxisSelection> sel;
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  Tokenizer t;
  bool empty = false;
  for (int a = 0; a < ndim(); ++a) {
    const IndexItem item = a < static_cast<int>(index.size()) ? index[static_cast<std::size_t>(a)]
                                                              : IndexItem(Slice{});
    AxisSelection s =
        select_axis(item, shape_size({this->shape()[static_cast<std::size_t>(a)]}), a, chunks());
    t.add(s.start).add(s.step).add(s.len).add(s.drop);
    if (!s.drop) {
      shape.push_back(s.len);
      std::vector<index_t> sz;
      for (const auto& p : s.pieces) sz.push_back(p.count);
      if (sz.empty()) sz.push_back(0);
      sizes.push_back(std::move(sz));
    }
    empty = empty || s.len == 0;
    sel.push_back(std::move(s));
  }
  if (empty) {  // an empty result reads nothing: one empty chunk per axis
    for (auto& sz : sizes)
      sz = {sz.size() == 1 && sz[0] == 0 ? 0 : std::accumulate(sz.begin(), sz.end(), index_t{0})};
  }
  return Array(std::make_shared<SliceExpr>(m_expr, std::move(sel), shape,
                                           ChunkGrid(std::move(sizes)), t.finish()));
}

}  // namespace tessera
