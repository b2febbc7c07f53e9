// map_overlap: the kernel of each output chunk reads its input chunk grown by a halo. Along
// each axis the grown range splits into segments, each reading one input chunk forwards (inside
// the array, or periodic), backwards (reflect), one element repeated (nearest), or nothing (a
// constant). Every combination of segments across the axes that reads data is one piece of one
// input chunk: a task of its own where that chunk lives (read in place there when it is
// stored), so only halo slabs travel to other ranks.

#include "tessera/array/map_overlap.hpp"

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "grid_combinations.hpp"
#include "tessera/array/rechunk.hpp"
#include "user_kernels.hpp"

namespace tessera {

namespace {

/// A run of the grown range along one axis that one rule fills from one input chunk.
struct Segment {
  index_t out;    // where it starts in the grown block
  index_t len;    // how many elements
  index_t chunk;  // the input chunk along the axis it reads (-1: the constant)
  index_t src;    // the source of its first element, local to that chunk
  int step;       // +1 forwards, -1 backwards (reflect), 0 one element repeated (nearest)

  /// The piece of the chunk it reads along this axis.
  index_t piece_start() const { return step >= 0 ? src : src - len + 1; }
  index_t piece_count() const { return step == 0 ? 1 : len; }
};

/// Where global index `g` (in [-n, 2n)) of an axis of extent `n` reads from.
struct Source {
  index_t index;
  int step;
  bool constant;
};
Source source_of(index_t g, index_t n, const Boundary& b) {
  if (g >= 0 && g < n) return {g, 1, false};
  switch (b.kind) {
    case Boundary::Kind::periodic:
      return {g < 0 ? g + n : g - n, 1, false};
    case Boundary::Kind::reflect:
      return {g < 0 ? -g - 1 : 2 * n - g - 1, -1, false};
    case Boundary::Kind::nearest:
      return {g < 0 ? 0 : n - 1, 0, false};
    default:
      return {0, 0, true};
  }
}

/// The segments of global range [lo, hi) along `axis` of `grid`.
std::vector<Segment> segments(const ChunkGrid& grid, int axis, index_t lo, index_t hi,
                              const Boundary& b) {
  const auto& off = grid.offsets(axis);
  const index_t n = off.back();
  std::vector<Segment> out;
  for (index_t g = lo; g < hi;) {
    const Source s = source_of(g, n, b);
    index_t len = (g < 0 ? std::min<index_t>(0, hi) : g >= n ? hi : std::min(n, hi)) - g;
    if (s.constant) {
      out.push_back({g - lo, len, -1, 0, 0});
      g += len;
      continue;
    }
    const index_t c = grid.chunk_of(axis, s.index);
    const index_t first = off[static_cast<std::size_t>(c)];
    if (s.step > 0) len = std::min(len, off[static_cast<std::size_t>(c) + 1] - s.index);
    if (s.step < 0) len = std::min(len, s.index - first + 1);
    out.push_back({g - lo, len, c, s.index - first, s.step});
    g += len;
  }
  return out;
}

/// Calls f(outer, dst, src) for every row (the last axis) of a region of `count` elements per
/// axis, with the row's element offsets in the destination and the source: `dst_stride` and
/// `src_stride` per axis (the source's may be negative or 0).
template <class F>
void for_each_row(const Shape& count, const Shape& dst_stride, const Shape& src_stride,
                  index_t dst0, index_t src0, F&& f) {
  const std::size_t nd = count.size();
  for (index_t c : count) {
    if (c == 0) return;
  }
  Shape idx(nd, 0);
  for (;;) {
    index_t d = dst0, s = src0;
    for (std::size_t a = 0; a + 1 < nd; ++a) {
      d += idx[a] * dst_stride[a];
      s += idx[a] * src_stride[a];
    }
    f(d, s);
    std::size_t a = nd - 1;
    while (a > 0 && ++idx[a - 1] == count[a - 1]) idx[--a] = 0;
    if (a == 0) return;
  }
}

class OverlapExpr final : public BlockwiseExpr {
 public:
  /// `inputs` have one shape and chunk grid; one of `kernel` and `into` is set.
  OverlapExpr(std::vector<ExprPtr> inputs, DType dtype, std::vector<index_t> depth,
              std::vector<Boundary> boundary, BlockKernel kernel, detail::BlockKernelInto into,
              std::string name, bool stencil, std::size_t band_bytes)
      : BlockwiseExpr(ExprKind::Blockwise, inputs[0]->shape(), dtype, inputs[0]->chunks(), inputs,
                      unique_token(), name),
        m_depth(depth),
        m_stencil(stencil),
        m_band_bytes(band_bytes),
        m_boundary(std::move(boundary)),
        m_kernel(std::move(kernel)),
        m_into(std::move(into)),
        m_name(std::move(name)) {
    const ChunkGrid& g = chunks();
    for (int a = 0; a < ndim(); ++a) {
      const auto ua = static_cast<std::size_t>(a);
      const auto& off = g.offsets(a);
      const index_t n = off.back(), d = depth[ua];
      const bool none = m_boundary[ua].kind == Boundary::Kind::none;
      m_lo.emplace_back();
      m_segments.emplace_back();
      for (std::size_t c = 0; c + 1 < off.size(); ++c) {
        const index_t lo = none ? std::max<index_t>(0, off[c] - d) : off[c] - d;
        const index_t hi = none ? std::min(n, off[c + 1] + d) : off[c + 1] + d;
        m_lo[ua].push_back(lo);
        m_segments[ua].push_back(
            segments(g, a, lo, off[c] == off[c + 1] ? lo : hi, m_boundary[ua]));
      }
    }
  }

