// linalg: TSQR (and qr, svd, solve, inv, lstsq on it), blocked Cholesky, and norm. The dense
// steps are nodes of their own: a block's QR where its rows live, a factorisation of one small
// block, a triangular solve; everything between them is matmul, slicing and rechunk.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "dense_blocks.hpp"
#include "tessera/array/creation.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/linalg.hpp"
#include "tessera/array/manipulation.hpp"
#include "tessera/array/rechunk.hpp"
#include "tessera/array/reductions.hpp"
#include "tsqr.hpp"

namespace tessera::linalg {

namespace {

constexpr std::size_t u(index_t i) { return static_cast<std::size_t>(i); }

/// The R factors TSQR stacks and factors at once: at most this many bytes (and at least two).
constexpr std::size_t kStackBytes = std::size_t{256} << 20;

/// The dtype linalg returns for `x` (float32 stays float32; everything else is float64).
DType result_dtype(const Array& x) {
  return x.dtype() == DType::Float32 ? DType::Float32 : DType::Float64;
}

using DenseKernel = std::function<Block(std::span<const Block* const>)>;

/// One small dense step as one task: `kernel` makes the single chunk of a float64 array of
/// `shape` from the single chunks of its inputs.
class DenseStepExpr final : public BlockwiseExpr {
 public:
  DenseStepExpr(std::vector<ExprPtr> inputs, Shape shape, DenseKernel kernel, std::string name)
      : BlockwiseExpr(ExprKind::Blockwise, shape, DType::Float64,
                      ChunkSpec(index_t{-1}).resolve(shape, DType::Float64), std::move(inputs),
                      unique_token(), name),
        m_kernel(std::move(kernel)),
        m_name(std::move(name)) {}
  std::string_view op_name() const override { return m_name; }
  std::vector<Dep> deps(const Shape&) const override {
    std::vector<Dep> out;
    for (std::size_t k = 0; k < inputs().size(); ++k) out.push_back({static_cast<int>(k), 0});
    return out;
  }
  Block compute(const Shape&, std::span<const Block* const> in) const override {
    Block out = m_kernel(in);
    if (out.shape() != shape() || out.dtype() != DType::Float64) {
      throw value_error(fmt::format("linalg {}: a block of shape {} where {} was due", m_name,
                                    shape_string(out.shape()), shape_string(shape())));
    }
    return out;
  }

 private:
  DenseKernel m_kernel;
  std::string m_name;
};

/// `kernel` on the inputs made float64 and one chunk each.
Array dense_step(std::string name, Shape shape, const std::vector<Array>& inputs,
                 DenseKernel kernel) {
  std::vector<ExprPtr> exprs;
  for (const Array& x : inputs)
    exprs.push_back(rechunk(x.astype(DType::Float64), index_t{-1}).expr());
  return Array(std::make_shared<DenseStepExpr>(std::move(exprs), std::move(shape),
                                               std::move(kernel), std::move(name)));
}

/// Rows `starts[i]` .. `starts[i] + counts[i]` and columns 0 .. `cols` of chunk i of a 2-d
/// array with one chunk along its columns, stacked: the factors packed in one chunk, unpacked
/// where they are read (a piece of a chunk on another rank travels alone).
class ChunkRowsExpr final : public BlockwiseExpr {
 public:
  ChunkRowsExpr(ExprPtr input, std::vector<index_t> starts, std::vector<index_t> counts,
                index_t cols)
      : BlockwiseExpr(ExprKind::Blockwise, Shape{total(counts), cols}, input->dtype(),
                      ChunkGrid({counts, {cols}}), {input},
                      Tokenizer().add_range(starts).add_range(counts).add(cols).finish(),
                      "chunk_rows"),
        m_starts(std::move(starts)) {}
  std::string_view op_name() const override { return "chunk_rows"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    const Shape count = chunks().chunk_shape(coords);
    return {{0, coords[0], {m_starts[u(coords[0])], 0}, count}};
  }
  /// A range of whole rows is read where it lies (a view of the packed chunk, no copy).
  bool reads_pieces_in_place() const override { return true; }
  Block compute_pieces(const Shape&, std::span<const Piece> in) const override {
    return in[0].region();
  }

