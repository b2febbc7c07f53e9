#include "array/random_kernels.hpp"

#include <gtest/gtest.h>

#include <Random123/philox.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include "tessera/core/error.hpp"

namespace {

namespace td = tessera::detail;

constexpr std::uint64_t kSeed = 0x0123456789ABCDEFull;
constexpr std::int64_t kMillion = 1'000'000;
__extension__ typedef unsigned __int128 U128;  // __extension__: quiet under -Wpedantic

/// Keeps a * b + c from becoming one FMA under -march=native, as the kernels do.
#if defined(__has_builtin)
#if __has_builtin(__builtin_assoc_barrier)
#define TEST_NO_FMA(x) __builtin_assoc_barrier(x)
#endif
#endif
#ifndef TEST_NO_FMA
#define TEST_NO_FMA(x) (x)
#endif

/// The mapping the header documents, written against Random123 itself.
std::uint64_t reference_word(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const std::uint64_t block = index >> 1;
  const r123::Philox4x32::ctr_type ctr = {
      {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
       static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}};
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const auto x = r123::Philox4x32()(ctr, key);
  return (index & 1) != 0 ? (std::uint64_t{x.v[3]} << 32 | x.v[2])
                          : (std::uint64_t{x.v[1]} << 32 | x.v[0]);
}

template <class T>
using Fill = std::function<void(std::int64_t first, std::int64_t n, T* out)>;

template <class T>
std::vector<T> fill_all(const Fill<T>& fill, std::int64_t first, std::int64_t n) {
  std::vector<T> v(static_cast<std::size_t>(n));
  fill(first, n, v.data());
  return v;
}

bool same_bits(const void* a, const void* b, std::size_t bytes) {
  return std::memcmp(a, b, bytes) == 0;
}

/// Fills [base, base + n) whole, then in pieces cut at random places (odd and even starts,
/// empty and one-element pieces), then element by element at random spots: all must agree
/// bit for bit.
template <class T>
void expect_subrange_identity(const Fill<T>& fill, std::int64_t base, std::int64_t n,
                              std::uint64_t rng_seed) {
  const std::vector<T> whole = fill_all(fill, base, n);
  std::mt19937_64 rng(rng_seed);
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<std::int64_t> cuts = {0, n};
    const int pieces = 1 + static_cast<int>(rng() % 40);
    for (int c = 0; c < pieces; ++c) {
      const std::int64_t at = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n + 1));
      cuts.push_back(at);
      if (rng() % 4 == 0) cuts.push_back(std::min(n, at + 1));  // one-element piece
    }
    std::sort(cuts.begin(), cuts.end());
    std::vector<T> assembled(whole.size());
    // Fill the pieces in a shuffled order: nothing may depend on what was filled before.
    std::vector<std::size_t> order(cuts.size() - 1);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i : order)
      fill(base + cuts[i], cuts[i + 1] - cuts[i], assembled.data() + cuts[i]);
    ASSERT_TRUE(same_bits(whole.data(), assembled.data(), whole.size() * sizeof(T)))
        << "trial " << trial << " with " << cuts.size() - 1 << " pieces from base " << base;
  }
  for (int k = 0; k < 200; ++k) {
    const auto i = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(n));
    T one;
    fill(base + static_cast<std::int64_t>(i), 1, &one);
    ASSERT_TRUE(same_bits(&one, &whole[i], sizeof(T))) << "element " << base + std::int64_t(i);
  }
}

