#include "exec/distributed_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <new>
#include <thread>

#include "exec/chaos.hpp"
#include "tessera/comm/mpi_error.hpp"

namespace tessera::detail {

namespace {

enum class MessageKind : std::uint32_t { value = 1, abort = 2 };

/// The fixed part of a control message.
struct ControlHeader {
  MessageKind kind;
  std::uint32_t seq;
  TaskId task;
  std::uint32_t inline_data;  // 1: the segments follow the wire header in this message
};

/// Values whose bulk data is at most this large travel inside their control message: one
/// message instead of two or more, for scalars, partials and small chunks.
constexpr std::size_t kInlineBytes = 64 * 1024;
/// Bulk data goes in pieces of at most this many bytes (MPI counts are int, and a receiver
/// that cannot allocate a value drains its pieces through a scratch buffer of this size).
/// Large enough that per-message costs vanish against the copy.
constexpr std::size_t kMaxPiece = std::size_t{16} << 20;

/// Where a receiver that cannot allocate a value receives its pieces, to throw them away: in
/// static storage, because allocating is what just failed. Runs that drain at the same time
/// (two schedulers in one process) may overwrite each other's garbage here.
alignas(64) std::byte g_drain_scratch[kMaxPiece];

void append(std::vector<std::byte>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  out.insert(out.end(), b, b + n);
}

template <class T>
T take(std::span<const std::byte>& in) {
  if (in.size() < sizeof(T)) throw graph_error("truncated message between ranks");
  T v;
  std::memcpy(&v, in.data(), sizeof(T));
  in = in.subspan(sizeof(T));
  return v;
}

std::string take_string(std::span<const std::byte>& in) {
  const auto n = static_cast<std::size_t>(take<std::uint64_t>(in));
  if (in.size() < n) throw graph_error("truncated message between ranks");
  std::string s(reinterpret_cast<const char*>(in.data()), n);
  in = in.subspan(n);
  return s;
}

void put_string(std::vector<std::byte>& out, const std::string& s) {
  const std::uint64_t n = s.size();
  append(out, &n, sizeof n);
  append(out, s.data(), s.size());
}

/// An error in wire form: a task_error keeps its task name and original message.
std::vector<std::byte> encode_error(std::exception_ptr error) {
  std::vector<std::byte> out;
  std::uint8_t kind = 1;
  std::string task, message;
  try {
    std::rethrow_exception(error);
  } catch (const task_error& e) {
    kind = 0;
    task = e.task();
    message = e.what_original();
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception (not derived from std::exception)";
  }
  append(out, &kind, 1);
  put_string(out, task);
  put_string(out, message);
  return out;
}

std::exception_ptr decode_error(std::span<const std::byte> in, int rank) {
  const auto kind = take<std::uint8_t>(in);
  std::string task = take_string(in);
  std::string message = take_string(in);
  if (kind == 0)
    return std::make_exception_ptr(task_error(std::move(task), std::move(message), rank));
  return std::make_exception_ptr(error(fmt::format("rank {} failed: {}", rank, message)));
}

}  // namespace

struct DistributedRun::PendingSend {
  Value value;  // keeps the segments alive
  std::vector<std::byte> message;
  std::int64_t pending = 0;
};

struct DistributedRun::PendingRecv {
  TaskId task = -1;
  std::uint32_t seq = 0;
  int source = 0;
  std::vector<std::byte> header;
  std::vector<Segment> segments;
  std::int64_t pending = 0;
  std::vector<std::size_t> drain;  // pieces still to receive and throw away, last first
  bool drained = false;            // its buffers could not be allocated
};

DistributedRun::DistributedRun(ThreadPool& pool, const TaskGraph& graph, Channels channels,
                               std::span<const std::int32_t> owner, std::span<const TaskId> outputs,
                               const OutputDestinations& destinations, std::uint32_t seq)
    : m_graph(graph), m_ch(channels), m_seq(seq) {
  m_run =
      std::make_unique<DataflowRun>(pool, graph, build_plan(owner, outputs, destinations), this);
}

DistributedRun::~DistributedRun() = default;

RunPlan DistributedRun::build_plan(std::span<const std::int32_t> owner,
                                   std::span<const TaskId> outputs,
                                   const OutputDestinations& destinations) {
  const int me = m_ch.rank;
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
        for (int r = 0; r < m_ch.size; ++r)
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
  {
    std::lock_guard lock(m_mutex);
    m_outgoing.emplace_back(id, value);
  }
  m_cv.notify_one();
}

void DistributedRun::wake() noexcept {
  {
    std::lock_guard lock(m_mutex);
    m_woken = true;
  }
  m_cv.notify_one();
}

void DistributedRun::job_done(ThreadPool::WaitGroup& jobs, bool failed) noexcept {
  // Under m_mutex: run() takes it after it saw the run idle and before it ends the run, so this
  // worker is out of the lock (and touches nothing of the run) before the run can go away.
  std::lock_guard lock(m_mutex);
  jobs.done();
  chaos_point();  // the driver may see the run idle now, but cannot end it before we unlock
  // Wake the driver only when it has something to see (waking it per job would cost a system
  // call per job); it also polls.
  if (jobs.pending() == 1 || failed) {
    m_woken = true;
    m_cv.notify_one();
  }
}

void DistributedRun::idle_wait(int rounds) {
  // While messages are in flight (values expected, requests live, or the closing allreduce)
  // the other side's progress depends on ours: keep polling, yielding the core to workers,
  // for a while before sleeping, and sleep briefly. When only local workers can make
  // progress, sleep longer: they wake us when they hand over a value or run out of work.
  const bool in_flight = m_expected > 0 || m_live_requests > 0 || m_closing;
  if (rounds < (in_flight ? 256 : 8)) {
    std::this_thread::yield();
    return;
  }
  // Incoming messages do not wake us (MPI is polled), hence the timeouts.
  const auto timeout =
      std::chrono::microseconds(in_flight ? 20 : std::min(200, 10 << std::min(rounds - 8, 5)));
  std::unique_lock lock(m_mutex);
  m_cv.wait_for(lock, timeout, [&] { return m_woken || !m_outgoing.empty(); });
  m_woken = false;
}

void DistributedRun::post(MPI_Request request, bool send, std::size_t record) {
  m_requests.push_back(request);
  m_request_info.push_back({send, record});
  ++m_live_requests;
}

void DistributedRun::send_value(TaskId id, const Value& value) {
  const auto it = std::lower_bound(m_publish_tasks.begin(), m_publish_tasks.end(), id);
  const auto i = static_cast<std::size_t>(it - m_publish_tasks.begin());
  const std::span<const int> dests(m_dest_ranks.data() + m_dest_offset[i],
                                   m_dest_offset[i + 1] - m_dest_offset[i]);
  WireValue wire;
  try {
    wire = encode(value);
  } catch (const std::exception& e) {
    throw task_error(m_graph.name(id), e.what(), m_ch.rank);
  }
  std::size_t total = 0;
  for (const auto& s : wire.segments) total += s.size();
  const bool inline_data = total <= kInlineBytes;
  PendingSend& rec = m_sends.emplace_back();
  const ControlHeader h{MessageKind::value, m_seq, id, inline_data ? 1u : 0u};
  append(rec.message, &h, sizeof h);
  const std::uint64_t header_size = wire.header.size();
  append(rec.message, &header_size, sizeof header_size);
  append(rec.message, wire.header.data(), wire.header.size());
  if (inline_data) {
    for (const auto& s : wire.segments) append(rec.message, s.data(), s.size());
  } else {
    rec.value = value;  // the segments point into it
  }
  const std::size_t record = m_sends.size() - 1;
  for (int dest : dests) {
    MPI_Request r;
    check_mpi(MPI_Issend(rec.message.data(), static_cast<int>(rec.message.size()), MPI_BYTE, dest,
                         0, m_ch.ctrl, &r),
              "MPI_Issend");
    post(r, true, record);
    ++rec.pending;
    if (!inline_data) {
      for (const auto& s : wire.segments) {
        for (std::size_t off = 0; off < s.size(); off += kMaxPiece) {
          const auto n = static_cast<int>(std::min(kMaxPiece, s.size() - off));
          check_mpi(MPI_Isend(s.data() + off, n, MPI_BYTE, dest, data_tag(id), m_ch.data, &r),
                    "MPI_Isend");
          post(r, true, record);
          ++rec.pending;
        }
      }
    }
    ++m_stats.values_sent;
    m_stats.bytes_sent += static_cast<std::int64_t>(total);
  }
}

void DistributedRun::send_abort() {
  m_abort_sent = true;
  PendingSend& rec = m_sends.emplace_back();
  const ControlHeader h{MessageKind::abort, m_seq, -1, 0};
  append(rec.message, &h, sizeof h);
  const auto e = encode_error(m_run->error());
  append(rec.message, e.data(), e.size());
  const std::size_t record = m_sends.size() - 1;
  for (int r = 0; r < m_ch.size; ++r) {
    if (r == m_ch.rank) continue;
    MPI_Request req;
    check_mpi(MPI_Issend(rec.message.data(), static_cast<int>(rec.message.size()), MPI_BYTE, r, 0,
                         m_ch.ctrl, &req),
              "MPI_Issend");
    post(req, true, record);
    ++rec.pending;
  }
}

bool DistributedRun::drain_outgoing() {
  std::vector<std::pair<TaskId, Value>> batch;
  {
    std::lock_guard lock(m_mutex);
    if (m_outgoing.empty()) return false;
    batch.swap(m_outgoing);
  }
  for (auto& [id, value] : batch) {
    // After a failure nobody needs values any more: the other ranks are told to stop.
    if (!m_run->failed()) send_value(id, value);
  }
  return true;
}

bool DistributedRun::receive_messages() {
  bool any = false;
  for (;;) {
    int flag = 0;
    MPI_Message message;
    MPI_Status status;
    check_mpi(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, m_ch.ctrl, &flag, &message, &status),
              "MPI_Improbe");
    if (!flag) return any;
    int count = 0;
    check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    std::vector<std::byte> buffer(static_cast<std::size_t>(count));
    check_mpi(MPI_Mrecv(buffer.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE), "MPI_Mrecv");
    handle_control(std::move(buffer), status.MPI_SOURCE);
    any = true;
  }
}

