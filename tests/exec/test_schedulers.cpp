// Tests of the exec layer: every scheduler (synchronous; threaded with 1, 2 and 4 workers)
// against the Scheduler contract, then what only the threaded scheduler and the thread pool
// promise (concurrent and nested runs, the thread-count setting, batches).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/exec/synchronous_scheduler.hpp"
#include "tessera/exec/thread_pool.hpp"
#include "tessera/exec/threaded_scheduler.hpp"
#include "tessera/graph/task_graph.hpp"

namespace tessera {
namespace {

using Int = std::int64_t;

Int as_int(const Value& v) { return v.get<Int>(); }

/// A task that adds up its inputs (all Int) and `extra`.
TaskFn sum_plus(Int extra = 0) {
  return [extra](std::span<const Value> in) {
    Int s = extra;
    for (const Value& v : in) s += as_int(v);
    return Value::make<Int>(s);
  };
}

TaskFn constant(Int c) {
  return [c](std::span<const Value>) { return Value::make<Int>(c); };
}

/// Adds a task with one coordinate, the way array tasks are named.
TaskId add(TaskGraph& g, std::uint32_t label, Int coord, std::vector<TaskId> deps, TaskFn fn) {
  const Int coords[] = {coord};
  return g.add(label, coords, deps, std::move(fn));
}

/// Builds `n` leaves returning 0..n-1 and a tree reduction over them with fan-in `fan_in`;
/// returns the root. Graph size is about n * fan_in / (fan_in - 1).
TaskId build_tree_sum(TaskGraph& g, Int n, std::size_t fan_in) {
  const auto leaf = g.add_label("leaf");
  const auto partial = g.add_label("partial");
  std::vector<TaskId> level;
  level.reserve(static_cast<std::size_t>(n));
  for (Int i = 0; i < n; ++i) level.push_back(add(g, leaf, i, {}, constant(i)));
  Int coord = 0;
  while (level.size() > 1) {
    std::vector<TaskId> next;
    for (std::size_t i = 0; i < level.size(); i += fan_in) {
      const auto end = std::min(level.size(), i + fan_in);
      next.push_back(add(g, partial, coord++,
                         {level.begin() + static_cast<std::ptrdiff_t>(i),
                          level.begin() + static_cast<std::ptrdiff_t>(end)},
                         sum_plus()));
    }
    level = std::move(next);
  }
  return level.front();
}

/// An object that counts its own destruction (moved-from shells do not count).
class Tracked {
 public:
  explicit Tracked(std::atomic<int>* destroyed) : m_destroyed(destroyed) {}
  Tracked(Tracked&& other) noexcept : m_destroyed(std::exchange(other.m_destroyed, nullptr)) {}
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() {
    if (m_destroyed != nullptr) m_destroyed->fetch_add(1);
  }

 private:
  std::atomic<int>* m_destroyed;
};

// --- the Scheduler contract, for every scheduler ---

/// 0: SynchronousScheduler; n > 0: ThreadedScheduler with n workers.
class SchedulerTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (GetParam() == 0) {
      m_scheduler = std::make_unique<SynchronousScheduler>();
    } else {
      m_scheduler = std::make_unique<ThreadedScheduler>(GetParam());
    }
  }
  Scheduler& scheduler() { return *m_scheduler; }
  /// Whether execution order is fully determined (one thread of execution).
  bool serial() const { return GetParam() <= 1; }

  Int run_one(const TaskGraph& g, TaskId out) {
    const auto values = m_scheduler->run(g, std::span<const TaskId>(&out, 1));
    EXPECT_EQ(values.size(), 1u);
    return as_int(values.at(0));
  }

 private:
  std::unique_ptr<Scheduler> m_scheduler;
};

TEST_P(SchedulerTest, ReportsItsShape) {
  EXPECT_EQ(scheduler().num_threads(), std::max(1, GetParam()));
  EXPECT_EQ(scheduler().name(), GetParam() == 0 ? "synchronous" : "threaded");
}