template <class T>
void expect_subrange_identity_everywhere(const Fill<T>& fill) {
  // Unaligned sizes and starts, including one near the top of the index space.
  expect_subrange_identity<T>(fill, 0, 5003, 1);
  expect_subrange_identity<T>(fill, 1, 4096, 2);
  expect_subrange_identity<T>(fill, 1'000'000'007, 9001, 3);
  expect_subrange_identity<T>(fill, (std::int64_t{1} << 62) + 12345, 777, 4);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double variance_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

/// Pearson chi-square of observed counts against expected probabilities.
double chi_square(const std::vector<std::int64_t>& counts, const std::vector<double>& probs,
                  std::int64_t n) {
  double chi2 = 0;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const double expected = probs[b] * static_cast<double>(n);
    chi2 += (static_cast<double>(counts[b]) - expected) *
            (static_cast<double>(counts[b]) - expected) / expected;
  }
  return chi2;
}

std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t h = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

Fill<double> uniform_f64(std::uint64_t seed, std::uint64_t stream, double low, double high) {
  return [=](std::int64_t first, std::int64_t n, double* out) {
    td::random_uniform_f64(seed, stream, first, n, low, high, out);
  };
}
Fill<float> uniform_f32(std::uint64_t seed, std::uint64_t stream, float low, float high) {
  return [=](std::int64_t first, std::int64_t n, float* out) {
    td::random_uniform_f32(seed, stream, first, n, low, high, out);
  };
}
Fill<double> normal_f64(std::uint64_t seed, std::uint64_t stream, double mean, double stddev) {
  return [=](std::int64_t first, std::int64_t n, double* out) {
    td::random_normal_f64(seed, stream, first, n, mean, stddev, out);
  };
}
Fill<float> normal_f32(std::uint64_t seed, std::uint64_t stream, float mean, float stddev) {
  return [=](std::int64_t first, std::int64_t n, float* out) {
    td::random_normal_f32(seed, stream, first, n, mean, stddev, out);
  };
}
Fill<std::int64_t> integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t low,
                                std::int64_t high) {
  return [=](std::int64_t first, std::int64_t n, std::int64_t* out) {
    td::random_integers_i64(seed, stream, first, n, low, high, out);
  };
}
Fill<std::int32_t> integers_i32(std::uint64_t seed, std::uint64_t stream, std::int32_t low,
                                std::int32_t high) {
  return [=](std::int64_t first, std::int64_t n, std::int32_t* out) {
    td::random_integers_i32(seed, stream, first, n, low, high, out);
  };
}
Fill<std::uint64_t> words(std::uint64_t seed, std::uint64_t stream) {
  return [=](std::int64_t first, std::int64_t n, std::uint64_t* out) {
    td::random_words(seed, stream, first, n, out);
  };
}

// --- Philox ------------------------------------------------------------------------------------

