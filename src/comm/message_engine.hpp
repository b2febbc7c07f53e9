#pragma once
/// @file
/// `MessageEngine`: one rank's road for every message between ranks. Everything else in
/// Tessera that talks to other ranks (a distributed run, the futures client) hands it
/// messages and gets messages back through a handler; only this class and Communicator call
/// MPI for them.
///
/// A message is a `head` (the caller's own bytes, encoded with core's WireWriter) and
/// optionally `bulk` segments (a Block's buffers, sent without a copy from where they lie and
/// received straight into fresh buffers of their own).
///
/// How messages travel (communicators private to the engine, duplicated from the caller's):
/// - Per destination, messages are appended to a batch; one control message on `ctrl`
///   (MPI_Isend) carries a whole batch, so many small values cost one MPI message, not one
///   each. At most kMaxBatchesInFlight batches per peer are in flight at once: the rest wait
///   (and grow) here, instead of making Open MPI walk thousands of pending rendezvous sends on
///   every progress call.
/// - Bulk data of at most kInlineBytes travels inside the batch. Larger bulk goes on `data`
///   in pieces of at most kMaxPiece bytes (MPI counts are int), tagged with a per-peer
///   message number, which the receiver posts receives for as soon as it has read the record.
/// - A receiver that cannot allocate the bulk still receives every piece (into a static
///   scratch buffer, one piece at a time in the whole process, as MPI forbids pending receives
///   into overlapping buffers; the tag keeps other messages' pieces from matching) so that the
///   sender's sends complete, and hands the handler a Message with `lost_bytes` set.
/// - Order: messages from one rank to one (channel, stream) are delivered in the order they
///   were sent, except that a message with bulk above kInlineBytes is delivered once its
///   bulk has arrived, possibly after later messages.
/// - pending(c) == 0 means every message of channel c this rank sent has left its buffers
///   (large ones have been received; a small one may still be on its way, to a receiver that
///   expects it or discards it as stale) and every bulk receive of c has completed. Standard
///   sends rather than synchronous ones: a small message then costs no acknowledgement round
///   trip, and users of the engine number their messages (a distributed run's number, a
///   future's id) so that a late one is recognised.
///
/// Threads. send(), wake(), expect() and set_handler() from any thread. progress() drives the
/// engine: one thread at a time does (the drive lock; a call that finds another thread driving
/// returns at once), and handlers run on that thread. Who drives:
/// - a distributed run's calling thread, for the whole run (exclusive_driver()), so that the
///   run's handler never races with its own loop;
/// - the program's thread inside the futures client's collective calls;
/// - while a futures client lives and MPI provides MPI_THREAD_MULTIPLE, a background progress
///   thread (start_background()), so that values move while the program's thread is busy
///   elsewhere, as Dask's futures do. With less than MPI_THREAD_MULTIPLE there is none (it
///   would call MPI beside the program's own MPI calls) and values move only while the
///   program's thread is inside Tessera.
/// Workers never call MPI.

#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tessera/comm/communicator.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera::comm {

/// What a message is for. Within a channel, a stream number says whose it is (a futures
/// client's number; 0 for distributed runs): each (channel, stream) has one handler.
enum class Channel : std::uint8_t { run = 0, futures = 1, control = 2 };
inline constexpr std::size_t kNumChannels = 3;

/// An agreement started by MessageEngine::start_all_equal and not yet known: whether a value
/// is the same on every rank. Its buffers belong to MPI until it is known.
class Agreement {
 public:
  Agreement() = default;
  Agreement(const Agreement&) = delete;
  Agreement& operator=(const Agreement&) = delete;
  /// Whether the result is known (MessageEngine::test returned true).
  bool known() const noexcept { return m_known; }
  /// Whether every rank had the same value; only once known().
  bool equal() const noexcept { return m_out[0] == ~m_out[1]; }

 private:
  friend class MessageEngine;
  MPI_Request m_request = MPI_REQUEST_NULL;
  std::uint64_t m_in[2] = {0, 0};
  std::uint64_t m_out[2] = {0, 0};
  std::int64_t m_index = -1;  // the engine's collective number
  std::chrono::steady_clock::time_point m_started;
  bool m_known = false;
};

/// A message as the handler receives it.
struct Message {
  int source = 0;
  Channel channel = Channel::run;
  std::uint32_t stream = 0;
  std::vector<std::byte> head;
  std::vector<Segment> bulk;
  /// Non-zero when the bulk (this many bytes) could not be allocated here: it was received
  /// and thrown away, and `bulk` is empty.
  std::size_t lost_bytes = 0;
};

