#pragma once
/// @file
/// Content tokens: a 64-bit hash of what an expression computes. Equal expressions (same
/// operation, parameters and input tokens) get equal tokens on every rank, so they are
/// computed once; expressions that cannot be hashed by content (user callables, adopted
/// buffers) get a unique token from a per-process counter, which is still the same on every
/// rank because every rank builds the same expressions in the same order.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace tessera {

using Token = std::uint64_t;

/// Accumulates values into a token (FNV-1a over bytes, finished with a 64-bit mixer).
class Tokenizer {
 public:
  Tokenizer& add_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) m_state = (m_state ^ p[i]) * 0x100000001b3ULL;
    return *this;
  }
  /// Hashes the bytes of a value without padding (so equal values give equal tokens).
  /// Pointers and arrays are excluded: an address differs between processes and ranks.
  template <class T>
  requires std::is_trivially_copyable_v<T> &&(!std::is_pointer_v<T>)&&(!std::is_array_v<T>)&&(
      std::has_unique_object_representations_v<T> || std::is_floating_point_v<T> ||
      std::is_same_v<T, bool>)Tokenizer& add(const T& v) {
    return add_bytes(&v, sizeof(T));
  }
  Tokenizer& add(const char* s) { return add(std::string_view(s)); }
  Tokenizer& add(const std::string& s) { return add(std::string_view(s)); }
  Tokenizer& add(std::string_view s) {
    add(s.size());
    return add_bytes(s.data(), s.size());
  }
  template <class Range>
  requires requires(const Range& r) {
    r.begin();
    r.end();
    r.size();
  }
  Tokenizer& add_range(const Range& r) {
    add(r.size());
    for (const auto& v : r) add(v);
    return *this;
  }
  Token finish() const {
    std::uint64_t z = m_state + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t m_state = 0xcbf29ce484222325ULL;
};

/// A fresh token for an expression that cannot be hashed by content.
Token unique_token();

/// A 64-bit hash of `n` bytes, at memory speed (XXH3; Tokenizer::add_bytes goes byte by
/// byte). For data that is part of a token:
/// from_buffer's chunks, raw-graph and delayed literals, so that ranks holding different data
/// build different graphs, which the distributed scheduler reports instead of blending them.
Token content_hash(const void* data, std::size_t n) noexcept;

/// "3fa2c1de": the first 8 hex digits, as used in task labels.
std::string short_token(Token t);

}  // namespace tessera
