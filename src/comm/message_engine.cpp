#include "comm/message_engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <new>

#include "core/spin_wait.hpp"
#include "tessera/comm/mpi_error.hpp"

namespace tessera::comm {

using detail::check_mpi;

namespace {

/// Where a receiver that cannot allocate a message's bulk receives its pieces, to throw them
/// away: static, because allocating is what just failed.
alignas(64) std::byte g_drain_scratch[MessageEngine::kMaxPiece];
/// Held by the engine that has a receive pending into g_drain_scratch: MPI forbids pending
/// receives whose buffers overlap, so the process drains one piece at a time.
std::atomic<bool> g_drain_taken{false};

}  // namespace

/// Messages queued for one destination, batch by batch.
struct MessageEngine::Peer {
  struct BulkPiece {
    std::span<const std::byte> bytes;
    std::uint32_t number;
  };
  struct Batch {
    WireWriter writer;
    std::vector<BulkPiece> bulk;
    std::vector<std::shared_ptr<const void>> keep;
    std::array<std::int64_t, kNumChannels> records{};
  };
  std::deque<Batch> queued;       // guarded by m_queue_mutex
  std::uint32_t next_number = 0;  // guarded by m_queue_mutex
  int in_flight = 0;              // driving thread
};

/// A batch in flight: its bytes and whatever keeps its bulk alive, until every request is done.
struct MessageEngine::SendBatch {
  int peer = -1;
  std::vector<std::byte> bytes;
  std::vector<std::shared_ptr<const void>> keep;
  std::array<std::int64_t, kNumChannels> records{};
  std::int64_t requests = 0;
};

/// A record whose bulk is still arriving.
struct MessageEngine::Receive {
  Message message;
  std::uint32_t number = 0;
  std::int64_t requests = 0;
  std::vector<std::size_t> drain;  // pieces still to receive and throw away, last first
};

namespace {

/// TESSERA_COLLECTIVE_TIMEOUT in seconds; 0 when unset.
double collective_timeout() {
  const char* text = std::getenv("TESSERA_COLLECTIVE_TIMEOUT");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const double s = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(s > 0) || !std::isfinite(s)) {
    throw value_error(fmt::format(
        "TESSERA_COLLECTIVE_TIMEOUT must be a positive number of seconds, got '{}'", text));
  }
  return s;
}

enum class ControlKind : std::uint8_t { leaving = 0, where = 1, here = 2 };

void put_string(WireWriter& w, const std::string& s) {
  w.put_bytes(std::as_bytes(std::span(s.data(), s.size())));
}

std::string get_string(WireReader& r) {
  const auto b = r.get_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string rank_list(const std::vector<int>& ranks) {
  std::string out = ranks.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : ", ", ranks[i]);
  }
  return out;
}

}  // namespace

MessageEngine::MessageEngine(const Communicator& comm)
    : m_ctrl(comm.dup()), m_data(comm.dup()), m_coll(comm.dup()) {
  m_timeout_s = collective_timeout();
  m_departed.resize(static_cast<std::size_t>(m_coll.size()));
  m_where.resize(static_cast<std::size_t>(m_coll.size()));
  set_handler(Channel::control, 0, [this](Message&& m) { on_control(std::move(m)); });
  int* value = nullptr;
  int flag = 0;
  check_mpi(MPI_Comm_get_attr(m_data.native(), MPI_TAG_UB, &value, &flag), "MPI_Comm_get_attr");
  if (flag && value) m_data_tag_ub = *value;
  m_peers.resize(static_cast<std::size_t>(m_coll.size()));
  for (auto& p : m_peers) p = std::make_unique<Peer>();
  // More ranks than cores on this node: a rank that spins keeps the rank it waits for off
  // the core, so waiting ranks yield at once.
  const auto cores = std::thread::hardware_concurrency();
  m_spin_rounds =
      cores > 0 && static_cast<unsigned>(comm.ranks_on_node()) <= cores ? kSpinRounds : 0;
}

MessageEngine::~MessageEngine() {
  {
    std::lock_guard lock(m_queue_mutex);
    if (m_background_users > 0) {
      m_background_users = 1;
    }
  }
  if (m_background.joinable()) stop_background();
  if (!m_left) {
    try {
      leave(std::uncaught_exceptions() > 0
                ? "left while an exception unwound its stack (its Tessera scheduler was "
                  "destroyed)"
                : "left (its Tessera scheduler was destroyed: returned from main, or an "
                  "exception was caught and main returned)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tessera: rank %d: leaving failed: %s\n", rank(), e.what());
    }
  }
  // Only after MPI itself failed: MPI may still write into an agreement nobody waited for, and
  // a collective cannot be cancelled, so it is left alive.
  if (m_open_agreement) new std::shared_ptr<Agreement>(std::move(m_open_agreement));
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  // Requests still live belong to a run that failed on MPI itself; cancel what can be.
  for (MPI_Request& r : m_requests) {
    if (r != MPI_REQUEST_NULL) {
      MPI_Cancel(&r);
      MPI_Request_free(&r);
    }
  }
  release_drain();
}

