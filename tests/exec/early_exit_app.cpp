// A job in which the last rank leaves early, in one of the ways a real program does, while
// the other ranks go on into a collective compute. Run by early_exit.sh, which checks that the
// whole job ends within seconds with a message naming that rank (issue: "one failure policy,
// and no hung allocations").
//
//     early_exit_app <mode>
// mode: ok (every rank finishes), return (returns from main), exception (an exception caught
// and turned into an early return), exit (std::exit), uncaught (an uncaught exception),
// late (reaches the compute 30 s late: the watchdog, TESSERA_COLLECTIVE_TIMEOUT, must end it),
// killed_writer (every rank writes an HDF5 file to $TESSERA_KILL_TARGET; the rank computing
// element 9000 of it dies of SIGKILL midway: no file may appear at the target),
// killed_compute (a compute of minutes, traced when TESSERA_TRACE asks; the last rank dies of
// SIGKILL in its third task: the job must end at once, with no trace file written).

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

double work(int step) {
  return (arange(std::int64_t{1000}, {.chunks = 100}) * step).sum().item<double>();
}

int run(const std::string& mode) {
  Runtime runtime;
  const int rank = default_scheduler().rank();
  const bool leaver = rank == default_scheduler().num_ranks() - 1 && rank > 0;
  work(1);
  work(2);
  if (mode == "killed_writer") {
    const char* target = std::getenv("TESSERA_KILL_TARGET");
    const Array x = fromfunction<double>(
        [](index_t i) {
          if (i == 9000) std::raise(SIGKILL);
          return static_cast<double>(i);
        },
        {10000}, 100);
    to_hdf5(target ? target : "killed.h5", "x", x * 2);
    return 0;
  }
  if (mode == "killed_compute") {
    static std::atomic<int> tasks_here{0};
    const Array x = fromfunction<double>(
        [leaver](index_t i) {
          if (i % 100 == 0) {
            if (leaver && ++tasks_here == 3) std::raise(SIGKILL);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
          return static_cast<double>(i);
        },
        {100000}, 100);  // 1000 chunks of 0.1 s
    std::printf("result %.1f (the job should have ended)\n", x.sum().item<double>());
    return 0;
  }
  if (leaver) {
    if (mode == "return") return 0;
    if (mode == "exception") throw std::runtime_error("input file is missing");
    if (mode == "exit") std::exit(3);
    if (mode == "uncaught") {
      std::thread([] { throw std::runtime_error("bad element 7"); }).join();
    }
    if (mode == "late") std::this_thread::sleep_for(std::chrono::seconds(30));
  }
  const double r = work(3);
  if (rank == 0) std::printf("result %.1f\n", r);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  try {
    return run(mode);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "early_exit_app: %s\n", e.what());
    return 1;
  }
}
