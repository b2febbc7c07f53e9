#pragma once
// xsimd, for the kernels of one instruction set.

// GCC 12's AVX-512 intrinsics self-initialise an "undefined" operand and then warn about it
// wherever they are inlined (GCC PR 105593); the warning names the intrinsics header's lines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
