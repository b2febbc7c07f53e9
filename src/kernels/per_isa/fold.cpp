// Folds of a run of floats into one value, for the reductions: sums in lane_sum's order, the
// sum of squared deviations (var, std), and min and max (extrema.hpp's order, NaN winning).

#include <limits>

#include "kernels/extrema.hpp"
#include "kernels/per_isa/functions.hpp"
#include "kernels/per_isa/xsimd.hpp"

namespace tessera::detail::TESSERA_ISA_NAMESPACE {

namespace {

using Arch = xsimd::default_arch;

/// min_of / max_of on every lane of two batches that hold no NaN where it matters (the callers
/// track NaNs on their own). xsimd's min(a, b) is the instruction's a < b ? a : b (b on ties):
/// taken both ways round, the two agree unless the values tie, and then or-ing (min) or
/// and-ing (max) them keeps -0.0 (min) or +0.0 (max), as min_of and max_of do.
template <bool Max, class B>
inline B pick(B m, B v) {
  if constexpr (Max)
    return xsimd::max(m, v) & xsimd::max(v, m);
  else
    return xsimd::min(m, v) | xsimd::min(v, m);
}

/// The min (Max false) or max of n values; NaN if any is NaN; the identity (+inf or -inf) for
/// n == 0. Four accumulators hide the latency of the compares and blends.
template <bool Max, class T>
T extreme(const T* x, index_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t W = static_cast<index_t>(B::size);
  constexpr T identity =
      Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  B m0(identity), m1(identity), m2(identity), m3(identity);
  // xsimd::isnan, not v != v: xsimd 8.1's AVX and AVX-512 != is the ordered compare, false
  // for NaN.
  auto nan = xsimd::isnan(B(identity));
  index_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const B v0 = B::load_unaligned(x + i), v1 = B::load_unaligned(x + i + W);
    const B v2 = B::load_unaligned(x + i + 2 * W), v3 = B::load_unaligned(x + i + 3 * W);
    nan = nan | xsimd::isnan(v0) | xsimd::isnan(v1) | xsimd::isnan(v2) | xsimd::isnan(v3);
    m0 = pick<Max>(m0, v0);
    m1 = pick<Max>(m1, v1);
    m2 = pick<Max>(m2, v2);
    m3 = pick<Max>(m3, v3);
  }
  for (; i + W <= n; i += W) {
    const B v = B::load_unaligned(x + i);
    nan = nan | xsimd::isnan(v);
    m0 = pick<Max>(m0, v);
  }
  m0 = pick<Max>(pick<Max>(m0, m1), pick<Max>(m2, m3));
  bool any_nan = xsimd::any(nan);
  alignas(64) T lane[W];
  m0.store_aligned(lane);
  T r = identity;
  for (index_t k = 0; k < W; ++k) r = Max ? max_of(r, lane[k]) : min_of(r, lane[k]);
  for (; i < n; ++i) {
    if (x[i] != x[i]) {
      any_nan = true;
    } else {
      r = Max ? max_of(r, x[i]) : min_of(r, x[i]);
    }
  }
  return any_nan ? std::numeric_limits<T>::quiet_NaN() : r;
}

}  // namespace

double sum_f64(const double* x, index_t n) { return lane_sum<double>(x, n); }
float sum_f32(const float* x, index_t n) { return lane_sum<float>(x, n); }
double sum_squared_deviations_f64(const double* x, index_t n, double mean) {
  return lane_sum_squared_deviations(x, n, mean);
}
double sum_squared_deviations_f32(const float* x, index_t n, double mean) {
  return lane_sum_squared_deviations(x, n, mean);
}
double min_f64(const double* x, index_t n) { return extreme<false>(x, n); }
double max_f64(const double* x, index_t n) { return extreme<true>(x, n); }
float min_f32(const float* x, index_t n) { return extreme<false>(x, n); }
float max_f32(const float* x, index_t n) { return extreme<true>(x, n); }

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
