#pragma once
/// @file
/// `ThreadedScheduler`: runs a graph on a work-stealing thread pool, driven by dataflow.
///
/// Each run counts, per task, the dependencies still missing and the consumers still to run.
/// A worker that finishes a task decrements its successors' counters, runs the most urgent
/// newly ready successor itself right away (no queue round trip, inputs still in cache) and
/// pushes the others on its own deque, where idle workers can steal them. Tasks without
/// dependencies are claimed in priority order from a shared list, a few at a time, and each
/// worker finishes the work a root made ready before it claims the next one: execution stays
/// depth-first, which is what keeps memory low for reductions.

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tessera/exec/scheduler.hpp"
#include "tessera/exec/thread_pool.hpp"

namespace tessera {

namespace detail {
class MemoryBudget;
}

class ThreadedScheduler final : public Scheduler {
 public:
  /// Owns a pool of `num_threads` workers. 0 means the TESSERA_NUM_THREADS environment
  /// variable when it is set, else std::thread::hardware_concurrency(). Throws value_error for
  /// a negative count or a TESSERA_NUM_THREADS that is not a positive integer.
  /// `memory_budget`: bytes of task values the runs may hold (0: resolve_memory_budget, so
  /// TESSERA_MEMORY_BUDGET or half the memory; tessera/exec/memory.hpp).
  explicit ThreadedScheduler(int num_threads = 0, std::size_t memory_budget = 0);
  /// Runs on `pool`, which the caller keeps alive longer than the scheduler (so that one pool
  /// per process can serve several schedulers and other parallel work).
  explicit ThreadedScheduler(ThreadPool& pool, std::size_t memory_budget = 0);
  ~ThreadedScheduler() override;

  ThreadedScheduler(const ThreadedScheduler&) = delete;
  ThreadedScheduler& operator=(const ThreadedScheduler&) = delete;

  /// See Scheduler::run. The calling thread blocks until the run is over; when it is itself a
  /// worker of this pool (a task that runs a graph), it executes tasks while it waits.
  /// Concurrent calls from several threads are allowed and share the workers.
  std::vector<Value> run(const TaskGraph& graph, std::span<const TaskId> outputs) override;

  std::string_view name() const noexcept override { return "threaded"; }
  int num_threads() const noexcept override { return m_pool->num_threads(); }
  MemoryStats memory_stats() const override;

  ThreadPool& pool() const noexcept { return *m_pool; }
  ThreadPool* thread_pool() noexcept override { return m_pool; }

  /// The thread count that `ThreadedScheduler(0)` uses (see the constructor).
  static int default_num_threads();

 private:
  std::unique_ptr<ThreadPool> m_owned_pool;
  ThreadPool* m_pool;
  std::unique_ptr<detail::MemoryBudget> m_budget;
};

}  // namespace tessera
