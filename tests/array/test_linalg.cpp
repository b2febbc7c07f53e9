// linalg against serial references written here (loops in long double: products, Cholesky,
// Gaussian elimination with partial pivoting) and against the defining properties (Q R = A with
// orthonormal Q; U diag(s) Vh = A): tall, short-fat, square, single-row and uneven chunkings,
// panels shorter than the matrix is wide, a deep TSQR tree, ill-conditioned and rank-deficient
// inputs with tolerances from the condition number, and the bad inputs (a matrix that is not
// positive definite fails the compute on every rank).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "array/tsqr.hpp"
#include "support/test_support.hpp"
#include "tessera/array/linalg.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

using Matrix = xt::xarray<double>;
constexpr double kEps = std::numeric_limits<double>::epsilon();

Matrix values(std::size_t m, std::size_t n, int seed) {
  Matrix x = xt::zeros<double>({m, n});
  for (std::size_t i = 0; i < x.size(); ++i)
    x.flat(i) =
        static_cast<double>((i * 7919 + static_cast<std::size_t>(seed) * 104729) % 263) / 37.0 -
        3.5;
  return x;
}

Matrix product(const Matrix& a, const Matrix& b) {
  const std::size_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Matrix c = xt::zeros<double>({m, n});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      long double s = 0;
      for (std::size_t t = 0; t < k; ++t) s += static_cast<long double>(a(i, t)) * b(t, j);
      c(i, j) = static_cast<double>(s);
    }
  return c;
}

Matrix transposed(const Matrix& a) { return xt::transpose(a); }

double max_abs(const Matrix& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

/// x with a x = b, by Gaussian elimination with partial pivoting in long double.
Matrix gauss_solve(Matrix a, Matrix b) {
  const std::size_t n = a.shape()[0], k = b.shape()[1];
  std::vector<long double> w(n * n), r(n * k);
  for (std::size_t i = 0; i < n * n; ++i) w[i] = a.flat(i);
  for (std::size_t i = 0; i < n * k; ++i) r[i] = b.flat(i);
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t p = c;
    for (std::size_t i = c + 1; i < n; ++i)
      if (std::abs(w[i * n + c]) > std::abs(w[p * n + c])) p = i;
    for (std::size_t j = 0; j < n; ++j) std::swap(w[c * n + j], w[p * n + j]);
    for (std::size_t j = 0; j < k; ++j) std::swap(r[c * k + j], r[p * k + j]);
    for (std::size_t i = c + 1; i < n; ++i) {
      const long double f = w[i * n + c] / w[c * n + c];
      for (std::size_t j = c; j < n; ++j) w[i * n + j] -= f * w[c * n + j];
      for (std::size_t j = 0; j < k; ++j) r[i * k + j] -= f * r[c * k + j];
    }
  }
  Matrix x = xt::zeros<double>({n, k});
  for (std::size_t jj = 0; jj < k; ++jj) {
    for (std::size_t ii = n; ii-- > 0;) {
      long double s = r[ii * k + jj];
      for (std::size_t j = ii + 1; j < n; ++j) s -= w[ii * n + j] * x(j, jj);
      x(ii, jj) = static_cast<double>(s / w[ii * n + ii]);
    }
  }
  return x;
}

/// The 1-norm condition number, from the reference inverse.
double condition(const Matrix& a) {
  const std::size_t n = a.shape()[0];
  Matrix identity = xt::zeros<double>({n, n});
  for (std::size_t i = 0; i < n; ++i) identity(i, i) = 1;
  const Matrix inverse = gauss_solve(a, identity);
  const auto norm1 = [n](const Matrix& m) {
    double best = 0;
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += std::abs(m(i, j));
      best = std::max(best, s);
    }
    return best;
  };
  return norm1(a) * norm1(inverse);
}

