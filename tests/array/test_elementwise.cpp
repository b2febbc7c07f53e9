// Elementwise operations: arithmetic, Python's // and %, powers, unary functions, comparisons,
// logic, where, clip, astype, NumPy broadcasting, dtype promotion (NEP 50 weak scalars) and
// long fused chains. Every result is compared with a serial reference computed on the whole
// array, for every chunking from chunkings() and on every scheduler from all_schedulers().

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xbuilder.hpp>

#include "support/test_support.hpp"

namespace tessera::testing {
namespace {

using ::testing::HasSubstr;

constexpr DType kNumericDTypes[] = {DType::Int32, DType::Int64, DType::Float32, DType::Float64};
constexpr DType kAllDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                                DType::Float64};

// --- references -------------------------------------------------------------------------------

std::vector<std::size_t> xshape(const Shape& s) { return {s.begin(), s.end()}; }

template <class T>
Shape shape_of(const xt::xarray<T>& a) {
  return Shape(a.shape().begin(), a.shape().end());
}

/// NumPy broadcasting, written independently of tessera::broadcast_shapes.
Shape broadcast_ref(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const index_t ea = i < a.size() ? a[a.size() - 1 - i] : 1;
    const index_t eb = i < b.size() ? b[b.size() - 1 - i] : 1;
    out[out.size() - 1 - i] = ea == 1 ? eb : ea;
  }
  return out;
}

/// Deterministic values: integers in [-5, 5], floats that are multiples of 1/8 in about
/// [-2.1, 2.1] (so quotients of two of them are never within rounding of an integer), bools.
template <class T>
xt::xarray<T> sample(const Shape& shape, std::size_t seed) {
  xt::xarray<T> out = xt::xarray<T>::from_shape(xshape(shape));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int k = static_cast<int>((i * 7 + seed * 5) % 11) - 5;
    if constexpr (std::is_same_v<T, bool>)
      out.flat(i) = (k + 5) % 3 == 0;
    else if constexpr (std::is_integral_v<T>)
      out.flat(i) = static_cast<T>(k);
    else
      out.flat(i) = static_cast<T>(k * 0.375 + ((k + 5) % 3) * 0.125);
  }
  return out;
}

template <class R, class A, class F>
xt::xarray<R> map1(const xt::xarray<A>& a, F f) {
  xt::xarray<R> out = xt::xarray<R>::from_shape(a.shape());
  for (std::size_t i = 0; i < a.size(); ++i) out.flat(i) = static_cast<R>(f(a.flat(i)));
  return out;
}

template <class R, class A, class B, class F>
xt::xarray<R> map2(const xt::xarray<A>& a, const xt::xarray<B>& b, F f) {
  const auto s = xshape(broadcast_ref(shape_of(a), shape_of(b)));
  const xt::xarray<A> ea = xt::broadcast(a, s);
  const xt::xarray<B> eb = xt::broadcast(b, s);
  xt::xarray<R> out = xt::xarray<R>::from_shape(s);
  for (std::size_t i = 0; i < out.size(); ++i)
    out.flat(i) = static_cast<R>(f(ea.flat(i), eb.flat(i)));
  return out;
}

/// Python's floor division and modulo on integers (division by zero gives 0, as in NumPy).
template <class T>
T py_floordiv(T a, T b) {
  if (b == 0) return 0;
  return static_cast<T>(std::floor(static_cast<long double>(a) / static_cast<long double>(b)));
}
template <class T>
T py_mod(T a, T b) {
  if (b == 0) return 0;
  return static_cast<T>(a - py_floordiv(a, b) * b);
}
/// The same on floats (exact for the sample values: their quotients are never within
/// rounding of an integer).
template <class T>
T py_floordiv_f(T a, T b) {
  return std::floor(a / b);
}
template <class T>
T py_mod_f(T a, T b) {
  if (b == 0) return std::numeric_limits<T>::quiet_NaN();
  return a - std::floor(a / b) * b;
}

template <class T>
T int_power(T base, T exp) {
  T r = 1;
  for (T e = 0; e < exp; ++e) r = static_cast<T>(r * base);
  return r;
}

/// The float dtype true division and transcendental functions give for T.
template <class T>
using float_of = std::conditional_t<std::is_same_v<T, float>, float, double>;

template <class T>
double rtol_for() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-12;
}

/// Calls `f.template operator()<T>()` for T in int32, int64, float, double.
template <class F>
void for_numeric_dtypes(F&& f) {
  for (DType dt : kNumericDTypes) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (!std::is_same_v<T, bool>) {
        SCOPED_TRACE(std::string(dtype_name(dt)));
        f.template operator()<T>();
      }
    });
  }
}

/// Elementwise comparison of two computed arrays (NaNs equal).
template <class T>
::testing::AssertionResult same_values(const xt::xarray<T>& got, const xt::xarray<T>& ref,
                                       double rtol) {
  if (shape_of(got) != shape_of(ref)) {
    return ::testing::AssertionFailure()
           << "shape " << shape_string(shape_of(got)) << " != " << shape_string(shape_of(ref));
  }
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const T a = got.flat(i), b = ref.flat(i);
    bool ok = a == b;
    if constexpr (std::is_floating_point_v<T>) {
      ok = ok || (std::isnan(a) && std::isnan(b)) ||
           std::abs(static_cast<double>(a) - static_cast<double>(b)) <=
               rtol * std::max(1.0, std::abs(static_cast<double>(b)));
    }
    if (!ok) return ::testing::AssertionFailure() << "element " << i << ": " << +a << " != " << +b;
  }
  return ::testing::AssertionSuccess();
}

// --- fixture ----------------------------------------------------------------------------------

/// A test run once per scheduler.
class ElementwiseTest : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& sched() const { return *all_schedulers()[static_cast<std::size_t>(GetParam())]; }

  /// Builds `make(spec)` for every chunking of `shape` and compares it with `ref`.
  template <class R, class Make>
  void check(const Shape& shape, Make&& make, const xt::xarray<R>& ref,
             double rtol = rtol_for<R>()) const {
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array y = make(spec);
      EXPECT_EQ(y.shape(), shape_of(ref));
      EXPECT_TRUE(matches(y, ref, sched(), rtol))
          << "chunks " << y.chunks().to_string() << " on " << sched().name();
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Schedulers, ElementwiseTest, ::testing::Range(0, num_schedulers()),
                         scheduler_param_name);

const Shape kShape{6, 5};

// --- arithmetic -------------------------------------------------------------------------------