  std::string_view op_name() const override { return m_name; }

  /// Every input's pieces in turn, each input's in the order of the combinations.
  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    for (int k = 0; k < static_cast<int>(inputs().size()); ++k) {
      if (ndim() == 0) {
        out.push_back({k, 0});
        continue;
      }
      detail::for_each_combination(m_segments, coords, [&](const std::vector<const Segment*>& seg) {
        Dep d{k, 0, Shape(seg.size()), Shape(seg.size())};
        Shape ic(seg.size());
        for (std::size_t a = 0; a < seg.size(); ++a) {
          if (seg[a]->chunk < 0) return;  // a constant: no data
          ic[a] = seg[a]->chunk;
          d.start[a] = seg[a]->piece_start();
          d.count[a] = seg[a]->piece_count();
        }
        d.chunk = chunks().chunk_linear(ic);
        out.push_back(std::move(d));
      });
    }
    return out;
  }

  // Halo slabs of stored chunks on this rank are read where they lie.
  bool reads_pieces_in_place() const override { return true; }

  Block compute_pieces(const Shape& coords, std::span<const Piece> in) const override {
    BlockInfo info = detail::output_block_info(*this, coords);
    Shape lo(static_cast<std::size_t>(ndim()));
    for (std::size_t a = 0; a < lo.size(); ++a)
      lo[a] = m_lo[a][static_cast<std::size_t>(coords[a])];
    const std::size_t arity = inputs().size(), per_input = in.size() / arity;
    // Input k's blocks grown over rows [first, last) of the grown chunk.
    const auto grow = [&](index_t first, index_t last) {
      std::vector<Block> grown;
      for (std::size_t k = 0; k < arity; ++k) {
        const auto pieces = in.subspan(k * per_input, per_input);
        grown.push_back(ndim() == 0 ? pieces[0].region()
                                    : assemble(k, coords, pieces, first, last));
      }
      return grown;
    };
    const index_t rows = ndim() == 0 ? 0 : info.output.shape[0];
    const index_t band = band_rows(coords);
    if (band >= rows) {
      const std::vector<Block> grown = grow(0, std::numeric_limits<index_t>::max());
      for (std::size_t k = 0; k < arity; ++k) info.inputs.push_back({coords, lo, grown[k].shape()});
      if (m_into) {
        Block out(dtype(), info.output.shape);
        m_into(info, grown, out);
        return out;
      }
      return detail::run_user_kernel(m_kernel, info, grown, *this, "map_overlap", m_name,
                                     " (the chunk without its halo)");
    }
    // A stencil, band by band: output rows [r, r + n) read the grown rows within the depth of
    // them (the grown chunk starts `above` rows before the chunk: the depth, or fewer at an edge
    // with Boundary::none).
    Block out(dtype(), info.output.shape);
    const std::size_t row_bytes = out.nbytes() / static_cast<std::size_t>(rows);
    const index_t grown_rows = grown_extent(coords, 0);
    const index_t above = info.output.offset[0] - lo[0], depth = m_depth[0];
    for (index_t r = 0; r < rows; r += band) {
      const index_t n = std::min(band, rows - r);
      const index_t first = std::max<index_t>(0, r + above - depth);
      const index_t last = std::min(grown_rows, r + n + above + depth);
      const std::vector<Block> grown = grow(first, last);
      BlockInfo b = info;
      b.output.offset[0] += r;
      b.output.shape[0] = n;
      Shape band_lo = lo;
      band_lo[0] += first;
      for (std::size_t k = 0; k < arity; ++k)
        b.inputs.push_back({coords, band_lo, grown[k].shape()});
      std::byte* rows_at =
          static_cast<std::byte*>(out.data()) + static_cast<std::size_t>(r) * row_bytes;
      if (m_into) {
        // The band's rows of the output chunk, written in place (out outlives the view).
        Block view = Block::adopt(dtype(), b.output.shape, rows_at, nullptr);
        m_into(b, grown, view);
        continue;
      }
      const Block part = detail::run_user_kernel(m_kernel, b, grown, *this, "map_overlap", m_name,
                                                 " (the band of rows without its halo)");
      std::memcpy(rows_at, part.data(), part.nbytes());
    }
    return out;
  }

