// Counter-based random kernels (array/random_kernels.hpp documents the scheme and its
// guarantees), compiled once per instruction set and written once, on xsimd's vector types.

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "array/random_kernels.hpp"
#include "kernels/per_isa/functions.hpp"
#include "kernels/per_isa/xsimd.hpp"

namespace tessera::detail::TESSERA_ISA_NAMESPACE {
namespace {

// --- Philox4x32-10 constants (Salmon et al. 2011; the values Random123 uses) ---

constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kPhiloxRounds = 10;

/// Blocks per batch: each batch makes 2 * kBatchBlocks words in one SIMD pass, which is long
/// enough to keep several independent Philox vectors in flight and short enough for L1.
constexpr int kBatchBlocks = 64;
constexpr int kBatchElems = 2 * kBatchBlocks;

/// Block 2^63 is never an element's block (those are < 2^62); its first two words key each
/// (seed, stream)'s fallback sequence.
constexpr std::uint64_t kFallbackKeyBlock = std::uint64_t{1} << 63;

constexpr std::uint32_t lo32(std::uint64_t x) noexcept { return static_cast<std::uint32_t>(x); }
constexpr std::uint32_t hi32(std::uint64_t x) noexcept {
  return static_cast<std::uint32_t>(x >> 32);
}
constexpr std::uint64_t join32(std::uint32_t lo, std::uint32_t hi) noexcept {
  return std::uint64_t{lo} | (std::uint64_t{hi} << 32);
}

constexpr PhiloxKey key_of(std::uint64_t seed) noexcept { return {lo32(seed), hi32(seed)}; }

/// Fully unrolls the short fixed loops over vectors and rounds, at -O2 too: unrolled, the
/// per-vector arrays become registers; left as loops they live in memory.
#define TESSERA_RANDOM_UNROLL _Pragma("GCC unroll 16")

// --- Box-Muller constants --------------------------------------------------------------------
//
// The normal kernel needs ln and sincos. Calling libm would tie the values to one libm and
// would not vectorise, so the kernel has its own: near-minimax polynomials (mpmath chebyfit,
// degree 6, coefficients rounded to nearest) evaluated with plain products and sums. The
// approximation errors below are far under an ulp; the evaluation adds about one ulp.

/// 2 atanh(s) = 2s + s z R(z), z = s^2 <= (3 - 2 sqrt 2)^2; relative error 4.7e-16 in R
/// (R contributes at most 1% of the result).
constexpr std::array<double, 7> kLogPoly = {
    0x1.5555555555558p-1, 0x1.99999999952e2p-2, 0x1.2492492df148dp-2, 0x1.c71c62e5800a1p-3,
    0x1.7462b4ab2ef6bp-3, 0x1.39fe606542ddep-3, 0x1.2b584aae78a57p-3};
/// sin(pi g / 4) = g S(g^2), 0 <= g <= 1; relative error 3.9e-17.
constexpr std::array<double, 7> kSinPoly = {
    0x1.921fb54442d18p-1,  -0x1.4abbce625be41p-4,  0x1.466bc677587f8p-9, -0x1.32d2cce2e5b19p-15,
    0x1.50782fda12d96p-22, -0x1.e30071afc3e59p-30, 0x1.e3f38399551bfp-38};
/// cos(pi g / 4) = 1 + g^2 C(g^2), 0 <= g <= 1; relative error 6.4e-17 in C.
constexpr std::array<double, 7> kCosPoly = {
    -0x1.3bd3cc9be45dep-2,  0x1.03c1f081b5ac0p-6,  -0x1.55d3c7e3cb241p-12, 0x1.e1f5068688d5bp-19,
    -0x1.a6d1eef479be1p-26, 0x1.f9ce245cada0bp-34, -0x1.b2f3eb054afcdp-42};
/// ln 2 split so that e * kLn2Hi is exact for the exponents here (|e| <= 54).
constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
constexpr double kLn2Lo = 0x1.ef35793c76730p-45;

constexpr std::uint64_t kOneBits = 0x3FF0000000000000u;       // 1.0
constexpr std::uint64_t kMantissaMask = 0x000FFFFFFFFFFFFFu;  // the 52 stored bits
constexpr std::uint64_t kSqrt2Mantissa = 0x6A09E667F3BCDu;    // sqrt(2) = 0x1.6a09e667f3bcdp+0
constexpr std::uint64_t kMagic52Bits = 0x4330000000000000u;   // 2^52: small ints as doubles

// --- Scalar Philox, the reference -------------------------------------------------------------

constexpr PhiloxCounter philox_scalar(PhiloxCounter c, PhiloxKey k) noexcept {
  TESSERA_RANDOM_UNROLL
  for (int r = 0; r < kPhiloxRounds; ++r) {
    if (r > 0) {
      k[0] += kPhiloxW0;
      k[1] += kPhiloxW1;
    }
    const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * c[0];
    const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * c[2];
    c = {hi32(p1) ^ c[1] ^ k[0], lo32(p1), hi32(p0) ^ c[3] ^ k[1], lo32(p0)};
  }
  return c;
}

constexpr PhiloxCounter block_counter(std::uint64_t block, std::uint64_t stream) noexcept {
  return {lo32(block), hi32(block), lo32(stream), hi32(stream)};
}

/// The extra words an element needs when its own word is rejected (Lemire's biased sliver).
/// They come from a sequence of its own, keyed per (seed, stream) and counted by the element
/// index, so they stay a function of the index.
class FallbackWords {
 public:
  FallbackWords(PhiloxKey key, std::uint64_t index) noexcept : m_key(key), m_index(index) {}

