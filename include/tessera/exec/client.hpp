#pragma once
/// @file
/// `Client`: Dask's futures interface over a Tessera scheduler. `submit(f, args...)` starts
/// `f(args...)` at once and returns a Future; futures can be arguments of later submits.
///
///     Client client;                                   // on default_scheduler()
///     Future<int> a = client.submit(inc, 10);
///     Future<int> b = client.submit(inc, 20);
///     Future<int> c = client.submit(add, a, b);        // runs when a and b have
///     int total = c.result();                          // 32
///
/// **One process.** Under a ThreadedScheduler a submitted task is queued on the scheduler's pool
/// at once; a task whose Future arguments are not ready is started by the completion of its
/// last one (dependency counting: no thread ever blocks waiting for an input). Under a
/// SynchronousScheduler (or any other single-process scheduler) submit runs the task on the
/// calling thread before it returns. Every member may be called from any thread.
///
/// **Across MPI ranks** (DistributedScheduler; SPMD). Every rank makes the same calls, in the
/// same order, so submission k has the same number and key everywhere. Task k runs on one rank,
/// its owner: the rank that owns most of its Future arguments (ties: the lowest; chains stay
/// where their data is), else the tasks without Future arguments are dealt round-robin. The
/// owner starts it at once on its pool, the other ranks only record a placeholder. Values move
/// by the push rule: since every rank sees every submit, the owner of a value knows which ranks
/// need it (those whose tasks take it as an argument, and every rank once
/// result/gather/wait/as_completed asked for it), and hands it to the scheduler's message
/// engine as soon as it is ready (workers never call MPI). The engine is driven by the
/// program's thread inside the collective calls below and, when MPI provides
/// MPI_THREAD_MULTIPLE, by a background progress thread while a client lives: a task whose
/// argument lives on another rank then starts as soon as that value has arrived, with no
/// collective call in between. With only MPI_THREAD_SERIALIZED values move while the
/// program's thread is inside Tessera. Errors travel the same way, so a failed task's
/// task_error ("task 'div-7' failed on rank 1: ...") reaches result() on every rank.
///
/// Collective under a DistributedScheduler (every rank calls them, in the same order): the
/// constructor and destructor, submit and map, Future::result, gather, wait and as_completed
/// (whose order every rank agrees on: rank 0 decides it). Future::done is local. The
/// collective calls check that every rank submitted the same tasks with the same arguments
/// (serialisable arguments by value, others by type): otherwise they throw a graph_error
/// naming the ranks that differ, on every rank, and the client stays in error. Values that
/// cross ranks must have a tessera::Serializer (core/serialize.hpp); submit registers it, and
/// throws a value_error naming the type when there is none and there is more than one rank.

#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/serialize.hpp"
#include "tessera/core/value.hpp"
#include "tessera/exec/future.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

/// Names the tasks of one submit or map call: `client.submit(TaskName{"inc"}, inc, 1)` gives
/// the key "inc-<k>" (default label: "submit", or "map" for map).
struct TaskName {
  std::string label;
};

template <class T>
class AsCompleted;

