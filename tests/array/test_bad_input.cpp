// Bad input: every error is a tessera exception of the documented type whose message names the
// problem. Errors that do not depend on the data are raised while the expression is built,
// before anything is computed; data-dependent ones (a throwing fromfunction callable, a
// negative integer power) reach the caller of compute() as task_error on every scheduler.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace tessera::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

/// Runs `build` (which must not compute anything) and expects an exception of type E whose
/// message contains every one of `parts`.
template <class E, class Build>
void expect_error(Build&& build, std::initializer_list<std::string> parts,
                  const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  // Not std::source_location: Clang 14 with libstdc++ 12 lacks it.
  const ::testing::ScopedTrace trace(file, line, "expect_error called here");
  try {
    (void)build();
    ADD_FAILURE() << "no exception thrown";
  } catch (const E& e) {
    for (const std::string& part : parts) EXPECT_THAT(e.what(), HasSubstr(part));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

/// An input whose chunks count how often they are computed: building an expression on it
/// must not run anything.
struct Counted {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Array array(const Shape& shape, DType dtype = DType::Float64) const {
    auto c = calls;
    return visit_dtype(dtype, [&]<class T>() {
      return fromfunction<T>(
          [c](std::span<const index_t>) {
            ++*c;
            return T{};
          },
          shape, 2);
    });
  }
};

// --- broadcasting -----------------------------------------------------------------------------

TEST(BadInput, IncompatibleShapesNameBothShapes) {
  Counted n;
  const Array a = n.array({3, 4}), b = n.array({5}), c = n.array({2, 3}), d = n.array({3, 2});
  expect_error<shape_error>([&] { return a + b; }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return b * a; }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return c - d; }, {"(2, 3)", "(3, 2)"});
  expect_error<shape_error>([&] { return a < b; }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return pow(a, b); }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return maximum(a, b); }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return a && b; }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return where(a > 0, a, b); }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return where(b > 0, a, 1.0); }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return clip(a, b, 1.0); }, {"(3, 4)", "(5,)"});
  expect_error<shape_error>([&] { return clip(a, 0.0, c); }, {"(3, 4)", "(2, 3)"});
  // Compatible shapes around them still work: (3, 1) with (4,) and an empty axis with 1.
  EXPECT_EQ((n.array({3, 1}) + n.array({4})).shape(), (Shape{3, 4}));
  EXPECT_EQ((n.array({0, 1}) + n.array({4})).shape(), (Shape{0, 4}));
  expect_error<shape_error>([&] { return n.array({0}) + n.array({4}); }, {"(0,)", "(4,)"});
  EXPECT_EQ(*n.calls, 0) << "building an expression computed something";
}

// --- reductions -------------------------------------------------------------------------------

TEST(BadInput, ReductionAxisOutOfRangeNamesTheAxis) {
  Counted n;
  const Array x = n.array({3, 4});
  expect_error<index_error>([&] { return x.sum(2); }, {"axis 2", "2"});
  expect_error<index_error>([&] { return x.sum(-3); }, {"axis -3"});
  expect_error<index_error>([&] { return x.mean({0, 5}); }, {"axis 5"});
  expect_error<index_error>([&] { return x.max(7); }, {"axis 7"});
  expect_error<index_error>([&] { return x.argmax(2); }, {"axis 2"});
  expect_error<index_error>([&] { return sum(x + 1, 4); }, {"axis 4"});
  expect_error<index_error>([&] { return n.array({}).sum(0); }, {"axis 0"});
  // A repeated axis is an error too.
  expect_error<index_error>([&] { return x.sum({1, -1}); }, {"repeated"});
  EXPECT_EQ(*n.calls, 0);
}

// --- chunk specs ------------------------------------------------------------------------------

