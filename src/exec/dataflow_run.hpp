#pragma once
/// @file
/// `DataflowRun`: one run of a task graph on a work-stealing pool, driven by dataflow. The
/// threaded scheduler runs whole graphs with it; the distributed scheduler runs each rank's
/// share of a graph with it, feeding in the values that other ranks computed.
///
/// Each run counts, per task, the dependencies still missing and the consumers still to run.
/// A worker that finishes a task decrements its successors' counters, runs the most urgent
/// newly ready successor itself right away (no queue round trip, inputs still in cache) and
/// pushes the others on its own deque, where idle workers can steal them. Tasks without
/// dependencies are claimed in priority order from a shared list, a few at a time, and each
/// worker finishes the work a root made ready before it claims the next one: execution stays
/// depth-first, which is what keeps memory low for reductions.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

#include "exec/memory_budget.hpp"
#include "exec/task_execution.hpp"
#include "tessera/exec/thread_pool.hpp"

namespace tessera::detail {

class DataflowRun;

/// A ready task waiting on a deque. Built in place, in its run's job storage, at the moment the
/// task becomes ready (each task is pushed at most once per run), so the pool never allocates.
/// A task made ready on the driver's thread (`claimed`) may also be run by a root feeder before
/// its job comes up (DataflowRun::run_delivered); the job then only counts itself done.
class DataflowTaskJob final : public ThreadPool::Job {
 public:
  DataflowTaskJob(DataflowRun& run, TaskId id, bool claimed = false) noexcept
      : m_run(&run), m_id(id), m_claimed(claimed) {}
  void execute(ThreadPool::Worker& self) override;

 private:
  DataflowRun* m_run;
  TaskId m_id;
  bool m_claimed;
};

/// Claims tasks without dependencies (roots) in priority order; queued once per worker that
/// takes part in a run.
class DataflowRootFeeder final : public ThreadPool::Job {
 public:
  explicit DataflowRootFeeder(DataflowRun& run) noexcept : m_run(&run) {}
  void execute(ThreadPool::Worker& self) override;

 private:
  DataflowRun* m_run;
};

/// What a distributed run plugs into a DataflowRun.
class RemoteLink {
 public:
  /// A task flagged kPublish has run here with `value`. Called on the worker thread, before
  /// the task counts as finished (so before DataflowRun::idle() can become true).
  virtual void publish(TaskId id, const Value& value) = 0;
  /// Something the driver waits for has happened (a task failed). Must not block.
  virtual void wake() noexcept = 0;
  /// A job of the run has finished: the link calls `jobs.done()` exactly once, and wakes its
  /// driver when that leaves only the driver's token (the run is idle) or the run has failed.
  /// The driver may end the run, and destroy it and the link, as soon as it sees the run idle:
  /// so the link counts the job done and wakes the driver under one lock, which the driver
  /// takes after it saw the run idle and before it ends the run. Called on the worker thread;
  /// must not block for long.
  virtual void job_done(ThreadPool::WaitGroup& jobs, bool failed) noexcept = 0;

 protected:
  ~RemoteLink() = default;
};

class DataflowRun {
 public:
  /// A task the driver ran itself that took longer than this ends the driver's running of
  /// tasks for the rest of the run: about what a hand-over to a worker and back costs.
  static constexpr std::chrono::microseconds kInlineTaskLimit{20};

  /// `plan` says which tasks run here, which arrive from elsewhere (kRemote: each must be
  /// delivered once) and which to publish; `link` is required when any task is remote or
  /// published. The run lives on the caller's stack and must outlive every job it queues:
  /// run() and finish() guarantee that.
  /// `budget` (optional) is the rank's memory account: the run counts the values it keeps
  /// there, spills those that must wait while it is full, and holds back roots that would load
  /// new data while other tasks of the run may still free some.
  DataflowRun(ThreadPool& pool, const TaskGraph& graph, RunPlan plan, RemoteLink* link = nullptr,
              MemoryBudget* budget = nullptr);
  ~DataflowRun();
  DataflowRun(const DataflowRun&) = delete;
  DataflowRun& operator=(const DataflowRun&) = delete;

