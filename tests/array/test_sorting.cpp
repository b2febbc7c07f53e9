// sort, topk and argtopk: against a serial reference along every axis (std::sort of each lane
// in NumPy's order, NaN last; for topk a stable order by value with the lower index first),
// over every chunking and scheduler, for every dtype, and on data made to defeat the sample
// sort's splitters: duplicates across chunk boundaries, all-equal lanes, NaN, infinities,
// signed zeros, sorted and reversed input, and chunks long enough that each sample element
// stands for several elements (the slack path).

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xoperation.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// a < b with NaN after every number (NumPy's sort order).
template <class T>
bool nan_last_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return a < b || (std::isnan(b) && !std::isnan(a));
  else
    return a < b;
}

struct LaneGeometry {
  std::size_t outer = 1, n = 0, inner = 1;
};

template <class T>
LaneGeometry geometry(const xt::xarray<T>& x, int axis) {
  LaneGeometry g;
  const auto a = static_cast<std::size_t>(axis);
  for (std::size_t d = 0; d < a; ++d) g.outer *= x.shape()[d];
  g.n = x.shape()[a];
  for (std::size_t d = a + 1; d < x.dimension(); ++d) g.inner *= x.shape()[d];
  return g;
}

/// np.sort(x, axis).
template <class T>
xt::xarray<T> reference_sort(const xt::xarray<T>& x, int axis) {
  xt::xarray<T> out = x;
  const LaneGeometry g = geometry(x, axis);
  std::vector<T> lane(g.n);
  for (std::size_t o = 0; o < g.outer; ++o) {
    for (std::size_t i = 0; i < g.inner; ++i) {
      for (std::size_t t = 0; t < g.n; ++t) lane[t] = x.flat((o * g.n + t) * g.inner + i);
      std::sort(lane.begin(), lane.end(), nan_last_less<T>);
      for (std::size_t t = 0; t < g.n; ++t) out.flat((o * g.n + t) * g.inner + i) = lane[t];
    }
  }
  return out;
}

/// topk (indices = false) or argtopk (true) of x along axis: order by value (largest first
/// for k > 0), the lower index first among equal values.
template <class T>
xt::xarray<T> reference_topk(const xt::xarray<T>& x, std::int64_t k, int axis,
                             xt::xarray<std::int64_t>* indices) {
  std::vector<std::size_t> shape(x.shape().begin(), x.shape().end());
  const auto kk = static_cast<std::size_t>(std::abs(k));
  shape[static_cast<std::size_t>(axis)] = kk;
  xt::xarray<T> values = xt::xarray<T>::from_shape(shape);
  if (indices) *indices = xt::xarray<std::int64_t>::from_shape(shape);
  const LaneGeometry g = geometry(x, axis);
  std::vector<std::size_t> order(g.n);
  for (std::size_t o = 0; o < g.outer; ++o) {
    for (std::size_t i = 0; i < g.inner; ++i) {
      auto at = [&](std::size_t t) { return x.flat((o * g.n + t) * g.inner + i); };
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return k > 0 ? nan_last_less(at(b), at(a)) : nan_last_less(at(a), at(b));
      });
      for (std::size_t t = 0; t < kk; ++t) {
        values.flat((o * kk + t) * g.inner + i) = at(order[t]);
        if (indices)
          indices->flat((o * kk + t) * g.inner + i) = static_cast<std::int64_t>(order[t]);
      }
    }
  }
  return values;
}

/// Values with many duplicates (a few distinct values, so that equal runs straddle every
/// chunk boundary), from a fixed seed (the same on every rank).
template <class T>
xt::xarray<T> few_distinct(const Shape& shape, int distinct, std::uint64_t seed) {
  xt::xarray<T> x = xt::xarray<T>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  std::mt19937_64 rng(seed);
  for (auto& v : x) {
    const auto r = static_cast<int>(rng() % static_cast<std::uint64_t>(distinct));
    if constexpr (std::is_same_v<T, bool>)
      v = r % 2 == 1;
    else
      v = static_cast<T>(r - distinct / 2);
  }
  return x;
}

