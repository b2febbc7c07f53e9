// Evaluation: compute<T>, compute_block, item<T> and persist (which keeps computed chunks so
// that later computes do not run the producer again).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// fromfunction over `shape` whose every call is counted in `*calls`.
Array counted(const std::shared_ptr<std::atomic<std::int64_t>>& calls, const Shape& shape,
              const ChunkSpec& chunks) {
  return fromfunction<double>(
      [calls](std::span<const index_t> i) {
        calls->fetch_add(1, std::memory_order_relaxed);
        double v = 0;
        for (index_t k : i) v = v * 100 + static_cast<double>(k);
        return v;
      },
      shape, chunks);
}

xt::xarray<double> counted_reference(const Shape& shape) {
  xt::xarray<double> r =
      xt::xarray<double>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  std::vector<index_t> idx(shape.size(), 0);
  for (std::size_t f = 0; f < r.size(); ++f) {
    double v = 0;
    for (index_t k : idx) v = v * 100 + static_cast<double>(k);
    r.flat(f) = v;
    for (std::size_t a = shape.size(); a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return r;
}

TEST(Compute, ComputeReturnsTheWholeArray) {
  for (const Shape& shape :
       {Shape{}, Shape{1}, Shape{13}, Shape{7, 9}, Shape{3, 4, 5}, Shape{2, 0, 3}}) {
    const xt::xarray<double> ref = counted_reference(shape);
    for (const ChunkSpec& spec : chunkings(shape)) {
      auto calls = std::make_shared<std::atomic<std::int64_t>>(0);
      const Array x = counted(calls, shape, spec);
      for (const auto& s : all_schedulers()) {
        calls->store(0);
        const xt::xarray<double> got = x.compute<double>({.scheduler = s.get()});
        EXPECT_EQ(Shape(got.shape().begin(), got.shape().end()), shape);
        EXPECT_EQ(got, ref) << shape_string(shape) << " chunks " << x.chunks().to_string() << " on "
                            << s->name();
        // Each element once per compute (on one rank, under a distributed scheduler).
        EXPECT_EQ(sum_over_ranks(calls->load()), copies_of_work(*s) * shape_size(shape));
      }
    }
  }
}

TEST(Compute, ComputeChecksTheElementType) {
  const Array x = arange(10, {.chunks = 3});  // int64
  EXPECT_THROW(x.compute<double>(), dtype_error);
  EXPECT_THROW(x.compute<std::int32_t>(), dtype_error);
  EXPECT_THROW((x > 3).compute<std::int64_t>(), dtype_error);
  EXPECT_NO_THROW((x > 3).compute<bool>());
  try {
    x.compute<float>();
    ADD_FAILURE() << "no error";
  } catch (const dtype_error& e) {
    EXPECT_NE(std::string(e.what()).find("int64"), std::string::npos) << e.what();
  }
  EXPECT_EQ(x.astype(DType::Float32).compute<float>(),
            (xt::xarray<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(Compute, ComputeBlock) {
  const xt::xarray<std::int32_t> ref = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, {11, 12, 13, 14, 15}};
  for (const ChunkSpec& spec : chunkings({3, 5})) {
    const Array x = from_xtensor(ref, spec);
    for (const auto& s : all_schedulers()) {
      const Block b = x.compute_block({.scheduler = s.get()});
      EXPECT_EQ(b.dtype(), DType::Int32);
      EXPECT_EQ(b.shape(), (Shape{3, 5}));
      EXPECT_EQ(b.size(), 15);
      EXPECT_EQ(xt::xarray<std::int32_t>(b.view<std::int32_t>()), ref);
      const Block t = x[{Slice{}, Slice{{}, {}, -2}}].compute_block({.scheduler = s.get()});
      EXPECT_EQ(t.shape(), (Shape{3, 3}));
      EXPECT_EQ(t.data_as<std::int32_t>()[0], 5);
      EXPECT_EQ(t.data_as<std::int32_t>()[8], 11);
    }
  }
  // A 0-d result is one element.
  const Block z = from_xtensor(ref, 2).sum().compute_block();
  EXPECT_EQ(z.shape(), Shape{});
  EXPECT_EQ(z.size(), 1);
  EXPECT_EQ(*z.data_as<std::int64_t>(), 120);
  // The default Array is a 0-d float64 zero.
  const Array d;
  EXPECT_EQ(d.shape(), Shape{});
  EXPECT_EQ(d.dtype(), DType::Float64);
  EXPECT_EQ(d.item<double>(), 0.0);
}

TEST(Compute, ComputeOptionsReachTheLowering) {
  const Array x = default_rng(4).uniform(0, 1, {50, 40}, ChunkSpec{8, 16});
  const Array y = exp(x * 2.0 - 1.0) + x;
  const xt::xarray<double> want = y.compute<double>();
  for (const auto& s : all_schedulers()) {
    for (bool fuse : {true, false}) {
      for (index_t tile : {1, 7, 2048}) {
        const ComputeOptions o{.scheduler = s.get(),
                               .lowering = {.tile_elements = tile, .fuse = fuse}};
        EXPECT_EQ(y.compute<double>(o), want) << s->name() << " fuse " << fuse << " tile " << tile;
      }
    }
  }
}

// --- item ------------------------------------------------------------------------------------

TEST(Compute, ItemOnSizeOneArrays) {
  const xt::xarray<double> ref = {{1.5, 2.5}, {3.5, 4.75}};
  const Array x = from_xtensor(ref, 1);
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    EXPECT_EQ(x.sum().item<double>(o), 12.25);
    EXPECT_EQ((x[{1, 1}].item<double>(o)), 4.75);                      // 0-d
    EXPECT_EQ((x[{Slice{1, 2}, Slice{0, 1}}].item<double>(o)), 3.5);   // shape (1, 1)
    EXPECT_EQ((x[{index_t{-1}, Slice{1, 2}}].item<double>(o)), 4.75);  // shape (1,)
    EXPECT_EQ(x.max(Axes(), {.keepdims = true}).item<double>(o), 4.75);
    // Converted to the requested type.
    EXPECT_EQ(x.sum().item<int>(o), 12);
    EXPECT_EQ(x.sum().item<float>(o), 12.25f);
    EXPECT_EQ((x > 2.0).sum().item<std::int64_t>(o), 3);
    EXPECT_EQ((x > 2.0).any().item<bool>(o), true);
    EXPECT_EQ((x > 2.0).all().item<int>(o), 0);
  }
  EXPECT_EQ(ones({1, 1, 1}, 1, DType::Int32).item<std::int32_t>(), 1);
}

TEST(Compute, ItemOnBiggerArraysThrows) {
  const Array x = ones({2, 3}, 2);
  EXPECT_THROW(x.item<double>(), shape_error);
  EXPECT_THROW(x.sum(0).item<double>(), shape_error);
  EXPECT_THROW(x[{0}].item<double>(), shape_error);
  EXPECT_THROW(zeros({0}, 1).item<double>(), shape_error);
  EXPECT_THROW((x[{Slice{1, 1}}].item<double>()), shape_error);
  try {
    x.item<double>();
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3)"), std::string::npos) << e.what();
  }
}

// --- persist -----------------------------------------------------------------------------------

TEST(Compute, PersistDoesNotRerunTheProducer) {
  const Shape shape{30, 20};
  const xt::xarray<double> ref = counted_reference(shape);
  for (const auto& s : all_schedulers()) {
    auto calls = std::make_shared<std::atomic<std::int64_t>>(0);
    const Array x = counted(calls, shape, ChunkSpec{7, 6});
    const Array y = (x * 2.0 + 1.0).persist({.scheduler = s.get()});
    const std::int64_t once = copies_of_work(*s) * 600;
    EXPECT_EQ(sum_over_ranks(calls->load()), once);
    EXPECT_EQ(y.shape(), shape);
    EXPECT_EQ(y.dtype(), DType::Float64);
    EXPECT_EQ(y.chunks(), x.chunks());
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(y.compute<double>({.scheduler = s.get()}), xt::xarray<double>(ref * 2.0 + 1.0));
    }
    EXPECT_DOUBLE_EQ(y.sum().item<double>({.scheduler = s.get()}), xt::sum(ref * 2.0 + 1.0)());
    EXPECT_EQ((y[{Slice{3, 9}, 4}].compute<double>({.scheduler = s.get()})),
              xt::xarray<double>(xt::view(ref * 2.0 + 1.0, xt::range(3, 9), 4)));
    EXPECT_EQ(sum_over_ranks(calls->load()), once)
        << "a persisted array re-ran its producer on " << s->name();
    // Its graph is nothing but the stored chunks: here, or (distributed) on their owners.
    const LoweredGraph lg = y.lower();
    EXPECT_EQ(lg.graph.size(), static_cast<std::size_t>(y.chunks().num_chunks()));
    for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
      const int pin = lg.graph.pinned_rank(t);
      EXPECT_EQ(lg.graph.literal(t).empty(), pin >= 0 && pin != s->rank());
    }
    // Persisting again is free and keeps the token.
    const Array z = y.persist();
    EXPECT_EQ(z.token(), y.token());
    EXPECT_EQ(sum_over_ranks(calls->load()), once);
  }
}