TEST_P(ElementwiseTest, ArithmeticInEveryNumericDtype) {
  for_numeric_dtypes([&]<class T>() {
    using F = float_of<T>;
    const auto a = sample<T>(kShape, 1), b = sample<T>(kShape, 2);
    auto both = [&](auto op) {
      return
          [&a, &b, op](const ChunkSpec& c) { return op(from_xtensor(a, c), from_xtensor(b, c)); };
    };
    check(kShape, both([](const Array& x, const Array& y) { return x + y; }),
          map2<T>(a, b, [](T x, T y) { return x + y; }));
    check(kShape, both([](const Array& x, const Array& y) { return x - y; }),
          map2<T>(a, b, [](T x, T y) { return x - y; }));
    check(kShape, both([](const Array& x, const Array& y) { return x * y; }),
          map2<T>(a, b, [](T x, T y) { return x * y; }));
    // True division: integers give float64 (the divisor has zeros: inf and nan).
    check(kShape, both([](const Array& x, const Array& y) { return x / y; }),
          map2<F>(a, b, [](T x, T y) { return static_cast<F>(x) / static_cast<F>(y); }));
    if constexpr (std::is_integral_v<T>) {
      check(kShape, both([](const Array& x, const Array& y) { return floor_divide(x, y); }),
            map2<T>(a, b, py_floordiv<T>));
      check(kShape, both([](const Array& x, const Array& y) { return x % y; }),
            map2<T>(a, b, py_mod<T>));
      check(kShape, both([](const Array& x, const Array& y) { return mod(x, y); }),
            map2<T>(a, b, py_mod<T>));
    } else {
      check(kShape, both([](const Array& x, const Array& y) { return floor_divide(x, y); }),
            map2<T>(a, b, py_floordiv_f<T>));
      check(kShape, both([](const Array& x, const Array& y) { return x % y; }),
            map2<T>(a, b, py_mod_f<T>));
    }
    check(kShape, both([](const Array& x, const Array& y) { return maximum(x, y); }),
          map2<T>(a, b, [](T x, T y) { return std::max(x, y); }));
    check(kShape, both([](const Array& x, const Array& y) { return minimum(x, y); }),
          map2<T>(a, b, [](T x, T y) { return std::min(x, y); }));
    // With weak scalars on either side (the array's dtype is kept).
    check(
        kShape, [&](const ChunkSpec& c) { return 3 - from_xtensor(a, c) * 2; },
        map1<T>(a, [](T x) { return T(3) - x * T(2); }));
    check(
        kShape, [&](const ChunkSpec& c) { return floor_divide(from_xtensor(a, c), 2); },
        map1<T>(a, [](T x) {
          if constexpr (std::is_integral_v<T>)
            return py_floordiv<T>(x, 2);
          else
            return py_floordiv_f<T>(x, 2);
        }));
    check(
        kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) % -3; }, map1<T>(a, [](T x) {
          if constexpr (std::is_integral_v<T>)
            return py_mod<T>(x, -3);
          else
            return py_mod_f<T>(x, -3);
        }));
  });
}

TEST_P(ElementwiseTest, UnaryFunctionsInEveryNumericDtype) {
  for_numeric_dtypes([&]<class T>() {
    using F = float_of<T>;
    const auto a = sample<T>(kShape, 3);
    auto on = [&](auto op) {
      return [&a, op](const ChunkSpec& c) { return op(from_xtensor(a, c)); };
    };
    check(kShape, on([](const Array& x) { return -x; }), map1<T>(a, [](T x) { return -x; }));
    check(kShape, on([](const Array& x) { return abs(x); }),
          map1<T>(a, [](T x) { return x < 0 ? -x : x; }));
    // Transcendentals: float32 stays float32, integers give float64; out-of-domain -> nan/-inf.
    check(kShape, on([](const Array& x) { return sqrt(x); }),
          map1<F>(a, [](T x) { return std::sqrt(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return exp(x); }),
          map1<F>(a, [](T x) { return std::exp(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return log(x); }),
          map1<F>(a, [](T x) { return std::log(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return sin(x); }),
          map1<F>(a, [](T x) { return std::sin(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return cos(x); }),
          map1<F>(a, [](T x) { return std::cos(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return tanh(x); }),
          map1<F>(a, [](T x) { return std::tanh(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return floor(x); }),
          map1<F>(a, [](T x) { return std::floor(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return ceil(x); }),
          map1<F>(a, [](T x) { return std::ceil(static_cast<F>(x)); }));
    check(kShape, on([](const Array& x) { return floor(x * 0.5); }),
          map1<F>(a, [](T x) { return std::floor(static_cast<F>(x) * F(0.5)); }));
  });
}

TEST_P(ElementwiseTest, SignedZerosAndInfinities) {
  const double inf = std::numeric_limits<double>::infinity();
  const xt::xarray<double> a{0.0, -0.0, inf, -inf, -2.5};
  // -(0.0) is -0.0 and abs(-0.0) is 0.0: seen through 1 / x.
  check(
      {5}, [&](const ChunkSpec& c) { return 1.0 / -from_xtensor(a, c); },
      xt::xarray<double>{-inf, inf, -0.0, 0.0, 0.4});
  check(
      {5}, [&](const ChunkSpec& c) { return 1.0 / abs(from_xtensor(a, c)); },
      xt::xarray<double>{inf, inf, 0.0, 0.0, 0.4});
  check(
      {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c) * 0.0 == 0.0; },
      xt::xarray<bool>{true, true, false, false, true});
  const xt::xarray<float> f{0.0f, -0.0f, -1.5f};
  check(
      {3}, [&](const ChunkSpec& c) { return 1.0f / -from_xtensor(f, c); },
      xt::xarray<float>{-std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::infinity(), 1.0f / 1.5f});
}

// --- powers -----------------------------------------------------------------------------------

TEST_P(ElementwiseTest, IntegerPowers) {
  for (DType dt : {DType::Int32, DType::Int64}) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && std::is_signed_v<T> &&
                    sizeof(T) >= 4) {  // int32, int64
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const auto a = sample<T>(kShape, 4);
        const auto e =
            map1<T>(sample<T>(kShape, 5), [](T x) { return static_cast<T>((x < 0 ? -x : x) % 4); });
        check(
            kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), from_xtensor(e, c)); },
            map2<T>(a, e, int_power<T>));
        for (T k : {T(0), T(1), T(2), T(3)}) {
          check(
              kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), k); },
              map1<T>(a, [k](T x) { return int_power<T>(x, k); }));
        }
        check(
            kShape, [&](const ChunkSpec& c) { return pow(2, from_xtensor(e, c)); },
            map1<T>(e, [](T x) { return int_power<T>(2, x); }));
        // A float exponent makes the result float64.
        check(
            kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), 0.5); },
            map1<double>(a, [](T x) { return std::pow(static_cast<double>(x), 0.5); }));
      }
    });
  }
}