/// Uniform doubles with NaN, infinities and signed zeros mixed in.
xt::xarray<double> awkward(const Shape& shape, std::uint64_t seed) {
  xt::xarray<double> x =
      xt::xarray<double>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  const double special[] = {kNaN, -kNaN, kInf, -kInf, 0.0, -0.0, 0.5};
  for (auto& v : x) {
    const auto r = rng() % 10;
    v = r < 3 ? special[rng() % 7] : u(rng);
  }
  return x;
}

template <class T>
void check_sort(const xt::xarray<T>& d, const std::vector<ChunkSpec>& specs) {
  for (const ChunkSpec& spec : specs) {
    const Array x = from_xtensor(d, spec);
    for (int axis = 0; axis < x.ndim(); ++axis) {
      const Array y = sort(x, axis);
      ASSERT_EQ(y.chunks(), x.chunks());
      ASSERT_EQ(y.dtype(), x.dtype());
      const xt::xarray<T> want = reference_sort(d, axis);
      for (const auto& s : all_schedulers()) {
        ASSERT_TRUE(matches<T>(y, want, *s, 0))
            << "sort axis " << axis << " chunks " << x.chunks().to_string();
      }
    }
  }
}

template <class T>
void check_sort(const xt::xarray<T>& d) {
  check_sort(d, chunkings(Shape(d.shape().begin(), d.shape().end())));
}

template <class T>
void check_topk(const xt::xarray<T>& d, std::vector<std::int64_t> ks) {
  const Shape shape(d.shape().begin(), d.shape().end());
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (int axis = 0; axis < x.ndim(); ++axis) {
      const auto len = static_cast<std::int64_t>(shape[static_cast<std::size_t>(axis)]);
      for (std::int64_t k : ks) {
        if (std::abs(k) > len) continue;
        const Array v = topk(x, k, axis), i = argtopk(x, k, axis);
        ASSERT_EQ(v.chunks().sizes(axis), std::vector<index_t>{std::abs(k)});
        for (int a = 0; a < x.ndim(); ++a) {
          if (a != axis) {
            ASSERT_EQ(v.chunks().sizes(a), x.chunks().sizes(a));
          }
        }
        xt::xarray<std::int64_t> want_i;
        const xt::xarray<T> want_v = reference_topk(d, k, axis, &want_i);
        for (const auto& s : all_schedulers()) {
          ASSERT_TRUE(matches<T>(v, want_v, *s, 0))
              << "topk k " << k << " axis " << axis << " chunks " << x.chunks().to_string();
          ASSERT_TRUE(matches<std::int64_t>(i, want_i, *s))
              << "argtopk k " << k << " axis " << axis << " chunks " << x.chunks().to_string();
        }
      }
    }
  }
}

// --- sort ---------------------------------------------------------------------------------------

TEST(Sort, FloatsAlongEveryAxis) {
  for (const Shape& s : std::vector<Shape>{{17}, {7, 5}, {3, 4, 5}, {1, 6}, {6, 1}}) {
    check_sort(awkward(s, 1));
    check_sort(few_distinct<double>(s, 3, 2));
  }
}

TEST(Sort, EveryDtype) {
  check_sort(few_distinct<std::int32_t>({9, 7}, 5, 3));
  check_sort(few_distinct<std::int64_t>({23}, 4, 4));
  check_sort(few_distinct<float>({5, 8}, 6, 5));
  check_sort(few_distinct<bool>({11, 3}, 2, 6));
  const xt::xarray<std::int64_t> extremes{std::numeric_limits<std::int64_t>::max(), -1, 0,
                                          std::numeric_limits<std::int64_t>::min(), 7,  -7};
  check_sort(extremes);
  const xt::xarray<float> fl{NAN, -INFINITY, 1.5f, -0.0f, 0.0f, INFINITY, -2.5f, NAN};
  check_sort(fl);
}

TEST(Sort, EmptyAndSizeOneAxes) {
  check_sort(xt::xarray<double>::from_shape({0}), {ChunkSpec(index_t{-1})});
  check_sort(xt::xarray<double>::from_shape({0, 4}), {ChunkSpec({1, 2})});
  check_sort(xt::xarray<double>(xt::ones<double>({1, 1})), {ChunkSpec(1)});
  const Array z = sort(from_xtensor(xt::xarray<double>::from_shape({3, 0}), 2), 0);
  EXPECT_EQ(z.shape(), (Shape{3, 0}));
}

