#include "exec/scoped_recording.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "comm/message_engine.hpp"
#include "exec/performance_report_html.hpp"
#include "tessera/core/error.hpp"
#include "tessera/exec/performance_report.hpp"
#include "tessera/exec/trace.hpp"

namespace tessera {

namespace detail {

namespace {

/// Writes `text` to `path` through a temporary next to it: a reader never sees half a file.
/// Returns an error message, empty on success.
std::string write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tessera-{}.tmp", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return fmt::format("cannot create '{}': {}", tmp, std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int saved = errno;
  if (std::fclose(f) != 0 || !written) {
    std::remove(tmp.c_str());
    return fmt::format("cannot write '{}': {}", tmp, std::strerror(written ? errno : saved));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return fmt::format("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(e));
  }
  return {};
}

}  // namespace

ScopedRecording::ScopedRecording(std::string path, Scheduler& scheduler, Formatter format,
                                 std::string what)
    : m_path(std::move(path)),
      m_scheduler(scheduler),
      m_format(std::move(format)),
      m_what(std::move(what)),
      m_uncaught(std::uncaught_exceptions()) {
  if (m_path.empty()) throw value_error(fmt::format("a {} needs a file path", m_what));
}

ScopedRecording::~ScopedRecording() {
  if (m_closed) return;
  if (std::uncaught_exceptions() > m_uncaught) {
    // The other ranks may be elsewhere: collecting now could wait for them forever.
    if (m_scheduler.rank() == 0) {
      std::fprintf(stderr, "tessera: %s '%s' not written: an exception is unwinding the stack\n",
                   m_what.c_str(), m_path.c_str());
    }
    return;
  }
  try {
    close();
  } catch (const std::exception& e) {
    if (m_scheduler.rank() == 0) std::fprintf(stderr, "tessera: %s\n", e.what());
  }
}

void ScopedRecording::close() {
  if (m_closed) return;
  m_closed = true;
  comm::MessageEngine* engine = m_scheduler.message_engine();
  const trace::Recording rec =
      m_session.collect(engine, m_scheduler.num_threads(), m_scheduler.memory_stats().budget);
  std::string error;
  if (m_scheduler.rank() == 0) {
    try {
      error = write_atomically(m_path, m_format(rec));
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (engine != nullptr && engine->size() > 1) {
    const auto* text = reinterpret_cast<const std::byte*>(error.data());
    std::vector<std::byte> bytes(text, text + error.size());
    engine->bcast_bytes(bytes, 0);
    error.assign(bytes.empty() ? "" : reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  if (!error.empty()) {
    throw io_error(fmt::format("cannot write the {} '{}' on rank 0: {}", m_what, m_path, error));
  }
}

}  // namespace detail

Trace::Trace(std::string path, Scheduler& scheduler)
    : m(std::make_unique<detail::ScopedRecording>(std::move(path), scheduler,
                                                  detail::trace::chrome_trace_json, "trace")) {}
Trace::~Trace() = default;
void Trace::close() { m->close(); }

PerformanceReport::PerformanceReport(std::string path, Scheduler& scheduler)
    : m(std::make_unique<detail::ScopedRecording>(std::move(path), scheduler,
                                                  detail::trace::performance_report_html,
                                                  "performance report")) {}
PerformanceReport::~PerformanceReport() = default;
void PerformanceReport::close() { m->close(); }

}  // namespace tessera