void MessageEngine::set_handler(Channel channel, std::uint32_t stream, Handler handler) {
  // The handler tables are the driver's: a client comes or goes while another client's
  // background thread delivers messages.
  const std::lock_guard drive(m_drive_mutex);
  const StreamKey key{channel, stream};
  if (!handler) {
    m_handlers.erase(key);
    return;
  }
  m_handlers[key] = std::move(handler);
  const auto it = m_unhandled.find(key);
  if (it == m_unhandled.end()) return;
  std::deque<Message> early = std::move(it->second);
  m_unhandled.erase(it);
  for (Message& m : early) deliver(std::move(m));
}

int MessageEngine::bulk_tag(std::uint32_t number) const noexcept {
  return static_cast<int>(number % (static_cast<std::uint64_t>(m_data_tag_ub) + 1));
}

void MessageEngine::send(Channel channel, std::uint32_t stream, std::span<const int> dests,
                         std::span<const std::byte> head,
                         std::span<const std::span<const std::byte>> bulk,
                         std::shared_ptr<const void> keep) {
  std::size_t total = 0;
  for (const auto& s : bulk) total += s.size();
  const bool inline_bulk = total <= kInlineBytes;
  {
    std::lock_guard lock(m_queue_mutex);
    for (int dest : dests) {
      Peer& peer = *m_peers.at(static_cast<std::size_t>(dest));
      if (peer.queued.empty() ||
          peer.queued.back().writer.header().size() + head.size() + (inline_bulk ? total : 0) >
              kMaxBatchBytes) {
        peer.queued.emplace_back();
        m_queued_batches.fetch_add(1, std::memory_order_relaxed);
      }
      Peer::Batch& batch = peer.queued.back();
      WireWriter& w = batch.writer;
      const std::uint32_t number = inline_bulk ? 0 : peer.next_number++;
      w.put<std::uint8_t>(static_cast<std::uint8_t>(channel));
      w.put<std::uint32_t>(stream);
      w.put<std::uint8_t>(inline_bulk ? 1 : 0);
      w.put<std::uint32_t>(number);
      w.put<std::uint64_t>(bulk.size());
      for (const auto& s : bulk) w.put<std::uint64_t>(s.size());
      w.put_bytes(head);
      if (inline_bulk) {
        for (const auto& s : bulk) w.header().insert(w.header().end(), s.begin(), s.end());
      } else {
        for (const auto& s : bulk) batch.bulk.push_back({s, number});
        if (keep) batch.keep.push_back(keep);
      }
      ++batch.records[static_cast<std::size_t>(channel)];
      m_pending[static_cast<std::size_t>(channel)].fetch_add(1, std::memory_order_acq_rel);
    }
    m_woken = true;
  }
  m_cv.notify_one();
}

void MessageEngine::wake() noexcept {
  std::lock_guard lock(m_queue_mutex);
  wake_locked();
}

void MessageEngine::wake_locked() noexcept {
  m_woken = true;
  m_cv.notify_one();
}

void MessageEngine::wait(std::chrono::microseconds timeout) {
  std::unique_lock lock(m_queue_mutex);
  m_cv.wait_for(lock, timeout, [&] { return m_woken; });
  m_woken = false;
}

void MessageEngine::post(MPI_Request request, RequestKind kind, std::size_t slot) {
  m_requests.push_back(request);
  m_request_info.push_back({kind, slot});
  ++m_live_requests;
}

namespace {
/// A free index of `slots` (reused from `free`, else a new element at the end).
template <class T>
std::size_t take_slot(std::vector<T>& slots, std::vector<std::size_t>& free) {
  if (!free.empty()) {
    const std::size_t s = free.back();
    free.pop_back();
    return s;
  }
  slots.emplace_back();
  return slots.size() - 1;
}
}  // namespace

std::size_t MessageEngine::new_send_slot() { return take_slot(m_send_slots, m_free_send_slots); }

std::size_t MessageEngine::new_receive_slot() {
  return take_slot(m_receive_slots, m_free_receive_slots);
}

