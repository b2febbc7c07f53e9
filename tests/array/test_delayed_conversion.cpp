// Tests of array/delayed_conversion.hpp: to_delayed (one Delayed<Block> per chunk) and
// from_delayed (a lazy Array over delayed blocks, checked per chunk), on every scheduler of
// all_schedulers() — and, built as mpi_test_delayed_conversion, on the distributed scheduler at
// 1-4 ranks (test bodies are SPMD; counts of calls are compared over all ranks).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "tessera/array/creation.hpp"
#include "tessera/array/delayed_conversion.hpp"
#include "tessera/delayed/delayed.hpp"
#include "tessera/delayed/delayed_function.hpp"

namespace tessera {
namespace {

using Int = std::int64_t;
using testing::all_schedulers;
using testing::called;

TEST(DelayedArrays, ToDelayedGivesOneBlockPerChunk) {
  const Array x = arange(20, {.chunks = 6}) * 2;  // chunks (6, 6, 6, 2)
  for (const auto& s : all_schedulers()) {
    std::vector<Delayed<Block>> blocks = to_delayed(x);
    ASSERT_EQ(blocks.size(), 4u);
    const std::vector<Block> got = compute(blocks, {.scheduler = s.get()});
    Int next = 0;
    for (const Block& b : got) {
      ASSERT_EQ(b.dtype(), DType::Int64);
      for (Int v : b.view<Int>()) EXPECT_EQ(v, 2 * next++) << s->name();
    }
    EXPECT_EQ(next, 20);
    EXPECT_EQ(got[3].shape(), (Shape{2}));
  }
}

TEST(DelayedArrays, FromDelayedBuildsALazyArray) {
  std::atomic<Int> calls{0};
  auto block = delayed(
      [&calls](Int rows, Int cols, double value) {
        ++calls;
        Block b(DType::Float64, Shape{rows, cols});
        for (double& v : b.view<double>()) v = value;
        return b;
      },
      {.name = "block"});
  const ChunkGrid grid({{2, 3}, {4}});
  for (const auto& s : all_schedulers()) {
    calls = 0;
    Array a = from_delayed({block(2, 4, 1.0), block(3, 4, 10.0)}, grid, DType::Float64);
    EXPECT_EQ(a.shape(), (Shape{5, 4}));
    EXPECT_TRUE(called(calls, 0, *s));  // lazy
    EXPECT_EQ(a.sum().item<double>({.scheduler = s.get()}), 2 * 4 * 1.0 + 3 * 4 * 10.0);
    const Array corner = a[{Slice{2, 3}, 0}];
    EXPECT_EQ(corner.item<double>({.scheduler = s.get()}), 10.0);
    // Round trip through to_delayed, over another chunking.
    const Array x = arange(24, {.chunks = 5}).astype(DType::Float64);
    const Array y = from_delayed(to_delayed(x), x.chunks(), DType::Float64);
    EXPECT_EQ(y.sum().item<double>({.scheduler = s.get()}), 23.0 * 24 / 2);
    // A block of the wrong shape fails its chunk's task, naming the chunk.
    Array bad = from_delayed({block(2, 4, 1.0), block(2, 4, 1.0)}, grid, DType::Float64);
    try {
      bad.sum().item<double>({.scheduler = s.get()});
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const task_error& e) {
      EXPECT_NE(std::string(e.what()).find("from_delayed: chunk (1, 0)"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(from_delayed({block(2, 4, 1.0)}, grid, DType::Float64), shape_error);
}

}  // namespace
}  // namespace tessera