TEST_P(ElementwiseTest, FloatPowers) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_floating_point_v<T>) {
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const auto a = sample<T>(kShape, 6), b = sample<T>(kShape, 7);
        const auto absa = map1<T>(a, [](T x) { return std::abs(x); });
        for (double k : {2.0, 3.0, 0.5, 0.0, 1.0, -1.0, -2.0, 1.5}) {
          SCOPED_TRACE(::testing::Message() << "exponent " << k);
          check(
              kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), k); },
              map1<T>(a, [k](T x) { return std::pow(x, static_cast<T>(k)); }));
        }
        // Array exponents (0 ** negative -> inf, negative ** fractional -> nan).
        check(
            kShape,
            [&](const ChunkSpec& c) { return pow(from_xtensor(absa, c), from_xtensor(b, c)); },
            map2<T>(absa, b, [](T x, T y) { return std::pow(x, y); }));
        check(
            kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), from_xtensor(b, c)); },
            map2<T>(a, b, [](T x, T y) { return std::pow(x, y); }));
        check(
            kShape, [&](const ChunkSpec& c) { return pow(2.0, from_xtensor(b, c)); },
            map1<T>(b, [](T y) { return std::pow(T(2), y); }));
        // An integer exponent array with a float base promotes (int32 + float32 -> float64).
        const auto e = sample<std::int32_t>(kShape, 8);
        check(
            kShape, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), from_xtensor(e, c)); },
            map2<double>(a, e, [](T x, std::int32_t y) {
              return std::pow(static_cast<double>(x), static_cast<double>(y));
            }));
      }
    });
  }
}

// --- comparisons and logic --------------------------------------------------------------------

TEST_P(ElementwiseTest, ComparisonsAndLogic) {
  for (DType dt : kAllDTypes) {
    visit_dtype(dt, [&]<class T>() {
      SCOPED_TRACE(std::string(dtype_name(dt)));
      const auto a = sample<T>(kShape, 1), b = sample<T>(kShape, 9);
      auto both = [&](auto op) {
        return
            [&a, &b, op](const ChunkSpec& c) { return op(from_xtensor(a, c), from_xtensor(b, c)); };
      };
      check(kShape, both([](const Array& x, const Array& y) { return x == y; }),
            map2<bool>(a, b, [](T x, T y) { return x == y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x != y; }),
            map2<bool>(a, b, [](T x, T y) { return x != y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x < y; }),
            map2<bool>(a, b, [](T x, T y) { return x < y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x <= y; }),
            map2<bool>(a, b, [](T x, T y) { return x <= y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x > y; }),
            map2<bool>(a, b, [](T x, T y) { return x > y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x >= y; }),
            map2<bool>(a, b, [](T x, T y) { return x >= y; }));
      check(kShape, both([](const Array& x, const Array& y) { return x && y; }),
            map2<bool>(a, b, [](T x, T y) { return x != T(0) && y != T(0); }));
      check(kShape, both([](const Array& x, const Array& y) { return logical_or(x, y); }),
            map2<bool>(a, b, [](T x, T y) { return x != T(0) || y != T(0); }));
      check(
          kShape, [&](const ChunkSpec& c) { return !from_xtensor(a, c); },
          map1<bool>(a, [](T x) { return x == T(0); }));
      check(
          kShape,
          [&](const ChunkSpec& c) { return logical_not(from_xtensor(a, c) || from_xtensor(b, c)); },
          map2<bool>(a, b, [](T x, T y) { return !(x != T(0) || y != T(0)); }));
      // Against weak scalars: an int array compared with 0.5 compares as float64.
      check(
          kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) > 0.5; },
          map1<bool>(a, [](T x) { return static_cast<double>(x) > 0.5; }));
      check(
          kShape, [&](const ChunkSpec& c) { return 1 <= from_xtensor(a, c); },
          map1<bool>(a, [](T x) { return 1 <= static_cast<double>(x); }));
    });
  }
  // Mixed dtypes compare in the promoted dtype.
  const auto i = sample<std::int32_t>(kShape, 2);
  const auto f = sample<float>(kShape, 3);
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(i, c) < from_xtensor(f, c); },
      map2<bool>(i, f, [](std::int32_t x, float y) {
        return static_cast<double>(x) < static_cast<double>(y);
      }));
}

TEST_P(ElementwiseTest, BoolArithmetic) {
  const auto a = sample<bool>(kShape, 1), b = sample<bool>(kShape, 4);
  const auto i = sample<std::int32_t>(kShape, 5);
  auto both = [&](auto op) {
    return [&a, &b, op](const ChunkSpec& c) { return op(from_xtensor(a, c), from_xtensor(b, c)); };
  };
  // NumPy: + is "or", * is "and", and both stay bool.
  check(kShape, both([](const Array& x, const Array& y) { return x + y; }),
        map2<bool>(a, b, [](bool x, bool y) { return x || y; }));
  check(kShape, both([](const Array& x, const Array& y) { return x * y; }),
        map2<bool>(a, b, [](bool x, bool y) { return x && y; }));
  check(kShape, both([](const Array& x, const Array& y) { return maximum(x, y); }),
        map2<bool>(a, b, [](bool x, bool y) { return x || y; }));
  check(kShape, both([](const Array& x, const Array& y) { return x / y; }),
        map2<double>(
            a, b, [](bool x, bool y) { return static_cast<double>(x) / static_cast<double>(y); }));
  check(
      kShape, [&](const ChunkSpec& c) { return abs(from_xtensor(a, c)); }, a);
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) + from_xtensor(i, c); },
      map2<std::int32_t>(a, i,
                         [](bool x, std::int32_t y) { return static_cast<std::int32_t>(x) + y; }));
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) + 1; },
      map1<std::int64_t>(a, [](bool x) { return static_cast<std::int64_t>(x) + 1; }));
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) * 2.5; },
      map1<double>(a, [](bool x) { return static_cast<double>(x) * 2.5; }));
}

TEST_P(ElementwiseTest, LogicWithFloatScalarsUsesTruthiness) {
  // NumPy: logical_and(x, 0.5) is logical_and(x, True); where(0.5, a, b) is a.
  for (DType dt : kAllDTypes) {
    visit_dtype(dt, [&]<class T>() {
      SCOPED_TRACE(std::string(dtype_name(dt)));
      const auto a = sample<T>(kShape, 2);
      const auto nonzero = map1<bool>(a, [](T x) { return x != T(0); });
      check(
          kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) && 0.5; }, nonzero);
      check(
          kShape, [&](const ChunkSpec& c) { return logical_and(0.25, from_xtensor(a, c)); },
          nonzero);
      check(
          kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) || 0.5; },
          map1<bool>(a, [](T) { return true; }));
      check(
          kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) || 0.0; }, nonzero);
      check(
          kShape, [&](const ChunkSpec& c) { return where(0.5, from_xtensor(a, c), T(0)); }, a);
    });
  }
}

