// Tests of core/copy_region.hpp: random N-d strided copies (0-4 axes, size-0 and size-1 axes,
// negative steps, offsets on both sides, element sizes 1 to 16 and odd ones) against an
// element-by-element reference; copies between Blocks of every dtype; and the errors that name
// the shapes when a region does not fit, with nothing written.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tessera/core/block.hpp"
#include "tessera/core/copy_region.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

/// The reference: one element at a time, each index computed from scratch.
void reference_copy(const std::vector<std::byte>& src, const Shape& src_shape,
                    const Shape& src_offset, const Shape& src_step, std::vector<std::byte>& dst,
                    const Shape& dst_shape, const Shape& dst_offset, const Shape& dst_step,
                    const Shape& count, std::size_t itemsize) {
  const std::size_t nd = count.size();
  index_t n = 1;
  for (index_t c : count) n *= c;
  for (index_t e = 0; e < n; ++e) {
    // e's multi-index k in the region, row-major.
    Shape k(nd);
    index_t rest = e;
    for (std::size_t a = nd; a-- > 0;) {
      k[a] = rest % count[a];
      rest /= count[a];
    }
    index_t s = 0, d = 0;
    for (std::size_t a = 0; a < nd; ++a) {
      s = s * src_shape[a] + src_offset[a] + k[a] * src_step[a];
      d = d * dst_shape[a] + dst_offset[a] + k[a] * dst_step[a];
    }
    for (std::size_t b = 0; b < itemsize; ++b) {
      dst[static_cast<std::size_t>(d) * itemsize + b] =
          src[static_cast<std::size_t>(s) * itemsize + b];
    }
  }
}

/// One side of a random copy: an extent, offset and step per axis that fit `count`.
struct Side {
  Shape shape, offset, step;
};

Side random_side(const Shape& count, std::mt19937_64& rng) {
  auto uniform = [&](index_t lo, index_t hi) {
    return std::uniform_int_distribution<index_t>(lo, hi)(rng);
  };
  Side s;
  for (index_t c : count) {
    index_t step = uniform(1, 3) * (uniform(0, 2) == 0 ? -1 : 1);
    if (uniform(0, 2) == 0) step = step > 0 ? 1 : -1;  // unit steps often: contiguous runs
    const index_t span = c == 0 ? 0 : (c - 1) * (step > 0 ? step : -step) + 1;
    const index_t extent = span + (uniform(0, 2) == 0 ? 0 : uniform(0, 3));
    index_t offset;
    if (c == 0) {
      offset = uniform(0, extent);
    } else if (step > 0) {
      offset = uniform(0, extent - span);
    } else {
      offset = uniform(span - 1, extent - 1);
    }
    s.shape.push_back(extent);
    s.offset.push_back(offset);
    s.step.push_back(step);
  }
  return s;
}

std::vector<std::byte> random_bytes(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xff);
  return v;
}

TEST(CopyRegion, MatchesTheElementByElementReference) {
  std::mt19937_64 rng(20240611);
  const std::size_t itemsizes[] = {1, 2, 4, 8, 16, 3, 12};
  int nonempty = 0, reversed = 0, zero_d = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const auto nd = static_cast<std::size_t>(trial % 5);
    Shape count;
    for (std::size_t a = 0; a < nd; ++a) {
      const auto r = std::uniform_int_distribution<index_t>(0, 9)(rng);
      count.push_back(r == 0 ? 0 : r == 1 ? 1 : std::uniform_int_distribution<index_t>(2, 5)(rng));
    }
    const Side from = random_side(count, rng), to = random_side(count, rng);
    const std::size_t itemsize = itemsizes[static_cast<std::size_t>(trial) % std::size(itemsizes)];
    const auto src = random_bytes(static_cast<std::size_t>(shape_size(from.shape)) * itemsize, rng);
    auto dst = random_bytes(static_cast<std::size_t>(shape_size(to.shape)) * itemsize, rng);
    auto expected = dst;
    reference_copy(src, from.shape, from.offset, from.step, expected, to.shape, to.offset, to.step,
                   count, itemsize);
    // Unit steps are also passed as the empty default half of the time.
    const bool unit_from =
        std::all_of(from.step.begin(), from.step.end(), [](index_t s) { return s == 1; });
    const RegionPosition pf{from.offset, unit_from && trial % 2 ? Shape{} : from.step};
    copy_region(src.data(), from.shape, pf, dst.data(), to.shape, {to.offset, to.step}, count,
                itemsize);
    ASSERT_EQ(dst, expected) << "trial " << trial << ": count " << shape_string(count)
                             << ", itemsize " << itemsize << "; source shape "
                             << shape_string(from.shape) << " offset " << shape_string(from.offset)
                             << " step " << shape_string(from.step) << "; destination shape "
                             << shape_string(to.shape) << " offset " << shape_string(to.offset)
                             << " step " << shape_string(to.step);
    nonempty += shape_size(count) > 0;
    reversed += std::any_of(from.step.begin(), from.step.end(), [](index_t s) { return s < 0; });
    zero_d += nd == 0;
  }
  // The draw covers what it is meant to.
  EXPECT_GT(nonempty, 1500);
  EXPECT_GT(reversed, 1000);
  EXPECT_GT(zero_d, 500);
}

