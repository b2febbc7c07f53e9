// The nan- reductions and count_nonzero, and the ordinary reductions' NaN semantics, against
// a serial reference that folds each slice's values by NumPy's rules: arrays with scattered
// NaNs, a row and a column of NaNs only, over every axis choice, every chunking and scheduler.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Fold = std::function<double(const std::vector<double>&)>;

/// 5 x 4 with NaNs scattered, row 2 all NaN and column 3 all NaN.
xt::xarray<double> with_nans() {
  xt::xarray<double> x = xt::xarray<double>::from_shape({5, 4});
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 4; ++j) x(i, j) = std::sin(static_cast<double>(i * 4 + j)) * 10;
  x(0, 1) = kNaN;
  x(4, 0) = kNaN;
  for (std::size_t j = 0; j < 4; ++j) x(2, j) = kNaN;
  for (std::size_t i = 0; i < 5; ++i) x(i, 3) = kNaN;
  return x;
}

/// f of each slice along `axis` (-1: the whole array, as a 0-d result).
xt::xarray<double> reference(const xt::xarray<double>& x, int axis, const Fold& f) {
  if (axis < 0) return xt::xarray<double>(f(std::vector<double>(x.begin(), x.end())));
  const std::size_t n0 = x.shape()[0], n1 = x.shape()[1];
  xt::xarray<double> out = xt::xarray<double>::from_shape({axis == 0 ? n1 : n0});
  for (std::size_t k = 0; k < out.size(); ++k) {
    std::vector<double> v;
    for (std::size_t m = 0; m < (axis == 0 ? n0 : n1); ++m)
      v.push_back(axis == 0 ? x(m, k) : x(k, m));
    out(k) = f(v);
  }
  return out;
}

std::vector<double> numbers(const std::vector<double>& v) {
  std::vector<double> out;
  std::copy_if(v.begin(), v.end(), std::back_inserter(out),
               [](double d) { return !std::isnan(d); });
  return out;
}
double sum_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double var_of(const std::vector<double>& v, int ddof) {
  const double m = sum_of(v) / static_cast<double>(v.size());
  double s = 0;
  for (double d : v) s += (d - m) * (d - m);
  return s / std::max(static_cast<double>(v.size()) - ddof, 0.0);
}

void check(const std::function<Array(const Array&, std::optional<int>)>& op, const Fold& f,
           double rtol = 1e-12) {
  const xt::xarray<double> d = with_nans();
  for (const ChunkSpec& spec : chunkings({5, 4})) {
    const Array x = from_xtensor(d, spec);
    for (int axis : {-1, 0, 1}) {
      const Array y = op(x, axis < 0 ? std::nullopt : std::optional<int>(axis));
      const xt::xarray<double> want = reference(d, axis, f);
      for (const auto& s : all_schedulers()) {
        ASSERT_TRUE(matches<double>(y.astype(DType::Float64), want, *s, rtol))
            << "axis " << axis << ", chunks " << x.chunks().to_string();
      }
    }
  }
}

Axes axes_of(std::optional<int> a) { return a ? Axes(*a) : Axes(); }