TEST(RandomKernels, PhiloxKnownAnswers) {
  // Random123's kat_vectors for philox4x32 with 10 rounds.
  EXPECT_EQ(td::philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (td::PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      td::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (td::PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      td::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (td::PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(RandomKernels, PhiloxMatchesRandom123) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 10000; ++i) {
    const auto r = [&] { return static_cast<std::uint32_t>(rng()); };
    const td::PhiloxCounter ctr = {r(), r(), r(), r()};
    const td::PhiloxKey key = {r(), r()};
    const auto expected =
        r123::Philox4x32()({{ctr[0], ctr[1], ctr[2], ctr[3]}}, {{key[0], key[1]}});
    const td::PhiloxCounter got = td::philox4x32_10(ctr, key);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.v)) << "case " << i;
  }
}

TEST(RandomKernels, BatchedWordsMatchRandom123) {
  // The SIMD batch generator against the documented mapping, for many starts and lengths,
  // including block counters that carry into the high word and huge streams and seeds.
  const std::vector<std::uint64_t> seeds = {0, 1, kSeed, ~0ull};
  const std::vector<std::uint64_t> streams = {0, 7, 0xFFFFFFFFull, ~0ull};
  const std::vector<std::int64_t> firsts = {
      0, 1, 2, 127, 128, 129, 0x1FFFFFFF0ll, (std::int64_t{1} << 62) - 3};
  for (std::uint64_t seed : seeds) {
    for (std::uint64_t stream : streams) {
      for (std::int64_t first : firsts) {
        for (std::int64_t n : {std::int64_t{1}, std::int64_t{3}, std::int64_t{300}}) {
          std::vector<std::uint64_t> got(static_cast<std::size_t>(n));
          td::random_words(seed, stream, first, n, got.data());
          for (std::int64_t k = 0; k < n; ++k) {
            const auto i = static_cast<std::uint64_t>(first + k);
            ASSERT_EQ(got[static_cast<std::size_t>(k)], reference_word(seed, stream, i))
                << "seed " << seed << " stream " << stream << " index " << i;
            ASSERT_EQ(td::random_word(seed, stream, first + k), reference_word(seed, stream, i));
          }
        }
      }
    }
  }
}

TEST(RandomKernels, ReportsSimdPath) {
  const std::string simd = td::random_kernels_simd();
  std::cout << "random kernels SIMD path: " << simd << "\n";
  EXPECT_TRUE(simd == "avx512" || simd == "avx2" || simd == "sse2" || simd == "native");
}

// --- Sub-range identity ------------------------------------------------------------------------

TEST(RandomKernels, SubRangeIdentityWords) { expect_subrange_identity_everywhere(words(kSeed, 5)); }

TEST(RandomKernels, SubRangeIdentityUniform) {
  expect_subrange_identity_everywhere(uniform_f64(kSeed, 1, -2.5, 7.0));
  expect_subrange_identity_everywhere(uniform_f32(kSeed, 1, -2.5f, 7.0f));
}

TEST(RandomKernels, SubRangeIdentityNormal) {
  expect_subrange_identity_everywhere(normal_f64(kSeed, 2, 1.0, 3.0));
  expect_subrange_identity_everywhere(normal_f32(kSeed, 2, 1.0f, 3.0f));
}

TEST(RandomKernels, SubRangeIdentityIntegers) {
  expect_subrange_identity_everywhere(integers_i64(kSeed, 3, -7, 1'000'003));
  // About a quarter of these take the fallback path: it must be just as pure.
  expect_subrange_identity_everywhere(integers_i64(kSeed, 3, 0, (std::int64_t{1} << 62) + 1));
  expect_subrange_identity_everywhere(integers_i32(kSeed, 3, -100, 37));
}

// --- Seeds and streams ---------------------------------------------------------------------------

TEST(RandomKernels, SeedsAndStreamsGiveDifferentSequences) {
  constexpr std::int64_t n = 4096;
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> configs = {
      {0, 0},          {1, 0}, {0, 1}, {1, 1}, {kSeed, 0}, {kSeed ^ 1, 0}, {kSeed, 1ull << 32},
      {1ull << 32, 0}, {5, 9}, {9, 5}};
  std::vector<std::vector<std::uint64_t>> all;
  for (auto [seed, stream] : configs) all.push_back(fill_all(words(seed, stream), 0, n));
  for (std::size_t a = 0; a < all.size(); ++a) {
    for (std::size_t b = a + 1; b < all.size(); ++b) {
      std::int64_t equal = 0;
      for (std::size_t k = 0; k < all[a].size(); ++k) equal += all[a][k] == all[b][k];
      EXPECT_EQ(equal, 0) << "configs " << a << " and " << b;
    }
  }
  // A shifted index range of one stream is not another stream's.
  const auto shifted = fill_all(words(0, 0), 1, n);
  EXPECT_NE(shifted, all[2]);
}

TEST(RandomKernels, UniformDependsOnSeedAndStream) {
  const auto a = fill_all(uniform_f64(1, 0, 0, 1), 0, 1000);
  const auto b = fill_all(uniform_f64(2, 0, 0, 1), 0, 1000);
  const auto c = fill_all(uniform_f64(1, 1, 0, 1), 0, 1000);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
}

// --- Uniform -------------------------------------------------------------------------------------

TEST(RandomKernels, UniformMatchesDefinition) {
  const double low = -3.25, high = 11.5;
  const auto v = fill_all(uniform_f64(kSeed, 4, low, high), 999, 1000);
  for (std::int64_t k = 0; k < 1000; ++k) {
    const double u =
        static_cast<double>(reference_word(kSeed, 4, static_cast<std::uint64_t>(999 + k)) >> 11) *
        0x1p-53;
    const double product = TEST_NO_FMA((high - low) * u);  // its own statement: no FMA
    const double expected = low + product;
    ASSERT_EQ(v[static_cast<std::size_t>(k)], std::min(expected, std::nextafter(high, low)));
  }
}

TEST(RandomKernels, UniformRangeAndMoments) {
  const double low = -2.0, high = 5.0;
  const auto v = fill_all(uniform_f64(kSeed, 10, low, high), 0, kMillion);
  for (double x : v) ASSERT_TRUE(x >= low && x < high) << x;
  const double width = high - low;
  const double n = static_cast<double>(v.size());
  // Five standard errors: the sample mean's is width / sqrt(12 n); the variance's is
  // sqrt((mu4 - sigma^4) / n) with mu4 = width^4 / 80 for a uniform.
  EXPECT_NEAR(mean_of(v), (low + high) / 2, 5 * width / std::sqrt(12 * n));
  const double var = width * width / 12;
  EXPECT_NEAR(variance_of(v), var, 5 * std::sqrt((std::pow(width, 4) / 80 - var * var) / n));
  // Equal-width bins, chi-square with 99 degrees of freedom; 160 is beyond its 99.99% point.
  std::vector<std::int64_t> counts(100, 0);
  for (double x : v) ++counts[static_cast<std::size_t>((x - low) / width * 100)];
  EXPECT_LT(chi_square(counts, std::vector<double>(100, 0.01), kMillion), 160.0);
}

TEST(RandomKernels, UniformUsesAll53Bits) {
  const auto v = fill_all(uniform_f64(kSeed, 11, 0.0, 1.0), 0, 4096);
  std::int64_t odd = 0;
  for (double x : v) {
    const double scaled = x * 0x1p53;
    ASSERT_EQ(scaled, std::floor(scaled));
    odd += static_cast<std::int64_t>(std::fmod(scaled, 2.0)) == 1;
  }
  EXPECT_GT(odd, 1800);
  EXPECT_LT(odd, 2300);
}

TEST(RandomKernels, UniformNeverReachesHigh) {
  // [1, 2): 1 + (1 - 2^-53) rounds to 2; the clamp keeps it below.
  double v[1];
  for (std::int64_t i = 0; i < 200000; ++i) {
    td::random_uniform_f64(kSeed, 12, i, 1, 1.0, 2.0, v);
    ASSERT_LT(v[0], 2.0);
    ASSERT_GE(v[0], 1.0);
  }
  // A one-ulp interval holds a single double; everything rounding up must clamp to low.
  const double low = 1.0, high = std::nextafter(1.0, 2.0);
  for (double x : fill_all(uniform_f64(kSeed, 12, low, high), 0, 10000)) ASSERT_EQ(x, low);
  // And in float: the doubles in [1, 1 + 2^-23) round to 1 or 1 + 2^-23 = high.
  const float flow = 1.0f, fhigh = std::nextafter(1.0f, 2.0f);
  for (float x : fill_all(uniform_f32(kSeed, 12, flow, fhigh), 0, 10000)) ASSERT_EQ(x, flow);
  // low == high is allowed and gives low.
  for (double x : fill_all(uniform_f64(kSeed, 12, 3.0, 3.0), 0, 300)) ASSERT_EQ(x, 3.0);
}

TEST(RandomKernels, UniformF32RangeAndMatchesF64) {
  const float low = -3.0f, high = 5.0f;
  const auto f = fill_all(uniform_f32(kSeed, 13, low, high), 17, kMillion);
  const auto d = fill_all(uniform_f64(kSeed, 13, low, high), 17, kMillion);
  double sum = 0;
  for (std::size_t k = 0; k < f.size(); ++k) {
    ASSERT_TRUE(f[k] >= low && f[k] < high) << f[k];
    ASSERT_EQ(f[k], std::min(static_cast<float>(d[k]), std::nextafter(high, low)));
    sum += f[k];
  }
  EXPECT_NEAR(sum / static_cast<double>(f.size()), 1.0, 5 * 8.0 / std::sqrt(12.0 * kMillion));
}

// --- Normal --------------------------------------------------------------------------------------

TEST(RandomKernels, NormalMomentsAndDistribution) {
  const auto v = fill_all(normal_f64(kSeed, 20, 0.0, 1.0), 0, kMillion);
  const double n = static_cast<double>(v.size());
  EXPECT_NEAR(mean_of(v), 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(variance_of(v), 1.0, 5 * std::sqrt(2 / n));
  double skew = 0, kurt = 0;
  for (double x : v) {
    skew += x * x * x;
    kurt += x * x * x * x;
  }
  EXPECT_NEAR(skew / n, 0.0, 5 * std::sqrt(15 / n));
  EXPECT_NEAR(kurt / n, 3.0, 5 * std::sqrt(96 / n));

  // Kolmogorov-Smirnov against the normal CDF: 1.95 / sqrt(n) is the 0.1% critical value.
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  double d = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double cdf = normal_cdf(sorted[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - cdf, cdf - static_cast<double>(i) / n});
  }
  EXPECT_LT(d, 1.95 / std::sqrt(n)) << "KS statistic";

  // Histogram in 0.1-wide bins over [-4, 4) plus both tails; bins with tiny expectations merged
  // by construction (the tails). 81 degrees of freedom: 140 is beyond the 99.9% quantile.
  std::vector<double> probs;
  std::vector<std::int64_t> counts(82, 0);
  probs.push_back(normal_cdf(-4.0));
  for (int b = 0; b < 80; ++b)
    probs.push_back(normal_cdf(-4.0 + 0.1 * (b + 1)) - normal_cdf(-4.0 + 0.1 * b));
  probs.push_back(1 - normal_cdf(4.0));
  for (double x : v) {
    const std::size_t b =
        x < -4.0   ? 0
        : x >= 4.0 ? 81
                   : 1 + static_cast<std::size_t>(std::min(79.0, std::floor((x + 4.0) * 10)));
    ++counts[b];
  }
  EXPECT_LT(chi_square(counts, probs, kMillion), 140.0);

  // Tail mass beyond 3 and 4.5 standard deviations.
  for (const double cut : {3.0, 4.5}) {
    std::int64_t tail = 0;
    for (double x : v) tail += std::abs(x) > cut;
    const double expected = 2 * (1 - normal_cdf(cut)) * n;
    EXPECT_NEAR(static_cast<double>(tail), expected, 5 * std::sqrt(expected) + 1) << cut;
  }
}

TEST(RandomKernels, NormalMatchesBoxMullerDefinition) {
  // Pair (2b, 2b + 1) is r cos(theta), r sin(theta) with r = sqrt(-2 ln(1 - u_2b)) and
  // theta = 2 pi u_(2b+1), u_i = (word_i >> 11) 2^-53. The kernel's own ln / sin / cos must be
  // within a few ulps of r of a long double evaluation.
  constexpr std::int64_t first = 12345;  // odd: the first pair is split
  constexpr std::int64_t n = 200000;
  const auto z = fill_all(normal_f64(kSeed, 23, 0.0, 1.0), first, n);
  const long double pi = 3.141592653589793238462643383279502884L;
  double worst = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    const auto i = static_cast<std::uint64_t>(first + k);
    const std::uint64_t even = reference_word(kSeed, 23, i & ~std::uint64_t{1});
    const std::uint64_t odd = reference_word(kSeed, 23, i | 1);
    const long double u1 = 1.0L - static_cast<long double>(even >> 11) * 0x1p-53L;
    const long double theta = 2 * pi * static_cast<long double>(odd >> 11) * 0x1p-53L;
    const long double r = std::sqrt(-2 * std::log(u1));
    const long double ref = (i & 1) != 0 ? r * std::sin(theta) : r * std::cos(theta);
    const long double ulp_r = std::max(r, 1e-300L) * 0x1p-52L;
    worst = std::max(worst,
                     static_cast<double>(std::abs(z[static_cast<std::size_t>(k)] - ref) / ulp_r));
  }
  std::cout << "max error in ulps of r: " << worst << "\n";
  EXPECT_LT(worst, 4.0);
}

