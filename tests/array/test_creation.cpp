// Array creation: constants, ranges, identity, functions of the index, buffers, chunk specs,
// 0-d and empty arrays. Every array is checked against a serial reference built on the whole
// array, for every chunking from chunkings() and on every scheduler from all_schedulers().

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>

#include "support/test_support.hpp"

namespace tessera::testing {
namespace {

using ::testing::HasSubstr;

constexpr DType kAllDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                                DType::Float64};

/// Tolerance for comparing values of type T computed in different orders.
template <class T>
double rtol_for() {
  return std::is_same_v<T, float> ? 1e-6 : 1e-12;
}

xt::xarray<double> make_ref(const Shape& shape) {
  std::vector<std::size_t> s(shape.begin(), shape.end());
  return xt::xarray<double>::from_shape(s);
}

template <class T>
xt::xarray<T> from_values(const std::vector<T>& values) {
  xt::xarray<T> out = xt::xarray<T>::from_shape({values.size()});
  for (std::size_t i = 0; i < values.size(); ++i) out.flat(i) = values[i];
  return out;
}

/// A test run once per scheduler.
class CreationTest : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& sched() const { return *all_schedulers()[static_cast<std::size_t>(GetParam())]; }

  /// Builds `make(spec)` for every chunking of `shape` and compares it with `ref`.
  template <class T, class Make>
  void check_chunkings(const Shape& shape, Make&& make, const xt::xarray<T>& ref,
                       double rtol = rtol_for<T>()) const {
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = make(spec);
      EXPECT_EQ(x.shape(), shape);
      EXPECT_TRUE(matches(x, ref, sched(), rtol))
          << "chunks " << x.chunks().to_string() << " on " << sched().name();
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Schedulers, CreationTest, ::testing::Range(0, num_schedulers()),
                         scheduler_param_name);

// --- zeros, ones, full ------------------------------------------------------------------------

TEST_P(CreationTest, ZerosOnesFullInEveryDtype) {
  const Shape shape{7, 5};
  for (DType dt : kAllDTypes) {
    visit_dtype(dt, [&]<class T>() {
      SCOPED_TRACE(std::string(dtype_name(dt)));
      xt::xarray<T> ref = xt::zeros<T>({7, 5});
      check_chunkings(
          shape, [&](const ChunkSpec& c) { return zeros(shape, c, dt); }, ref);
      ref.fill(static_cast<T>(1));
      check_chunkings(
          shape, [&](const ChunkSpec& c) { return ones(shape, c, dt); }, ref);
      // An integer fill value, given as int (exact match of the template overload) and int64.
      ref.fill(static_cast<T>(-3));
      check_chunkings(
          shape, [&](const ChunkSpec& c) { return full(shape, -3, c, dt); }, ref);
      check_chunkings(
          shape, [&](const ChunkSpec& c) { return full(shape, std::int64_t{-3}, c, dt); }, ref);
      // A float fill value: integers truncate toward zero, bool is "non-zero" (NumPy's casts).
      if constexpr (std::is_same_v<T, bool>)
        ref.fill(true);
      else if constexpr (std::is_integral_v<T>)
        ref.fill(static_cast<T>(-2));
      else
        ref.fill(static_cast<T>(-2.5));
      check_chunkings(
          shape, [&](const ChunkSpec& c) { return full(shape, -2.5, c, dt); }, ref);
    });
  }
}

TEST(Creation, FromBufferTokensHashTheData) {
  // The token says what the data is (the ranks of a distributed run compare it): equal bytes,
  // equal tokens; one element different, a different token and graph fingerprint.
  std::vector<double> a(50, 1.0), b(50, 1.0);
  const auto make = [](const std::vector<double>& d) {
    return from_buffer(std::span<const double>(d), {5, 10}, 3);
  };
  EXPECT_EQ(make(a).token(), make(b).token());
  EXPECT_EQ(make(a).sum().lower().graph.fingerprint(), make(b).sum().lower().graph.fingerprint());
  b[49] = 2.0;
  EXPECT_NE(make(a).token(), make(b).token());
  EXPECT_NE(make(a).sum().lower().graph.fingerprint(), make(b).sum().lower().graph.fingerprint());
  // Literals of raw graphs too.
  const auto twice = [](double x) { return 2 * x; };
  EXPECT_EQ(value(1.5).content_token(), value(1.5).content_token());
  EXPECT_NE(value(1.5).content_token(), value(2.5).content_token());
  EXPECT_NE(value(std::string("a")).content_token(), value(std::string("b")).content_token());
  EXPECT_NE(task(twice, 1.0).content_token(), task(twice, 2.0).content_token());
  EXPECT_EQ(task(twice, 1.0).content_token(), task(twice, 1.0).content_token());
}

TEST(Creation, FullDtypeFollowsTheValueType) {
  EXPECT_EQ(zeros({3}).dtype(), DType::Float64);
  EXPECT_EQ(ones({3}).dtype(), DType::Float64);
  EXPECT_EQ(full({3}, 2.5).dtype(), DType::Float64);
  EXPECT_EQ(full({3}, 2.5f).dtype(), DType::Float64);
  // "dtype defaults to what C++ gives the value (int -> int64, double -> float64)".
  EXPECT_EQ(full({3}, 7).dtype(), DType::Int64);
  EXPECT_EQ(full({3}, std::int64_t{7}).dtype(), DType::Int64);
  EXPECT_EQ(full({3}, true).dtype(), DType::Bool);
  EXPECT_EQ(full({3}, 7, 2, DType::Int32).dtype(), DType::Int32);
  EXPECT_EQ(full({3}, 7, 2, DType::Float32).dtype(), DType::Float32);
  EXPECT_EQ(full({3}, 1.5, 2, DType::Float32).dtype(), DType::Float32);

  SynchronousScheduler s;
  EXPECT_TRUE(matches(full({3}, 7), xt::xarray<std::int64_t>{7, 7, 7}, s));
  EXPECT_TRUE(matches(full({2}, false), xt::xarray<bool>{false, false}, s));
  // int64 values above 2^53 stay exact (they do not go through double).
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  EXPECT_TRUE(matches(full({2}, big, 1, DType::Int64), xt::xarray<std::int64_t>{big, big}, s));
}

TEST_P(CreationTest, FullBoolIsTrueForEveryNonZeroValue) {
  // np.full(3, 0.5, dtype=bool) is all True: bool(x) is "x != 0", not "int(x) != 0".
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double v : {0.5, -0.25, 1e-300, nan, 2.0}) {
    SCOPED_TRACE(v);
    check_chunkings(
        {4}, [&](const ChunkSpec& c) { return full({4}, v, c, DType::Bool); },
        xt::xarray<bool>{true, true, true, true});
  }
  check_chunkings(
      {4}, [](const ChunkSpec& c) { return full({4}, 0.0, c, DType::Bool); },
      xt::xarray<bool>{false, false, false, false});
  check_chunkings(
      {4}, [](const ChunkSpec& c) { return full({4}, -0.0, c, DType::Bool); },
      xt::xarray<bool>{false, false, false, false});
  // Two constants with different values must not be merged as "the same" expression.
  check_chunkings(
      {4},
      [](const ChunkSpec& c) {
        return full({4}, 0.5, c, DType::Bool) != full({4}, 0.0, c, DType::Bool);
      },
      xt::xarray<bool>{true, true, true, true});
  // -0.0 and 0.0 are different values (1 / -0.0 is -inf).
  const double inf = std::numeric_limits<double>::infinity();
  check_chunkings(
      {2}, [](const ChunkSpec& c) { return 1.0 / full({2}, -0.0, c) - 1.0 / full({2}, 0.0, c); },
      xt::xarray<double>{-inf, -inf});
}