  /// One process: starts, waits, and returns the outputs (rethrowing the first task error).
  std::vector<Value> run(std::span<const TaskId> outputs);

  // --- distributed use, all from the one thread that drives the run --------------------------

  /// Queues the roots. Nothing runs before this. Literal roots that other ranks read are
  /// published right here, on the driver (nothing is computed; sending is the driver's job).
  void start();
  /// The value of remote task `id` has arrived: its local consumers may run.
  void deliver(TaskId id, Value value);
  /// Runs the task the driver kept for itself (see ready_on_driver), if any; true when it ran
  /// one. The driver calls it when it has nothing to send or receive.
  bool run_inline();
  /// Whether the driver holds a task of its own to run.
  bool has_inline() const noexcept { return m_inline >= 0; }
  /// Nothing is queued or running: every local task has run, or waits for a delivery, or the
  /// run has failed and drained. Safe from any thread.
  bool idle() const noexcept { return m_wait.pending() == 1; }
  /// Stops the run: no new task starts. The first error recorded is the run's error.
  void fail(std::exception_ptr error) noexcept;
  bool failed() const noexcept { return m_failed.load(std::memory_order_relaxed); }
  std::exception_ptr error() const;
  /// Ends a started distributed run: waits until no job is left. Call once, when idle().
  void finish();

  /// Counts the tasks run here from now on (tasks_done()): for progress reports, which only
  /// then pay a shared counter per task. Before start().
  void count_tasks() noexcept { m_count_tasks = true; }
  std::int64_t tasks_done() const noexcept { return m_tasks_done.load(std::memory_order_relaxed); }
  /// The tasks this run has here (literals not counted: nothing runs for them).
  std::int64_t local_tasks() const noexcept { return m_local_tasks; }

  /// A task's value after the run (empty when it was released or is not held here).
  const Value& result(TaskId id) const noexcept { return m_results[static_cast<std::size_t>(id)]; }

  // --- called by the run's jobs --------------------------------------------------------------
  void feed_roots(ThreadPool::Worker& self);
  /// Runs `id`, then, for as long as each task makes one ready, its most urgent successor.
  void run_chain(ThreadPool::Worker& self, TaskId id);
  /// Whether the caller is the one to run `id`, a task made ready on the driver (its job and a
  /// root feeder may both try).
  bool claim(TaskId id) noexcept {
    return std::atomic_ref<std::uint8_t>(m_claimed[static_cast<std::size_t>(id)])
               .exchange(1, std::memory_order_acq_rel) == 0;
  }
  void job_done() noexcept;

 private:
  /// Runs one task and releases its inputs; false when it threw (the error is recorded).
  bool execute_task(TaskId id);
  /// Counts `id` as done for its successors. Returns the most urgent one that became ready
  /// (or -1), and pushes the others on `self`'s deque, most urgent on top.
  TaskId release_successors(ThreadPool::Worker& self, TaskId id);
  /// Stores a finished task's value, unless nothing here will read it; into the spill file
  /// when the budget is full and a consumer of it waits for something else.
  void store(TaskId id, Value value);
  /// A stored value's last reader is done: it leaves memory or the spill file.
  void forget(TaskId id) noexcept;
  /// Before a root that loads new data (its size hint): waits while the budget is full and
  /// other tasks of the run are running (they may free memory).
  void admit(TaskId root);
  /// Task `id`, made ready on the driver's thread (a delivery, a literal, the only root), is
  /// kept for the driver to run itself when nothing else of the run is queued or running
  /// here and the driver holds no other: a small task then costs no hand-over to a worker and
  /// back (each a wake-up, so a system call and a trip through the OS scheduler: more than
  /// the task itself in a latency-bound run). Otherwise, and for the rest of the run once a
  /// task run so took longer than kInlineTaskLimit, the pool runs it.
  void ready_on_driver(TaskId id);
  /// On the driver's thread: counts `id` as done for its successors (ready_on_driver for each
  /// that becomes ready).
  void release_on_driver(TaskId id);
  void submit_task(TaskId id);
  /// Runs the tasks that deliveries made ready, before the feeder claims its next root: their
  /// jobs wait in the pool's injection queue, which a worker busy feeding roots does not look
  /// at, and each holds a received value (with one thread per rank, rank 0 of a compressed
  /// write held every other rank's chunks until it had read all of its own: 0.9 GB of 2 GB).
  void run_delivered(ThreadPool::Worker& self);

