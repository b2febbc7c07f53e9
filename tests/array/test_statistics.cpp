// median, quantile, percentile (and the nan- forms), histogram and bincount: against serial
// references written here (a full std::sort of every lane; a linear search of the bins), over
// every chunking (uneven, irregular, single elements, size-0 and size-1 axes) and scheduler,
// with NaNs, ties, integer and float32 inputs, and bad input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <tuple>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "support/test_support.hpp"
#include "tessera/array/statistics.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

/// Scrambled values with ties (so that any lane is out of order), as T; every `nan_every`-th
/// element NaN (floats only; 0: none).
template <class T>
xt::xarray<T> scrambled(const Shape& shape, int nan_every = 0) {
  xt::xarray<T> x = xt::xarray<T>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>((i * 7919 + 13) % 23) * 1.25 - 9;
    if constexpr (std::is_same_v<T, bool>)
      x.flat(i) = (i * 7) % 5 < 2;
    else
      x.flat(i) = static_cast<T>(v);
    if constexpr (std::is_floating_point_v<T>) {
      if (nan_every > 0 && i % static_cast<std::size_t>(nan_every) == 3) x.flat(i) = T(nan_v);
    }
  }
  return x;
}

/// The statistic of one lane by full sort: the median (q < 0) or the linear q-quantile.
double serial_stat(std::vector<double> lane, double q, bool skipnan) {
  const bool has_nan =
      std::any_of(lane.begin(), lane.end(), [](double v) { return std::isnan(v); });
  if (has_nan && !skipnan) return nan_v;
  std::erase_if(lane, [](double v) { return std::isnan(v); });
  if (lane.empty()) return nan_v;
  std::sort(lane.begin(), lane.end());
  const std::size_t n = lane.size();
  if (q < 0) return n % 2 ? lane[n / 2] : (lane[n / 2 - 1] + lane[n / 2]) / 2;
  const double pos = q * static_cast<double>(n - 1);
  const auto i = static_cast<std::size_t>(pos);
  const std::size_t j = std::min(i + 1, n - 1);
  return lane[i] + (lane[j] - lane[i]) * (pos - static_cast<double>(i));
}

/// The statistics of `x` along `axis` (-1: the flattened array) for every q in `qs` (q < 0:
/// the median); with `leading`, one row per q.
template <class R, class T>
xt::xarray<R> serial(const xt::xarray<T>& x, int axis, const std::vector<double>& qs, bool leading,
                     bool skipnan) {
  Shape shape(x.shape().begin(), x.shape().end());
  if (axis < 0) shape = {static_cast<index_t>(x.size())};
  const int ax = std::max(axis, 0);
  Shape out_shape;
  if (leading) out_shape.push_back(static_cast<index_t>(qs.size()));
  index_t outer = 1, inner = 1;
  const index_t n = shape[static_cast<std::size_t>(ax)];
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    if (d == ax) continue;
    out_shape.push_back(shape[static_cast<std::size_t>(d)]);
    (d < ax ? outer : inner) *= shape[static_cast<std::size_t>(d)];
  }
  xt::xarray<R> out =
      xt::xarray<R>::from_shape(std::vector<std::size_t>(out_shape.begin(), out_shape.end()));
  for (std::size_t q = 0; q < qs.size(); ++q) {
    for (index_t o = 0; o < outer; ++o) {
      for (index_t i = 0; i < inner; ++i) {
        std::vector<double> lane;
        for (index_t k = 0; k < n; ++k)
          lane.push_back(
              static_cast<double>(x.flat(static_cast<std::size_t>((o * n + k) * inner + i))));
        out.flat(q * static_cast<std::size_t>(outer * inner) +
                 static_cast<std::size_t>(o * inner + i)) =
            static_cast<R>(serial_stat(lane, qs[q], skipnan));
      }
    }
  }
  return out;
}

