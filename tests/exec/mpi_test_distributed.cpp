// The distributed scheduler at 1-4 ranks: errors raised on every rank with one message,
// mismatched graphs detected, result placements, large values, ranks without work, and
// random arrays bit-identical to a serial run.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

int rank() { return distributed().rank(); }
int ranks() { return distributed().num_ranks(); }

/// x[i] = i over 100 elements in 10 chunks, except element `bad`, which throws. The default
/// distribution gives chunk c to rank c * ranks / 10, so chunk 9 runs on the last rank.
Array failing_at(index_t bad) {
  return fromfunction<double>(
      [bad](index_t i) -> double {
        if (i == bad) throw value_error("bad element " + std::to_string(i));
        return static_cast<double>(i);
      },
      {100}, 10);
}

TEST(Distributed, TaskErrorOnTheLastRankReachesEveryRankWithOneMessage) {
  const ComputeOptions o{.scheduler = &distributed()};
  std::string what;
  int failed_rank = -2;
  try {
    (failing_at(95) * 2.0).sum().item<double>(o);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    what = e.what();
    failed_rank = e.rank();
    EXPECT_EQ(e.what_original(), "bad element 95");
    // The fused task that generates and sums chunk 9.
    EXPECT_NE(e.task().find(", 9)"), std::string::npos) << e.task();
  }
  EXPECT_EQ(failed_rank, ranks() - 1);
  EXPECT_NE(what.find("on rank " + std::to_string(ranks() - 1)), std::string::npos) << what;
  for (const auto& w : gather_strings(what)) EXPECT_EQ(w, what);
  // The scheduler stays usable: the same graph without the bad element, and a persist.
  EXPECT_EQ(failing_at(-1).sum().item<double>(o), 4950.0);
  EXPECT_THROW(failing_at(3).persist(o), task_error);
  EXPECT_EQ((failing_at(-1).persist(o) * 2.0).sum().item<double>(o), 9900.0);
}

TEST(Distributed, FailuresOnSeveralRanksAgreeOnOneError) {
  const ComputeOptions o{.scheduler = &distributed()};
  // Every chunk fails. Which ranks get to fail is a race (a rank that hears another's abort
  // first starts no task), but all ranks report the same failure: the lowest rank that did.
  const Array x =
      fromfunction<double>([](index_t) -> double { throw value_error("all bad"); }, {100}, 10);
  try {
    x.sum().item<double>(o);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_GE(e.rank(), 0);
    EXPECT_LT(e.rank(), ranks());
    EXPECT_EQ(e.what_original(), "all bad");
    for (const auto& w : gather_strings(e.what())) EXPECT_EQ(w, e.what());
  }
}

TEST(Distributed, FailureInARawGraphOnRankOne) {
  // A literal pinned to rank 1 (or 0 at one rank) pulls its consumer there, which throws.
  const int where = std::min(1, ranks() - 1);
  TaskGraph g;
  const auto label = g.add_label("pinned");
  const std::int64_t zero = 0;
  const TaskId data = g.add_value(label, std::span(&zero, 1), Value::make(std::int64_t{41}));
  g.pin(data, where);
  const TaskId deps[] = {data};
  const TaskId bad = g.add(g.add_label("explode"), {}, deps, [](std::span<const Value>) -> Value {
    throw std::runtime_error("exploded");
  });
  const TaskId outputs[] = {bad};
  try {
    distributed().run(g, outputs);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.rank(), where);
    EXPECT_EQ(e.task(), "'explode'");
    EXPECT_EQ(e.what_original(), "exploded");
  }
}

/// A result type without a Serializer: it cannot cross ranks.
struct Opaque {
  int v = 0;
};

TEST(Distributed, AValueThatCannotCrossRanksFailsTheRunOnEveryRank) {
  TaskGraph g;
  const TaskId producer = g.add(g.add_label("opaque"), {}, {},
                                [](std::span<const Value>) { return Value::make(Opaque{7}); });
  g.pin(producer, 0);
  const TaskId deps[] = {producer};
  const TaskId consumer = g.add(g.add_label("reader"), {}, deps, [](std::span<const Value> in) {
    return Value::make(std::int64_t{in[0].get<Opaque>().v});
  });
  g.pin(consumer, ranks() - 1);
  const TaskId outputs[] = {consumer};
  if (ranks() == 1) {
    EXPECT_EQ(distributed().run(g, outputs)[0].get<std::int64_t>(), 7);
    return;
  }
  try {
    distributed().run(g, outputs);
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    EXPECT_EQ(e.task(), "'opaque'");
    EXPECT_EQ(e.rank(), 0);
    EXPECT_NE(e.what_original().find("cannot cross ranks"), std::string::npos) << e.what();
  }
}