TEST_P(ElementwiseTest, IntegerArithmeticWrapsAroundOnOverflow) {
  // NumPy integers are two's complement and wrap (with at most a warning).
  for (DType dt : {DType::Int32, DType::Int64}) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && std::is_signed_v<T> &&
                    sizeof(T) >= 4) {  // int32, int64
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const T mx = std::numeric_limits<T>::max(), mn = std::numeric_limits<T>::min();
        const xt::xarray<T> a{mx, mn, mx, mn, 3};
        const xt::xarray<T> b{1, -1, 2, 2, -1};
        check(
            {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c) + from_xtensor(b, c); },
            xt::xarray<T>{mn, mx, T(mn + 1), T(mn + 2), 2});
        check(
            {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c) - from_xtensor(b, c); },
            xt::xarray<T>{T(mx - 1), T(mn + 1), T(mx - 2), T(mx - 1), 4});
        check(
            {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c) * from_xtensor(b, c); },
            xt::xarray<T>{mx, mn, -2, 0, -3});
        check(
            {5}, [&](const ChunkSpec& c) { return -from_xtensor(a, c); },
            xt::xarray<T>{T(-mx), mn, T(-mx), mn, -3});
        check(
            {5}, [&](const ChunkSpec& c) { return abs(from_xtensor(a, c)); },
            xt::xarray<T>{mx, mn, mx, mn, 3});
        check(
            {5}, [&](const ChunkSpec& c) { return pow(from_xtensor(a, c), 2); },
            xt::xarray<T>{1, 0, 1, 0, 9});
      }
    });
  }
}

// --- where, clip, astype ----------------------------------------------------------------------

TEST_P(ElementwiseTest, WhereWithArrayAndScalarOperands) {
  for_numeric_dtypes([&]<class T>() {
    const auto a = sample<T>(kShape, 1), b = sample<T>(kShape, 2);
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c), y = from_xtensor(b, c);
          return where(x > y, x, y);
        },
        map2<T>(a, b, [](T x, T y) { return x > y ? x : y; }));
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c);
          return where(x < 0, 0, x);
        },
        map1<T>(a, [](T x) { return x < 0 ? T(0) : x; }));
    // A float scalar with an integer array gives float64; float32 stays float32.
    using W = std::conditional_t<std::is_integral_v<T>, double, T>;
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c);
          return where(x >= 1, x, 0.5);
        },
        map1<W>(a, [](T x) { return x >= 1 ? static_cast<W>(x) : W(0.5); }));
    // A non-bool condition counts non-zero elements as true.
    check(
        kShape,
        [&](const ChunkSpec& c) { return where(from_xtensor(a, c), from_xtensor(b, c), -1); },
        map2<T>(a, b, [](T x, T y) { return x != T(0) ? y : T(-1); }));
  });
  // All-scalar operands: int64 (C++ ints are int64 when no array fixes the dtype).
  const auto a = sample<std::int32_t>(kShape, 3);
  check(
      kShape, [&](const ChunkSpec& c) { return where(from_xtensor(a, c) > 0, 1, 2); },
      map1<std::int64_t>(a, [](std::int32_t x) { return x > 0 ? 1 : 2; }));
  check(
      kShape, [&](const ChunkSpec& c) { return where(from_xtensor(a, c) > 0, 1.5, 2); },
      map1<double>(a, [](std::int32_t x) { return x > 0 ? 1.5 : 2.0; }));
  // Broadcasting condition (6, 1) and operands (5,) and 0-d.
  const auto cond = sample<bool>({6, 1}, 4);
  const auto row = sample<double>({5}, 5);
  for (const ChunkSpec& cc : chunkings({6, 1})) {
    for (const ChunkSpec& rc : chunkings({5})) {
      const Array y = where(from_xtensor(cond, cc), from_xtensor(row, rc), scalar(-9.0));
      EXPECT_TRUE(matches(y, map2<double>(cond, row, [](bool c, double r) { return c ? r : -9.0; }),
                          sched()))
          << y.chunks().to_string();
    }
  }
}

TEST_P(ElementwiseTest, ClipWithScalarAndArrayBounds) {
  for_numeric_dtypes([&]<class T>() {
    const auto a = sample<T>(kShape, 1);
    check(
        kShape, [&](const ChunkSpec& c) { return clip(from_xtensor(a, c), -2, 3); },
        map1<T>(a, [](T x) { return std::min<T>(std::max<T>(x, T(-2)), T(3)); }));
    // Bounds that broadcast: lo per column (5,), hi per row (6, 1).
    const auto lo = sample<T>({5}, 2);
    const auto hi = map1<T>(sample<T>({6, 1}, 3), [](T x) { return static_cast<T>(x + 1); });
    xt::xarray<T> ref = map2<T>(map2<T>(a, lo, [](T x, T l) { return std::max(x, l); }), hi,
                                [](T x, T h) { return std::min(x, h); });
    check(
        kShape,
        [&](const ChunkSpec& c) {
          return clip(from_xtensor(a, c), from_xtensor(lo, ChunkSpec(2)),
                      from_xtensor(hi, ChunkSpec(4)));
        },
        ref);
  });
  // Float bounds on an integer array give float64.
  const auto a = sample<std::int32_t>(kShape, 4);
  check(
      kShape, [&](const ChunkSpec& c) { return clip(from_xtensor(a, c), -1.5, 2.5); },
      map1<double>(
          a, [](std::int32_t x) { return std::min(std::max(static_cast<double>(x), -1.5), 2.5); }));
}

TEST_P(ElementwiseTest, AstypeBetweenAllDtypes) {
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      SCOPED_TRACE(::testing::Message() << dtype_name(from) << " -> " << dtype_name(to));
      visit_dtype(from, [&]<class S>() {
        visit_dtype(to, [&]<class D>() {
          const auto a = sample<S>(kShape, 6);
          // C casts as NumPy does them: floats truncate toward zero; bool is "non-zero".
          const auto ref = map1<D>(a, [](S x) {
            if constexpr (std::is_same_v<D, bool>)
              return x != S(0);
            else
              return static_cast<D>(x);
          });
          check(
              kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c).astype(to); }, ref);
          EXPECT_EQ(from_xtensor(a).astype(to).dtype(), to);
          // A round trip through astype inside a fused chain.
          check(
              kShape,
              [&](const ChunkSpec& c) {
                return from_xtensor(a, c).astype(to).astype(DType::Float64);
              },
              map1<double>(ref, [](D x) { return static_cast<double>(x); }));
        });
      });
    }
  }
}

// --- chains evaluated in registers ------------------------------------------------------------

