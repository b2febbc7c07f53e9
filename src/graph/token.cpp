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

Token content_hash(const void* data, std::size_t n) noexcept {
  constexpr std::uint64_t k = 0x9e3779b97f4a7c15ULL;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h[4] = {k, k ^ 0x243f6a8885a308d3ULL, k ^ 0x13198a2e03707344ULL,
                        k ^ 0xa4093822299f31d0ULL};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * static_cast<std::size_t>(j), 8);
      h[j] = std::rotl((h[j] ^ w) * 0xbf58476d1ce4e5b9ULL, 29);
    }
  }
  Tokenizer t;
  t.add(n).add(h[0]).add(h[1]).add(h[2]).add(h[3]);
  t.add_bytes(p + i, n - i);  // the last < 32 bytes
  return t.finish();
}

std::string short_token(Token t) { return fmt::format("{:08x}", t >> 32); }

}  // namespace tessera
