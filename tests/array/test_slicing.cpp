// Basic indexing: start:stop:step slices (negative and omitted bounds, negative steps, steps
// larger than a chunk), integers that drop axes, fewer index items than axes, empty results,
// and slices of and inside expressions; compared with xt::view on the whole reference array
// over every chunking and scheduler.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

using namespace xt::placeholders;  // NOLINT: xt::range(_, 5)
using Index = std::vector<IndexItem>;

/// Distinct values, so that any element taken from the wrong place shows.
template <class T = double>
xt::xarray<T> distinct(const Shape& shape) {
  xt::xarray<T> x = xt::xarray<T>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if constexpr (std::is_same_v<T, bool>)
      x.flat(i) = (i * 7 + i / 3) % 3 == 0;
    else
      x.flat(i) =
          static_cast<T>(static_cast<double>(i) * (std::is_floating_point_v<T> ? 1.5 : 1.0) - 20);
  }
  return x;
}

/// x[index] equals `expected` for every chunking of `data` and every scheduler.
template <class T>
void check(const xt::xarray<T>& data, const Index& index, const xt::xarray<T>& expected) {
  const Shape shape(data.shape().begin(), data.shape().end());
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(data, spec);
    const Array y = x.slice(index);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<T>(y, expected, *s)) << "input chunks " << x.chunks().to_string();
    }
  }
}

// --- 1-d ----------------------------------------------------------------------------------

TEST(Slicing, OneDimensional) {
  const xt::xarray<double> d = distinct({17});
  auto v = [&](auto... s) { return xt::xarray<double>(xt::view(d, s...)); };
  check(d, {Slice{2, 11}}, v(xt::range(2, 11)));
  check(d, {Slice{2, 11, 3}}, v(xt::range(2, 11, 3)));
  check(d, {Slice{-5, {}}}, v(xt::range(-5, _)));
  check(d, {Slice{{}, -3}}, v(xt::range(_, -3)));
  check(d, {Slice{{}, {}, 1}}, v(xt::all()));
  check(d, {Slice{}}, v(xt::all()));
  check(d, {}, d);
  check(d, {Slice{3, 4}}, v(xt::range(3, 4)));
  // Negative steps, with and without bounds.
  check(d, {Slice{{}, {}, -1}}, v(xt::range(_, _, -1)));
  check(d, {Slice{-2, 3, -2}}, v(xt::range(-2, 3, -2)));
  check(d, {Slice{12, {}, -3}}, v(xt::range(12, _, -3)));
  check(d, {Slice{{}, 4, -4}}, v(xt::range(_, 4, -4)));
  check(d, {Slice{-1, -6, -1}}, v(xt::range(-1, -6, -1)));
  // Steps larger than any chunk (and than the array).
  check(d, {Slice{{}, {}, 7}}, v(xt::range(_, _, 7)));
  check(d, {Slice{1, {}, 16}}, v(xt::range(1, _, 16)));
  check(d, {Slice{15, {}, -6}}, v(xt::range(15, _, -6)));
  check(d, {Slice{{}, {}, 100}}, v(xt::range(_, _, 100)));
  check(d, {Slice{{}, {}, -100}}, v(xt::range(_, _, -100)));
  // Out-of-range bounds clamp.
  check(d, {Slice{-100, 100}}, v(xt::range(-100, 100)));
  check(d, {Slice{100, -100, -1}}, v(xt::range(100, -100, -1)));
  check(d, {Slice{-100, 100, 4}}, v(xt::range(-100, 100, 4)));
  // Integers give 0-d arrays.
  check(d, {5}, v(5));
  check(d, {index_t{-1}}, v(16));
  check(d, {index_t{-17}}, v(0));
}

// --- 2-d and 3-d ------------------------------------------------------------------------------

