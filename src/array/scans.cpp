// Scans (cumsum, cumprod) along an axis as a chain of carries: chunk k of the output is the
// scan of input chunk k started from carry k, the combination of the totals of input chunks
// 0..k-1. Carry k is a small task of its own (one value per position across the axis), made
// from carry k-1 and input chunk k-1 where that chunk is, so only carries cross ranks.

#include <algorithm>

#include "tessera/array/manipulation.hpp"
#include "tessera/array/reductions.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

enum class ScanOp { Sum, Prod };

/// The dtype a scan gives: NumPy's cumsum/cumprod of bool and signed integers are int64, of
/// unsigned integers uint64; floats keep their dtype.
DType scan_dtype(DType in) { return sum_result(in); }

/// Calls f.template operator()<T>() for the element type of a scan's dtype (int64, uint64,
/// float32 or float64: see scan_dtype).
template <class F>
void visit_scan_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
    case DType::UInt64:
      return f.template operator()<std::uint64_t>();
    default:
      return f.template operator()<std::int64_t>();
  }
}

/// a (+) b in T, wrapping for integers as NumPy does.
template <class T>
T combine(ScanOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(op == ScanOp::Sum ? static_cast<U>(a) + static_cast<U>(b)
                                            : static_cast<U>(a) * static_cast<U>(b));
  } else {
    return op == ScanOp::Sum ? a + b : a * b;
  }
}

/// Scans `in` (row-major `shape`, elements S) along `axis` into `out` (elements T), starting
/// each line from `carry` (one value per position across the axis: `shape` with 1 at `axis`).
/// With `total_only`, writes only the last value of each line into `out` (the carry's shape).
template <class S, class T>
void scan_block(ScanOp op, const S* in, T* out, const Shape& shape, int axis, const T* carry,
                bool total_only) {
  index_t outer = 1, inner = 1;
  const index_t n = shape[static_cast<std::size_t>(axis)];
  for (int a = 0; a < axis; ++a) outer *= shape[static_cast<std::size_t>(a)];
  for (std::size_t a = static_cast<std::size_t>(axis) + 1; a < shape.size(); ++a) inner *= shape[a];
  std::vector<T> acc(static_cast<std::size_t>(inner));
  for (index_t o = 0; o < outer; ++o) {
    for (index_t i = 0; i < inner; ++i) acc[static_cast<std::size_t>(i)] = carry[o * inner + i];
    for (index_t k = 0; k < n; ++k) {
      const S* src = in + (o * n + k) * inner;
      for (index_t i = 0; i < inner; ++i) {
        auto& a = acc[static_cast<std::size_t>(i)];
        a = combine(op, a, static_cast<T>(src[i]));
        if (!total_only) out[(o * n + k) * inner + i] = a;
      }
    }
    if (total_only)
      for (index_t i = 0; i < inner; ++i) out[o * inner + i] = acc[static_cast<std::size_t>(i)];
  }
}

/// The total of every input chunk along `axis`: one element per chunk along it.
class TotalsExpr final : public BlockwiseExpr {
 public:
  TotalsExpr(const ExprPtr& x, ScanOp op, int axis, Shape shape, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), scan_dtype(x->dtype()),
                      std::move(grid), {x},
                      Tokenizer().add(static_cast<int>(op)).add(axis).finish(), "scan-totals"),
        m_op(op),
        m_axis(axis) {}
  std::string_view op_name() const override { return "scan-totals"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    visit_scan_dtype(dtype(), [&]<class T>() {
      std::vector<T> identity(static_cast<std::size_t>(out.size()),
                              m_op == ScanOp::Sum ? T(0) : T(1));
      visit_dtype(in[0]->dtype(), [&]<class S>() {
        scan_block<S, T>(m_op, static_cast<const S*>(in[0]->data()), out.data_as<T>(),
                         in[0]->shape(), m_axis, identity.data(), true);
      });
    });
    return out;
  }

 private:
  ScanOp m_op;
  int m_axis;
};

