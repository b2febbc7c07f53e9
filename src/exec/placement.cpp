#include "exec/placement.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tessera::detail {

std::vector<std::int32_t> place_tasks(const TaskGraph& graph, const RunPlan& plan, int num_ranks) {
  std::vector<std::int32_t> owner(plan.extent, kNotNeeded);
  const auto is_everywhere = [&](TaskId id) { return !graph.fn(id) && graph.pinned_rank(id) < 0; };
  // A task is "free" when nothing it reads has a location: it is spread by the default
  // distribution. Counted first, so the shares can be contiguous.
  std::vector<std::uint8_t> free(plan.extent, 0);
  std::int64_t num_free = 0;
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (!plan.needed(id) || graph.pinned_rank(id) >= 0 || is_everywhere(id)) continue;
    const auto deps = graph.deps(id);
    if (std::all_of(deps.begin(), deps.end(), is_everywhere)) {
      free[static_cast<std::size_t>(id)] = 1;
      ++num_free;
    }
  }
  std::vector<std::uint64_t> bytes(static_cast<std::size_t>(num_ranks), 0);
  std::int64_t next_free = 0;
  std::vector<std::uint64_t> placed(static_cast<std::size_t>(num_ranks), 0);  // bytes of tasks
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (!plan.needed(id)) continue;
    auto& o = owner[static_cast<std::size_t>(id)];
    if (const int pin = graph.pinned_rank(id); pin >= 0) {
      if (pin >= num_ranks) {
        throw graph_error(fmt::format(
            "task {} is pinned to rank {}, but the scheduler runs on {} rank(s) (was the array "
            "persisted on a scheduler with more ranks?)",
            graph.name(id), pin, num_ranks));
      }
      o = pin;
    } else if (is_everywhere(id)) {
      o = kEverywhere;
    } else if (free[static_cast<std::size_t>(id)]) {
      o = static_cast<std::int32_t>(next_free * num_ranks / num_free);
      ++next_free;
    } else {
      std::fill(bytes.begin(), bytes.end(), 0);
      for (TaskId dep : graph.deps(id)) {
        const auto d = owner[static_cast<std::size_t>(dep)];
        if (d >= 0)
          bytes[static_cast<std::size_t>(d)] += std::max<std::size_t>(1, graph.size_hint(dep));
      }
      // Where most input bytes live; ranks within an eighth of the most are as good, and the
      // one given the fewest bytes of tasks so far takes it. An output chunk of a rechunk
      // gathers about as much from every rank: these spread over the ranks instead of all
      // landing on whichever holds a little more of the input.
      const std::uint64_t most = *std::max_element(bytes.begin(), bytes.end());
      o = -1;
      for (int r = 0; r < num_ranks; ++r) {
        const auto ur = static_cast<std::size_t>(r);
        if (bytes[ur] * 8 < most * 7) continue;
        if (o < 0 || placed[ur] < placed[static_cast<std::size_t>(o)]) o = r;
      }
    }
    if (o >= 0)
      placed[static_cast<std::size_t>(o)] += std::max<std::size_t>(1, graph.size_hint(id));
  }
  return owner;
}

}  // namespace tessera::detail