namespace detail {

/// Indices of futures in the order they completed (as_completed). Thread-safe.
class CompletionQueue {
 public:
  void push(std::size_t index);
  /// The next index; blocks until there is one.
  std::size_t pop();
  /// The next index into `index`, if there is one now.
  bool try_pop(std::size_t& index);

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::size_t> m_ready;
};

class ClientCore;  // src/exec/client.cpp: numbering, placement, dependency counting, messages

/// The doors from Client's templates into ClientCore.
/// Numbers a submission, places it and, on its owner, starts `body` once `deps` are done.
/// `result_type` names the result type, for the error when it is not `serializable`;
/// `arguments` is a token of the plain arguments (the agreement check across ranks).
std::shared_ptr<FutureState> client_launch(ClientCore& core, const std::string& label,
                                           std::vector<std::shared_ptr<FutureState>> deps,
                                           std::function<Value()> body, bool serializable,
                                           const std::type_info& result_type,
                                           std::uint64_t arguments);
/// Checks that every rank submitted the same tasks so far (collective; graph_error naming the
/// ranks otherwise), then asks the owners to send the values to every rank.
void client_want_everywhere(ClientCore& core, std::span<const std::shared_ptr<FutureState>> states);
/// Blocks until `state` is done on this rank (running pool jobs when called on a worker,
/// driving the message engine when called by the program's thread).
void client_wait(ClientCore& core, const FutureState& state);
/// A queue that receives the indices of `states` in completion order (the same order on
/// every rank). Collective.
std::shared_ptr<CompletionQueue> client_completion_queue(
    ClientCore& core, std::span<const std::shared_ptr<FutureState>> states);
/// The next index of `queue`; while it waits, the program's thread drives the message engine
/// (without a background progress thread, the order messages arrive only so).
std::size_t client_pop(ClientCore& core, CompletionQueue& queue);
Scheduler& client_scheduler(const ClientCore& core) noexcept;
int client_rank(const ClientCore& core) noexcept;
int client_num_ranks(const ClientCore& core) noexcept;
/// Waits for this rank's tasks and the messages of the client, then detaches it (collective).
void client_close(ClientCore& core);
std::shared_ptr<ClientCore> make_client_core(Scheduler& scheduler);

/// A token of a plain submit argument for the agreement check: the value itself when it can
/// be serialised (so that a rank-dependent argument is caught), else only its type.
template <class A>
void add_argument_token(Tokenizer& t, const A& a) {
  if constexpr (std::is_arithmetic_v<A> || std::is_enum_v<A>) {
    t.add_bytes(&a, sizeof a);
  } else if constexpr (Serializable<A>) {
    WireWriter w;
    w.write(a);
    t.add_bytes(w.header().data(), w.header().size());
    for (const auto& s : w.segments()) t.add_bytes(s.data(), s.size());
  } else {
    t.add(std::string_view(typeid(A).name()));
  }
}

/// How a submit argument reaches the task: plain values as `const A&` (every rank holds them),
/// Future<U> as `const U&`, std::vector<Future<U>> as std::vector<U>.
template <class A>
struct SubmitArg {
  using Passed = const A&;
  static void collect(const A&, const ClientCore*, std::vector<std::shared_ptr<FutureState>>&) {}
  static void token(Tokenizer& t, const A& a) { add_argument_token(t, a); }
  static const A& get(const A& a) { return a; }
};

template <class U>
struct SubmitArg<Future<U>> {
  static_assert(!std::is_void_v<U>,
                "A Future<void> has no value to pass to a task; wait for it instead.");
  using Passed = const U&;
  static void collect(const Future<U>& f, const ClientCore* core,
                      std::vector<std::shared_ptr<FutureState>>& deps);
  static void token(Tokenizer& t, const Future<U>& f) { t.add(FutureAccess::state(f)->id()); }
  static const U& get(const Future<U>& f) {
    return FutureAccess::state(f)->get().template get<U>();
  }
};

template <class U>
struct SubmitArg<std::vector<Future<U>>> {
  using Passed = std::vector<U>;
  static void collect(const std::vector<Future<U>>& fs, const ClientCore* core,
                      std::vector<std::shared_ptr<FutureState>>& deps) {
    for (const Future<U>& f : fs) SubmitArg<Future<U>>::collect(f, core, deps);
  }
  static void token(Tokenizer& t, const std::vector<Future<U>>& fs) {
    t.add(fs.size());
    for (const Future<U>& f : fs) SubmitArg<Future<U>>::token(t, f);
  }
  static std::vector<U> get(const std::vector<Future<U>>& fs) {
    std::vector<U> out;
    out.reserve(fs.size());
    for (const Future<U>& f : fs) out.push_back(SubmitArg<Future<U>>::get(f));
    return out;
  }
};

/// What `f(args...)` returns once futures are replaced by their values.
template <class F, class... Args>
using SubmitResult =
    std::decay_t<std::invoke_result_t<F&, typename SubmitArg<std::decay_t<Args>>::Passed...>>;

}  // namespace detail

