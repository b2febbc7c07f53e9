#pragma once
/// @file
/// Raw task graphs written by hand: Dask's "graph as a dict of key -> task".
///
///     RawGraph g{
///         {"load-1", task(load, "file1.csv")},                 // a literal argument
///         {"clean-1", task(clean, Key("load-1"))},             // a reference to a key
///         {"analyze", task(analyze, KeyList{"clean-1", "clean-2"})},  // f gets a std::vector
///         {"store", task(store, Key("analyze"))},
///         {"threshold", value(0.5)},                           // a plain value
///     };
///     std::int64_t n = get<std::int64_t>(g, "store", scheduler);
///
/// Unlike Dask, a string argument is always a literal: references are written `Key(...)`,
/// lists of references `KeyList{...}`, so a file name can never be mistaken for a key.
///
/// `task(f, args...)` records f's parameter types. When a graph is lowered (by `get` or
/// `lower`), every reference is checked against the parameter it feeds, using the result type
/// of the entry it names: a mismatch is a dtype_error naming the task's key, the argument
/// position and both types, raised before anything runs and identically on every rank (it
/// depends on the graph alone). Cycles and missing keys are graph_errors naming the keys.
///
/// Results may cross MPI ranks under a DistributedScheduler, so a task's result type must have
/// a `Serializer` (a static_assert says so otherwise); it is registered when the task is made,
/// which happens on every rank because every rank builds the same graph.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/serialize.hpp"
#include "tessera/core/type_name.hpp"
#include "tessera/core/value.hpp"
#include "tessera/delayed/key.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/task_graph.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

/// Several keys as one argument: the callable's parameter is a std::vector<T> that receives
/// their values in this order.
class KeyList {
 public:
  KeyList(std::initializer_list<Key> keys) : m_keys(keys) {}
  explicit KeyList(std::vector<Key> keys) : m_keys(std::move(keys)) {}
  const std::vector<Key>& keys() const noexcept { return m_keys; }

 private:
  std::vector<Key> m_keys;
};

namespace detail {
/// The call a raw task makes: its dependencies' values in RawTask::dependencies() order, and
/// the task's own key for error messages.
using RawCall = std::function<Value(std::span<const Value> inputs, std::string_view key)>;
struct RawGraphAccess;

/// What one dependency entry of a raw task must yield.
struct RawArgCheck {
  int position;                    ///< the callable's parameter it feeds (0-based)
  int list_index;                  ///< its place in a KeyList argument; -1 for a single Key
  const std::type_info* expected;  ///< the type the parameter reads; nullptr: any (a Value)
};
}  // namespace detail

/// One entry of a RawGraph: a task (a callable with its arguments) or a plain value. Made by
/// task() or value(); cheap to copy (the callable and literals are shared).
class RawTask {
 public:
  /// A plain value entry (what value() makes).
  bool is_value() const noexcept { return m_call == nullptr; }
  /// The keys this entry reads, in argument order; a KeyList contributes each of its keys.
  std::span<const Key> dependencies() const noexcept { return m_deps; }
  /// The type of the entry's value; nullptr when a task returns a type-erased Value.
  const std::type_info* result_type() const noexcept { return m_result; }
  /// The plain value (empty for a task).
  const Value& literal() const noexcept { return m_literal; }
  /// A hash of the entry's data: the plain value, or a task's literal arguments (those with a
  /// Serializer; 0 when there are none). Part of the lowered graph's fingerprint, so ranks
  /// whose literals differ get a graph_error from a distributed run, not a blend.
  std::uint64_t content_token() const noexcept { return m_content; }
  /// Python-like form: `task('load-1', "file.csv", ['a', 'b'])`, or the value.
  std::string to_string() const;

 private:
  template <class F, class... Args>
  friend RawTask task(F&& f, Args&&... args);
  template <class T>
  friend RawTask value(T v);
  friend struct detail::RawGraphAccess;

  RawTask() = default;

  std::shared_ptr<const detail::RawCall> m_call;
  Value m_literal;
  const std::type_info* m_result = nullptr;
  std::vector<Key> m_deps;
  std::vector<detail::RawArgCheck> m_checks;  // one per dependency entry
  std::vector<std::string> m_arg_repr;        // one per argument, for to_string()
  std::uint64_t m_content = 0;
};

