#pragma once
// The order min and max use: NumPy's, with NaN winning (handled by the callers), and one choice
// NumPy leaves to its loops made fixed: -0.0 counts as smaller than +0.0. That makes min and max
// associative and commutative on every value, so a result never depends on the chunking, the
// rank count or the instruction set's vector width. Shared by the reductions
// (array/reductions.cpp) and the kernel sets (kernels/per_isa/fold.cpp).

#include <bit>
#include <cstdint>
#include <type_traits>

// Internal linkage on purpose, as lane_sum.hpp: each kernel set keeps its own copy.
namespace tessera::detail {
namespace {

/// The smaller of two values that are not NaN (-0.0 below +0.0).
template <class T>
T min_of(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    // Equal values differ at most in the sign of a zero: or-ing keeps a set sign bit.
    if (a == b) return std::bit_cast<T>(static_cast<U>(std::bit_cast<U>(a) | std::bit_cast<U>(b)));
  }
  return b < a ? b : a;
}

/// The larger of two values that are not NaN (+0.0 above -0.0).
template <class T>
T max_of(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    if (a == b) return std::bit_cast<T>(static_cast<U>(std::bit_cast<U>(a) & std::bit_cast<U>(b)));
  }
  return a < b ? b : a;
}

}  // namespace
}  // namespace tessera::detail
