// Graph-level guarantees of lowering: culling (only the chunks an output needs are
// computed), CSE (equal tokens are computed once), fusion (elementwise chains become one task
// per chunk and fuse into the reduction that consumes them) and tile-size independence.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

using Counter = std::shared_ptr<std::atomic<std::int64_t>>;

Counter new_counter() { return std::make_shared<std::atomic<std::int64_t>>(0); }

/// fromfunction whose every element evaluation is counted: value = flat index.
Array counted(const Counter& calls, const Shape& shape, const ChunkSpec& chunks) {
  Shape strides = row_major_strides(shape);
  return fromfunction<double>(
      [calls, strides](std::span<const index_t> i) {
        calls->fetch_add(1, std::memory_order_relaxed);
        index_t f = 0;
        for (std::size_t a = 0; a < i.size(); ++a) f += i[a] * strides[a];
        return static_cast<double>(f);
      },
      shape, chunks);
}

std::size_t count_suffix(const LoweredGraph& lg, std::string_view suffix) {
  std::size_t n = 0;
  for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
    const std::string_view l = lg.graph.label(t);
    if (l.size() >= suffix.size() && l.substr(l.size() - suffix.size()) == suffix) ++n;
  }
  return n;
}

std::size_t count_prefix(const LoweredGraph& lg, std::string_view prefix) {
  std::size_t n = 0;
  for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
    if (lg.graph.label(t).substr(0, prefix.size()) == prefix) ++n;
  }
  return n;
}

/// Combine tasks of a tree over `n` partials with fan-in `split` (the final task aside).
std::size_t combine_tasks(std::size_t n, std::size_t split) {
  std::size_t total = 0;
  while (n > split) {
    n = (n + split - 1) / split;
    total += n;
  }
  return total;
}

// --- culling ------------------------------------------------------------------------------------

TEST(Culling, SliceComputesOnlyTheTouchedChunks) {
  const Counter calls = new_counter();
  const Array x = counted(calls, {1000}, 10);  // 100 chunks
  ASSERT_EQ(x.chunks().num_chunks(), 100);
  const std::size_t all_tasks = x.lower().graph.size();
  EXPECT_EQ(all_tasks, 100u);
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    calls->store(0);
    const Array head = x[{Slice{0, 10}}];
    EXPECT_EQ(head.compute<double>(o), xt::xarray<double>(xt::arange<double>(10)));
    EXPECT_EQ(calls->load(), 10) << s->name();
    EXPECT_LE(head.lower().graph.size(), 3u);
    EXPECT_LT(head.lower().graph.size() * 20, all_tasks);
    // Across a chunk boundary: two chunks.
    calls->store(0);
    EXPECT_EQ((x[{Slice{15, 25}}].sum().item<double>(o)), 195.0);
    EXPECT_EQ(calls->load(), 20);
    // A strided slice touches every 10th chunk.
    calls->store(0);
    EXPECT_EQ((x[{Slice{{}, {}, 100}}].compute<double>(o)),
              xt::xarray<double>(xt::arange<double>(0, 1000, 100)));
    EXPECT_EQ(calls->load(), 100);
    // An integer index, negative, through an elementwise op.
    calls->store(0);
    EXPECT_EQ((x * 2.0 + 1.0)[{index_t{-1}}].item<double>(o), 1999.0);
    EXPECT_EQ(calls->load(), 10);
    // A reversed slice of the last chunks.
    calls->store(0);
    EXPECT_EQ((x[{Slice{-1, -21, -1}}].sum().item<double>(o)), 19790.0);
    EXPECT_EQ(calls->load(), 20);
  }
}

