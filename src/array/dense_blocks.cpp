// Block GEMM: OpenBLAS for float32/float64, Eigen for the integer dtypes (NumPy's integer matmul
// wraps around in the result dtype, as these do).

#include "dense_blocks.hpp"

#include <cblas.h>

#include <Eigen/Core>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

// LAPACK's Fortran entry points (OpenBLAS ships them; Debian has no LAPACKE header with it).
extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork,
             int* iwork, int* info);
}

namespace tessera::detail {

void blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

namespace {

template <class T>
void gemm(index_t m, index_t n, index_t k, const T* a, const T* b, T* c, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + m * n, T{0});
    return;
  }
  const auto bi = [](index_t v) { return static_cast<blasint>(std::max<index_t>(v, 1)); };
  if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi(m), bi(n), bi(k), 1.0, a, bi(k), b,
                bi(n), accumulate ? 1.0 : 0.0, c, bi(n));
  } else if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi(m), bi(n), bi(k), 1.0f, a, bi(k), b,
                bi(n), accumulate ? 1.0f : 0.0f, c, bi(n));
  } else {
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const Mat> ma(a, m, k), mb(b, k, n);
    Eigen::Map<Mat> mc(c, m, n);
    if (accumulate)
      mc.noalias() += ma * mb;
    else
      mc.noalias() = ma * mb;
  }
}

}  // namespace

void batched_gemm(const Block& a, const Block& b, Block& c, bool accumulate) {
  const int nd = c.ndim();
  if (a.ndim() != nd || b.ndim() != nd || nd < 2 || a.dtype() != c.dtype() ||
      b.dtype() != c.dtype()) {
    throw value_error(fmt::format("batched_gemm: blocks of shapes {}, {} -> {} do not match",
                                  shape_string(a.shape()), shape_string(b.shape()),
                                  shape_string(c.shape())));
  }
  blas_single_threaded();
  const auto u = [](int i) { return static_cast<std::size_t>(i); };
  const index_t m = c.shape()[u(nd - 2)], n = c.shape()[u(nd - 1)], k = a.shape()[u(nd - 1)];
  // Row-major strides, in matrices, of the batch axes of a and b (0 where broadcast).
  const int nb = nd - 2;
  std::vector<index_t> sa(u(nb)), sb(u(nb));
  index_t ta = 1, tb = 1, tc = 1;
  for (int d = nb - 1; d >= 0; --d) {
    sa[u(d)] = a.shape()[u(d)] == 1 ? 0 : ta;
    sb[u(d)] = b.shape()[u(d)] == 1 ? 0 : tb;
    ta *= a.shape()[u(d)], tb *= b.shape()[u(d)], tc *= c.shape()[u(d)];
  }
  visit_dtype(c.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      throw dtype_error("batched_gemm: bool blocks (matmul computes them as int64)");
    } else {
      const T* pa = a.data_as<T>();
      const T* pb = b.data_as<T>();
      T* pc = c.data_as<T>();
      std::vector<index_t> idx(u(nb), 0);
      for (index_t t = 0; t < tc; ++t) {
        index_t oa = 0, ob = 0;
        for (int d = 0; d < nb; ++d) oa += idx[u(d)] * sa[u(d)], ob += idx[u(d)] * sb[u(d)];
        gemm<T>(m, n, k, pa + oa * m * k, pb + ob * k * n, pc + t * m * n, accumulate);
        for (int d = nb - 1; d >= 0; --d) {
          if (++idx[u(d)] < c.shape()[u(d)]) break;
          idx[u(d)] = 0;
        }
      }
    }
  });
}

