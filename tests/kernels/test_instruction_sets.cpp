// Every kernel set this build has and this CPU runs gives the same bits as the baseline set
// (SSE2 on x86-64), and the chain in registers the same bits as the passes it replaces.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_set.hpp"
#include "kernels/lane_sum.hpp"
#include "tessera/core/instruction_set.hpp"

namespace td = tessera::detail;
using tessera::DType;
using tessera::index_t;
using tessera::TileArg;

namespace {

std::vector<const td::KernelSet*> available_sets() {
  std::vector<const td::KernelSet*> sets;
  for (td::Isa isa : {td::Isa::Sse2, td::Isa::Avx2, td::Isa::Avx512, td::Isa::Native}) {
    if (const td::KernelSet* k = td::kernels_for(isa)) sets.push_back(k);
  }
  return sets;
}

const td::KernelSet& baseline() { return *available_sets().front(); }

/// Equal bits, or both NaN (a NaN's payload is not a result anyone can rely on).
template <class T>
bool same(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) && std::isnan(b)) return true;
  }
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// Storage for n values of T (bools as bytes of 0 or 1: std::vector<bool> has no data()).
template <class T>
using Values = std::vector<std::conditional_t<std::is_same_v<T, bool>, char, T>>;

/// Values of every kind a kernel must treat alike on every set: signed zeros, NaN, infinities,
/// subnormals, extremes, and a spread of ordinary values.
template <class T>
Values<T> awkward_values(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  Values<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      v[i] = static_cast<char>(rng() & 1);
    } else if constexpr (std::is_floating_point_v<T>) {
      static const T special[] = {T(0),
                                  -T(0),
                                  std::numeric_limits<T>::quiet_NaN(),
                                  std::numeric_limits<T>::infinity(),
                                  -std::numeric_limits<T>::infinity(),
                                  std::numeric_limits<T>::denorm_min(),
                                  std::numeric_limits<T>::max(),
                                  T(1),
                                  T(-1),
                                  T(0.5)};
      v[i] = i % 7 == 0 ? special[rng() % std::size(special)]
                        : static_cast<T>(std::uniform_real_distribution<double>(-100, 100)(rng));
    } else {
      v[i] = static_cast<T>(rng());
      if (i % 5 == 0) v[i] = static_cast<T>(rng() % 7);  // small values: shifts, powers
    }
  }
  return v;
}

template <class T>
void expect_same(const std::vector<T>& want, const std::vector<T>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(same(want[i], got[i])) << what << ": element " << i;
  }
}

constexpr index_t kN = 1031;  // odd: every set's vector loop leaves a tail

}  // namespace

TEST(InstructionSets, ReportsTheActiveSet) {
  const std::string name(tessera::instruction_set());
  EXPECT_TRUE(name == "sse2" || name == "avx2" || name == "avx512" || name == "native") << name;
  EXPECT_EQ(name, td::kernels().name);
  // The active set is one of the sets this CPU runs.
  bool found = false;
  for (const td::KernelSet* k : available_sets()) found = found || k == &td::kernels();
  EXPECT_TRUE(found);
}

TEST(InstructionSets, BinaryKernelsAgreeBitForBit) {
  using td::BinaryOp;
  for (const td::KernelSet* k : available_sets()) {
    for (DType t : tessera::all_dtypes) {
      tessera::visit_dtype(t, [&]<class T>() {
        const auto a = awkward_values<T>(kN, 1), b = awkward_values<T>(kN, 2);
        for (int o = 0; o <= static_cast<int>(BinaryOp::Fmin); ++o) {
          const auto op = static_cast<BinaryOp>(o);
          // true_divide always computes in floats (binary() casts integers first).
          if (op == BinaryOp::Div && !tessera::is_float(t)) continue;
          const bool bool_out = td::is_comparison(op) || td::is_logical(op);
          for (int mode = 0; mode < 3; ++mode) {  // both vary; a is one value; b is one value
            const TileArg ta{a.data(), mode == 1}, tb{b.data(), mode == 2};
            auto run = [&](const td::KernelSet& set, auto& out) -> bool {
              try {
                set.binary(op, t, ta, tb, out.data(), kN);
                return true;
              } catch (const tessera::error&) {
                return false;  // not defined for this dtype (bitwise on floats, ...)
              }
            };
            if (bool_out) {
              std::vector<char> want(kN), got(kN);
              const bool ok = run(baseline(), want);
              ASSERT_EQ(ok, run(*k, got));
              if (ok)
                expect_same(want, got,
                            std::string(k->name) + " " + std::string(td::binary_name(op)));
            } else {
              Values<T> want(kN), got(kN);
              const bool ok = run(baseline(), want);
              ASSERT_EQ(ok, run(*k, got));
              if (ok) {
                expect_same(want, got,
                            std::string(k->name) + " " + std::string(td::binary_name(op)) + " " +
                                std::string(tessera::dtype_name(t)) + " mode " +
                                std::to_string(mode));
              }
            }
          }
        }
      });
    }
  }
}

