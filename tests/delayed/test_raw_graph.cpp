// Raw task graphs written by hand (keys -> tasks), on every scheduler: Dask's custom-graph
// example (load/clean/analyze/store), literals, lists of keys, tuple keys, culling, and the
// errors of malformed graphs and failing tasks; listing a TaskGraph (a raw graph's, an
// array's) as keys and dependencies.
//
// mpi_test_raw_graph.cpp includes this file, so every test here also runs on a
// DistributedScheduler at 1-4 ranks: bodies are SPMD (counts compared with sum_over_ranks,
// no rank-dependent branches).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "tessera/delayed/raw_graph.hpp"

namespace tessera::testing {
namespace raw_graph_tests {

// --- Dask's custom graph example --------------------------------------------------------------

/// "Reads" a data file: a few values that depend on its name, some of them invalid (< 0).
std::vector<double> load(const std::string& filename) {
  const double base = static_cast<double>(filename.at(filename.find('.') + 1) - 'a' + 1);
  return {base, -1.0, base * 10, -2.0, base * 100};
}

/// Drops invalid values.
std::vector<double> clean(const std::vector<double>& data) {
  std::vector<double> out;
  for (double v : data)
    if (v >= 0) out.push_back(v);
  return out;
}

/// The total over all cleaned data sets.
double analyze(const std::vector<std::vector<double>>& sequence_of_data) {
  double total = 0;
  for (const auto& d : sequence_of_data) total = std::accumulate(d.begin(), d.end(), total);
  return total;
}

/// What would be written to the result file.
std::string store(double result) { return "result=" + std::to_string(result); }

RawGraph dask_example() {
  return RawGraph{
      {"load-1", task(load, "myfile.a.data")},
      {"load-2", task(load, "myfile.b.data")},
      {"load-3", task(load, "myfile.c.data")},
      {"clean-1", task(clean, Key("load-1"))},
      {"clean-2", task(clean, Key("load-2"))},
      {"clean-3", task(clean, Key("load-3"))},
      {"analyze", task(analyze, KeyList{"clean-1", "clean-2", "clean-3"})},
      {"store", task(store, Key("analyze"))},
  };
}

// (1 + 10 + 100) * (1 + 2 + 3)
constexpr double kAnalyzed = 666.0;

class RawGraphOnEveryScheduler : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& scheduler() { return *all_schedulers()[static_cast<std::size_t>(GetParam())]; }
};

TEST_P(RawGraphOnEveryScheduler, DaskCustomGraphExample) {
  const RawGraph g = dask_example();
  Scheduler& s = scheduler();
  EXPECT_EQ(get<std::string>(g, "store", s), store(kAnalyzed));
  const std::vector<Value> v = get(g, {"analyze", "store", "clean-2"}, s);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].get<double>(), kAnalyzed);
  EXPECT_EQ(v[1].get<std::string>(), store(kAnalyzed));
  EXPECT_EQ(v[2].get<std::vector<double>>(), (std::vector<double>{2, 20, 200}));
  // One task per key that "store" needs: all eight.
  EXPECT_EQ(lower(g, {"store"}).graph.size(), 8u);
}

TEST_P(RawGraphOnEveryScheduler, PlainValuesAndLiteralArguments) {
  const RawGraph g{
      {"n", value(std::int64_t{7})},
      {"scale", value(0.5)},
      {"name", value("tessera")},  // a string literal is stored as a std::string
      // Literals are converted to the parameter types: int -> double, const char* -> string.
      {"scaled", task([](double x, double by) { return x * by; }, Key("scale"), 3)},
      {"label", task([](const std::string& a, std::string b,
                        std::int64_t n) { return a + "-" + b + "-" + std::to_string(n); },
                     Key("name"), "run", Key("n"))},
      {"constant", task([](std::int64_t a, std::int64_t b) { return a * b; }, 6, 7)},
  };
  Scheduler& s = scheduler();
  EXPECT_EQ(get<std::int64_t>(g, "n", s), 7);
  EXPECT_EQ(get<std::string>(g, "name", s), "tessera");
  EXPECT_EQ(get<double>(g, "scaled", s), 1.5);
  EXPECT_EQ(get<std::string>(g, "label", s), "tessera-run-7");
  EXPECT_EQ(get<std::int64_t>(g, "constant", s), 42);
  // A key requested twice, and a plain value next to a task.
  const auto v = get(g, {"label", "n", "label"}, s);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].get<std::string>(), "tessera-run-7");
  EXPECT_EQ(v[1].get<std::int64_t>(), 7);
  EXPECT_EQ(v[2].get<std::string>(), "tessera-run-7");
}

