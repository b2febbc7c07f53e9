// The delayed tests at 1-4 ranks: every test of test_delayed.cpp, where all_schedulers() now
// ends with a DistributedScheduler over all ranks (TESSERA_TEST_DISTRIBUTED), plus what only a
// multi-rank run shows: tokens agree between ranks, results of user types cross ranks, a
// failing task fails the compute on every rank.

#include "delayed/test_delayed.cpp"  // NOLINT: the shared test bodies (see the file comment)

#include <cstring>

namespace tessera {

/// A user type that crosses ranks: serialisable through its own Serializer.
struct Point {
  double x = 0;
  double y = 0;
};

template <>
struct Serializer<Point> {
  static std::string name() { return "tests.delayed.Point"; }
  static void write(const Point& p, WireWriter& w) {
    w.put(p.x);
    w.put(p.y);
  }
  static Point read(WireReader& r) {
    Point p;
    p.x = r.get<double>();
    p.y = r.get<double>();
    return p;
  }
};

namespace {

/// Whether `token` is the same on every rank (collective).
bool same_on_every_rank(Token token) {
  std::vector<std::byte> mine(sizeof token);
  std::memcpy(mine.data(), &token, sizeof token);
  const auto all = testing::distributed().allgather(mine);
  for (const auto& other : all)
    if (other != mine) return false;
  return true;
}

TEST(DelayedMpi, TokensAgreeAcrossRanks) {
  auto inc = delayed(inc_fn, {.name = "inc"});
  auto pure = delayed(inc_fn, {.name = "inc", .pure = true});
  auto sum = delayed(total, {.name = "sum"});
  std::vector<Delayed<Int>> parts;
  for (Int i = 0; i < 5; ++i) parts.push_back(inc(pure(i)) + i);
  Delayed<Int> s = sum(parts);
  EXPECT_TRUE(same_on_every_rank(inc.token()));
  EXPECT_TRUE(same_on_every_rank(parts[4].token()));
  EXPECT_TRUE(same_on_every_rank(s.token()));
  EXPECT_TRUE(same_on_every_rank(s.lower().graph.fingerprint()));
  EXPECT_EQ(s.compute({.scheduler = &testing::distributed()}), 2 * (0 + 1 + 2 + 3 + 4) + 2 * 5);
}

TEST(DelayedMpi, UserTypesCrossRanks) {
  auto make = delayed([](double x) { return Point{x, 2 * x}; }, {.name = "point"});
  auto norm1 = delayed(
      [](const std::vector<Point>& ps) {
        double s = 0;
        for (const Point& p : ps) s += p.x + p.y;
        return s;
      },
      {.name = "norm1"});
  std::vector<Delayed<Point>> points;
  for (int i = 0; i < 16; ++i) points.push_back(make(static_cast<double>(i)));
  // Results are on every rank, whichever rank computed them.
  const Point p = points[15].compute({.scheduler = &testing::distributed()});
  EXPECT_EQ(p.x, 15.0);
  EXPECT_EQ(p.y, 30.0);
  EXPECT_EQ(norm1(points).compute({.scheduler = &testing::distributed()}), 3.0 * 120);
}

TEST(DelayedMpi, FailureReachesEveryRank) {
  auto check = delayed(
      [](Int x) {
        if (x == 5) throw std::runtime_error("five is not allowed");
        return x;
      },
      {.name = "check"});
  auto sum = delayed(total, {.name = "sum"});
  std::vector<Delayed<Int>> parts;
  for (Int i = 0; i < 12; ++i) parts.push_back(check(i));
  int failures = 0;
  try {
    sum(parts).compute({.scheduler = &testing::distributed()});
  } catch (const task_error& e) {
    ++failures;
    EXPECT_EQ(e.task(), "'" + parts[5].key() + "'");
    EXPECT_NE(std::string(e.what()).find("five is not allowed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(sum_over_ranks(failures), testing::test_ranks());
}

}  // namespace
}  // namespace tessera
