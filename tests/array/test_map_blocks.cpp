// map_blocks: user kernels on chunks against whole-array xtensor references, on every chunking
// (uneven, single elements, size-0 and size-1 axes) and every scheduler; several inputs with
// different chunkings; the block info; dropped and new axes; mixed dtypes; and the errors (bad
// arguments when the expression is built, a throwing kernel and a wrong-shaped result on every
// rank).

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

const std::vector<Shape> kShapes{{17}, {7, 5}, {4, 3, 5}, {1, 6}, {0, 4}, {5, 0}};

TEST(MapBlocks, ElementwiseKernelsMatchTheWholeArray) {
  for (const Shape& shape : kShapes) {
    const xt::xarray<double> d = distinct_values(shape);
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = from_xtensor(d, spec);
      // A typed kernel on views of the chunks, and the untyped form on Blocks.
      const Array y = map_blocks<double>(
          [](const BlockInfo&, auto& out, const auto& in) { out = 2.0 * in * in - 1.0; }, x);
      const Array z = map_blocks(
          [](const BlockInfo& info, std::span<const Block> in) {
            Block out(DType::Float64, info.output.shape);
            out.view<double>() = xt::abs(in[0].view<double>());
            return out;
          },
          {x});
      EXPECT_EQ(y.chunks(), x.chunks());
      for (const auto& s : all_schedulers()) {
        ASSERT_TRUE(matches<double>(y, xt::xarray<double>(2.0 * d * d - 1.0), *s))
            << x.chunks().to_string();
        ASSERT_TRUE(matches<double>(z, xt::xarray<double>(xt::abs(d)), *s));
        // And inside a larger expression: a reduction over it (xtensor's full sum of an empty
        // array is undefined behaviour, so the reference is a loop).
        double total = 0;
        for (const double v : d) total += 2.0 * v * v - 1.0;
        EXPECT_NEAR(y.sum().item<double>({.scheduler = s.get()}), total,
                    1e-12 * (1 + std::abs(total)));
      }
    }
  }
}

TEST(MapBlocks, TheKernelIsToldWhereItsChunkLies) {
  // Each element becomes its own global flat index, computed from the block info alone.
  for (const Shape& shape : std::vector<Shape>{{17}, {7, 5}, {4, 3, 5}}) {
    xt::xarray<double> flat = xt::arange<double>(static_cast<double>(shape_size(shape)));
    flat.reshape(std::vector<std::size_t>(shape.begin(), shape.end()));
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = zeros(shape, spec);
      const Array where = map_blocks<double>(
          [](const BlockInfo& info, auto& out, const auto&) {
            const Shape strides = row_major_strides(info.array_shape);
            const Shape local = row_major_strides(info.output.shape);
            for (std::size_t i = 0; i < out.size(); ++i) {
              index_t g = 0, rest = static_cast<index_t>(i);
              for (std::size_t a = 0; a < local.size(); ++a) {
                g += (info.output.offset[a] + rest / local[a]) * strides[a];
                rest %= local[a];
              }
              out.flat(i) = static_cast<double>(g);
            }
            EXPECT_EQ(info.inputs.size(), 1u);
            EXPECT_EQ(info.inputs[0].offset, info.output.offset);
            EXPECT_EQ(info.num_blocks.size(), info.array_shape.size());
          },
          x);
      for (const auto& s : all_schedulers()) ASSERT_TRUE(matches<double>(where, flat, *s));
    }
  }
}

TEST(MapBlocks, SeveralInputsOfDifferentChunkingsAndDtypes) {
  const Shape shape{9, 8};
  const xt::xarray<double> d = distinct_values(shape);
  const xt::xarray<std::int64_t> k = xt::cast<std::int64_t>(d) % 3;
  for (const ChunkSpec& a : chunkings(shape)) {
    for (const ChunkSpec& b : chunkings(shape)) {
      const Array x = from_xtensor(d, a);
      const Array m = from_xtensor(k, b);  // aligned to x's chunks
      const Array y = map_blocks<double, double, std::int64_t>(
          [](const BlockInfo&, auto& out, const auto& xv, const auto& mv) {
            out = xv * xt::cast<double>(mv) + 0.5;
          },
          x, m);
      EXPECT_EQ(y.chunks(), x.chunks());
      const xt::xarray<double> want = d * xt::cast<double>(k) + 0.5;
      for (const auto& s : all_schedulers()) ASSERT_TRUE(matches<double>(y, want, *s));
    }
  }
}

