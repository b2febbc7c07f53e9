// Tests of core/block.hpp, typed over every element type: allocation (64-byte alignment, empty
// and 0-d shapes), zeros, adopting external memory without a copy (and releasing it with the
// last copy), deep clones, reshaping, and typed access (data_as, xtensor views).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tessera/core/block.hpp"
#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % Block::alignment == 0; }

/// The i-th test value of type T (bools alternate).
template <class T>
T value_at(std::size_t i) {
  if constexpr (std::is_same_v<T, bool>) {
    return i % 2 == 1;
  } else {
    return static_cast<T>(i * 3 + 1);
  }
}

template <class T>
void fill(Block& b) {
  T* p = b.data_as<T>();
  for (std::size_t i = 0; i < static_cast<std::size_t>(b.size()); ++i) p[i] = value_at<T>(i);
}

template <class T>
class BlockTyped : public ::testing::Test {
 protected:
  static constexpr DType dtype = dtype_of<T>();
};
using ElementTypes = ::testing::Types<bool, std::int32_t, std::int64_t, float, double>;
TYPED_TEST_SUITE(BlockTyped, ElementTypes);

TYPED_TEST(BlockTyped, DescribesItsStorage) {
  const Block b(this->dtype, {3, 4, 5});
  EXPECT_EQ(b.dtype(), this->dtype);
  EXPECT_EQ(b.shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(b.ndim(), 3);
  EXPECT_EQ(b.size(), 60);
  EXPECT_EQ(b.nbytes(), 60 * sizeof(TypeParam));
}

TYPED_TEST(BlockTyped, AllocationsAreCacheLineAligned) {
  static_assert(Block::alignment == 64);
  for (const Shape& shape : {Shape{1}, Shape{3}, Shape{7, 3}, Shape{65}, Shape{1000, 3}, Shape{},
                             Shape{0}, Shape{4, 0}}) {
    const Block b(this->dtype, shape);
    EXPECT_NE(b.data(), nullptr) << shape_string(shape);  // even for zero elements
    EXPECT_TRUE(aligned(b.data())) << shape_string(shape);
    EXPECT_TRUE(aligned(Block::zeros(this->dtype, shape).data())) << shape_string(shape);
  }
}

TYPED_TEST(BlockTyped, ZeroDimensionalHoldsOneElement) {
  Block b(this->dtype, {});
  EXPECT_EQ(b.ndim(), 0);
  EXPECT_EQ(b.size(), 1);
  EXPECT_EQ(b.nbytes(), sizeof(TypeParam));
  b.data_as<TypeParam>()[0] = value_at<TypeParam>(1);
  EXPECT_EQ(b.view<TypeParam>()(), value_at<TypeParam>(1));
}

TYPED_TEST(BlockTyped, EmptyShape) {
  const Block b(this->dtype, {4, 0});
  EXPECT_EQ(b.size(), 0);
  EXPECT_EQ(b.nbytes(), 0u);
  EXPECT_EQ(b.clone().size(), 0);
}

TYPED_TEST(BlockTyped, ZerosAreZero) {
  // Fill a block first so that a reused allocation would show through.
  {
    Block garbage(this->dtype, {37, 3});
    std::memset(garbage.data(), 0x5a, garbage.nbytes());
  }
  const Block b = Block::zeros(this->dtype, {37, 3});
  const TypeParam* p = b.data_as<TypeParam>();
  for (index_t i = 0; i < b.size(); ++i) EXPECT_EQ(p[i], TypeParam{}) << i;
}

TYPED_TEST(BlockTyped, CopiesShareTheBuffer) {
  Block a(this->dtype, {4});
  const Block b = a;  // NOLINT(performance-unnecessary-copy-initialization): that is the point
  EXPECT_EQ(a.data(), b.data());
  fill<TypeParam>(a);
  EXPECT_EQ(b.data_as<TypeParam>()[3], value_at<TypeParam>(3));
}

TYPED_TEST(BlockTyped, AdoptDoesNotCopy) {
  // Not std::vector: vector<bool> has no data().
  auto storage = std::make_shared<TypeParam[]>(12);
  for (std::size_t i = 0; i < 12; ++i) storage[i] = value_at<TypeParam>(i);
  const Block b = Block::adopt(this->dtype, {3, 4}, storage.get(), storage);
  EXPECT_EQ(b.data(), static_cast<const void*>(storage.get()));
  EXPECT_EQ(b.shape(), (Shape{3, 4}));
  EXPECT_EQ(b.size(), 12);
  EXPECT_EQ(b.view<TypeParam>()(2, 3), value_at<TypeParam>(11));
  storage[0] = value_at<TypeParam>(1);  // writes through: it is the same memory
  EXPECT_EQ(b.data_as<TypeParam>()[0], value_at<TypeParam>(1));
}

TYPED_TEST(BlockTyped, AdoptKeepsOwnerAliveUntilTheLastCopyDies) {
  auto storage = std::make_shared<TypeParam[]>(6);
  const std::weak_ptr<TypeParam[]> watch = storage;
  TypeParam* data = storage.get();
  std::optional<Block> a = Block::adopt(this->dtype, {6}, data, std::move(storage));
  EXPECT_FALSE(watch.expired());  // the Block is now the only owner
  std::optional<Block> b = *a;
  std::optional<Block> r = a->reshaped({2, 3});
  a.reset();
  EXPECT_FALSE(watch.expired());
  b.reset();
  EXPECT_FALSE(watch.expired());  // the reshaped view still holds it
  r.reset();
  EXPECT_TRUE(watch.expired());
}

TYPED_TEST(BlockTyped, AdoptWithoutOwner) {
  std::array<TypeParam, 5> storage;
  storage.fill(value_at<TypeParam>(1));
  const Block b = Block::adopt(this->dtype, {5}, storage.data(), nullptr);
  EXPECT_EQ(b.data(), static_cast<const void*>(storage.data()));
  EXPECT_EQ(b.data_as<TypeParam>()[4], value_at<TypeParam>(1));
  EXPECT_THROW((void)Block::adopt(this->dtype, {-5}, storage.data(), nullptr), shape_error);
}

TYPED_TEST(BlockTyped, CloneIsIndependent) {
  Block a(this->dtype, {5, 3});
  fill<TypeParam>(a);
  Block c = a.clone();
  EXPECT_NE(c.data(), a.data());
  EXPECT_TRUE(aligned(c.data()));
  EXPECT_EQ(c.shape(), a.shape());
  EXPECT_EQ(c.dtype(), a.dtype());
  EXPECT_EQ(std::memcmp(c.data(), a.data(), a.nbytes()), 0);
  c.data_as<TypeParam>()[0] = value_at<TypeParam>(2);
  a.data_as<TypeParam>()[1] = value_at<TypeParam>(4);
  EXPECT_EQ(a.data_as<TypeParam>()[0], value_at<TypeParam>(0));
  EXPECT_EQ(c.data_as<TypeParam>()[1], value_at<TypeParam>(1));
}

TYPED_TEST(BlockTyped, CloneOfAnAdoptedBlockOwnsItsBuffer) {
  auto storage = std::make_shared<TypeParam[]>(4, value_at<TypeParam>(3));
  const std::weak_ptr<TypeParam[]> watch = storage;
  TypeParam* data = storage.get();
  std::optional<Block> a = Block::adopt(this->dtype, {4}, data, std::move(storage));
  const Block c = a->clone();
  a.reset();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(c.data_as<TypeParam>()[3], value_at<TypeParam>(3));
}

TYPED_TEST(BlockTyped, ReshapedSharesTheBuffer) {
  Block a(this->dtype, {2, 6});
  fill<TypeParam>(a);
  const Block r = a.reshaped({3, 4});
  EXPECT_EQ(r.data(), a.data());
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_EQ(a.shape(), (Shape{2, 6}));  // the original keeps its shape
  EXPECT_EQ(r.view<TypeParam>()(2, 1), value_at<TypeParam>(9));
  EXPECT_EQ(a.reshaped({12}).shape(), Shape{12});
  EXPECT_EQ(Block(this->dtype, {1, 1}).reshaped({}).ndim(), 0);
}

TYPED_TEST(BlockTyped, ReshapedToAnotherSizeThrowsShapeErrorNamingBothShapes) {
  const Block a(this->dtype, {2, 6});
  try {
    (void)a.reshaped({5, 2});
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("(2, 6)"), HasSubstr("(5, 2)")));
  }
  // Same element count, but negative extents are not a shape.
  EXPECT_THROW((void)a.reshaped({-3, -4}), shape_error);
  EXPECT_THROW((void)a.reshaped({-12, -1}), shape_error);
}

