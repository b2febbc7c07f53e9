// Shape operations. New node kinds: axis permutations, size-1 axes (a new grid over the same
// chunks), concatenation, repeat, reshape into row panels and broadcast_to; the rest (flip,
// roll, pad, tile, stack) are compositions of slices, concatenations and these.

#include "tessera/array/manipulation.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tessera/array/creation.hpp"
#include "tessera/array/rechunk.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

std::vector<int> resolve_axes(const Axes& axes, int ndim) {
  if (!axes.all()) return normalize_axes(axes.list(), ndim);
  std::vector<int> all(static_cast<std::size_t>(ndim));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

template <class T>
T at(const std::vector<T>& v, int i) {
  return v[static_cast<std::size_t>(i)];
}

/// x with a slice along one axis (everything along the others).
Array slice_axis(const Array& x, int axis, Slice s) {
  std::vector<IndexItem> index(static_cast<std::size_t>(x.ndim()), Slice{});
  index[static_cast<std::size_t>(axis)] = s;
  return x.slice(index);
}

// --- permutations -------------------------------------------------------------------------

/// out (row-major, `shape`) from `in`, where moving one step along output axis k moves
/// `stride[k]` elements in `in`. The last two axes go in tiles, so that neither side is read
/// or written a cache line per element (a transpose).
template <class E>
void strided_copy(const E* in, E* out, const Shape& shape, const Shape& stride) {
  const auto n = shape.size();
  if (shape_size(shape) == 0) return;
  if (n == 0) {
    *out = *in;
    return;
  }
  const index_t cols = shape[n - 1], sc = stride[n - 1];
  const index_t rows = n >= 2 ? shape[n - 2] : 1, sr = n >= 2 ? stride[n - 2] : 0;
  const std::size_t outer_axes = n >= 2 ? n - 2 : 0;
  Shape idx(outer_axes, 0);
  constexpr index_t tile = 32;
  for (;;) {
    index_t base = 0;
    for (std::size_t a = 0; a < outer_axes; ++a) base += idx[a] * stride[a];
    for (index_t i0 = 0; i0 < rows; i0 += tile) {
      const index_t i1 = std::min(rows, i0 + tile);
      for (index_t j0 = 0; j0 < cols; j0 += tile) {
        const index_t j1 = std::min(cols, j0 + tile);
        for (index_t i = i0; i < i1; ++i) {
          const E* src = in + base + i * sr;
          E* dst = out + i * cols;
          for (index_t j = j0; j < j1; ++j) dst[j] = src[j * sc];
        }
      }
    }
    out += rows * cols;
    std::size_t a = outer_axes;
    while (a > 0 && ++idx[a - 1] == shape[a - 1]) idx[--a] = 0;
    if (a == 0) return;
  }
}

class PermuteExpr final : public BlockwiseExpr {
 public:
  PermuteExpr(const ExprPtr& input, std::vector<int> perm, Shape shape, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), input->dtype(), std::move(grid),
                      {input}, Tokenizer().add_range(perm).finish(), "transpose"),
        m_perm(std::move(perm)) {}

  std::string_view op_name() const override { return "transpose"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    Shape ic(coords.size());
    for (std::size_t k = 0; k < coords.size(); ++k)
      ic[static_cast<std::size_t>(m_perm[k])] = coords[k];
    return {{0, inputs()[0]->chunks().chunk_linear(ic)}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const Shape in_stride = row_major_strides(in[0]->shape());
    Shape stride(m_perm.size());
    for (std::size_t k = 0; k < m_perm.size(); ++k)
      stride[k] = in_stride[static_cast<std::size_t>(m_perm[k])];
    auto copy = [&]<class E>() {
      strided_copy(static_cast<const E*>(in[0]->data()), static_cast<E*>(out.data()), out.shape(),
                   stride);
    };
    switch (dtype_size(dtype())) {
      case 1:
        copy.operator()<std::uint8_t>();
        break;
      case 2:
        copy.operator()<std::uint16_t>();
        break;
      case 4:
        copy.operator()<std::uint32_t>();
        break;
      default:
        copy.operator()<std::uint64_t>();
        break;
    }
    return out;
  }

 private:
  std::vector<int> m_perm;
};

// --- the same chunks with size-1 axes added or removed --------------------------------------

class RegridExpr final : public BlockwiseExpr {
 public:
  /// Input axis a is output axis source[a], or a dropped size-1 axis (-1).
  RegridExpr(const ExprPtr& input, Shape shape, ChunkGrid grid, std::vector<int> source,
             std::string_view name)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), input->dtype(), std::move(grid),
                      {input}, Tokenizer().add_range(source).finish(), name),
        m_source(std::move(source)),
        m_name(name) {}

  std::string_view op_name() const override { return m_name; }

  std::vector<Dep> deps(const Shape& coords) const override {
    Shape ic(m_source.size(), 0);
    for (std::size_t a = 0; a < m_source.size(); ++a)
      if (m_source[a] >= 0) ic[a] = coords[static_cast<std::size_t>(m_source[a])];
    return {{0, inputs()[0]->chunks().chunk_linear(ic)}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    return in[0]->reshaped(chunks().chunk_shape(coords));
  }

 private:
  std::vector<int> m_source;
  std::string_view m_name;  // a literal
};

