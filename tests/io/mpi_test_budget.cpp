// The per-rank memory budget at 1-4 ranks, on the two out-of-core cases: a reduction
// over an HDF5 dataset four times the sum of the ranks' budgets, and x - x.mean(0) written to a
// new HDF5 file for such an x (and for an x that must be held: a random array, spilled). Each
// rank's peak held bytes stays under its budget and its peak RSS grows by no more than the
// budget plus a fixed overhead.

#include <fstream>

#include "io/file_test.hpp"
#include "tessera/io/hdf5.hpp"

namespace tessera {
namespace {

using BudgetTest = FileTest;

constexpr std::size_t kBudget = std::size_t{8} << 20;
/// What a rank may grow by beyond its budget: chunks being read or computed (2 threads x
/// 512 KiB), the allocator's slack, HDF5's and MPI's buffers.
constexpr std::size_t kOverhead = std::size_t{12} << 20;

/// Sanitizers keep freed memory in quarantine and map shadow memory: RSS says nothing there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kRssMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif
#else
constexpr bool kRssMeaningful = true;
#endif

/// Resets this process's peak RSS (Linux: clear_refs 5) and returns the current RSS in bytes.
std::size_t reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
  std::ifstream in("/proc/self/status");
  std::size_t kb = 0;
  for (std::string key; in >> key;) {
    if (key == "VmRSS:") in >> kb;
  }
  return kb * 1024;
}
std::size_t peak_rss() {
  std::ifstream in("/proc/self/status");
  std::size_t kb = 0;
  for (std::string key; in >> key;) {
    if (key == "VmHWM:") in >> kb;
  }
  return kb * 1024;
}

/// Rows of x for a dataset of 4x the ranks' budgets: 256 columns of float64, chunks of 32 rows.
index_t rows_for(int ranks) {
  return static_cast<index_t>(4 * kBudget * static_cast<std::size_t>(ranks) / (256 * 8));
}

TEST_F(BudgetTest, AReductionOverAFileFourTimesTheBudgetsStaysUnderBudget) {
  const int ranks = distributed().num_ranks();
  const index_t n = rows_for(ranks);
  const Array x = peer_values<double>({n, 256}, ChunkSpec({1024, 256}));  // 2 MiB chunks
  to_hdf5(path("x.h5"), "x", x, {.chunks = ChunkSpec({32, 256}), .compute = on_all()});
  DistributedScheduler s(comm::Communicator::world(), 2, kBudget);
  const ComputeOptions on{.scheduler = &s};
  const std::size_t before = reset_peak_rss();
  const Array y = from_hdf5(path("x.h5"), "x", {.chunks = ChunkSpec({256, 256}), .scheduler = &s});
  const double total = y.sum().item<double>(on);
  const double var = y.var(0).sum().item<double>(on);
  const std::size_t grown = peak_rss() - std::min(peak_rss(), before);
  EXPECT_DOUBLE_EQ(total, x.sum().item<double>(on_all()));
  EXPECT_NEAR(var, x.var(0).sum().item<double>(on_all()), 1e-9 * std::abs(var));
  const MemoryStats m = s.memory_stats();
  EXPECT_EQ(m.budget, kBudget);
  EXPECT_LE(m.peak_held, m.budget);
  EXPECT_EQ(m.spilled_bytes, 0u);  // nothing had to wait: nothing spilled
  if (kRssMeaningful) {
    EXPECT_LT(grown, kBudget + kOverhead) << "peak RSS grew by " << grown << " bytes";
  }
}

TEST_F(BudgetTest, AnomalyOfAFileIsWrittenUnderBudgetByReadingXTwice) {
  const int ranks = distributed().num_ranks();
  const index_t n = rows_for(ranks);
  const Array x = peer_values<double>({n, 256}, ChunkSpec({1024, 256}));
  to_hdf5(path("x.h5"), "x", x, {.chunks = ChunkSpec({32, 256}), .compute = on_all()});
  DistributedScheduler s(comm::Communicator::world(), 2, kBudget);
  const ComputeOptions on{.scheduler = &s};
  const std::size_t before = reset_peak_rss();
  const Array y = from_hdf5(path("x.h5"), "x", {.chunks = ChunkSpec({256, 256}), .scheduler = &s});
  to_hdf5(path("anomaly.h5"), "a", y - y.mean(0), {.compute = on});
  const std::size_t grown = peak_rss() - std::min(peak_rss(), before);
  const MemoryStats m = s.memory_stats();
  EXPECT_LE(m.peak_held, m.budget);
  EXPECT_EQ(m.spilled_bytes, 0u);  // x is read again, not held
  if (kRssMeaningful) {
    EXPECT_LT(grown, kBudget + kOverhead) << "peak RSS grew by " << grown << " bytes";
  }
  expect_same(from_hdf5(path("anomaly.h5"), "a", {.scheduler = &distributed()}), x - x.mean(0));
}

TEST_F(BudgetTest, AnArrayThatMustBeHeldIsSpilledAndReadBack) {
  // A random x is computed once and used twice: its chunks wait for the whole mean, four times
  // more of them than the budget holds, so they go to the spill file.
  const int ranks = distributed().num_ranks();
  const index_t n = rows_for(ranks);
  const Array x = default_rng(7).uniform(0, 1, {n, 256}, {256, 256});
  DistributedScheduler s(comm::Communicator::world(), 2, kBudget);
  const std::size_t before = reset_peak_rss();
  to_hdf5(path("anomaly.h5"), "a", x - x.mean(0), {.compute = {.scheduler = &s}});
  const std::size_t grown = peak_rss() - std::min(peak_rss(), before);
  const MemoryStats m = s.memory_stats();
  EXPECT_LE(m.peak_held, m.budget + (std::size_t{1} << 20));
  EXPECT_GT(m.spilled_bytes, 0u);
  EXPECT_GE(m.read_back_bytes, m.spilled_bytes);
  if (kRssMeaningful) {
    EXPECT_LT(grown, kBudget + kOverhead) << "peak RSS grew by " << grown << " bytes";
  }
  expect_same(from_hdf5(path("anomaly.h5"), "a", {.scheduler = &distributed()}), x - x.mean(0));
}

}  // namespace
}  // namespace tessera
