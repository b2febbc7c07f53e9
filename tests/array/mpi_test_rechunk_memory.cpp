// rechunk as a redistribution within each rank's memory budget: row panels stored across the
// ranks (persisted) rechunked to column panels, with a budget of an eighth of the array. Each
// output chunk gathers a piece from every row panel, so an eager schedule would cut every
// piece before any output could be assembled (the whole array again); pieces are roots cut in
// output order instead. At one rank the peak held stays a few output chunks; at several, ranks
// cut pieces ahead of the ranks that assemble them (there is no flow control between ranks
// yet), so the budget is reached and pieces that arrive early are spilled.

#include <gtest/gtest.h>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

TEST(RechunkMemory, RowPanelsToColumnPanelsStayWithinTheBudget) {
  const int ranks = distributed().num_ranks();
  const index_t n = 1024, panel = 16;               // 128 KiB panels, 8 MiB in all
  const std::size_t budget = std::size_t{1} << 20;  // 8 panels: 1/8 of the array
  const Array x =
      default_rng(5).uniform(0, 1, {n, n}, {panel, n}).persist({.scheduler = &distributed()});
  DistributedScheduler s(comm::Communicator::world(), 2, budget);
  const Array y = rechunk(x, {n, panel});
  const double total = y.sum().item<double>({.scheduler = &s});
  EXPECT_NEAR(total, x.sum().item<double>({.scheduler = &distributed()}), 1e-9 * total);
  const MemoryStats m = s.memory_stats();
  // Pieces are cut ahead of the output chunks that read them while the budget has room, and
  // held back (or, arriving from other ranks, spilled) once it is full: the peak stays within
  // the budget and two output chunks (values that cannot wait on disk: outputs, values whose
  // consumers run next).
  EXPECT_LE(m.peak_held, budget + static_cast<std::size_t>(2 * n * panel * 8)) << "ranks " << ranks;

  // Values: the same as the whole array's, column panel by column panel.
  EXPECT_TRUE(matches<double>(y, x.compute<double>({.scheduler = &distributed()}), s));
  std::printf("rank %d: peak held %zu of budget %zu, spilled %zu\n",
              comm::Communicator::world().rank(), m.peak_held, budget, m.spilled_bytes);
}

}  // namespace
}  // namespace tessera::testing
