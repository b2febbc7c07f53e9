#include "array/random_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "tessera/core/error.hpp"

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__SSE2__)
// GCC 12's AVX-512 intrinsics self-initialise an "undefined" operand and then warn about it
// wherever they are inlined (GCC PR 105593); the warning names this header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace tessera::detail {
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

/// Keeps a product out of a fused multiply-add. With -march=native GCC contracts a * b + c
/// into one FMA (one rounding instead of two), also in intrinsics code; that would make
/// -march=native builds disagree with plain ones in the last bit. The barrier pins the
/// rounding of the product, so every build computes the same two correctly rounded steps.
#if defined(__has_builtin)
#if __has_builtin(__builtin_assoc_barrier)
#define TESSERA_RANDOM_NO_FMA(x) __builtin_assoc_barrier(x)
#endif
#endif
#ifndef TESSERA_RANDOM_NO_FMA
#define TESSERA_RANDOM_NO_FMA(x) (x)
#endif

/// (word >> 11) * 2^-53: the element's uniform on [0, 1). Exact (53 bits into a double).
inline double unit_f64(std::uint64_t word) noexcept {
  return static_cast<double>(static_cast<std::int64_t>(word >> 11)) * 0x1p-53;
}

// --- Ziggurat tables for the standard normal -------------------------------------------------
//
// 256 layers, abscissas scaled by 2^53. Generated with mpmath at 60 digits (then rounded to
// nearest) so the values are identical on every platform:
//   f(x) = exp(-x^2/2); r solves "x_255 = r, x_{i-1} = f^-1(v / x_i + f(x_i)) ends at x_0 = 0"
//   with v = r f(r) + sqrt(pi/2) erfc(r / sqrt 2) (each layer's area); q = v / f(r);
//   kZigK[0] = floor(2^53 r / q), kZigK[i] = floor(2^53 x_{i-1} / x_i);
//   kZigW[0] = q / 2^53,          kZigW[i] = x_i / 2^53;
//   kZigF[0] = 1,                 kZigF[i] = f(x_i)             (i = 1..255).
constexpr double kZigR = 0x1.d3bb48209ad33p+1;  // 3.654152885361009
constexpr double kZigInvR = 0x1.183aa6c20e8c1p-2;
constexpr std::array<std::uint64_t, 256> kZigK = {
    0x1de67b004bdeca, 0x00000000000000, 0x18117d31f78d6c, 0x1b46a9f57b028c,
    0x1ca3ecfd83ddd8, 0x1d64abd3a7eefc, 0x1dde9702fd9571, 0x1e328e15f48957,
    0x1e6fdac3ff962e, 0x1e9e8d2ac24ab6, 0x1ec34bc837472c, 0x1ee0f4eaa72d49,
    0x1ef965d8508936, 0x1f0de218c6afa5, 0x1f1f4caf064bbb, 0x1f2e498e9ba1b4,
    0x1f3b520fb7ea11, 0x1f46c1eb03f4e5, 0x1f50dfbcb697f1, 0x1f59e2c1a6a9b7,
    0x1f61f6ce31721c, 0x1f693f1aa6e98b, 0x1f6fd846cdfcef, 0x1f75d9d343ca19,
    0x1f7b573a0817db, 0x1f8060c1fed8ae, 0x1f8504206f4490, 0x1f894cf5c4b7a2,
    0x1f8d452ef5dc60, 0x1f90f552512d49, 0x1f9464bc97bd0a, 0x1f9799d2044634,
    0x1f9a9a25f07388, 0x1f9d6a9b1fd932, 0x1fa00f7e3b9261, 0x1fa28c9bad89ca,
    0x1fa4e551c5e8a0, 0x1fa71c9fe1923c, 0x1fa935332168f3, 0x1fab3171241ea5,
    0x1fad13811d33d8, 0x1faedd5391d064, 0x1fb090a8f611d0, 0x1fb22f175a5917,
    0x1fb3ba0f4f5ba5, 0x1fb532e020bd17, 0x1fb69abb805c3f, 0x1fb7f2b8b7f9a1,
    0x1fb93bd77334fa, 0x1fba770230e53a, 0x1fbba510685f1f, 0x1fbcc6c86d3ec7,
    0x1fbddce11aa29c, 0x1fbee8034d685c, 0x1fbfe8cb33da7d, 0x1fc0dfc97849e3,
    0x1fc1cd844b44b0, 0x1fc2b278517097, 0x1fc38f19787f31, 0x1fc463d3b63952,
    0x1fc5310bb43723, 0x1fc5f71f6a830c, 0x1fc6b666ab1a95, 0x1fc76f33a00055,
    0x1fc821d33d5afd, 0x1fc8ce8da8ee69, 0x1fc975a69812b7, 0x1fca175da52a49,
    0x1fcab3ee9d78ee, 0x1fcb4b91c82424, 0x1fcbde7c270d12, 0x1fcc6cdfb220ef,
    0x1fccf6eb8daaf0, 0x1fcd7ccc3c2355, 0x1fcdfeabcbe9e4, 0x1fce7cb2014e02,
    0x1fcef7047d3c72, 0x1fcf6dc6e0e143, 0x1fcfe11aee8485, 0x1fd05120a7e118,
    0x1fd0bdf66a2e76, 0x1fd127b90810c8, 0x1fd18e83e19d78, 0x1fd1f270fa9dec,
    0x1fd253990f3639, 0x1fd2b213a711d5, 0x1fd30df7273543, 0x1fd36758e290cb,
    0x1fd3be4d296daa, 0x1fd412e757ccf7, 0x1fd46539e2cd48, 0x1fd4b556652a59,
    0x1fd5034daae833, 0x1fd54f2fbc39de, 0x1fd5990be7b23f, 0x1fd5e0f0cbcc78,
    0x1fd626ec5fd824, 0x1fd66b0bfc5495, 0x1fd6ad5c62c568, 0x1fd6ede9c509f3,
    0x1fd72cbfcc4026, 0x1fd769e99f3af8, 0x1fd7a571e8939f, 0x1fd7df62dc5c7b,
    0x1fd817c63d7bd0, 0x1fd84ea562b429, 0x1fd884093b5fa6, 0x1fd8b7fa53e32c,
    0x1fd8ea80d9dde8, 0x1fd91ba4a01968, 0x1fd94b6d223e21, 0x1fd979e1884ffc,
    0x1fd9a708a9f62a, 0x1fd9d2e9119167, 0x1fd9fd88ff236e, 0x1fda26ee6b0a50,
    0x1fda4f1f089206, 0x1fda7620485e98, 0x1fda9bf75ab0db, 0x1fdac0a93187b9,
    0x1fdae43a829fd0, 0x1fdb06afc95303, 0x1fdb280d485991, 0x1fdb48570b6e08,
    0x1fdb6790e8d566, 0x1fdb85be82cca4, 0x1fdba2e348dca4, 0x1fdbbf027915a4,
    0x1fdbda1f2132ff, 0x1fdbf43c1fa827, 0x1fdc0d5c249789, 0x1fdc2581b2b40c,
    0x1fdc3caf200dbf, 0x1fdc52e696ca48, 0x1fdc682a15c977, 0x1fdc7c7b713679,
    0x1fdc8fdc5305e7, 0x1fdca24e3b610c, 0x1fdcb3d280fe82, 0x1fdcc46a51685b,
    0x1fdcd416b12fe1, 0x1fdce2d87c0ef4, 0x1fdcf0b064f702, 0x1fdcfd9ef60d73,
    0x1fdd09a4909565, 0x1fdd14c16cc685, 0x1fdd1ef59990a3, 0x1fdd2840fc4bb4,
    0x1fdd30a35053d6, 0x1fdd381c2690b6, 0x1fdd3eaae4e7e7, 0x1fdd444ec5995c,
    0x1fdd4906d68556, 0x1fdd4cd1f85ae2, 0x1fdd4faeddadf3, 0x1fdd519c09f414,
    0x1fdd5297d06677, 0x1fdd52a052c81e, 0x1fdd51b3800ebb, 0x1fdd4fcf12eca7,
    0x1fdd4cf0903a48, 0x1fdd4915453d05, 0x1fdd443a45c9b3, 0x1fdd3e5c6a4048,
    0x1fdd37784d5e5d, 0x1fdd2f8a49e5c7, 0x1fdd268e781472, 0x1fdd1c80aaea2a,
    0x1fdd115c6d38f3, 0x1fdd051cfe7bf9, 0x1fdcf7bd4f710f, 0x1fdce937fe6ffe,
    0x1fdcd987537abc, 0x1fdcc8a53c00fe, 0x1fdcb68b465111, 0x1fdca3329caf6b,
    0x1fdc8e94000d9d, 0x1fdc78a7c2589e, 0x1fdc6165c055ae, 0x1fdc48c55b0409,
    0x1fdc2ebd7078b3, 0x1fdc134454288e, 0x1fdbf64fc69397, 0x1fdbd7d4ec42d8,
    0x1fdbb7c84408fa, 0x1fdb961d9c73a6, 0x1fdb72c80859e7, 0x1fdb4db9d27192,
    0x1fdb26e46fd319, 0x1fdafe3871506c, 0x1fdad3a5738055, 0x1fdaa71a0d5bfe,
    0x1fda7883bd4844, 0x1fda47ced45fae, 0x1fda14e65fcc87, 0x1fd9dfb40ffc66,
    0x1fd9a8201d6f70, 0x1fd96e112add68, 0x1fd9316c246181, 0x1fd8f2141b52f0,
    0x1fd8afea1e63fb, 0x1fd86acd0d92c3, 0x1fd82299696669, 0x1fd7d7291cdfa1,
    0x1fd78853416d22, 0x1fd735ebdc19b8, 0x1fd6dfc3930a85, 0x1fd685a75a3f3c,
    0x1fd62760165a96, 0x1fd5c4b23405d1, 0x1fd55d5d3244ad, 0x1fd4f11b1dc64d,
    0x1fd47f9ffae7ca, 0x1fd408991bb3ed, 0x1fd38bac5eac74, 0x1fd30877528f46,
    0x1fd27e8e3a8e51, 0x1fd1ed7aed8bac, 0x1fd154bb89d1cc, 0x1fd0b3c0f563d4,
    0x1fd009ed21527f, 0x1fcf569104677e, 0x1fce98ea3ed54a, 0x1fcdd020554403,
    0x1fccfb416d57b1, 0x1fcc193e7060fb, 0x1fcb28e671ee84, 0x1fca28e12ee500,
    0x1fc917a86de8af, 0x1fc7f37ffa3c6e, 0x1fc6ba6bdd6337, 0x1fc56a245fc9fa,
    0x1fc4000732aaae, 0x1fc27904f10628, 0x1fc0d189dccf5e, 0x1fbf056056e354,
    0x1fbd0f8afdfd54, 0x1fbaea138c77fa, 0x1fb88dca537e25, 0x1fb5f1f05c0505,
    0x1fb30bc36574ea, 0x1fafcdde919e08, 0x1fac275b7aca16, 0x1fa80293c5e023,
    0x1fa3434f698f58, 0x1f9dc408ec3f3d, 0x1f9751b0bc2363, 0x1f8fa4dd9a5a45,
    0x1f86565e3c45d9, 0x1f7acb03817073, 0x1f6c0d8800a867, 0x1f5880b05450e7,
    0x1f3d2e3c028b2e, 0x1f13f491483bf7, 0x1ecd8befe06058, 0x1e34b496663893,
};
constexpr std::array<double, 256> kZigW = {
    0x1.f493b7815d982p-52, 0x1.b8d0be3fdf702p-56, 0x1.250af3c2c5bc6p-55,
    0x1.57cb938443b71p-55, 0x1.801fce82fa71ap-55, 0x1.a230c2e4cd0cbp-55,
    0x1.c004d2f386207p-55, 0x1.dac2f5a747281p-55, 0x1.f32482d4cd5d0p-55,
    0x1.04d32278ebbb4p-54, 0x1.0f5053b025d4ap-54, 0x1.192a69741367dp-54,
    0x1.227a28f7a1afap-54, 0x1.2b52e3863d885p-54, 0x1.33c3fc05791fap-54,
    0x1.3bd9ec1a2b134p-54, 0x1.439ef8dff9b5ap-54, 0x1.4b1bb363dfeadp-54,
    0x1.52575621ad379p-54, 0x1.59580a707ce9cp-54, 0x1.60231cfd97ef1p-54,
    0x1.66bd261a37c44p-54, 0x1.6d2a292000576p-54, 0x1.736dad346f8adp-54,
    0x1.798ad10b32a7ep-54, 0x1.7f845ad46f549p-54, 0x1.855cc53430a7dp-54,
    0x1.8b1649e7b769fp-54, 0x1.90b2ea94ecf9ep-54, 0x1.96347822c1ef0p-54,
    0x1.9b9c98e38c54dp-54, 0x1.a0eccdca4a731p-54, 0x1.a62676d77cd5fp-54,
    0x1.ab4ad6e101636p-54, 0x1.b05b16d136ca2p-54, 0x1.b558487427a2fp-54,
    0x1.ba4368e529f40p-54, 0x1.bf1d62abf8239p-54, 0x1.c3e70f9594ef8p-54,
    0x1.c8a13a5323b66p-54, 0x1.cd4c9fe72268fp-54, 0x1.d1e9f0e80b74bp-54,
    0x1.d679d29e41f14p-54, 0x1.dafce0023b8c8p-54, 0x1.df73aa9f17656p-54,
    0x1.e3debb5d2ee02p-54, 0x1.e83e9337a6f04p-54, 0x1.ec93abdf982d2p-54,
    0x1.f0de784f0622ap-54, 0x1.f51f654d8f68cp-54, 0x1.f956d9e87d7b2p-54,
    0x1.fd8537dfa2eb1p-54, 0x1.00d56e04234eep-53, 0x1.02e40f5398f9dp-53,
    0x1.04eea9e16a5ffp-53, 0x1.06f565b72a014p-53, 0x1.08f869071f40fp-53,
    0x1.0af7d84bc6116p-53, 0x1.0cf3d664bcc83p-53, 0x1.0eec84b16086fp-53,
    0x1.10e20329515f1p-53, 0x1.12d4707310fc1p-53, 0x1.14c3e9f8e9143p-53,
    0x1.16b08bfc42020p-53, 0x1.189a71a78da37p-53, 0x1.1a81b51ee6d8bp-53,
    0x1.1c666f8f82acfp-53, 0x1.1e48b93e0d431p-53, 0x1.2028a9940a0a3p-53,
    0x1.2206572c4c6ecp-53, 0x1.23e1d7de9c322p-53, 0x1.25bb40ca96bfep-53,
    0x1.2792a661dd381p-53, 0x1.29681c719d71dp-53, 0x1.2b3bb62b82edbp-53,
    0x1.2d0d862e1b855p-53, 0x1.2edd9e8cba990p-53, 0x1.30ac10d6e48dap-53,
    0x1.3278ee1f4b933p-53, 0x1.3444470265ea4p-53, 0x1.360e2baca52d7p-53,
    0x1.37d6abe05586cp-53, 0x1.399dd6fb2b267p-53, 0x1.3b63bbfb83d06p-53,
    0x1.3d28698561de3p-53, 0x1.3eebede725a85p-53, 0x1.40ae571e09e76p-53,
    0x1.426fb2da6745fp-53, 0x1.44300e83c30a6p-53, 0x1.45ef773cac75ep-53,
    0x1.47adf9e66c338p-53, 0x1.496ba32488f30p-53, 0x1.4b287f602415ep-53,
    0x1.4ce49acb311ddp-53, 0x1.4ea001638a606p-53, 0x1.505abef5e5563p-53,
    0x1.5214df20a8b5cp-53, 0x1.53ce6d56a6650p-53, 0x1.558774e1bb2c9p-53,
    0x1.574000e555f79p-53, 0x1.58f81c60e8515p-53, 0x1.5aafd23241b5ap-53,
    0x1.5c672d17d733fp-53, 0x1.5e1e37b2f8cd4p-53, 0x1.5fd4fc89f5e39p-53,
    0x1.618b860a31fc5p-53, 0x1.6341de8a2b0a4p-53, 0x1.64f8104b7260dp-53,
    0x1.66ae257c99674p-53, 0x1.6864283b13139p-53, 0x1.6a1a22950b2b3p-53,
    0x1.6bd01e8b343bdp-53, 0x1.6d8626128d354p-53, 0x1.6f3c43161f856p-53,
    0x1.70f27f78b68ecp-53, 0x1.72a8e516914c7p-53, 0x1.745f7dc70eeddp-53,
    0x1.7616535e57320p-53, 0x1.77cd6faeff44ap-53, 0x1.7984dc8babd94p-53,
    0x1.7b3ca3c8b140ap-53, 0x1.7cf4cf3db22fcp-53, 0x1.7ead68c73dee7p-53,
    0x1.80667a486ea1fp-53, 0x1.82200dac88677p-53, 0x1.83da2ce899f16p-53,
    0x1.8594e1fd1f5bep-53, 0x1.875036f7a7ec7p-53, 0x1.890c35f47f72ep-53,
    0x1.8ac8e9205c044p-53, 0x1.8c865aba10c9dp-53, 0x1.8e44951446a28p-53,
    0x1.9003a2973b591p-53, 0x1.91c38dc288349p-53, 0x1.9384612ef0afep-53,
    0x1.954627903a28bp-53, 0x1.9708ebb70d5efp-53, 0x1.98ccb892e2a33p-53,
    0x1.9a919933f99c1p-53, 0x1.9c5798cd5d92ep-53, 0x1.9e1ec2b6f7414p-53,
    0x1.9fe7226fad24dp-53, 0x1.a1b0c39f93696p-53, 0x1.a37bb21a2c85ep-53,
    0x1.a547f9e0bbb8bp-53, 0x1.a715a724aa9a7p-53, 0x1.a8e4c64a0313fp-53,
    0x1.aab563e9ff10ap-53, 0x1.ac878cd5af5cfp-53, 0x1.ae5b4e18bb338p-53,
    0x1.b030b4fc3a11bp-53, 0x1.b207cf09a985cp-53, 0x1.b3e0aa0e00c01p-53,
    0x1.b5bb541ce3d04p-53, 0x1.b797db93f8928p-53, 0x1.b9764f1e5f73dp-53,
    0x1.bb56bdb85256ep-53, 0x1.bd3936b2ec0a2p-53, 0x1.bf1dc9b81ae82p-53,
    0x1.c10486cec16a0p-53, 0x1.c2ed7e5f07a2dp-53, 0x1.c4d8c136e0d1dp-53,
    0x1.c6c6608ec8705p-53, 0x1.c8b66e0eba617p-53, 0x1.caa8fbd36a2abp-53,
    0x1.cc9e1c73bd690p-53, 0x1.ce95e3068e037p-53, 0x1.d0906328b8f6ep-53,
    0x1.d28db1037ef20p-53, 0x1.d48de1533c647p-53, 0x1.d691096e7f123p-53,
    0x1.d8973f4d7fba4p-53, 0x1.daa0999206e6ep-53, 0x1.dcad2f8fc490cp-53,
    0x1.debd195522e34p-53, 0x1.e0d06fb49d219p-53, 0x1.e2e74c4ea46f3p-53,
    0x1.e501c99c1d186p-53, 0x1.e72002f97fe23p-53, 0x1.e94214b2abf09p-53,
    0x1.eb681c0f76f08p-53, 0x1.ed9237610a73ap-53, 0x1.efc086101eca9p-53,
    0x1.f1f328ac25321p-53, 0x1.f42a40fb74d6dp-53, 0x1.f665f20c90168p-53,
    0x1.f8a6604899782p-53, 0x1.faebb187122bfp-53, 0x1.fd360d22fe785p-53,
    0x1.ff859c118f60bp-53, 0x1.00ed447d3a075p-52, 0x1.021a8028fc947p-52,
    0x1.034a983a902abp-52, 0x1.047da4e3ef5c7p-52, 0x1.05b3bf6adb37ep-52,
    0x1.06ed023a72669p-52, 0x1.082988f632e18p-52, 0x1.0969708e8a255p-52,
    0x1.0aacd7571c0c5p-52, 0x1.0bf3dd1eed449p-52, 0x1.0d3ea34aa3d32p-52,
    0x1.0e8d4cf116594p-52, 0x1.0fdffefa69fb8p-52, 0x1.1136e04207043p-52,
    0x1.129219bbb5d37p-52, 0x1.13f1d69c4096fp-52, 0x1.1556448602e3dp-52,
    0x1.16bf93b9deef5p-52, 0x1.182df74d21262p-52, 0x1.19a1a564eebadp-52,
    0x1.1b1ad777f2f8fp-52, 0x1.1c99ca971a695p-52, 0x1.1e1ebfbe4ae39p-52,
    0x1.1fa9fc2e2d901p-52, 0x1.213bc9d04cc82p-52, 0x1.22d477a6fd3efp-52,
    0x1.24745a4ac9c24p-52, 0x1.261bcc77658e0p-52, 0x1.27cb2faa8592ep-52,
    0x1.2982ecd770e78p-52, 0x1.2b437532a0a53p-52, 0x1.2d0d43196db97p-52,
    0x1.2ee0db1a978f5p-52, 0x1.30becd256aeeep-52, 0x1.32a7b5e68a4a3p-52,
    0x1.349c405ae12a3p-52, 0x1.369d27a33a840p-52, 0x1.38ab39256410ap-52,
    0x1.3ac7570ae88fap-52, 0x1.3cf27b31704a6p-52, 0x1.3f2dbaa60f475p-52,
    0x1.417a49cb9e5dbp-52, 0x1.43d9815545e94p-52, 0x1.464ce44a73a16p-52,
    0x1.48d62759c43bdp-52, 0x1.4b7739d6b5a28p-52, 0x1.4e3250dcd8903p-52,
    0x1.5109f53e9ac42p-52, 0x1.54011523a7e43p-52, 0x1.571b1a94ae41cp-52,
    0x1.5a5c08b718dd9p-52, 0x1.5dc8a243ad0fep-52, 0x1.61669cf861e4bp-52,
    0x1.653ce7b006aeap-52, 0x1.69540be9fe5c2p-52, 0x1.6db6b8d09e231p-52,
    0x1.72728f05f7a33p-52, 0x1.7799556090672p-52, 0x1.7d42df4d6ce8bp-52,
    0x1.839030529f233p-52, 0x1.8ab0fbfaa7c14p-52, 0x1.92ee0946f4496p-52,
    0x1.9cbee014057aap-52, 0x1.a8fdc78947759p-52, 0x1.b981f3878fdb0p-52,
    0x1.d3bb48209ad33p-52,
};
constexpr std::array<double, 256> kZigF = {
    0x1.0000000000000p+0, 0x1.f446ac979f084p-1, 0x1.eb7545b6ca912p-1,
    0x1.e3f11e027f074p-1, 0x1.dd36fa704de92p-1, 0x1.d70920657bcefp-1,
    0x1.d144978a119d9p-1, 0x1.cbd33a8a72de8p-1, 0x1.c6a5ecea9787cp-1,
    0x1.c1b1cd9eebae7p-1, 0x1.bceeb4ee1dc7fp-1, 0x1.b85653a8ff54fp-1,
    0x1.b3e3a8234dd0ep-1, 0x1.af92a3f6ce8a0p-1, 0x1.ab5fef17a2502p-1,
    0x1.a748bd550c9dep-1, 0x1.a34aafdf5af0cp-1, 0x1.9f63bee651fd5p-1,
    0x1.9b9228d24067ep-1, 0x1.97d4657617abep-1, 0x1.94291c21b7a43p-1,
    0x1.908f1bd31714bp-1, 0x1.8d0554fe60aa4p-1, 0x1.898ad48badefep-1,
    0x1.861ebfc37bca8p-1, 0x1.82c050f56cf6bp-1, 0x1.7f6ed4b20e2c8p-1,
    0x1.7c29a779c6855p-1, 0x1.78f033ca0b0d2p-1, 0x1.75c1f0770d852p-1,
    0x1.729e5f43f6d0ep-1, 0x1.6f850baea7aebp-1, 0x1.6c7589e635a86p-1,
    0x1.696f75e513b26p-1, 0x1.667272a92e320p-1, 0x1.637e298550c15p-1,
    0x1.6092498802661p-1, 0x1.5dae86f4aff66p-1, 0x1.5ad29acc85c85p-1,
    0x1.57fe4264c8d8cp-1, 0x1.55313f08d9e44p-1, 0x1.526b55a656cd3p-1,
    0x1.4fac4e820b665p-1, 0x1.4cf3f4f494ebep-1, 0x1.4a42172dc5276p-1,
    0x1.479685fdf500fp-1, 0x1.44f114a493676p-1, 0x1.425198a355fe0p-1,
    0x1.3fb7e99585b7fp-1, 0x1.3d23e10af31a1p-1, 0x1.3a955a662cd0bp-1,
    0x1.380c32bda00d2p-1, 0x1.358848bf550e6p-1, 0x1.33097c9703a32p-1,
    0x1.308fafd6438ebp-1, 0x1.2e1ac55ea3beap-1, 0x1.2baaa14d79545p-1,
    0x1.293f28e93cd11p-1, 0x1.26d84290504e9p-1, 0x1.2475d5a90db80p-1,
    0x1.2217ca92ff7eep-1, 0x1.1fbe0a992961dp-1, 0x1.1d687fe549966p-1,
    0x1.1b171573fd10ep-1, 0x1.18c9b709b3c4dp-1, 0x1.16805128639d6p-1,
    0x1.143ad105ea998p-1, 0x1.11f9248311f34p-1, 0x1.0fbb3a232590fp-1,
    0x1.0d8101041429cp-1, 0x1.0b4a68d70d9abp-1, 0x1.091761d995d7dp-1,
    0x1.06e7dccf03c33p-1, 0x1.04bbcafa63f2bp-1, 0x1.02931e18b8228p-1,
    0x1.006dc85b8cac2p-1, 0x1.fc9778c7bbd9bp-2, 0x1.f859da7a900c4p-2,
    0x1.f4229cb2f7aecp-2, 0x1.eff1a717e8f8ep-2, 0x1.ebc6e20bd1f4fp-2,
    0x1.e7a236a4ec3bfp-2, 0x1.e3838ea5f9b7ep-2, 0x1.df6ad47763a03p-2,
    0x1.db57f320b56abp-2, 0x1.d74ad6426de2dp-2, 0x1.d3436a102107bp-2,
    0x1.cf419b4ae5b69p-2, 0x1.cb45573c0a843p-2, 0x1.c74e8bb00d7c3p-2,
    0x1.c35d26f1d2cb5p-2, 0x1.bf7117c616a14p-2, 0x1.bb8a4d6716d8fp-2,
    0x1.b7a8b78071319p-2, 0x1.b3cc462b331c8p-2, 0x1.aff4e9ea18550p-2,
    0x1.ac2293a5f5a9ap-2, 0x1.a85534aa4d87dp-2, 0x1.a48cbea20c04bp-2,
    0x1.a0c923946843bp-2, 0x1.9d0a55e1e93dcp-2, 0x1.995048418c0c3p-2,
    0x1.959aedbe09f8fp-2, 0x1.91ea39b33cb13p-2, 0x1.8e3e1fcb9f113p-2,
    0x1.8a9693fde9185p-2, 0x1.86f38a8ac5ab2p-2, 0x1.8354f7faa0dd5p-2,
    0x1.7fbad11b8d90dp-2, 0x1.7c250aff414acp-2, 0x1.78939af9252e6p-2,
    0x1.7506769c7b1e8p-2, 0x1.717d93ba96148p-2, 0x1.6df8e86124ca6p-2,
    0x1.6a786ad88de1ep-2, 0x1.66fc11a25cbdfp-2, 0x1.6383d377be513p-2,
    0x1.600fa7480d2c6p-2, 0x1.5c9f84376c241p-2, 0x1.5933619d6eebcp-2,
    0x1.55cb3703d00fdp-2, 0x1.5266fc2533beap-2, 0x1.4f06a8ebf6d91p-2,
    0x1.4baa357109ca2p-2, 0x1.485199fad6ad4p-2, 0x1.44fccefc324fcp-2,
    0x1.41abcd1357a18p-2, 0x1.3e5e8d08ed2d8p-2, 0x1.3b1507cf143acp-2,
    0x1.37cf368081376p-2, 0x1.348d125f9d19cp-2, 0x1.314e94d5af62dp-2,
    0x1.2e13b77210764p-2, 0x1.2adc73e963fdap-2, 0x1.27a8c414db11bp-2,
    0x1.2478a1f17de86p-2, 0x1.214c079f7cc9cp-2, 0x1.1e22ef6188113p-2,
    0x1.1afd539c2f04cp-2, 0x1.17db2ed5454e5p-2, 0x1.14bc7bb34ee63p-2,
    0x1.11a134fcf241dp-2, 0x1.0e895598709bdp-2, 0x1.0b74d88b242d4p-2,
    0x1.0863b8f904331p-2, 0x1.0555f2242e9d4p-2, 0x1.024b7f6c7747ap-2,
    0x1.fe88b89df93bcp-3, 0x1.f88108cb8322fp-3, 0x1.f27fe6ce998ccp-3,
    0x1.ec854a4c99c3ep-3, 0x1.e6912b2283cd9p-3, 0x1.e0a3816457181p-3,
    0x1.dabc455c79006p-3, 0x1.d4db6f8b2514cp-3, 0x1.cf00f8a5e6fcap-3,
    0x1.c92cd9971df52p-3, 0x1.c35f0b7d89d46p-3, 0x1.bd9787abe18a2p-3,
    0x1.b7d647a8731abp-3, 0x1.b21b452ccd13ap-3, 0x1.ac667a2571805p-3,
    0x1.a6b7e0b19267cp-3, 0x1.a10f7322d7e3cp-3, 0x1.9b6d2bfd2fe5ap-3,
    0x1.95d105f6a7c27p-3, 0x1.903afbf74fa68p-3, 0x1.8aab09192815ap-3,
    0x1.852128a819a38p-3, 0x1.7f9d5621f7174p-3, 0x1.7a1f8d368a323p-3,
    0x1.74a7c9c7ab5a8p-3, 0x1.6f3607e964719p-3, 0x1.69ca43e21f261p-3,
    0x1.64647a2adf1a4p-3, 0x1.5f04a76f88400p-3, 0x1.59aac88f31d74p-3,
    0x1.5456da9c8683bp-3, 0x1.4f08dade31fc6p-3, 0x1.49c0c6cf5ce30p-3,
    0x1.447e9c20375d6p-3, 0x1.3f4258b6931afp-3, 0x1.3a0bfaae8d7eep-3,
    0x1.34db805b4ab89p-3, 0x1.2fb0e847c2a65p-3, 0x1.2a8c3137a071bp-3,
    0x1.256d5a2835eb6p-3, 0x1.2054625183c34p-3, 0x1.1b41492757d42p-3,
    0x1.16340e5a82d62p-3, 0x1.112cb1da26eb8p-3, 0x1.0c2b33d5209b9p-3,
    0x1.072f94bb8bf84p-3, 0x1.0239d54067d29p-3, 0x1.fa93ecb6b222bp-4,
    0x1.f0bff29520e16p-4, 0x1.e6f7bf29aa546p-4, 0x1.dd3b56176e88bp-4,
    0x1.d38abb9bd91dcp-4, 0x1.c9e5f493b7404p-4, 0x1.c04d0680b100ap-4,
    0x1.b6bff78f2e228p-4, 0x1.ad3ece9caf627p-4, 0x1.a3c9933ea627bp-4,
    0x1.9a604dc9d5b0bp-4, 0x1.9103075a4a09fp-4, 0x1.87b1c9dbf2846p-4,
    0x1.7e6ca013eefccp-4, 0x1.753395aaa116dp-4, 0x1.6c06b73694a46p-4,
    0x1.62e6124854d10p-4, 0x1.59d1b5774669dp-4, 0x1.50c9b06fa2babp-4,
    0x1.47ce1401b2212p-4, 0x1.3edef23269a81p-4, 0x1.35fc5e4d93e69p-4,
    0x1.2d266cf9b310dp-4, 0x1.245d344dd0d8fp-4, 0x1.1ba0cbe97897ep-4,
    0x1.12f14d0f2179dp-4, 0x1.0a4ed2c159622p-4, 0x1.01b979e30e496p-4,
    0x1.f262c2b6c6e33p-5, 0x1.e16d547b25185p-5, 0x1.d092efeadf162p-5,
    0x1.bfd3e0f282a2cp-5, 0x1.af30790385f6fp-5, 0x1.9ea90f9295561p-5,
    0x1.8e3e02a68b5a9p-5, 0x1.7defb77af271cp-5, 0x1.6dbe9b398d062p-5,
    0x1.5dab23cf2add1p-5, 0x1.4db5d0e11275cp-5, 0x1.3ddf2ce98eec7p-5,
    0x1.2e27ce83df495p-5, 0x1.1e9059f1f6ab6p-5, 0x1.0f1982e968009p-5,
    0x1.ff881d718a5b5p-6, 0x1.e121adb828c69p-6, 0x1.c301983cd0912p-6,
    0x1.a529f4e22ebf4p-6, 0x1.879d1b600c10bp-6, 0x1.6a5daf40bbf87p-6,
    0x1.4d6eaf2fbb067p-6, 0x1.30d388dab5e1ap-6, 0x1.149033460301ap-6,
    0x1.f152a4f72dd53p-7, 0x1.ba48d274f8fb3p-7, 0x1.841040d8da47ep-7,
    0x1.4eb96421acfe7p-7, 0x1.1a59229952f95p-7, 0x1.ce160f8ec683cp-8,
    0x1.69ea8d90cb864p-8, 0x1.08a1f03b0b205p-8, 0x1.55f9f43c1b070p-9,
    0x1.4a605b6b9f70dp-10,
};

