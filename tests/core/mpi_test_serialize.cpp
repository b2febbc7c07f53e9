// Values of user and built-in composite types crossing ranks in a DistributedScheduler run:
// a task pinned (through its input) to one rank returns the value, a consumer pinned to another
// rank reads it, and every rank receives both as outputs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "support/test_support.hpp"
#include "tessera/core/serialize.hpp"

// The user type of serialize.hpp's file comment (as in test_serialize.cpp).
struct Spectrum {
  std::string name;
  std::vector<double> edges;
  xt::xarray<std::int64_t> counts;
  bool operator==(const Spectrum&) const = default;
};

template <>
struct tessera::Serializer<Spectrum> {
  static std::string name() { return "example.Spectrum"; }
  static void write(const Spectrum& h, tessera::WireWriter& w) {
    w.write(h.name);
    w.write(h.edges);
    w.write(h.counts);
  }
  static Spectrum read(tessera::WireReader& r) {
    return Spectrum{r.read<std::string>(), r.read<std::vector<double>>(),
                    r.read<xt::xarray<std::int64_t>>()};
  }
};

namespace tessera::testing {
namespace {

int rank() { return distributed().rank(); }
int ranks() { return distributed().num_ranks(); }

/// A spectrum of `bins` counts: large enough (bins > 8192) to go as a separate segment rather
/// than inside the control message.
Spectrum spectrum(std::int64_t seed, std::size_t bins) {
  Spectrum h{"run-" + std::to_string(seed),
             {0.0, 0.25, 1.0},
             xt::xarray<std::int64_t>::from_shape({bins})};
  std::iota(h.counts.begin(), h.counts.end(), seed);
  return h;
}

/// One producer on `from`, one consumer on `to`: each is pulled to its rank by a literal
/// pinned there (the consumer's weighs more than the produced value, so the consumer moves to
/// the data, not the other way round). Every rank runs the same graph; outputs: the produced
/// value, and the consumer's (its rank, and what it read).
template <class T, class Make, class Read>
std::vector<Value> produce_and_consume(int from, int to, Make make, Read read) {
  TaskGraph g;
  const std::int64_t c0[] = {0}, c1[] = {1};
  const TaskId seed = g.add_value(g.add_label("seed"), c0, Value::make(std::int64_t{7}));
  g.pin(seed, from);
  const TaskId anchor = g.add_value(g.add_label("anchor"), c1, Value::make(std::int64_t{1000}));
  g.pin(anchor, to);
  g.set_size_hint(anchor, std::size_t{1} << 30);
  const TaskId seed_dep[] = {seed};
  const TaskId produced =
      g.add(g.add_label("produce"), {}, seed_dep, [make](std::span<const Value> in) {
        return Value::make<T>(make(in[0].get<std::int64_t>()));
      });
  const TaskId consume_deps[] = {produced, anchor};
  const int here = rank();  // captured per rank: the consumer reports where it ran
  const TaskId consumed =
      g.add(g.add_label("consume"), {}, consume_deps, [read, here](std::span<const Value> in) {
        return Value::make(std::tuple<std::int32_t, std::int64_t>{
            here, read(in[0].get<T>()) + in[1].get<std::int64_t>()});
      });
  const TaskId outputs[] = {produced, consumed};
  return distributed().run(g, outputs);
}

TEST(SerializeAcrossRanks, UserTypeProducedOnOneRankIsReadOnAnother) {
  register_serializer<Spectrum>();  // on every rank, before the run
  register_serializer<std::tuple<std::int32_t, std::int64_t>>();
  const int from = 0, to = ranks() - 1;
  for (std::size_t bins : {std::size_t{5}, std::size_t{20000}}) {  // inline, then a segment
    const auto sum = [](const Spectrum& h) {
      return std::accumulate(h.counts.begin(), h.counts.end(), std::int64_t{0}) +
             static_cast<std::int64_t>(h.name.size());
    };
    const auto out = produce_and_consume<Spectrum>(
        from, to, [bins](std::int64_t s) { return spectrum(s, bins); }, sum);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].get<Spectrum>(), spectrum(7, bins));
    const auto [ran_on, result] = out[1].get<std::tuple<std::int32_t, std::int64_t>>();
    EXPECT_EQ(ran_on, to);
    EXPECT_EQ(result, sum(spectrum(7, bins)) + 1000);
    // The spectrum left rank 0 when another rank consumed it.
    const auto t = distributed().last_transfers();
    if (ranks() > 1 && rank() == from) {
      EXPECT_GE(t.values_sent, 1);
    }
  }
}

TEST(SerializeAcrossRanks, NestedBuiltInContainersCrossRanks) {
  using Fields = std::map<std::string, std::vector<xt::xtensor<double, 2>>>;
  register_serializer<Fields>();
  register_serializer<std::tuple<std::int32_t, std::int64_t>>();
  const auto make = [](std::int64_t s) {
    Fields f;
    for (const char* name : {"u", "v"}) {
      xt::xtensor<double, 2> a = xt::xtensor<double, 2>::from_shape({100, 90});  // 72 KB
      std::iota(a.begin(), a.end(), static_cast<double>(s));
      f[name] = {a, xt::xtensor<double, 2>::from_shape({0, 3})};
    }
    return f;
  };
  const auto read = [](const Fields& f) {
    return static_cast<std::int64_t>(f.at("v")[0](99, 89)) + static_cast<std::int64_t>(f.size());
  };
  const int from = ranks() - 1, to = 0;
  const auto out = produce_and_consume<Fields>(from, to, make, read);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].get<Fields>(), make(7));
  const auto [ran_on, result] = out[1].get<std::tuple<std::int32_t, std::int64_t>>();
  EXPECT_EQ(ran_on, to);
  EXPECT_EQ(result, 7 + 100 * 90 - 1 + 2 + 1000);
}

}  // namespace
}  // namespace tessera::testing
