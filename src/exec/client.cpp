// Client and Future: dependency counting on the scheduler's pool, and the push protocol that
// moves values between ranks (see include/tessera/exec/client.hpp).
//
// Distributed protocol, in short. Every rank runs the same submits, so every rank knows, for
// each submission, its owner and which ranks will read its value ("readers": owners of tasks
// that take it as an argument, and every rank once result/gather/wait/as_completed asked for
// it). The owner marks readers on its FutureState and, when the value is ready, hands one
// message per reader to the scheduler's MessageEngine (channel `futures`, stream = this
// client's number), from whichever thread completed it. A reader keeps the placeholders it
// waits for in a table (`remote`); a message that arrives before the reader has reached the
// submit or the result() call that wants it waits in `early`. as_completed's order comes from
// rank 0, which sends every other rank one ORDER message per future, in the order the futures
// completed there.
//
// No thread of the client calls MPI: the engine is driven by the program's thread inside the
// client's collective calls (result, gather, wait, as_completed, the destructor) and inside
// computes, exactly as a distributed run drives it. So the client needs no communication
// thread of its own and no MPI_THREAD_MULTIPLE. Values a rank needs while its program's thread
// is elsewhere wait in the engine's queues until that thread comes back into Tessera.
//
// Agreement. Every submit adds its label, dependencies and (serialisable) arguments to a
// running fingerprint; the collective calls check with one allreduce that every rank's
// fingerprint is the same before they wait, so ranks that submitted different tasks get a
// graph_error naming them instead of a hang or another rank's value.
//
// Closing waits for this rank's tasks and for the values it waits for, then joins the
// engine's agreement, which completes once no message of the futures channel is in flight
// anywhere.

#include "tessera/exec/client.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <unordered_map>

#include "comm/message_engine.hpp"
#include "core/error_wire.hpp"
#include "exec/trace.hpp"
#include "tessera/core/type_name.hpp"
#include "tessera/exec/thread_pool.hpp"