TEST(CopyRegion, PlacesAChunkInsideAWholeArray) {
  // A (2, 3) chunk at offset (1, 2) of a (4, 6) array, as compute() assembles chunks.
  Block chunk(DType::Int32, {2, 3});
  for (int i = 0; i < 6; ++i) chunk.data_as<std::int32_t>()[i] = i + 1;
  Block whole = Block::zeros(DType::Int32, {4, 6});
  copy_region(chunk, {Shape{0, 0}}, whole, {Shape{1, 2}}, chunk.shape());
  const std::vector<std::int32_t> expected = {0, 0, 0, 0, 0, 0,  //
                                              0, 0, 1, 2, 3, 0,  //
                                              0, 0, 4, 5, 6, 0,  //
                                              0, 0, 0, 0, 0, 0};
  const auto* p = whole.data_as<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(p, p + 24), expected);
}

TEST(CopyRegion, ReversesWithNegativeSteps) {
  // x[::-1, 3:0:-2] of a (2, 5) float64 array.
  Block x(DType::Float64, {2, 5});
  for (int i = 0; i < 10; ++i) x.data_as<double>()[i] = i;
  Block out(DType::Float64, {2, 2});
  copy_region(x, {Shape{1, 3}, Shape{-1, -2}}, out, {Shape{0, 0}}, {2, 2});
  const auto* p = out.data_as<double>();
  EXPECT_EQ(std::vector<double>(p, p + 4), (std::vector<double>{8, 6, 3, 1}));
}

TEST(CopyRegion, CopiesZeroDimensionalBlocksAndEveryDtype) {
  for (DType t : {DType::Bool, DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
    Block a(t, {}), b = Block::zeros(t, {});
    std::memset(a.data(), 1, a.nbytes());
    copy_region(a, {Shape{}}, b, {Shape{}}, {});
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << dtype_name(t);
  }
}

TEST(CopyRegion, SizeOneAxesTakeAnyStep) {
  // A step along an axis of count 1 never moves: even the most negative step is fine there.
  std::vector<std::int64_t> src = {1, 2, 3, 4, 5, 6}, dst(3, 0);
  copy_region(src.data(), {2, 3}, {{1, 0}, {std::numeric_limits<index_t>::min(), 1}}, dst.data(),
              {1, 3}, {{0, 0}}, {1, 3}, sizeof(std::int64_t));
  EXPECT_EQ(dst, (std::vector<std::int64_t>{4, 5, 6}));
}

TEST(CopyRegion, RejectsRegionsThatDoNotFitAndWritesNothing) {
  std::vector<std::int32_t> src(12, 7), dst(12, 0);
  const auto run = [&](const RegionPosition& from, const RegionPosition& to, const Shape& count) {
    copy_region(src.data(), {3, 4}, from, dst.data(), {4, 3}, to, count, sizeof(std::int32_t));
  };
  // The last element lies past the source's axis 1.
  EXPECT_THAT(
      [&] {
        run({{0, 2}}, {{0, 0}}, {2, 3});
      },
      ::testing::ThrowsMessage<shape_error>(
          AllOf(HasSubstr("source region (offset (0, 2), step (1, 1), count (2, 3))"),
                HasSubstr("source shape (3, 4)"), HasSubstr("axis 1"))));
  // A negative step that runs below 0 in the destination.
  EXPECT_THAT(
      [&] {
        run({{0, 0}}, {{1, 0}, {-1, 1}}, {3, 3});
      },
      ::testing::ThrowsMessage<shape_error>(AllOf(HasSubstr("destination region"),
                                                  HasSubstr("destination shape (4, 3)"),
                                                  HasSubstr("axis 0"))));
  // A negative offset, and an offset past the end of an empty region.
  EXPECT_THROW(run({{-1, 0}}, {{0, 0}}, {1, 1}), shape_error);
  EXPECT_THROW(run({{0, 5}}, {{0, 0}}, {1, 0}), shape_error);
  EXPECT_NO_THROW(run({{0, 4}}, {{0, 3}}, {1, 0}));  // empty, at the end: copies nothing
  // (count - 1) * step overflows.
  EXPECT_THROW(run({{0, 0}, {1, std::numeric_limits<index_t>::max()}}, {{0, 0}}, {1, 3}),
               shape_error);
  // A negative count.
  EXPECT_THAT(
      [&] {
        run({{0, 0}}, {{0, 0}}, {1, -1});
      },
      ::testing::ThrowsMessage<shape_error>(HasSubstr("negative count (1, -1)")));
  // A zero step.
  EXPECT_THAT(
      [&] {
        run({{0, 0}, {1, 0}}, {{0, 0}}, {1, 2});
      },
      ::testing::ThrowsMessage<value_error>(
          AllOf(HasSubstr("source step is 0 along axis 1"), HasSubstr("step (1, 0)"))));
  // Axis counts that differ.
  EXPECT_THAT(
      [&] {
        run({{0}}, {{0, 0}}, {1, 1});
      },
      ::testing::ThrowsMessage<shape_error>(AllOf(HasSubstr("number of axes differ"),
                                                  HasSubstr("source shape (3, 4), offset (0,)"))));
  EXPECT_THROW(run({{0, 0}, {1}}, {{0, 0}}, {1, 1}), shape_error);
  EXPECT_THROW(copy_region(src.data(), {12}, {{0}}, dst.data(), {12}, {{0}}, {1}, 0), value_error);
  EXPECT_EQ(dst, std::vector<std::int32_t>(12, 0));
}

TEST(CopyRegion, BlocksMustShareTheirDtype) {
  const Block a = Block::zeros(DType::Int32, {2});
  Block b(DType::Int64, {2});
  EXPECT_THAT([&] { copy_region(a, {Shape{0}}, b, {Shape{0}}, {2}); },
              ::testing::ThrowsMessage<dtype_error>(
                  AllOf(HasSubstr("int32"), HasSubstr("int64"), HasSubstr("(2,)"))));
}

}  // namespace
}  // namespace tessera
