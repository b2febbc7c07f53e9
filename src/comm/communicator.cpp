#include "tessera/comm/communicator.hpp"

#include <utility>

#include "tessera/comm/mpi_error.hpp"

namespace tessera::comm {

Communicator Communicator::world() { return Communicator(MPI_COMM_WORLD, false); }

Communicator::Communicator(MPI_Comm comm, bool owned) : m_comm(comm), m_owned(owned) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return;  // MPI_COMM_SELF before MPI_Init: a placeholder of one rank
  detail::check_mpi(MPI_Comm_rank(m_comm, &m_rank), "MPI_Comm_rank");
  detail::check_mpi(MPI_Comm_size(m_comm, &m_size), "MPI_Comm_size");
}

Communicator::~Communicator() { release(); }

void Communicator::release() noexcept {
  if (m_owned && m_comm != MPI_COMM_NULL) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&m_comm);
  }
  m_comm = MPI_COMM_NULL;
  m_owned = false;
}

Communicator::Communicator(const Communicator& other) : Communicator(other.dup()) {}

Communicator& Communicator::operator=(const Communicator& other) {
  if (this != &other) *this = other.dup();
  return *this;
}

Communicator::Communicator(Communicator&& other) noexcept
    : m_comm(std::exchange(other.m_comm, MPI_COMM_NULL)),
      m_owned(std::exchange(other.m_owned, false)),
      m_rank(other.m_rank),
      m_size(other.m_size) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    release();
    m_comm = std::exchange(other.m_comm, MPI_COMM_NULL);
    m_owned = std::exchange(other.m_owned, false);
    m_rank = other.m_rank;
    m_size = other.m_size;
  }
  return *this;
}

Communicator Communicator::dup() const {
  MPI_Comm copy = MPI_COMM_NULL;
  detail::check_mpi(MPI_Comm_dup(m_comm, &copy), "MPI_Comm_dup");
  detail::check_mpi(MPI_Comm_set_errhandler(copy, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return Communicator(copy, true);
}

int Communicator::ranks_on_node() const {
  MPI_Comm node = MPI_COMM_NULL;
  detail::check_mpi(MPI_Comm_split_type(m_comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                    "MPI_Comm_split_type");
  int n = 1;
  const int rc = MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  detail::check_mpi(rc, "MPI_Comm_size");
  return n;
}

}  // namespace tessera::comm
