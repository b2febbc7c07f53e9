#include "tessera/exec/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "exec/bytes_read.hpp"
#include "tessera/core/error.hpp"
#include "tessera/exec/memory.hpp"

namespace tessera {

namespace detail {
namespace {
std::atomic<std::uint64_t> g_bytes_read{0};
}  // namespace

void count_bytes_read(std::uint64_t n) noexcept {
  g_bytes_read.fetch_add(n, std::memory_order_relaxed);
}
std::uint64_t bytes_read_so_far() noexcept { return g_bytes_read.load(std::memory_order_relaxed); }
}  // namespace detail

std::optional<double> progress_bar_delay(ProgressMode mode) {
  constexpr double kTerminalDelay = 0.5;  // short computes in a terminal stay silent
  if (mode == ProgressMode::always) return 0.0;
  if (mode == ProgressMode::never) return std::nullopt;
  if (const char* env = std::getenv("TESSERA_PROGRESS"); env != nullptr && *env != '\0') {
    const std::string_view v(env);
    if (v == "1" || v == "on" || v == "always") return 0.0;
    if (v == "0" || v == "off" || v == "never") return std::nullopt;
    throw value_error(fmt::format("TESSERA_PROGRESS='{}': expected 1/on/always or 0/off/never", v));
  }
  if (isatty(STDERR_FILENO) == 1) return kTerminalDelay;
  return std::nullopt;
}

namespace {
std::string clock_text(double s) {
  const auto t = static_cast<long long>(std::llround(std::max(0.0, s)));
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}
}  // namespace

std::string ProgressBar::line(const Progress& p, int width) {
  const double fraction =
      p.tasks_total > 0
          ? std::clamp(static_cast<double>(p.tasks_done) / static_cast<double>(p.tasks_total), 0.0,
                       1.0)
          : (p.finished ? 1.0 : 0.0);
  const int filled = static_cast<int>(std::floor(fraction * width));
  std::string s(static_cast<std::size_t>(width) + 2, '-');
  s.front() = '[';
  s.back() = ']';
  std::fill_n(s.begin() + 1, filled, '#');
  s += fmt::format(" {:3.0f}%  {}/{} tasks", std::floor(fraction * 100), p.tasks_done,
                   p.tasks_total);
  if (p.bytes_read > 0) {
    s += fmt::format("  {} read", bytes_text(p.bytes_read));
    if (p.elapsed_s > 0) {
      s += fmt::format(
          "  {}/s",
          bytes_text(static_cast<std::size_t>(static_cast<double>(p.bytes_read) / p.elapsed_s)));
    }
  } else if (p.elapsed_s > 0) {
    s += fmt::format("  {:.0f} tasks/s", static_cast<double>(p.tasks_done) / p.elapsed_s);
  }
  if (p.bytes_moved > 0) s += fmt::format("  {} moved", bytes_text(p.bytes_moved));
  s += "  " + clock_text(p.elapsed_s);
  if (p.finished) {
    s += " total";
  } else if (fraction > 0) {
    s += fmt::format(" / {} left", clock_text(p.elapsed_s * (1 - fraction) / fraction));
  }
  return s;
}

void ProgressBar::operator()(const Progress& p) {
  if (!m_drawn && p.elapsed_s < m_delay_s) return;  // short computes stay silent
  m_drawn = true;
  const std::string s = line(p);
  // Pad over what a longer previous line left behind.
  const std::size_t pad = m_last_length > s.size() ? m_last_length - s.size() : 0;
  std::fprintf(m_out, "\r%s%*s%s", s.c_str(), static_cast<int>(pad), "", p.finished ? "\n" : "");
  std::fflush(m_out);
  m_last_length = s.size();
  if (p.finished) {
    m_drawn = false;
    m_last_length = 0;
  }
}

}  // namespace tessera
