#pragma once
/// @file
/// `PerformanceReport`: Dask's `performance_report` for Tessera. A scope that records what the
/// ranks run and writes one self-contained HTML file (no network needed to view it):
///
///     {
///       tessera::PerformanceReport report("report.html");  // collective
///       auto y = (x - x.mean(0)) / x.std(0);
///       tessera::to_hdf5("out.h5", "y", y);
///     }                                                   // rank 0 writes report.html here
///
/// The report shows:
/// - a summary: wall time, ranks and threads, computes and their graph sizes, tasks, bytes
///   moved between ranks, peak memory;
/// - the task stream: every task of every rank's threads on one time axis, coloured by task
///   family (zoom with the wheel, hover for a task's name, duration and bytes);
/// - per rank: time busy running tasks, in communication and idle, as shares of its threads'
///   time during the computes;
/// - bytes sent between each pair of ranks;
/// - each rank's memory held (and spilled) over time against its budget;
/// - the slowest tasks, and the time per task family.
/// The same events as a Chrome trace: tessera/exec/trace.hpp.

#include <memory>
#include <string>

#include "tessera/exec/scheduler.hpp"

namespace tessera {

namespace detail {
class ScopedRecording;
}

class PerformanceReport {
 public:
  /// Starts recording on every rank of `scheduler`. Collective.
  explicit PerformanceReport(std::string path, Scheduler& scheduler = default_scheduler());
  /// close(), if not called yet; an error is printed, not thrown. While an exception unwinds
  /// the stack, nothing is written (the other ranks may not be here).
  ~PerformanceReport();
  PerformanceReport(const PerformanceReport&) = delete;
  PerformanceReport& operator=(const PerformanceReport&) = delete;
  /// Stops recording and writes the report (rank 0; atomically). Collective; throws io_error
  /// on every rank when rank 0 cannot write it.
  void close();

 private:
  std::unique_ptr<detail::ScopedRecording> m;
};

}  // namespace tessera
