#include "exec/trace.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "comm/message_engine.hpp"
#include "exec/bytes_read.hpp"
#include "exec/memory_budget.hpp"
#include "exec/task_execution.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera::detail::trace {

std::atomic<int> g_open{0};

namespace {

/// Whether the kernel keeps time with the TSC: then it is invariant and synchronised across
/// the cores, and now() can read it directly.
bool kernel_uses_tsc() {
#if defined(__x86_64__)
  std::FILE* f =
      std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (f == nullptr) return false;
  char name[32] = {};
  const bool read = std::fgets(name, sizeof name, f) != nullptr;
  std::fclose(f);
  return read && std::strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == '\0');
#else
  return false;
#endif
}

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// A thread's log grows in chunks of 2 MiB (32768 events), mapped with their pages populated
/// (one system call instead of 512 page faults while tasks record), at most kMaxChunks of them:
/// a thread keeps at most 2M events (128 MiB) per recording; later ones are counted as
/// dropped. Label bytes likewise, in chunks of kLabelChunk bytes (at most 256 MiB).
constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
constexpr std::size_t kChunkEvents = kChunkBytes / sizeof(Event);
constexpr std::size_t kMaxChunks = 64;
constexpr std::size_t kLabelChunk = std::size_t{1} << 20;
constexpr std::size_t kMaxLabelChunks = 256;

/// One thread's events, and the bytes of their labels. Only its thread appends; a collector
/// reads [0, size) meanwhile (the label bytes of an event are written before it is published).
struct ThreadLog {
  std::uint16_t index = 0;
  std::string name;
  std::array<std::atomic<Event*>, kMaxChunks> chunks{};
  std::atomic<std::size_t> size{0};
  std::array<std::atomic<char*>, kMaxLabelChunks> label_chunks{};
  std::size_t label_bytes = 0;  // used in label_chunks (the thread's own)
  /// The label recorded last: where the graph keeps it and where our copy is. Tasks of one
  /// array operation share a label, so a run of them copies it once.
  const char* last_label = nullptr;
  std::uint16_t last_length = 0;
  std::uint32_t last_offset = 0;
  std::atomic<std::uint64_t> generation{0};  // the generation of recordings its events belong to
  std::atomic<std::uint64_t> dropped{0};

  ~ThreadLog() {
    for (auto& c : chunks) {
      if (Event* e = c.load(std::memory_order_relaxed)) ::munmap(e, kChunkBytes);
    }
    for (auto& c : label_chunks) {
      if (char* b = c.load(std::memory_order_relaxed)) ::munmap(b, kLabelChunk);
    }
  }
  const char* label_at(std::uint32_t offset) const {
    return label_chunks[offset / kLabelChunk].load(std::memory_order_acquire) +
           offset % kLabelChunk;
  }
};

/// The process's recorder: thread logs (kept until exit: a log outlives its thread, whose
/// events a later collect may still need) and the watched budget.
struct Recorder {
  std::mutex mutex;  // guards logs and generation changes
  std::vector<std::unique_ptr<ThreadLog>> logs;
  std::atomic<std::uint64_t> generation{1};
  std::atomic<const MemoryBudget*> budget{nullptr};
  std::atomic<std::int64_t> last_sample{0};
  std::int64_t sample_every = 0;  // kSampleEvery in ticks
};

struct ClockPair {
  std::int64_t ticks, ns;
};
ClockPair read_clocks() noexcept;
/// Ticks per nanosecond of the steady clock, measured over 2 ms (the TSC's rate is constant):
/// the memory samples' spacing in ticks.
double measure_ticks_per_ns_once();

Recorder& recorder() {
  static Recorder* r = [] {
    auto* rec = new Recorder;  // never destroyed: threads may record during exit
    rec->sample_every = static_cast<std::int64_t>(
        static_cast<double>(std::chrono::nanoseconds(kSampleEvery).count()) *
        measure_ticks_per_ns_once());
    return rec;
  }();
  return *r;
}

thread_local ThreadLog* t_log = nullptr;
thread_local std::string t_name;