TEST(Compute, SeveralArraysInOnePass) {
  const Shape shape{30, 20};
  const xt::xarray<double> ref = counted_reference(shape);
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    const std::int64_t copies = copies_of_work(*s);
    auto calls = std::make_shared<std::atomic<std::int64_t>>(0);
    const Array x = counted(calls, shape, ChunkSpec{7, 6});
    const Array y = (x * 2.0).persist(o);  // a shared input that costs nothing to reuse
    calls->store(0);
    // persist(a, b, c): one pass; what comes back is stored and runs nothing again.
    const auto p = persist({x + 1.0, y.sum(0), x.mean(1), y}, o);
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[3].token(), y.token());  // stored already: itself
    const std::int64_t after = sum_over_ranks(calls->load());
    EXPECT_EQ(after, copies * 600);  // x once, for both arrays that read it
    EXPECT_EQ(p[0].compute<double>(o), xt::xarray<double>(ref + 1.0));
    EXPECT_EQ(p[1].compute<double>(o), xt::xarray<double>(xt::sum(2.0 * ref, {0})));
    EXPECT_TRUE(xt::allclose(p[2].compute<double>(o), xt::mean(ref, {1})));
    EXPECT_EQ(p[0].chunks(), x.chunks());
    EXPECT_EQ(sum_over_ranks(calls->load()), after) << "a persisted array re-ran on " << s->name();
    // compute(a, b): one Block per array, in order.
    const auto [total, biggest] = compute(o, x.sum(), x.max());
    EXPECT_EQ(total.view<double>()(), xt::sum(ref)());
    EXPECT_EQ(biggest.view<double>()(), xt::amax(ref)());
    // x's chunks are computed once for both reductions.
    EXPECT_EQ(sum_over_ranks(calls->load()) - after, copies * 600);
  }
  // The variadic form, on the default scheduler.
  const Array a = arange(10, {.chunks = 3});
  const auto [sum, max] = compute(a.sum(), a.max());
  EXPECT_EQ(sum.view<std::int64_t>()(), 45);
  EXPECT_EQ(max.view<std::int64_t>()(), 9);
  EXPECT_TRUE(persist({}).empty());
}

