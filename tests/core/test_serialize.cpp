// Wire form of task values: what crosses ranks must come back equal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "tessera/core/serialize.hpp"
#include "tessera/graph/expr.hpp"

// The user type of serialize.hpp's file comment, word for word: the example stays true.
struct Spectrum {  // a user's value type
  std::string name;
  std::vector<double> edges;
  xt::xarray<std::int64_t> counts;  // bulk data: one segment, not copied on send
  bool operator==(const Spectrum&) const = default;
};

template <>
struct tessera::Serializer<Spectrum> {
  // Identifies the type on the wire: unique, and the same on every rank (a hash of it
  // is sent, so keep it stable between builds that talk to each other).
  static std::string name() { return "example.Spectrum"; }
  // Members by their own serializers (w.write), fixed-size bytes by w.put(x), bulk
  // memory that outlives the send by w.segment(bytes).
  static void write(const Spectrum& h, tessera::WireWriter& w) {
    w.write(h.name);
    w.write(h.edges);
    w.write(h.counts);
  }
  // Reads back in the same order (a braced list is evaluated left to right).
  static Spectrum read(tessera::WireReader& r) {
    return Spectrum{r.read<std::string>(), r.read<std::vector<double>>(),
                    r.read<xt::xarray<std::int64_t>>()};
  }
};