TEST_P(RawGraphOnEveryScheduler, ListsOfKeysAndTupleKeys) {
  RawGraph g;
  std::vector<Key> parts;
  for (int i = 0; i < 5; ++i) {
    g.set(Key("x", i), task([](std::int64_t k) { return k * k; }, i));
    parts.emplace_back("x", i);
  }
  const auto total = [](const std::vector<std::int64_t>& v) {
    return std::accumulate(v.begin(), v.end(), std::int64_t{0});
  };
  g.set("sum", task(total, parts));                                // a std::vector<Key>
  g.set("twice", task(total, KeyList{Key("x", 3), Key("x", 3)}));  // the same key twice
  g.set("none", task(total, KeyList{}));                           // an empty list
  g.set(Key("y", 1, 2),
        task([](std::int64_t a, std::int64_t b) { return a - b; }, Key("sum"), Key("x", 1)));
  // A parameter of type Value (or std::vector<Value>) takes any type.
  g.set("count",
        task([](const std::vector<Value>& v) { return static_cast<std::int64_t>(v.size()); },
             KeyList{"sum", Key("x", 0), "twice"}));
  Scheduler& s = scheduler();
  EXPECT_EQ(get<std::int64_t>(g, "sum", s), 0 + 1 + 4 + 9 + 16);
  EXPECT_EQ(get<std::int64_t>(g, "twice", s), 18);
  EXPECT_EQ(get<std::int64_t>(g, "none", s), 0);
  EXPECT_EQ(get<std::int64_t>(g, Key("y", 1, 2), s), 29);
  EXPECT_EQ(get<std::int64_t>(g, "count", s), 3);
  EXPECT_EQ(get<std::int64_t>(g, {"x", 4}, s), 16);
}

TEST_P(RawGraphOnEveryScheduler, OnlyWhatTheRequestedKeysNeedRuns) {
  Scheduler& s = scheduler();
  std::atomic<int> loads{0}, cleans{0}, others{0};
  const RawGraph g{
      {"load-1", task(
                     [&](std::int64_t x) {
                       ++loads;
                       return x;
                     },
                     1)},
      {"load-2", task(
                     [&](std::int64_t x) {
                       ++loads;
                       return x;
                     },
                     2)},
      {"clean-1", task(
                      [&](std::int64_t x) {
                        ++cleans;
                        return x * 10;
                      },
                      Key("load-1"))},
      {"clean-2", task(
                      [&](std::int64_t x) {
                        ++cleans;
                        return x * 10;
                      },
                      Key("load-2"))},
      {"unused", task(
                     [&](std::int64_t x) {
                       ++others;
                       return x;
                     },
                     Key("clean-2"))},
      // Unrequested, it is not lowered: its missing key is no error.
      {"broken", task(
                     [&](std::int64_t x) {
                       ++others;
                       return x;
                     },
                     Key("no-such-key"))},
  };
  EXPECT_EQ(get<std::int64_t>(g, "clean-1", s), 10);
  // A distributed run computes each task once over all ranks; a local one on every rank.
  const std::int64_t copies = copies_of_work(s);
  EXPECT_EQ(sum_over_ranks(loads), copies);
  EXPECT_EQ(sum_over_ranks(cleans), copies);
  EXPECT_EQ(sum_over_ranks(others), 0);
  const LoweredRawGraph l = lower(g, {"clean-1"});
  EXPECT_EQ(l.keys, (std::vector<Key>{"load-1", "clean-1"}));
}