TEST(Slicing, TwoDimensional) {
  const xt::xarray<double> d = distinct({7, 9});
  auto v = [&](auto... s) { return xt::xarray<double>(xt::view(d, s...)); };
  check(d, {Slice{1, 6, 2}, Slice{{}, {}, -3}}, v(xt::range(1, 6, 2), xt::range(_, _, -3)));
  check(d, {Slice{5, 1, -1}, Slice{8, 0, -4}}, v(xt::range(5, 1, -1), xt::range(8, 0, -4)));
  check(d, {Slice{{}, {}, -1}, Slice{{}, {}, -1}}, v(xt::range(_, _, -1), xt::range(_, _, -1)));
  check(d, {Slice{-4, {}}, Slice{2, -2, 5}}, v(xt::range(-4, _), xt::range(2, -2, 5)));
  // Fewer index items than axes: the rest are whole.
  check(d, {Slice{2, 5}}, v(xt::range(2, 5)));
  check(d, {Slice{{}, {}, -2}}, v(xt::range(_, _, -2)));
  // Integers drop axes (negative ones count from the end).
  check(d, {2}, v(2));
  check(d, {index_t{-1}}, v(6));
  check(d, {index_t{-1}, Slice{2, {}}}, v(6, xt::range(2, _)));
  check(d, {Slice{}, 4}, v(xt::all(), 4));
  check(d, {Slice{{}, {}, -1}, index_t{-3}}, v(xt::range(_, _, -1), 6));
  check(d, {Slice{1, {}, 3}, 0}, v(xt::range(1, _, 3), 0));
  check(d, {3, 5}, v(3, 5));
  check(d, {index_t{-7}, index_t{-9}}, v(0, 0));
}

TEST(Slicing, ThreeDimensional) {
  const xt::xarray<double> d = distinct({4, 5, 6});
  auto v = [&](auto... s) { return xt::xarray<double>(xt::view(d, s...)); };
  check(d, {Slice{{}, {}, 2}, 1, Slice{-1, {}, -2}},
        v(xt::range(_, _, 2), 1, xt::range(-1, _, -2)));
  check(d, {Slice{1, 3}}, v(xt::range(1, 3)));
  check(d, {index_t{-2}, index_t{-1}}, v(2, 4));
  check(d, {1, Slice{}, 0}, v(1, xt::all(), 0));
  check(d, {Slice{3, -5, -1}, Slice{1, 4}, Slice{{}, {}, 5}},
        v(xt::range(3, -5, -1), xt::range(1, 4), xt::range(_, _, 5)));
  check(d, {Slice{}, Slice{{}, {}, -1}}, v(xt::all(), xt::range(_, _, -1)));
  check(d, {3, 4, 5}, v(3, 4, 5));
  check(d, {Slice{{}, {}, 7}, Slice{{}, {}, 7}, Slice{{}, {}, 7}},
        v(xt::range(_, _, 7), xt::range(_, _, 7), xt::range(_, _, 7)));
}

TEST(Slicing, OtherDtypes) {
  {
    const xt::xarray<std::int32_t> d = distinct<std::int32_t>({7, 9});
    check(d, {Slice{{}, {}, -2}, 3}, xt::xarray<std::int32_t>(xt::view(d, xt::range(_, _, -2), 3)));
  }
  {
    const xt::xarray<std::int64_t> d = distinct<std::int64_t>({17});
    check(d, {Slice{-3, 1, -5}}, xt::xarray<std::int64_t>(xt::view(d, xt::range(-3, 1, -5))));
  }
  {
    const xt::xarray<float> d = distinct<float>({7, 9});
    check(d, {Slice{1, {}, 4}, Slice{-1, 0, -1}},
          xt::xarray<float>(xt::view(d, xt::range(1, _, 4), xt::range(-1, 0, -1))));
  }
  {
    const xt::xarray<bool> d = distinct<bool>({7, 9});
    check(d, {Slice{{}, {}, 3}, Slice{2, 8}},
          xt::xarray<bool>(xt::view(d, xt::range(_, _, 3), xt::range(2, 8))));
  }
}

// --- chunk structure -------------------------------------------------------------------------