TEST_P(SchedulerTest, Diamond) {
  TaskGraph g;
  const auto l = g.add_label("x");
  const Int one[] = {0};
  const TaskId a = g.add_value(l, one, Value::make<Int>(1));
  const TaskId b = add(g, l, 1, {a}, sum_plus(1));  // 2
  const TaskId c = add(g, l, 2, {a}, [](std::span<const Value> in) {
    return Value::make<Int>(as_int(in[0]) * 10);
  });                                                 // 10
  const TaskId d = add(g, l, 3, {b, c}, sum_plus());  // 12
  EXPECT_EQ(run_one(g, d), 12);
}

TEST_P(SchedulerTest, InputsArriveInDeclaredOrder) {
  TaskGraph g;
  const auto l = g.add_label("x");
  const TaskId a = add(g, l, 0, {}, constant(7));
  const TaskId b = add(g, l, 1, {}, constant(3));
  const TaskId c = add(g, l, 2, {b, a, b}, [](std::span<const Value> in) {
    return Value::make<Int>(as_int(in[0]) * 100 + as_int(in[1]) * 10 + as_int(in[2]));
  });
  EXPECT_EQ(run_one(g, c), 373);
}

TEST_P(SchedulerTest, LongChain) {
  TaskGraph g;
  const auto l = g.add_label("step");
  TaskId prev = add(g, l, 0, {}, constant(0));
  constexpr Int kLength = 20000;
  for (Int i = 1; i < kLength; ++i) prev = add(g, l, i, {prev}, sum_plus(1));
  EXPECT_EQ(run_one(g, prev), kLength - 1);
}

TEST_P(SchedulerTest, WideTreeReductionOf100kTasks) {
  TaskGraph g;
  constexpr Int kLeaves = 100000;
  const TaskId root = build_tree_sum(g, kLeaves, 8);
  EXPECT_GT(g.size(), 114000u);
  EXPECT_EQ(run_one(g, root), kLeaves * (kLeaves - 1) / 2);
}

TEST_P(SchedulerTest, FlatFanInAndFanOut) {
  // One source feeding 5000 tasks that all feed one sink: large successor lists and a task
  // with more inputs than the inline input buffer holds.
  TaskGraph g;
  const auto l = g.add_label("x");
  const TaskId src = add(g, l, 0, {}, constant(2));
  std::vector<TaskId> mids;
  for (Int i = 0; i < 5000; ++i) mids.push_back(add(g, l, i + 1, {src}, sum_plus(i)));
  const TaskId sink = add(g, l, -1, mids, sum_plus());
  EXPECT_EQ(run_one(g, sink), 5000 * 2 + 4999 * 5000 / 2);
}

TEST_P(SchedulerTest, RunsOnlyWhatTheOutputsNeed) {
  TaskGraph g;
  const auto l = g.add_label("x");
  std::atomic<int> unneeded_calls{0};
  const auto counting = [&](Int v) {
    return [&unneeded_calls, v](std::span<const Value>) {
      unneeded_calls.fetch_add(1);
      return Value::make<Int>(v);
    };
  };
  const TaskId a = add(g, l, 0, {}, constant(5));
  const TaskId unused_root = add(g, l, 1, {}, counting(1));
  const TaskId b = add(g, l, 2, {a}, sum_plus(1));
  const TaskId unused_consumer = add(g, l, 3, {a, unused_root}, counting(2));
  add(g, l, 4, {unused_consumer, b}, counting(3));  // above every output: never looked at
  EXPECT_EQ(run_one(g, b), 6);
  EXPECT_EQ(unneeded_calls.load(), 0);
}

TEST_P(SchedulerTest, OutputsRequestedTwiceAndIntermediateOutputs) {
  TaskGraph g;
  const auto l = g.add_label("x");
  const TaskId a = add(g, l, 0, {}, constant(1));
  const TaskId b = add(g, l, 1, {a}, sum_plus(1));    // 2, also consumed by c
  const TaskId c = add(g, l, 2, {b}, sum_plus(10));   // 12
  const TaskId d = add(g, l, 3, {b, c}, sum_plus());  // 14
  const std::vector<TaskId> outputs = {d, b, b, a, c};
  const auto values = scheduler().run(g, outputs);
  ASSERT_EQ(values.size(), 5u);
  EXPECT_EQ(as_int(values[0]), 14);
  EXPECT_EQ(as_int(values[1]), 2);
  EXPECT_EQ(as_int(values[2]), 2);
  EXPECT_EQ(as_int(values[3]), 1);
  EXPECT_EQ(as_int(values[4]), 12);
}

