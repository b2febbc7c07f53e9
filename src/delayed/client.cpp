// Client and Future: dependency counting on the scheduler's pool, and the push protocol that
// moves values between ranks (see include/tessera/delayed/client.hpp).
//
// Distributed protocol, in short. Every rank runs the same submits, so every rank knows, for
// each submission, its owner and which ranks will read its value ("readers": owners of tasks
// that take it as an argument, and every rank once result/gather/wait/as_completed asked).
// The owner marks readers on its FutureState and, when the value is ready, hands one message
// per reader to this client's communication thread, the only thread that calls MPI here. A
// reader keeps the placeholders it waits for in a table (`remote`); a message that arrives
// before the reader has reached the submit or the result() call that wants it waits in
// `early`. as_completed's order comes from rank 0, which sends every other rank one ORDER
// message per future, in the order the futures completed there.
//
// Messages use MPI_Issend on one tag of a duplicate of MPI_COMM_WORLD, so a send completes
// only once it has been received; closing waits for this rank's tasks, for the values it
// waits for, for its sends, and then for a non-blocking barrier that it keeps receiving
// during: when the barrier completes no message of this client is in flight anywhere.

#include "tessera/delayed/client.hpp"

#include "tessera/core/type_name.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <unordered_map>

#include "tessera/comm/communicator.hpp"
#include "tessera/comm/mpi_error.hpp"
#include "tessera/exec/distributed_scheduler.hpp"
#include "tessera/exec/threaded_scheduler.hpp"

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

namespace {

// --- wire format ------------------------------------------------------------------------------
// One message per value: [kind u8][id i64] then, for a value, the encoded header and its
// segments (each as u64 size + bytes); for an error, task, message and rank; for an order, the
// future's index in its as_completed set (id is then the set's number).

enum class Kind : std::uint8_t { value = 0, error = 1, order = 2 };
constexpr int kTag = 7;

void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

void put_bytes(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
  put_u64(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_string(std::vector<std::byte>& out, const std::string& s) {
  put_bytes(out, std::as_bytes(std::span(s.data(), s.size())));
}

class Parser {
 public:
  explicit Parser(std::span<const std::byte> data) : m_data(data) {}
  std::uint64_t u64() {
    std::uint64_t v;
    std::memcpy(&v, take(sizeof v).data(), sizeof v);
    return v;
  }
  std::span<const std::byte> bytes() { return take(static_cast<std::size_t>(u64())); }
  std::string string() {
    const auto b = bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }

 private:
  std::span<const std::byte> take(std::size_t n) {
    if (m_pos + n > m_data.size()) throw value_error("Client: truncated message from a rank");
    auto s = m_data.subspan(m_pos, n);
    m_pos += n;
    return s;
  }
  std::span<const std::byte> m_data;
  std::size_t m_pos = 0;
};

/// The error a failed state holds, as (task, message, rank).
void describe_error(const FutureState& s, std::string& task, std::string& message, int& rank) {
  try {
    std::rethrow_exception(s.error());
  } catch (const task_error& e) {
    task = e.task();
    message = e.what_original();
    rank = e.rank();
  } catch (const std::exception& e) {
    task = "'" + s.key() + "'";
    message = e.what();
    rank = s.owner();
  } catch (...) {
    task = "'" + s.key() + "'";
    message = "unknown exception";
    rank = s.owner();
  }
}

std::vector<std::byte> pack_error(std::int64_t id, const std::string& task,
                                  const std::string& message, int rank) {
  std::vector<std::byte> out;
  out.push_back(static_cast<std::byte>(Kind::error));
  put_u64(out, static_cast<std::uint64_t>(id));
  put_string(out, task);
  put_string(out, message);
  put_u64(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(rank)));
  return out;
}

std::vector<std::byte> pack_state(const FutureState& s) {
  std::string task, message;
  int rank = -1;
  if (s.error()) {
    describe_error(s, task, message, rank);
    return pack_error(s.id(), task, message, rank);
  }
  try {
    WireValue wire = encode(s.get());
    std::vector<std::byte> out;
    out.push_back(static_cast<std::byte>(Kind::value));
    put_u64(out, static_cast<std::uint64_t>(s.id()));
    put_bytes(out, wire.header);
    put_u64(out, wire.segments.size());
    for (const auto& seg : wire.segments) put_bytes(out, seg);
    return out;
  } catch (const std::exception& e) {
    // The readers fail with a readable reason instead of waiting forever.
    return pack_error(s.id(), "'" + s.key() + "'",
                      std::string("its value cannot cross ranks: ") + e.what(), s.owner());
  }
}

std::vector<std::byte> pack_order(std::int64_t set, std::size_t index) {
  std::vector<std::byte> out;
  out.push_back(static_cast<std::byte>(Kind::order));
  put_u64(out, static_cast<std::uint64_t>(set));
  put_u64(out, index);
  return out;
}

/// A value or an error that arrived for a placeholder.
struct Arrival {
  Value value;
  std::exception_ptr error;
};

}  // namespace

// --- ClientCore -------------------------------------------------------------------------------

struct ClientCore::PendingJob {
  std::atomic<std::int64_t> missing;  // dependencies not done yet, plus one for launch itself
  std::vector<std::shared_ptr<FutureState>> deps;
  std::function<Value()> body;
  std::shared_ptr<FutureState> out;
};

struct ClientCore::State {
  Scheduler* scheduler = nullptr;
  ThreadPool* pool = nullptr;  // nullptr: run tasks inline, at submit time
  int rank = 0;
  int num_ranks = 1;
  bool distributed = false;
  std::atomic<std::int64_t> next_id{0};
  std::int64_t next_set = 0;  // as_completed sets (distributed); SPMD, so only the user thread

