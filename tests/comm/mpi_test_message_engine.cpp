// The message engine (src/comm/message_engine.hpp) at 1-4 ranks: every rank sends every
// other rank messages of every size class (empty, inline, bulk, bulk in several pieces) on
// two streams, and checks that each arrives whole, in order per sender and stream, at the
// handler of its stream, in order among the messages without separate bulk (a message whose
// bulk travels on its own is delivered once that has arrived), and that nothing is left
// pending.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <numeric>

#include "comm/message_engine.hpp"
#include "support/test_support.hpp"

namespace tessera::comm {
namespace {

/// Bulk bytes of message k from `source`: a pattern the receiver can check.
std::vector<std::byte> pattern(int source, int k, std::size_t n) {
  std::vector<std::byte> b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::byte>((static_cast<std::size_t>(source) * 131 + k * 7 + i) & 0xff);
  }
  return b;
}

struct Received {
  std::map<int, int> last_inline;         // per source: the last inline message's number
  std::map<int, std::vector<char>> seen;  // per source: which numbers arrived
  int count = 0;
  int bad = 0;
};

void check(const Message& m, Received& r) {
  WireReader in(m.head, {});
  const int k = in.get<std::int32_t>();
  const auto size = in.get<std::uint64_t>();
  auto& seen = r.seen[m.source];
  if (seen.size() <= static_cast<std::size_t>(k)) seen.resize(static_cast<std::size_t>(k) + 1);
  if (seen[static_cast<std::size_t>(k)]++) ++r.bad;  // twice
  if (size <= MessageEngine::kInlineBytes) {
    auto [it, first] = r.last_inline.try_emplace(m.source, -1);
    if (k <= it->second) ++r.bad;  // out of order
    it->second = k;
  }
  if (size == 0) {
    if (!m.bulk.empty()) ++r.bad;
  } else {
    if (m.bulk.size() != 1 || m.bulk[0].size != size) {
      ++r.bad;
    } else {
      const auto want = pattern(m.source, k, size);
      if (std::memcmp(want.data(), m.bulk[0].data, size) != 0) ++r.bad;
    }
  }
  ++r.count;
}

TEST(MessageEngine, EverySizeArrivesWholeAndInOrderPerStream) {
  MessageEngine engine(Communicator::world());
  const int me = engine.rank(), p = engine.size();
  // The sizes cycle through: empty, small inline, the inline limit, just above it (bulk on
  // its own channel), and one value of more than one piece.
  const std::vector<std::size_t> sizes = {0, 24, MessageEngine::kInlineBytes,
                                          MessageEngine::kInlineBytes + 1, 300 * 1024};
  constexpr int kPerStream = 400;
  const std::uint32_t a = engine.new_stream(), b = engine.new_stream();
  Received got_a, got_b;
  // Stream b's handler is installed only after everything was sent: its messages wait.
  engine.set_handler(Channel::futures, a, [&](Message&& m) { check(m, got_a); });
  std::vector<int> others;
  for (int r = 0; r < p; ++r)
    if (r != me) others.push_back(r);
  std::vector<std::shared_ptr<std::vector<std::byte>>> keep;
  for (int k = 0; k < kPerStream; ++k) {
    for (std::uint32_t stream : {a, b}) {
      const std::size_t n = sizes[static_cast<std::size_t>(k) % sizes.size()];
      // One buffer per message (the pattern does not depend on the destination).
      auto bulk = std::make_shared<std::vector<std::byte>>(pattern(me, k, n));
      WireWriter head;
      head.put<std::int32_t>(k);
      head.put<std::uint64_t>(n);
      const std::span<const std::byte> seg[] = {*bulk};
      engine.send(Channel::futures, stream, others, head.header(),
                  n > 0 ? std::span<const std::span<const std::byte>>(seg)
                        : std::span<const std::span<const std::byte>>(),
                  bulk);
    }
  }
  const int expected = kPerStream * (p - 1);
  while (got_a.count < expected || engine.pending(Channel::futures) > 0) engine.progress();
  engine.set_handler(Channel::futures, b, [&](Message&& m) { check(m, got_b); });
  while (got_b.count < expected) engine.progress();
  EXPECT_EQ(got_a.bad, 0);
  EXPECT_EQ(got_b.bad, 0);
  EXPECT_EQ(got_b.count, expected);
  // Everyone done, nothing in flight: the agreement returns the minimum.
  EXPECT_EQ(engine.agree_min(100 + me, Channel::futures), 100);
  EXPECT_EQ(engine.pending(Channel::futures), 0);
  EXPECT_FALSE(engine.busy());
}

TEST(MessageEngine, CollectivesAgreeAndNameTheOddRank) {
  MessageEngine engine(Communicator::world());
  const int me = engine.rank(), p = engine.size();
  EXPECT_TRUE(engine.all_equal(42));
  EXPECT_EQ(engine.all_equal(me == p - 1 ? 7 : 42), p == 1);
  const auto all = engine.allgather(static_cast<std::uint64_t>(me * 10));
  ASSERT_EQ(all.size(), static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)], r * 10u);
  std::vector<std::byte> data;
  if (me == p - 1) data = pattern(me, 3, 1000);
  engine.bcast_bytes(data, p - 1);
  EXPECT_EQ(data, pattern(p - 1, 3, 1000));
}