TEST(BadInput, InvalidChunkSpecsNameTheProblem) {
  // Zero or negative sizes (other than -1, "the whole axis").
  expect_error<value_error>([] { return zeros({10}, 0); }, {"chunk", "0", "positive"});
  expect_error<value_error>([] { return zeros({10, 4}, {2, -3}); }, {"-3", "axis 1", "positive"});
  expect_error<value_error>([] { return zeros({10}, -2); }, {"-2", "positive"});
  expect_error<value_error>(
      [] {
        return zeros({10}, ChunkSpec::explicit_sizes({{0, 10}}));
      },
      {"(0, 10)", "positive"});
  expect_error<value_error>(
      [] {
        return zeros({10}, ChunkSpec::explicit_sizes({{-1, 11}}));
      },
      {"(-1, 11)", "positive"});
  // Explicit sizes that do not add up to the axis length.
  expect_error<shape_error>(
      [] {
        return zeros({10, 4}, ChunkSpec::explicit_sizes({{3, 3}, {4}}));
      },
      {"(3, 3)", "6", "10", "(10, 4)"});
  expect_error<shape_error>(
      [] {
        return ones({10}, ChunkSpec::explicit_sizes({{4, 4, 4}}));
      },
      {"(4, 4, 4)", "12", "10"});
  // The wrong number of axes.
  expect_error<shape_error>([] { return zeros({10, 4}, {2, 2, 2}); }, {"3 axes", "(10, 4)", "2"});
  expect_error<shape_error>(
      [] {
        return zeros({10, 4}, ChunkSpec::explicit_sizes({{10}}));
      },
      {"1 axes", "(10, 4)"});
  expect_error<shape_error>([] { return arange(6, {.chunks = ChunkSpec{2, 3}}); }, {"(6,)"});
  // The same checks apply to every creation function.
  expect_error<value_error>([] { return arange(10, {.chunks = 0}); }, {"positive"});
  expect_error<value_error>([] { return eye(4, ChunkSpec{2, 0}); }, {"positive"});
  expect_error<shape_error>(
      [] {
        return linspace(0, 1, 5, ChunkSpec::explicit_sizes({{2, 2}}));
      },
      {"(2, 2)", "5"});
  expect_error<value_error>(
      [] {
        return from_xtensor(xt::xarray<double>{1, 2, 3}, ChunkSpec(-7));
      },
      {"-7"});
}

TEST(BadInput, CreationArgumentsAreChecked) {
  expect_error<value_error>([] { return arange(0, 10, 0); }, {"step"});
  expect_error<value_error>([] { return arange(0, std::numeric_limits<double>::infinity(), 1); },
                            {"finite"});
  expect_error<value_error>([] { return linspace(0, 1, -3); }, {"-3"});
  expect_error<shape_error>([] { return zeros({4, -1}); }, {"(4, -1)"});
  expect_error<shape_error>(
      [] {
        return fromfunction<double>([](index_t i) { return static_cast<double>(i); }, {2, 2});
      },
      {"(2, 2)"});
  const std::vector<float> data(5);
  expect_error<shape_error>(
      [&] {
        return from_buffer(std::span<const float>(data), {2, 3});
      },
      {"5", "(2, 3)"});
}

TEST(BadInput, SizesPastTwoToThe63AreTooBig) {
  // NumPy: "array is too big". Unchecked, (2^32, 2^32) had size 0 and sum 0, and indexing its
  // slices or a from_buffer of an empty span read out of bounds.
  const index_t n = index_t{1} << 32;
  expect_error<shape_error>(
      [&] {
        return ones({n, n}, -1);
      },
      {"array is too big", "(4294967296, 4294967296)"});
  expect_error<shape_error>([&] { return ones({n, n}); }, {"array is too big"});
  expect_error<shape_error>(
      [&] {
        return zeros({n, n, 2}, {-1, -1, -1}, DType::Int32);
      },
      {"array is too big", "(4294967296, 4294967296, 2)"});
  // The elements fit, the bytes do not.
  expect_error<shape_error>(
      [&] {
        return full({index_t{1} << 31, index_t{1} << 31}, 1.5, -1);
      },
      {"array is too big", "float64"});
  expect_error<shape_error>([&] { return eye(n); }, {"array is too big"});
  expect_error<shape_error>([&] { return linspace(0, 1, index_t{1} << 61, -1); },
                            {"array is too big"});
  const std::vector<double> none;
  expect_error<shape_error>(
      [&] {
        return from_buffer(std::span<const double>(none), {n, n}, 10);
      },
      {"(4294967296, 4294967296)"});
  expect_error<shape_error>([&] { return shape_size({n, n}); }, {"array is too big"});
  expect_error<shape_error>([&] { return Block(DType::Float64, {n, n}); }, {"array is too big"});
  // Chunk sizes whose sum overflows (2^62 + 2^62).
  expect_error<shape_error>(
      [&] {
        return ChunkGrid(std::vector<std::vector<index_t>>{{n << 30, n << 30}});
      },
      {"2^63"});
  expect_error<shape_error>(
      [&] {
        return zeros({n}, ChunkSpec::explicit_sizes({{n << 30, n << 30}}));
      },
      {"2^63"});
  // Sizes that fit are fine, and so is any empty shape, as in NumPy.
  EXPECT_EQ(zeros({0, n, n}, -1).size(), 0);
  EXPECT_EQ(zeros({0, n, n}).size(), 0);
  EXPECT_EQ(from_buffer(std::span<const double>(none), {n, 0, n}).size(), 0);
  EXPECT_EQ(zeros({0, n, n}).sum(1).shape(), (Shape{0, n}));
  const Array big = ones({index_t{1} << 30, index_t{1} << 30}, index_t{1} << 25, DType::Int32);
  EXPECT_EQ(big.size(), index_t{1} << 60);
  EXPECT_EQ(big.nbytes(), std::size_t{1} << 62);
  EXPECT_EQ((big[{Slice{std::nullopt, std::nullopt, -3}, 7}]).shape(),
            (Shape{((index_t{1} << 30) + 2) / 3}));
}

