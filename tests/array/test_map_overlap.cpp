// map_overlap: a stencil that weighs every neighbour in its box differently (so a halo element
// from the wrong place shows) against a whole-array reference that maps each neighbour through
// the boundary rule itself; every boundary mode and a mix per axis, 1-d to 3-d, depths up to the
// array's extent (larger than some chunks), every chunking and scheduler; only halo slabs are
// pieces; a stencil called band by band gives the same; and the errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// The weight of offset `o` in a box of half-width d: 1 + its row-major index in the box.
double weight(const Shape& o, index_t d) {
  double w = 0;
  for (index_t v : o) w = w * static_cast<double>(2 * d + 1) + static_cast<double>(v + d);
  return 1 + w;
}

/// Calls f(o) for every offset o of the box [-d, d] over nd axes.
template <class F>
void for_each_offset(std::size_t nd, index_t d, F&& f) {
  Shape o(nd, -d);
  for (;;) {
    f(o);
    std::size_t a = nd;
    while (a > 0 && ++o[a - 1] > d) o[--a] = -d;
    if (a == 0) return;
  }
}

Shape unravel(index_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    idx[a] = flat % shape[a];
    flat /= shape[a];
  }
  return idx;
}

/// The stencil: each element of the chunk, the weighted sum of the neighbours the grown block
/// holds (all of them, except past the edges with Boundary::none).
BlockKernel stencil(index_t d) {
  return [d](const BlockInfo& info, std::span<const Block> in) {
    const Block& grown = in[0];
    const Shape& gshape = grown.shape();
    const Shape gstride = row_major_strides(gshape);
    const std::size_t nd = gshape.size();
    Block out(DType::Float64, info.output.shape);
    const double* g = grown.data_as<double>();
    double* o = out.data_as<double>();
    for (index_t i = 0; i < out.size(); ++i) {
      const Shape local = unravel(i, info.output.shape);
      double acc = 0;
      for_each_offset(nd, d, [&](const Shape& off) {
        index_t flat = 0;
        for (std::size_t a = 0; a < nd; ++a) {
          const index_t p = info.output.offset[a] - info.inputs[0].offset[a] + local[a] + off[a];
          if (p < 0 || p >= gshape[a]) return;
          flat += p * gstride[a];
        }
        acc += weight(off, d) * g[flat];
      });
      o[i] = acc;
    }
    return out;
  };
}

/// The stencil on the whole array, each neighbour mapped through the boundary rules.
xt::xarray<double> reference(const xt::xarray<double>& x, index_t d,
                             const std::vector<Boundary>& b) {
  const Shape shape(x.shape().begin(), x.shape().end());
  const std::size_t nd = shape.size();
  xt::xarray<double> out = xt::zeros<double>(x.shape());
  const Shape stride = row_major_strides(shape);
  for (index_t i = 0; i < shape_size(shape); ++i) {
    const Shape idx = unravel(i, shape);
    double acc = 0;
    for_each_offset(nd, d, [&](const Shape& off) {
      index_t flat = 0;
      std::optional<double> constant;
      for (std::size_t a = 0; a < nd; ++a) {
        const index_t n = shape[a];
        index_t j = idx[a] + off[a];
        if (j < 0 || j >= n) {
          switch (b[a].kind) {
            case Boundary::Kind::none:
              return;  // not in the grown block
            case Boundary::Kind::periodic:
              j = j < 0 ? j + n : j - n;
              break;
            case Boundary::Kind::reflect:
              j = j < 0 ? -j - 1 : 2 * n - j - 1;
              break;
            case Boundary::Kind::nearest:
              j = j < 0 ? 0 : n - 1;
              break;
            case Boundary::Kind::constant:
              if (!constant) constant = b[a].value;
              j = 0;
              break;
          }
        }
        flat += j * stride[a];
      }
      acc += weight(off, d) * (constant ? *constant : x.flat(static_cast<std::size_t>(flat)));
    });
    out.flat(static_cast<std::size_t>(i)) = acc;
  }
  return out;
}