// --- Scalar Philox, the reference -------------------------------------------------------------

constexpr PhiloxCounter philox_scalar(PhiloxCounter c, PhiloxKey k) noexcept {
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

/// The rare extra words an element needs when its own word is rejected (ziggurat wedge and
/// tail, Lemire's biased sliver). They come from a sequence of its own, keyed per
/// (seed, stream) and counted by the element index, so they stay a function of the index.
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
// Each Ops type wraps one instruction set with the same small vocabulary, so the Philox batch
// and the uniform transform are written once. Integer words live in 64-bit lanes with the
// 32-bit Philox word in the low half: the 32x32->64 multiply (pmuludq) reads only the low
// halves, so the high halves may hold garbage between rounds and are masked at the end.
// Every operation is exact integer arithmetic or one correctly rounded IEEE operation, so all
// Ops types produce identical bits.

#if defined(__AVX512F__)
struct Avx512Ops {
  using U = __m512i;
  using D = __m512d;
  static constexpr int kLanes = 8;
  static constexpr int kUnroll = 4;  // independent vectors per round: hides multiply latency
  static constexpr const char* kName = "avx512";

  static U set1(std::uint64_t x) noexcept { return _mm512_set1_epi64(static_cast<long long>(x)); }
  static U iota(std::uint64_t x) noexcept {
    return _mm512_add_epi64(set1(x), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  }
  static U mul32(U a, U b) noexcept { return _mm512_mul_epu32(a, b); }
  static U hi32(U a) noexcept { return _mm512_srli_epi64(a, 32); }
  static U xor3(U a, U b, U c) noexcept { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
  /// (lo & 0xffffffff) | (hi << 32)
  static U join(U lo, U hi) noexcept {
    return _mm512_mask_blend_epi32(0xAAAA, lo, _mm512_slli_epi64(hi, 32));
  }
  /// Stores h0[0], h1[0], h0[1], h1[1], ...
  static void store_interleaved(U h0, U h1, std::uint64_t* out) noexcept {
    const U first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const U second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    _mm512_storeu_si512(out, _mm512_permutex2var_epi64(h0, first, h1));
    _mm512_storeu_si512(out + kLanes, _mm512_permutex2var_epi64(h0, second, h1));
  }
  static U load(const std::uint64_t* p) noexcept { return _mm512_loadu_si512(p); }

  static D set1d(double x) noexcept { return _mm512_set1_pd(x); }
  static D unit(U w) noexcept {
#if defined(__AVX512DQ__)
    return _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(w, 11)), set1d(0x1p-53));
#else
    const D m52 = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_srli_epi64(w, 12), set1(0x3FF0000000000000u)));
    const U bit = _mm512_and_si512(_mm512_srli_epi64(w, 11), set1(1));
    const D half_ulp = _mm512_castsi512_pd(
        _mm512_and_si512(_mm512_sub_epi64(set1(0), bit), set1(0x3CA0000000000000u)));
    return _mm512_add_pd(_mm512_sub_pd(m52, set1d(1.0)), half_ulp);
#endif
  }
  static D affine(D a, D b, D x) noexcept {  // a + b * x, two roundings
    return _mm512_add_pd(a, TESSERA_RANDOM_NO_FMA(_mm512_mul_pd(b, x)));
  }
  static D min(D a, D b) noexcept { return _mm512_min_pd(a, b); }
  static D loadd(const double* p) noexcept { return _mm512_loadu_pd(p); }
  static void store(double* p, D x) noexcept { _mm512_storeu_pd(p, x); }
};
#endif