TEST(MapBlocks, DroppedAndNewAxes) {
  const Shape shape{6, 7};
  const xt::xarray<double> d = distinct_values(shape);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    // Row sums: axis 1 dropped (made whole for the kernel).
    const Array rows = map_blocks<double>(
        {.drop_axis = {-1}},
        [](const BlockInfo&, auto& out, const auto& in) { out = xt::sum(in, {1}); }, x);
    EXPECT_EQ(rows.shape(), (Shape{6}));
    EXPECT_EQ(rows.chunks().sizes(0), x.chunks().sizes(0));
    // Each element with its square along a new last axis of two.
    const Array pairs = map_blocks<double>(
        {.new_axis = {2},
         .chunks =
             std::vector<std::vector<index_t>>{x.chunks().sizes(0), x.chunks().sizes(1), {2}}},
        [](const BlockInfo&, auto& out, const auto& in) {
          xt::view(out, xt::all(), xt::all(), 0) = in;
          xt::view(out, xt::all(), xt::all(), 1) = in * in;
        },
        x);
    EXPECT_EQ(pairs.shape(), (Shape{6, 7, 2}));
    // A new axis of size 1 in front (the default size).
    const Array front = map_blocks<double>(
        {.new_axis = {0}},
        [](const BlockInfo&, auto& out, const auto& in) { xt::view(out, 0) = in; }, x);
    EXPECT_EQ(front.shape(), (Shape{1, 6, 7}));
    const xt::xarray<double> want_pairs = xt::stack(xt::xtuple(d, d * d), 2);
    for (const auto& s : all_schedulers()) {
      ASSERT_TRUE(matches<double>(rows, xt::xarray<double>(xt::sum(d, {1})), *s));
      ASSERT_TRUE(matches<double>(pairs, want_pairs, *s));
      ASSERT_TRUE(matches<double>(front, xt::xarray<double>(xt::expand_dims(d, 0)), *s));
    }
  }
}

TEST(MapBlocks, EachChunkRunsOnceAndTheOutputMayHaveOtherChunkSizes) {
  // A kernel that halves each chunk along axis 0 (every other row), with the chunking saying
  // so.
  const Shape shape{12, 4};
  const xt::xarray<double> d = distinct_values(shape);
  const Array x = from_xtensor(d, ChunkSpec{4, 4});
  std::atomic<std::int64_t> calls{0};
  const Array half = map_blocks<double>(
      {.chunks = std::vector<std::vector<index_t>>{{2, 2, 2}, {4}}},
      [&calls](const BlockInfo&, auto& out, const auto& in) {
        ++calls;
        out = xt::view(in, xt::range(0, 4, 2), xt::all());
      },
      x);
  const xt::xarray<double> want = xt::view(d, xt::range(0, 12, 2), xt::all());
  for (const auto& s : all_schedulers()) {
    calls = 0;
    ASSERT_TRUE(matches<double>(half, want, *s));
    EXPECT_TRUE(called(calls, 3, *s));
  }
}

TEST(MapBlocks, BadArgumentsRaiseWhenBuilt) {
  const Array x = zeros({4, 5}, 2);
  const Array y = zeros({5, 4}, 2);
  const auto copy = [](const BlockInfo&, auto& out, const auto& in) { out = in; };
  EXPECT_THROW(map_blocks(BlockKernel{}, {x}), value_error);
  EXPECT_THROW(map_blocks([](const BlockInfo&, std::span<const Block> in) { return in[0]; },
                          std::vector<Array>{}),
               value_error);
  try {
    (void)map_blocks<double>([](const BlockInfo&, auto&, const auto&, const auto&) {}, x, y);
    ADD_FAILURE() << "different shapes accepted";
  } catch (const shape_error& e) {
    EXPECT_NE(std::string(e.what()).find("(5, 4)"), std::string::npos) << e.what();
  }
  try {
    (void)map_blocks<float>(copy, x);  // x is float64
    ADD_FAILURE() << "a float64 input read as float32";
  } catch (const dtype_error& e) {
    EXPECT_NE(std::string(e.what()).find("float64"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)map_blocks<double>({.drop_axis = {2}}, copy, x), index_error);
  EXPECT_THROW((void)map_blocks<double>({.new_axis = {0, 0}}, copy, x), index_error);
  EXPECT_THROW(
      (void)map_blocks<double>({.chunks = std::vector<std::vector<index_t>>{{4}, {5}}}, copy, x),
      shape_error);  // x has 2 x 3 chunks
}

TEST(MapBlocks, AFailingKernelFailsTheComputeOnEveryRank) {
  const Array x = zeros({6, 6}, 3);
  const Array throws = map_blocks<double>(
      [](const BlockInfo& info, auto&, const auto&) {
        if (info.output.index == Shape{1, 0}) throw std::runtime_error("kernel gave up");
      },
      x);
  const Array wrong = map_blocks(
      [](const BlockInfo&, std::span<const Block>) { return Block(DType::Float64, {2}); }, {x},
      {.name = "mine"});
  for (const auto& s : all_schedulers()) {
    try {
      (void)throws.compute_block({.scheduler = s.get()});
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("kernel gave up"), std::string::npos) << e.what();
    }
    try {
      (void)wrong.sum().compute_block({.scheduler = s.get()});
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("map_blocks 'mine': the kernel returned a float64 block of shape (2,) "
                          "for chunk ("),
                std::string::npos)
          << what;
      EXPECT_NE(what.find("expected float64 of shape (3, 3)"), std::string::npos) << what;
    }
  }
}