// A chain of operations on one varying input and constants runs in registers
// (src/kernels/per_isa/chain.cpp); its results must be those of the operations one at a time,
// bit for bit (rtol 0), on arange heads (generated in registers) and on materialised inputs,
// float64 and float32, with constants on either side and a power the chain cannot take.
TEST_P(ElementwiseTest, ChainsInRegistersGiveTheSameBits) {
  const index_t n = 1000;
  const double d = static_cast<double>(n);
  xt::xarray<double> poly = xt::xarray<double>::from_shape({static_cast<std::size_t>(n)});
  xt::xarray<double> mixed = poly, slow = poly;
  for (index_t i = 0; i < n; ++i) {
    const double x = (0.0 + static_cast<double>(i) * 1.0) / d;
    const double t = 2 * x + 1;
    poly(static_cast<std::size_t>(i)) = t * t * t;
    const double u = std::sqrt(std::abs(-(3.0 - x * x) / 0.7));
    mixed(static_cast<std::size_t>(i)) = u - 1.25;
    slow(static_cast<std::size_t>(i)) = std::pow(t, 2.5);
  }
  check(
      {n},
      [&](const ChunkSpec& c) { return pow(2 * (arange(0.0, d, 1.0, {.chunks = c}) / d) + 1, 3); },
      poly, 0.0);
  check(
      {n},
      [&](const ChunkSpec& c) {
        const Array x = arange(0.0, d, 1.0, {.chunks = c}) / d;
        return sqrt(abs(-(3.0 - pow(x, 2)) / 0.7)) - 1.25;
      },
      mixed, 0.0);
  check(
      {n},
      [&](const ChunkSpec& c) {
        return pow(2 * (arange(0.0, d, 1.0, {.chunks = c}) / d) + 1, 2.5);
      },
      slow, 0.0);
  // A materialised 2-d input (a leaf), float32.
  const auto a = sample<float>(kShape, 3);
  xt::xarray<float> ref = a;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const float v = (a.flat(i) * 1.5f - 0.25f) / 3.0f;
    ref.flat(i) = -(v * v);
  }
  check(
      kShape,
      [&](const ChunkSpec& c) { return -pow((from_xtensor(a, c) * 1.5f - 0.25f) / 3.0f, 2); }, ref,
      0.0);
}

// --- NaN propagation --------------------------------------------------------------------------

TEST_P(ElementwiseTest, NanPropagatesThroughMaximumMinimumAndClip) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const xt::xarray<double> a{1.0, nan, 3.0, nan, -1.0};
  const xt::xarray<double> b{nan, 2.0, 1.0, nan, 0.0};
  check(
      {5}, [&](const ChunkSpec& c) { return maximum(from_xtensor(a, c), from_xtensor(b, c)); },
      xt::xarray<double>{nan, nan, 3.0, nan, 0.0});
  check(
      {5}, [&](const ChunkSpec& c) { return minimum(from_xtensor(a, c), from_xtensor(b, c)); },
      xt::xarray<double>{nan, nan, 1.0, nan, -1.0});
  check(
      {5}, [&](const ChunkSpec& c) { return clip(from_xtensor(a, c), 0.0, 2.0); },
      xt::xarray<double>{1.0, nan, 2.0, nan, 0.0});
  check(
      {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c) == from_xtensor(a, c); },
      xt::xarray<bool>{true, false, true, false, true});
  check(
      {5}, [&](const ChunkSpec& c) { return from_xtensor(a, c).astype(DType::Bool); },
      xt::xarray<bool>{true, true, true, true, true});
  // NaN and out-of-range values cast to integers give the integer minimum (what NumPy gives on
  // x86-64; in C++ such a cast would be undefined behaviour).
  const xt::xarray<double> wild{nan, std::numeric_limits<double>::infinity(), -1e300, 1e10, -7.9};
  check(
      {5}, [&](const ChunkSpec& c) { return from_xtensor(wild, c).astype(DType::Int32); },
      xt::xarray<std::int32_t>{INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, -7});
  check(
      {5}, [&](const ChunkSpec& c) { return from_xtensor(wild, c).astype(DType::Int64); },
      xt::xarray<std::int64_t>{INT64_MIN, INT64_MIN, INT64_MIN, 10000000000, -7});
}

// --- broadcasting -----------------------------------------------------------------------------

/// x op y for every chunking of x and every chunking of y.
template <class R, class A, class B, class Op, class F>
void check_broadcast(Scheduler& s, const xt::xarray<A>& a, const xt::xarray<B>& b, Op op, F f) {
  const xt::xarray<R> ref = map2<R>(a, b, f);
  for (const ChunkSpec& ca : chunkings(shape_of(a))) {
    for (const ChunkSpec& cb : chunkings(shape_of(b))) {
      const Array x = from_xtensor(a, ca), y = from_xtensor(b, cb);
      const Array z = op(x, y);
      EXPECT_EQ(z.shape(), shape_of(ref));
      EXPECT_TRUE(matches(z, ref, s, rtol_for<R>()))
          << x.chunks().to_string() << " with " << y.chunks().to_string() << " -> "
          << z.chunks().to_string();
    }
  }
}

TEST_P(ElementwiseTest, NumPyBroadcasting) {
  const auto add = [](const Array& x, const Array& y) { return x + y; };
  const auto mul = [](const Array& x, const Array& y) { return x * y; };
  // (3, 1) + (1, 4) -> (3, 4)
  check_broadcast<double>(sched(), sample<double>({3, 1}, 1), sample<double>({1, 4}, 2), add,
                          [](double x, double y) { return x + y; });
  // (5,) + (4, 5) -> (4, 5), and the other way round
  check_broadcast<std::int64_t>(sched(), sample<std::int64_t>({5}, 3),
                                sample<std::int64_t>({4, 5}, 4), add,
                                [](std::int64_t x, std::int64_t y) { return x + y; });
  check_broadcast<std::int64_t>(
      sched(), sample<std::int64_t>({4, 5}, 3), sample<std::int64_t>({5}, 4),
      [](const Array& x, const Array& y) { return x - y; },
      [](std::int64_t x, std::int64_t y) { return x - y; });
  // 0-d with N-d (a strong 0-d array: int64 0-d * int32 array -> int64)
  check_broadcast<std::int64_t>(sched(), xt::xarray<std::int64_t>(-3),
                                sample<std::int32_t>({4, 5}, 5), mul,
                                [](std::int64_t x, std::int32_t y) { return x * y; });
  check_broadcast<double>(sched(), sample<double>({2, 3, 4}, 6), xt::xarray<double>(0.25), add,
                          [](double x, double y) { return x + y; });
  // (2, 1, 3) * (4, 1) -> (2, 4, 3); (1,) with (3, 1) -> (3, 1)
  check_broadcast<float>(sched(), sample<float>({2, 1, 3}, 7), sample<float>({4, 1}, 8), mul,
                         [](float x, float y) { return x * y; });
  check_broadcast<double>(sched(), sample<double>({1}, 7), sample<double>({3, 1}, 8), add,
                          [](double x, double y) { return x + y; });
  // Broadcasting against a zero-length axis gives an empty result.
  check_broadcast<double>(sched(), sample<double>({0, 1}, 1), sample<double>({1, 4}, 2), add,
                          [](double x, double y) { return x + y; });
}