/// Long chunks along the axis, each sample element standing for several elements (the
/// splitters' slack G > 0), on data that tries to break the splitters.
TEST(Sort, LongChunksAdversarialData) {
  const index_t n = 30000;
  std::vector<xt::xarray<double>> inputs;
  inputs.push_back(awkward({n}, 7));
  inputs.push_back(few_distinct<double>({n}, 2, 8));             // two values
  inputs.push_back(xt::xarray<double>(xt::zeros<double>({n})));  // all equal
  xt::xarray<double> ramp = xt::arange<double>(0.0, static_cast<double>(n));
  inputs.push_back(ramp);                       // sorted
  inputs.push_back(xt::xarray<double>(-ramp));  // reversed
  xt::xarray<double> nans = ramp;
  for (std::size_t i = 0; i < nans.size(); i += 2) nans(i) = kNaN;  // half NaN
  inputs.push_back(nans);
  // One huge run of equal values in the middle of otherwise distinct values.
  xt::xarray<double> plateau = ramp;
  for (std::size_t i = 5000; i < 25000; ++i) plateau(i) = 5000;
  inputs.push_back(xt::xarray<double>(xt::flip(plateau, 0)));
  for (const auto& d : inputs) {
    // 3 chunks of 10000 (1024 J = 3072 samples: a group of 4); 40 of 750 (1310 samples per
    // chunk at most: groups of 1); uneven ones.
    check_sort(d, {ChunkSpec(10000), ChunkSpec(750),
                   ChunkSpec(std::vector<AxisChunks>{std::vector<index_t>{1, 17000, 4999, 8000}})});
  }
}

TEST(Sort, LongChunksNd) {
  // Lanes along axis 0 (strided), 1 and in the middle of three axes, with groups of 2.
  check_sort(few_distinct<double>({6000, 5}, 50, 9), {ChunkSpec({3000, 2})});
  check_sort(few_distinct<std::int32_t>({5, 6000}, 7, 10), {ChunkSpec({2, 2500})});
  check_sort(awkward({3, 5000, 2}, 11), {ChunkSpec({2, 2100, 1})});
}

/// Whole-range values of every radix-sorted dtype (negative and positive integers, floats of
/// every exponent, NaN, infinities, signed zeros), in chunks long enough for the radix sort.
TEST(Sort, RadixSortedDtypes) {
  std::mt19937_64 rng(13);
  xt::xarray<std::int64_t> i64 = xt::xarray<std::int64_t>::from_shape({9000});
  xt::xarray<std::int32_t> i32 = xt::xarray<std::int32_t>::from_shape({9000});
  xt::xarray<float> f32 = xt::xarray<float>::from_shape({9000});
  xt::xarray<double> f64 = xt::xarray<double>::from_shape({9000});
  const float specials[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
  for (std::size_t i = 0; i < 9000; ++i) {
    const std::uint64_t r = rng();
    i64(i) = static_cast<std::int64_t>(r);
    i32(i) = static_cast<std::int32_t>(r >> 32);
    f32(i) = r % 50 == 0 ? specials[r % 6] : std::bit_cast<float>(static_cast<std::uint32_t>(r));
    f64(i) = r % 50 == 1 ? specials[r % 6] : std::bit_cast<double>(rng());
  }
  const std::vector<ChunkSpec> specs{ChunkSpec(3000), ChunkSpec(4000)};
  check_sort(i64, specs);
  check_sort(i32, specs);
  check_sort(f32, specs);
  check_sort(f64, specs);
  // The unsigned and narrow integers over their whole range (the top bit set on half).
  check_sort(xt::xarray<std::uint64_t>(xt::cast<std::uint64_t>(i64)), specs);
  check_sort(xt::xarray<std::uint32_t>(xt::cast<std::uint32_t>(i32)), specs);
  check_sort(xt::xarray<std::int16_t>(xt::cast<std::int16_t>(i32)), specs);
  check_sort(xt::xarray<std::uint16_t>(xt::cast<std::uint16_t>(i32)), specs);
  check_sort(xt::xarray<std::int8_t>(xt::cast<std::int8_t>(i64)), specs);
  check_sort(xt::xarray<std::uint8_t>(xt::cast<std::uint8_t>(i64)), specs);
}

// topk of unsigned values with the top bit set: the largest are the ones above 2^63.
TEST(TopK, UnsignedValuesAboveTheSignedRange) {
  const xt::xarray<std::uint64_t> d{1, std::uint64_t{1} << 63, 5, ~std::uint64_t{0}, 0, 7};
  const Array x = from_xtensor(d, 2);
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<std::uint64_t>(
        topk(x, 2), xt::xarray<std::uint64_t>{~std::uint64_t{0}, std::uint64_t{1} << 63}, *s));
    EXPECT_TRUE(matches<std::uint64_t>(topk(x, -2), xt::xarray<std::uint64_t>{0, 1}, *s));
  }
}

