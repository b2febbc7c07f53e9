// Reductions: every NumPy reduction over all, one (positive and negative) and several axes,
// with and without keepdims, over 1-d, 2-d and 3-d arrays of several dtypes, chunked every
// way tessera::testing::chunkings() knows and run on every scheduler; compared with a serial
// xtensor reference on the whole array.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Op { Sum, Prod, Mean, Min, Max, Var0, Var1, Std0, Std1, Any, All, Argmin, Argmax };
constexpr Op kAllOps[] = {Op::Sum,  Op::Prod, Op::Mean, Op::Min, Op::Max,    Op::Var0,  Op::Var1,
                          Op::Std0, Op::Std1, Op::Any,  Op::All, Op::Argmin, Op::Argmax};

const char* op_name(Op op) {
  static const char* names[] = {"sum",         "prod",        "mean",        "min",         "max",
                                "var(ddof=0)", "var(ddof=1)", "std(ddof=0)", "std(ddof=1)", "any",
                                "all",         "argmin",      "argmax"};
  return names[static_cast<int>(op)];
}

/// A reduction spec: all axes (`all`), or an explicit list (possibly negative).
struct AxesCase {
  bool all;
  std::vector<int> axes;
  std::string str() const {
    if (all) return "all";
    std::string s = "(";
    for (int a : axes) s += std::to_string(a) + ",";
    return s + ")";
  }
};

std::vector<AxesCase> axes_cases(int nd) {
  switch (nd) {
    case 1:
      return {{true, {}}, {false, {0}}, {false, {-1}}};
    case 2:
      return {{true, {}}, {false, {0}}, {false, {1}}, {false, {-1}}, {false, {-2, 1}}};
    default:
      return {{true, {}},      {false, {0}},    {false, {1}},       {false, {-1}},
              {false, {0, 2}}, {false, {2, 1}}, {false, {0, 1, -1}}};
  }
}

/// Deterministic, tie-rich data: floats are multiples of 1/8 (so sums are exact in any
/// order), integers lie in [-10, 10], bools are true about a third of the time. With
/// `for_prod`, values are mostly +-1 with a few 2 (and 0.5 for floats) so products stay
/// exact and in range.
template <class T>
xt::xarray<T> make_data(const Shape& shape, std::uint64_t salt, bool for_prod = false) {
  xt::xarray<T> x = xt::xarray<T>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ salt;
  for (std::size_t i = 0; i < x.size(); ++i) {
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    h += 0x632be59bd9b4e5bbULL;
    const auto r = static_cast<std::int64_t>((h >> 33) % 33);
    if constexpr (std::is_same_v<T, bool>) {
      x.flat(i) = r % 3 == 0;
    } else if (for_prod) {
      const std::int64_t k = r % 16;
      if constexpr (std::is_floating_point_v<T>) {
        x.flat(i) = k == 0 ? T(2) : k == 1 ? T(0.5) : (k % 2 ? T(1) : T(-1));
      } else {
        x.flat(i) = k == 0 ? T(2) : (k % 2 ? T(1) : T(-1));
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      x.flat(i) = static_cast<T>(r - 16) / T(8);
    } else {
      x.flat(i) = static_cast<T>(r % 21 - 10);
    }
  }
  return x;
}

std::vector<std::size_t> resolve_axes(const AxesCase& c, int nd) {
  std::vector<std::size_t> out;
  if (c.all) {
    for (int a = 0; a < nd; ++a) out.push_back(static_cast<std::size_t>(a));
  } else {
    for (int a : c.axes) out.push_back(static_cast<std::size_t>(a < 0 ? a + nd : a));
    std::sort(out.begin(), out.end());
  }
  return out;
}

/// `r` (the reduced shape) with the reduced axes put back as 1s.
template <class R>
xt::xarray<R> keepdims_form(xt::xarray<R> r, const Shape& in, const std::vector<std::size_t>& axes,
                            bool keepdims) {
  if (!keepdims) return r;
  std::vector<std::size_t> shape(in.begin(), in.end());
  for (std::size_t a : axes) shape[a] = 1;
  r.reshape(shape);
  return r;
}

/// Variance over `axes` with `ddof`, from xtensor's lazy reducers. (xt::variance evaluates
/// its mean with the immediate strategy, which xtensor 0.24 gets wrong for std::vector axes.)
xt::xarray<double> variance_ref(const xt::xarray<double>& x, const std::vector<std::size_t>& axes,
                                int ddof) {
  xt::xarray<double> m = xt::mean(x, axes);
  std::vector<std::size_t> kept(x.shape().begin(), x.shape().end());
  std::size_t n = 1;
  for (std::size_t a : axes) n *= std::exchange(kept[a], 1);
  m.reshape(kept);
  const xt::xarray<double> dev2 = xt::square(x - m);
  return xt::xarray<double>(xt::sum(dev2, axes)) / (static_cast<double>(n) - ddof);
}

/// The tessera reduction `op` of `x`.
Array reduce(Op op, const Array& x, const AxesCase& c, bool keepdims, int split_every = 0) {
  const Axes axes = c.all ? Axes() : Axes(c.axes);
  ReduceOptions o{.keepdims = keepdims, .ddof = 0, .split_every = split_every};
  switch (op) {
    case Op::Sum:
      return x.sum(axes, o);
    case Op::Prod:
      return x.prod(axes, o);
    case Op::Mean:
      return x.mean(axes, o);
    case Op::Min:
      return x.min(axes, o);
    case Op::Max:
      return x.max(axes, o);
    case Op::Var0:
      return x.var(axes, o);
    case Op::Std0:
      return x.std(axes, o);
    case Op::Var1:
      o.ddof = 1;
      return x.var(axes, o);
    case Op::Std1:
      o.ddof = 1;
      return x.std(axes, o);
    case Op::Any:
      return x.any(axes, o);
    case Op::All:
      return x.all(axes, o);
    case Op::Argmin:  // the members take one axis; the free functions several
      return c.axes.size() == 1 ? x.argmin(c.axes[0], o) : argmin(x, axes, o);
    case Op::Argmax:
      return c.axes.size() == 1 ? x.argmax(c.axes[0], o) : argmax(x, axes, o);
  }
  return {};
}

/// argmin (or argmax) of `x` over `axes` (sorted), by NumPy's rule on the array with the kept
/// axes first and the reduced ones flattened into a last axis: the first NaN, else the first
/// extreme.
xt::xarray<std::int64_t> arg_reference(const xt::xarray<double>& x,
                                       const std::vector<std::size_t>& axes, bool min) {
  std::vector<std::size_t> perm, kept_shape;
  std::size_t inner = 1;
  for (std::size_t a = 0; a < x.dimension(); ++a) {
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) {
      perm.push_back(a);
      kept_shape.push_back(x.shape()[a]);
    }
  }
  for (std::size_t a : axes) {
    perm.push_back(a);
    inner *= x.shape()[a];
  }
  const xt::xarray<double> t = xt::transpose(x, perm);  // row-major copy: kept, then reduced
  xt::xarray<std::int64_t> r = xt::zeros<std::int64_t>(kept_shape);
  for (std::size_t o = 0; o < r.size(); ++o) {
    const double* v = t.data() + o * inner;
    std::size_t best = 0;
    for (std::size_t k = 0; k < inner; ++k) {
      if (std::isnan(v[k])) {
        best = k;
        break;
      }
      if (min ? v[k] < v[best] : v[k] > v[best]) best = k;
    }
    r.flat(o) = static_cast<std::int64_t>(best);
  }
  return r;
}

