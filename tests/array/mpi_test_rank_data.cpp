// Data that differs between ranks (issue 8, item 7). from_buffer, raw-graph literals and
// delayed values are collective data: every rank must hold the same bytes. Their contents are
// hashed into the graph, so ranks that hold different data ("only rank 0 read the file") fail
// the compute with a graph_error naming them and pointing to from_local, instead of a result
// blended from different ranks' chunks (a sum of 150 from data that sums to 100 on rank 0 and
// 200 on rank 1). Per-rank data goes through from_local.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace tessera::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

int rank() { return distributed().rank(); }
int ranks() { return distributed().num_ranks(); }

/// Runs `compute` on every rank: with one rank it must succeed, with more a graph_error that
/// names rank 1 and from_local must reach every rank (and the scheduler stays usable).
template <class F>
void expect_rank_mismatch(F&& compute) {
  if (ranks() == 1) {
    EXPECT_NO_THROW(compute());
    return;
  }
  try {
    compute();
    ADD_FAILURE() << "ranks with different data computed a result";
  } catch (const graph_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("rank 1"), HasSubstr("from_local")));
  }
  // Still usable afterwards, with data every rank shares.
  EXPECT_EQ(arange(10, {.chunks = 3}).sum().item<std::int64_t>({.scheduler = &distributed()}), 45);
}

TEST(RankData, FromBufferWithDifferentDataIsAGraphError) {
  // The reproducer: rank r holds 100 values r + 1.
  const std::vector<double> d(100, rank() + 1.0);
  const Array x = from_buffer(std::span<const double>(d), {100}, 10);
  expect_rank_mismatch([&] { return x.sum().item<double>({.scheduler = &distributed()}); });
  // Only one rank differs in one element of one chunk: still caught.
  std::vector<std::int32_t> e(64, 7);
  if (rank() == ranks() - 1) e[37] = 8;
  const Array y = from_buffer(std::span<const std::int32_t>(e), {8, 8}, 4);
  if (ranks() > 1) {
    EXPECT_THROW((void)y.compute<std::int32_t>({.scheduler = &distributed()}), graph_error);
  }
}

TEST(RankData, FromBufferWithEqualDataComputes) {
  std::vector<double> d(100);
  std::iota(d.begin(), d.end(), 0.0);
  const Array x = from_buffer(std::span<const double>(d), {10, 10}, 3);
  EXPECT_EQ(x.sum().item<double>({.scheduler = &distributed()}), 4950.0);
  EXPECT_EQ(from_xtensor(xt::xarray<double>{1.0, 2.0, 3.0}, 2)
                .sum()
                .item<double>({.scheduler = &distributed()}),
            6.0);
}

TEST(RankData, PerRankDataGoesThroughFromLocal) {
  // What the error message points to: each rank adopts its own block.
  const std::vector<double> d(100, rank() + 1.0);
  const Array x = from_local(std::span<const double>(d), {100 * static_cast<index_t>(rank())},
                             {100}, &distributed());
  const int n = ranks();
  EXPECT_EQ(x.sum().item<double>({.scheduler = &distributed()}), 100.0 * n * (n + 1) / 2);
}

TEST(RankData, RawGraphLiteralsThatDifferAreAGraphError) {
  const auto total = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
  };
  // A plain value entry.
  const RawGraph g{{"data", value(std::vector<double>(10, rank() + 1.0))},
                   {"total", task(total, Key("data"))}};
  expect_rank_mismatch([&] { return get<double>(g, "total", distributed()); });
  // A literal argument of a task.
  const RawGraph h{
      {"scaled", task([](double a, double b) { return a * b; }, 2.0, static_cast<double>(rank()))}};
  expect_rank_mismatch([&] { return get<double>(h, "scaled", distributed()); });
  // Equal literals compute.
  const RawGraph same{{"data", value(std::vector<double>(10, 1.5))},
                      {"total", task(total, Key("data"))}};
  EXPECT_EQ(get<double>(same, "total", distributed()), 15.0);
}

TEST(RankData, DelayedValuesThatDifferAreAGraphError) {
  const auto twice = delayed(
      [](const xt::xarray<double>& v) { return xt::xarray<double>(v * 2.0); }, {.name = "twice"});
  // An xtensor value has no content token of its own: it is hashed by its wire form.
  const auto v = delayed_value(xt::xarray<double>{1.0, static_cast<double>(rank())});
  expect_rank_mismatch([&] { return twice(v).compute({.scheduler = &distributed()}); });
  const auto w = delayed_value(xt::xarray<double>{1.0, 2.0});
  EXPECT_EQ(twice(w).compute({.scheduler = &distributed()})(1), 4.0);
}

}  // namespace
}  // namespace tessera::testing