// --- arange -----------------------------------------------------------------------------------

struct ArangeCase {
  double start, stop, step;
  DType dtype;
};

TEST_P(CreationTest, ArangeMatchesNumPy) {
  const ArangeCase cases[] = {
      {0, 10, 1, DType::Float64},         {0, 1, 0.1, DType::Float64},
      {5, 0, -1.5, DType::Float64},       {-2.5, 2.5, 0.5, DType::Float64},
      {-1, -2.05, -0.25, DType::Float64}, {0.5, 7.25, 0.75, DType::Float32},
      {0, 10, 3, DType::Int64},           {10, -10, -3, DType::Int64},
      {-4, 9, 2, DType::Int32},           {3, 0, 1, DType::Float64},
      {1, 1, 1, DType::Float64},          {0, 5, -1, DType::Int64},
  };
  for (const ArangeCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "arange(" << c.start << ", " << c.stop << ", " << c.step
                                      << ", " << dtype_name(c.dtype) << ")");
    const auto n =
        std::max<index_t>(0, static_cast<index_t>(std::ceil((c.stop - c.start) / c.step)));
    visit_dtype(c.dtype, [&]<class T>() {
      xt::xarray<T> ref = xt::xarray<T>::from_shape({static_cast<std::size_t>(n)});
      for (index_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          ref.flat(static_cast<std::size_t>(i)) =
              static_cast<T>(c.start + static_cast<double>(i) * c.step);
        } else {
          ref.flat(static_cast<std::size_t>(i)) = static_cast<T>(
              static_cast<std::int64_t>(c.start) + i * static_cast<std::int64_t>(c.step));
        }
      }
      check_chunkings(
          {n},
          [&](const ChunkSpec& ch) {
            return arange(c.start, c.stop, c.step, {.chunks = ch, .dtype = c.dtype});
          },
          ref);
    });
  }
}

