// Delayed nodes and the lowering of a delayed DAG to a TaskGraph.

#include "tessera/delayed/delayed.hpp"

#include <atomic>
#include <bit>

#include <fmt/format.h>

namespace tessera::detail {

namespace {

/// A node that holds its value (delayed_value, persist()).
class ValueNode final : public DelayedNode {
 public:
  ValueNode(Token token, std::string name, Value value)
      : DelayedNode(token, {}), m_name(std::move(name)), m_value(std::move(value)) {}
  std::string_view name() const noexcept override { return m_name; }
  Value literal() const override { return m_value; }
  Value invoke(std::span<const Value>) const override { return m_value; }

 private:
  std::string m_name;
  Value m_value;
};

/// "name-3fa2c1de", the same text as name + "-" + short_token(token), without fmt (it runs once
/// per task when lowering).
void append_key(std::string& out, std::string_view name, Token token) {
  static constexpr char digits[] = "0123456789abcdef";
  out.reserve(name.size() + 9);
  out.append(name);
  out.push_back('-');
  const auto high = static_cast<std::uint32_t>(token >> 32);
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(digits[(high >> shift) & 0xf]);
}

/// Token -> task id, open addressing with linear probing. Tokens are well-mixed hashes
/// already, so their low bits index the table directly; this is several times cheaper per task
/// than std::unordered_map, which matters for graphs of 10^5 small tasks.
class TokenTable {
 public:
  explicit TokenTable(std::size_t expected) {
    std::size_t capacity = 64;
    while (capacity < 2 * expected) capacity *= 2;
    m_slots.assign(capacity, Slot{});
  }
  /// The id of `token`, or -1.
  TaskId find(Token token) const noexcept {
    for (std::size_t i = token & mask();; i = (i + 1) & mask()) {
      const Slot& s = m_slots[i];
      if (s.id < 0) return -1;
      if (s.token == token) return s.id;
    }
  }
  void insert(Token token, TaskId id) {
    if (2 * (m_size + 1) > m_slots.size()) grow();
    place(token, id);
    ++m_size;
  }

 private:
  struct Slot {
    Token token = 0;
    TaskId id = -1;
  };
  std::size_t mask() const noexcept { return m_slots.size() - 1; }
  void place(Token token, TaskId id) noexcept {
    std::size_t i = token & mask();
    while (m_slots[i].id >= 0) i = (i + 1) & mask();
    m_slots[i] = Slot{token, id};
  }
  void grow() {
    std::vector<Slot> old = std::move(m_slots);
    m_slots.assign(old.size() * 2, Slot{});
    for (const Slot& s : old)
      if (s.id >= 0) place(s.token, s.id);
  }
  std::vector<Slot> m_slots;
  std::size_t m_size = 0;
};

}  // namespace

DelayedNode::DelayedNode(Token token, std::vector<DelayedNodePtr> deps) noexcept
    : m_token(token), m_deps(std::move(deps)) {}

DelayedNode::~DelayedNode() {
  if (m_deps.empty()) return;
  // Release dependencies without recursion: a dependency this node is the last owner of hands
  // its own dependencies over before it dies. use_count() == 1 is exact here: no other owner
  // exists that could copy the pointer concurrently (nodes are never held by weak_ptr).
  std::vector<DelayedNodePtr> pending = std::move(m_deps);
  while (!pending.empty()) {
    DelayedNodePtr n = std::move(pending.back());
    pending.pop_back();
    if (n.use_count() == 1 && !n->m_deps.empty()) {
      for (auto& d : n->m_deps) pending.push_back(std::move(d));
      n->m_deps.clear();
    }
  }
}

DelayedNodePtr make_value_node(Token token, std::string name, Value value) {
  return std::make_shared<const ValueNode>(token, std::move(name), std::move(value));
}

std::string node_key(const DelayedNode& node) {
  std::string key;
  append_key(key, node.name(), node.token());
  return key;
}

std::uint64_t next_wrapper_number() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

void throw_empty_delayed(std::string_view name, std::size_t index) {
  throw value_error(fmt::format(
      "argument {} of the delayed call '{}' is an empty Delayed (default-constructed, never "
      "assigned a result)",
      index, name));
}

LoweredDelayed lower_nodes(std::vector<DelayedNodePtr> roots) {
  for (std::size_t r = 0; r < roots.size(); ++r) {
    if (!roots[r]) {
      throw value_error(
          fmt::format("cannot compute an empty Delayed (value {} of {})", r, roots.size()));
    }
  }
  LoweredDelayed out;
  TokenTable ids(1024);
  std::string label;

  // Depth-first post-order from each root, iteratively (call chains may be 10^6 deep): a node
  // gets its task once all its dependencies have one, so ids are topological and a branch is
  // finished before the next begins. A dependency whose token has a task already is not
  // visited again: that is the CSE. `found` is a stack of task ids: a node's dependencies'
  // ids are its top deps().size() entries when the node is done (one table look-up per
  // dependency edge and one insertion per task).
  struct Frame {
    const DelayedNode* node;
    std::size_t next_dep;
  };
  std::vector<Frame> stack;
  std::vector<TaskId> found;
  const auto add_task = [&](const DelayedNode* n) {
    const auto deps = n->deps();
    label.clear();
    append_key(label, n->name(), n->token());
    const auto label_id = out.graph.add_label(label);
    TaskId id;
    if (Value lit = n->literal(); !lit.empty()) {
      // A value node's token hashes its contents (delayed_value): ranks holding different
      // values build different graphs, which a distributed run reports.
      id = out.graph.add_value(label_id, {}, std::move(lit), n->token());
    } else {
      const std::span<const TaskId> dep_ids(found.data() + (found.size() - deps.size()),
                                            deps.size());
      // The roots keep `n` alive as long as the graph.
      id = out.graph.add(label_id, {}, dep_ids,
                         [n](std::span<const Value> in) { return n->invoke(in); });
    }
    found.resize(found.size() - deps.size());
    ids.insert(n->token(), id);
    return id;
  };
  for (const DelayedNodePtr& root : roots) {
    if (ids.find(root->token()) >= 0) continue;
    stack.push_back({root.get(), 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const auto deps = f.node->deps();
      if (f.next_dep < deps.size()) {
        const DelayedNode* d = deps[f.next_dep++].get();
        if (const TaskId id = ids.find(d->token()); id >= 0) {
          found.push_back(id);
        } else {
          stack.push_back({d, 0});
        }
        continue;
      }
      const DelayedNode* n = f.node;
      stack.pop_back();
      found.push_back(add_task(n));
    }
    found.clear();
  }
  out.outputs.reserve(roots.size());
  for (const DelayedNodePtr& root : roots) out.outputs.push_back(ids.find(root->token()));
  out.roots = std::move(roots);
  return out;
}

std::vector<Value> compute_nodes(std::vector<DelayedNodePtr> roots,
                                 const DelayedComputeOptions& options) {
  const LoweredDelayed lowered = lower_nodes(std::move(roots));
  Scheduler& s = options.scheduler ? *options.scheduler : default_scheduler();
  return s.run(lowered.graph, lowered.outputs);
}

}  // namespace tessera::detail
