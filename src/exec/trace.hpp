#pragma once
/// @file
/// The task-stream recorder behind traces (tessera/exec/trace.hpp) and performance reports
/// (tessera/exec/performance_report.hpp): what every thread of this process did, while at
/// least one recording is open.
///
/// Recording is per thread and takes no lock: each thread appends fixed-size events to a log
/// of its own (chunks that never move, so a reader may look at what is published while the
/// thread goes on) and copies their labels into bytes of its own (once per run of tasks with
/// the same label: delayed tasks each have a label of their own, so nothing is interned
/// until the recording is collected). Times are ticks of the CPU's time-stamp counter where
/// the kernel trusts it. With no recording open, each hook costs one relaxed load (`on()`).
///
/// What is recorded, and where (only exec calls these):
/// - a task: every task call (detail::invoke_task) and every future's task (the futures
///   client), on the thread that ran it, with the bytes of its inputs and of its value;
/// - a send: a value handed to the message engine for another rank (DistributedRun::publish),
///   and a receive: a value from another rank decoded and delivered (on the run's driver); the
///   two ends of one transfer share a flow id;
/// - comm: a round of the message engine's progress on the run's driver that did something;
/// - a run: one compute on its driver, with its graph's size;
/// - memory: the rank's held and spilled bytes and its budget, sampled at most every
///   kSampleEvery as the held or spilled bytes change.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/graph/task_graph.hpp"

namespace tessera::comm {
class MessageEngine;
}

namespace tessera::detail {
class MemoryBudget;
}