TEST_P(CreationTest, ArangeKnownValues) {
  check_chunkings(
      {10}, [](const ChunkSpec& c) { return arange(10, {.chunks = c}); },
      from_values<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  check_chunkings(
      {7}, [](const ChunkSpec& c) { return arange(10, -10, -3, {.chunks = c}); },
      from_values<std::int64_t>({10, 7, 4, 1, -2, -5, -8}));
  check_chunkings(
      {5}, [](const ChunkSpec& c) { return arange(-1, -2.05, -0.25, {.chunks = c}); },
      from_values<double>({-1, -1.25, -1.5, -1.75, -2}));
  // NumPy's classic: arange(1, 1.3, 0.1) has 4 elements, since (1.3 - 1) / 0.1 > 3.
  check_chunkings(
      {4}, [](const ChunkSpec& c) { return arange(1, 1.3, 0.1, {.chunks = c}); },
      from_values<double>({1.0, 1.1, 1.2, 1.3}));
  check_chunkings(
      {0}, [](const ChunkSpec& c) { return arange(0, {.chunks = c}); },
      xt::xarray<std::int64_t>::from_shape({0}));
  check_chunkings(
      {0}, [](const ChunkSpec& c) { return arange(-4, {.chunks = c}); },
      xt::xarray<std::int64_t>::from_shape({0}));
  EXPECT_EQ(arange(index_t{5}).dtype(), DType::Int64);
  EXPECT_EQ(arange(0, 5, 1).dtype(), DType::Int64);  // NumPy: integer arguments give int64
  EXPECT_EQ(arange(0.0, 5, 1).dtype(), DType::Float64);
}

/// Whether arange(args...) compiles.
template <class... A>
constexpr bool arange_compiles = requires(A... a) {
  arange(a...);
};

TEST_P(CreationTest, ArangeArgumentsMeanWhatNumPyMeans) {
  // arange(1000, 100) is NumPy's range from 1000 to 100 (empty), not 1000 values in chunks of
  // 100 read as arange(1000.0, 100.0); the chunked form takes the chunks by name.
  for (const Array& e : {arange(1000, 100), arange(index_t{1000}, 10), arange(5, 5, 3)}) {
    EXPECT_EQ(e.shape(), Shape{0});
    EXPECT_EQ(e.dtype(), DType::Int64);
  }
  const Array a = arange(1000, {.chunks = 100});
  EXPECT_EQ(a.shape(), Shape{1000});
  EXPECT_EQ(a.chunks().num_chunks(), 10);
  EXPECT_EQ(a.dtype(), DType::Int64);
  EXPECT_EQ(a.sum().item<std::int64_t>({.scheduler = &sched()}), 499500);
  const Array b = arange(0, 64, 1, {.chunks = 8});
  EXPECT_EQ(b.chunks().num_chunks(), 8);
  EXPECT_EQ(b.sum().item<std::int64_t>({.scheduler = &sched()}), 2016);
  // Any floating argument gives float64; an explicit dtype wins.
  EXPECT_EQ(arange(0, 10, 0.5).dtype(), DType::Float64);
  EXPECT_EQ(arange(0, 10, 0.5).shape(), Shape{20});
  EXPECT_EQ(arange(10.0).dtype(), DType::Float64);
  EXPECT_EQ(arange(2.5f, 4).dtype(), DType::Float64);
  EXPECT_TRUE(matches(arange(0, 10, 3, {.dtype = DType::Int32}),
                      from_values<std::int32_t>({0, 3, 6, 9}), sched()));
  EXPECT_TRUE(matches(arange(4, {.chunks = 3, .dtype = DType::Float32}),
                      from_values<float>({0, 1, 2, 3}), sched()));
  // Integer ranges are exact in int64, where doubles are not (2^53 + 1 is not a double).
  constexpr std::int64_t p53 = std::int64_t{1} << 53;
  EXPECT_TRUE(matches(arange(p53, p53 + 4, 1, {.chunks = 3}),
                      from_values<std::int64_t>({p53, p53 + 1, p53 + 2, p53 + 3}), sched()));
  constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t p62 = std::int64_t{1} << 62;
  EXPECT_TRUE(matches(arange(lo, hi, p62), from_values<std::int64_t>({lo, -p62, 0, p62}), sched()));
  EXPECT_TRUE(matches(
      arange(hi, lo, -p62, {.chunks = 2}),
      from_values<std::int64_t>({hi, hi - p62, hi - p62 - p62, hi - p62 - p62 - p62}), sched()));
  EXPECT_TRUE(matches(arange(std::size_t{3}), from_values<std::int64_t>({0, 1, 2}), sched()));
  EXPECT_THROW(arange(std::uint64_t{1} << 63), value_error);
  EXPECT_THROW(arange(3, 9, 0), value_error);
  // A bare number after the range is not a chunk size: it does not compile.
  static_assert(arange_compiles<int>);
  static_assert(arange_compiles<int, int>);
  static_assert(arange_compiles<int, double, int>);
  static_assert(arange_compiles<int, int, int, ArangeOptions>);
  static_assert(!arange_compiles<int, int, int, int>);
  static_assert(!arange_compiles<double, double, double, int>);
  static_assert(!arange_compiles<index_t, ChunkSpec>);
}

TEST_P(CreationTest, ArangeLongerThanTwoToThe63Raises) {
  // NumPy raises; the length used to go through an undefined double -> int64 cast and give
  // shape (0,).
  EXPECT_THAT([] { (void)arange(0, 1e19, 1); },
              ::testing::ThrowsMessage<shape_error>(HasSubstr("array is too big")));
  EXPECT_THROW(arange(0, 1, 1e-300), shape_error);
  EXPECT_THROW(arange(-1e308, 1e308, 1.0), shape_error);  // stop - start is inf
  EXPECT_THROW(arange(1e19), shape_error);
  EXPECT_THROW(arange(0.0, 0x1p62, 1.0), shape_error);  // 2^62 float64s: 2^65 bytes
  constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  EXPECT_THROW(arange(lo, hi), shape_error);
  EXPECT_THROW(arange(hi), shape_error);
  EXPECT_EQ(arange(1e19, 0, 1).shape(), Shape{0});
}

TEST_P(CreationTest, DtypeInNumPysArgumentOrder) {
  // zeros(shape, dtype), ones(shape, dtype), full(shape, value, dtype), as in NumPy.
  EXPECT_TRUE(matches(ones({3}, DType::Int32), from_values<std::int32_t>({1, 1, 1}), sched()));
  EXPECT_TRUE(matches(zeros({2}, DType::Bool), from_values<bool>({false, false}), sched()));
  EXPECT_TRUE(matches(ones({4}, DType::Float32, 3), from_values<float>({1, 1, 1, 1}), sched()));
  EXPECT_EQ(ones({4}, DType::Float32, 3).chunks().num_chunks(), 2);
  EXPECT_TRUE(matches(full({2}, 7, DType::Int32), from_values<std::int32_t>({7, 7}), sched()));
  EXPECT_TRUE(matches(full({2}, 2.5, DType::Float32, 1), from_values<float>({2.5, 2.5}), sched()));
  EXPECT_TRUE(matches(full({2}, std::int64_t{1} << 40, DType::Int64),
                      from_values<std::int64_t>({std::int64_t{1} << 40, std::int64_t{1} << 40}),
                      sched()));
  // The chunks-first forms still work.
  EXPECT_EQ(ones({3}, 2, DType::Int32).dtype(), DType::Int32);
  EXPECT_EQ(zeros({3}, 2).dtype(), DType::Float64);
}

// --- linspace ---------------------------------------------------------------------------------

TEST_P(CreationTest, LinspaceEndpointAndSmallCounts) {
  check_chunkings(
      {5}, [](const ChunkSpec& c) { return linspace(0, 1, 5, c); },
      from_values<double>({0, 0.25, 0.5, 0.75, 1}));
  check_chunkings(
      {5}, [](const ChunkSpec& c) { return linspace(0, 1, 5, c, false); },
      from_values<double>({0, 0.2, 0.4, 0.6, 0.8}));
  check_chunkings(
      {7}, [](const ChunkSpec& c) { return linspace(2, -1, 7, c); },
      from_values<double>({2, 1.5, 1, 0.5, 0, -0.5, -1}));
  check_chunkings(
      {1}, [](const ChunkSpec& c) { return linspace(3, 9, 1, c); }, from_values<double>({3}));
  check_chunkings(
      {1}, [](const ChunkSpec& c) { return linspace(3, 9, 1, c, false); },
      from_values<double>({3}));
  check_chunkings(
      {0}, [](const ChunkSpec& c) { return linspace(3, 9, 0, c); },
      xt::xarray<double>::from_shape({0}));
  check_chunkings(
      {0}, [](const ChunkSpec& c) { return linspace(3, 9, 0, c, false); },
      xt::xarray<double>::from_shape({0}));
  // Integer dtype: computed in float64, then truncated (np.linspace(0, 10, 4, dtype=int)).
  check_chunkings(
      {4}, [](const ChunkSpec& c) { return linspace(0, 10, 4, c, true, DType::Int64); },
      from_values<std::int64_t>({0, 3, 6, 10}));
  check_chunkings(
      {4}, [](const ChunkSpec& c) { return linspace(0, 1, 4, c, false, DType::Float32); },
      from_values<float>({0, 0.25f, 0.5f, 0.75f}));
}

TEST_P(CreationTest, LinspaceMatchesTheNumPyFormula) {
  struct Case {
    double start, stop;
    index_t num;
    bool endpoint;
  };
  for (const Case& c :
       {Case{0, 0.3, 4, true}, Case{-1.7, 11.3, 23, true}, Case{-1.7, 11.3, 23, false},
        Case{5, 5, 6, true}, Case{1e3, -1e-3, 19, true}, Case{0.7, 0.1, 2, true}}) {
    SCOPED_TRACE(::testing::Message() << "linspace(" << c.start << ", " << c.stop << ", " << c.num
                                      << ", endpoint=" << c.endpoint << ")");
    xt::xarray<double> ref = make_ref({c.num});
    const double div = static_cast<double>(c.endpoint ? c.num - 1 : c.num);
    for (index_t i = 0; i < c.num; ++i) {
      ref.flat(static_cast<std::size_t>(i)) =
          c.start + static_cast<double>(i) * ((c.stop - c.start) / div);
    }
    if (c.endpoint) ref.flat(static_cast<std::size_t>(c.num - 1)) = c.stop;
    check_chunkings(
        {c.num},
        [&](const ChunkSpec& ch) { return linspace(c.start, c.stop, c.num, ch, c.endpoint); }, ref);
    if (c.endpoint) {  // the last element is exactly `stop`
      const auto got =
          linspace(c.start, c.stop, c.num, 3, true).compute<double>({.scheduler = &sched()});
      EXPECT_EQ(got(static_cast<std::size_t>(c.num - 1)), c.stop);
    }
  }
}

// --- eye --------------------------------------------------------------------------------------

TEST_P(CreationTest, EyeWithOffsetsAndNonSquareShapes) {
  struct Case {
    index_t n, m, k;
  };
  for (const Case& c : {Case{5, -1, 0}, Case{4, 6, 1}, Case{6, 3, -2}, Case{3, 3, 5},
                        Case{4, 4, -4}, Case{4, 7, 3}, Case{1, 1, 0}, Case{0, 3, 0}}) {
    const index_t m = c.m < 0 ? c.n : c.m;
    SCOPED_TRACE(::testing::Message() << "eye(" << c.n << ", " << m << ", k=" << c.k << ")");
    for (DType dt : {DType::Float64, DType::Int32, DType::Bool}) {
      visit_dtype(dt, [&]<class T>() {
        xt::xarray<T> ref =
            xt::zeros<T>({static_cast<std::size_t>(c.n), static_cast<std::size_t>(m)});
        for (index_t i = 0; i < c.n; ++i) {
          if (i + c.k >= 0 && i + c.k < m) {
            ref(static_cast<std::size_t>(i), static_cast<std::size_t>(i + c.k)) = static_cast<T>(1);
          }
        }
        check_chunkings(
            {c.n, m}, [&](const ChunkSpec& ch) { return eye(c.n, ch, c.m, c.k, dt); }, ref);
      });
    }
  }
}

// --- fromfunction -----------------------------------------------------------------------------

TEST_P(CreationTest, FromFunctionOneTwoAndThreeAxes) {
  {
    const Shape shape{11};
    xt::xarray<double> ref = make_ref(shape);
    for (std::size_t i = 0; i < 11; ++i) ref(i) = 0.5 * static_cast<double>(i * i) - 3;
    check_chunkings(
        shape,
        [&](const ChunkSpec& c) {
          return fromfunction<double>(
              [](index_t i) { return 0.5 * static_cast<double>(i * i) - 3; }, shape, c);
        },
        ref);
  }
  {
    const Shape shape{6, 7};
    xt::xarray<std::int32_t> ref = xt::xarray<std::int32_t>::from_shape({6, 7});
    for (std::size_t i = 0; i < 6; ++i)
      for (std::size_t j = 0; j < 7; ++j)
        ref(i, j) = static_cast<std::int32_t>(10 * i) - static_cast<std::int32_t>(j);
    check_chunkings(
        shape,
        [&](const ChunkSpec& c) {
          return fromfunction<std::int32_t>([](index_t i, index_t j) { return 10 * i - j; }, shape,
                                            c);
        },
        ref);
  }
  {
    const Shape shape{3, 4, 5};
    xt::xarray<float> ref = xt::xarray<float>::from_shape({3, 4, 5});
    xt::xarray<bool> even = xt::xarray<bool>::from_shape({3, 4, 5});
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 4; ++j)
        for (std::size_t k = 0; k < 5; ++k) {
          ref(i, j, k) = static_cast<float>(100 * i + 10 * j + k) / 4.0f;
          even(i, j, k) = (i + j + k) % 2 == 0;
        }
    check_chunkings(
        shape,
        [&](const ChunkSpec& c) {
          return fromfunction<float>(
              [](index_t i, index_t j, index_t k) {
                return static_cast<float>(100 * i + 10 * j + k) / 4.0f;
              },
              shape, c);
        },
        ref);
    check_chunkings(
        shape,
        [&](const ChunkSpec& c) {
          return fromfunction<bool>(
              [](index_t i, index_t j, index_t k) { return (i + j + k) % 2 == 0; }, shape, c);
        },
        even);
  }
}

