#pragma once
// A process-wide count of the bytes read from files (the io layer adds to it as it reads), which
// a run reports in its Progress (tessera/exec/progress.hpp). The scheduler forwards the count;
// it does not know what reads are.

#include <cstdint>

namespace tessera::detail {

void count_bytes_read(std::uint64_t n) noexcept;
std::uint64_t bytes_read_so_far() noexcept;

}  // namespace tessera::detail