TEST_P(RawGraphOnEveryScheduler, AnExceptionInATaskNamesItsKey) {
  Scheduler& s = scheduler();
  RawGraph g = dask_example();
  g.set("clean-2", task([](const std::vector<double>&)
                            -> std::vector<double> { throw std::runtime_error("corrupt record"); },
                        Key("load-2")));
  try {
    get(g, "store", s);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "'clean-2'");
    EXPECT_EQ(e.what_original(), "corrupt record");
    EXPECT_NE(std::string(e.what()).find("'clean-2'"), std::string::npos) << e.what();
  }
  // Tuple keys name the task the same way, and the scheduler stays usable.
  RawGraph t{{Key("chunk", 2, 0),
              task([](std::int64_t) -> std::int64_t { throw value_error("bad chunk"); }, 1)}};
  try {
    get(t, Key("chunk", 2, 0), s);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "('chunk', 2, 0)");
  }
  EXPECT_EQ(get<std::string>(dask_example(), "store", s), store(kAnalyzed));
}

TEST_P(RawGraphOnEveryScheduler, MalformedGraphsFailBeforeAnythingRuns) {
  Scheduler& s = scheduler();
  std::atomic<int> calls{0};
  const auto counted = [&](std::int64_t x) {
    ++calls;
    return x;
  };
  const RawGraph cycle{
      {"source", task(counted, 1)},
      {"a", task([](std::int64_t x, std::int64_t) { return x; }, Key("source"), Key("c"))},
      {"b", task(counted, Key("a"))},
      {"c", task(counted, Key("b"))},
      {"out", task(counted, Key("c"))},
  };
  EXPECT_THROW(get(cycle, "out", s), graph_error);
  const RawGraph missing{
      {"source", task(counted, 1)},
      {"mid", task([](std::int64_t x, std::int64_t) { return x; }, Key("source"), Key("gone"))},
  };
  EXPECT_THROW(get(missing, "mid", s), graph_error);
  const RawGraph wrong_type{
      {"source", task(counted, 1)},
      {"text", value(std::string("abc"))},
      {"use", task([](std::int64_t a, double b) { return static_cast<double>(a) + b; },
                   Key("source"), Key("text"))},
  };
  EXPECT_THROW(get(wrong_type, "use", s), dtype_error);
  EXPECT_THROW(get(wrong_type, "absent", s), graph_error);
  EXPECT_THROW(get<double>(wrong_type, "text", s), dtype_error);  // after a run
  // Only the get<double> above ran something ("text", a plain value): no task was called.
  EXPECT_EQ(sum_over_ranks(calls), 0);
}

INSTANTIATE_TEST_SUITE_P(Schedulers, RawGraphOnEveryScheduler,
                         ::testing::Range(0, num_schedulers()));

// --- errors name the keys ---------------------------------------------------------------------

/// The message of the exception `f` throws (of type E), or "" when it throws none.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

TEST(RawGraphErrors, CycleNamesTheKeysOnIt) {
  const auto id = [](std::int64_t x) { return x; };
  const RawGraph g{
      {"start", task(id, Key("a"))},
      {"a", task(id, Key("b"))},
      {"b", task(id, Key(std::string("c"), 0))},
      {Key("c", 0), task(id, Key("a"))},
  };
  const std::string m = message_of<graph_error>([&] { lower(g, {"start"}); });
  EXPECT_NE(m.find("cycle"), std::string::npos) << m;
  EXPECT_NE(m.find("'a' -> 'b' -> ('c', 0) -> 'a'"), std::string::npos) << m;
  EXPECT_EQ(m.find("'start'"), std::string::npos) << m;  // not on the cycle
  const RawGraph self{{"me", task(id, Key("me"))}};
  const std::string s = message_of<graph_error>([&] { lower(self, {"me"}); });
  EXPECT_NE(s.find("'me' -> 'me'"), std::string::npos) << s;
}