class Client {
 public:
  /// A client over `scheduler`, which must outlive it. Collective under a DistributedScheduler.
  explicit Client(Scheduler& scheduler = default_scheduler());
  /// Waits until every task submitted here has finished on this rank (and, distributed, until
  /// every value this rank must send or receive has moved). Collective.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Starts `f(args...)` and returns its future. Arguments are copied; a Future<U> argument is
  /// passed to `f` as `const U&` and a std::vector<Future<U>> as std::vector<U>, once they are
  /// ready. If one of them failed, this task fails with the same error without running.
  /// Exceptions `f` throws go into the future. Collective under a DistributedScheduler.
  template <class F, class... Args>
  requires(!std::same_as<std::decay_t<F>, TaskName>) auto submit(F f, Args... args);
  /// submit with a label for the key ("inc-3") and error messages.
  template <class F, class... Args>
  auto submit(TaskName name, F f, Args... args);

  /// One submit of `f(x)` per element x of `range` (values or futures), in range order.
  template <class F, std::ranges::input_range R>
  requires(!std::same_as<std::decay_t<F>, TaskName>) auto map(F f, R&& range);
  template <class F, std::ranges::input_range R>
  auto map(TaskName name, F f, R&& range);

  /// Every future's value, in order; rethrows the first failed one's error (in order).
  /// Collective.
  template <class T>
  requires(!std::is_void_v<T>) std::vector<T> gather(const std::vector<Future<T>>& futures);
  /// Returns when every future is done on this rank (failed ones too: wait does not throw).
  /// Collective: under MPI their values are then on every rank.
  template <class T>
  void wait(const std::vector<Future<T>>& futures);
  /// The futures, in the order they complete, as a single-pass range whose iteration blocks
  /// until the next one is done. Collective; every rank sees the same order (rank 0's).
  template <class T>
  AsCompleted<T> as_completed(std::vector<Future<T>> futures);

  Scheduler& scheduler() const noexcept { return detail::client_scheduler(*m_core); }
  int rank() const noexcept { return detail::client_rank(*m_core); }
  int num_ranks() const noexcept { return detail::client_num_ranks(*m_core); }

 private:
  std::shared_ptr<detail::ClientCore> m_core;
};

/// A single-pass range of futures in completion order (Client::as_completed). `next()` blocks
/// until the next future is done on this rank; a range-for over it does the same.
template <class T>
class AsCompleted {
 public:
  class Iterator;

  std::size_t size() const noexcept { return m_futures.size(); }
  /// Whether next() has futures left to yield.
  bool has_next() const noexcept { return m_yielded < m_futures.size(); }
  /// The next future to complete. Precondition: has_next().
  Future<T> next();

  Iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend class Client;
  AsCompleted(std::vector<Future<T>> futures, std::shared_ptr<detail::CompletionQueue> queue,
              detail::ClientCore* core)
      : m_futures(std::move(futures)), m_queue(std::move(queue)), m_core(core) {}

  std::vector<Future<T>> m_futures;
  std::shared_ptr<detail::CompletionQueue> m_queue;
  detail::ClientCore* m_core;
  std::size_t m_yielded = 0;
};

template <class T>
class AsCompleted<T>::Iterator {
 public:
  using value_type = Future<T>;
  using difference_type = std::ptrdiff_t;

  Iterator() = default;
  const Future<T>& operator*() const { return *m_current; }
  Iterator& operator++() {
    m_current = m_range->has_next() ? std::optional(m_range->next()) : std::nullopt;
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const Iterator& it, std::default_sentinel_t) {
    return !it.m_current.has_value();
  }

 private:
  friend class AsCompleted<T>;
  explicit Iterator(AsCompleted* range) : m_range(range) { ++*this; }
  AsCompleted* m_range = nullptr;
  std::optional<Future<T>> m_current;
};

// --- implementation ---------------------------------------------------------------------------

namespace detail {

template <class U>
void SubmitArg<Future<U>>::collect(const Future<U>& f, const ClientCore* core,
                                   std::vector<std::shared_ptr<FutureState>>& deps) {
  if (!f.valid()) throw value_error("Client::submit: an argument is an empty Future");
  if (FutureAccess::core(f).get() != core) {
    throw value_error("Client::submit: argument '" + f.key() +
                      "' is a future of another client; futures only connect tasks of the "
                      "client that made them");
  }
  deps.push_back(FutureAccess::state(f));
}

}  // namespace detail

template <class F, class... Args>
requires(!std::same_as<std::decay_t<F>, TaskName>) auto Client::submit(F f, Args... args) {
  return submit(TaskName{"submit"}, std::move(f), std::move(args)...);
}

