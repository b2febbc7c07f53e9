// Progress reports of distributed runs at 1-4 ranks (tessera/exec/progress.hpp): rank 0 hears
// every rank's tasks and bytes read while the run goes, never more than the total, and a last
// report that says the run is over, complete when it succeeded and not when a task failed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "io/file_test.hpp"
#include "tessera/io/npy.hpp"
#include "tessera/tessera.hpp"

namespace tessera {
namespace {

using testing::distributed;

struct Recorder {
  std::vector<Progress> reports;
};

/// Runs `compute` on the distributed scheduler with reports on; rank 0's reports.
template <class F>
std::vector<Progress> reports_of(F&& compute) {
  auto recorder = std::make_shared<Recorder>();
  distributed().set_progress([recorder](const Progress& p) { recorder->reports.push_back(p); });
  try {
    compute();
  } catch (...) {
    distributed().set_progress({});
    throw;
  }
  distributed().set_progress({});
  return recorder->reports;
}

/// A sum over 64 chunks whose elements take a while: about a second of work on every rank count.
Array slow_array() {
  return fromfunction<double>(
      [](index_t i) {
        if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(3));
        return static_cast<double>(i);
      },
      {64 * 500}, 500);
}

TEST(Progress, RankZeroCountsEveryRanksTasksUpToTheTotal) {
  const ComputeOptions on{.scheduler = &distributed()};
  double sum = 0;
  const auto reports = reports_of([&] { sum = slow_array().sum().item<double>(on); });
  EXPECT_EQ(sum, 32000.0 * 31999.0 / 2);
  if (distributed().rank() != 0) {
    EXPECT_TRUE(reports.empty());  // only rank 0 reports
    return;
  }
  ASSERT_GE(reports.size(), 3u);  // a second of work, a report every 0.1 s, and the last
  const std::int64_t total = reports.back().tasks_total;
  EXPECT_GE(total, 64);  // 64 chunk tasks and the sum's tree
  std::int64_t before = 0;
  double elapsed = 0;
  bool partway = false;
  for (std::size_t i = 0; i + 1 < reports.size(); ++i) {
    const Progress& p = reports[i];
    EXPECT_FALSE(p.finished);
    EXPECT_EQ(p.tasks_total, total);
    EXPECT_GE(p.tasks_done, before);  // never backwards
    EXPECT_LE(p.tasks_done, total);
    EXPECT_GE(p.elapsed_s, elapsed);
    partway = partway || (p.tasks_done > 0 && p.tasks_done < total);
    before = p.tasks_done;
    elapsed = p.elapsed_s;
  }
  EXPECT_TRUE(partway);
  EXPECT_TRUE(reports.back().finished);
  EXPECT_EQ(reports.back().tasks_done, total);
  EXPECT_EQ(reports.back().bytes_read, 0u);
}

using ProgressFileTest = FileTest;

TEST_F(ProgressFileTest, BytesReadFromFilesOnAllRanksAddUp) {
  const ComputeOptions on{.scheduler = &distributed()};
  const Array x = arange(300000, {.chunks = 10000}).astype(DType::Float64);
  to_npy(path("x.npy"), x, {.compute = on});
  const auto reports = reports_of([&] {
    EXPECT_EQ(from_npy(path("x.npy"), {.chunks = ChunkSpec(7000), .scheduler = &distributed()})
                  .sum()
                  .item<double>(on),
              300000.0 * 299999.0 / 2);
  });
  if (distributed().rank() == 0) {
    ASSERT_FALSE(reports.empty());
    EXPECT_TRUE(reports.back().finished);
    EXPECT_EQ(reports.back().bytes_read, 300000u * 8u);  // every rank's reads, once
  }
}

TEST(Progress, TheLastReportCountsEveryRanksBytesMoved) {
  const ComputeOptions on{.scheduler = &distributed()};
  const Array x = arange(200000.0, {.chunks = 10000});
  double sum = 0;
  const auto reports = reports_of([&] { sum = (x + rechunk(x, 7000)).sum().item<double>(on); });
  EXPECT_EQ(sum, 200000.0 * 199999.0);
  const std::int64_t moved = testing::sum_over_ranks(distributed().last_transfers().bytes_sent);
  if (distributed().rank() != 0) return;
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().bytes_moved, static_cast<std::uint64_t>(moved));
  if (distributed().num_ranks() > 1) {
    EXPECT_GT(moved, 0);
  }
}

TEST(Progress, AFailedRunEndsTheReportsUnfinished) {
  const ComputeOptions on{.scheduler = &distributed()};
  const Array bad = fromfunction<double>(
      [](index_t i) {
        if (i == 6000) throw value_error("element 6000 is bad");
        return 1.0;
      },
      {8000}, 100);
  auto recorder = std::make_shared<Recorder>();
  distributed().set_progress([recorder](const Progress& p) { recorder->reports.push_back(p); });
  EXPECT_THROW(bad.sum().item<double>(on), error);
  distributed().set_progress({});
  if (distributed().rank() == 0) {
    ASSERT_FALSE(recorder->reports.empty());
    const Progress& last = recorder->reports.back();
    EXPECT_TRUE(last.finished);
    EXPECT_LT(last.tasks_done, last.tasks_total);
  }
  // The scheduler is usable afterwards, without reports.
  EXPECT_EQ(arange(100, {.chunks = 7}).sum().item<std::int64_t>(on), 4950);
}

}  // namespace
}  // namespace tessera
