// rechunk: every pair of chunkings of several shapes (uneven, irregular, single elements, size-0
// and size-1 axes, 0-d), from stored chunks, fused chains and random sources, compared with the
// whole reference array on every scheduler; the graph it makes (pieces of fused chains computed
// alone, the intermediate stage of a plan); and bad specs.

#include <gtest/gtest.h>

#include <cstring>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

std::size_t count_label(const LoweredGraph& g, std::string_view part) {
  std::size_t n = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < g.graph.size(); ++t)
    n += g.graph.label(t).find(part) != std::string_view::npos;
  return n;
}

TEST(Rechunk, EveryPairOfChunkingsGivesTheSameValues) {
  for (const Shape& shape : std::vector<Shape>{{17}, {7, 5}, {4, 3, 5}, {1, 6}, {0, 4}, {5, 0}}) {
    const xt::xarray<double> d = distinct_values(shape);
    const auto specs = chunkings(shape);
    for (const ChunkSpec& from : specs) {
      const Array x = from_xtensor(d, from);
      for (const ChunkSpec& to : specs) {
        const Array y = rechunk(x, to);
        EXPECT_EQ(y.chunks(), to.resolve(shape, DType::Float64));
        for (const auto& s : all_schedulers()) {
          ASSERT_TRUE(matches<double>(y, d, *s))
              << x.chunks().to_string() << " -> " << y.chunks().to_string();
        }
      }
    }
  }
}

TEST(Rechunk, FusedChainsAndRandomSources) {
  const Shape shape{9, 8};
  const xt::xarray<double> d = distinct_values(shape);
  const Array x = from_xtensor(d, {4, 3});
  const xt::xarray<double> chain = 2.0 * d + 1.0;
  const Array r = default_rng(3).uniform(0, 1, shape, {2, 8});
  for (const auto& s : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = s.get()});
    for (const ChunkSpec& to : chunkings(shape)) {
      EXPECT_TRUE(matches<double>(rechunk(2 * x + 1, to), chain, *s));
      EXPECT_TRUE(matches<double>(rechunk(r, to), rv, *s));
      // A rechunk inside an expression, and of an expression used twice.
      EXPECT_TRUE(matches<double>(rechunk(x, to) - x, xt::xarray<double>(d - d), *s));
      const Array c = 2 * x + 1;
      EXPECT_TRUE(matches<double>(rechunk(c, to) + c, xt::xarray<double>(2.0 * chain), *s));
    }
  }
}

TEST(Rechunk, ReductionsOfARechunkedArray) {
  const Shape shape{12, 10};
  const xt::xarray<double> d = distinct_values(shape);
  const Array x = from_xtensor(d, {1, 10});
  const Array y = rechunk(x, {12, 3});
  for (const auto& s : all_schedulers()) {
    EXPECT_DOUBLE_EQ(y.sum().item<double>({.scheduler = s.get()}), xt::sum(d)());
    EXPECT_TRUE(matches<double>(y.sum(0), xt::xarray<double>(xt::sum(d, {0})), *s));
  }
}

TEST(Rechunk, ReductionsAndChainsReadThePiecesWhereTheyLie) {
  // A reduction or an elementwise chain over a rechunk reads each output chunk from the
  // pieces that make it, where they lie: no rechunk task assembles the chunk, and the values
  // are the same bits as with the chunk assembled first (fusion off), on every pair of
  // chunkings and every scheduler.
  const auto same_bits = [](const Block& a, const Block& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape() &&
           std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
  };
  for (const Shape& shape : std::vector<Shape>{{17}, {7, 5}, {4, 3, 5}, {1, 6}, {0, 4}}) {
    // Values whose sums depend on the order they are added in.
    const xt::xarray<double> d = xt::sin(distinct_values(shape)) * 1000.0 + 0.1;
    const int last = static_cast<int>(shape.size()) - 1;
    const auto specs = chunkings(shape);
    for (const ChunkSpec& from : specs) {
      const Array x = from_xtensor(d, from);
      for (const ChunkSpec& to : specs) {
        const Array y = rechunk(x, to);
        const Array chain = 2 * y + 1;
        std::vector<std::vector<Array>> computes{{y.sum()},
                                                 {y.sum(last)},
                                                 {chain},
                                                 {chain.sum(0)},
                                                 {rechunk(chain, from)},  // pieces of the chain,
                                                                          // each reading y's pieces
                                                 {y.mean(), y.std()}};
        if (x.size() > 0) computes.push_back({y.max(0), y.min(), y.max(), y.var(0)});
        if (x.chunks() != y.chunks() && x.size() > 1) {
          EXPECT_EQ(count_label(y.sum().lower(), "rechunk"), 0u)
              << x.chunks().to_string() << " -> " << y.chunks().to_string();
          EXPECT_EQ(count_label(chain.lower(), "rechunk"), 0u);
        }
        const xt::xarray<double> chain_ref = 2.0 * d + 1.0;
        for (const auto& s : all_schedulers()) {
          for (const auto& arrays : computes) {
            const auto got = compute_blocks(arrays, {.scheduler = s.get()});
            const auto assembled =
                compute_blocks(arrays, {.scheduler = s.get(), .lowering = {.fuse = false}});
            for (std::size_t i = 0; i < got.size(); ++i) {
              EXPECT_TRUE(same_bits(got[i], assembled[i]))
                  << arrays[i].name() << " " << x.chunks().to_string() << " -> "
                  << y.chunks().to_string() << " on " << s->name();
            }
          }
          ASSERT_TRUE(matches<double>(chain, chain_ref, *s));
          ASSERT_TRUE(
              matches<double>(y.sum(last), xt::xarray<double>(xt::sum(d, {last})), *s, 1e-9));
        }
      }
    }
  }
}