namespace tessera {

namespace detail {

// --- FutureState ------------------------------------------------------------------------------

FutureState::FutureState(std::int64_t id, std::string key, int owner, int num_ranks)
    : m_id(id),
      m_key(std::move(key)),
      m_owner(owner),
      m_wanted(static_cast<std::size_t>(num_ranks), 0),
      m_sent(static_cast<std::size_t>(num_ranks), 0) {}

void FutureState::complete(Value value) { finish(std::move(value), nullptr); }

void FutureState::fail(std::exception_ptr error) { finish(Value(), std::move(error)); }

void FutureState::finish(Value value, std::exception_ptr error) {
  std::vector<std::function<void()>> continuations;
  {
    std::lock_guard lock(m_mutex);
    if (m_done.load(std::memory_order_relaxed)) return;
    m_value = std::move(value);
    m_error = std::move(error);
    m_done.store(true, std::memory_order_release);
    continuations.swap(m_continuations);
  }
  m_cv.notify_all();
  for (auto& fn : continuations) fn();
}

void FutureState::wait() const {
  if (done()) return;
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [this] { return done(); });
}

const Value& FutureState::get() const {
  if (m_error) std::rethrow_exception(m_error);
  return m_value;
}

void FutureState::on_done(std::function<void()> fn) {
  {
    std::lock_guard lock(m_mutex);
    if (!done()) {
      m_continuations.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

bool FutureState::add_reader(int rank) {
  std::lock_guard lock(m_mutex);
  const auto r = static_cast<std::size_t>(rank);
  m_wanted[r] = 1;
  if (!done() || m_sent[r]) return false;
  m_sent[r] = 1;
  return true;
}

std::vector<int> FutureState::take_unsent_readers() {
  std::lock_guard lock(m_mutex);
  std::vector<int> out;
  for (std::size_t r = 0; r < m_wanted.size(); ++r) {
    if (m_wanted[r] && !m_sent[r]) {
      m_sent[r] = 1;
      out.push_back(static_cast<int>(r));
    }
  }
  return out;
}

// --- CompletionQueue --------------------------------------------------------------------------

void CompletionQueue::push(std::size_t index) {
  {
    std::lock_guard lock(m_mutex);
    m_ready.push_back(index);
  }
  m_cv.notify_all();
}

std::size_t CompletionQueue::pop() {
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [this] { return !m_ready.empty(); });
  const std::size_t i = m_ready.front();
  m_ready.pop_front();
  return i;
}

bool CompletionQueue::try_pop(std::size_t& index) {
  std::lock_guard lock(m_mutex);
  if (m_ready.empty()) return false;
  index = m_ready.front();
  m_ready.pop_front();
  return true;
}

namespace {

enum class Kind : std::uint8_t { value = 0, error = 1, order = 2 };

/// A value or an error that arrived for a placeholder.
struct Arrival {
  Value value;
  std::exception_ptr error;
};

}  // namespace

// --- ClientCore -------------------------------------------------------------------------------

class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  explicit ClientCore(Scheduler& scheduler);
  ~ClientCore();

  void close();
  std::shared_ptr<FutureState> launch(const std::string& label,
                                      std::vector<std::shared_ptr<FutureState>> deps,
                                      std::function<Value()> body, bool serializable,
                                      const std::type_info& result_type, std::uint64_t arguments);
  void want_everywhere(std::span<const std::shared_ptr<FutureState>> states);
  void wait(const FutureState& state);
  /// The next index of an as_completed queue, driving the engine meanwhile (program thread).
  std::size_t pop(CompletionQueue& queue);
  /// Before a call returns to the program: without a background progress thread nobody sends
  /// what is queued until the program's thread comes back into Tessera, and another rank may
  /// wait for it meanwhile (in as_completed, or in a collective call of its own program), so
  /// the program's thread sends it now.
  void flush_on_return() {
    if (m_engine != nullptr && !m_background && on_program_thread()) m_engine->flush();
  }
  std::shared_ptr<CompletionQueue> completion_queue(
      std::span<const std::shared_ptr<FutureState>> states);

  Scheduler* scheduler = nullptr;
  int rank = 0;
  int num_ranks = 1;

 private:
  struct PendingJob {
    std::atomic<std::int64_t> missing;  // dependencies not done yet, plus one for launch itself
    std::vector<std::shared_ptr<FutureState>> deps;
    std::function<Value()> body;
    std::shared_ptr<FutureState> out;
  };
  struct OrderSet {
    std::shared_ptr<CompletionQueue> queue;
    std::size_t remaining;
  };

  void start(const std::shared_ptr<PendingJob>& job);
  void run_job(PendingJob& job);
  void want(const std::shared_ptr<FutureState>& state, int reader);
  void send_state(const std::shared_ptr<FutureState>& state, std::span<const int> readers);
  void on_message(comm::Message&& message);
  void arrive(std::int64_t id, Arrival arrival);
  /// Collective: throws graph_error on every rank when the ranks' submits differ.
  void check_agreement(const char* call);
  /// Drives the engine on the program's thread until `done()`.
  template <class Pred>
  void drive_until(Pred done);
  bool on_program_thread() const;

  ThreadPool* m_pool = nullptr;             // nullptr: run tasks inline, at submit time
  comm::MessageEngine* m_engine = nullptr;  // nullptr: one process
  std::uint32_t m_stream = 0;
  bool m_background = false;  // this client keeps the engine's background progress running
  std::atomic<std::int64_t> m_next_id{0};
  // SPMD state, touched only by the program's thread (submits and collective calls).
  std::int64_t m_next_free = 0;  // tasks without future arguments, dealt round-robin
  std::int64_t m_next_set = 0;   // as_completed sets
  Tokenizer m_fingerprint;
  std::int64_t m_submits = 0;
  std::uint64_t m_checked_at = ~std::uint64_t{0};  // submits at the last agreement check
  std::string m_disagreement;                      // non-empty once the ranks disagreed

  // This rank's tasks not finished yet, and the end of the client.
  std::mutex m_jobs_mutex;
  std::condition_variable m_jobs_cv;
  std::int64_t m_live_jobs = 0;  // guarded by m_jobs_mutex
  bool m_closed = false;         // guarded by m_jobs_mutex

  // Placeholders and what arrived for them (distributed).
  std::mutex m_table_mutex;
  std::unordered_map<std::int64_t, std::shared_ptr<FutureState>> m_remote;  // wanted here
  std::unordered_map<std::int64_t, Arrival> m_early;
  std::unordered_map<std::int64_t, OrderSet> m_order_sets;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> m_early_orders;
  std::size_t m_orders_expected = 0;
  // Rank 0: its completion order and the ORDER messages go out together.
  std::mutex m_order_mutex;
};

ClientCore::ClientCore(Scheduler& s) : scheduler(&s) {
  rank = s.rank();
  num_ranks = s.num_ranks();
  m_pool = s.thread_pool();
  m_engine = s.message_engine();
  if (num_ranks > 1) {
    if (m_engine == nullptr) {
      throw value_error("Client: scheduler '" + std::string(s.name()) +
                        "' spans several ranks but has no message engine");
    }
    // Every rank makes its clients in the same order, so the numbers agree.
    m_stream = m_engine->new_stream();
    m_engine->set_handler(comm::Channel::futures, m_stream,
                          [this](comm::Message&& m) { on_message(std::move(m)); });
    m_background = m_engine->start_background();
  }
}

ClientCore::~ClientCore() {
  try {
    close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera Client on rank %d: closing failed: %s\n", rank, e.what());
  }
}

bool ClientCore::on_program_thread() const {
  return m_pool == nullptr || m_pool->current_worker() == nullptr;
}

template <class Pred>
void ClientCore::drive_until(Pred done) {
  for (int rounds = 0; !done();) {
    const bool did = m_engine->progress();
    rounds = did ? 0 : rounds + 1;
    if (did || rounds < 64) {
      if (!did) std::this_thread::yield();
      continue;
    }
    // Local completions wake us (run_job); messages are polled.
    m_engine->wait(std::chrono::microseconds(50));
  }
}

void ClientCore::close() {
  {
    std::lock_guard lock(m_jobs_mutex);
    if (m_closed) return;
  }
  if (m_engine == nullptr) {
    std::unique_lock lock(m_jobs_mutex);
    m_jobs_cv.wait(lock, [this] { return m_live_jobs == 0; });
    m_closed = true;
    return;
  }
  if (!m_disagreement.empty()) {
    // Values the ranks disagree about may never come: fail what waits for them, so that the
    // tasks depending on them finish (with that error).
    std::vector<std::shared_ptr<FutureState>> waiting;
    {
      std::lock_guard lock(m_table_mutex);
      for (auto& [id, s] : m_remote) waiting.push_back(s);
      m_engine->expect(-static_cast<std::int64_t>(m_remote.size()));
      m_remote.clear();
    }
    const auto e = std::make_exception_ptr(graph_error(m_disagreement));
    for (auto& s : waiting) s->fail(e);
  }
  {
    // However closing ends, the engine must not call into this client any more.
    struct Detach {
      ClientCore& core;
      ~Detach() {
        if (core.m_background) core.m_engine->stop_background();
        core.m_engine->set_handler(comm::Channel::futures, core.m_stream, nullptr);
        std::lock_guard lock(core.m_jobs_mutex);
        core.m_closed = true;
      }
    } detach{*this};
    drive_until([this] {
      std::lock_guard lock(m_jobs_mutex);
      if (m_live_jobs > 0) return false;
      std::lock_guard table(m_table_mutex);
      return m_remote.empty() && m_orders_expected == 0;
    });
    m_engine->set_activity("closing a futures Client");
    m_engine->agree_min(0, comm::Channel::futures);
  }
}

void ClientCore::check_agreement(const char* call) {
  if (m_engine == nullptr) return;
  if (!m_disagreement.empty()) throw graph_error(m_disagreement);
  if (static_cast<std::uint64_t>(m_submits) == m_checked_at) return;
  m_engine->set_activity(fmt::format("Client::{} (after submit #{})", call, m_submits));
  const std::uint64_t mine = Tokenizer(m_fingerprint).add(m_submits).finish();
  if (m_engine->all_equal(mine)) {
    m_checked_at = static_cast<std::uint64_t>(m_submits);
    return;
  }
  const auto prints = m_engine->allgather(mine);
  const auto counts = m_engine->allgather(static_cast<std::uint64_t>(m_submits));
  std::string differ;
  for (int r = 1; r < num_ranks; ++r) {
    const auto k = static_cast<std::size_t>(r);
    if (prints[k] != prints[0]) {
      differ += fmt::format("{}rank {} ({} submits)", differ.empty() ? "" : ", ", r, counts[k]);
    }
  }
  m_disagreement = fmt::format(
      "Client::{}: the ranks submitted different tasks (a different number of submits, or "
      "arguments that differ between ranks; every rank must make the same submits in the same "
      "order): {} differ(s) from rank 0 ({} submits)",
      call, differ, counts[0]);
  throw graph_error(m_disagreement);
}

std::shared_ptr<FutureState> ClientCore::launch(const std::string& label,
                                                std::vector<std::shared_ptr<FutureState>> deps,
                                                std::function<Value()> body, bool serializable,
                                                const std::type_info& result_type,
                                                std::uint64_t arguments) {
  const std::int64_t id = m_next_id.fetch_add(1, std::memory_order_relaxed);
  const std::string key = label + "-" + std::to_string(id);
  if (num_ranks > 1 && !serializable) {
    throw value_error("Client::submit: task '" + key + "' returns " +
                      readable_type_name(result_type) +
                      ", which has no tessera::Serializer, so its value cannot cross ranks; "
                      "specialise tessera::Serializer (tessera/core/serialize.hpp) for it");
  }
  {
    std::lock_guard lock(m_jobs_mutex);
    if (m_closed) throw value_error("Client::submit: the client is closed");
  }
  int owner = 0;
  if (num_ranks > 1) {
    // The agreement check's fingerprint: what was submitted, with what.
    m_fingerprint.add(std::string_view(label)).add(arguments).add(deps.size());
    for (const auto& d : deps) m_fingerprint.add(d->id());
    ++m_submits;
    // Owner of the inputs: the rank that owns most of the future arguments (ties: the
    // lowest); tasks without any are dealt round-robin.
    if (deps.empty()) {
      owner = static_cast<int>(m_next_free++ % num_ranks);
    } else {
      std::vector<int> count(static_cast<std::size_t>(num_ranks), 0);
      for (const auto& d : deps) ++count[static_cast<std::size_t>(d->owner())];
      owner = static_cast<int>(std::max_element(count.begin(), count.end()) - count.begin());
    }
  }
  auto state = std::make_shared<FutureState>(id, key, owner, num_ranks);
  if (num_ranks > 1) {
    for (const auto& d : deps) {
      if (d->owner() != owner) want(d, owner);
    }
    if (owner != rank) return state;  // a placeholder; filled in if this rank wants it
    // Sends the value to the readers known when it completes; later readers: want().
    state->on_done([self = shared_from_this(), state] {
      self->send_state(state, state->take_unsent_readers());
    });
  }
  {
    std::lock_guard lock(m_jobs_mutex);
    ++m_live_jobs;
  }
  auto job = std::make_shared<PendingJob>();
  job->missing.store(static_cast<std::int64_t>(deps.size()) + 1);
  job->body = std::move(body);
  job->out = state;
  job->deps = std::move(deps);
  for (const auto& d : job->deps) {
    d->on_done([self = shared_from_this(), job] {
      if (job->missing.fetch_sub(1, std::memory_order_acq_rel) == 1) self->start(job);
    });
  }
  if (job->missing.fetch_sub(1, std::memory_order_acq_rel) == 1) start(job);
  return state;
}

void ClientCore::start(const std::shared_ptr<PendingJob>& job) {
  if (m_pool) {
    m_pool->submit([self = shared_from_this(), job] { self->run_job(*job); });
  } else {
    run_job(*job);
  }
}

void ClientCore::run_job(PendingJob& job) {
  std::exception_ptr error;
  for (const auto& d : job.deps) {
    if (d->error()) {
      error = d->error();
      break;
    }
  }
  Value value;
  if (!error) {
    const int task_rank = m_engine ? rank : -1;
    const std::string task = "'" + job.out->key() + "'";
    const std::int64_t traced_since = trace::on() ? trace::now() : 0;
    try {
      value = job.body();
    } catch (const std::exception& e) {
      error = std::make_exception_ptr(task_error(task, e.what(), task_rank));
    } catch (...) {
      error = std::make_exception_ptr(task_error(task, "unknown exception", task_rank));
    }
    if (traced_since != 0) {
      std::uint64_t bytes_in = 0;
      for (const auto& d : job.deps) bytes_in += d->get().nbytes();  // none failed
      trace::record_task(job.out->key(), {}, -1, traced_since, bytes_in, value.nbytes(),
                         error != nullptr);
    }
  }
  // The closure holds the arguments and the inputs' states: free them before anyone waits on
  // this task's result.
  job.body = nullptr;
  job.deps.clear();
  if (error) {
    job.out->fail(std::move(error));
  } else {
    job.out->complete(std::move(value));
  }
  job.out.reset();
  {
    std::lock_guard lock(m_jobs_mutex);
    --m_live_jobs;
  }
  m_jobs_cv.notify_all();
  if (m_engine) m_engine->wake();  // the program's thread may be driving, waiting for this
}

void ClientCore::send_state(const std::shared_ptr<FutureState>& state,
                            std::span<const int> readers) {
  std::vector<int> dests;
  for (int r : readers)
    if (r != rank) dests.push_back(r);
  if (dests.empty()) return;
  WireWriter head;
  head.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::value));
  head.put<std::int64_t>(state->id());
  if (!state->error()) {
    try {
      WireValue wire = encode(state->get());
      head.put_bytes(wire.header);
      m_engine->send(comm::Channel::futures, m_stream, dests, head.header(), wire.segments,
                     std::make_shared<const Value>(state->get()));
      return;
    } catch (const std::exception& e) {
      // The readers fail with a readable reason instead of waiting forever.
      head = WireWriter();
      head.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::error));
      head.put<std::int64_t>(state->id());
      write_error(head,
                  std::make_exception_ptr(
                      task_error("'" + state->key() + "'",
                                 std::string("its value cannot cross ranks: ") + e.what(), rank)),
                  rank);
      m_engine->send(comm::Channel::futures, m_stream, dests, head.header());
      return;
    }
  }
  head = WireWriter();
  head.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::error));
  head.put<std::int64_t>(state->id());
  write_error(head, state->error(), rank);
  m_engine->send(comm::Channel::futures, m_stream, dests, head.header());
}