TEST_P(ElementwiseTest, DifferentChunkingsCombineOnTheCommonRefinement) {
  const auto a = sample<double>(kShape, 1), b = sample<double>(kShape, 2);
  const auto ref = map2<double>(a, b, [](double x, double y) { return x * 2 + y; });
  for (const ChunkSpec& ca : chunkings(kShape)) {
    for (const ChunkSpec& cb : chunkings(kShape)) {
      const Array x = from_xtensor(a, ca), y = from_xtensor(b, cb);
      const Array z = x * 2 + y;
      // The output grid has exactly the union of both inputs' chunk boundaries.
      for (int axis = 0; axis < 2; ++axis) {
        std::vector<index_t> bounds = x.chunks().offsets(axis);
        bounds.insert(bounds.end(), y.chunks().offsets(axis).begin(),
                      y.chunks().offsets(axis).end());
        std::sort(bounds.begin(), bounds.end());
        bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
        EXPECT_EQ(z.chunks().offsets(axis), bounds) << "axis " << axis;
      }
      EXPECT_TRUE(matches(z, ref, sched()))
          << x.chunks().to_string() << " with " << y.chunks().to_string();
    }
  }
  // Known grids.
  const Array x = from_xtensor(a, ChunkSpec::explicit_sizes({{2, 4}, {5}}));
  const Array y = from_xtensor(b, ChunkSpec::explicit_sizes({{3, 3}, {1, 4}}));
  EXPECT_EQ((x + y).chunks(), ChunkGrid({{2, 1, 3}, {1, 4}}));
  const Array col =
      from_xtensor(sample<double>({6, 1}, 3), ChunkSpec::explicit_sizes({{2, 4}, {1}}));
  const Array row = from_xtensor(sample<double>({5}, 4), ChunkSpec::explicit_sizes({{3, 2}}));
  EXPECT_EQ((col - row).chunks(), ChunkGrid({{2, 4}, {3, 2}}));
  EXPECT_EQ((x * row).chunks(), ChunkGrid({{2, 4}, {3, 2}}));
  const auto cv = sample<double>({6, 1}, 3), rv = sample<double>({5}, 4);
  xt::xarray<double> wref = xt::xarray<double>::from_shape({6, 5});
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 5; ++j) wref(i, j) = cv(i, 0) > 0 ? a(i, j) : rv(j);
  const Array w = where(col > 0, x, row);
  EXPECT_EQ(w.chunks(), ChunkGrid({{2, 4}, {3, 2}}));
  EXPECT_TRUE(matches(w, wref, sched()));
}

TEST_P(ElementwiseTest, OperandsFromReductionsSlicesAndPersistedArrays) {
  const auto a = sample<double>(kShape, 3);
  // x - x.mean(axis) broadcasts the (materialised) reduction result against x.
  xt::xarray<double> col_mean = xt::xarray<double>::from_shape({1, 5});
  xt::xarray<double> row_max = xt::xarray<double>::from_shape({6, 1});
  for (std::size_t j = 0; j < 5; ++j) {
    double sum = 0;
    for (std::size_t i = 0; i < 6; ++i) sum += a(i, j);
    col_mean(0, j) = sum / 6;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    row_max(i, 0) = a(i, 0);
    for (std::size_t j = 1; j < 5; ++j) row_max(i, 0) = std::max(row_max(i, 0), a(i, j));
  }
  check(
      kShape,
      [&](const ChunkSpec& c) {
        const Array x = from_xtensor(a, c);
        return (x - x.mean(0)) * 2 + (x - x.max(1, {.keepdims = true}));
      },
      map2<double>(map2<double>(a, col_mean, [](double x, double m) { return (x - m) * 2; }),
                   map2<double>(a, row_max, [](double x, double m) { return x - m; }),
                   [](double u, double v) { return u + v; }));
  // Slices as operands: x[1::2] (3, 5) with a row of x, x[0] (5,); and a persisted array.
  xt::xarray<double> ref = xt::xarray<double>::from_shape({3, 5});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 5; ++j) ref(i, j) = a(2 * i + 1, j) * a(0, j) + 1;
  for (const ChunkSpec& c : chunkings(kShape)) {
    const Array x = from_xtensor(a, c);
    const Array y = x[{Slice{1, std::nullopt, 2}}] * x[{0}] + 1;
    EXPECT_TRUE(matches(y, ref, sched()))
        << x.chunks().to_string() << " -> " << y.chunks().to_string();
  }
  check(
      kShape,
      [&](const ChunkSpec& c) {
        const Array y = (from_xtensor(a, c) * 3).persist({.scheduler = &sched()});
        return y - from_xtensor(a, ChunkSpec(4)) * 2;
      },
      a);
}

// --- dtype promotion --------------------------------------------------------------------------

TEST(ElementwisePromotion, ArrayWithArrayFollowsNumPy) {
  struct Case {
    DType a, b, result;
  };
  const Case table[] = {
      {DType::Bool, DType::Bool, DType::Bool},
      {DType::Bool, DType::Int32, DType::Int32},
      {DType::Bool, DType::Int64, DType::Int64},
      {DType::Bool, DType::Float32, DType::Float32},
      {DType::Bool, DType::Float64, DType::Float64},
      {DType::Int32, DType::Int32, DType::Int32},
      {DType::Int32, DType::Int64, DType::Int64},
      {DType::Int32, DType::Float32, DType::Float64},
      {DType::Int32, DType::Float64, DType::Float64},
      {DType::Int64, DType::Int64, DType::Int64},
      {DType::Int64, DType::Float32, DType::Float64},
      {DType::Int64, DType::Float64, DType::Float64},
      {DType::Float32, DType::Float32, DType::Float32},
      {DType::Float32, DType::Float64, DType::Float64},
      {DType::Float64, DType::Float64, DType::Float64},
  };
  for (const Case& c : table) {
    SCOPED_TRACE(::testing::Message() << dtype_name(c.a) << " + " << dtype_name(c.b));
    const Array x = zeros({3}, -1, c.a), y = zeros({3}, -1, c.b);
    EXPECT_EQ((x + y).dtype(), c.result);
    EXPECT_EQ((y + x).dtype(), c.result);
    EXPECT_EQ(maximum(x, y).dtype(), c.result);
    EXPECT_EQ(where(x > 0, x, y).dtype(), c.result);
    EXPECT_EQ((x < y).dtype(), DType::Bool);
    EXPECT_EQ((x && y).dtype(), DType::Bool);
    // True division: float32 when both fit in float32, float64 otherwise.
    EXPECT_EQ((x / y).dtype(), c.result == DType::Float32 ? DType::Float32 : DType::Float64);
  }
}

