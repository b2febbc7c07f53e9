#pragma once
/// @file
/// `TaskGraph`: the chunk-level graph a scheduler runs.
///
/// A task is a function of the values of its dependencies. Tasks are stored flat (CSR
/// dependency lists, interned labels) so that graphs of 10^5..10^6 tasks build and run
/// with little overhead per task. Task ids are dense: 0..size()-1, dependencies always
/// have smaller ids than their consumers (tasks are added in topological order).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/core/value.hpp"

namespace tessera {

using TaskId = std::int32_t;

/// A task body: gets its dependencies' values in the order they were declared.
using TaskFn = std::function<Value(std::span<const Value> inputs)>;

class TaskGraph {
 public:
  /// Adds a label ("add-3fa2c1de", "sum-3fa2c1de-partial") that many tasks can share; returns its
  /// id.
  std::uint32_t add_label(std::string label);

  /// Adds a task named (label, coords...) that depends on `deps` (all already added).
  /// Returns its id. Throws graph_error for a dependency that does not exist yet.
  TaskId add(std::uint32_t label, std::span<const std::int64_t> coords,
             std::span<const TaskId> deps, TaskFn fn);

  /// Adds a task whose value is known already (a literal or a persisted chunk). `content` is
  /// a hash of the value (0: none; see set_content).
  TaskId add_value(std::uint32_t label, std::span<const std::int64_t> coords, Value value,
                   std::uint64_t content = 0);
  /// A hash of the data task `id` carries (a literal's bytes, a raw task's literal arguments):
  /// part of fingerprint(), so that ranks holding different data for the same graph (one rank
  /// read a file, the others did not) get a graph_error instead of a blend of their values.
  void set_content(TaskId id, std::uint64_t content) {
    m_content.at(static_cast<std::size_t>(id)) = content;
  }

  std::size_t size() const noexcept { return m_fns.size(); }
  std::span<const TaskId> deps(TaskId id) const;
  const TaskFn& fn(TaskId id) const { return m_fns[static_cast<std::size_t>(id)]; }
  /// For tasks made by add_value: the value; empty otherwise.
  const Value& literal(TaskId id) const { return m_literals[static_cast<std::size_t>(id)]; }

  /// "('label', c0, c1)" or "'label'" without coordinates: the name used in error messages.
  std::string name(TaskId id) const;
  std::string_view label(TaskId id) const;
  /// The task's chunk coordinates (empty for a task named by its label alone).
  std::span<const std::int64_t> coords(TaskId id) const {
    const auto i = static_cast<std::size_t>(id);
    return std::span<const std::int64_t>(m_coords).subspan(
        m_coord_offset[i], m_coord_offset[i + 1] - m_coord_offset[i]);
  }

  /// Execution priority: lower runs earlier among ready tasks. Set by graph::order();
  /// defaults to the task id (which is a valid topological order).
  std::int32_t priority(TaskId id) const { return m_priority[static_cast<std::size_t>(id)]; }
  void set_priorities(std::vector<std::int32_t> priority);

  /// Placement hints for distributed schedulers. A pinned task runs on (its value lives on)
  /// rank `rank`; -1 (the default) leaves the choice to the scheduler. A literal that is not
  /// pinned is available on every rank (every rank built it).
  void pin(TaskId id, int rank) { m_pin.at(static_cast<std::size_t>(id)) = rank; }
  int pinned_rank(TaskId id) const { return m_pin[static_cast<std::size_t>(id)]; }
  /// Expected size of the task's value in bytes (0: unknown); placement weighs inputs by it.
  void set_size_hint(TaskId id, std::size_t bytes) {
    m_size_hint.at(static_cast<std::size_t>(id)) = bytes;
  }
  std::size_t size_hint(TaskId id) const { return m_size_hint[static_cast<std::size_t>(id)]; }
  /// A hash of the graph's structure (sizes, labels, dependencies, pins) and of the content
  /// tokens of its data (set_content): equal on every rank that built the same graph. Distributed
  /// schedulers compare it across ranks.
  std::uint64_t fingerprint() const;

 private:
  std::vector<std::string> m_labels;
  std::vector<TaskFn> m_fns;
  std::vector<Value> m_literals;
  std::vector<std::uint32_t> m_task_label;
  std::vector<std::uint32_t> m_coord_offset;  // size()+1 entries
  std::vector<std::int64_t> m_coords;
  std::vector<std::uint32_t> m_dep_offset{0};  // size()+1 entries
  std::vector<TaskId> m_deps;
  std::vector<std::int32_t> m_priority;
  std::vector<int> m_pin;
  std::vector<std::size_t> m_size_hint;
  std::vector<std::uint64_t> m_content;
};

}  // namespace tessera
