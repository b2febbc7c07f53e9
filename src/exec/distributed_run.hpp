#pragma once
/// @file
/// `DistributedRun`: one rank's share of a distributed run. Its tasks run on the rank's pool
/// (a DataflowRun); the thread that drives the run is the rank's communication thread for
/// its duration: it is the only thread that calls MPI. Worker threads hand it the values that
/// other ranks need; it sends them straight to those ranks (peer to peer, non-blocking) and
/// delivers the values other ranks send here.
///
/// Protocol (communicators `ctrl` and `data`, private to the scheduler):
/// - A value travels as one control message (MPI_Issend on `ctrl`: kind, run number, task id,
///   the wire header, and the bulk data itself when it is small), followed, for large values,
///   by its segments on `data` in pieces of at most kMaxPiece bytes, tagged with the task id,
///   which the receiver posts receives for as soon as it has read the control message: a chunk
///   is never copied into a staging buffer on either side.
/// - A receiver that cannot allocate a value's buffers still receives every piece (into a
///   scratch buffer, one piece at a time: the tag keeps other values' pieces from matching),
///   so that the sender's sends complete, and fails the run with an error naming the value
///   and its size.
/// - A task that fails sends an abort message to every other rank, which stops starting tasks.
/// - A rank is finished when its tasks have run (or the run failed and drained), every value
///   it expected has arrived and every message it sent has been received (synchronous sends
///   complete only once matched). It then joins a non-blocking allreduce on `coll` while it
///   keeps receiving, so no message of this run can be left behind for the next one; the
///   allreduce also tells every rank the lowest rank that failed, whose error rank then
///   broadcasts, and every rank throws the same message.

#include <mpi.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "exec/dataflow_run.hpp"
#include "exec/placement.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera::detail {

/// The scheduler's communicators and this rank's place in them.
struct Channels {
  MPI_Comm ctrl = MPI_COMM_NULL;
  MPI_Comm data = MPI_COMM_NULL;
  MPI_Comm coll = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  int data_tag_ub = 32767;  ///< MPI_TAG_UB of `data`
};

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
  /// `owner`: the placement rank 0 made (placement.hpp), one entry per task up to the largest
  /// output. `seq`: the run's number, equal on every rank.
  DistributedRun(ThreadPool& pool, const TaskGraph& graph, Channels channels,
                 std::span<const std::int32_t> owner, std::span<const TaskId> outputs,
                 const OutputDestinations& destinations, std::uint32_t seq);
  ~DistributedRun();

  /// Runs this rank's share; returns when every rank is done. Collective. On failure it throws,
  /// on every rank, the error of the lowest failing rank (a task_error naming task and rank).
  void run();
  /// An output's value, or an empty Value where it is not held here.
  const Value& result(TaskId id) const { return m_run->result(id); }
  const TransferStats& stats() const noexcept { return m_stats; }

  void publish(TaskId id, const Value& value) override;
  void wake() noexcept override;
  void job_done(ThreadPool::WaitGroup& jobs, bool failed) noexcept override;

 private:
  struct PendingSend;
  struct PendingRecv;
  struct Request {
    bool send;
    std::size_t record;
  };

  RunPlan build_plan(std::span<const std::int32_t> owner, std::span<const TaskId> outputs,
                     const OutputDestinations& destinations);
  /// One round of communication work; true when something happened.
  bool progress();
  bool drain_outgoing();
  bool receive_messages();
  void handle_control(std::vector<std::byte> message, int source);
  bool test_requests();
  /// Whether the run failed here (a task or this rank's communication), not by an abort.
  bool failed_here() const;
  void post(MPI_Request request, bool send, std::size_t record);
  /// The tag of a value's pieces on `data`: its task id, wrapped at MPI_TAG_UB (only a value
  /// whose id differs by a multiple of it, in flight from the same rank at once, could share it).
  int data_tag(TaskId id) const noexcept {
    return static_cast<int>(static_cast<std::int64_t>(id) %
                            (static_cast<std::int64_t>(m_ch.data_tag_ub) + 1));
  }
  void send_value(TaskId id, const Value& value);
  void send_abort();
  void finish_receive(PendingRecv& r);
  /// Receives the next piece of a value this rank could not allocate into the scratch buffer.
  void post_drain(PendingRecv& r, std::size_t record);
  /// Waits a little for workers (backoff grows while nothing happens).
  void idle_wait(int rounds);
  /// Every rank throws the error of `failed_rank`, broadcast from there. Collective.
  [[noreturn]] void throw_agreed_error(int failed_rank);

  const TaskGraph& m_graph;
  Channels m_ch;
  std::uint32_t m_seq;
  /// Per local task that other ranks need: their ranks (CSR over m_publish_tasks).
  std::vector<TaskId> m_publish_tasks;  // sorted
  std::vector<std::uint32_t> m_dest_offset;
  std::vector<int> m_dest_ranks;
  std::int64_t m_expected = 0;  // remote values still to arrive
  std::unique_ptr<DataflowRun> m_run;

  /// Guards m_outgoing and m_woken; workers also count their jobs done under it (job_done).
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<std::pair<TaskId, Value>> m_outgoing;
  bool m_woken = false;

  std::deque<PendingSend> m_sends;
  std::deque<PendingRecv> m_recvs;
  std::vector<MPI_Request> m_requests;
  std::vector<Request> m_request_info;
  std::int64_t m_live_requests = 0;
  std::exception_ptr m_remote_error;  // the error another rank's abort message brought
  bool m_abort_sent = false;
  bool m_closing = false;  // in the closing allreduce
  TransferStats m_stats;
};

}  // namespace tessera::detail
