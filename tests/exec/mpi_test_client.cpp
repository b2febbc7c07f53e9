// Client across MPI ranks (run at 1-4 ranks). The whole serial suite runs here too, with a
// DistributedScheduler among its schedulers (test_client.cpp is included, as the array suite
// is built twice), followed by what only a multi-rank run can show: where tasks run, that
// cross-rank arguments arrive without a collective call, that every rank sees the same
// as_completed order and the same errors.

#include "exec/test_client.cpp"

#include <mpi.h>

#include <cstdlib>

namespace tessera {
namespace {

/// Every rank's `mine`, in rank order.
std::vector<std::int64_t> allgather(std::int64_t mine) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(testing::test_ranks()));
  MPI_Allgather(&mine, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  return all;
}

TEST(DistributedClient, PlacementRoundRobinAndFollowingTheFirstArgument) {
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  const int p = s.num_ranks();
  std::atomic<int> ran_here{0};
  auto where = [&ran_here](int x) {
    ++ran_here;
    return x;
  };
  std::vector<Future<int>> roots = client.map(where, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  std::vector<Future<int>> next = client.map(inc, roots);
  for (std::size_t k = 0; k < roots.size(); ++k) {
    EXPECT_EQ(roots[k].owner(), static_cast<int>(k) % p);
    EXPECT_EQ(next[k].owner(), roots[k].owner());
  }
  EXPECT_EQ(client.gather(next), (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Every root ran exactly once, on its owner.
  int mine = 0;
  for (int k = 0; k < 8; ++k) mine += (k % p == s.rank()) ? 1 : 0;
  EXPECT_EQ(ran_here.load(), mine);
  EXPECT_EQ(testing::sum_over_ranks(ran_here.load()), 8);
}

TEST(DistributedClient, CrossRankArgumentsArriveWithoutACollective) {
  if (const char* v = std::getenv("TESSERA_PROGRESS_THREAD");
      v != nullptr && v == std::string("0")) {
    GTEST_SKIP() << "without a progress thread, values move only inside Tessera's calls";
  }
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  const int p = s.num_ranks();
  std::vector<Future<int>> parts = client.map(inc, std::vector<int>{10, 20, 30, 40});
  // Owned by parts[0]'s owner (rank 0); the others come from ranks 1..p-1.
  Future<int> sum = client.submit([](int a, int b, int c, int d) { return a + b + c + d; },
                                  parts[0], parts[1], parts[2], parts[3]);
  EXPECT_EQ(sum.owner(), 0);
  if (s.rank() == sum.owner()) {
    // The owner sees the task finish while no rank is in a collective call of the client.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!sum.done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(sum.done());
  }
  EXPECT_EQ(sum.result(), 104);
  EXPECT_EQ(parts[3].result(), 41);
  EXPECT_EQ(parts[3].owner(), 3 % p);
}

TEST(DistributedClient, AsCompletedOrderIsTheSameOnEveryRank) {
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  std::vector<Future<int>> fs =
      client.map(sleep_ms_then, std::vector<int>{60, 0, 30, 90, 10, 50, 20, 40});
  std::int64_t code = 0;  // the order, as digits
  std::size_t n = 0;
  for (const Future<int>& f : client.as_completed(fs)) {
    code = code * 10 + f.result() / 10;
    ++n;
  }
  EXPECT_EQ(n, fs.size());
  const std::vector<std::int64_t> all = allgather(code);
  for (std::int64_t c : all) EXPECT_EQ(c, all[0]);
}

TEST(DistributedClient, ErrorsReachEveryRankNamingTheOwner) {
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  const int p = s.num_ranks();
  std::vector<Future<int>> fs = client.map(
      TaskName{"check"},
      [](int x) -> int {
        if (x == 3) throw std::out_of_range("bad element 3");
        return x;
      },
      std::vector<int>{0, 1, 2, 3});
  Future<int> downstream = client.submit(add, fs[0], fs[3]);  // runs on fs[0]'s owner
  for (const Future<int>* f : {&fs[3], &downstream}) {
    try {
      f->result();
      ADD_FAILURE() << "no exception";
    } catch (const task_error& e) {
      EXPECT_EQ(e.task(), "'check-3'");
      EXPECT_EQ(e.rank(), 3 % p);
      EXPECT_EQ(e.what_original(), "bad element 3");
    }
  }
}

TEST(DistributedClient, NonSerialisableResultsAreRefusedAcrossRanks) {
  struct Opaque {
    int x;
  };
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  if (s.num_ranks() > 1) {
    EXPECT_THROW(client.submit([] { return Opaque{1}; }), value_error);
  } else {
    EXPECT_EQ(client.submit([] { return Opaque{1}; }).result().x, 1);
  }
}

TEST(DistributedClient, SleepingTasksTwoThreadsPerRank) {
  // Not a speed assertion: prints the time for the report (100 tasks x 10 ms).
  DistributedScheduler s(comm::Communicator::world(), 2);
  Client client(s);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Future<int>> fs = client.map(sleep_ms_then, std::vector<int>(100, 10));
  const std::vector<int> got = client.gather(fs);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(got, std::vector<int>(100, 10));
  if (s.rank() == 0) {
    std::printf("[ timing ] 100 x 10 ms on distributed, %d rank(s) x 2 thread(s): %.3f s\n",
                s.num_ranks(), t);
  }
}

TEST(DistributedClient, DifferentNumbersOfSubmitsAreAnErrorOnEveryRank) {
  DistributedScheduler& s = testing::distributed();
  if (s.num_ranks() == 1) GTEST_SKIP() << "needs 2+ ranks";
  // The reproducer: rank r submits 2 + r tasks, then every rank asks for a result.
  // Before the agreement check this hung (or returned another rank's value).
  for (int round = 0; round < 50; ++round) {
    Client client(s);
    std::vector<Future<int>> fs;
    for (int i = 0; i < 2 + s.rank(); ++i) fs.push_back(client.submit(inc, i));
    try {
      fs.front().result();
      ADD_FAILURE() << "no exception on rank " << s.rank();
    } catch (const graph_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("submitted different tasks"), std::string::npos) << what;
      EXPECT_NE(what.find("rank 1 (3 submits)"), std::string::npos) << what;
      EXPECT_NE(what.find("rank 0 (2 submits)"), std::string::npos) << what;
    }
    // The client stays in error, and closes without hanging.
    EXPECT_THROW(client.gather(fs), graph_error);
  }
}

TEST(DistributedClient, RankDependentArgumentsAreAnError) {
  DistributedScheduler& s = testing::distributed();
  if (s.num_ranks() == 1) GTEST_SKIP() << "needs 2+ ranks";
  Client client(s);
  Future<int> same = client.submit(inc, 41);
  EXPECT_EQ(same.result(), 42);  // equal arguments pass the check
  // Only the owner's argument would be used: a silent wrong answer on the other ranks.
  Future<int> f = client.submit(inc, 100 * s.rank());
  EXPECT_THROW(f.result(), graph_error);
  Client strings(s);
  Future<std::string> g = strings.submit([](const std::string& a) { return a + "!"; },
                                         std::string(s.rank() == 1 ? "b" : "a"));
  EXPECT_THROW(g.result(), graph_error);
}

TEST(DistributedClient, ManyTinyTasksAcrossRanks) {
  // Each root on rank 1 is read by two pairs on rank 0, so the second want() of a value can
  // meet its arrival: once a hang in close() (the value was awaited again after it came).
  DistributedScheduler& s = testing::distributed();
  Client client(s);
  // Round-robin roots, then a chain on each that pulls in its left neighbour's value from
  // another rank: many small messages each way.
  constexpr int kTasks = 2000;
  std::vector<Future<std::int64_t>> roots;
  for (int i = 0; i < kTasks; ++i) {
    roots.push_back(client.submit([](std::int64_t x) { return x * 2; }, std::int64_t{i}));
  }
  std::vector<Future<std::int64_t>> pairs;
  for (int i = 0; i < kTasks; ++i) {
    pairs.push_back(client.submit([](std::int64_t a, std::int64_t b) { return a + b; }, roots[i],
                                  roots[(i + 1) % kTasks]));
  }
  const auto got = client.gather(pairs);
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(got[static_cast<std::size_t>(i)], 2 * i + 2 * ((i + 1) % kTasks)) << i;
  }
}

TEST(DistributedClient, ClientsComeAndGoWhileAnotherOnesValuesMove) {
  // One engine serves every client: b's handler is installed and removed while a's values
  // arrive on the engine's driving threads, and neither client sees the other's messages.
  DistributedScheduler& s = testing::distributed();
  Client a(s);
  constexpr int kTasks = 64;
  std::vector<Future<int>> roots = a.map(sleep_ms_then, std::vector<int>(kTasks, 2));
  std::vector<Future<int>> pairs;
  for (int i = 0; i < kTasks; ++i) {
    pairs.push_back(
        a.submit([](int x, int y) { return x + y; }, roots[i], roots[(i + 1) % kTasks]));
  }
  for (int round = 0; round < 8; ++round) {
    Client b(s);
    std::vector<Future<int>> bs = b.map(inc, std::vector<int>{round, round + 10, round + 20});
    Future<int> sum = b.submit([](int x, int y, int z) { return x + y + z; }, bs[0], bs[1], bs[2]);
    EXPECT_EQ(sum.result(), 3 * round + 33);
  }
  const auto got = a.gather(pairs);
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(got[static_cast<std::size_t>(i)], 4) << i;
  }
}

}  // namespace
}  // namespace tessera
