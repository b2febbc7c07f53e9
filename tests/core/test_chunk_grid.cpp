// Tests of core/chunk_grid.hpp: the grid's index math (offsets, chunk coordinates, chunk_of at
// chunk boundaries), its Dask-format printing and validation, and ChunkSpec::resolve for every
// way a user can ask for chunks (one size, -1, per axis, explicit lists, automatic).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Sizes = std::vector<std::vector<index_t>>;

constexpr std::array<DType, 5> all_dtypes = {DType::Bool, DType::Int32, DType::Int64,
                                             DType::Float32, DType::Float64};

// --- ChunkGrid -------------------------------------------------------------------------------

TEST(ChunkGrid, DescribesShapeAndChunkCounts) {
  const ChunkGrid g({{2, 2, 1}, {3}, {1, 4, 2}});
  EXPECT_EQ(g.ndim(), 3);
  EXPECT_EQ(g.shape(), (Shape{5, 3, 7}));
  EXPECT_EQ(g.grid_shape(), (Shape{3, 1, 3}));
  EXPECT_EQ(g.num_chunks(), 9);
  EXPECT_EQ(g.num_chunks(0), 3);
  EXPECT_EQ(g.num_chunks(1), 1);
  EXPECT_EQ(g.sizes(2), (std::vector<index_t>{1, 4, 2}));
  EXPECT_EQ(g.max_chunk_size(), 2 * 3 * 4);
}

TEST(ChunkGrid, OffsetsAreRunningSumsEndingAtTheExtent) {
  const ChunkGrid g({{2, 2, 1}, {1, 4, 2}});
  EXPECT_EQ(g.offsets(0), (std::vector<index_t>{0, 2, 4, 5}));
  EXPECT_EQ(g.offsets(1), (std::vector<index_t>{0, 1, 5, 7}));
}

TEST(ChunkGrid, ZeroDimensionalHasOneChunk) {
  const ChunkGrid g(Sizes{});
  EXPECT_EQ(g.ndim(), 0);
  EXPECT_EQ(g.shape(), Shape{});
  EXPECT_EQ(g.num_chunks(), 1);
  EXPECT_EQ(g.chunk_coords(0), Shape{});
  EXPECT_EQ(g.chunk_linear({}), 0);
  EXPECT_EQ(g.chunk_shape({}), Shape{});
  EXPECT_EQ(g.max_chunk_size(), 1);
  EXPECT_EQ(g.to_string(), "()");
  EXPECT_EQ(ChunkGrid().num_chunks(), 1);
  EXPECT_EQ(ChunkGrid(), g);
}

TEST(ChunkGrid, ZeroLengthAxisHasOneEmptyChunk) {
  const ChunkGrid g({{0}, {2, 1}});
  EXPECT_EQ(g.shape(), (Shape{0, 3}));
  EXPECT_EQ(g.num_chunks(), 2);
  EXPECT_EQ(g.chunk_shape({0, 1}), (Shape{0, 1}));
  EXPECT_EQ(g.max_chunk_size(), 0);
  EXPECT_EQ(g.to_string(), "((0,), (2, 1))");
}

TEST(ChunkGrid, CoordsAndLinearRoundTripInRowMajorOrder) {
  const ChunkGrid g({{2, 2, 1}, {3}, {1, 4, 2}, {5, 5}});
  index_t linear = 0;
  // Row-major: the last axis varies fastest.
  for (index_t i = 0; i < 3; ++i) {
    for (index_t j = 0; j < 1; ++j) {
      for (index_t k = 0; k < 3; ++k) {
        for (index_t l = 0; l < 2; ++l, ++linear) {
          const Shape coords{i, j, k, l};
          EXPECT_EQ(g.chunk_coords(linear), coords) << linear;
          EXPECT_EQ(g.chunk_linear(coords), linear) << shape_string(coords);
        }
      }
    }
  }
  EXPECT_EQ(linear, g.num_chunks());
}

TEST(ChunkGrid, ChunkShapeAndOffset) {
  const ChunkGrid g({{2, 2, 1}, {1, 4, 2}});
  EXPECT_EQ(g.chunk_shape({0, 0}), (Shape{2, 1}));
  EXPECT_EQ(g.chunk_offset({0, 0}), (Shape{0, 0}));
  EXPECT_EQ(g.chunk_shape({1, 1}), (Shape{2, 4}));
  EXPECT_EQ(g.chunk_offset({1, 1}), (Shape{2, 1}));
  EXPECT_EQ(g.chunk_shape({2, 2}), (Shape{1, 2}));
  EXPECT_EQ(g.chunk_offset({2, 2}), (Shape{4, 5}));
  // The chunks tile the array: their sizes add up to the whole.
  index_t total = 0;
  for (index_t c = 0; c < g.num_chunks(); ++c)
    total += shape_size(g.chunk_shape(g.chunk_coords(c)));
  EXPECT_EQ(total, shape_size(g.shape()));
}

