#pragma once
/// @file
/// `Future<T>`: the handle Client::submit returns for a task that is already running (or
/// queued, or waiting for its inputs).
///
/// A future is cheap to copy (copies share one state). It can be passed to later submits as an
/// argument, which makes the later task wait for it without blocking a thread. Its task's
/// exception travels with it: result() rethrows it as a task_error naming the task, and every
/// task that depends on a failed future fails with that same error without running.
///
/// Under a DistributedScheduler, result() is collective: every rank calls it, in the same order
/// (see client.hpp for the protocol); done() is local.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "tessera/core/serialize.hpp"
#include "tessera/core/value.hpp"

namespace tessera {

class Client;

namespace detail {

class ClientCore;
struct FutureAccess;

/// What a task returning void holds: a value that can cross ranks and carries nothing.
struct NoValue {};

/// The state of one submission on this rank: the owner rank's result, or, on the other ranks,
/// a placeholder that the client fills in when the value is sent here.
/// Completion happens once (later calls are ignored); continuations registered with on_done
/// run on the completing thread, after waiters have been woken.
class FutureState {
 public:
  /// `key` is the task's name ("inc-3"); `owner` the rank that computes it.
  FutureState(std::int64_t id, std::string key, int owner, int num_ranks);
  FutureState(const FutureState&) = delete;
  FutureState& operator=(const FutureState&) = delete;

  /// The submission number: the same on every rank.
  std::int64_t id() const noexcept { return m_id; }
  const std::string& key() const noexcept { return m_key; }
  int owner() const noexcept { return m_owner; }
  bool done() const noexcept { return m_done.load(std::memory_order_acquire); }

  void complete(Value value);
  void fail(std::exception_ptr error);
  /// Blocks the calling thread until done().
  void wait() const;
  /// The value; rethrows the task's error. Only once done().
  const Value& get() const;
  /// The task's error, or nullptr. Only once done().
  std::exception_ptr error() const noexcept { return m_error; }
  /// Runs `fn` once done(): at once, on the calling thread, when it is done already.
  void on_done(std::function<void()> fn);

  /// Owner side of the distributed protocol: marks `rank` as needing the value. True when it
  /// must be sent there now (done, and not sent before); the caller then sends it.
  bool add_reader(int rank);
  /// The readers the value has not been sent to yet, marked as sent (after completion).
  std::vector<int> take_unsent_readers();

 private:
  void finish(Value value, std::exception_ptr error);

  std::int64_t m_id;
  std::string m_key;
  int m_owner;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_cv;
  std::atomic<bool> m_done{false};
  Value m_value;                                       // written once, before m_done
  std::exception_ptr m_error;                          // written once, before m_done
  std::vector<std::function<void()>> m_continuations;  // guarded by m_mutex
  std::vector<char> m_wanted;                          // per rank; guarded by m_mutex
  std::vector<char> m_sent;                            // per rank; guarded by m_mutex
};

/// Waits for `state` on this rank (collective under a DistributedScheduler: the owner sends the
/// value to every rank) and returns its value, or rethrows its error. Defined in client.cpp.
const Value& await_value(ClientCore& core, const std::shared_ptr<FutureState>& state);

}  // namespace detail

/// A task's future value. `T` is what the task returns (`void` for tasks run for effect).
template <class T>
class Future {
 public:
  using value_type = T;

  /// An empty future (valid() is false); only assignable.
  Future() = default;

  bool valid() const noexcept { return m_state != nullptr; }
  /// Whether the value (or error) is on this rank now. Never blocks, never communicates.
  /// Under MPI a rank other than the owner gets the value only when it needs it (an argument
  /// of a task it runs, or after result/gather/wait/as_completed), so done() may stay false
  /// there for values it never asked for.
  bool done() const noexcept { return m_state->done(); }
  /// Blocks until the task has run and returns a copy of its value, or rethrows its error (a
  /// task_error naming the task and, when distributed, its rank). Collective under a
  /// DistributedScheduler. On a worker thread of the client's pool it runs other jobs while it
  /// waits, but passing the future as an argument of a submit is the better way.
  T result() const;
  /// The task's name: its label and submission number ("inc-3"), the same on every rank.
  const std::string& key() const noexcept { return m_state->key(); }
  /// The rank that computes the task (0 in one process).
  int owner() const noexcept { return m_state->owner(); }

 private:
  friend class Client;
  friend struct detail::FutureAccess;
  Future(std::shared_ptr<detail::ClientCore> core, std::shared_ptr<detail::FutureState> state)
      : m_core(std::move(core)), m_state(std::move(state)) {}

  std::shared_ptr<detail::ClientCore> m_core;
  std::shared_ptr<detail::FutureState> m_state;
};

/// NoValue crosses ranks as an empty message body (void tasks under MPI).
template <>
struct Serializer<detail::NoValue> {
  static std::string name() { return "tessera.NoValue"; }
  static void write(const detail::NoValue&, WireWriter&) {}
  static detail::NoValue read(WireReader&) { return {}; }
};

// --- implementation ---------------------------------------------------------------------------

namespace detail {
/// The Client's door into futures (their members stay private to users).
struct FutureAccess {
  template <class T>
  static const std::shared_ptr<FutureState>& state(const Future<T>& f) {
    return f.m_state;
  }
  template <class T>
  static const std::shared_ptr<ClientCore>& core(const Future<T>& f) {
    return f.m_core;
  }
};
}  // namespace detail

template <class T>
T Future<T>::result() const {
  const Value& v = detail::await_value(*m_core, m_state);
  if constexpr (std::is_void_v<T>) {
    (void)v;
  } else {
    return v.get<T>();
  }
}

}  // namespace tessera