TEST(ElementwisePromotion, WeakScalarsKeepTheArrayDtypeUnlessOfAHigherKind) {
  const Array b = zeros({3}, -1, DType::Bool), i32 = zeros({3}, -1, DType::Int32),
              i64 = zeros({3}, -1, DType::Int64), f32 = zeros({3}, -1, DType::Float32),
              f64 = zeros({3}, -1, DType::Float64);
  EXPECT_EQ((i32 + 1).dtype(), DType::Int32);
  EXPECT_EQ((1 + i32).dtype(), DType::Int32);
  EXPECT_EQ((i32 * std::int64_t{2}).dtype(), DType::Int32);
  EXPECT_EQ((i32 + 0.5).dtype(), DType::Float64);
  EXPECT_EQ((i64 - 0.5f).dtype(), DType::Float64);
  EXPECT_EQ((f32 * 2.0).dtype(), DType::Float32);
  EXPECT_EQ((2.0 * f32).dtype(), DType::Float32);
  EXPECT_EQ((f32 + 1).dtype(), DType::Float32);
  EXPECT_EQ((f64 + 1).dtype(), DType::Float64);
  EXPECT_EQ((b + 1).dtype(), DType::Int64);
  EXPECT_EQ((b + 1.5).dtype(), DType::Float64);
  EXPECT_EQ((b + true).dtype(), DType::Bool);
  EXPECT_EQ((i32 + true).dtype(), DType::Int32);
  EXPECT_EQ((i32 / 2).dtype(), DType::Float64);
  EXPECT_EQ((f32 / 2).dtype(), DType::Float32);
  EXPECT_EQ(floor_divide(i32, 2).dtype(), DType::Int32);
  EXPECT_EQ(pow(i32, 2).dtype(), DType::Int32);
  EXPECT_EQ(pow(i32, 0.5).dtype(), DType::Float64);
  EXPECT_EQ(pow(f32, 2).dtype(), DType::Float32);
  EXPECT_EQ(clip(i32, 0, 1).dtype(), DType::Int32);
  EXPECT_EQ(clip(f32, 0.0, 1.0).dtype(), DType::Float32);
  EXPECT_EQ(where(b, i32, 0).dtype(), DType::Int32);
  EXPECT_EQ(where(b, f32, 0.5).dtype(), DType::Float32);
  // A 0-d *array* is strong: scalar(1) is an int64 array.
  EXPECT_EQ((i32 + scalar(1)).dtype(), DType::Int64);
  EXPECT_EQ((f32 * scalar(2.0)).dtype(), DType::Float64);
  // Unary results.
  EXPECT_EQ(sqrt(i32).dtype(), DType::Float64);
  EXPECT_EQ(sqrt(f32).dtype(), DType::Float32);
  EXPECT_EQ(exp(i64).dtype(), DType::Float64);
  EXPECT_EQ(floor(i32).dtype(), DType::Float64);
  EXPECT_EQ(ceil(f32).dtype(), DType::Float32);
  // Every floating-point function follows one rule for bool: float32, standing in for NumPy's
  // float16 (floor and ceil of bool used to give float64, the others float32).
  for (const Array& r : {sqrt(b), exp(b), log(b), sin(b), cos(b), tanh(b), floor(b), ceil(b)}) {
    EXPECT_EQ(r.dtype(), DType::Float32) << r.name();
    EXPECT_EQ(r.dtype(), float_function_result(DType::Bool));
  }
  EXPECT_EQ(float_function_result(DType::Int32), DType::Float64);
  EXPECT_EQ(float_function_result(DType::Int64), DType::Float64);
  EXPECT_EQ(float_function_result(DType::Float32), DType::Float32);
  EXPECT_EQ(float_function_result(DType::Float64), DType::Float64);
  EXPECT_EQ((b / b).dtype(), DType::Float64);  // true division of bools: float64, as NumPy
  EXPECT_EQ(b.mean().dtype(), DType::Float64);
  for (const auto& s : all_schedulers()) {
    const Array t = full({3}, true, 2);
    EXPECT_EQ(floor(t).sum().item<double>({.scheduler = s.get()}), 3.0);
    EXPECT_EQ(sqrt(t).max().item<float>({.scheduler = s.get()}), 1.0f);
  }
  EXPECT_EQ((-i32).dtype(), DType::Int32);
  EXPECT_EQ(abs(f32).dtype(), DType::Float32);
  EXPECT_EQ((!f64).dtype(), DType::Bool);
}

TEST_P(ElementwiseTest, WeakScalarValuesAreExact) {
  const auto a = sample<std::int32_t>(kShape, 1);
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) + 1; },
      map1<std::int32_t>(a, [](std::int32_t x) { return x + 1; }));
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(a, c) + 0.5; },
      map1<double>(a, [](std::int32_t x) { return x + 0.5; }));
  const auto f = sample<float>(kShape, 2);
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(f, c) * 2.0; },
      map1<float>(f, [](float x) { return x * 2.0f; }));
  // float32 * 0.1: the scalar is rounded to float32 first (as NumPy 2 does).
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(f, c) * 0.1; },
      map1<float>(f, [](float x) { return x * 0.1f; }), 0.0);
  // int64 arithmetic with large weak scalars stays exact (no trip through double).
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  const auto l = sample<std::int64_t>(kShape, 3);
  check(
      kShape, [&](const ChunkSpec& c) { return from_xtensor(l, c) + big; },
      map1<std::int64_t>(l, [=](std::int64_t x) { return x + big; }));
}

// --- Python semantics of // and % --------------------------------------------------------------