TEST(ChunkGrid, ChunkOfAtBoundaries) {
  const ChunkGrid g({{3, 3, 1}, {1, 4, 2}, {7}});
  // Axis 0: offsets 0, 3, 6, 7.
  EXPECT_EQ(g.chunk_of(0, 0), 0);
  EXPECT_EQ(g.chunk_of(0, 2), 0);
  EXPECT_EQ(g.chunk_of(0, 3), 1);
  EXPECT_EQ(g.chunk_of(0, 5), 1);
  EXPECT_EQ(g.chunk_of(0, 6), 2);
  // Axis 1: offsets 0, 1, 5, 7 (a one-element first chunk).
  EXPECT_EQ(g.chunk_of(1, 0), 0);
  EXPECT_EQ(g.chunk_of(1, 1), 1);
  EXPECT_EQ(g.chunk_of(1, 4), 1);
  EXPECT_EQ(g.chunk_of(1, 5), 2);
  EXPECT_EQ(g.chunk_of(1, 6), 2);
  // Axis 2: a single chunk.
  EXPECT_EQ(g.chunk_of(2, 0), 0);
  EXPECT_EQ(g.chunk_of(2, 6), 0);
}

TEST(ChunkGrid, ChunkOfAgreesWithOffsetsForEveryIndex) {
  const ChunkGrid g({{1, 1, 5, 2, 1, 3}});
  for (index_t i = 0; i < g.shape()[0]; ++i) {
    const index_t c = g.chunk_of(0, i);
    ASSERT_GE(c, 0);
    ASSERT_LT(c, g.num_chunks(0));
    EXPECT_LE(g.offsets(0)[c], i) << i;
    EXPECT_LT(i, g.offsets(0)[c + 1]) << i;
  }
}

// Dask prints `x.chunks` as a tuple of tuples with Python's one-element-tuple comma.
TEST(ChunkGrid, ToStringMatchesDaskChunksTuple) {
  EXPECT_EQ(ChunkGrid(Sizes{{1000, 1000, 500}, {700}}).to_string(), "((1000, 1000, 500), (700,))");
  EXPECT_EQ(ChunkGrid(Sizes{{2, 2, 1}}).to_string(), "((2, 2, 1),)");
  EXPECT_EQ(ChunkGrid(Sizes{{5}}).to_string(), "((5,),)");
  EXPECT_EQ(ChunkGrid(Sizes{{5}, {3}}).to_string(), "((5,), (3,))");
  EXPECT_EQ(ChunkGrid(Sizes{{2, 2}, {3, 1}, {4}}).to_string(), "((2, 2), (3, 1), (4,))");
}

TEST(ChunkGrid, EqualityComparesSizes) {
  EXPECT_EQ(ChunkGrid(Sizes{{2, 2}, {3}}), ChunkGrid(Sizes{{2, 2}, {3}}));
  EXPECT_NE(ChunkGrid(Sizes{{2, 2}, {3}}),
            ChunkGrid(Sizes{{3, 1}, {3}}));  // same shape, other cuts
  EXPECT_NE(ChunkGrid(Sizes{{4}}), ChunkGrid(Sizes{{4}, {1}}));
}

TEST(ChunkGrid, RejectsInvalidSizesWithShapeError) {
  EXPECT_THROW(ChunkGrid(Sizes{{2, -1}}), shape_error);    // negative
  EXPECT_THROW(ChunkGrid(Sizes{{2}, {}}), shape_error);    // an axis without chunks
  EXPECT_THROW(ChunkGrid(Sizes{{2, 0, 1}}), shape_error);  // empty chunk on a non-empty axis
  try {
    ChunkGrid(Sizes{{3}, {4, 0}});
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("axis 1"));
  }
  EXPECT_NO_THROW(ChunkGrid(Sizes{{0, 0}}));  // several empty chunks on an empty axis are fine
}

// --- ChunkSpec: explicit forms -----------------------------------------------------------------

TEST(ChunkSpec, OneSizeForEveryAxis) {
  const ChunkGrid g = ChunkSpec(2).resolve({5, 4, 1}, DType::Float64);
  EXPECT_EQ(g, ChunkGrid(Sizes{{2, 2, 1}, {2, 2}, {1}}));
  EXPECT_EQ(ChunkSpec(index_t{3}).resolve({7}, DType::Int32).to_string(), "((3, 3, 1),)");
}

