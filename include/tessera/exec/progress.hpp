#pragma once
/// @file
/// The progress of a long compute, for whoever watches the job: tasks done of the run's total
/// across all ranks, bytes read from files and moved between ranks, rate, elapsed time and time
/// left (Dask's
/// ProgressBar). On rank 0 only.
///
///     tessera::Runtime runtime(argc, argv, {.progress = tessera::ProgressMode::always});
///
/// `ProgressMode::automatic` (Runtime's default) draws the bar when rank 0's stderr is a
/// terminal, and then only for computes longer than half a second; TESSERA_PROGRESS=1 or 0
/// forces it on (for every compute) or off.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace tessera {

/// One report on a run.
struct Progress {
  std::int64_t tasks_done = 0;    ///< tasks finished on all ranks (as last reported to rank 0)
  std::int64_t tasks_total = 0;   ///< tasks the run has on all ranks
  std::uint64_t bytes_read = 0;   ///< bytes read from files by all ranks during the run
  std::uint64_t bytes_moved = 0;  ///< bytes of values sent between ranks during the run
  double elapsed_s = 0;           ///< since the run started on rank 0
  bool finished = false;          ///< the run is over (succeeded or failed): the last report
};

/// Called on rank 0's thread that drives the run, about ten times a second and once at the end.
using ProgressCallback = std::function<void(const Progress&)>;

enum class ProgressMode {
  automatic,  ///< when rank 0's stderr is a terminal (or TESSERA_PROGRESS says otherwise)
  always,
  never,
};

/// Whether this process draws a bar for `mode`, and after how long: nullopt for no bar, 0 s
/// when asked for (`always`, or TESSERA_PROGRESS=1/on/always for `automatic`), 0.5 s when
/// `automatic` finds stderr a terminal. value_error naming TESSERA_PROGRESS when it holds
/// something else.
std::optional<double> progress_bar_delay(ProgressMode mode);

/// A progress bar on one line that redraws itself:
///   [########----------------]  42%  1075/2561 tasks  862.0 MiB read  431.0 MiB/s  12.1 MiB moved
///   0:02 / 0:03 left
/// A ProgressCallback. Nothing is drawn before `delay_s` has passed; the last report ends the
/// line.
class ProgressBar {
 public:
  explicit ProgressBar(std::FILE* out = stderr, double delay_s = 0.5)
      : m_out(out), m_delay_s(delay_s) {}
  void operator()(const Progress& p);
  /// The line drawn for `p` (no carriage return), `width` characters of bar.
  static std::string line(const Progress& p, int width = 24);

 private:
  std::FILE* m_out;
  double m_delay_s;
  bool m_drawn = false;
  std::size_t m_last_length = 0;
};

}  // namespace tessera