#if defined(__AVX2__)
struct Avx2Ops {
  using U = __m256i;
  using D = __m256d;
  static constexpr int kLanes = 4;
  static constexpr int kUnroll = 8;
  static constexpr const char* kName = "avx2";

  static U set1(std::uint64_t x) noexcept {
    return _mm256_set1_epi64x(static_cast<long long>(x));
  }
  static U iota(std::uint64_t x) noexcept {
    return _mm256_add_epi64(set1(x), _mm256_set_epi64x(3, 2, 1, 0));
  }
  static U mul32(U a, U b) noexcept { return _mm256_mul_epu32(a, b); }
  static U hi32(U a) noexcept { return _mm256_srli_epi64(a, 32); }
  static U xor3(U a, U b, U c) noexcept { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  static U join(U lo, U hi) noexcept {
    return _mm256_blend_epi32(lo, _mm256_slli_epi64(hi, 32), 0xAA);
  }
  static void store_interleaved(U h0, U h1, std::uint64_t* out) noexcept {
    const U lo = _mm256_unpacklo_epi64(h0, h1);  // h0[0] h1[0] h0[2] h1[2]
    const U hi = _mm256_unpackhi_epi64(h0, h1);  // h0[1] h1[1] h0[3] h1[3]
    _mm256_storeu_si256(reinterpret_cast<U*>(out), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<U*>(out + kLanes),
                        _mm256_permute2x128_si256(lo, hi, 0x31));
  }
  static U load(const std::uint64_t* p) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const U*>(p));
  }

  static D set1d(double x) noexcept { return _mm256_set1_pd(x); }
  /// No 64-bit integer conversion before AVX-512: put 52 bits under the exponent of 1.0,
  /// subtract 1 (exact), then add the 53rd bit's 2^-53 (exact: the sum has 53 bits).
  static D unit(U w) noexcept {
    const D m52 = _mm256_castsi256_pd(
        _mm256_or_si256(_mm256_srli_epi64(w, 12), set1(0x3FF0000000000000u)));
    const U bit = _mm256_and_si256(_mm256_srli_epi64(w, 11), set1(1));
    const D half_ulp = _mm256_castsi256_pd(
        _mm256_and_si256(_mm256_sub_epi64(set1(0), bit), set1(0x3CA0000000000000u)));
    return _mm256_add_pd(_mm256_sub_pd(m52, set1d(1.0)), half_ulp);
  }
  static D affine(D a, D b, D x) noexcept {
    return _mm256_add_pd(a, TESSERA_RANDOM_NO_FMA(_mm256_mul_pd(b, x)));
  }
  static D min(D a, D b) noexcept { return _mm256_min_pd(a, b); }
  static D loadd(const double* p) noexcept { return _mm256_loadu_pd(p); }
  static void store(double* p, D x) noexcept { _mm256_storeu_pd(p, x); }
};
#endif