TEST(ChunkSpec, MinusOneIsTheWholeAxis) {
  EXPECT_EQ(ChunkSpec(-1).resolve({5, 4}, DType::Float64), ChunkGrid(Sizes{{5}, {4}}));
  EXPECT_EQ(ChunkSpec(-1).resolve({}, DType::Float64).num_chunks(), 1);
}

TEST(ChunkSpec, SizeBeyondTheAxisIsTheWholeAxis) {
  EXPECT_EQ(ChunkSpec(100).resolve({5, 4}, DType::Float64), ChunkGrid(Sizes{{5}, {4}}));
  EXPECT_EQ(ChunkSpec(5).resolve({5}, DType::Float64), ChunkGrid(Sizes{{5}}));
}

TEST(ChunkSpec, PerAxis) {
  EXPECT_EQ((ChunkSpec{2, -1}).resolve({5, 4}, DType::Float64), ChunkGrid(Sizes{{2, 2, 1}, {4}}));
  EXPECT_EQ((ChunkSpec{4, 3, 10}).resolve({8, 7, 2}, DType::Bool),
            ChunkGrid(Sizes{{4, 4}, {3, 3, 1}, {2}}));
}

TEST(ChunkSpec, ExplicitSizes) {
  EXPECT_EQ(ChunkSpec::explicit_sizes({{2, 3}, {4}}).resolve({5, 4}, DType::Float64),
            ChunkGrid(Sizes{{2, 3}, {4}}));
  // Mixed: an explicit list on one axis, a regular size on the other.
  EXPECT_EQ((ChunkSpec{std::vector<index_t>{1, 4}, 3}).resolve({5, 4}, DType::Float64),
            ChunkGrid(Sizes{{1, 4}, {3, 1}}));
}

TEST(ChunkSpec, ExplicitSizesThatDoNotAddUpNameSizesAndAxisLength) {
  try {
    (void)ChunkSpec::explicit_sizes({{2, 2}, {4}}).resolve({5, 4}, DType::Float64);
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("(2, 2)"), HasSubstr("axis 0"), HasSubstr("5"),
                                HasSubstr("(5, 4)")));
  }
  EXPECT_THROW((void)ChunkSpec::explicit_sizes({{5}, {2, 3}}).resolve({5, 4}, DType::Int32),
               shape_error);
}

TEST(ChunkSpec, NonPositiveSizesThrowValueError) {
  for (index_t bad : {index_t{0}, index_t{-2}, index_t{-100}}) {
    try {
      (void)ChunkSpec(bad).resolve({5, 4}, DType::Float64);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const value_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::to_string(bad)));
    }
  }
  EXPECT_THROW((void)(ChunkSpec{2, 0}).resolve({5, 4}, DType::Float64), value_error);
  EXPECT_THROW((void)ChunkSpec::explicit_sizes({{2, 0, 3}}).resolve({5}, DType::Float64),
               value_error);
  EXPECT_THROW((void)ChunkSpec::explicit_sizes({{6, -1}}).resolve({5}, DType::Float64),
               value_error);
}

TEST(ChunkSpec, WrongNumberOfAxesThrowsShapeErrorNamingTheShape) {
  try {
    (void)(ChunkSpec{2, 2, 2}).resolve({5, 4}, DType::Float64);
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("3 axes"), HasSubstr("(5, 4)")));
  }
  EXPECT_THROW((void)ChunkSpec::explicit_sizes({{5}}).resolve({5, 4}, DType::Float64), shape_error);
  EXPECT_THROW((void)(ChunkSpec{2}).resolve({}, DType::Float64), shape_error);
}

// Dask: normalize_chunks(3, (0, 4)) == ((0,), (3, 1)).
TEST(ChunkSpec, ZeroLengthAxesGetOneEmptyChunk) {
  EXPECT_EQ(ChunkSpec(3).resolve({0, 4}, DType::Float64), ChunkGrid(Sizes{{0}, {3, 1}}));
  EXPECT_EQ(ChunkSpec(-1).resolve({0}, DType::Float64), ChunkGrid(Sizes{{0}}));
  EXPECT_EQ(ChunkSpec::explicit_sizes({{}, {4}}).resolve({0, 4}, DType::Float64),
            ChunkGrid(Sizes{{0}, {4}}));
  EXPECT_EQ(ChunkSpec::automatic(64).resolve({0, 100}, DType::Float64).sizes(0),
            std::vector<index_t>{0});
}