TEST_P(CreationTest, FromFunctionSpanForm) {
  const auto weighted = [](std::span<const index_t> idx) {
    std::int64_t v = 0;
    for (index_t i : idx) v = v * 7 + i + 1;
    return v;
  };
  for (const Shape& shape : {Shape{9}, Shape{4, 5}, Shape{2, 3, 4}, Shape{2, 1, 3, 2}}) {
    SCOPED_TRACE(shape_string(shape));
    xt::xarray<std::int64_t> ref =
        xt::xarray<std::int64_t>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
    const Shape strides = row_major_strides(shape);
    for (index_t f = 0; f < shape_size(shape); ++f) {
      Shape idx(shape.size());
      for (std::size_t a = 0; a < shape.size(); ++a) idx[a] = (f / strides[a]) % shape[a];
      ref.flat(static_cast<std::size_t>(f)) = weighted(idx);
    }
    check_chunkings(
        shape, [&](const ChunkSpec& c) { return fromfunction<std::int64_t>(weighted, shape, c); },
        ref);
  }
  // 0-d: the callable gets an empty span.
  const Array zero_d = fromfunction<double>(
      [](std::span<const index_t> idx) { return 40.0 + static_cast<double>(idx.size()) + 2; }, {});
  EXPECT_EQ(zero_d.ndim(), 0);
  EXPECT_EQ(zero_d.item<double>({.scheduler = &sched()}), 42.0);
}

