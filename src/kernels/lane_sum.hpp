#pragma once
// The summation order of Tessera's sums over a run of values: 32 independent lanes, then a
// tree (lane_sum, and lane_sum_squared_deviations for var and std). Shared by the reductions
// (array/reductions.cpp) and the kernel sets (kernels/per_isa), which must add in exactly the same
// order.

#include <type_traits>

#include "tessera/core/shape.hpp"

// In an unnamed namespace on purpose: every translation unit, each kernel set's included, gets
// its own copy compiled for its own instruction set, never one the linker chose for all.
namespace tessera::detail {
namespace {

/// The type integer sums and products accumulate in: unsigned, so that overflow wraps modulo
/// 2^64 as NumPy's int64 sum does (signed overflow is undefined behaviour); the conversion
/// back to A is modular too. Floats accumulate in A itself.
template <class A, bool = std::is_integral_v<A> && !std::is_same_v<A, bool>>
struct wrap_type {
  using type = A;
};
template <class A>
struct wrap_type<A, true> {
  using type = std::make_unsigned_t<A>;
};
template <class A>
using wrap_t = typename wrap_type<A>::type;

/// Sum of n values in `double` (floats) or int64 (integers, wrapping) with 32 independent
/// lanes: the loop vectorises without reassociating one accumulator, and four vector
/// accumulators hide the latency of the adds (one would make the loop latency-bound).
template <class A, class T>
A lane_sum(const T* __restrict x, index_t n) {
  using U = wrap_t<A>;
  constexpr int lanes = 32;
  U s[lanes] = {};
  index_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    for (int j = 0; j < lanes; ++j) s[j] += static_cast<U>(static_cast<A>(x[i + j]));
  }
  for (; i < n; ++i) s[0] += static_cast<U>(static_cast<A>(x[i]));
  for (int w = lanes / 2; w > 0; w /= 2) {
    for (int j = 0; j < w; ++j) s[j] += s[j + w];
  }
  return static_cast<A>(s[0]);
}

/// Sum of (x - mean)^2 over n values in double, in lane_sum's order: the M2 of a run, for
/// var and std (a second pass over the run once its mean is known).
template <class T>
double lane_sum_squared_deviations(const T* __restrict x, index_t n, double mean) {
  constexpr int lanes = 32;
  double s[lanes] = {};
  index_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    for (int j = 0; j < lanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - mean;
      s[j] += d * d;
    }
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    s[0] += d * d;
  }
  for (int w = lanes / 2; w > 0; w /= 2) {
    for (int j = 0; j < w; ++j) s[j] += s[j + w];
  }
  return s[0];
}

}  // namespace
}  // namespace tessera::detail