TEST(RandomKernels, NormalMeanAndStddev) {
  const auto v = fill_all(normal_f64(kSeed, 21, 5.0, 0.25), 3, kMillion);
  EXPECT_NEAR(mean_of(v), 5.0, 5 * 0.25 / std::sqrt(double(kMillion)));
  EXPECT_NEAR(std::sqrt(variance_of(v)), 0.25, 5 * 0.25 / std::sqrt(2.0 * kMillion));
  // The standard normal underneath is the same: (x - mean) / stddev recovers it closely.
  const auto z = fill_all(normal_f64(kSeed, 21, 0.0, 1.0), 3, 1000);
  for (std::size_t k = 0; k < z.size(); ++k) ASSERT_NEAR((v[k] - 5.0) / 0.25, z[k], 1e-12);
  // stddev 0 is a point mass.
  for (double x : fill_all(normal_f64(kSeed, 21, -1.5, 0.0), 0, 300)) ASSERT_EQ(x, -1.5);
}

TEST(RandomKernels, NormalF32IsRoundedF64) {
  const auto f = fill_all(normal_f32(kSeed, 22, 2.0f, 3.0f), 1, 100000);
  const auto d = fill_all(normal_f64(kSeed, 22, 2.0, 3.0), 1, 100000);
  for (std::size_t k = 0; k < f.size(); ++k) {
    ASSERT_EQ(f[k], static_cast<float>(d[k]));
    ASSERT_TRUE(std::isfinite(f[k]));
  }
}

