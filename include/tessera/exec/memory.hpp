#pragma once
/// @file
/// The per-rank memory budget: how many bytes of task values (chunks, partials, received
/// values) one rank's executor may hold at once, and what it did to keep to it.
///
/// Set it with `RuntimeOptions::memory_budget` or `TESSERA_MEMORY_BUDGET=2GiB`; by default
/// it is half the memory this process may use (its cgroup's limit, else the machine's
/// memory), divided among the ranks on the node. The executor holds back tasks that would
/// load new data while earlier values wait for their consumers, and when a value must be
/// kept while the budget is full it writes it to a spill file in `TMPDIR` (removed with the
/// rank, even if it is killed) and reads it back when a consumer needs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

/// One rank's figures, since its scheduler was created.
struct MemoryStats {
  std::size_t budget = 0;           ///< the budget in bytes
  std::size_t held = 0;             ///< bytes of values held now
  std::size_t peak_held = 0;        ///< the most ever held at once
  std::size_t spilled_bytes = 0;    ///< bytes written to the spill file
  std::int64_t spilled_values = 0;  ///< values written to it
  std::size_t read_back_bytes = 0;  ///< bytes read back from it
  std::int64_t read_back_values = 0;
  std::int64_t tasks_run = 0;  ///< tasks executed on this rank
  std::int64_t held_back = 0;  ///< times a task that loads new data waited for memory
};

/// "2GiB", "512 MiB", "1.5GB", "4096" (bytes), "64k": a byte count. Binary (KiB, MiB, GiB,
/// TiB) and decimal (kB, MB, GB, TB) units; single letters k, m, g, t are binary. Throws
/// value_error naming the text when it is not one.
std::size_t parse_bytes(std::string_view text);
/// "1.5 GiB": a byte count for people.
std::string bytes_text(std::size_t bytes);

/// Half the memory available to this process (the cgroup v2/v1 limit when one is set and
/// smaller than the physical memory), divided by `ranks_on_node`.
std::size_t default_memory_budget(int ranks_on_node);

/// The budget a scheduler uses when asked for `requested` bytes: `requested` when it is not 0,
/// else TESSERA_MEMORY_BUDGET when it is set (value_error naming the variable when it is not a
/// byte count), else default_memory_budget(ranks_on_node).
std::size_t resolve_memory_budget(std::size_t requested, int ranks_on_node);

}  // namespace tessera