TEST(Distributed, DifferentGraphsOnDifferentRanksAreAnErrorOnEveryRank) {
  TaskGraph g;
  const auto label = g.add_label("task");
  // Rank 1 builds one task more than the others.
  const int n = 3 + (rank() == 1 ? 1 : 0);
  std::vector<TaskId> ids;
  for (int i = 0; i < n; ++i) {
    const std::int64_t c = i;
    ids.push_back(g.add(label, std::span(&c, 1), {},
                        [i](std::span<const Value>) { return Value::make(std::int64_t{i}); }));
  }
  const TaskId outputs[] = {ids[2]};
  if (ranks() == 1) {
    EXPECT_EQ(distributed().run(g, outputs)[0].get<std::int64_t>(), 2);
    return;
  }
  try {
    distributed().run(g, outputs);
    ADD_FAILURE() << "no error";
  } catch (const graph_error& e) {
    EXPECT_NE(std::string(e.what()).find("different task graphs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
  }
  // Still usable.
  EXPECT_EQ(arange(10, {.chunks = 3}).sum().item<std::int64_t>({.scheduler = &distributed()}), 45);
}

/// A ring that moves values between ranks: for each rank r, a producer pinned to r, a
/// consumer pinned to the next rank that multiplies the producer's value by 10, and a check
/// beside the consumer that counts inputs other than 10 r as misdelivered. `shift` adds that
/// many unused tasks in front, which renumbers every task (a value sent for task k lands on
/// another task on a rank whose graph is shifted differently); `skip_producer_of` leaves one
/// producer out (its consumer's rank waits for a value nobody sends).
struct RingGraph {
  TaskGraph graph;
  std::vector<TaskId> outputs;
};

/// Tasks of ring graphs that ran with inputs other than their own producers' values.
std::atomic<int> g_misdelivered{0};

RingGraph ring_graph(int shift, int skip_producer_of) {
  RingGraph g;
  const auto label = g.graph.add_label("unused");
  for (int i = 0; i < shift; ++i) {
    const std::int64_t c = i;
    g.graph.add(label, std::span(&c, 1), {},
                [](std::span<const Value>) { return Value::make(std::int64_t{-1000}); });
  }
  const int n = ranks();
  for (int r = 0; r < n; ++r) {
    if (r == skip_producer_of) continue;
    const std::int64_t c = r;
    const TaskId p =
        g.graph.add(g.graph.add_label("producer"), std::span(&c, 1), {},
                    [r](std::span<const Value>) { return Value::make(std::int64_t{r}); });
    g.graph.pin(p, r);
    const TaskId p_deps[] = {p};
    const TaskId q = g.graph.add(
        g.graph.add_label("consumer"), std::span(&c, 1), p_deps,
        [](std::span<const Value> in) { return Value::make(in[0].get<std::int64_t>() * 10); });
    g.graph.pin(q, (r + 1) % n);
    const TaskId q_deps[] = {q};
    const TaskId check = g.graph.add(g.graph.add_label("check"), std::span(&c, 1), q_deps,
                                     [r](std::span<const Value> in) {
                                       if (in[0].empty() || in[0].get<std::int64_t>() != 10 * r) {
                                         ++g_misdelivered;
                                       }
                                       return in[0];
                                     });
    g.graph.pin(check, (r + 1) % n);
    g.outputs.push_back(check);
  }
  return g;
}

TEST(Distributed, GraphsThatDifferWhileValuesMoveFailOnEveryRankAndLeaveNoStragglers) {
  if (ranks() == 1) GTEST_SKIP() << "needs two ranks";
  // Tasks start while the graphs' agreement is under way, so values of a mismatched graph are
  // already on their way (naming other tasks on the receiver), or a rank waits for a value
  // that is never sent. Either must end in the same graph_error on every rank, no task may
  // see a value meant for another task, and the correct run that follows must see none of
  // the failed run's values.
  for (int i = 0; i < 100; ++i) {
    const bool shifted = i % 2 == 0;
    const RingGraph bad =
        ring_graph(shifted && rank() == 1 ? 1 : 0, !shifted && rank() == 0 ? 1 : -1);
    // Rank 0 comes late, so that values for it are there before anyone knows the agreement.
    if (rank() == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    try {
      distributed().run(bad.graph, bad.outputs);
      ADD_FAILURE() << "no error at iteration " << i;
    } catch (const graph_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("different task graphs"), std::string::npos) << what;
      EXPECT_NE(what.find(shifted ? "rank 1" : "differ"), std::string::npos) << what;
    }
    const RingGraph good = ring_graph(0, -1);
    const auto values = distributed().run(good.graph, good.outputs);
    ASSERT_EQ(values.size(), static_cast<std::size_t>(ranks()));
    for (int r = 0; r < ranks(); ++r) {
      ASSERT_EQ(values[static_cast<std::size_t>(r)].get<std::int64_t>(), 10 * r)
          << "iteration " << i;
    }
  }
  EXPECT_EQ(sum_over_ranks(g_misdelivered.load()), 0);
}

TEST(Distributed, ResultPlacements) {
  const Array x = arange(40, {.chunks = 7}) * 3;  // 6 chunks
  const LoweredGraph lg = x.lower();
  const auto outputs = lg.all_outputs();
  const xt::xarray<std::int64_t> ref = xt::arange<std::int64_t>(40) * 3;
  const auto chunk_ref = [&](std::size_t k) {
    const index_t start = static_cast<index_t>(k) * 7;
    return xt::xarray<std::int64_t>(
        xt::view(ref, xt::range(start, std::min<index_t>(start + 7, 40))));
  };
  for (ResultPlacement p :
       {ResultPlacement::all_ranks, ResultPlacement::root, ResultPlacement::owners}) {
    const RunResult r = distributed().execute(lg.graph, outputs, p);
    ASSERT_EQ(r.values.size(), outputs.size());
    int held_here = 0;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const bool want = p == ResultPlacement::all_ranks || r.owners[k] == rank() ||
                        (p == ResultPlacement::root && rank() == 0);
      EXPECT_EQ(!r.values[k].empty(), want) << "output " << k << " placement " << int(p);
      if (!r.values[k].empty()) {
        ++held_here;
        EXPECT_EQ(xt::xarray<std::int64_t>(r.values[k].get<Block>().view<std::int64_t>()),
                  chunk_ref(k));
      }
      EXPECT_GE(r.owners[k], 0);
      EXPECT_LT(r.owners[k], ranks());
    }
    if (p == ResultPlacement::owners) {
      // Every chunk is held by exactly one rank.
      EXPECT_EQ(sum_over_ranks(held_here), static_cast<std::int64_t>(outputs.size()));
    }
  }
}

TEST(Distributed, ComputeToARootOnly) {
  const Array x = default_rng(8).uniform(0, 1, {50, 30}, ChunkSpec{20, 7});
  SynchronousScheduler sync;
  const xt::xarray<double> ref = x.compute<double>({.scheduler = &sync});
  const int root = ranks() - 1;
  const ComputeOptions o{.scheduler = &distributed(), .root = root};
  const xt::xarray<double> got = x.compute<double>(o);
  if (rank() == root) {
    EXPECT_EQ(got, ref);
  } else {
    EXPECT_EQ(got.size(), 0u);
  }
  // No chunk travels to a rank that is not the root.
  if (rank() != root) {
    EXPECT_EQ(distributed().last_transfers().values_received, 0);
  }
  EXPECT_EQ(x.sum().item<double>(o),
            rank() == root ? x.sum().item<double>({.scheduler = &sync}) : 0.0);
  EXPECT_THROW(x.compute<double>({.scheduler = &distributed(), .root = ranks()}), value_error);
}

TEST(Distributed, LargeChunksTravelInPieces) {
  // 2000 x 100 float64 in chunks of 300 x 100 (240 KB each, above the inline size).
  const Array x = default_rng(3).uniform(-1, 1, {2000, 100}, ChunkSpec{300, 100});
  SynchronousScheduler sync;
  const xt::xarray<double> ref = x.compute<double>({.scheduler = &sync});
  EXPECT_EQ(x.compute<double>({.scheduler = &distributed()}), ref);
  const TransferCounts t = distributed().last_transfers();
  // Every chunk reaches every other rank.
  if (ranks() > 1) {
    EXPECT_GT(sum_over_ranks(t.bytes_sent), 0);
    EXPECT_EQ(sum_over_ranks(t.values_received), 7 * (ranks() - 1));
  }
  EXPECT_EQ(sum_over_ranks(t.tasks_here), 7);
  // A column reduction: partials combine locally, then across ranks.
  EXPECT_EQ(x.sum(0).compute<double>({.scheduler = &distributed()}),
            x.sum(0).compute<double>({.scheduler = &sync}));
}

TEST(Distributed, RanksWithoutChunks) {
  // 3 chunks: at 4 ranks one rank has nothing to compute, yet takes part and gets the result.
  const Array x = arange(3, {.chunks = 1}).astype(DType::Float64) + 0.5;
  EXPECT_EQ(x.sum().item<double>({.scheduler = &distributed()}), 4.5);
  EXPECT_EQ(x.compute<double>({.scheduler = &distributed()}), (xt::xarray<double>{0.5, 1.5, 2.5}));
  const std::int64_t tasks = distributed().last_transfers().tasks_here;
  EXPECT_EQ(sum_over_ranks(tasks), 3);
  // An empty array.
  const Array e = zeros({0, 4}, ChunkSpec{2, 2});
  EXPECT_EQ(e.sum().item<double>({.scheduler = &distributed()}), 0.0);
}

TEST(Distributed, RandomArraysAreBitIdenticalToASerialRun) {
  SynchronousScheduler sync;
  for (const ChunkSpec& spec : {ChunkSpec{7, 5}, ChunkSpec{64, 64}, ChunkSpec{1, 33}}) {
    const Array x = default_rng(2024).normal(10, 0.1, {64, 33}, spec);
    EXPECT_EQ(x.compute<double>({.scheduler = &distributed()}),
              x.compute<double>({.scheduler = &sync}));
    // The reduction tree is part of the graph, not of the placement: sums match exactly too.
    EXPECT_EQ(x.mean(0).compute<double>({.scheduler = &distributed()}),
              x.mean(0).compute<double>({.scheduler = &sync}));
    EXPECT_EQ(x.std().item<double>({.scheduler = &distributed()}),
              x.std().item<double>({.scheduler = &sync}));
  }
}

TEST(Distributed, ArraysPersistedOnTheirOwners) {
  const Array x = default_rng(5).uniform(0, 1, {90, 40}, ChunkSpec{20, 15});
  const Array p = (x * x).persist({.scheduler = &distributed()});
  SynchronousScheduler sync;
  EXPECT_EQ(p.compute<double>({.scheduler = &distributed()}),
            (x * x).compute<double>({.scheduler = &sync}));
  // Each chunk is held by one rank only.
  std::int64_t held = 0;
  const LoweredGraph lg = p.lower();
  for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
    held += lg.graph.literal(t).empty() ? 0 : 1;
  }
  EXPECT_EQ(sum_over_ranks(held), p.chunks().num_chunks());
  // A second compute moves only what it must: a row sum needs no chunk to cross ranks
  // except partials.
  EXPECT_EQ(p.sum(1).compute<double>({.scheduler = &distributed()}),
            (x * x).sum(1).compute<double>({.scheduler = &sync}));
  // A local scheduler cannot fetch chunks held by other ranks: a clear error, not garbage.
  if (ranks() > 1) {
    try {
      p.sum().item<double>({.scheduler = &sync});
      ADD_FAILURE() << "no error";
    } catch (const graph_error& e) {
      EXPECT_NE(std::string(e.what()).find("lives on rank"), std::string::npos) << e.what();
    }
  }
}

TEST(Distributed, ManyOneElementChunksToEveryRankAndToRoot) {
  // 30,000 tiny values cross ranks in each direction (batched by the message engine).
  DistributedScheduler& s = distributed();
  constexpr index_t n = 30'000;
  const Array x = arange(n, {.chunks = 1});
  std::vector<std::int64_t> want(static_cast<std::size_t>(n));
  std::iota(want.begin(), want.end(), 0);
  const auto got = x.compute<std::int64_t>({.scheduler = &s});
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end()));
  EXPECT_EQ((x * 2).sum().item<std::int64_t>({.scheduler = &s}), n * (n - 1));
}

}  // namespace
}  // namespace tessera::testing
