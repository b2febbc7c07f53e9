// Stress tests: the way batch jobs break a scheduler, as loops. Each test is a reproducer that
// testing from outside found (a use-after-scope race between a finishing worker and the
// thread that ends the run, a hang after a failed task, a hang when a rank cannot allocate an
// incoming value) and fails on the code before its fix within the default iteration count.
//
// CI runs them for seconds; scripts/stress runs them longer (TESSERA_STRESS_SCALE multiplies
// every loop's iteration count) and at 1-4 ranks.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// `base` iterations, times TESSERA_STRESS_SCALE (default 1). Equal on every rank: the
/// launcher passes the same environment to all of them.
int iterations(int base) {
  const char* scale = std::getenv("TESSERA_STRESS_SCALE");
  const double s = scale != nullptr ? std::atof(scale) : 1.0;
  return std::max(1, static_cast<int>(base * s));
}

/// 0 + 1 + ... + 63 in 8 chunks of 8.
Array small_range() {
  return fromfunction<double>([](index_t i) { return static_cast<double>(i); }, {64}, 8);
}

/// Computes small_range().sum() `n` times on `s`; how many results were wrong.
int wrong_sums(Scheduler& s, int n) {
  const Array x = small_range();
  int wrong = 0;
  for (int i = 0; i < n; ++i) {
    if (x.sum().item<double>({.scheduler = &s}) != 2016.0) ++wrong;
  }
  return wrong;
}

TEST(Stress, ManySmallComputesWithMoreWorkersThanCores) {
  // Four workers per rank on a 2-core machine: a worker is often descheduled between counting
  // its job done and leaving, which is when the thread ending the run could destroy what the
  // worker still touches.
  DistributedScheduler s(comm::Communicator::world(), 4);
  EXPECT_EQ(wrong_sums(s, iterations(3000)), 0);
}

TEST(Stress, ManySmallComputesOnThreads) {
  ThreadedScheduler s(4);
  EXPECT_EQ(wrong_sums(s, iterations(3000)), 0);
}

TEST(Stress, RepeatedTaskFailureOnOneRankHangsNone) {
  // One worker per rank, the failure on the last rank: its abort used to be skipped when the
  // task failed between the communication thread's check and its exit test, leaving the other
  // ranks waiting for the failed task's value.
  DistributedScheduler s(comm::Communicator::world(), 1);
  const int bad = s.num_ranks() - 1, me = s.rank();
  const Array x = fromfunction<double>(
      [=](index_t) -> double {
        if (me == bad) throw value_error("x");
        return 1;
      },
      {10}, 2);
  int caught = 0, wrong = 0;
  const int n = iterations(2000);
  for (int i = 0; i < n; ++i) {
    try {
      x.sum().item<double>({.scheduler = &s});
    } catch (const task_error& e) {
      ++caught;
      if (e.rank() != bad || e.what_original() != "x") ++wrong;
    }
  }
  EXPECT_EQ(caught, n);
  EXPECT_EQ(wrong, 0);
  // Still usable.
  EXPECT_EQ(small_range().sum().item<double>({.scheduler = &s}), 2016.0);
}

TEST(Stress, EveryTaskFailingOnEveryRankAgreesEachTime) {
  DistributedScheduler s(comm::Communicator::world(), 2);
  const Array x =
      fromfunction<double>([](index_t) -> double { throw value_error("all bad"); }, {100}, 10);
  int caught = 0;
  const int n = iterations(1000);
  for (int i = 0; i < n; ++i) {
    try {
      x.sum().item<double>({.scheduler = &s});
    } catch (const task_error& e) {
      if (e.what_original() == "all bad") ++caught;
    }
  }
  EXPECT_EQ(caught, n);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TESSERA_TEST_NO_AS_LIMIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TESSERA_TEST_NO_AS_LIMIT 1
#endif
#endif

/// This process's virtual memory size in bytes (VmSize in /proc/self/status).
[[maybe_unused]] std::size_t virtual_memory_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmSize:") {
      std::size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 10, '\n');
  }
  return 0;
}

TEST(Stress, ARankThatCannotAllocateAnIncomingValueFailsTheRunOnEveryRank) {
#ifdef TESSERA_TEST_NO_AS_LIMIT
  GTEST_SKIP() << "sanitizers reserve terabytes of address space: no RLIMIT_AS under them";
#else
  DistributedScheduler s(comm::Communicator::world(), 1);
  if (s.num_ranks() == 1) GTEST_SKIP() << "needs a value to cross ranks";
  // One 256 MiB chunk per rank, and compute_block() gathers every chunk on every rank (or on
  // rank 0 with .root = 0). Each rank's address space is limited to what it has now plus one
  // and a half chunks: its own chunk fits, a second one (the first to arrive) does not.
  constexpr index_t kChunk = 32 * 1024 * 1024;  // float64 elements
  const Array x = default_rng(0).uniform(0, 1, {kChunk * s.num_ranks()}, kChunk);
  // The scheduler's threads allocate once before the limit is measured: a thread's first
  // allocation may reserve a malloc arena (64 MiB of address space, 128 MiB while it is made).
  EXPECT_EQ(small_range().sum().item<double>({.scheduler = &s}), 2016.0);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  for (int root : {-1, 0}) {
    // Measured each time: the first round's gather_strings may start the test's other
    // schedulers (their threads' stacks and arenas take hundreds of MiB of address space).
    rlimit limited = old;
    limited.rlim_cur = virtual_memory_bytes() + kChunk * 8 + (kChunk * 8) / 2;
    ASSERT_EQ(setrlimit(RLIMIT_AS, &limited), 0);
    std::string what;
    try {
      x.compute_block({.scheduler = &s, .root = root});
    } catch (const task_error& e) {
      what = e.what();
    }
    ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
    EXPECT_NE(what.find("out of memory"), std::string::npos) << what;
    EXPECT_NE(what.find("268435456 bytes"), std::string::npos) << what;
    for (const auto& w : gather_strings(what)) EXPECT_EQ(w, what);
  }
  // The scheduler is usable afterwards.
  EXPECT_EQ(small_range().sum().item<double>({.scheduler = &s}), 2016.0);
#endif
}

}  // namespace
}  // namespace tessera::testing