void ClientCore::want(const std::shared_ptr<FutureState>& state, int reader) {
  if (state->owner() == rank) {
    if (state->add_reader(reader)) {
      const int readers[] = {reader};
      send_state(state, readers);
    }
    return;
  }
  if (reader != rank) return;  // between two other ranks
  std::optional<Arrival> arrived;
  {
    std::lock_guard lock(m_table_mutex);
    if (state->done() || m_remote.contains(state->id())) return;
    if (auto it = m_early.find(state->id()); it != m_early.end()) {
      arrived = std::move(it->second);
      m_early.erase(it);
    } else {
      m_remote.emplace(state->id(), state);
      m_engine->expect(1);
    }
  }
  if (arrived) {
    if (arrived->error) {
      state->fail(arrived->error);
    } else {
      state->complete(std::move(arrived->value));
    }
  }
}

void ClientCore::want_everywhere(std::span<const std::shared_ptr<FutureState>> states) {
  if (num_ranks == 1) return;
  check_agreement("result");
  for (const auto& state : states) {
    if (!state->done() && state->owner() != rank) {
      std::lock_guard lock(m_jobs_mutex);
      if (m_closed) {
        throw value_error("future '" + state->key() + "' is not on this rank and its client " +
                          "is closed");
      }
    }
    for (int r = 0; r < num_ranks; ++r) {
      if (r != state->owner()) want(state, r);
    }
  }
}