// --- ChunkSpec: automatic ----------------------------------------------------------------------

TEST(ChunkSpecAuto, DefaultTargetIsDasks128MiB) {
  EXPECT_EQ(ChunkSpec::default_auto_bytes, std::size_t{128} * 1024 * 1024);
}

TEST(ChunkSpecAuto, WholeArrayWhenItFits) {
  EXPECT_EQ(ChunkSpec::automatic(800).resolve({100}, DType::Float64), ChunkGrid(Sizes{{100}}));
  // 4*4*4 int64 = 512 bytes: a cube whose edge is an exact cube root of the budget.
  EXPECT_EQ(ChunkSpec::automatic(512).resolve({4, 4, 4}, DType::Int64),
            ChunkGrid(Sizes{{4}, {4}, {4}}));
  EXPECT_EQ(ChunkSpec::automatic().resolve({1000, 1000}, DType::Float64),
            ChunkGrid(Sizes{{1000}, {1000}}));
}

// 128 MiB is 2^24 float64s, exactly a 256^3 cube, but pow(2^24, 1/3) is 255.99999999999991:
// truncating it gave 171^3 chunks (three per axis instead of two).
TEST(ChunkSpecAuto, ExactRootsAreNotRoundedDown) {
  EXPECT_EQ(ChunkSpec::automatic().resolve({512, 512, 512}, DType::Float64),
            ChunkGrid(Sizes{{256, 256}, {256, 256}, {256, 256}}));
  EXPECT_EQ(ChunkSpec::automatic(1000 * 8).resolve({20, 20, 20}, DType::Float64),
            ChunkGrid(Sizes{{10, 10}, {10, 10}, {10, 10}}));
}

TEST(ChunkSpecAuto, RegularChunksAsFewAsTheTargetAllows) {
  // Ideal edge 4096: three chunks per axis, each as small as three chunks permit.
  EXPECT_EQ(ChunkSpec::automatic().resolve({10000, 10000}, DType::Float64),
            ChunkGrid(Sizes{{3334, 3334, 3332}, {3334, 3334, 3332}}));
  EXPECT_EQ(ChunkSpec::automatic(800).resolve({101}, DType::Float64), ChunkGrid(Sizes{{51, 50}}));
  // The same bytes hold eight times as many bools as float64s.
  EXPECT_EQ(ChunkSpec::automatic(800).resolve({1600}, DType::Bool), ChunkGrid(Sizes{{800, 800}}));
  EXPECT_EQ(ChunkSpec::automatic(800).resolve({1600}, DType::Float64).num_chunks(), 16);
}

TEST(ChunkSpecAuto, ShortAxesAreTakenWholeAndTheRestGetsTheBudget) {
  // Budget 3000 elements; axis 0 (3) is shorter than the edge (54), so axis 1 gets 1000.
  const ChunkGrid g = ChunkSpec::automatic(3000 * 8).resolve({3, 1000000}, DType::Float64);
  EXPECT_EQ(g.sizes(0), std::vector<index_t>{3});
  EXPECT_EQ(g.sizes(1), std::vector<index_t>(1000, 1000));
}

// Per-axis "auto" next to fixed axes uses the default target (128 MiB = 2^24 float64s) for
// what the fixed axes leave over.
TEST(ChunkSpecAuto, MixedWithFixedAxes) {
  // A whole fixed axis of 2^24 float64s uses the budget up: single-element automatic chunks.
  const ChunkGrid full =
      (ChunkSpec{AxisChunks::Auto{}, -1}).resolve({100, index_t{1} << 24}, DType::Float64);
  EXPECT_EQ(full.sizes(0), std::vector<index_t>(100, 1));
  EXPECT_EQ(full.sizes(1), std::vector<index_t>{index_t{1} << 24});
  // 100-element chunks leave 167772 elements: 1e6 needs 6 chunks, each ceil(1e6 / 6).
  const ChunkGrid g = (ChunkSpec{AxisChunks::Auto{}, 100}).resolve({1000000, 1000}, DType::Float64);
  std::vector<index_t> want(5, 166667);
  want.push_back(1000000 - 5 * 166667);
  EXPECT_EQ(g.sizes(0), want);
  EXPECT_EQ(g.sizes(1), std::vector<index_t>(10, 100));
  EXPECT_LE(static_cast<std::size_t>(g.max_chunk_size()) * 8, ChunkSpec::default_auto_bytes);
  // Short enough: taken whole.
  EXPECT_EQ((ChunkSpec{AxisChunks::Auto{}, -1}).resolve({10, 1000}, DType::Float64),
            ChunkGrid(Sizes{{10}, {1000}}));
}