class MessageEngine {
 public:
  /// Bulk data of at most this many bytes travels inside the batch (one message, one copy).
  static constexpr std::size_t kInlineBytes = 16 * 1024;
  /// Bulk pieces are at most this large (and the drain scratch buffer is this large).
  static constexpr std::size_t kMaxPiece = std::size_t{16} << 20;
  /// A batch is closed (a new one started) once it holds this many bytes.
  static constexpr std::size_t kMaxBatchBytes = std::size_t{1} << 20;
  /// Control messages in flight to one peer at once.
  static constexpr int kMaxBatchesInFlight = 4;
  /// Rounds a thread waiting on other ranks polls without giving up its core (unless ranks
  /// outnumber cores), before it yields and then sleeps: a small collective or message takes
  /// about a microsecond, a yield (a system call) as long.
  static constexpr int kSpinRounds = 2048;

  using Handler = std::function<void(Message&&)>;

  /// Duplicates `comm` three times (control, bulk data, collectives). Collective over `comm`.
  explicit MessageEngine(const Communicator& comm);
  /// Frees the communicators: collective. Messages still queued are dropped.
  ~MessageEngine();
  MessageEngine(const MessageEngine&) = delete;
  MessageEngine& operator=(const MessageEngine&) = delete;

  int rank() const noexcept { return m_coll.rank(); }
  int size() const noexcept { return m_coll.size(); }

  /// Installs the handler of (`channel`, `stream`). Messages that arrived for it before are
  /// handed over at once; nullptr uninstalls (later messages wait for the next handler of that
  /// stream). Any thread: it takes the drive lock, so it waits for a round of another driver
  /// (a background thread serving another client) to end, and once it returns the old handler
  /// is not running and will not be called again.
  void set_handler(Channel channel, std::uint32_t stream, Handler handler);
  /// A stream number no earlier call returned: the same on every rank when every rank calls
  /// it in the same order (futures clients are numbered so).
  std::uint32_t new_stream() noexcept { return ++m_last_stream; }
  /// Streams of `channel` below `stream` are over: their messages that wait for a handler,
  /// and any that arrive later, are dropped (a run's stragglers after it failed). Driving
  /// thread.
  void retire_streams_below(Channel channel, std::uint32_t stream);

  /// Queues `head` (and `bulk`, kept alive by `keep` until sent) for every rank in `dests`.
  /// Any thread; never blocks on the network. The driving thread sends it in progress().
  void send(Channel channel, std::uint32_t stream, std::span<const int> dests,
            std::span<const std::byte> head, std::span<const std::span<const std::byte>> bulk = {},
            std::shared_ptr<const void> keep = {});

  /// One round of communication: sends queued batches, receives messages (calling their
  /// handlers), completes requests. True when anything happened; false at once when another
  /// thread is driving. Throws mpi_error when MPI fails and transport_error for a malformed
  /// message.
  bool progress();
  /// Drives until nothing is queued here any more (batches may still be in flight): for a
  /// thread about to leave Tessera when no other thread drives.
  void flush();
  /// Makes the calling thread the only one that drives until the lock is released (it may
  /// call progress() meanwhile; other threads' calls return false).
  std::unique_lock<std::recursive_mutex> exclusive_driver() {
    return std::unique_lock(m_drive_mutex);
  }
  /// Starts (first call) the background progress thread, when MPI provides
  /// MPI_THREAD_MULTIPLE; false when it cannot run. Each true return needs one stop_background().
  bool start_background();
  void stop_background();
  /// Tells the engine that `n` more (or fewer) messages are awaited here: the background
  /// thread polls fast while any are.
  void expect(std::int64_t n) noexcept { m_expected.fetch_add(n, std::memory_order_relaxed); }
  /// Messages of `channel` queued, in flight or partly received on this rank.
  std::int64_t pending(Channel channel) const noexcept {
    return m_pending[static_cast<std::size_t>(channel)].load(std::memory_order_acquire);
  }
  /// Whether any message is queued or in flight on this rank (the driver should poll fast).
  /// Any thread: the background thread asks between rounds, while another thread may drive.
  bool busy() const noexcept {
    return m_live_requests.load(std::memory_order_relaxed) > 0 ||
           m_queued_batches.load(std::memory_order_relaxed) > 0;
  }