TEST_P(SchedulerTest, LiteralTasks) {
  TaskGraph g;
  const auto l = g.add_label("lit");
  const Int c0[] = {0}, c1[] = {1};
  const TaskId x = g.add_value(l, c0, Value::make<Int>(40));
  const TaskId y = g.add_value(l, c1, Value::make<Int>(2));
  const TaskId z = add(g, l, 2, {x, y}, sum_plus());
  const std::vector<TaskId> outputs = {z, x};
  const auto values = scheduler().run(g, outputs);
  EXPECT_EQ(as_int(values[0]), 42);
  EXPECT_EQ(as_int(values[1]), 40);
  // A literal is not consumed by a run: running again gives the same answer.
  EXPECT_EQ(run_one(g, z), 42);
}

TEST_P(SchedulerTest, NoOutputsRunsNothing) {
  TaskGraph g;
  std::atomic<int> calls{0};
  add(g, g.add_label("x"), 0, {}, [&](std::span<const Value>) {
    calls.fetch_add(1);
    return Value::make<Int>(0);
  });
  EXPECT_TRUE(scheduler().run(g, {}).empty());
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(SchedulerTest, RejectsOutputsOutsideTheGraph) {
  TaskGraph g;
  add(g, g.add_label("x"), 0, {}, constant(1));
  const std::vector<TaskId> bad = {0, 1};
  EXPECT_THROW(scheduler().run(g, bad), graph_error);
  const std::vector<TaskId> negative = {-1};
  EXPECT_THROW(scheduler().run(g, negative), graph_error);
}

TEST_P(SchedulerTest, IndependentTasksRunInPriorityOrder) {
  if (!serial()) GTEST_SKIP() << "order among concurrent workers is not fixed";
  TaskGraph g;
  const auto l = g.add_label("x");
  constexpr int kTasks = 50;
  std::mutex mutex;
  std::vector<TaskId> order;
  std::vector<TaskId> leaves;
  for (int i = 0; i < kTasks; ++i) {
    leaves.push_back(add(g, l, i, {}, [&, i](std::span<const Value>) {
      std::lock_guard lock(mutex);
      order.push_back(i);
      return Value::make<Int>(i);
    }));
  }
  const TaskId sink = add(g, l, kTasks, leaves, sum_plus());
  // Priorities: a scrambled order of the leaves, the sink last.
  std::vector<std::int32_t> priority(g.size());
  for (int i = 0; i < kTasks; ++i) priority[static_cast<std::size_t>(i)] = (i * 17) % kTasks;
  priority[static_cast<std::size_t>(sink)] = kTasks;
  g.set_priorities(priority);
  EXPECT_EQ(run_one(g, sink), kTasks * (kTasks - 1) / 2);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kTasks));
  for (std::size_t k = 1; k < order.size(); ++k) {
    EXPECT_LT(priority[static_cast<std::size_t>(order[k - 1])],
              priority[static_cast<std::size_t>(order[k])]);
  }
}

TEST_P(SchedulerTest, PrioritiesThatAreNotATopologicalOrder) {
  // b depends on a but has a lower priority than a: the priorities are not a topological
  // order, yet b must still wait for a. Among ready tasks the lower priority goes first:
  // a and c are ready at the start, so a serial run goes c (1), a (2), b (0), d (3).
  TaskGraph g;
  const auto l = g.add_label("x");
  std::mutex mutex;
  std::vector<char> order;
  const auto log = [&](char name, Int v) {
    return [&, name, v](std::span<const Value> in) {
      std::lock_guard lock(mutex);
      order.push_back(name);
      Int s = v;
      for (const Value& x : in) s += as_int(x);
      return Value::make<Int>(s);
    };
  };
  const TaskId a = add(g, l, 0, {}, log('a', 1));
  const TaskId c = add(g, l, 1, {}, log('c', 100));
  const TaskId b = add(g, l, 2, {a}, log('b', 10));
  const TaskId d = add(g, l, 3, {b, c}, log('d', 0));
  g.set_priorities({2, 1, 0, 3});  // a: 2, c: 1, b: 0 (before its own dependency), d: 3
  EXPECT_EQ(run_one(g, d), 111);
  if (serial()) {
    EXPECT_EQ(std::string(order.begin(), order.end()), "cabd");
  }
}