namespace tessera {
namespace {

/// What a receiver does: allocate the listed segments, fill them from the sender's spans.
Value round_trip(const Value& v) {
  WireValue w = encode(v);
  std::vector<Segment> segs;
  const auto sizes = segment_sizes(w.header);
  EXPECT_EQ(sizes.size(), w.segments.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Segment s = allocate_segment(sizes[i]);
    if (sizes[i] > 0) std::memcpy(s.data, w.segments[i].data(), sizes[i]);  // may be null
    segs.push_back(std::move(s));
  }
  return decode(w.header, std::move(segs));
}

TEST(Serialize, ScalarsAndStrings) {
  EXPECT_EQ(round_trip(Value::make<std::int64_t>(-42)).get<std::int64_t>(), -42);
  EXPECT_EQ(round_trip(Value::make(2.5)).get<double>(), 2.5);
  EXPECT_EQ(round_trip(Value::make(true)).get<bool>(), true);
  EXPECT_EQ(round_trip(Value::make(std::string("héllo\0x", 8))).get<std::string>(),
            std::string("héllo\0x", 8));
  EXPECT_EQ(round_trip(Value::make(std::string())).get<std::string>(), "");
  const std::vector<double> v{1.5, -2, 3};
  EXPECT_EQ(round_trip(Value::make(v)).get<std::vector<double>>(), v);
}

TEST(Serialize, BlockTravelsAsOneSegmentWithoutCopyOnSend) {
  Block b(DType::Int32, {3, 4});
  std::iota(b.data_as<std::int32_t>(), b.data_as<std::int32_t>() + 12, -5);
  const Value v = Value::make(b);
  WireValue w = encode(v);
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].data(),
            static_cast<const std::byte*>(b.data()));  // points into the block
  const Block back = round_trip(v).get<Block>();
  EXPECT_EQ(back.dtype(), DType::Int32);
  EXPECT_EQ(back.shape(), (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(back.data_as<std::int32_t>()[i], i - 5);
}

TEST(Serialize, EmptyAndZeroDimensionalBlocks) {
  const Block empty = round_trip(Value::make(Block(DType::Float64, {0, 7}))).get<Block>();
  EXPECT_EQ(empty.shape(), (Shape{0, 7}));
  Block scalar(DType::Bool, {});
  *scalar.data_as<bool>() = true;
  const Block s = round_trip(Value::make(scalar)).get<Block>();
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_TRUE(*s.data_as<bool>());
}

TEST(Serialize, PartialKeepsEveryField) {
  detail::register_graph_serializers();  // lower() does this for every compute
  Partial p;
  p.fields.push_back(Block::zeros(DType::Float64, {1, 3}));
  p.fields.push_back(Block::zeros(DType::Int64, {1, 3}));
  p.fields[1].data_as<std::int64_t>()[2] = 99;
  const Partial q = round_trip(Value::make(p)).get<Partial>();
  ASSERT_EQ(q.fields.size(), 2u);
  EXPECT_EQ(q.fields[1].dtype(), DType::Int64);
  EXPECT_EQ(q.fields[1].data_as<std::int64_t>()[2], 99);
}

struct NotRegistered {
  int x;
};

TEST(Serialize, UnregisteredTypeIsAClearError) {
  EXPECT_THAT([] { encode(Value::make(NotRegistered{1})); },
              ::testing::ThrowsMessage<dtype_error>(::testing::HasSubstr("cannot cross ranks")));
}

TEST(Serialize, MalformedHeaderIsAnError) {
  const std::vector<std::byte> junk(3);
  EXPECT_THROW(segment_sizes(junk), value_error);
}

/// Registers T (as a task's result type would be), then sends `v` through the wire form.
template <class T>
T round_trip_as(const T& v) {
  register_serializer<T>();
  return round_trip(Value::make(v)).template get<T>();
}

TEST(Serialize, UserTypeFromTheFileComment) {
  register_serializer<Spectrum>();  // once, on every rank
  Spectrum h{"heights", {0.0, 0.5, 1.0}, xt::xarray<std::int64_t>{{3, 4}, {5, -6}}};
  const Value v = Value::make(h);
  const WireValue w = encode(v);
  ASSERT_EQ(w.segments.size(), 1u);  // the counts, pointing into the held object
  EXPECT_EQ(w.segments[0].data(),
            reinterpret_cast<const std::byte*>(v.get<Spectrum>().counts.data()));
  EXPECT_EQ(w.segments[0].size(), 4 * sizeof(std::int64_t));
  const Spectrum back = round_trip(v).get<Spectrum>();
  EXPECT_EQ(back, h);
  EXPECT_EQ(back.counts.shape(), h.counts.shape());
}

TEST(Serialize, PairsTuplesAndOptionals) {
  using P = std::pair<std::string, double>;
  EXPECT_EQ(round_trip_as(P{"pi", 3.25}), (P{"pi", 3.25}));
  using T = std::tuple<std::int32_t, std::string, std::vector<std::int64_t>, bool>;
  const T t{-7, "seven", {1, 2, 3}, true};
  EXPECT_EQ(round_trip_as(t), t);
  EXPECT_EQ(round_trip_as(std::tuple<>{}), std::tuple<>{});
  EXPECT_EQ(round_trip_as(std::optional<std::string>("here")), std::optional<std::string>("here"));
  EXPECT_EQ(round_trip_as(std::optional<std::string>()), std::nullopt);
}

TEST(Serialize, MapsAndNestedContainers) {
  const std::map<std::string, std::vector<double>> m{{"b", {2.0}}, {"a", {}}, {"c", {1.0, -1.0}}};
  EXPECT_EQ(round_trip_as(m), m);
  EXPECT_EQ(round_trip_as(std::map<std::int64_t, std::string>{}).size(), 0u);
  std::unordered_map<std::string, std::pair<std::int64_t, float>> u;
  for (int i = 0; i < 100; ++i) u["key" + std::to_string(i)] = {i, 0.5f * static_cast<float>(i)};
  EXPECT_EQ(round_trip_as(u), u);
  using Deep = std::vector<std::map<std::int32_t, std::optional<std::tuple<std::string, bool>>>>;
  const Deep d{{{1, std::nullopt}, {2, std::tuple<std::string, bool>{"two", false}}}, {}};
  EXPECT_EQ(round_trip_as(d), d);
}

TEST(Serialize, XtensorContainersAreOneSegmentWithoutCopyOnSend) {
  xt::xarray<double> a = xt::xarray<double>::from_shape({3, 4, 5});
  std::iota(a.begin(), a.end(), -10.0);
  const Value v = Value::make(a);
  const WireValue w = encode(v);  // xarray<double> is registered already
  ASSERT_EQ(w.segments.size(), 1u);
  EXPECT_EQ(w.segments[0].data(),
            reinterpret_cast<const std::byte*>(v.get<xt::xarray<double>>().data()));
  const auto back = round_trip(v).get<xt::xarray<double>>();
  EXPECT_EQ(back.shape(), a.shape());
  EXPECT_EQ(back, a);

  xt::xtensor<float, 2> t = xt::xtensor<float, 2>::from_shape({2, 3});
  std::iota(t.begin(), t.end(), 0.5f);
  EXPECT_EQ(round_trip_as(t), t);
  EXPECT_EQ(round_trip_as(xt::xarray<bool>{{true, false}, {false, true}}),
            (xt::xarray<bool>{{true, false}, {false, true}}));
  const auto scalar = round_trip_as(xt::xarray<std::int32_t>(42));  // 0-d
  EXPECT_EQ(scalar.dimension(), 0u);
  EXPECT_EQ(scalar(), 42);
  const auto empty = round_trip_as(xt::xarray<double>::from_shape({0, 7}));
  EXPECT_EQ(empty.shape(), (xt::xarray<double>::shape_type{0, 7}));
  const auto empty_t = round_trip_as(xt::xtensor<std::int64_t, 3>::from_shape({2, 0, 1}));
  EXPECT_EQ(empty_t.shape(), (std::array<std::size_t, 3>{2, 0, 1}));
}

TEST(Serialize, XtensorOfAnotherRankIsAnError) {
  WireWriter w;
  Serializer<xt::xarray<double>>::write(xt::xarray<double>::from_shape({1, 2, 3}), w);
  std::vector<Segment> segs{allocate_segment(6 * sizeof(double))};
  WireReader r(w.header(), std::move(segs));
  const auto read_as_matrix = [&] { Serializer<xt::xtensor<double, 2>>::read(r); };
  EXPECT_THAT(read_as_matrix,
              ::testing::ThrowsMessage<value_error>(::testing::HasSubstr("rank 3")));
}

TEST(Serialize, NamesAreStableAndSayWhatTheTypeIs) {
  // These go over the wire (hashed): changing one breaks mixed-version jobs, so pin them.
  EXPECT_EQ(Serializer<std::int64_t>::name(), "i64");
  EXPECT_EQ(Serializer<double>::name(), "f64");
  EXPECT_EQ((Serializer<std::map<std::string, std::vector<double>>>::name()),
            "map<string,vector<f64>>");
  EXPECT_EQ((Serializer<std::unordered_map<std::int32_t, bool>>::name()),
            "unordered_map<i32,bool>");
  EXPECT_EQ((Serializer<std::tuple<std::int32_t, float, std::string>>::name()),
            "tuple<i32,f32,string>");
  EXPECT_EQ(Serializer<std::tuple<>>::name(), "tuple<>");
  EXPECT_EQ((Serializer<std::pair<std::uint8_t, Block>>::name()), "pair<u8,tessera.Block>");
  EXPECT_EQ(Serializer<std::optional<std::int16_t>>::name(), "optional<i16>");
  EXPECT_EQ(Serializer<xt::xarray<float>>::name(), "xarray<f32>");
  EXPECT_EQ((Serializer<xt::xtensor<std::int64_t, 3>>::name()), "xtensor<i64,3>");
  // Distinct types of one size get distinct names, so neither decodes as the other.
  EXPECT_NE(Serializer<long long>::name(), Serializer<long>::name());
  EXPECT_NE(Serializer<char16_t>::name(), Serializer<std::uint16_t>::name());
}

struct First {
  int x;
};
struct Second {
  int x;
};

}  // namespace
}  // namespace tessera

