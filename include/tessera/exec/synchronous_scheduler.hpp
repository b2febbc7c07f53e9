#pragma once
/// @file
/// `SynchronousScheduler`: runs a graph on the calling thread, one task at a time.
///
/// For debugging and for reference results: execution order is deterministic (the priority
/// order), a debugger or profiler sees one plain call stack, and a failing task's exception
/// surfaces (wrapped in a task_error) at the point where it was thrown.

#include <span>
#include <string_view>
#include <vector>

#include "tessera/exec/scheduler.hpp"

namespace tessera {

class SynchronousScheduler final : public Scheduler {
 public:
  /// Runs only the tasks `outputs` need, in increasing priority (ties: increasing id). When
  /// the priorities are not a topological order, it runs the lowest-priority *ready* task
  /// each time instead, which is what the Scheduler contract asks for. A value is released
  /// right after its last consumer ran. Safe to call from several threads at once.
  std::vector<Value> run(const TaskGraph& graph, std::span<const TaskId> outputs) override;

  std::string_view name() const noexcept override { return "synchronous"; }
  int num_threads() const noexcept override { return 1; }
};

}  // namespace tessera