::testing::AssertionResult near(const Matrix& got, const Matrix& want, double tol) {
  if (got.shape() != want.shape()) return ::testing::AssertionFailure() << "shapes differ";
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!(std::abs(got.flat(i) - want.flat(i)) <= tol)) {
      return ::testing::AssertionFailure() << "element " << i << ": " << got.flat(i) << " vs "
                                           << want.flat(i) << " (tolerance " << tol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

Matrix identity(std::size_t n) {
  Matrix e = xt::zeros<double>({n, n});
  for (std::size_t i = 0; i < n; ++i) e(i, i) = 1;
  return e;
}

Matrix compute(const Array& x, Scheduler& s) { return x.compute<double>({.scheduler = &s}); }

/// Checks a = q r with q's columns orthonormal and r upper triangular.
void expect_qr(const Matrix& a, const linalg::QR& f, Scheduler& s) {
  const Matrix q = compute(f.q, s), r = compute(f.r, s);
  const std::size_t m = a.shape()[0], n = a.shape()[1], k = std::min(m, n);
  ASSERT_EQ(q.shape(), (std::vector<std::size_t>{m, k}));
  ASSERT_EQ(r.shape(), (std::vector<std::size_t>{k, n}));
  const double scale = std::max(1.0, max_abs(a)) * static_cast<double>(m + n);
  EXPECT_TRUE(near(product(q, r), a, 50 * kEps * scale));
  EXPECT_TRUE(near(product(transposed(q), q), identity(k), 50 * kEps * static_cast<double>(m)));
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < i; ++j) EXPECT_EQ(r(i, j), 0.0);
}

TEST(Linalg, QrOfTallShortAndSquareArraysOnAnyChunking) {
  const std::vector<std::tuple<std::size_t, std::size_t, ChunkSpec>> cases{
      {60, 5, ChunkSpec{7, 5}},  {60, 5, ChunkSpec{7, 2}},  // columns made one chunk
      {60, 5, ChunkSpec{3, 5}},                             // panels shorter than wide
      {12, 12, ChunkSpec{5, 5}}, {5, 8, ChunkSpec{2, 3}},  {1, 1, ChunkSpec{1, 1}},
      {40, 1, ChunkSpec{9, 1}},  {1, 6, ChunkSpec{1, 4}}};
  for (const auto& [m, n, spec] : cases) {
    const Matrix d = values(m, n, static_cast<int>(m + n));
    const Array a = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      SCOPED_TRACE(::testing::Message()
                   << m << "x" << n << " chunks " << a.chunks().to_string() << " on " << s->name());
      expect_qr(d, linalg::qr(a), *s);
    }
  }
}

TEST(Linalg, ADeepTsqrTreeGivesTheSameFactorisation) {
  // Two R factors per stack: 25 panels take five levels.
  const Matrix d = values(100, 3, 7);
  const Array a = from_xtensor(d, ChunkSpec{4, 3});
  const linalg::QR deep = linalg::detail::qr(a, 2 * 3 * 3 * sizeof(double));
  for (const auto& s : all_schedulers()) expect_qr(d, deep, *s);
}

TEST(Linalg, SvdReconstructsTheArrayWithOrthonormalFactors) {
  for (const auto& [m, n, spec] : std::vector<std::tuple<std::size_t, std::size_t, ChunkSpec>>{
           {50, 6, ChunkSpec{8, 6}}, {4, 30, ChunkSpec{2, 7}}, {9, 9, ChunkSpec{4, 4}}}) {
    const Matrix d = values(m, n, 3);
    const linalg::SVD f = linalg::svd(from_xtensor(d, spec));
    const std::size_t k = std::min(m, n);
    for (const auto& s : all_schedulers()) {
      const Matrix uu = compute(f.u, *s), vh = compute(f.vh, *s);
      const xt::xarray<double> sv = f.s.compute<double>({.scheduler = s.get()});
      ASSERT_EQ(sv.size(), k);
      Matrix us = uu;
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < k; ++j) us(i, j) *= sv(j);
      const double tol = 100 * kEps * static_cast<double>(m + n) * sv(0);
      EXPECT_TRUE(near(product(us, vh), d, tol));
      EXPECT_TRUE(
          near(product(transposed(uu), uu), identity(k), 100 * kEps * static_cast<double>(m)));
      EXPECT_TRUE(
          near(product(vh, transposed(vh)), identity(k), 100 * kEps * static_cast<double>(n)));
      for (std::size_t i = 1; i < k; ++i) EXPECT_GE(sv(i - 1), sv(i));
      EXPECT_GE(sv(k - 1), 0.0);
    }
  }
}