#if defined(__SSE2__)
struct Sse2Ops {
  using U = __m128i;
  using D = __m128d;
  static constexpr int kLanes = 2;
  static constexpr int kUnroll = 4;
  static constexpr const char* kName = "sse2";

  static U set1(std::uint64_t x) noexcept { return _mm_set1_epi64x(static_cast<long long>(x)); }
  static U iota(std::uint64_t x) noexcept { return _mm_add_epi64(set1(x), _mm_set_epi64x(1, 0)); }
  static U mul32(U a, U b) noexcept { return _mm_mul_epu32(a, b); }
  static U hi32(U a) noexcept { return _mm_srli_epi64(a, 32); }
  static U xor3(U a, U b, U c) noexcept { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
  static U join(U lo, U hi) noexcept {
    return _mm_or_si128(_mm_and_si128(lo, set1(0xFFFFFFFFu)), _mm_slli_epi64(hi, 32));
  }
  static void store_interleaved(U h0, U h1, std::uint64_t* out) noexcept {
    _mm_storeu_si128(reinterpret_cast<U*>(out), _mm_unpacklo_epi64(h0, h1));
    _mm_storeu_si128(reinterpret_cast<U*>(out + kLanes), _mm_unpackhi_epi64(h0, h1));
  }
  static U load(const std::uint64_t* p) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const U*>(p));
  }

  static D set1d(double x) noexcept { return _mm_set1_pd(x); }
  static D unit(U w) noexcept {  // as Avx2Ops::unit
    const D m52 =
        _mm_castsi128_pd(_mm_or_si128(_mm_srli_epi64(w, 12), set1(0x3FF0000000000000u)));
    const U bit = _mm_and_si128(_mm_srli_epi64(w, 11), set1(1));
    const D half_ulp =
        _mm_castsi128_pd(_mm_and_si128(_mm_sub_epi64(set1(0), bit), set1(0x3CA0000000000000u)));
    return _mm_add_pd(_mm_sub_pd(m52, set1d(1.0)), half_ulp);
  }
  static D affine(D a, D b, D x) noexcept {
    return _mm_add_pd(a, TESSERA_RANDOM_NO_FMA(_mm_mul_pd(b, x)));
  }
  static D min(D a, D b) noexcept { return _mm_min_pd(a, b); }
  static D loadd(const double* p) noexcept { return _mm_loadu_pd(p); }
  static void store(double* p, D x) noexcept { _mm_storeu_pd(p, x); }
};
#endif

