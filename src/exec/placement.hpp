#pragma once
/// @file
/// Placement of a run's tasks on ranks (the planning step of the distributed scheduler, done
/// on rank 0).

#include <cstdint>
#include <string>
#include <vector>

#include "exec/task_execution.hpp"

namespace tessera::detail {

/// owner[t] of a task not needed by the run.
inline constexpr std::int32_t kNotNeeded = -1;
/// owner[t] of a literal that is not pinned: every rank built it, so every rank holds it.
inline constexpr std::int32_t kEverywhere = -2;

/// Owner-computes placement of the tasks `plan` needs, on `num_ranks` ranks:
/// - a pinned task runs on its rank (its value lives there);
/// - a task that reads located inputs runs where most of its input bytes live (size hints;
///   ranks within an eighth of the most count as tied, and the least loaded of them takes
///   it), so elementwise chains stay with their data and the lower
///   levels of a reduction tree combine locally before anything crosses ranks;
/// - the others (sources, tasks that read only literals) are spread as contiguous runs in task
///   order, the default distribution: rank r gets the r-th of num_ranks equal shares.
/// Throws graph_error for a task pinned to a rank that does not exist.
std::vector<std::int32_t> place_tasks(const TaskGraph& graph, const RunPlan& plan, int num_ranks);

}  // namespace tessera::detail