// --- concatenation ------------------------------------------------------------------------

class ConcatenateExpr final : public BlockwiseExpr {
 public:
  struct Source {
    int input;
    index_t chunk;  // along the axis
  };
  ConcatenateExpr(std::vector<ExprPtr> inputs, int axis, Shape shape, ChunkGrid grid,
                  std::vector<Source> sources)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), inputs[0]->dtype(), std::move(grid),
                      inputs, Tokenizer().add(axis).finish(), "concatenate"),
        m_axis(axis),
        m_sources(std::move(sources)) {}

  std::string_view op_name() const override { return "concatenate"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    const Source& s = m_sources[static_cast<std::size_t>(coords[static_cast<std::size_t>(m_axis)])];
    Shape ic = coords;
    ic[static_cast<std::size_t>(m_axis)] = s.chunk;
    return {{s.input, inputs()[static_cast<std::size_t>(s.input)]->chunks().chunk_linear(ic)}};
  }

  Block compute(const Shape&, std::span<const Block* const> in) const override { return *in[0]; }

 private:
  int m_axis;
  std::vector<Source> m_sources;
};

// --- repeat ---------------------------------------------------------------------------------

class RepeatExpr final : public BlockwiseExpr {
 public:
  RepeatExpr(const ExprPtr& input, int axis, index_t repeats, Shape shape, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), input->dtype(), std::move(grid),
                      {input}, Tokenizer().add(axis).add(repeats).finish(), "repeat"),
        m_axis(axis),
        m_repeats(repeats) {}

  std::string_view op_name() const override { return "repeat"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const Block& src = *in[0];
    const auto a = static_cast<std::size_t>(m_axis);
    // Axes after `axis` are contiguous slabs: each slab of the input is copied `repeats` times.
    index_t outer = 1, slab = 1;
    for (std::size_t k = 0; k < a; ++k) outer *= src.shape()[k];
    for (std::size_t k = a + 1; k < src.shape().size(); ++k) slab *= src.shape()[k];
    const std::size_t bytes = static_cast<std::size_t>(slab) * dtype_size(dtype());
    const auto* s = static_cast<const std::byte*>(src.data());
    auto* d = static_cast<std::byte*>(out.data());
    for (index_t o = 0; o < outer; ++o) {
      for (index_t j = 0; j < src.shape()[a]; ++j, s += bytes) {
        for (index_t r = 0; r < m_repeats; ++r, d += bytes) std::memcpy(d, s, bytes);
      }
    }
    return out;
  }

 private:
  int m_axis;
  index_t m_repeats;
};

// --- reshape --------------------------------------------------------------------------------