/// NumPy's result dtype, written out per case (not derived from the library's tables).
DType expected_dtype(Op op, DType in) {
  switch (op) {
    case Op::Sum:
    case Op::Prod:
      return in == DType::Float32   ? DType::Float32
             : in == DType::Float64 ? DType::Float64
                                    : DType::Int64;
    case Op::Mean:
    case Op::Var0:
    case Op::Var1:
    case Op::Std0:
    case Op::Std1:
      return in == DType::Float32 ? DType::Float32 : DType::Float64;
    case Op::Min:
    case Op::Max:
      return in;
    case Op::Any:
    case Op::All:
      return DType::Bool;
    case Op::Argmin:
    case Op::Argmax:
      return DType::Int64;
  }
  return in;
}

/// Compares `got` with the xtensor reference for `op` on the whole of `ref`.
template <class T>
::testing::AssertionResult check_reduction(Op op, const Array& x, const xt::xarray<T>& ref,
                                           const AxesCase& c, bool keepdims, Scheduler& s,
                                           int split_every = 0) {
  const Shape shape(ref.shape().begin(), ref.shape().end());
  const int nd = static_cast<int>(shape.size());
  const auto axes = resolve_axes(c, nd);
  const Array got = reduce(op, x, c, keepdims, split_every);
  const DType want = expected_dtype(op, dtype_of<T>());
  if (got.dtype() != want) {
    return ::testing::AssertionFailure() << op_name(op) << ": dtype " << dtype_name(got.dtype())
                                         << ", expected " << dtype_name(want);
  }
  constexpr bool is_f32 = std::is_same_v<T, float>;
  const double rtol = is_f32 ? 2e-6 : 1e-12;
  const xt::xarray<double> xd = xt::cast<double>(ref);
  auto result = [&]() -> ::testing::AssertionResult {
    switch (op) {
      case Op::Sum:
      case Op::Prod: {
        if constexpr (std::is_floating_point_v<T>) {
          xt::xarray<double> r = op == Op::Sum ? xt::xarray<double>(xt::sum(xd, axes))
                                               : xt::xarray<double>(xt::prod(xd, axes));
          return matches<T>(got, keepdims_form<T>(xt::cast<T>(r), shape, axes, keepdims), s, rtol);
        } else {
          const xt::xarray<std::int64_t> xi = xt::cast<std::int64_t>(ref);
          xt::xarray<std::int64_t> r = op == Op::Sum ? xt::xarray<std::int64_t>(xt::sum(xi, axes))
                                                     : xt::xarray<std::int64_t>(xt::prod(xi, axes));
          return matches<std::int64_t>(got, keepdims_form(r, shape, axes, keepdims), s);
        }
      }
      case Op::Mean:
      case Op::Var0:
      case Op::Var1:
      case Op::Std0:
      case Op::Std1: {
        xt::xarray<double> r = xt::mean(xd, axes);
        if (op != Op::Mean) {
          const int ddof = op == Op::Var1 || op == Op::Std1 ? 1 : 0;
          r = variance_ref(xd, axes, ddof);
        }
        if (op == Op::Std0 || op == Op::Std1) r = xt::sqrt(r);
        if constexpr (is_f32)
          return matches<float>(
              got, keepdims_form<float>(xt::cast<float>(r), shape, axes, keepdims), s, rtol);
        else
          return matches<double>(got, keepdims_form(r, shape, axes, keepdims), s, rtol);
      }
      case Op::Min:
      case Op::Max: {
        xt::xarray<double> r = op == Op::Min ? xt::xarray<double>(xt::amin(xd, axes))
                                             : xt::xarray<double>(xt::amax(xd, axes));
        return matches<T>(got, keepdims_form<T>(xt::cast<T>(r), shape, axes, keepdims), s, 0);
      }
      case Op::Any:
      case Op::All: {
        const xt::xarray<int> nz = xt::cast<int>(xt::not_equal(xd, 0.0));
        xt::xarray<int> r = op == Op::Any ? xt::xarray<int>(xt::amax(nz, axes))
                                          : xt::xarray<int>(xt::amin(nz, axes));
        return matches<bool>(got, keepdims_form<bool>(xt::cast<bool>(r), shape, axes, keepdims), s);
      }
      case Op::Argmin:
      case Op::Argmax:
        return matches<std::int64_t>(
            got, keepdims_form(arg_reference(xd, axes, op == Op::Argmin), shape, axes, keepdims),
            s);
    }
    return ::testing::AssertionFailure() << "unknown op";
  }();
  if (!result) {
    result << " [" << op_name(op) << " axes " << c.str() << " keepdims " << keepdims
           << " split_every " << split_every << " dtype " << dtype_name(dtype_of<T>()) << " shape "
           << shape_string(shape) << "]";
  }
  return result;
}

/// Every op, every axes case, keepdims both ways, every chunking; the scheduler rotates
/// through all of them from one case to the next.
template <class T>
void sweep(const Shape& shape) {
  const auto schedulers = all_schedulers();
  std::size_t turn = 0;
  const xt::xarray<T> data = make_data<T>(shape, 17);
  const xt::xarray<T> pdata = make_data<T>(shape, 29, /*for_prod=*/true);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(data, spec);
    const Array px = from_xtensor(pdata, spec);
    for (Op op : kAllOps) {
      for (const AxesCase& c : axes_cases(static_cast<int>(shape.size()))) {
        for (bool keepdims : {false, true}) {
          Scheduler& s = *schedulers[turn++ % schedulers.size()];
          if (op == Op::Prod) {
            EXPECT_TRUE(check_reduction<T>(op, px, pdata, c, keepdims, s))
                << "chunks " << px.chunks().to_string();
          } else {
            EXPECT_TRUE(check_reduction<T>(op, x, data, c, keepdims, s))
                << "chunks " << x.chunks().to_string();
          }
        }
      }
    }
  }
}

const Shape kShape1{13};
const Shape kShape2{7, 9};
const Shape kShape3{3, 4, 5};

TEST(Reductions, Float64MatchesXtensor) {
  sweep<double>(kShape1);
  sweep<double>(kShape2);
  sweep<double>(kShape3);
}

TEST(Reductions, Float32MatchesXtensor) {
  sweep<float>(kShape1);
  sweep<float>(kShape2);
  sweep<float>(kShape3);
}

TEST(Reductions, Int32MatchesXtensor) {
  sweep<std::int32_t>(kShape1);
  sweep<std::int32_t>(kShape2);
  sweep<std::int32_t>(kShape3);
}

TEST(Reductions, Int64MatchesXtensor) {
  sweep<std::int64_t>(kShape2);
  sweep<std::int64_t>(kShape3);
}

TEST(Reductions, BoolMatchesXtensor) {
  sweep<bool>(kShape1);
  sweep<bool>(kShape3);
}