/// Portable fallback (non-x86 targets): one lane.
struct ScalarOps {
  using U = std::uint64_t;
  using D = double;
  static constexpr int kLanes = 1;
  static constexpr int kUnroll = 4;
  static constexpr const char* kName = "scalar";

  static U set1(std::uint64_t x) noexcept { return x; }
  static U iota(std::uint64_t x) noexcept { return x; }
  static U mul32(U a, U b) noexcept { return (a & 0xFFFFFFFFu) * (b & 0xFFFFFFFFu); }
  static U hi32(U a) noexcept { return a >> 32; }
  static U xor3(U a, U b, U c) noexcept { return a ^ b ^ c; }
  static U join(U lo, U hi) noexcept { return (lo & 0xFFFFFFFFu) | (hi << 32); }
  static void store_interleaved(U h0, U h1, std::uint64_t* out) noexcept {
    out[0] = h0;
    out[1] = h1;
  }
  static U load(const std::uint64_t* p) noexcept { return *p; }

  static D set1d(double x) noexcept { return x; }
  static D unit(U w) noexcept { return unit_f64(w); }
  static D affine(D a, D b, D x) noexcept { return a + TESSERA_RANDOM_NO_FMA(b * x); }
  static D min(D a, D b) noexcept { return a < b ? a : b; }  // exactly minpd's rule
  static D loadd(const double* p) noexcept { return *p; }
  static void store(double* p, D x) noexcept { *p = x; }
};