TEST(Rechunk, SpecForms) {
  const Array x = from_xtensor(distinct_values({10, 6}), {3, 6});
  EXPECT_EQ(rechunk(x, {-1, 2}).chunks(), ChunkGrid({{10}, {2, 2, 2}}));
  EXPECT_EQ(rechunk(x, 4).chunks(), ChunkGrid({{4, 4, 2}, {4, 2}}));
  EXPECT_EQ(rechunk(x, ChunkSpec::explicit_sizes({{1, 9}, {5, 1}})).chunks(),
            ChunkGrid({{1, 9}, {5, 1}}));
  EXPECT_EQ(rechunk(x, ChunkSpec::automatic()).chunks(), ChunkGrid({{10}, {6}}));
  // Already in those chunks: the same array.
  EXPECT_EQ(rechunk(x, {3, -1}).token(), x.token());
  // 0-d.
  const Array z = from_xtensor(xt::xarray<double>(4.5), ChunkSpec::automatic());
  EXPECT_EQ(rechunk(z, ChunkSpec::automatic()).item<double>(), 4.5);
}

TEST(Rechunk, BadSpecsRaiseNamingTheShape) {
  const Array x = from_xtensor(distinct_values({10, 6}), {3, 6});
  EXPECT_THROW(rechunk(x, {2, 2, 2}), shape_error);
  EXPECT_THROW(rechunk(x, ChunkSpec::explicit_sizes({{5, 4}, {6}})), shape_error);
  EXPECT_THROW(rechunk(x, {0, 2}), value_error);
  try {
    rechunk(x, ChunkSpec::explicit_sizes({{5, 4}, {6}}));
  } catch (const shape_error& e) {
    EXPECT_NE(std::string(e.what()).find("10"), std::string::npos) << e.what();
  }
}

TEST(Rechunk, PiecesOfAFusedChainAreComputedForTheirRegionOnly) {
  // Random numbers in row panels to column panels: each piece is drawn for its region; no
  // row panel is ever made.
  const Array r = default_rng(1).uniform(0, 1, {60, 60}, {10, 60});
  const LoweredGraph g = rechunk(r, {60, 10}).lower();
  EXPECT_EQ(count_label(g, "piece"), 36u);
  EXPECT_EQ(g.graph.size(), 36u + 6u);
  // Stored chunks are read in place: one task per piece (a root, a region of the chunk that is
  // only cut when it is sent to another rank), one per output chunk.
  const Array x = from_xtensor(distinct_values({60, 60}), {10, 60});
  const LoweredGraph h = rechunk(x, {60, 10}).lower();
  EXPECT_EQ(count_label(h, "region"), 36u);
  EXPECT_EQ(count_label(h, "piece"), 0u);
  EXPECT_EQ(h.graph.size(), 36u + 6u);
  // Chunks that fit whole into an output chunk are not cut.
  const LoweredGraph m = rechunk(x, {30, 60}).lower();
  EXPECT_EQ(count_label(m, "region"), 0u);
}

TEST(Rechunk, ALargeGraphGoesThroughAnIntermediateChunking) {
  // Columns of one element to rows of one element: a direct rechunk cuts n * n pieces; the
  // plan merges to (n/2, n/2) blocks first (the intermediate limit allows no more).
  const index_t n = 24;
  const xt::xarray<double> d = distinct_values({n, n});
  const Array x = from_xtensor(d, {n, 1});
  const RechunkPlan plan{.max_direct_pieces = 100,
                         .growth = 1,
                         .max_intermediate_bytes = static_cast<std::size_t>(n * n / 4 * 8)};
  const Array direct = rechunk(x, {1, n}, RechunkPlan{.max_direct_pieces = 1 << 20});
  const Array planned = rechunk(x, {1, n}, plan);
  EXPECT_EQ(count_label(direct.lower(), "region"), static_cast<std::size_t>(n * n));
  const LoweredGraph g = planned.lower();
  std::size_t assembled = 0;  // output chunks of the two stages: 2x2 blocks, then n rows
  for (TaskId t = 0; static_cast<std::size_t>(t) < g.graph.size(); ++t) {
    const std::string_view l = g.graph.label(t);
    assembled += l.starts_with("rechunk") && l.find("piece") == std::string_view::npos;
  }
  EXPECT_EQ(assembled, static_cast<std::size_t>(4 + n));
  EXPECT_LT(g.graph.size(), static_cast<std::size_t>(n * n / 3));
  for (const auto& s : all_schedulers()) EXPECT_TRUE(matches<double>(planned, d, *s));
}

}  // namespace
}  // namespace tessera::testing
