// cumsum and cumprod: against a serial scan of the whole array along each axis and of the
// flattened array, over every chunking (uneven, irregular, single elements, size-0 and size-1
// axes) and scheduler, for floats, integers (wrapping at 2^64 as NumPy's int64 does) and bool.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

/// The serial scan of `x` along `axis` (-1: the flattened array), in R.
template <class R, class T>
xt::xarray<R> serial(const xt::xarray<T>& x, int axis, bool product) {
  auto op = [product](R a, R b) {
    if constexpr (std::is_integral_v<R>) {
      using U = std::make_unsigned_t<R>;
      return static_cast<R>(product ? static_cast<U>(a) * static_cast<U>(b)
                                    : static_cast<U>(a) + static_cast<U>(b));
    } else {
      return product ? a * b : a + b;
    }
  };
  if (axis < 0) {
    xt::xarray<R> out = xt::xarray<R>::from_shape({x.size()});
    R acc = product ? R(1) : R(0);
    for (std::size_t i = 0; i < x.size(); ++i) out(i) = acc = op(acc, static_cast<R>(x.flat(i)));
    return out;
  }
  xt::xarray<R> out = xt::xarray<R>::from_shape(x.shape());
  const Shape shape(x.shape().begin(), x.shape().end());
  const Shape stride = row_major_strides(shape);
  const auto a = static_cast<std::size_t>(axis);
  for (std::size_t f = 0; f < x.size(); ++f) {
    const index_t k = static_cast<index_t>(f) / stride[a] % shape[a];
    const R prev =
        k == 0 ? (product ? R(1) : R(0)) : out.flat(f - static_cast<std::size_t>(stride[a]));
    out.flat(f) = op(prev, static_cast<R>(x.flat(f)));
  }
  return out;
}

template <class R, class T>
void check(const xt::xarray<T>& d, double rtol = 1e-12) {
  const Shape shape(d.shape().begin(), d.shape().end());
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (int axis = -1; axis < x.ndim(); ++axis) {
      const auto ax = axis < 0 ? std::nullopt : std::optional<int>(axis);
      for (bool product : {false, true}) {
        const Array y = product ? cumprod(x, ax) : cumsum(x, ax);
        const xt::xarray<R> want = serial<R>(d, axis, product);
        for (const auto& s : all_schedulers()) {
          ASSERT_TRUE(matches<R>(y, want, *s, rtol))
              << (product ? "cumprod" : "cumsum") << " axis " << axis << " chunks "
              << x.chunks().to_string();
        }
      }
    }
  }
}

template <class T>
xt::xarray<T> values(const Shape& shape) {
  xt::xarray<T> x = xt::xarray<T>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if constexpr (std::is_same_v<T, bool>)
      x.flat(i) = i % 3 != 1;
    else if constexpr (std::is_floating_point_v<T>)
      x.flat(i) = static_cast<T>(1.0 + 0.01 * static_cast<double>(i % 7));
    else
      x.flat(i) = static_cast<T>(static_cast<int>(i % 5) - 2);
  }
  return x;
}

TEST(Scans, FloatsAlongEveryAxis) {
  for (const Shape& s : std::vector<Shape>{{17}, {7, 5}, {3, 4, 5}, {1, 6}, {0, 4}}) {
    check<double>(values<double>(s), 1e-12);
    check<float>(values<float>(s), 1e-5);
  }
}

TEST(Scans, IntegersAndBoolGiveInt64) {
  check<std::int64_t>(values<std::int32_t>({7, 5}));
  check<std::int64_t>(values<bool>({6, 4}));
  // Overflow wraps, as NumPy's int64 does.
  const xt::xarray<std::int64_t> big{std::numeric_limits<std::int64_t>::max(), 1, 1, 3};
  check<std::int64_t>(big);
  EXPECT_EQ(cumsum(from_xtensor(values<std::int32_t>({4}), 2)).dtype(), DType::Int64);
  EXPECT_EQ(cumsum(from_xtensor(values<float>({4}), 2)).dtype(), DType::Float32);
}

TEST(Scans, OfAnExpressionAndBadAxis) {
  const Array r = default_rng(4).uniform(0, 1, {40, 30}, {7, 9});
  for (const auto& s : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = s.get()});
    EXPECT_TRUE(matches<double>(cumsum(2 * r, 1),
                                serial<double>(xt::xarray<double>(2 * rv), 1, false), *s));
    EXPECT_TRUE(matches<double>(cumsum(r, 0)[{Slice{39, 40}}].sum(0),
                                xt::xarray<double>(xt::sum(rv, {0})), *s, 1e-10));
  }
  EXPECT_THROW(cumsum(r, 2), index_error);
}

}  // namespace
}  // namespace tessera::testing
