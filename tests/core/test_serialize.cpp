// Wire form of task values: what crosses ranks must come back equal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "tessera/core/serialize.hpp"
#include "tessera/graph/expr.hpp"

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
    std::memcpy(s.data, w.segments[i].data(), sizes[i]);
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

}  // namespace
}  // namespace tessera