TEST(Culling, SlicesOfReductionsComputeOnlyTheirInputs) {
  const Counter calls = new_counter();
  const Shape shape{20, 100};
  const Array x = counted(calls, shape, ChunkSpec{5, 10});  // 4 x 10 chunks
  xt::xarray<double> ref = xt::arange<double>(2000);
  ref.reshape({20, 100});
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    // Column 3 of sum(0) needs the first column of chunks: 4 chunks of 50 elements.
    calls->store(0);
    EXPECT_EQ(x.sum(0)[{3}].item<double>(o), xt::sum(xt::view(ref, xt::all(), 3))());
    EXPECT_EQ(calls->load(), 200) << s->name();
    const LoweredGraph lg = x.sum(0)[{3}].lower();
    EXPECT_EQ(count_suffix(lg, "-partial"), 4u);
    EXPECT_LE(lg.graph.size(), 4u + 1u + 1u);
    // Rows 0..4 of sum(1) need the first row of chunks.
    calls->store(0);
    EXPECT_EQ((x.sum(1)[{Slice{0, 5}}].compute<double>(o)),
              xt::xarray<double>(xt::sum(xt::view(ref, xt::range(0, 5), xt::all()), {1})));
    EXPECT_EQ(calls->load(), 500);
    // A slice of an elementwise expression of a reduction.
    calls->store(0);
    EXPECT_EQ(((x.max(0) * 0.5 + 1.0)[{Slice{95, {}}}].compute<double>(o)),
              xt::xarray<double>(xt::view(xt::amax(ref, {0}), xt::range(95, 100)) * 0.5 + 1.0));
    EXPECT_EQ(calls->load(), 200);
  }
}

TEST(Culling, LowerHasFarFewerTasksForASlice) {
  const Array x = default_rng(1).normal(0, 1, {400, 400}, ChunkSpec{20, 20});  // 400 chunks
  const Array y = (x * 2.0 + 1.0);
  const std::size_t full = y.lower().graph.size();
  EXPECT_GE(full, 400u);
  EXPECT_LE((y[{Slice{0, 20}, Slice{0, 20}}].lower().graph.size()), 3u);
  EXPECT_LE((y[{Slice{10, 30}, 7}].lower().graph.size()), 5u);
  EXPECT_LE((y.sum(0)[{Slice{0, 20}}].lower().graph.size()), 20u + 3u + 1u + 1u);
}

// --- CSE and tokens
// -------------------------------------------------------------------------------

TEST(Tokens, IdenticalExpressionsHaveEqualTokens) {
  auto build = [] {
    const Array x = arange(100, {.chunks = 10});
    const Array r = default_rng(5).normal(0, 1, {100}, 10);
    return ((x * 2 + 1).astype(DType::Float64) + r)[{Slice{3, 90, 2}}].sum(0, {.keepdims = true});
  };
  EXPECT_EQ(build().token(), build().token());
  EXPECT_EQ(build().name(), build().name());
  EXPECT_EQ(arange(10, {.chunks = 3}).token(), arange(10, {.chunks = 3}).token());
  EXPECT_EQ(ones({4, 4}, 2).token(), ones({4, 4}, 2).token());
  EXPECT_EQ(linspace(0, 1, 11, 4).token(), linspace(0, 1, 11, 4).token());
  EXPECT_EQ(default_rng(3).uniform(0, 1, {8}, 4).token(),
            default_rng(3).uniform(0, 1, {8}, 4).token());
}

TEST(Tokens, DifferentParametersGiveDifferentTokens) {
  const Array x = arange(100, {.chunks = 10});
  const Array f = x.astype(DType::Float64);
  const Array f2 = ones({6, 8}, 3);
  EXPECT_NE(arange(100, {.chunks = 10}).token(), arange(100, {.chunks = 20}).token());  // chunks
  EXPECT_NE(arange(100, {.chunks = 10}).token(), arange(101, {.chunks = 10}).token());  // shape
  EXPECT_NE(arange(100, {.chunks = 10}).token(),
            arange(100, {.chunks = 10, .dtype = DType::Int32}).token());
  EXPECT_NE(full({4}, 1.0, 2).token(), full({4}, 2.0, 2).token());
  EXPECT_NE((x + 1).token(), (x + 2).token());
  EXPECT_NE((x + 1).token(), (x - 1).token());
  EXPECT_NE((x + 1).token(), (x * 1).token());
  EXPECT_NE(default_rng(1).normal(0, 1, {8}, 4).token(),
            default_rng(2).normal(0, 1, {8}, 4).token());
  EXPECT_NE(default_rng(1).normal(0, 1, {8}, 4).token(),
            default_rng(1).normal(0, 2, {8}, 4).token());
  EXPECT_NE(default_rng(1).normal(0, 1, {8}, 4).token(),
            default_rng(1).normal(1, 1, {8}, 4).token());
  EXPECT_NE(default_rng(1).normal(0, 1, {8}, 4).token(),
            default_rng(1).uniform(0, 1, {8}, 4).token());
  // Reductions: op, axes, keepdims, ddof and split_every all count.
  EXPECT_NE(f.sum().token(), f.prod().token());
  EXPECT_NE(f2.sum().token(), f2.sum(0).token());
  EXPECT_NE(f2.sum(0).token(), f2.sum(1).token());
  EXPECT_NE(f2.argmin().token(), f2.argmin(0).token());
  EXPECT_NE(f.sum(0).token(), f.sum(0, {.keepdims = true}).token());
  EXPECT_NE(f.var().token(), f.var(Axes(), {.ddof = 1}).token());
  EXPECT_NE(f.sum().token(), f.sum(Axes(), {.split_every = 3}).token());
  EXPECT_NE(f.argmin().token(), f.argmax().token());
  // A user callable cannot be hashed: two fromfunction arrays are different even if equal.
  auto fn = [](index_t i) { return static_cast<double>(i); };
  EXPECT_NE(fromfunction<double>(fn, {8}, 4).token(), fromfunction<double>(fn, {8}, 4).token());
}

