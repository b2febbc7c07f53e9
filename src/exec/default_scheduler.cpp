#include <atomic>

#include "tessera/exec/scheduler.hpp"
#include "tessera/exec/threaded_scheduler.hpp"

namespace tessera {

namespace {

/// Set by set_default_scheduler; nullptr selects the built-in scheduler.
std::atomic<Scheduler*> g_default_override{nullptr};

}  // namespace

Scheduler& default_scheduler() {
  if (Scheduler* s = g_default_override.load(std::memory_order_acquire)) return *s;
  // Created on first use, so a program that never runs a graph starts no threads; destroyed
  // (workers joined) at exit.
  static ThreadedScheduler builtin;
  return builtin;
}

void set_default_scheduler(Scheduler* s) { g_default_override.store(s, std::memory_order_release); }

}  // namespace tessera

namespace tessera {

RunResult Scheduler::execute(const TaskGraph& graph, std::span<const TaskId> outputs,
                             ResultPlacement) {
  // One process holds everything: every placement is the same.
  RunResult r;
  r.values = run(graph, outputs);
  r.owners.assign(outputs.size(),
                  ChunkOwners::every_rank);  // every process that ran it holds everything
  return r;
}

RunResult Scheduler::execute_to(const TaskGraph& graph, std::span<const TaskId> outputs,
                                std::span<const std::vector<int>>) {
  return execute(graph, outputs, ResultPlacement::all_ranks);
}

std::vector<std::vector<std::byte>> Scheduler::allgather(std::span<const std::byte> mine) {
  return {std::vector<std::byte>(mine.begin(), mine.end())};
}

}  // namespace tessera
