// The random kernels of the instruction set this process uses (kernels/kernel_set.hpp); they
// are compiled once per set in src/kernels/per_isa/random.cpp.

#include "array/random_kernels.hpp"

#include "kernels/kernel_set.hpp"

namespace tessera::detail {

PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) noexcept {
  return kernels_or_baseline().philox4x32_10(ctr, key);
}

std::uint64_t random_word(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept {
  return kernels_or_baseline().random_word(seed, stream, index);
}

void random_words(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                  std::uint64_t* out) {
  kernels().random_words(seed, stream, first, n, out);
}

void random_uniform_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, double low, double high, double* out) {
  kernels().random_uniform_f64(seed, stream, first, n, low, high, out);
}

void random_uniform_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, float low, float high, float* out) {
  kernels().random_uniform_f32(seed, stream, first, n, low, high, out);
}

void random_normal_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       double mean, double stddev, double* out) {
  kernels().random_normal_f64(seed, stream, first, n, mean, stddev, out);
}

void random_normal_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       float mean, float stddev, float* out) {
  kernels().random_normal_f32(seed, stream, first, n, mean, stddev, out);
}

void random_integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int64_t low, std::int64_t high, std::int64_t* out) {
  kernels().random_integers_i64(seed, stream, first, n, low, high, out);
}

void random_integers_i32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int32_t low, std::int32_t high, std::int32_t* out) {
  kernels().random_integers_i32(seed, stream, first, n, low, high, out);
}

const char* random_kernels_simd() noexcept { return kernels_or_baseline().name.data(); }

}  // namespace tessera::detail