/// The exclusive scan of the totals along `axis`, in one chunk along it: element k is where
/// the scan of input chunk k starts.
class CarryExpr final : public BlockwiseExpr {
 public:
  CarryExpr(const ExprPtr& totals, ScanOp op, int axis, ChunkGrid grid)
      : BlockwiseExpr(ExprKind::Blockwise, totals->shape(), totals->dtype(), std::move(grid),
                      {totals}, Tokenizer().add(static_cast<int>(op)).add(axis).finish(),
                      "scan-carry"),
        m_op(op),
        m_axis(axis) {}
  std::string_view op_name() const override { return "scan-carry"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    const ChunkGrid& g = inputs()[0]->chunks();
    Shape c = coords;
    for (index_t k = 0; k < g.num_chunks(m_axis); ++k) {
      c[static_cast<std::size_t>(m_axis)] = k;
      out.push_back({0, g.chunk_linear(c)});
    }
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    // Element k of each line: the combination of totals 0..k-1.
    Shape line = out.shape();
    line[static_cast<std::size_t>(m_axis)] = 1;
    visit_scan_dtype(dtype(), [&]<class T>() {
      const index_t per = shape_size(line);
      std::vector<T> acc(static_cast<std::size_t>(per), m_op == ScanOp::Sum ? T(0) : T(1));
      Block slab(dtype(), line);
      for (std::size_t k = 0; k < in.size(); ++k) {
        std::copy(acc.begin(), acc.end(), slab.data_as<T>());
        Shape at(line.size(), 0);
        at[static_cast<std::size_t>(m_axis)] = static_cast<index_t>(k);
        copy_region(slab, {Shape(line.size(), 0)}, out, {at}, line);
        const T* t = in[k]->data_as<T>();
        for (index_t i = 0; i < per; ++i)
          acc[static_cast<std::size_t>(i)] = combine(m_op, acc[static_cast<std::size_t>(i)], t[i]);
      }
    });
    return out;
  }

 private:
  ScanOp m_op;
  int m_axis;
};

/// The scan of each input chunk from its carry.
class ScanExpr final : public BlockwiseExpr {
 public:
  ScanExpr(const ExprPtr& x, const ExprPtr& carry, ScanOp op, int axis)
      : BlockwiseExpr(ExprKind::Blockwise, x->shape(), scan_dtype(x->dtype()), x->chunks(),
                      {x, carry}, Tokenizer().add(static_cast<int>(op)).add(axis).finish(),
                      op == ScanOp::Sum ? "cumsum" : "cumprod"),
        m_op(op),
        m_axis(axis) {}
  std::string_view op_name() const override { return m_op == ScanOp::Sum ? "cumsum" : "cumprod"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    Shape c = coords;
    c[static_cast<std::size_t>(m_axis)] = 0;
    return {{0, inputs()[0]->chunks().chunk_linear(coords)},
            {1, inputs()[1]->chunks().chunk_linear(c)}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    if (out.size() == 0) return out;
    Shape line = out.shape();
    line[static_cast<std::size_t>(m_axis)] = 1;
    Block carry(dtype(), line);
    Shape at(line.size(), 0);
    at[static_cast<std::size_t>(m_axis)] = coords[static_cast<std::size_t>(m_axis)];
    copy_region(*in[1], {at}, carry, {Shape(line.size(), 0)}, line);
    visit_scan_dtype(dtype(), [&]<class T>() {
      visit_dtype(in[0]->dtype(), [&]<class S>() {
        scan_block<S, T>(m_op, static_cast<const S*>(in[0]->data()), out.data_as<T>(), out.shape(),
                         m_axis, carry.data_as<T>(), false);
      });
    });
    return out;
  }

 private:
  ScanOp m_op;
  int m_axis;
};

Array scan(ScanOp op, const Array& x, std::optional<int> axis_in) {
  if (!axis_in) return scan(op, ravel(x), 0);
  const int axis = normalize_axis(*axis_in, x.ndim());
  if (x.size() == 0) return x.astype(scan_dtype(x.dtype()));
  const ChunkGrid& g = x.chunks();
  Shape tshape = x.shape();
  tshape[static_cast<std::size_t>(axis)] = g.num_chunks(axis);
  std::vector<std::vector<index_t>> tsizes, csizes;
  for (int a = 0; a < x.ndim(); ++a) {
    tsizes.push_back(a == axis ? std::vector<index_t>(static_cast<std::size_t>(g.num_chunks(a)), 1)
                               : g.sizes(a));
    csizes.push_back(a == axis ? std::vector<index_t>{g.num_chunks(a)} : g.sizes(a));
  }
  const auto totals =
      std::make_shared<TotalsExpr>(x.expr(), op, axis, tshape, ChunkGrid(std::move(tsizes)));
  const auto carry = std::make_shared<CarryExpr>(totals, op, axis, ChunkGrid(std::move(csizes)));
  return Array(std::make_shared<ScanExpr>(x.expr(), carry, op, axis));
}

}  // namespace

Array cumsum(const Array& x, std::optional<int> axis) { return scan(ScanOp::Sum, x, axis); }
Array cumprod(const Array& x, std::optional<int> axis) { return scan(ScanOp::Prod, x, axis); }

}  // namespace tessera
