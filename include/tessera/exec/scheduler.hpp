#pragma once
/// @file
/// `Scheduler`: runs a TaskGraph. One interface for the synchronous and threaded
/// schedulers (and, later, the distributed one), chosen per call or by default.

#include <span>
#include <string_view>
#include <vector>

#include "tessera/graph/task_graph.hpp"

namespace tessera {

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  /// Runs the tasks that `outputs` need (others are skipped) and returns the outputs'
  /// values in order. Among ready tasks, lower TaskGraph::priority runs first. A task's
  /// value is released as soon as its last consumer has run (outputs are kept).
  /// If a task throws, no new task is started, the run drains, and a task_error naming the
  /// first failing task is thrown here. The scheduler stays usable afterwards.
  virtual std::vector<Value> run(const TaskGraph& graph, std::span<const TaskId> outputs) = 0;

  virtual std::string_view name() const noexcept = 0;
  /// Worker threads that execute tasks (1 for the synchronous scheduler).
  virtual int num_threads() const noexcept = 0;
};

/// The scheduler used when a call names none: a process-wide threaded scheduler with one
/// thread per core (or TESSERA_NUM_THREADS), created on first use.
Scheduler& default_scheduler();

/// Replaces the default (the caller keeps `s` alive while it is the default); nullptr restores
/// the built-in threaded scheduler.
void set_default_scheduler(Scheduler* s);

}  // namespace tessera