std::size_t ClientCore::pop(CompletionQueue& queue) {
  if (m_engine == nullptr || !on_program_thread()) return queue.pop();
  std::size_t index = 0;
  drive_until([&] { return queue.try_pop(index); });
  return index;
}

void ClientCore::wait(const FutureState& state) {
  if (state.done()) return;
  if (m_pool) {
    if (ThreadPool::Worker* worker = m_pool->current_worker()) {
      // A task waiting for another: keep this worker busy instead of blocking it. (A value
      // from another rank arrives when the program's thread drives the engine.)
      while (!state.done()) {
        if (!worker->run_one()) std::this_thread::yield();
      }
      return;
    }
  }
  if (m_engine) {
    drive_until([&] { return state.done(); });
    return;
  }
  state.wait();
}

void ClientCore::on_message(comm::Message&& message) {
  WireReader in(message.head, {});
  const auto kind = static_cast<Kind>(in.get<std::uint8_t>());
  const auto id = in.get<std::int64_t>();
  if (kind == Kind::order) {
    const auto index = static_cast<std::size_t>(in.get<std::uint64_t>());
    std::shared_ptr<CompletionQueue> queue;
    {
      std::lock_guard lock(m_table_mutex);
      if (auto it = m_order_sets.find(id); it != m_order_sets.end()) {
        queue = it->second.queue;
        --m_orders_expected;
        m_engine->expect(-1);
        if (--it->second.remaining == 0) m_order_sets.erase(it);
      } else {
        m_early_orders[id].push_back(index);
      }
    }
    if (queue) queue->push(index);
    m_engine->wake();
    return;
  }
  Arrival arrival;
  if (kind == Kind::error) {
    arrival.error = read_error(in);
  } else if (message.lost_bytes > 0) {
    arrival.error = std::make_exception_ptr(task_error(
        fmt::format("submit-{}", id),
        fmt::format("out of memory: cannot allocate {} to receive this future's value from "
                    "rank {}",
                    format_bytes(message.lost_bytes), message.source),
        rank));
  } else {
    try {
      const auto header = in.get_bytes();
      arrival.value = decode(header, std::move(message.bulk));
    } catch (const std::exception& e) {
      arrival.error = std::make_exception_ptr(error(fmt::format(
          "a future's value from rank {} cannot be read: {}", message.source, e.what())));
    }
  }
  arrive(id, std::move(arrival));
}