  std::uint64_t next() noexcept {
    if (m_left == 0) {
      const PhiloxCounter x = philox_scalar({lo32(m_index), hi32(m_index), m_counter++, 0}, m_key);
      m_words = {join32(x[0], x[1]), join32(x[2], x[3])};
      m_left = 2;
    }
    return m_words[2 - m_left--];
  }

 private:
  PhiloxKey m_key;
  std::uint64_t m_index;
  std::uint32_t m_counter = 0;
  int m_left = 0;
  std::array<std::uint64_t, 2> m_words{};
};

PhiloxKey fallback_key(std::uint64_t seed, std::uint64_t stream) noexcept {
  const PhiloxCounter x = philox_scalar(block_counter(kFallbackKeyBlock, stream), key_of(seed));
  return {x[0], x[1]};
}

// --- SIMD operations ---------------------------------------------------------------------------
//
// One small vocabulary over xsimd's batches, so the Philox batch and the transforms are written
// once for every instruction set. U holds 64-bit integer lanes, D double lanes. Philox words
// live in 64-bit lanes with the 32-bit word in the low half: the 32x32->64 multiply (pmuludq)
// reads only the low halves, so the high halves may hold garbage between rounds and are
// masked at the end. Every operation is exact integer arithmetic or one correctly rounded IEEE
// operation (the build compiles without fused multiply-adds: -ffp-contract=off), so every
// instruction set produces identical bits. Two operations xsimd lacks (the 32x32->64 multiply
// and interleaving two vectors into memory in order) use the instruction set's own intrinsics.

using Arch = xsimd::default_arch;  // the widest set this translation unit is compiled for

struct Ops {
  using U = xsimd::batch<std::uint64_t, Arch>;
  using D = xsimd::batch<double, Arch>;
  static constexpr int kLanes = static_cast<int>(U::size);
  static constexpr int kUnroll = kLanes >= 4 ? 8 : 4;  // independent vectors: hides latency

