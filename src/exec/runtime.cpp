#include "tessera/exec/runtime.hpp"

#include <sched.h>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <thread>

#include "exec/scoped_recording.hpp"
#include "tessera/exec/threaded_scheduler.hpp"

namespace tessera {

namespace {

/// A positive integer from the environment; 0 when unset.
int env_count(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return 0;
  const std::string_view s(text);
  int n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 1) {
    throw value_error(fmt::format("{} must be a positive integer, got '{}'", name, s));
  }
  return n;
}

}  // namespace

int Runtime::default_threads(const comm::Communicator& world) {
  const int local_ranks = world.ranks_on_node();  // collective: before any early return
  if (const int n = env_count("TESSERA_NUM_THREADS")) return n;
  if (const int n = env_count("SLURM_CPUS_PER_TASK")) return n;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int bound = CPU_COUNT(&set);
    if (bound > 0 && bound < cores) return bound;
  }
  return std::max(1, cores / std::max(1, local_ranks));
}

Runtime::Runtime(int& argc, char**& argv, RuntimeOptions options)
    : Runtime(&argc, &argv, options) {}

Runtime::Runtime(RuntimeOptions options) : Runtime(nullptr, nullptr, options) {}

Runtime::Runtime(int* argc, char*** argv, RuntimeOptions options)
    : m_env(argc, argv), m_world(comm::Communicator::world()) {
  const int threads = options.threads > 0 ? options.threads : default_threads(m_world);
  m_scheduler = std::make_unique<DistributedScheduler>(m_world, threads, options.memory_budget);
  // Rank 0 decides for every rank, in one allgather of its choices:
  // - the progress bar (rank 0's stderr decides; the others report to rank 0): the delay
  //   before drawing in tenths of a second, 255 for no bar, 254 when TESSERA_PROGRESS is
  //   malformed there (which every rank then reports);
  // - the trace file (recording it is collective), after that byte.
  std::uint8_t progress = 255;
  if (m_scheduler->rank() == 0) {
    try {
      if (const auto delay = progress_bar_delay(options.progress))
        progress = static_cast<std::uint8_t>(*delay * 10);
    } catch (const value_error&) {
      progress = 254;
    }
  }
  std::string mine(1, static_cast<char>(progress));
  if (!options.trace.empty()) {
    mine += options.trace;
  } else if (const char* env = std::getenv("TESSERA_TRACE")) {
    mine += env;
  }
  const auto all = m_scheduler->allgather(std::as_bytes(std::span(mine.data(), mine.size())));
  const std::string decided(reinterpret_cast<const char*>(all.at(0).data()), all.at(0).size());
  progress = static_cast<std::uint8_t>(decided.at(0));
  if (progress == 254) {
    throw value_error(
        fmt::format("TESSERA_PROGRESS on rank 0 is '{}': expected 1/on/always or "
                    "0/off/never",
                    m_scheduler->rank() == 0 ? std::getenv("TESSERA_PROGRESS") : "?"));
  }
  if (progress != 255) m_scheduler->set_progress(ProgressBar(stderr, progress / 10.0));
  if (const std::string trace = decided.substr(1); !trace.empty()) {
    m_trace = std::make_unique<detail::ScopedRecording>(trace, *m_scheduler,
                                                        detail::trace::chrome_trace_json, "trace");
  }
  set_default_scheduler(m_scheduler.get());
}

std::vector<MemoryStats> Runtime::memory_stats_all() {
  const MemoryStats mine = memory_stats();
  const auto all = m_scheduler->allgather(std::as_bytes(std::span(&mine, 1)));
  std::vector<MemoryStats> out(all.size());
  for (std::size_t r = 0; r < all.size(); ++r)
    std::memcpy(&out[r], all[r].data(), sizeof(MemoryStats));
  return out;
}

Runtime::~Runtime() {
  m_trace.reset();  // collective: writes the trace while every rank's scheduler is still here
  set_default_scheduler(nullptr);
  m_scheduler.reset();
}

}  // namespace tessera