void DistributedRun::handle_control(std::vector<std::byte> message, int source) {
  std::span<const std::byte> in(message);
  const auto h = take<ControlHeader>(in);
  if (h.kind == MessageKind::abort) {
    if (h.seq == m_seq) {
      m_remote_error = decode_error(in, source);
      m_run->fail(m_remote_error);
    }
    return;
  }
  const auto header_size = static_cast<std::size_t>(take<std::uint64_t>(in));
  if (in.size() < header_size) throw graph_error("truncated message between ranks");
  PendingRecv& r = m_recvs.emplace_back();
  r.task = h.task;
  r.seq = h.seq;
  r.source = source;
  r.header.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(header_size));
  in = in.subspan(header_size);
  const auto sizes = segment_sizes(r.header);
  const std::size_t record = m_recvs.size() - 1;
  try {
    for (std::size_t size : sizes) r.segments.push_back(allocate_segment(size));
  } catch (const std::bad_alloc&) {
    r.segments.clear();
    std::size_t total = 0;
    for (std::size_t size : sizes) total += size;
    m_run->fail(std::make_exception_ptr(task_error(
        m_graph.name(h.task),
        fmt::format("out of memory: cannot allocate {} bytes ({:.1f} MiB) to receive this "
                    "task's value from rank {}",
                    total, static_cast<double>(total) / (1 << 20), source),
        m_ch.rank)));
    r.drained = true;
    if (h.inline_data) return;  // nothing else to receive
    // The sender's pieces must still be received, or its sends never complete.
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
      const std::size_t size = *it;
      const std::size_t pieces = (size + kMaxPiece - 1) / kMaxPiece;
      for (std::size_t k = pieces; k-- > 0;) {
        r.drain.push_back(std::min(kMaxPiece, size - k * kMaxPiece));
      }
    }
    post_drain(r, record);
    return;
  }
  for (Segment& s : r.segments) {
    if (h.inline_data) {
      if (in.size() < s.size) throw graph_error("truncated message between ranks");
      std::memcpy(s.data, in.data(), s.size);
      in = in.subspan(s.size);
    } else {
      for (std::size_t off = 0; off < s.size; off += kMaxPiece) {
        const auto n = static_cast<int>(std::min(kMaxPiece, s.size - off));
        MPI_Request req;
        check_mpi(MPI_Irecv(s.data + off, n, MPI_BYTE, source, data_tag(h.task), m_ch.data, &req),
                  "MPI_Irecv");
        post(req, false, record);
        ++r.pending;
      }
    }
  }
  if (r.pending == 0) finish_receive(r);
}