  static U set1(std::uint64_t x) noexcept { return U(x); }
  static U iota(std::uint64_t x) noexcept {
    alignas(64) static constexpr std::uint64_t kLane[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static_assert(kLanes <= 8);
    return U(x) + U::load_aligned(kLane);
  }
  static U load(const std::uint64_t* p) noexcept { return U::load_unaligned(p); }
  static void store(std::uint64_t* p, U x) noexcept { x.store_unaligned(p); }
  static U add(U a, U b) noexcept { return a + b; }
  static U sub(U a, U b) noexcept { return a - b; }
  static U band(U a, U b) noexcept { return a & b; }
  static U bor(U a, U b) noexcept { return a | b; }
  static U bxor(U a, U b) noexcept { return a ^ b; }
  template <int N>
  static U srl(U a) noexcept {
    return a >> N;
  }
  template <int N>
  static U sll(U a) noexcept {
    return a << N;
  }
  /// The low 32 bits of each lane of a and b multiplied into 64.
  static U mul32(U a, U b) noexcept {
#if defined(__AVX512F__)
    return _mm512_mul_epu32(a, b);
#elif defined(__AVX2__)
    return _mm256_mul_epu32(a, b);
#elif defined(__SSE2__)
    return _mm_mul_epu32(a, b);
#else
    return (a & U(0xFFFFFFFFu)) * (b & U(0xFFFFFFFFu));
#endif
  }
  static U xor3(U a, U b, U c) noexcept {
#if defined(__AVX512F__)
    return _mm512_ternarylogic_epi64(a, b, c, 0x96);
#else
    return a ^ b ^ c;
#endif
  }
  /// (lo & 0xffffffff) | (hi << 32)
  static U join(U lo, U hi) noexcept { return (lo & U(0xFFFFFFFFu)) | (hi << 32); }
  /// Stores a[0], b[0], a[1], b[1], ...
  static void store_interleaved(std::uint64_t* out, U a, U b) noexcept {
#if defined(__AVX512F__)
    const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    _mm512_storeu_si512(out, _mm512_permutex2var_epi64(a, first, b));
    _mm512_storeu_si512(out + kLanes, _mm512_permutex2var_epi64(a, second, b));
#elif defined(__AVX2__)
    const __m256i lo = _mm256_unpacklo_epi64(a, b);  // a0 b0 a2 b2
    const __m256i hi = _mm256_unpackhi_epi64(a, b);  // a1 b1 a3 b3
    store(out, U(_mm256_permute2x128_si256(lo, hi, 0x20)));
    store(out + kLanes, U(_mm256_permute2x128_si256(lo, hi, 0x31)));
#elif defined(__SSE2__)
    store(out, U(_mm_unpacklo_epi64(a, b)));
    store(out + kLanes, U(_mm_unpackhi_epi64(a, b)));
#else
    alignas(64) std::uint64_t la[kLanes], lb[kLanes];
    a.store_aligned(la);
    b.store_aligned(lb);
    for (int l = 0; l < kLanes; ++l) {
      out[2 * l] = la[l];
      out[2 * l + 1] = lb[l];
    }
#endif
  }

  static D set1d(double x) noexcept { return D(x); }
  static D load(const double* p) noexcept { return D::load_unaligned(p); }
  static void store(double* p, D x) noexcept { x.store_unaligned(p); }
  static void store_interleaved(double* out, D a, D b) noexcept {
    store_interleaved(reinterpret_cast<std::uint64_t*>(out), as_bits(a), as_bits(b));
  }
  static D as_double(U x) noexcept { return xsimd::bitwise_cast<D>(x); }
  static U as_bits(D x) noexcept { return xsimd::bitwise_cast<U>(x); }
  static D add(D a, D b) noexcept { return a + b; }
  static D sub(D a, D b) noexcept { return a - b; }
  static D mul(D a, D b) noexcept { return a * b; }
  static D div(D a, D b) noexcept { return a / b; }
  static D sqrt(D a) noexcept { return xsimd::sqrt(a); }
  static D min(D a, D b) noexcept { return xsimd::min(a, b); }  // a < b ? a : b (minpd)
  /// (w >> 11) * 2^-53, exactly: put 52 bits under the exponent of 1.0, subtract 1 (exact),
  /// then add the 53rd bit's 2^-53 (exact: the sum has 53 bits).
  static D unit(U w) noexcept {
    const D m52 = as_double(bor(srl<12>(w), set1(kOneBits)));
    const D half_ulp =
        as_double(band(sub(set1(0), band(srl<11>(w), set1(1))), set1(0x3CA0000000000000u)));
    return add(sub(m52, set1d(1.0)), half_ulp);
  }
};
using U = Ops::U;
using D = Ops::D;

// --- The batched generator ---------------------------------------------------------------------

/// Runs Philox on blocks block .. block + kBatchBlocks - 1 and hands each vector of results to
/// `sink(j, half0, half1)`: half0 holds the words of elements 2(block + j) + 2l, half1 those of
/// elements 2(block + j) + 2l + 1, for lanes l.
template <class Sink>
void philox_blocks(PhiloxKey key, std::uint64_t stream, std::uint64_t block, Sink&& sink) noexcept {
  constexpr int kLanes = Ops::kLanes;
  constexpr int kUnroll = Ops::kUnroll;
  constexpr int kGroup = kLanes * kUnroll;
  static_assert(kBatchBlocks % kGroup == 0);
  const U m0 = Ops::set1(kPhiloxM0);
  const U m1 = Ops::set1(kPhiloxM1);
  const U s0 = Ops::set1(lo32(stream));
  const U s1 = Ops::set1(hi32(stream));
  for (int g = 0; g < kBatchBlocks; g += kGroup) {
    U c0[kUnroll], c1[kUnroll], c2[kUnroll], c3[kUnroll];
    TESSERA_RANDOM_UNROLL
    for (int v = 0; v < kUnroll; ++v) {
      c0[v] = Ops::iota(block + static_cast<std::uint64_t>(g + v * kLanes));
      c1[v] = Ops::srl<32>(c0[v]);
      c2[v] = s0;
      c3[v] = s1;
    }
    std::uint32_t k0 = key[0];
    std::uint32_t k1 = key[1];
    TESSERA_RANDOM_UNROLL
    for (int r = 0; r < kPhiloxRounds; ++r) {
      if (r > 0) {
        k0 += kPhiloxW0;
        k1 += kPhiloxW1;
      }
      const U kk0 = Ops::set1(k0);
      const U kk1 = Ops::set1(k1);
      TESSERA_RANDOM_UNROLL
      for (int v = 0; v < kUnroll; ++v) {
        const U p0 = Ops::mul32(c0[v], m0);
        const U p1 = Ops::mul32(c2[v], m1);
        c0[v] = Ops::xor3(Ops::srl<32>(p1), c1[v], kk0);
        c2[v] = Ops::xor3(Ops::srl<32>(p0), c3[v], kk1);
        c1[v] = p1;
        c3[v] = p0;
      }
    }
    TESSERA_RANDOM_UNROLL
    for (int v = 0; v < kUnroll; ++v) {
      sink(g + v * kLanes, Ops::join(c0[v], c1[v]), Ops::join(c2[v], c3[v]));
    }
  }
}

/// The words of elements 2 * block .. 2 * block + kBatchElems - 1, in element order.
void philox_batch(PhiloxKey key, std::uint64_t stream, std::uint64_t block,
                  std::uint64_t* out) noexcept {
  philox_blocks(key, stream, block, [out](int j, U half0, U half1) {
    Ops::store_interleaved(out + 2 * j, half0, half1);
  });
}

/// Per-call state shared by the kernels.
struct Generator {
  PhiloxKey key;
  std::uint64_t stream;
};

/// Splits [first, first + n) into batches aligned to even indices, calls
/// `batch(block, dst)` to fill kBatchElems elements starting at index 2 * block, and copies the
/// wanted part. Full batches go straight to `out`; the ragged first and last ones through a
/// buffer. Either way each element is computed by the same `batch` code.
template <class T, class Batch>
void for_each_batch(std::int64_t first, std::int64_t n, T* out, Batch&& batch) {
  if (n == 0) return;
  const auto begin = static_cast<std::uint64_t>(first);
  const std::uint64_t end = begin + static_cast<std::uint64_t>(n);
  alignas(64) T buffer[kBatchElems];
  for (std::uint64_t e = begin, block = begin >> 1; e < end; block += kBatchBlocks) {
    const std::uint64_t e0 = 2 * block;
    const std::uint64_t stop = std::min<std::uint64_t>(end, e0 + kBatchElems);
    if (e == e0 && stop == e0 + kBatchElems) {
      batch(block, out + (e - begin));
    } else {
      batch(block, buffer);
      std::copy(buffer + (e - e0), buffer + (stop - e0), out + (e - begin));
    }
    e = stop;
  }
}

void check_range(std::int64_t first, std::int64_t n) {
  if (first < 0 || n < 0 || n > std::numeric_limits<std::int64_t>::max() - first) {
    throw_random_range(first, n);
  }
}

// --- Uniform ----------------------------------------------------------------------------------

struct UniformParams {
  double low;
  double span;
  double below_high;  // the largest result: the double just below high (low if low == high)
};

UniformParams uniform_params(double low, double high) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high) || !std::isfinite(high - low)) {
    throw_random_uniform(low, high);
  }
  return {low, high - low,
          low == high ? low : std::nextafter(high, -std::numeric_limits<double>::infinity())};
}

