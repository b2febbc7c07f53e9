// Indexing beyond basic slices: newaxis and ellipsis in index tuples, blocks(), take()
// (integer arrays along an axis: unsorted, repeated, negative, empty), boolean masks (x[mask])
// and setitem (slices, integer arrays, masks), against references built element by element,
// over every chunking and scheduler; and bad indices.

#include <gtest/gtest.h>

#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xoperation.hpp>
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

/// x[mask] in row-major order, written out.
xt::xarray<double> masked(const xt::xarray<double>& d, const xt::xarray<bool>& m) {
  std::vector<double> v;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (m.flat(i)) v.push_back(d.flat(i));
  xt::xarray<double> out = xt::xarray<double>::from_shape({v.size()});
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

TEST(Indexing, BooleanMaskSelectsInRowMajorOrder) {
  for (const Shape& shape : {Shape{4, 5, 3}, Shape{7}, Shape{0, 3}, Shape{1, 1}, Shape{6, 1}}) {
    const xt::xarray<double> d = distinct_values(shape);
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = from_xtensor(d, spec);
      // Lazy masks: sparse, dense, none, all; one from another chunking.
      const double mid = d.size() ? d.flat(d.size() / 2) : 0;
      const std::vector<std::pair<Array, xt::xarray<bool>>> masks = {
          {x > mid, d > mid},
          {x != mid, xt::not_equal(d, mid)},
          {x < -1e9, d < -1e9},
          {x == x, xt::equal(d, d)},
          {from_xtensor(xt::xarray<bool>(d > mid), 1), d > mid}};
      for (const auto& [mask, ref] : masks) {
        for (const auto& s : all_schedulers()) {
          const Array y = extract(mask, x, {.scheduler = s.get()});
          ASSERT_TRUE(matches<double>(y, masked(d, ref), *s))
              << "chunks " << x.chunks().to_string();
          // Packed chunks: none empty unless the result is, none above ravel(x)'s largest.
          const Array r = ravel(x);
          const auto& flat = r.chunks().sizes(0);
          const index_t largest = std::max<index_t>(1, *std::max_element(flat.begin(), flat.end()));
          for (index_t c : y.chunks().sizes(0)) {
            EXPECT_TRUE(c > 0 || y.size() == 0);
            EXPECT_LE(c, largest);
          }
        }
      }
      EXPECT_EQ(x[x > mid].shape(), (Shape{static_cast<index_t>(masked(d, d > mid).size())}));
    }
  }
}