/// Every statistic of `d` along every axis and the flattened array, every chunking, every
/// scheduler.
template <class R, class T>
void check_quantiles(const xt::xarray<T>& d, double rtol) {
  const Shape shape(d.shape().begin(), d.shape().end());
  const std::vector<double> qs = {0, 0.25, 0.3, 0.5, 0.9, 1};
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (int axis = -1; axis < x.ndim(); ++axis) {
      const auto ax = axis < 0 ? std::nullopt : std::optional<int>(axis);
      for (bool skip : {false, true}) {
        struct Case {
          Array y;
          xt::xarray<R> want;
          const char* what;
        };
        std::vector<Case> cases = {
            {skip ? nanmedian(x, ax) : median(x, ax), serial<R>(d, axis, {-1}, false, skip),
             "median"},
            {skip ? nanquantile(x, 0.3, ax) : quantile(x, 0.3, ax),
             serial<R>(d, axis, {0.3}, false, skip), "quantile(0.3)"},
            {skip ? nanquantile(x, qs, ax) : quantile(x, qs, ax),
             serial<R>(d, axis, qs, true, skip), "quantile(qs)"},
            {skip ? nanpercentile(x, {90.0, 25.0}, ax) : percentile(x, {90.0, 25.0}, ax),
             serial<R>(d, axis, {0.9, 0.25}, true, skip), "percentile({90, 25})"},
            {skip ? nanpercentile(x, 100.0, ax) : percentile(x, 100.0, ax),
             serial<R>(d, axis, {1.0}, false, skip), "percentile(100)"},
        };
        for (const Case& c : cases) {
          for (const auto& s : all_schedulers()) {
            ASSERT_TRUE(matches<R>(c.y, c.want, *s, rtol))
                << (skip ? "nan" : "") << c.what << " axis " << axis << " chunks "
                << x.chunks().to_string() << " shape " << shape_string(shape);
          }
        }
      }
    }
  }
}

TEST(Quantiles, FloatsAlongEveryAxis) {
  for (const Shape& s :
       std::vector<Shape>{{9}, {1}, {6, 5}, {3, 1, 4}, {1, 6}, {0}, {0, 4}, {4, 0}}) {
    check_quantiles<double>(scrambled<double>(s), 1e-12);
  }
  check_quantiles<float>(scrambled<float>({5, 4}), 1e-6);
}

TEST(Quantiles, NaNLanes) {
  // Some lanes hold one NaN, some several, and (shape (2, 7) with NaN every 2nd) some are all NaN.
  check_quantiles<double>(scrambled<double>({6, 5}, 4), 1e-12);
  check_quantiles<double>(scrambled<double>({8, 3}, 2), 1e-12);
  xt::xarray<double> all_nan = xt::xarray<double>::from_shape({3, 2});
  all_nan.fill(nan_v);
  all_nan(1, 1) = 2.5;
  check_quantiles<double>(all_nan, 1e-12);
}

TEST(Quantiles, IntegersAndBoolGiveFloat64) {
  check_quantiles<double>(scrambled<std::int32_t>({7, 4}), 1e-12);
  check_quantiles<double>(scrambled<std::int64_t>({5, 3}), 1e-12);
  check_quantiles<double>(scrambled<bool>({4, 3}), 1e-12);
  EXPECT_EQ(median(from_xtensor(scrambled<std::int32_t>({4}))).dtype(), DType::Float64);
  EXPECT_EQ(median(from_xtensor(scrambled<float>({4}))).dtype(), DType::Float32);
}

TEST(Quantiles, ZeroDimensionalAndExpressions) {
  const Array x = from_xtensor(xt::xarray<double>(2.5));
  for (const auto& s : all_schedulers()) {
    EXPECT_TRUE(matches<double>(median(x), xt::xarray<double>(2.5), *s));
    EXPECT_TRUE(matches<double>(quantile(x, std::vector<double>{0.1, 0.7}),
                                xt::xarray<double>{2.5, 2.5}, *s));
  }
  const Array r = default_rng(3).uniform(0, 1, {30, 20}, {7, 6});
  for (const auto& s : all_schedulers()) {
    const xt::xarray<double> rv = r.compute<double>({.scheduler = s.get()});
    const xt::xarray<double> twice = 2 * rv;
    EXPECT_TRUE(matches<double>(quantile(2 * r, 0.7, 1),
                                serial<double>(twice, 1, {0.7}, false, false), *s));
    EXPECT_TRUE(matches<double>(median(2 * r), serial<double>(twice, -1, {-1}, false, false), *s));
  }
}