void uniform_batch(const Generator& gen, const UniformParams& p, std::uint64_t block,
                   double* dst) noexcept {
  const D low = Ops::set1d(p.low);
  const D span = Ops::set1d(p.span);
  const D top = Ops::set1d(p.below_high);
  const auto uniform = [&](U word) {
    return Ops::min(Ops::add(low, Ops::mul(span, Ops::unit(word))), top);
  };
  philox_blocks(gen.key, gen.stream, block, [&](int j, U half0, U half1) {
    Ops::store_interleaved(dst + 2 * j, uniform(half0), uniform(half1));
  });
}

// --- Normal (Box-Muller) ----------------------------------------------------------------------

/// Independent vectors the Box-Muller transform works on side by side: its divide, square root
/// and polynomial chains are long, and interleaving hides their latency.
constexpr int kNormalWays = 4;
constexpr int kNormalStep = kNormalWays * Ops::kLanes;  // blocks per step
static_assert(kBatchBlocks % kNormalStep == 0);
using NormalLanes = D[kNormalWays];

/// out = c[0] + x (c[1] + x (c[2] + ...)), lane-wise.
template <std::size_t C>
void horner(const NormalLanes& x, const std::array<double, C>& c, NormalLanes& out) noexcept {
  TESSERA_RANDOM_UNROLL
  for (D& o : out) o = Ops::set1d(c[C - 1]);
  TESSERA_RANDOM_UNROLL
  for (std::size_t k = 2; k <= C; ++k) {
    TESSERA_RANDOM_UNROLL
    for (int v = 0; v < kNormalWays; ++v) {
      out[v] = Ops::add(Ops::mul(out[v], x[v]), Ops::set1d(c[C - k]));
    }
  }
}