TEST(Indexing, BooleanMaskOfTheWrongShapeOrDtype) {
  const Array x = from_xtensor(distinct_values({6, 5}), 2);
  try {
    (void)x[x[{Slice{0, 3}}] > 0];
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_NE(std::string(e.what()).find("mask has shape (3, 5), the array (6, 5)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)x[x.astype(DType::Int64)], dtype_error);
  EXPECT_THROW((void)setitem(x, x[{Slice{0, 3}}] > 0, 1.0), shape_error);
}

/// `values` in an array of `shape` (xtensor's nested braces are ambiguous for {{8}, {9}}).
xt::xarray<double> shaped(std::initializer_list<double> values, std::vector<std::size_t> shape) {
  xt::xarray<double> out = xt::xarray<double>::from_shape(shape);
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

/// d with `v` written at the positions `rows` x `cols` (v broadcast to their lengths).
xt::xarray<double> written(xt::xarray<double> d, const std::vector<std::size_t>& rows,
                           const std::vector<std::size_t>& cols, const xt::xarray<double>& v) {
  const xt::xarray<double> b = xt::broadcast(v, {rows.size(), cols.size()});
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < cols.size(); ++j) d(rows[i], cols[j]) = b(i, j);
  return d;
}

TEST(Indexing, SetitemWithSlicesIntegersAndNewAxes) {
  const Shape shape{6, 5};
  const xt::xarray<double> d = distinct_values(shape);
  const xt::xarray<double> row{-1, -2, -3, -4, -5};
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    struct Case {
      std::vector<IndexItem> index;
      Array value;
      xt::xarray<double> want;
    };
    const std::vector<Case> cases = {
        {{Slice{1, 4}, Slice{0, 5, 2}}, scalar(7.0), written(d, {1, 2, 3}, {0, 2, 4}, {7.0})},
        {{2}, from_xtensor(row, 2), written(d, {2}, {0, 1, 2, 3, 4}, row)},
        {{ellipsis, -1}, scalar(0.5), written(d, {0, 1, 2, 3, 4, 5}, {4}, {0.5})},
        {{Slice{std::nullopt, std::nullopt, -2}, Slice{3, 0, -1}},
         from_xtensor(xt::xarray<double>{10, 20, 30}, 1),
         written(d, {5, 3, 1}, {3, 2, 1}, xt::xarray<double>{10, 20, 30})},
        {{newaxis, Slice{0, 2}},
         from_xtensor(shaped({8, 9}, {1, 2, 1}), 1),
         written(d, {0, 1}, {0, 1, 2, 3, 4}, shaped({8, 9}, {2, 1}))},
        {{Slice{}}, scalar(1.0), written(d, {0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4}, {1.0})},
        {{Slice{3, 3}}, scalar(1.0), d},
    };
    for (const Case& c : cases) {
      const Array y = setitem(x, c.index, c.value);
      EXPECT_EQ(y.chunks(), x.chunks());
      for (const auto& s : all_schedulers())
        ASSERT_TRUE(matches<double>(y, c.want, *s)) << "chunks " << x.chunks().to_string();
    }
  }
  const Array x = from_xtensor(d, 2);
  EXPECT_THROW((void)setitem(x, {Slice{0, 2}}, from_xtensor(xt::xarray<double>{1, 2, 3})),
               shape_error);
  EXPECT_THROW((void)setitem(x, {7}, 1.0), index_error);
  // The value takes x's dtype, as NumPy's assignment casts: 2.7 into int64 is 2.
  const Array i = from_xtensor(xt::xarray<std::int64_t>{{1, 2}, {3, 4}}, 1);
  EXPECT_EQ(setitem(i, {0}, 2.7).dtype(), DType::Int64);
  EXPECT_TRUE(matches<std::int64_t>(setitem(i, {0}, 2.7), xt::xarray<std::int64_t>{{2, 2}, {3, 4}},
                                    *all_schedulers()[0]));
}

TEST(Indexing, SetitemWithIntegerArraysAndMasks) {
  const Shape shape{6, 5};
  const xt::xarray<double> d = distinct_values(shape);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    // Unsorted, repeated (the last value wins) and negative indices along each axis.
    const xt::xarray<double> vals = shaped({1, 2, 3, 4}, {4, 1});
    const Array y0 = setitem(x, {4, -6, 4, 2}, 0, from_xtensor(vals, 2));
    const xt::xarray<double> want0 =
        written(written(written(d, {0}, {0, 1, 2, 3, 4}, {2.0}), {4}, {0, 1, 2, 3, 4}, {3.0}), {2},
                {0, 1, 2, 3, 4}, {4.0});
    const Array y1 = setitem(x, {-1, 0}, 1, -7.0);
    const xt::xarray<double> want1 = written(d, {0, 1, 2, 3, 4, 5}, {4, 0}, {-7.0});
    const Array y2 = setitem(x, x > 0.3, 0.0);
    const xt::xarray<double> want2 = xt::where(d > 0.3, 0.0, d);
    const Array y3 = setitem(x, x < 0.3, from_xtensor(xt::xarray<double>{9, 8, 7, 6, 5}, 2));
    const xt::xarray<double> want3 =
        xt::where(d < 0.3, xt::broadcast(xt::xarray<double>{9, 8, 7, 6, 5}, {6, 5}), d);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(y0, want0, *s)) << "chunks " << x.chunks().to_string();
      ASSERT_TRUE(matches<double>(y1, want1, *s));
      ASSERT_TRUE(matches<double>(y2, want2, *s));
      ASSERT_TRUE(matches<double>(y3, want3, *s));
    }
    EXPECT_EQ(y0.chunks(), x.chunks());
  }
  const Array x = from_xtensor(d, 2);
  EXPECT_THROW((void)setitem(x, {6}, 0, 1.0), index_error);
  EXPECT_THROW((void)setitem(x, {0, 1}, 0, from_xtensor(xt::xarray<double>{1, 2, 3})), shape_error);
  EXPECT_THROW((void)setitem(x, x > 0, from_xtensor(xt::xarray<double>{1, 2, 3})), shape_error);
}

}  // namespace
}  // namespace tessera::testing