/// A symmetric positive definite (n, n) matrix: B B^T + n I.
Matrix spd(std::size_t n) {
  const Matrix b = values(n, n, 11);
  Matrix a = product(b, transposed(b));
  for (std::size_t i = 0; i < n; ++i) a(i, i) += static_cast<double>(n);
  return a;
}

Matrix reference_cholesky(const Matrix& a) {
  const std::size_t n = a.shape()[0];
  Matrix l = xt::zeros<double>({n, n});
  for (std::size_t j = 0; j < n; ++j) {
    long double d = a(j, j);
    for (std::size_t k = 0; k < j; ++k) d -= static_cast<long double>(l(j, k)) * l(j, k);
    l(j, j) = static_cast<double>(std::sqrt(d));
    for (std::size_t i = j + 1; i < n; ++i) {
      long double s = a(i, j);
      for (std::size_t k = 0; k < j; ++k) s -= static_cast<long double>(l(i, k)) * l(j, k);
      l(i, j) = static_cast<double>(s / l(j, j));
    }
  }
  return l;
}

TEST(Linalg, CholeskyMatchesTheSerialFactorOnEveryBlocking) {
  const Matrix a = spd(13);
  const Matrix want = reference_cholesky(a);
  const double tol = 100 * kEps * condition(a) * max_abs(want);
  for (const ChunkSpec& spec :
       {ChunkSpec(index_t{-1}), ChunkSpec(index_t{4}),
        ChunkSpec({AxisChunks(std::vector<index_t>{1, 5, 7}), 13}), ChunkSpec(index_t{1})}) {
    const Array l = linalg::cholesky(from_xtensor(a, spec));
    for (const auto& s : all_schedulers()) {
      const Matrix got = compute(l, *s);
      EXPECT_TRUE(near(got, want, tol)) << from_xtensor(a, spec).chunks().to_string();
      EXPECT_TRUE(near(product(got, transposed(got)), a, 100 * kEps * max_abs(a) * 13));
    }
  }
}

TEST(Linalg, CholeskyOfAMatrixThatIsNotPositiveDefiniteFailsOnEveryRank) {
  Matrix a = spd(9);
  a(6, 6) = -50;  // the leading minor of order 7 is negative
  const Array l = linalg::cholesky(from_xtensor(a, 4));
  for (const auto& s : all_schedulers()) {
    try {
      (void)l.compute<double>({.scheduler = s.get()});
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("not positive definite"), std::string::npos) << what;
      EXPECT_NE(what.find("order 7"), std::string::npos) << what;
    }
  }
}

TEST(Linalg, SolveAndInvAgreeWithGaussianEliminationWithinTheConditionNumber) {
  // A well-conditioned matrix, and a Hilbert matrix (condition number about 1e10).
  Matrix hilbert = xt::zeros<double>({8, 8});
  for (std::size_t i = 0; i < 8; ++i)
    for (std::size_t j = 0; j < 8; ++j) hilbert(i, j) = 1.0 / static_cast<double>(i + j + 1);
  Matrix good = values(12, 12, 5);
  for (std::size_t i = 0; i < 12; ++i) good(i, i) += 20;
  for (const Matrix& a : {good, hilbert}) {
    const std::size_t n = a.shape()[0];
    const Matrix b = values(n, 3, 9);
    const Matrix want = gauss_solve(a, b);
    const double kappa = condition(a);
    const double tol = 100 * kEps * kappa * std::max(1.0, max_abs(want));
    for (const index_t c : {index_t{5}, index_t{3}, index_t{-1}}) {
      const Array x = linalg::solve(from_xtensor(a, c), from_xtensor(b, c));
      const Array x1 =
          linalg::solve(from_xtensor(a, c), from_xtensor(Matrix(xt::view(b, xt::all(), 0)), c));
      const Array ainv = linalg::inv(from_xtensor(a, c));
      for (const auto& s : all_schedulers()) {
        SCOPED_TRACE(::testing::Message() << "n " << n << " chunks " << c << " on " << s->name());
        EXPECT_TRUE(near(compute(x, *s), want, tol));
        const xt::xarray<double> v = x1.compute<double>({.scheduler = s.get()});
        ASSERT_EQ(v.dimension(), 1u);
        for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(v(i), want(i, 0), tol);
        EXPECT_TRUE(near(compute(ainv, *s), gauss_solve(a, identity(n)),
                         100 * kEps * kappa * max_abs(gauss_solve(a, identity(n)))));
      }
    }
  }
}