TEST(Reductions, EveryOpOnEveryScheduler) {
  const xt::xarray<double> data = make_data<double>(kShape3, 5);
  const xt::xarray<double> pdata = make_data<double>(kShape3, 6, true);
  const ChunkSpec spec = chunkings(kShape3)[2];  // irregular
  const Array x = from_xtensor(data, spec), px = from_xtensor(pdata, spec);
  for (const auto& s : all_schedulers()) {
    for (Op op : kAllOps) {
      for (const AxesCase& c : {AxesCase{true, {}}, AxesCase{false, {1}}, AxesCase{false, {-1}}}) {
        const bool p = op == Op::Prod;
        EXPECT_TRUE(check_reduction<double>(op, p ? px : x, p ? pdata : data, c, true, *s))
            << s->name();
        EXPECT_TRUE(check_reduction<double>(op, p ? px : x, p ? pdata : data, c, false, *s))
            << s->name();
      }
    }
  }
}

TEST(Reductions, ResultDtypesFollowNumPy) {
  const Shape shape{4, 3};
  auto of = [&](DType d) { return zeros(shape, 2, d); };
  EXPECT_EQ(of(DType::Int32).sum().dtype(), DType::Int64);
  EXPECT_EQ(of(DType::Int64).sum().dtype(), DType::Int64);
  EXPECT_EQ(of(DType::Bool).sum().dtype(), DType::Int64);
  EXPECT_EQ(of(DType::Float32).sum().dtype(), DType::Float32);
  EXPECT_EQ(of(DType::Float64).sum().dtype(), DType::Float64);
  EXPECT_EQ(of(DType::Int32).prod().dtype(), DType::Int64);
  EXPECT_EQ(of(DType::Float32).prod(0).dtype(), DType::Float32);
  EXPECT_EQ(of(DType::Int32).mean().dtype(), DType::Float64);
  EXPECT_EQ(of(DType::Int64).mean(1).dtype(), DType::Float64);
  EXPECT_EQ(of(DType::Bool).mean().dtype(), DType::Float64);
  EXPECT_EQ(of(DType::Float32).mean().dtype(), DType::Float32);
  EXPECT_EQ(of(DType::Int32).var().dtype(), DType::Float64);
  EXPECT_EQ(of(DType::Float32).std().dtype(), DType::Float32);
  EXPECT_EQ(of(DType::Int32).min().dtype(), DType::Int32);
  EXPECT_EQ(of(DType::Float32).max().dtype(), DType::Float32);
  EXPECT_EQ(of(DType::Bool).max().dtype(), DType::Bool);
  EXPECT_EQ(of(DType::Float64).any().dtype(), DType::Bool);
  EXPECT_EQ(of(DType::Int32).all(0).dtype(), DType::Bool);
  EXPECT_EQ(of(DType::Float32).argmin().dtype(), DType::Int64);
  EXPECT_EQ(of(DType::Int32).argmax(1).dtype(), DType::Int64);
  // Shapes.
  EXPECT_EQ(of(DType::Float64).sum().shape(), Shape{});
  EXPECT_EQ(of(DType::Float64).sum(Axes(), {.keepdims = true}).shape(), (Shape{1, 1}));
  EXPECT_EQ(of(DType::Float64).sum(-1).shape(), Shape{4});
  EXPECT_EQ(of(DType::Float64).sum(0, {.keepdims = true}).shape(), (Shape{1, 3}));
  EXPECT_EQ(of(DType::Float64).argmin(std::nullopt, {.keepdims = true}).shape(), (Shape{1, 1}));
  EXPECT_EQ(of(DType::Float64).argmax(0).shape(), Shape{3});
}

