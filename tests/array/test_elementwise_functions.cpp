// The rest of the array API's element-wise functions: each against the C++ library function
// applied element by element (NaN, infinities, signed zeros and out-of-domain values included),
// for every input dtype it takes, with NumPy's result dtypes; the bitwise operations' edge
// cases (shifts by the width or more, negative values); and the dtype errors.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const xt::xarray<double> kValues{-kInf, -3.5, -2.5, -1.0, -0.75, -0.5, -0.0, 0.0,  0.25,
                                 0.5,   0.75, 1.0,  1.5,  2.5,   3.0,  7.25, kInf, kNaN};

/// Transcendental functions may be evaluated by vectorised libm variants (glibc's libmvec, as
/// NumPy uses SIMD ones), which are within a few ulp of the scalar functions.
template <class R>
double ulps(int n) {
  if constexpr (std::is_floating_point_v<R>)
    return n * std::numeric_limits<R>::epsilon();
  else
    return 0;
}

/// f(x) for every value, in T, computed by `ref` on T's values.
template <class T, class R>
void expect_unary(const std::function<Array(const Array&)>& f, R (*ref)(T), DType want) {
  // Integers take the finite values (converting an infinity or NaN to one is undefined).
  xt::xarray<T> in = xt::xarray<T>::from_shape(kValues.shape());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const double v = kValues.flat(i);
    in.flat(i) = std::is_integral_v<T> && !std::isfinite(v) ? T(0) : static_cast<T>(v);
  }
  xt::xarray<R> expected = xt::xarray<R>::from_shape(in.shape());
  for (std::size_t i = 0; i < in.size(); ++i) expected.flat(i) = ref(in.flat(i));
  const Array x = from_xtensor(in, 5);
  const Array y = f(x);
  ASSERT_EQ(y.dtype(), want) << dtype_name(y.dtype());
  for (const auto& s : all_schedulers()) EXPECT_TRUE(matches<R>(y, expected, *s, ulps<R>(4)));
}

TEST(ElementwiseFunctions, FloatFunctionsOfFloats) {
  using F = Array (*)(const Array&);
  struct Case {
    F op;
    double (*d)(double);
    float (*f)(float);
  };
  const Case cases[] = {{tan, std::tan, std::tan},
                        {arcsin, std::asin, std::asin},
                        {arccos, std::acos, std::acos},
                        {arctan, std::atan, std::atan},
                        {sinh, std::sinh, std::sinh},
                        {cosh, std::cosh, std::cosh},
                        {arcsinh, std::asinh, std::asinh},
                        {arccosh, std::acosh, std::acosh},
                        {arctanh, std::atanh, std::atanh},
                        {log2, std::log2, std::log2},
                        {log10, std::log10, std::log10},
                        {log1p, std::log1p, std::log1p},
                        {expm1, std::expm1, std::expm1},
                        {trunc, std::trunc, std::trunc},
                        {rint, std::nearbyint, std::nearbyint},
                        {asin, std::asin, std::asin},
                        {acos, std::acos, std::acos},
                        {atan, std::atan, std::atan},
                        {asinh, std::asinh, std::asinh},
                        {acosh, std::acosh, std::acosh},
                        {atanh, std::atanh, std::atanh}};
  for (const Case& c : cases) {
    expect_unary<double, double>(c.op, c.d, DType::Float64);
    expect_unary<float, float>(c.op, c.f, DType::Float32);
  }
  // Integers compute in float64.
  const Array i = from_xtensor(xt::xarray<std::int32_t>{-2, 0, 3}, 2);
  EXPECT_EQ(tan(i).dtype(), DType::Float64);
  EXPECT_TRUE(matches<double>(log1p(i + 2),
                              xt::xarray<double>{0.0, std::log1p(2.0), std::log1p(5.0)},
                              *all_schedulers()[0], ulps<double>(4)));
}

