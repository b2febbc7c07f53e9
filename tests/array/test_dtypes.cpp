// The eleven dtypes end to end: arithmetic, comparisons and bitwise operations between every
// pair of dtypes (NumPy's promotion, integer wrap-around), unary operations, weak scalars
// (NEP 50, out-of-range Python integers), astype between every pair, reductions and scans
// (NumPy's int64/uint64 accumulators), creation and random integers. The references are
// computed here value by value: integer arithmetic in uint64 then truncated (two's
// complement), floor division through long double (exact for 64-bit integers on x86-64).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

using ::testing::HasSubstr;

const Shape kShape{5, 7};

/// Values that reach every dtype's edges: small numbers, the limits of the 8-, 16-, 32- and
/// 64-bit types, converted to T modulo 2^bits (and so wrapped for the narrower ones).
const std::int64_t kInts[] = {0,
                              1,
                              -1,
                              2,
                              -3,
                              7,
                              -8,
                              100,
                              -100,
                              127,
                              -128,
                              255,
                              256,
                              32767,
                              -32768,
                              65535,
                              2147483647,
                              -2147483648LL,
                              4294967295LL,
                              std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::int64_t>::min()};

template <class T>
xt::xarray<T> values(std::size_t seed) {
  xt::xarray<T> out = xt::xarray<T>::from_shape({5, 7});
  constexpr std::size_t n = std::size(kInts);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t k = kInts[(i * 5 + seed * 3) % n];
    if constexpr (std::is_same_v<T, bool>)
      out.flat(i) = k % 3 == 0;
    else if constexpr (std::is_integral_v<T>)
      out.flat(i) = static_cast<T>(k);  // modulo 2^bits (C++20)
    else  // floats: quarters of numbers below 10^6, so that sums of a few are exact
      out.flat(i) = static_cast<T>(static_cast<double>(k % 1000003) / 4);
  }
  return out;
}

/// v as R, for values already representable in R (promotion guarantees it) or bool.
template <class R, class S>
R as(S v) {
  if constexpr (std::is_same_v<R, bool>)
    return v != S(0);
  else
    return static_cast<R>(v);
}

enum class Op { Add, Sub, Mul, FloorDiv, Mod, Lt, Eq, BitAnd, BitXor, Max };

const char* op_name(Op op) {
  static const char* names[] = {"+", "-", "*", "//", "%", "<", "==", "&", "^", "maximum"};
  return names[static_cast<int>(op)];
}

Array apply(Op op, const Array& a, const Array& b) {
  switch (op) {
    case Op::Add:
      return a + b;
    case Op::Sub:
      return a - b;
    case Op::Mul:
      return a * b;
    case Op::FloorDiv:
      return floor_divide(a, b);
    case Op::Mod:
      return a % b;
    case Op::Lt:
      return a < b;
    case Op::Eq:
      return a == b;
    case Op::BitAnd:
      return a & b;
    case Op::BitXor:
      return a ^ b;
    case Op::Max:
      return maximum(a, b);
  }
  return a;
}

/// The reference of `op` on two values already converted to the result type R.
template <class R>
R reference(Op op, R x, R y) {
  if constexpr (std::is_same_v<R, bool>) {
    return x;  // not called: bool results are comparisons, tested apart
  } else if constexpr (std::is_integral_v<R>) {
    const auto ux = static_cast<std::uint64_t>(x), uy = static_cast<std::uint64_t>(y);
    const long double lx = x, ly = y;
    switch (op) {
      case Op::Add:
        return static_cast<R>(ux + uy);
      case Op::Sub:
        return static_cast<R>(ux - uy);
      case Op::Mul:
        return static_cast<R>(ux * uy);
      case Op::FloorDiv:
        if (y == 0) return 0;
        if (std::is_signed_v<R> && y == R(-1)) return static_cast<R>(std::uint64_t{0} - ux);
        return static_cast<R>(std::floor(lx / ly));
      case Op::Mod: {
        if (y == 0) return 0;
        if (std::is_signed_v<R> && y == R(-1)) return 0;
        const long double q = std::floor(lx / ly);
        return static_cast<R>(lx - q * ly);
      }
      case Op::BitAnd:
        return static_cast<R>(x & y);
      case Op::BitXor:
        return static_cast<R>(x ^ y);
      case Op::Max:
        return x < y ? y : x;
      default:
        return 0;
    }
  } else {
    switch (op) {
      case Op::Add:
        return x + y;
      case Op::Sub:
        return x - y;
      case Op::Mul:
        return x * y;
      // Python's definitions: the modulo takes the divisor's sign, from the exact fmod (x -
      // floor(x / y) * y loses it for 2^64 % 3); the quotient is (x - mod) / y, an integer.
      case Op::FloorDiv:
        if (y == 0) return x / y;
        return std::round((x - reference(Op::Mod, x, y)) / y);
      case Op::Mod: {
        if (y == 0) return std::numeric_limits<R>::quiet_NaN();
        R m = std::fmod(x, y);
        if (m != 0 && (m < 0) != (y < 0)) m += y;
        return m;
      }
      case Op::Max:
        return x < y ? y : x;
      default:
        return 0;
    }
  }
}