TEST(Reductions, IntegerSumsDoNotOverflowTheInputType) {
  const Array big = full({10}, std::int64_t{2'000'000'000}, 3, DType::Int32);
  EXPECT_EQ(big.sum().item<std::int64_t>(), 20'000'000'000);
  EXPECT_EQ(big.sum().dtype(), DType::Int64);
  EXPECT_EQ(full({3}, std::int64_t{100'000}, 2, DType::Int32).prod().item<std::int64_t>(),
            1'000'000'000'000'000);
  EXPECT_DOUBLE_EQ(big.mean().item<double>(), 2e9);
  // Booleans count.
  EXPECT_EQ(ones({1000}, 7, DType::Bool).sum().item<std::int64_t>(), 1000);
}

TEST(Reductions, Int64SumAndProdWrapAsNumPy) {
  // NumPy wraps int64 overflow modulo 2^64; in C++ signed overflow is undefined behaviour, so
  // the accumulation is done in unsigned arithmetic (UBSan flags the old code).
  constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t low = std::numeric_limits<std::int64_t>::min();
  const xt::xarray<std::int64_t> d{big, 1, big, 2, low, -1, 5, big};
  std::uint64_t wsum = 0, wprod = 1;
  for (const std::int64_t v : d) {
    wsum += static_cast<std::uint64_t>(v);
    wprod *= static_cast<std::uint64_t>(v);
  }
  // Long runs take the vectorised path, columns the per-element one.
  xt::xarray<std::int64_t> wide = xt::zeros<std::int64_t>({3, 100});
  for (std::size_t j = 0; j < 100; ++j)
    wide(0, j) = wide(1, j) = big - static_cast<std::int64_t>(j);
  for (const ChunkSpec& spec : chunkings({8})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const ComputeOptions o{.scheduler = s.get()};
      EXPECT_EQ(x.sum().item<std::int64_t>(o), static_cast<std::int64_t>(wsum));
      EXPECT_EQ(x.prod().item<std::int64_t>(o), static_cast<std::int64_t>(wprod));
      EXPECT_EQ(x.sum(Axes(), {.split_every = 2}).item<std::int64_t>(o),
                static_cast<std::int64_t>(wsum));
    }
  }
  for (const ChunkSpec& spec : chunkings({3, 100})) {
    const Array w = from_xtensor(wide, spec);
    auto col = xt::xarray<std::int64_t>::from_shape({100});
    auto row = xt::xarray<std::int64_t>::from_shape({3});
    std::vector<std::uint64_t> rs(3, 0);
    for (std::size_t j = 0; j < 100; ++j) {
      col(j) = static_cast<std::int64_t>(static_cast<std::uint64_t>(wide(0, j)) +
                                         static_cast<std::uint64_t>(wide(1, j)));
      for (std::size_t i = 0; i < 3; ++i) rs[i] += static_cast<std::uint64_t>(wide(i, j));
    }
    for (std::size_t i = 0; i < 3; ++i) row(i) = static_cast<std::int64_t>(rs[i]);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(matches<std::int64_t>(w.sum(0), col, *s));
      EXPECT_TRUE(matches<std::int64_t>(w.sum(1), row, *s));
    }
  }
}

TEST(Reductions, OutputChunksKeepTheNonReducedAxes) {
  const Array x = ones({7, 9, 4}, ChunkSpec{3, 4, 2});
  EXPECT_EQ(x.sum(0).chunks().to_string(), "((4, 4, 1), (2, 2))");
  EXPECT_EQ(x.sum(0, {.keepdims = true}).chunks().to_string(), "((1,), (4, 4, 1), (2, 2))");
  EXPECT_EQ(x.max({0, 2}).chunks().to_string(), "((4, 4, 1),)");
  EXPECT_EQ(x.argmin(-1).chunks().to_string(), "((3, 3, 1), (4, 4, 1))");
  EXPECT_EQ(x.mean().chunks().num_chunks(), 1);
}

TEST(Reductions, AnyAndAllTreatNaNAsTrue) {
  const Array x = from_xtensor(xt::xarray<double>{0.0, kNaN, 0.0}, 1);
  EXPECT_TRUE(x.any().item<bool>());
  EXPECT_FALSE(x.all().item<bool>());
  EXPECT_TRUE((x[{Slice{1, 2}}].all().item<bool>()));
  EXPECT_FALSE((x[{Slice{{}, {}, 2}}].any().item<bool>()));
}

TEST(Reductions, VarianceIsNumericallyStable) {
  // A large offset must not swamp a small spread (no sum-of-squares shortcut).
  xt::xarray<double> d = xt::arange<double>(1000);
  d = d * 0.001 + 1e9;
  const double want = variance_ref(d, {0}, 0)();
  for (const ChunkSpec& spec :
       {ChunkSpec(index_t{-1}), ChunkSpec(index_t{7}), ChunkSpec(index_t{1})}) {
    const Array x = from_xtensor(d, spec);
    EXPECT_NEAR(x.var().item<double>(), want, 1e-6 * want) << x.chunks().to_string();
    EXPECT_NEAR(x.std(0, {.ddof = 1}).item<double>(), std::sqrt(variance_ref(d, {0}, 1)()), 1e-6);
    EXPECT_NEAR((x * 1.0).var(Axes(), {.split_every = 2}).item<double>(), want, 1e-6 * want);
  }
}

TEST(Reductions, TinyTilesGiveTheSameReductions) {
  // Tiles that split rows: every op must fold runs that start mid-row correctly.
  const xt::xarray<std::int32_t> d = make_data<std::int32_t>(kShape3, 41);
  const xt::xarray<std::int32_t> pd = make_data<std::int32_t>(kShape3, 42, true);
  const Array x = from_xtensor(d, chunkings(kShape3)[1]) + 0;  // fused: evaluated in tiles
  const Array px = from_xtensor(pd, chunkings(kShape3)[1]) + 0;
  const auto schedulers = all_schedulers();
  std::size_t turn = 0;
  for (index_t tile : {1, 3, 7}) {
    for (Op op : kAllOps) {
      for (const AxesCase& c : axes_cases(3)) {
        const bool p = op == Op::Prod;
        const Array got = reduce(op, p ? px : x, c, false);
        const Array want = reduce(op, p ? from_xtensor(pd, -1) : from_xtensor(d, -1), c, false);
        Scheduler& s = *schedulers[turn++ % schedulers.size()];
        const Block a = got.compute_block({.scheduler = &s, .lowering = {.tile_elements = tile}});
        const Block b = want.compute_block({.scheduler = &s});
        ASSERT_EQ(a.shape(), b.shape());
        ASSERT_EQ(a.dtype(), b.dtype());
        visit_dtype(a.dtype(), [&]<class T>() {
          for (index_t i = 0; i < a.size(); ++i) {
            if constexpr (std::is_floating_point_v<T>) {
              EXPECT_NEAR(a.data_as<T>()[i], b.data_as<T>()[i], 1e-12)
                  << op_name(op) << " tile " << tile;
            } else {
              EXPECT_EQ(a.data_as<T>()[i], b.data_as<T>()[i])
                  << op_name(op) << " " << c.str() << " tile " << tile;
            }
          }
        });
      }
    }
  }
}

TEST(Reductions, FreeFunctionsEqualMembers) {
  const xt::xarray<double> data = make_data<double>(kShape2, 3);
  const Array x = from_xtensor(data, ChunkSpec{3, 4});
  SynchronousScheduler s;
  auto same = [&](const Array& a, const Array& b) {
    EXPECT_EQ(a.token(), b.token());
    EXPECT_TRUE(matches<double>(a.astype(DType::Float64),
                                b.astype(DType::Float64).compute<double>({.scheduler = &s}), s));
  };
  same(sum(x, 0), x.sum(0));
  same(prod(x), x.prod());
  same(mean(x, {0, 1}), x.mean({0, 1}));
  same(min(x, -1), x.min(-1));
  same(max(x), x.max());
  same(var(x, 1, {.ddof = 1}), x.var(1, {.ddof = 1}));
  same(tessera::std(x), x.std());
  same(any(x), x.any());
  same(all(x, 0), x.all(0));
  same(argmin(x, 1), x.argmin(1));
  same(argmax(x), x.argmax());
}

// --- tree reductions ---------------------------------------------------------------------

/// Combine tasks a tree over `n` partials with fan-in `split` needs (the final task aside).
index_t combine_tasks(index_t n, index_t split) {
  index_t total = 0;
  while (n > split) {
    n = (n + split - 1) / split;
    total += n;
  }
  return total;
}

std::size_t count_labels(const LoweredGraph& lg, std::string_view suffix) {
  std::size_t n = 0;
  for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
    const std::string_view l = lg.graph.label(t);
    if (l.size() >= suffix.size() && l.substr(l.size() - suffix.size()) == suffix) ++n;
  }
  return n;
}

TEST(Reductions, SplitEveryBuildsMultiLevelTrees) {
  // 100 chunks in 1-d and a 10 x 10 chunk grid in 2-d.
  const xt::xarray<double> d1 = make_data<double>({200}, 7);
  const xt::xarray<std::int32_t> d2 = make_data<std::int32_t>({40, 30}, 8);
  const Array x1 = from_xtensor(d1, 2);
  const Array x2 = from_xtensor(d2, ChunkSpec{4, 3});
  ASSERT_EQ(x1.chunks().num_chunks(), 100);
  ASSERT_EQ(x2.chunks().num_chunks(), 100);
  const auto schedulers = all_schedulers();
  std::size_t turn = 0;
  for (int split : {2, 3, 0}) {
    const index_t fan = split == 0 ? 8 : split;
    // Full reductions: 100 partials, a tree of several levels, one final task.
    const LoweredGraph lg = x1.sum(Axes(), {.split_every = split}).lower();
    EXPECT_EQ(count_labels(lg, "-partial"), 100u);
    EXPECT_EQ(count_labels(lg, "-combine"), static_cast<std::size_t>(combine_tasks(100, fan)));
    // Combine tasks are named (label, depth, i, ...): the tree has at least two levels.
    bool deeper = false;
    for (TaskId t = 0; t < static_cast<TaskId>(lg.graph.size()); ++t) {
      deeper = deeper || lg.graph.name(t).find("-combine', 1,") != std::string::npos;
    }
    EXPECT_TRUE(deeper) << "split_every " << split;
    // (The chunks of a from_xtensor array are tasks of their own.)
    EXPECT_EQ(lg.graph.size(), static_cast<std::size_t>(100 + 100 + combine_tasks(100, fan) + 1));
    // Axis reduction of the 2-d grid: one tree of 10 partials per output chunk.
    const LoweredGraph lg2 = x2.sum(0, {.split_every = split}).lower();
    EXPECT_EQ(count_labels(lg2, "-partial"), 100u);
    EXPECT_EQ(count_labels(lg2, "-combine"), static_cast<std::size_t>(10 * combine_tasks(10, fan)));
    for (Op op : kAllOps) {
      Scheduler& s = *schedulers[turn++ % schedulers.size()];
      EXPECT_TRUE(check_reduction<double>(op, x1, d1, {true, {}}, false, s, split));
      EXPECT_TRUE(check_reduction<double>(op, x1, d1, {false, {0}}, true, s, split));
      if (op != Op::Prod) {
        EXPECT_TRUE(check_reduction<std::int32_t>(op, x2, d2, {true, {}}, false, s, split));
        EXPECT_TRUE(check_reduction<std::int32_t>(op, x2, d2, {false, {0}}, false, s, split));
        EXPECT_TRUE(check_reduction<std::int32_t>(op, x2, d2, {false, {-1}}, true, s, split));
      }
    }
  }
}

TEST(Reductions, SplitEveryMustBeAtLeastTwo) {
  const Array x = ones({10}, 2);
  EXPECT_THROW(x.sum(Axes(), {.split_every = 1}), value_error);
  EXPECT_THROW(x.max(0, {.split_every = -3}), value_error);
  EXPECT_NO_THROW(x.sum(Axes(), {.split_every = 2}));
}

// --- fused with elementwise chains ---------------------------------------------------------

TEST(Reductions, FusedOverElementwiseChains) {
  const Shape shape{7, 9};
  const xt::xarray<double> d = make_data<double>(shape, 11);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const xt::xarray<double> cube = xt::pow(2.0 * d + 1.0, 3);
      EXPECT_TRUE(matches<double>(pow(2 * x + 1, 3).sum(), xt::xarray<double>(xt::sum(cube)), *s));
      EXPECT_TRUE(
          matches<double>(pow(2 * x + 1, 3).mean(0), xt::xarray<double>(xt::mean(cube, {0})), *s));
      // Counting with a comparison: bool summed to int64.
      const xt::xarray<std::int64_t> gt = xt::cast<std::int64_t>(d > 0.5);
      EXPECT_TRUE(
          matches<std::int64_t>((x > 0.5).sum(), xt::xarray<std::int64_t>(xt::sum(gt)), *s));
      EXPECT_TRUE(
          matches<std::int64_t>((x > 0.5).sum(1), xt::xarray<std::int64_t>(xt::sum(gt, {1})), *s));
      // where(...) then max along an axis.
      const xt::xarray<double> w = xt::where(d > 0.5, d, -d * 3.0);
      EXPECT_TRUE(matches<double>(where(x > 0.5, x, -x * 3.0).max(0),
                                  xt::xarray<double>(xt::amax(w, {0})), *s));
      EXPECT_TRUE(matches<double>(where(x > 0.5, x, -x * 3.0).max(-1),
                                  xt::xarray<double>(xt::amax(w, {1})), *s));
      // argmin of a chain, var of a chain with a broadcast row.
      const xt::xarray<double> row = xt::view(d, 0, xt::all());
      const Array xrow = from_xtensor(row, 4);
      const xt::xarray<double> diff = d - row;
      const xt::xarray<double> adiff = xt::abs(diff);
      EXPECT_TRUE(matches<std::int64_t>(
          abs(x - xrow).argmin(0),
          xt::xarray<std::int64_t>(xt::cast<std::int64_t>(xt::argmin(adiff, 0))), *s));
      EXPECT_TRUE(
          matches<double>((x - xrow).var(1, {.ddof = 1}), variance_ref(diff, {1}, 1), *s, 1e-12));
    }
  }
}

// --- NaN, ties, empty reductions ---------------------------------------------------------------

TEST(Reductions, NaNPropagatesInMinAndMax) {
  // NaN in the middle of a later chunk, in the first element of a chunk, and in the first
  // chunk: every combination of accumulate and combine paths.
  xt::xarray<double> d = {{1.0, 2.0, -3.0, 4.0, 5.0, 6.0},
                          {1.0, kNaN, -3.0, 4.0, 5.0, 6.0},
                          {7.0, 2.0, -3.0, kNaN, 5.0, 6.0},
                          {kNaN, 2.0, 3.0, 4.0, 5.0, kNaN}};
  for (const ChunkSpec& spec : chunkings({4, 6})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(std::isnan(x.min().item<double>({.scheduler = s.get()})));
      EXPECT_TRUE(std::isnan(x.max().item<double>({.scheduler = s.get()})));
      EXPECT_TRUE(matches<double>(x.min(1), xt::xarray<double>{-3.0, kNaN, kNaN, kNaN}, *s));
      EXPECT_TRUE(matches<double>(x.max(1), xt::xarray<double>{6.0, kNaN, kNaN, kNaN}, *s));
      EXPECT_TRUE(
          matches<double>(x.min(0), xt::xarray<double>{kNaN, kNaN, -3.0, kNaN, 5.0, kNaN}, *s));
      EXPECT_TRUE(
          matches<double>(x.max(0), xt::xarray<double>{kNaN, kNaN, 3.0, kNaN, 5.0, kNaN}, *s));
      // Sums and means propagate NaN too.
      EXPECT_TRUE(matches<double>(x.sum(1), xt::xarray<double>{15.0, kNaN, kNaN, kNaN}, *s));
      EXPECT_TRUE(
          matches<double>(x.mean(0), xt::xarray<double>{kNaN, kNaN, -1.5, kNaN, 5.0, kNaN}, *s));
    }
  }
  // float32, NaN only in the last chunk.
  xt::xarray<float> f = {3.0f, 1.0f, 2.0f, 0.5f, std::numeric_limits<float>::quiet_NaN(), 9.0f};
  const Array xf = from_xtensor(f, 2);
  EXPECT_TRUE(std::isnan(xf.max().item<float>()));
  EXPECT_TRUE(std::isnan(xf.min().item<float>()));
  EXPECT_FLOAT_EQ((xf[{Slice{0, 4}}].min().item<float>()), 0.5f);
}

