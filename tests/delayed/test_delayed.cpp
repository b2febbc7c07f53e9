// Tests of the delayed layer: recording calls, tokens and CSE, lowering, compute/persist, errors,
// operators and vector arguments, on every scheduler of all_schedulers(). mpi_test_delayed.cpp
// includes this file, so that every test here also runs on the distributed scheduler at 1-4
// ranks; test bodies are SPMD (no rank-dependent paths) and counts of calls are compared over
// all ranks.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "support/test_support.hpp"
#include "tessera/delayed/delayed.hpp"
#include "tessera/delayed/delayed_function.hpp"

namespace tessera {
namespace {

using Int = std::int64_t;
using testing::all_schedulers;
using testing::called;
using testing::sum_over_ranks;

Int inc_fn(Int x) { return x + 1; }

struct Multiply {
  Int operator()(Int a, Int b) const { return a * b; }
};

Int total(const std::vector<Int>& v) { return std::accumulate(v.begin(), v.end(), Int{0}); }

TEST(Delayed, SeedsIncAddMul) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  auto mul = delayed(Multiply{}, {.name = "mul"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    Delayed<Int> x = inc(1);
    Delayed<Int> y = inc(2);
    Delayed<Int> z = add(x, y);
    EXPECT_EQ(z.compute(on), 5) << s->name();
    EXPECT_EQ(mul(z, 10).compute(on), 50) << s->name();
    EXPECT_EQ(add(inc(z), 100).compute(on), 106) << s->name();
    EXPECT_EQ(x.compute(on), 2) << s->name();
  }
}

TEST(Delayed, LoopThenSum) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  auto mul = delayed(Multiply{}, {.name = "mul"});
  auto sum = delayed(total, {.name = "sum"});
  for (const auto& s : all_schedulers()) {
    for (Int n : {0, 1, 10, 200}) {
      std::vector<Delayed<Int>> results;
      for (Int i = 0; i < n; ++i) results.push_back(add(inc(i), mul(i, 2)));
      Int want = 0;
      for (Int i = 0; i < n; ++i) want += (i + 1) + 2 * i;
      EXPECT_EQ(sum(results).compute({.scheduler = s.get()}), want) << s->name() << " n " << n;
      EXPECT_EQ(sum(results).lower().graph.size(), static_cast<std::size_t>(3 * n + 1));
    }
  }
}

TEST(Delayed, PairwiseTreeReduction) {
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  auto leaf = delayed([](Int i) { return i * i; }, {.name = "leaf"});
  for (const auto& s : all_schedulers()) {
    std::vector<Delayed<Int>> level;
    const Int n = 1 << 10;
    for (Int i = 0; i < n; ++i) level.push_back(leaf(i));
    while (level.size() > 1) {
      std::vector<Delayed<Int>> next;
      for (std::size_t i = 0; i < level.size(); i += 2) next.push_back(add(level[i], level[i + 1]));
      level = std::move(next);
    }
    const Int want = (n - 1) * n * (2 * n - 1) / 6;
    EXPECT_EQ(level.front().compute({.scheduler = s.get()}), want) << s->name();
    EXPECT_EQ(level.front().lower().graph.size(), static_cast<std::size_t>(2 * n - 1));
  }
}

TEST(Delayed, PureCallsAreOneTaskImpureCallsAreNot) {
  std::atomic<Int> calls{0};
  auto counting = [&calls](Int x) {
    ++calls;
    return x + 1;
  };
  auto pure_inc = delayed(counting, {.name = "inc", .pure = true});
  auto impure_inc = delayed(counting, {.name = "inc"});
  auto sum = delayed(total, {.name = "sum"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    std::vector<Delayed<Int>> pure, impure;
    for (int k = 0; k < 4; ++k) {
      pure.push_back(pure_inc(1));
      impure.push_back(impure_inc(1));
    }
    EXPECT_EQ(pure[0].token(), pure[3].token());
    EXPECT_EQ(pure[0].key(), pure[3].key());
    EXPECT_NE(impure[0].token(), impure[1].token());

    calls = 0;
    EXPECT_EQ(sum(pure).compute(on), 8);
    EXPECT_TRUE(called(calls, 1, *s));
    EXPECT_EQ(sum(pure).lower().graph.size(), 2u);

    calls = 0;
    EXPECT_EQ(sum(impure).compute(on), 8);
    EXPECT_TRUE(called(calls, 4, *s));
    EXPECT_EQ(sum(impure).lower().graph.size(), 5u);

    // Pure calls merge through the whole DAG: equal inputs, equal tokens, one task each.
    calls = 0;
    auto a = pure_inc(pure_inc(pure_inc(5)));
    auto b = pure_inc(pure_inc(pure_inc(5)));
    EXPECT_EQ(a.token(), b.token());
    EXPECT_EQ(compute(on, a, b), std::make_tuple(Int{8}, Int{8}));
    EXPECT_TRUE(called(calls, 3, *s));
  }
}

TEST(Delayed, PureTokensFollowArgumentContent) {
  auto f = delayed([](double x, const std::string& tag) { return tag + std::to_string(x); },
                   {.name = "f", .pure = true});
  auto g = delayed([](double x, const std::string& tag) { return tag + std::to_string(x); },
                   {.name = "f", .pure = true});
  EXPECT_EQ(f(1.5, std::string("a")).token(), f(1.5, std::string("a")).token());
  EXPECT_NE(f(1.5, std::string("a")).token(), f(2.5, std::string("a")).token());
  EXPECT_NE(f(1.5, std::string("a")).token(), f(1.5, std::string("b")).token());
  // The argument's type takes part: 1 and 1.0 are different calls.
  EXPECT_NE(f(1, std::string("a")).token(), f(1.0, std::string("a")).token());
  // Another wrapper (even of an equal function with the same name) is another identity.
  EXPECT_NE(f.token(), g.token());
  EXPECT_NE(f(1.5, std::string("a")).token(), g(1.5, std::string("a")).token());
  // Vectors of tokenisable values are tokenised element-wise.
  auto h = delayed(total, {.name = "total", .pure = true});
  EXPECT_EQ(h(std::vector<Int>{1, 2}).token(), h(std::vector<Int>{1, 2}).token());
  EXPECT_NE(h(std::vector<Int>{1, 2}).token(), h(std::vector<Int>{2, 1}).token());
  // An argument without a content token makes the call unique.
  struct Opaque {
    Int v;
  };
  auto k = delayed([](const Opaque& o) { return o.v; }, {.name = "k", .pure = true});
  EXPECT_NE(k(Opaque{1}).token(), k(Opaque{1}).token());
  // Literals by content.
  EXPECT_EQ(delayed_value(Int{3}).token(), delayed_value(Int{3}).token());
  EXPECT_NE(delayed_value(Int{3}).token(), delayed_value(Int{4}).token());
}

TEST(Delayed, ComputeSeveralSharesIntermediates) {
  std::atomic<Int> calls{0};
  auto inc = delayed(
      [&calls](Int x) {
        ++calls;
        return x + 1;
      },
      {.name = "inc"});
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  auto mul = delayed(Multiply{}, {.name = "mul"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    Delayed<Int> x = inc(1);  // impure: one task, however many consumers
    Delayed<Int> y = add(x, 10);
    Delayed<Int> z = mul(x, 2);
    Delayed<double> w = delayed([](Int a) { return a / 4.0; }, {.name = "quarter"})(x);

    calls = 0;
    auto [vy, vz, vw] = compute(on, y, z, w);
    EXPECT_EQ(vy, 12);
    EXPECT_EQ(vz, 4);
    EXPECT_EQ(vw, 0.5);
    EXPECT_TRUE(called(calls, 1, *s));
    EXPECT_EQ(lower(y, z, w).graph.size(), 4u);

    calls = 0;
    EXPECT_EQ(y.compute(on), 12);
    EXPECT_EQ(z.compute(on), 4);
    EXPECT_TRUE(called(calls, 2, *s));

    calls = 0;
    EXPECT_EQ(compute(std::vector<Delayed<Int>>{y, z, y}, on), (std::vector<Int>{12, 4, 12}));
    EXPECT_TRUE(called(calls, 1, *s));
  }
}

TEST(Delayed, PersistKeepsTheValue) {
  std::atomic<Int> calls{0};
  auto inc = delayed(
      [&calls](Int x) {
        ++calls;
        return x + 1;
      },
      {.name = "inc"});
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    calls = 0;
    Delayed<Int> x = inc(41);
    Delayed<Int> p = x.persist(on);
    EXPECT_TRUE(called(calls, 1, *s));
    EXPECT_EQ(p.key(), x.key());
    EXPECT_EQ(p.lower().graph.size(), 1u);
    EXPECT_EQ(add(p, p).compute(on), 84);
    EXPECT_EQ(p.compute(on), 42);
    EXPECT_TRUE(called(calls, 1, *s));
  }
}

TEST(Delayed, ExceptionsReachTheCallerAsTaskErrors) {
  auto check = delayed(
      [](Int x) {
        if (x == 3) throw std::runtime_error("bad element 3");
        return x;
      },
      {.name = "check"});
  auto sum = delayed(total, {.name = "sum"});
  for (const auto& s : all_schedulers()) {
    std::vector<Delayed<Int>> parts;
    for (Int i = 0; i < 6; ++i) parts.push_back(check(i));
    const std::string failing = parts[3].key();
    EXPECT_EQ(failing.rfind("check-", 0), 0u);
    try {
      sum(parts).compute({.scheduler = s.get()});
      ADD_FAILURE() << "no task_error on " << s->name();
    } catch (const task_error& e) {
      EXPECT_EQ(e.task(), "'" + failing + "'") << s->name();
      EXPECT_EQ(e.what_original(), "bad element 3") << s->name();
      EXPECT_NE(std::string(e.what()).find(failing), std::string::npos) << e.what();
    }
    // The scheduler stays usable.
    parts.erase(parts.begin() + 3);
    EXPECT_EQ(sum(parts).compute({.scheduler = s.get()}), 0 + 1 + 2 + 4 + 5) << s->name();
  }
}

TEST(Delayed, Operators) {
  auto make = delayed([](Int v) { return v; }, {.name = "make"});
  auto vec = delayed([](Int n) { return std::vector<double>(static_cast<std::size_t>(n), 0.5); },
                     {.name = "vec"});
  auto word = delayed([](const std::string& w) { return w; }, {.name = "word"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    Delayed<Int> a = make(7), b = make(2);
    EXPECT_EQ((a + b).compute(on), 9);
    EXPECT_EQ((a - b).compute(on), 5);
    EXPECT_EQ((a * b).compute(on), 14);
    EXPECT_EQ((a / b).compute(on), 3);
    EXPECT_EQ((a % b).compute(on), 1);
    EXPECT_EQ((-a).compute(on), -7);
    EXPECT_EQ((a + 1).compute(on), 8);
    EXPECT_EQ((10 - a).compute(on), 3);
    EXPECT_EQ((a * 2.5).compute(on), 17.5);  // Delayed<double>: usual arithmetic conversions
    EXPECT_EQ((1.0 / b).compute(on), 0.5);
    EXPECT_EQ(((a + b) * (a - b) / 3).compute(on), 15);
    EXPECT_EQ((word(std::string("ab")) + std::string("cd")).compute(on), "abcd");
    // Operators are pure: the same expression twice is one task.
    EXPECT_EQ((a + 1).token(), (a + 1).token());
    EXPECT_NE((a + 1).token(), (a + 2).token());
    EXPECT_EQ(((a + 1) * (a + 1)).lower().graph.size(), 3u);
    EXPECT_EQ((a + 1).key().rfind("add-", 0), 0u);
    // Indexing, by a plain or a delayed index.
    Delayed<std::vector<double>> v = vec(5);
    Delayed<double> e = v[2];
    EXPECT_EQ(e.compute(on), 0.5);
    EXPECT_EQ((v[b] + v[Int{4}]).compute(on), 1.0);
    EXPECT_EQ(v[0].key().rfind("getitem-", 0), 0u);
  }
}

TEST(Delayed, VectorArguments) {
  auto make = delayed([](Int v) { return v; }, {.name = "make"});
  auto weighted = delayed(
      [](const std::vector<Int>& values, const std::vector<Int>& weights, Int offset) {
        Int s = offset;
        for (std::size_t i = 0; i < values.size(); ++i) s += values[i] * weights[i];
        return s;
      },
      {.name = "weighted"});
  auto count =
      delayed([](std::vector<Int> v) { return static_cast<Int>(v.size()); }, {.name = "count"});
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    std::vector<Delayed<Int>> values;
    for (Int i = 1; i <= 4; ++i) values.push_back(make(i));
    std::vector<Int> weights = {1, 10, 100, 1000};
    EXPECT_EQ(weighted(values, weights, make(5)).compute(on), 4321 + 5);
    // The same Delayed twice in one vector: one dependency task, both elements get its value.
    EXPECT_EQ(weighted(std::vector<Delayed<Int>>{values[0], values[0]}, std::vector<Int>{1, 1}, 0)
                  .compute(on),
              2);
    EXPECT_EQ(count(std::vector<Delayed<Int>>{}).compute(on), 0);
    // A vector of results of calls that take vectors.
    std::vector<Delayed<Int>> sums;
    for (int k = 0; k < 3; ++k) sums.push_back(weighted(values, weights, k));
    EXPECT_EQ(count(sums).compute(on), 3);
  }
}

TEST(Delayed, WrapsFunctionsPointersLambdasAndFunctors) {
  Int (*pointer)(Int) = inc_fn;
  auto a = delayed(inc_fn);
  auto b = delayed(pointer, {.name = "inc_ptr"});
  auto c = delayed([offset = Int{10}](Int x) { return x + offset; });
  auto d = delayed(Multiply{}, {.pure = true});
  auto e = delayed(std::function<Int(Int)>([](Int x) { return 2 * x; }));
  auto zero = delayed([] { return Int{0}; }, {.name = "zero"});
  EXPECT_EQ(a.name(), "delayed");
  EXPECT_EQ(b.name(), "inc_ptr");
  EXPECT_TRUE(d.pure());
  EXPECT_FALSE(c.pure());
  for (const auto& s : all_schedulers()) {
    const DelayedComputeOptions on{.scheduler = s.get()};
    EXPECT_EQ(e(d(c(b(a(1))), 3)).compute(on), 2 * 3 * (1 + 1 + 1 + 10));
    EXPECT_EQ(zero().compute(on), 0);
  }
}

TEST(Delayed, LoweringNamesTasksAndKeepsTopologicalOrder) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  auto add = delayed([](Int a, Int b) { return a + b; }, {.name = "add"});
  Delayed<Int> x = inc(1), y = inc(2), z = add(x, y);
  LoweredDelayed l = lower(z, x);
  ASSERT_EQ(l.graph.size(), 3u);
  ASSERT_EQ(l.outputs.size(), 2u);
  EXPECT_EQ(l.graph.label(l.outputs[0]), z.key());
  EXPECT_EQ(l.graph.label(l.outputs[1]), x.key());
  EXPECT_EQ(l.graph.name(l.outputs[0]), "'" + z.key() + "'");
  EXPECT_EQ(z.key(), "add-" + short_token(z.token()));
  for (TaskId t = 0; t < static_cast<TaskId>(l.graph.size()); ++t)
    for (TaskId d : l.graph.deps(t)) EXPECT_LT(d, t);
  const auto deps = l.graph.deps(l.outputs[0]);
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_EQ(l.graph.label(deps[0]), x.key());
  EXPECT_EQ(l.graph.label(deps[1]), y.key());
  // Literals become value tasks.
  LoweredDelayed lit = lower(add(delayed_value(Int{5}, "five"), 1));
  ASSERT_EQ(lit.graph.size(), 2u);
  EXPECT_FALSE(lit.graph.literal(0).empty());
  EXPECT_EQ(lit.graph.label(0).rfind("five-", 0), 0u);
}

TEST(Delayed, EmptyHandlesAreRejected) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  Delayed<Int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_THROW(inc(empty), value_error);
  EXPECT_THROW(empty.compute(), value_error);
  auto sum = delayed(total, {.name = "sum"});
  EXPECT_THROW(sum(std::vector<Delayed<Int>>{inc(1), empty}), value_error);
}

TEST(Delayed, LongChainsBuildRunAndRelease) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  for (const auto& s : all_schedulers()) {
    Delayed<Int> x = delayed_value(Int{0});
    const Int n = 100000;
    for (Int i = 0; i < n; ++i) x = inc(x);
    EXPECT_EQ(x.compute({.scheduler = s.get()}), n) << s->name();
    x = Delayed<Int>();  // releases 10^5 nested nodes without recursion
  }
}

}  // namespace
}  // namespace tessera