/// Row panels of the input (whole along every axis but the first) to row panels of the output:
/// an output panel's elements are one run of the row-major order, which lies in a run of
/// input rows; those rows arrive as pieces of the input panels that hold them.
class ReshapeExpr final : public BlockwiseExpr {
 public:
  ReshapeExpr(const ExprPtr& input, Shape shape, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, shape, input->dtype(), grid, {input}, Token{0},
                      "reshape"),
        m_inner_in(row_elements(input->shape())),
        m_inner_out(row_elements(shape)) {}

  std::string_view op_name() const override { return "reshape"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    const Expr& in = *inputs()[0];
    const auto [r0, r1] = input_rows(coords);
    const auto& off = in.chunks().offsets(0);
    Shape count = in.shape();
    for (index_t k = in.chunks().chunk_of(0, r0); k < in.chunks().num_chunks(0); ++k) {
      const index_t lo = std::max(r0, at(off, static_cast<int>(k)));
      const index_t hi = std::min(r1, at(off, static_cast<int>(k + 1)));
      if (lo >= hi) break;
      Shape ic(static_cast<std::size_t>(in.ndim()), 0), start(ic.size(), 0);
      ic[0] = k;
      start[0] = lo - at(off, static_cast<int>(k));
      count[0] = hi - lo;
      out.push_back({0, in.chunks().chunk_linear(ic), start, count});
    }
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const std::size_t es = dtype_size(dtype());
    const index_t first = chunks().chunk_offset(coords)[0] * m_inner_out;  // flat range of out
    const index_t last = first + out.size();
    index_t row = input_rows(coords).first;
    for (const Block* piece : in) {
      const index_t p0 = row * m_inner_in, p1 = p0 + piece->size();  // flat range of the piece
      const index_t lo = std::max(first, p0), hi = std::min(last, p1);
      if (hi > lo) {
        std::memcpy(
            static_cast<std::byte*>(out.data()) + static_cast<std::size_t>(lo - first) * es,
            static_cast<const std::byte*>(piece->data()) + static_cast<std::size_t>(lo - p0) * es,
            static_cast<std::size_t>(hi - lo) * es);
      }
      row += piece->shape()[0];
    }
    return out;
  }

 private:
  static index_t row_elements(const Shape& s) {
    index_t n = 1;
    for (std::size_t a = 1; a < s.size(); ++a) n *= s[a];
    return n;
  }
  /// The input rows [first, second) that hold output panel `coords`.
  std::pair<index_t, index_t> input_rows(const Shape& coords) const {
    const index_t a = chunks().offsets(0)[static_cast<std::size_t>(coords[0])];
    const index_t b = chunks().offsets(0)[static_cast<std::size_t>(coords[0] + 1)];
    return {a * m_inner_out / m_inner_in, (b * m_inner_out + m_inner_in - 1) / m_inner_in};
  }

  index_t m_inner_in, m_inner_out;
};

// --- broadcast_to -------------------------------------------------------------------------

class BroadcastExpr final : public ElementwiseExpr {
 public:
  BroadcastExpr(const ExprPtr& x, const Shape& shape)
      : ElementwiseExpr(shape, x->dtype(), {x}, Token{0}, "broadcast_to") {}
  std::string_view op_name() const override { return "broadcast_to"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    const std::size_t es = dtype_size(dtype());
    if (!in[0].scalar) {
      std::memcpy(out, in[0].data, static_cast<std::size_t>(n) * es);
      return;
    }
    auto* o = static_cast<std::byte*>(out);
    for (index_t i = 0; i < n; ++i)
      std::memcpy(o + static_cast<std::size_t>(i) * es, in[0].data, es);
  }
};

/// The chunk grid of `x` with `sizes` along `axis` instead.
ChunkSpec chunks_with(const Array& x, int axis, std::vector<index_t> sizes) {
  std::vector<std::vector<index_t>> all;
  for (int a = 0; a < x.ndim(); ++a) all.push_back(a == axis ? sizes : x.chunks().sizes(a));
  return ChunkSpec::explicit_sizes(std::move(all));
}

}  // namespace

// --- permutations -------------------------------------------------------------------------