TEST(MapOverlap, EveryBoundaryDepthAndChunkingMatchesTheWholeArray) {
  const std::vector<std::vector<Boundary>> modes{
      {Boundary::periodic()},
      {Boundary::reflect()},
      {Boundary::nearest()},
      {Boundary::constant(-7)},
      {Boundary::none()},
      {Boundary::periodic(), Boundary::constant(2.5), Boundary::reflect()}};  // per axis
  for (const Shape& shape : std::vector<Shape>{{17}, {7, 5}, {4, 3, 5}, {1, 6}, {0, 4}}) {
    const xt::xarray<double> d = distinct_values(shape);
    const index_t smallest = *std::min_element(shape.begin(), shape.end());
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = from_xtensor(d, spec);
      for (index_t depth : {index_t{1}, index_t{3}, smallest}) {
        if (depth > smallest) continue;
        for (std::vector<Boundary> b : modes) {
          if (b.size() > 1) b.resize(shape.size(), Boundary::nearest());
          if (b.size() == 1) {
            const Boundary one = b[0];
            b.assign(shape.size(), one);
          }
          const Array y = map_overlap(stencil(depth), x, {depth}, b);
          // And as a stencil called on bands of rows (as few as the options allow: 4 depths).
          const Array banded =
              map_overlap(stencil(depth), x, {depth}, b, {.stencil = true, .band_bytes = 1});
          EXPECT_EQ(y.chunks(), x.chunks());
          const xt::xarray<double> want = reference(d, depth, b);
          for (const auto& s : all_schedulers()) {
            ASSERT_TRUE(matches<double>(y, want, *s))
                << "depth " << depth << ", chunks " << x.chunks().to_string() << ", boundary "
                << static_cast<int>(b[0].kind);
            ASSERT_TRUE(matches<double>(banded, want, *s))
                << "banded, depth " << depth << ", chunks " << x.chunks().to_string();
          }
        }
      }
    }
  }
}

TEST(MapOverlap, SeveralArraysGrownAlike) {
  // The kernel gets one grown block per array (the second in other chunks, aligned first) and
  // adds the stencil of the first to twice that of the second.
  const Shape shape{9, 7};
  const xt::xarray<double> dx = distinct_values(shape);
  const xt::xarray<double> dy = xt::xarray<double>(dx * dx * 0.01 - 3.0);
  const Array x = from_xtensor(dx, ChunkSpec{4, 3}), y = from_xtensor(dy, ChunkSpec{2, 5});
  for (index_t depth : {index_t{1}, index_t{2}}) {
    const BlockKernel one = stencil(depth);
    const BlockKernel both = [one](const BlockInfo& info, std::span<const Block> in) {
      BlockInfo first = info, second = info;
      first.inputs = {info.inputs[0]};
      second.inputs = {info.inputs[1]};
      Block out = one(first, in.subspan(0, 1));
      out.view<double>() += 2.0 * one(second, in.subspan(1, 1)).view<double>();
      return out;
    };
    const std::vector<Boundary> b{Boundary::reflect(), Boundary::periodic()};
    const xt::xarray<double> want = reference(dx, depth, b) + 2.0 * reference(dy, depth, b);
    const Array z = map_overlap(both, {x, y}, {depth}, b);
    const Array banded = map_overlap(both, {x, y}, {depth}, b, {.stencil = true, .band_bytes = 1});
    EXPECT_EQ(z.chunks(), x.chunks());
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(z, want, *s, 1e-12));
      ASSERT_TRUE(matches<double>(banded, want, *s, 1e-12));
    }
  }
  EXPECT_THROW((void)map_overlap(stencil(1), {x, zeros({9, 6}, 3)}, {1}, {Boundary::none()}),
               shape_error);
  EXPECT_THROW((void)map_overlap(stencil(1), std::vector<Array>{}, {1}, {Boundary::none()}),
               value_error);
}