TEST_P(SchedulerTest, ReleasesValuesAfterTheirLastConsumer) {
  TaskGraph g;
  const auto l = g.add_label("x");
  std::atomic<int> destroyed{0};
  std::atomic<int> seen_in_check{-1};
  // a (tracked) -> b1, b2 -> c -> check; check runs after both consumers of a, so a must be
  // gone by then. kept (tracked) is an output, so it must survive the run.
  const TaskId a = add(g, l, 0, {}, [&](std::span<const Value>) {
    return Value::make<Tracked>(Tracked(&destroyed));
  });
  const TaskId kept = add(g, l, 1, {}, [&](std::span<const Value>) {
    return Value::make<Tracked>(Tracked(&destroyed));
  });
  const TaskId b1 = add(g, l, 2, {a}, constant(1));
  const TaskId b2 = add(g, l, 3, {a, kept}, constant(2));
  const TaskId c = add(g, l, 4, {b1, b2}, sum_plus());
  const TaskId check = add(g, l, 5, {c}, [&](std::span<const Value> in) {
    seen_in_check.store(destroyed.load());
    return in[0];
  });
  const std::vector<TaskId> outputs = {check, kept};
  {
    const auto values = scheduler().run(g, outputs);
    EXPECT_EQ(as_int(values[0]), 3);
    EXPECT_TRUE(values[1].holds<Tracked>());
    EXPECT_EQ(seen_in_check.load(), 1) << "a was still alive when a later task ran";
    EXPECT_EQ(destroyed.load(), 1) << "the output must outlive the run";
  }
  EXPECT_EQ(destroyed.load(), 2);
}

TEST_P(SchedulerTest, FailingTaskThrowsTaskErrorNamingIt) {
  TaskGraph g;
  const auto l = g.add_label("x");
  const auto boom = g.add_label("boom");
  const TaskId a = add(g, l, 0, {}, constant(1));
  const TaskId bad = add(g, boom, 3, {a}, [](std::span<const Value>) -> Value {
    throw std::runtime_error("bad input in chunk");
  });
  const TaskId d = add(g, l, 2, {bad, a}, sum_plus());
  try {
    run_one(g, d);
    FAIL() << "expected a task_error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "('boom', 3)");
    EXPECT_EQ(e.what_original(), "bad input in chunk");
    const std::string what = e.what();
    EXPECT_NE(what.find("('boom', 3)"), std::string::npos) << what;
    EXPECT_NE(what.find("bad input in chunk"), std::string::npos) << what;
  }
}

TEST_P(SchedulerTest, NonStandardExceptionsAreWrappedToo) {
  TaskGraph g;
  const TaskId t =
      add(g, g.add_label("odd"), 0, {}, [](std::span<const Value>) -> Value { throw 42; });
  EXPECT_THROW(run_one(g, t), task_error);
}

TEST_P(SchedulerTest, TaskErrorsFromNestedRunsKeepTheInnerName) {
  TaskGraph g;
  const TaskId t = add(g, g.add_label("outer"), 0, {}, [](std::span<const Value>) -> Value {
    throw task_error("('inner', 7)", "deep failure");
  });
  try {
    run_one(g, t);
    FAIL() << "expected a task_error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "('inner', 7)");
    EXPECT_EQ(e.what_original(), "deep failure");
  }
}

