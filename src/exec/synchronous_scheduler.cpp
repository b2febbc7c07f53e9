#include "tessera/exec/synchronous_scheduler.hpp"

#include <algorithm>
#include <queue>

#include "exec/task_execution.hpp"

namespace tessera {

namespace {

/// The state of one synchronous run.
class SynchronousRun {
 public:
  SynchronousRun(const TaskGraph& graph, std::span<const TaskId> outputs)
      : m_graph(graph), m_plan(detail::plan_run(graph, outputs)), m_results(m_plan.extent) {}

  std::vector<Value> run(std::span<const TaskId> outputs) {
    std::vector<TaskId> order;
    order.reserve(m_plan.num_needed);
    for (TaskId id = 0; static_cast<std::size_t>(id) < m_plan.extent; ++id) {
      if (m_plan.needed(id)) order.push_back(id);
    }
    const auto before = [&](TaskId a, TaskId b) { return detail::runs_before(m_graph, a, b); };
    if (!std::is_sorted(order.begin(), order.end(), before)) {
      std::sort(order.begin(), order.end(), before);
    }
    if (is_topological(order)) {
      for (TaskId id : order) run_task(id);
    } else {
      run_ready_in_priority_order(order);
    }
    std::vector<Value> values;
    values.reserve(outputs.size());
    for (TaskId out : outputs) values.push_back(m_results[static_cast<std::size_t>(out)]);
    return values;
  }

 private:
  /// Whether `order` (sorted by runs_before) runs every task after its dependencies.
  bool is_topological(std::span<const TaskId> order) const {
    for (TaskId id : order) {
      for (TaskId dep : m_graph.deps(id)) {
        if (!detail::runs_before(m_graph, dep, id)) return false;
      }
    }
    return true;
  }

  /// The general case: Kahn's algorithm with a min-heap on (priority, id).
  void run_ready_in_priority_order(std::span<const TaskId> needed) {
    const detail::Successors successors = detail::build_successors(m_graph, m_plan);
    std::vector<std::int32_t> remaining(m_plan.extent, 0);
    const auto later = [&](TaskId a, TaskId b) { return detail::runs_before(m_graph, b, a); };
    std::priority_queue<TaskId, std::vector<TaskId>, decltype(later)> ready(later);
    for (TaskId id : needed) {
      const auto n = static_cast<std::int32_t>(m_graph.deps(id).size());
      remaining[static_cast<std::size_t>(id)] = n;
      if (n == 0) ready.push(id);
    }
    while (!ready.empty()) {
      const TaskId id = ready.top();
      ready.pop();
      run_task(id);
      for (TaskId succ : successors.of(id)) {
        if (--remaining[static_cast<std::size_t>(succ)] == 0) ready.push(succ);
      }
    }
  }

  void run_task(TaskId id) {
    const auto deps = m_graph.deps(id);
    Value value;
    {
      detail::InputBuffer inputs(deps.size());
      for (std::size_t k = 0; k < deps.size(); ++k) {
        const auto d = static_cast<std::size_t>(deps[k]);
        // The last consumer takes the value instead of sharing it: it then dies with the
        // input buffer, as early as possible.
        if (m_plan.consumers[d] == 1 && !m_plan.output(deps[k])) {
          inputs[k] = std::move(m_results[d]);
        } else {
          inputs[k] = m_results[d];
        }
      }
      value = detail::invoke_task(m_graph, id, inputs.span());
    }
    m_results[static_cast<std::size_t>(id)] = std::move(value);
    for (TaskId dep : deps) {
      const auto d = static_cast<std::size_t>(dep);
      if (--m_plan.consumers[d] == 0 && !m_plan.output(dep)) m_results[d] = Value();
    }
  }

  const TaskGraph& m_graph;
  detail::RunPlan m_plan;
  std::vector<Value> m_results;
};

}  // namespace

std::vector<Value> SynchronousScheduler::run(const TaskGraph& graph,
                                             std::span<const TaskId> outputs) {
  if (outputs.empty()) return {};
  return SynchronousRun(graph, outputs).run(outputs);
}

}  // namespace tessera
