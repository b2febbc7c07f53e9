// Products of arrays (matmul, dot, tensordot, vdot, outer, trace, einsum) against whole-array
// loops in long double: every chunking of either operand (uneven, single elements, size-0 and
// size-1 axes), contracted axes chunked differently in a and b, few output chunks (the grouped,
// tree-summed schedule) and many (one task per output chunk), batch axes that broadcast, integer
// and bool dtypes exactly, and the shape errors.

#include <gtest/gtest.h>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/array/linalg.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// Values of both signs that differ everywhere (a permuted, scaled index).
xt::xarray<double> values(const Shape& shape, int seed) {
  xt::xarray<double> x =
      xt::xarray<double>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < x.size(); ++i)
    x.flat(i) =
        static_cast<double>((i * 7919 + static_cast<std::size_t>(seed) * 104729) % 263) / 37.0 -
        3.0;
  return x;
}

/// (m, k) @ (k, n) by loops, in long double.
xt::xarray<double> reference_matmul(const xt::xarray<double>& a, const xt::xarray<double>& b) {
  const std::size_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  xt::xarray<double> c = xt::zeros<double>({m, n});
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      long double s = 0;
      for (std::size_t t = 0; t < k; ++t)
        s += static_cast<long double>(a(i, t)) * static_cast<long double>(b(t, j));
      c(i, j) = static_cast<double>(s);
    }
  }
  return c;
}

constexpr double kTol = 1e-13;

TEST(Matmul, EveryChunkingOfEitherOperandMatchesTheLoops) {
  const std::vector<std::array<index_t, 3>> sizes{{7, 5, 6}, {1, 4, 1}, {0, 3, 4},
                                                  {3, 0, 4}, {5, 5, 0}, {6, 11, 4}};
  for (const auto& [m, k, n] : sizes) {
    const xt::xarray<double> da = values({m, k}, 1), db = values({k, n}, 2);
    const xt::xarray<double> want = reference_matmul(da, db);
    for (const ChunkSpec& sa : chunkings({m, k})) {
      for (const ChunkSpec& sb : chunkings({k, n})) {
        const Array c = matmul(from_xtensor(da, sa), from_xtensor(db, sb));
        for (const auto& s : all_schedulers()) {
          ASSERT_TRUE(matches<double>(c, want, *s, kTol))
              << "a " << from_xtensor(da, sa).chunks().to_string() << " b "
              << from_xtensor(db, sb).chunks().to_string();
        }
      }
    }
  }
}

TEST(Matmul, FewOutputChunksSumGroupsOfProductsInATree) {
  // A Gram matrix of a tall array: one output chunk, 40 chunks along the contracted axis, so
  // the k range is cut into groups whose products are summed (and the same for float32 and
  // int32, whose sums come back in their own dtype).
  const xt::xarray<double> dx = values({400, 6}, 3);
  const Array x = from_xtensor(dx, ChunkSpec{10, 6});
  const Array gram = matmul(transpose(x), x);
  EXPECT_EQ(gram.shape(), (Shape{6, 6}));
  const xt::xarray<double> want = reference_matmul(xt::transpose(dx), dx);
  const xt::xarray<std::int32_t> ix = xt::cast<std::int32_t>(dx * 10.0);
  xt::xarray<std::int32_t> iwant = xt::zeros<std::int32_t>({6, 6});
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 6; ++j)
      for (std::size_t t = 0; t < 400; ++t) iwant(i, j) += ix(t, i) * ix(t, j);
  const Array xi = from_xtensor(ix, ChunkSpec{7, 6});
  for (const auto& s : all_schedulers()) {
    ASSERT_TRUE(matches<double>(gram, want, *s, kTol));
    ASSERT_TRUE(matches<std::int32_t>(matmul(transpose(xi), xi), iwant, *s));
    const Array xf = x.astype(DType::Float32);
    ASSERT_TRUE(matches<float>(matmul(transpose(xf), xf), xt::xarray<float>(xt::cast<float>(want)),
                               *s, 1e-5));
  }
}

TEST(Matmul, BatchAxesBroadcastAndOneDimensionalOperandsDropTheirAxis) {
  const xt::xarray<double> da = values({2, 1, 3, 4}, 4), db = values({3, 4, 5}, 5);
  xt::xarray<double> want = xt::zeros<double>({2, 3, 3, 5});
  for (std::size_t p = 0; p < 2; ++p) {
    for (std::size_t q = 0; q < 3; ++q) {
      const xt::xarray<double> am = xt::view(da, p, 0, xt::all(), xt::all());
      const xt::xarray<double> bm = xt::view(db, q, xt::all(), xt::all());
      xt::view(want, p, q, xt::all(), xt::all()) = reference_matmul(am, bm);
    }
  }
  const xt::xarray<double> dv = values({4}, 6), dm = values({4, 3}, 7);
  const xt::xarray<double> row =
      xt::view(reference_matmul(xt::view(dv, xt::newaxis(), xt::all()), dm), 0, xt::all());
  const xt::xarray<double> col = xt::view(
      reference_matmul(xt::transpose(dm), xt::view(dv, xt::all(), xt::newaxis())), xt::all(), 0);
  double inner = 0;
  for (std::size_t i = 0; i < 4; ++i) inner += dv(i) * dv(i);
  for (const ChunkSpec& spec :
       {ChunkSpec(index_t{1}), ChunkSpec(index_t{2}), ChunkSpec(index_t{-1})}) {
    const Array a = from_xtensor(da, spec), b = from_xtensor(db, spec);
    const Array v = from_xtensor(dv, spec), m = from_xtensor(dm, spec);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(matmul(a, b), want, *s, kTol));
      ASSERT_TRUE(matches<double>(matmul(v, m), row, *s, kTol));
      ASSERT_TRUE(matches<double>(matmul(transpose(m), v), col, *s, kTol));
      const Array vv = matmul(v, v);
      EXPECT_EQ(vv.ndim(), 0);
      EXPECT_NEAR(vv.item<double>({.scheduler = s.get()}), inner, 1e-12 * inner);
    }
  }
}