 private:
  /// The grown chunk's extent along `axis`.
  index_t grown_extent(const Shape& coords, int axis) const {
    index_t n = 0;
    const auto ua = static_cast<std::size_t>(axis);
    for (const Segment& s : m_segments[ua][static_cast<std::size_t>(coords[ua])]) n += s.len;
    return n;
  }

  /// Output rows per kernel call: a band whose grown copy holds about m_band_bytes (a
  /// stencil's, of at least 4 depths along axis 0), or all of the chunk's rows.
  index_t band_rows(const Shape& coords) const {
    if (!m_stencil || ndim() == 0) return std::numeric_limits<index_t>::max();
    std::size_t row_bytes = 0;
    for (const auto& x : inputs()) row_bytes += dtype_size(x->dtype());
    for (int a = 1; a < ndim(); ++a) row_bytes *= static_cast<std::size_t>(grown_extent(coords, a));
    const auto fit = static_cast<index_t>(m_band_bytes / std::max<std::size_t>(row_bytes, 1));
    return std::max({index_t{1}, 4 * m_depth[0], fit});
  }

  /// Chunk `coords` of input `input` grown by its halo, from the pieces deps() asked for (that
  /// input's): its rows (along axis 0) from `row_lo` to `row_hi` (clipped to the grown chunk).
  Block assemble(std::size_t input, const Shape& coords, std::span<const Piece> in, index_t row_lo,
                 index_t row_hi) const {
    const auto nd = static_cast<std::size_t>(ndim());
    const DType t = inputs()[input]->dtype();
    const std::size_t es = dtype_size(t);
    Shape shape(nd, 0);
    for (std::size_t a = 0; a < nd; ++a) shape[a] = grown_extent(coords, static_cast<int>(a));
    row_hi = std::min(row_hi, shape[0]);
    shape[0] = row_hi - row_lo;
    Block grown(t, shape);
    const Shape gstride = row_major_strides(shape);
    auto* dst = static_cast<std::byte*>(grown.data());
    std::size_t k = 0;
    detail::for_each_combination(m_segments, coords, [&](const std::vector<const Segment*>& seg) {
      Shape count(nd);
      index_t dst0 = 0;
      bool constant = false;
      for (std::size_t a = 0; a < nd; ++a) {
        count[a] = seg[a]->len;
        dst0 += seg[a]->out * gstride[a];
        constant |= seg[a]->chunk < 0;
      }
      // Rows of the segment along axis 0 inside the window [row_lo, row_hi).
      const index_t first = std::max(seg[0]->out, row_lo);
      const index_t last = std::min(seg[0]->out + seg[0]->len, row_hi);
      const bool data = !constant;
      if (last <= first) {
        k += data ? 1 : 0;  // its piece is skipped
        return;
      }
      const index_t skip = first - seg[0]->out;
      count[0] = last - first;
      dst0 = (first - row_lo) * gstride[0] + (dst0 - seg[0]->out * gstride[0]);
      const index_t row = count[nd - 1];
      if (constant) {
        std::uint64_t value = 0;  // one element of the input's dtype
        visit_dtype(t, [&]<class T>() {
          const T v = static_cast<T>(constant_of(seg));
          std::memcpy(&value, &v, sizeof(T));
        });
        for_each_row(count, gstride, Shape(nd, 0), dst0, 0, [&](index_t d, index_t) {
          for (index_t i = 0; i < row; ++i)
            std::memcpy(dst + static_cast<std::size_t>(d + i) * es, &value, es);
        });
        return;
      }
      const Piece& p = in[k++];
      const Shape pstride = row_major_strides(p.block().shape());
      Shape sstride(nd);
      index_t src0 = 0;
      for (std::size_t a = 0; a < nd; ++a) {
        const Segment& s = *seg[a];
        src0 += (p.start()[a] + (s.src - s.piece_start())) * pstride[a];
        sstride[a] = s.step * pstride[a];
      }
      src0 += skip * sstride[0];
      const auto* src = static_cast<const std::byte*>(p.block().data());
      const int step = seg[nd - 1]->step;
      for_each_row(count, gstride, sstride, dst0, src0, [&](index_t d, index_t s) {
        std::byte* o = dst + static_cast<std::size_t>(d) * es;
        const std::byte* i0 = src + static_cast<std::size_t>(s) * es;
        if (step > 0) {
          std::memcpy(o, i0, static_cast<std::size_t>(row) * es);
          return;
        }
        // Backwards (reflect) or one element repeated (nearest).
        const auto back = step < 0 ? static_cast<std::ptrdiff_t>(es) : 0;
        for (index_t i = 0; i < row; ++i) {
          std::memcpy(o + static_cast<std::size_t>(i) * es, i0 - i * back, es);
        }
      });
    });
    return grown;
  }