 private:
  static index_t total(const std::vector<index_t>& v) {
    index_t t = 0;
    for (index_t n : v) t += n;
    return t;
  }
  std::vector<index_t> m_starts;
};

/// The QR factors of each row chunk of a 2-d float64 array with one chunk along its columns,
/// packed: chunk i holds q_i (m_i, k_i) in its first m_i rows (columns past k_i zero) and r_i
/// (k_i, n) in the k_i rows after them, k_i = min(m_i, n).
class PanelQrExpr final : public BlockwiseExpr {
 public:
  explicit PanelQrExpr(ExprPtr input)
      : BlockwiseExpr(ExprKind::Blockwise, packed_grid(*input).shape(), DType::Float64,
                      packed_grid(*input), {input}, Token{0}, "panel_qr") {}
  std::string_view op_name() const override { return "panel_qr"; }
  std::vector<Dep> deps(const Shape& coords) const override { return {{0, coords[0]}}; }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const Block& a = *in[0];
    const index_t m = a.shape()[0], n = a.shape()[1];
    // Columns past k = min(m, n) of a panel shorter than wide stay zero.
    Block out = m < n ? Block::zeros(DType::Float64, chunks().chunk_shape(coords))
                      : Block(DType::Float64, chunks().chunk_shape(coords));
    double* o = out.data_as<double>();
    tessera::detail::qr_block_into(a, o, n, o + m * n);
    return out;
  }
  /// The rows of chunk i's r.
  static std::vector<index_t> r_rows(const Expr& in) {
    std::vector<index_t> out;
    for (index_t m : in.chunks().sizes(0)) out.push_back(std::min(m, in.shape()[1]));
    return out;
  }

 private:
  static ChunkGrid packed_grid(const Expr& in) {
    std::vector<index_t> rows = r_rows(in);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] += in.chunks().sizes(0)[i];
    return ChunkGrid({rows, {in.shape()[1]}});
  }
};

/// Chunk i of q1 (m_i rows, of which the first k_i columns count) times chunk i of q2 (k_i
/// rows): the TSQR Q, panel by panel.
class PanelProductExpr final : public BlockwiseExpr {
 public:
  PanelProductExpr(ExprPtr q1, ExprPtr q2)
      : BlockwiseExpr(ExprKind::Blockwise, Shape{q1->shape()[0], q2->shape()[1]}, DType::Float64,
                      ChunkGrid({q1->chunks().sizes(0), {q2->shape()[1]}}), {q1, q2}, Token{0},
                      "panel_product") {}
  std::string_view op_name() const override { return "panel_product"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, coords[0]}, {1, coords[0]}};
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(DType::Float64, chunks().chunk_shape(coords));
    const Block& q1 = *in[0];
    const index_t m = q1.shape()[0], n = q1.shape()[1], k = in[1]->shape()[0];
    if (k == n) {
      tessera::detail::batched_gemm(q1, *in[1], out, false);
      return out;
    }
    // A panel shorter than the matrix is wide: its q has k < n columns.
    Block left(DType::Float64, {m, k});
    for (index_t i = 0; i < m; ++i)
      std::copy_n(q1.data_as<double>() + i * n, k, left.data_as<double>() + i * k);
    tessera::detail::batched_gemm(left, *in[1], out, false);
    return out;
  }
};

struct Factors {
  Array q, r;
};