/// TESSERA_RANDOM_FORCE_SCALAR selects the portable path on x86 too, so tests can check it.
#if defined(TESSERA_RANDOM_FORCE_SCALAR)
using Ops = ScalarOps;
#elif defined(__AVX512F__)
using Ops = Avx512Ops;
#elif defined(__AVX2__)
using Ops = Avx2Ops;
#elif defined(__SSE2__)
using Ops = Sse2Ops;
#else
using Ops = ScalarOps;
#endif

// --- The batched generator ---------------------------------------------------------------------

/// The words of elements 2 * block .. 2 * block + kBatchElems - 1, in element order.
void philox_batch(PhiloxKey key, std::uint64_t stream, std::uint64_t block,
                  std::uint64_t* out) noexcept {
  using U = Ops::U;
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
    for (int v = 0; v < kUnroll; ++v) {
      c0[v] = Ops::iota(block + static_cast<std::uint64_t>(g + v * kLanes));
      c1[v] = Ops::hi32(c0[v]);
      c2[v] = s0;
      c3[v] = s1;
    }
    std::uint32_t k0 = key[0];
    std::uint32_t k1 = key[1];
    for (int r = 0; r < kPhiloxRounds; ++r) {
      if (r > 0) {
        k0 += kPhiloxW0;
        k1 += kPhiloxW1;
      }
      const U kk0 = Ops::set1(k0);
      const U kk1 = Ops::set1(k1);
      for (int v = 0; v < kUnroll; ++v) {
        const U p0 = Ops::mul32(c0[v], m0);
        const U p1 = Ops::mul32(c2[v], m1);
        c0[v] = Ops::xor3(Ops::hi32(p1), c1[v], kk0);
        c2[v] = Ops::xor3(Ops::hi32(p0), c3[v], kk1);
        c1[v] = p1;
        c3[v] = p0;
      }
    }
    for (int v = 0; v < kUnroll; ++v) {
      Ops::store_interleaved(Ops::join(c0[v], c1[v]), Ops::join(c2[v], c3[v]),
                             out + 2 * (g + v * kLanes));
    }
  }
}