TEST(Reductions, SignedZerosDoNotDependOnTheChunking) {
  // min and max treat -0.0 as below +0.0, so that a tie between them never depends on which
  // chunk, lane or rank saw which zero first.
  xt::xarray<double> d = {{0.0, -0.0, 1.0, 0.0, -0.0, 0.0}, {-0.0, 0.0, 0.0, 2.0, 0.0, -0.0}};
  for (const ChunkSpec& spec : chunkings({2, 6})) {
    for (const Array& x : {from_xtensor(d, spec), from_xtensor(xt::xarray<float>(d), spec)}) {
      for (const auto& s : all_schedulers()) {
        const ComputeOptions o{.scheduler = s.get()};
        const Block lo = x.min().compute_block(o), hi = (x - 3.0).max().compute_block(o);
        const Block lo1 = x.min(1).compute_block(o), hi0 = x.max(0).compute_block(o);
        visit_dtype(x.dtype(), [&]<class T>() {
          if constexpr (std::is_floating_point_v<T>) {
            EXPECT_TRUE(std::signbit(*lo.data_as<T>())) << x.chunks().to_string();
            EXPECT_EQ(*hi.data_as<T>(), T(-1));
            for (index_t i = 0; i < 2; ++i) EXPECT_TRUE(std::signbit(lo1.data_as<T>()[i]));
            for (index_t i : {0, 1, 4, 5}) {
              EXPECT_EQ(hi0.data_as<T>()[i], T(0));
              EXPECT_FALSE(std::signbit(hi0.data_as<T>()[i])) << i << " " << x.chunks().to_string();
            }
          }
        });
      }
    }
  }
}

