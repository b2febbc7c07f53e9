#pragma once
/// @file
/// The one wire form of an error that crosses ranks (a distributed run's abort, a failed
/// future's value): a task_error keeps its task, original message and rank; any other
/// exception travels as its message.

#include <exception>

#include "tessera/core/serialize.hpp"

namespace tessera::detail {

/// Writes `error` (rethrown to read it). `rank`: the rank it happened on, for errors that do
/// not carry one (a task_error raised by a one-process run has rank -1).
void write_error(WireWriter& out, std::exception_ptr error, int rank);
/// The error write_error wrote: a task_error, or an `error` "rank R failed: message".
std::exception_ptr read_error(WireReader& in);

}  // namespace tessera::detail
