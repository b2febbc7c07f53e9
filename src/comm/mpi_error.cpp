#include "tessera/comm/mpi_error.hpp"

#include <mpi.h>

#include <fmt/format.h>

namespace tessera::detail {

void throw_mpi_error(int rc, const char* call) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  int rank = -1, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw mpi_error(fmt::format("[rank {}] {} failed: {} (MPI error {})", rank, call,
                              std::string_view(text, static_cast<std::size_t>(length)), rc),
                  rc);
}

}  // namespace tessera::detail