/// A task entry: `f(args...)`, where each argument is a literal (converted to f's parameter
/// type now), a `Key` (the parameter gets that key's value) or a `KeyList` (the parameter,
/// a std::vector<T>, gets the keys' values). f must have one non-template call operator (a
/// function, function pointer or non-generic, non-mutable lambda): its parameter types are
/// what the arguments are checked against. Parameters may be `T`, `const T&` or `Value`
/// (any type, unchecked). f may run on any worker thread of any rank, concurrently with other
/// tasks.
template <class F, class... Args>
RawTask task(F&& f, Args&&... args);

/// A plain value entry (Dask's `{"x": 1}`). Its type is registered for transfer between ranks
/// when it has a Serializer (every rank holds a plain value, so it need not have one).
template <class T>
RawTask value(T v);

/// Keys mapped to entries. Building it runs nothing; `get` runs the part the requested keys
/// need. Insertion order is kept (for to_string); keys are unique.
class RawGraph {
 public:
  RawGraph() = default;
  RawGraph(std::initializer_list<std::pair<Key, RawTask>> entries);

  /// Adds `key`, or replaces its entry.
  void set(Key key, RawTask entry);
  bool contains(const Key& key) const { return m_index.contains(key); }
  /// The entry of `key`; graph_error naming it when there is none.
  const RawTask& at(const Key& key) const;
  std::size_t size() const noexcept { return m_entries.size(); }
  /// The keys in insertion order.
  std::vector<Key> keys() const;
  /// Dask's dict repr, one entry per line: `{'load-1': task("file1.csv"), ...}`.
  std::string to_string() const;

 private:
  friend struct detail::RawGraphAccess;
  std::vector<std::pair<Key, RawTask>> m_entries;
  std::unordered_map<Key, std::size_t> m_index;
};

/// A raw graph lowered to the TaskGraph a Scheduler runs (what `get` runs; what `visualize`
/// draws). Task names are the keys: `graph.name(id) == keys[id].to_string()`.
struct LoweredRawGraph {
  TaskGraph graph;
  /// The task of each requested key, in request order (a key requested twice appears twice).
  std::vector<TaskId> outputs;
  /// The key of each task, by task id.
  std::vector<Key> keys;
};

/// Lowers the entries that `keys` need (and no others: unrequested keys get no task), with
/// every dependency before its consumers and depth-first priorities. Throws graph_error for a
/// requested or referenced key that is not in the graph (naming it and the key that refers to
/// it) and for a cycle (naming the keys on it), and dtype_error for a reference whose value
/// type does not match its parameter. Local and deterministic: every rank gets the same
/// TaskGraph, or the same error.
LoweredRawGraph lower(const RawGraph& graph, const std::vector<Key>& keys);

/// Runs what `keys` need on `scheduler` and returns their values in order. Collective when
/// the scheduler is distributed (every rank calls it with the same graph; every rank gets
/// every value). A task that throws reaches the caller as a task_error naming its key.
std::vector<Value> get(const RawGraph& graph, const std::vector<Key>& keys,
                       Scheduler& scheduler = default_scheduler());
Value get(const RawGraph& graph, const Key& key, Scheduler& scheduler = default_scheduler());
/// The value of `key` as a T; dtype_error naming the key and both types when it is not one.
template <class T>
T get(const RawGraph& graph, const Key& key, Scheduler& scheduler = default_scheduler());

/// One task of a TaskGraph, by name: how any chunk-level graph (a raw graph's, an Array's
/// `lower().graph`) can be looked at as keys and dependencies.
struct TaskListing {
  TaskId id;
  std::string name;                       ///< "'load-1'", "('sum-3fa2c1de', 0)"
  std::vector<std::string> dependencies;  ///< the names of its inputs, in order
  bool is_value;                          ///< a literal (or a chunk held already), not a call
};

/// Every task of `graph` in id order (dependencies come first).
std::vector<TaskListing> list_tasks(const TaskGraph& graph);
/// Dask's dict repr of a listing: "{'a': value,\n 'b': task('a')}".
std::string to_string(std::span<const TaskListing> tasks);

// --- implementation ---------------------------------------------------------------------------

