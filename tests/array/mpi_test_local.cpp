// from_local and to_local at 1-4 ranks: uneven blocks, a rank without a block, 2-D block
// decompositions, adoption without a copy, and bad decompositions reported on every rank.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "array/local_description.hpp"
#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

int rank() { return distributed().rank(); }
int ranks() { return distributed().num_ranks(); }

double value_at(index_t i, index_t j) { return static_cast<double>(i * 1000 + j); }

/// The serial reference of the global (rows x cols) array.
xt::xarray<double> reference(index_t rows, index_t cols) {
  xt::xarray<double> r =
      xt::zeros<double>({static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)});
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) r(i, j) = value_at(i, j);
  return r;
}

struct Region {
  Shape offset, shape;
};

/// Uneven row panels of `rows`: sizes 1, 4, 2, 3, ... cycled and scaled; at 4 ranks the last
/// rank gets none (a rank that owns no chunk).
Region row_panel(index_t rows, index_t cols, int r, int n) {
  const int holders = n == 4 ? 3 : n;
  if (r >= holders) return {{rows, 0}, {0, cols}};
  std::vector<index_t> sizes(static_cast<std::size_t>(holders));
  const index_t pattern[] = {1, 4, 2, 3};
  index_t total = 0;
  for (int k = 0; k < holders; ++k) total += pattern[k % 4];
  index_t used = 0;
  for (int k = 0; k < holders; ++k) {
    sizes[static_cast<std::size_t>(k)] =
        k + 1 == holders ? rows - used : rows * pattern[k % 4] / total;
    used += sizes[static_cast<std::size_t>(k)];
  }
  index_t start = 0;
  for (int k = 0; k < r; ++k) start += sizes[static_cast<std::size_t>(k)];
  return {{start, 0}, {sizes[static_cast<std::size_t>(r)], cols}};
}

std::vector<double> fill(const Region& g) {
  std::vector<double> v(static_cast<std::size_t>(shape_size(g.shape)));
  std::size_t k = 0;
  for (index_t i = 0; i < g.shape[0]; ++i)
    for (index_t j = 0; j < g.shape[1]; ++j) v[k++] = value_at(g.offset[0] + i, g.offset[1] + j);
  return v;
}

TEST(Local, UnevenRowPanelsRoundTrip) {
  const index_t rows = 23, cols = 7;
  const Region mine = row_panel(rows, cols, rank(), ranks());
  std::vector<double> buffer = fill(mine);
  const Array x =
      from_local(std::span<const double>(buffer), mine.offset, mine.shape, &distributed());
  EXPECT_EQ(x.shape(), (Shape{rows, cols}));
  const xt::xarray<double> ref = reference(rows, cols);
  const ComputeOptions o{.scheduler = &distributed()};
  EXPECT_EQ(x.compute<double>(o), ref);
  EXPECT_DOUBLE_EQ((2 * x + 1).sum().item<double>(o), xt::sum(2 * ref + 1)());
  EXPECT_EQ(x.mean(0).compute<double>(o), xt::xarray<double>(xt::mean(ref, {0})));
  // Back into the simulation's own layout: y = 2x into each rank's own panel.
  std::vector<double> out(buffer.size(), -1);
  to_local(x * 2.0, std::span<double>(out), mine.offset, mine.shape, o);
  for (std::size_t k = 0; k < out.size(); ++k) EXPECT_EQ(out[k], 2 * buffer[k]);
}

TEST(Local, BlocksAreAdoptedWithoutACopy) {
  const Region mine = row_panel(12, 5, rank(), ranks());
  std::vector<double> buffer = fill(mine);
  const Array x =
      from_local(std::span<const double>(buffer), mine.offset, mine.shape, &distributed());
  const auto& data = static_cast<const DataExpr&>(*x.expr());
  if (!buffer.empty()) {
    bool found = false;
    for (index_t c = 0; c < x.chunks().num_chunks(); ++c) {
      if (data.owners().owner(c) == rank()) {
        found = true;
        EXPECT_EQ(data.block(c).data(), static_cast<const void*>(buffer.data()));
      }
    }
    EXPECT_TRUE(found);
  }
  // A change to the simulation's buffer is seen by the next compute (adopted, not copied).
  for (double& v : buffer) v += 1;
  EXPECT_DOUBLE_EQ(x.sum().item<double>({.scheduler = &distributed()}),
                   xt::sum(reference(12, 5))() + 60);
}