/// Whether two Blocks hold the same dtype, shape and bytes.
::testing::AssertionResult same_block(const Block& a, const Block& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << shape_string(a.shape()) << " against " << shape_string(b.shape());
  if (a.nbytes() && std::memcmp(a.data(), b.data(), a.nbytes()) != 0)
    return ::testing::AssertionFailure() << "the values differ";
  return ::testing::AssertionSuccess();
}

TEST(Compute, ReductionsOfOneArrayShareOnePass) {
  // Several reductions of one array computed together: one task per chunk of the array folds
  // it into all of them, each element is evaluated once, and each result is exactly what the
  // reduction gives alone.
  for (const Shape& shape : {Shape{30, 20}, Shape{7, 1, 9}, Shape{13}}) {
    const int last = static_cast<int>(shape.size()) - 1;
    for (const ChunkSpec& spec : chunkings(shape)) {
      auto calls = std::make_shared<std::atomic<std::int64_t>>(0);
      const Array x = sin(counted(calls, shape, spec));
      const std::vector<Array> reductions = {x.mean(),
                                             x.std(),
                                             x.min(),
                                             x.max(),
                                             x.sum(0),
                                             x.argmax(),
                                             x.var(last, {.ddof = 1}),
                                             nanmin(x, Axes(0), {.keepdims = true}),
                                             x.prod(last)};
      const auto chunks = static_cast<std::size_t>(x.chunks().num_chunks());
      std::vector<ExprPtr> roots;
      for (const Array& r : reductions) roots.push_back(r.expr());
      const LoweredGraph lg = lower(roots);
      std::size_t shared = 0, own = 0;
      for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
        const std::string_view l = lg.graph.label(t);
        if (l.ends_with("-partials")) ++shared;
        if (l.ends_with("-partial")) ++own;
      }
      EXPECT_EQ(shared, chunks) << x.chunks().to_string();
      EXPECT_EQ(own, 0u) << x.chunks().to_string();
      for (const auto& s : all_schedulers()) {
        const ComputeOptions o{.scheduler = s.get()};
        calls->store(0);
        const std::vector<Block> together = compute_blocks(reductions, o);
        EXPECT_EQ(sum_over_ranks(calls->load()), copies_of_work(*s) * shape_size(shape))
            << "an element evaluated more than once on " << s->name();
        for (std::size_t k = 0; k < reductions.size(); ++k) {
          const Block alone = compute_blocks({reductions[k]}, o)[0];
          EXPECT_TRUE(same_block(together[k], alone))
              << reductions[k].expr()->label() << " of " << shape_string(shape) << " chunks "
              << x.chunks().to_string() << " on " << s->name();
        }
      }
    }
  }
  // The array itself computed too: its chunks are made once and read by every reduction.
  const Array x = arange(100, {.chunks = 7}).astype(DType::Float64) * 0.5;
  const auto [whole, lo, hi, total] = compute(x, x.min(), x.max(), x.sum());
  EXPECT_EQ(*lo.data_as<double>(), 0.0);
  EXPECT_EQ(*hi.data_as<double>(), 49.5);
  EXPECT_EQ(*total.data_as<double>(), 2475.0);
  EXPECT_EQ(whole.size(), 100);
  std::vector<ExprPtr> roots = {x.expr(), x.min().expr(), x.max().expr(), x.sum().expr()};
  std::size_t shared = 0;
  const LoweredGraph lg = lower(roots);
  for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t)
    shared += lg.graph.label(t).ends_with("-partials");
  EXPECT_EQ(shared, 15u);
}

