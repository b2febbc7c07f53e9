// Shape operations against a serial reference built element by element from the operation's
// index mapping (independent of the chunked code): every chunking of the input (one chunk,
// uneven, irregular, single elements), size-0 and size-1 axes, every scheduler; the chunks
// each operation gives; and bad input.

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

using Index = std::vector<index_t>;
/// Output index -> input index (nullopt: a constant).
using Mapping = std::function<std::optional<Index>(const Index&)>;

/// The reference: out[i] = in[map(i)] (or `fill`), row-major over `out_shape`.
xt::xarray<double> build(const xt::xarray<double>& in, const Shape& out_shape, const Mapping& map,
                         double fill = 0) {
  xt::xarray<double> out =
      xt::xarray<double>::from_shape(std::vector<std::size_t>(out_shape.begin(), out_shape.end()));
  const Shape in_shape(in.shape().begin(), in.shape().end());
  const Shape in_stride = row_major_strides(in_shape);
  Index idx(out_shape.size(), 0);
  for (std::size_t f = 0; f < out.size(); ++f) {
    const auto src = map(idx);
    if (!src) {
      out.flat(f) = fill;
    } else {
      index_t off = 0;
      for (std::size_t a = 0; a < src->size(); ++a) off += (*src)[a] * in_stride[a];
      out.flat(f) = in.flat(static_cast<std::size_t>(off));
    }
    for (std::size_t a = idx.size(); a > 0; --a) {
      if (++idx[a - 1] < out_shape[a - 1]) break;
      idx[a - 1] = 0;
    }
  }
  return out;
}

/// op(x) equals the reference for every chunking of an input of `shape` and every scheduler.
void check(const Shape& shape, const std::function<Array(const Array&)>& op, const Shape& out_shape,
           const Mapping& map, double fill = 0) {
  const xt::xarray<double> d = distinct_values(shape);
  const xt::xarray<double> want = build(d, out_shape, map, fill);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    const Array y = op(x);
    ASSERT_EQ(y.shape(), out_shape);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(y, want, *s)) << "input chunks " << x.chunks().to_string();
    }
  }
}

Mapping flat(const Shape& in_shape, const Shape& out_shape) {
  return [=](const Index& o) {
    const Shape os = row_major_strides(out_shape);
    index_t f = 0;
    for (std::size_t a = 0; a < o.size(); ++a) f += o[a] * os[a];
    Index i(in_shape.size());
    for (std::size_t a = in_shape.size(); a > 0; --a) {
      i[a - 1] = f % in_shape[a - 1];
      f /= in_shape[a - 1];
    }
    return std::optional<Index>(i);
  };
}