TEST(Reductions, ArgminReturnsTheFirstNaN) {
  // Flat: NaNs at flat 4 (row 0, a later column chunk) and flat 7 (row 1, the first column
  // chunk): a row-major walk over the chunks meets flat 7 first.
  xt::xarray<double> d = {{5.0, -1.0, 2.0, 3.0, kNaN, 0.0},
                          {-7.0, kNaN, 2.0, 1.0, 4.0, -9.0},
                          {8.0, 1.0, kNaN, 3.0, 4.0, 6.0}};
  for (const ChunkSpec& spec : chunkings({3, 6})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_EQ(x.argmin().item<std::int64_t>({.scheduler = s.get()}), 4) << x.chunks().to_string();
      EXPECT_EQ(x.argmax().item<std::int64_t>({.scheduler = s.get()}), 4) << x.chunks().to_string();
      EXPECT_TRUE(matches<std::int64_t>(x.argmin(1), xt::xarray<std::int64_t>{4, 1, 2}, *s));
      EXPECT_TRUE(matches<std::int64_t>(x.argmax(-1), xt::xarray<std::int64_t>{4, 1, 2}, *s));
      EXPECT_TRUE(
          matches<std::int64_t>(x.argmin(0), xt::xarray<std::int64_t>{1, 1, 2, 1, 0, 1}, *s));
      EXPECT_TRUE(
          matches<std::int64_t>(x.argmax(0), xt::xarray<std::int64_t>{2, 1, 2, 0, 0, 2}, *s));
    }
  }
}

TEST(Reductions, ArgminArgmaxTiesReturnTheFirstOccurrence) {
  // The minimum 0 sits at flat 2, 4, 6 and 11; the maximum 9 at flat 3, 5 and 15. Chunked
  // (2, 2), a row-major walk over the *chunks* meets flat 4 before flat 2 and 5 before 3.
  xt::xarray<std::int32_t> d = {{3, 5, 0, 9}, {0, 9, 0, 2}, {5, 4, 3, 0}, {5, 1, 1, 9}};
  for (const ChunkSpec& spec : chunkings({4, 4})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_EQ(x.argmin().item<std::int64_t>({.scheduler = s.get()}), 2) << x.chunks().to_string();
      EXPECT_EQ(x.argmax().item<std::int64_t>({.scheduler = s.get()}), 3) << x.chunks().to_string();
      EXPECT_TRUE(matches<std::int64_t>(x.argmin(1), xt::xarray<std::int64_t>{2, 0, 3, 1}, *s));
      EXPECT_TRUE(matches<std::int64_t>(x.argmax(1), xt::xarray<std::int64_t>{3, 1, 0, 3}, *s));
      EXPECT_TRUE(matches<std::int64_t>(x.argmin(0), xt::xarray<std::int64_t>{1, 3, 0, 2}, *s));
      EXPECT_TRUE(matches<std::int64_t>(x.argmax(0), xt::xarray<std::int64_t>{2, 1, 2, 0}, *s));
    }
  }
  // All equal: index 0 everywhere.
  const Array c = full({5, 7}, 2.5, ChunkSpec{2, 3});
  EXPECT_EQ(c.argmin().item<std::int64_t>(), 0);
  EXPECT_EQ(c.argmax().item<std::int64_t>(), 0);
  EXPECT_TRUE(matches<std::int64_t>(
      c.argmax(0), xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({7})), *all_schedulers()[0]));
  // Infinities are ordinary values.
  xt::xarray<double> inf = {std::numeric_limits<double>::infinity(), 1.0,
                            -std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity()};
  const Array xi = from_xtensor(inf, 1);
  EXPECT_EQ(xi.argmin().item<std::int64_t>(), 2);
  EXPECT_EQ(xi.argmax().item<std::int64_t>(), 0);
  EXPECT_EQ(xi.min().item<double>(), -std::numeric_limits<double>::infinity());
}

TEST(Reductions, ArgmaxOfAllLowestValuesIsZero) {
  // The identity of argmax is the lowest value: an array made only of it must still give 0.
  const auto lowest = std::numeric_limits<std::int64_t>::lowest();
  const Array x = full({6}, lowest, ChunkSpec(2), DType::Int64);
  EXPECT_EQ(x.argmax().item<std::int64_t>(), 0);
  EXPECT_EQ(x.max().item<std::int64_t>(), lowest);
  const Array n = full({3, 4}, -std::numeric_limits<double>::infinity(), ChunkSpec(2));
  EXPECT_TRUE(
      matches<std::int64_t>(n.argmax(1), xt::xarray<std::int64_t>{0, 0, 0}, *all_schedulers()[1]));
  const Array m = full({3, 4}, std::numeric_limits<double>::infinity(), ChunkSpec(2));
  EXPECT_TRUE(matches<std::int64_t>(m.argmin(0), xt::xarray<std::int64_t>{0, 0, 0, 0},
                                    *all_schedulers()[1]));
}

TEST(Reductions, EmptyReductions) {
  const Array e = zeros({0}, 1);
  EXPECT_THROW(e.min(), value_error);
  EXPECT_THROW(e.max(), value_error);
  EXPECT_THROW(e.argmin(), value_error);
  EXPECT_THROW(e.argmax(), value_error);
  const Array e2 = ones({3, 0}, 2, DType::Int32);
  EXPECT_THROW(e2.min(1), value_error);
  EXPECT_THROW(e2.max(-1), value_error);
  EXPECT_THROW(e2.argmax(1), value_error);
  EXPECT_THROW(e2.min(), value_error);
  try {
    e2.min(1);
  } catch (const value_error& err) {
    EXPECT_NE(std::string(err.what()).find("(3, 0)"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("min"), std::string::npos) << err.what();
  }
  // Reducing the non-empty axis of an empty array is fine: the result is empty.
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<std::int32_t>(e2.min(0), xt::xarray<std::int32_t>::from_shape({0}), *s));
    EXPECT_TRUE(matches<std::int64_t>(e2.argmin(0), xt::xarray<std::int64_t>::from_shape({0}), *s));
    // Reductions with an identity give it.
    EXPECT_TRUE(matches<std::int64_t>(e2.sum(1), xt::xarray<std::int64_t>{0, 0, 0}, *s));
    EXPECT_TRUE(matches<std::int64_t>(e2.prod(1), xt::xarray<std::int64_t>{1, 1, 1}, *s));
    EXPECT_TRUE(matches<bool>(e2.any(1), xt::xarray<bool>{false, false, false}, *s));
    EXPECT_TRUE(matches<bool>(e2.all(1), xt::xarray<bool>{true, true, true}, *s));
    EXPECT_TRUE(matches<double>(e2.mean(1), xt::xarray<double>{kNaN, kNaN, kNaN}, *s));
    EXPECT_EQ(e.sum().item<double>({.scheduler = s.get()}), 0.0);
    EXPECT_EQ(e.prod().item<double>({.scheduler = s.get()}), 1.0);
    EXPECT_FALSE(e.any().item<bool>({.scheduler = s.get()}));
    EXPECT_TRUE(e.all().item<bool>({.scheduler = s.get()}));
    EXPECT_TRUE(std::isnan(e.mean().item<double>({.scheduler = s.get()})));
  }
}