TEST(Local, TwoDimensionalBlocksAndAnotherLayoutOut) {
  // ranks split as a (rows x cols) process grid: 1x1, 1x2, 1x3, 2x2; uneven sizes.
  const int pr = ranks() == 4 ? 2 : 1, pc = ranks() / pr;
  const index_t rows = 11, cols = 13;
  const auto split = [](index_t n, int parts, int k) {
    const index_t lo = n * k / parts + (k > 0 ? 1 : 0) * (k % 2);  // uneven on purpose
    const index_t hi = k + 1 == parts ? n : n * (k + 1) / parts + ((k + 1) % 2);
    return std::pair{lo, hi};
  };
  const int r = rank() / pc, c = rank() % pc;
  const auto [r0, r1] = split(rows, pr, r);
  const auto [c0, c1] = split(cols, pc, c);
  const Region mine{{r0, c0}, {r1 - r0, c1 - c0}};
  std::vector<double> buffer = fill(mine);
  const Array x =
      from_local(std::span<const double>(buffer), mine.offset, mine.shape, &distributed());
  EXPECT_EQ(x.chunks().num_chunks(), ranks());
  const xt::xarray<double> ref = reference(rows, cols);
  const ComputeOptions o{.scheduler = &distributed()};
  EXPECT_EQ(x.compute<double>(o), ref);
  EXPECT_EQ(x.sum(1).compute<double>(o), xt::xarray<double>(xt::sum(ref, {1})));
  // Out into column panels (a different decomposition), overlapping by one column, and one
  // rank asking for nothing at 3+ ranks.
  const index_t w = cols / ranks() + 1;
  index_t lo = std::min<index_t>(cols, rank() * (cols / ranks()));
  index_t width = std::min<index_t>(w, cols - lo);
  if (ranks() >= 3 && rank() == 1) width = 0;
  std::vector<double> out(static_cast<std::size_t>(rows * width));
  to_local(x - 1.0, std::span<double>(out), {0, lo}, {rows, width}, o);
  std::size_t k = 0;
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = lo; j < lo + width; ++j) EXPECT_EQ(out[k++], value_at(i, j) - 1);
}

TEST(Local, BadDecompositionsFailOnEveryRank) {
  const ComputeOptions o{.scheduler = &distributed()};
  std::vector<double> four(4, 1.0);
  if (ranks() > 1) {
    // Every rank claims the same block.
    try {
      from_local(std::span<const double>(four), {0, 0}, {2, 2}, &distributed());
      ADD_FAILURE() << "no error";
    } catch (const shape_error& e) {
      EXPECT_NE(std::string(e.what()).find("overlap"), std::string::npos) << e.what();
    }
  }
  // A gap: rank r claims row block 2r (every other one is missing), except at 1 rank.
  if (ranks() > 1) {
    try {
      from_local(std::span<const double>(four), {2 * 2 * rank(), 0}, {2, 2}, &distributed());
      ADD_FAILURE() << "no error";
    } catch (const shape_error& e) {
      EXPECT_NE(std::string(e.what()).find("no rank holds"), std::string::npos) << e.what();
    }
  }
  // The last rank's buffer is too small for its shape: reported on every rank, naming it.
  const int last = ranks() - 1;
  std::vector<double> buf(rank() == last ? 3 : 4, 1.0);
  try {
    from_local(std::span<const double>(buf), {2 * rank(), 0}, {2, 2}, &distributed());
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(last)), std::string::npos)
        << e.what();
  }
  // A valid array, and a bad region on the last rank only.
  const Array x =
      from_local(std::span<const double>(four), {2 * rank(), 0}, {2, 2}, &distributed());
  std::vector<double> out(4);
  const Shape offset{rank() == last ? 2 * ranks() : 0, 0};  // outside on the last rank
  try {
    to_local(x, std::span<double>(out), offset, {2, 2}, o);
    ADD_FAILURE() << "no error";
  } catch (const value_error& e) {
    EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(last)), std::string::npos)
        << e.what();
  }
  std::vector<float> wrong(4);
  EXPECT_THROW(to_local(x, std::span<float>(wrong), {0, 0}, {2, 2}, o), value_error);
  // Still usable.
  EXPECT_EQ(x.sum().item<double>(o), 4.0 * ranks());
}