bool MessageEngine::flush_batches() {
  if (m_queued_batches.load(std::memory_order_relaxed) == 0) return false;
  struct Ready {
    int peer;
    Peer::Batch batch;
  };
  std::vector<Ready> ready;
  {
    std::lock_guard lock(m_queue_mutex);
    for (std::size_t p = 0; p < m_peers.size(); ++p) {
      Peer& peer = *m_peers[p];
      while (!peer.queued.empty() && peer.in_flight < kMaxBatchesInFlight) {
        ready.push_back({static_cast<int>(p), std::move(peer.queued.front())});
        peer.queued.pop_front();
        ++peer.in_flight;
        m_queued_batches.fetch_sub(1, std::memory_order_relaxed);
      }
    }
  }
  for (Ready& r : ready) {
    const std::size_t slot = new_send_slot();
    SendBatch& b = m_send_slots[slot];
    b.peer = r.peer;
    b.bytes = std::move(r.batch.writer.header());
    b.keep = std::move(r.batch.keep);
    b.records = r.batch.records;
    b.requests = 0;
    if (b.bytes.size() > static_cast<std::size_t>(INT_MAX)) {
      throw transport_error(fmt::format("a batch of {} bytes for rank {} is over MPI's 2 GiB",
                                        b.bytes.size(), r.peer));
    }
    MPI_Request req;
    check_mpi(MPI_Isend(b.bytes.data(), static_cast<int>(b.bytes.size()), MPI_BYTE, r.peer, 0,
                        m_ctrl.native(), &req),
              "MPI_Isend");
    post(req, RequestKind::batch, slot);
    ++b.requests;
    for (const Peer::BulkPiece& piece : r.batch.bulk) {
      for (std::size_t off = 0; off < piece.bytes.size(); off += kMaxPiece) {
        const auto n = static_cast<int>(std::min(kMaxPiece, piece.bytes.size() - off));
        check_mpi(MPI_Isend(piece.bytes.data() + off, n, MPI_BYTE, r.peer, bulk_tag(piece.number),
                            m_data.native(), &req),
                  "MPI_Isend");
        post(req, RequestKind::bulk_send, slot);
        ++b.requests;
      }
    }
  }
  return !ready.empty();
}

bool MessageEngine::receive_batches() {
  bool any = false;
  for (;;) {
    int flag = 0;
    MPI_Message message;
    MPI_Status status;
    check_mpi(MPI_Improbe(MPI_ANY_SOURCE, 0, m_ctrl.native(), &flag, &message, &status),
              "MPI_Improbe");
    if (!flag) return any;
    int count = 0;
    check_mpi(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    std::vector<std::byte> buffer(static_cast<std::size_t>(count));
    check_mpi(MPI_Mrecv(buffer.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE), "MPI_Mrecv");
    unpack_batch(std::move(buffer), status.MPI_SOURCE);
    any = true;
  }
}

void MessageEngine::unpack_batch(std::vector<std::byte> bytes, int source) {
  WireReader in(bytes, {});
  try {
    while (in.remaining() > 0) {
      Message m;
      m.source = source;
      const auto channel = in.get<std::uint8_t>();
      if (channel >= kNumChannels) throw value_error(fmt::format("unknown channel {}", channel));
      m.channel = static_cast<Channel>(channel);
      m.stream = in.get<std::uint32_t>();
      const bool inline_bulk = in.get<std::uint8_t>() != 0;
      const auto number = in.get<std::uint32_t>();
      const auto count = in.get<std::uint64_t>();
      if (count > in.remaining() / sizeof(std::uint64_t)) throw value_error("bad segment count");
      std::vector<std::size_t> sizes(static_cast<std::size_t>(count));
      for (auto& s : sizes) s = static_cast<std::size_t>(in.get<std::uint64_t>());
      const auto head = in.get_bytes();
      m.head.assign(head.begin(), head.end());
      if (inline_bulk) {
        for (std::size_t size : sizes) {
          Segment s = allocate_segment(size);
          const auto bytes_in = in.get_raw(size);
          if (size > 0) std::memcpy(s.data, bytes_in.data(), size);
          m.bulk.push_back(std::move(s));
        }
        deliver(std::move(m));
        continue;
      }
      // Bulk on `data`: receive it straight into the value's own buffers.
      const std::size_t slot = new_receive_slot();
      Receive& r = m_receive_slots[slot];
      r.number = number;
      r.requests = 0;
      r.drain.clear();
      m_pending[channel].fetch_add(1, std::memory_order_acq_rel);
      try {
        for (std::size_t size : sizes) m.bulk.push_back(allocate_segment(size));
      } catch (const std::bad_alloc&) {
        m.bulk.clear();
        for (std::size_t size : sizes) m.lost_bytes += size;
        // The sender's pieces must still be received, or its sends never complete.
        for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
          const std::size_t size = *it;
          for (std::size_t k = (size + kMaxPiece - 1) / kMaxPiece; k-- > 0;) {
            r.drain.push_back(std::min(kMaxPiece, size - k * kMaxPiece));
          }
        }
        r.message = std::move(m);
        if (r.drain.empty()) {
          finish_receive(slot);
        } else {
          m_drain_waiting.push_back(slot);
          start_drain();
        }
        continue;
      }
      for (Segment& s : m.bulk) {
        for (std::size_t off = 0; off < s.size; off += kMaxPiece) {
          const auto n = static_cast<int>(std::min(kMaxPiece, s.size - off));
          MPI_Request req;
          check_mpi(
              MPI_Irecv(s.data + off, n, MPI_BYTE, source, bulk_tag(number), m_data.native(), &req),
              "MPI_Irecv");
          post(req, RequestKind::bulk_recv, slot);
          ++r.requests;
        }
      }
      r.message = std::move(m);
      if (r.requests == 0) finish_receive(slot);
    }
  } catch (const value_error& e) {
    throw transport_error(fmt::format("malformed message from rank {}: {}", source, e.what()));
  }
}