TEST(Creation, FromFunctionArityMismatchIsAShapeError) {
  try {
    (void)fromfunction<double>([](index_t i, index_t j) { return static_cast<double>(i + j); },
                               {3, 4, 5});
    FAIL() << "expected shape_error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("fromfunction"));
    EXPECT_THAT(e.what(), HasSubstr("2"));
    EXPECT_THAT(e.what(), HasSubstr("(3, 4, 5)"));
  }
  EXPECT_THROW((void)fromfunction<double>([](index_t i) { return static_cast<double>(i); }, {3, 4}),
               shape_error);
  EXPECT_THROW(
      (void)fromfunction<double>(
          [](index_t i, index_t j, index_t k) { return static_cast<double>(i + j + k); }, {3}),
      shape_error);
}

// --- from_buffer / from_xtensor ---------------------------------------------------------------

TEST_P(CreationTest, FromXtensorRoundTripsWithEveryChunking) {
  {
    xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape({7, 5});
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = static_cast<std::int64_t>(i * i) - 40;
    check_chunkings(
        {7, 5}, [&](const ChunkSpec& c) { return from_xtensor(a, c); }, a);
  }
  {
    xt::xarray<double> a = xt::xarray<double>::from_shape({3, 4, 5});
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = std::sin(static_cast<double>(i)) * 100;
    check_chunkings(
        {3, 4, 5}, [&](const ChunkSpec& c) { return from_xtensor(a, c); }, a);
    // An xtensor expression (not a container) is evaluated first.
    xt::xarray<double> twice = 2.0 * a + 1.0;
    check_chunkings(
        {3, 4, 5}, [&](const ChunkSpec& c) { return from_xtensor(2.0 * a + 1.0, c); }, twice);
    // Column-major containers and strided views are copied in row-major order.
    const xt::xarray<double, xt::layout_type::column_major> cm = a;
    check_chunkings(
        {3, 4, 5}, [&](const ChunkSpec& c) { return from_xtensor(cm, c); }, a);
    const xt::xarray<double> at = xt::transpose(a);
    check_chunkings(
        {5, 4, 3}, [&](const ChunkSpec& c) { return from_xtensor(xt::transpose(a), c); }, at);
  }
  {
    xt::xarray<float> a = xt::xarray<float>::from_shape({13});
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = static_cast<float>(i) / 3.0f;
    check_chunkings(
        {13}, [&](const ChunkSpec& c) { return from_xtensor(a, c); }, a);
  }
  {
    xt::xarray<bool> a = xt::xarray<bool>::from_shape({4, 6});
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = i % 3 == 1;
    check_chunkings(
        {4, 6}, [&](const ChunkSpec& c) { return from_xtensor(a, c); }, a);
  }
  {
    xt::xarray<std::int32_t> a = xt::xarray<std::int32_t>::from_shape({5, 1, 4});
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = static_cast<std::int32_t>(i) * -3;
    check_chunkings(
        {5, 1, 4}, [&](const ChunkSpec& c) { return from_xtensor(a, c); }, a);
  }
}