/// TSQR of a float64 (m, n) array with one chunk along its columns: q (m, k) keeps its row
/// chunks, r (k, n) is one chunk, k = min(m, n). Each panel i contributes k_i = min(m_i, n) rows
/// to the stack of R factors, so that q's columns stay orthonormal for any rank.
Factors tsqr(const Array& a, std::size_t stack_bytes = kStackBytes) {
  const std::vector<index_t>& rows = a.chunks().sizes(0);
  const index_t n = a.shape()[1];
  const Array packed(std::make_shared<PanelQrExpr>(a.expr()));
  const std::vector<index_t> ks = PanelQrExpr::r_rows(*a.expr());
  if (rows.size() == 1) {
    return {
        Array(std::make_shared<ChunkRowsExpr>(packed.expr(), std::vector<index_t>{0}, rows, ks[0])),
        Array(std::make_shared<ChunkRowsExpr>(packed.expr(), rows, ks, n))};
  }
  const std::vector<index_t> zeros(rows.size(), 0);
  const Array q1(std::make_shared<ChunkRowsExpr>(packed.expr(), zeros, rows, n));
  const Array rs(std::make_shared<ChunkRowsExpr>(packed.expr(), rows, ks, n));
  const auto fan = static_cast<index_t>(std::max<std::size_t>(
      2, stack_bytes / std::max<std::size_t>(1, u(n) * u(n) * sizeof(double))));
  const Factors upper = tsqr(rechunk(rs, ChunkSpec{fan * n, index_t{-1}}), stack_bytes);
  const Array q2 = rechunk(upper.q, ChunkSpec::explicit_sizes({ks, {upper.q.shape()[1]}}));
  return {Array(std::make_shared<PanelProductExpr>(q1.expr(), q2.expr())), upper.r};
}

void check_matrix(const Array& a, std::string_view op) {
  if (a.ndim() != 2) {
    throw value_error(
        fmt::format("linalg.{}: expected a 2-d array, got shape {}", op, shape_string(a.shape())));
  }
}

/// a as float64 with one chunk along its columns (its rows as chunked).
Array panels(const Array& a) {
  return rechunk(a.astype(DType::Float64),
                 ChunkSpec({AxisChunks(a.chunks().sizes(0)), AxisChunks(index_t{-1})}));
}

/// The thin SVD of a one-chunk (k, n) matrix, k <= n, packed as one (2k + 1, n) chunk: u
/// (columns 0..k of the first k rows), s (row k), vt (the last k rows).
Array packed_svd(const Array& r) {
  const index_t k = r.shape()[0], n = r.shape()[1];
  return dense_step("svd", Shape{2 * k + 1, n}, {r}, [k, n](std::span<const Block* const> in) {
    const auto [su, ss, svt] = tessera::detail::svd_block(*in[0]);
    Block out = Block::zeros(DType::Float64, {2 * k + 1, n});
    double* o = out.data_as<double>();
    const index_t ks = ss.shape()[0];  // min(k, n) = k
    for (index_t i = 0; i < k; ++i) std::copy_n(su.data_as<double>() + i * ks, ks, o + i * n);
    std::copy_n(ss.data_as<double>(), ks, o + k * n);
    std::copy_n(svt.data_as<double>(), ks * n, o + (k + 1) * n);
    return out;
  });
}

/// Slices of a one-chunk packed SVD (see packed_svd).
SVD unpack_svd(const Array& packed, index_t k) {
  return {packed[{Slice{0, k}, Slice{0, k}}], packed[{k, Slice{0, k}}],
          packed[{Slice{k + 1, 2 * k + 1}, Slice{}}]};
}

}  // namespace

QR detail::qr(const Array& a, std::size_t stack_bytes) {
  check_matrix(a, "qr");
  const DType dtype = result_dtype(a);
  const Array x = panels(a);
  const index_t m = a.shape()[0], n = a.shape()[1];
  const Factors f = m >= n ? tsqr(x, stack_bytes) : tsqr(rechunk(x, index_t{-1}));
  return {f.q.astype(dtype), f.r.astype(dtype)};
}

QR qr(const Array& a) { return detail::qr(a, kStackBytes); }