TEST(InstructionSets, UnaryKernelsAndCastsAgreeBitForBit) {
  using td::UnaryOp;
  for (const td::KernelSet* k : available_sets()) {
    for (DType t : tessera::all_dtypes) {
      tessera::visit_dtype(t, [&]<class T>() {
        const auto a = awkward_values<T>(kN, 3);
        const TileArg ta{a.data(), false};
        for (int o = 0; o <= static_cast<int>(UnaryOp::Invert); ++o) {
          const auto op = static_cast<UnaryOp>(o);
          std::vector<std::uint64_t> want(kN, 0), got(kN, 0);  // room for any output dtype
          bool ok = true;
          try {
            baseline().unary(op, t, ta, want.data(), kN);
          } catch (const tessera::error&) {
            ok = false;
          }
          if (!ok) continue;
          k->unary(op, t, ta, got.data(), kN);
          // Compare as the output dtype: floats in, floats out (NaNs alike); else raw bytes.
          if constexpr (std::is_floating_point_v<T>) {
            if (!td::is_predicate(op) && op != UnaryOp::Not) {
              std::vector<T> w(kN), g(kN);
              std::memcpy(w.data(), want.data(), kN * sizeof(T));
              std::memcpy(g.data(), got.data(), kN * sizeof(T));
              expect_same(w, g, std::string(k->name) + " " + std::string(td::unary_name(op)));
              continue;
            }
          }
          expect_same(want, got, std::string(k->name) + " " + std::string(td::unary_name(op)));
        }
        for (DType to : tessera::all_dtypes) {
          std::vector<std::uint64_t> want(kN, 0), got(kN, 0);
          baseline().cast(t, to, ta, want.data(), kN);
          k->cast(t, to, ta, got.data(), kN);
          if (tessera::is_float(to)) {
            tessera::visit_dtype(to, [&]<class F>() {
              if constexpr (std::is_floating_point_v<F>) {
                std::vector<F> w(kN), g(kN);
                std::memcpy(w.data(), want.data(), kN * sizeof(F));
                std::memcpy(g.data(), got.data(), kN * sizeof(F));
                expect_same(w, g, std::string(k->name) + " astype");
              }
            });
          } else {
            expect_same(want, got, std::string(k->name) + " astype");
          }
        }
      });
    }
  }
}

TEST(InstructionSets, RandomKernelsAgreeBitForBit) {
  for (const td::KernelSet* k : available_sets()) {
    for (std::int64_t first : {std::int64_t{0}, std::int64_t{3}, std::int64_t{1} << 40}) {
      std::vector<std::uint64_t> ww(kN), wg(kN);
      baseline().random_words(7, 1, first, kN, ww.data());
      k->random_words(7, 1, first, kN, wg.data());
      expect_same(ww, wg, std::string(k->name) + " words");
      std::vector<double> dw(kN), dg(kN);
      baseline().random_uniform_f64(7, 2, first, kN, -3.0, 5.0, dw.data());
      k->random_uniform_f64(7, 2, first, kN, -3.0, 5.0, dg.data());
      expect_same(dw, dg, std::string(k->name) + " uniform");
      baseline().random_normal_f64(7, 3, first, kN, 1.0, 2.0, dw.data());
      k->random_normal_f64(7, 3, first, kN, 1.0, 2.0, dg.data());
      expect_same(dw, dg, std::string(k->name) + " normal");
      std::vector<std::int64_t> iw(kN), ig(kN);
      baseline().random_integers_i64(7, 4, first, kN, -5, 1'000'003, iw.data());
      k->random_integers_i64(7, 4, first, kN, -5, 1'000'003, ig.data());
      expect_same(iw, ig, std::string(k->name) + " integers");
    }
  }
}