TEST(Reductions, EmptyAxisListReducesNothing) {
  // NumPy's axis=(): every reduction returns its input's shape, one element folded into each
  // output element, in the reduction's result dtype. "Every axis" only when none are given.
  const Axes none(std::vector<int>{});
  const xt::xarray<std::int32_t> d{{0, 1, 2}, {3, -4, 5}};
  const xt::xarray<std::int64_t> d64 = xt::cast<std::int64_t>(d);
  const xt::xarray<double> dd = xt::cast<double>(d);
  const xt::xarray<bool> db = xt::not_equal(d, 0);
  for (const ChunkSpec& spec : chunkings({2, 3})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(matches<std::int64_t>(x.sum(none), d64, *s));
      EXPECT_TRUE(matches<std::int64_t>(x.prod(none), d64, *s));
      EXPECT_TRUE(matches<std::int32_t>(x.min(none), d, *s));
      EXPECT_TRUE(matches<std::int32_t>(x.max(none), d, *s));
      EXPECT_TRUE(matches<double>(x.mean(none), dd, *s));
      EXPECT_TRUE(matches<double>(x.var(none), xt::zeros_like(dd), *s));
      EXPECT_TRUE(matches<double>(x.std(none), xt::zeros_like(dd), *s));
      EXPECT_TRUE(matches<bool>(x.any(none), db, *s));
      EXPECT_TRUE(matches<bool>(x.all(none), db, *s));
      EXPECT_TRUE(matches<double>((x * 1.5).sum(none, {.keepdims = true}), dd * 1.5, *s));
      // ddof = 1 with one observation each: 0/0, as NumPy.
      EXPECT_TRUE(matches<double>(x.var(none, {.ddof = 1}), xt::xarray<double>(dd * kNaN), *s));
    }
  }
  const Array r = arange(6).sum(none);
  EXPECT_EQ(r.shape(), Shape{6});
  EXPECT_EQ(r.dtype(), DType::Int64);
  EXPECT_TRUE(
      matches<std::int64_t>(r, xt::xarray<std::int64_t>{0, 1, 2, 3, 4, 5}, *all_schedulers()[0]));
  EXPECT_EQ(scalar(2.5).sum(none).shape(), Shape{});
  // Reducing no axis of an empty array needs no identity: an empty result, not an error.
  const Array e = zeros({0}, 1);
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<double>(e.min(none), xt::xarray<double>::from_shape({0}), *s));
    EXPECT_TRUE(matches<double>(e.max(none), xt::xarray<double>::from_shape({0}), *s));
  }
  EXPECT_THROW(e.min(), value_error);
  // The default still reduces every axis.
  EXPECT_EQ(arange(6).sum().shape(), Shape{});
  EXPECT_EQ(arange(6).sum().item<std::int64_t>(), 15);
}

TEST(Reductions, VarianceWithTooFewDegreesOfFreedom) {
  // NumPy divides by max(n - ddof, 0): 0/0 is NaN, a positive M2 over 0 is inf.
  const Array one = from_xtensor(xt::xarray<double>{4.0}, 1);
  EXPECT_TRUE(std::isnan(one.var(Axes(), {.ddof = 1}).item<double>()));
  EXPECT_EQ(one.var().item<double>(), 0.0);
  const Array two = from_xtensor(xt::xarray<double>{1.0, 2.0}, 1);
  EXPECT_EQ(two.var(Axes(), {.ddof = 2}).item<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(two.std(Axes(), {.ddof = 3}).item<double>(), std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(two.var(Axes(), {.ddof = 1}).item<double>(), 0.5);
  EXPECT_THROW(two.var(Axes(), {.ddof = -1}), value_error);
  EXPECT_THROW(two.std(0, {.ddof = -2}), value_error);
}

TEST(Reductions, BadAxes) {
  const Array x = ones({3, 4}, 2);
  EXPECT_THROW(x.sum(2), index_error);
  EXPECT_THROW(x.sum(-3), index_error);
  EXPECT_THROW(x.sum({0, 0}), index_error);
  EXPECT_THROW(x.sum({1, -1}), index_error);
  EXPECT_THROW(x.argmin(2), index_error);
  EXPECT_THROW(x.mean({0, 5}), index_error);
}

// --- item, reductions of reductions ---------------------------------------------------------

TEST(Reductions, ItemOnFullReductions) {
  const xt::xarray<std::int32_t> d = make_data<std::int32_t>(kShape3, 21);
  const xt::xarray<double> dd = xt::cast<double>(d);
  const Array x = from_xtensor(d, ChunkSpec{2, 3, 2});
  for (const auto& s : all_schedulers()) {
    const ComputeOptions o{.scheduler = s.get()};
    const std::int64_t total = xt::sum(xt::cast<std::int64_t>(d))();
    EXPECT_EQ(x.sum().item<std::int64_t>(o), total);
    EXPECT_EQ(x.sum().item<double>(o), static_cast<double>(total));  // converted
    EXPECT_EQ(x.sum().item<int>(o), static_cast<int>(total));
    EXPECT_DOUBLE_EQ(x.mean().item<double>(o), xt::mean(dd)());
    EXPECT_EQ(x.min().item<std::int32_t>(o), xt::amin(d)());
    EXPECT_EQ(x.max().item<std::int64_t>(o), xt::amax(d)());
    EXPECT_NEAR(x.std({0, 1, 2}, {.ddof = 1}).item<double>(o),
                std::sqrt(variance_ref(dd, {0, 1, 2}, 1)()), 1e-12);
    EXPECT_EQ(x.argmax().item<std::int64_t>(o), static_cast<std::int64_t>(xt::argmax(d)()));
    EXPECT_EQ(x.any().item<bool>(o), xt::any(xt::not_equal(d, 0)));
    EXPECT_EQ(x.all().item<bool>(o), xt::all(xt::not_equal(d, 0)));
    EXPECT_EQ((x == x).all().item<bool>(o), true);
    // keepdims full reductions have size 1 too.
    EXPECT_EQ(x.sum(Axes(), {.keepdims = true}).item<std::int64_t>(o), total);
  }
  EXPECT_THROW(x.sum(0).item<double>(), shape_error);
}

TEST(Reductions, ReductionsOfReductions) {
  const Shape shape{6, 7, 5};
  const xt::xarray<double> d = make_data<double>(shape, 33);
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const ComputeOptions o{.scheduler = s.get()};
      const xt::xarray<double> s0 = xt::sum(d, {0});
      EXPECT_DOUBLE_EQ(x.sum(0).max().item<double>(o), xt::amax(s0)());
      EXPECT_TRUE(matches<double>(x.sum(0).max(0), xt::xarray<double>(xt::amax(s0, {0})), *s));
      const xt::xarray<double> m2 = xt::mean(d, {2});
      xt::xarray<double> min_m2 = xt::amin(m2, {0});
      min_m2.reshape({1, 7});
      EXPECT_TRUE(matches<double>(x.mean(-1).min(0, {.keepdims = true}), min_m2, *s));
      const xt::xarray<double> max02 = xt::amax(d, {0, 2});
      EXPECT_EQ(x.max({0, 2}).argmin().item<std::int64_t>(o),
                static_cast<std::int64_t>(xt::argmin(max02)()));
      EXPECT_NEAR(x.var(1).sum().item<double>(o), xt::sum(variance_ref(d, {1}, 0))(), 1e-12);
      // A reduction feeding an elementwise op feeding a reduction.
      EXPECT_NEAR((x - x.mean(0, {.keepdims = true})).sum(0).max().item<double>(o), 0.0, 1e-12);
      EXPECT_NEAR(((x.sum(2) * 2.0) + 1.0).sum().item<double>(o), 2.0 * xt::sum(d)() + 42.0, 1e-12);
    }
  }
}

