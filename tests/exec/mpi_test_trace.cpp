// Traces and performance reports at 1-4 ranks (tessera/exec/trace.hpp,
// tessera/exec/performance_report.hpp): rank 0 writes one file with every rank's tasks, each
// transfer's two ends joined by a flow that goes forward in time on rank 0's clock, memory
// counters, and nothing recorded outside the scope; a file that cannot be written is an error
// on every rank.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "io/file_test.hpp"
#include "tessera/tessera.hpp"

namespace tessera {
namespace {

using testing::distributed;
using Json = nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A compute that moves chunks between ranks: a transpose-and-add over an uneven grid, summed.
double moving_compute() {
  const ComputeOptions on{.scheduler = &distributed()};
  auto x = RandomGenerator(7).uniform(0, 1, {300, 200},
                                      ChunkSpec::explicit_sizes({{70, 70, 70, 70, 20}, {120, 80}}));
  auto y = x + rechunk(x, ChunkSpec::explicit_sizes({{150, 150}, {50, 150}}));
  return y.sum().item<double>(on);
}

using TraceTest = FileTest;

TEST_F(TraceTest, RankZeroWritesEveryRanksTasksTransfersAndMemory) {
  const std::string path = this->path("run.json");
  const std::int64_t before = testing::sum_over_ranks(distributed().memory_stats().tasks_run);
  double sum = 0;
  {
    Trace trace(path, distributed());
    sum = moving_compute();
  }
  const std::int64_t tasks =
      testing::sum_over_ranks(distributed().memory_stats().tasks_run) - before;
  const std::int64_t sent = testing::sum_over_ranks(distributed().last_transfers().values_sent);
  EXPECT_GT(sum, 0);
  if (distributed().rank() != 0) return;
  const Json trace = Json::parse(read_text(path));
  const int ranks = distributed().num_ranks();
  std::set<int> processes;
  std::map<std::pair<int, int>, std::string> threads;
  std::int64_t task_slices = 0, computes = 0, counters = 0;
  std::map<std::uint64_t, double> flow_start, flow_end;
  const double duration_us = trace["otherData"]["duration_ms"].get<double>() * 1e3;
  for (const Json& e : trace["traceEvents"]) {
    const std::string ph = e["ph"];
    const int pid = e["pid"];
    ASSERT_GE(pid, 0);
    ASSERT_LT(pid, ranks);
    if (ph == "M" && e["name"] == "process_name") processes.insert(pid);
    if (ph == "M" && e["name"] == "thread_name") threads[{pid, e["tid"]}] = e["args"]["name"];
    if (ph == "M") continue;
    const double ts = e["ts"];
    // Within the recording, from the first rank's start to the last one's end (to within the
    // clock offsets' error: microseconds here).
    EXPECT_GE(ts, -100.0) << e.dump();
    EXPECT_LE(ts + (ph == "X" ? e["dur"].get<double>() : 0.0), duration_us + 100.0) << e.dump();
    if (ph == "X" && e["cat"] == "task") {
      ++task_slices;
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      EXPECT_TRUE(e["args"].contains("bytes_in") && e["args"].contains("bytes_out"));
      const std::string task = e["args"]["task"];  // ('label', 1, 2) or 'label'
      EXPECT_TRUE(task.rfind("('" + e["name"].get<std::string>() + "'", 0) == 0 ||
                  task == "'" + e["name"].get<std::string>() + "'")
          << e.dump();
    }
    if (ph == "X" && e["cat"] == "compute") {
      ++computes;
      EXPECT_GT(e["args"]["graph_tasks"].get<std::int64_t>(), 0);
    }
    if (ph == "C") {
      ++counters;
      EXPECT_TRUE(e["args"].contains("held") && e["args"].contains("spilled"));
    }
    if (ph == "s") flow_start[e["id"]] = ts;
    if (ph == "f") flow_end[e["id"]] = ts;
  }
  EXPECT_EQ(static_cast<int>(processes.size()), ranks);
  EXPECT_EQ(task_slices, tasks);  // every task that ran, once
  EXPECT_EQ(computes, ranks);     // the one compute, on every rank
  EXPECT_GT(counters, 0);
  // Every rank's main thread and its workers have tracks.
  for (int r = 0; r < ranks; ++r) {
    int workers = 0;
    bool main = false;
    for (const auto& [key, name] : threads) {
      if (key.first != r) continue;
      main = main || name == "main (comm)";
      workers += name.rfind("worker ", 0) == 0 ? 1 : 0;
    }
    EXPECT_TRUE(main) << "rank " << r;
    EXPECT_GE(workers, 1) << "rank " << r;
  }
  // Each value sent has a flow from its send to its receive, forward in time on rank 0's
  // clock (to within the offsets' error: half a ping-pong, microseconds here).
  EXPECT_EQ(static_cast<std::int64_t>(flow_start.size()), sent);
  EXPECT_EQ(flow_end.size(), flow_start.size());
  for (const auto& [id, start] : flow_start) {
    ASSERT_TRUE(flow_end.count(id)) << "flow " << id << " has no end";
    EXPECT_GE(flow_end[id], start - 200.0) << "flow " << id;
  }
}

TEST_F(TraceTest, RecordsOnlyWhatRunsInsideItsScope) {
  const std::string path = this->path("scope.json");
  moving_compute();  // before: not recorded
  const ComputeOptions on{.scheduler = &distributed()};
  {
    Trace trace(path, distributed());
    EXPECT_EQ(arange(10, {.chunks = 5}).sum().item<std::int64_t>(on), 45);
  }
  moving_compute();  // after: not recorded
  if (distributed().rank() != 0) return;
  const Json trace = Json::parse(read_text(path));
  std::int64_t computes = 0;
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["cat"] == "compute") ++computes;
    if (e["ph"] == "X" && e["cat"] == "task") {
      const std::string label = e["name"];
      EXPECT_EQ(label.find("random"), std::string::npos) << "a task of another compute: " << label;
    }
  }
  EXPECT_EQ(computes, distributed().num_ranks());
}