TEST(NanReductions, AgainstAFoldOfEachSlice) {
  check([](const Array& x, auto a) { return nansum(x, axes_of(a)); },
        [](const auto& v) { return sum_of(numbers(v)); });
  check([](const Array& x, auto a) { return nanprod(x, axes_of(a)); },
        [](const auto& v) {
          const auto n = numbers(v);
          return std::accumulate(n.begin(), n.end(), 1.0, std::multiplies<>());
        });
  check([](const Array& x, auto a) { return nanmean(x, axes_of(a)); },
        [](const auto& v) {
          const auto n = numbers(v);
          return n.empty() ? kNaN : sum_of(n) / static_cast<double>(n.size());
        });
  check([](const Array& x, auto a) { return nanmin(x, axes_of(a)); },
        [](const auto& v) {
          const auto n = numbers(v);
          return n.empty() ? kNaN : *std::min_element(n.begin(), n.end());
        });
  check([](const Array& x, auto a) { return nanmax(x, axes_of(a)); },
        [](const auto& v) {
          const auto n = numbers(v);
          return n.empty() ? kNaN : *std::max_element(n.begin(), n.end());
        });
  for (int ddof : {0, 1}) {
    check([ddof](const Array& x, auto a) { return nanvar(x, axes_of(a), {.ddof = ddof}); },
          [ddof](const auto& v) {
            const auto n = numbers(v);
            return n.empty() ? kNaN : var_of(n, ddof);
          },
          1e-10);
    check([ddof](const Array& x, auto a) { return nanstd(x, axes_of(a), {.ddof = ddof}); },
          [ddof](const auto& v) {
            const auto n = numbers(v);
            return n.empty() ? kNaN : std::sqrt(var_of(n, ddof));
          },
          1e-10);
  }
  check([](const Array& x, auto a) { return count_nonzero(x, axes_of(a)); },
        [](const auto& v) {
          return static_cast<double>(
              std::count_if(v.begin(), v.end(), [](double d) { return d != 0; }));
        });
}

TEST(NanReductions, OrdinaryReductionsPropagateNaN) {
  // NumPy: the sum, mean, min and max of a slice with a NaN are NaN; argmax is its first NaN.
  auto has_nan = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double d) { return std::isnan(d); });
  };
  check([](const Array& x, auto a) { return sum(x, axes_of(a)); },
        [&](const auto& v) { return has_nan(v) ? kNaN : sum_of(v); });
  check([](const Array& x, auto a) { return max(x, axes_of(a)); },
        [&](const auto& v) { return has_nan(v) ? kNaN : *std::max_element(v.begin(), v.end()); });
  check([](const Array& x, auto a) { return min(x, axes_of(a)); },
        [&](const auto& v) { return has_nan(v) ? kNaN : *std::min_element(v.begin(), v.end()); });
  check([](const Array& x, auto a) { return argmax(x, a); },
        [](const auto& v) {
          for (std::size_t i = 0; i < v.size(); ++i)
            if (std::isnan(v[i])) return static_cast<double>(i);
          return static_cast<double>(std::max_element(v.begin(), v.end()) - v.begin());
        });
}

TEST(NanReductions, NanArgminArgmax) {
  // Without the all-NaN row and column.
  xt::xarray<double> d = xt::view(with_nans(), xt::range(0, 2), xt::range(0, 3));
  d(1, 2) = -50;
  d(0, 0) = 50;
  for (const ChunkSpec& spec : chunkings({2, 3})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const ComputeOptions on{.scheduler = s.get()};
      EXPECT_EQ(nanargmin(x).item<std::int64_t>(on), 5);
      EXPECT_EQ(nanargmax(x).item<std::int64_t>(on), 0);
      EXPECT_TRUE(matches<std::int64_t>(nanargmin(x, 0), xt::xarray<std::int64_t>{1, 1, 1}, *s));
      EXPECT_TRUE(matches<std::int64_t>(nanargmax(x, 1), xt::xarray<std::int64_t>{0, 0}, *s));
    }
  }
  // A slice of NaNs only fails the compute, naming it.
  const Array x = from_xtensor(with_nans(), 2);
  for (const auto& s : all_schedulers()) {
    try {
      (void)nanargmax(x, 1).compute<std::int64_t>({.scheduler = s.get()});
      ADD_FAILURE() << "no error";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("All-NaN slice"), std::string::npos) << e.what();
    }
  }
  // Integers: the ordinary reductions.
  const Array i = from_xtensor(xt::xarray<std::int32_t>{3, -1, 7}, 2);
  EXPECT_EQ(nanargmin(i).item<std::int64_t>(), 1);
  EXPECT_EQ(nansum(i).dtype(), DType::Int64);
  EXPECT_EQ(nanmean(from_xtensor(xt::xarray<float>{1, kNaN}, 1)).dtype(), DType::Float32);
}

}  // namespace
}  // namespace tessera::testing