TEST(Linalg, LstsqGivesTheMinimumNormSolutionAndTheRank) {
  // Overdetermined and full rank: the normal equations' solution.
  const Matrix a = values(50, 4, 13), b = values(50, 2, 17);
  const Matrix want = gauss_solve(product(transposed(a), a), product(transposed(a), b));
  // Rank-deficient: a column repeated; the minimum-norm solution splits its weight evenly.
  Matrix dup = xt::zeros<double>({30, 3});
  const Matrix base = values(30, 2, 19);
  for (std::size_t i = 0; i < 30; ++i)
    dup(i, 0) = base(i, 0), dup(i, 1) = base(i, 1), dup(i, 2) = base(i, 1);
  const Matrix bd = values(30, 1, 23);
  // Underdetermined (3, 6): a x = b exactly, with x in a's row space.
  const Matrix wide = values(3, 6, 29), bw = values(3, 1, 31);
  for (const auto& s : all_schedulers()) {
    const linalg::Lstsq full = linalg::lstsq(from_xtensor(a, ChunkSpec{9, 4}), from_xtensor(b, 9));
    EXPECT_TRUE(near(compute(full.x, *s), want, 1e-10 * max_abs(want)));
    EXPECT_EQ(full.rank.item<std::int64_t>({.scheduler = s.get()}), 4);
    const Matrix resid = product(a, want) - b;
    const xt::xarray<double> r = full.residuals.compute<double>({.scheduler = s.get()});
    for (std::size_t j = 0; j < 2; ++j) {
      double ss = 0;
      for (std::size_t i = 0; i < 50; ++i) ss += resid(i, j) * resid(i, j);
      EXPECT_NEAR(r(j), ss, 1e-10 * ss);
    }
    const linalg::Lstsq deficient = linalg::lstsq(from_xtensor(dup, 7), from_xtensor(bd, 7));
    EXPECT_EQ(deficient.rank.item<std::int64_t>({.scheduler = s.get()}), 2);
    const Matrix xd = compute(deficient.x, *s);
    EXPECT_NEAR(xd(1, 0), xd(2, 0), 1e-10 * std::max(1.0, std::abs(xd(1, 0))));
    // The residual is orthogonal to a's columns.
    EXPECT_TRUE(
        near(product(transposed(dup), product(dup, xd) - bd), xt::zeros<double>({3, 1}), 1e-9));
    const linalg::Lstsq under = linalg::lstsq(from_xtensor(wide, 2), from_xtensor(bw, 2));
    const Matrix xu = compute(under.x, *s);
    EXPECT_TRUE(near(product(wide, xu), bw, 1e-10));
    // In the row space: x = a^T y for the y that solves (a a^T) y = b.
    const Matrix y = gauss_solve(product(wide, transposed(wide)), bw);
    EXPECT_TRUE(near(xu, product(transposed(wide), y), 1e-10));
    EXPECT_EQ(under.rank.item<std::int64_t>({.scheduler = s.get()}), 3);
  }
}