class DTypesTest : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& sched() const { return *all_schedulers()[static_cast<std::size_t>(GetParam())]; }
};

INSTANTIATE_TEST_SUITE_P(Schedulers, DTypesTest, ::testing::Range(0, num_schedulers()),
                         scheduler_param_name);

bool integral_or_bool(DType t) { return !is_float(t); }

// Every pair of dtypes through every binary operation: the result dtype is NumPy's
// result_type (bool for comparisons) and the values wrap as NumPy's do.
TEST_P(DTypesTest, BinaryOperationsBetweenEveryPairOfDtypes) {
  const ChunkSpec chunks({2, 3});
  for (DType da : all_dtypes) {
    for (DType db : all_dtypes) {
      visit_dtype(da, [&]<class A>() {
        visit_dtype(db, [&]<class B>() {
          const auto a = values<A>(1);
          const auto b = values<B>(2);
          const Array x = from_xtensor(a, chunks), y = from_xtensor(b, ChunkSpec({3, 2}));
          const DType common = promote(da, db);
          visit_dtype(common, [&]<class R>() {
            for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::FloorDiv, Op::Mod, Op::Lt, Op::Eq,
                          Op::BitAnd, Op::BitXor, Op::Max}) {
              SCOPED_TRACE(::testing::Message()
                           << dtype_name(da) << " " << op_name(op) << " " << dtype_name(db));
              const bool bitwise = op == Op::BitAnd || op == Op::BitXor;
              const bool bool_arith =
                  std::is_same_v<R, bool> && (op == Op::Sub || op == Op::FloorDiv || op == Op::Mod);
              if (bitwise && !integral_or_bool(common)) {
                EXPECT_THROW(apply(op, x, y), dtype_error);
                continue;
              }
              if (bool_arith) continue;  // bool - bool raises; bool // bool is int64 (tested apart)
              if (std::is_same_v<R, bool> && op != Op::Lt && op != Op::Eq) continue;
              if (op == Op::Lt || op == Op::Eq) {
                xt::xarray<bool> want = xt::xarray<bool>::from_shape(a.shape());
                for (std::size_t i = 0; i < a.size(); ++i) {
                  const R p = as<R>(a.flat(i)), q = as<R>(b.flat(i));
                  want.flat(i) = op == Op::Lt ? p < q : p == q;
                }
                EXPECT_TRUE(matches<bool>(apply(op, x, y), want, sched()));
              } else {
                xt::xarray<R> want = xt::xarray<R>::from_shape(a.shape());
                for (std::size_t i = 0; i < a.size(); ++i)
                  want.flat(i) = reference<R>(op, as<R>(a.flat(i)), as<R>(b.flat(i)));
                EXPECT_TRUE(matches<R>(apply(op, x, y), want, sched(), 1e-6));
              }
            }
          });
        });
      });
    }
  }
}

