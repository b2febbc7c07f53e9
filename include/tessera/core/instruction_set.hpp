#pragma once
/// @file
/// The instruction set Tessera's kernels run with in this process.
///
/// One build runs on every x86-64 CPU: the kernels (elementwise operations, fused chains,
/// reductions' inner loops, random numbers) are compiled for SSE2, AVX2 (x86-64-v3) and AVX-512
/// (x86-64-v4), and each process uses the widest its CPU supports. Every set gives bit-identical
/// results. A build configured with TESSERA_NATIVE=ON has one set, "native": the build
/// machine's.

#include <string_view>

namespace tessera {

/// "avx512", "avx2", "sse2" or "native". The environment variable TESSERA_SIMD (one of these
/// names) overrides the choice, e.g. to compare sets on one machine; naming a set this build or
/// CPU lacks makes this call, and the first computation, throw tessera::value_error.
std::string_view instruction_set();

}  // namespace tessera
