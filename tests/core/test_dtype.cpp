// Tests of core/dtype.hpp: names, sizes and parsing, NumPy's promotion table for every pair
// of dtypes, NEP 50 weak-scalar promotion, float_result, and the compile-time mapping between
// dtypes and C++ element types (typed over every element type).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"

namespace tessera {
namespace {

using ::testing::HasSubstr;

constexpr std::array<DType, 5> all_dtypes = {DType::Bool, DType::Int32, DType::Int64,
                                             DType::Float32, DType::Float64};

TEST(DType, NamesAreNumpySpellings) {
  EXPECT_EQ(dtype_name(DType::Bool), "bool");
  EXPECT_EQ(dtype_name(DType::Int32), "int32");
  EXPECT_EQ(dtype_name(DType::Int64), "int64");
  EXPECT_EQ(dtype_name(DType::Float32), "float32");
  EXPECT_EQ(dtype_name(DType::Float64), "float64");
}

TEST(DType, SizesAreItemsizes) {
  EXPECT_EQ(dtype_size(DType::Bool), 1u);
  EXPECT_EQ(dtype_size(DType::Int32), 4u);
  EXPECT_EQ(dtype_size(DType::Int64), 8u);
  EXPECT_EQ(dtype_size(DType::Float32), 4u);
  EXPECT_EQ(dtype_size(DType::Float64), 8u);
}

TEST(DType, Kinds) {
  EXPECT_EQ(dtype_kind(DType::Bool), Kind::Bool);
  EXPECT_EQ(dtype_kind(DType::Int32), Kind::Int);
  EXPECT_EQ(dtype_kind(DType::Int64), Kind::Int);
  EXPECT_EQ(dtype_kind(DType::Float32), Kind::Float);
  EXPECT_EQ(dtype_kind(DType::Float64), Kind::Float);
  for (DType t : all_dtypes) {
    EXPECT_EQ(is_float(t), dtype_kind(t) == Kind::Float) << dtype_name(t);
    EXPECT_EQ(is_integer(t), dtype_kind(t) == Kind::Int) << dtype_name(t);
  }
  EXPECT_FALSE(is_integer(DType::Bool));  // NumPy: bool is its own kind, not an integer
  EXPECT_FALSE(is_float(DType::Bool));
}

TEST(DType, ParsesEveryNameItPrints) {
  for (DType t : all_dtypes) EXPECT_EQ(dtype_from_name(dtype_name(t)), t) << dtype_name(t);
}

TEST(DType, ParsesNumpyAliases) {
  const std::pair<const char*, DType> cases[] = {
      {"?", DType::Bool},     {"b1", DType::Bool},       {"i4", DType::Int32},
      {"i8", DType::Int64},   {"int", DType::Int64},     {"f4", DType::Float32},
      {"f8", DType::Float64}, {"float", DType::Float64}, {"double", DType::Float64},
  };
  for (const auto& [name, want] : cases) EXPECT_EQ(dtype_from_name(name), want) << name;
}

TEST(DType, UnknownNameThrowsDtypeErrorNamingIt) {
  for (const char* bad : {"float16", "complex128", "", "Float64", "int32 ", "u4"}) {
    try {
      (void)dtype_from_name(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const dtype_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("'" + std::string(bad) + "'"));
      EXPECT_THAT(e.what(), HasSubstr("float64"));  // lists what is supported
    }
  }
  EXPECT_THROW((void)dtype_from_name("uint8"), error);  // catchable as the common base
}

// np.result_type over {bool, int32, int64, float32, float64}, row = a, column = b.
TEST(DType, PromoteMatchesNumpyResultTypeForEveryPair) {
  using enum DType;
  const DType table[5][5] = {
      /* bool    */ {Bool, Int32, Int64, Float32, Float64},
      /* int32   */ {Int32, Int32, Int64, Float64, Float64},
      /* int64   */ {Int64, Int64, Int64, Float64, Float64},
      /* float32 */ {Float32, Float64, Float64, Float32, Float64},
      /* float64 */ {Float64, Float64, Float64, Float64, Float64},
  };
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t j = 0; j < 5; ++j) {
      const DType a = all_dtypes[i], b = all_dtypes[j];
      EXPECT_EQ(promote(a, b), table[i][j])
          << dtype_name(a) << " + " << dtype_name(b) << " gave " << dtype_name(promote(a, b));
    }
  }
}

TEST(DType, PromoteSpotChecks) {
  EXPECT_EQ(promote(DType::Int32, DType::Float32), DType::Float64);
  EXPECT_EQ(promote(DType::Int64, DType::Float32), DType::Float64);
  EXPECT_EQ(promote(DType::Bool, DType::Bool), DType::Bool);
  EXPECT_EQ(promote(DType::Int32, DType::Int64), DType::Int64);
  EXPECT_EQ(promote(DType::Bool, DType::Float32), DType::Float32);
}

TEST(DType, PromoteIsCommutativeAssociativeAndIdempotent) {
  for (DType a : all_dtypes) {
    EXPECT_EQ(promote(a, a), a);
    for (DType b : all_dtypes) {
      EXPECT_EQ(promote(a, b), promote(b, a));
      for (DType c : all_dtypes) {
        EXPECT_EQ(promote(promote(a, b), c), promote(a, promote(b, c)))
            << dtype_name(a) << ", " << dtype_name(b) << ", " << dtype_name(c);
      }
    }
  }
}

