// Tests of core/chunk_owners.hpp: the block (contiguous), block-cyclic and explicit
// distributions, chunks on every rank and chunks not placed yet, owner/holds/chunks_of, and
// the errors naming the bad chunk, rank or count.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/chunk_owners.hpp"
#include "tessera/core/error.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::vector<int> owners_of(const ChunkOwners& o) {
  std::vector<int> v;
  for (index_t c = 0; c < o.num_chunks(); ++c) v.push_back(o.owner(c));
  return v;
}

TEST(ChunkOwners, SentinelsAreNoRanks) {
  static_assert(ChunkOwners::every_rank < 0 && ChunkOwners::no_rank < 0);
  static_assert(ChunkOwners::every_rank != ChunkOwners::no_rank);
  EXPECT_EQ(ChunkOwners().num_chunks(), 0);
}

TEST(ChunkOwners, BlockGivesEachRankAContiguousRun) {
  // 10 chunks over 4 ranks: floor(c * 4 / 10), the scheduler's default distribution.
  const ChunkOwners o = ChunkOwners::block(10, 4);
  EXPECT_EQ(owners_of(o), (std::vector<int>{0, 0, 0, 1, 1, 2, 2, 2, 3, 3}));
  EXPECT_EQ(o.chunks_of(2), (std::vector<index_t>{5, 6, 7}));
  EXPECT_TRUE(o.all_placed());
  // Fewer chunks than ranks: some ranks hold none.
  EXPECT_EQ(owners_of(ChunkOwners::block(2, 5)), (std::vector<int>{0, 2}));
  EXPECT_TRUE(ChunkOwners::block(2, 5).chunks_of(1).empty());
  EXPECT_EQ(ChunkOwners::block(0, 3).num_chunks(), 0);
  // Runs differ by at most one chunk, and cover the ranks in order.
  for (index_t n : {1, 7, 64, 1000}) {
    for (int p : {1, 2, 3, 8}) {
      const ChunkOwners b = ChunkOwners::block(n, p);
      std::size_t shortest = static_cast<std::size_t>(n), longest = 0;
      for (int r = 0; r < p; ++r) {
        const auto mine = b.chunks_of(r);
        shortest = std::min(shortest, mine.size());
        longest = std::max(longest, mine.size());
        for (std::size_t k = 1; k < mine.size(); ++k) EXPECT_EQ(mine[k], mine[k - 1] + 1);
      }
      EXPECT_LE(longest - shortest, 1u) << n << " chunks over " << p << " ranks";
      for (index_t c = 1; c < n; ++c) EXPECT_LE(b.owner(c - 1), b.owner(c));
    }
  }
}

TEST(ChunkOwners, BlockCyclicDealsRunsInTurn) {
  EXPECT_EQ(owners_of(ChunkOwners::block_cyclic(9, 2, 2)),
            (std::vector<int>{0, 0, 1, 1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(owners_of(ChunkOwners::block_cyclic(5, 3, 1)), (std::vector<int>{0, 1, 2, 0, 1}));
  EXPECT_EQ(ChunkOwners::block_cyclic(9, 2, 2).chunks_of(1), (std::vector<index_t>{2, 3, 6, 7}));
}

TEST(ChunkOwners, EverywhereAndUnplacedAreNamed) {
  const ChunkOwners all = ChunkOwners::everywhere(3);
  for (index_t c = 0; c < 3; ++c) {
    EXPECT_TRUE(all.is_everywhere(c));
    EXPECT_FALSE(all.is_unplaced(c));
    EXPECT_TRUE(all.holds(c, 0));
    EXPECT_TRUE(all.holds(c, 7));
  }
  EXPECT_EQ(all.chunks_of(5), (std::vector<index_t>{0, 1, 2}));
  EXPECT_TRUE(all.all_placed());

  ChunkOwners some = ChunkOwners::unplaced(4);
  EXPECT_FALSE(some.all_placed());
  EXPECT_TRUE(some.is_unplaced(2));
  EXPECT_TRUE(some.chunks_of(0).empty());  // an unplaced chunk is nobody's yet
  some.set(0, 1);
  some.set(1, ChunkOwners::every_rank);
  some.set(2, 0);
  EXPECT_FALSE(some.all_placed());
  some.set(3, 1);
  EXPECT_TRUE(some.all_placed());
  EXPECT_EQ(some.chunks_of(1), (std::vector<index_t>{0, 1, 3}));
  EXPECT_EQ(some.chunks_of(0), (std::vector<index_t>{1, 2}));
  EXPECT_TRUE(some.holds(2, 0));
  EXPECT_FALSE(some.holds(2, 1));
  EXPECT_EQ(some, ChunkOwners::from_ranks({1, ChunkOwners::every_rank, 0, 1}));
  EXPECT_NE(some, ChunkOwners::from_ranks({1, ChunkOwners::every_rank, 0, 0}));
  EXPECT_EQ(some.ranks(), (std::vector<int>{1, ChunkOwners::every_rank, 0, 1}));
}

TEST(ChunkOwners, ExplicitDistributionsAreChecked) {
  const ChunkOwners o = ChunkOwners::from_ranks({2, 0, ChunkOwners::no_rank, 1});
  EXPECT_EQ(o.owner(0), 2);
  EXPECT_TRUE(o.is_unplaced(2));
  EXPECT_NO_THROW(o.check_ranks(3));
  EXPECT_THAT([&] { o.check_ranks(2); },
              ::testing::ThrowsMessage<value_error>(
                  AllOf(HasSubstr("chunk 0"), HasSubstr("rank 2"), HasSubstr("2 rank(s)"))));
  EXPECT_THAT(
      [] {
        ChunkOwners::from_ranks({0, -7});
      },
      ::testing::ThrowsMessage<value_error>(
          AllOf(HasSubstr("owner -7 of chunk 1"), HasSubstr("from_ranks"))));
  ChunkOwners m = ChunkOwners::block(3, 3);
  EXPECT_THROW(m.set(1, -3), value_error);
  EXPECT_THROW(m.set(3, 0), index_error);
  EXPECT_EQ(m, ChunkOwners::block(3, 3));  // unchanged by the failed sets
  EXPECT_THAT([&] { (void)m.owner(-1); }, ::testing::ThrowsMessage<index_error>(
                                              AllOf(HasSubstr("chunk -1"), HasSubstr("3 chunks"))));
  EXPECT_THROW((void)m.chunks_of(ChunkOwners::every_rank), value_error);
}

TEST(ChunkOwners, BadCountsAreValueErrors) {
  EXPECT_THAT([] { ChunkOwners::block(4, 0); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("0 ranks")));
  EXPECT_THAT([] { ChunkOwners::block_cyclic(4, 2, 0); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("block size 0")));
  EXPECT_THROW(ChunkOwners::everywhere(-1), value_error);
  EXPECT_THAT([] { ChunkOwners::unplaced(ChunkGrid::max_chunks + 1); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("67108865 chunks")));
}

}  // namespace
}  // namespace tessera