TEST(Sort, OfAnExpressionKeepsChunks) {
  const Array r = default_rng(3).uniform(0, 1, {20000}, 3000);
  const Array y = sort(2 * r - 1);
  EXPECT_EQ(y.chunks(), r.chunks());
  for (const auto& s : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = s.get()});
    EXPECT_TRUE(matches<double>(y, reference_sort(xt::xarray<double>(2 * rv - 1), 0), *s, 0));
    // Consumers of the sorted array: a slice and a reduction.
    const xt::xarray<double> first = y[{Slice{0, 3}}].compute<double>({.scheduler = s.get()});
    EXPECT_LE(first(0), first(1));
    EXPECT_NEAR(y.sum().item<double>({.scheduler = s.get()}), xt::sum(2 * rv - 1)(), 1e-8);
  }
}

TEST(Sort, BadArguments) {
  const Array x = from_xtensor(xt::xarray<double>{{1, 2}, {3, 4}}, 1);
  EXPECT_THROW(sort(x, 2), index_error);
  EXPECT_THROW(sort(x, -3), index_error);
  EXPECT_THROW(sort(from_xtensor(xt::xarray<double>(3.0))), index_error);
  EXPECT_NO_THROW(sort(x, -2));
}

/// Each element crosses ranks about once (the cuts), not once per output chunk, and output
/// chunk k is made where input chunk k was (at 3 ranks too, where 10 chunks do not split
/// evenly). Distributed runs only.
TEST(Sort, MovesEachElementAboutOnce) {
  if (!distributed_run()) GTEST_SKIP() << "a distributed run's test (mpi_test_sorting)";
  const index_t n = 250000;
  const Array x = default_rng(5).uniform(0, 1, {n}, 25000).persist({.scheduler = &distributed()});
  const Array y = sort(x).persist({.scheduler = &distributed()});
  const std::int64_t bytes = sum_over_ranks(distributed().last_transfers().bytes_sent);
  EXPECT_LE(bytes, n * 8 * 12 / 10) << "bytes sent between ranks";
  const auto& xs = static_cast<const DataExpr&>(*x.expr());
  const auto& ys = static_cast<const DataExpr&>(*y.expr());
  for (index_t c = 0; c < x.chunks().num_chunks(); ++c)
    EXPECT_EQ(ys.owners().owner(c), xs.owners().owner(c)) << "chunk " << c;
  const xt::xarray<double> got = y.compute<double>({.scheduler = &distributed()});
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
}

// --- topk, argtopk ------------------------------------------------------------------------------

TEST(Topk, AlongEveryAxis) {
  check_topk(awkward({17}, 12), {1, 3, 17, -1, -5, -17});
  check_topk(awkward({7, 5}, 13), {2, 5, -3});
  check_topk(few_distinct<double>({3, 4, 5}, 3, 14), {1, 3, -2});
}

TEST(Topk, EveryDtypeAndTies) {
  check_topk(few_distinct<std::int32_t>({9, 7}, 3, 15), {1, 4, 7, -2, -7});
  check_topk(few_distinct<std::int64_t>({30}, 4, 16), {10, -30});
  check_topk(few_distinct<float>({5, 8}, 2, 17), {3, -3});
  check_topk(few_distinct<bool>({12}, 2, 18), {5, -5});
}