TEST(ChunkSpecAuto, TargetBelowOneElementGivesSingleElements) {
  EXPECT_EQ(ChunkSpec::automatic(1).resolve({5}, DType::Float64),
            ChunkGrid(Sizes{{1, 1, 1, 1, 1}}));
  EXPECT_EQ(ChunkSpec::automatic(0).resolve({2, 2}, DType::Int32),
            ChunkGrid(Sizes{{1, 1}, {1, 1}}));
}

TEST(ChunkSpecAuto, ZeroDimensional) {
  const ChunkGrid g = ChunkSpec::automatic().resolve({}, DType::Float64);
  EXPECT_EQ(g.ndim(), 0);
  EXPECT_EQ(g.num_chunks(), 1);
}

// Properties over a sweep of shapes, dtypes and targets: the grid tiles the shape, every axis
// is regular (all chunks equal but a shorter, non-empty last one) with the smallest regular
// size for its chunk count, no chunk exceeds the target, chunks are not needlessly small,
// and an array that fits the target is one chunk.
TEST(ChunkSpecAuto, PropertiesOverShapesDtypesAndTargets) {
  const Shape shapes[] = {{1000},          {1000, 1000},   {3, 5000}, {200, 300, 400},
                          {7, 11, 13, 17}, {1, 1, 100000}, {0, 50},   {12345, 7}};
  const std::size_t targets[] = {1, 64, 1000, 4096, std::size_t{1} << 20, std::size_t{128} << 20};
  for (const Shape& shape : shapes) {
    for (DType dtype : all_dtypes) {
      for (std::size_t target : targets) {
        const auto where = shape_string(shape) + " " + std::string(dtype_name(dtype)) + " " +
                           std::to_string(target) + " bytes";
        const ChunkGrid g = ChunkSpec::automatic(target).resolve(shape, dtype);
        ASSERT_EQ(g.shape(), shape) << where;
        for (int a = 0; a < g.ndim(); ++a) {
          const auto& s = g.sizes(a);
          const index_t first = s.front(), extent = shape[static_cast<std::size_t>(a)];
          if (extent == 0) {
            EXPECT_EQ(s, std::vector<index_t>{0}) << where;
            continue;
          }
          for (std::size_t i = 0; i + 1 < s.size(); ++i) EXPECT_EQ(s[i], first) << where;
          EXPECT_GT(s.back(), 0) << where;
          EXPECT_LE(s.back(), first) << where;
          const auto n = static_cast<index_t>(s.size());
          EXPECT_EQ(first, (extent + n - 1) / n) << where << ", axis " << a;
        }
        const std::size_t size = dtype_size(dtype);
        const auto max_bytes = static_cast<std::size_t>(g.max_chunk_size()) * size;
        if (target >= size) {
          EXPECT_LE(max_bytes, target) << where;
        } else {
          EXPECT_EQ(g.max_chunk_size(), shape_size(shape) == 0 ? 0 : 1) << where;
        }
        const auto total_bytes = static_cast<std::size_t>(shape_size(shape)) * size;
        if (total_bytes > 0 && total_bytes <= target) {
          EXPECT_EQ(g.num_chunks(), 1) << where;
        }
        // An array that does not fit is cut into chunks of at least half the ideal edge per
        // axis, which is at least half the real root: more than target / 4^ndim bytes, unless
        // an axis is shorter than the edge.
        const bool all_long =
            std::all_of(shape.begin(), shape.end(), [](index_t e) { return e >= 1000; });
        if (all_long && target >= size && total_bytes > target) {
          EXPECT_GT(max_bytes * (std::size_t{1} << (2 * shape.size())), target) << where;
        }
      }
    }
  }
}

TEST(ChunkSpecAuto, EveryDtypeResolvesTheSameShapeConsistently) {
  // Wider elements never get more elements per chunk.
  for (std::size_t target : {std::size_t{1000}, std::size_t{1} << 20}) {
    index_t previous = -1;
    for (DType dtype : {DType::Float64, DType::Float32, DType::Bool}) {  // 8, 4, 1 bytes
      const index_t m = ChunkSpec::automatic(target).resolve({4000, 3000}, dtype).max_chunk_size();
      EXPECT_GE(m, previous) << dtype_name(dtype) << " " << target;
      previous = m;
    }
  }
}

}  // namespace
}  // namespace tessera
