#pragma once
/// @file
/// `mpi_error` and the one place every MPI return code is checked.

#include <string>

#include "tessera/core/error.hpp"

namespace tessera {

/// Communication between ranks failed: a message that cannot be read, or (mpi_error) an MPI
/// call that failed. Not a fault of the graph or of a task: the ranks' protocol state is
/// unknown afterwards.
class transport_error : public error {
 public:
  using error::error;
};

/// An MPI call failed. The message names the call, the rank and MPI's own error string.
class mpi_error : public transport_error {
 public:
  mpi_error(std::string message, int code) : transport_error(std::move(message)), m_code(code) {}
  /// The MPI error code the call returned.
  int code() const noexcept { return m_code; }

 private:
  int m_code;
};

namespace detail {
[[noreturn]] void throw_mpi_error(int rc, const char* call);

/// Throws mpi_error when `rc` is not MPI_SUCCESS (0). Communicators that Tessera creates use
/// MPI_ERRORS_RETURN, so errors arrive here instead of aborting the job.
inline void check_mpi(int rc, const char* call) {
  if (rc != 0) throw_mpi_error(rc, call);
}
}  // namespace detail

}  // namespace tessera