/// a where mask is all ones, b where it is zero.
D select(U mask, D a, D b) noexcept {
  const U ba = Ops::as_bits(a);
  const U bb = Ops::as_bits(b);
  return Ops::as_double(Ops::bxor(bb, Ops::band(Ops::bxor(ba, bb), mask)));
}

/// r = sqrt(-2 ln u1) with u1 = 1 - (w >> 11) 2^-53 in (0, 1].
void box_muller_radius(const U (&w)[kNormalWays], NormalLanes& r) noexcept {
  const D one = Ops::set1d(1.0);
  NormalLanes m, e, s, z, poly;
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) {
    const U bits = Ops::as_bits(Ops::sub(one, Ops::unit(w[v])));  // exact
    // u1 = 2^e m with m in [sqrt(1/2), sqrt(2)): take the mantissa as m in [1, 2) and halve
    // it (bumping e) when it is above sqrt(2). Both mantissas are below 2^52, so the sign of
    // their difference is the comparison.
    const U mantissa = Ops::band(bits, Ops::set1(kMantissaMask));
    const U big = Ops::srl<63>(Ops::sub(Ops::set1(kSqrt2Mantissa), mantissa));
    m[v] = Ops::as_double(Ops::bor(mantissa, Ops::sub(Ops::set1(kOneBits), Ops::sll<52>(big))));
    // e + 1023 is a small integer: 2^52 + it, reinterpreted, is it as a double, exactly.
    const U biased = Ops::add(Ops::srl<52>(bits), big);
    e[v] = Ops::sub(Ops::as_double(Ops::add(Ops::set1(kMagic52Bits), biased)),
                    Ops::set1d(0x1p52 + 1023));
  }
  // ln m = 2 atanh(s), s = (m - 1) / (m + 1); m - 1 is exact.
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) s[v] = Ops::div(Ops::sub(m[v], one), Ops::add(m[v], one));
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) z[v] = Ops::mul(s[v], s[v]);
  horner(z, kLogPoly, poly);
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) {
    const D ln_m = Ops::add(Ops::add(s[v], s[v]), Ops::mul(Ops::mul(s[v], z[v]), poly[v]));
    const D ln_u1 = Ops::add(Ops::mul(e[v], Ops::set1d(kLn2Hi)),
                             Ops::add(Ops::mul(e[v], Ops::set1d(kLn2Lo)), ln_m));
    r[v] = Ops::sqrt(Ops::mul(Ops::set1d(-2.0), ln_u1));
  }
}