TEST(Manipulation, PermuteDimsAndFriends) {
  const Shape s{4, 3, 5};
  for (const std::vector<int>& perm : std::vector<std::vector<int>>{
           {0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {1, 0, 2}}) {
    Shape out;
    for (int p : perm) out.push_back(s[static_cast<std::size_t>(p)]);
    const Mapping m = [perm](const Index& o) {
      Index i(o.size());
      for (std::size_t k = 0; k < o.size(); ++k) i[static_cast<std::size_t>(perm[k])] = o[k];
      return std::optional<Index>(i);
    };
    check(
        s, [&](const Array& x) { return permute_dims(x, perm); }, out, m);
  }
  const Mapping rev = [](const Index& o) {
    return std::optional<Index>(Index(o.rbegin(), o.rend()));
  };
  check(
      {7, 5}, [](const Array& x) { return transpose(x); }, {5, 7}, rev);
  check(
      {7, 5}, [](const Array& x) { return matrix_transpose(x); }, {5, 7}, rev);
  check(
      {0, 3}, [](const Array& x) { return transpose(x); }, {3, 0}, rev);
  check(
      {6}, [](const Array& x) { return transpose(x); }, {6}, rev);
  const Mapping swap02 = [](const Index& o) {
    return std::optional<Index>(Index{o[2], o[1], o[0]});
  };
  check(
      s, [](const Array& x) { return swapaxes(x, 0, -1); }, {5, 3, 4}, swap02);
  // moveaxis(x, 0, -1): (4, 3, 5) -> (3, 5, 4); out (j, k, i) = in (i, j, k).
  check(
      s, [](const Array& x) { return moveaxis(x, 0, -1); }, {3, 5, 4},
      [](const Index& o) {
        return std::optional<Index>(Index{o[2], o[0], o[1]});
      });
  check(
      s,
      [](const Array& x) {
        return moveaxis(x, {0, 1}, {-1, -2});
      },
      {5, 3, 4}, swap02);
  // A transpose of a big chunk: the tiled copy's edges.
  check(
      {70, 45}, [](const Array& x) { return transpose(x); }, {45, 70}, rev);
}

TEST(Manipulation, SqueezeAndExpandDims) {
  check(
      {1, 4, 1}, [](const Array& x) { return squeeze(x); }, {4}, flat({1, 4, 1}, {4}));
  check(
      {1, 4, 1}, [](const Array& x) { return squeeze(x, 2); }, {1, 4}, flat({1, 4, 1}, {1, 4}));
  check(
      {5, 3},
      [](const Array& x) {
        return expand_dims(x, {0, 2});
      },
      {1, 5, 1, 3}, flat({5, 3}, {1, 5, 1, 3}));
  check(
      {5, 3}, [](const Array& x) { return expand_dims(x, -1); }, {5, 3, 1},
      flat({5, 3}, {5, 3, 1}));
  check(
      {0, 1}, [](const Array& x) { return squeeze(x); }, {0}, flat({0, 1}, {0}));
  EXPECT_EQ(squeeze(from_xtensor(distinct_values({1, 6}), {1, 2})).chunks(),
            ChunkGrid({{2, 2, 2}}));
}

TEST(Manipulation, BroadcastTo) {
  check(
      {3, 1},
      [](const Array& x) {
        return broadcast_to(x, {2, 3, 4});
      },
      {2, 3, 4},
      [](const Index& o) {
        return std::optional<Index>(Index{o[1], 0});
      });
  check(
      {5},
      [](const Array& x) {
        return broadcast_to(x, {3, 5});
      },
      {3, 5}, [](const Index& o) { return std::optional<Index>(Index{o[1]}); });
  // Fused into what consumes it, and rechunked piece by piece.
  const xt::xarray<double> d = distinct_values({1, 6});
  const Array x = from_xtensor(d, {1, 4});
  for (const auto& s : all_schedulers()) {
    const Array b = rechunk(broadcast_to(x, {9, 6}), {4, 3});
    EXPECT_DOUBLE_EQ(b.sum().item<double>({.scheduler = s.get()}), 9 * xt::sum(d)());
  }
  auto xs = broadcast_arrays({x, from_xtensor(distinct_values({4, 1}), 2)});
  EXPECT_EQ(xs[0].shape(), (Shape{4, 6}));
  EXPECT_EQ(xs[1].shape(), (Shape{4, 6}));
}

TEST(Manipulation, ConcatenateAndStack) {
  for (const Shape& s : std::vector<Shape>{{4, 5}, {0, 5}}) {
    const xt::xarray<double> a = distinct_values(s), b = distinct_values({3, 5}) + 100.0;
    const xt::xarray<double> want = xt::concatenate(xt::xtuple(a, b), 0);
    for (const ChunkSpec& sa : chunkings(s)) {
      for (const ChunkSpec& sb : chunkings({3, 5})) {
        const Array y = concatenate({from_xtensor(a, sa), from_xtensor(b, sb)});
        for (const auto& sch : all_schedulers()) ASSERT_TRUE(matches<double>(y, want, *sch));
      }
    }
  }
  const xt::xarray<double> a = distinct_values({4, 2}), b = distinct_values({4, 3});
  const xt::xarray<double> want = xt::concatenate(xt::xtuple(a, b, a), 1);
  const Array ya = from_xtensor(a, {3, 1}), yb = from_xtensor(b, {2, 2});
  for (const auto& s : all_schedulers()) {
    ASSERT_TRUE(matches<double>(concatenate({ya, yb, ya}, -1), want, *s));
    ASSERT_TRUE(matches<double>(stack({ya, ya + 1.0}, 1),
                                xt::xarray<double>(xt::stack(xt::xtuple(a, a + 1.0), 1)), *s));
  }
  // Promotion: int32 and float32 give float64.
  const Array i = from_xtensor(xt::xarray<std::int32_t>{1, 2}, 1);
  const Array f = from_xtensor(xt::xarray<float>{0.5f}, 1);
  EXPECT_EQ(concatenate({i, f}).dtype(), DType::Float64);
  EXPECT_TRUE(
      matches<double>(concatenate({i, f}), xt::xarray<double>{1, 2, 0.5}, *all_schedulers()[0]));
}

TEST(Manipulation, FlipRollTileRepeat) {
  const Shape s{5, 4};
  check(
      s, [](const Array& x) { return flip(x); }, s,
      [](const Index& o) {
        return std::optional<Index>(Index{4 - o[0], 3 - o[1]});
      });
  check(
      s, [](const Array& x) { return flip(x, 1); }, s,
      [](const Index& o) {
        return std::optional<Index>(Index{o[0], 3 - o[1]});
      });
  for (index_t shift : {index_t{0}, index_t{2}, index_t{-3}, index_t{11}}) {
    check(
        s, [&](const Array& x) { return roll(x, shift, 0); }, s,
        [&](const Index& o) {
          return std::optional<Index>(Index{((o[0] - shift) % 5 + 5) % 5, o[1]});
        });
    check(
        s, [&](const Array& x) { return roll(x, shift); }, s,
        [&](const Index& o) {
          const index_t f = ((o[0] * 4 + o[1] - shift) % 20 + 20) % 20;
          return std::optional<Index>(Index{f / 4, f % 4});
        });
  }
  check(
      s,
      [](const Array& x) {
        return tile(x, {2, 3});
      },
      {10, 12},
      [](const Index& o) {
        return std::optional<Index>(Index{o[0] % 5, o[1] % 4});
      });
  check(
      s,
      [](const Array& x) {
        return tile(x, {2, 1, 2});
      },
      {2, 5, 8},
      [](const Index& o) {
        return std::optional<Index>(Index{o[1], o[2] % 4});
      });
  check(
      s,
      [](const Array& x) {
        return tile(x, {0, 1});
      },
      {0, 4}, [](const Index& o) { return std::optional<Index>(o); });
  check(
      s, [](const Array& x) { return repeat(x, 3, 1); }, {5, 12},
      [](const Index& o) {
        return std::optional<Index>(Index{o[0], o[1] / 3});
      });
  check(
      s, [](const Array& x) { return repeat(x, 2, 0); }, {10, 4},
      [](const Index& o) {
        return std::optional<Index>(Index{o[0] / 2, o[1]});
      });
  check(
      s, [](const Array& x) { return repeat(x, 2); }, {40},
      [](const Index& o) {
        const index_t f = o[0] / 2;
        return std::optional<Index>(Index{f / 4, f % 4});
      });
}

TEST(Manipulation, PadEveryMode) {
  const Shape s{5, 4};
  const std::vector<std::pair<index_t, index_t>> w{{2, 1}, {0, 3}};
  auto map = [&](PadMode mode) -> Mapping {
    return [=](const Index& o) -> std::optional<Index> {
      Index i(2);
      for (std::size_t a = 0; a < 2; ++a) {
        const index_t n = s[a];
        index_t j = o[a] - w[a].first;
        if (j < 0 || j >= n) {
          switch (mode) {
            case PadMode::constant:
              return std::nullopt;
            case PadMode::edge:
              j = j < 0 ? 0 : n - 1;
              break;
            case PadMode::reflect:
              j = j < 0 ? -j : 2 * (n - 1) - j;
              break;
            case PadMode::symmetric:
              j = j < 0 ? -j - 1 : 2 * n - 1 - j;
              break;
            case PadMode::wrap:
              j = j < 0 ? j + n : j - n;
              break;
          }
        }
        i[a] = j;
      }
      return i;
    };
  };
  for (PadMode mode :
       {PadMode::constant, PadMode::edge, PadMode::reflect, PadMode::symmetric, PadMode::wrap}) {
    check(
        s, [&](const Array& x) { return pad(x, w, {.mode = mode, .value = -7}); }, {8, 7},
        map(mode), -7);
  }
  // One pair for every axis.
  check(
      {3},
      [](const Array& x) {
        return pad(x, {{1, 2}}, {.value = 9});
      },
      {6},
      [](const Index& o) -> std::optional<Index> {
        if (o[0] < 1 || o[0] > 3) return std::nullopt;
        return Index{o[0] - 1};
      },
      9);
}

TEST(Manipulation, Reshape) {
  const Shape s{6, 4};
  for (const Shape& out : std::vector<Shape>{
           {24}, {4, 6}, {2, 3, 4}, {3, 8}, {12, 2}, {1, 24}, {24, 1}, {2, 12}, {8, 3}}) {
    check(
        s, [&](const Array& x) { return reshape(x, out); }, out, flat(s, out));
  }
  check(
      {2, 3, 4},
      [](const Array& x) {
        return reshape(x, {4, -1});
      },
      {4, 6}, flat({2, 3, 4}, {4, 6}));
  check(
      {2, 3, 4}, [](const Array& x) { return ravel(x); }, {24}, flat({2, 3, 4}, {24}));
  check(
      {17},
      [](const Array& x) {
        return reshape(x, {17, 1});
      },
      {17, 1}, flat({17}, {17, 1}));
  check(
      {0, 3},
      [](const Array& x) {
        return reshape(x, {3, 0});
      },
      {3, 0}, flat({0, 3}, {3, 0}));
  // A reshape of a fused chain: its pieces are computed for their regions.
  const Array r = default_rng(2).uniform(0, 1, {30, 20}, {7, 20});
  for (const auto& sch : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = sch.get()});
    EXPECT_TRUE(matches<double>(reshape(r, {20, 30}),
                                xt::xarray<double>(xt::reshape_view(rv, {20, 30})), *sch));
  }
  // Size-1 axes only: the chunks stay.
  const Array x = from_xtensor(distinct_values({6, 4}), {2, 3});
  EXPECT_EQ(reshape(x, {1, 6, 4, 1}).chunks(), ChunkGrid({{1}, {2, 2, 2}, {3, 1}, {1}}));
}