Array permute_dims(const Array& x, const std::vector<int>& axes) {
  if (static_cast<int>(axes.size()) != x.ndim()) {
    throw index_error(fmt::format("permute_dims: axes ({}) do not match an array of dimension {}",
                                  fmt::join(axes, ", "), x.ndim()));
  }
  std::vector<int> perm;
  for (int a : axes) perm.push_back(normalize_axis(a, x.ndim()));
  std::vector<int> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw index_error(fmt::format("permute_dims: repeated axis in ({})", fmt::join(axes, ", ")));
  bool identity = true;
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  for (std::size_t k = 0; k < perm.size(); ++k) {
    identity = identity && perm[k] == static_cast<int>(k);
    shape.push_back(x.shape()[static_cast<std::size_t>(perm[k])]);
    sizes.push_back(x.chunks().sizes(perm[k]));
  }
  if (identity) return x;
  return Array(std::make_shared<PermuteExpr>(x.expr(), std::move(perm), std::move(shape),
                                             ChunkGrid(std::move(sizes))));
}

Array transpose(const Array& x) {
  std::vector<int> axes(static_cast<std::size_t>(x.ndim()));
  std::iota(axes.rbegin(), axes.rend(), 0);
  return permute_dims(x, axes);
}

Array transpose(const Array& x, const std::vector<int>& axes) { return permute_dims(x, axes); }

Array matrix_transpose(const Array& x) {
  if (x.ndim() < 2) {
    throw shape_error(fmt::format("matrix_transpose: needs at least 2 dimensions, got shape {}",
                                  shape_string(x.shape())));
  }
  return swapaxes(x, -1, -2);
}

Array swapaxes(const Array& x, int axis1, int axis2) {
  const int a = normalize_axis(axis1, x.ndim()), b = normalize_axis(axis2, x.ndim());
  std::vector<int> axes(static_cast<std::size_t>(x.ndim()));
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[static_cast<std::size_t>(a)], axes[static_cast<std::size_t>(b)]);
  return permute_dims(x, axes);
}

Array moveaxis(const Array& x, const std::vector<int>& source,
               const std::vector<int>& destination) {
  if (source.size() != destination.size()) {
    throw value_error(fmt::format(
        "moveaxis: `source` ({}) and `destination` ({}) must have the same number of elements",
        fmt::join(source, ", "), fmt::join(destination, ", ")));
  }
  const int nd = x.ndim();
  std::vector<int> src, dst;
  for (int a : source) src.push_back(normalize_axis(a, nd));
  for (int a : destination) dst.push_back(normalize_axis(a, nd));
  (void)normalize_axes(src, nd);  // repeated axes
  (void)normalize_axes(dst, nd);
  std::vector<int> order;  // the axes that stay, in their order
  for (int a = 0; a < nd; ++a)
    if (std::find(src.begin(), src.end(), a) == src.end()) order.push_back(a);
  std::vector<std::pair<int, int>> moves;
  for (std::size_t k = 0; k < src.size(); ++k) moves.emplace_back(dst[k], src[k]);
  std::sort(moves.begin(), moves.end());
  for (const auto& [d, s] : moves) order.insert(order.begin() + d, s);
  return permute_dims(x, order);
}

Array moveaxis(const Array& x, int source, int destination) {
  return moveaxis(x, std::vector<int>{source}, std::vector<int>{destination});
}

// --- size-1 axes ----------------------------------------------------------------------------

Array squeeze(const Array& x, const Axes& axes) {
  std::vector<int> drop;
  if (axes.all()) {
    for (int a = 0; a < x.ndim(); ++a)
      if (x.shape()[static_cast<std::size_t>(a)] == 1) drop.push_back(a);
  } else {
    drop = normalize_axes(axes.list(), x.ndim());
    for (int a : drop) {
      if (x.shape()[static_cast<std::size_t>(a)] != 1) {
        throw shape_error(fmt::format(
            "squeeze: cannot select an axis to squeeze out which has size not equal to one "
            "(axis {} of shape {})",
            a, shape_string(x.shape())));
      }
    }
  }
  if (drop.empty()) return x;
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  std::vector<int> source;
  for (int a = 0; a < x.ndim(); ++a) {
    if (std::find(drop.begin(), drop.end(), a) != drop.end()) {
      source.push_back(-1);
      continue;
    }
    source.push_back(static_cast<int>(shape.size()));
    shape.push_back(x.shape()[static_cast<std::size_t>(a)]);
    sizes.push_back(x.chunks().sizes(a));
  }
  return Array(std::make_shared<RegridExpr>(x.expr(), std::move(shape), ChunkGrid(std::move(sizes)),
                                            std::move(source), "squeeze"));
}

