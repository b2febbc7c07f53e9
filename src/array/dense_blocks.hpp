#pragma once
// Dense linear algebra on whole blocks: the chunk-level kernels of matmul and linalg. Floats go
// to OpenBLAS (through CBLAS) and Eigen; integers to Eigen's own products. OpenBLAS is set to one
// thread on first use: the rank's thread pool runs one block product per worker, and BLAS threads
// on top of those would oversubscribe the cores.

#include "tessera/core/block.hpp"

namespace tessera::detail {

/// C (+)= A B for blocks with a batch of matrices: `a` is (..., m, k), `b` (..., k, n) and `c`
/// (..., m, n), all of one ndim and dtype; a batch axis of `a` or `b` may be 1 where `c`'s is
/// longer (broadcast). `accumulate` false overwrites `c`, true adds to it.
void batched_gemm(const Block& a, const Block& b, Block& c, bool accumulate);

/// The reduced QR factors of a float64 block `a` (m, n), a = q r with k = min(m, n), written in
/// place: q (m, k), with orthonormal columns, into the first k columns of the row-major `q` (ldq
/// elements a row); r (k, n), upper triangular, row-major at `r`. Nothing else is written.
void qr_block_into(const Block& a, double* q, index_t ldq, double* r);

/// The lower Cholesky factor of a float64 symmetric positive definite block; value_error naming
/// the leading minor (plus `row_offset`, the block's global first row) that is not positive.
Block cholesky_block(const Block& a, index_t row_offset = 0);

/// op(t)^-1 b (`left`) or b op(t)^-1: t a float64 square triangular block (`lower` or upper),
/// op(t) = t or t^T (`transpose`). value_error when t has a zero on its diagonal.
Block solve_triangular_block(const Block& t, const Block& b, bool lower, bool transpose, bool left);

/// The thin SVD of a float64 block (m, n): u (m, k), s (k,) descending, vt (k, n), k = min(m, n).
struct SvdBlocks {
  Block u, s, vt;
};
SvdBlocks svd_block(const Block& a);

/// Sets OpenBLAS to one thread, once per process (gemm calls it; so does linalg before its
/// first LAPACK-backed kernel).
void blas_single_threaded();

}  // namespace tessera::detail