TEST(ElementwiseFunctions, PredicatesSignAndRounding) {
  expect_unary<double, bool>(
      isnan, +[](double v) { return std::isnan(v); }, DType::Bool);
  expect_unary<double, bool>(
      isinf, +[](double v) { return std::isinf(v); }, DType::Bool);
  expect_unary<double, bool>(
      isfinite, +[](double v) { return std::isfinite(v); }, DType::Bool);
  expect_unary<float, bool>(
      isnan, +[](float v) { return std::isnan(v); }, DType::Bool);
  expect_unary<double, double>(
      sign,
      +[](double v) { return std::isnan(v) ? v : static_cast<double>((0.0 < v) - (v < 0.0)); },
      DType::Float64);
  expect_unary<std::int64_t, std::int64_t>(
      sign, +[](std::int64_t v) { return static_cast<std::int64_t>((0 < v) - (v < 0)); },
      DType::Int64);
  expect_unary<std::int32_t, bool>(
      isnan, +[](std::int32_t) { return false; }, DType::Bool);
  expect_unary<std::int32_t, bool>(
      isfinite, +[](std::int32_t) { return true; }, DType::Bool);
  // round: half to even, at any number of decimals.
  const xt::xarray<double> v{0.5, 1.5, 2.5, -0.5, -1.5, 2.675, 1234.5678, -0.125};
  const Array x = from_xtensor(v, 3);
  auto& s = *all_schedulers()[0];
  EXPECT_TRUE(
      matches<double>(round(x), xt::xarray<double>{0, 2, 2, -0.0, -2, 3, 1235, -0.0}, s, 0));
  xt::xarray<double> r2 = xt::xarray<double>::from_shape(v.shape()), rm2 = r2;
  for (std::size_t k = 0; k < v.size(); ++k) {
    r2.flat(k) = std::nearbyint(v.flat(k) * 100.0) / 100.0;
    rm2.flat(k) = std::nearbyint(v.flat(k) / 100.0) * 100.0;
  }
  EXPECT_TRUE(matches<double>(round(x, 2), r2, s, 0));
  EXPECT_TRUE(matches<double>(round(x, -2), rm2, s, 0));
  const Array i = from_xtensor(xt::xarray<std::int32_t>{-7, 8}, 1);
  EXPECT_EQ(round(i).token(), i.token());
  EXPECT_THROW(round(i, -1), value_error);
  EXPECT_EQ(square(i).dtype(), DType::Int32);
  EXPECT_TRUE(matches<std::int32_t>(square(i), xt::xarray<std::int32_t>{49, 64}, s));
}

template <class T, class R>
void expect_binary(const std::function<Array(const Array&, const Array&)>& f,
                   const xt::xarray<T>& a, const xt::xarray<T>& b,
                   const std::function<R(T, T)>& ref, DType want) {
  xt::xarray<R> expected = xt::xarray<R>::from_shape(a.shape());
  for (std::size_t i = 0; i < a.size(); ++i) expected.flat(i) = ref(a.flat(i), b.flat(i));
  const Array y = f(from_xtensor(a, 4), from_xtensor(b, 3));
  ASSERT_EQ(y.dtype(), want) << dtype_name(y.dtype());
  for (const auto& s : all_schedulers()) EXPECT_TRUE(matches<R>(y, expected, *s, ulps<R>(4)));
}

TEST(ElementwiseFunctions, BinaryFloatFunctions) {
  xt::xarray<double> a = kValues, b = xt::flip(kValues, 0);
  using D = std::function<double(double, double)>;
  expect_binary<double, double>([](auto& x, auto& y) { return arctan2(x, y); }, a, b,
                                D([](double x, double y) { return std::atan2(x, y); }),
                                DType::Float64);
  expect_binary<double, double>([](auto& x, auto& y) { return hypot(x, y); }, a, b,
                                D([](double x, double y) { return std::hypot(x, y); }),
                                DType::Float64);
  expect_binary<double, double>([](auto& x, auto& y) { return copysign(x, y); }, a, b,
                                D([](double x, double y) { return std::copysign(x, y); }),
                                DType::Float64);
  expect_binary<double, double>([](auto& x, auto& y) { return fmod(x, y); }, a, b,
                                D([](double x, double y) { return std::fmod(x, y); }),
                                DType::Float64);
  expect_binary<double, double>([](auto& x, auto& y) { return fmax(x, y); }, a, b,
                                D([](double x, double y) { return std::fmax(x, y); }),
                                DType::Float64);
  expect_binary<double, double>([](auto& x, auto& y) { return fmin(x, y); }, a, b,
                                D([](double x, double y) { return std::fmin(x, y); }),
                                DType::Float64);
  const xt::xarray<float> fa = xt::cast<float>(a), fb = xt::cast<float>(b);
  expect_binary<float, float>(
      [](auto& x, auto& y) { return atan2(x, y); }, fa, fb,
      std::function<float(float, float)>([](float x, float y) { return std::atan2(x, y); }),
      DType::Float32);
  // Integers: float64 for arctan2; fmod keeps them (C's remainder, 0 for a zero divisor).
  const xt::xarray<std::int64_t> ia{7, -7, 7, -7, 5, 0, std::numeric_limits<std::int64_t>::min()};
  const xt::xarray<std::int64_t> ib{3, 3, -3, -3, 0, 4, -1};
  using I = std::function<std::int64_t(std::int64_t, std::int64_t)>;
  expect_binary<std::int64_t, std::int64_t>(
      [](auto& x, auto& y) { return fmod(x, y); }, ia, ib,
      I([](std::int64_t x, std::int64_t y) { return y == 0 || y == -1 ? 0 : x % y; }),
      DType::Int64);
  EXPECT_EQ(arctan2(from_xtensor(ia, 2), from_xtensor(ib, 2)).dtype(), DType::Float64);
  // A weak scalar keeps float32.
  EXPECT_EQ(hypot(from_xtensor(fa, 4), 2.0).dtype(), DType::Float32);
}

