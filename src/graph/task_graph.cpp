#include "tessera/graph/task_graph.hpp"

#include <fmt/format.h>

#include "tessera/graph/token.hpp"

namespace tessera {

std::uint32_t TaskGraph::add_label(std::string label) {
  m_labels.push_back(std::move(label));
  return static_cast<std::uint32_t>(m_labels.size() - 1);
}

TaskId TaskGraph::add(std::uint32_t label, std::span<const std::int64_t> coords,
                      std::span<const TaskId> deps, TaskFn fn) {
  const auto id = static_cast<TaskId>(m_fns.size());
  if (label >= m_labels.size())
    throw graph_error(fmt::format("task label {} does not exist", label));
  for (TaskId d : deps) {
    if (d < 0 || d >= id) {
      throw graph_error(fmt::format("task '{}' depends on task {}, which has not been added",
                                    m_labels[label], d));
    }
  }
  if (m_coord_offset.empty()) m_coord_offset.push_back(0);
  m_fns.push_back(std::move(fn));
  m_literals.emplace_back();
  m_task_label.push_back(label);
  m_coords.insert(m_coords.end(), coords.begin(), coords.end());
  m_coord_offset.push_back(static_cast<std::uint32_t>(m_coords.size()));
  m_deps.insert(m_deps.end(), deps.begin(), deps.end());
  m_dep_offset.push_back(static_cast<std::uint32_t>(m_deps.size()));
  m_priority.push_back(id);
  m_pin.push_back(-1);
  m_size_hint.push_back(0);
  m_content.push_back(0);
  return id;
}

TaskId TaskGraph::add_value(std::uint32_t label, std::span<const std::int64_t> coords, Value value,
                            std::uint64_t content) {
  TaskId id = add(label, coords, {}, TaskFn{});
  m_literals[static_cast<std::size_t>(id)] = std::move(value);
  m_content[static_cast<std::size_t>(id)] = content;
  return id;
}

std::span<const TaskId> TaskGraph::deps(TaskId id) const {
  const auto i = static_cast<std::size_t>(id);
  return std::span<const TaskId>(m_deps).subspan(m_dep_offset[i],
                                                 m_dep_offset[i + 1] - m_dep_offset[i]);
}

std::string_view TaskGraph::label(TaskId id) const {
  return m_labels[m_task_label[static_cast<std::size_t>(id)]];
}

std::string TaskGraph::name(TaskId id) const {
  const auto i = static_cast<std::size_t>(id);
  const auto begin = m_coord_offset[i], end = m_coord_offset[i + 1];
  if (begin == end) return fmt::format("'{}'", label(id));
  std::string out = fmt::format("('{}'", label(id));
  for (auto k = begin; k < end; ++k) out += fmt::format(", {}", m_coords[k]);
  return out + ")";
}

void TaskGraph::set_priorities(std::vector<std::int32_t> priority) {
  if (priority.size() != size()) {
    throw graph_error(fmt::format("{} priorities given for {} tasks", priority.size(), size()));
  }
  m_priority = std::move(priority);
}

std::uint64_t TaskGraph::fingerprint() const {
  Tokenizer t;
  t.add(size());
  std::vector<Token> label_tokens;
  label_tokens.reserve(m_labels.size());
  for (const auto& l : m_labels)
    label_tokens.push_back(Tokenizer().add(std::string_view(l)).finish());
  for (std::size_t i = 0; i < size(); ++i) {
    t.add(label_tokens[m_task_label[i]]).add(m_pin[i]).add(m_dep_offset[i + 1] - m_dep_offset[i]);
  }
  t.add_bytes(m_deps.data(), m_deps.size() * sizeof(TaskId));
  t.add_bytes(m_coords.data(), m_coords.size() * sizeof(std::int64_t));
  t.add_bytes(m_content.data(), m_content.size() * sizeof(std::uint64_t));
  // Placement reads the size hints: ranks that agree on the graph must agree on them too.
  t.add_bytes(m_size_hint.data(), m_size_hint.size() * sizeof(std::size_t));
  return t.finish();
}

}  // namespace tessera