TEST(Linalg, NormsMatchTheirDefinitions) {
  const Matrix d = values(7, 5, 37);
  const Array x = from_xtensor(d, ChunkSpec{3, 2});
  const xt::xarray<double> v = xt::view(d, 0, xt::all());
  const Array xv = from_xtensor(v, 2);
  double l1 = 0, l2 = 0, linf = 0, lminf = 1e300, l0 = 0, l3 = 0, fro = 0;
  for (double e : v) {
    l1 += std::abs(e), l2 += e * e, linf = std::max(linf, std::abs(e));
    lminf = std::min(lminf, std::abs(e)), l0 += e != 0, l3 += std::pow(std::abs(e), 3);
  }
  for (double e : d) fro += e * e;
  std::vector<double> col(5, 0), row(7, 0);
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 5; ++j) col[j] += std::abs(d(i, j)), row[i] += std::abs(d(i, j));
  // The 2-norm: the square root of the largest eigenvalue of d^T d, by power iteration.
  const Matrix g = product(transposed(d), d);
  Matrix w = xt::ones<double>({5, 1});
  double lambda = 0;
  for (int it = 0; it < 500; ++it) {
    const Matrix gw = product(g, w);
    lambda = std::sqrt(xt::sum(gw * gw)());
    w = gw / lambda;
  }
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (const auto& s : all_schedulers()) {
    const auto val = [&](const Array& a) { return a.item<double>({.scheduler = s.get()}); };
    EXPECT_NEAR(val(linalg::norm(xv)), std::sqrt(l2), 1e-12);
    EXPECT_NEAR(val(linalg::norm(xv, 1.0)), l1, 1e-12);
    EXPECT_NEAR(val(linalg::norm(xv, inf)), linf, 1e-12);
    EXPECT_NEAR(val(linalg::norm(xv, -inf)), lminf, 1e-12);
    EXPECT_NEAR(val(linalg::norm(xv, 0.0)), l0, 1e-12);
    EXPECT_NEAR(val(linalg::norm(xv, 3.0)), std::cbrt(l3), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x)), std::sqrt(fro), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, "fro")), std::sqrt(fro), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, 1.0)), *std::max_element(col.begin(), col.end()), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, -1.0)), *std::min_element(col.begin(), col.end()), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, inf)), *std::max_element(row.begin(), row.end()), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, -inf)), *std::min_element(row.begin(), row.end()), 1e-12);
    EXPECT_NEAR(val(linalg::norm(x, 2.0)), std::sqrt(lambda), 1e-9);
    const xt::xarray<double> s_values = linalg::svd(x).s.compute<double>({.scheduler = s.get()});
    EXPECT_NEAR(val(linalg::norm(x, "nuc")), xt::sum(s_values)(), 1e-12);
    // Along an axis, and keeping the reduced axes.
    const xt::xarray<double> rows2 =
        linalg::norm(x, std::nullopt, 1).compute<double>({.scheduler = s.get()});
    for (std::size_t i = 0; i < 7; ++i) {
      double r2 = 0;
      for (std::size_t j = 0; j < 5; ++j) r2 += d(i, j) * d(i, j);
      EXPECT_NEAR(rows2(i), std::sqrt(r2), 1e-12);
    }
    EXPECT_EQ(linalg::norm(x, 1.0, Axes{0, 1}, true).shape(), (Shape{1, 1}));
    EXPECT_EQ(linalg::norm(x, std::nullopt, 0, true).shape(), (Shape{1, 5}));
  }
}

TEST(Linalg, BadInputRaisesWhenBuilt) {
  EXPECT_THROW((void)linalg::qr(zeros({2, 3, 4}, 2)), value_error);
  EXPECT_THROW((void)linalg::cholesky(zeros({3, 4}, 2)), value_error);
  EXPECT_THROW((void)linalg::solve(zeros({3, 3}, 2), zeros({4}, 2)), shape_error);
  EXPECT_THROW((void)linalg::solve(zeros({3, 4}, 2), zeros({3}, 2)), value_error);
  EXPECT_THROW((void)linalg::lstsq(zeros({5, 2}, 2), zeros({4, 1}, 2)), shape_error);
  EXPECT_THROW((void)linalg::norm(zeros({2, 2, 2}, 2), 1.0), value_error);
  EXPECT_THROW((void)linalg::norm(zeros({2, 2}, 2), "spectral"), value_error);
  EXPECT_THROW((void)linalg::norm(zeros({2, 2}, 2), 3.0, Axes{0, 1}), value_error);
  // A singular matrix fails the compute.
  const Array singular = linalg::solve(zeros({3, 3}, 2), ones({3}, 2));
  for (const auto& s : all_schedulers())
    EXPECT_THROW((void)singular.compute<double>({.scheduler = s.get()}), std::exception);
}

}  // namespace
}  // namespace tessera::testing