// --- Integers ------------------------------------------------------------------------------------

/// Chi-square of `v`'s values bucketed into `bins` equal-probability classes by `bucket`.
template <class T, class Bucket>
double integer_chi2(const std::vector<T>& v, int bins, Bucket bucket) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), 0);
  for (T x : v) ++counts[static_cast<std::size_t>(bucket(x))];
  return chi_square(counts, std::vector<double>(static_cast<std::size_t>(bins), 1.0 / bins),
                    static_cast<std::int64_t>(v.size()));
}

TEST(RandomKernels, IntegersSmallRange) {
  const auto v = fill_all(integers_i64(kSeed, 30, 0, 10), 0, kMillion);
  for (std::int64_t x : v) ASSERT_TRUE(x >= 0 && x < 10);
  // 9 degrees of freedom: 33 is about the 99.98% point (a fixed seed: the test is exact).
  EXPECT_LT(integer_chi2(v, 10, [](std::int64_t x) { return x; }), 33.0);
  // Without rejections the value is low + high64(word * span), as documented.
  for (std::int64_t k = 0; k < 1000; ++k) {
    const U128 p = static_cast<U128>(reference_word(kSeed, 30, static_cast<std::uint64_t>(k))) * 10;
    ASSERT_EQ(v[static_cast<std::size_t>(k)], static_cast<std::int64_t>(p >> 64));
  }
}