  /// The constant a combination of segments fills with: that of the first constant axis.
  double constant_of(const std::vector<const Segment*>& seg) const {
    for (std::size_t a = 0; a < seg.size(); ++a) {
      if (seg[a]->chunk < 0) return m_boundary[a].value;
    }
    return 0;
  }

  std::vector<index_t> m_depth;
  bool m_stencil;
  std::size_t m_band_bytes;
  std::vector<Boundary> m_boundary;
  BlockKernel m_kernel;
  detail::BlockKernelInto m_into;
  std::string m_name;
  std::vector<std::vector<index_t>> m_lo;                     // [axis][chunk]: the grown start
  std::vector<std::vector<std::vector<Segment>>> m_segments;  // [axis][chunk]
};

/// One value for every axis, or one per axis.
template <class T>
std::vector<T> per_axis(const std::vector<T>& v, int nd, std::string_view what,
                        const std::string& name) {
  if (v.size() == 1) return std::vector<T>(static_cast<std::size_t>(nd), v[0]);
  if (static_cast<int>(v.size()) != nd) {
    throw value_error(
        fmt::format("map_overlap '{}': {} {} given for an array of {} axes (give "
                    "one for every axis, or one per axis)",
                    name, v.size(), what, nd));
  }
  return v;
}

}  // namespace

namespace {

/// map_overlap of `inputs` with one of `kernel` and `into`.
Array make_overlap(BlockKernel kernel, detail::BlockKernelInto into,
                   const std::vector<Array>& inputs, const std::vector<index_t>& depth,
                   const std::vector<Boundary>& boundary, const MapOverlapOptions& options) {
  const std::string& name = options.name;
  if (!kernel && !into) throw value_error(fmt::format("map_overlap '{}': no kernel", name));
  if (inputs.empty()) throw value_error(fmt::format("map_overlap '{}': no input arrays", name));
  const Array& x = inputs[0];
  for (std::size_t k = 1; k < inputs.size(); ++k) {
    if (inputs[k].shape() != x.shape()) {
      throw shape_error(
          fmt::format("map_overlap '{}': input {} has shape {}, but input 0 has shape {}", name, k,
                      shape_string(inputs[k].shape()), shape_string(x.shape())));
    }
  }
  const int nd = x.ndim();
  const std::vector<index_t> d = per_axis(depth, nd, "depths", name);
  const std::vector<Boundary> b = per_axis(boundary, nd, "boundaries", name);
  for (int a = 0; a < nd; ++a) {
    const auto ua = static_cast<std::size_t>(a);
    const index_t n = x.shape()[ua];
    if (d[ua] < 0 || d[ua] > n) {
      throw value_error(fmt::format(
          "map_overlap '{}': depth {} along axis {} of an array of shape {}: a depth must be "
          "from 0 to the axis's extent",
          name, d[ua], a, shape_string(x.shape())));
    }
  }
  // Every input in the first's chunks.
  std::vector<std::vector<index_t>> sizes;
  for (int a = 0; a < nd; ++a) sizes.push_back(x.chunks().sizes(a));
  std::vector<ExprPtr> exprs;
  for (const Array& y : inputs) {
    exprs.push_back(
        (y.chunks() == x.chunks() ? y : rechunk(y, ChunkSpec::explicit_sizes(sizes))).expr());
  }
  const DType dtype = options.dtype.value_or(x.dtype());
  return Array(std::make_shared<OverlapExpr>(std::move(exprs), dtype, d, b, std::move(kernel),
                                             std::move(into), name, options.stencil,
                                             options.band_bytes));
}

}  // namespace

Array map_overlap(BlockKernel kernel, const std::vector<Array>& inputs,
                  const std::vector<index_t>& depth, const std::vector<Boundary>& boundary,
                  MapOverlapOptions options) {
  return make_overlap(std::move(kernel), {}, inputs, depth, boundary, options);
}

Array map_overlap(BlockKernel kernel, const Array& x, const std::vector<index_t>& depth,
                  const std::vector<Boundary>& boundary, MapOverlapOptions options) {
  return map_overlap(std::move(kernel), std::vector<Array>{x}, depth, boundary, std::move(options));
}

Array detail::map_overlap_into(BlockKernelInto kernel, const Array& x,
                               const std::vector<index_t>& depth,
                               const std::vector<Boundary>& boundary, MapOverlapOptions options) {
  return make_overlap({}, std::move(kernel), {x}, depth, boundary, options);
}

}  // namespace tessera