Array expand_dims(const Array& x, const Axes& axes) {
  const int nd = x.ndim() + static_cast<int>(axes.all() ? 0 : axes.list().size());
  const std::vector<int> at_axes =
      axes.all() ? std::vector<int>{} : normalize_axes(axes.list(), nd);
  if (at_axes.empty()) return x;
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  std::vector<int> source;
  for (int o = 0, a = 0; o < nd; ++o) {
    if (std::find(at_axes.begin(), at_axes.end(), o) != at_axes.end()) {
      shape.push_back(1);
      sizes.push_back({1});
      continue;
    }
    source.push_back(o);
    shape.push_back(x.shape()[static_cast<std::size_t>(a)]);
    sizes.push_back(x.chunks().sizes(a++));
  }
  return Array(std::make_shared<RegridExpr>(x.expr(), std::move(shape), ChunkGrid(std::move(sizes)),
                                            std::move(source), "expand_dims"));
}

// --- broadcasting -------------------------------------------------------------------------

Array broadcast_to(const Array& x, const Shape& shape) {
  const auto nd = shape.size(), xd = static_cast<std::size_t>(x.ndim());
  bool ok = nd >= xd;
  for (std::size_t a = 0; ok && a < xd; ++a) {
    const index_t have = x.shape()[a], want = shape[nd - xd + a];
    ok = have == want || have == 1;
  }
  for (index_t n : shape) ok = ok && n >= 0;
  if (!ok) {
    throw shape_error(fmt::format("broadcast_to: cannot broadcast an array of shape {} to shape {}",
                                  shape_string(x.shape()), shape_string(shape)));
  }
  if (shape == x.shape()) return x;
  return Array(std::make_shared<BroadcastExpr>(x.expr(), shape));
}

std::vector<Array> broadcast_arrays(const std::vector<Array>& arrays) {
  Shape shape;
  try {
    for (const Array& a : arrays) shape = broadcast_shapes(shape, a.shape());
  } catch (const shape_error&) {
    std::string shapes;
    for (const Array& a : arrays) shapes += " " + shape_string(a.shape());
    throw shape_error(fmt::format(
        "broadcast_arrays: shape mismatch: objects cannot be broadcast to a single shape:{}",
        shapes));
  }
  std::vector<Array> out;
  for (const Array& a : arrays) out.push_back(broadcast_to(a, shape));
  return out;
}

// --- joining ----------------------------------------------------------------------------------

