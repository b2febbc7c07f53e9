#pragma once
// The agreements io needs around a graph run, built on the scheduler's one collective
// (Scheduler::allgather): a metadata query made once and shared, and "did every rank succeed?".
// Errors keep their class and message, so every rank throws the same exception.

#include <exception>
#include <functional>
#include <string>

#include "tessera/exec/scheduler.hpp"

namespace tessera::detail {

/// Runs `query` on rank 0 only and returns its result on every rank. If it throws, every rank
/// throws the same error (same class and message). Collective.
std::string query_on_root(Scheduler& s, const std::function<std::string()>& query);

/// Every rank says whether it failed (`mine`: nullptr for success). If any did, every rank
/// throws the error of the lowest failing rank. Collective.
void agree(Scheduler& s, std::exception_ptr mine);

}  // namespace tessera::detail
