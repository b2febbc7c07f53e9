// Indexing beyond basic slices: newaxis and ellipsis in index tuples, blocks(), and take()
// (integer arrays along an axis: unsorted, repeated, negative, empty), against references built
// element by element, over every chunking and scheduler; and bad indices.

#include <gtest/gtest.h>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

TEST(Indexing, NewAxisAndEllipsis) {
  const xt::xarray<double> d = distinct_values({4, 5, 3});
  for (const ChunkSpec& spec : chunkings({4, 5, 3})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(x[{ellipsis, 1}],
                                  xt::xarray<double>(xt::view(d, xt::all(), xt::all(), 1)), *s));
      ASSERT_TRUE(matches<double>(x[{2, ellipsis}], xt::xarray<double>(xt::view(d, 2)), *s));
      ASSERT_TRUE(matches<double>(x[{1, ellipsis, Slice{0, 2}}],
                                  xt::xarray<double>(xt::view(d, 1, xt::all(), xt::range(0, 2))),
                                  *s));
      ASSERT_TRUE(matches<double>(
          x[{newaxis, 1, Slice{1, 4}, newaxis}],
          xt::xarray<double>(xt::view(d, xt::newaxis(), 1, xt::range(1, 4), xt::newaxis())), *s));
      ASSERT_TRUE(matches<double>(
          x[{ellipsis, newaxis}],
          xt::xarray<double>(xt::view(d, xt::all(), xt::all(), xt::all(), xt::newaxis())), *s));
    }
    EXPECT_EQ((x[{newaxis, ellipsis, newaxis}].shape()), (Shape{1, 4, 5, 3, 1}));
  }
  const Array x = from_xtensor(d, 2);
  EXPECT_THROW((x[{ellipsis, 0, ellipsis}]), index_error);
  EXPECT_THROW((x[{0, 0, 0, 0}]), index_error);
  EXPECT_EQ((x[{0, 0, 0, newaxis}].shape()), (Shape{1}));
}

TEST(Indexing, Blocks) {
  const xt::xarray<double> d = distinct_values({7, 5});
  const Array x = from_xtensor(d, ChunkSpec::explicit_sizes({{3, 4}, {2, 2, 1}}));
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<double>(
        blocks(x, {1, 2}), xt::xarray<double>(xt::view(d, xt::range(3, 7), xt::range(4, 5))), *s));
    EXPECT_TRUE(matches<double>(blocks(x, {-2, -2}),
                                xt::xarray<double>(xt::view(d, xt::range(0, 3), xt::range(2, 4))),
                                *s));
  }
  EXPECT_EQ(blocks(x, {1, 2}).lower().graph.size(), 2u);  // the one chunk, and its slice
  EXPECT_THROW(blocks(x, {2, 0}), index_error);
  EXPECT_THROW(blocks(x, {0}), index_error);
}

TEST(Indexing, TakeAlongEveryAxis) {
  const Shape shape{6, 5};
  const xt::xarray<double> d = distinct_values(shape);
  const std::vector<std::vector<index_t>> lists{
      {0}, {4, 1, 1, -1, 0, 3}, {2, 2, 2}, {}, {5, 4, 3, 2, 1, 0, -6, -5}};
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (int axis = 0; axis < 2; ++axis) {
      for (const auto& idx : lists) {
        const index_t n = shape[static_cast<std::size_t>(axis)];
        bool fits = true;
        for (index_t i : idx) fits = fits && i >= -n && i < n;
        if (!fits) continue;
        Shape out_shape = shape;
        out_shape[static_cast<std::size_t>(axis)] = static_cast<index_t>(idx.size());
        xt::xarray<double> want = xt::xarray<double>::from_shape(
            std::vector<std::size_t>(out_shape.begin(), out_shape.end()));
        for (std::size_t i = 0; i < want.shape()[0]; ++i) {
          for (std::size_t j = 0; j < want.shape()[1]; ++j) {
            const std::size_t k = axis == 0 ? i : j;
            const index_t v = idx[k] < 0 ? idx[k] + n : idx[k];
            want(i, j) =
                axis == 0 ? d(static_cast<std::size_t>(v), j) : d(i, static_cast<std::size_t>(v));
          }
        }
        const Array y = take(x, idx, axis);
        for (const auto& s : all_schedulers())
          ASSERT_TRUE(matches<double>(y, want, *s))
              << "axis " << axis << " chunks " << x.chunks().to_string();
      }
    }
  }
  // Flattened.
  const Array x = from_xtensor(d, 4);
  EXPECT_TRUE(matches<double>(take(x, {29, 0, 7}),
                              xt::xarray<double>{d.flat(29), d.flat(0), d.flat(7)},
                              *all_schedulers()[0]));
}

TEST(Indexing, TakeReadsOnlyTheRowsItNeeds) {
  // 100 rows in chunks of 10; indices 3 and 95: two pieces of one row each, nothing else.
  const Array x = from_xtensor(distinct_values({100, 4}), {10, 4});
  const LoweredGraph g = take(x, {95, 3}, 0).lower();
  std::size_t pieces = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < g.graph.size(); ++t)
    pieces += g.graph.label(t).find("piece") != std::string_view::npos;
  EXPECT_EQ(pieces, 2u);
  EXPECT_EQ(g.graph.size(), 3u);
}

TEST(Indexing, TakeOutOfBounds) {
  const Array x = from_xtensor(distinct_values({6, 5}), 2);
  EXPECT_THROW(take(x, {6}, 0), index_error);
  EXPECT_THROW(take(x, {-7}, 0), index_error);
  EXPECT_THROW(take(x, {0}, 2), index_error);
  try {
    take(x, {0, 9}, 1);
  } catch (const index_error& e) {
    EXPECT_NE(std::string(e.what()).find("index 9 is out of bounds for axis 1 with size 5"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tessera::testing