Array concatenate(const std::vector<Array>& arrays, int axis) {
  if (arrays.empty()) throw value_error("concatenate: need at least one array to concatenate");
  const int nd = arrays[0].ndim();
  if (nd == 0) throw value_error("concatenate: zero-dimensional arrays cannot be concatenated");
  const int ax = normalize_axis(axis, nd);
  DType dtype = arrays[0].dtype();
  for (std::size_t i = 1; i < arrays.size(); ++i) {
    const Array& a = arrays[i];
    if (a.ndim() != nd) {
      throw value_error(fmt::format(
          "concatenate: all the input arrays must have same number of dimensions, but the array "
          "at index 0 has {} dimension(s) and the array at index {} has {} dimension(s)",
          nd, i, a.ndim()));
    }
    for (int d = 0; d < nd; ++d) {
      if (d != ax && at(a.shape(), d) != at(arrays[0].shape(), d)) {
        throw shape_error(fmt::format(
            "concatenate: all the input array dimensions except for the concatenation axis must "
            "match exactly, but along dimension {}, the array at index 0 has size {} and the "
            "array at index {} has size {} (shapes {} and {})",
            d, at(arrays[0].shape(), d), i, at(a.shape(), d), shape_string(arrays[0].shape()),
            shape_string(a.shape())));
      }
    }
    dtype = promote(dtype, a.dtype());
  }
  if (arrays.size() == 1) return arrays[0].astype(dtype);
  std::vector<ExprPtr> inputs;
  std::vector<ConcatenateExpr::Source> sources;
  std::vector<index_t> along;
  Shape shape = arrays[0].shape();
  shape[static_cast<std::size_t>(ax)] = 0;
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    // Every input in the first one's chunks along the other axes, so that output chunks are
    // input chunks.
    Array a = arrays[i].astype(dtype);
    std::vector<std::vector<index_t>> want;
    for (int d = 0; d < nd; ++d)
      want.push_back(d == ax ? a.chunks().sizes(d) : arrays[0].chunks().sizes(d));
    a = rechunk(a, ChunkSpec::explicit_sizes(std::move(want)));
    const index_t extent = at(a.shape(), ax);
    const auto joined = checked_add(shape[static_cast<std::size_t>(ax)], extent);
    if (!joined) throw shape_error("concatenate: array is too big (its extent overflows)");
    shape[static_cast<std::size_t>(ax)] = *joined;
    if (extent > 0) {
      for (index_t c = 0; c < a.chunks().num_chunks(ax); ++c) {
        sources.push_back({static_cast<int>(inputs.size()), c});
        along.push_back(at(a.chunks().sizes(ax), static_cast<int>(c)));
      }
    }
    inputs.push_back(a.expr());
  }
  if (along.empty()) {  // every input is empty along the axis
    sources.push_back({0, 0});
    along.push_back(0);
  }
  std::vector<std::vector<index_t>> sizes;
  for (int d = 0; d < nd; ++d) sizes.push_back(d == ax ? along : inputs[0]->chunks().sizes(d));
  return Array(std::make_shared<ConcatenateExpr>(std::move(inputs), ax, std::move(shape),
                                                 ChunkGrid(std::move(sizes)), std::move(sources)));
}

Array stack(const std::vector<Array>& arrays, int axis) {
  if (arrays.empty()) throw value_error("stack: need at least one array to stack");
  for (std::size_t i = 1; i < arrays.size(); ++i) {
    if (arrays[i].shape() != arrays[0].shape()) {
      throw shape_error(fmt::format(
          "stack: all input arrays must have the same shape, but the array at index 0 has shape "
          "{} and the array at index {} has shape {}",
          shape_string(arrays[0].shape()), i, shape_string(arrays[i].shape())));
    }
  }
  const int ax = normalize_axis(axis, arrays[0].ndim() + 1);
  std::vector<Array> expanded;
  for (const Array& a : arrays) expanded.push_back(expand_dims(a, ax));
  return concatenate(expanded, ax);
}

// --- rearranging --------------------------------------------------------------------------

Array flip(const Array& x, const Axes& axes) {
  std::vector<IndexItem> index(static_cast<std::size_t>(x.ndim()), Slice{});
  for (int a : resolve_axes(axes, x.ndim()))
    index[static_cast<std::size_t>(a)] = Slice{std::nullopt, std::nullopt, -1};
  return x.slice(index);
}

Array roll(const Array& x, index_t shift, std::optional<int> axis) {
  if (!axis) return reshape(roll(ravel(x), shift, 0), x.shape());
  const int a = normalize_axis(*axis, x.ndim());
  const index_t n = at(x.shape(), a);
  if (n == 0) return x;
  const index_t s = ((shift % n) + n) % n;
  if (s == 0) return x;
  return concatenate(
      {slice_axis(x, a, Slice{n - s, std::nullopt}), slice_axis(x, a, Slice{std::nullopt, n - s})},
      a);
}

