// tessera::Runtime at 1-4 ranks: it adopts an MPI the program initialised (here the test
// main's), makes its distributed scheduler the default while it lives, and picks threads per
// rank from the environment.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "tessera/tessera.hpp"

namespace tessera {
namespace {

TEST(Runtime, AdoptsMpiAndBecomesTheDefaultScheduler) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Scheduler* before = &default_scheduler();
  {
    Runtime rt({.threads = 2});
    EXPECT_EQ(rt.rank(), rank);
    EXPECT_EQ(rt.num_ranks(), size);
    EXPECT_EQ(rt.threads(), 2);
    EXPECT_EQ(&default_scheduler(), &rt.scheduler());
    EXPECT_EQ(default_scheduler().name(), "distributed");
    // Computes without naming a scheduler are collective over all ranks.
    EXPECT_EQ(arange(1000, {.chunks = 7}).sum().item<std::int64_t>(), 499500);
    // 143 chunks, one partial each, and the combine tree: every task ran on exactly one rank.
    std::int64_t here = rt.scheduler().last_transfers().tasks_here, total = 0;
    MPI_Allreduce(&here, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT_EQ(total,
              static_cast<std::int64_t>(arange(1000, {.chunks = 7}).sum().lower().graph.size()));
  }
  // MPI is still initialised (the Runtime did not own it) and the default is local again.
  EXPECT_TRUE(comm::Environment::initialized());
  EXPECT_FALSE(comm::Environment::finalized());
  EXPECT_EQ(&default_scheduler(), before);
  EXPECT_EQ(default_scheduler().name(), "threaded");
}

TEST(Runtime, ThreadsPerRankFromTheEnvironment) {
  const comm::Communicator world = comm::Communicator::world();
  ::setenv("TESSERA_NUM_THREADS", "3", 1);
  EXPECT_EQ(Runtime::default_threads(world), 3);
  ::unsetenv("TESSERA_NUM_THREADS");
  ::setenv("SLURM_CPUS_PER_TASK", "5", 1);
  EXPECT_EQ(Runtime::default_threads(world), 5);
  ::setenv("SLURM_CPUS_PER_TASK", "lots", 1);
  EXPECT_THROW(Runtime::default_threads(world), value_error);
  ::unsetenv("SLURM_CPUS_PER_TASK");
  EXPECT_GE(Runtime::default_threads(world), 1);
}

}  // namespace
}  // namespace tessera
