// rechunk: an output chunk assembles the pieces of the input chunks it overlaps. The pieces
// are the graph layer's (BlockwiseExpr::Dep regions): read in place from a stored chunk (cut
// only when sent to another rank), or computed for just their region when the input is a
// fused chain.

#include "tessera/array/rechunk.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "tessera/core/copy_region.hpp"

#include "grid_combinations.hpp"

namespace tessera {

namespace {

/// One piece along one axis: input chunk `in_chunk` contributes `len` elements from its local
/// index `in_start` to the output chunk's local index `out_start`.
struct AxisPiece {
  index_t in_chunk, in_start, out_start, len;
};

/// Per output chunk along one axis, the input chunks it overlaps.
std::vector<std::vector<AxisPiece>> axis_pieces(const ChunkGrid& in, const ChunkGrid& out,
                                                int axis) {
  const auto& ioff = in.offsets(axis);
  const auto& ooff = out.offsets(axis);
  std::vector<std::vector<AxisPiece>> pieces(static_cast<std::size_t>(out.num_chunks(axis)));
  std::size_t i = 0;
  for (std::size_t j = 0; j < pieces.size(); ++j) {
    const index_t lo = ooff[j], hi = ooff[j + 1];
    while (i + 1 < ioff.size() - 1 && ioff[i + 1] <= lo) ++i;  // the input chunk holding lo
    for (std::size_t k = i; k + 1 < ioff.size() && ioff[k] < hi; ++k) {
      const index_t a = std::max(lo, ioff[k]), b = std::min(hi, ioff[k + 1]);
      if (b > a) pieces[j].push_back({static_cast<index_t>(k), a - ioff[k], a - lo, b - a});
    }
  }
  return pieces;
}

/// How many pieces a direct rechunk from `in` to `out` makes (a double: it may be huge).
double count_pieces(const ChunkGrid& in, const ChunkGrid& out) {
  double n = 1;
  for (int a = 0; a < in.ndim(); ++a) {
    double along = 0;
    for (const auto& p : axis_pieces(in, out, a)) along += static_cast<double>(p.size());
    n *= along;
  }
  return n;
}

class RechunkExpr final : public BlockwiseExpr {
 public:
  RechunkExpr(const ExprPtr& input, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, input->shape(), input->dtype(), grid, {input}, Token{0},
                      "rechunk") {
    for (int a = 0; a < ndim(); ++a) m_pieces.push_back(axis_pieces(input->chunks(), grid, a));
  }

  std::string_view op_name() const override { return "rechunk"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    const ChunkGrid& in = inputs()[0]->chunks();
    detail::for_each_combination(m_pieces, coords, [&](const std::vector<const AxisPiece*>& p) {
      Dep d{0, 0, Shape(p.size()), Shape(p.size())};
      Shape ic(p.size());
      for (std::size_t a = 0; a < p.size(); ++a) {
        ic[a] = p[a]->in_chunk;
        d.start[a] = p[a]->in_start;
        d.count[a] = p[a]->len;
      }
      d.chunk = in.chunk_linear(ic);
      out.push_back(std::move(d));
    });
    if (ndim() == 0) out.push_back({0, 0});
    return out;
  }

  // Pieces of stored chunks are copied once, from the chunk straight into the output chunk.
  bool reads_pieces_in_place() const override { return true; }

  // An output chunk is its pieces side by side: a reduction or elementwise chain over it reads
  // them where they lie (rechunk(x).sum() reads x once and assembles nothing).
  std::optional<std::vector<std::vector<index_t>>> piece_grid(const Shape& coords) const override {
    if (ndim() == 0) return std::nullopt;
    std::vector<std::vector<index_t>> starts(static_cast<std::size_t>(ndim()));
    for (std::size_t a = 0; a < starts.size(); ++a) {
      for (const AxisPiece& p : m_pieces[a][static_cast<std::size_t>(coords[a])])
        starts[a].push_back(p.out_start);
    }
    return starts;
  }