TEST(Quantiles, RechunkKeepsChunksWithinTheAutoSize) {
  // A lane of 20000 float64 along axis 0 with chunks 20000 wide along axis 1 would be a 3 GiB
  // chunk: the other axis shrinks so that a chunk stays within 128 MiB.
  const Array x = zeros({20000, 20000}, ChunkSpec{1000, 20000});
  const Array m = median(x, 0);
  EXPECT_EQ(m.shape(), Shape{20000});
  EXPECT_LE(m.chunks().max_chunk_size() * 20000 * 8, index_t{128} << 20);
  // Chunks that fit keep their sizes across the axis.
  const Array y = zeros({100, 30}, ChunkSpec{10, 7});
  EXPECT_EQ(quantile(y, 0.5, 0).chunks().sizes(0), y.chunks().sizes(1));
}

TEST(Quantiles, BadInput) {
  const Array x = from_xtensor(scrambled<double>({4, 3}), 2);
  EXPECT_THROW(quantile(x, 1.5), value_error);
  EXPECT_THROW(quantile(x, -0.1, 0), value_error);
  EXPECT_THROW(quantile(x, nan_v), value_error);
  EXPECT_THROW(quantile(x, std::vector<double>{0.5, 2}), value_error);
  EXPECT_THROW(nanquantile(x, 1.01), value_error);
  EXPECT_THROW(percentile(x, 100.5), value_error);
  EXPECT_THROW(nanpercentile(x, -1.0), value_error);
  EXPECT_THROW(median(x, 2), index_error);
  EXPECT_THROW(nanmedian(x, -3), index_error);
  EXPECT_NO_THROW(percentile(x, 100.0));
  EXPECT_NO_THROW(quantile(x, 0.0, -1));
}

// --- histogram -----------------------------------------------------------------------------------

/// NumPy's histogram counts by a linear search of the bins: [e_k, e_k+1), the last closed.
template <class T>
std::vector<double> serial_hist(const xt::xarray<T>& x, const std::vector<double>& edges,
                                const xt::xarray<double>* weights) {
  std::vector<double> c(edges.size() - 1, 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto v = static_cast<double>(x.flat(i));
    for (std::size_t k = 0; k + 1 < edges.size(); ++k) {
      const bool last = k + 2 == edges.size();
      if (v >= edges[k] && (v < edges[k + 1] || (last && v == edges[k + 1]))) {
        c[k] += weights ? weights->flat(i) : 1.0;
        break;
      }
    }
  }
  return c;
}

/// numpy.linspace(lo, hi, bins + 1).
std::vector<double> linspace_edges(double lo, double hi, int bins) {
  std::vector<double> e;
  for (int k = 0; k <= bins; ++k) e.push_back(k * ((hi - lo) / bins) + lo);
  e.back() = hi;
  return e;
}

