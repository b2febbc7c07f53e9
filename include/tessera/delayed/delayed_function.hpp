#pragma once
/// @file
/// `delayed(f)`: wraps a callable so that calling it records a task instead of running it.
///
///     std::atomic<int> calls = 0;
///     auto inc = tessera::delayed([&](int x) { ++calls; return x + 1; },
///                                 {.name = "inc", .pure = true});
///     auto total = tessera::delayed([](const std::vector<int>& v) { ... }, {.name = "total"});
///     std::vector<tessera::Delayed<int>> parts;
///     for (int i = 0; i < 4; ++i) parts.push_back(inc(1));   // pure: four handles, one task
///     int t = total(parts).compute();                        // 8, and calls == 1
///
/// Arguments are plain values (copied into the task), `Delayed<U>` (the task depends on it and
/// receives a `const U&`) or `std::vector<Delayed<U>>` (the task depends on every element and
/// receives a `std::vector<U>`). The callable is invoked as const and may run on any worker
/// thread, concurrently with other tasks.
///
/// Results cross ranks under the distributed scheduler, so the result type must have a
/// `tessera::Serializer`; calling a wrapper registers it (once per type and process).
///
/// Tokens: a call's token is its task's identity (equal tokens are one task). Every rank of an
/// SPMD program records the same calls in the same order, so tokens made from counters agree
/// across ranks like tokens made from content:
/// - a wrapper's identity is typeid(F).name(), a per-process counter of wrappers, its name
///   and its purity;
/// - a pure call's token is the wrapper's identity plus the arguments' tokens: arithmetic
///   values, enums and strings by content (with their type), std::vector of those
///   element-wise, Delayed by their token; any other argument gets a unique token (so such a
///   call is never merged with another);
/// - an impure call's token is the wrapper's identity plus a per-wrapper call counter.
/// So every rank must create the same wrappers and record the same calls in the same order — as
/// an SPMD program does. Record calls from one thread at a time.

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "tessera/delayed/delayed.hpp"
#include "tessera/delayed/detail/delayed_node.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

struct DelayedOptions {
  /// What task labels start with ("inc" in "inc-3fa2c1de"); "delayed" when empty.
  std::string name = {};
  /// Pure calls (same result for the same arguments, no side effects that matter) are
  /// tokenised by content: identical calls of one wrapper are one task. Impure calls (the
  /// default, as in Dask) are all distinct tasks.
  bool pure = false;
};

template <class F>
class DelayedFunction {
 public:
  explicit DelayedFunction(F fn, DelayedOptions options = {});

  /// Records a call; returns Delayed<R>, R being f's result type (decayed) on the unwrapped
  /// arguments. Throws value_error for an empty Delayed argument.
  template <class... Args>
  auto operator()(Args&&... args) const;

  const std::string& name() const noexcept { return m_state->name; }
  bool pure() const noexcept { return m_state->pure; }
  /// The wrapper's identity (equal on every rank; see Tokens in the file comment).
  Token token() const noexcept { return m_state->token; }

 private:
  std::shared_ptr<const detail::FunctionState<F>> m_state;
};

/// Wraps `f` (function, function pointer, lambda, functor). Copies of the wrapper share its
/// identity.
template <class F>
DelayedFunction<std::decay_t<F>> delayed(F&& f, DelayedOptions options = {});

// --- implementation ---------------------------------------------------------------------------

template <class F>
DelayedFunction<F>::DelayedFunction(F fn, DelayedOptions options) {
  std::string name = options.name.empty() ? std::string("delayed") : std::move(options.name);
  const Token token = Tokenizer()
                          .add(std::string_view("tessera.delayed.function"))
                          .add(std::string_view(typeid(F).name()))
                          .add(detail::next_wrapper_number())
                          .add(std::string_view(name))
                          .add(options.pure)
                          .finish();
  m_state = std::make_shared<const detail::FunctionState<F>>(std::move(fn), std::move(name), token,
                                                             options.pure);
}

template <class F>
template <class... Args>
auto DelayedFunction<F>::operator()(Args&&... args) const {
  static_assert((!detail::IsOtherDelayedRange<std::decay_t<Args>>::value && ...),
                "Pass several Delayed arguments as a std::vector<Delayed<U>> (the function then "
                "receives a std::vector<U>); other containers of Delayed are not unwrapped.");
  using Call = detail::CallTraits<F, std::decay_t<Args>...>;
  static_assert(Call::invocable,
                "The delayed function cannot be called with these arguments: it receives a "
                "Delayed<U> as const U&, a std::vector<Delayed<U>> as std::vector<U> and plain "
                "values as const references, and it is called as const (no mutable lambdas).");
  if constexpr (Call::invocable) {
    using R = typename Call::result;
    static_assert(!std::is_void_v<R>, "A delayed function must return a value.");
    static_assert(std::is_void_v<R> || Serializable<R>,
                  "The result type of a delayed function must be serialisable so that it can "
                  "cross MPI ranks; specialise tessera::Serializer<T> for it (see "
                  "tessera/core/serialize.hpp) or return a type that has one.");
    if constexpr (!std::is_void_v<R> && Serializable<R>) {
      return detail::record_call<R>(m_state, std::forward<Args>(args)...);
    }
  }
}

template <class F>
DelayedFunction<std::decay_t<F>> delayed(F&& f, DelayedOptions options) {
  return DelayedFunction<std::decay_t<F>>(std::forward<F>(f), std::move(options));
}

}  // namespace tessera