namespace tessera::detail::trace {

/// Whether any recording is open (every hook checks this first).
extern std::atomic<int> g_open;
inline bool on() noexcept { return g_open.load(std::memory_order_relaxed) > 0; }

/// The recorder's clock: the CPU's time-stamp counter where the kernel keeps time with it (an
/// invariant TSC, read in about 10 ns), else the steady clock (about 25 ns here). Collected
/// events are converted to steady-clock nanoseconds (Session::collect), so callers only
/// subtract ticks.
std::int64_t steady_ticks() noexcept;
extern const bool g_tsc;
inline std::int64_t now() noexcept {
#if defined(__x86_64__)
  if (g_tsc) return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#endif
  return steady_ticks();
}

enum class EventKind : std::uint8_t { task = 1, send, receive, comm, run, memory };

/// One event, as recorded and as it travels to rank 0 (every field fixed size): one cache
/// line, so that recording one writes one line.
struct alignas(64) Event {
  std::int64_t start = 0;  ///< now() ticks; once collected, ns on rank 0's steady clock
  std::int64_t end = 0;
  /// task: bytes of its inputs; send/receive: bytes of the value; run: tasks in the graph;
  /// memory: bytes held.
  std::uint64_t a = 0;
  /// task: bytes of its value; send/receive: the transfer's flow id; run: tasks that ran on
  /// this rank; memory: bytes in the spill file.
  std::uint64_t b = 0;
  /// task, send, receive: the label (recorded: its offset in the thread's label bytes;
  /// collected: its index in Recording::labels); run: the compute's number.
  std::uint32_t label = 0;
  std::int32_t task = -1;  ///< task id (task, send, receive); run: tasks on all ranks
  std::int32_t peer = -1;  ///< send: destination rank; receive: source rank
  std::int32_t coords[3] = {0, 0, 0};
  std::uint16_t thread = 0;        ///< index of the recording thread (filled in when collected)
  std::uint16_t label_length = 0;  ///< recorded: the label's length in bytes
  EventKind kind = EventKind::task;
  std::uint8_t failed = 0;      ///< task: it threw
  std::uint8_t num_coords = 0;  ///< task: its chunk coordinates (the first kCoords are kept)
};
static_assert(sizeof(Event) == 64);
inline constexpr std::size_t kCoords = 3;
inline constexpr auto kSampleEvery = std::chrono::milliseconds(1);

// --- hooks (exec only) -------------------------------------------------------------------------

/// Names the calling thread's track ("worker 3"); a thread never named (the program's, which
/// drives computes and their communication) is "main (comm)". Call it once when a thread starts.
void name_this_thread(std::string name);
/// A task of `graph` ran from `start` to now.
void record_task(const TaskGraph& graph, TaskId id, std::int64_t start, std::uint64_t bytes_in,
                 std::uint64_t bytes_out, bool failed) noexcept;
/// A task outside a graph (a future's): `label` (its key), `id` -1.
void record_task(std::string_view label, std::span<const std::int64_t> coords, TaskId id,
                 std::int64_t start, std::uint64_t bytes_in, std::uint64_t bytes_out,
                 bool failed) noexcept;
/// Task `id`'s value (`bytes`) was handed over for `peer` (send) or arrived from it (receive).
void record_transfer(EventKind kind, const TaskGraph& graph, TaskId id, std::uint32_t run,
                     int source, int dest, std::uint64_t bytes, std::int64_t start) noexcept;
/// A round of communication work on the driver, from `start` to now.
void record_comm(std::int64_t start) noexcept;
/// Compute number `run` ran from `start` to now: `graph_tasks` in its graph, `tasks_total`
/// of them run on some rank, `tasks_here` here.
void record_run(std::uint32_t run, std::int64_t start, std::uint64_t graph_tasks,
                std::uint64_t tasks_total, std::uint64_t tasks_here) noexcept;
/// The budget whose held and spilled bytes the memory samples show (the rank's: a run sets
/// it when it starts, and takes it back when it ends). Sampled now too.
void watch_budget(const MemoryBudget* budget) noexcept;
void unwatch_budget(const MemoryBudget* budget) noexcept;
/// Samples the watched budget if kSampleEvery has passed since the last sample (`now`, ticks).
void maybe_sample_memory(std::int64_t now) noexcept;

// --- recordings ----------------------------------------------------------------------------------

/// A thread's track in a collected trace.
struct ThreadTrack {
  std::uint16_t index = 0;
  std::string name;
};

/// One rank's part of a recording.
struct RankTrace {
  int rank = 0;
  int threads = 0;                  ///< the scheduler's worker threads
  std::uint64_t budget = 0;         ///< memory budget in bytes (0: unknown)
  std::uint64_t dropped = 0;        ///< events not kept (a thread's log was full)
  std::uint64_t bytes_read = 0;     ///< bytes read from files during the recording
  std::int64_t clock_offset = 0;    ///< this rank's clock minus rank 0's, in ns (subtracted)
  std::int64_t start = 0, end = 0;  ///< when this rank's recording began and ended (ns)
  std::vector<ThreadTrack> tracks;
  std::vector<Event> events;  ///< sorted by start; times on rank 0's clock once merged
};

/// Every rank's part, on rank 0 (times relative to `start`, rank 0's clock).
struct Recording {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::vector<std::string> labels;  ///< interned labels (Event::label indexes them)
  std::vector<RankTrace> ranks;
};

/// A recording, open from construction until collect(): while any is open, hooks record.
class Session {
 public:
  Session();
  ~Session();  ///< closes the recording if collect() did not
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Ends the recording and gathers every rank's events on rank 0, with clocks aligned to rank
  /// 0's (a ping-pong per rank). Collective over `engine`'s ranks (null: this process alone).
  /// Returns the recording on rank 0, an empty one elsewhere. `threads` and `budget` describe
  /// this rank's scheduler.
  Recording collect(comm::MessageEngine* engine, int threads, std::uint64_t budget);

 private:
  std::int64_t m_start = 0;        // ticks of now()
  std::int64_t m_start_ns = 0;     // the steady clock at the same moment
  std::uint64_t m_bytes_read = 0;  // bytes_read_so_far() at the start
  bool m_open = true;
};

/// The recording as Chrome trace-event JSON (chrome://tracing, Perfetto).
std::string chrome_trace_json(const Recording& recording);
/// A label without its token: "add-3fa2c1de-partial" -> "add-partial" (the task family).
std::string_view label_family(std::string_view label, std::string& scratch);

}  // namespace tessera::detail::trace