template <class T>
void check_histogram(const xt::xarray<T>& d, const std::optional<std::pair<double, double>>& range,
                     int bins) {
  const Shape shape(d.shape().begin(), d.shape().end());
  // NumPy's range: the given one, else the data's min and max (NaN left out; (0, 1) for none),
  // an empty one widened by 0.5 either side.
  double lo = 0, hi = 1;
  if (range) {
    std::tie(lo, hi) = *range;
  } else {
    bool any = false;
    for (std::size_t i = 0; i < d.size(); ++i) {
      const auto v = static_cast<double>(d.flat(i));
      if (std::isnan(v)) continue;
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  }
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const std::vector<double> edges = linspace_edges(lo, hi, bins);
  xt::xarray<double> w = scrambled<double>(shape);
  for (std::size_t i = 0; i < w.size(); ++i) w.flat(i) = 0.5 + static_cast<double>(i % 4);
  const std::vector<double> plain = serial_hist(d, edges, nullptr);
  const std::vector<double> weighted = serial_hist(d, edges, &w);
  xt::xarray<std::int64_t> want_counts = xt::xarray<std::int64_t>::from_shape({plain.size()});
  xt::xarray<double> want_weighted = xt::xarray<double>::from_shape({plain.size()});
  xt::xarray<double> want_density = xt::xarray<double>::from_shape({plain.size()});
  double total = 0;
  for (double c : plain) total += c;
  for (std::size_t k = 0; k < plain.size(); ++k) {
    want_counts(k) = static_cast<std::int64_t>(plain[k]);
    want_weighted(k) = weighted[k];
    want_density(k) = plain[k] / (edges[k + 1] - edges[k]) / total;
  }
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    const Array wa = from_xtensor(w, 2);  // other chunks than x's
    for (const auto& s : all_schedulers()) {
      const ComputeOptions o{.scheduler = s.get()};
      const Histogram h = histogram(x, bins, range, std::nullopt, false, o);
      ASSERT_EQ(h.edges.size(), edges.size());
      for (std::size_t k = 0; k < edges.size(); ++k) EXPECT_DOUBLE_EQ(h.edges[k], edges[k]) << k;
      ASSERT_TRUE(matches<std::int64_t>(h.counts, want_counts, *s)) << x.chunks().to_string();
      ASSERT_TRUE(
          matches<double>(histogram(x, bins, range, wa, false, o).counts, want_weighted, *s))
          << "weighted, chunks " << x.chunks().to_string();
      if (total > 0) {
        ASSERT_TRUE(matches<double>(histogram(x, bins, range, std::nullopt, true, o).counts,
                                    want_density, *s))
            << "density, chunks " << x.chunks().to_string();
      }
      // The same edges given explicitly.
      ASSERT_TRUE(matches<std::int64_t>(histogram(x, edges).counts, want_counts, *s));
    }
  }
}

TEST(Histogram, EqualBinsWithAndWithoutRange) {
  // Values on the edges (integers, edges at integers), outside the range, NaN.
  const xt::xarray<double> d = scrambled<double>({7, 5}, 6);
  check_histogram(d, std::pair{-4.0, 9.0}, 13);
  check_histogram(d, std::pair{-100.0, 100.0}, 1);
  check_histogram(d, std::nullopt, 7);  // the data's min and max, NaN left out
  check_histogram(scrambled<std::int32_t>({30}), std::nullopt, 4);
  check_histogram(scrambled<float>({4, 3}), std::pair{-2.0, 3.0}, 5);
  check_histogram(scrambled<double>({1, 1}), std::nullopt, 3);  // lo == hi widened
  check_histogram(scrambled<double>({0, 3}), std::nullopt, 4);  // empty: (0, 1)
  check_histogram(scrambled<double>({3}), std::pair{2.0, 2.0}, 2);
  // Values on the edges of 10 bins over (0, 1), whose edges k * 0.1 round away from the
  // decimals: 0.3 < edge 3 (0.30000000000000004) lies in bin 2, where (v - lo) / w alone says 3.
  xt::xarray<double> tenths = xt::xarray<double>::from_shape({21});
  for (std::size_t i = 0; i < 11; ++i) {
    tenths(i) = static_cast<double>(i) / 10;
    tenths(11 + i % 10) = static_cast<double>(i) * 0.1;
  }
  check_histogram(tenths, std::pair{0.0, 1.0}, 10);
  check_histogram(tenths, std::nullopt, 10);
  // The edges themselves: edge k lies in bin k, where (v - lo) / w alone says k - 1 for some
  // (0.06999999999999999 of 10 bins over (0, 0.7)).
  const std::vector<double> e = linspace_edges(0, 0.7, 10);
  check_histogram(xt::xarray<double>(xt::adapt(e, {e.size()})), std::pair{0.0, 0.7}, 10);
  xt::xarray<double> all_nan = {nan_v, nan_v};
  check_histogram(all_nan, std::nullopt, 2);  // no value: (0, 1)
}