/// Per-call state shared by the kernels.
struct Generator {
  PhiloxKey key;
  PhiloxKey fallback;
  std::uint64_t stream;

  Generator(std::uint64_t seed, std::uint64_t s) noexcept
      : key(key_of(seed)), fallback(fallback_key(seed, s)), stream(s) {}
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
    throw value_error("random kernels: element range [" + std::to_string(first) + ", " +
                      std::to_string(first) + " + " + std::to_string(n) +
                      ") must be non-negative and below 2^63");
  }
}

// --- Uniform ----------------------------------------------------------------------------------

struct UniformParams {
  double low;
  double span;
  double below_high;  // the largest result: the double just below high (low if low == high)
};

UniformParams uniform_params(double low, double high) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high) ||
      !std::isfinite(high - low)) {
    throw value_error("random uniform: need finite low <= high with a finite high - low, got [" +
                      std::to_string(low) + ", " + std::to_string(high) + ")");
  }
  return {low, high - low,
          low == high ? low : std::nextafter(high, -std::numeric_limits<double>::infinity())};
}

void uniform_batch(const Generator& gen, const UniformParams& p, std::uint64_t block,
                   double* dst) noexcept {
  alignas(64) std::uint64_t words[kBatchElems];
  philox_batch(gen.key, gen.stream, block, words);
  const Ops::D low = Ops::set1d(p.low);
  const Ops::D span = Ops::set1d(p.span);
  const Ops::D top = Ops::set1d(p.below_high);
  for (int k = 0; k < kBatchElems; k += Ops::kLanes) {
    const Ops::D u = Ops::unit(Ops::load(words + k));
    Ops::store(dst + k, Ops::min(Ops::affine(low, span, u), top));
  }
}