TEST(BadInput, ChunkCountsAreBoundedBeforeAnyListIsBuilt) {
  // (2^58,) float64 in automatic 128 MiB chunks is 2^34 chunks: the per-chunk lists alone would
  // take 256 GiB. The count is checked first, with a message that says what to do.
  expect_error<shape_error>([] { return linspace(0, 1, index_t{1} << 58); },
                            {"too many chunks", "(288230376151711744,)", "larger chunks"});
  expect_error<shape_error>(
      [] {
        return ones({index_t{1} << 40, 4}, {1, -1}, DType::Bool);
      },
      {"too many chunks", "(1099511627776, 4)"});
  expect_error<shape_error>([] { return zeros({ChunkGrid::max_chunks + 1}, 1); },
                            {"too many chunks", std::to_string(ChunkGrid::max_chunks)});
  // A grid given explicitly: 2^14 chunks per axis are short lists, 2^42 chunks in all.
  expect_error<shape_error>(
      [] {
        const std::vector<index_t> axis(std::size_t{1} << 14, 1);
        return ChunkGrid({axis, axis, axis});
      },
      {"too many chunks"});
  EXPECT_EQ(zeros({index_t{1} << 20}, 1 << 4).chunks().num_chunks(), index_t{1} << 16);
}

TEST(BadInput, AllocationFailuresNameTheBytesShapeAndDtype) {
  // 2^62 bytes exceed any address space, overcommit or not: a memory_error (a tessera::error)
  // naming what was asked for, not a bare std::bad_alloc.
  const index_t n = index_t{1} << 59;
  expect_error<memory_error>(
      [&] { return Block(DType::Float64, {n}); },
      {"4.0 EiB", "4611686018427387904 bytes", "(576460752303423488,)", "float64"});
  expect_error<error>([&] { return Block(DType::Int32, {n, 2}); }, {"unable to allocate"});
  // Inside a task the same error reaches the caller as the task's error.
  const Array big = ones({n}, -1);
  for (int i = 0; i < 4; ++i) {  // the local schedulers: a failing task is not collective here
    Scheduler& s = *all_schedulers()[static_cast<std::size_t>(i)];
    try {
      (void)big.compute_block({.scheduler = &s});
      ADD_FAILURE() << "no exception on " << s.name();
    } catch (const task_error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr("unable to allocate"), HasSubstr("4.0 EiB"),
                                  HasSubstr("float64")));
    }
  }
}

// --- indexing ---------------------------------------------------------------------------------

TEST(BadInput, IndexOutOfRangeIsAnIndexError) {
  Counted n;
  const Array v = n.array({5}), m = n.array({3, 4});
  expect_error<index_error>([&] { return v[{5}]; }, {"5", "axis 0", "size 5"});
  expect_error<index_error>([&] { return v[{-6}]; }, {"-6", "axis 0"});
  expect_error<index_error>([&] { return m[{0, 4}]; }, {"4", "axis 1", "size 4"});
  expect_error<index_error>([&] { return m[{-4, 0}]; }, {"-4", "axis 0", "size 3"});
  expect_error<index_error>([&] { return m[{Slice{}, 9}]; }, {"9", "axis 1"});
  expect_error<index_error>([&] { return m[{0, 0, 0}]; }, {"too many indices"});
  expect_error<index_error>([&] { return n.array({0})[{0}]; }, {"0", "axis 0"});
  // Slices are clamped, as in NumPy: no error, possibly empty.
  EXPECT_EQ((v[{Slice{2, 100}}]).shape(), (Shape{3}));
  EXPECT_EQ((v[{Slice{7, 9}}]).shape(), (Shape{0}));
  EXPECT_EQ(*n.calls, 0);
}