  Block compute_pieces(const Shape& coords, std::span<const Piece> in) const override {
    if (ndim() == 0) return in[0].region();
    Block out(dtype(), chunks().chunk_shape(coords));
    std::size_t k = 0;
    detail::for_each_combination(m_pieces, coords, [&](const std::vector<const AxisPiece*>& p) {
      Shape at(p.size()), count(p.size());
      for (std::size_t a = 0; a < p.size(); ++a) {
        at[a] = p[a]->out_start;
        count[a] = p[a]->len;
      }
      const Piece& piece = in[k++];
      copy_region(piece.block(), {piece.start()}, out, {at}, count);
    });
    return out;
  }

 private:
  // [axis][output chunk]: the pieces along that axis (none for a size-0 chunk).
  std::vector<std::vector<std::vector<AxisPiece>>> m_pieces;
};

Array direct(const Array& x, const ChunkGrid& grid) {
  return Array(std::make_shared<RechunkExpr>(x.expr(), grid));
}

/// The intermediate chunking of a two-stage rechunk: along every axis the coarser of the two
/// chunkings (each stage then only merges or only splits along it), with the longest chunk
/// edges halved until a chunk fits `limit` bytes.
ChunkGrid intermediate(const ChunkGrid& in, const ChunkGrid& out, std::size_t itemsize,
                       std::size_t limit) {
  std::vector<std::vector<index_t>> sizes;
  for (int a = 0; a < in.ndim(); ++a)
    sizes.push_back(in.num_chunks(a) <= out.num_chunks(a) ? in.sizes(a) : out.sizes(a));
  auto largest = [&](std::size_t a) { return *std::max_element(sizes[a].begin(), sizes[a].end()); };
  for (;;) {
    double bytes = static_cast<double>(itemsize);
    std::size_t widest = 0;
    for (std::size_t a = 0; a < sizes.size(); ++a) {
      bytes *= static_cast<double>(largest(a));
      if (largest(a) > largest(widest)) widest = a;
    }
    if (bytes <= static_cast<double>(limit) || largest(widest) <= 1) break;
    const index_t extent = in.offsets(static_cast<int>(widest)).back();
    const index_t edge = (largest(widest) + 1) / 2;
    std::vector<index_t> regular(static_cast<std::size_t>((extent + edge - 1) / edge), edge);
    regular.back() = extent - edge * (static_cast<index_t>(regular.size()) - 1);
    sizes[widest] = std::move(regular);
  }
  return ChunkGrid(std::move(sizes));
}

}  // namespace

Array rechunk(const Array& x, const ChunkSpec& chunks) { return rechunk(x, chunks, {}); }

Array rechunk(const Array& x, const ChunkSpec& chunks, const RechunkPlan& plan) {
  const ChunkGrid target = chunks.resolve(x.shape(), x.dtype());
  const ChunkGrid& source = x.chunks();
  if (target == source) return x;
  if (x.size() == 0) return direct(x, target);
  const double pieces = count_pieces(source, target);
  const double bound = std::max(static_cast<double>(plan.max_direct_pieces),
                                static_cast<double>(plan.growth) *
                                    static_cast<double>(source.num_chunks() + target.num_chunks()));
  if (pieces <= bound) return direct(x, target);
  const std::size_t itemsize = dtype_size(x.dtype());
  const std::size_t limit = std::max(
      {plan.max_intermediate_bytes, static_cast<std::size_t>(source.max_chunk_size()) * itemsize,
       static_cast<std::size_t>(target.max_chunk_size()) * itemsize});
  const ChunkGrid mid = intermediate(source, target, itemsize, limit);
  if (mid == source || mid == target ||
      count_pieces(source, mid) + count_pieces(mid, target) >= pieces) {
    return direct(x, target);
  }
  return direct(direct(x, mid), target);
}

}  // namespace tessera
