#pragma once
// Whether this test executable was started by an MPI launcher (mpiexec, mpirun, srun with PMI).
// The array and property tests are built once: run directly they are serial tests; started by
// a launcher, their main initialises MPI and all_schedulers() adds a DistributedScheduler over
// every rank (tests/CMakeLists.txt registers both).

#include <cstdlib>

namespace tessera::testing {

inline bool launched_by_mpi() {
  static const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr ||
                               std::getenv("PMIX_RANK") != nullptr ||
                               std::getenv("PMI_RANK") != nullptr;
  return launched;
}

}  // namespace tessera::testing