TEST(RandomKernels, IntegersRangeNotPowerOfTwo) {
  const std::int64_t low = -7, high = 1'000'003;  // span 1,000,010
  const auto v = fill_all(integers_i64(kSeed, 31, low, high), 5, kMillion);
  for (std::int64_t x : v) ASSERT_TRUE(x >= low && x < high) << x;
  // 10 classes of exactly 100,001 values each; 9 degrees of freedom.
  EXPECT_LT(integer_chi2(v, 10, [&](std::int64_t x) { return (x - low) / 100001; }), 33.0);
  // Residues mod 3 (1,000,010 = 3 * 333,336 + 2: classes 0 and 1 have one value more).
  std::vector<std::int64_t> mod3(3, 0);
  for (std::int64_t x : v) ++mod3[static_cast<std::size_t>((x - low) % 3)];
  const double span = 1'000'010;
  EXPECT_LT(chi_square(mod3, {333337 / span, 333337 / span, 333336 / span}, kMillion), 20.0);
}

TEST(RandomKernels, IntegersHugeRange) {
  // span 3 * 2^60 + 1 (~2^61.6): 2^64 mod span = 2^60 - 5, so one first word in 16 is
  // rejected and the fallback sequence matters for uniformity.
  const std::int64_t low = -(std::int64_t{1} << 60);
  const std::int64_t span = 3 * (std::int64_t{1} << 60) + 1;
  const std::int64_t high = low + span;
  const auto v = fill_all(integers_i64(kSeed, 32, low, high), 0, kMillion);
  for (std::int64_t x : v) ASSERT_TRUE(x >= low && x < high) << x;
  // 12 equal classes of 2^58 values (the last holds one more, negligibly).
  EXPECT_LT(integer_chi2(
                v, 12, [&](std::int64_t x) { return std::min<std::int64_t>(11, (x - low) >> 58); }),
            40.0);
  std::int64_t odd = 0;
  for (std::int64_t x : v) odd += (x & 1) != 0;
  EXPECT_NEAR(static_cast<double>(odd), kMillion / 2.0, 5 * std::sqrt(kMillion / 4.0));

  // The same near 2^62: span 2^62 + 1, where a quarter of the first words are rejected.
  const std::int64_t big = (std::int64_t{1} << 62) + 1;
  const auto w = fill_all(integers_i64(kSeed, 33, 0, big), 0, kMillion);
  for (std::int64_t x : w) ASSERT_TRUE(x >= 0 && x < big) << x;
  EXPECT_LT(integer_chi2(w, 16, [](std::int64_t x) { return std::min<std::int64_t>(15, x >> 58); }),
            45.0);
}

