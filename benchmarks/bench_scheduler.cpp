// Scheduler overhead per task: 100,000 trivial leaf tasks (each returns its index) and a tree
// reduction with fan-in 8 that sums them, run on the threaded scheduler (1 and 2 workers) and
// on the synchronous one. Tasks do almost nothing, so the time is the scheduler's own cost:
// planning the run, counters, queues, waking workers, creating and releasing Values.
//
// Prints one line per configuration, e.g.
//   scheduler_trivial threaded threads=2 tasks=114289 us_per_task=0.42 build_us_per_task=0.2
// us_per_task is the median over 5 runs of Scheduler::run (graph construction excluded);
// build_us_per_task is the median time to build the graph. Exits non-zero on a wrong sum.
//
// Usage: bench_scheduler [leaves (default 100000)] [repetitions (default 5)]

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tessera/exec/synchronous_scheduler.hpp"
#include "tessera/exec/threaded_scheduler.hpp"
#include "tessera/graph/task_graph.hpp"

namespace {

using tessera::TaskGraph;
using tessera::TaskId;
using tessera::Value;
using Clock = std::chrono::steady_clock;

struct SumGraph {
  TaskGraph graph;
  TaskId root = -1;
};

SumGraph build(std::int64_t leaves) {
  SumGraph g;
  const auto leaf_label = g.graph.add_label("leaf");
  const auto sum_label = g.graph.add_label("sum");
  std::vector<TaskId> level;
  level.reserve(static_cast<std::size_t>(leaves));
  for (std::int64_t i = 0; i < leaves; ++i) {
    const std::int64_t coords[] = {i};
    level.push_back(g.graph.add(leaf_label, coords, {}, [i](std::span<const Value>) {
      return Value::make<std::int64_t>(i);
    }));
  }
  constexpr std::size_t kFanIn = 8;
  std::int64_t coord = 0;
  while (level.size() > 1) {
    std::vector<TaskId> next;
    next.reserve(level.size() / kFanIn + 1);
    for (std::size_t i = 0; i < level.size(); i += kFanIn) {
      const std::size_t n = std::min(kFanIn, level.size() - i);
      const std::int64_t coords[] = {coord++};
      next.push_back(g.graph.add(sum_label, coords, std::span<const TaskId>(&level[i], n),
                                 [](std::span<const Value> in) {
                                   std::int64_t s = 0;
                                   for (const Value& v : in) s += v.get<std::int64_t>();
                                   return Value::make<std::int64_t>(s);
                                 }));
    }
    level = std::move(next);
  }
  g.root = level.front();
  return g;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Runs the benchmark for one scheduler; false when a run gave a wrong sum.
bool bench(tessera::Scheduler& scheduler, std::int64_t leaves, int reps) {
  const std::int64_t expected = leaves * (leaves - 1) / 2;
  std::vector<double> build_s, run_s;
  std::size_t tasks = 0;
  bool ok = true;
  for (int rep = 0; rep <= reps; ++rep) {  // rep 0 warms up (pages, allocator, threads)
    auto start = Clock::now();
    SumGraph g = build(leaves);
    const double b = seconds_since(start);
    tasks = g.graph.size();
    start = Clock::now();
    const auto values = scheduler.run(g.graph, std::span<const TaskId>(&g.root, 1));
    const double r = seconds_since(start);
    if (values.at(0).get<std::int64_t>() != expected) ok = false;
    if (rep > 0) {
      build_s.push_back(b);
      run_s.push_back(r);
    }
  }
  const double per_task = 1e6 / static_cast<double>(tasks);
  fmt::print(
      "scheduler_trivial {} threads={} tasks={} us_per_task={:.3f} build_us_per_task={:.3f}\n",
      scheduler.name(), scheduler.num_threads(), tasks, median(run_s) * per_task,
      median(build_s) * per_task);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t leaves = argc > 1 ? std::atoll(argv[1]) : 100000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  if (leaves < 2 || reps < 1) {
    fmt::print(stderr, "usage: {} [leaves >= 2] [repetitions >= 1]\n", argv[0]);
    return 2;
  }
  bool ok = true;
  for (int threads : {1, 2}) {
    tessera::ThreadedScheduler scheduler(threads);
    ok = bench(scheduler, leaves, reps) && ok;
  }
  tessera::SynchronousScheduler sync;
  ok = bench(sync, leaves, reps) && ok;
  if (!ok) fmt::print(stderr, "wrong sum\n");
  return ok ? 0 : 1;
}
