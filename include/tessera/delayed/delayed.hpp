#pragma once
/// @file
/// `Delayed<T>`: a lazy value of type T — Tessera's counterpart of dask.delayed.
///
///     auto inc = tessera::delayed([](int x) { return x + 1; }, {.name = "inc"});
///     auto add = tessera::delayed([](int a, int b) { return a + b; }, {.name = "add"});
///     tessera::Delayed<int> z = add(inc(1), inc(2)) * 10;   // records 4 tasks, runs none
///     int v = z.compute();                                  // 50
///
/// A Delayed is a cheap handle on an immutable node of a DAG of recorded calls (see
/// delayed_function.hpp for how calls and their tokens are recorded). `compute()` lowers the DAG to
/// a TaskGraph — one task per distinct token, so equal pure calls run once — and runs it on a
/// Scheduler. Under a distributed scheduler compute() and persist() are collective: every rank
/// records the same calls in the same order and computes the same Delayed values, and every
/// rank gets the result.
///
/// `delayed(f)` (wrapping a callable) is in delayed_function.hpp, which this header includes.

#include <cstddef>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tessera/delayed/detail/delayed_node.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/task_graph.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

/// How compute() and persist() run.
struct DelayedComputeOptions {
  /// nullptr: default_scheduler().
  Scheduler* scheduler = nullptr;
};

/// The TaskGraph that computing some Delayed values runs (for inspection and pictures).
struct LoweredDelayed {
  /// The values lowered: tasks call into their nodes, so the graph keeps them alive.
  std::vector<detail::DelayedNodePtr> roots;
  /// One task per distinct token, in a depth-first post-order from the roots (which is the
  /// tasks' priority order too). Labels are the nodes' keys ("inc-3fa2c1de"), no coordinates.
  TaskGraph graph;
  /// outputs[r]: the task whose value is roots[r]'s (roots with equal tokens share one).
  std::vector<TaskId> outputs;
};

template <class T>
class Delayed {
  static_assert(std::is_same_v<T, std::decay_t<T>>,
                "Delayed<T> holds a value: T must not be a reference, const or an array type.");

 public:
  using value_type = T;

  /// An empty handle (so that Delayed is regular); using it in a call throws value_error.
  Delayed() = default;
  explicit Delayed(detail::DelayedNodePtr node) noexcept : m_node(std::move(node)) {}

  bool valid() const noexcept { return m_node != nullptr; }
  /// The content (pure) or unique (impure) token; equal on every rank.
  Token token() const noexcept { return m_node ? m_node->token() : Token{0}; }
  /// The task label: "inc-3fa2c1de" (name and short token), as error messages name the task.
  std::string key() const;

  /// Runs the tasks this value needs and returns it (on every rank under a distributed
  /// scheduler: collective). A task that throws makes this throw a task_error naming it.
  T compute(const DelayedComputeOptions& options = {}) const;
  /// Computes the value now and returns a Delayed that holds it (same token and key), so that
  /// later computations reuse it instead of running its tasks again. Collective like
  /// compute(); every rank keeps a copy of the value.
  Delayed persist(const DelayedComputeOptions& options = {}) const;
  /// The task graph compute() would run. Nothing runs.
  LoweredDelayed lower() const;

  /// d[i]: a pure task that indexes the value (`value[i]`, through a const operator[]); `i` is
  /// a plain value or a Delayed. The result is a copy of the element.
  template <class I>
  auto operator[](const I& index) const;

  const detail::DelayedNodePtr& node() const noexcept { return m_node; }

 private:
  detail::DelayedNodePtr m_node;
};

/// A Delayed holding `value` (Dask's delayed(obj)); tokenised by content when T is (see
/// delayed_function.hpp), so equal literals are one task. T must be serialisable.
template <class T>
Delayed<std::decay_t<T>> delayed_value(T&& value, std::string name = "value");

/// Lowers several Delayed values into one TaskGraph (shared intermediates are one task).
template <class... Ts>
requires(sizeof...(Ts) >= 1) LoweredDelayed lower(const Delayed<Ts>&... values);
/// Lowers every element of `values`.
template <class T>
LoweredDelayed lower(const std::vector<Delayed<T>>& values);