  std::atomic_ref<std::int32_t> remaining(TaskId id) noexcept {
    return std::atomic_ref<std::int32_t>(m_remaining[static_cast<std::size_t>(id)]);
  }
  std::atomic_ref<std::int32_t> consumers(TaskId id) noexcept {
    return std::atomic_ref<std::int32_t>(m_plan.consumers[static_cast<std::size_t>(id)]);
  }
  Value& result_ref(TaskId id) noexcept { return m_results[static_cast<std::size_t>(id)]; }
  static std::vector<std::int32_t> dependency_counts(const TaskGraph& graph, const RunPlan& plan);
  /// The roots this rank runs, in order; with `driver_literals`, the literal roots that are
  /// published go there instead.
  static std::vector<TaskId> sorted_roots(const TaskGraph& graph, const RunPlan& plan,
                                          std::vector<TaskId>* driver_literals);

  ThreadPool& m_pool;
  const TaskGraph& m_graph;
  RunPlan m_plan;  // during the run, `consumers` is only accessed atomically
  RemoteLink* m_link;
  MemoryBudget* m_budget;
  std::vector<std::size_t> m_held;      // bytes counted in the budget for each stored value
  std::vector<SpillRecord> m_spill;     // where each spilled value lies
  std::vector<std::uint8_t> m_spilled;  // whether the value is in the spill file
  std::int64_t m_local_tasks = 0;       // tasks that run here (statistics, traces)
  Successors m_successors;
  std::vector<std::int32_t> m_remaining;  // dependencies not done yet; accessed atomically
  std::vector<Value> m_results;
  std::vector<TaskId> m_driver_literals;  // literal roots that are published (distributed)
  std::vector<TaskId> m_roots;            // sorted by (priority, id); without the driver's literals
  TaskId m_inline = -1;                   // the task the driver keeps for itself, or -1
  bool m_inline_allowed = true;           // no task the driver ran took too long
  std::int64_t m_root_chunk;              // roots claimed at a time
  DataflowTaskJob* m_jobs;                // uninitialised storage for one job per task
  std::vector<std::uint8_t> m_claimed;    // distributed: tasks made ready on the driver, taken
  std::mutex m_delivered_mutex;
  std::deque<TaskId> m_delivered;  // made ready on the driver, not yet taken by a feeder
  alignas(64) std::atomic<std::size_t> m_delivered_size{0};

  bool m_count_tasks = false;
  bool m_watched = false;  // the trace samples m_budget (trace::watch_budget) during the run
  alignas(64) std::atomic<std::int64_t> m_tasks_done{0};
  alignas(64) std::atomic<std::int64_t> m_next_root{0};
  alignas(64) std::atomic<bool> m_failed{false};
  alignas(64) std::atomic<std::int32_t> m_running{0};  // tasks executing that free counted values
  mutable std::mutex m_error_mutex;
  std::exception_ptr m_error;  // guarded by m_error_mutex until the run is over

  std::int64_t m_feeders;  // copies of the feeder queued: one per worker with roots to claim
  /// Counts the queued or running jobs, plus one token that a distributed run's driver holds
  /// until finish() (deliveries can make new jobs until then).
  ThreadPool::WaitGroup m_wait;
  DataflowRootFeeder m_feeder{*this};
};

}  // namespace tessera::detail