TEST(Compute, PersistedArraysCombineWithLazyOnes) {
  const Shape shape{12, 10};
  const xt::xarray<double> ref = counted_reference(shape);
  auto calls = std::make_shared<std::atomic<std::int64_t>>(0);
  const Array x = counted(calls, shape, ChunkSpec{5, 4});
  const Array p = x.persist();
  const std::int64_t ranks = test_ranks();  // the default scheduler is local: every rank runs it
  EXPECT_EQ(sum_over_ranks(calls->load()), ranks * 120);
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    const std::int64_t copies = copies_of_work(*s);
    calls->store(0);
    // p + x: the lazy operand runs once, the persisted one not at all.
    EXPECT_EQ((p + x).compute<double>(o), xt::xarray<double>(2.0 * ref));
    EXPECT_EQ(sum_over_ranks(calls->load()), copies * 120);
    calls->store(0);
    const xt::xarray<double> row = xt::view(ref, 3, xt::all());
    EXPECT_EQ((p - x[{3}]).compute<double>(o), xt::xarray<double>(ref - row));
    // Only the chunks of the lazy one that hold row 3 (5 x 10).
    EXPECT_EQ(sum_over_ranks(calls->load()), copies * 50);
    calls->store(0);
    EXPECT_EQ((p * p).sum(1).compute<double>(o), xt::xarray<double>(xt::sum(ref * ref, {1})));
    EXPECT_EQ(sum_over_ranks(calls->load()), 0);
    // A persisted array with a different chunking than its lazy partner.
    const Array q = from_xtensor(ref, 3).persist(o);
    EXPECT_EQ((q + x).compute<double>(o), xt::xarray<double>(2.0 * ref));
    EXPECT_EQ(sum_over_ranks(calls->load()), copies * 120);
  }
  // Persisting a reduction.
  calls->store(0);
  const Array m = x.mean(0).persist();
  EXPECT_EQ(sum_over_ranks(calls->load()), ranks * 120);
  EXPECT_TRUE(
      matches<double>(x - m, xt::xarray<double>(ref - xt::mean(ref, {0})), *all_schedulers()[3]));
  EXPECT_EQ(sum_over_ranks(calls->load()), ranks * 240);
}

TEST(Compute, PersistOfDataReturnsItself) {
  const xt::xarray<double> ref = {1.0, 2.0, 3.0};
  const Array x = from_xtensor(ref, 2);
  EXPECT_EQ(x.persist().token(), x.token());
  EXPECT_EQ(x.persist().compute<double>(), ref);
}

TEST(Compute, FailingTasksRaiseTaskErrors) {
  const Array x = fromfunction<double>(
      [](index_t i) -> double {
        if (i == 37) throw value_error("bad element 37");
        return static_cast<double>(i);
      },
      {100}, 10);
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    try {
      (x * 2.0).sum().compute_block(o);
      ADD_FAILURE() << "no error on " << s->name();
    } catch (const task_error& e) {
      EXPECT_NE(std::string(e.what()).find("bad element 37"), std::string::npos) << e.what();
      EXPECT_EQ(e.what_original(), "bad element 37");
    }
    EXPECT_THROW(x.persist(o), task_error);
    // Other chunks are fine, and the scheduler stays usable.
    EXPECT_EQ((x[{Slice{0, 30}}].sum().item<double>(o)), 435.0);
    EXPECT_EQ((x[{Slice{40, {}}}].persist(o).sum().item<double>(o)), 4170.0);
  }
}

}  // namespace
}  // namespace tessera::testing
