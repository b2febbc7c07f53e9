#pragma once
/// @file
/// Stencils on chunks with halos, as Dask's `map_overlap`: a kernel sees each chunk of x grown
/// by `depth` elements on both sides of every axis (its neighbours' borders, corners included,
/// or the boundary's values beyond the array's edges) and writes the chunk of the result.
///
///     // a periodic 5-point Laplacian
///     Array lap = map_overlap<double>(
///         [](const BlockInfo&, auto& out, const auto& u) {
///           const auto c = xt::view(u, xt::range(1, -1), xt::range(1, -1));
///           out = xt::view(u, xt::range(0, -2), xt::range(1, -1)) +
///                 xt::view(u, xt::range(2, _), xt::range(1, -1)) +
///                 xt::view(u, xt::range(1, -1), xt::range(0, -2)) +
///                 xt::view(u, xt::range(1, -1), xt::range(2, _)) - 4.0 * c;
///         },
///         u, {1}, {Boundary::periodic()});
///
/// - Only the halo slabs travel: each is a piece of a neighbouring chunk, cut where that chunk
///   lives (a stored chunk is read in place on its own rank). A depth larger than a neighbouring
///   chunk reaches into the chunks beyond it.
/// - The kernel's input is the grown block; `info.inputs[0]` says where it lies in global
///   indices (its offset is negative, or its end past the array, where the halo comes from the
///   boundary) and `info.output` where the chunk it writes lies. With Boundary::none the block is
///   not grown past the array's edges.
/// - The output has x's chunks and shape; its dtype is the typed kernel's Out.
/// - A depth below 0 or above the array's extent along its axis, or depths and boundaries that
///   do not match x's axes, raise value_error when the expression is built; a kernel that throws
///   or (untyped) returns the wrong shape or dtype fails the compute on every rank.
///
/// Time stepping: `u = map_overlap(step, u, ...)` in a loop makes a graph that grows with the
/// steps; `persist()` u every few steps (each persist runs the steps since the last one and keeps
/// only the newest u).

#include <vector>

#include "tessera/array/map_blocks.hpp"

namespace tessera {

/// What the halo holds beyond the array's edges along one axis (Dask's `boundary`).
struct Boundary {
  enum class Kind {
    periodic,  // the other end of the array
    reflect,   // mirrored, the edge element repeated (Dask's reflect; NumPy's pad "symmetric")
    nearest,   // the edge element repeated
    constant,  // `value`
    none,      // no halo past the edges: the block is not grown there
  };
  Kind kind = Kind::none;
  double value = 0;

  static Boundary periodic() { return {Kind::periodic, 0}; }
  static Boundary reflect() { return {Kind::reflect, 0}; }
  static Boundary nearest() { return {Kind::nearest, 0}; }
  static Boundary constant(double value) { return {Kind::constant, value}; }
  static Boundary none() { return {Kind::none, 0}; }
};

struct MapOverlapOptions {
  /// The output's dtype (default x's; the typed form sets it).
  std::optional<DType> dtype = {};
  /// The kernel is a stencil: each output element depends only on the input within `depth` of
  /// it (and on the block info). Tessera may then call it on bands of rows of a chunk (along
  /// axis 0), each grown by the halo and small enough to stay in cache, instead of once on the
  /// whole grown chunk: the grown copy is never written to memory, about half the traffic of a
  /// step. The block info describes the band (its offset and shape).
  bool stencil = false;
  /// With `stencil`: the size a band's grown copy aims at (bands hold at least 4 depths of rows).
  std::size_t band_bytes = std::size_t{256} << 10;
  /// Names the node in graphs and messages.
  std::string name = "map_overlap";
};

/// Applies `kernel` to every chunk of `x` grown by `depth` (one value for every axis, or one
/// per axis) with `boundary` (one for every axis, or one per axis); see the file comment. The
/// kernel gets one input Block, the grown chunk, and returns the output chunk.
Array map_overlap(BlockKernel kernel, const Array& x, const std::vector<index_t>& depth,
                  const std::vector<Boundary>& boundary, MapOverlapOptions options = {});

/// Several arrays of one shape, each grown alike (Dask's map_overlap of several arrays): their
/// chunks are aligned to the first's (rechunk), and the kernel gets one grown block per array,
/// in order (`info.inputs[k]` says where block k lies). The output has the first's chunks.
Array map_overlap(BlockKernel kernel, const std::vector<Array>& inputs,
                  const std::vector<index_t>& depth, const std::vector<Boundary>& boundary,
                  MapOverlapOptions options = {});

/// The typed form: `kernel(info, out, in)` writes `out`, an xtensor adaptor of element type Out
/// over the output chunk, from `in`, a read-only adaptor of element type In over the grown
/// chunk. x's dtype must be In's (else dtype_error when the expression is built).
namespace detail {
/// A kernel that writes the output chunk (or band) it is handed instead of returning a new one:
/// the typed form's, so that a stencil's bands are written straight into the output chunk.
using BlockKernelInto =
    std::function<void(const BlockInfo& info, std::span<const Block> inputs, Block& out)>;
Array map_overlap_into(BlockKernelInto kernel, const Array& x, const std::vector<index_t>& depth,
                       const std::vector<Boundary>& boundary, MapOverlapOptions options);
}  // namespace detail

template <ElementType Out, ElementType In = Out, class Kernel>
Array map_overlap(Kernel kernel, const Array& x, const std::vector<index_t>& depth,
                  const std::vector<Boundary>& boundary, MapOverlapOptions options = {}) {
  detail::check_map_blocks_dtypes({x}, {dtype_of<In>()}, options.name);
  options.dtype = dtype_of<Out>();
  return detail::map_overlap_into(
      [kernel = std::move(kernel)](const BlockInfo& info, std::span<const Block> in, Block& out) {
        auto out_view = out.view<Out>();
        kernel(info, out_view, in[0].template view<In>());
      },
      x, depth, boundary, std::move(options));
}

}  // namespace tessera