namespace detail {

/// Lets the .cpp reach RawTask's and RawGraph's insides without making them public.
struct RawGraphAccess {
  static const std::shared_ptr<const RawCall>& call(const RawTask& t) { return t.m_call; }
  static std::span<const RawArgCheck> checks(const RawTask& t) { return t.m_checks; }
  static std::span<const std::pair<Key, RawTask>> entries(const RawGraph& g) { return g.m_entries; }
  static const std::unordered_map<Key, std::size_t>& index(const RawGraph& g) { return g.m_index; }
};

/// dtype_error: argument `position` (`list_index` in its list, -1 for none) of task `key` holds
/// a `held`, but the callable's parameter takes a `wanted`.
[[noreturn]] void throw_raw_argument(std::string_view key, int position, int list_index,
                                     const std::type_info* held, const std::type_info& wanted);
/// dtype_error: get<T>() of `key`, which holds a `held`.
[[noreturn]] void throw_raw_result(const Key& key, const std::type_info* held,
                                   const std::type_info& wanted);
std::string raw_repr_int(std::int64_t v);
std::string raw_repr_uint(std::uint64_t v);
std::string raw_repr_float(double v);
std::string raw_repr_string(std::string_view v);

/// How a literal prints in RawGraph::to_string.
template <class T>
std::string raw_literal_repr(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    return raw_repr_float(static_cast<double>(v));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return raw_repr_int(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<T>) {
    return raw_repr_uint(static_cast<std::uint64_t>(v));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return raw_repr_string(std::string_view(v));
  } else {
    return "<" + readable_type_name(typeid(T)) + ">";
  }
}

/// f's result and parameter types, for callables with one non-template call operator.
template <class F>
struct RawCallableTraits {
  static constexpr bool known = false;
};
template <class R, class... P>
struct RawCallableTraits<R (*)(P...)> {
  static constexpr bool known = true;
  static constexpr bool const_call = true;
  using Result = R;
  using Params = std::tuple<P...>;
};
template <class R, class... P>
struct RawCallableTraits<R (*)(P...) noexcept> : RawCallableTraits<R (*)(P...)> {};
template <class R, class... P>
struct RawCallableTraits<R(P...)> : RawCallableTraits<R (*)(P...)> {};
template <class R, class... P>
struct RawCallableTraits<R(P...) noexcept> : RawCallableTraits<R (*)(P...)> {};
template <class C, class R, class... P>
struct RawCallableTraits<R (C::*)(P...) const> : RawCallableTraits<R (*)(P...)> {};
template <class C, class R, class... P>
struct RawCallableTraits<R (C::*)(P...) const noexcept> : RawCallableTraits<R (*)(P...)> {};
template <class C, class R, class... P>
struct RawCallableTraits<R (C::*)(P...)> : RawCallableTraits<R (*)(P...)> {
  static constexpr bool const_call = false;
};
template <class C, class R, class... P>
struct RawCallableTraits<R (C::*)(P...) noexcept> : RawCallableTraits<R (C::*)(P...)> {};

template <class F>
requires requires { &F::operator(); }
struct RawCallableTraits<F> : RawCallableTraits<decltype(&F::operator())> {};

template <class T>
struct RawIsVector : std::false_type {};
template <class E, class A>
struct RawIsVector<std::vector<E, A>> : std::true_type {
  using Element = E;
};

template <class A>
constexpr bool is_raw_key_arg = std::is_same_v<std::remove_cvref_t<A>, Key>;
template <class A>
constexpr bool is_raw_list_arg = std::is_same_v<std::remove_cvref_t<A>, KeyList> ||
                                 std::is_same_v<std::remove_cvref_t<A>, std::vector<Key>>;

/// An argument as the call stores it: a literal already converted to the parameter's type, or
/// where its value(s) sit in the inputs.
template <class T>
struct RawLiteralSlot {
  T value;
};

/// content_hash of a serialisable value's wire form (0 for a type without a Serializer:
/// such a literal cannot be compared across ranks).
template <class T>
std::uint64_t raw_content_token(const T& v) {
  if constexpr (Serializable<T>) {
    WireWriter w;
    w.write(v);
    Tokenizer t;
    t.add(content_hash(w.header().data(), w.header().size()));
    for (const auto& s : w.segments()) t.add(content_hash(s.data(), s.size()));
    return t.finish();
  } else {
    return 0;
  }
}
template <class T>
void raw_slot_content(Tokenizer& t, const RawLiteralSlot<T>& s) {
  t.add(raw_content_token(s.value));
}
template <class S>
void raw_slot_content(Tokenizer&, const S&) {}  // keys and key lists: no data of their own
struct RawKeySlot {
  std::size_t input;
};
struct RawListSlot {
  std::size_t first;
  std::size_t count;
};

/// The value of one input as a `T`, checked (lowering checked it already; this guards graphs
/// whose producers return a type-erased Value).
template <class T>
const T& raw_input_as(const Value& v, std::string_view key, int position, int list_index) {
  if constexpr (std::is_same_v<T, Value>) {
    return v;
  } else {
    if (!v.holds<T>()) throw_raw_argument(key, position, list_index, v.type(), typeid(T));
    return v.get<T>();
  }
}

/// What parameter P of a call receives from its slot. Rvalue-reference parameters get a copy
/// (values are shared and immutable); other parameters bind to the stored value.
template <class P, class T>
decltype(auto) raw_fetch(const RawLiteralSlot<T>& s, std::span<const Value>, std::string_view,
                         int) {
  if constexpr (std::is_rvalue_reference_v<P>) {
    return T(s.value);
  } else {
    return (s.value);
  }
}
template <class P>
decltype(auto) raw_fetch(const RawKeySlot& s, std::span<const Value> in, std::string_view key,
                         int position) {
  using T = std::remove_cvref_t<P>;
  const T& v = raw_input_as<T>(in[s.input], key, position, -1);
  if constexpr (std::is_rvalue_reference_v<P>) {
    return T(v);
  } else {
    return v;
  }
}
template <class P>
std::remove_cvref_t<P> raw_fetch(const RawListSlot& s, std::span<const Value> in,
                                 std::string_view key, int position) {
  using V = std::remove_cvref_t<P>;
  using E = typename RawIsVector<V>::Element;
  V out;
  out.reserve(s.count);
  for (std::size_t k = 0; k < s.count; ++k) {
    out.push_back(raw_input_as<E>(in[s.first + k], key, position, static_cast<int>(k)));
  }
  return out;
}

/// Registers T for transfer once per process (every rank makes the same tasks).
template <class T>
void raw_register_once() {
  if constexpr (Serializable<T>) {
    static const bool registered = (register_serializer<T>(), true);
    (void)registered;
  }
}

template <class P, class A>
auto raw_slot(A&& arg, std::vector<Key>& deps, std::vector<RawArgCheck>& checks,
              std::vector<std::string>& repr, int position) {
  using T = std::remove_cvref_t<P>;
  static_assert(!(std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>),
                "task(f, args...): f takes a parameter by non-const reference, but task values "
                "are shared and immutable; take it by value or by const reference");
  if constexpr (is_raw_key_arg<A>) {
    const std::type_info* expected = std::is_same_v<T, Value> ? nullptr : &typeid(T);
    checks.push_back({position, -1, expected});
    repr.push_back(arg.to_string());
    deps.push_back(std::forward<A>(arg));
    return RawKeySlot{deps.size() - 1};
  } else if constexpr (is_raw_list_arg<A>) {
    static_assert(RawIsVector<T>::value,
                  "task(f, args...): a KeyList argument needs a std::vector<T> parameter, "
                  "which receives the values of its keys");
    if constexpr (RawIsVector<T>::value) {  // else: only the static_assert above is reported
      using E = typename RawIsVector<T>::Element;
      const std::vector<Key>* keys;
      if constexpr (std::is_same_v<std::remove_cvref_t<A>, KeyList>) {
        keys = &arg.keys();
      } else {
        keys = &arg;
      }
      const RawListSlot slot{deps.size(), keys->size()};
      std::string r = "[";
      for (std::size_t k = 0; k < keys->size(); ++k) {
        const Key& key = (*keys)[k];
        checks.push_back(
            {position, static_cast<int>(k), std::is_same_v<E, Value> ? nullptr : &typeid(E)});
        if (k > 0) r += ", ";
        r += key.to_string();
        deps.push_back(key);
      }
      repr.push_back(r + "]");
      return slot;
    } else {
      return RawListSlot{0, 0};
    }
  } else {
    static_assert(std::is_convertible_v<A&&, T>,
                  "task(f, args...): a literal argument cannot be converted to the type of f's "
                  "parameter in the same position (pass Key(...) to refer to another key)");
    if constexpr (std::is_convertible_v<A&&, T>) {
      RawLiteralSlot<T> slot{T(std::forward<A>(arg))};
      repr.push_back(raw_literal_repr(slot.value));
      return slot;
    } else {
      return RawKeySlot{0};  // only the static_assert above is reported
    }
  }
}

template <class Params, class F, class Slots, std::size_t... I>
Value raw_call_with(const F& f, const Slots& slots, std::span<const Value> in, std::string_view key,
                    std::index_sequence<I...>) {
  using R = typename RawCallableTraits<F>::Result;
  if constexpr (std::is_same_v<std::remove_cvref_t<R>, Value>) {
    return std::invoke(f, raw_fetch<std::tuple_element_t<I, Params>>(std::get<I>(slots), in, key,
                                                                     static_cast<int>(I))...);
  } else {
    return Value::make<std::remove_cvref_t<R>>(
        std::invoke(f, raw_fetch<std::tuple_element_t<I, Params>>(std::get<I>(slots), in, key,
                                                                  static_cast<int>(I))...));
  }
}

}  // namespace detail