/// cos and sin of theta = 2 pi (w >> 11) 2^-53. The top three bits of w are the octant and the
/// next 50 the fraction f of it, exactly. Reflecting odd octants (g = 1 - f, also exact) leaves
/// sin and cos of pi g / 4 for g in [0, 1], which are swapped and signed per octant.
void box_muller_angle(const U (&w)[kNormalWays], NormalLanes& cos_theta,
                      NormalLanes& sin_theta) noexcept {
  const D one = Ops::set1d(1.0);
  U octant[kNormalWays];
  NormalLanes g, t, sin_poly, cos_poly;
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) {
    octant[v] = Ops::srl<61>(w[v]);
    const U fraction_bits = Ops::band(Ops::srl<9>(w[v]), Ops::set1(0x000FFFFFFFFFFFFCu));
    const D f = Ops::sub(Ops::as_double(Ops::bor(fraction_bits, Ops::set1(kOneBits))), one);
    const U odd = Ops::sub(Ops::set1(0), Ops::band(octant[v], Ops::set1(1)));
    g[v] = select(odd, Ops::sub(one, f), f);
    t[v] = Ops::mul(g[v], g[v]);
  }
  horner(t, kSinPoly, sin_poly);
  horner(t, kCosPoly, cos_poly);
  TESSERA_RANDOM_UNROLL
  for (int v = 0; v < kNormalWays; ++v) {
    const D sin_g = Ops::mul(g[v], sin_poly[v]);
    const D cos_g = Ops::add(one, Ops::mul(t[v], cos_poly[v]));
    // Octants 1, 2, 5, 6 swap; cos is negative in octants 2-5, sin in octants 4-7.
    const U o = octant[v];
    const U swap =
        Ops::sub(Ops::set1(0), Ops::band(Ops::srl<1>(Ops::add(o, Ops::set1(1))), Ops::set1(1)));
    const U cos_sign = Ops::sll<61>(Ops::band(Ops::add(o, Ops::set1(2)), Ops::set1(4)));
    const U sin_sign = Ops::sll<61>(Ops::band(o, Ops::set1(4)));
    cos_theta[v] = Ops::as_double(Ops::bxor(Ops::as_bits(select(swap, sin_g, cos_g)), cos_sign));
    sin_theta[v] = Ops::as_double(Ops::bxor(Ops::as_bits(select(swap, cos_g, sin_g)), sin_sign));
  }
}

/// Block b gives the pair (2b, 2b + 1): mean + stddev r cos(theta) and mean + stddev r
/// sin(theta), u1 from element 2b's word and theta from element 2b + 1's. Both values are
/// functions of block b alone.
void normal_batch(const Generator& gen, double mean, double stddev, std::uint64_t block,
                  double* dst) noexcept {
  alignas(64) std::uint64_t even[kBatchBlocks];
  alignas(64) std::uint64_t odd[kBatchBlocks];
  philox_blocks(gen.key, gen.stream, block, [&](int j, U half0, U half1) {
    Ops::store(even + j, half0);
    Ops::store(odd + j, half1);
  });
  const D m = Ops::set1d(mean);
  const D s = Ops::set1d(stddev);
  for (int j = 0; j < kBatchBlocks; j += kNormalStep) {
    U w0[kNormalWays], w1[kNormalWays];
    TESSERA_RANDOM_UNROLL
    for (int v = 0; v < kNormalWays; ++v) {
      w0[v] = Ops::load(even + j + v * Ops::kLanes);
      w1[v] = Ops::load(odd + j + v * Ops::kLanes);
    }
    NormalLanes r, c, sn;
    box_muller_radius(w0, r);
    box_muller_angle(w1, c, sn);
    TESSERA_RANDOM_UNROLL
    for (int v = 0; v < kNormalWays; ++v) {
      Ops::store_interleaved(dst + 2 * (j + v * Ops::kLanes),
                             Ops::add(m, Ops::mul(s, Ops::mul(r[v], c[v]))),
                             Ops::add(m, Ops::mul(s, Ops::mul(r[v], sn[v]))));
    }
  }
}

void check_normal(double mean, double stddev) {
  if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev < 0) {
    throw_random_normal(mean, stddev);
  }
}

// --- Integers (Lemire 2019) --------------------------------------------------------------------

/// High and low halves of the 128-bit product a * b.
inline std::uint64_t mul_hi_lo(std::uint64_t a, std::uint64_t b, std::uint64_t* lo) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 U128;  // __extension__: quiet under -Wpedantic
  const U128 p = static_cast<U128>(a) * b;
  *lo = static_cast<std::uint64_t>(p);
  return static_cast<std::uint64_t>(p >> 64);
#else
  const std::uint64_t a0 = lo32(a), a1 = hi32(a), b0 = lo32(b), b1 = hi32(b);
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + lo32(p01) + lo32(p10);
  *lo = (mid << 32) | lo32(p00);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