void ClientCore::arrive(std::int64_t id, Arrival arrival) {
  std::shared_ptr<FutureState> state;
  {
    std::lock_guard lock(m_table_mutex);
    if (auto it = m_remote.find(id); it != m_remote.end()) {
      state = it->second;
    } else {
      m_early.emplace(id, std::move(arrival));
      return;
    }
  }
  // Completed outside the lock (its continuations start jobs and send), and only then taken
  // off the table: until the state is done, a want() of it must find it there, or it would
  // register it as awaited once more, after its only value had come.
  if (arrival.error) {
    state->fail(arrival.error);
  } else {
    state->complete(std::move(arrival.value));
  }
  {
    std::lock_guard lock(m_table_mutex);
    if (m_remote.erase(id) > 0) m_engine->expect(-1);
  }
  m_engine->wake();  // the program's thread may be waiting for it
}

std::shared_ptr<CompletionQueue> ClientCore::completion_queue(
    std::span<const std::shared_ptr<FutureState>> states) {
  auto queue = std::make_shared<CompletionQueue>();
  if (num_ranks == 1) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      states[i]->on_done([queue, i] { queue->push(i); });
    }
    return queue;
  }
  want_everywhere(states);
  const std::int64_t set = m_next_set++;
  if (rank == 0) {
    // Rank 0's completion order is everyone's: it tells the others one index at a time.
    std::vector<int> others;
    for (int r = 1; r < num_ranks; ++r) others.push_back(r);
    for (std::size_t i = 0; i < states.size(); ++i) {
      states[i]->on_done([self = shared_from_this(), queue, i, set, others] {
        WireWriter head;
        head.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::order));
        head.put<std::int64_t>(set);
        head.put<std::uint64_t>(i);
        // Together, so that two completions on two threads reach the local queue and the
        // other ranks in the same order; queued for sending before the program's thread can
        // pop the index (and flush on its way out).
        std::lock_guard lock(self->m_order_mutex);
        self->m_engine->send(comm::Channel::futures, self->m_stream, others, head.header());
        queue->push(i);
      });
    }
    return queue;
  }
  std::vector<std::size_t> early;
  {
    std::lock_guard lock(m_table_mutex);
    if (auto it = m_early_orders.find(set); it != m_early_orders.end()) {
      early = std::move(it->second);
      m_early_orders.erase(it);
    }
    if (early.size() < states.size()) {
      m_order_sets.emplace(set, OrderSet{queue, states.size() - early.size()});
      m_orders_expected += states.size() - early.size();
      m_engine->expect(static_cast<std::int64_t>(states.size() - early.size()));
    }
  }
  for (std::size_t i : early) queue->push(i);
  return queue;
}