SVD svd(const Array& a) {
  check_matrix(a, "svd");
  const DType dtype = result_dtype(a);
  const index_t m = a.shape()[0], n = a.shape()[1];
  if (m < n) {
    const SVD t = svd(transpose(a));
    return {transpose(t.vh), t.s, transpose(t.u)};
  }
  const Factors f = tsqr(panels(a));
  const index_t k = f.r.shape()[0];  // n, or min(m, n) for one row chunk: both n here
  const SVD small = unpack_svd(packed_svd(f.r), k);
  return {matmul(f.q, small.u).astype(dtype), small.s.astype(dtype), small.vh.astype(dtype)};
}

Array cholesky(const Array& a_in) {
  check_matrix(a_in, "cholesky");
  const index_t n = a_in.shape()[0];
  if (a_in.shape()[1] != n) {
    throw value_error(fmt::format("linalg.cholesky: the matrix of shape {} is not square",
                                  shape_string(a_in.shape())));
  }
  const DType dtype = result_dtype(a_in);
  // Square blocks: the columns cut where the rows are.
  const std::vector<index_t>& sizes = a_in.chunks().sizes(0);
  const Array a = rechunk(a_in.astype(DType::Float64), ChunkSpec::explicit_sizes({sizes, sizes}));
  const auto nb = sizes.size();
  const std::vector<index_t>& off = a.chunks().offsets(0);
  const auto block = [&](std::size_t i, std::size_t j) {
    return a[{Slice{off[i], off[i + 1]}, Slice{off[j], off[j + 1]}}];
  };
  std::vector<std::vector<Array>> l(nb, std::vector<Array>(nb));
  for (std::size_t k = 0; k < nb; ++k) {
    for (std::size_t i = k; i < nb; ++i) {
      // a_ik less the products of the factor's blocks left of column k.
      Array s = block(i, k);
      for (std::size_t j = 0; j < k; ++j) s = s - matmul(l[i][j], transpose(l[k][j]));
      const Shape shape{sizes[i], sizes[k]};
      if (i == k) {
        const index_t row = off[k];
        l[k][k] = dense_step("cholesky", shape, {s}, [row](std::span<const Block* const> in) {
          return tessera::detail::cholesky_block(*in[0], row);
        });
      } else {
        l[i][k] = dense_step(
            "solve_triangular", shape, {s, l[k][k]}, [](std::span<const Block* const> in) {
              return tessera::detail::solve_triangular_block(*in[1], *in[0], true, true, false);
            });
      }
    }
  }
  std::vector<Array> rows;
  for (std::size_t i = 0; i < nb; ++i) {
    std::vector<Array> row;
    for (std::size_t j = 0; j < nb; ++j)
      row.push_back(j <= i ? l[i][j] : zeros({sizes[i], sizes[j]}, index_t{-1}));
    rows.push_back(nb == 1 ? row[0] : concatenate(row, 1));
  }
  if (nb == 0) return zeros({0, 0}, index_t{-1}, dtype);
  return (nb == 1 ? rows[0] : concatenate(rows, 0)).astype(dtype);
}

namespace {

/// The upper triangular solve r^-1 y as one task (y 2-d).
Array solve_upper(const Array& r, const Array& y) {
  return dense_step("solve_triangular", y.shape(), {r, y}, [](std::span<const Block* const> in) {
    return tessera::detail::solve_triangular_block(*in[0], *in[1], false, false, true);
  });
}

}  // namespace

Array solve(const Array& a, const Array& b) {
  check_matrix(a, "solve");
  const index_t n = a.shape()[0];
  if (a.shape()[1] != n) {
    throw value_error(
        fmt::format("linalg.solve: the matrix of shape {} is not square", shape_string(a.shape())));
  }
  if ((b.ndim() != 1 && b.ndim() != 2) || b.shape()[0] != n) {
    throw shape_error(fmt::format(
        "linalg.solve: b of shape {} does not fit a of shape {} (b must be (n,) or (n, k))",
        shape_string(b.shape()), shape_string(a.shape())));
  }
  const DType dtype = promote(result_dtype(a), result_dtype(b));
  const Factors f = tsqr(panels(a));
  const Array b2 = b.ndim() == 1 ? expand_dims(b, 1) : b;
  Array x = solve_upper(f.r, matmul(transpose(f.q), b2.astype(DType::Float64)));
  if (b.ndim() == 1) x = squeeze(x, 1);
  return x.astype(dtype);
}