TEST(Slicing, ResultChunksFollowTheInputChunks) {
  const Array x = arange(20, {.chunks = 5});  // (5, 5, 5, 5)
  EXPECT_EQ((x[{Slice{3, 17}}].chunks().sizes(0)), (std::vector<index_t>{2, 5, 5, 2}));
  EXPECT_EQ((x[{Slice{{}, {}, -1}}].chunks().sizes(0)), (std::vector<index_t>{5, 5, 5, 5}));
  EXPECT_EQ((x[{Slice{18, 1, -2}}].chunks().sizes(0)), (std::vector<index_t>{2, 3, 2, 2}));
  EXPECT_EQ((x[{Slice{{}, {}, 7}}].chunks().sizes(0)), (std::vector<index_t>{1, 1, 1}));
  // Irregular input chunks, reversed.
  const Array y = from_xtensor(distinct({10}), ChunkSpec{std::vector<index_t>{1, 4, 2, 3}});
  EXPECT_EQ((y[{Slice{{}, {}, -1}}].chunks().sizes(0)), (std::vector<index_t>{3, 2, 4, 1}));
  EXPECT_EQ((y[{Slice{8, 0, -3}}].chunks().sizes(0)), (std::vector<index_t>{1, 1, 1}));
}

TEST(Slicing, EmptyResults) {
  const xt::xarray<double> d1 = distinct({17});
  const xt::xarray<double> d2 = distinct({7, 9});
  struct Case {
    const xt::xarray<double>* data;
    Index index;
    Shape shape;
  };
  const std::vector<Case> cases = {
      {&d1, {Slice{5, 2}}, {0}},           {&d1, {Slice{2, 5, -1}}, {0}},
      {&d1, {Slice{20, {}}}, {0}},         {&d1, {Slice{{}, -100}}, {0}},
      {&d1, {Slice{-100, -100, -1}}, {0}}, {&d1, {Slice{4, 4}}, {0}},
      {&d2, {Slice{3, 3}}, {0, 9}},        {&d2, {Slice{3, 3}, Slice{}}, {0, 9}},
      {&d2, {2, Slice{9, {}}}, {0}},       {&d2, {Slice{}, Slice{4, 1}}, {7, 0}},
      {&d2, {Slice{0, 5, -1}, 3}, {0}},    {&d2, {Slice{0, 0}, Slice{0, 0}}, {0, 0}},
  };
  for (const Case& c : cases) {
    const Shape shape(c.data->shape().begin(), c.data->shape().end());
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = from_xtensor(*c.data, spec);
      const Array y = x.slice(c.index);
      EXPECT_EQ(y.shape(), c.shape);
      EXPECT_EQ(y.size(), 0);
      EXPECT_EQ(y.dtype(), DType::Float64);
      for (const auto& s : all_schedulers()) {
        const xt::xarray<double> got = y.compute<double>({.scheduler = s.get()});
        EXPECT_EQ(Shape(got.shape().begin(), got.shape().end()), c.shape);
      }
    }
  }
  // An empty slice reads nothing and combines with other operations.
  const Array x = from_xtensor(d2, ChunkSpec{2, 4});
  EXPECT_TRUE(matches<double>(x[{Slice{3, 3}}].sum(0), xt::xarray<double>(xt::zeros<double>({9})),
                              *all_schedulers()[2]));
  EXPECT_TRUE(matches<double>(x[{Slice{3, 3}}] * 2.0 + 1.0, xt::xarray<double>::from_shape({0, 9}),
                              *all_schedulers()[0]));
  EXPECT_EQ((x[{Slice{5, 1}}].sum().item<double>()), 0.0);
}

TEST(Slicing, ZeroDimensionalAndZeroSizeInputs) {
  const Array z = scalar(2.5);
  EXPECT_EQ(z.slice({}).shape(), Shape{});
  EXPECT_EQ(z.slice({}).item<double>(), 2.5);
  EXPECT_THROW(z.slice({0}), index_error);
  for (const auto& s : all_schedulers()) {
    const Array e = zeros({3, 0}, ChunkSpec{2, 1}, DType::Int32);
    EXPECT_TRUE(matches<std::int32_t>(e[{1}], xt::xarray<std::int32_t>::from_shape({0}), *s));
    EXPECT_TRUE(matches<std::int32_t>(e[{Slice{{}, {}, -1}}],
                                      xt::xarray<std::int32_t>::from_shape({3, 0}), *s));
    EXPECT_TRUE(matches<std::int32_t>(e[{Slice{1, {}}, Slice{0, 5}}],
                                      xt::xarray<std::int32_t>::from_shape({2, 0}), *s));
    EXPECT_THROW((e[{Slice{}, 0}]), index_error);
  }
}