// What ranks tell each other, on its own (no collective: every rank checks the same bytes).
TEST(Local, DescriptionsRoundTrip) {
  const detail::BlockDescription b{DType::Int32, {3, 0}, {4, 7}, ""};
  const auto db = detail::decode_block_description(detail::encode_description(b), 2);
  EXPECT_EQ(db.dtype, DType::Int32);
  EXPECT_EQ(db.offset, (Shape{3, 0}));
  EXPECT_EQ(db.shape, (Shape{4, 7}));
  EXPECT_EQ(db.problem, "");
  const detail::RegionDescription g{{}, {}, "the buffer has 3 elements"};
  const auto dg = detail::decode_region_description(detail::encode_description(g), 1);
  EXPECT_TRUE(dg.offset.empty());
  EXPECT_TRUE(dg.shape.empty());
  EXPECT_EQ(dg.problem, "the buffer has 3 elements");
}

TEST(Local, MalformedDescriptionsAreErrorsNamingTheRank) {
  using ::testing::AllOf;
  using ::testing::HasSubstr;
  using ::testing::ThrowsMessage;
  const auto good = detail::encode_description(
      detail::BlockDescription{DType::Float64, {0, 5}, {2, 5}, "a problem"});
  // Cut short anywhere: never a read past the end.
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::span<const std::byte> cut(good.data(), n);
    EXPECT_THAT([&] { detail::decode_block_description(cut, 3); },
                ThrowsMessage<value_error>(
                    AllOf(HasSubstr("from_local: rank 3 sent a malformed description"),
                          HasSubstr("read past its end"))))
        << n << " bytes";
  }
  // Bytes past the end.
  auto longer = good;
  longer.push_back(std::byte{0});
  EXPECT_THAT([&] { detail::decode_block_description(longer, 1); },
              ThrowsMessage<value_error>(HasSubstr("1 bytes past its end")));
  // A dtype no DType has.
  auto bad_dtype = good;
  bad_dtype[0] = std::byte{200};
  EXPECT_THAT([&] { detail::decode_block_description(bad_dtype, 0); },
              ThrowsMessage<value_error>(AllOf(HasSubstr("rank 0"), HasSubstr("dtype"))));
  // A negative extent.
  const auto negative =
      detail::encode_description(detail::BlockDescription{DType::Float64, {0}, {-2}, ""});
  EXPECT_THAT([&] { detail::decode_block_description(negative, 2); },
              ThrowsMessage<value_error>(HasSubstr("block shape (-2,)")));
  // A string length near 2^64 after the shapes.
  auto huge = detail::encode_description(detail::RegionDescription{{0}, {1}, "x"});
  huge.resize(huge.size() - 9);  // the string: an 8-byte length and one byte
  for (int k = 0; k < 8; ++k) huge.push_back(std::byte{0xff});
  EXPECT_THAT(
      [&] { detail::decode_region_description(huge, 1); },
      ThrowsMessage<value_error>(AllOf(HasSubstr("to_local: rank 1 sent a malformed description"),
                                       HasSubstr("read past its end"))));
}

}  // namespace
}  // namespace tessera::testing