TEST(Matmul, DtypesPromoteAsInNumPy) {
  const xt::xarray<std::int32_t> ia{{1, -2, 3}, {4, 5, -6}};
  const xt::xarray<std::int32_t> ib{{7, 8}, {-9, 10}, {11, 12}};
  const xt::xarray<std::int32_t> iwant{{58, 24}, {-83, 10}};
  const xt::xarray<bool> ba{{true, false}, {false, false}};
  const xt::xarray<bool> bb{{false, true}, {true, true}};
  const xt::xarray<bool> bwant{{false, true}, {false, false}};
  for (const auto& s : all_schedulers()) {
    ASSERT_TRUE(matches<std::int32_t>(matmul(from_xtensor(ia, 1), from_xtensor(ib, 2)), iwant, *s));
    ASSERT_TRUE(matches<double>(
        matmul(from_xtensor(ia, 2), from_xtensor(ib, 1).astype(DType::Float32)),
        xt::xarray<double>(xt::cast<double>(iwant)), *s));  // int32 with float32: float64
    ASSERT_TRUE(matches<bool>(matmul(from_xtensor(ba, 1), from_xtensor(bb, 1)), bwant, *s));
  }
}

TEST(Matmul, DotTensordotVdotOuterAndTrace) {
  const xt::xarray<double> d3 = values({3, 4, 5}, 8), d2 = values({5, 2}, 9),
                           dsq = values({6, 6}, 10);
  const xt::xarray<double> d45 = values({4, 5, 2}, 11);
  // dot of 3-d by 2-d: sum over a's last axis and b's first (b's second-to-last).
  xt::xarray<double> dot_want = xt::zeros<double>({3, 4, 2});
  // tensordot over a's last two axes and b's first two.
  xt::xarray<double> td_want = xt::zeros<double>({3, 2});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      for (std::size_t k = 0; k < 5; ++k)
        for (std::size_t l = 0; l < 2; ++l) {
          dot_want(i, j, l) += d3(i, j, k) * d2(k, l);
          td_want(i, l) += d3(i, j, k) * d45(j, k, l);
        }
  double vdot_want = 0;
  for (std::size_t i = 0; i < d3.size(); ++i) vdot_want += d3.flat(i) * d3.flat(i);
  xt::xarray<double> outer_want = xt::zeros<double>({10, 6});
  for (std::size_t i = 0; i < 10; ++i)
    for (std::size_t j = 0; j < 6; ++j) outer_want(i, j) = d2.flat(i) * dsq(0, j);
  for (const ChunkSpec& spec : chunkings({3, 4, 5})) {
    const Array a = from_xtensor(d3, spec);
    const Array b = from_xtensor(d2, 2), c = from_xtensor(d45, 3), sq = from_xtensor(dsq, 4);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(dot(a, b), dot_want, *s, kTol));
      ASSERT_TRUE(matches<double>(tensordot(a, c, 2), td_want, *s, kTol));
      ASSERT_TRUE(matches<double>(tensordot(a, c, {1, 2}, {0, 1}), td_want, *s, kTol));
      EXPECT_NEAR(vdot(a, a).item<double>({.scheduler = s.get()}), vdot_want, 1e-12 * vdot_want);
      ASSERT_TRUE(matches<double>(outer(b, sq[{index_t{0}}]), outer_want, *s, kTol));
      for (index_t offset : {-7, -2, 0, 3, 6}) {
        double t = 0;
        for (index_t i = 0; i < 6; ++i)
          if (i + offset >= 0 && i + offset < 6)
            t += dsq(static_cast<std::size_t>(i), static_cast<std::size_t>(i + offset));
        EXPECT_DOUBLE_EQ(trace(sq, offset).item<double>({.scheduler = s.get()}), t) << offset;
      }
      // trace over axes (2, 0) of a 3-d array: one value per axis-1 entry.
      xt::xarray<double> t3 = xt::zeros<double>({4});
      for (std::size_t j = 0; j < 4; ++j)
        for (std::size_t i = 0; i < 3; ++i) t3(j) += d3(i, j, i + 1);
      ASSERT_TRUE(matches<double>(trace(a, -1, 2, 0), t3, *s, kTol));
    }
  }
}