TEST(RandomKernels, IntegersFullAndTinyRanges) {
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  const std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  const auto v = fill_all(integers_i64(kSeed, 34, lo, hi), 0, 100000);
  std::int64_t negative = 0;
  for (std::int64_t x : v) {
    ASSERT_LT(x, hi);
    negative += x < 0;
  }
  EXPECT_NEAR(static_cast<double>(negative), 50000.0, 5 * std::sqrt(25000.0));
  for (std::int64_t x : fill_all(integers_i64(kSeed, 34, 41, 42), 0, 1000)) ASSERT_EQ(x, 41);
  for (std::int32_t x : fill_all(integers_i32(kSeed, 34, -9, -8), 0, 1000)) ASSERT_EQ(x, -9);
}

TEST(RandomKernels, IntegersI32MatchI64) {
  const std::int32_t low = std::numeric_limits<std::int32_t>::min();
  const std::int32_t high = std::numeric_limits<std::int32_t>::max();
  const auto a = fill_all(integers_i32(kSeed, 35, low, high), 11, 100000);
  const auto b = fill_all(integers_i64(kSeed, 35, low, high), 11, 100000);
  for (std::size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k], b[k]);
    ASSERT_TRUE(a[k] >= low && a[k] < high);
  }
  const auto small = fill_all(integers_i32(kSeed, 36, -5, 6), 0, kMillion);
  for (std::int32_t x : small) ASSERT_TRUE(x >= -5 && x < 6);
  EXPECT_LT(integer_chi2(small, 11, [](std::int32_t x) { return x + 5; }), 35.0);
}

// --- Arguments -----------------------------------------------------------------------------------

