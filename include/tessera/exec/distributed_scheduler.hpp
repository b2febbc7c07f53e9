#pragma once
/// @file
/// `DistributedScheduler`: runs a task graph on every rank of an MPI communicator.
///
/// Every call is collective: all ranks call it with the same graph (they built it from the
/// same program, so ids, labels and structure agree), in the same order. One allreduce checks
/// that the graphs agree (a fingerprint from every rank); every rank then places the tasks
/// itself, the same way (owner-computes: a task runs where most of its input bytes live;
/// sources are spread in contiguous runs). Each rank runs its tasks on its own thread pool,
/// dataflow-driven, while the calling thread drives the rank's message engine: a task's value
/// goes straight from the rank that computed it to the ranks that read it.
/// Any task's exception stops the run on every rank and is rethrown on every rank with the
/// same message (naming the task and its rank); the scheduler stays usable.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tessera/comm/communicator.hpp"
#include "tessera/exec/progress.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/exec/thread_pool.hpp"

namespace tessera {

/// What the last run of a DistributedScheduler moved between ranks (this rank's side).
struct TransferCounts {
  std::int64_t values_sent = 0;
  std::int64_t bytes_sent = 0;
  std::int64_t values_received = 0;
  std::int64_t tasks_here = 0;  ///< tasks this rank ran
};

class DistributedScheduler final : public Scheduler {
 public:
  /// Runs on the ranks of `comm` (duplicated, so that the scheduler's messages never meet the
  /// caller's) with `num_threads` workers per rank (0: ThreadedScheduler::default_num_threads()).
  /// Collective over `comm`.
  /// `memory_budget`: bytes of task values each rank may hold (0: resolve_memory_budget over
  /// the ranks on this node; tessera/exec/memory.hpp).
  explicit DistributedScheduler(const comm::Communicator& comm, int num_threads = 0,
                                std::size_t memory_budget = 0);
  /// Runs on `pool`, which the caller keeps alive longer than the scheduler. Collective.
  DistributedScheduler(const comm::Communicator& comm, ThreadPool& pool,
                       std::size_t memory_budget = 0);
  /// Frees the scheduler's communicators: collective, like the constructor.
  ~DistributedScheduler() override;
  DistributedScheduler(const DistributedScheduler&) = delete;
  DistributedScheduler& operator=(const DistributedScheduler&) = delete;

  /// Every rank gets every output. Collective.
  std::vector<Value> run(const TaskGraph& graph, std::span<const TaskId> outputs) override;
  RunResult execute(const TaskGraph& graph, std::span<const TaskId> outputs,
                    ResultPlacement placement) override;
  RunResult execute_to(const TaskGraph& graph, std::span<const TaskId> outputs,
                       std::span<const std::vector<int>> destinations) override;
  std::vector<std::vector<std::byte>> allgather(std::span<const std::byte> mine) override;

  std::string_view name() const noexcept override { return "distributed"; }
  int rank() const noexcept override;
  int num_ranks() const noexcept override;
  int num_threads() const noexcept override;
  ThreadPool& pool() const noexcept;
  ThreadPool* thread_pool() noexcept override { return &pool(); }
  comm::MessageEngine* message_engine() noexcept override;
  MemoryStats memory_stats() const override;

  /// Progress reports of every run from now on (tessera/exec/progress.hpp): `callback` is
  /// called on rank 0; the other ranks send rank 0 their counts. Every rank must pass a
  /// callback, or none (an empty one turns reports off). Collective in that sense.
  void set_progress(ProgressCallback callback);

  /// This rank's transfers in the last run.
  TransferCounts last_transfers() const noexcept;

 private:
  struct State;
  struct Destinations;
  RunResult execute_impl(const TaskGraph& graph, std::span<const TaskId> outputs,
                         const Destinations& destinations);
  /// The graph_error naming the ranks whose graph differs from rank 0's. Collective.
  [[noreturn]] void throw_graphs_differ(std::uint64_t fingerprint);
  std::unique_ptr<State> m;
};

}  // namespace tessera