  /// Blocks the driving thread until send() or wake() is called, or `timeout` passes.
  void wait(std::chrono::microseconds timeout);
  /// Wakes the driving thread out of wait(). Any thread.
  void wake() noexcept;
  /// The mutex wake() takes: a caller that must be done with its own state before the driver
  /// goes on may signal under it (see DistributedRun::job_done).
  std::mutex& wake_mutex() noexcept { return m_queue_mutex; }
  /// wake() for a caller that holds wake_mutex().
  void wake_locked() noexcept;
  /// One round of waiting for other ranks, the `rounds`-th without progress in a row: spins
  /// (when ranks do not outnumber cores), then yields, then sleeps briefly. Driving thread.
  void idle(int rounds);

  // --- collectives (driving thread; every rank, in the same order) ---------------------------
  //
  // Every collective is non-blocking underneath: while it waits, the engine keeps progressing
  // and watches for two faults that would otherwise hang the job until its allocation ends:
  // - another rank left (its engine was destroyed: it returned from main, or an exception
  //   unwound its stack) before joining this collective: the job is aborted at once with a
  //   message naming that rank, why, and what this rank waits in;
  // - with TESSERA_COLLECTIVE_TIMEOUT=<seconds> set, a collective not complete within that
  //   time: the engine asks every rank where it is, names the ranks that did not reach this
  //   collective ("ranks 2, 3 did not reach compute #17 within 60 s") and aborts the job.

  /// What the next collectives are, for those messages ("compute #17"); the caller's thread.
  void set_activity(std::string activity) {
    std::lock_guard lock(m_control_mutex);
    m_activity = std::move(activity);
  }

