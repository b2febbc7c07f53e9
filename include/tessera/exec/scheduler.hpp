#pragma once
/// @file
/// `Scheduler`: runs a TaskGraph. One interface for the synchronous and threaded
/// schedulers (and, later, the distributed one), chosen per call or by default.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "tessera/core/chunk_owners.hpp"
#include "tessera/exec/memory.hpp"
#include "tessera/graph/task_graph.hpp"

namespace tessera {

class ThreadPool;
namespace comm {
class MessageEngine;
}

/// Where the outputs of a run end up (distributed schedulers; one process has them all).
enum class ResultPlacement {
  all_ranks,  ///< every rank gets every output (compute())
  root,       ///< only rank 0 gets them; other ranks get empty Values
  owners,     ///< each output stays on the rank that computed it (persist())
};

struct RunResult {
  std::vector<Value> values;  ///< empty where this rank does not hold the output
  /// The rank that holds each output, or ChunkOwners::every_rank (ChunkOwners::from_ranks
  /// makes it a distribution).
  std::vector<int> owners;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  /// Runs the tasks that `outputs` need (others are skipped) and returns the outputs'
  /// values in order. Among ready tasks, lower TaskGraph::priority runs first. A task's
  /// value is released as soon as its last consumer has run (outputs are kept).
  /// If a task throws, no new task is started, the run drains, and a task_error naming the
  /// first failing task is thrown here. The scheduler stays usable afterwards.
  virtual std::vector<Value> run(const TaskGraph& graph, std::span<const TaskId> outputs) = 0;

  /// run() with a choice of where the outputs end up. Collective for distributed schedulers:
  /// every rank calls it with the same graph, in the same order.
  virtual RunResult execute(const TaskGraph& graph, std::span<const TaskId> outputs,
                            ResultPlacement placement);

  /// run() where output k ends up on the ranks `destinations[k]` as well as on the rank that
  /// computed it (`owners` in the result). Collective, like execute().
  virtual RunResult execute_to(const TaskGraph& graph, std::span<const TaskId> outputs,
                               std::span<const std::vector<int>> destinations);

  /// Every rank's `mine`, in rank order: the one collective that collections need outside a
  /// graph (e.g. from_local learning the blocks of all ranks). One process: `{mine}`.
  virtual std::vector<std::vector<std::byte>> allgather(std::span<const std::byte> mine);

  virtual std::string_view name() const noexcept = 0;
  /// This process's rank and the number of ranks the scheduler runs on (0 and 1 in one process).
  virtual int rank() const noexcept { return 0; }
  virtual int num_ranks() const noexcept { return 1; }
  /// Worker threads that execute tasks (1 for the synchronous scheduler).
  virtual int num_threads() const noexcept = 0;
  /// This rank's memory budget and what was held, spilled and read back under it
  /// (tessera/exec/memory.hpp); all zero for a scheduler without a budget (synchronous).
  virtual MemoryStats memory_stats() const { return {}; }

  /// The pool that runs the scheduler's tasks, for other clients of it (the futures client);
  /// nullptr when tasks run on the calling thread.
  virtual ThreadPool* thread_pool() noexcept { return nullptr; }
  /// The road to the other ranks (src/comm/message_engine.hpp) for other clients of the
  /// scheduler; nullptr in one process.
  virtual comm::MessageEngine* message_engine() noexcept { return nullptr; }
};

/// The scheduler used when a call names none: a process-wide threaded scheduler with one
/// thread per core (or TESSERA_NUM_THREADS), created on first use.
Scheduler& default_scheduler();

/// Replaces the default (the caller keeps `s` alive while it is the default); nullptr restores
/// the built-in threaded scheduler.
void set_default_scheduler(Scheduler* s);

}  // namespace tessera
