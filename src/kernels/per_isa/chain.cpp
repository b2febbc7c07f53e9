// A fused chain evaluated in registers (kernels/kernel_set.hpp, ChainStep): each vector of
// elements is loaded (or generated) once, goes through every step in registers, and is stored
// once, instead of one pass over a tile per operation.

#include <cmath>

#include "kernels/per_isa/functions.hpp"
#include "kernels/per_isa/xsimd.hpp"

namespace tessera::detail::TESSERA_ISA_NAMESPACE {

namespace {

using Arch = xsimd::default_arch;

/// One step on a value of type V (a batch or a scalar): exactly the operations the elementwise
/// kernels perform (elementwise.cpp), so a chain gives the same bits as the passes it replaces.
template <class V, class T>
inline V step(const ChainStep& s, V x) {
  const V c = V(static_cast<T>(s.constant));
  switch (s.op) {
    case ChainOp::Add:
      return s.reversed ? c + x : x + c;
    case ChainOp::Sub:
      return s.reversed ? c - x : x - c;
    case ChainOp::Mul:
      return s.reversed ? c * x : x * c;
    case ChainOp::Div:
      return s.reversed ? c / x : x / c;
    case ChainOp::Pow:
      return s.constant == 2 ? x * x : x * x * x;
    case ChainOp::Neg:  // the sign bit flipped, as C++'s -x (xsimd 8's AVX-512 -x is 0 - x,
                        // which turns -0.0 into +0.0)
      if constexpr (std::is_floating_point_v<V>)
        return -x;
      else
        return x ^ V(T(-0.0));
    case ChainOp::Abs:
      if constexpr (std::is_floating_point_v<V>)
        return std::abs(x);
      else
        return xsimd::abs(x);
    case ChainOp::Sqrt:
      if constexpr (std::is_floating_point_v<V>)
        return std::sqrt(x);
      else
        return xsimd::sqrt(x);
  }
  return x;
}

/// Runs `steps` over n values that `load(i)` gives (a batch from element i) or `scalar(i)`.
template <class T, class Load, class Scalar>
void run_chain(const ChainStep* steps, int count, T* out, index_t n, Load&& load, Scalar&& scalar) {
  using B = xsimd::batch<T, Arch>;
  constexpr index_t kLanes = static_cast<index_t>(B::size);
  constexpr index_t kWays = 4;  // independent vectors per step: hides the latency
  index_t i = 0;
  for (; i + kWays * kLanes <= n; i += kWays * kLanes) {
    B v[kWays];
#pragma GCC unroll 4
    for (index_t w = 0; w < kWays; ++w) v[w] = load(i + w * kLanes);
    for (int k = 0; k < count; ++k) {
      const ChainStep& s = steps[k];
#pragma GCC unroll 4
      for (index_t w = 0; w < kWays; ++w) v[w] = step<B, T>(s, v[w]);
    }
#pragma GCC unroll 4
    for (index_t w = 0; w < kWays; ++w) v[w].store_unaligned(out + i + w * kLanes);
  }
  for (; i < n; ++i) {
    T x = scalar(i);
    for (int k = 0; k < count; ++k) x = step<T, T>(steps[k], x);
    out[i] = x;
  }
}

}  // namespace

void chain(DType t, const ChainStep* steps, int count, const void* in, void* out, index_t n) {
  if (t == DType::Float64) {
    const auto* x = static_cast<const double*>(in);
    using B = xsimd::batch<double, Arch>;
    run_chain<double>(
        steps, count, static_cast<double*>(out), n,
        [x](index_t i) { return B::load_unaligned(x + i); }, [x](index_t i) { return x[i]; });
  } else {
    const auto* x = static_cast<const float*>(in);
    using B = xsimd::batch<float, Arch>;
    run_chain<float>(
        steps, count, static_cast<float*>(out), n,
        [x](index_t i) { return B::load_unaligned(x + i); }, [x](index_t i) { return x[i]; });
  }
}

void chain_affine(const ChainStep* steps, int count, double start, double step_size, index_t first,
                  double* out, index_t n) {
  using B = xsimd::batch<double, Arch>;
  using I = xsimd::batch<std::int64_t, Arch>;
  alignas(64) static constexpr std::int64_t kLane[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  static_assert(B::size <= 8);
  const I lane = I::load_aligned(kLane);
  const B s(start), d(step_size);
  // start + double(index) * step, as ArangeSource::fill computes it (indices are below 2^53,
  // so the conversion is exact on every instruction set).
  run_chain<double>(
      steps, count, out, n,
      [&](index_t i) {
        return s + xsimd::batch_cast<double>(I(static_cast<std::int64_t>(first + i)) + lane) * d;
      },
      [&](index_t i) { return start + static_cast<double>(first + i) * step_size; });
}

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