// NEP 50 (NumPy 2): a Python scalar is "weak" and takes the array's dtype unless its kind is
// higher; then the default dtype of its kind (int64, float64) is used.
TEST(DType, PromoteWithWeakScalarFollowsNep50) {
  using enum DType;
  struct Case {
    DType array;
    Kind scalar;
    DType want;
  };
  const Case cases[] = {
      {Bool, Kind::Bool, Bool},        {Bool, Kind::Int, Int64},
      {Bool, Kind::Float, Float64},    {Int32, Kind::Bool, Int32},
      {Int32, Kind::Int, Int32},       {Int32, Kind::Float, Float64},
      {Int64, Kind::Bool, Int64},      {Int64, Kind::Int, Int64},
      {Int64, Kind::Float, Float64},   {Float32, Kind::Bool, Float32},
      {Float32, Kind::Int, Float32},   {Float32, Kind::Float, Float32},
      {Float64, Kind::Bool, Float64},  {Float64, Kind::Int, Float64},
      {Float64, Kind::Float, Float64},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(promote_with_scalar(c.array, c.scalar), c.want)
        << dtype_name(c.array) << " array with scalar kind " << static_cast<int>(c.scalar);
  }
}

TEST(DType, ScalarKindOfCppTypes) {
  static_assert(scalar_kind<bool>() == Kind::Bool);
  static_assert(scalar_kind<int>() == Kind::Int);
  static_assert(scalar_kind<unsigned char>() == Kind::Int);
  static_assert(scalar_kind<std::int64_t>() == Kind::Int);
  static_assert(scalar_kind<float>() == Kind::Float);
  static_assert(scalar_kind<double>() == Kind::Float);
  // int32 array * 2.5 -> float64, float32 array * 2 -> float32 (NumPy 2).
  EXPECT_EQ(promote_with_scalar(DType::Int32, scalar_kind<double>()), DType::Float64);
  EXPECT_EQ(promote_with_scalar(DType::Float32, scalar_kind<int>()), DType::Float32);
}

// True division and transcendental functions. (NumPy would give float16 for bool input;
// Tessera has no float16 and uses float64, as it does for every integer type.)
TEST(DType, FloatResult) {
  EXPECT_EQ(float_result(DType::Bool), DType::Float64);
  EXPECT_EQ(float_result(DType::Int32), DType::Float64);
  EXPECT_EQ(float_result(DType::Int64), DType::Float64);
  EXPECT_EQ(float_result(DType::Float32), DType::Float32);
  EXPECT_EQ(float_result(DType::Float64), DType::Float64);
}

TEST(DType, ElementTypeConcept) {
  static_assert(ElementType<bool> && ElementType<std::int32_t> && ElementType<std::int64_t> &&
                ElementType<float> && ElementType<double>);
  static_assert(!ElementType<char> && !ElementType<std::uint32_t> && !ElementType<long double> &&
                !ElementType<std::int16_t> && !ElementType<const double> && !ElementType<int*>);
}

TEST(DType, VisitDtypeCallsWithTheStorageType) {
  for (DType t : all_dtypes) {
    const DType seen = visit_dtype(t, []<class T>() { return dtype_of<T>(); });
    EXPECT_EQ(seen, t) << dtype_name(t);
    const std::size_t size = visit_dtype(t, []<class T>() { return sizeof(T); });
    EXPECT_EQ(size, dtype_size(t)) << dtype_name(t);
  }
}

TEST(DType, VisitDtypeForwardsReferencesAndVoid) {
  int calls = 0;
  visit_dtype(DType::Int32, [&]<class T>() { ++calls; });
  EXPECT_EQ(calls, 1);
  int target = 0;
  int& ref = visit_dtype(DType::Float64, [&]<class T>() -> int& { return target; });
  EXPECT_EQ(&ref, &target);
}

TEST(DType, VisitDtypeRejectsAnInvalidValue) {
  const auto bad = static_cast<DType>(42);
  EXPECT_THROW(visit_dtype(bad, []<class T>() { return 0; }), dtype_error);
  EXPECT_EQ(dtype_name(bad), "invalid");
}

// Typed over every element type: the dtype <-> C++ type mapping is a bijection.
template <class T>
class DTypeOf : public ::testing::Test {};
using ElementTypes = ::testing::Types<bool, std::int32_t, std::int64_t, float, double>;
TYPED_TEST_SUITE(DTypeOf, ElementTypes);

TYPED_TEST(DTypeOf, RoundTripsThroughTraits) {
  constexpr DType d = dtype_of<TypeParam>();
  static_assert(std::is_same_v<typename dtype_traits<d>::type, TypeParam>);
  EXPECT_EQ(dtype_size(d), sizeof(TypeParam));
  EXPECT_EQ(dtype_from_name(dtype_name(d)), d);
  EXPECT_EQ(dtype_kind(d), scalar_kind<TypeParam>());
}

}  // namespace
}  // namespace tessera
