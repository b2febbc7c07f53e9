#pragma once
// The kernels: the loops that touch every element, compiled once per instruction set
// (src/kernels/per_isa/, see CMakeLists.txt) into one KernelSet each, of plain function
// pointers. instruction_set.cpp picks the widest set the CPU supports, once per process, so
// one build runs everywhere and at full width where the CPU allows.
//
// Every set computes bit-identical results: the kernels use only exactly rounded operations in
// a fixed order (no fused multiply-adds, no reassociation), and the same libm.

#include <cstdint>
#include <string_view>

#include "array/random_kernels.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/core/dtype.hpp"
#include "tessera/graph/expr.hpp"

namespace tessera::detail {

enum class Isa {
  Sse2,    // x86-64's baseline
  Avx2,    // x86-64-v3
  Avx512,  // x86-64-v4: F, DQ, BW, VL
  Native,  // the build machine's own (TESSERA_NATIVE, or a CPU other than x86-64)
};

/// One step of a fused chain (KernelSet::chain): x op constant, or constant op x when
/// `reversed`; the unary steps ignore the constant. Each is exactly the elementwise operation it
/// stands for; Pow needs the constant 2 or 3 (x * x, x * x * x, as the power kernel computes).
struct ChainStep {
  ChainOp op;
  bool reversed = false;
  double constant = 0;  // in the chain's dtype (a float32 constant widened exactly)
};

struct KernelSet {
  Isa isa;
  std::string_view name;

  // Elementwise (per_isa/elementwise.cpp): n output elements from operands that are runs of n
  // elements or one repeated value (TileArg::scalar). `in` is the operands' dtype.
  void (*binary)(BinaryOp op, DType in, const TileArg& a, const TileArg& b, void* out, index_t n);
  void (*unary)(UnaryOp op, DType in, const TileArg& a, void* out, index_t n);
  void (*cast)(DType from, DType to, const TileArg& a, void* out, index_t n);
  void (*where)(DType t, const TileArg& cond, const TileArg& a, const TileArg& b, void* out,
                index_t n);
  void (*clip)(DType t, const TileArg& x, const TileArg& lo, const TileArg& hi, void* out,
               index_t n);

  // Fused chains (per_isa/chain.cpp). chain: out = steps applied in turn to each of
  // the n values of `in` (float32 or float64, t), in registers. chain_affine: the same on the
  // float64 values start + double(first + k) * step (a float arange), generated in registers.
  void (*chain)(DType t, const ChainStep* steps, int count, const void* in, void* out, index_t n);
  void (*chain_affine)(const ChainStep* steps, int count, double start, double step, index_t first,
                       double* out, index_t n);

  // Folds of n floats (per_isa/fold.cpp): lane_sum and lane_sum_squared_deviations
  // (lane_sum.hpp); min and max in extrema.hpp's order, NaN if any value is NaN, +inf / -inf
  // for n == 0.
  double (*sum_f64)(const double* x, index_t n);
  float (*sum_f32)(const float* x, index_t n);
  double (*sum_squared_deviations_f64)(const double* x, index_t n, double mean);
  double (*sum_squared_deviations_f32)(const float* x, index_t n, double mean);
  double (*min_f64)(const double* x, index_t n);
  double (*max_f64)(const double* x, index_t n);
  float (*min_f32)(const float* x, index_t n);
  float (*max_f32)(const float* x, index_t n);

  // Counter-based random numbers (per_isa/random.cpp): the functions of
  // array/random_kernels.hpp, which documents them.
  PhiloxCounter (*philox4x32_10)(PhiloxCounter ctr, PhiloxKey key) noexcept;
  std::uint64_t (*random_word)(std::uint64_t seed, std::uint64_t stream,
                               std::int64_t index) noexcept;
  void (*random_words)(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       std::uint64_t* out);
  void (*random_uniform_f64)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                             std::int64_t n, double low, double high, double* out);
  void (*random_uniform_f32)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                             std::int64_t n, float low, float high, float* out);
  void (*random_normal_f64)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                            std::int64_t n, double mean, double stddev, double* out);
  void (*random_normal_f32)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                            std::int64_t n, float mean, float stddev, float* out);
  void (*random_integers_i64)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                              std::int64_t n, std::int64_t low, std::int64_t high,
                              std::int64_t* out);
  void (*random_integers_i32)(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                              std::int64_t n, std::int32_t low, std::int32_t high,
                              std::int32_t* out);
};

/// The set this process uses: the widest the CPU supports, or the one the environment variable
/// TESSERA_SIMD names (sse2, avx2, avx512, native), for testing and for comparing sets.
/// Throws tessera::value_error when TESSERA_SIMD names a set this build or CPU lacks.
const KernelSet& kernels();
/// kernels(), or where that throws (TESSERA_SIMD names a set that is missing) the widest set
/// there is: for the paths that cannot throw.
const KernelSet& kernels_or_baseline() noexcept;
/// The set `isa`, or nullptr when this build does not have it or the CPU cannot run it.
const KernelSet* kernels_for(Isa isa) noexcept;

// The errors kernels raise. They are thrown here, from code compiled for the baseline: a kernel
// set that built strings or exceptions itself would emit inline library functions (string
// appends, exception destructors) compiled for its instruction set, and the linker may keep
// that copy for the whole program, which would then fault on older CPUs. No kernel set defines
// a symbol outside its own namespace (tests/kernels/check_kernel_symbols.sh checks this).
[[noreturn]] void throw_negative_integer_power();
[[noreturn]] void throw_unsupported(BinaryOp op, DType t);
[[noreturn]] void throw_unsupported(UnaryOp op, DType t);
[[noreturn]] void throw_random_range(std::int64_t first, std::int64_t n);
[[noreturn]] void throw_random_uniform(double low, double high);
[[noreturn]] void throw_random_normal(double mean, double stddev);
[[noreturn]] void throw_random_integers(std::int64_t low, std::int64_t high);

/// The names elementwise operations have in messages (NumPy's ufunc names).
std::string_view binary_name(BinaryOp op);
std::string_view unary_name(UnaryOp op);

// Families of operations.
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }
inline bool is_logical(BinaryOp op) {
  return op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Xor;
}
inline bool is_bitwise(BinaryOp op) { return op >= BinaryOp::BitAnd && op <= BinaryOp::RightShift; }
inline bool is_float_function(BinaryOp op) {
  return op >= BinaryOp::Arctan2 && op <= BinaryOp::Copysign;
}
inline bool is_predicate(UnaryOp op) { return op >= UnaryOp::IsNan && op <= UnaryOp::IsInf; }

}  // namespace tessera::detail