TEST(Topk, LongChunksFewKept) {
  // Few kept per chunk (a heap), ties everywhere (the lower index first), strided lanes.
  const xt::xarray<std::int32_t> d = few_distinct<std::int32_t>({3, 5000}, 20, 19);
  const xt::xarray<double> a = awkward({4000, 3}, 20);
  for (const auto& s : all_schedulers()) {
    for (std::int64_t k : {1, 5, -7, 100, -300}) {
      xt::xarray<std::int64_t> want_i;
      const Array x = from_xtensor(d, ChunkSpec({2, 1200}));
      const xt::xarray<std::int32_t> want = reference_topk(d, k, 1, &want_i);
      EXPECT_TRUE(matches<std::int32_t>(topk(x, k), want, *s)) << "k " << k;
      EXPECT_TRUE(matches<std::int64_t>(argtopk(x, k), want_i, *s)) << "k " << k;
      const Array y = from_xtensor(a, ChunkSpec({900, 2}));
      const xt::xarray<double> want_a = reference_topk(a, k, 0, &want_i);
      EXPECT_TRUE(matches<double>(topk(y, k, 0), want_a, *s, 0)) << "k " << k;
      EXPECT_TRUE(matches<std::int64_t>(argtopk(y, k, 0), want_i, *s)) << "k " << k;
    }
  }
}

TEST(Topk, NaNIsTheLargest) {
  const xt::xarray<double> d{1.0, kNaN, 3.0, -kInf, kNaN, 2.0};
  const Array x = from_xtensor(d, 2);
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<double>(topk(x, 3), xt::xarray<double>{kNaN, kNaN, 3.0}, *s));
    EXPECT_TRUE(matches<std::int64_t>(argtopk(x, 3), xt::xarray<std::int64_t>{1, 4, 2}, *s));
    EXPECT_TRUE(matches<double>(topk(x, -3), xt::xarray<double>{-kInf, 1.0, 2.0}, *s));
    EXPECT_TRUE(matches<std::int64_t>(argtopk(x, -5), xt::xarray<std::int64_t>{3, 0, 5, 2, 1}, *s));
  }
}

TEST(Topk, ManyChunksAndAnExpression) {
  // 100 chunks: three levels of merges (fan-in 8).
  const Array r = default_rng(8).uniform(0, 1, {30, 1000}, {7, 10});
  for (const auto& s : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = s.get()});
    xt::xarray<std::int64_t> want_i;
    const xt::xarray<double> want_v = reference_topk(xt::xarray<double>(rv * 2), 25, 1, &want_i);
    EXPECT_TRUE(matches<double>(topk(r * 2, 25), want_v, *s, 0));
    EXPECT_TRUE(matches<std::int64_t>(argtopk(r * 2, 25), want_i, *s));
    EXPECT_TRUE(matches<double>(topk(r, -4, 0), reference_topk(rv, -4, 0, nullptr), *s, 0));
  }
}

TEST(Topk, BadArguments) {
  const Array x = from_xtensor(xt::xarray<double>::from_shape({3, 5}), 2);
  try {
    (void)topk(x, 7, 1);
    ADD_FAILURE() << "no shape_error";
  } catch (const shape_error& e) {
    EXPECT_STREQ(e.what(), "topk: k=7 is larger than axis 1 of length 5");
  }
  EXPECT_THROW(argtopk(x, -6, -1), shape_error);
  EXPECT_THROW(topk(x, 4, 0), shape_error);
  EXPECT_THROW(topk(x, std::numeric_limits<std::int64_t>::min(), 0), shape_error);
  EXPECT_THROW(topk(x, 0), value_error);
  EXPECT_THROW(topk(x, 1, 2), index_error);
  EXPECT_THROW(argtopk(from_xtensor(xt::xarray<double>(1.0)), 1), index_error);
  EXPECT_EQ(topk(x, 5).shape(), (Shape{3, 5}));
  EXPECT_EQ(argtopk(x, -2, 0).dtype(), DType::Int64);
  EXPECT_EQ(topk(from_xtensor(xt::xarray<float>::from_shape({3})), 1).dtype(), DType::Float32);
}

TEST(Topk, EmptyOtherAxis) {
  const Array x = from_xtensor(xt::xarray<double>::from_shape({0, 5}), 2);
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<double>(topk(x, 2), xt::xarray<double>::from_shape({0, 2}), *s));
    EXPECT_TRUE(
        matches<std::int64_t>(argtopk(x, -2), xt::xarray<std::int64_t>::from_shape({0, 2}), *s));
  }
}

}  // namespace
}  // namespace tessera::testing
