// The memory budget's user-facing pieces: byte counts as people write them, the default and
// the environment variable, and the statistics a threaded run leaves.

#include <gtest/gtest.h>

#include <cstdlib>

#include "tessera/tessera.hpp"

namespace tessera {
namespace {

TEST(Memory, ParsesByteCountsAsPeopleWriteThem) {
  EXPECT_EQ(parse_bytes("4096"), 4096u);
  EXPECT_EQ(parse_bytes("2GiB"), std::size_t{2} << 30);
  EXPECT_EQ(parse_bytes("2 GiB"), std::size_t{2} << 30);
  EXPECT_EQ(parse_bytes("512MiB"), std::size_t{512} << 20);
  EXPECT_EQ(parse_bytes("512m"), std::size_t{512} << 20);
  EXPECT_EQ(parse_bytes("1.5GB"), 1'500'000'000u);
  EXPECT_EQ(parse_bytes("64k"), 65536u);
  EXPECT_EQ(parse_bytes(" 3 kB "), 3000u);
  for (const char* bad : {"", "GiB", "2 GiBs", "-1", "1e3", "2 G B", "0", "0.1"}) {
    try {
      parse_bytes(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const value_error& e) {
      EXPECT_NE(std::string(e.what()).find("is not a byte count"), std::string::npos) << e.what();
    }
  }
}

TEST(Memory, TheBudgetComesFromTheCallerTheEnvironmentOrTheMachine) {
  ::unsetenv("TESSERA_MEMORY_BUDGET");
  EXPECT_EQ(resolve_memory_budget(12345, 4), 12345u);
  const std::size_t one = resolve_memory_budget(0, 1), four = resolve_memory_budget(0, 4);
  EXPECT_GE(one, std::size_t{64} << 20);
  EXPECT_LE(four, one);
  ::setenv("TESSERA_MEMORY_BUDGET", "256MiB", 1);
  EXPECT_EQ(resolve_memory_budget(0, 4), std::size_t{256} << 20);
  EXPECT_EQ(ThreadedScheduler(1).memory_stats().budget, std::size_t{256} << 20);
  ::setenv("TESSERA_MEMORY_BUDGET", "lots", 1);
  try {
    resolve_memory_budget(0, 1);
    ADD_FAILURE() << "a bad TESSERA_MEMORY_BUDGET was accepted";
  } catch (const value_error& e) {
    EXPECT_NE(std::string(e.what()).find("TESSERA_MEMORY_BUDGET"), std::string::npos) << e.what();
  }
  ::unsetenv("TESSERA_MEMORY_BUDGET");
}

TEST(Memory, AThreadedRunKeepsToItsBudgetBySpilling) {
  // x is read twice, the second time only after the whole mean: every chunk of x waits. With
  // a budget of a quarter of x, most of it must go to the spill file and come back.
  ThreadedScheduler s(2, std::size_t{2} << 20);
  const ComputeOptions on{.scheduler = &s};
  const Array x = default_rng(3).uniform(0, 1, {1024, 1024}, {64, 1024});  // 8 MiB, 512 KiB chunks
  const double got = (x - x.mean(0)).std().item<double>(on);
  ThreadedScheduler roomy(2, std::size_t{1} << 30);
  const double want = (x - x.mean(0)).std().item<double>({.scheduler = &roomy});
  EXPECT_DOUBLE_EQ(got, want);
  const MemoryStats m = s.memory_stats();
  EXPECT_LE(m.peak_held, m.budget);
  EXPECT_GT(m.spilled_bytes, std::size_t{4} << 20);
  EXPECT_GE(m.read_back_bytes, m.spilled_bytes);
  EXPECT_GT(m.tasks_run, 0);
  EXPECT_EQ(m.held, 0u);  // nothing is held between runs
  EXPECT_EQ(roomy.memory_stats().spilled_bytes, 0u);
  EXPECT_GT(roomy.memory_stats().peak_held, std::size_t{6} << 20);  // it did keep x
}

}  // namespace
}  // namespace tessera
