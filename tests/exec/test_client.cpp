// Client and Future on every scheduler: submit/result, futures as arguments (chains, fan-in,
// many dependencies), map + gather, wait, as_completed, exceptions travelling with futures.
// mpi_test_client.cpp includes this file, so with TESSERA_TEST_DISTRIBUTED the same tests also
// run on a DistributedScheduler over all ranks: test bodies are SPMD (same submits, same order).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"
#include "tessera/exec/client.hpp"

namespace tessera {
namespace {

int inc(int x) { return x + 1; }
int add(int x, int y) { return x + y; }

int sleep_ms_then(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

class ClientTest : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& scheduler() {
    return *testing::all_schedulers()[static_cast<std::size_t>(GetParam())];
  }
};

TEST_P(ClientTest, SubmitAndResult) {
  Client client(scheduler());
  Future<int> a = client.submit(inc, 10);
  Future<int> b = client.submit(inc, 20);
  Future<int> c = client.submit(add, a, b);
  EXPECT_EQ(a.result(), 11);
  EXPECT_EQ(b.result(), 21);
  EXPECT_EQ(c.result(), 32);
  EXPECT_TRUE(c.done());
  EXPECT_EQ(c.key(), "submit-2");
}

TEST_P(ClientTest, LambdasStringsAndNames) {
  Client client(scheduler());
  auto greet = client.submit(
      TaskName{"greet"}, [](const std::string& who) { return "hello " + who; }, std::string("x"));
  auto len = client.submit([](const std::string& s) { return static_cast<int>(s.size()); }, greet);
  EXPECT_EQ(greet.key(), "greet-0");
  EXPECT_EQ(greet.result(), "hello x");
  EXPECT_EQ(len.result(), 7);
}

TEST_P(ClientTest, Chain) {
  Client client(scheduler());
  Future<int> f = client.submit(inc, 0);
  for (int i = 0; i < 200; ++i) f = client.submit(inc, f);
  EXPECT_EQ(f.result(), 201);
}

TEST_P(ClientTest, FanInTree) {
  Client client(scheduler());
  std::vector<Future<int>> level = client.map(inc, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  while (level.size() > 1) {
    std::vector<Future<int>> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      next.push_back(client.submit(add, level[i], level[i + 1]));
    }
    if (level.size() % 2 == 1) next.push_back(level.back());
    level = std::move(next);
  }
  EXPECT_EQ(level[0].result(), 45);  // 1 + 2 + ... + 9
}

TEST_P(ClientTest, ManyDependencies) {
  Client client(scheduler());
  std::vector<int> xs(300);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<Future<int>> parts = client.map(inc, xs);
  Future<long> total = client.submit(
      [](const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0L); }, parts);
  EXPECT_EQ(total.result(), 300L * 301 / 2);
}

TEST_P(ClientTest, MapAndGather) {
  Client client(scheduler());
  std::vector<Future<int>> squares =
      client.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3, 4, 5});
  std::vector<Future<int>> plus_one = client.map(inc, squares);  // a range of futures
  EXPECT_EQ(client.gather(squares), (std::vector<int>{1, 4, 9, 16, 25}));
  EXPECT_EQ(client.gather(plus_one), (std::vector<int>{2, 5, 10, 17, 26}));
  EXPECT_EQ(plus_one[0].key(), "map-5");
}

TEST_P(ClientTest, Wait) {
  Client client(scheduler());
  std::vector<Future<int>> fs = client.map(sleep_ms_then, std::vector<int>{5, 1, 3, 2});
  client.wait(fs);
  for (const auto& f : fs) EXPECT_TRUE(f.done());
  EXPECT_EQ(client.gather(fs), (std::vector<int>{5, 1, 3, 2}));
}

TEST_P(ClientTest, VoidTasks) {
  Client client(scheduler());
  std::atomic<int> calls{0};
  std::vector<Future<void>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(client.submit([&calls] { ++calls; }));
  client.wait(fs);
  for (const auto& f : fs) f.result();
  EXPECT_EQ(testing::sum_over_ranks(calls.load()), 5 * testing::copies_of_work(scheduler()));
}

TEST_P(ClientTest, AsCompletedOrder) {
  Client client(scheduler());
  const std::vector<int> sleeps = {120, 0, 80, 40};
  std::vector<Future<int>> fs = client.map(sleep_ms_then, sleeps);
  std::vector<int> order;
  for (const Future<int>& f : client.as_completed(fs)) {
    EXPECT_TRUE(f.done());
    order.push_back(f.result());
  }
  ASSERT_EQ(order.size(), sleeps.size());
  EXPECT_EQ(std::multiset<int>(order.begin(), order.end()),
            std::multiset<int>(sleeps.begin(), sleeps.end()));
  if (scheduler().name() == "synchronous") {
    EXPECT_EQ(order, sleeps);  // they ran, and completed, at submit time
  } else if (scheduler().name() == "threaded" && scheduler().num_threads() >= 4) {
    EXPECT_EQ(order, (std::vector<int>{0, 40, 80, 120}));  // all at once: shortest first
  }
}

TEST_P(ClientTest, ExceptionsTravelWithTheFuture) {
  Client client(scheduler());
  Future<int> bad = client.submit(
      TaskName{"div"},
      [](int x) -> int {
        if (x == 0) throw std::domain_error("division by zero");
        return 10 / x;
      },
      0);
  Future<int> after = client.submit(inc, bad);  // never runs: its input failed
  Future<int> fine = client.submit(inc, 1);
  try {
    bad.result();
    ADD_FAILURE() << "no exception";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "'div-0'");
    EXPECT_EQ(e.what_original(), "division by zero");
    EXPECT_NE(std::string(e.what()).find("task 'div-0' failed"), std::string::npos) << e.what();
  }
  try {
    after.result();
    ADD_FAILURE() << "no exception";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "'div-0'");  // the original error, not a new one
  }
  EXPECT_THROW(client.gather(std::vector<Future<int>>{fine, bad}), task_error);
  EXPECT_EQ(fine.result(), 2);                        // other futures are unaffected
  client.wait(std::vector<Future<int>>{bad, after});  // wait does not throw
  EXPECT_TRUE(bad.done());
}

TEST_P(ClientTest, SleepingTasksOverlap) {
  // Not a speed assertion: prints the time for the report (100 tasks x 10 ms).
  Client client(scheduler());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Future<int>> fs = client.map(sleep_ms_then, std::vector<int>(100, 10));
  const std::vector<int> got = client.gather(fs);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(got, std::vector<int>(100, 10));
  if (testing::test_ranks() == 1 ||
      (scheduler().name() == "distributed" && scheduler().rank() == 0)) {
    std::printf("[ timing ] 100 x 10 ms on %s, %d rank(s) x %d thread(s): %.3f s\n",
                std::string(scheduler().name()).c_str(), scheduler().num_ranks(),
                scheduler().num_threads(), s);
  }
}

TEST_P(ClientTest, ForeignFutureIsRejected) {
  Client one(scheduler());
  Client two(scheduler());
  Future<int> a = one.submit(inc, 1);
  EXPECT_THROW(two.submit(inc, a), value_error);
  EXPECT_EQ(a.result(), 2);
}

std::string scheduler_label(const ::testing::TestParamInfo<int>& param) {
  static const char* labels[] = {"synchronous", "threaded1", "threaded2", "threaded4",
                                 "distributed"};
  return labels[param.param];
}

INSTANTIATE_TEST_SUITE_P(AllSchedulers, ClientTest, ::testing::Range(0, testing::num_schedulers()),
                         scheduler_label);

}  // namespace
}  // namespace tessera