TEST_P(SchedulerTest, FailureInALargeGraphDrainsAndStopsStartingTasks) {
  TaskGraph g;
  const auto leaf = g.add_label("leaf");
  const auto bad = g.add_label("bad");
  std::atomic<int> started{0};
  constexpr int kLeaves = 20000;
  std::vector<TaskId> leaves;
  // The failing task comes first in priority order: the others should mostly never start.
  leaves.push_back(add(g, bad, 0, {}, [](std::span<const Value>) -> Value {
    throw std::invalid_argument("negative extent");
  }));
  for (int i = 1; i < kLeaves; ++i) {
    leaves.push_back(add(g, leaf, i, {}, [&](std::span<const Value>) {
      started.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(1));
      return Value::make<Int>(1);
    }));
  }
  const TaskId sink = add(g, leaf, -1, leaves, sum_plus());
  EXPECT_THROW(run_one(g, sink), task_error);
  if (serial()) {
    EXPECT_EQ(started.load(), 0);
  } else {
    EXPECT_LT(started.load(), kLeaves - 1);
  }
}

TEST_P(SchedulerTest, UsableAfterAFailure) {
  TaskGraph failing;
  const TaskId t = add(failing, failing.add_label("f"), 0, {},
                       [](std::span<const Value>) -> Value { throw std::runtime_error("nope"); });
  TaskGraph good;
  const TaskId root = build_tree_sum(good, 1000, 4);
  for (int round = 0; round < 5; ++round) {
    EXPECT_THROW(run_one(failing, t), task_error);
    EXPECT_EQ(run_one(good, root), 1000 * 999 / 2);
  }
}

TEST_P(SchedulerTest, RepeatedRuns) {
  TaskGraph g;
  const TaskId root = build_tree_sum(g, 2000, 3);
  for (int round = 0; round < 50; ++round) ASSERT_EQ(run_one(g, root), 2000 * 1999 / 2);
}

std::string scheduler_case_name(const ::testing::TestParamInfo<int>& param) {
  return param.param == 0 ? std::string("Synchronous") : "Threaded" + std::to_string(param.param);
}

std::string threads_case_name(const ::testing::TestParamInfo<int>& param) {
  return "Threads" + std::to_string(param.param);
}

INSTANTIATE_TEST_SUITE_P(Exec, SchedulerTest, ::testing::Values(0, 1, 2, 4), scheduler_case_name);

// --- threaded scheduler only ---

class ThreadedSchedulerTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadedSchedulerTest, ConcurrentRunsFromSeveralThreads) {
  ThreadedScheduler scheduler(GetParam());
  TaskGraph g;
  const TaskId root = build_tree_sum(g, 5000, 8);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        const auto v = scheduler.run(g, std::span<const TaskId>(&root, 1));
        if (as_int(v[0]) != 5000 * 4999 / 2) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(ThreadedSchedulerTest, TaskMayRunAGraphOnTheSameScheduler) {
  ThreadedScheduler scheduler(GetParam());
  TaskGraph inner;
  const TaskId inner_root = build_tree_sum(inner, 300, 4);
  TaskGraph outer;
  const auto l = outer.add_label("outer");
  std::vector<TaskId> parts;
  for (Int i = 0; i < 8; ++i) {
    parts.push_back(add(outer, l, i, {}, [&](std::span<const Value>) {
      return scheduler.run(inner, std::span<const TaskId>(&inner_root, 1)).at(0);
    }));
  }
  const TaskId total = add(outer, l, 8, parts, sum_plus());
  const auto v = scheduler.run(outer, std::span<const TaskId>(&total, 1));
  EXPECT_EQ(as_int(v[0]), 8 * (300 * 299 / 2));
}

INSTANTIATE_TEST_SUITE_P(Exec, ThreadedSchedulerTest, ::testing::Values(1, 2, 4),
                         threads_case_name);

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(ThreadedScheduler, ThreadCountFromTheEnvironment) {
  {
    ScopedEnv env("TESSERA_NUM_THREADS", "3");
    EXPECT_EQ(ThreadedScheduler().num_threads(), 3);
    EXPECT_EQ(ThreadedScheduler(2).num_threads(), 2) << "an explicit count wins";
  }
  {
    ScopedEnv env("TESSERA_NUM_THREADS", "three");
    EXPECT_THROW(ThreadedScheduler(), value_error);
  }
  {
    ScopedEnv env("TESSERA_NUM_THREADS", "0");
    EXPECT_THROW(ThreadedScheduler(), value_error);
  }
  EXPECT_THROW(ThreadedScheduler(-1), value_error);
}

TEST(ThreadedScheduler, RunsOnABorrowedPool) {
  ThreadPool pool(2);
  ThreadedScheduler a(pool), b(pool);
  EXPECT_EQ(a.num_threads(), 2);
  EXPECT_EQ(&a.pool(), &pool);
  TaskGraph g;
  const TaskId root = build_tree_sum(g, 1000, 8);
  EXPECT_EQ(as_int(a.run(g, std::span<const TaskId>(&root, 1))[0]), 1000 * 999 / 2);
  EXPECT_EQ(as_int(b.run(g, std::span<const TaskId>(&root, 1))[0]), 1000 * 999 / 2);
}

TEST(DefaultScheduler, IsThreadedUnlessReplaced) {
  EXPECT_EQ(default_scheduler().name(), "threaded");
  SynchronousScheduler sync;
  set_default_scheduler(&sync);
  EXPECT_EQ(&default_scheduler(), &sync);
  set_default_scheduler(nullptr);
  EXPECT_EQ(default_scheduler().name(), "threaded");
  TaskGraph g;
  const TaskId root = build_tree_sum(g, 100, 8);
  EXPECT_EQ(as_int(default_scheduler().run(g, std::span<const TaskId>(&root, 1))[0]), 4950);
}

// --- thread pool ---

class ThreadPoolTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadPoolTest, RunBatchVisitsEveryIndexOnce) {
  ThreadPool pool(GetParam());
  constexpr std::int64_t kCount = 100000;
  std::vector<std::atomic<int>> hits(kCount);
  pool.run_batch(
      kCount, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)].fetch_add(1); }, 7);
  int bad = 0;
  for (const auto& h : hits) bad += h.load() != 1;
  EXPECT_EQ(bad, 0);
  pool.run_batch(0, [](std::int64_t) { FAIL(); });
}

TEST_P(ThreadPoolTest, RunBatchRethrowsTheFirstError) {
  ThreadPool pool(GetParam());
  EXPECT_THROW(pool.run_batch(1000,
                              [](std::int64_t i) {
                                if (i == 500) throw std::out_of_range("index 500");
                              }),
               std::out_of_range);
  std::atomic<std::int64_t> sum{0};
  pool.run_batch(100, [&](std::int64_t i) { sum.fetch_add(i); });
  EXPECT_EQ(sum.load(), 4950);
}

TEST_P(ThreadPoolTest, NestedBatchesDoNotDeadlock) {
  ThreadPool pool(GetParam());
  std::atomic<std::int64_t> sum{0};
  pool.run_batch(
      16, [&](std::int64_t) { pool.run_batch(100, [&](std::int64_t j) { sum.fetch_add(j); }); });
  EXPECT_EQ(sum.load(), 16 * 4950);
}

TEST_P(ThreadPoolTest, SubmittedFunctionsRunBeforeDestructionEnds) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(GetParam());
    for (int i = 0; i < 1000; ++i) pool.submit([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST_P(ThreadPoolTest, IdleWorkersWakeUpForNewWork) {
  ThreadPool pool(GetParam());
  for (int round = 0; round < 3; ++round) {
    // Long enough for every worker to go to sleep.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::atomic<int> ran{0};
    pool.run_batch(64, [&](std::int64_t) { ran.fetch_add(1); });
    EXPECT_EQ(ran.load(), 64);
  }
}

INSTANTIATE_TEST_SUITE_P(Exec, ThreadPoolTest, ::testing::Values(1, 2, 4), threads_case_name);

TEST(ThreadPool, NeedsAtLeastOneThread) { EXPECT_THROW(ThreadPool(0), value_error); }

}  // namespace
}  // namespace tessera