TEST(MapOverlap, ComputedInputsAndTheTypedForm) {
  // A fused chain as the input (its halo pieces are evaluated for their regions), through the
  // typed form on xtensor views, and a result used in a larger expression.
  const Shape shape{12, 10};
  const xt::xarray<double> d = distinct_values(shape);
  const Array x = from_xtensor(d, {5, 4});
  const auto laplacian = [](const BlockInfo&, auto& out, const auto& u) {
    for (std::size_t i = 0; i < out.shape()[0]; ++i) {
      for (std::size_t j = 0; j < out.shape()[1]; ++j) {
        out(i, j) =
            u(i, j + 1) + u(i + 2, j + 1) + u(i + 1, j) + u(i + 1, j + 2) - 4.0 * u(i + 1, j + 1);
      }
    }
  };
  const Array lap = map_overlap<double>(laplacian, 2.0 * x + 1.0, {1}, {Boundary::periodic()});
  // The typed stencil writes its bands straight into the output chunk.
  const Array banded = map_overlap<double>(laplacian, 2.0 * x + 1.0, {1}, {Boundary::periodic()},
                                           {.stencil = true, .band_bytes = 1});
  xt::xarray<double> want = xt::zeros<double>({12, 10});
  const xt::xarray<double> u = 2.0 * d + 1.0;
  for (int i = 0; i < 12; ++i) {
    for (int j = 0; j < 10; ++j) {
      want(i, j) = u((i + 11) % 12, j) + u((i + 1) % 12, j) + u(i, (j + 9) % 10) +
                   u(i, (j + 1) % 10) - 4.0 * u(i, j);
    }
  }
  for (const auto& s : all_schedulers()) {
    ASSERT_TRUE(matches<double>(lap, want, *s));
    ASSERT_TRUE(matches<double>(banded, want, *s));
    ASSERT_TRUE(matches<double>(lap + x, xt::xarray<double>(want + d), *s));
  }
}

TEST(MapOverlap, OnlyHaloSlabsArePieces) {
  // A 4 x 4 grid of stored 25 x 25 chunks, depth 1, periodic: every output chunk reads its own
  // chunk whole and 8 slabs of its neighbours (4 edges of 25 x 1, 4 corners of 1 x 1), each a
  // piece read where the chunk lives; no neighbour is read whole.
  const Array x = from_xtensor(distinct_values({100, 100}), {25, 25});
  const Array y = map_overlap(stencil(1), x, {1}, {Boundary::periodic()});
  const LoweredGraph g = y.lower();
  std::size_t regions = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < g.graph.size(); ++t) {
    regions += g.graph.label(t).find("-region") != std::string_view::npos;
    if (g.graph.label(t).find("map_overlap") != std::string_view::npos) {
      EXPECT_EQ(g.graph.deps(t).size(), 9u);
    }
  }
  EXPECT_EQ(regions, 16u * 8u);
}

TEST(MapOverlap, BadArgumentsRaiseWhenBuilt) {
  const Array x = zeros({6, 4}, 2);
  const auto copy = [](const BlockInfo&, std::span<const Block> in) { return in[0]; };
  EXPECT_THROW(map_overlap(copy, x, {5}, {Boundary::periodic()}), value_error);  // 5 > 4
  EXPECT_THROW(map_overlap(copy, x, {-1}, {Boundary::none()}), value_error);
  EXPECT_THROW(map_overlap(copy, x, {1, 1, 1}, {Boundary::none()}), value_error);
  EXPECT_THROW(map_overlap(copy, x, {1}, {Boundary::none(), Boundary::none(), Boundary::none()}),
               value_error);
  EXPECT_THROW(map_overlap(BlockKernel{}, x, {1}, {Boundary::none()}), value_error);
  EXPECT_THROW((void)map_overlap<std::int32_t>([](const BlockInfo&, auto&, const auto&) {}, x, {1},
                                               {Boundary::none()}),
               dtype_error);
  try {
    (void)map_overlap(copy, x, {5}, {Boundary::periodic()});
  } catch (const value_error& e) {
    EXPECT_NE(std::string(e.what()).find("depth 5 along axis 1 of an array of shape (6, 4)"),
              std::string::npos)
        << e.what();
  }
  // A kernel that returns the grown block instead of the chunk fails the compute everywhere.
  const Array wrong = map_overlap(copy, x, {1}, {Boundary::nearest()}, {.name = "mine"});
  for (const auto& s : all_schedulers()) {
    try {
      (void)wrong.compute_block({.scheduler = s.get()});
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("map_overlap 'mine': the kernel returned a float64 "
                                           "block of shape (4, 4)"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace tessera::testing