TEST(BadInput, SliceStepZeroIsAValueError) {
  Counted n;
  const Array m = n.array({3, 4});
  expect_error<value_error>(
      [&] {
        return m[{Slice{std::nullopt, std::nullopt, 0}}];
      },
      {"step", "zero"});
  expect_error<value_error>([&] { return m[{Slice{}, Slice{1, 3, 0}}]; }, {"step", "axis 1"});
  EXPECT_EQ(*n.calls, 0);
}

// --- dtypes -----------------------------------------------------------------------------------

TEST(BadInput, ComputeWithTheWrongElementTypeIsADtypeError) {
  Counted n;
  const Array f = n.array({3}), i = n.array({3}, DType::Int32), b = n.array({3}, DType::Bool);
  expect_error<dtype_error>([&] { return f.compute<std::int32_t>(); }, {"int32", "float64"});
  expect_error<dtype_error>([&] { return f.compute<float>(); }, {"float32", "float64", "astype"});
  expect_error<dtype_error>([&] { return i.compute<std::int64_t>(); }, {"int64", "int32"});
  expect_error<dtype_error>([&] { return b.compute<std::int32_t>(); }, {"int32", "bool"});
  expect_error<dtype_error>([&] { return (i + 0.5).compute<std::int32_t>(); }, {"float64"});
  EXPECT_EQ(*n.calls, 0) << "the dtype is checked before computing";
  // ... and with the right type it works.
  EXPECT_EQ(i.compute<std::int32_t>().size(), 3u);
}

TEST(BadInput, UnsupportedDtypeCombinationsAreDtypeErrors) {
  Counted n;
  const Array b = n.array({4}, DType::Bool), c = n.array({4}, DType::Bool);
  expect_error<dtype_error>([&] { return b - c; }, {"boolean subtract"});
  expect_error<dtype_error>([&] { return b - true; }, {"boolean subtract"});
  expect_error<dtype_error>([&] { return false - b; }, {"boolean subtract"});
  expect_error<dtype_error>([&] { return -b; }, {"boolean negative"});
  expect_error<dtype_error>([&] { return -(b && c); }, {"boolean negative"});
  expect_error<dtype_error>([&] { return -(n.array({4}) > 0); }, {"boolean negative"});
  // What NumPy allows on bools still works.
  EXPECT_EQ((b - 1).dtype(), DType::Int64);
  EXPECT_EQ((b - n.array({4}, DType::Int32)).dtype(), DType::Int32);
  EXPECT_EQ((-(b + 0)).dtype(), DType::Int64);
  EXPECT_EQ(*n.calls, 0);
}