Array pad(const Array& x, const std::vector<std::pair<index_t, index_t>>& widths,
          PadOptions options) {
  const int nd = x.ndim();
  if (widths.size() != 1 && static_cast<int>(widths.size()) != nd) {
    throw value_error(fmt::format(
        "pad: {} (before, after) pairs for an array of dimension {} (give one, or one per axis)",
        widths.size(), nd));
  }
  Array y = x;
  for (int a = 0; a < nd; ++a) {
    const auto [before, after] =
        widths.size() == 1 ? widths[0] : widths[static_cast<std::size_t>(a)];
    if (before < 0 || after < 0) {
      throw value_error(
          fmt::format("pad: negative width ({}, {}) along axis {}", before, after, a));
    }
    if (before == 0 && after == 0) continue;
    const index_t n = at(y.shape(), a);
    const char* mode_name[] = {"constant", "edge", "reflect", "symmetric", "wrap"};
    const auto mode = static_cast<std::size_t>(options.mode);
    if (options.mode != PadMode::constant) {  // edge, reflect, symmetric, wrap read x
      if (n == 0) {
        throw value_error(fmt::format(
            "pad: can't extend empty axis {} using modes other than 'constant' (mode '{}')", a,
            mode_name[mode]));
      }
      // reflect mirrors without the edge element; symmetric and wrap copy at most the axis.
      const index_t most = options.mode == PadMode::reflect ? n - 1 : n;
      if (options.mode != PadMode::edge && (before > most || after > most)) {
        throw value_error(fmt::format(
            "pad: mode '{}' pads axis {} of size {} by at most {} on each side, asked for ({}, {})",
            mode_name[mode], a, n, most, before, after));
      }
    }
    auto side = [&](index_t width, bool is_before) -> Array {
      Shape shape = y.shape();
      shape[static_cast<std::size_t>(a)] = width;
      switch (options.mode) {
        case PadMode::constant:
          return full(shape, options.value, chunks_with(y, a, {width}), y.dtype());
        case PadMode::edge:
          return broadcast_to(slice_axis(y, a, is_before ? Slice{0, 1} : Slice{n - 1, n}), shape);
        case PadMode::reflect:  // b, b-1, ..., 1 and n-2, ..., n-1-w
          return is_before
                     ? slice_axis(y, a, Slice{width, 0, -1})
                     : slice_axis(y, a,
                                  Slice{n - 2,
                                        n - 2 - width >= 0 ? std::optional<index_t>(n - 2 - width)
                                                           : std::nullopt,
                                        -1});
        case PadMode::symmetric:  // w-1, ..., 0 and n-1, ..., n-w
          return is_before
                     ? slice_axis(y, a, Slice{width - 1, std::nullopt, -1})
                     : slice_axis(y, a,
                                  Slice{n - 1,
                                        n - 1 - width >= 0 ? std::optional<index_t>(n - 1 - width)
                                                           : std::nullopt,
                                        -1});
        case PadMode::wrap:
          return is_before ? slice_axis(y, a, Slice{n - width, n})
                           : slice_axis(y, a, Slice{0, width});
      }
      return y;
    };
    std::vector<Array> parts;
    if (before > 0) parts.push_back(side(before, true));
    parts.push_back(y);
    if (after > 0) parts.push_back(side(after, false));
    y = concatenate(parts, a);
  }
  return y;
}

Array tile(const Array& x, const std::vector<index_t>& reps) {
  for (index_t r : reps) {
    if (r < 0) throw value_error(fmt::format("tile: negative repetition {}", r));
  }
  const int nd = std::max(x.ndim(), static_cast<int>(reps.size()));
  Array y = x;
  if (nd > x.ndim()) {
    std::vector<int> lead(static_cast<std::size_t>(nd - x.ndim()));
    std::iota(lead.begin(), lead.end(), 0);
    y = expand_dims(x, Axes(lead));
  }
  for (int a = 0; a < nd; ++a) {
    const int k = a - (nd - static_cast<int>(reps.size()));
    const index_t r = k >= 0 ? reps[static_cast<std::size_t>(k)] : 1;
    if (r == 1) continue;
    y = r == 0 ? slice_axis(y, a, Slice{0, 0})
               : concatenate(std::vector<Array>(static_cast<std::size_t>(r), y), a);
  }
  return y;
}