TEST(Manipulation, BadInputRaisesNamingTheProblem) {
  const Array x = from_xtensor(distinct_values({6, 4}), {2, 3});
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THROW(reshape(x, {5, 5}), shape_error);
  EXPECT_NE(message([&] {
              reshape(x, {5, 5});
            }).find("size 24 into shape (5, 5)"),
            std::string::npos);
  EXPECT_THROW(reshape(x, {-1, -1}), value_error);
  EXPECT_THROW(reshape(x, {7, -1}), shape_error);
  EXPECT_THROW(permute_dims(x, {0}), index_error);
  EXPECT_THROW(permute_dims(x, {0, 0}), index_error);
  EXPECT_THROW(permute_dims(x, {0, 2}), index_error);
  EXPECT_THROW(swapaxes(x, 0, 2), index_error);
  EXPECT_THROW(squeeze(x, 0), shape_error);
  EXPECT_THROW(expand_dims(x, 3), index_error);
  EXPECT_THROW(broadcast_to(x, {6, 5}), shape_error);
  EXPECT_THROW(broadcast_to(x, {4}), shape_error);
  EXPECT_THROW(concatenate({}), value_error);
  EXPECT_THROW(concatenate({x, from_xtensor(distinct_values({6}), 2)}), value_error);
  EXPECT_THROW(concatenate({x, from_xtensor(distinct_values({6, 5}), 2)}), shape_error);
  EXPECT_NE(message([&] {
              concatenate({x, from_xtensor(distinct_values({5, 5}), 2)}, 1);
            })
                .find("along dimension 0, the array at index 0 has size 6 and the array at index "
                      "1 has size 5"),
            std::string::npos);
  EXPECT_THROW(concatenate({x, x}, 2), index_error);
  EXPECT_THROW(stack({x, from_xtensor(distinct_values({6, 5}), 2)}), shape_error);
  EXPECT_THROW(pad(x, {{1, 1}, {1, 1}, {1, 1}}), value_error);
  EXPECT_THROW(pad(x, {{-1, 0}}), value_error);
  EXPECT_THROW(pad(x, {{6, 0}}, {.mode = PadMode::reflect}), value_error);
  EXPECT_THROW(pad(from_xtensor(distinct_values({0, 2}), 1), {{1, 0}}, {.mode = PadMode::edge}),
               value_error);
  EXPECT_THROW(tile(x, {-1}), value_error);
  EXPECT_THROW(repeat(x, -1), value_error);
  EXPECT_THROW(repeat(x, (index_t{1} << 62) + 1, 0), shape_error);  // 6 * (2^62 + 1) overflows
  EXPECT_THROW(moveaxis(x, {0}, {1, 0}), value_error);
}

}  // namespace
}  // namespace tessera::testing
