#pragma once
// The functions of one kernel set, declared in the namespace of the instruction set this
// translation unit is compiled for (CMakeLists.txt defines TESSERA_ISA_NAMESPACE, e.g.
// isa_avx2, TESSERA_ISA_NAME, e.g. "avx2", and TESSERA_ISA_ENUM, e.g. Avx2). kernel_set.cpp
// gathers them into that set's KernelSet.

#include "kernels/kernel_set.hpp"
#include "kernels/lane_sum.hpp"

#ifndef TESSERA_ISA_NAMESPACE
#error "src/kernels/per_isa/ is compiled once per instruction set by CMakeLists.txt only"
#endif

namespace tessera::detail::TESSERA_ISA_NAMESPACE {

// elementwise.cpp
void binary(BinaryOp op, DType in, const TileArg& a, const TileArg& b, void* out, index_t n);
void unary(UnaryOp op, DType in, const TileArg& a, void* out, index_t n);
void cast(DType from, DType to, const TileArg& a, void* out, index_t n);
void where(DType t, const TileArg& cond, const TileArg& a, const TileArg& b, void* out, index_t n);
void clip(DType t, const TileArg& x, const TileArg& lo, const TileArg& hi, void* out, index_t n);

// chain.cpp
void chain(DType t, const ChainStep* steps, int count, const void* in, void* out, index_t n);
void chain_affine(const ChainStep* steps, int count, double start, double step, index_t first,
                  double* out, index_t n);

// fold.cpp
double sum_f64(const double* x, index_t n);
float sum_f32(const float* x, index_t n);
double sum_squared_deviations_f64(const double* x, index_t n, double mean);
double sum_squared_deviations_f32(const float* x, index_t n, double mean);
double min_f64(const double* x, index_t n);
double max_f64(const double* x, index_t n);
float min_f32(const float* x, index_t n);
float max_f32(const float* x, index_t n);

// random.cpp
PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) noexcept;
std::uint64_t random_word(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept;
void random_words(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                  std::uint64_t* out);
void random_uniform_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, double low, double high, double* out);
void random_uniform_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, float low, float high, float* out);
void random_normal_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       double mean, double stddev, double* out);
void random_normal_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       float mean, float stddev, float* out);
void random_integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int64_t low, std::int64_t high, std::int64_t* out);
void random_integers_i32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int32_t low, std::int32_t high, std::int32_t* out);

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