TEST(RawGraphErrors, MissingKeyNamesItAndItsReferrer) {
  const RawGraph g{
      {"analyze", task(analyze, KeyList{"clean-1", Key("clean", 2)})},
      {"clean-1", value(std::vector<double>{1.0})},
  };
  const std::string m = message_of<graph_error>([&] { lower(g, {"analyze"}); });
  EXPECT_NE(m.find("key ('clean', 2) is missing"), std::string::npos) << m;
  EXPECT_NE(m.find("task 'analyze'"), std::string::npos) << m;
  EXPECT_NE(m.find("argument 0, item 1"), std::string::npos) << m;
  const std::string r = message_of<graph_error>([&] { lower(g, {"analyze", "result"}); });
  EXPECT_NE(r.find("key 'result' was requested"), std::string::npos) << r;
  EXPECT_THROW(g.at("result"), graph_error);
}

TEST(RawGraphErrors, WrongArgumentTypeNamesTaskPositionAndTypes) {
  const RawGraph g{
      {"load-1", value(std::string("not numbers"))},
      {"clean-1", task(clean, Key("load-1"))},
      {"n", value(std::int64_t{3})},
      {"analyze", task([](double scale,
                          const std::vector<std::vector<double>>& d) { return scale * analyze(d); },
                       2.0, KeyList{"n", "clean-1"})},
  };
  const std::string m = message_of<dtype_error>([&] { lower(g, {"clean-1"}); });
  EXPECT_NE(m.find("argument 0 of task 'clean-1'"), std::string::npos) << m;
  EXPECT_NE(m.find("key 'load-1'"), std::string::npos) << m;
  EXPECT_NE(m.find("std::string"), std::string::npos) << m;
  EXPECT_NE(m.find("std::vector<double>"), std::string::npos) << m;
  const std::string l = message_of<dtype_error>([&] { lower(g, {"analyze"}); });
  EXPECT_NE(l.find("argument 1, item 0 of its key list of task 'analyze'"), std::string::npos) << l;
  EXPECT_NE(l.find("key 'n', which yields a long"), std::string::npos) << l;
  SynchronousScheduler sync;
  const std::string r = message_of<dtype_error>([&] { get<double>(g, "n", sync); });
  EXPECT_NE(r.find("get<double>: key 'n' holds a long"), std::string::npos) << r;
}

TEST(RawGraphErrors, ProducersReturningValueAreCheckedWhenTheyRun) {
  // A producer that returns a type-erased Value has no static type: its consumer checks the
  // value when it runs, and the task_error names the consumer, the argument and both types.
  const RawGraph g{
      {"any", task([](std::int64_t x) { return Value::make(x); }, 1)},
      {"use", task([](double x) { return x; }, Key("any"))},
  };
  SynchronousScheduler sync;
  try {
    get(g, "use", sync);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "'use'");
    EXPECT_NE(e.what_original().find("argument 0 of task 'use' holds a long, but the callable "
                                     "takes double"),
              std::string::npos)
        << e.what_original();
  }
}

// --- looking at graphs ------------------------------------------------------------------------