TEST(MessageEngine, GatherBytesBringsEveryRanksBytesToTheRootOnly) {
  MessageEngine engine(Communicator::world());
  const int me = engine.rank(), p = engine.size();
  for (int root = 0; root < p; ++root) {
    // Rank 1 sends nothing: empty contributions are kept in their place.
    const auto mine = me == 1 ? std::vector<std::byte>{} : pattern(me, root, 100 + 37 * me);
    const auto all = engine.gather_bytes(mine, root);
    if (me != root) {
      EXPECT_TRUE(all.empty());
      continue;
    }
    ASSERT_EQ(all.size(), static_cast<std::size_t>(p));
    for (int r = 0; r < p; ++r) {
      EXPECT_EQ(all[static_cast<std::size_t>(r)],
                r == 1 ? std::vector<std::byte>{} : pattern(r, root, 100 + 37 * r));
    }
  }
}

TEST(MessageEngine, ClockOffsetsAreZeroUnderOneKernelAndMeasuredNearZero) {
  MessageEngine engine(Communicator::world());
  const int p = engine.size();
  // Every rank of this test runs under one kernel: one steady clock, nothing to measure.
  const auto shared = engine.steady_clock_offsets();
  ASSERT_EQ(shared.size(), static_cast<std::size_t>(p));
  for (const auto o : shared) EXPECT_EQ(o, 0);
  // Measured by ping-pong anyway, the offsets are 0 to within half a round trip, which an
  // oversubscribed machine may stretch to milliseconds (a rank waits for a core).
  const auto measured = engine.steady_clock_offsets(true);
  for (int r = 0; r < p; ++r) {
    const auto o = measured[static_cast<std::size_t>(r)];
    if (engine.rank() != 0 || r == 0) {
      EXPECT_EQ(o, 0) << r;
    } else {
      EXPECT_LT(std::abs(o), 50'000'000) << "rank " << r << ": " << o << " ns";
    }
  }
}

TEST(MessageEngine, ManySmallMessagesAreBatched) {
  // 100,000 tiny messages to one peer: batched, with a bounded number in flight, they take a
  // fraction of a second (one MPI message each took tens of seconds).
  MessageEngine engine(Communicator::world());
  const int me = engine.rank(), p = engine.size();
  if (p == 1) GTEST_SKIP() << "needs 2+ ranks";
  constexpr int kMessages = 100'000;
  const std::uint32_t stream = engine.new_stream();
  std::int64_t received = 0, sum = 0;
  engine.set_handler(Channel::run, stream, [&](Message&& m) {
    WireReader in(m.head, {});
    sum += in.get<std::int64_t>();
    ++received;
  });
  const int to[] = {(me + 1) % p};
  for (std::int64_t i = 0; i < kMessages; ++i) {
    WireWriter head;
    head.put<std::int64_t>(i);
    engine.send(Channel::run, stream, to, head.header());
  }
  while (received < kMessages || engine.pending(Channel::run) > 0) engine.progress();
  EXPECT_EQ(sum, std::int64_t{kMessages} * (kMessages - 1) / 2);
  engine.agree_min(0, Channel::run);
  engine.set_handler(Channel::run, stream, nullptr);
}

}  // namespace
}  // namespace tessera::comm
