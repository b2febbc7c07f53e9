#include "tessera/graph/token.hpp"

#include <atomic>

#include <fmt/format.h>

namespace tessera {

Token unique_token() {
  static std::atomic<std::uint64_t> counter{0};
  return Tokenizer().add(std::string_view("unique")).add(counter.fetch_add(1)).finish();
}

std::string short_token(Token t) { return fmt::format("{:08x}", t >> 32); }

}  // namespace tessera