// Negative wraps for unsigned integers (NumPy: -uint8(1) == 255), abs is the identity there,
// invert flips every bit, shifts by the width or more give 0.
TEST_P(DTypesTest, UnaryAndShiftOperationsOnEveryIntegerDtype) {
  for (DType dt : all_dtypes) {
    if (!is_integer(dt)) continue;
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const auto a = values<T>(3);
        const Array x = from_xtensor(a, ChunkSpec({3, 4}));
        xt::xarray<T> neg = a, abs = a, inv = a, shl = a, shr = a;
        constexpr int bits = sizeof(T) * 8;
        for (std::size_t i = 0; i < a.size(); ++i) {
          const T v = a.flat(i);
          const auto u = static_cast<std::uint64_t>(v);
          neg.flat(i) = static_cast<T>(std::uint64_t{0} - u);
          abs.flat(i) = std::is_signed_v<T> && v < T(0) ? neg.flat(i) : v;
          inv.flat(i) = static_cast<T>(~u);
          shl.flat(i) = static_cast<T>(u << 3);
          shr.flat(i) = static_cast<T>(v >> 3);
        }
        EXPECT_TRUE(matches<T>(-x, neg, sched()));
        EXPECT_TRUE(matches<T>(tessera::abs(x), abs, sched()));
        EXPECT_TRUE(matches<T>(~x, inv, sched()));
        EXPECT_TRUE(matches<T>(x << 3, shl, sched()));
        EXPECT_TRUE(matches<T>(x >> 3, shr, sched()));
        xt::xarray<T> wide_left = xt::zeros<T>(a.shape());
        EXPECT_TRUE(matches<T>(x << bits, wide_left, sched()));
      }
    });
  }
}

// NEP 50: a C++ integer scalar takes an integer array's dtype and must fit it; a float scalar
// makes any integer array float64.
TEST_P(DTypesTest, WeakScalarsTakeTheArraysDtypeAndMustFit) {
  const xt::xarray<std::uint8_t> a = {0, 1, 100, 200, 255};
  const Array x = from_xtensor(a, ChunkSpec(2));
  EXPECT_EQ((x + 1).dtype(), DType::UInt8);
  EXPECT_TRUE(
      matches<std::uint8_t>(x + 100, xt::xarray<std::uint8_t>{100, 101, 200, 44, 99}, sched()));
  EXPECT_EQ((x * 2.5).dtype(), DType::Float64);
  EXPECT_THAT([&] { (void)(x + 256); }, ::testing::ThrowsMessage<value_error>(HasSubstr(
                                            "Python integer 256 out of bounds for uint8")));
  EXPECT_THAT([&] { (void)(x + -1); }, ::testing::ThrowsMessage<value_error>(
                                           HasSubstr("Python integer -1 out of bounds for uint8")));
  const Array i8 = from_xtensor(xt::xarray<std::int8_t>{-128, 0, 127}, ChunkSpec(2));
  EXPECT_THROW((void)(i8 + 128), value_error);
  EXPECT_TRUE(matches<std::int8_t>(i8 + 1, xt::xarray<std::int8_t>{-127, 1, -128}, sched()));
  // An unsigned 64-bit scalar above INT64_MAX fits uint64 arrays only.
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  const Array u64 = from_xtensor(xt::xarray<std::uint64_t>{0, 1, 5}, ChunkSpec(2));
  EXPECT_TRUE(matches<std::uint64_t>(u64 + big, xt::xarray<std::uint64_t>{big, 0, 4}, sched()));
  EXPECT_THAT([&] { (void)(i8 + big); }, ::testing::ThrowsMessage<value_error>(
                                             HasSubstr("18446744073709551615 out of bounds")));
  const Array i64 = from_xtensor(xt::xarray<std::int64_t>{1}, ChunkSpec(1));
  EXPECT_THROW((void)(i64 + big), value_error);
}

// astype between every pair. Floats convert through a truncation to int64 then modulo 2^bits,
// which is NumPy's result on x86-64 for these (in-range) values, negatives to unsigned included.
TEST_P(DTypesTest, AstypeBetweenEveryPairOfDtypes) {
  for (DType from : all_dtypes) {
    for (DType to : all_dtypes) {
      SCOPED_TRACE(::testing::Message() << dtype_name(from) << " -> " << dtype_name(to));
      visit_dtype(from, [&]<class S>() {
        visit_dtype(to, [&]<class D>() {
          const auto a = values<S>(4);
          xt::xarray<D> want = xt::xarray<D>::from_shape(a.shape());
          for (std::size_t i = 0; i < a.size(); ++i) {
            const S v = a.flat(i);
            if constexpr (std::is_same_v<D, bool>)
              want.flat(i) = v != S(0);
            else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>)
              want.flat(i) = static_cast<D>(static_cast<std::int64_t>(v));
            else
              want.flat(i) = static_cast<D>(v);
          }
          const Array x = from_xtensor(a, ChunkSpec({2, 4}));
          EXPECT_TRUE(matches<D>(x.astype(to), want, sched()));
        });
      });
    }
  }
}

