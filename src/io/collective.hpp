#pragma once
// The agreements io needs around a graph run, built on the scheduler's one collective
// (Scheduler::allgather): a metadata query made once and shared, and "did every rank succeed?".
// Errors keep their class and message, so every rank throws the same exception.

#include <exception>
#include <functional>
#include <string>

#include "tessera/core/serialize.hpp"
#include "tessera/exec/scheduler.hpp"

namespace tessera::detail {

/// `s`, or the default scheduler when null (the io functions' `scheduler` arguments).
inline Scheduler& scheduler_or_default(Scheduler* s) { return s ? *s : default_scheduler(); }

/// What rank 0 shares, written with core's codec (header bytes only: numbers, strings, vectors
/// of them), as the string query_on_root carries.
inline std::string shared_bytes(WireWriter& w) {
  return std::string(reinterpret_cast<const char*>(w.header().data()), w.header().size());
}
/// A reader over shared_bytes (`bytes` must outlive it).
inline WireReader decode_shared(const std::string& bytes) {
  return WireReader(std::as_bytes(std::span(bytes.data(), bytes.size())), {});
}

/// Runs `query` on rank 0 only and returns its result on every rank. If it throws, every rank
/// throws the same error (same class and message). Collective.
std::string query_on_root(Scheduler& s, const std::function<std::string()>& query);

/// Every rank says whether it failed (`mine`: nullptr for success). If any did, every rank
/// throws the error of the lowest failing rank. Collective.
void agree(Scheduler& s, std::exception_ptr mine);

}  // namespace tessera::detail