TEST(BadInput, OutOfRangeWeakIntegerScalarIsAValueError) {
  Counted n;
  const Array i = n.array({4}, DType::Int32);
  expect_error<value_error>([&] { return i + std::int64_t{3'000'000'000}; },
                            {"3000000000", "int32"});
  EXPECT_EQ((n.array({4}, DType::Int64) + std::int64_t{3'000'000'000}).dtype(), DType::Int64);
  EXPECT_EQ(*n.calls, 0);
}

TEST(BadInput, ItemNeedsASizeOneArray) {
  expect_error<shape_error>([] { return zeros({2, 3}).item<double>(); }, {"(2, 3)"});
}

TEST(BadInput, ItemConvertsAsAstypeDoes) {
  // static_cast<int>(NaN) or of 1e20 is undefined behaviour; item<T>() converts as astype does
  // (x86-64 and NumPy: the integer's minimum).
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  for (const double v : {nan, 1e20, -1e20, 3e9, -2.5, 7.9}) {
    const Array x = scalar(v);
    EXPECT_EQ(x.item<int>(), x.astype(DType::Int32).item<int>()) << v;
    EXPECT_EQ(x.item<std::int64_t>(), x.astype(DType::Int64).item<std::int64_t>()) << v;
    EXPECT_EQ(scalar(static_cast<float>(v)).item<int>(), x.astype(DType::Int32).item<int>()) << v;
  }
  EXPECT_EQ(scalar(nan).item<int>(), std::numeric_limits<int>::min());
  EXPECT_EQ(scalar(1e20).item<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(scalar(7.9).item<int>(), 7);
  EXPECT_EQ(scalar(-1.0).item<unsigned>(), std::numeric_limits<unsigned>::max());
  EXPECT_EQ(scalar(1e19).item<std::uint64_t>(), std::uint64_t{10'000'000'000'000'000'000u});
  EXPECT_TRUE(scalar(nan).item<bool>());
  EXPECT_TRUE(std::isnan(scalar(nan).item<float>()));
  static_assert(detail::convert_value<int>(1e20) == std::numeric_limits<int>::min());
  static_assert(detail::convert_value<int>(-2.5) == -2);
  // 8- and 16-bit: the int32 conversion modulo 2^16, as NumPy's astype(int16) on x86-64.
  static_assert(detail::convert_value<std::int16_t>(40000.0) == -25536);
}

// --- errors inside tasks ----------------------------------------------------------------------

class TaskErrors : public ::testing::TestWithParam<int> {
 protected:
  Scheduler& sched() const { return *all_schedulers()[static_cast<std::size_t>(GetParam())]; }
};

INSTANTIATE_TEST_SUITE_P(Schedulers, TaskErrors, ::testing::Range(0, num_schedulers()),
                         scheduler_param_name);

Array throwing_array(index_t bad, const ChunkSpec& chunks) {
  return fromfunction<double>(
      [bad](index_t i, index_t j) {
        if (i * 10 + j == bad) throw std::runtime_error("bad element " + std::to_string(bad));
        return static_cast<double>(i * 10 + j);
      },
      {6, 10}, chunks);
}

TEST_P(TaskErrors, ThrowingFromfunctionReachesTheCallerAsTaskError) {
  for (const ChunkSpec& chunks : {ChunkSpec(-1), ChunkSpec(3), ChunkSpec{2, 5}, ChunkSpec(1)}) {
    const Array x = throwing_array(37, chunks);  // building does not call the function
    try {
      (void)x.compute<double>({.scheduler = &sched()});
      FAIL() << "expected task_error";
    } catch (const task_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("fromfunction"));
      EXPECT_THAT(e.what(), HasSubstr("bad element 37"));
      EXPECT_THAT(e.task(), HasSubstr("fromfunction"));
      EXPECT_EQ(e.what_original(), "bad element 37");
    }
    // The scheduler still works for the next compute.
    EXPECT_TRUE(matches(arange(0.0, 5.0, 1.0, {.chunks = 2}) * 2, xt::xarray<double>{0, 2, 4, 6, 8},
                        sched()));
  }
}

TEST_P(TaskErrors, ThrowingFromfunctionInsideAFusedChainOrReduction) {
  const Array x = throwing_array(59, ChunkSpec{4, 4});
  for (const Array& y : {sqrt(x * 2 + 1), x.sum(), (x + 1).mean(0)}) {
    try {
      (void)y.compute_block({.scheduler = &sched()});
      FAIL() << "expected task_error";
    } catch (const task_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("bad element 59"));
      EXPECT_THAT(e.what(), HasSubstr(e.task()));
      EXPECT_EQ(e.what_original(), "bad element 59");
    }
  }
  // A slice that needs only the first row of chunks (rows 0-3) never runs the failing chunk.
  const auto ok = x[{Slice{0, 4}}].compute<double>({.scheduler = &sched()});
  EXPECT_EQ(ok(3, 9), 39.0);
}

TEST_P(TaskErrors, NegativeIntegerPowerIsReportedWhenComputed) {
  const Array x = arange(6, {.chunks = 2}).astype(DType::Int32);
  const Array y = pow(x, -2);  // building is fine: the exponent is data
  try {
    (void)y.compute<std::int32_t>({.scheduler = &sched()});
    FAIL() << "expected task_error";
  } catch (const task_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("negative integer powers"), HasSubstr(e.task())));
  }
  EXPECT_TRUE(matches(pow(x, 2), xt::xarray<std::int32_t>{0, 1, 4, 9, 16, 25}, sched()));
}

}  // namespace
}  // namespace tessera::testing