TEST(Blockwise, IndexStringsAlignContractTransposeAndBroadcast) {
  const xt::xarray<double> da = distinct_values({5, 7}), db = distinct_values({7, 4});
  const xt::xarray<double> dy = distinct_values({7, 5}), dv = distinct_values({7});
  xt::xarray<double> prod = xt::zeros<double>({5, 4});
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t k = 0; k < 4; ++k)
      for (std::size_t j = 0; j < 7; ++j) prod(i, k) += da(i, j) * db(j, k);
  // A kernel that multiplies its row panel of a by its column panel of b, by loops.
  const BlockKernel block_product = [](const BlockInfo& info, std::span<const Block> in) {
    const auto a = in[0].view<double>();
    const auto b = in[1].view<double>();
    Block out = Block::zeros(DType::Float64, info.output.shape);
    auto c = out.view<double>();
    for (std::size_t i = 0; i < c.shape()[0]; ++i)
      for (std::size_t k = 0; k < c.shape()[1]; ++k)
        for (std::size_t j = 0; j < a.shape()[1]; ++j) c(i, k) += a(i, j) * b(j, k);
    return out;
  };
  const BlockKernel plus_transposed = [](const BlockInfo& info, std::span<const Block> in) {
    Block out(DType::Float64, info.output.shape);
    out.view<double>() = in[0].view<double>() + xt::transpose(in[1].view<double>());
    return out;
  };
  const BlockKernel times_row = [](const BlockInfo& info, std::span<const Block> in) {
    Block out(DType::Float64, info.output.shape);
    out.view<double>() = in[0].view<double>() * in[1].view<double>();
    return out;
  };
  const BlockKernel sign_pair = [](const BlockInfo& info, std::span<const Block> in) {
    Block out(DType::Float64, info.output.shape);
    auto o = out.view<double>();
    xt::view(o, xt::all(), xt::all(), 0) = in[0].view<double>();
    xt::view(o, xt::all(), xt::all(), 1) = -in[0].view<double>();
    return out;
  };
  xt::xarray<double> pair = xt::zeros<double>({7, 5, 2});
  xt::view(pair, xt::all(), xt::all(), 0) = dy;
  xt::view(pair, xt::all(), xt::all(), 1) = -dy;
  for (const ChunkSpec& sa : chunkings({5, 7})) {
    for (const ChunkSpec& sb : chunkings({7, 4})) {
      const Array a = from_xtensor(da, sa), b = from_xtensor(db, sb);
      const Array p = blockwise(block_product, "ik", {{a, "ij"}, {b, "jk"}});
      EXPECT_EQ(p.chunks().sizes(0), a.chunks().sizes(0));
      EXPECT_EQ(p.chunks().sizes(1), b.chunks().sizes(1));
      const Array y = from_xtensor(dy, ChunkSpec(index_t{3}));
      const Array t = blockwise(plus_transposed, "ij", {{a, "ij"}, {y, "ji"}});
      const Array r = blockwise(times_row, "ij", {{a, "ij"}, {from_xtensor(dv, 2), "j"}});
      const Array n = blockwise(sign_pair, "jin", {{y, "ji"}}, {.new_axes = {{'n', 2}}});
      for (const auto& s : all_schedulers()) {
        ASSERT_TRUE(matches<double>(p, prod, *s, 1e-12));
        ASSERT_TRUE(matches<double>(t, xt::xarray<double>(da + xt::transpose(dy)), *s));
        ASSERT_TRUE(matches<double>(r, xt::xarray<double>(da * dv), *s));
        ASSERT_TRUE(matches<double>(n, pair, *s));
      }
    }
  }
}

TEST(Blockwise, BadIndicesRaiseWhenBuilt) {
  const Array x = zeros({4, 5}, 2), y = zeros({4, 4}, 2);
  const BlockKernel k = [](const BlockInfo& info, std::span<const Block>) {
    return Block::zeros(DType::Float64, info.output.shape);
  };
  EXPECT_THROW((void)blockwise(k, "ij", {{x, "ij"}, {y, "ij"}}), shape_error);  // j: 5 and 4
  EXPECT_THROW((void)blockwise(k, "ii", {{y, "ii"}}), value_error);
  EXPECT_THROW((void)blockwise(k, "ij", {{x, "i"}}), value_error);
  EXPECT_THROW((void)blockwise(k, "ijk", {{x, "ij"}}), value_error);  // k: no input, no length
  EXPECT_THROW((void)blockwise(k, "ij", {}), value_error);
  EXPECT_THROW((void)blockwise(BlockKernel{}, "ij", {{x, "ij"}}), value_error);
}

}  // namespace
}  // namespace tessera::testing
