// The main of every MPI test executable (the rules for MPI test bodies: CONTRIBUTING.md,
// "Tests"): MPI is initialised in a visible scope, every rank runs the same tests in the same
// order, only rank 0 prints the usual report, other ranks print their failures prefixed with
// their rank, and the exit code is the maximum over all ranks, so mpiexec (and ctest) fail
// when any rank failed.
//
// Built twice (tests/CMakeLists.txt): for the MPI-only tests, which always initialise MPI, and
// with TESSERA_TEST_MPI_WHEN_LAUNCHED for the array and property tests, which are plain serial
// gtest executables unless an MPI launcher started them (support/launcher.hpp).

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

#include "support/launcher.hpp"
#include "tessera/comm/environment.hpp"

namespace {

/// Prints only failed assertions, as "[rank r] file:line: Failure ...".
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : m_rank(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", m_rank,
                 r.file_name() ? r.file_name() : "?", r.line_number(), r.summary());
  }

 private:
  int m_rank;
};

/// One collective per test: rank 0's report names the tests that failed on other ranks.
class FailureCollector : public ::testing::EmptyTestEventListener {
 public:
  explicit FailureCollector(int rank) : m_rank(rank) {}
  void OnTestEnd(const ::testing::TestInfo& info) override {
    int failed = info.result()->Failed() ? 1 : 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (m_rank == 0 && any && !failed) {
      std::fprintf(stderr, "[rank 0] %s.%s failed on another rank\n", info.test_suite_name(),
                   info.name());
      ADD_FAILURE() << "failed on another rank";
    }
  }

 private:
  int m_rank;
};

}  // namespace

int main(int argc, char** argv) {
#ifdef TESSERA_TEST_MPI_WHEN_LAUNCHED
  if (!tessera::testing::launched_by_mpi()) {  // a serial test run: no MPI at all
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  }
#endif
  tessera::comm::Environment env(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) {
    delete listeners.Release(listeners.default_result_printer());
    delete listeners.Release(listeners.default_xml_generator());
    listeners.Append(new RankFailurePrinter(rank));
  }
  listeners.Append(new FailureCollector(rank));
  int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}