TEST(CSE, SharedSubexpressionsAreComputedOnce) {
  const Counter calls = new_counter();
  const Array x = counted(calls, {200}, 20);
  // Built twice, separately: same token, one node.
  const Array a = x * 2.0 + 1.0;
  const Array b = x * 2.0 + 1.0;
  ASSERT_EQ(a.token(), b.token());
  const xt::xarray<double> ref = xt::arange<double>(200) * 2.0 + 1.0;
  for (const auto& s : all_schedulers()) {
    for (bool fuse : {true, false}) {
      const ComputeOptions o{.scheduler = s.get(), .lowering = {.fuse = fuse}};
      calls->store(0);
      EXPECT_EQ((a + b).compute<double>(o), xt::xarray<double>(ref + ref));
      EXPECT_EQ(calls->load(), 200) << s->name() << " fuse " << fuse;
      // Three uses of the same value, two of them built separately.
      calls->store(0);
      EXPECT_EQ((a * b - (x * 2.0 + 1.0)).compute<double>(o), xt::xarray<double>(ref * ref - ref));
      EXPECT_EQ(calls->load(), 200) << s->name() << " fuse " << fuse;
    }
  }
  // The graph of a + b is the graph of a plus the additions (unfused), or one task per chunk
  // (fused).
  EXPECT_EQ((a + b).lower().graph.size(), 10u);
  EXPECT_EQ(a.lower().graph.size(), 10u);
  const LowerOptions unfused{.fuse = false};
  EXPECT_EQ((a + b).lower(unfused).graph.size(), a.lower(unfused).graph.size() + 10);
}

TEST(CSE, ASubexpressionFeedingTwoReductionsIsComputedOnce) {
  const Counter calls = new_counter();
  const Array x = counted(calls, {100}, 10);
  const Array y = x * 2.0;
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    calls->store(0);
    EXPECT_EQ((y.sum() + y.max()).item<double>(o), 9900.0 + 198.0);
    EXPECT_EQ(calls->load(), 100) << "x was evaluated more than once per element on " << s->name();
    calls->store(0);
    // y feeds an elementwise op and a reduction.
    EXPECT_EQ((y - y.mean()).sum().item<double>(o), 0.0);
    EXPECT_EQ(calls->load(), 100) << "x was evaluated more than once per element on " << s->name();
  }
}

TEST(CSE, FusedRegionsEvaluateASharedInputOnce) {
  // x feeds two branches of one fused expression: it is read once per element.
  const Counter calls = new_counter();
  const Array x = counted(calls, {30, 40}, ChunkSpec{7, 9});
  xt::xarray<double> ref = xt::arange<double>(1200);
  ref.reshape({30, 40});
  for (const auto& s : all_schedulers()) {
    calls->store(0);
    EXPECT_TRUE(matches<double>(x * 3.0 + x * x - sqrt(x),
                                xt::xarray<double>(ref * 3.0 + ref * ref - xt::sqrt(ref)), *s));
    EXPECT_EQ(calls->load(), 1200);
    calls->store(0);
    EXPECT_DOUBLE_EQ((x * 3.0 + x).sum().item<double>({.scheduler = s.get()}),
                     4.0 * xt::sum(ref)());
    EXPECT_EQ(calls->load(), 1200);
  }
}

// --- fusion
// ------------------------------------------------------------------------------------------

