#include "tessera/core/instruction_set.hpp"

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "kernels/kernel_set.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

// The sets this build compiled (CMakeLists.txt defines TESSERA_HAS_ISA_<SET> for each).
#ifdef TESSERA_HAS_ISA_SSE2
namespace isa_sse2 {
extern const KernelSet kernel_set;
}
#endif
#ifdef TESSERA_HAS_ISA_AVX2
namespace isa_avx2 {
extern const KernelSet kernel_set;
}
#endif
#ifdef TESSERA_HAS_ISA_AVX512
namespace isa_avx512 {
extern const KernelSet kernel_set;
}
#endif
#ifdef TESSERA_HAS_ISA_NATIVE
namespace isa_native {
extern const KernelSet kernel_set;
}
#endif

namespace {

constexpr Isa kWidestFirst[] = {Isa::Native, Isa::Avx512, Isa::Avx2, Isa::Sse2};

/// Whether the CPU (and the operating system, which must save the wider registers) runs `isa`.
/// The compiler's own CPU check reads CPUID and XGETBV. x86-64-v3 also has F16C, MOVBE and
/// LZCNT, which every CPU with AVX2, FMA and BMI2 has too.
bool cpu_runs(Isa isa) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Sse2:
    case Isa::Native:
      return true;
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    case Isa::Avx512:
      return cpu_runs(Isa::Avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
  }
  return false;
#else
  return isa == Isa::Native;
#endif
}

const KernelSet* widest() noexcept {
  for (Isa isa : kWidestFirst) {
    if (const KernelSet* k = kernels_for(isa)) return k;
  }
  return nullptr;
}

const KernelSet* compiled(Isa isa) noexcept {
  switch (isa) {
#ifdef TESSERA_HAS_ISA_SSE2
    case Isa::Sse2:
      return &isa_sse2::kernel_set;
#endif
#ifdef TESSERA_HAS_ISA_AVX2
    case Isa::Avx2:
      return &isa_avx2::kernel_set;
#endif
#ifdef TESSERA_HAS_ISA_AVX512
    case Isa::Avx512:
      return &isa_avx512::kernel_set;
#endif
#ifdef TESSERA_HAS_ISA_NATIVE
    case Isa::Native:
      return &isa_native::kernel_set;
#endif
    default:
      return nullptr;
  }
}

const KernelSet& select() {
  const char* requested = std::getenv("TESSERA_SIMD");
  if (requested == nullptr || *requested == '\0') {
    if (const KernelSet* k = widest()) return *k;
    throw error("no kernel set of this build runs on this CPU");
  }
  std::string available;
  for (Isa isa : kWidestFirst) {
    const KernelSet* k = kernels_for(isa);
    if (k == nullptr) continue;
    if (k->name == requested) return *k;
    available += std::string(available.empty() ? "" : ", ") + std::string(k->name);
  }
  throw value_error(
      fmt::format("TESSERA_SIMD={}: this build and CPU have no such kernel set (they have: {})",
                  requested, available));
}

}  // namespace

const KernelSet* kernels_for(Isa isa) noexcept {
  const KernelSet* k = compiled(isa);
  return k != nullptr && cpu_runs(isa) ? k : nullptr;
}

const KernelSet& kernels() {
  static const KernelSet& active = select();
  return active;
}

const KernelSet& kernels_or_baseline() noexcept {
  try {
    return kernels();
  } catch (const std::exception&) {
    return *widest();
  }
}

}  // namespace tessera::detail

namespace tessera {

std::string_view instruction_set() { return detail::kernels().name; }

}  // namespace tessera