TEST_P(CreationTest, FromBufferCopiesRowMajorData) {
  std::vector<double> data(6 * 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i) - 0.5;
  xt::xarray<double> ref = xt::xarray<double>::from_shape({6, 4});
  std::copy(data.begin(), data.end(), ref.begin());
  check_chunkings(
      {6, 4},
      [&](const ChunkSpec& c) {
        return from_buffer(std::span<const double>(data), {6, 4}, c);
      },
      ref);
  check_chunkings(
      {6, 4},
      [&](const ChunkSpec& c) {
        return from_buffer(data.data(), DType::Float64, {6, 4}, c);
      },
      ref);
  // The array owns a copy: changing the buffer later does not change it.
  const Array x = from_buffer(std::span<const double>(data), {6, 4}, 2);
  data.assign(data.size(), -1.0);
  EXPECT_TRUE(matches(x, ref, sched()));
}

TEST(Creation, FromBufferSizeMismatchIsAShapeError) {
  const std::vector<std::int32_t> data(10);
  try {
    (void)from_buffer(std::span<const std::int32_t>(data), {3, 4});
    FAIL() << "expected shape_error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("10"));
    EXPECT_THAT(e.what(), HasSubstr("(3, 4)"));
  }
}

// --- chunk specs ------------------------------------------------------------------------------