// --- the doors from client.hpp ----------------------------------------------------------------

std::shared_ptr<FutureState> client_launch(ClientCore& core, const std::string& label,
                                           std::vector<std::shared_ptr<FutureState>> deps,
                                           std::function<Value()> body, bool serializable,
                                           const std::type_info& result_type,
                                           std::uint64_t arguments) {
  auto state =
      core.launch(label, std::move(deps), std::move(body), serializable, result_type, arguments);
  core.flush_on_return();
  return state;
}

void client_want_everywhere(ClientCore& core,
                            std::span<const std::shared_ptr<FutureState>> states) {
  core.want_everywhere(states);
}

void client_wait(ClientCore& core, const FutureState& state) {
  core.wait(state);
  core.flush_on_return();
}

std::size_t client_pop(ClientCore& core, CompletionQueue& queue) {
  const std::size_t index = core.pop(queue);
  core.flush_on_return();
  return index;
}

std::shared_ptr<CompletionQueue> client_completion_queue(
    ClientCore& core, std::span<const std::shared_ptr<FutureState>> states) {
  return core.completion_queue(states);
}

Scheduler& client_scheduler(const ClientCore& core) noexcept { return *core.scheduler; }
int client_rank(const ClientCore& core) noexcept { return core.rank; }
int client_num_ranks(const ClientCore& core) noexcept { return core.num_ranks; }
void client_close(ClientCore& core) { core.close(); }

std::shared_ptr<ClientCore> make_client_core(Scheduler& scheduler) {
  return std::make_shared<ClientCore>(scheduler);
}

const Value& await_value(ClientCore& core, const std::shared_ptr<FutureState>& state) {
  if (!state) throw value_error("Future::result: the future is empty");
  const std::shared_ptr<FutureState> one[] = {state};
  core.want_everywhere(one);
  core.wait(*state);
  core.flush_on_return();
  return state->get();
}

}  // namespace detail

// --- Client -----------------------------------------------------------------------------------

Client::Client(Scheduler& scheduler) : m_core(detail::make_client_core(scheduler)) {}

Client::~Client() {
  try {
    detail::client_close(*m_core);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera Client on rank %d: closing failed: %s\n", rank(), e.what());
  }
}

}  // namespace tessera