void DistributedRun::post_drain(PendingRecv& r, std::size_t record) {
  if (r.drain.empty()) return;
  const auto n = static_cast<int>(r.drain.back());
  r.drain.pop_back();
  MPI_Request req;
  check_mpi(MPI_Irecv(g_drain_scratch, n, MPI_BYTE, r.source, data_tag(r.task), m_ch.data, &req),
            "MPI_Irecv");
  post(req, false, record);
  ++r.pending;
}

void DistributedRun::finish_receive(PendingRecv& r) {
  std::vector<Segment> segments = std::move(r.segments);
  std::vector<std::byte> header = std::move(r.header);
  // A value nobody waits for any more, or one thrown away.
  if (r.seq != m_seq || m_run->failed() || r.drained) return;
  Value v = decode(header, std::move(segments));
  ++m_stats.values_received;
  --m_expected;
  m_run->deliver(r.task, std::move(v));
}

bool DistributedRun::test_requests() {
  if (m_live_requests == 0) return false;
  thread_local std::vector<int> done;
  done.resize(m_requests.size());
  int count = 0;
  check_mpi(MPI_Testsome(static_cast<int>(m_requests.size()), m_requests.data(), &count,
                         done.data(), MPI_STATUSES_IGNORE),
            "MPI_Testsome");
  if (count == MPI_UNDEFINED || count == 0) return false;
  for (int k = 0; k < count; ++k) {
    const Request info =
        m_request_info[static_cast<std::size_t>(done[static_cast<std::size_t>(k)])];
    --m_live_requests;
    if (info.send) {
      PendingSend& s = m_sends[info.record];
      if (--s.pending == 0) {
        s.value = Value();
        s.message = {};
      }
    } else {
      PendingRecv& r = m_recvs[info.record];
      if (--r.pending > 0) continue;
      if (r.drain.empty()) {
        finish_receive(r);
      } else {
        post_drain(r, info.record);  // one piece at a time through the one scratch buffer
      }
    }
  }
  // Completed requests are MPI_REQUEST_NULL now; compact once they dominate.
  if (m_live_requests == 0) {
    m_requests.clear();
    m_request_info.clear();
  } else if (m_requests.size() > 64 &&
             m_requests.size() > 4 * static_cast<std::size_t>(m_live_requests)) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < m_requests.size(); ++i) {
      if (m_requests[i] == MPI_REQUEST_NULL) continue;
      m_requests[out] = m_requests[i];
      m_request_info[out] = m_request_info[i];
      ++out;
    }
    m_requests.resize(out);
    m_request_info.resize(out);
  }
  return true;
}