TEST(Histogram, ExplicitEdges) {
  const xt::xarray<double> d = scrambled<double>({6, 7}, 5);
  // Uneven and repeated edges: [1, 1) is empty, 1 falls in [1, 3).
  const std::vector<double> edges = {-5, -1.25, 1, 1, 3, 10.0};
  xt::xarray<std::int64_t> want = xt::xarray<std::int64_t>::from_shape({edges.size() - 1});
  const auto c = serial_hist(d, edges, nullptr);
  for (std::size_t k = 0; k < c.size(); ++k) want(k) = static_cast<std::int64_t>(c[k]);
  for (const ChunkSpec& spec : chunkings({6, 7})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      EXPECT_TRUE(matches<std::int64_t>(histogram(x, edges).counts, want, *s));
      EXPECT_TRUE(matches<std::int64_t>(histogram(x, std::vector<double>{2.0}).counts,
                                        xt::xarray<std::int64_t>::from_shape({0}), *s));
    }
  }
}

TEST(Histogram, BadInput) {
  const Array x = from_xtensor(scrambled<double>({4, 3}), 2);
  EXPECT_THROW(histogram(x, 0), value_error);
  EXPECT_THROW(histogram(x, 3, std::pair{2.0, 1.0}), value_error);
  EXPECT_THROW(histogram(x, 3, std::pair{0.0, std::numeric_limits<double>::infinity()}),
               value_error);
  EXPECT_THROW(histogram(x, std::vector<double>{0, 2, 1}), value_error);
  EXPECT_THROW(histogram(x, std::vector<double>{}), value_error);
  EXPECT_THROW(histogram(x, std::vector<double>{0, nan_v}), value_error);
  EXPECT_THROW(histogram(x, 3, std::nullopt, from_xtensor(scrambled<double>({3, 4}))), shape_error);
  xt::xarray<double> inf = scrambled<double>({5});
  inf(2) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(histogram(from_xtensor(inf, 2), 3), value_error);  // autodetected range not finite
  EXPECT_NO_THROW(histogram(from_xtensor(inf, 2), 3, std::pair{0.0, 1.0}));
}

// --- bincount ------------------------------------------------------------------------------------

template <class T>
void check_bincount(const xt::xarray<T>& d, index_t minlength) {
  std::size_t len = static_cast<std::size_t>(minlength);
  for (std::size_t i = 0; i < d.size(); ++i)
    len = std::max(len, static_cast<std::size_t>(d(i)) + 1);
  xt::xarray<std::int64_t> want = xt::zeros<std::int64_t>({len});
  xt::xarray<double> w = xt::xarray<double>::from_shape({d.size()});
  xt::xarray<double> want_w = xt::zeros<double>({len});
  for (std::size_t i = 0; i < d.size(); ++i) {
    w(i) = 0.25 * static_cast<double>(i) - 1;
    ++want(static_cast<std::size_t>(d(i)));
    want_w(static_cast<std::size_t>(d(i))) += w(i);
  }
  for (const ChunkSpec& spec : chunkings({static_cast<index_t>(d.size())})) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const ComputeOptions o{.scheduler = s.get()};
      ASSERT_TRUE(matches<std::int64_t>(bincount(x, std::nullopt, minlength, o), want, *s));
      ASSERT_TRUE(
          matches<double>(bincount(x, from_xtensor(w, 3), minlength, o), want_w, *s, 1e-12));
    }
  }
}

TEST(Bincount, CountsAndWeights) {
  xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape({20});
  for (std::size_t i = 0; i < a.size(); ++i) a(i) = static_cast<std::int64_t>((i * 7) % 11);
  check_bincount(a, 0);
  check_bincount(a, 4);
  check_bincount(a, 15);  // minlength beyond max + 1
  xt::xarray<std::int32_t> b = {0, 0, 3, 0, 1};
  check_bincount(b, 0);
  check_bincount(xt::xarray<bool>{true, false, true}, 0);
  check_bincount(xt::xarray<std::int32_t>{5}, 0);
  check_bincount(xt::xarray<std::int64_t>::from_shape({0}), 0);  // empty: length minlength
  check_bincount(xt::xarray<std::int64_t>::from_shape({0}), 3);
}