TEST(RandomKernels, RejectsInvalidArguments) {
  double d[4];
  float f[4];
  std::int64_t i[4];
  std::int32_t j[4];
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(td::random_uniform_f64(0, 0, 0, 4, 1.0, 0.0, d), tessera::value_error);
  EXPECT_THROW(td::random_uniform_f64(0, 0, 0, 4, 0.0, inf, d), tessera::value_error);
  EXPECT_THROW(td::random_uniform_f64(0, 0, 0, 4, -1e308, 1e308, d), tessera::value_error);
  EXPECT_THROW(td::random_uniform_f64(0, 0, -1, 4, 0.0, 1.0, d), tessera::value_error);
  EXPECT_THROW(td::random_uniform_f64(0, 0, 0, -4, 0.0, 1.0, d), tessera::value_error);
  EXPECT_THROW(
      td::random_uniform_f64(0, 0, std::numeric_limits<std::int64_t>::max(), 2, 0.0, 1.0, d),
      tessera::value_error);
  EXPECT_THROW(td::random_uniform_f32(0, 0, 0, 4, 2.0f, 1.0f, f), tessera::value_error);
  EXPECT_THROW(td::random_normal_f64(0, 0, 0, 4, 0.0, -1.0, d), tessera::value_error);
  EXPECT_THROW(td::random_normal_f64(0, 0, 0, 4, std::nan(""), 1.0, d), tessera::value_error);
  EXPECT_THROW(td::random_normal_f32(0, 0, 0, 4, 0.0f, -1.0f, f), tessera::value_error);
  EXPECT_THROW(td::random_integers_i64(0, 0, 0, 4, 5, 5, i), tessera::value_error);
  EXPECT_THROW(td::random_integers_i32(0, 0, 0, 4, 6, 5, j), tessera::value_error);
  // n == 0 writes nothing, anywhere in range.
  td::random_normal_f64(0, 0, 12345, 0, 0.0, 1.0, nullptr);
}

// --- Pinned values -------------------------------------------------------------------------------

/// Fixed outputs: every build (SSE2, AVX2, AVX-512, portable scalar; -O2 or -march=native)
/// must produce exactly these, which is what makes arrays reproducible across machines and
/// builds. Changing any of them changes every random array Tessera makes.
TEST(RandomKernels, PinnedOutputs) {
  constexpr std::int64_t first = 99;
  constexpr std::int64_t n = 100000;
  const auto w = fill_all(words(kSeed, 7), first, n);
  // A span that is not a power of two, so a fused multiply-add would change the rounding.
  const auto u = fill_all(uniform_f64(kSeed, 7, -1.0, 2.3), first, n);
  const auto uf = fill_all(uniform_f32(kSeed, 7, -1.0f, 3.0f), first, n);
  const auto i = fill_all(integers_i64(kSeed, 7, -1000, (std::int64_t{1} << 62) + 1), first, n);
  const auto z = fill_all(normal_f64(kSeed, 7, 0.5, 2.0), first, n);
  const auto zf = fill_all(normal_f32(kSeed, 7, 0.5f, 2.0f), first, n);
  const std::uint64_t hw = fnv1a(w.data(), w.size() * 8);
  const std::uint64_t hu = fnv1a(u.data(), u.size() * 8);
  const std::uint64_t huf = fnv1a(uf.data(), uf.size() * 4);
  const std::uint64_t hi = fnv1a(i.data(), i.size() * 8);
  const std::uint64_t hz = fnv1a(z.data(), z.size() * 8);
  const std::uint64_t hzf = fnv1a(zf.data(), zf.size() * 4);
  std::cout << std::hex << "words " << hw << " uniform " << hu << " uniform_f32 " << huf
            << " integers " << hi << " normal " << hz << " normal_f32 " << hzf << std::dec << "\n";
  EXPECT_EQ(w[0], reference_word(kSeed, 7, first));
  EXPECT_EQ(hw, 0x75553f048fd91dbbull);
  EXPECT_EQ(hu, 0x2f92e9cbd6817c7aull);
  EXPECT_EQ(huf, 0x31cdf6e48b0b6f95ull);
  EXPECT_EQ(hi, 0x270437b960d4518aull);
  EXPECT_EQ(hz, 0x43378e3b1668edcbull);
  EXPECT_EQ(hzf, 0xc82c6008a6f69229ull);
}

}  // namespace