TEST_F(TraceTest, FuturesAreTasksOfTheStreamNamedByTheirKeys) {
  const std::string path = this->path("futures.json");
  {
    Trace trace(path, distributed());
    Client client(distributed());
    const auto square = [](int x) { return x * x; };
    EXPECT_EQ(client.gather(client.map(square, std::vector<int>{1, 2, 3, 4, 5, 6})),
              (std::vector<int>{1, 4, 9, 16, 25, 36}));
  }
  if (distributed().rank() != 0) return;
  const Json trace = Json::parse(read_text(path));
  int futures = 0;
  for (const Json& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["cat"] == "task") {
      ++futures;
      EXPECT_EQ(e["args"]["task"], "'" + e["name"].get<std::string>() + "'") << e.dump();
    }
  }
  EXPECT_EQ(futures, 6);  // each future's task once, on the rank that owns it
}

TEST_F(TraceTest, AFileThatCannotBeWrittenIsAnErrorOnEveryRank) {
  Trace trace("/nonexistent-dir/trace.json", distributed());
  try {
    trace.close();
    FAIL() << "no error";
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/trace.json"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 0"), std::string::npos) << e.what();
  }
}

TEST_F(TraceTest, AReportIsOneSelfContainedPageWithEverySection) {
  const std::string path = this->path("report.html");
  {
    PerformanceReport report(path, distributed());
    moving_compute();
  }
  if (distributed().rank() != 0) return;
  const std::string html = read_text(path);
  for (const char* id :
       {"summary", "stream", "ranks", "transfers", "memory", "slowest", "families", "computes"}) {
    EXPECT_NE(html.find(fmt::format("<section id=\"{}\">", id)), std::string::npos) << id;
  }
  // Nothing from the network: no external scripts, styles, fonts or images.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // Every rank appears in the per-rank table and the memory charts.
  for (int r = 0; r < distributed().num_ranks(); ++r)
    EXPECT_NE(html.find(fmt::format(">rank {}<", r)), std::string::npos) << r;
  // The stream's data parses as JSON, and has the tasks.
  const auto begin = html.find("<script type=\"application/json\" id=\"stream-data\">");
  ASSERT_NE(begin, std::string::npos);
  const auto start = html.find('>', begin) + 1;
  const auto end = html.find("</script>", start);
  const Json data = Json::parse(html.substr(start, end - start));
  EXPECT_GT(data["tasks"].size(), 0u);
  EXPECT_EQ(data["tasks"].size(), data["total_tasks"].get<std::size_t>());
}

TEST_F(TraceTest, AReportShowsATaskThatFailed) {
  const std::string path = this->path("report.html");
  const ComputeOptions on{.scheduler = &distributed()};
  {
    PerformanceReport report(path, distributed());
    auto bad = map_blocks(
        [](const BlockInfo& info, std::span<const Block> in) -> Block {
          if (info.output.index[0] == 4) throw value_error("bad chunk");
          return in[0];
        },
        {arange(100.0, {.chunks = 10})});
    EXPECT_THROW(bad.sum().item<double>(on), task_error);
  }
  if (distributed().rank() != 0) return;
  const std::string html = read_text(path);
  EXPECT_NE(html.find("tasks failed"), std::string::npos);
}

}  // namespace
}  // namespace tessera