/// Computes several Delayed values in one run, sharing their common intermediates; collective
/// under a distributed scheduler.
template <class... Ts>
requires(sizeof...(Ts) >= 1) std::tuple<Ts...> compute(const Delayed<Ts>&... values);
template <class... Ts>
requires(sizeof...(Ts) >= 1) std::tuple<Ts...> compute(const DelayedComputeOptions& options,
                                                       const Delayed<Ts>&... values);
/// Computes every element of `values` in one run.
template <class T>
std::vector<T> compute(const std::vector<Delayed<T>>& values,
                       const DelayedComputeOptions& options = {});

// --- operators --------------------------------------------------------------------------------
// a + b, a - b, a * b, a / b, a % b and -a, where a or b is a Delayed and the other a Delayed
// or a plain value: each records a pure task (named "add", "sub", "mul", "div", "mod", "neg")
// applying the operator to the values.

namespace detail {
struct AddOp {
  static constexpr const char* name = "add";
  template <class A, class B>
  auto operator()(const A& a, const B& b) const -> decltype(a + b) {
    return a + b;
  }
};
struct SubOp {
  static constexpr const char* name = "sub";
  template <class A, class B>
  auto operator()(const A& a, const B& b) const -> decltype(a - b) {
    return a - b;
  }
};
struct MulOp {
  static constexpr const char* name = "mul";
  template <class A, class B>
  auto operator()(const A& a, const B& b) const -> decltype(a * b) {
    return a * b;
  }
};
struct DivOp {
  static constexpr const char* name = "div";
  template <class A, class B>
  auto operator()(const A& a, const B& b) const -> decltype(a / b) {
    return a / b;
  }
};
struct ModOp {
  static constexpr const char* name = "mod";
  template <class A, class B>
  auto operator()(const A& a, const B& b) const -> decltype(a % b) {
    return a % b;
  }
};
struct NegOp {
  static constexpr const char* name = "neg";
  template <class A>
  auto operator()(const A& a) const -> decltype(-a) {
    return -a;
  }
};
struct GetItemOp {
  static constexpr const char* name = "getitem";
  template <class C, class I>
  auto operator()(const C& c, const I& i) const -> std::decay_t<decltype(c[i])> {
    return c[i];
  }
};

/// The shared state of an operator: pure, identified by its name alone (so `a + 1` written
/// twice is one task).
template <class Op>
const std::shared_ptr<const FunctionState<Op>>& op_state() {
  static const auto state = std::make_shared<const FunctionState<Op>>(
      Op{}, Op::name,
      Tokenizer().add(std::string_view("tessera.delayed.op")).add(Op::name).finish(), true);
  return state;
}

/// Operands of a delayed operator: at least one Delayed, no vector of them, and the operator
/// applies to the values.
template <class Op, class... As>
concept DelayedOperands = (IsDelayed<As>::value || ...) &&
                          (!IsDelayedVector<As>::value && ...) && CallTraits<Op, As...>::invocable;

template <class Op, class... As>
auto record_op(const As&... operands) {
  using R = typename CallTraits<Op, As...>::result;
  static_assert(
      Serializable<R>,
      "The result of a delayed operator must be serialisable so that it can cross MPI "
      "ranks; specialise tessera::Serializer<T> for it (see tessera/core/serialize.hpp).");
  if constexpr (Serializable<R>) return record_call<R>(op_state<Op>(), operands...);
}
}  // namespace detail

template <class A, class B>
requires detail::DelayedOperands<detail::AddOp, A, B>
auto operator+(const A& a, const B& b) { return detail::record_op<detail::AddOp>(a, b); }
template <class A, class B>
requires detail::DelayedOperands<detail::SubOp, A, B>
auto operator-(const A& a, const B& b) { return detail::record_op<detail::SubOp>(a, b); }
template <class A, class B>
requires detail::DelayedOperands<detail::MulOp, A, B>
auto operator*(const A& a, const B& b) { return detail::record_op<detail::MulOp>(a, b); }
template <class A, class B>
requires detail::DelayedOperands<detail::DivOp, A, B>
auto operator/(const A& a, const B& b) { return detail::record_op<detail::DivOp>(a, b); }
template <class A, class B>
requires detail::DelayedOperands<detail::ModOp, A, B>
auto operator%(const A& a, const B& b) { return detail::record_op<detail::ModOp>(a, b); }
template <class T>
requires detail::DelayedOperands<detail::NegOp, Delayed<T>>
auto operator-(const Delayed<T>& a) { return detail::record_op<detail::NegOp>(a); }

// --- implementation ---------------------------------------------------------------------------