TEST(Fusion, ChainIntoReductionIsOneTaskPerChunk) {
  for (index_t n_chunks : {1, 8, 9, 37, 100}) {
    const Array x = default_rng(2).uniform(-1, 1, {n_chunks * 13}, 13);
    ASSERT_EQ(x.chunks().num_chunks(), n_chunks);
    const Array y = pow(2 * x + 1, 3).sum();
    const LoweredGraph lg = y.lower();
    const auto n = static_cast<std::size_t>(n_chunks);
    EXPECT_EQ(count_suffix(lg, "-partial"), n);
    EXPECT_EQ(count_suffix(lg, "-combine"), combine_tasks(n, 8));
    EXPECT_EQ(lg.graph.size(), n + combine_tasks(n, 8) + 1) << n_chunks << " chunks";
    // No task of its own for any elementwise operation or the source.
    for (std::string_view op : {"add-", "multiply-", "power-", "random_uniform-", "full-"}) {
      EXPECT_EQ(count_prefix(lg, op), 0u) << op;
    }
    // Unfused: one task per node and chunk, and the same result.
    const LoweredGraph unfused = y.lower({.fuse = false});
    EXPECT_GE(unfused.graph.size(), lg.graph.size() + 3 * n);
    EXPECT_EQ(count_prefix(unfused, "add-"), n);
    EXPECT_EQ(count_prefix(unfused, "multiply-"), n);
    EXPECT_EQ(count_prefix(unfused, "random_uniform-"), n);
    for (const auto& s : all_schedulers()) {
      const double fused_value = y.item<double>({.scheduler = s.get()});
      const double unfused_value =
          y.item<double>({.scheduler = s.get(), .lowering = {.fuse = false}});
      EXPECT_NEAR(fused_value, unfused_value, 1e-9 * std::max(1.0, std::abs(fused_value)));
      const xt::xarray<double> v = x.compute<double>({.scheduler = s.get()});
      EXPECT_NEAR(fused_value, xt::sum(xt::pow(2.0 * v + 1.0, 3))(),
                  1e-9 * std::max(1.0, std::abs(fused_value)));
    }
  }
}

TEST(Fusion, ElementwiseChainIsOneTaskPerChunk) {
  const Array x = arange(0.0, 60.0, 1.0, {.chunks = 6});  // 10 chunks
  const Array r = linspace(0, 1, 60, 6);
  const Array y = sqrt(abs(x * r - 3.0)) + where(x > r, x, r) * 2.0;
  const LoweredGraph lg = y.lower();
  EXPECT_EQ(lg.graph.size(), 10u);
  const LoweredGraph unfused = y.lower({.fuse = false});
  EXPECT_GT(unfused.graph.size(), 50u);
  for (const auto& s : all_schedulers()) {
    EXPECT_EQ(y.compute<double>({.scheduler = s.get()}),
              y.compute<double>({.scheduler = s.get(), .lowering = {.fuse = false}}));
  }
}

TEST(Fusion, TileSizeDoesNotChangeResults) {
  const Shape shape{23, 17};
  const xt::xarray<double> d = [&] {
    xt::xarray<double> v = xt::arange<double>(23 * 17) * 0.25 - 40.0;
    v.reshape({23, 17});
    return v;
  }();
  const xt::xarray<double> row = xt::view(d, 4, xt::all());
  const xt::xarray<double> col = xt::view(d, xt::all(), xt::range(2, 3));  // (23, 1)
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    const Array xr = from_xtensor(row, 5);
    const Array xc = from_xtensor(col, ChunkSpec{4, 1});
    const Array rnd = default_rng(8).normal(0, 1, shape, spec);
    // Broadcasting along both axes, a constant, a random source, a cast.
    const Array e = (x + xr) * xc - rnd * 0.5 + (x > 0.0).astype(DType::Float64);
    const Array ie = (x * 4.0).astype(DType::Int64) % 7 + 1;
    const xt::xarray<double> want = e.compute<double>();
    const xt::xarray<std::int64_t> iwant = ie.compute<std::int64_t>();
    const double sum_want = e.sum().item<double>();
    const std::int64_t isum_want = ie.sum(1).max().item<std::int64_t>();
    const xt::xarray<double> var_want = e.var(0).compute<double>();
    const auto schedulers = all_schedulers();
    std::size_t turn = 0;
    for (index_t tile : {1, 3, 7, 16, 64}) {
      for (bool fuse : {true, false}) {
        const ComputeOptions o{.scheduler = schedulers[turn++ % schedulers.size()].get(),
                               .lowering = {.tile_elements = tile, .fuse = fuse}};
        EXPECT_EQ(e.compute<double>(o), want)
            << "tile " << tile << " fuse " << fuse << " chunks " << x.chunks().to_string();
        EXPECT_EQ(ie.compute<std::int64_t>(o), iwant) << "tile " << tile;
        EXPECT_EQ(ie.sum(1).max().item<std::int64_t>(o), isum_want) << "tile " << tile;
        EXPECT_NEAR(e.sum().item<double>(o), sum_want, 1e-10 * std::max(1.0, std::abs(sum_want)))
            << "tile " << tile;
        const xt::xarray<double> var_got = e.var(0).compute<double>(o);
        EXPECT_TRUE(xt::allclose(var_got, var_want, 1e-12, 1e-12)) << "tile " << tile;
      }
    }
    // And against xtensor.
    const xt::xarray<std::int64_t> q = xt::cast<std::int64_t>(d * 4.0);
    EXPECT_TRUE(matches<std::int64_t>(ie, xt::xarray<std::int64_t>((q % 7 + 7) % 7 + 1),
                                      *schedulers[0]));  // Python's %
  }
}