// sum, prod, cumsum accumulate in int64 (bool, signed) or uint64 (unsigned), wrapping; min,
// max keep the dtype; mean is float64; argmax is int64.
TEST_P(DTypesTest, ReductionsAndScansOnEveryDtype) {
  for (DType dt : all_dtypes) {
    visit_dtype(dt, [&]<class T>() {
      SCOPED_TRACE(std::string(dtype_name(dt)));
      const auto a = values<T>(5);
      const Array x = from_xtensor(a, ChunkSpec({2, 3}));
      visit_dtype(sum_result(dt), [&]<class R>() {
        xt::xarray<R> sum = xt::zeros<R>({7}), cum = xt::zeros<R>({5, 7});
        for (std::size_t j = 0; j < 7; ++j) {
          R s = 0;
          for (std::size_t i = 0; i < 5; ++i) {
            const T v = a(i, j);
            if constexpr (std::is_floating_point_v<R>)
              s = static_cast<R>(s + static_cast<R>(v));
            else
              s = static_cast<R>(static_cast<std::uint64_t>(s) +
                                 static_cast<std::uint64_t>(as<R>(v)));
            cum(i, j) = s;
          }
          sum(j) = s;
        }
        EXPECT_TRUE(matches<R>(x.sum({0}), sum, sched(), 1e-6));
        EXPECT_TRUE(matches<R>(cumsum(x, 0), cum, sched(), 1e-6));
      });
      if constexpr (!std::is_same_v<T, bool>) {
        xt::xarray<T> mx = xt::xarray<T>::from_shape({5});
        xt::xarray<std::int64_t> am = xt::zeros<std::int64_t>({5});
        xt::xarray<double> mean = xt::zeros<double>({5});
        for (std::size_t i = 0; i < 5; ++i) {
          T m = a(i, 0);
          double s = 0;
          for (std::size_t j = 0; j < 7; ++j) {
            if (m < a(i, j)) {
              m = a(i, j);
              am(i) = static_cast<std::int64_t>(j);
            }
            s += static_cast<double>(a(i, j));
          }
          mx(i) = m;
          mean(i) = s / 7;
        }
        EXPECT_TRUE(matches<T>(x.max({1}), mx, sched()));
        EXPECT_TRUE(matches<std::int64_t>(x.argmax(1), am, sched()));
        // Exact in float64 for integers of up to 32 bits (sums of 7 below 2^35).
        if (is_integer(dt) && dtype_size(dt) <= 4) {
          EXPECT_TRUE(matches<double>(x.mean({1}), mean, sched(), 0));
        }
      }
    });
  }
}

TEST_P(DTypesTest, CreationAndRandomIntegersInEveryIntegerDtype) {
  for (DType dt : all_dtypes) {
    if (!is_integer(dt)) continue;
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const xt::xarray<T> sevens = xt::xarray<T>::from_shape({4, 3});
        xt::xarray<T> want = sevens;
        want.fill(T(7));
        EXPECT_TRUE(matches<T>(full({4, 3}, 7, ChunkSpec(2), dt), want, sched()));
        EXPECT_EQ(arange(0, 10, 1, {.dtype = dt}).dtype(), dt);
        // Draws in [low, high) of the dtype's range, the same numbers as int64 draws.
        const std::int64_t low = std::is_signed_v<T> ? -100 : 0;
        const Array r = RandomGenerator(7).integers(low, 101, {50}, ChunkSpec(16), dt);
        const Array r64 = RandomGenerator(7).integers(low, 101, {50}, ChunkSpec(16));
        EXPECT_EQ(r.dtype(), dt);
        const auto got = r.compute<T>({.scheduler = &sched()});
        const auto ref = r64.compute<std::int64_t>({.scheduler = &sched()});
        for (std::size_t i = 0; i < got.size(); ++i)
          EXPECT_EQ(static_cast<std::int64_t>(got(i)), ref(i)) << i;
        const std::int64_t too_high = sizeof(T) < 8 ? std::int64_t{1} << (sizeof(T) * 8) : 0;
        if (too_high != 0) {
          EXPECT_THAT(
              [&] { (void)RandomGenerator(7).integers(0, too_high + 1, {5}, ChunkSpec(2), dt); },
              ::testing::ThrowsMessage<value_error>(HasSubstr(std::string(dtype_name(dt)))));
        }
        if (std::is_unsigned_v<T>) {
          EXPECT_THROW((void)RandomGenerator(7).integers(-1, 5, {5}, ChunkSpec(2), dt),
                       value_error);
        }
      }
    });
  }
}

}  // namespace
}  // namespace tessera::testing