ChunkGrid grid(std::vector<std::vector<index_t>> sizes) { return ChunkGrid(std::move(sizes)); }

TEST(ChunkSpecs, RegularPerAxisAndExplicit) {
  EXPECT_EQ(zeros({10, 7}, 3).chunks(), grid({{3, 3, 3, 1}, {3, 3, 1}}));
  EXPECT_EQ(zeros({10, 7}, 3).chunks().to_string(), "((3, 3, 3, 1), (3, 3, 1))");
  EXPECT_EQ(zeros({10, 7}, -1).chunks(), grid({{10}, {7}}));
  EXPECT_EQ(zeros({10, 7}, {4, -1}).chunks(), grid({{4, 4, 2}, {7}}));
  EXPECT_EQ(zeros({10, 7}, {5, 100}).chunks(), grid({{5, 5}, {7}}));  // larger than the axis
  EXPECT_EQ(zeros({10, 7}, {10, 7}).chunks(), grid({{10}, {7}}));
  EXPECT_EQ(zeros({10, 7}, ChunkSpec::explicit_sizes({{2, 3, 5}, {7}})).chunks(),
            grid({{2, 3, 5}, {7}}));
  EXPECT_EQ(zeros({10, 7}, {std::vector<index_t>{1, 9}, 2}).chunks(), grid({{1, 9}, {2, 2, 2, 1}}));
  EXPECT_EQ(arange(7, {.chunks = 3}).chunks().to_string(), "((3, 3, 1),)");
  EXPECT_EQ(arange(7, {.chunks = -1}).chunks().to_string(), "((7,),)");
  EXPECT_EQ(zeros({4, 5, 6}, {1, std::vector<index_t>{2, 3}, -1}).chunks(),
            grid({{1, 1, 1, 1}, {2, 3}, {6}}));
}