Array repeat(const Array& x, index_t repeats, std::optional<int> axis) {
  if (repeats < 0) throw value_error(fmt::format("repeat: negative repeats {}", repeats));
  if (!axis) return repeat(ravel(x), repeats, 0);
  const int a = normalize_axis(*axis, x.ndim());
  if (repeats == 1) return x;
  if (repeats == 0) return slice_axis(x, a, Slice{0, 0});
  Shape shape = x.shape();
  const auto grown = checked_mul(shape[static_cast<std::size_t>(a)], repeats);
  if (!grown) {
    throw shape_error(fmt::format("repeat: array is too big: {} repeats of axis {} of shape {}",
                                  repeats, a, shape_string(x.shape())));
  }
  shape[static_cast<std::size_t>(a)] = *grown;  // and every chunk along it, no larger
  std::vector<std::vector<index_t>> sizes;
  for (int d = 0; d < x.ndim(); ++d) {
    std::vector<index_t> s = x.chunks().sizes(d);
    if (d == a)
      for (auto& v : s) v *= repeats;
    sizes.push_back(std::move(s));
  }
  return Array(std::make_shared<RepeatExpr>(x.expr(), a, repeats, std::move(shape),
                                            ChunkGrid(std::move(sizes))));
}

// --- reshape --------------------------------------------------------------------------------

Array reshape(const Array& x, Shape shape) {
  int unknown = -1;
  index_t known = 1;
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (shape[a] == -1) {
      if (unknown >= 0) throw value_error("reshape: can only specify one unknown dimension");
      unknown = static_cast<int>(a);
    } else if (shape[a] < 0) {
      throw value_error(
          fmt::format("reshape: negative dimension in shape {}", shape_string(shape)));
    } else {
      known = known > 0 && shape[a] > std::numeric_limits<index_t>::max() / known
                  ? -1
                  : known * shape[a];
      if (known < 0) break;
    }
  }
  const bool fits = unknown >= 0 ? known > 0 && x.size() % known == 0 : known == x.size();
  if (!fits) {
    throw shape_error(fmt::format("reshape: cannot reshape array of size {} into shape {}",
                                  x.size(), shape_string(shape)));
  }
  if (unknown >= 0) shape[static_cast<std::size_t>(unknown)] = x.size() / known;
  if (shape == x.shape()) return x;
  auto without_ones = [](const Shape& s) {
    Shape out;
    for (index_t n : s)
      if (n != 1) out.push_back(n);
    return out;
  };
  if (without_ones(shape) == without_ones(x.shape())) {
    // Only size-1 axes differ: the same chunks.
    std::vector<int> ones;
    for (std::size_t a = 0; a < shape.size(); ++a)
      if (shape[a] == 1) ones.push_back(static_cast<int>(a));
    return expand_dims(squeeze(x), Axes(ones));
  }
  if (x.size() == 0) return full(shape, 0.0, index_t{-1}, x.dtype());
  // Row panels of about the input's chunk size (at least one row of input and output).
  const index_t inner_in = x.size() / x.shape()[0], inner_out = x.size() / shape[0];
  const index_t target = std::max({x.chunks().max_chunk_size(), inner_in, inner_out});
  std::vector<AxisChunks> panels{AxisChunks(std::max<index_t>(1, target / inner_in))};
  for (int a = 1; a < x.ndim(); ++a) panels.emplace_back(index_t{-1});
  const Array rows = rechunk(x, ChunkSpec(panels));
  std::vector<AxisChunks> out_panels{AxisChunks(std::max<index_t>(1, target / inner_out))};
  for (std::size_t a = 1; a < shape.size(); ++a) out_panels.emplace_back(index_t{-1});
  ChunkGrid grid = ChunkSpec(out_panels).resolve(shape, x.dtype());
  return Array(std::make_shared<ReshapeExpr>(rows.expr(), std::move(shape), std::move(grid)));
}

Array ravel(const Array& x) { return reshape(x, {-1}); }

}  // namespace tessera
