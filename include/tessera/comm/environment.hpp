#pragma once
/// @file
/// `comm::Environment`: MPI's lifetime, in a visible scope.

namespace tessera::comm {

/// Initialises MPI (MPI_Init_thread) on construction and finalises it on destruction, unless
/// MPI was initialised already by someone else (a simulation code that owns MPI), in which
/// case it does neither. Works without mpirun: the process is then a single rank.
///
/// Tessera asks for MPI_THREAD_MULTIPLE: worker threads never call MPI, but the thread that
/// drives a run and the user's own thread may differ. At least MPI_THREAD_SERIALIZED is
/// required (an mpi_error otherwise).
class Environment {
 public:
  Environment() : Environment(nullptr, nullptr) {}
  Environment(int* argc, char*** argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  /// Whether this object initialised MPI (and so will finalise it).
  bool owns() const noexcept { return m_owns; }
  /// The thread support level MPI provides (MPI_THREAD_*).
  int thread_level() const noexcept { return m_thread_level; }

  static bool initialized();
  static bool finalized();

 private:
  bool m_owns = false;
  int m_thread_level = 0;
};

}  // namespace tessera::comm