struct IntegerParams {
  std::uint64_t low;        // as two's complement, so low + offset wraps correctly
  std::uint64_t span;       // high - low, in [1, 2^64 - 1]
  std::uint64_t threshold;  // 2^64 mod span: low products below it are the biased sliver
  PhiloxKey fallback;       // keys the elements' fallback words
};

IntegerParams integer_params(std::uint64_t seed, std::uint64_t stream, std::int64_t low,
                             std::int64_t high) {
  if (!(low < high)) {
    throw_random_integers(low, high);
  }
  const std::uint64_t span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  return {static_cast<std::uint64_t>(low), span, (0 - span) % span, fallback_key(seed, stream)};
}

/// Lemire's rejection loop on the element's fallback words, after its own word was rejected.
[[gnu::noinline]] std::uint64_t integer_slow(const IntegerParams& p, std::uint64_t index) noexcept {
  FallbackWords extra(p.fallback, index);
  for (;;) {
    std::uint64_t lo;
    const std::uint64_t hi = mul_hi_lo(extra.next(), p.span, &lo);
    if (lo >= p.threshold) return hi;
  }
}

template <class T>
void integer_batch(const Generator& gen, const IntegerParams& p, std::uint64_t block,
                   T* dst) noexcept {
  alignas(64) std::uint64_t words[kBatchElems];
  philox_batch(gen.key, gen.stream, block, words);
  for (int k = 0; k < kBatchElems; ++k) {
    std::uint64_t lo;
    std::uint64_t offset = mul_hi_lo(words[k], p.span, &lo);
    if (lo < p.threshold) [[unlikely]] {
      offset = integer_slow(p, 2 * block + static_cast<std::uint64_t>(k));
    }
    // Modular add; the value lies in [low, high), so narrowing to T is exact.
    dst[k] = static_cast<T>(static_cast<std::int64_t>(p.low + offset));
  }
}

}  // namespace

// --- Public entry points ------------------------------------------------------------------------

PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) noexcept {
  return philox_scalar(ctr, key);
}

std::uint64_t random_word(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept {
  const auto i = static_cast<std::uint64_t>(index);
  const PhiloxCounter x = philox_scalar(block_counter(i >> 1, stream), key_of(seed));
  return (i & 1) != 0 ? join32(x[2], x[3]) : join32(x[0], x[1]);
}

void random_words(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                  std::uint64_t* out) {
  check_range(first, n);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, std::uint64_t* dst) {
    philox_batch(gen.key, gen.stream, block, dst);
  });
}

void random_uniform_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, double low, double high, double* out) {
  check_range(first, n);
  const UniformParams p = uniform_params(low, high);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out,
                 [&](std::uint64_t block, double* dst) { uniform_batch(gen, p, block, dst); });
}

void random_uniform_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, float low, float high, float* out) {
  check_range(first, n);
  const UniformParams p = uniform_params(low, high);
  const float top =
      low == high ? low : std::nextafter(high, -std::numeric_limits<float>::infinity());
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, float* dst) {
    alignas(64) double wide[kBatchElems];
    uniform_batch(gen, p, block, wide);
    for (int k = 0; k < kBatchElems; ++k) dst[k] = std::min(static_cast<float>(wide[k]), top);
  });
}

void random_normal_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       double mean, double stddev, double* out) {
  check_range(first, n);
  check_normal(mean, stddev);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, double* dst) {
    normal_batch(gen, mean, stddev, block, dst);
  });
}

void random_normal_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first, std::int64_t n,
                       float mean, float stddev, float* out) {
  check_range(first, n);
  check_normal(mean, stddev);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, float* dst) {
    alignas(64) double wide[kBatchElems];
    normal_batch(gen, mean, stddev, block, wide);
    for (int k = 0; k < kBatchElems; ++k) dst[k] = static_cast<float>(wide[k]);
  });
}

void random_integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int64_t low, std::int64_t high, std::int64_t* out) {
  check_range(first, n);
  const IntegerParams p = integer_params(seed, stream, low, high);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, std::int64_t* dst) {
    integer_batch(gen, p, block, dst);
  });
}

void random_integers_i32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int32_t low, std::int32_t high, std::int32_t* out) {
  check_range(first, n);
  const IntegerParams p = integer_params(seed, stream, low, high);
  const Generator gen{key_of(seed), stream};
  for_each_batch(first, n, out, [&](std::uint64_t block, std::int32_t* dst) {
    integer_batch(gen, p, block, dst);
  });
}

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