namespace {

/// The chain's steps applied one pass at a time with the elementwise kernels.
template <class T>
std::vector<T> by_passes(const td::KernelSet& set, const std::vector<td::ChainStep>& steps,
                         std::vector<T> x) {
  std::vector<T> out(x.size());
  for (const td::ChainStep& s : steps) {
    const T c = static_cast<T>(s.constant);
    const TileArg vx{x.data(), false}, vc{&c, true};
    const DType t = tessera::dtype_of<T>();
    switch (s.op) {
      case tessera::ChainOp::Add:
      case tessera::ChainOp::Sub:
      case tessera::ChainOp::Mul:
      case tessera::ChainOp::Div:
      case tessera::ChainOp::Pow: {
        const td::BinaryOp op = s.op == tessera::ChainOp::Add   ? td::BinaryOp::Add
                                : s.op == tessera::ChainOp::Sub ? td::BinaryOp::Sub
                                : s.op == tessera::ChainOp::Mul ? td::BinaryOp::Mul
                                : s.op == tessera::ChainOp::Div ? td::BinaryOp::Div
                                                                : td::BinaryOp::Pow;
        if (s.reversed)
          set.binary(op, t, vc, vx, out.data(), static_cast<index_t>(x.size()));
        else
          set.binary(op, t, vx, vc, out.data(), static_cast<index_t>(x.size()));
        break;
      }
      case tessera::ChainOp::Neg:
      case tessera::ChainOp::Abs:
      case tessera::ChainOp::Sqrt: {
        const td::UnaryOp op = s.op == tessera::ChainOp::Neg   ? td::UnaryOp::Neg
                               : s.op == tessera::ChainOp::Abs ? td::UnaryOp::Abs
                                                               : td::UnaryOp::Sqrt;
        set.unary(op, t, vx, out.data(), static_cast<index_t>(x.size()));
        break;
      }
    }
    x.swap(out);
  }
  return x;
}

std::vector<td::ChainStep> random_steps(std::mt19937_64& rng) {
  std::vector<td::ChainStep> steps(1 + rng() % 6);
  for (td::ChainStep& s : steps) {
    s.op = static_cast<tessera::ChainOp>(rng() % 8);
    s.reversed = s.op != tessera::ChainOp::Pow && (rng() & 1) != 0;
    s.constant = s.op == tessera::ChainOp::Pow ? 2.0 + static_cast<double>(rng() % 2)
                                               : std::uniform_real_distribution<double>(-3, 3)(rng);
  }
  return steps;
}

}  // namespace

TEST(InstructionSets, ChainsEqualTheirPasses) {
  std::mt19937_64 rng(11);
  for (const td::KernelSet* k : available_sets()) {
    for (int trial = 0; trial < 200; ++trial) {
      const auto steps = random_steps(rng);
      const auto x64 = awkward_values<double>(kN, static_cast<unsigned>(trial));
      std::vector<double> got64(kN);
      k->chain(DType::Float64, steps.data(), static_cast<int>(steps.size()), x64.data(),
               got64.data(), kN);
      expect_same(by_passes(baseline(), steps, x64), got64,
                  std::string(k->name) + " float64 chain, trial " + std::to_string(trial));
      // float32: the constants as the float32 constant nodes hold them.
      auto steps32 = steps;
      for (auto& s : steps32) s.constant = static_cast<double>(static_cast<float>(s.constant));
      const auto x32 = awkward_values<float>(kN, static_cast<unsigned>(trial));
      std::vector<float> got32(kN);
      k->chain(DType::Float32, steps32.data(), static_cast<int>(steps32.size()), x32.data(),
               got32.data(), kN);
      expect_same(by_passes(baseline(), steps32, x32), got32,
                  std::string(k->name) + " float32 chain, trial " + std::to_string(trial));
    }
  }
}

TEST(InstructionSets, AffineChainsEqualArangeThenPasses) {
  std::mt19937_64 rng(12);
  for (const td::KernelSet* k : available_sets()) {
    for (index_t first : {index_t{0}, index_t{5}, (index_t{1} << 52) - 3 * kN}) {
      const double start = -2.5, step = 0.1;
      std::vector<double> x(kN);
      for (index_t i = 0; i < kN; ++i)
        x[static_cast<std::size_t>(i)] = start + static_cast<double>(first + i) * step;
      const auto steps = random_steps(rng);
      std::vector<double> got(kN);
      k->chain_affine(steps.data(), static_cast<int>(steps.size()), start, step, first, got.data(),
                      kN);
      expect_same(by_passes(baseline(), steps, x), got,
                  std::string(k->name) + " affine chain from " + std::to_string(first));
    }
  }
}