template <class F, class... Args>
RawTask task(F&& f, Args&&... args) {
  using Fn = std::decay_t<F>;
  using Traits = detail::RawCallableTraits<Fn>;
  static_assert(Traits::known,
                "task(f, args...) needs f's parameter types: pass a function, a function pointer "
                "or a lambda with one non-generic call operator (not a generic lambda, a "
                "std::function or an overload set)");
  if constexpr (Traits::known) {
    using Params = typename Traits::Params;
    using R = std::remove_cvref_t<typename Traits::Result>;
    static_assert(Traits::const_call,
                  "task(f, args...): f's call operator must be const (no mutable lambdas): a "
                  "task may run on any thread, concurrently with others");
    static_assert(std::tuple_size_v<Params> == sizeof...(Args),
                  "task(f, args...) takes one argument per parameter of f");
    static_assert(!std::is_void_v<R>,
                  "task(f, args...): f returns nothing; a raw task's value is its result, so f "
                  "must return one (a status, a count, the stored path)");
    static_assert(std::is_void_v<R> || std::is_same_v<R, Value> || Serializable<R>,
                  "task(f, args...): the result type of f has no tessera::Serializer, but task "
                  "results may cross MPI ranks; specialise Serializer<T> (see "
                  "tessera/core/serialize.hpp) or return a serialisable type");
    if constexpr (std::tuple_size_v<Params> == sizeof...(Args) && !std::is_void_v<R>) {
      detail::raw_register_once<R>();
      RawTask t;
      t.m_result = std::is_same_v<R, Value> ? nullptr : &typeid(R);
      // Slots are built left to right (braced initialisation), so dependency entries are in
      // argument order.
      auto slots = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::tuple{detail::raw_slot<std::tuple_element_t<I, Params>>(
            std::forward<Args>(args), t.m_deps, t.m_checks, t.m_arg_repr, static_cast<int>(I))...};
      }
      (std::index_sequence_for<Args...>{});
      t.m_content = [&]<std::size_t... I>(std::index_sequence<I...>) {
        Tokenizer c;
        (detail::raw_slot_content(c, std::get<I>(slots)), ...);
        return c.finish();
      }
      (std::index_sequence_for<Args...>{});
      t.m_call = std::make_shared<const detail::RawCall>(
          [fn = Fn(std::forward<F>(f)), slots = std::move(slots)](std::span<const Value> in,
                                                                  std::string_view key) {
            return detail::raw_call_with<Params>(fn, slots, in, key,
                                                 std::index_sequence_for<Args...>{});
          });
      return t;
    }
  }
  return RawTask{};
}

template <class T>
RawTask value(T v) {
  // A string literal is stored as a std::string, not as a pointer into the program.
  using U = std::conditional_t<std::is_same_v<std::decay_t<T>, const char*> ||
                                   std::is_same_v<std::decay_t<T>, char*>,
                               std::string, std::decay_t<T>>;
  detail::raw_register_once<U>();
  RawTask t;
  t.m_result = &typeid(U);
  U stored(std::move(v));
  t.m_arg_repr.push_back(detail::raw_literal_repr(stored));
  t.m_content = detail::raw_content_token(stored);
  t.m_literal = Value::make<U>(std::move(stored));
  return t;
}

template <class T>
T get(const RawGraph& graph, const Key& key, Scheduler& scheduler) {
  const Value v = get(graph, key, scheduler);
  if (!v.holds<T>()) detail::throw_raw_result(key, v.type(), typeid(T));
  return v.get<T>();
}

}  // namespace tessera