template <>
struct tessera::Serializer<tessera::First> {
  static std::string name() { return "test.SameName"; }
  static void write(const First& v, WireWriter& w) { w.put(v.x); }
  static First read(WireReader& r) { return First{r.get<int>()}; }
};
template <>
struct tessera::Serializer<tessera::Second> {
  static std::string name() { return "test.SameName"; }
  static void write(const Second& v, WireWriter& w) { w.put(v.x); }
  static Second read(WireReader& r) { return Second{r.get<int>()}; }
};

namespace tessera {
namespace {

TEST(Serialize, TwoTypesUnderOneNameAreAnError) {
  register_serializer<First>();
  register_serializer<First>();  // idempotent
  EXPECT_THAT(
      [] { register_serializer<Second>(); },
      ::testing::ThrowsMessage<value_error>(::testing::AllOf(
          ::testing::HasSubstr("'test.SameName' is taken by tessera::(anonymous namespace)::First"),
          ::testing::HasSubstr("Second"))));
  EXPECT_EQ(round_trip(Value::make(First{5})).get<First>().x, 5);  // First keeps the name
}

TEST(Serialize, WhatIsSerialisableIsKnownAtCompileTime) {
  // register_serializer<NotRegistered>() (or of a vector of them) does not compile: one
  // static_assert, "This type has no tessera::Serializer, so its values cannot cross MPI
  // ranks. Specialise tessera::Serializer<T> ...", at the innermost type.
  static_assert(!Serializable<NotRegistered>);
  static_assert(!Serializable<std::vector<NotRegistered>>);
  static_assert(!Serializable<std::map<std::string, NotRegistered>>);
  static_assert(!Serializable<xt::xarray<std::string>>);  // xtensor containers: arithmetic only
  static_assert(Serializable<std::map<std::string, std::vector<xt::xtensor<float, 2>>>>);
  static_assert(Serializable<Spectrum>);
}

TEST(Serialize, UnregisteredTypeNamesItAndSaysWhatToDo) {
  EXPECT_THAT(
      [] { encode(Value::make(NotRegistered{1})); },
      ::testing::ThrowsMessage<dtype_error>(::testing::AllOf(
          ::testing::HasSubstr("tessera::(anonymous namespace)::NotRegistered cannot cross ranks"),
          ::testing::HasSubstr("register_serializer<T>()"))));
}

TEST(Serialize, MalformedCountsAreErrorsNotHugeAllocations) {
  WireWriter w;
  w.put<std::uint64_t>(std::numeric_limits<std::uint64_t>::max() / 16);  // a vector's count
  WireReader r(w.header(), {});
  EXPECT_THROW(Serializer<std::vector<double>>::read(r), value_error);
}

TEST(Serialize, LengthsNearTwoToThe64AreErrorsNotWrappedBounds) {
  // 8 bytes read, then a length of 2^64 - 8: a bounds check of pos + n would wrap to 0.
  WireWriter w;
  w.put<std::uint64_t>(std::numeric_limits<std::uint64_t>::max() - 7);
  WireReader r(w.header(), {});
  EXPECT_THAT([&] { r.read<std::string>(); },
              ::testing::ThrowsMessage<value_error>(::testing::HasSubstr("read past its end")));
}

TEST(Serialize, MalformedDimensionCountsAreErrorsNotHugeAllocations) {
  WireWriter block;
  block.put<std::uint8_t>(static_cast<std::uint8_t>(DType::Float64));
  block.put<std::uint32_t>(std::numeric_limits<std::uint32_t>::max());
  WireReader rb(block.header(), {});
  EXPECT_THAT([&] { Serializer<Block>::read(rb); },
              ::testing::ThrowsMessage<value_error>(::testing::HasSubstr("dimensions")));
  WireWriter array;
  array.put<std::uint32_t>(std::numeric_limits<std::uint32_t>::max());
  WireReader ra(array.header(), {});
  EXPECT_THAT([&] { Serializer<xt::xarray<double>>::read(ra); },
              ::testing::ThrowsMessage<value_error>(::testing::HasSubstr("dimensions")));
  // A header that claims more segments than it has bytes for.
  WireWriter prefix;
  prefix.put<std::uint64_t>(0);
  prefix.put<std::uint32_t>(std::numeric_limits<std::uint32_t>::max());
  EXPECT_THROW(segment_sizes(prefix.header()), value_error);
}

}  // namespace
}  // namespace tessera