bool DistributedRun::progress() {
  bool did = false;
  try {
    did |= drain_outgoing();
    did |= receive_messages();
    did |= test_requests();
  } catch (...) {
    // E.g. a value that cannot be encoded: this rank's failure, like a task's.
    m_run->fail(std::current_exception());
    did = true;
  }
  // Checked after the work above, so that a failure it raised is announced in the same round,
  // before the run can look finished.
  if (failed_here() && !m_abort_sent) {
    try {
      send_abort();
    } catch (...) {
      // MPI itself failed: the run's error is recorded already; nothing better can be done.
    }
    did = true;
  }
  return did;
}

bool DistributedRun::failed_here() const {
  const std::exception_ptr e = m_run->error();
  return e && e != m_remote_error;
}

void DistributedRun::run() {
  m_run->start();
  // Phase 1: this rank's share, until everything here is done and every send matched.
  for (int rounds = 0;;) {
    const bool did = progress();
    chaos_point();  // a task may fail between progress() and the test below
    if (m_run->idle() && (m_expected == 0 || m_run->failed()) && m_live_requests == 0) {
      // Idle, so no task can fail any more; one that failed after progress() looked is
      // announced first (next round), or the ranks waiting for its values would wait forever.
      if (failed_here() && !m_abort_sent) continue;
      // Taking the lock also waits out the worker that made the run idle (job_done).
      std::lock_guard lock(m_mutex);
      if (m_outgoing.empty()) break;
    }
    rounds = did ? 0 : rounds + 1;
    if (!did) idle_wait(rounds);
  }
  m_run->finish();
  // Phase 2: agree that every rank is done (receiving meanwhile whatever was still sent to us
  // before the sender learned of a failure), and on the lowest rank that failed.
  const int mine = failed_here() ? m_ch.rank : INT_MAX;
  m_closing = true;
  int agreed = INT_MAX;
  MPI_Request barrier;
  check_mpi(MPI_Iallreduce(&mine, &agreed, 1, MPI_INT, MPI_MIN, m_ch.coll, &barrier),
            "MPI_Iallreduce");
  for (int rounds = 0;;) {
    int flag = 0;
    check_mpi(MPI_Test(&barrier, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag && m_live_requests == 0) break;
    bool did = false;
    try {
      const bool received = receive_messages();
      did = test_requests() || received;
    } catch (...) {
      // Failing now cannot change the agreement; the run's result is discarded on failure.
    }
    rounds = did ? 0 : rounds + 1;
    if (!did) idle_wait(rounds);
  }
  // Phase 1 ends with every expected value delivered unless the run failed somewhere.
  if (agreed != INT_MAX) throw_agreed_error(agreed);
}

void DistributedRun::throw_agreed_error(int failed_rank) {
  std::vector<std::byte> text;
  if (failed_rank == m_ch.rank) text = encode_error(m_run->error());
  std::uint64_t size = text.size();
  check_mpi(MPI_Bcast(&size, 1, MPI_UINT64_T, failed_rank, m_ch.coll), "MPI_Bcast");
  text.resize(static_cast<std::size_t>(size));
  check_mpi(MPI_Bcast(text.data(), static_cast<int>(size), MPI_BYTE, failed_rank, m_ch.coll),
            "MPI_Bcast");
  std::rethrow_exception(decode_error(text, failed_rank));
}

}  // namespace tessera::detail