namespace detail {
/// Lowers `roots` (see LoweredDelayed). Throws value_error for an empty Delayed.
LoweredDelayed lower_nodes(std::vector<DelayedNodePtr> roots);
/// Lowers and runs `roots`; the values in order, on every rank.
std::vector<Value> compute_nodes(std::vector<DelayedNodePtr> roots,
                                 const DelayedComputeOptions& options);
}  // namespace detail

template <class T>
std::string Delayed<T>::key() const {
  return m_node ? detail::node_key(*m_node) : std::string("(empty Delayed)");
}

template <class T>
T Delayed<T>::compute(const DelayedComputeOptions& options) const {
  return detail::compute_nodes({m_node}, options).front().template get<T>();
}

template <class T>
Delayed<T> Delayed<T>::persist(const DelayedComputeOptions& options) const {
  Value v = std::move(detail::compute_nodes({m_node}, options).front());
  return Delayed(
      detail::make_value_node(m_node->token(), std::string(m_node->name()), std::move(v)));
}

template <class T>
LoweredDelayed Delayed<T>::lower() const {
  return detail::lower_nodes({m_node});
}

template <class T>
template <class I>
auto Delayed<T>::operator[](const I& index) const {
  static_assert(detail::CallTraits<detail::GetItemOp, Delayed<T>, I>::invocable,
                "d[i] needs a value type with a const operator[] that accepts the index.");
  return detail::record_op<detail::GetItemOp>(*this, index);
}

template <class T>
Delayed<std::decay_t<T>> delayed_value(T&& value, std::string name) {
  using V = std::decay_t<T>;
  static_assert(
      Serializable<V>,
      "delayed_value(v): values must be serialisable so that they can cross MPI ranks; "
      "specialise tessera::Serializer<T> for this type (see tessera/core/serialize.hpp).");
  detail::ensure_serializer<V>();
  Tokenizer t;
  t.add(std::string_view("tessera.delayed.value")).add(std::string_view(name));
  if constexpr (detail::has_content_token<V>()) {
    detail::add_arg_token(t, static_cast<const V&>(value));
  } else {
    // By its wire form rather than a unique number: the token is the value's identity, so a
    // value that differs between ranks makes their graphs differ (a graph_error, not a blend).
    WireWriter w;
    w.write(static_cast<const V&>(value));
    t.add(content_hash(w.header().data(), w.header().size()));
    for (const auto& s : w.segments()) t.add(content_hash(s.data(), s.size()));
  }
  return Delayed<V>(
      detail::make_value_node(t.finish(), std::move(name), Value::make<V>(std::forward<T>(value))));
}

template <class... Ts>
requires(sizeof...(Ts) >= 1) LoweredDelayed lower(const Delayed<Ts>&... values) {
  return detail::lower_nodes({values.node()...});
}

template <class T>
LoweredDelayed lower(const std::vector<Delayed<T>>& values) {
  std::vector<detail::DelayedNodePtr> roots;
  roots.reserve(values.size());
  for (const auto& v : values) roots.push_back(v.node());
  return detail::lower_nodes(std::move(roots));
}

template <class... Ts>
requires(sizeof...(Ts) >= 1) std::tuple<Ts...> compute(const DelayedComputeOptions& options,
                                                       const Delayed<Ts>&... values) {
  const std::vector<Value> out = detail::compute_nodes({values.node()...}, options);
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<Ts...>{out[I].template get<Ts>()...};
  }
  (std::index_sequence_for<Ts...>{});
}

template <class... Ts>
requires(sizeof...(Ts) >= 1) std::tuple<Ts...> compute(const Delayed<Ts>&... values) {
  return compute(DelayedComputeOptions{}, values...);
}

template <class T>
std::vector<T> compute(const std::vector<Delayed<T>>& values,
                       const DelayedComputeOptions& options) {
  std::vector<detail::DelayedNodePtr> roots;
  roots.reserve(values.size());
  for (const auto& v : values) roots.push_back(v.node());
  const std::vector<Value> out = detail::compute_nodes(std::move(roots), options);
  std::vector<T> result;
  result.reserve(out.size());
  for (const Value& v : out) result.push_back(v.get<T>());
  return result;
}

}  // namespace tessera

// `delayed(f)` builds the calls that make Delayed values; it is part of what this header
// offers (delayed_function.hpp includes this header first, so either order works).
#include "tessera/delayed/delayed_function.hpp"