bool MessageEngine::start_drain() {
  if (m_drain_holding || m_drain_waiting.empty()) return false;
  if (g_drain_taken.exchange(true, std::memory_order_acquire)) return false;  // another engine
  m_drain_holding = true;
  const std::size_t slot = m_drain_waiting.front();
  m_drain_waiting.pop_front();
  Receive& r = m_receive_slots[slot];
  const auto n = static_cast<int>(r.drain.back());
  r.drain.pop_back();
  MPI_Request req;
  check_mpi(MPI_Irecv(g_drain_scratch, n, MPI_BYTE, r.message.source, bulk_tag(r.number),
                      m_data.native(), &req),
            "MPI_Irecv");
  post(req, RequestKind::drain, slot);
  ++r.requests;
  return true;
}

void MessageEngine::release_drain() noexcept {
  if (!m_drain_holding) return;
  m_drain_holding = false;
  g_drain_taken.store(false, std::memory_order_release);
}

void MessageEngine::finish_receive(std::size_t slot) {
  Message m = std::move(m_receive_slots[slot].message);
  m_receive_slots[slot].message = Message();
  m_free_receive_slots.push_back(slot);
  m_pending[static_cast<std::size_t>(m.channel)].fetch_sub(1, std::memory_order_acq_rel);
  deliver(std::move(m));
}

void MessageEngine::finish_batch(std::size_t slot) {
  SendBatch& b = m_send_slots[slot];
  for (std::size_t c = 0; c < kNumChannels; ++c) {
    m_pending[c].fetch_sub(b.records[c], std::memory_order_acq_rel);
  }
  b.bytes = {};
  b.keep.clear();
  m_free_send_slots.push_back(slot);
}

void MessageEngine::deliver(Message&& message) {
  const StreamKey key{message.channel, message.stream};
  if (const auto it = m_handlers.find(key); it != m_handlers.end()) {
    it->second(std::move(message));
  } else if (message.stream >= m_retired_below[static_cast<std::size_t>(message.channel)]) {
    m_unhandled[key].push_back(std::move(message));
  }
}

void MessageEngine::retire_streams_below(Channel channel, std::uint32_t stream) {
  m_retired_below[static_cast<std::size_t>(channel)] = stream;
  const auto first = m_unhandled.lower_bound({channel, 0});
  const auto last = m_unhandled.lower_bound({channel, stream});
  m_unhandled.erase(first, last);
}

