#include "tessera/graph/token.hpp"

#include <atomic>

#include <fmt/format.h>

// Header-only use: no library to link, and the hash inlines into its one caller. Not XXH3's
// AVX-512 path: GCC 12 reports uninitialised variables inside its own AVX-512 intrinsics there
// (a false positive), and hashing runs at memory speed with AVX2 already.
#if defined(__AVX2__)
#define XXH_VECTOR XXH_AVX2
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tessera {

Token unique_token() {
  static std::atomic<std::uint64_t> counter{0};
  return Tokenizer().add(std::string_view("unique")).add(counter.fetch_add(1)).finish();
}

Token content_hash(const void* data, std::size_t n) noexcept {
  // XXH3 (Debian's libxxhash, inlined): a one-bit change anywhere changes the result like a
  // random token, at tens of GB/s. The length is mixed in as well.
  return Tokenizer().add(std::uint64_t{n}).add(XXH3_64bits(data, n)).finish();
}

std::string short_token(Token t) { return fmt::format("{:08x}", t >> 32); }

}  // namespace tessera
