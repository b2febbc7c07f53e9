#include "tessera/delayed/raw_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "tessera/graph/lower.hpp"

namespace tessera {

namespace detail {

void throw_raw_argument(std::string_view key, int position, int list_index,
                        const std::type_info* held, const std::type_info& wanted) {
  throw dtype_error(fmt::format(
      "raw graph: argument {}{} of task {} holds a {}, but the callable takes {}", position,
      list_index >= 0 ? fmt::format(" (item {} of its key list)", list_index) : std::string(), key,
      held ? readable_type_name(*held) : std::string("empty Value"), readable_type_name(wanted)));
}

void throw_raw_result(const Key& key, const std::type_info* held, const std::type_info& wanted) {
  throw dtype_error(fmt::format("raw graph: get<{}>: key {} holds a {}", readable_type_name(wanted),
                                key.to_string(),
                                held ? readable_type_name(*held) : std::string("empty Value")));
}

std::string raw_repr_int(std::int64_t v) { return fmt::format("{}", v); }
std::string raw_repr_uint(std::uint64_t v) { return fmt::format("{}", v); }
std::string raw_repr_float(double v) { return fmt::format("{}", v); }
std::string raw_repr_string(std::string_view v) { return fmt::format("\"{}\"", v); }

}  // namespace detail

// --- Key, RawTask, RawGraph -------------------------------------------------------------------

std::string Key::to_string() const {
  if (m_coords.empty()) return fmt::format("'{}'", m_label);
  std::string out = fmt::format("('{}'", m_label);
  for (std::int64_t c : m_coords) out += fmt::format(", {}", c);
  return out + ")";
}

std::string RawTask::to_string() const {
  if (is_value()) return m_arg_repr.empty() ? std::string("<value>") : m_arg_repr.front();
  std::string out = "task(";
  for (std::size_t i = 0; i < m_arg_repr.size(); ++i) {
    if (i > 0) out += ", ";
    out += m_arg_repr[i];
  }
  return out + ")";
}

RawGraph::RawGraph(std::initializer_list<std::pair<Key, RawTask>> entries) {
  for (const auto& [key, entry] : entries) set(key, entry);
}

void RawGraph::set(Key key, RawTask entry) {
  if (auto it = m_index.find(key); it != m_index.end()) {
    m_entries[it->second].second = std::move(entry);
    return;
  }
  m_index.emplace(key, m_entries.size());
  m_entries.emplace_back(std::move(key), std::move(entry));
}

const RawTask& RawGraph::at(const Key& key) const {
  auto it = m_index.find(key);
  if (it == m_index.end())
    throw graph_error(fmt::format("raw graph: key {} is not in the graph", key.to_string()));
  return m_entries[it->second].second;
}

std::vector<Key> RawGraph::keys() const {
  std::vector<Key> out;
  out.reserve(m_entries.size());
  for (const auto& e : m_entries) out.push_back(e.first);
  return out;
}

std::string RawGraph::to_string() const {
  std::string out = "{";
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (i > 0) out += ",\n ";
    out += m_entries[i].first.to_string() + ": " + m_entries[i].second.to_string();
  }
  return out + "}";
}

// --- lowering ---------------------------------------------------------------------------------

namespace {

/// "'a' -> 'b' -> 'a'": the keys on the stack from `from` to the top, and back to `from`.
template <class Frames, class Entries>
std::string cycle_path(const Frames& stack, const Entries& entries, std::size_t from) {
  std::string path;
  bool on = false;
  for (const auto& f : stack) {
    on = on || f.entry == from;
    if (on) path += entries[f.entry].first.to_string() + " -> ";
  }
  return path + entries[from].first.to_string();
}

}  // namespace

