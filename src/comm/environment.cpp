#include "tessera/comm/environment.hpp"

#include <mpi.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "tessera/comm/mpi_error.hpp"

namespace tessera::comm {

namespace {

// The process-wide guards Environment installs when it owns MPI: a rank that ends abnormally
// ends the whole job at once, with a message naming it, instead of leaving the other ranks
// waiting for it until the allocation ends.
bool g_running = false;  // between the owning Environment's construction and destruction
std::terminate_handler g_previous_terminate = nullptr;

int world_rank() noexcept {
  int rank = -1;
  if (Environment::initialized() && !Environment::finalized()) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  }
  return rank;
}

[[noreturn]] void end_job(const std::string& message) noexcept {
  std::fprintf(stderr, "tessera: %s; ending the job\n", message.c_str());
  std::fflush(stderr);
  if (Environment::initialized() && !Environment::finalized()) MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

void on_terminate() noexcept {
  std::string what = "std::terminate was called";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = std::string("uncaught exception: ") + x.what();
    } catch (...) {
      what = "uncaught exception (not derived from std::exception)";
    }
  }
  end_job(fmt::format("rank {}: {}", world_rank(), what));
}

void on_exit() noexcept {
  if (!g_running || !Environment::initialized() || Environment::finalized()) return;
  end_job(fmt::format(
      "rank {} called exit() while Tessera was running (before its Runtime or Environment "
      "was destroyed)",
      world_rank()));
}

}  // namespace

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
  if (m_owns) {
    // Errors come back as return codes on Tessera's communicators; the guards below end the
    // job for the ways a rank can leave without going through them.
    static const bool registered = (std::atexit([] { on_exit(); }), true);
    (void)registered;
    g_previous_terminate = std::set_terminate(on_terminate);
    g_running = true;
  }
}

Environment::~Environment() {
  if (!m_owns) return;
  g_running = false;
  std::set_terminate(g_previous_terminate);
  if (!finalized()) MPI_Finalize();
}

}  // namespace tessera::comm
