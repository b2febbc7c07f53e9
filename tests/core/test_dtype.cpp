// Tests of core/dtype.hpp: names, sizes and parsing, NumPy's promotion table for every pair
// of dtypes, NEP 50 weak-scalar promotion, float_result, and the compile-time mapping between
// dtypes and C++ element types (typed over every element type).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"

namespace tessera {
namespace {

using ::testing::HasSubstr;

// The dtypes in the order of the NumPy tables below (the enum's order).
constexpr std::size_t n_dtypes = std::size(all_dtypes);

TEST(DType, NamesSizesAndKindsAreNumpys) {
  using enum DType;
  struct Row {
    DType t;
    const char* name;
    std::size_t size;
    Kind kind;
    bool is_unsigned;
  };
  const Row rows[] = {
      {Bool, "bool", 1, Kind::Bool, false},        {Int8, "int8", 1, Kind::Int, false},
      {Int16, "int16", 2, Kind::Int, false},       {Int32, "int32", 4, Kind::Int, false},
      {Int64, "int64", 8, Kind::Int, false},       {UInt8, "uint8", 1, Kind::Int, true},
      {UInt16, "uint16", 2, Kind::Int, true},      {UInt32, "uint32", 4, Kind::Int, true},
      {UInt64, "uint64", 8, Kind::Int, true},      {Float32, "float32", 4, Kind::Float, false},
      {Float64, "float64", 8, Kind::Float, false},
  };
  ASSERT_EQ(std::size(rows), n_dtypes);
  for (std::size_t i = 0; i < n_dtypes; ++i) {
    const Row& r = rows[i];
    EXPECT_EQ(all_dtypes[i], r.t);
    EXPECT_EQ(dtype_name(r.t), r.name);
    EXPECT_EQ(dtype_size(r.t), r.size) << r.name;
    EXPECT_EQ(dtype_kind(r.t), r.kind) << r.name;
    EXPECT_EQ(is_unsigned(r.t), r.is_unsigned) << r.name;
  }
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
      {"?", DType::Bool},     {"b1", DType::Bool},       {"i1", DType::Int8},
      {"i2", DType::Int16},   {"i4", DType::Int32},      {"i8", DType::Int64},
      {"int", DType::Int64},  {"u1", DType::UInt8},      {"u2", DType::UInt16},
      {"u4", DType::UInt32},  {"u8", DType::UInt64},     {"f4", DType::Float32},
      {"f8", DType::Float64}, {"float", DType::Float64}, {"double", DType::Float64},
  };
  for (const auto& [name, want] : cases) EXPECT_EQ(dtype_from_name(name), want) << name;
}

TEST(DType, UnknownNameThrowsDtypeErrorNamingIt) {
  for (const char* bad : {"float16", "complex128", "", "Float64", "int32 ", "u16", "uint128"}) {
    try {
      (void)dtype_from_name(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const dtype_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("'" + std::string(bad) + "'"));
      EXPECT_THAT(e.what(), HasSubstr("float64"));  // lists what is supported
    }
  }
  EXPECT_THROW((void)dtype_from_name("int128"), error);  // catchable as the common base
}

// np.result_type(a, b) over every pair, row = a, column = b, in all_dtypes' order, as NumPy
// 1.24 printed it (the array-array table is the same in NumPy 2).
TEST(DType, PromoteMatchesNumpyResultTypeForEveryPair) {
  using enum DType;
  const DType table[n_dtypes][n_dtypes] = {
      /* bool    */ {Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32,
                     Float64},
      /* int8    */
      {Int8, Int8, Int16, Int32, Int64, Int16, Int32, Int64, Float64, Float32, Float64},
      /* int16   */
      {Int16, Int16, Int16, Int32, Int64, Int16, Int32, Int64, Float64, Float32, Float64},
      /* int32   */
      {Int32, Int32, Int32, Int32, Int64, Int32, Int32, Int64, Float64, Float64, Float64},
      /* int64   */
      {Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Float64, Float64, Float64},
      /* uint8   */
      {UInt8, Int16, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64},
      /* uint16  */
      {UInt16, Int32, Int32, Int32, Int64, UInt16, UInt16, UInt32, UInt64, Float32, Float64},
      /* uint32  */
      {UInt32, Int64, Int64, Int64, Int64, UInt32, UInt32, UInt32, UInt64, Float64, Float64},
      /* uint64  */
      {UInt64, Float64, Float64, Float64, Float64, UInt64, UInt64, UInt64, UInt64, Float64,
       Float64},
      /* float32 */
      {Float32, Float32, Float32, Float64, Float64, Float32, Float32, Float64, Float64, Float32,
       Float64},
      /* float64 */
      {Float64, Float64, Float64, Float64, Float64, Float64, Float64, Float64, Float64, Float64,
       Float64},
  };
  for (std::size_t i = 0; i < n_dtypes; ++i) {
    for (std::size_t j = 0; j < n_dtypes; ++j) {
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
  EXPECT_EQ(promote(promote(DType::Int16, DType::UInt16), DType::Float32), DType::Float64);
  EXPECT_EQ(promote(DType::Int16, promote(DType::UInt16, DType::Float32)), DType::Float32);
}

// Commutative and idempotent. Not associative, as NumPy's is not: (int16, uint16) -> int32,
// then with float32 -> float64; but (uint16, float32) -> float32, then with int16 -> float32.
TEST(DType, PromoteIsCommutativeAndIdempotent) {
  for (DType a : all_dtypes) {
    EXPECT_EQ(promote(a, a), a);
    for (DType b : all_dtypes) EXPECT_EQ(promote(a, b), promote(b, a));
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
      {Float64, Kind::Float, Float64}, {UInt8, Kind::Int, UInt8},
      {UInt8, Kind::Bool, UInt8},      {UInt8, Kind::Float, Float64},
      {Int8, Kind::Int, Int8},         {UInt64, Kind::Int, UInt64},
      {Int16, Kind::Float, Float64},
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
  EXPECT_EQ(float_result(DType::Int8), DType::Float64);  // NumPy: int8 / int8 is float64
  EXPECT_EQ(float_result(DType::UInt64), DType::Float64);
  EXPECT_EQ(float_result(DType::Bool), DType::Float64);
  EXPECT_EQ(float_result(DType::Int32), DType::Float64);
  EXPECT_EQ(float_result(DType::Int64), DType::Float64);
  EXPECT_EQ(float_result(DType::Float32), DType::Float32);
  EXPECT_EQ(float_result(DType::Float64), DType::Float64);
}

// np.sqrt(np.zeros(1, t)).dtype, float16 read as float32 (Tessera has no float16).
TEST(DType, FloatFunctionResult) {
  using enum DType;
  const std::pair<DType, DType> cases[] = {
      {Bool, Float32},   {Int8, Float32},    {UInt8, Float32},   {Int16, Float32},
      {UInt16, Float32}, {Int32, Float64},   {UInt32, Float64},  {Int64, Float64},
      {UInt64, Float64}, {Float32, Float32}, {Float64, Float64},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(float_function_result(in), want) << dtype_name(in);
}

// np.sum(np.zeros(1, t)).dtype on Linux.
TEST(DType, SumResult) {
  using enum DType;
  const std::pair<DType, DType> cases[] = {
      {Bool, Int64},    {Int8, Int64},      {Int16, Int64},     {Int32, Int64},
      {Int64, Int64},   {UInt8, UInt64},    {UInt16, UInt64},   {UInt32, UInt64},
      {UInt64, UInt64}, {Float32, Float32}, {Float64, Float64},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(sum_result(in), want) << dtype_name(in);
}

// NumPy on x86-64 for floats outside an integer dtype's range (ndarray.astype).
TEST(DType, FloatToIntIsTotalAndMatchesNumpyOnX86) {
  EXPECT_EQ(detail::float_to_int<std::int8_t>(300.0), 44);
  EXPECT_EQ(detail::float_to_int<std::int8_t>(-300.0), -44);
  EXPECT_EQ(detail::float_to_int<std::int8_t>(1e10), 0);
  EXPECT_EQ(detail::float_to_int<std::int16_t>(70000.0), 4464);
  EXPECT_EQ(detail::float_to_int<std::uint8_t>(-1.0), 255);
  EXPECT_EQ(detail::float_to_int<std::uint8_t>(-5.5), 251);
  EXPECT_EQ(detail::float_to_int<std::uint16_t>(-300.0), 65236);
  EXPECT_EQ(detail::float_to_int<std::uint32_t>(-300.0), 4294966996u);
  EXPECT_EQ(detail::float_to_int<std::uint32_t>(3e9), 3000000000u);
  EXPECT_EQ(detail::float_to_int<std::uint64_t>(-1.0), ~std::uint64_t{0});
  EXPECT_EQ(detail::float_to_int<std::int32_t>(1e10), INT32_MIN);
  EXPECT_EQ(detail::float_to_int<std::int8_t>(std::numeric_limits<double>::quiet_NaN()), 0);
}

TEST(DType, ElementTypeConcept) {
  static_assert(ElementType<bool> && ElementType<std::int8_t> && ElementType<std::int16_t> &&
                ElementType<std::int32_t> && ElementType<std::int64_t> &&
                ElementType<std::uint8_t> && ElementType<std::uint16_t> &&
                ElementType<std::uint32_t> && ElementType<std::uint64_t> && ElementType<float> &&
                ElementType<double>);
  static_assert(!ElementType<char> && !ElementType<long double> && !ElementType<const double> &&
                !ElementType<int*>);
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
using ElementTypes =
    ::testing::Types<bool, std::int8_t, std::int16_t, std::int32_t, std::int64_t, std::uint8_t,
                     std::uint16_t, std::uint32_t, std::uint64_t, float, double>;
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