template <class F, class... Args>
auto Client::submit(TaskName name, F f, Args... args) {
  static_assert(std::is_invocable_v<F&, typename detail::SubmitArg<Args>::Passed...>,
                "Client::submit: the function cannot be called with these arguments (a "
                "Future<U> argument reaches it as a const U&, a std::vector<Future<U>> as a "
                "std::vector<U>).");
  using R = detail::SubmitResult<F, Args...>;
  using Stored = std::conditional_t<std::is_void_v<R>, detail::NoValue, R>;
  constexpr bool serializable = Serializable<Stored>;
  if constexpr (serializable) {
    static const bool registered = (register_serializer<Stored>(), true);
    (void)registered;
  }
  std::vector<std::shared_ptr<detail::FutureState>> deps;
  (detail::SubmitArg<Args>::collect(args, m_core.get(), deps), ...);
  // Across ranks, the arguments join the agreement check (rank-dependent ones are an error).
  std::uint64_t arguments = 0;
  if (num_ranks() > 1) {
    Tokenizer t;
    (detail::SubmitArg<Args>::token(t, args), ...);
    arguments = t.finish();
  }
  // Runs on the owner only, once every dependency is done; the arguments live in the closure.
  std::function<Value()> body = [f = std::move(f),
                                 tuple = std::make_tuple(std::move(args)...)]() mutable {
    return std::apply(
        [&f](const Args&... a) -> Value {
          if constexpr (std::is_void_v<R>) {
            std::invoke(f, detail::SubmitArg<Args>::get(a)...);
            return Value::make(detail::NoValue{});
          } else {
            return Value::make<R>(std::invoke(f, detail::SubmitArg<Args>::get(a)...));
          }
        },
        tuple);
  };
  auto state = detail::client_launch(*m_core, name.label, std::move(deps), std::move(body),
                                     serializable, typeid(Stored), arguments);
  return Future<R>(m_core, std::move(state));
}

template <class F, std::ranges::input_range R>
requires(!std::same_as<std::decay_t<F>, TaskName>) auto Client::map(F f, R&& range) {
  return map(TaskName{"map"}, std::move(f), std::forward<R>(range));
}

template <class F, std::ranges::input_range R>
auto Client::map(TaskName name, F f, R&& range) {
  using Element = std::ranges::range_value_t<R>;
  using Out = detail::SubmitResult<F, Element>;
  std::vector<Future<Out>> out;
  if constexpr (std::ranges::sized_range<R>) out.reserve(std::ranges::size(range));
  for (auto&& x : range) out.push_back(submit(name, f, Element(x)));
  return out;
}

template <class T>
requires(!std::is_void_v<T>) std::vector<T> Client::gather(const std::vector<Future<T>>& futures) {
  wait(futures);
  std::vector<T> out;
  out.reserve(futures.size());
  for (const Future<T>& f : futures) out.push_back(f.result());
  return out;
}

template <class T>
void Client::wait(const std::vector<Future<T>>& futures) {
  std::vector<std::shared_ptr<detail::FutureState>> states;
  states.reserve(futures.size());
  for (const Future<T>& f : futures) states.push_back(detail::FutureAccess::state(f));
  detail::client_want_everywhere(*m_core, states);
  for (const auto& s : states) detail::client_wait(*m_core, *s);
}

template <class T>
AsCompleted<T> Client::as_completed(std::vector<Future<T>> futures) {
  std::vector<std::shared_ptr<detail::FutureState>> states;
  states.reserve(futures.size());
  for (const Future<T>& f : futures) states.push_back(detail::FutureAccess::state(f));
  auto queue = detail::client_completion_queue(*m_core, states);
  return AsCompleted<T>(std::move(futures), std::move(queue), m_core.get());
}

template <class T>
Future<T> AsCompleted<T>::next() {
  const std::size_t i = detail::client_pop(*m_core, *m_queue);
  ++m_yielded;
  // Under MPI, rank 0's order may announce a future before its value has reached this rank.
  detail::client_wait(*m_core, *detail::FutureAccess::state(m_futures[i]));
  return m_futures[i];
}

template <class T>
typename AsCompleted<T>::Iterator AsCompleted<T>::begin() {
  return Iterator(this);
}

}  // namespace tessera
