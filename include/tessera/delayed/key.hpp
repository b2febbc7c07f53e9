#pragma once
/// @file
/// `Key`: the name of one entry of a raw task graph, as Dask names them: a string
/// ("load-1") or a tuple of a string and integers (("x", 0), ("x", 1, 2)).
///
/// A key is also the name its task carries in a lowered TaskGraph (label plus coordinates),
/// so `Key("x", 0).to_string()` is exactly what errors print for that task: "('x', 0)".

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tessera {

class Key {
 public:
  /// A string key: "load-1". Implicit, so that string literals name keys where a Key is
  /// expected (`get(graph, "store")`).
  Key(std::string label) : m_label(std::move(label)) {}  // NOLINT(google-explicit-constructor)
  Key(const char* label) : m_label(label) {}             // NOLINT(google-explicit-constructor)
  /// A tuple key: Key("x", 0) is Dask's ("x", 0).
  template <std::integral... I>
  requires(sizeof...(I) > 0) Key(std::string label, I... coords)
      : m_label(std::move(label)), m_coords{static_cast<std::int64_t>(coords)...} {}
  Key(std::string label, std::vector<std::int64_t> coords)
      : m_label(std::move(label)), m_coords(std::move(coords)) {}

  const std::string& label() const noexcept { return m_label; }
  /// The integers of a tuple key; empty for a string key.
  std::span<const std::int64_t> coords() const noexcept { return m_coords; }

  /// "'load-1'" or "('x', 0)": Python's repr of the key, and TaskGraph::name of its task.
  std::string to_string() const;

  friend bool operator==(const Key&, const Key&) = default;
  friend auto operator<=>(const Key&, const Key&) = default;

 private:
  std::string m_label;
  std::vector<std::int64_t> m_coords;
};

}  // namespace tessera

template <>
struct std::hash<tessera::Key> {
  std::size_t operator()(const tessera::Key& k) const noexcept {
    std::size_t h = std::hash<std::string>{}(k.label());
    for (std::int64_t c : k.coords()) {
      h ^= std::hash<std::int64_t>{}(c) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
  }
};
