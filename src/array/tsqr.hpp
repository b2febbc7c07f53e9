#pragma once
// TSQR with a chosen stack size, for tests that need a deep tree of R factors on small arrays.

#include <cstddef>

#include "tessera/array/linalg.hpp"

namespace tessera::linalg::detail {

/// qr(a), with at most `stack_bytes` of R factors stacked and factored by one task (qr() uses
/// 256 MiB; at least two factors are stacked whatever the bound).
QR qr(const Array& a, std::size_t stack_bytes);

}  // namespace tessera::linalg::detail
