#include "exec/distributed_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "core/error_wire.hpp"
#include "exec/bytes_read.hpp"
#include "exec/chaos.hpp"
#include "tessera/comm/mpi_error.hpp"

namespace tessera::detail {

namespace {

enum class MessageKind : std::uint8_t { value = 1, abort = 2, progress = 3 };

/// How often ranks report progress to rank 0, and rank 0 to its callback.
constexpr auto kProgressToRoot = std::chrono::milliseconds(250);
constexpr auto kProgressShown = std::chrono::milliseconds(100);

/// Uninstalls the run's handler however run() ends.
struct HandlerGuard {
  comm::MessageEngine& engine;
  std::uint32_t stream;
  ~HandlerGuard() { engine.set_handler(comm::Channel::run, stream, nullptr); }
};

}  // namespace

DistributedRun::DistributedRun(ThreadPool& pool, const TaskGraph& graph,
                               comm::MessageEngine& engine, std::span<const std::int32_t> owner,
                               std::span<const TaskId> outputs,
                               const OutputDestinations& destinations, std::uint32_t seq,
                               std::shared_ptr<comm::Agreement> agreement, MemoryBudget* budget,
                               const ProgressCallback* progress)
    : m_graph(graph),
      m_engine(engine),
      m_seq(seq),
      m_rank(engine.rank()),
      m_agreement(std::move(agreement)),
      m_progress(progress) {
  m_run = std::make_unique<DataflowRun>(pool, graph, build_plan(owner, outputs, destinations), this,
                                        budget);
  for (const auto o : owner) m_tasks_total += o >= 0 ? 1 : 0;
  if (m_progress != nullptr) {
    m_run->count_tasks();
    if (m_rank == 0) {
      m_done_of.assign(static_cast<std::size_t>(m_engine.size()), 0);
      m_bytes_of.assign(static_cast<std::size_t>(m_engine.size()), 0);
      m_moved_of.assign(static_cast<std::size_t>(m_engine.size()), 0);
    }
  }
}

void DistributedRun::report_progress(bool last, bool succeeded) {
  const auto now = std::chrono::steady_clock::now();
  if (!last && now < m_next_report) return;
  m_next_report = now + (m_rank == 0 ? kProgressShown : kProgressToRoot);
  const std::int64_t done = m_run->tasks_done();
  const std::uint64_t bytes = bytes_read_so_far() - m_bytes_read_at_start;
  const auto moved = static_cast<std::uint64_t>(m_bytes_sent.load(std::memory_order_relaxed));
  if (m_rank != 0) {
    if (last || m_run->failed()) return;  // rank 0 reports the end itself
    WireWriter head;
    head.put<std::uint8_t>(static_cast<std::uint8_t>(MessageKind::progress));
    head.put<TaskId>(-1);
    head.put<std::int64_t>(done);
    head.put<std::uint64_t>(bytes);
    head.put<std::uint64_t>(moved);
    const int root = 0;
    m_engine.send(comm::Channel::run, m_seq, std::span(&root, 1), head.header());
    return;
  }
  m_done_of[0] = done;
  m_bytes_of[0] = bytes;
  if (!last) m_moved_of[0] = moved;
  Progress p;
  for (std::size_t r = 0; r < m_done_of.size(); ++r) {
    p.tasks_done += m_done_of[r];
    p.bytes_read += m_bytes_of[r];
    p.bytes_moved += m_moved_of[r];
  }
  p.tasks_total = m_tasks_total;
  p.elapsed_s = std::chrono::duration<double>(now - m_start).count();
  p.finished = last;
  if (last && succeeded) p.tasks_done = m_tasks_total;  // every rank finished
  try {
    (*m_progress)(p);
  } catch (...) {
    // A report that cannot be shown does not stop the run.
  }
}

DistributedRun::~DistributedRun() = default;

RunPlan DistributedRun::build_plan(std::span<const std::int32_t> owner,
                                   std::span<const TaskId> outputs,
                                   const OutputDestinations& destinations) {
  const int me = m_rank;
  RunPlan p;
  p.extent = owner.size();
  p.flags.assign(p.extent, 0);
  p.consumers.assign(p.extent, 0);
  std::vector<std::pair<TaskId, int>> sends;  // (task run here, rank that needs it)
  for (TaskId id = 0; static_cast<std::size_t>(id) < p.extent; ++id) {
    const auto o = owner[static_cast<std::size_t>(id)];
    if (o < 0) continue;  // not needed, or a literal every rank holds (flagged when read)
    if (o == me) p.flags[static_cast<std::size_t>(id)] |= kNeeded;
    for (TaskId dep : m_graph.deps(id)) {
      const auto d = owner[static_cast<std::size_t>(dep)];
      auto& f = p.flags[static_cast<std::size_t>(dep)];
      if (o == me) {
        ++p.consumers[static_cast<std::size_t>(dep)];
        if (d == kEverywhere || d == me) {
          f |= kNeeded;
        } else {
          f |= kNeeded | kRemote;
        }
      } else if (d == me) {
        sends.emplace_back(dep, o);
      }
    }
  }
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const TaskId out = outputs[k];
    const auto o = owner[static_cast<std::size_t>(out)];
    auto& f = p.flags[static_cast<std::size_t>(out)];
    const auto wanted_here = [&] {
      if (destinations.all_ranks) return true;
      const auto& r = destinations.ranks[k];
      return std::find(r.begin(), r.end(), me) != r.end();
    };
    if (o == kEverywhere || o == me) {
      f |= kNeeded | kOutput;
      if (o == me && destinations.all_ranks) {
        for (int r = 0; r < m_engine.size(); ++r)
          if (r != me) sends.emplace_back(out, r);
      } else if (o == me) {
        for (int r : destinations.ranks[k])
          if (r != me) sends.emplace_back(out, r);
      }
    } else if (wanted_here()) {
      f |= kNeeded | kRemote | kOutput;
    }
  }
  std::sort(sends.begin(), sends.end());
  sends.erase(std::unique(sends.begin(), sends.end()), sends.end());
  m_dest_offset.push_back(0);
  for (std::size_t i = 0; i < sends.size(); ++i) {
    if (i == 0 || sends[i].first != sends[i - 1].first) {
      if (i > 0) m_dest_offset.push_back(static_cast<std::uint32_t>(m_dest_ranks.size()));
      m_publish_tasks.push_back(sends[i].first);
      p.flags[static_cast<std::size_t>(sends[i].first)] |= kPublish;
    }
    m_dest_ranks.push_back(sends[i].second);
  }
  if (!sends.empty()) m_dest_offset.push_back(static_cast<std::uint32_t>(m_dest_ranks.size()));
  for (std::size_t i = 0; i < p.extent; ++i) {
    if (p.flags[i] & kNeeded) ++p.num_needed;
    if (p.flags[i] & kRemote) ++m_expected;
  }
  return p;
}

