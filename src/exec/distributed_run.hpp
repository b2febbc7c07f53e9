#pragma once
/// @file
/// `DistributedRun`: one rank's share of a distributed run. Its tasks run on the rank's pool
/// (a DataflowRun); the thread that drives the run drives the rank's MessageEngine for its
/// duration (comm/message_engine.hpp: the only road between ranks). Worker threads hand the
/// engine the values that other ranks need as soon as they have them; the engine batches
/// and sends them peer to peer, and the driver delivers the values other ranks send here.
///
/// Protocol (channel `run` of the engine):
/// - The graphs' agreement (one allreduce of their fingerprints) runs while the tasks start:
///   until it is known, messages from other ranks wait (they might name another graph's
///   tasks). When the graphs differ, every rank stops its run and the caller reports it.
/// - A value travels as one message on the run's stream (its number): kind, task id and the
///   value's wire header, with the value's segments as the message's bulk (zero-copy on both
///   sides above the engine's inline size).
/// - A receiver that cannot allocate a value's buffers gets the message with `lost_bytes`
///   (the engine drained the bulk) and fails the run with an error naming the value and its
///   size.
/// - A task that fails sends an abort message to every other rank, which stops starting tasks.
/// - With progress reports on (every rank alike), each other rank tells rank 0 its tasks done
///   and bytes read every quarter second; rank 0 reports the sums to its callback, and the
///   close gathers every rank's exact bytes for the last report.
/// - A rank is finished when its tasks have run (or the run failed and drained), every value
///   it expected has arrived and every message it sent has left (the engine's pending count).
///   It then joins the engine's agreement (a non-blocking allreduce) while it keeps
///   receiving; the agreement tells every rank the lowest rank that failed, whose error that
///   rank then broadcasts, and every rank throws the same message. A message of this run that
///   arrives later (an abort, or a value sent before its sender learned of a failure) is on
///   this run's stream, which the next run retires.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "comm/message_engine.hpp"
#include "exec/dataflow_run.hpp"
#include "exec/placement.hpp"
#include "exec/trace.hpp"
#include "tessera/core/serialize.hpp"
#include "tessera/exec/progress.hpp"

namespace tessera::detail {

/// Where outputs must end up besides the rank that computes them.
struct OutputDestinations {
  bool all_ranks = false;               ///< every rank gets every output
  std::vector<std::vector<int>> ranks;  ///< else per output (may be empty: nowhere else)
};

/// Counters of one run, for benchmarks and tests.
struct TransferStats {
  std::int64_t values_sent = 0;
  std::int64_t bytes_sent = 0;
  std::int64_t values_received = 0;
};

class DistributedRun final : public RemoteLink {
 public:
  /// `owner`: the placement (placement.hpp), one entry per task up to the largest output.
  /// `seq`: the run's number, equal on every rank (its stream on the engine's run channel).
  /// `agreement`: whether the ranks' graphs agree, started and not yet known (null: known
  /// to agree). Tasks start at once; messages from other ranks wait until it is known.
  DistributedRun(ThreadPool& pool, const TaskGraph& graph, comm::MessageEngine& engine,
                 std::span<const std::int32_t> owner, std::span<const TaskId> outputs,
                 const OutputDestinations& destinations, std::uint32_t seq,
                 std::shared_ptr<comm::Agreement> agreement = nullptr,
                 MemoryBudget* budget = nullptr, const ProgressCallback* progress = nullptr);
  ~DistributedRun();

  /// Runs this rank's share; returns when every rank is done. Collective. On failure it throws,
  /// on every rank, the error of the lowest failing rank (a task_error naming task and rank).
  /// When the agreement says the graphs differ, it stops early and returns on every rank with
  /// graphs_differ() true.
  void run();
  bool graphs_differ() const noexcept { return m_graphs_differ; }
  /// An output's value, or an empty Value where it is not held here.
  const Value& result(TaskId id) const { return m_run->result(id); }
  TransferStats stats() const noexcept {
    return {m_values_sent.load(), m_bytes_sent.load(), m_values_received};
  }

  void publish(TaskId id, const Value& value) override;
  void wake() noexcept override;
  void job_done(ThreadPool::WaitGroup& jobs, bool failed) noexcept override;

 private:
  RunPlan build_plan(std::span<const std::int32_t> owner, std::span<const TaskId> outputs,
                     const OutputDestinations& destinations);
  /// One round of communication work; true when something happened.
  bool progress();
  /// A message of this run's channel (driving thread, inside the engine's progress()).
  void on_message(comm::Message&& message);
  /// Whether the run failed here (a task or this rank's communication), not by an abort.
  bool failed_here() const;
  /// Tests the agreement; once known, delivers the held messages or stops the run.
  void check_agreement();
  void send_abort();
  /// Waits a little for workers or messages (backoff grows while nothing happens).
  void idle_wait(int rounds);
  /// Progress reports, if on: rank 0 calls the callback, the others send rank 0 their counts;
  /// at most every kProgressShown / kProgressToRoot, or at once when `last`: the run is over
  /// (rank 0 only, after every rank agreed; `succeeded`: without an error anywhere).
  void report_progress(bool last, bool succeeded);
  /// Every rank throws the error of `failed_rank`, broadcast from there. Collective.
  [[noreturn]] void throw_agreed_error(int failed_rank);

  const TaskGraph& m_graph;
  comm::MessageEngine& m_engine;
  std::uint32_t m_seq;
  int m_rank;
  /// Per local task that other ranks need: their ranks (CSR over m_publish_tasks).
  std::vector<TaskId> m_publish_tasks;  // sorted
  std::vector<std::uint32_t> m_dest_offset;
  std::vector<int> m_dest_ranks;
  std::int64_t m_expected = 0;  // remote values still to arrive
  std::unique_ptr<DataflowRun> m_run;

  std::shared_ptr<comm::Agreement> m_agreement;
  bool m_agreed = false;              // the graphs agree: messages are delivered
  bool m_graphs_differ = false;       // they do not: the run stops on every rank
  bool m_agreement_lost = false;      // MPI failed while testing it
  std::vector<comm::Message> m_held;  // messages that arrived before the agreement was known

  std::exception_ptr m_remote_error;  // the error another rank's abort message brought
  bool m_abort_sent = false;
  std::atomic<std::int64_t> m_values_sent{0};
  std::atomic<std::int64_t> m_bytes_sent{0};
  std::int64_t m_values_received = 0;

  // Progress reports (progress.hpp); m_progress null when off.
  const ProgressCallback* m_progress = nullptr;
  std::int64_t m_tasks_total = 0;  // on all ranks
  std::uint64_t m_bytes_read_at_start = 0;
  std::vector<std::int64_t> m_done_of;  // rank 0: each rank's last reported tasks done
  std::vector<std::uint64_t> m_bytes_of;
  std::vector<std::uint64_t> m_moved_of;  // rank 0: each rank's last reported bytes sent
  std::chrono::steady_clock::time_point m_start, m_next_report;
};

}  // namespace tessera::detail