TEST(ElementwiseFunctions, BitwiseAndLogical) {
  using I = std::function<std::int32_t(std::int32_t, std::int32_t)>;
  const xt::xarray<std::int32_t> a{12, -12, 5, -1, 1, 1, -8, 3, 7};
  const xt::xarray<std::int32_t> b{10, 3, 0, 31, 32, 40, 1, -1, 33};
  expect_binary<std::int32_t, std::int32_t>([](auto& x, auto& y) { return x & y; }, a, b,
                                            I([](auto x, auto y) { return x & y; }), DType::Int32);
  expect_binary<std::int32_t, std::int32_t>([](auto& x, auto& y) { return x | y; }, a, b,
                                            I([](auto x, auto y) { return x | y; }), DType::Int32);
  expect_binary<std::int32_t, std::int32_t>([](auto& x, auto& y) { return bitwise_xor(x, y); }, a,
                                            b, I([](auto x, auto y) { return x ^ y; }),
                                            DType::Int32);
  // Shifts past the width (or negative) give 0, or -1 for a negative value shifted right.
  expect_binary<std::int32_t, std::int32_t>(
      [](auto& x, auto& y) { return x << y; }, a, b, I([](std::int32_t x, std::int32_t y) {
        return y < 0 || y >= 32 ? 0 : static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << y);
      }),
      DType::Int32);
  expect_binary<std::int32_t, std::int32_t>([](auto& x, auto& y) { return x >> y; }, a, b,
                                            I([](std::int32_t x, std::int32_t y) {
                                              return y < 0 || y >= 32 ? (x < 0 ? -1 : 0) : x >> y;
                                            }),
                                            DType::Int32);
  const Array x = from_xtensor(a, 4);
  auto& s = *all_schedulers()[0];
  xt::xarray<std::int32_t> inv = a;
  for (auto& v : inv) v = ~v;
  EXPECT_TRUE(matches<std::int32_t>(~x, inv, s));
  // bool: &, |, ^ are logical; ~ is not.
  const xt::xarray<bool> p{true, true, false, false}, q{true, false, true, false};
  const Array bp = from_xtensor(p, 3), bq = from_xtensor(q, 1);
  EXPECT_TRUE(matches<bool>(bp & bq, xt::xarray<bool>{true, false, false, false}, s));
  EXPECT_TRUE(matches<bool>(bp | bq, xt::xarray<bool>{true, true, true, false}, s));
  EXPECT_TRUE(matches<bool>(bp ^ bq, xt::xarray<bool>{false, true, true, false}, s));
  EXPECT_TRUE(matches<bool>(~bp, xt::xarray<bool>{false, false, true, true}, s));
  EXPECT_TRUE(matches<bool>(logical_xor(bp, bq), xt::xarray<bool>{false, true, true, false}, s));
  EXPECT_TRUE(matches<bool>(logical_xor(x, 0),
                            xt::xarray<bool>{true, true, true, true, true, true, true, true, true},
                            s));
}

TEST(ElementwiseFunctions, DtypeErrorsNameTheOperation) {
  const Array f = from_xtensor(kValues, 4);
  const Array i = from_xtensor(xt::xarray<std::int32_t>{1}, 1);
  const Array b = from_xtensor(xt::xarray<bool>{true}, 1);
  EXPECT_THROW(f & f, dtype_error);
  EXPECT_THROW(i | 1.5, dtype_error);
  EXPECT_THROW(~f, dtype_error);
  EXPECT_THROW(sign(b), dtype_error);
  try {
    (void)bitwise_and(f, i);
  } catch (const dtype_error& e) {
    EXPECT_NE(std::string(e.what()).find("bitwise_and"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("float64, int32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tessera::testing
