#pragma once
/// @file
/// Counter-based random kernels: fill a run of elements of a random array whose values depend
/// only on (seed, stream, global flat element index).
///
/// Why counter-based: a chunked array is generated tile by tile, on any number of ranks and
/// threads, in any order. With a sequential generator every chunk would need the state left
/// behind by the chunks before it; with a counter-based one (Philox4x32-10, Salmon et al.,
/// SC'11) element i is just a function of i, so the same seed gives the same array for every
/// chunking and every rank count, and no chunk waits for another.
///
/// The scheme (this is the definition; tests pin it against Random123):
///  - key     = {lo32(seed), hi32(seed)}
///  - element i belongs to block b = i / 2; counter = {lo32(b), hi32(b), lo32(stream),
///    hi32(stream)}; Philox4x32-10 turns it into words x0..x3.
///  - element i's 64-bit word is x0 | x1 << 32 if i is even, x2 | x3 << 32 if i is odd.
///  - uniform: u = (word >> 11) * 2^-53 in [0, 1); value = low + (high - low) * u (a product
///    then a sum, never fused), clamped to the largest double below `high`.
///  - normal: Box-Muller on block b, so elements 2b and 2b + 1 are a pair:
///    u1 = 1 - (word_2b >> 11) 2^-53 in (0, 1], theta = 2 pi (word_2b+1 >> 11) 2^-53,
///    r = sqrt(-2 ln u1); element 2b is mean + stddev * (r cos theta), element 2b + 1 is
///    mean + stddev * (r sin theta). ln, sin and cos are the kernel's own polynomials (no libm):
///    r cos theta and r sin theta are within 2 ulps of r of the exact values (1.7 at most
///    over 2e7 values; the test allows 4).
///  - integers: Lemire's multiply-shift on the word with span = high - low, rejecting the
///    biased sliver exactly. A rejected element (a fraction (2^64 mod span) / 2^64 of them:
///    none for powers of two, under 2^-44 for spans up to 2^20, up to 1/2 for huge spans) draws
///    more words from its own fallback sequence: Philox4x32-10 keyed with k' = the first two
///    words of block 2^63 (never an element block) and counter {lo32(i), hi32(i), j, 0},
///    j = 0, 1, ... (two words per counter). So every element stays a pure function of
///    (seed, stream, i).
///  - float32 results are the float64 result (with the parameters widened to double) rounded to
///    float; uniform float32 is clamped again to the largest float below `high`.
///
/// Guarantees:
///  - Within one build: bit-identical values for any split of [first, first + n) into calls
///    (any chunking, any rank count, odd or even starts).
///  - Across builds and CPUs: bit-identical too. The SSE2, AVX2 and AVX-512 kernel sets (one is
///    chosen at run time, src/kernels), -O0 to -O3 with or without -march=native, GCC or Clang,
///    give the same bits, because every step is exact integer arithmetic or one correctly
///    rounded IEEE operation (+ - * / sqrt, min, exact conversions) and the build forbids fused
///    multiply-adds (-ffp-contract=off). This assumes
///    the default floating-point environment (round to nearest; no flush-to-zero, which only
///    matters for parameters near the subnormal range).
///
/// Indices: 0 <= first and first + n <= 2^63 - 1. All kernels throw tessera::value_error on
/// invalid parameters (negative first or n, low > high, non-finite bounds or span,
/// stddev < 0; integers need low < high).

#include <array>
#include <cstdint>

namespace tessera::detail {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

/// One Philox4x32-10 block; bit-identical to Random123's philox4x32(ctr, key). The scalar
/// reference the batched SIMD generator is tested against.
PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) noexcept;

/// Element `index`'s 64-bit random word, computed one block at a time (reference path).
std::uint64_t random_word(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept;

/// The raw words of elements [first, first + n): out[k] == random_word(seed, stream, first + k),
/// from the batched SIMD generator every kernel below uses.
void random_words(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                  std::uint64_t* out);

/// Uniform on [low, high) with 53 random bits. low == high gives low everywhere.
void random_uniform_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, double low, double high, double* out);
void random_uniform_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, float low, float high, float* out);

/// Normal with the given mean and standard deviation (stddev >= 0).
void random_normal_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       double mean, double stddev, double* out);
void random_normal_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       float mean, float stddev, float* out);

/// Uniform integers on [low, high), exactly unbiased; high > low. The values depend on
/// (low, high) but not on the output type: i32 gives the same numbers as i64 for equal bounds.
void random_integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int64_t low, std::int64_t high, std::int64_t* out);
void random_integers_i32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int32_t low, std::int32_t high, std::int32_t* out);

/// The instruction set the kernels run with (tessera::instruction_set()): "avx512", "avx2",
/// "sse2" or "native".
const char* random_kernels_simd() noexcept;

}  // namespace tessera::detail
