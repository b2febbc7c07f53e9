#include "tessera/comm/communicator.hpp"

#include <algorithm>
#include <climits>
#include <utility>

#include "tessera/comm/mpi_error.hpp"

namespace tessera::comm {

namespace {
/// MPI counts are int: bulk transfers go in pieces of at most this many bytes.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;
}  // namespace

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

std::vector<std::vector<std::byte>> Communicator::allgather_bytes(
    std::span<const std::byte> mine) const {
  if (mine.size() > static_cast<std::size_t>(INT_MAX)) {
    throw mpi_error("allgather_bytes: more than 2 GiB from one rank", 0);
  }
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(m_size));
  detail::check_mpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, m_comm),
                    "MPI_Allgather");
  std::vector<int> displs(counts.size());
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += counts[r];
  }
  if (total > INT_MAX) throw mpi_error("allgather_bytes: more than 2 GiB in all", 0);
  std::vector<std::byte> all(static_cast<std::size_t>(total));
  detail::check_mpi(MPI_Allgatherv(mine.data(), count, MPI_BYTE, all.data(), counts.data(),
                                   displs.data(), MPI_BYTE, m_comm),
                    "MPI_Allgatherv");
  std::vector<std::vector<std::byte>> out(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) {
    out[r].assign(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
  }
  return out;
}

void Communicator::bcast_bytes(std::vector<std::byte>& data, int root) const {
  std::uint64_t size = data.size();
  detail::check_mpi(MPI_Bcast(&size, 1, MPI_UINT64_T, root, m_comm), "MPI_Bcast");
  data.resize(static_cast<std::size_t>(size));
  for (std::size_t done = 0; done < data.size(); done += kMaxPiece) {
    const auto n = static_cast<int>(std::min(kMaxPiece, data.size() - done));
    detail::check_mpi(MPI_Bcast(data.data() + done, n, MPI_BYTE, root, m_comm), "MPI_Bcast");
  }
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
