#pragma once
/// @file
/// `comm::Communicator`: an owning or borrowing handle on an MPI communicator. The engine's
/// messages and collectives live in comm's MessageEngine (src/comm/message_engine.hpp). Every
/// member that communicates is collective over the communicator.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tessera::comm {

class Communicator {
 public:
  /// MPI_COMM_WORLD, borrowed (never freed).
  static Communicator world();

  /// A borrowed MPI_COMM_SELF.
  Communicator() : Communicator(MPI_COMM_SELF, false) {}
  ~Communicator();
  /// Copies duplicate (MPI_Comm_dup, collective): a copy never shares message matching with
  /// its source, so libraries cannot intercept each other's messages.
  Communicator(const Communicator& other);
  Communicator& operator=(const Communicator& other);
  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;

  /// A duplicate that this object owns, with MPI_ERRORS_RETURN set. Collective.
  Communicator dup() const;

  int rank() const noexcept { return m_rank; }
  int size() const noexcept { return m_size; }
  MPI_Comm native() const noexcept { return m_comm; }

  /// How many ranks of this communicator share this rank's node (MPI_COMM_TYPE_SHARED).
  int ranks_on_node() const;

 private:
  Communicator(MPI_Comm comm, bool owned);
  void release() noexcept;

  MPI_Comm m_comm = MPI_COMM_NULL;
  bool m_owned = false;
  int m_rank = 0;
  int m_size = 1;
};

}  // namespace tessera::comm
