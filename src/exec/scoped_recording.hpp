#pragma once
/// @file
/// What Trace, PerformanceReport and the Runtime's TESSERA_TRACE share: a recording open for a
/// scope, collected on rank 0 at its end and written to a file there by a formatter.

#include <functional>
#include <string>

#include "exec/trace.hpp"
#include "tessera/exec/scheduler.hpp"

namespace tessera::detail {

class ScopedRecording {
 public:
  /// The file's contents for a recording (rank 0 only).
  using Formatter = std::function<std::string(const trace::Recording&)>;

  /// `what` names the file in messages ("trace", "performance report").
  ScopedRecording(std::string path, Scheduler& scheduler, Formatter format, std::string what);
  /// close() unless done; errors are printed. Nothing is collected while an exception that
  /// was not in flight at construction unwinds the stack.
  ~ScopedRecording();
  ScopedRecording(const ScopedRecording&) = delete;
  ScopedRecording& operator=(const ScopedRecording&) = delete;

  /// Collects every rank's events on rank 0, which writes the file (a temporary renamed into
  /// place). Collective; throws io_error on every rank when rank 0 could not write.
  void close();

 private:
  std::string m_path;
  Scheduler& m_scheduler;
  Formatter m_format;
  std::string m_what;
  trace::Session m_session;
  int m_uncaught;
  bool m_closed = false;
};

}  // namespace tessera::detail