TEST(ChunkSpecs, AutomaticWithASmallByteTarget) {
  // 800 bytes of float64 = 100 elements: 10 x 10 chunks, as Dask's "auto".
  EXPECT_EQ(zeros({100, 100}, ChunkSpec::automatic(800)).chunks(),
            grid({std::vector<index_t>(10, 10), std::vector<index_t>(10, 10)}));
  // The same bytes hold twice as many int32: the edge grows by sqrt(2) (14 elements; Dask
  // gives 14 too).
  const ChunkGrid g32 = zeros({100, 100}, ChunkSpec::automatic(800), DType::Int32).chunks();
  EXPECT_GT(g32.num_chunks(), 1);
  EXPECT_LE(g32.max_chunk_size() * 4, 800);
  // An axis shorter than the ideal edge is taken whole, the rest of the budget goes to the
  // others: (4, 1000) float64 in 8000 bytes -> ((4,), (250, 250, 250, 250)).
  EXPECT_EQ(zeros({4, 1000}, ChunkSpec::automatic(8000)).chunks(),
            grid({{4}, {250, 250, 250, 250}}));
  // 1-d: 80 bytes of float32 -> 20 elements per chunk.
  EXPECT_EQ(zeros({100}, ChunkSpec::automatic(80), DType::Float32).chunks(),
            grid({std::vector<index_t>(5, 20)}));
  // Mixed: a fixed axis and an automatic one.
  EXPECT_EQ(zeros({10, 1000}, {5, AxisChunks(AxisChunks::Auto{})}).chunks().sizes(0),
            (std::vector<index_t>{5, 5}));
  // The default target (128 MiB) keeps a small array in one chunk.
  EXPECT_EQ(zeros({100, 100}).chunks(), grid({{100}, {100}}));
  // Whatever the shape, chunks never exceed the target by more than rounding, and tile it.
  for (const Shape& shape : {Shape{37}, Shape{25, 9}, Shape{3, 50, 7}, Shape{1000}}) {
    const Array x = zeros(shape, ChunkSpec::automatic(256));
    EXPECT_EQ(x.chunks().shape(), shape);
    EXPECT_GT(x.chunks().num_chunks(), 1) << shape_string(shape);
    EXPECT_LE(x.chunks().max_chunk_size() * 8, 256) << x.chunks().to_string();
  }
}

// --- 0-d and empty arrays ---------------------------------------------------------------------

TEST_P(CreationTest, ZeroDimensionalArrays) {
  const Array a = full({}, 4.5);
  EXPECT_EQ(a.ndim(), 0);
  EXPECT_EQ(a.size(), 1);
  EXPECT_EQ(a.chunks().num_chunks(), 1);
  EXPECT_EQ(a.item<double>({.scheduler = &sched()}), 4.5);
  EXPECT_TRUE(matches(a, xt::xarray<double>(4.5), sched()));
  EXPECT_TRUE(matches(zeros({}, -1, DType::Int32), xt::xarray<std::int32_t>(0), sched()));
  EXPECT_TRUE(matches(ones({}, 3, DType::Bool), xt::xarray<bool>(true), sched()));
  EXPECT_TRUE(matches(scalar(7), xt::xarray<std::int64_t>(7), sched()));
  EXPECT_TRUE(matches(scalar(2.5), xt::xarray<double>(2.5), sched()));
  xt::xarray<float> zf(1.25f);
  EXPECT_TRUE(matches(from_xtensor(zf), zf, sched()));
  // 0-d values combine with themselves and with a scalar.
  EXPECT_TRUE(matches(a * 2 + a, xt::xarray<double>(13.5), sched()));
}

TEST_P(CreationTest, EmptyArrays) {
  const auto empty_ref = [](std::vector<std::size_t> s) {
    return xt::xarray<double>::from_shape(s);
  };
  for (const Shape& shape : {Shape{0}, Shape{3, 0}, Shape{0, 4}, Shape{2, 0, 3}}) {
    SCOPED_TRACE(shape_string(shape));
    const xt::xarray<double> ref = empty_ref(std::vector<std::size_t>(shape.begin(), shape.end()));
    for (const ChunkSpec& spec : {ChunkSpec(-1), ChunkSpec(2), ChunkSpec::automatic(64)}) {
      const Array z = zeros(shape, spec);
      EXPECT_EQ(z.size(), 0);
      EXPECT_EQ(z.chunks().shape(), shape);
      EXPECT_TRUE(matches(z, ref, sched()));
      EXPECT_TRUE(matches(ones(shape, spec) * 3 + 1, ref, sched()));
      EXPECT_TRUE(matches(from_xtensor(ref, spec), ref, sched()));
    }
  }
  EXPECT_EQ(zeros({3, 0}, 2).chunks(), grid({{2, 1}, {0}}));
  EXPECT_TRUE(matches(arange(0.0, 0.0, 1.0), empty_ref({0}), sched()));
  EXPECT_TRUE(matches(eye(0), empty_ref({0, 0}), sched()));
  EXPECT_TRUE(
      matches(fromfunction<double>([](index_t i, index_t j) { return static_cast<double>(i * j); },
                                   {0, 5}, 2),
              empty_ref({0, 5}), sched()));
}

TEST(Creation, NegativeDimensionsAreShapeErrors) {
  try {
    (void)zeros({3, -2});
    FAIL() << "expected shape_error";
  } catch (const shape_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("(3, -2)"));
  }
  EXPECT_THROW((void)full({-1}, 2.0), shape_error);
  EXPECT_THROW((void)eye(-3), shape_error);
  EXPECT_THROW((void)fromfunction<double>([](index_t i) { return static_cast<double>(i); }, {-4}),
               shape_error);
  EXPECT_THROW((void)linspace(0, 1, -1), value_error);
}

}  // namespace
}  // namespace tessera::testing