void DistributedRun::publish(TaskId id, const Value& value) {
  // After a failure nobody needs values any more: the other ranks are told to stop.
  if (m_run->failed()) return;
  const auto it = std::lower_bound(m_publish_tasks.begin(), m_publish_tasks.end(), id);
  const auto i = static_cast<std::size_t>(it - m_publish_tasks.begin());
  const std::span<const int> dests(m_dest_ranks.data() + m_dest_offset[i],
                                   m_dest_offset[i + 1] - m_dest_offset[i]);
  const std::int64_t start = trace::on() ? trace::now() : 0;
  WireValue wire;
  try {
    wire = encode(value);
  } catch (const std::exception& e) {
    throw task_error(m_graph.name(id), e.what(), m_rank);
  }
  WireWriter head;
  head.put<std::uint8_t>(static_cast<std::uint8_t>(MessageKind::value));
  head.put<TaskId>(id);
  head.put_bytes(wire.header);
  std::size_t total = 0;
  for (const auto& s : wire.segments) total += s.size();
  // The engine keeps the value (and so its segments) alive until they are sent.
  m_engine.send(comm::Channel::run, m_seq, dests, head.header(), wire.segments,
                std::make_shared<const Value>(value));
  if (start != 0) {
    for (int d : dests)
      trace::record_transfer(trace::EventKind::send, m_graph, id, m_seq, m_rank, d, total, start);
  }
  m_values_sent.fetch_add(static_cast<std::int64_t>(dests.size()), std::memory_order_relaxed);
  m_bytes_sent.fetch_add(static_cast<std::int64_t>(total * dests.size()),
                         std::memory_order_relaxed);
}

void DistributedRun::wake() noexcept { m_engine.wake(); }

void DistributedRun::job_done(ThreadPool::WaitGroup& jobs, bool failed) noexcept {
  // Under the engine's wake mutex: run() takes it after it saw the run idle and before it ends
  // the run, so this worker is out of the lock (and touches nothing of the run) before the run
  // can go away.
  std::lock_guard lock(m_engine.wake_mutex());
  jobs.done();
  chaos_point();  // the driver may see the run idle now, but cannot end it before we unlock
  // Wake the driver only when it has something to see (waking it per job would cost a system
  // call per job); it also polls.
  if (jobs.pending() == 1 || failed) m_engine.wake_locked();
}