// --- graph structure
// --------------------------------------------------------------------------------

TEST(Lowering, TasksComeAfterTheirDependenciesInIdAndPriority) {
  const Array x = default_rng(3).normal(0, 1, {60, 50}, ChunkSpec{7, 9});
  const Array y = (x - x.mean(0)).std(1)[{Slice{{}, {}, -3}}] + x.max(1)[{Slice{{}, {}, -3}}];
  for (bool fuse : {true, false}) {
    const LoweredGraph lg = y.lower({.fuse = fuse});
    ASSERT_EQ(lg.outputs.size(), 1u);
    EXPECT_EQ(lg.outputs[0].size(), static_cast<std::size_t>(y.chunks().num_chunks()));
    for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
      for (TaskId d : lg.graph.deps(t)) {
        EXPECT_LT(d, t);
        EXPECT_LT(lg.graph.priority(d), lg.graph.priority(t));
      }
    }
  }
}

TEST(Lowering, LoweredGraphKeepsItsExpressionsAlive) {
  // Array::lower() returns a runnable graph; its tasks must not point into expressions that
  // nobody owns once the Array is gone. (Checked through ownership so that a failure is an
  // assertion, not a use-after-free.)
  LoweredGraph lg;
  std::weak_ptr<const Expr> root;
  {
    const Array y = (ones({100}, 10) * 2.0).sum();
    root = y.expr();
    lg = y.lower();
  }
  ASSERT_FALSE(root.expired()) << "the lowered graph's tasks refer to expressions that were freed";
  SynchronousScheduler s;
  const std::vector<Value> v = s.run(lg.graph, lg.all_outputs());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(*v[0].get<Block>().data_as<double>(), 200.0);
}

TEST(Lowering, DataChunksArePinnedWhereTheirOwnersSay) {
  // Three chunks: on rank 1, on every rank, on this rank (0). Lowering pins the chunks that live
  // on one rank there and reads a block only where it lives.
  const ChunkGrid grid(std::vector<std::vector<index_t>>{{2, 2, 2}});
  std::vector<Block> blocks(3);
  blocks[1] = Block(DType::Float64, {2});
  blocks[2] = Block(DType::Float64, {2});
  const auto data = std::make_shared<DataExpr>(
      grid, DType::Float64, blocks, ChunkOwners::from_ranks({1, ChunkOwners::every_rank, 0}), 0,
      "data");
  EXPECT_FALSE(data->holds(0));
  EXPECT_TRUE(data->holds(1));
  EXPECT_TRUE(data->holds(2));
  const ExprPtr roots[] = {data};
  const LoweredGraph lg = lower(roots, {}, {});
  const auto out = lg.all_outputs();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(lg.graph.pinned_rank(out[0]), 1);
  EXPECT_EQ(lg.graph.pinned_rank(out[1]), -1);  // every rank has it
  EXPECT_EQ(lg.graph.pinned_rank(out[2]), 0);
  EXPECT_TRUE(lg.graph.literal(out[0]).empty());
  EXPECT_FALSE(lg.graph.literal(out[1]).empty());
}