/// min (Max false) or max of x by the rule the kernels promise: NaN if any value is NaN, else
/// the extreme with -0.0 below +0.0; the identity (+inf / -inf) for no values.
template <bool Max, class T>
T reference_extreme(const std::vector<T>& x) {
  T r = Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  for (T v : x) {
    if (std::isnan(v)) return std::numeric_limits<T>::quiet_NaN();
    const bool better =
        Max ? (v > r || (v == r && !std::signbit(v))) : (v < r || (v == r && std::signbit(v)));
    if (better) r = v;
  }
  return r;
}

TEST(InstructionSets, MinAndMaxOfFloats) {
  for (const td::KernelSet* k : available_sets()) {
    for (index_t n : {index_t{0}, index_t{1}, index_t{7}, index_t{33}, index_t{1000}, kN}) {
      for (unsigned seed = 0; seed < 8; ++seed) {
        auto x = awkward_values<double>(static_cast<std::size_t>(n), seed);
        // Half the trials without NaN, so that the extremes (and signed zeros) are seen.
        if (seed % 2)
          std::replace_if(
              x.begin(), x.end(), [](double v) { return std::isnan(v); }, -0.0);
        const std::vector<float> f(x.begin(), x.end());
        const std::string what =
            std::string(k->name) + " n " + std::to_string(n) + " seed " + std::to_string(seed);
        EXPECT_TRUE(same(reference_extreme<false>(x), k->min_f64(x.data(), n))) << what;
        EXPECT_TRUE(same(reference_extreme<true>(x), k->max_f64(x.data(), n))) << what;
        EXPECT_TRUE(same(reference_extreme<false>(f), k->min_f32(f.data(), n))) << what;
        EXPECT_TRUE(same(reference_extreme<true>(f), k->max_f32(f.data(), n))) << what;
      }
      // Signed zeros alone, in both orders: min is -0.0 and max +0.0 wherever they lie.
      std::vector<double> zeros(static_cast<std::size_t>(n), 0.0);
      for (std::size_t i = 0; i < zeros.size(); i += 3) zeros[i] = -0.0;
      if (n > 0) {
        EXPECT_TRUE(std::signbit(k->min_f64(zeros.data(), n))) << k->name << " n " << n;
        if (n > 1) {
          EXPECT_FALSE(std::signbit(k->max_f64(zeros.data(), n))) << k->name << " n " << n;
        }
      }
    }
  }
}

TEST(InstructionSets, SquaredDeviationsAddInTheLaneOrder) {
  for (const td::KernelSet* k : available_sets()) {
    for (index_t n : {index_t{0}, index_t{1}, index_t{31}, index_t{32}, index_t{1000}, kN}) {
      const auto x = awkward_values<double>(static_cast<std::size_t>(n), 9);
      std::vector<double> finite;
      for (double v : x) finite.push_back(std::isfinite(v) && std::abs(v) < 1e100 ? v : 2.5);
      const std::vector<float> f(finite.begin(), finite.end());
      const double mean = 0.75;
      EXPECT_TRUE(same(td::lane_sum_squared_deviations(finite.data(), n, mean),
                       k->sum_squared_deviations_f64(finite.data(), n, mean)))
          << k->name << " n " << n;
      EXPECT_TRUE(same(td::lane_sum_squared_deviations(f.data(), n, mean),
                       k->sum_squared_deviations_f32(f.data(), n, mean)))
          << k->name << " n " << n;
      // And the lane order is a sum of the squares: close to the plain loop's.
      double plain = 0;
      for (double v : finite) plain += (v - mean) * (v - mean);
      EXPECT_NEAR(k->sum_squared_deviations_f64(finite.data(), n, mean), plain,
                  1e-12 * std::max(1.0, std::abs(plain)))
          << k->name << " n " << n;
    }
  }
}

TEST(InstructionSets, SumsAddInTheLaneOrder) {
  for (const td::KernelSet* k : available_sets()) {
    for (index_t n : {index_t{0}, index_t{1}, index_t{31}, index_t{32}, index_t{1000}, kN}) {
      const auto x = awkward_values<double>(static_cast<std::size_t>(n), 5);
      std::vector<double> finite;
      for (double v : x) finite.push_back(std::isfinite(v) ? v : 1.5);
      EXPECT_TRUE(same(td::lane_sum<double>(finite.data(), n), k->sum_f64(finite.data(), n)))
          << k->name << " n " << n;
      std::vector<float> f(finite.begin(), finite.end());
      EXPECT_TRUE(same(td::lane_sum<float>(f.data(), n), k->sum_f32(f.data(), n)))
          << k->name << " n " << n;
    }
  }
}