TEST(Matmul, EinsumCoversTheCommonTwoOperandForms) {
  const xt::xarray<double> dij = values({4, 5}, 12), djk = values({5, 3}, 13);
  const xt::xarray<double> dbij = values({2, 4, 5}, 14), dbjk = values({2, 5, 3}, 15);
  const Array ij = from_xtensor(dij, 2), jk = from_xtensor(djk, 3);
  const Array bij = from_xtensor(dbij, 2), bjk = from_xtensor(dbjk, 2);
  const xt::xarray<double> ik = reference_matmul(dij, djk);
  xt::xarray<double> bik = xt::zeros<double>({2, 4, 3});
  for (std::size_t p = 0; p < 2; ++p) {
    const xt::xarray<double> l = xt::view(dbij, p), r = xt::view(dbjk, p);
    xt::view(bik, p) = reference_matmul(l, r);
  }
  xt::xarray<double> ki = xt::transpose(ik);
  xt::xarray<double> rowsums = xt::zeros<double>({4});  // "ij,jk->i"
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t k = 0; k < 3; ++k) rowsums(i) += ik(i, k);
  xt::xarray<double> outer_want = xt::zeros<double>({4, 3});  // "i,k->ik" of row sums
  double total = 0, tr = 0;
  for (std::size_t i = 0; i < dij.size(); ++i) total += dij.flat(i);
  const xt::xarray<double> dsq = values({5, 5}, 16);
  for (std::size_t i = 0; i < 5; ++i) tr += dsq(i, i);
  for (const auto& s : all_schedulers()) {
    ASSERT_TRUE(matches<double>(einsum("ij,jk->ik", ij, jk), ik, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij,jk", ij, jk), ik, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij,jk->ki", ij, jk), ki, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("bij,bjk->bik", bij, bjk), bik, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij,jk->i", ij, jk), rowsums, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij->ji", ij), xt::xarray<double>(xt::transpose(dij)), *s));
    EXPECT_NEAR(einsum("ij->", ij).item<double>({.scheduler = s.get()}), total, 1e-12);
    EXPECT_NEAR(einsum("ii", from_xtensor(dsq, 2)).item<double>({.scheduler = s.get()}), tr, 1e-12);
    const Array rs = from_xtensor(rowsums, 3),
                cs = from_xtensor(xt::xarray<double>{1.0, 2.0, 3.0}, 2);
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t k = 0; k < 3; ++k)
        outer_want(i, k) = rowsums(i) * static_cast<double>(k + 1);
    ASSERT_TRUE(matches<double>(einsum("i,k->ik", rs, cs), outer_want, *s, kTol));
    // Three operands, contracted pairwise: (ij jk) kl -> il, and implicitly.
    const xt::xarray<double> dkl = values({3, 2}, 17);
    const xt::xarray<double> il = reference_matmul(ik, dkl);
    const Array kl = from_xtensor(dkl, 2);
    ASSERT_TRUE(matches<double>(einsum("ij,jk,kl->il", {ij, jk, kl}), il, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij,jk,kl", {ij, jk, kl}), il, *s, kTol));
    ASSERT_TRUE(matches<double>(einsum("ij,jk->ik", {ij, jk}), ik, *s, kTol));
  }
}

TEST(Matmul, BadShapesRaiseWhenBuiltAndNameThem) {
  const Array a = zeros({4, 5}, 2), b = zeros({4, 5}, 2);
  try {
    (void)matmul(a, b);
    ADD_FAILURE() << "(4, 5) @ (4, 5) accepted";
  } catch (const shape_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("(4, 5) and (4, 5)"), std::string::npos) << what;
  }
  EXPECT_THROW((void)matmul(zeros({2, 3, 4}, 2), zeros({3, 4, 5}, 2)), shape_error);
  EXPECT_THROW((void)matmul(zeros({}, 1), a), value_error);
  EXPECT_THROW((void)dot(zeros({3}, 2), zeros({4}, 2)), shape_error);
  EXPECT_THROW((void)vdot(zeros({3}, 2), zeros({4}, 2)), shape_error);
  EXPECT_THROW((void)tensordot(a, b, {0}, {1}), shape_error);
  EXPECT_THROW((void)trace(zeros({3}, 2)), value_error);
  EXPECT_THROW((void)einsum("ij,jk->ik", a, b), shape_error);  // j is 5 and 4
  EXPECT_THROW((void)einsum("ij,jk->il", a, zeros({5, 2}, 2)), value_error);
  EXPECT_THROW((void)einsum("ijk,jk->i", a, zeros({5, 2}, 2)), value_error);
  EXPECT_THROW((void)einsum("...j,jk", a, zeros({5, 2}, 2)), value_error);
  EXPECT_THROW((void)einsum("ii,jk", zeros({5, 5}, 2), zeros({5, 2}, 2)), value_error);
}

}  // namespace
}  // namespace tessera::testing