Array inv(const Array& a) {
  check_matrix(a, "inv");
  const index_t n = a.shape()[0];
  const Array identity =
      eye(n, ChunkSpec::explicit_sizes({a.chunks().sizes(0), {n}}), n, 0, result_dtype(a));
  return solve(a, identity);
}

Lstsq lstsq(const Array& a, const Array& b, std::optional<double> rcond) {
  check_matrix(a, "lstsq");
  const index_t m = a.shape()[0], n = a.shape()[1];
  if ((b.ndim() != 1 && b.ndim() != 2) || b.shape()[0] != m) {
    throw shape_error(fmt::format(
        "linalg.lstsq: b of shape {} does not fit a of shape {} (b must be (m,) or (m, k))",
        shape_string(b.shape()), shape_string(a.shape())));
  }
  const DType dtype = promote(result_dtype(a), result_dtype(b));
  const double cutoff =
      rcond.value_or(std::numeric_limits<double>::epsilon() * static_cast<double>(std::max(m, n)));
  const Array b2 = (b.ndim() == 1 ? expand_dims(b, 1) : b).astype(DType::Float64);
  // a = u diag(s) vh, with u = q ur for a tall a: then u^T b = ur^T (q^T b), and q's rows never
  // meet ur's columns.
  Array s, vh, utb;
  if (m >= n) {
    const Factors f = tsqr(panels(a));
    const SVD small = unpack_svd(packed_svd(f.r), f.r.shape()[0]);
    s = small.s, vh = small.vh;
    utb = matmul(transpose(small.u), matmul(transpose(f.q), b2));
  } else {
    const SVD full = svd(a.astype(DType::Float64));
    s = full.s, vh = full.vh;
    utb = matmul(transpose(full.u), b2);
  }
  const Array kept = s > s.max() * cutoff;
  const Array inverse = where(kept, 1.0 / s, 0.0);
  Array x = matmul(transpose(vh), utb * expand_dims(inverse, 1));
  const Array residual = matmul(a.astype(DType::Float64), x) - b2;
  Array residuals = sum(residual * residual, 0);
  if (b.ndim() == 1) x = squeeze(x, 1);
  return {x.astype(dtype), residuals.astype(dtype), sum(kept), s.astype(dtype)};
}

// --- norm -------------------------------------------------------------------------------------