TEST(Lowering, DataChunksOnNoRankAreRefused) {
  // Data that exists lives somewhere: a chunk left to the scheduler is a mistake of the caller.
  const ChunkGrid grid(std::vector<std::vector<index_t>>{{2, 2}});
  std::vector<Block> blocks{Block(DType::Float64, {2}), Block(DType::Float64, {2})};
  EXPECT_THROW(DataExpr(grid, DType::Float64, blocks,
                        ChunkOwners::from_ranks({0, ChunkOwners::no_rank}), 0, "data"),
               value_error);
  EXPECT_THROW(DataExpr(grid, DType::Float64, blocks, ChunkOwners::from_ranks({0}), 0, "data"),
               shape_error);
}

// --- pieces read in place ---------------------------------------------------------------------

/// A piece sent to another rank: encoded and decoded as a receiver does.
Piece sent(const Piece& p) {
  detail::register_graph_serializers();
  WireValue w = encode(Value::make(p));
  std::vector<Segment> segs;
  for (std::size_t i = 0; i < w.segments.size(); ++i) {
    Segment s = allocate_segment(w.segments[i].size());
    if (!w.segments[i].empty()) std::memcpy(s.data, w.segments[i].data(), w.segments[i].size());
    segs.push_back(std::move(s));
  }
  return decode(w.header, std::move(segs)).get<Piece>();
}

TEST(Pieces, RegionsAreViewsWhereContiguousAndTravelAlone) {
  Block b(DType::Int32, {4, 5, 6});
  for (index_t i = 0; i < b.size(); ++i)
    b.data_as<std::int32_t>()[i] = static_cast<std::int32_t>(i);
  const xt::xarray<std::int32_t> whole = b.view<std::int32_t>();
  struct Case {
    Shape start, count;
    bool view;  // one contiguous range of b's buffer
  };
  for (const Case& c : {Case{{1, 0, 0}, {2, 5, 6}, true}, Case{{2, 3, 0}, {1, 2, 6}, true},
                        Case{{3, 4, 2}, {1, 1, 3}, true}, Case{{0, 1, 0}, {4, 2, 6}, false},
                        Case{{1, 1, 1}, {2, 3, 4}, false}, Case{{0, 0, 0}, {4, 5, 6}, true},
                        Case{{2, 0, 0}, {0, 5, 6}, false}}) {
    const Piece p(b, c.start, c.count);
    const xt::xarray<std::int32_t> want =
        xt::view(whole, xt::range(c.start[0], c.start[0] + c.count[0]),
                 xt::range(c.start[1], c.start[1] + c.count[1]),
                 xt::range(c.start[2], c.start[2] + c.count[2]));
    const Block& r = p.region();
    EXPECT_EQ(r.shape(), c.count);
    EXPECT_EQ(xt::xarray<std::int32_t>(r.view<std::int32_t>()), want) << shape_string(c.start);
    const auto* base = static_cast<const std::byte*>(b.data());
    const auto* at = static_cast<const std::byte*>(r.data());
    EXPECT_EQ(at >= base && at < base + b.nbytes(), c.view) << shape_string(c.start);
    EXPECT_EQ(&p.region(), &r) << "the region is made once";
    // Sent, it arrives as all of a block of the region's shape.
    const Piece q = sent(p);
    EXPECT_EQ(q.start(), Shape(3, 0));
    EXPECT_EQ(q.count(), c.count);
    EXPECT_EQ(xt::xarray<std::int32_t>(q.block().view<std::int32_t>()), want);
    EXPECT_EQ(ValueBytes<Piece>::of(p), ValueBytes<Piece>::of(q));
  }
}

TEST(Pieces, RechunkOfStoredChunksReadsThemInPlace) {
  // The rechunk's inputs are regions of the stored chunks (no piece is cut on its own rank);
  // the result is the same as from a computed input, whose pieces are cut or evaluated.
  xt::xarray<double> ref = xt::arange<double>(12 * 10);
  ref.reshape({12, 10});
  const Array stored = from_xtensor(ref, ChunkSpec{5, 10});
  const Array computed = reshape(arange(120, {.chunks = 50}).astype(DType::Float64), {12, 10});
  for (const bool is_stored : {true, false}) {
    const Array x = is_stored ? stored : computed;
    const Array y = rechunk(x, ChunkSpec{12, 3});
    const LoweredGraph lg = y.lower();
    EXPECT_EQ(count_suffix(lg, "-region") > 0, is_stored);
    for (const auto& s : all_schedulers()) {
      EXPECT_EQ(y.compute<double>({.scheduler = s.get()}), ref) << s->name();
    }
  }
}

}  // namespace
}  // namespace tessera::testing