TEST(Slicing, ExtremeStepsSelectOneElement) {
  // A step longer than the axis selects only the first element in the step's direction; NumPy
  // gives the last element for ::INT64_MIN (negating INT64_MIN is undefined behaviour, and
  // used to give an empty result).
  constexpr index_t lo = std::numeric_limits<index_t>::min();
  constexpr index_t hi = std::numeric_limits<index_t>::max();
  const xt::xarray<double> d{0.0, 1.0, 2.0, 3.0, 4.0};
  for (const ChunkSpec& spec : chunkings({5})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(
          matches<double>(x[{Slice{std::nullopt, std::nullopt, lo}}], xt::xarray<double>{4.0}, *s));
      EXPECT_TRUE(
          matches<double>(x[{Slice{std::nullopt, std::nullopt, hi}}], xt::xarray<double>{0.0}, *s));
      EXPECT_TRUE(matches<double>(x[{Slice{-2, std::nullopt, lo}}], xt::xarray<double>{3.0}, *s));
      EXPECT_TRUE(matches<double>(x[{Slice{1, std::nullopt, hi}}], xt::xarray<double>{1.0}, *s));
      EXPECT_TRUE(matches<double>(x[{Slice{lo, hi, hi}}], xt::xarray<double>{0.0}, *s));
      EXPECT_TRUE(matches<double>(x[{Slice{hi, lo, lo}}], xt::xarray<double>{4.0}, *s));
      EXPECT_TRUE(matches<double>(x[{Slice{1, 1, lo}}], xt::xarray<double>::from_shape({0}), *s));
    }
  }
  const Array e = zeros({0}, 1);
  EXPECT_EQ((e[{Slice{std::nullopt, std::nullopt, lo}}]).shape(), Shape{0});
  // Equal selections share a token, whatever step spelled them.
  const Array x = from_xtensor(d, 2);
  EXPECT_EQ((x[{Slice{std::nullopt, std::nullopt, lo}}]).token(),
            (x[{Slice{std::nullopt, std::nullopt, -5}}]).token());
}

TEST(Slicing, Errors) {
  const Array x = zeros({7, 9}, 3);
  EXPECT_THROW(x.slice({0, 0, 0}), index_error);
  EXPECT_THROW((x[{Slice{}, Slice{}, Slice{}}]), index_error);
  EXPECT_THROW(x[{7}], index_error);
  EXPECT_THROW(x[{index_t{-8}}], index_error);
  EXPECT_THROW((x[{0, 9}]), index_error);
  EXPECT_THROW((x[{0, index_t{-10}}]), index_error);
  EXPECT_THROW((x[{Slice{0, 5, 0}}]), value_error);
  EXPECT_THROW((x[{Slice{}, Slice{{}, {}, 0}}]), value_error);
  const Array e = zeros({0}, 1);
  EXPECT_THROW(e[{0}], index_error);
  EXPECT_NO_THROW((e[{Slice{0, 5}}]));
  try {
    x[{Slice{}, 12}];
    ADD_FAILURE() << "no error";
  } catch (const index_error& err) {
    EXPECT_NE(std::string(err.what()).find("12"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("axis 1"), std::string::npos) << err.what();
  }
}

// --- slices and expressions -----------------------------------------------------------------

TEST(Slicing, SlicesOfExpressions) {
  const xt::xarray<double> d = distinct({7, 9});
  const xt::xarray<double> e = distinct({9});
  for (const ChunkSpec& spec : chunkings({7, 9})) {
    const Array x = from_xtensor(d, spec);
    const Array r = from_xtensor(e, 4);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(matches<double>(
          (x + 1.0)[{Slice{1, 6, 2}, Slice{{}, {}, -1}}],
          xt::xarray<double>(xt::view(d + 1.0, xt::range(1, 6, 2), xt::range(_, _, -1))), *s));
      EXPECT_TRUE(
          matches<double>((x * r)[{index_t{-2}}], xt::xarray<double>(xt::view(d * e, 5)), *s));
      EXPECT_TRUE(matches<bool>((x > 3.0)[{Slice{}, 2}],
                                xt::xarray<bool>(xt::view(d > 3.0, xt::all(), 2)), *s));
      // Slices of reductions and of slices.
      EXPECT_TRUE(
          matches<double>(x.sum(0)[{Slice{{}, {}, -2}}],
                          xt::xarray<double>(xt::view(xt::sum(d, {0}), xt::range(_, _, -2))), *s));
      EXPECT_TRUE(
          matches<double>(x[{Slice{1, {}}}][{Slice{{}, {}, 2}, Slice{-1, 2, -3}}],
                          xt::xarray<double>(xt::view(xt::view(d, xt::range(1, _)),
                                                      xt::range(_, _, 2), xt::range(-1, 2, -3))),
                          *s));
      EXPECT_TRUE(matches<double>(x[{Slice{{}, {}, -1}}][{Slice{{}, {}, -1}}], d, *s));
    }
  }
}