  /// The minimum of `mine` over the ranks, by a non-blocking allreduce during which this rank
  /// keeps progressing (handlers are called): returns once every rank has joined and no
  /// message of `channel` is pending here. The close of a distributed run.
  int agree_min(int mine, Channel channel);
  /// Whether `v` is the same on every rank (one small allreduce).
  bool all_equal(std::uint64_t v);
  /// all_equal without waiting: starts the allreduce, which completes while the caller goes
  /// on (a distributed run starts its tasks meanwhile). Counts as the collective it is: the
  /// caller joins no other collective before test() has returned true.
  /// The engine keeps the agreement alive until it is known, whoever else lets go of it.
  std::shared_ptr<Agreement> start_all_equal(std::uint64_t v);
  /// Whether `agreement` is known now (driving thread); meanwhile it watches for departed
  /// ranks and the watchdog, as a waiting collective does.
  bool test(Agreement& agreement);
  /// Waits until `agreement` is known; returns equal().
  bool finish(Agreement& agreement);
  /// Every rank's `v`, in rank order.
  std::vector<std::uint64_t> allgather(std::uint64_t v);
  /// Every rank's bytes, in rank order.
  std::vector<std::vector<std::byte>> allgather_bytes(std::span<const std::byte> mine);
  /// `data` from `root` on every rank.
  void bcast_bytes(std::vector<std::byte>& data, int root);
  /// Every rank's bytes on `root`, in rank order (empty elsewhere); at most 2 GiB in all.
  std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine, int root);
  /// On rank 0, each rank's steady clock minus rank 0's, in nanoseconds: 0 for ranks under
  /// rank 0's kernel (one clock), else to within about half a round trip (a few pings to one
  /// rank per kernel); zeros elsewhere. Collective. `ping_every_rank` measures every rank
  /// (a test of the measurement on one machine).
  std::vector<std::int64_t> steady_clock_offsets(bool ping_every_rank = false);
  /// Leaves the job: tells every other rank (so that one waiting in a collective this rank
  /// will never join ends the job instead of hanging), then waits until every rank has left.
  /// `reason` says why ("returned from main"). Collective; the destructor calls it.
  void leave(const std::string& reason);
  /// Ends the job (with a message naming the rank) if another rank has left: for a caller
  /// between collectives that needs every rank (a distributed run's share).
  void abort_if_departed();

 private:
  struct Peer;
  struct SendBatch;
  struct Receive;
  enum class RequestKind : std::uint8_t { batch, bulk_send, bulk_recv, drain };
  struct RequestInfo {
    RequestKind kind;
    std::size_t slot;
  };

  void background_loop();
  /// Waits for a non-blocking collective, progressing and watching for departures and the
  /// timeout (see above). `leaving`: the collective is the leave barrier itself.
  void await(MPI_Request& request, bool leaving);
  /// The waiting of await, inside a collective that ends later (several requests in one).
  void wait_request(MPI_Request& request, bool leaving);
  /// The departure and watchdog checks of a collective `index` started at `t0`.
  void watch(std::int64_t index, std::chrono::steady_clock::time_point t0, bool leaving);
  /// Records that `agreement` is known (its collective has completed).
  void settle(Agreement& agreement);
  void end_collective() {
    std::lock_guard lock(m_control_mutex);
    m_in_collective = -1;
  }
  void on_control(Message&& message);
  /// A rank that left after at most `index` collectives (so will never join collective
  /// `index`), or -1. A departure record is written once and never changes afterwards.
  int departed_by(std::int64_t index) const;
  void check_departures(std::int64_t index);
  [[noreturn]] void watchdog_expired(std::int64_t index, double waited_s);
  [[noreturn]] void abort_job(const std::string& message);
  void begin_collective() {
    std::lock_guard lock(m_control_mutex);
    m_in_collective = m_collectives++;
  }
  bool flush_batches();
  bool receive_batches();
  bool test_requests();
  void unpack_batch(std::vector<std::byte> bytes, int source);
  void deliver(Message&& message);
  void post(MPI_Request request, RequestKind kind, std::size_t slot);
  /// Posts the next drain piece of the first waiting receive, when the process's scratch
  /// buffer is free; true when it did.
  bool start_drain();
  void release_drain() noexcept;
  void finish_batch(std::size_t slot);
  void finish_receive(std::size_t slot);
  std::size_t new_send_slot();
  std::size_t new_receive_slot();
  int bulk_tag(std::uint32_t number) const noexcept;

  Communicator m_ctrl, m_data, m_coll;
  int m_data_tag_ub = 32767;
  int m_spin_rounds = 0;

  // Guarded by m_queue_mutex: what send() queues, and the driver's wake-up flag.
  mutable std::mutex m_queue_mutex;
  std::condition_variable m_cv;
  bool m_woken = false;
  std::vector<std::unique_ptr<Peer>> m_peers;
  std::atomic<std::int64_t> m_queued_batches{0};
  /// Messages per channel queued, in flight, or partly received (written by send() too).
  std::array<std::atomic<std::int64_t>, kNumChannels> m_pending{};

  std::recursive_mutex m_drive_mutex;
  std::atomic<std::int64_t> m_expected{0};
  // The background progress thread (guarded by m_queue_mutex, but the join).
  std::thread m_background;
  int m_background_users = 0;
  bool m_background_stop = false;

  // Collectives, departures and the watchdog (driving thread).
  std::int64_t m_collectives = 0;     // collectives entered so far
  std::int64_t m_in_collective = -1;  // the one being waited for, or -1 (m_control_mutex)
  std::string m_activity = "a collective call";  // guarded by m_control_mutex
  double m_timeout_s = 0;                        // TESSERA_COLLECTIVE_TIMEOUT; 0: no watchdog
  struct Departure {
    std::int64_t after = -1;  // collectives the rank joined before it left; -1: still here
    std::string reason;
  };
  std::vector<Departure> m_departed;  // guarded by m_control_mutex
  std::atomic<int> m_departures{0};
  mutable std::mutex m_control_mutex;  // handlers may run on the background thread
  struct Whereabouts {
    bool replied = false;
    std::int64_t index = -1;
    std::string activity;
  };
  std::vector<Whereabouts> m_where;  // guarded by m_control_mutex
  bool m_left = false;

  // Driving thread only.
  using StreamKey = std::pair<Channel, std::uint32_t>;
  std::map<StreamKey, Handler> m_handlers;
  std::map<StreamKey, std::deque<Message>> m_unhandled;
  std::array<std::uint32_t, kNumChannels> m_retired_below{};
  std::shared_ptr<Agreement> m_open_agreement;  // started and not known yet
  std::uint32_t m_last_stream = 0;
  std::vector<SendBatch> m_send_slots;
  std::vector<std::size_t> m_free_send_slots;
  std::vector<Receive> m_receive_slots;
  std::deque<std::size_t> m_drain_waiting;  // receives with pieces still to drain
  bool m_drain_holding = false;             // this engine holds g_drain_taken
  std::vector<std::size_t> m_free_receive_slots;
  std::vector<MPI_Request> m_requests;
  std::vector<RequestInfo> m_request_info;
  /// Written by the driving thread only, but read by busy() from any thread: atomic.
  std::atomic<std::int64_t> m_live_requests{0};
};

}  // namespace tessera::comm
