#pragma once
/// @file
/// Linear algebra: NumPy's products (matmul, dot, tensordot, vdot, outer, trace, einsum) and
/// `tessera::linalg` (norm, qr, svd, cholesky, solve, lstsq, inv), lazy like every operation.
///
/// - Block products run on OpenBLAS (float32, float64) or Eigen (integers). Result dtypes follow
///   NumPy: the promoted dtype of the operands; bool operands give bool.
/// - matmul's schedule is of the SUMMA family. Each output chunk (i, j) is one task that sums
///   A[i, k] B[k, j] over k into one buffer; it runs where most of its panels live, and every
///   other chunk of its row panel of A and column panel of B is sent to that rank once, however
///   many of the rank's tasks read it. When the output has few chunks (fewer than 16) and the
///   contracted axis many (a Gram matrix X^T X of a tall X), the k range is cut into groups
///   instead: each group's product runs where its chunks live, and the groups' products are
///   summed in a tree (fan-in 8), so no rank gathers all of X.
/// - The contracted axis of `b` is rechunked to `a`'s chunks (Dask's unify_chunks), and batch
///   axes broadcast as in NumPy.

#include <optional>
#include <string_view>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// NumPy's matmul: (..., m, k) @ (..., k, n) -> (..., m, n) with the batch axes broadcast; a 1-d
/// `a` is a row (its axis dropped from the result), a 1-d `b` a column. shape_error when the
/// contracted lengths differ or batch axes do not broadcast; value_error for a 0-d operand.
Array matmul(const Array& a, const Array& b);

/// NumPy's dot: a scalar product of 1-d operands, matmul of 2-d ones, a product by a 0-d
/// operand, and otherwise the sum over a's last axis and b's second-to-last (tensordot).
Array dot(const Array& a, const Array& b);

/// NumPy's tensordot: the sum over a's axes `a_axes` and b's `b_axes` (pairwise of one length);
/// the result has a's other axes, then b's.
Array tensordot(const Array& a, const Array& b, const std::vector<int>& a_axes,
                const std::vector<int>& b_axes);
/// tensordot over a's last `axes` axes and b's first `axes`.
Array tensordot(const Array& a, const Array& b, int axes = 2);

/// The scalar product of the flattened operands (of one size).
Array vdot(const Array& a, const Array& b);

/// The outer product of the flattened operands: (a.size, b.size).
Array outer(const Array& a, const Array& b);

/// The sum along diagonal `offset` of the 2-d sub-arrays spanned by `axis1` and `axis2`.
Array trace(const Array& a, index_t offset = 0, int axis1 = 0, int axis2 = 1);

/// NumPy's einsum, explicit ("ij,jk->ik") or implicit ("ij,jk": the
/// indices that appear once, sorted). Every index that the output lacks is summed; indices in
/// both operands and the output are batch axes. Not supported (value_error): ellipses, and an
/// index repeated within one operand other than a single operand's full trace ("ii->", "ii").
Array einsum(std::string_view subscripts, const Array& a);
Array einsum(std::string_view subscripts, const Array& a, const Array& b);
/// einsum of any number of operands ("ij,jk,kl->il"), contracted pairwise from the left, each
/// step keeping the indices that the output or a later operand still names.
Array einsum(std::string_view subscripts, const std::vector<Array>& operands);

/// Dense linear algebra as blocked task graphs, with LAPACK (OpenBLAS) on the blocks. Results
/// are float64 (float32 operands give float32, computed in float64; integers give float64).
///
/// - qr, svd, solve, lstsq and inv rest on TSQR: each row panel of the matrix (rows as chunked,
///   columns made one chunk) is factored where it lives; the stacked R factors are factored
///   again, in a tree of fan-in `max(2, 256 MiB / (n^2 * 8 bytes))`, and Q is assembled panel by
///   panel. Only n x n factors travel between ranks. They suit matrices with far more rows than
///   columns (a 2,000,000 x 100 array); for a square n x n matrix each rank holds n x n factors.
/// - cholesky is the right-looking blocked algorithm over square chunks: a task per block
///   factorisation, triangular solve and update.
namespace linalg {

/// NumPy's linalg.norm. `axes` all (the default, NumPy's axis=None): the 2-norm of the
/// flattened array when `ord` is none, else a vector norm (1-d) or matrix norm (2-d). One axis:
/// vector norms (ord none or 2, 1, inf, -inf, 0, any p). Two axes: matrix norms (none or
/// Frobenius, 1, -1, inf, -inf, and 2, -2 through the singular values of a 2-d array).
Array norm(const Array& x, std::optional<double> ord = std::nullopt, Axes axes = {},
           bool keepdims = false);
/// The matrix norms by name: "fro" (Frobenius) and "nuc" (nuclear, the sum of singular values).
Array norm(const Array& x, std::string_view ord, Axes axes = {}, bool keepdims = false);

/// The reduced QR factorisation of a 2-d array (m, n): q (m, k) with orthonormal columns and r
/// (k, n) upper triangular, k = min(m, n). q keeps a's row chunks.
struct QR {
  Array q, r;
};
QR qr(const Array& a);

/// The thin SVD of a 2-d array: a = u diag(s) vh, u (m, k), s (k,) descending, vh (k, n).
struct SVD {
  Array u, s, vh;
};
SVD svd(const Array& a);

/// The lower Cholesky factor L of a symmetric positive definite matrix (a = L L^T; only a's
/// lower triangle is read). A matrix that is not positive definite fails the compute on every
/// rank with a value_error that names the leading minor.
Array cholesky(const Array& a);

/// x with a x = b, for a square a and b of shape (n,) or (n, k) (through a's QR
/// factorisation). A singular a (a zero in R's diagonal) fails the compute with value_error.
Array solve(const Array& a, const Array& b);

/// The inverse of a square matrix (solve(a, I)).
Array inv(const Array& a);

/// The least-squares solution of a x = b of minimum norm, through the SVD (as NumPy's lstsq):
/// singular values at most rcond * max(s) count as zero (rcond default: machine epsilon times
/// max(m, n)). `residuals` is the squared residual norm of each column of b, always (NumPy gives
/// an empty array when rank < n or m <= n); `rank` a 0-d int64; `s` a's singular values.
struct Lstsq {
  Array x, residuals, rank, s;
};
Lstsq lstsq(const Array& a, const Array& b, std::optional<double> rcond = std::nullopt);

}  // namespace linalg

}  // namespace tessera
