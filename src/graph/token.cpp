#include "tessera/graph/token.hpp"

#include <atomic>
#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace tessera {

Token unique_token() {
  static std::atomic<std::uint64_t> counter{0};
  return Tokenizer().add(std::string_view("unique")).add(counter.fetch_add(1)).finish();
}

namespace {
/// splitmix64's finaliser: every input bit affects every output bit.
std::uint64_t avalanche(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

Token content_hash(const void* data, std::size_t n) noexcept {
  // xxHash64's lanes: acc = rotl(acc + word * P2, 31) * P1, four independent accumulators
  // (the loop runs at memory speed), each finished by a full avalanche before they are
  // combined, so that a one-bit change anywhere changes the result like a random token.
  constexpr std::uint64_t p1 = 0x9e3779b185ebca87ULL, p2 = 0xc2b2ae3d27d4eb4fULL;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h[4] = {p1 + p2, p2, 0, 0 - p1};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * static_cast<std::size_t>(j), 8);
      h[j] = std::rotl(h[j] + w * p2, 31) * p1;
    }
  }
  Tokenizer t;
  t.add(n);
  for (const std::uint64_t lane : h) t.add(avalanche(lane));
  t.add_bytes(p + i, n - i);  // the last < 32 bytes
  return t.finish();
}

std::string short_token(Token t) { return fmt::format("{:08x}", t >> 32); }

}  // namespace tessera