namespace {

using ColMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void check_matrix(const Block& a, std::string_view op) {
  if (a.ndim() != 2 || a.dtype() != DType::Float64) {
    throw value_error(fmt::format("{}: expected a 2-d float64 block, got {} of shape {}", op,
                                  dtype_name(a.dtype()), shape_string(a.shape())));
  }
}

int lapack_int(index_t v, std::string_view op) {
  if (v > std::numeric_limits<int>::max())
    throw value_error(fmt::format("{}: a block axis of {} exceeds LAPACK's 32-bit indices", op, v));
  return static_cast<int>(v);
}

/// A row-major block as a column-major matrix (a copy LAPACK may overwrite).
ColMajor column_major(const Block& a) {
  return Eigen::Map<const RowMajor>(a.data_as<double>(), a.shape()[0], a.shape()[1]);
}

Block row_major_block(const Eigen::Ref<const ColMajor>& m) {
  Block out(DType::Float64, {m.rows(), m.cols()});
  Eigen::Map<RowMajor>(out.data_as<double>(), m.rows(), m.cols()) = m;
  return out;
}

void throw_lapack(std::string_view routine, int info) {
  throw value_error(fmt::format("LAPACK {} failed (info {})", routine, info));
}

}  // namespace

namespace {

/// Householder QR of the column-major (m, n) matrix `w` (overwritten): q (m, k) and r (k, n),
/// k = min(m, n) > 0, by LAPACK.
void householder_qr(ColMajor& w, ColMajor& q, ColMajor& r) {
  const index_t m = w.rows(), n = w.cols(), k = std::min(m, n);
  const int im = lapack_int(m, "qr"), in = lapack_int(n, "qr"), ik = static_cast<int>(k);
  std::vector<double> tau(static_cast<std::size_t>(k));
  int info = 0, lwork = -1;
  double query = 0;
  dgeqrf_(&im, &in, w.data(), &im, tau.data(), &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgeqrf_(&im, &in, w.data(), &im, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw_lapack("dgeqrf", info);
  r = w.topRows(k).triangularView<Eigen::Upper>();
  lwork = -1;
  dorgqr_(&im, &ik, &ik, w.data(), &im, tau.data(), &query, &lwork, &info);
  lwork = std::max(1, static_cast<int>(query));
  work.resize(static_cast<std::size_t>(lwork));
  dorgqr_(&im, &ik, &ik, w.data(), &im, tau.data(), work.data(), &lwork, &info);
  if (info != 0) throw_lapack("dorgqr", info);
  q = w.leftCols(k);
}

/// The QR factors of the row-major (m, n) matrix at `a`: q (m, k) into the first k columns of
/// the row-major `q` (ldq elements a row), r (k, n), k = min(m, n). A matrix much taller than
/// wide is factored as a TSQR of its own: LAPACK's Householder QR reads the whole panel once per
/// column, so it runs at memory speed on a block past the cache, and four to five times faster
/// on panels of about 1 MiB, whose R factors are stacked and factored again (recursively) and
/// whose Q factors are combined by one GEMM each, written straight into `q`.
void qr_rows(const double* a, index_t m, index_t n, double* q, index_t ldq, ColMajor& r) {
  using Strided = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
  const index_t panel = std::max<index_t>(2 * n, (index_t{1} << 17) / std::max<index_t>(n, 1));
  if (m < 4 * panel) {
    ColMajor w = Eigen::Map<const RowMajor>(a, m, n), cq;
    householder_qr(w, cq, r);
    Strided(q, m, cq.cols(), Eigen::OuterStride<>(ldq)) = cq;
    return;
  }
  const index_t p = m / panel;  // panels of at least `panel` >= 2n rows
  const auto first_row = [&](index_t j) { return j * m / p; };
  std::vector<ColMajor> qs(static_cast<std::size_t>(p));
  RowMajor stack(p * n, n);
  for (index_t j = 0; j < p; ++j) {
    ColMajor w = Eigen::Map<const RowMajor>(a + first_row(j) * n, first_row(j + 1) - first_row(j),
                                            n),
             rj;
    householder_qr(w, qs[static_cast<std::size_t>(j)], rj);
    stack.middleRows(j * n, n) = rj;
  }
  RowMajor q2(p * n, n);
  qr_rows(stack.data(), p * n, n, q2.data(), n, r);
  for (index_t j = 0; j < p; ++j) {
    // q's rows of panel j = qs[j] (column-major: transposed, read row-major) times q2's.
    const index_t rows = first_row(j + 1) - first_row(j);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<blasint>(rows),
                static_cast<blasint>(n), static_cast<blasint>(n), 1.0,
                qs[static_cast<std::size_t>(j)].data(), static_cast<blasint>(rows),
                q2.data() + j * n * n, static_cast<blasint>(n), 0.0, q + first_row(j) * ldq,
                static_cast<blasint>(ldq));
  }
}

}  // namespace

void qr_block_into(const Block& a, double* q, index_t ldq, double* r) {
  check_matrix(a, "qr");
  blas_single_threaded();
  const index_t m = a.shape()[0], n = a.shape()[1], k = std::min(m, n);
  if (k == 0) return;
  ColMajor cr;
  qr_rows(a.data_as<double>(), m, n, q, ldq, cr);
  Eigen::Map<RowMajor>(r, k, n) = cr;
}

Block cholesky_block(const Block& a, index_t row_offset) {
  check_matrix(a, "cholesky");
  blas_single_threaded();
  const index_t n = a.shape()[0];
  if (a.shape()[1] != n) {
    throw value_error(
        fmt::format("cholesky: a block of shape {} is not square", shape_string(a.shape())));
  }
  if (n == 0) return Block(DType::Float64, {0, 0});
  ColMajor w = column_major(a);
  const int in = lapack_int(n, "cholesky");
  int info = 0;
  dpotrf_("L", &in, w.data(), &in, &info);
  if (info > 0) {
    throw value_error(fmt::format(
        "cholesky: the matrix is not positive definite (its leading minor of order {} is not "
        "positive)",
        row_offset + info));
  }
  if (info < 0) throw_lapack("dpotrf", info);
  ColMajor l = w.triangularView<Eigen::Lower>();
  return row_major_block(l);
}

Block solve_triangular_block(const Block& t, const Block& b, bool lower, bool transpose,
                             bool left) {
  check_matrix(t, "solve_triangular");
  check_matrix(b, "solve_triangular");
  blas_single_threaded();
  const index_t n = t.shape()[0];
  const index_t m = b.shape()[0], k = b.shape()[1];
  if (t.shape()[1] != n || (left ? m : k) != n) {
    throw value_error(fmt::format("solve_triangular: shapes {} and {} do not align",
                                  shape_string(t.shape()), shape_string(b.shape())));
  }
  const double* d = t.data_as<double>();
  for (index_t i = 0; i < n; ++i) {
    if (d[i * n + i] == 0.0) {
      throw value_error(fmt::format(
          "the matrix is singular (a zero pivot at row {} of its triangular factor)", i));
    }
  }
  Block x = b.clone();
  if (m == 0 || k == 0) return x;
  cblas_dtrsm(CblasRowMajor, left ? CblasLeft : CblasRight, lower ? CblasLower : CblasUpper,
              transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, static_cast<blasint>(m),
              static_cast<blasint>(k), 1.0, d, static_cast<blasint>(std::max<index_t>(n, 1)),
              x.data_as<double>(), static_cast<blasint>(std::max<index_t>(k, 1)));
  return x;
}

SvdBlocks svd_block(const Block& a) {
  check_matrix(a, "svd");
  blas_single_threaded();
  const index_t m = a.shape()[0], n = a.shape()[1], k = std::min(m, n);
  if (k == 0) {
    return {Block::zeros(DType::Float64, {m, 0}), Block(DType::Float64, {0}),
            Block::zeros(DType::Float64, {0, n})};
  }
  ColMajor w = column_major(a);
  ColMajor u(m, k), vt(k, n);
  Block s(DType::Float64, {k});
  const int im = lapack_int(m, "svd"), in = lapack_int(n, "svd"), ik = static_cast<int>(k);
  std::vector<int> iwork(static_cast<std::size_t>(8 * k));
  int info = 0, lwork = -1;
  double query = 0;
  dgesdd_("S", &im, &in, w.data(), &im, s.data_as<double>(), u.data(), &im, vt.data(), &ik, &query,
          &lwork, iwork.data(), &info);
  lwork = std::max(1, static_cast<int>(query));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesdd_("S", &im, &in, w.data(), &im, s.data_as<double>(), u.data(), &im, vt.data(), &ik,
          work.data(), &lwork, iwork.data(), &info);
  if (info > 0) throw value_error("svd: the singular value decomposition did not converge");
  if (info < 0) throw_lapack("dgesdd", info);
  return {row_major_block(u), s, row_major_block(vt)};
}

}  // namespace tessera::detail