void DistributedRun::idle_wait(int rounds) {
  // While messages are in flight (values expected, messages queued or unmatched) the other
  // side's progress depends on ours: keep polling, yielding the core to workers, for a while
  // before sleeping, and sleep briefly. When only local workers can make progress, sleep
  // longer: they wake us when they hand over a value or run out of work.
  const bool in_flight = m_expected > 0 || m_engine.busy() ||
                         (m_agreement && !m_agreement->known() && !m_agreement_lost);
  // Nothing queued or running here: only other ranks can make progress, and no worker of
  // ours needs this core, so the engine may spin for a while instead of yielding.
  if (in_flight && m_run->idle()) {
    m_engine.idle(rounds);
    return;
  }
  if (rounds < (in_flight ? 256 : 64)) {
    std::this_thread::yield();
    return;
  }
  // Incoming messages do not wake us (MPI is polled), hence the timeouts.
  m_engine.wait(
      std::chrono::microseconds(in_flight ? 20 : std::min(200, 10 << std::min(rounds - 8, 5))));
}

void DistributedRun::send_abort() {
  m_abort_sent = true;
  WireWriter head;
  head.put<std::uint8_t>(static_cast<std::uint8_t>(MessageKind::abort));
  head.put<TaskId>(-1);
  write_error(head, m_run->error(), m_rank);
  std::vector<int> others;
  for (int r = 0; r < m_engine.size(); ++r)
    if (r != m_rank) others.push_back(r);
  m_engine.send(comm::Channel::run, m_seq, others, head.header());
}

void DistributedRun::on_message(comm::Message&& message) {
  // Until the ranks are known to run the same graph, a message may name a task of another
  // graph: it waits.
  if (!m_agreed) {
    m_held.push_back(std::move(message));
    return;
  }
  try {
    WireReader in(message.head, {});
    const auto kind = static_cast<MessageKind>(in.get<std::uint8_t>());
    const auto task = in.get<TaskId>();
    if (kind == MessageKind::abort) {
      m_remote_error = read_error(in);
      m_run->fail(m_remote_error);
      return;
    }
    if (kind == MessageKind::progress) {
      const auto done = in.get<std::int64_t>();
      const auto bytes = in.get<std::uint64_t>();
      const auto moved = in.get<std::uint64_t>();
      const auto from = static_cast<std::size_t>(message.source);
      if (m_rank == 0 && m_progress != nullptr && from < m_done_of.size()) {
        m_done_of[from] = done;
        m_bytes_of[from] = bytes;
        m_moved_of[from] = moved;
      }
      return;
    }
    if (kind != MessageKind::value || task < 0 || static_cast<std::size_t>(task) >= m_graph.size())
      throw transport_error(fmt::format("malformed run message from rank {}", message.source));
    if (m_run->failed()) return;
    if (message.lost_bytes > 0) {
      m_run->fail(std::make_exception_ptr(task_error(
          m_graph.name(task),
          fmt::format("out of memory: cannot allocate {} bytes ({:.1f} MiB) to receive this "
                      "task's value from rank {}",
                      message.lost_bytes, static_cast<double>(message.lost_bytes) / (1 << 20),
                      message.source),
          m_rank)));
      return;
    }
    const auto header = in.get_bytes();
    const std::int64_t start = trace::on() ? trace::now() : 0;
    // decode() takes the segments; the reader above only read the head.
    Value v = decode(header, std::move(message.bulk));
    const std::uint64_t bytes = v.nbytes();
    ++m_values_received;
    --m_expected;
    m_run->deliver(task, std::move(v));
    if (start != 0) {
      trace::record_transfer(trace::EventKind::receive, m_graph, task, m_seq, message.source,
                             m_rank, bytes, start);
    }
  } catch (...) {
    // E.g. a value that cannot be decoded: this rank's failure, like a task's.
    m_run->fail(std::current_exception());
  }
}

bool DistributedRun::progress() {
  bool did = false;
  try {
    const std::int64_t start = trace::on() ? trace::now() : 0;
    did = m_engine.progress();
    if (did && start != 0) trace::record_comm(start);
  } catch (...) {
    // MPI failed or a message could not be read: this rank's failure.
    m_run->fail(std::current_exception());
    did = true;
  }
  // Checked after the work above, so that a failure it raised is announced in the same round,
  // before the run can look finished.
  if (failed_here() && !m_abort_sent) {
    try {
      send_abort();
    } catch (...) {
      // Cannot even queue the abort: the run's error is recorded already.
    }
    did = true;
  }
  return did;
}