TEST(RawGraphListing, LoweredRawGraphIsNamedByKeys) {
  const RawGraph g = dask_example();
  const LoweredRawGraph l = lower(g, {"store", "clean-3"});
  ASSERT_EQ(l.keys.size(), l.graph.size());
  for (std::size_t i = 0; i < l.keys.size(); ++i)
    EXPECT_EQ(l.graph.name(static_cast<TaskId>(i)), l.keys[i].to_string());
  ASSERT_EQ(l.outputs.size(), 2u);
  EXPECT_EQ(l.graph.name(l.outputs[0]), "'store'");
  EXPECT_EQ(l.graph.name(l.outputs[1]), "'clean-3'");
  const auto tasks = list_tasks(l.graph);
  ASSERT_EQ(tasks.size(), 8u);
  const auto analyze_task = std::find_if(
      tasks.begin(), tasks.end(), [](const TaskListing& t) { return t.name == "'analyze'"; });
  ASSERT_NE(analyze_task, tasks.end());
  EXPECT_EQ(analyze_task->dependencies,
            (std::vector<std::string>{"'clean-1'", "'clean-2'", "'clean-3'"}));
  // Dependencies always come before their consumers.
  for (const auto& t : tasks)
    for (const auto& d : t.dependencies) {
      const auto dep = std::find_if(tasks.begin(), tasks.end(),
                                    [&](const TaskListing& u) { return u.name == d; });
      ASSERT_NE(dep, tasks.end());
      EXPECT_LT(dep->id, t.id);
    }
  const std::string text = to_string(tasks);
  EXPECT_EQ(text.front(), '{');
  EXPECT_NE(text.find("'analyze': task('clean-1', 'clean-2', 'clean-3')"), std::string::npos)
      << text;
  EXPECT_NE(text.find("'load-1': task()"), std::string::npos) << text;
}

TEST(RawGraphListing, RawGraphPrintsLikeADaskDict) {
  const RawGraph g{
      {"load-1", task(load, "myfile.a.data")},
      {"clean-1", task(clean, Key("load-1"))},
      {"analyze", task(analyze, KeyList{"clean-1", Key("clean", 2)})},
      {Key("x", 0), value(2.5)},
      {"n", value(std::int64_t{3})},
  };
  EXPECT_EQ(g.to_string(),
            "{'load-1': task(\"myfile.a.data\"),\n"
            " 'clean-1': task('load-1'),\n"
            " 'analyze': task(['clean-1', ('clean', 2)]),\n"
            " ('x', 0): 2.5,\n"
            " 'n': 3}");
  EXPECT_EQ(g.size(), 5u);
  EXPECT_EQ(g.keys().back(), Key("n"));
  EXPECT_TRUE(g.contains(Key("x", 0)));
  EXPECT_FALSE(g.contains("x"));
  EXPECT_EQ(g.at("analyze").dependencies().size(), 2u);
  EXPECT_TRUE(g.at("n").is_value());
}

TEST(RawGraphListing, AnArraysChunkGraphListsItsChunkTasksAndTheCombine) {
  const Array x = arange(10, {.chunks = 3}).sum();  // 4 chunks
  const LoweredGraph lg = x.lower();
  const auto tasks = list_tasks(lg.graph);
  ASSERT_EQ(tasks.size(), lg.graph.size());
  // One task per chunk (arange fused into the partial sums), then what combines them.
  int chunk_tasks = 0;
  for (const auto& t : tasks)
    if (t.dependencies.empty()) ++chunk_tasks;
  EXPECT_EQ(chunk_tasks, 4);
  ASSERT_EQ(lg.all_outputs().size(), 1u);
  const TaskListing& out = tasks.at(static_cast<std::size_t>(lg.all_outputs()[0]));
  // With the default fan-in (8) one task combines the four partial sums.
  ASSERT_EQ(out.dependencies.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_NE(out.dependencies[k].find("-partial', " + std::to_string(k) + ")"), std::string::npos)
        << out.dependencies[k];
  }
  // The listing reaches every chunk task from the output.
  std::vector<bool> reached(tasks.size(), false);
  reached[static_cast<std::size_t>(out.id)] = true;
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    if (!reached[static_cast<std::size_t>(it->id)]) continue;
    for (TaskId d : lg.graph.deps(it->id)) reached[static_cast<std::size_t>(d)] = true;
  }
  EXPECT_EQ(std::count(reached.begin(), reached.end(), true),
            static_cast<std::ptrdiff_t>(tasks.size()));
  const std::string text = to_string(tasks);
  EXPECT_NE(text.find(tasks[0].name + ": task()"), std::string::npos) << text;
  EXPECT_NE(text.find(", 3)"), std::string::npos) << text;  // the fourth chunk's task
}

}  // namespace raw_graph_tests
}  // namespace tessera::testing