TEST(Slicing, ExpressionsOfSlices) {
  const xt::xarray<double> d = distinct({17});
  const xt::xarray<double> m = distinct({7, 9});
  for (const ChunkSpec& spec : chunkings({17})) {
    const Array x = from_xtensor(d, spec);
    const Array y = from_xtensor(m, ChunkSpec{3, 2});
    for (const auto& s : all_schedulers()) {
      // Two slices of the same array with different chunk boundaries.
      EXPECT_TRUE(matches<double>(
          x[{Slice{0, 8}}] + x[{Slice{9, 17}}],
          xt::xarray<double>(xt::view(d, xt::range(0, 8)) + xt::view(d, xt::range(9, 17))), *s));
      EXPECT_TRUE(matches<double>(x[{Slice{{}, {}, -1}}] - x,
                                  xt::xarray<double>(xt::view(d, xt::range(_, _, -1)) - d), *s));
      EXPECT_TRUE(matches<double>(
          x[{Slice{{}, {}, 2}}] * x[{Slice{{}, {}, -2}}],
          xt::xarray<double>(xt::view(d, xt::range(_, _, 2)) * xt::view(d, xt::range(_, _, -2))),
          *s));
      // A reduction over an expression of slices, and broadcasting a sliced row.
      EXPECT_DOUBLE_EQ((x[{Slice{1, {}, 3}}] * 2.0).sum().item<double>({.scheduler = s.get()}),
                       xt::sum(xt::view(d, xt::range(1, _, 3)) * 2.0)());
      EXPECT_TRUE(
          matches<double>(y + y[{index_t{-1}}], xt::xarray<double>(m + xt::view(m, 6)), *s));
      EXPECT_TRUE(matches<double>(
          y[{Slice{}, 3}] + y[{Slice{{}, {}, -1}, index_t{-1}}],
          xt::xarray<double>(xt::view(m, xt::all(), 3) + xt::view(m, xt::range(_, _, -1), 8)), *s));
    }
  }
}

// --- random sweep against an element-by-element reference -------------------------------------

/// Python's slice.indices: the positions a slice selects from an axis of length n.
std::vector<index_t> python_indices(const Slice& s, index_t n) {
  const index_t lower = s.step > 0 ? 0 : -1, upper = s.step > 0 ? n : n - 1;
  auto bound = [&](std::optional<index_t> v, index_t dflt) {
    if (!v) return dflt;
    index_t b = *v;
    if (b < 0) {
      b += n;
      if (b < lower) b = lower;
    } else if (b > upper) {
      b = upper;
    }
    return b;
  };
  const index_t start = bound(s.start, s.step > 0 ? lower : upper);
  const index_t stop = bound(s.stop, s.step > 0 ? upper : lower);
  std::vector<index_t> out;
  for (index_t i = start; s.step > 0 ? i < stop : i > stop; i += s.step) out.push_back(i);
  return out;
}

