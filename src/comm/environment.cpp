#include "tessera/comm/environment.hpp"

#include <mpi.h>

#include <fmt/format.h>

#include "tessera/comm/mpi_error.hpp"

namespace tessera::comm {

bool Environment::initialized() {
  int flag = 0;
  MPI_Initialized(&flag);
  return flag != 0;
}

bool Environment::finalized() {
  int flag = 0;
  MPI_Finalized(&flag);
  return flag != 0;
}

Environment::Environment(int* argc, char*** argv) {
  if (finalized()) throw mpi_error("MPI was finalized already: it cannot be initialised again", 0);
  if (initialized()) {
    MPI_Query_thread(&m_thread_level);
  } else {
    detail::check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &m_thread_level),
                      "MPI_Init_thread");
    m_owns = true;
  }
  if (m_thread_level < MPI_THREAD_SERIALIZED) {
    if (m_owns) MPI_Finalize();
    throw mpi_error(fmt::format("Tessera needs MPI_THREAD_SERIALIZED or more; this MPI provides "
                                "level {}",
                                m_thread_level),
                    0);
  }
}

Environment::~Environment() {
  if (m_owns && !finalized()) MPI_Finalize();
}

}  // namespace tessera::comm
