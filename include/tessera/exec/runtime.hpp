#pragma once
/// @file
/// `Runtime`: what a Tessera program creates first in `main` and destroys last.
///
///     int main(int argc, char** argv) {
///       tessera::Runtime rt(argc, argv);            // collective: every rank
///       auto x = tessera::default_rng(0).normal(0, 1, {20000, 20000}, 1000);
///       double m = x.mean().item<double>();        // computed by every rank, result on all
///     }
///
/// It initialises MPI (unless the program did already), starts this rank's worker pool and
/// makes a DistributedScheduler over MPI_COMM_WORLD the default scheduler, so every
/// compute() in the program is collective over all ranks. Its destructor restores the
/// previous default and shuts down in order: scheduler, pool, then MPI. Without mpirun the
/// same binary runs as one rank.

#include <memory>
#include <string>
#include <vector>

#include "tessera/comm/communicator.hpp"
#include "tessera/comm/environment.hpp"
#include "tessera/exec/distributed_scheduler.hpp"

namespace tessera {

struct RuntimeOptions {
  /// Worker threads per rank; 0: Runtime::default_threads().
  int threads = 0;
  /// Bytes of task values each rank may hold (0: TESSERA_MEMORY_BUDGET, else half the memory
  /// available to the node's ranks, shared among them; tessera/exec/memory.hpp).
  std::size_t memory_budget = 0;
  /// A progress bar for every compute on rank 0's stderr (tessera/exec/progress.hpp):
  /// by default when that is a terminal, unless TESSERA_PROGRESS says otherwise.
  ProgressMode progress = ProgressMode::automatic;
  /// A task-stream trace of the whole job, written by rank 0 to this path when the Runtime is
  /// destroyed (Chrome trace-event JSON; tessera/exec/trace.hpp). Empty: TESSERA_TRACE on
  /// rank 0, if set; else none.
  std::string trace = {};
};

namespace detail {
class ScopedRecording;
}

class Runtime {
 public:
  Runtime(int& argc, char**& argv, RuntimeOptions options = {});
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int rank() const noexcept { return m_scheduler->rank(); }
  int num_ranks() const noexcept { return m_scheduler->num_ranks(); }
  int threads() const noexcept { return m_scheduler->num_threads(); }
  DistributedScheduler& scheduler() noexcept { return *m_scheduler; }
  /// This rank's memory budget, peak held bytes, bytes spilled and read back, tasks run.
  MemoryStats memory_stats() const { return m_scheduler->memory_stats(); }
  /// Every rank's memory_stats(), in rank order. Collective.
  std::vector<MemoryStats> memory_stats_all();
  /// MPI_COMM_WORLD (borrowed).
  const comm::Communicator& world() const noexcept { return m_world; }

  /// Worker threads per rank when none are asked for: TESSERA_NUM_THREADS if set, else
  /// Slurm's SLURM_CPUS_PER_TASK, else the cores this process is bound to when the launcher
  /// bound it (mpirun binds to cores for small jobs), else the node's cores divided by the
  /// ranks on this node. At least 1. Collective over `world` (it counts the ranks per node).
  static int default_threads(const comm::Communicator& world);

 private:
  Runtime(int* argc, char*** argv, RuntimeOptions options);

  comm::Environment m_env;
  comm::Communicator m_world;
  std::unique_ptr<DistributedScheduler> m_scheduler;
  std::unique_ptr<detail::ScopedRecording> m_trace;  // RuntimeOptions::trace, if any
};

}  // namespace tessera