ThreadLog& this_thread_log() {
  Recorder& r = recorder();
  if (t_log == nullptr) {
    std::lock_guard lock(r.mutex);
    auto log = std::make_unique<ThreadLog>();
    log->index = static_cast<std::uint16_t>(r.logs.size());
    log->name = t_name.empty() ? std::string("main (comm)") : t_name;
    log->generation = r.generation.load();
    t_log = log.get();
    r.logs.push_back(std::move(log));
  }
  ThreadLog& log = *t_log;
  // A new recording after all were closed starts the logs again; each thread empties its own.
  const auto gen = r.generation.load(std::memory_order_relaxed);
  if (log.generation.load(std::memory_order_relaxed) != gen) {
    log.generation.store(gen, std::memory_order_relaxed);
    log.size.store(0, std::memory_order_release);
    log.label_bytes = 0;
    log.last_label = nullptr;
    log.dropped.store(0, std::memory_order_relaxed);
  }
  return log;
}

/// `bytes` of fresh memory with its pages in place (null when there is none).
void* populated(std::size_t bytes) noexcept {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void append(ThreadLog& log, const Event& e) noexcept {
  const std::size_t n = log.size.load(std::memory_order_relaxed);
  const std::size_t chunk = n / kChunkEvents;
  if (chunk >= kMaxChunks) {
    log.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Event* events = log.chunks[chunk].load(std::memory_order_relaxed);
  if (events == nullptr) {
    events = static_cast<Event*>(populated(kChunkBytes));
    if (events == nullptr) {
      log.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    log.chunks[chunk].store(events, std::memory_order_release);
  }
  events[n % kChunkEvents] = e;
  log.size.store(n + 1, std::memory_order_release);
}

/// Sets e's label to a copy of `label` in the thread's label bytes (shared with the previous
/// event when it is the same label of the same graph). Labels longer than 64 KiB are cut.
void set_label(ThreadLog& log, Event& e, std::string_view label) noexcept {
  const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(label.size(), 0xffff));
  if (label.data() == log.last_label && length == log.last_length &&
      std::memcmp(log.label_at(log.last_offset), label.data(), length) == 0) {
    e.label = log.last_offset;
    e.label_length = length;
    return;
  }
  std::size_t at = log.label_bytes;
  if (at % kLabelChunk + length > kLabelChunk) at += kLabelChunk - at % kLabelChunk;
  const std::size_t chunk = at / kLabelChunk;
  if (chunk >= kMaxLabelChunks) return;  // no label: shown empty
  char* bytes = log.label_chunks[chunk].load(std::memory_order_relaxed);
  if (bytes == nullptr) {
    bytes = static_cast<char*>(populated(kLabelChunk));
    if (bytes == nullptr) return;
    log.label_chunks[chunk].store(bytes, std::memory_order_release);
  }
  std::memcpy(bytes + at % kLabelChunk, label.data(), length);
  log.label_bytes = at + length;
  log.last_label = label.data();
  log.last_length = length;
  log.last_offset = static_cast<std::uint32_t>(at);
  e.label = log.last_offset;
  e.label_length = length;
}

/// A flow id both ends of a transfer compute alike.
std::uint64_t flow_id(std::uint32_t run, TaskId task, int source, int dest) noexcept {
  std::uint64_t h = (std::uint64_t{run} << 32) ^ static_cast<std::uint32_t>(task);
  h ^= (static_cast<std::uint64_t>(static_cast<std::uint32_t>(source)) << 20) ^
       (static_cast<std::uint64_t>(static_cast<std::uint32_t>(dest)) << 44);
  // splitmix64's finaliser: distinct inputs give distinct, well-spread ids
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return (h ^ (h >> 31)) >> 12;  // below 2^52: exact in a JSON number
}

/// Appends `e` to the calling thread's log; a log that cannot be made (out of memory) loses
/// the event rather than failing the caller.
void record(const Event& e) noexcept {
  try {
    append(this_thread_log(), e);
  } catch (...) {
  }
}

void sample_memory(const MemoryBudget& budget, std::int64_t now) noexcept {
  Event e;
  e.kind = EventKind::memory;
  e.start = e.end = now;
  e.a = budget.held();
  e.b = budget.in_spill_file();
  record(e);
}

/// The two clocks read at one moment: the steady clock between two tick readings that are
/// close together (a thread preempted between the readings would pair them ms apart).
ClockPair read_clocks() noexcept {
  ClockPair p{};
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  for (int k = 0; k < 16; ++k) {
    const std::int64_t t1 = now(), n = steady_ns(), t2 = now();
    if (t2 - t1 < best) {
      best = t2 - t1;
      p = {t1 + (t2 - t1) / 2, n};
    }
    if (best < 1000) break;
  }
  return p;
}

double measure_ticks_per_ns_once() {
  static const double rate = [] {
    if (!g_tsc) return 1.0;
    const ClockPair a = read_clocks();
    while (steady_ns() - a.ns < 2'000'000) {
    }
    const ClockPair b = read_clocks();
    return static_cast<double>(b.ticks - a.ticks) / static_cast<double>(b.ns - a.ns);
  }();
  return rate;
}

}  // namespace

const bool g_tsc = kernel_uses_tsc();

std::int64_t steady_ticks() noexcept { return steady_ns(); }

void name_this_thread(std::string name) {
  t_name = std::move(name);
  if (t_log != nullptr) {
    std::lock_guard lock(recorder().mutex);
    t_log->name = t_name;
  }
}

void record_task(const TaskGraph& graph, TaskId id, std::int64_t start, std::uint64_t bytes_in,
                 std::uint64_t bytes_out, bool failed) noexcept {
  record_task(graph.label(id), graph.coords(id), id, start, bytes_in, bytes_out, failed);
}

void record_task(std::string_view label, std::span<const std::int64_t> coords, TaskId id,
                 std::int64_t start, std::uint64_t bytes_in, std::uint64_t bytes_out,
                 bool failed) noexcept {
  try {
    ThreadLog& log = this_thread_log();
    Event e;
    e.kind = EventKind::task;
    e.start = start;
    e.end = now();
    e.a = bytes_in;
    e.b = bytes_out;
    set_label(log, e, label);
    e.task = id;
    e.failed = failed ? 1 : 0;
    e.num_coords = static_cast<std::uint8_t>(std::min<std::size_t>(coords.size(), 255));
    for (std::size_t k = 0; k < std::min(coords.size(), kCoords); ++k)
      e.coords[k] = static_cast<std::int32_t>(coords[k]);
    append(log, e);
  } catch (...) {
    // A trace that cannot record (out of memory) never fails the task.
  }
}

void record_transfer(EventKind kind, const TaskGraph& graph, TaskId id, std::uint32_t run,
                     int source, int dest, std::uint64_t bytes, std::int64_t start) noexcept {
  try {
    ThreadLog& log = this_thread_log();
    Event e;
    e.kind = kind;
    e.start = start;
    e.end = now();
    e.a = bytes;
    e.b = flow_id(run, id, source, dest);
    set_label(log, e, graph.label(id));
    e.task = id;
    e.peer = kind == EventKind::send ? dest : source;
    append(log, e);
  } catch (...) {
  }
}

void record_comm(std::int64_t start) noexcept {
  Event e;
  e.kind = EventKind::comm;
  e.start = start;
  e.end = now();
  record(e);
}

void record_run(std::uint32_t run, std::int64_t start, std::uint64_t graph_tasks,
                std::uint64_t tasks_total, std::uint64_t tasks_here) noexcept {
  Event e;
  e.kind = EventKind::run;
  e.start = start;
  e.end = now();
  e.a = graph_tasks;
  e.b = tasks_here;
  e.task = static_cast<std::int32_t>(tasks_total);
  e.label = run;
  record(e);
}

void watch_budget(const MemoryBudget* budget) noexcept {
  recorder().budget.store(budget, std::memory_order_release);
  if (budget != nullptr) sample_memory(*budget, now());
}

void unwatch_budget(const MemoryBudget* budget) noexcept {
  if (budget != nullptr) sample_memory(*budget, now());
  const MemoryBudget* expected = budget;
  recorder().budget.compare_exchange_strong(expected, nullptr);
}

void maybe_sample_memory(std::int64_t now) noexcept {
  Recorder& r = recorder();
  std::int64_t last = r.last_sample.load(std::memory_order_relaxed);
  if (now - last < r.sample_every) return;
  if (!r.last_sample.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  if (const MemoryBudget* b = r.budget.load(std::memory_order_acquire)) sample_memory(*b, now);
}

// --- sessions ----------------------------------------------------------------------------------

Session::Session() {
  Recorder& r = recorder();
  const ClockPair start = read_clocks();
  m_start = start.ticks;
  m_start_ns = start.ns;
  m_bytes_read = bytes_read_so_far();
  std::lock_guard lock(r.mutex);
  // The first recording after none was open starts every log afresh (each thread empties its
  // own when it next records).
  if (g_open.fetch_add(1) == 0) r.generation.fetch_add(1);
}

Session::~Session() {
  if (m_open) g_open.fetch_sub(1);
}

namespace {

/// Converts ticks of now() to steady-clock nanoseconds, from two readings of both clocks.
struct TickConverter {
  std::int64_t tick0, ns0;
  double ns_per_tick;
  std::int64_t operator()(std::int64_t tick) const {
    return ns0 + static_cast<std::int64_t>(static_cast<double>(tick - tick0) * ns_per_tick);
  }
};

/// This rank's events between ticks `start` and `end` (converted to steady-clock ns), its
/// tracks, and the labels its events name (each label once; Event::label indexes `labels`).
RankTrace snapshot(std::int64_t start, std::int64_t end, const TickConverter& to_ns,
                   std::vector<std::string>& labels) {
  Recorder& r = recorder();
  RankTrace out;
  std::unordered_map<std::string_view, std::uint32_t> ids;
  std::lock_guard lock(r.mutex);
  const auto gen = r.generation.load();
  for (const auto& log : r.logs) {
    if (log->generation.load(std::memory_order_relaxed) != gen)
      continue;  // nothing recorded since the recordings began
    const std::size_t n = log->size.load(std::memory_order_acquire);
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
      const Event* chunk = log->chunks[i / kChunkEvents].load(std::memory_order_acquire);
      Event e = chunk[i % kChunkEvents];
      if (e.end < start || e.start > end) continue;
      e.thread = log->index;
      e.start = to_ns(e.start);
      e.end = to_ns(e.end);
      if (e.kind == EventKind::task || e.kind == EventKind::send || e.kind == EventKind::receive) {
        const std::string_view text(e.label_length ? log->label_at(e.label) : "", e.label_length);
        auto [it, inserted] = ids.try_emplace(text, static_cast<std::uint32_t>(labels.size()));
        if (inserted) labels.emplace_back(text);
        e.label = it->second;
        e.label_length = 0;
      }
      out.events.push_back(e);
      any = true;
    }
    out.dropped += log->dropped.load(std::memory_order_relaxed);
    if (any) out.tracks.push_back({log->index, log->name});
  }
  std::stable_sort(out.events.begin(), out.events.end(),
                   [](const Event& x, const Event& y) { return x.start < y.start; });
  return out;
}

void put_string(WireWriter& w, std::string_view s) {
  w.put_bytes(std::as_bytes(std::span(s.data(), s.size())));
}

std::string get_string(WireReader& in) {
  const auto b = in.get_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<std::byte> pack(const RankTrace& t, const std::vector<std::string>& labels) {
  WireWriter w;
  w.put<std::int32_t>(t.rank);
  w.put<std::int32_t>(t.threads);
  w.put<std::uint64_t>(t.budget);
  w.put<std::uint64_t>(t.dropped);
  w.put<std::uint64_t>(t.bytes_read);
  w.put<std::int64_t>(t.start);
  w.put<std::int64_t>(t.end);
  w.put<std::uint64_t>(t.tracks.size());
  for (const auto& track : t.tracks) {
    w.put<std::uint16_t>(track.index);
    put_string(w, track.name);
  }
  w.put<std::uint64_t>(labels.size());
  for (const auto& l : labels) put_string(w, l);
  w.put_bytes(std::as_bytes(std::span(t.events)));
  return std::move(w.header());
}

RankTrace unpack(std::span<const std::byte> bytes, std::vector<std::string>& labels) {
  WireReader in(bytes, {});
  RankTrace t;
  t.rank = in.get<std::int32_t>();
  t.threads = in.get<std::int32_t>();
  t.budget = in.get<std::uint64_t>();
  t.dropped = in.get<std::uint64_t>();
  t.bytes_read = in.get<std::uint64_t>();
  t.start = in.get<std::int64_t>();
  t.end = in.get<std::int64_t>();
  t.tracks.resize(in.get<std::uint64_t>());
  for (auto& track : t.tracks) {
    track.index = in.get<std::uint16_t>();
    track.name = get_string(in);
  }
  labels.resize(in.get<std::uint64_t>());
  for (auto& l : labels) l = get_string(in);
  const auto events = in.get_bytes();
  t.events.resize(events.size() / sizeof(Event));
  if (!t.events.empty())
    std::memcpy(t.events.data(), events.data(), t.events.size() * sizeof(Event));
  return t;
}

}  // namespace

Recording Session::collect(comm::MessageEngine* engine, int threads, std::uint64_t budget) {
  // Ticks to steady-clock ns by the two clocks' readings at the recording's two ends.
  const ClockPair last = read_clocks();
  const std::int64_t end = last.ticks, end_ns = last.ns;
  const double ns_per_tick = g_tsc && end > m_start ? static_cast<double>(end_ns - m_start_ns) /
                                                          static_cast<double>(end - m_start)
                                                    : 1.0;
  std::vector<std::string> labels;
  RankTrace mine = snapshot(m_start, end, TickConverter{m_start, m_start_ns, ns_per_tick}, labels);
  if (m_open) {
    m_open = false;
    g_open.fetch_sub(1);
  }
  mine.rank = engine ? engine->rank() : 0;
  mine.start = m_start_ns;
  mine.bytes_read = bytes_read_so_far() - m_bytes_read;
  mine.end = end_ns;
  mine.threads = threads;
  mine.budget = budget;
  Recording rec;
  if (engine == nullptr || engine->size() == 1) {
    rec.start = m_start_ns;
    rec.end = end_ns;
    rec.labels = std::move(labels);
    rec.ranks.push_back(std::move(mine));
    return rec;
  }
  // The others' events are shifted onto rank 0's clock.
  const auto offsets = engine->steady_clock_offsets();
  const auto blobs = engine->gather_bytes(pack(mine, labels), 0);
  if (engine->rank() != 0) return rec;
  // From the first rank's start to the last one's end, on rank 0's clock.
  rec.start = m_start_ns;
  rec.end = end_ns;
  // Every rank numbered its labels in its own order: map them into one table.
  std::unordered_map<std::string, std::uint32_t> ids;
  for (std::size_t r = 0; r < blobs.size(); ++r) {
    std::vector<std::string> theirs;
    RankTrace t = unpack(blobs[r], theirs);
    std::vector<std::uint32_t> map(theirs.size());
    for (std::size_t k = 0; k < theirs.size(); ++k) {
      auto [it, inserted] =
          ids.try_emplace(theirs[k], static_cast<std::uint32_t>(rec.labels.size()));
      if (inserted) rec.labels.push_back(theirs[k]);
      map[k] = it->second;
    }
    t.clock_offset = offsets[r];
    t.start -= t.clock_offset;
    t.end -= t.clock_offset;
    rec.start = std::min(rec.start, t.start);
    rec.end = std::max(rec.end, t.end);
    for (Event& e : t.events) {
      e.start -= t.clock_offset;
      e.end -= t.clock_offset;
      if ((e.kind == EventKind::task || e.kind == EventKind::send ||
           e.kind == EventKind::receive) &&
          e.label < map.size())
        e.label = map[e.label];
    }
    rec.ranks.push_back(std::move(t));
  }
  return rec;
}

std::string_view label_family(std::string_view label, std::string& scratch) {
  // Drops the parts that are content tokens: 8 or more hex digits between dashes.
  const auto is_token = [](std::string_view part) {
    return part.size() >= 8 && std::all_of(part.begin(), part.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
  };
  scratch.clear();
  std::size_t at = 0;
  while (at <= label.size()) {
    const std::size_t dash = std::min(label.find('-', at), label.size());
    const std::string_view part = label.substr(at, dash - at);
    if (!is_token(part)) {
      if (!scratch.empty()) scratch += '-';
      scratch += part;
    }
    at = dash + 1;
  }
  if (scratch.empty()) return label;
  return scratch;
}

}  // namespace tessera::detail::trace

namespace tessera::detail {

Value invoke_traced(const TaskGraph& graph, TaskId id, std::span<const Value> inputs) {
  std::uint64_t bytes_in = 0;
  for (const Value& v : inputs) bytes_in += v.nbytes();
  const std::int64_t start = trace::now();
  Value out;
  try {
    out = graph.fn(id)(inputs);
  } catch (const task_error&) {
    trace::record_task(graph, id, start, bytes_in, 0, true);
    throw;
  } catch (const std::exception& e) {
    trace::record_task(graph, id, start, bytes_in, 0, true);
    throw task_error(graph.name(id), e.what());
  } catch (...) {
    trace::record_task(graph, id, start, bytes_in, 0, true);
    throw task_error(graph.name(id), "unknown exception (not derived from std::exception)");
  }
  trace::record_task(graph, id, start, bytes_in, out.nbytes(), false);
  return out;
}

}  // namespace tessera::detail
