#include "exec/chaos.hpp"

#ifdef TESSERA_CHAOS

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace tessera::detail {

void chaos_point() noexcept {
  // xorshift64*, one stream per thread: no shared state, so chaos itself adds no ordering.
  thread_local std::uint64_t state =
      0x9E3779B97F4A7C15ull ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  const std::uint64_t r = (state * 0x2545F4914F6CDD1Dull) >> 32;
  if (r % 16 == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(1 + r / 16 % 64));
  } else if (r % 4 == 0) {
    std::this_thread::yield();
  }
}

}  // namespace tessera::detail

#endif
