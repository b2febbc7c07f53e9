#pragma once
/// @file
/// What the synchronous and threaded schedulers share: planning a run (culling to what the
/// outputs need, counting consumers, building successor lists), calling one task with its
/// errors wrapped, and the small buffer a task's inputs are gathered into.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "exec/trace.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/value.hpp"
#include "tessera/graph/task_graph.hpp"

namespace tessera::detail {

/// Per-task flags of a RunPlan.
/// kRemote (distributed runs): the task runs on another rank and its value arrives through
/// DataflowRun::deliver; kPublish: other ranks need the task's value once it has run here.
enum RunFlag : std::uint8_t { kNeeded = 1, kOutput = 2, kRemote = 4, kPublish = 8 };

/// The part of a graph one run needs. Arrays cover tasks 0..extent-1 only: no task above the
/// largest output can be needed, since dependencies always have smaller ids.
struct RunPlan {
  std::size_t extent = 0;
  std::vector<std::uint8_t> flags;
  /// For each task, how many dependency entries of needed tasks name it (a task that lists
  /// the same dependency twice counts twice). Its value may be released when this many
  /// consumer runs have finished, unless it is an output.
  std::vector<std::int32_t> consumers;
  std::size_t num_needed = 0;

  bool needed(TaskId id) const noexcept { return (flags[index(id)] & kNeeded) != 0; }
  bool output(TaskId id) const noexcept { return (flags[index(id)] & kOutput) != 0; }
  bool remote(TaskId id) const noexcept { return (flags[index(id)] & kRemote) != 0; }
  bool publish(TaskId id) const noexcept { return (flags[index(id)] & kPublish) != 0; }
  /// A task this rank runs itself.
  bool runs_here(TaskId id) const noexcept {
    return (flags[index(id)] & (kNeeded | kRemote)) == kNeeded;
  }
  static std::size_t index(TaskId id) noexcept { return static_cast<std::size_t>(id); }
};

/// Marks the outputs and, in one backward sweep, everything they depend on.
/// Throws graph_error for an output id that is not in the graph.
inline RunPlan plan_run(const TaskGraph& graph, std::span<const TaskId> outputs) {
  RunPlan plan;
  TaskId last = -1;
  for (TaskId out : outputs) {
    if (out < 0 || static_cast<std::size_t>(out) >= graph.size()) {
      throw graph_error(
          fmt::format("output task {} does not exist (the graph has {} tasks)", out, graph.size()));
    }
    last = std::max(last, out);
  }
  plan.extent = static_cast<std::size_t>(last + 1);
  plan.flags.assign(plan.extent, 0);
  plan.consumers.assign(plan.extent, 0);
  for (TaskId out : outputs) plan.flags[RunPlan::index(out)] = kNeeded | kOutput;
  for (TaskId id = last; id >= 0; --id) {
    if (!plan.needed(id)) continue;
    ++plan.num_needed;
    for (TaskId dep : graph.deps(id)) {
      plan.flags[RunPlan::index(dep)] |= kNeeded;
      ++plan.consumers[RunPlan::index(dep)];
    }
  }
  return plan;
}

/// Successor lists of the needed tasks that run here (remote tasks have no inputs here) in CSR
/// form; each list is in increasing id order and
/// has one entry per dependency entry (so its length is plan.consumers of the task).
struct Successors {
  std::vector<std::uint32_t> offset;  // extent + 1 entries
  std::vector<TaskId> ids;

  std::span<const TaskId> of(TaskId id) const noexcept {
    const auto i = static_cast<std::size_t>(id);
    return std::span<const TaskId>(ids).subspan(offset[i], offset[i + 1] - offset[i]);
  }
};

inline Successors build_successors(const TaskGraph& graph, const RunPlan& plan) {
  Successors s;
  s.offset.resize(plan.extent + 1);
  std::uint32_t end = 0;
  for (std::size_t i = 0; i < plan.extent; ++i) {
    end += static_cast<std::uint32_t>(plan.consumers[i]);
    s.offset[i + 1] = end;  // one past the end of task i's list, for now
  }
  s.ids.resize(end);
  // Filling from the back, in decreasing consumer order, leaves offset[i + 1] at the start of
  // task i + 1's list (that is, the end of task i's) and the lists in increasing order.
  for (auto id = static_cast<TaskId>(plan.extent) - 1; id >= 0; --id) {
    if (!plan.runs_here(id)) continue;
    for (TaskId dep : graph.deps(id)) s.ids[--s.offset[RunPlan::index(dep) + 1]] = id;
  }
  // offset[i + 1] now is the start of task i's list; shift the array to the usual CSR layout.
  for (std::size_t i = 0; i < plan.extent; ++i) s.offset[i] = s.offset[i + 1];
  s.offset[plan.extent] = end;
  return s;
}

/// Whether `a` runs before `b` among ready tasks: lower priority first, then lower id.
inline bool runs_before(const TaskGraph& graph, TaskId a, TaskId b) noexcept {
  const auto pa = graph.priority(a), pb = graph.priority(b);
  return pa < pb || (pa == pb && a < b);
}

Value invoke_traced(const TaskGraph& graph, TaskId id, std::span<const Value> inputs);

/// Calls task `id` on `inputs`. Any exception leaves as a task_error naming the task, except
/// one that already is a task_error (from a graph run inside the task), which keeps the name
/// of the innermost failing task. A task without a function yields its literal value (a
/// graph_error when that value is held by another rank).
inline Value invoke_task(const TaskGraph& graph, TaskId id, std::span<const Value> inputs) {
  const TaskFn& fn = graph.fn(id);
  if (!fn) {
    if (graph.literal(id).empty()) {
      // A chunk that lives on another rank (persisted or adopted there), run by a scheduler
      // that cannot fetch it.
      throw graph_error(fmt::format(
          "task {} has no value here: it lives on rank {}; compute it with the distributed "
          "scheduler that holds it",
          graph.name(id), graph.pinned_rank(id)));
    }
    return graph.literal(id);
  }
  if (trace::on()) [[unlikely]]
    return invoke_traced(graph, id, inputs);
  try {
    return fn(inputs);
  } catch (const task_error&) {
    throw;
  } catch (const std::exception& e) {
    throw task_error(graph.name(id), e.what());
  } catch (...) {
    throw task_error(graph.name(id), "unknown exception (not derived from std::exception)");
  }
}

/// The inputs of one task call: inline for the usual small fan-in, on the heap beyond.
class InputBuffer {
 public:
  explicit InputBuffer(std::size_t size) : m_size(size) {
    if (size > kInline) m_heap = std::make_unique<Value[]>(size);
  }
  Value& operator[](std::size_t i) noexcept { return data()[i]; }
  std::span<const Value> span() noexcept { return {data(), m_size}; }

 private:
  static constexpr std::size_t kInline = 8;
  Value* data() noexcept { return m_heap ? m_heap.get() : m_inline.data(); }

  std::size_t m_size;
  std::array<Value, kInline> m_inline;
  std::unique_ptr<Value[]> m_heap;
};

}  // namespace tessera::detail
