// Random arrays: default_rng(seed).normal / uniform / integers are bit-identical for every
// chunking and every scheduler, differ between seeds and between successive draws, stay in
// range and have the right rough moments.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// Every chunking of `shape` from chunkings(), plus some more (rows, columns, automatic).
std::vector<ChunkSpec> many_chunkings(const Shape& shape) {
  std::vector<ChunkSpec> out = chunkings(shape);
  out.emplace_back(index_t{5});
  out.emplace_back(index_t{16});
  out.push_back(ChunkSpec::automatic(256));
  if (shape.size() == 2) {
    out.push_back(ChunkSpec{1, -1});
    out.push_back(ChunkSpec{-1, 1});
    out.push_back(ChunkSpec{7, 3});
  }
  return out;
}

bool same_bits(const Block& a, const Block& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

/// One random array kind: how to draw it from a fresh generator of `seed` with `chunks`.
struct Kind {
  const char* name;
  std::function<Array(std::uint64_t seed, const Shape& shape, const ChunkSpec& chunks)> draw;
};

std::vector<Kind> kinds() {
  return {
      {"normal f64", [](std::uint64_t s, const Shape& sh,
                        const ChunkSpec& c) { return default_rng(s).normal(1.5, 2.0, sh, c); }},
      {"normal f32",
       [](std::uint64_t s, const Shape& sh, const ChunkSpec& c) {
         return default_rng(s).normal(-1.0, 0.5, sh, c, DType::Float32);
       }},
      {"uniform f64", [](std::uint64_t s, const Shape& sh,
                         const ChunkSpec& c) { return default_rng(s).uniform(-3.0, 5.0, sh, c); }},
      {"uniform f32",
       [](std::uint64_t s, const Shape& sh, const ChunkSpec& c) {
         return default_rng(s).uniform(0.0, 1.0, sh, c, DType::Float32);
       }},
      {"integers i64",
       [](std::uint64_t s, const Shape& sh, const ChunkSpec& c) {
         return default_rng(s).integers(-50, 1000, sh, c);
       }},
      {"integers i32",
       [](std::uint64_t s, const Shape& sh, const ChunkSpec& c) {
         return default_rng(s).integers(0, 7, sh, c, DType::Int32);
       }},
  };
}

TEST(Random, BitIdenticalForEveryChunkingAndScheduler) {
  const auto schedulers = all_schedulers();
  std::size_t turn = 0;
  for (const Shape& shape : {Shape{101}, Shape{37, 23}, Shape{6, 5, 7}}) {
    for (const Kind& k : kinds()) {
      SynchronousScheduler sync;
      const Block want =
          k.draw(42, shape, ChunkSpec(index_t{-1})).compute_block({.scheduler = &sync});
      for (const ChunkSpec& spec : many_chunkings(shape)) {
        const Array x = k.draw(42, shape, spec);
        EXPECT_EQ(x.token(), k.draw(42, shape, spec).token());
        Scheduler& s = *schedulers[turn++ % schedulers.size()];
        EXPECT_TRUE(same_bits(x.compute_block({.scheduler = &s}), want))
            << k.name << " shape " << shape_string(shape) << " chunks " << x.chunks().to_string()
            << " on " << s.name();
      }
    }
  }
  // Every scheduler on one finely chunked array.
  for (const Kind& k : kinds()) {
    const Array x = k.draw(9, {37, 23}, ChunkSpec{4, 5});
    const Block want = k.draw(9, {37, 23}, ChunkSpec(index_t{-1}))
                           .compute_block({.scheduler = schedulers[0].get()});
    for (const auto& s : schedulers)
      EXPECT_TRUE(same_bits(x.compute_block({.scheduler = s.get()}), want))
          << k.name << " on " << s->name();
  }
}

TEST(Random, SlicesAndTilesDoNotChangeValues) {
  // Any window of a random array equals that window of the whole array, and the tile size
  // of fused evaluation changes nothing.
  const Array whole = default_rng(3).normal(0, 1, {40, 30}, ChunkSpec(index_t{-1}));
  const xt::xarray<double> w = whole.compute<double>();
  const Array chunked = default_rng(3).normal(0, 1, {40, 30}, ChunkSpec{7, 11});
  const xt::xarray<double> part = chunked[{Slice{5, 33, 3}, Slice{{}, {}, -2}}].compute<double>();
  EXPECT_EQ(part,
            xt::xarray<double>(xt::view(w, xt::range(5, 33, 3),
                                        xt::range(xt::placeholders::_, xt::placeholders::_, -2))));
  for (index_t tile : {1, 3, 7, 100}) {
    EXPECT_EQ(chunked.compute<double>({.lowering = {.tile_elements = tile}}), w) << "tile " << tile;
    EXPECT_EQ((chunked * 2.0).compute<double>({.lowering = {.tile_elements = tile, .fuse = false}}),
              xt::xarray<double>(w * 2.0));
  }
}

TEST(Random, DifferentSeedsDiffer) {
  for (const Kind& k : kinds()) {
    const Shape shape{50, 40};
    const Block a = k.draw(1, shape, 16).compute_block();
    const Block b = k.draw(2, shape, 16).compute_block();
    const Block c = k.draw(0, shape, 16).compute_block();
    const Block d = k.draw(std::numeric_limits<std::uint64_t>::max(), shape, 16).compute_block();
    EXPECT_FALSE(same_bits(a, b)) << k.name;
    EXPECT_FALSE(same_bits(a, c)) << k.name;
    EXPECT_FALSE(same_bits(c, d)) << k.name;
    EXPECT_NE(k.draw(1, shape, 16).token(), k.draw(2, shape, 16).token()) << k.name;
    // Continuous draws share (almost) no values.
    if (a.dtype() == DType::Float64) {
      const double* pa = a.data_as<double>();
      const double* pb = b.data_as<double>();
      int equal = 0;
      for (index_t i = 0; i < a.size(); ++i) equal += pa[i] == pb[i];
      EXPECT_LE(equal, 1) << k.name;
    }
  }
}

TEST(Random, SuccessiveDrawsDifferAndReplay) {
  const Shape shape{64, 32};
  RandomGenerator g(11);
  const Array a = g.normal(0, 1, shape, 16);
  const Array b = g.normal(0, 1, shape, 16);
  const Array c = g.uniform(0, 1, shape, 16);
  const Array d = g.uniform(0, 1, shape, 16);
  const Array e = g.integers(0, 1 << 20, shape, 16);
  const Array f = g.integers(0, 1 << 20, shape, 16);
  EXPECT_NE(a.token(), b.token());
  EXPECT_NE(c.token(), d.token());
  EXPECT_NE(e.token(), f.token());
  EXPECT_FALSE(same_bits(a.compute_block(), b.compute_block()));
  EXPECT_FALSE(same_bits(c.compute_block(), d.compute_block()));
  EXPECT_FALSE(same_bits(e.compute_block(), f.compute_block()));
  EXPECT_GT((a != b).sum().item<std::int64_t>(), a.size() - 2);
  // The same program order from the same seed replays every draw, whatever the chunks.
  RandomGenerator h(11);
  EXPECT_EQ(h.seed(), 11u);
  const Array a2 = h.normal(0, 1, shape, ChunkSpec{5, 7});
  const Array b2 = h.normal(0, 1, shape, ChunkSpec{64, 1});
  const Array c2 = h.uniform(0, 1, shape);
  EXPECT_TRUE(same_bits(a.compute_block(), a2.compute_block()));
  EXPECT_TRUE(same_bits(b.compute_block(), b2.compute_block()));
  EXPECT_TRUE(same_bits(c.compute_block(), c2.compute_block()));
  // A copy of a generator continues from the same point as the original.
  RandomGenerator g2 = h;
  EXPECT_EQ(g2.uniform(0, 1, shape, 16).token(), h.uniform(0, 1, shape, 16).token());
}

TEST(Random, UniformRangeAndMoments) {
  const index_t n = 200'000;
  RandomGenerator g(5);
  const Array u = g.uniform(-2.0, 3.0, {n}, 7'000);
  const xt::xarray<double> v = u.compute<double>();
  EXPECT_GE(xt::amin(v)(), -2.0);
  EXPECT_LT(xt::amax(v)(), 3.0);
  EXPECT_LT(xt::amin(v)(), -1.99);
  EXPECT_GT(xt::amax(v)(), 2.99);
  // mean 0.5, variance 25/12; tolerances about six standard errors.
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 6 * std::sqrt(25.0 / 12 / n));
  EXPECT_NEAR(u.var().item<double>(), 25.0 / 12, 0.03);
  EXPECT_NEAR(xt::mean(v)(), u.mean().item<double>(), 1e-12);
  // A quarter of the values in each quarter of the range.
  for (double lo : {-2.0, -0.75, 0.5, 1.75}) {
    const double frac =
        static_cast<double>(((u >= lo) && (u < lo + 1.25)).sum().item<std::int64_t>()) / n;
    EXPECT_NEAR(frac, 0.25, 0.006) << lo;
  }
  // float32
  const Array f = g.uniform(10.0, 10.5, {n}, 9'999, DType::Float32);
  EXPECT_EQ(f.dtype(), DType::Float32);
  const xt::xarray<float> fv = f.compute<float>();
  EXPECT_GE(xt::amin(fv)(), 10.0f);
  EXPECT_LT(xt::amax(fv)(), 10.5f);
  EXPECT_NEAR(f.mean().item<double>(), 10.25, 0.002);
  EXPECT_NEAR(f.std().item<double>(), 0.5 / std::sqrt(12.0), 0.002);
}

TEST(Random, NormalMoments) {
  const index_t n = 200'000;
  RandomGenerator g(6);
  const Array x = g.normal(3.0, 2.0, {400, 500}, ChunkSpec{64, 100});
  EXPECT_EQ(x.dtype(), DType::Float64);
  const double se = 2.0 / std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(x.mean().item<double>(), 3.0, 6 * se);
  EXPECT_NEAR(x.std().item<double>(), 2.0, 0.02);
  // Standardised: skewness ~ 0, kurtosis ~ 3, 68.3% within one sigma, 95.4% within two.
  const Array z = (x - 3.0) / 2.0;
  EXPECT_NEAR(pow(z, 3).mean().item<double>(), 0.0, 0.03);
  EXPECT_NEAR(pow(z, 4).mean().item<double>(), 3.0, 0.08);
  EXPECT_NEAR((abs(z) < 1.0).mean().item<double>(), 0.6827, 0.006);
  EXPECT_NEAR((abs(z) < 2.0).mean().item<double>(), 0.9545, 0.004);
  EXPECT_TRUE(xt::all(xt::isfinite(x.compute<double>())));
  EXPECT_GT(abs(z).max().item<double>(), 3.5);  // the tails are there
  // Rows are not all alike: the per-row means scatter like means of 500 normals.
  EXPECT_NEAR(z.mean(1).std().item<double>(), 1.0 / std::sqrt(500.0), 0.01);
  // float32
  const Array f = g.normal(-1.0, 0.5, {n}, 30'000, DType::Float32);
  EXPECT_EQ(f.dtype(), DType::Float32);
  EXPECT_NEAR(f.mean().item<double>(), -1.0, 6 * 0.5 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(f.std().item<double>(), 0.5, 0.005);
  EXPECT_TRUE(xt::all(xt::isfinite(f.compute<float>())));
  // stddev 0 is allowed: every value is the mean.
  EXPECT_EQ(g.normal(4.0, 0.0, {10}, 3).min().item<double>(), 4.0);
  EXPECT_EQ(g.normal(4.0, 0.0, {10}, 3).max().item<double>(), 4.0);
}

TEST(Random, IntegersRangeAndCounts) {
  const index_t n = 100'000;
  RandomGenerator g(8);
  for (DType dt : {DType::Int64, DType::Int32}) {
    const Array x = g.integers(-5, 7, {n}, 8'192, dt);
    EXPECT_EQ(x.dtype(), dt);
    const xt::xarray<std::int64_t> v = x.astype(DType::Int64).compute<std::int64_t>();
    EXPECT_EQ(xt::amin(v)(), -5);
    EXPECT_EQ(xt::amax(v)(), 6);
    std::map<std::int64_t, index_t> counts;
    for (std::int64_t e : v) ++counts[e];
    EXPECT_EQ(counts.size(), 12u);
    for (const auto& [value, count] : counts)
      EXPECT_NEAR(static_cast<double>(count) / n, 1.0 / 12, 0.006) << value;
    EXPECT_NEAR(x.mean().item<double>(), 0.5, 0.06);
  }
  // One possible value.
  EXPECT_EQ(g.integers(9, 10, {20}, 6).min().item<std::int64_t>(), 9);
  EXPECT_EQ(g.integers(9, 10, {20}, 6).max().item<std::int64_t>(), 9);
}

TEST(Random, IntegersCoverTheFullInt32Range) {
  // [INT32_MIN, INT32_MAX + 1) is accepted for int32 (as by NumPy) and must work.
  RandomGenerator g(8);
  const Array w = g.integers(std::numeric_limits<std::int32_t>::min(),
                             std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1, {10'000},
                             999, DType::Int32);
  EXPECT_LT(w.min().item<std::int64_t>(), -2'000'000'000);
  EXPECT_GT(w.max().item<std::int64_t>(), 2'000'000'000);
  // Just below the limit too.
  const Array v = g.integers(std::numeric_limits<std::int32_t>::max() - 3,
                             std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1, {1000}, 64,
                             DType::Int32);
  EXPECT_EQ(v.min().item<std::int64_t>(), std::numeric_limits<std::int32_t>::max() - 3);
  EXPECT_EQ(v.max().item<std::int64_t>(), std::numeric_limits<std::int32_t>::max());
}

TEST(Random, IntegersWithLargeBoundsAreExact) {
  // Bounds beyond 2^53 must not be rounded: [2^62, 2^62 + 10) has ten values, all of
  // them at least 2^62, and (0, 2^60) and (0, 2^60 + 1) are different arrays.
  const std::int64_t base = std::int64_t{1} << 62;
  const Array x = default_rng(1).integers(base, base + 10, {1000}, 100);
  const xt::xarray<std::int64_t> v = x.compute<std::int64_t>();
  EXPECT_GE(xt::amin(v)(), base);
  EXPECT_LT(xt::amax(v)(), base + 10);
  EXPECT_GT(xt::amax(v)(), xt::amin(v)());
  const std::int64_t big = std::int64_t{1} << 60;
  EXPECT_NE(default_rng(1).integers(0, big, {10}).token(),
            default_rng(1).integers(0, big + 1, {10}).token());
  const Array top = default_rng(2).integers(std::numeric_limits<std::int64_t>::max() - 4,
                                            std::numeric_limits<std::int64_t>::max(), {1000}, 64);
  EXPECT_GE(top.min().item<std::int64_t>(), std::numeric_limits<std::int64_t>::max() - 4);
}

TEST(Random, InvalidArguments) {
  RandomGenerator g(0);
  EXPECT_THROW(g.uniform(0, 1, {4}, 2, DType::Int64), dtype_error);
  EXPECT_THROW(g.normal(0, 1, {4}, 2, DType::Bool), dtype_error);
  EXPECT_THROW(g.integers(0, 5, {4}, 2, DType::Float64), dtype_error);
  EXPECT_THROW(g.uniform(1, 1, {4}, 2), value_error);
  EXPECT_THROW(g.uniform(2, 1, {4}, 2), value_error);
  EXPECT_THROW(g.normal(0, -1, {4}, 2), value_error);
  EXPECT_THROW(g.integers(5, 5, {4}, 2), value_error);
  EXPECT_THROW(g.integers(0, std::int64_t{1} << 40, {4}, 2, DType::Int32), value_error);
  EXPECT_THROW(g.normal(0, 1, {4, 4}, ChunkSpec{3, 3, 3}), shape_error);
}

}  // namespace
}  // namespace tessera::testing