TEST(Reductions, ZeroDimensionalInput) {
  const Array x = scalar(2.5);
  EXPECT_EQ(x.ndim(), 0);
  EXPECT_DOUBLE_EQ(x.sum().item<double>(), 2.5);
  EXPECT_DOUBLE_EQ(x.max().item<double>(), 2.5);
  EXPECT_EQ(x.argmin().item<std::int64_t>(), 0);
  EXPECT_DOUBLE_EQ(x.var().item<double>(), 0.0);
  EXPECT_EQ(x.sum().shape(), Shape{});
}

// --- reduction(): user-defined tree reductions ---------------------------------------------------

/// A float64 Block holding `v`.
Block block_of(const xt::xarray<double>& v) {
  Block b(DType::Float64, Shape(v.shape().begin(), v.shape().end()));
  std::copy(v.begin(), v.end(), b.data_as<double>());
  return b;
}

/// The mean of the squares over `axes`, as a user reduction with a (sum of squares, count) state.
Array mean_of_squares(const Array& x, Axes axes, ReduceOptions o = {}) {
  ReductionSteps steps;
  steps.chunk = [](const Block& chunk, std::span<const int> axes_in) {
    const xt::xarray<double> v = chunk.view<double>();
    std::vector<std::size_t> ax(axes_in.begin(), axes_in.end());
    xt::xarray<double> sq = xt::sum(v * v, ax, xt::keep_dims);
    Block count = Block::zeros(DType::Float64, Shape(sq.shape().begin(), sq.shape().end()));
    index_t n = 1;
    for (int a : axes_in) n *= chunk.shape()[static_cast<std::size_t>(a)];
    for (index_t i = 0; i < count.size(); ++i) count.data_as<double>()[i] = static_cast<double>(n);
    return std::vector<Block>{block_of(sq), count};
  };
  steps.combine = [](const std::vector<Block>& a, const std::vector<Block>& b) {
    std::vector<Block> out;
    for (std::size_t k = 0; k < 2; ++k) {
      Block f = a[k].clone();
      for (index_t i = 0; i < f.size(); ++i) f.data_as<double>()[i] += b[k].data_as<double>()[i];
      out.push_back(std::move(f));
    }
    return out;
  };
  steps.aggregate = [](const std::vector<Block>& state) {
    Block out = state[0].clone();
    for (index_t i = 0; i < out.size(); ++i)
      out.data_as<double>()[i] /= state[1].data_as<double>()[i];
    return out;
  };
  return reduction(x, steps, DType::Float64, std::move(axes), o, "mean_of_squares");
}

TEST(UserReduction, MatchesTheSerialReference) {
  for (const Shape& shape : {Shape{13}, Shape{7, 9}, Shape{3, 4, 5}, Shape{4, 1, 6}}) {
    const xt::xarray<double> data = make_data<double>(shape, 41);
    for (const ChunkSpec& spec : chunkings(shape)) {
      const Array x = from_xtensor(data, spec);
      for (const AxesCase& c : axes_cases(static_cast<int>(shape.size()))) {
        const auto axes = resolve_axes(c, static_cast<int>(shape.size()));
        const xt::xarray<double> want = xt::mean(data * data, axes);
        for (bool keepdims : {false, true}) {
          for (int split : {0, 2}) {
            const Array got = mean_of_squares(x * 1.0, c.all ? Axes() : Axes(c.axes),
                                              {.keepdims = keepdims, .split_every = split});
            for (const auto& s : all_schedulers()) {
              EXPECT_TRUE(
                  matches<double>(got, keepdims_form(want, shape, axes, keepdims), *s, 1e-12))
                  << "axes " << c.str() << " chunks " << x.chunks().to_string() << " on "
                  << s->name();
            }
          }
        }
      }
    }
  }
}

TEST(UserReduction, CombineSeesStatesInOrder) {
  // The last row: each chunk's last row, and of two states the later one.
  const Shape shape{11, 4};
  const xt::xarray<double> data = make_data<double>(shape, 43);
  ReductionSteps last;
  last.chunk = [](const Block& chunk, std::span<const int>) {
    const auto v = chunk.view<double>();
    xt::xarray<double> row = xt::view(v, xt::keep(v.shape()[0] - 1), xt::all());
    return std::vector<Block>{block_of(row)};
  };
  last.combine = [](const std::vector<Block>&, const std::vector<Block>& later) { return later; };
  last.aggregate = [](const std::vector<Block>& state) { return state[0]; };
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(data, spec);
    for (int split : {2, 3, 8}) {
      const Array got = reduction(x, last, DType::Float64, 0, {.split_every = split}, "last_row");
      for (const auto& s : all_schedulers()) {
        EXPECT_TRUE(matches<double>(got, xt::xarray<double>(xt::view(data, 10, xt::all())), *s, 0))
            << x.chunks().to_string() << " split " << split;
      }
    }
  }
}

TEST(UserReduction, BadStepsRaiseValueErrors) {
  const Array x = arange(20, {.chunks = 6}).astype(DType::Float64);
  ReductionSteps ok;
  ok.chunk = [](const Block& c, std::span<const int>) {
    return std::vector<Block>{Block::zeros(DType::Float64, Shape(c.shape().size(), 1))};
  };
  ok.combine = [](const std::vector<Block>& a, const std::vector<Block>&) { return a; };
  ok.aggregate = [](const std::vector<Block>& s) { return s[0]; };
  // Missing steps and a bad fan-in are refused when the expression is built.
  ReductionSteps missing = ok;
  missing.combine = nullptr;
  EXPECT_THROW(reduction(x, missing, DType::Float64), value_error);
  EXPECT_THROW(reduction(x, ok, DType::Float64, {}, {.split_every = 1}), value_error);
  EXPECT_THROW(reduction(x, ok, DType::Float64, 1), index_error);
  // A state of the wrong shape, and an output of the wrong dtype, fail the compute everywhere.
  ReductionSteps wrong_shape = ok;
  wrong_shape.chunk = [](const Block& c, std::span<const int>) { return std::vector<Block>{c}; };
  ReductionSteps wrong_dtype = ok;
  wrong_dtype.aggregate = [](const std::vector<Block>& s) {
    return Block::zeros(DType::Int32, s[0].shape());
  };
  for (const auto& s : all_schedulers()) {
    for (const auto& [steps, words] :
         {std::pair{wrong_shape, "chunk returned a state block 0 of shape (6,); expected (1,)"},
          std::pair{wrong_dtype, "aggregate returned a int32 block"}}) {
      try {
        (void)reduction(x, steps, DType::Float64, {}, {}, "mine")
            .compute_block({.scheduler = s.get()});
        ADD_FAILURE() << "no error on " << s->name();
      } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("reduction 'mine'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace tessera::testing