LoweredRawGraph lower(const RawGraph& graph, const std::vector<Key>& keys) {
  using Access = detail::RawGraphAccess;
  const auto entries = Access::entries(graph);
  const auto& index = Access::index(graph);
  LoweredRawGraph out;
  std::vector<TaskId> task_of(entries.size(), -1);
  std::vector<std::uint8_t> on_stack(entries.size(), 0);
  std::unordered_map<std::string, std::uint32_t> labels;

  // Iterative depth-first post-order from each requested key (graphs written by programs can
  // be long chains): a task is added once all its dependencies have been, so ids are a
  // topological order, and only what the requested keys reach is lowered.
  struct Frame {
    std::size_t entry;
    std::size_t next;  // the dependency entry to visit next
  };
  std::vector<Frame> stack;
  std::vector<TaskId> deps;
  for (const Key& requested : keys) {
    if (!index.contains(requested)) {
      throw graph_error(fmt::format("raw graph: key {} was requested but is not in the graph",
                                    requested.to_string()));
    }
  }
  for (const Key& requested : keys) {
    const auto root = index.find(requested);
    if (task_of[root->second] < 0) {
      stack.push_back({root->second, 0});
      on_stack[root->second] = 1;
    }
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const auto& [key, entry] = entries[frame.entry];
      const auto entry_deps = entry.dependencies();
      if (frame.next < entry_deps.size()) {
        const std::size_t j = frame.next++;
        const Key& dep = entry_deps[j];
        const detail::RawArgCheck check = Access::checks(entry)[j];
        const std::string where = check.list_index >= 0
                                      ? fmt::format("argument {}, item {} of its key list",
                                                    check.position, check.list_index)
                                      : fmt::format("argument {}", check.position);
        const auto found = index.find(dep);
        if (found == index.end()) {
          throw graph_error(fmt::format("raw graph: key {} is missing: task {} refers to it ({})",
                                        dep.to_string(), key.to_string(), where));
        }
        const std::size_t d = found->second;
        const std::type_info* produced = entries[d].second.result_type();
        if (check.expected != nullptr && produced != nullptr && *check.expected != *produced) {
          throw dtype_error(fmt::format(
              "raw graph: {} of task {} is key {}, which yields a {}, but the callable takes {}",
              where, key.to_string(), dep.to_string(), detail::readable_type_name(*produced),
              detail::readable_type_name(*check.expected)));
        }
        if (on_stack[d]) {
          throw graph_error(
              fmt::format("raw graph: cycle through keys {}", cycle_path(stack, entries, d)));
        }
        if (task_of[d] < 0) {
          stack.push_back({d, 0});  // `frame` is not used after this
          on_stack[d] = 1;
        }
        continue;
      }
      auto [label, inserted] =
          labels.try_emplace(key.label(), static_cast<std::uint32_t>(labels.size()));
      if (inserted) out.graph.add_label(key.label());
      TaskId id;
      if (entry.is_value()) {
        id = out.graph.add_value(label->second, key.coords(), entry.literal(),
                                 entry.content_token());
      } else {
        deps.clear();
        for (const Key& dep : entry_deps) deps.push_back(task_of[index.at(dep)]);
        id = out.graph.add(label->second, key.coords(), deps,
                           [call = Access::call(entry), name = key.to_string()](
                               std::span<const Value> inputs) { return (*call)(inputs, name); });
        out.graph.set_content(id, entry.content_token());
      }
      task_of[frame.entry] = id;
      out.keys.push_back(key);
      on_stack[frame.entry] = 0;
      stack.pop_back();
    }
    out.outputs.push_back(task_of[root->second]);
  }
  order_tasks(out.graph, out.outputs);
  return out;
}

std::vector<Value> get(const RawGraph& graph, const std::vector<Key>& keys, Scheduler& scheduler) {
  if (keys.empty()) return {};
  const LoweredRawGraph lowered = lower(graph, keys);
  // A key requested twice is one output of the run.
  std::vector<TaskId> unique;
  std::vector<std::size_t> slot;
  slot.reserve(lowered.outputs.size());
  for (TaskId id : lowered.outputs) {
    auto it = std::find(unique.begin(), unique.end(), id);
    slot.push_back(static_cast<std::size_t>(it - unique.begin()));
    if (it == unique.end()) unique.push_back(id);
  }
  const std::vector<Value> values = scheduler.run(lowered.graph, unique);
  std::vector<Value> out;
  out.reserve(slot.size());
  for (std::size_t s : slot) out.push_back(values[s]);
  return out;
}

Value get(const RawGraph& graph, const Key& key, Scheduler& scheduler) {
  return get(graph, std::vector<Key>{key}, scheduler).front();
}

// --- listing ----------------------------------------------------------------------------------

std::vector<TaskListing> list_tasks(const TaskGraph& graph) {
  std::vector<TaskListing> out;
  out.reserve(graph.size());
  for (TaskId id = 0; static_cast<std::size_t>(id) < graph.size(); ++id) {
    TaskListing t{id, graph.name(id), {}, !graph.fn(id)};
    for (TaskId d : graph.deps(id)) t.dependencies.push_back(graph.name(d));
    out.push_back(std::move(t));
  }
  return out;
}

std::string to_string(std::span<const TaskListing> tasks) {
  std::string out = "{";
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (i > 0) out += ",\n ";
    out += tasks[i].name + ": ";
    if (tasks[i].is_value) {
      out += "value";
      continue;
    }
    out += "task(";
    for (std::size_t k = 0; k < tasks[i].dependencies.size(); ++k) {
      if (k > 0) out += ", ";
      out += tasks[i].dependencies[k];
    }
    out += ")";
  }
  return out + "}";
}

}  // namespace tessera