// --- Normal (ziggurat) ------------------------------------------------------------------------

/// Everything but the fast path: the wedges, the tail beyond r and retries, fed by the
/// element's fallback words. Returns the standard normal for a word that failed the fast test.
[[gnu::noinline]] double normal_slow(std::uint64_t word, PhiloxKey fallback,
                                     std::uint64_t index) noexcept {
  FallbackWords extra(fallback, index);
  for (;;) {
    const unsigned layer = word & 0xFFu;
    const bool negative = (word & 0x100u) != 0;
    const std::uint64_t rabs = word >> 11;
    const double x = static_cast<double>(static_cast<std::int64_t>(rabs)) * kZigW[layer];
    if (rabs < kZigK[layer]) return negative ? -x : x;
    if (layer == 0) {
      // The tail beyond r (Marsaglia 1964): r + xx with xx exponential, accepted with
      // probability exp(-xx^2 / 2). log1p(-u) = log(1 - u) never sees 0.
      for (;;) {
        const double xx = -kZigInvR * std::log1p(-unit_f64(extra.next()));
        const double yy = -std::log1p(-unit_f64(extra.next()));
        if (yy + yy > xx * xx) return negative ? -(kZigR + xx) : kZigR + xx;
      }
    }
    const double y = kZigF[layer] + TESSERA_RANDOM_NO_FMA((kZigF[layer - 1] - kZigF[layer]) *
                                                          unit_f64(extra.next()));
    if (y < std::exp(-0.5 * x * x)) return negative ? -x : x;
    word = extra.next();
  }
}

/// Standard normals for one batch; the fast path is table lookups, an exact conversion and one
/// product, so it is the same in every build.
void standard_normal_batch(const Generator& gen, std::uint64_t block, double* dst) noexcept {
  alignas(64) std::uint64_t words[kBatchElems];
  philox_batch(gen.key, gen.stream, block, words);
  for (int k = 0; k < kBatchElems; ++k) {
    const std::uint64_t word = words[k];
    const unsigned layer = word & 0xFFu;
    const std::uint64_t rabs = word >> 11;
    const double x = static_cast<double>(static_cast<std::int64_t>(rabs)) * kZigW[layer];
    if (rabs < kZigK[layer]) [[likely]] {
      // Negate by flipping the sign bit: a coin-flip branch would mispredict half the time.
      dst[k] = std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) ^ ((word & 0x100u) << 55));
    } else {
      dst[k] = normal_slow(word, gen.fallback, 2 * block + static_cast<std::uint64_t>(k));
    }
  }
}

void normal_batch(const Generator& gen, double mean, double stddev, std::uint64_t block,
                  double* dst) noexcept {
  standard_normal_batch(gen, block, dst);
  const Ops::D m = Ops::set1d(mean);
  const Ops::D s = Ops::set1d(stddev);
  for (int k = 0; k < kBatchElems; k += Ops::kLanes) {
    Ops::store(dst + k, Ops::affine(m, s, Ops::loadd(dst + k)));
  }
}

void check_normal(double mean, double stddev) {
  if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev < 0) {
    throw value_error("random normal: need finite mean and finite stddev >= 0, got mean " +
                      std::to_string(mean) + ", stddev " + std::to_string(stddev));
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
};

IntegerParams integer_params(std::int64_t low, std::int64_t high) {
  if (!(low < high)) {
    throw value_error("random integers: need low < high, got [" + std::to_string(low) + ", " +
                      std::to_string(high) + ")");
  }
  const std::uint64_t span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  return {static_cast<std::uint64_t>(low), span, (0 - span) % span};
}

[[gnu::noinline]] std::uint64_t integer_slow(const IntegerParams& p, PhiloxKey fallback,
                                             std::uint64_t index) noexcept {
  FallbackWords extra(fallback, index);
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
      offset = integer_slow(p, gen.fallback, 2 * block + static_cast<std::uint64_t>(k));
    }
    // Modular add, then the value is known to lie in [low, high), so narrowing is exact.
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
  const PhiloxKey key = key_of(seed);
  for_each_batch(first, n, out, [&](std::uint64_t block, std::uint64_t* dst) {
    philox_batch(key, stream, block, dst);
  });
}

void random_uniform_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, double low, double high, double* out) {
  check_range(first, n);
  const UniformParams p = uniform_params(low, high);
  const Generator gen(seed, stream);
  for_each_batch(first, n, out,
                 [&](std::uint64_t block, double* dst) { uniform_batch(gen, p, block, dst); });
}

void random_uniform_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                        std::int64_t n, float low, float high, float* out) {
  check_range(first, n);
  const UniformParams p = uniform_params(low, high);
  const float top = low == high ? low : std::nextafter(high, -std::numeric_limits<float>::infinity());
  const Generator gen(seed, stream);
  for_each_batch(first, n, out, [&](std::uint64_t block, float* dst) {
    alignas(64) double wide[kBatchElems];
    uniform_batch(gen, p, block, wide);
    for (int k = 0; k < kBatchElems; ++k) dst[k] = std::min(static_cast<float>(wide[k]), top);
  });
}

void random_normal_f64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                       std::int64_t n, double mean, double stddev, double* out) {
  check_range(first, n);
  check_normal(mean, stddev);
  const Generator gen(seed, stream);
  for_each_batch(first, n, out, [&](std::uint64_t block, double* dst) {
    normal_batch(gen, mean, stddev, block, dst);
  });
}

void random_normal_f32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                       std::int64_t n, float mean, float stddev, float* out) {
  check_range(first, n);
  check_normal(mean, stddev);
  const Generator gen(seed, stream);
  for_each_batch(first, n, out, [&](std::uint64_t block, float* dst) {
    alignas(64) double wide[kBatchElems];
    normal_batch(gen, mean, stddev, block, wide);
    for (int k = 0; k < kBatchElems; ++k) dst[k] = static_cast<float>(wide[k]);
  });
}

void random_integers_i64(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int64_t low, std::int64_t high, std::int64_t* out) {
  check_range(first, n);
  const IntegerParams p = integer_params(low, high);
  const Generator gen(seed, stream);
  for_each_batch(first, n, out, [&](std::uint64_t block, std::int64_t* dst) {
    integer_batch(gen, p, block, dst);
  });
}

void random_integers_i32(std::uint64_t seed, std::uint64_t stream, std::int64_t first,
                         std::int64_t n, std::int32_t low, std::int32_t high, std::int32_t* out) {
  check_range(first, n);
  const IntegerParams p = integer_params(low, high);
  const Generator gen(seed, stream);
  for_each_batch(first, n, out, [&](std::uint64_t block, std::int32_t* dst) {
    integer_batch(gen, p, block, dst);
  });
}

const char* random_kernels_simd() noexcept { return Ops::kName; }

}  // namespace tessera::detail