bool MessageEngine::test_requests() {
  if (m_live_requests == 0) return false;
  thread_local std::vector<int> done;
  done.resize(m_requests.size());
  int count = 0;
  check_mpi(MPI_Testsome(static_cast<int>(m_requests.size()), m_requests.data(), &count,
                         done.data(), MPI_STATUSES_IGNORE),
            "MPI_Testsome");
  if (count == MPI_UNDEFINED || count == 0) return false;
  for (int k = 0; k < count; ++k) {
    const RequestInfo info =
        m_request_info[static_cast<std::size_t>(done[static_cast<std::size_t>(k)])];
    --m_live_requests;
    switch (info.kind) {
      case RequestKind::batch:
        --m_peers[static_cast<std::size_t>(m_send_slots[info.slot].peer)]->in_flight;
        [[fallthrough]];
      case RequestKind::bulk_send:
        if (--m_send_slots[info.slot].requests == 0) finish_batch(info.slot);
        break;
      case RequestKind::bulk_recv:
        if (--m_receive_slots[info.slot].requests == 0) finish_receive(info.slot);
        break;
      case RequestKind::drain: {
        release_drain();
        Receive& r = m_receive_slots[info.slot];
        if (--r.requests > 0) break;
        if (r.drain.empty()) {
          finish_receive(info.slot);
        } else {
          m_drain_waiting.push_front(info.slot);  // its next piece first
        }
        start_drain();
        break;
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

bool MessageEngine::start_background() {
  int level = 0;
  check_mpi(MPI_Query_thread(&level), "MPI_Query_thread");
  if (level < MPI_THREAD_MULTIPLE || size() == 1) return false;
  // TESSERA_PROGRESS_THREAD=0: none (a core kept free of polling; values move only while the
  // program's thread is inside Tessera, as without MPI_THREAD_MULTIPLE).
  if (const char* v = std::getenv("TESSERA_PROGRESS_THREAD");
      v != nullptr && std::string(v) == "0") {
    return false;
  }
  std::lock_guard lock(m_queue_mutex);
  if (m_background_users++ == 0) {
    m_background_stop = false;
    m_background = std::thread([this] { background_loop(); });
  }
  return true;
}

void MessageEngine::stop_background() {
  std::thread done;
  {
    std::lock_guard lock(m_queue_mutex);
    if (m_background_users == 0 || --m_background_users > 0) return;
    m_background_stop = true;
    m_woken = true;
    done = std::move(m_background);
  }
  m_cv.notify_all();
  if (done.joinable()) done.join();
}

void MessageEngine::background_loop() {
  for (int rounds = 0;;) {
    {
      std::lock_guard lock(m_queue_mutex);
      if (m_background_stop) return;
    }
    bool did = false;
    try {
      did = progress();
    } catch (const std::exception& e) {
      // Nobody to throw to: the program's thread meets the same fault at its next call.
      std::fprintf(stderr, "tessera: rank %d: background progress stopped: %s\n", rank(), e.what());
      return;
    }
    rounds = did ? 0 : rounds + 1;
    if (did) continue;
    // Messages awaited or in flight: the other side waits for us to match them, so poll
    // often; otherwise sleep until something is sent (arrivals do not wake us: poll slowly).
    const bool hot = busy() || m_expected.load(std::memory_order_relaxed) > 0;
    if (hot && rounds < 16) {
      std::this_thread::yield();
      continue;
    }
    wait(hot ? std::chrono::microseconds(50) : std::chrono::microseconds(2000));
  }
}

bool MessageEngine::progress() {
  std::unique_lock drive(m_drive_mutex, std::try_to_lock);
  if (!drive.owns_lock()) return false;
  bool did = flush_batches();
  did |= receive_batches();
  did |= test_requests();
  did |= start_drain();  // the scratch buffer may have been another engine's until now
  return did;
}

void MessageEngine::flush() {
  for (int rounds = 0; m_queued_batches.load(std::memory_order_relaxed) > 0;) {
    rounds = progress() ? 0 : rounds + 1;
    if (rounds > 0) idle(rounds);
  }
}

// --- collectives ---------------------------------------------------------------------------

void MessageEngine::await(MPI_Request& request, bool leaving) {
  // The calling thread alone calls MPI while it waits in a collective (the background thread,
  // if any, pauses): no two threads ever progress a non-blocking collective at once.
  const auto driving = exclusive_driver();
  wait_request(request, leaving);
  end_collective();
}

void MessageEngine::wait_request(MPI_Request& request, bool leaving) {
  const std::int64_t index = m_collectives - 1;
  const auto t0 = std::chrono::steady_clock::now();
  for (int rounds = 0;;) {
    int flag = 0;
    check_mpi(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) break;
    const bool did = progress();
    watch(index, t0, leaving);
    rounds = did ? 0 : rounds + 1;
    if (!did) idle(rounds);
  }
}

void MessageEngine::watch(std::int64_t index, std::chrono::steady_clock::time_point t0,
                          bool leaving) {
  if (!leaving) check_departures(index);
  if (m_timeout_s > 0) {
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (waited > m_timeout_s) watchdog_expired(index, waited);
  }
}

void MessageEngine::idle(int rounds) {
  if (rounds < m_spin_rounds) {
    detail::cpu_relax();
  } else if (rounds < m_spin_rounds + 256) {
    std::this_thread::yield();
  } else {
    wait(std::chrono::microseconds(20));
  }
}

void MessageEngine::on_control(Message&& message) {
  WireReader in(message.head, {});
  const auto kind = static_cast<ControlKind>(in.get<std::uint8_t>());
  const auto source = static_cast<std::size_t>(message.source);
  std::lock_guard lock(m_control_mutex);
  switch (kind) {
    case ControlKind::leaving: {
      Departure& d = m_departed[source];
      d.after = in.get<std::int64_t>();
      d.reason = get_string(in);
      m_departures.fetch_add(1, std::memory_order_release);
      break;
    }
    case ControlKind::where: {
      WireWriter reply;
      reply.put<std::uint8_t>(static_cast<std::uint8_t>(ControlKind::here));
      reply.put<std::int64_t>(m_in_collective);
      put_string(reply, m_in_collective >= 0 ? m_activity : std::string());
      const int to[] = {message.source};
      send(Channel::control, 0, to, reply.header());
      break;
    }
    case ControlKind::here: {
      Whereabouts& w = m_where[source];
      w.replied = true;
      w.index = in.get<std::int64_t>();
      w.activity = get_string(in);
      break;
    }
    default:
      throw transport_error(fmt::format("unknown control message from rank {}", source));
  }
}

int MessageEngine::departed_by(std::int64_t index) const {
  if (m_departures.load(std::memory_order_acquire) == 0) return -1;
  std::lock_guard lock(m_control_mutex);
  for (int r = 0; r < size(); ++r) {
    const Departure& d = m_departed[static_cast<std::size_t>(r)];
    if (d.after >= 0 && d.after <= index) return r;
  }
  return -1;
}

void MessageEngine::check_departures(std::int64_t index) {
  const int r = departed_by(index);
  if (r < 0) return;
  const Departure& d = m_departed[static_cast<std::size_t>(r)];
  abort_job(fmt::format(
      "rank {} {} after {} collective call(s), while rank {} waits in {} (its collective "
      "call #{}), which rank {} will never join; ending the job",
      r, d.reason, d.after, rank(), m_activity, index + 1, r));
}

void MessageEngine::abort_if_departed() {
  const int r = departed_by(std::numeric_limits<std::int64_t>::max());
  if (r < 0) return;
  abort_job(fmt::format("rank {} {} while rank {} runs {} with it; ending the job", r,
                        m_departed[static_cast<std::size_t>(r)].reason, rank(), m_activity));
}

void MessageEngine::watchdog_expired(std::int64_t index, double waited_s) {
  {
    std::lock_guard lock(m_control_mutex);
    for (auto& w : m_where) w = Whereabouts();
  }
  std::vector<int> others;
  for (int r = 0; r < size(); ++r)
    if (r != rank()) others.push_back(r);
  WireWriter ask;
  ask.put<std::uint8_t>(static_cast<std::uint8_t>(ControlKind::where));
  send(Channel::control, 0, others, ask.header());
  // Ranks inside Tessera answer at once; give them a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!progress()) wait(std::chrono::microseconds(200));
    std::lock_guard lock(m_control_mutex);
    if (std::all_of(others.begin(), others.end(),
                    [&](int r) { return m_where[static_cast<std::size_t>(r)].replied; })) {
      break;
    }
  }
  std::vector<int> missing;
  std::string details;
  {
    std::lock_guard lock(m_control_mutex);
    for (int r : others) {
      const Whereabouts& w = m_where[static_cast<std::size_t>(r)];
      if (w.replied && w.index == index) continue;
      missing.push_back(r);
      if (!w.replied) {
        details += fmt::format("; rank {} does not answer (busy outside Tessera)", r);
      } else if (w.index < 0) {
        details += fmt::format("; rank {} is inside Tessera but in no collective call", r);
      } else {
        details +=
            fmt::format("; rank {} is in {} (its collective call #{})", r, w.activity, w.index + 1);
      }
    }
  }
  if (missing.empty()) {
    abort_job(
        fmt::format("rank {}: {} did not complete within {:.0f} s although every rank is in it "
                    "(TESSERA_COLLECTIVE_TIMEOUT={}); ending the job",
                    rank(), m_activity, waited_s, m_timeout_s));
  }
  abort_job(
      fmt::format("rank {}: {} did not reach {} within {:.0f} s "
                  "(TESSERA_COLLECTIVE_TIMEOUT={}){}; ending the job",
                  rank(), rank_list(missing), m_activity, waited_s, m_timeout_s, details));
}

void MessageEngine::abort_job(const std::string& message) {
  std::fprintf(stderr, "tessera: %s\n", message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; in case it does
}

void MessageEngine::leave(const std::string& reason) {
  if (m_left) return;
  m_left = true;
  std::vector<int> others;
  for (int r = 0; r < size(); ++r)
    if (r != rank()) others.push_back(r);
  WireWriter notice;
  notice.put<std::uint8_t>(static_cast<std::uint8_t>(ControlKind::leaving));
  notice.put<std::int64_t>(m_collectives);
  put_string(notice, reason);
  send(Channel::control, 0, others, notice.header());
  set_activity("leaving (its Tessera scheduler was destroyed)");
  begin_collective();
  MPI_Request request;
  // On `ctrl`, whose only collective this is: a rank still waiting in a collective of `coll`
  // must never have it matched with this barrier.
  check_mpi(MPI_Ibarrier(m_ctrl.native(), &request), "MPI_Ibarrier");
  await(request, true);
  // Every rank sent its notice before it joined the barrier: receive them all (and finish our
  // own sends), so that nothing is left in the communicators about to be freed.
  for (int rounds = 0; m_departures.load() < size() - 1 || pending(Channel::control) > 0;) {
    rounds = progress() ? 0 : rounds + 1;
    idle(rounds);
  }
}

int MessageEngine::agree_min(int mine, Channel channel) {
  int agreed = INT_MAX;
  MPI_Request request;
  begin_collective();
  check_mpi(MPI_Iallreduce(&mine, &agreed, 1, MPI_INT, MPI_MIN, m_coll.native(), &request),
            "MPI_Iallreduce");
  await(request, false);
  // Every rank is done sending; finish what is still on its way to or from here.
  for (int rounds = 0; pending(channel) > 0;) {
    rounds = progress() ? 0 : rounds + 1;
    idle(rounds);
  }
  return agreed;
}

bool MessageEngine::all_equal(std::uint64_t v) { return finish(*start_all_equal(v)); }

std::shared_ptr<Agreement> MessageEngine::start_all_equal(std::uint64_t v) {
  // max(v) == min(v), in one allreduce: min(v) is ~max(~v).
  auto a = std::make_shared<Agreement>();
  a->m_in[0] = v;
  a->m_in[1] = ~v;
  begin_collective();
  a->m_index = m_collectives - 1;
  a->m_started = std::chrono::steady_clock::now();
  check_mpi(
      MPI_Iallreduce(a->m_in, a->m_out, 2, MPI_UINT64_T, MPI_MAX, m_coll.native(), &a->m_request),
      "MPI_Iallreduce");
  m_open_agreement = a;
  return a;
}

bool MessageEngine::test(Agreement& a) {
  if (a.m_known) return true;
  int flag = 0;
  check_mpi(MPI_Test(&a.m_request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  if (!flag) {
    watch(a.m_index, a.m_started, false);
    return false;
  }
  end_collective();
  settle(a);
  return true;
}

bool MessageEngine::finish(Agreement& a) {
  if (!a.m_known) {
    await(a.m_request, false);
    settle(a);
  }
  return a.equal();
}

void MessageEngine::settle(Agreement& a) {
  a.m_known = true;
  if (m_open_agreement.get() == &a) m_open_agreement.reset();
}

std::vector<std::uint64_t> MessageEngine::allgather(std::uint64_t v) {
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size()));
  MPI_Request request;
  begin_collective();
  check_mpi(
      MPI_Iallgather(&v, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, m_coll.native(), &request),
      "MPI_Iallgather");
  await(request, false);
  return all;
}

namespace {

/// MPI's int counts and displacements for `sizes` bytes from each rank, one after the other.
struct GatherLayout {
  std::vector<int> counts, displs;
  std::size_t total = 0;
};

/// transport_error, naming `what`, past MPI's int counts (2 GiB in all).
GatherLayout gather_layout(const std::vector<std::uint64_t>& sizes, const char* what) {
  GatherLayout l{std::vector<int>(sizes.size()), std::vector<int>(sizes.size())};
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    l.displs[r] = static_cast<int>(total);
    l.counts[r] = static_cast<int>(sizes[r]);
    total += sizes[r];
    if (total > static_cast<std::uint64_t>(INT_MAX)) {
      throw transport_error(
          fmt::format("{}: more than 2 GiB in all ({} bytes with rank {}'s)", what, total, r));
    }
  }
  l.total = static_cast<std::size_t>(total);
  return l;
}

/// Each rank's part of `all`.
std::vector<std::vector<std::byte>> split(const std::vector<std::byte>& all,
                                          const GatherLayout& l) {
  std::vector<std::vector<std::byte>> out(l.counts.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].assign(all.begin() + l.displs[r], all.begin() + l.displs[r] + l.counts[r]);
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::byte>> MessageEngine::allgather_bytes(
    std::span<const std::byte> mine) {
  const GatherLayout l = gather_layout(allgather(mine.size()), "allgather_bytes");
  std::vector<std::byte> all(l.total);
  MPI_Request request;
  begin_collective();
  check_mpi(MPI_Iallgatherv(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                            l.counts.data(), l.displs.data(), MPI_BYTE, m_coll.native(), &request),
            "MPI_Iallgatherv");
  await(request, false);
  return split(all, l);
}

void MessageEngine::bcast_bytes(std::vector<std::byte>& data, int root) {
  std::uint64_t size = data.size();
  MPI_Request request;
  begin_collective();
  check_mpi(MPI_Ibcast(&size, 1, MPI_UINT64_T, root, m_coll.native(), &request), "MPI_Ibcast");
  await(request, false);
  data.resize(static_cast<std::size_t>(size));
  for (std::size_t done = 0; done < data.size(); done += kMaxPiece) {
    const auto n = static_cast<int>(std::min(kMaxPiece, data.size() - done));
    begin_collective();
    check_mpi(MPI_Ibcast(data.data() + done, n, MPI_BYTE, root, m_coll.native(), &request),
              "MPI_Ibcast");
    await(request, false);
  }
}

std::vector<std::vector<std::byte>> MessageEngine::gather_bytes(std::span<const std::byte> mine,
                                                                int root) {
  // Every rank learns the sizes, so that every rank raises alike.
  const GatherLayout l = gather_layout(allgather(mine.size()), "gather_bytes");
  std::vector<std::byte> all(rank() == root ? l.total : 0);
  MPI_Request request;
  begin_collective();
  check_mpi(
      MPI_Igatherv(mine.data(), static_cast<int>(mine.size()), MPI_BYTE, all.data(),
                   l.counts.data(), l.displs.data(), MPI_BYTE, root, m_coll.native(), &request),
      "MPI_Igatherv");
  await(request, false);
  if (rank() != root) return {};
  return split(all, l);
}

namespace {

/// Identifies the running kernel (its boot id): processes under one kernel read one steady
/// clock (CLOCK_MONOTONIC), whichever namespaces they run in.
std::uint64_t kernel_id() {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the boot id
  if (std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    for (int c; (c = std::fgetc(f)) != EOF;)
      h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    std::fclose(f);
  } else {
    h ^= static_cast<std::uint64_t>(::getpid());  // unknown: assume a clock of its own
  }
  return h;
}

}  // namespace

std::vector<std::int64_t> MessageEngine::steady_clock_offsets(bool ping_every_rank) {
  // Ranks under rank 0's kernel share its clock: offset 0. For each other kernel, rank 0 pings
  // its lowest rank, which answers with its clock (Cristian's method); of a few round trips,
  // the shortest bounds the error best (half its length). Its kernel's other ranks share it.
  const auto kernels = allgather(kernel_id());
  std::vector<int> leader(kernels.size());
  for (std::size_t r = 0; r < kernels.size(); ++r) {
    leader[r] = static_cast<int>(r);
    for (std::size_t q = 0; q < r; ++q) {
      if (kernels[q] == kernels[r]) {
        leader[r] = leader[q];
        break;
      }
    }
  }
  const auto pinged = [&](int r) {
    const auto k = static_cast<std::size_t>(r);
    return ping_every_rank || (leader[k] == r && kernels[k] != kernels[0]);
  };
  constexpr int kRounds = 8;
  constexpr int kTag = 0x7c10;
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  const auto driving = exclusive_driver();
  begin_collective();
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(size()), 0);
  const MPI_Comm comm = m_coll.native();
  if (rank() == 0) {
    for (int peer = 1; peer < size(); ++peer) {
      if (!pinged(peer)) continue;
      std::int64_t best_round_trip = std::numeric_limits<std::int64_t>::max();
      for (int k = 0; k < kRounds; ++k) {
        std::int64_t theirs = 0;
        std::uint8_t ping = 0;
        MPI_Request recv, send;
        check_mpi(MPI_Irecv(&theirs, 1, MPI_INT64_T, peer, kTag, comm, &recv), "MPI_Irecv");
        const std::int64_t t0 = now();
        check_mpi(MPI_Isend(&ping, 1, MPI_UINT8_T, peer, kTag, comm, &send), "MPI_Isend");
        wait_request(recv, false);
        const std::int64_t t1 = now();
        wait_request(send, false);
        if (t1 - t0 < best_round_trip) {
          best_round_trip = t1 - t0;
          offsets[static_cast<std::size_t>(peer)] = theirs - (t0 + (t1 - t0) / 2);
        }
      }
    }
    for (int r = 1; r < size(); ++r) {
      if (!pinged(r))
        offsets[static_cast<std::size_t>(r)] =
            offsets[static_cast<std::size_t>(leader[static_cast<std::size_t>(r)])];
    }
  } else if (pinged(rank())) {
    for (int k = 0; k < kRounds; ++k) {
      std::uint8_t ping = 0;
      MPI_Request recv, send;
      check_mpi(MPI_Irecv(&ping, 1, MPI_UINT8_T, 0, kTag, comm, &recv), "MPI_Irecv");
      wait_request(recv, false);
      const std::int64_t mine = now();
      check_mpi(MPI_Isend(&mine, 1, MPI_INT64_T, 0, kTag, comm, &send), "MPI_Isend");
      wait_request(send, false);
    }
  }
  end_collective();
  return offsets;
}

}  // namespace tessera::comm
