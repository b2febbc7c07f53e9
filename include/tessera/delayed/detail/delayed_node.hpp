#pragma once
/// @file
/// The nodes behind `Delayed<T>` (internal: namespace tessera::detail; include
/// tessera/delayed/delayed.hpp or delayed_function.hpp, not this header).
///
/// A delayed call is recorded as one immutable node: its content token, its dependencies (the
/// nodes of its `Delayed` arguments, in argument order) and a "slot" per argument that says
/// how the argument reaches the function when the task runs — the value of dependency k
/// (`DepSlot`), a std::vector built from dependencies k..k+n (`VecSlot`) or a plain value
/// stored in the node (`PlainSlot`). Nodes are shared: a Delayed is a shared pointer to its
/// node, and a node keeps its dependencies alive. How calls get their tokens is described in
/// delayed_function.hpp; add_arg_token and record_call below implement it.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/serialize.hpp"
#include "tessera/core/value.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

template <class T>
class Delayed;

namespace detail {

class DelayedNode;
using DelayedNodePtr = std::shared_ptr<const DelayedNode>;

/// One recorded call (or a known value). Immutable once built, except that its destructor
/// releases long dependency chains iteratively (a chain of 10^6 calls must not overflow the
/// stack through nested shared_ptr destructors).
class DelayedNode {
 public:
  DelayedNode(Token token, std::vector<DelayedNodePtr> deps) noexcept;
  virtual ~DelayedNode();
  DelayedNode(const DelayedNode&) = delete;
  DelayedNode& operator=(const DelayedNode&) = delete;

  Token token() const noexcept { return m_token; }
  std::span<const DelayedNodePtr> deps() const noexcept { return m_deps; }
  /// What the task label starts with ("inc" in "inc-3fa2c1de").
  virtual std::string_view name() const noexcept = 0;
  /// A node that holds its value already (delayed_value, persist()): the value; else empty.
  virtual Value literal() const { return {}; }
  /// Runs the call on its dependencies' values (in deps() order). Called concurrently.
  virtual Value invoke(std::span<const Value> inputs) const = 0;

 private:
  Token m_token;
  // Mutable only so that ~DelayedNode can adopt the dependencies of nodes it is the last owner
  // of; nothing else changes a node once it is shared.
  mutable std::vector<DelayedNodePtr> m_deps;
};

/// A node whose value is known (no function, no dependencies).
DelayedNodePtr make_value_node(Token token, std::string name, Value value);

/// "inc-3fa2c1de": a node's task label.
std::string node_key(const DelayedNode& node);

/// A fresh wrapper identity number (the per-process creation counter).
std::uint64_t next_wrapper_number() noexcept;

/// value_error: argument `index` of a call to `name` is a default-constructed Delayed.
[[noreturn]] void throw_empty_delayed(std::string_view name, std::size_t index);

/// What every call of one wrapper shares: the callable, its name, identity and call counter.
template <class F>
struct FunctionState {
  FunctionState(F f, std::string n, Token t, bool p)
      : fn(std::move(f)), name(std::move(n)), token(t), pure(p) {}
  const F fn;
  const std::string name;
  const Token token;
  const bool pure;
  mutable std::atomic<std::uint64_t> calls{0};
};

// --- argument kinds ---------------------------------------------------------------------------

template <class A>
struct IsDelayed : std::false_type {};
template <class T>
struct IsDelayed<Delayed<T>> : std::true_type {};

template <class A>
struct IsDelayedVector : std::false_type {};
template <class T, class Alloc>
struct IsDelayedVector<std::vector<Delayed<T>, Alloc>> : std::true_type {};

/// Containers of Delayed that are not std::vector: their elements would be passed as plain
/// Delayed handles, never computed, which is never what the caller meant.
template <class A>
struct IsOtherDelayedRange : std::false_type {};
template <class T, std::size_t N>
struct IsOtherDelayedRange<std::array<Delayed<T>, N>> : std::true_type {};
template <class T, std::size_t N>
struct IsOtherDelayedRange<std::span<Delayed<T>, N>> : std::true_type {};
template <class T, std::size_t N>
struct IsOtherDelayedRange<std::span<const Delayed<T>, N>> : std::true_type {};

/// The value of dependency `index`.
template <class U>
struct DepSlot {
  std::uint32_t index;
  const U& get(std::span<const Value> in) const { return in[index].get<U>(); }
};

/// The values of dependencies begin..begin+count, as a std::vector.
template <class U>
struct VecSlot {
  std::uint32_t begin;
  std::uint32_t count;
  std::vector<U> get(std::span<const Value> in) const {
    std::vector<U> v;
    v.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) v.push_back(in[begin + i].get<U>());
    return v;
  }
};

/// A plain argument, stored in the node.
template <class A>
struct PlainSlot {
  A value;
  const A& get(std::span<const Value>) const { return value; }
};

template <class A>
struct SlotOf {
  using type = PlainSlot<A>;
};
template <class T>
struct SlotOf<Delayed<T>> {
  using type = DepSlot<T>;
};
template <class T, class Alloc>
struct SlotOf<std::vector<Delayed<T>, Alloc>> {
  using type = VecSlot<T>;
};
/// How an argument of (decayed) type A is stored.
template <class A>
using slot_t = typename SlotOf<A>::type;
/// What the function receives for an argument of type A.
template <class A>
using unwrapped_t = decltype(std::declval<const slot_t<A>&>().get(std::span<const Value>{}));

/// Whether F can be called on the unwrapped arguments, and its (decayed) result.
template <class F, class... As>
struct CallTraits {
  static constexpr bool invocable = std::is_invocable_v<const F&, unwrapped_t<As>...>;
  using result = std::decay_t<typename std::conditional_t<
      invocable, std::invoke_result<const F&, unwrapped_t<As>...>, std::type_identity<void>>::type>;
};