void DistributedRun::check_agreement() {
  if (!m_agreement || m_agreement->known()) return;
  try {
    if (!m_engine.test(*m_agreement)) return;
  } catch (...) {
    // MPI failed: this rank's failure, which the close reports (if MPI still can).
    m_agreement_lost = true;
    m_run->fail(std::current_exception());
    return;
  }
  if (m_agreement->equal()) {
    m_agreed = true;
    std::vector<comm::Message> held = std::move(m_held);
    for (comm::Message& m : held) on_message(std::move(m));
    return;
  }
  // Every rank learns this at once, from the same allreduce: nobody announces it.
  m_graphs_differ = true;
  m_abort_sent = true;
  m_held.clear();
  m_run->fail(std::make_exception_ptr(graph_error("the ranks' task graphs differ")));
}

bool DistributedRun::failed_here() const {
  const std::exception_ptr e = m_run->error();
  return e && e != m_remote_error;
}

void DistributedRun::run() {
  // This thread alone drives the engine during the run: the handler and the loop below share
  // the run's state without locks.
  const auto driving = m_engine.exclusive_driver();
  // The run's messages travel on a stream of their own: a value of the next run that arrives
  // while this one closes waits for that run, and stragglers of earlier runs are dropped.
  m_engine.retire_streams_below(comm::Channel::run, m_seq);
  m_agreed = m_agreement == nullptr;  // before the handler receives what arrived early
  m_engine.set_handler(comm::Channel::run, m_seq,
                       [this](comm::Message&& m) { on_message(std::move(m)); });
  HandlerGuard guard{m_engine, m_seq};
  const std::int64_t traced_since = trace::on() ? trace::now() : 0;
  if (m_progress != nullptr) {
    m_start = std::chrono::steady_clock::now();
    m_next_report = m_start + (m_rank == 0 ? kProgressShown : kProgressToRoot);
    m_bytes_read_at_start = bytes_read_so_far();
  }
  m_run->start();
  // Phase 1: this rank's share, until everything here is done and every send matched.
  for (int rounds = 0;;) {
    // Communication first; a task of its own only when there was none.
    bool did = progress();
    check_agreement();
    if (!did) did = m_run->run_inline();
    m_engine.abort_if_departed();  // a rank that left would leave us waiting for its values
    if (m_progress != nullptr) report_progress(false, true);
    chaos_point();  // a task may fail between progress() and the test below
    if (m_run->idle() && !m_run->has_inline() && (m_expected == 0 || m_run->failed()) &&
        m_engine.pending(comm::Channel::run) == 0 &&
        (!m_agreement || m_agreement->known() || m_agreement_lost)) {
      // Idle, so no task can fail any more; one that failed after progress() looked is
      // announced first (next round), or the ranks waiting for its values would wait forever.
      if (failed_here() && !m_abort_sent) continue;
      // Taking the lock also waits out the worker that made the run idle (job_done).
      std::lock_guard lock(m_engine.wake_mutex());
      break;
    }
    rounds = did ? 0 : rounds + 1;
    if (!did) idle_wait(rounds);
  }
  m_run->finish();
  // Phase 2: agree that every rank is done (receiving meanwhile whatever was still sent to us
  // before the sender learned of a failure), and on the lowest rank that failed.
  const int agreed = m_engine.agree_min(failed_here() ? m_rank : INT_MAX, comm::Channel::run);
  if (m_progress != nullptr) {
    // Every rank's bytes read and sent, exactly (one allgather): a rank's last progress message may
    // still be on its way to rank 0 when the agreement ends. Every rank reports when any does
    // (set_progress).
    const std::uint64_t mine[2] = {bytes_read_so_far() - m_bytes_read_at_start,
                                   static_cast<std::uint64_t>(m_bytes_sent.load())};
    const auto all = m_engine.allgather_bytes(std::as_bytes(std::span(mine)));
    if (m_rank == 0) {
      for (std::size_t r = 0; r < all.size(); ++r) {
        std::uint64_t theirs[2];
        std::memcpy(theirs, all[r].data(), sizeof theirs);
        m_bytes_of[r] = theirs[0];
        m_moved_of[r] = theirs[1];
      }
      report_progress(true, agreed == INT_MAX);
    }
  }
  if (traced_since != 0) {
    trace::record_run(m_seq, traced_since, m_graph.size(), m_tasks_total,
                      static_cast<std::uint64_t>(m_run->local_tasks()));
  }
  // Every rank knows that the graphs differ; the caller names the ranks.
  if (m_graphs_differ) return;
  // Phase 1 ends with every expected value delivered unless the run failed somewhere.
  if (agreed != INT_MAX) throw_agreed_error(agreed);
}

void DistributedRun::throw_agreed_error(int failed_rank) {
  std::vector<std::byte> text;
  if (failed_rank == m_rank) {
    WireWriter w;
    write_error(w, m_run->error(), m_rank);
    text = std::move(w.header());
  }
  m_engine.bcast_bytes(text, failed_rank);
  WireReader in(text, {});
  std::rethrow_exception(read_error(in));
}

}  // namespace tessera::detail