/// data[index], gathered element by element.
xt::xarray<double> gather(const xt::xarray<double>& data, const Index& index) {
  const std::size_t nd = data.dimension();
  std::vector<std::vector<index_t>> pos(nd);
  std::vector<std::size_t> out_shape;
  for (std::size_t a = 0; a < nd; ++a) {
    const auto n = static_cast<index_t>(data.shape()[a]);
    const IndexItem item = a < index.size() ? index[a] : IndexItem(Slice{});
    if (const auto* i = std::get_if<index_t>(&item)) {
      pos[a] = {*i < 0 ? *i + n : *i};
    } else {
      pos[a] = python_indices(std::get<Slice>(item), n);
      out_shape.push_back(pos[a].size());
    }
  }
  xt::xarray<double> out = xt::xarray<double>::from_shape(out_shape);
  std::vector<std::size_t> k(nd, 0);
  for (std::size_t o = 0; o < out.size(); ++o) {
    std::size_t flat = 0;
    for (std::size_t a = 0; a < nd; ++a)
      flat = flat * data.shape()[a] + static_cast<std::size_t>(pos[a][k[a]]);
    out.flat(o) = data.flat(flat);
    for (std::size_t a = nd; a-- > 0;) {
      if (++k[a] < pos[a].size()) break;
      k[a] = 0;
    }
  }
  return out;
}

TEST(Slicing, RandomIndicesMatchElementByElementReference) {
  std::uint64_t h = 12345;
  auto next = [&](index_t lo, index_t hi) {  // in [lo, hi]
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<index_t>((h >> 33) % static_cast<std::uint64_t>(hi - lo + 1));
  };
  const auto schedulers = all_schedulers();
  std::size_t turn = 0;
  for (const Shape& shape : {Shape{23}, Shape{7, 9}, Shape{4, 5, 6}}) {
    const xt::xarray<double> d = distinct(shape);
    std::vector<Array> arrays;
    for (const ChunkSpec& spec : chunkings(shape)) arrays.push_back(from_xtensor(d, spec));
    for (int trial = 0; trial < 60; ++trial) {
      Index index;
      const auto items = next(0, static_cast<index_t>(shape.size()));
      for (index_t a = 0; a < items; ++a) {
        const index_t n = shape[static_cast<std::size_t>(a)];
        if (next(0, 4) == 0) {
          index.emplace_back(next(-n, n - 1));
          continue;
        }
        static constexpr index_t steps[] = {1, 1, 2, 3, 5, 9, -1, -1, -2, -3, -4, -11};
        Slice s;
        s.step = steps[next(0, 11)];
        if (next(0, 2)) s.start = next(-n - 3, n + 3);
        if (next(0, 2)) s.stop = next(-n - 3, n + 3);
        index.emplace_back(s);
      }
      const xt::xarray<double> expected = gather(d, index);
      for (const Array& x : arrays) {
        Scheduler& s = *schedulers[turn++ % schedulers.size()];
        ASSERT_TRUE(matches<double>(x.slice(index), expected, s))
            << "trial " << trial << " of " << shape_string(shape);
      }
    }
  }
}

// --- tokens
// ---------------------------------------------------------------------------------------

TEST(Slicing, EquivalentSlicesShareATokenAndDifferentOnesDoNot) {
  const Array x = arange(20, {.chunks = 6});
  EXPECT_EQ((x[{Slice{2, 9}}].token()), (x[{Slice{2, 9}}].token()));
  EXPECT_EQ((x[{Slice{2, 9}}].token()), (x[{Slice{-18, -11, 1}}].token()));  // same selection
  EXPECT_EQ((x[{Slice{{}, {}, -1}}].token()), (x[{Slice{19, -100, -1}}].token()));
  EXPECT_NE((x[{Slice{2, 9}}].token()), (x[{Slice{2, 10}}].token()));
  EXPECT_NE((x[{Slice{2, 9}}].token()), (x[{Slice{2, 9, 2}}].token()));
  EXPECT_NE((x[{Slice{3, 4}}].token()), (x[{3}].token()));  // keeps vs drops the axis
  EXPECT_NE((x[{Slice{2, 9}}].token()), ((x + 0)[{Slice{2, 9}}].token()));
}

}  // namespace
}  // namespace tessera::testing
