#include "tessera/core/error.hpp"

#include <fmt/format.h>

namespace tessera {

task_error::task_error(std::string task, std::string original, int rank)
    : error("task " + task + " failed" +
            (rank >= 0 ? " on rank " + std::to_string(rank) : std::string()) + ": " + original),
      m_task(std::move(task)),
      m_original(std::move(original)),
      m_rank(rank) {}

namespace detail {
std::string format_bytes(std::size_t bytes) {
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  return fmt::format("{:.1f} {} ({} bytes)", v, units[u], bytes);
}
}  // namespace detail

}  // namespace tessera