namespace {

Array float_abs(const Array& x) {
  return abs(x.astype(x.dtype() == DType::Float32 ? DType::Float32 : DType::Float64));
}

Array vector_norm(const Array& x, std::optional<double> ord, Axes axes, bool keepdims) {
  const ReduceOptions o{.keepdims = keepdims};
  const Array ax = float_abs(x);
  const double p = ord.value_or(2.0);
  if (p == std::numeric_limits<double>::infinity()) return max(ax, axes, o);
  if (p == -std::numeric_limits<double>::infinity()) return min(ax, axes, o);
  if (p == 0) return sum(ax != 0, axes, o).astype(ax.dtype());
  if (p == 1) return sum(ax, axes, o);
  if (p == 2) return sqrt(sum(ax * ax, axes, o));
  return pow(sum(pow(ax, p), axes, o), 1.0 / p);
}

std::pair<int, int> two_axes(const Array& x, const Axes& axes, std::string_view what) {
  const std::vector<int> list = axes.all() ? std::vector<int>{0, 1} : axes.list();
  if (list.size() != 2) throw value_error(fmt::format("linalg.norm: {} needs two axes", what));
  const int a0 = normalize_axis(list[0], x.ndim()), a1 = normalize_axis(list[1], x.ndim());
  if (a0 == a1) throw value_error("linalg.norm: the two axes are the same");
  return {a0, a1};
}

/// The singular values of a 2-d array, for the 2-norm and nuclear norms (they do not depend on
/// the order of its two axes).
Array singular_values(const Array& x, std::string_view what) {
  if (x.ndim() != 2) {
    throw value_error(
        fmt::format("linalg.norm: the {} norm is supported for 2-d arrays only (got "
                    "shape {})",
                    what, shape_string(x.shape())));
  }
  return svd(x).s;
}

/// A matrix norm of a 2-d array with its two axes back as size 1 when `keepdims`.
Array keep_matrix_dims(Array r, std::pair<int, int> axes, bool keepdims) {
  if (!keepdims) return r;
  std::vector<int> both{std::min(axes.first, axes.second), std::max(axes.first, axes.second)};
  return expand_dims(r, Axes(both));
}

Array matrix_norm(const Array& x, double ord, std::pair<int, int> axes, bool keepdims) {
  const auto [row_axis, col_axis] = axes;
  const Array ax = float_abs(x);
  const ReduceOptions keep{.keepdims = true};
  const auto reduce_twice = [&](int sum_axis, int other, bool largest) {
    const Array sums = sum(ax, sum_axis, keep);
    Array r = largest ? max(sums, other, keep) : min(sums, other, keep);
    return keepdims ? r : squeeze(r, Axes{axes.first, axes.second});
  };
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (ord == 1) return reduce_twice(row_axis, col_axis, true);
  if (ord == -1) return reduce_twice(row_axis, col_axis, false);
  if (ord == inf) return reduce_twice(col_axis, row_axis, true);
  if (ord == -inf) return reduce_twice(col_axis, row_axis, false);
  if (ord == 2 || ord == -2) {
    const Array s = singular_values(x, "2").astype(ax.dtype());
    return keep_matrix_dims(ord == 2 ? max(s) : min(s), axes, keepdims);
  }
  throw value_error(fmt::format("linalg.norm: invalid order {} for a matrix norm", ord));
}

}  // namespace

Array norm(const Array& x, std::optional<double> ord, Axes axes, bool keepdims) {
  if (axes.all()) {
    if (!ord) {
      std::vector<int> every(static_cast<std::size_t>(x.ndim()));
      for (int d = 0; d < x.ndim(); ++d) every[static_cast<std::size_t>(d)] = d;
      return vector_norm(x, std::nullopt, Axes(every), keepdims);
    }
    if (x.ndim() == 1) return vector_norm(x, ord, Axes{0}, keepdims);
    if (x.ndim() == 2) return matrix_norm(x, *ord, {0, 1}, keepdims);
    throw value_error(
        fmt::format("linalg.norm: an order for all axes needs a 1-d or 2-d array (got shape {})",
                    shape_string(x.shape())));
  }
  if (axes.list().size() == 1) return vector_norm(x, ord, std::move(axes), keepdims);
  const auto two = two_axes(x, axes, "a matrix norm");
  if (!ord) return norm(x, "fro", axes, keepdims);
  return matrix_norm(x, *ord, two, keepdims);
}

Array norm(const Array& x, std::string_view ord, Axes axes, bool keepdims) {
  if (axes.all() && x.ndim() != 2) {
    throw value_error(fmt::format("linalg.norm: the '{}' norm needs a 2-d array or two axes", ord));
  }
  const auto two = two_axes(x, axes, fmt::format("the '{}' norm", ord));
  if (ord == "fro") {
    const Array ax = float_abs(x);
    return sqrt(sum(ax * ax, Axes{two.first, two.second}, {.keepdims = keepdims}));
  }
  if (ord == "nuc") {
    const Array s = singular_values(x, "nuclear").astype(float_abs(x).dtype());
    return keep_matrix_dims(sum(s), two, keepdims);
  }
  throw value_error(fmt::format("linalg.norm: unknown norm '{}' (use 'fro' or 'nuc')", ord));
}

}  // namespace tessera::linalg
