#pragma once
/// @file
/// A task-stream trace of a job in the Chrome trace-event format, which Perfetto
/// (ui.perfetto.dev) and chrome://tracing open:
///
///     tessera::Runtime rt(argc, argv, {.trace = "run.json"});  // the whole job, or
///     TESSERA_TRACE=run.json mpirun -n 4 ./app                  // the same without a rebuild
///
///     {
///       tessera::Trace trace("solve.json");  // only what runs in this scope (collective)
///       x.sum().compute();
///     }                                      // rank 0 writes solve.json here
///
/// The file has one process per rank ("rank 2") and in it one track per thread: the thread
/// that drives the rank's computes and its communication ("main (comm)"), and one per worker
/// ("worker 0", ...). Each task is a slice named by its label, with its chunk coordinates,
/// the bytes of its inputs and of its value; a value sent to another rank is a "send" slice
/// on the worker that produced it and a "receive" slice on the receiver's main thread, joined
/// by a flow arrow; "comm" slices are rounds of message work; each compute is a slice on main
/// with its graph's size; a "memory" counter per rank shows the bytes held and in the spill
/// file. Every rank's events are merged on rank 0, on rank 0's clock (each rank's clock offset
/// is measured by a few ping-pongs when the trace is written).
///
/// Recording costs a clock read and a write into a per-thread buffer per task (see
/// benchmarks/README.md for the measured overhead) and nothing when no trace is open.

#include <memory>
#include <string>

#include "tessera/exec/scheduler.hpp"

namespace tessera {

namespace detail {
class ScopedRecording;
}

/// Records what the ranks of `scheduler` run from construction until close() (or the
/// destructor), then writes the trace to `path` on rank 0 (atomically: a temporary next to it,
/// renamed). Both ends are collective over the scheduler's ranks.
class Trace {
 public:
  explicit Trace(std::string path, Scheduler& scheduler = default_scheduler());
  /// Closes the trace if close() was not called; an error is printed, not thrown. While an
  /// exception unwinds the stack, nothing is written (the other ranks may not be here).
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;
  /// Stops recording and writes the file. Throws io_error on every rank when rank 0 cannot
  /// write it.
  void close();

 private:
  std::unique_ptr<detail::ScopedRecording> m;
};

}  // namespace tessera