TEST_P(ElementwiseTest, FloorDivideAndModuloFollowPython) {
  for (DType dt : {DType::Int32, DType::Int64}) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && std::is_signed_v<T> &&
                    sizeof(T) >= 4) {  // int32, int64
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const T lo = std::numeric_limits<T>::min();
        const xt::xarray<T> a{-7, 7, -7, 7, 0, 5, -5, lo, 6};
        const xt::xarray<T> b{2, -2, -2, 2, 3, 0, 0, -1, 3};
        // lo // -1 overflows and wraps to lo, as NumPy does; x // 0 == x % 0 == 0.
        check(
            {9},
            [&](const ChunkSpec& c) {
              return floor_divide(from_xtensor(a, c), from_xtensor(b, c));
            },
            xt::xarray<T>{-4, -4, 3, 3, 0, 0, 0, lo, 2});
        check(
            {9}, [&](const ChunkSpec& c) { return from_xtensor(a, c) % from_xtensor(b, c); },
            xt::xarray<T>{1, -1, -1, 1, 0, 0, 0, 0, 0});
        check(
            {9}, [&](const ChunkSpec& c) { return floor_divide(from_xtensor(a, c), 0); },
            xt::xarray<T>(xt::zeros<T>({9})));
        check(
            {9}, [&](const ChunkSpec& c) { return floor_divide(-7, from_xtensor(b, c)); },
            xt::xarray<T>{-4, 3, 3, -4, -3, 0, 0, 7, -3});
      }
    });
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    visit_dtype(dt, [&]<class T>() {
      if constexpr (std::is_floating_point_v<T>) {
        SCOPED_TRACE(std::string(dtype_name(dt)));
        const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
        const xt::xarray<T> a{-7.5, 7.5, -7.5, 7.5, 1.0, -1.0, 0.0, 5.0};
        const xt::xarray<T> b{2, -2, -2, 2, 0, 0, 0, inf};
        check(
            {8},
            [&](const ChunkSpec& c) {
              return floor_divide(from_xtensor(a, c), from_xtensor(b, c));
            },
            xt::xarray<T>{-4, -4, 3, 3, inf, -inf, nan, 0});
        check(
            {8}, [&](const ChunkSpec& c) { return from_xtensor(a, c) % from_xtensor(b, c); },
            xt::xarray<T>{0.5, -0.5, -1.5, 1.5, nan, nan, nan, 5.0});
      }
    });
  }
  // 1.0 // 0.1 is 9 in Python and NumPy (0.1 is a little more than 1/10).
  check(
      {1}, [](const ChunkSpec& c) { return floor_divide(full({1}, 1.0, c), 0.1); },
      xt::xarray<double>{9.0}, 0.0);
  check(
      {1}, [](const ChunkSpec& c) { return full({1}, 1.0, c) % 0.1; },
      xt::xarray<double>{0.09999999999999995});
}

TEST_P(ElementwiseTest, NegativeIntegerPowerFailsWhenComputed) {
  const Array x = from_xtensor(sample<std::int32_t>(kShape, 1), 2);
  const Array e = from_xtensor(xt::xarray<std::int64_t>{1, 2, -1, 3, 0}, 2);
  for (const Array& y : {pow(x, -1), pow(x, e), pow(2, e) + 1}) {  // building does not throw
    try {
      (void)y.compute_block({.scheduler = &sched()});
      FAIL() << "expected task_error";
    } catch (const task_error& err) {
      EXPECT_THAT(err.what(), HasSubstr("negative integer powers"));
    }
  }
  // The scheduler still works afterwards.
  EXPECT_TRUE(matches(pow(x, 2) - x * x, xt::xarray<std::int32_t>(xt::zeros<std::int32_t>({6, 5})),
                      sched()));
}

// --- fused chains -----------------------------------------------------------------------------

TEST_P(ElementwiseTest, LongFusedChainsMatchTheReference) {
  for_numeric_dtypes([&]<class T>() {
    using F = float_of<T>;
    const auto a = sample<T>(kShape, 2);
    // ((2*x + 1) ** 3 - x) / (abs(x) + 1)
    const auto ref = map1<F>(a, [](T x) {
      const T t = static_cast<T>(T(2) * x + T(1));
      const T num = static_cast<T>(t * t * t - x);
      return static_cast<F>(num) / static_cast<F>(static_cast<T>((x < 0 ? -x : x) + T(1)));
    });
    const auto chain = [](const Array& x) { return (pow(2 * x + 1, 3) - x) / (abs(x) + 1); };
    check(
        kShape, [&](const ChunkSpec& c) { return chain(from_xtensor(a, c)); }, ref);
    // Sources fuse too: the same chain on a fromfunction input.
    check(
        kShape,
        [&](const ChunkSpec& c) {
          return chain(fromfunction<T>(
              [&a](index_t i, index_t j) {
                return a(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
              },
              kShape, c));
        },
        ref);
    // Reused nodes: x*x + x, and y = x + 1 used three times.
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c);
          return x * x + x;
        },
        map1<T>(a, [](T x) { return static_cast<T>(x * x + x); }));
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c);
          const Array y = x + 1;
          return y * y - y / 2;
        },
        map1<F>(a, [](T x) {
          const T y = static_cast<T>(x + T(1));
          return static_cast<F>(static_cast<T>(y * y)) - static_cast<F>(y) / F(2);
        }));
    // Equal sub-expressions built twice (same token) and a deep chain of many nodes.
    check(
        kShape,
        [&](const ChunkSpec& c) {
          const Array x = from_xtensor(a, c);
          return (x + 1) * (x + 1) - maximum(x, 0) * minimum(x, 0);
        },
        map1<T>(a, [](T x) {
          return static_cast<T>((x + T(1)) * (x + T(1)) - std::max(x, T(0)) * std::min(x, T(0)));
        }));
    check(
        kShape,
        [&](const ChunkSpec& c) {
          Array y = from_xtensor(a, c);
          for (int k = 0; k < 20; ++k) y = where(y > 3, y - 7, y + 1);
          return y;
        },
        map1<T>(a, [](T x) {
          for (int k = 0; k < 20; ++k) x = x > 3 ? static_cast<T>(x - 7) : static_cast<T>(x + 1);
          return x;
        }));
  });
}

TEST_P(ElementwiseTest, ChainsWithoutFusionAndWithTinyTiles) {
  const auto a = sample<double>({9, 7}, 3), b = sample<double>({7}, 4);
  const auto ref = map2<double>(a, b, [](double x, double y) {
    const double t = 2 * x + 1;
    return (t * t * t - x) / (std::abs(x) + 1) + std::sin(y) * (x > y ? 1.0 : -1.0);
  });
  for (const LowerOptions lowering : {LowerOptions{.tile_elements = 3, .fuse = true},
                                      LowerOptions{.tile_elements = 1, .fuse = true},
                                      LowerOptions{.tile_elements = 2048, .fuse = false}}) {
    SCOPED_TRACE(::testing::Message()
                 << "tile " << lowering.tile_elements << " fuse " << lowering.fuse);
    for (const ChunkSpec& c : chunkings({9, 7})) {
      const Array x = from_xtensor(a, c), y = from_xtensor(b, ChunkSpec(3));
      const Array z = (pow(2 * x + 1, 3) - x) / (abs(x) + 1) + sin(y) * where(x > y, 1.0, -1.0);
      EXPECT_TRUE(
          same_values(z.compute<double>({.scheduler = &sched(), .lowering = lowering}), ref, 1e-12))
          << z.chunks().to_string();
    }
  }
}

}  // namespace
}  // namespace tessera::testing