  // This rank's tasks not finished yet, and the end of the client.
  std::mutex jobs_mutex;
  std::condition_variable jobs_cv;
  std::int64_t live_jobs = 0;  // guarded by jobs_mutex
  bool closed = false;         // guarded by jobs_mutex

  // --- distributed (num_ranks > 1) ---
  std::optional<comm::Communicator> comm;
  std::thread comm_thread;

  struct Outgoing {
    int dest;
    std::shared_ptr<FutureState> state;  // a value or error to send; else an order
    std::int64_t set = 0;
    std::size_t index = 0;
  };
  std::mutex comm_mutex;
  std::condition_variable comm_cv;
  std::deque<Outgoing> outbox;  // guarded by comm_mutex
  bool wake = false;            // guarded by comm_mutex
  bool closing = false;         // guarded by comm_mutex

  struct OrderSet {
    std::shared_ptr<CompletionQueue> queue;
    std::size_t remaining;
  };
  std::mutex table_mutex;
  std::unordered_map<std::int64_t, std::shared_ptr<FutureState>> remote;  // wanted here
  std::unordered_map<std::int64_t, Arrival> early;
  std::unordered_map<std::int64_t, OrderSet> order_sets;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> early_orders;
  std::size_t orders_expected = 0;  // guarded by table_mutex

  void notify_comm() {
    {
      std::lock_guard lock(comm_mutex);
      wake = true;
    }
    comm_cv.notify_one();
  }
  void notify_jobs() {
    { std::lock_guard lock(jobs_mutex); }
    jobs_cv.notify_all();
  }
};

ClientCore::ClientCore(Scheduler& scheduler) : m(std::make_unique<State>()) {
  m->scheduler = &scheduler;
  m->rank = scheduler.rank();
  m->num_ranks = scheduler.num_ranks();
  if (auto* t = dynamic_cast<ThreadedScheduler*>(&scheduler)) {
    m->pool = &t->pool();
  } else if (auto* d = dynamic_cast<DistributedScheduler*>(&scheduler)) {
    m->pool = &d->pool();
    m->distributed = true;
  }
  if (m->num_ranks > 1) {
    if (!m->distributed) {
      throw value_error("Client: scheduler '" + std::string(scheduler.name()) +
                        "' spans several ranks but is not a DistributedScheduler");
    }
    int level = 0;
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_MULTIPLE) {
      throw value_error(
          "Client: futures across ranks need MPI_THREAD_MULTIPLE (the client's communication "
          "thread runs beside the program's own MPI calls), but this MPI provides less");
    }
    m->comm.emplace(comm::Communicator::world().dup());  // collective
    if (m->comm->rank() != m->rank || m->comm->size() != m->num_ranks) {
      throw value_error("Client: the distributed scheduler must span MPI_COMM_WORLD in rank order");
    }
    m->comm_thread = std::thread([this] { comm_loop(); });
  }
}

ClientCore::~ClientCore() { close(); }

Scheduler& ClientCore::scheduler() const noexcept { return *m->scheduler; }
int ClientCore::rank() const noexcept { return m->rank; }
int ClientCore::num_ranks() const noexcept { return m->num_ranks; }