TYPED_TEST(BlockTyped, ViewHasTheShapeAndWritesThrough) {
  Block b(this->dtype, {2, 3, 4});
  fill<TypeParam>(b);
  auto v = b.view<TypeParam>();
  ASSERT_EQ(v.dimension(), 3u);
  EXPECT_EQ(v.shape()[0], 2u);
  EXPECT_EQ(v.shape()[1], 3u);
  EXPECT_EQ(v.shape()[2], 4u);
  EXPECT_EQ(v.size(), 24u);
  EXPECT_EQ(v(1, 2, 3), value_at<TypeParam>(23));  // row-major
  EXPECT_EQ(v(0, 1, 0), value_at<TypeParam>(4));
  v(1, 0, 0) = value_at<TypeParam>(0);
  EXPECT_EQ(b.data_as<TypeParam>()[12], value_at<TypeParam>(0));
  const Block& cb = b;
  auto cv = cb.view<TypeParam>();
  EXPECT_EQ(cv(1, 0, 0), value_at<TypeParam>(0));
  EXPECT_EQ(static_cast<const void*>(&cv(0, 0, 0)), b.data());  // a view, not a copy
}

TYPED_TEST(BlockTyped, WrongElementTypeThrowsDtypeErrorNamingBoth) {
  Block b(this->dtype, {3});
  const Block& cb = b;
  const auto check = [&]<class U>() {
    if constexpr (!std::is_same_v<U, TypeParam>) {
      try {
        (void)b.data_as<U>();
        ADD_FAILURE() << "no error";
      } catch (const dtype_error& e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr(std::string(dtype_name(this->dtype))),
                                    HasSubstr(std::string(dtype_name(dtype_of<U>())))));
      }
      EXPECT_THROW((void)cb.data_as<U>(), dtype_error);
      EXPECT_THROW((void)b.view<U>(), dtype_error);
      EXPECT_THROW((void)cb.view<U>(), dtype_error);
    }
  };
  check.template operator()<bool>();
  check.template operator()<std::int32_t>();
  check.template operator()<std::int64_t>();
  check.template operator()<float>();
  check.template operator()<double>();
}

TEST(Block, DefaultIsAnEmptyFloat64Vector) {
  const Block b;
  EXPECT_EQ(b.dtype(), DType::Float64);
  EXPECT_EQ(b.shape(), Shape{0});
  EXPECT_EQ(b.size(), 0);
  EXPECT_EQ(b.nbytes(), 0u);
  EXPECT_EQ(b.clone().shape(), Shape{0});
}

TEST(Block, NegativeExtentThrowsShapeErrorNamingTheShape) {
  try {
    Block b(DType::Int32, {3, -1});
    ADD_FAILURE() << "no error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("(3, -1)"));
  }
  EXPECT_THROW((void)Block::zeros(DType::Float64, {-2}), shape_error);
}

}  // namespace
}  // namespace tessera