// --- argument tokens --------------------------------------------------------------------------

template <class A>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

/// Whether values of A are tokenised by content (see the file comment).
template <class A>
constexpr bool has_content_token() {
  if constexpr (std::is_same_v<A, long double>) {
    return false;  // padding bytes would make equal values hash differently
  } else if constexpr (std::is_arithmetic_v<A> || std::is_enum_v<A>) {
    return true;
  } else if constexpr (std::is_same_v<A, std::string> || std::is_same_v<A, std::string_view> ||
                       std::is_same_v<A, const char*> || std::is_same_v<A, char*>) {
    return true;
  } else if constexpr (IsDelayed<A>::value || IsDelayedVector<A>::value) {
    return true;
  } else if constexpr (IsVector<A>::value) {
    return has_content_token<typename A::value_type>();
  } else {
    return false;
  }
}

template <class A>
void add_arg_token(Tokenizer& t, const A& a) {
  if constexpr (!has_content_token<A>()) {
    t.add(unique_token());
  } else if constexpr (IsDelayed<A>::value) {
    t.add(a.token());
  } else if constexpr (IsDelayedVector<A>::value) {
    t.add(std::string_view("delayed-list")).add(a.size());
    for (const auto& d : a) t.add(d.token());
  } else if constexpr (std::is_arithmetic_v<A> || std::is_enum_v<A>) {
    // The type takes part: f(1) and f(1.0) may well compute different things.
    t.add(std::string_view(typeid(A).name())).add(a);
  } else if constexpr (std::is_pointer_v<A>) {
    t.add(std::string_view("string")).add(std::string_view(a));
  } else if constexpr (std::is_same_v<A, std::string> || std::is_same_v<A, std::string_view>) {
    t.add(std::string_view("string")).add(std::string_view(a));
  } else {
    t.add(std::string_view("vector")).add(a.size());
    for (const auto& x : a) add_arg_token(t, x);
  }
}

// --- calls ------------------------------------------------------------------------------------

/// A recorded call of `State::fn` returning R.
template <class State, class R, class... Slots>
class CallNode final : public DelayedNode {
 public:
  CallNode(Token token, std::shared_ptr<const State> state, std::vector<DelayedNodePtr> deps,
           std::tuple<Slots...> slots)
      : DelayedNode(token, std::move(deps)), m_state(std::move(state)), m_slots(std::move(slots)) {}

  std::string_view name() const noexcept override { return m_state->name; }
  Value invoke(std::span<const Value> in) const override {
    return std::apply(
        [&](const Slots&... s) { return Value::make<R>(std::invoke(m_state->fn, s.get(in)...)); },
        m_slots);
  }

 private:
  std::shared_ptr<const State> m_state;
  std::tuple<Slots...> m_slots;
};

/// Registers R's serializer once per process (it is looked up when a value crosses ranks).
template <Serializable R>
void ensure_serializer() {
  static const bool registered = (register_serializer<R>(), true);
  (void)registered;
}

template <class A>
std::size_t dep_count(const A& a) {
  if constexpr (IsDelayed<A>::value) {
    return 1;
  } else if constexpr (IsDelayedVector<A>::value) {
    return a.size();
  } else {
    return 0;
  }
}

/// Moves argument `a` (number `index`) into its slot, appending its nodes to `deps`.
template <class A, class Arg>
slot_t<A> make_slot(Arg&& a, std::string_view name, std::size_t index,
                    std::vector<DelayedNodePtr>& deps) {
  const auto next = static_cast<std::uint32_t>(deps.size());
  if constexpr (IsDelayed<A>::value) {
    if (!a.node()) throw_empty_delayed(name, index);
    deps.push_back(a.node());
    return {next};
  } else if constexpr (IsDelayedVector<A>::value) {
    for (const auto& d : a) {
      if (!d.node()) throw_empty_delayed(name, index);
      deps.push_back(d.node());
    }
    return {next, static_cast<std::uint32_t>(a.size())};
  } else {
    return {A(std::forward<Arg>(a))};
  }
}

/// The slots of `args`, appending their nodes to `deps` in argument order (braced
/// initialisation evaluates left to right).
template <class... Args, std::size_t... I>
std::tuple<slot_t<std::decay_t<Args>>...> make_slots(
    [[maybe_unused]] std::string_view name, [[maybe_unused]] std::vector<DelayedNodePtr>& deps,
    std::index_sequence<I...>, Args&&... args) {
  return std::tuple<slot_t<std::decay_t<Args>>...>{
      make_slot<std::decay_t<Args>>(std::forward<Args>(args), name, I, deps)...};
}

/// Records a call of `state->fn` on `args` (R is the checked result type).
template <class R, class State, class... Args>
Delayed<R> record_call(const std::shared_ptr<const State>& state, Args&&... args) {
  ensure_serializer<R>();
  Token token;
  if (state->pure) {
    Tokenizer t;
    t.add(state->token);
    (add_arg_token(t, static_cast<const std::decay_t<Args>&>(args)), ...);
    token = t.finish();
  } else {
    token = Tokenizer()
                .add(state->token)
                .add(std::string_view("call"))
                .add(state->calls.fetch_add(1, std::memory_order_relaxed))
                .finish();
  }
  std::vector<DelayedNodePtr> deps;
  deps.reserve((dep_count(args) + ... + std::size_t{0}));
  auto slots = make_slots(state->name, deps, std::index_sequence_for<Args...>{},
                          std::forward<Args>(args)...);
  using Node = CallNode<State, R, slot_t<std::decay_t<Args>>...>;
  return Delayed<R>(std::make_shared<const Node>(token, state, std::move(deps), std::move(slots)));
}

}  // namespace detail
}  // namespace tessera
