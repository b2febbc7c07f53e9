#include "tessera/exec/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

std::size_t parse_bytes(std::string_view text) {
  const auto bad = [&] {
    return value_error(
        fmt::format("'{}' is not a byte count (examples: 2GiB, 512MiB, 1.5GB, 4096)", text));
  };
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const std::size_t start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == start) throw bad();
  double value = 0;
  try {
    value = std::stod(std::string(text.substr(start, i - start)));
  } catch (...) {
    throw bad();
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit;
  for (; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) break;
    unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
  }
  for (; i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) throw bad();
  }
  double scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kib")
    scale = 0x1p10;
  else if (unit == "m" || unit == "mib")
    scale = 0x1p20;
  else if (unit == "g" || unit == "gib")
    scale = 0x1p30;
  else if (unit == "t" || unit == "tib")
    scale = 0x1p40;
  else if (unit == "kb")
    scale = 1e3;
  else if (unit == "mb")
    scale = 1e6;
  else if (unit == "gb")
    scale = 1e9;
  else if (unit == "tb")
    scale = 1e12;
  else
    throw bad();
  const double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes < 1 || bytes > 0x1p62) throw bad();
  return static_cast<std::size_t>(bytes);
}

std::string bytes_text(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

namespace {
/// A cgroup memory limit in bytes, or 0 when none is set.
std::size_t cgroup_limit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max",  // cgroup v2 (the process's own group
                                                         // when the namespace is private)
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {  // v1
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") continue;
    try {
      const auto v = std::stoull(text);
      if (v > 0 && v < (std::uint64_t{1} << 60)) return static_cast<std::size_t>(v);
    } catch (...) {
    }
  }
  return 0;
}
}  // namespace

std::size_t default_memory_budget(int ranks_on_node) {
  const auto pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  std::size_t memory = pages > 0 && page > 0
                           ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                           : std::size_t{4} << 30;
  if (const std::size_t limit = cgroup_limit(); limit > 0) memory = std::min(memory, limit);
  return std::max<std::size_t>(memory / 2 / static_cast<std::size_t>(std::max(ranks_on_node, 1)),
                               std::size_t{64} << 20);
}

std::size_t resolve_memory_budget(std::size_t requested, int ranks_on_node) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("TESSERA_MEMORY_BUDGET"); env != nullptr && *env != '\0') {
    try {
      return parse_bytes(env);
    } catch (const value_error& e) {
      throw value_error(fmt::format("TESSERA_MEMORY_BUDGET: {}", e.what()));
    }
  }
  return default_memory_budget(ranks_on_node);
}

}  // namespace tessera