void ClientCore::close() {
  {
    std::unique_lock lock(m->jobs_mutex);
    if (m->closed) return;
    // Finished jobs and arriving values notify jobs_cv; the timeout keeps the second check
    // (under another lock) free of lost wake-ups.
    while (true) {
      if (m->live_jobs == 0) {
        if (!m->comm) break;
        std::lock_guard table(m->table_mutex);
        if (m->remote.empty() && m->orders_expected == 0) break;
      }
      m->jobs_cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    m->closed = true;
  }
  if (m->comm_thread.joinable()) {
    {
      std::lock_guard lock(m->comm_mutex);
      m->closing = true;
      m->wake = true;
    }
    m->comm_cv.notify_one();
    m->comm_thread.join();
    m->comm.reset();  // MPI_Comm_free: collective, like the barrier before it
  }
}

std::shared_ptr<FutureState> ClientCore::launch(const std::string& label,
                                                std::vector<std::shared_ptr<FutureState>> deps,
                                                std::function<Value()> body, bool serializable,
                                                const std::type_info& type_name_info) {
  const std::int64_t id = m->next_id.fetch_add(1, std::memory_order_relaxed);
  const std::string key = label + "-" + std::to_string(id);
  if (m->num_ranks > 1 && !serializable) {
    throw value_error("Client::submit: task '" + key + "' returns " +
                      readable_type_name(type_name_info) +
                      ", which has no tessera::Serializer, so its value cannot cross ranks; "
                      "specialise tessera::Serializer (tessera/core/serialize.hpp) for it");
  }
  {
    std::lock_guard lock(m->jobs_mutex);
    if (m->closed) throw value_error("Client::submit: the client is closed");
  }
  const int owner = deps.empty() ? static_cast<int>(id % m->num_ranks) : deps.front()->owner();
  auto state = std::make_shared<FutureState>(id, key, owner, m->num_ranks);
  if (m->num_ranks > 1) {
    for (const auto& d : deps) {
      if (d->owner() != owner) want(d, owner);
    }
    if (owner != m->rank) return state;  // a placeholder; filled in if this rank wants it
    // Sends the value to the readers known when it completes; later readers: add_reader.
    state->on_done([self = shared_from_this(), state] { self->send_to_readers(state); });
  }
  {
    std::lock_guard lock(m->jobs_mutex);
    ++m->live_jobs;
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
  if (m->pool) {
    m->pool->submit([self = shared_from_this(), job] { self->run_job(*job); });
  } else {
    run_job(*job);
  }
}

void ClientCore::run_job(PendingJob& job) {
  std::exception_ptr dep_error;
  for (const auto& d : job.deps) {
    if (d->error()) {
      dep_error = d->error();
      break;
    }
  }
  Value value;
  std::exception_ptr error = dep_error;
  if (!error) {
    const int rank = m->distributed ? m->rank : -1;
    const std::string task = "'" + job.out->key() + "'";
    try {
      value = job.body();
    } catch (const std::exception& e) {
      error = std::make_exception_ptr(task_error(task, e.what(), rank));
    } catch (...) {
      error = std::make_exception_ptr(task_error(task, "unknown exception", rank));
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
    std::lock_guard lock(m->jobs_mutex);
    --m->live_jobs;
  }
  m->jobs_cv.notify_all();
}

void ClientCore::want(const std::shared_ptr<FutureState>& state, int rank) {
  if (state->owner() == m->rank) {
    if (state->add_reader(rank)) {
      {
        std::lock_guard lock(m->comm_mutex);
        m->outbox.push_back({rank, state});
        m->wake = true;
      }
      m->comm_cv.notify_one();
    }
    return;
  }
  if (rank != m->rank) return;  // between two other ranks
  std::optional<Arrival> arrived;
  {
    std::lock_guard lock(m->table_mutex);
    if (state->done() || m->remote.contains(state->id())) return;
    if (auto it = m->early.find(state->id()); it != m->early.end()) {
      arrived = std::move(it->second);
      m->early.erase(it);
    } else {
      m->remote.emplace(state->id(), state);
    }
  }
  if (arrived) {
    if (arrived->error) {
      state->fail(arrived->error);
    } else {
      state->complete(std::move(arrived->value));
    }
  } else {
    m->notify_comm();  // poll faster: something is expected now
  }
}

void ClientCore::want_everywhere(const std::shared_ptr<FutureState>& state) {
  if (m->num_ranks == 1) return;
  if (!state->done() && state->owner() != m->rank) {
    std::lock_guard lock(m->jobs_mutex);
    if (m->closed) {
      throw value_error("future '" + state->key() + "' is not on this rank and its client " +
                        "is closed");
    }
  }
  for (int r = 0; r < m->num_ranks; ++r) {
    if (r != state->owner()) want(state, r);
  }
}

void ClientCore::wait(const FutureState& state) {
  if (state.done()) return;
  if (m->pool) {
    if (ThreadPool::Worker* worker = m->pool->current_worker()) {
      // A task waiting for another: keep this worker busy instead of blocking it.
      while (!state.done()) {
        if (!worker->run_one()) std::this_thread::yield();
      }
      return;
    }
  }
  state.wait();
}

void ClientCore::send_to_readers(const std::shared_ptr<FutureState>& state) {
  const std::vector<int> readers = state->take_unsent_readers();
  if (readers.empty()) return;
  {
    std::lock_guard lock(m->comm_mutex);
    for (int r : readers) {
      if (r != m->rank) m->outbox.push_back({r, state});
    }
    m->wake = true;
  }
  m->comm_cv.notify_one();
}

std::shared_ptr<CompletionQueue> ClientCore::completion_queue(
    std::span<const std::shared_ptr<FutureState>> states) {
  auto queue = std::make_shared<CompletionQueue>();
  if (m->num_ranks == 1) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      states[i]->on_done([queue, i] { queue->push(i); });
    }
    return queue;
  }
  for (const auto& s : states) want_everywhere(s);
  const std::int64_t set = m->next_set++;
  if (m->rank == 0) {
    // Rank 0's completion order is everyone's: it tells the others one index at a time.
    for (std::size_t i = 0; i < states.size(); ++i) {
      states[i]->on_done([self = shared_from_this(), queue, i, set] {
        {
          // Under comm_mutex, so that two completions on two threads reach the local queue
          // and the other ranks in the same order.
          std::lock_guard lock(self->m->comm_mutex);
          queue->push(i);
          for (int r = 1; r < self->m->num_ranks; ++r) {
            self->m->outbox.push_back({r, nullptr, set, i});
          }
          self->m->wake = true;
        }
        self->m->comm_cv.notify_one();
      });
    }
    return queue;
  }
  std::vector<std::size_t> early;
  {
    std::lock_guard lock(m->table_mutex);
    if (auto it = m->early_orders.find(set); it != m->early_orders.end()) {
      early = std::move(it->second);
      m->early_orders.erase(it);
    }
    if (early.size() < states.size()) {
      m->order_sets.emplace(set, State::OrderSet{queue, states.size() - early.size()});
      m->orders_expected += states.size() - early.size();
    }
  }
  for (std::size_t i : early) queue->push(i);
  m->notify_comm();
  return queue;
}

void ClientCore::comm_loop() {
  struct LiveSend {
    MPI_Request request;
    std::vector<std::byte> buffer;
  };
  const MPI_Comm comm = m->comm->native();
  std::vector<std::unique_ptr<LiveSend>> live;
  MPI_Request barrier = MPI_REQUEST_NULL;
  bool barrier_posted = false;
  int idle_rounds = 0;

  auto deliver = [&](std::span<const std::byte> data) {
    Parser p(data);
    const auto kind = static_cast<Kind>(p.u8());
    const auto id = static_cast<std::int64_t>(p.u64());
    if (kind == Kind::order) {
      const auto index = static_cast<std::size_t>(p.u64());
      std::shared_ptr<CompletionQueue> queue;
      {
        std::lock_guard lock(m->table_mutex);
        if (auto it = m->order_sets.find(id); it != m->order_sets.end()) {
          queue = it->second.queue;
          --m->orders_expected;
          if (--it->second.remaining == 0) m->order_sets.erase(it);
        } else {
          m->early_orders[id].push_back(index);
        }
      }
      if (queue) queue->push(index);
      m->notify_jobs();
      return;
    }
    Arrival arrival;
    if (kind == Kind::error) {
      std::string task = p.string();
      std::string message = p.string();
      const auto rank = static_cast<int>(static_cast<std::int64_t>(p.u64()));
      arrival.error =
          std::make_exception_ptr(task_error(std::move(task), std::move(message), rank));
    } else {
      const auto header = p.bytes();
      const auto count = p.u64();
      std::vector<Segment> segments;
      for (std::uint64_t k = 0; k < count; ++k) {
        const auto bytes = p.bytes();
        Segment s = allocate_segment(bytes.size());
        if (!bytes.empty()) std::memcpy(s.data, bytes.data(), bytes.size());
        segments.push_back(std::move(s));
      }
      arrival.value = decode(header, std::move(segments));
    }
    std::shared_ptr<FutureState> state;
    {
      std::lock_guard lock(m->table_mutex);
      if (auto it = m->remote.find(id); it != m->remote.end()) {
        state = std::move(it->second);
        m->remote.erase(it);
      } else {
        m->early.emplace(id, std::move(arrival));
      }
    }
    if (state) {
      if (arrival.error) {
        state->fail(arrival.error);
      } else {
        state->complete(std::move(arrival.value));
      }
      m->notify_jobs();
    }
  };

  try {
    while (true) {
      std::deque<State::Outgoing> todo;
      bool closing;
      {
        std::lock_guard lock(m->comm_mutex);
        todo.swap(m->outbox);
        closing = m->closing;
        m->wake = false;
      }
      bool active = !todo.empty();
      for (auto& o : todo) {
        auto send = std::make_unique<LiveSend>();
        send->buffer = o.state ? pack_state(*o.state) : pack_order(o.set, o.index);
        if (send->buffer.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
          send->buffer = pack_error(o.state->id(), "'" + o.state->key() + "'",
                                    "its value is over 2 GiB, too large to send", m->rank);
        }
        check_mpi(MPI_Issend(send->buffer.data(), static_cast<int>(send->buffer.size()), MPI_BYTE,
                             o.dest, kTag, comm, &send->request),
                  "MPI_Issend");
        live.push_back(std::move(send));
      }
      for (std::size_t i = 0; i < live.size();) {
        int flag = 0;
        check_mpi(MPI_Test(&live[i]->request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
        if (flag) {
          live[i] = std::move(live.back());
          live.pop_back();
          active = true;
        } else {
          ++i;
        }
      }
      while (true) {
        int flag = 0;
        MPI_Status status;
        check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, kTag, comm, &flag, &status), "MPI_Iprobe");
        if (!flag) break;
        int count = 0;
        check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
        std::vector<std::byte> buffer(static_cast<std::size_t>(count));
        check_mpi(MPI_Recv(buffer.data(), count, MPI_BYTE, status.MPI_SOURCE, kTag, comm,
                           MPI_STATUS_IGNORE),
                  "MPI_Recv");
        deliver(buffer);
        active = true;
      }
      if (closing && todo.empty() && live.empty()) {
        if (!barrier_posted) {
          check_mpi(MPI_Ibarrier(comm, &barrier), "MPI_Ibarrier");
          barrier_posted = true;
        } else {
          int flag = 0;
          check_mpi(MPI_Test(&barrier, &flag, MPI_STATUS_IGNORE), "MPI_Test");
          if (flag) return;
        }
      }
      if (active) {
        idle_rounds = 0;
        continue;
      }
      bool expecting = !live.empty() || barrier_posted;
      if (!expecting) {
        std::lock_guard lock(m->table_mutex);
        expecting = !m->remote.empty() || m->orders_expected > 0;
      }
      // Waiting for a message: poll often (its sender is waiting for us to match it); idle:
      // sleep until there is something to send or to expect (the timeout catches a message
      // sent before this rank has reached the call that expects it).
      if (expecting && ++idle_rounds < 16) {
        std::this_thread::yield();
        continue;
      }
      std::unique_lock lock(m->comm_mutex);
      m->comm_cv.wait_for(lock,
                          expecting ? std::chrono::microseconds(50) : std::chrono::milliseconds(5),
                          [&] { return m->wake; });
    }
  } catch (const std::exception& e) {
    // A failed MPI call leaves the ranks' protocol in an unknown state: stop the job rather than
    // leave other ranks waiting for messages that will never come.
    std::fprintf(stderr, "tessera Client on rank %d: communication failed: %s\n", m->rank,
                 e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

const Value& await_value(ClientCore& core, const std::shared_ptr<FutureState>& state) {
  if (!state) throw value_error("Future::result: the future is empty");
  core.want_everywhere(state);
  core.wait(*state);
  return state->get();
}

}  // namespace detail

// --- Client -----------------------------------------------------------------------------------

Client::Client(Scheduler& scheduler) : m_core(std::make_shared<detail::ClientCore>(scheduler)) {}

Client::~Client() { m_core->close(); }

}  // namespace tessera