TEST(Bincount, LongCountsComeInSeveralChunks) {
  // 2^24 + 2 counts: more than the 128 MiB of int64 one chunk of counts may hold.
  const index_t big = index_t{1} << 24;
  const xt::xarray<std::int64_t> d = {3, big + 1, 0, big, 3};
  const Array x = from_xtensor(d, 2);
  const Array c = bincount(x);
  EXPECT_EQ(c.chunks().sizes(0), (std::vector<index_t>{big, 2}));
  // The counts at both ends of both chunks, and their total, in one pass, on the first and
  // the last scheduler (a full comparison on each would move 128 MiB per scheduler).
  for (const auto& s : {all_schedulers().front(), all_schedulers().back()}) {
    const auto [head, ends, total] =
        compute({.scheduler = s.get()}, c[{Slice{0, 5}}], c[{Slice{big - 2, big + 2}}], c.sum());
    const auto* h = head.data_as<std::int64_t>();
    const auto* e = ends.data_as<std::int64_t>();
    EXPECT_EQ(std::vector<std::int64_t>(h, h + head.size()),
              (std::vector<std::int64_t>{1, 0, 0, 2, 0}));
    EXPECT_EQ(std::vector<std::int64_t>(e, e + ends.size()),
              (std::vector<std::int64_t>{0, 0, 1, 1}));
    EXPECT_EQ(*total.data_as<std::int64_t>(), 5);
  }
}

TEST(Bincount, BadInput) {
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<std::int64_t>{1, -2, 3}, 2)), value_error);
  try {
    bincount(from_xtensor(xt::xarray<std::int32_t>{1, -2, 3}, 1));
    ADD_FAILURE() << "no error";
  } catch (const value_error& e) {
    EXPECT_NE(std::string(e.what()).find("bincount: x holds a negative value"), std::string::npos);
  }
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<double>{1, 2})), dtype_error);
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<float>{1, 2})), dtype_error);
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<std::int64_t>{{1, 2}})), shape_error);
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<std::int64_t>{1, 2}), std::nullopt, -1),
               value_error);
  EXPECT_THROW(bincount(from_xtensor(xt::xarray<std::int64_t>{1, 2}),
                        from_xtensor(xt::xarray<double>{1, 2, 3})),
               shape_error);
}

// --- unique --------------------------------------------------------------------------------------

/// unique_counts by std::map (NaNs: one value, last).
template <class T>
void check_unique(const xt::xarray<T>& d) {
  std::map<T, std::int64_t> m;
  std::int64_t nans = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(d.flat(i))) {
        ++nans;
        continue;
      }
    }
    ++m[d.flat(i)];
  }
  const std::size_t n = m.size() + (nans > 0 ? 1 : 0);
  xt::xarray<T> values = xt::xarray<T>::from_shape({n});
  xt::xarray<std::int64_t> counts = xt::xarray<std::int64_t>::from_shape({n});
  std::size_t k = 0;
  for (const auto& [v, c] : m) {
    values(k) = v;
    counts(k++) = c;
  }
  if (nans > 0) {
    values(k) = static_cast<T>(nan_v);
    counts(k) = nans;
  }
  const Shape shape(d.shape().begin(), d.shape().end());
  for (const ChunkSpec& spec : chunkings(shape)) {
    const Array x = from_xtensor(d, spec);
    for (const auto& s : all_schedulers()) {
      const ComputeOptions o{.scheduler = s.get()};
      const UniqueCounts u = unique_counts(x, o);
      ASSERT_TRUE(matches<T>(u.values, values, *s, 0)) << x.chunks().to_string();
      ASSERT_TRUE(matches<std::int64_t>(u.counts, counts, *s)) << x.chunks().to_string();
      ASSERT_TRUE(matches<T>(unique(x, {.scheduler = s.get(), .root = 0}), values, *s, 0));
    }
  }
}

TEST(Unique, SortedValuesAndCounts) {
  check_unique(scrambled<double>({7, 5}));
  check_unique(scrambled<double>({6, 4}, 3));  // several NaNs: one value, last
  check_unique(scrambled<float>({9}, 4));
  check_unique(scrambled<std::int32_t>({3, 2, 4}));
  check_unique(scrambled<std::int64_t>({1}));
  check_unique(scrambled<bool>({5, 3}));
  check_unique(scrambled<double>({0, 4}));
  check_unique(xt::xarray<double>(3.5));
}

}  // namespace
}  // namespace tessera::testing
