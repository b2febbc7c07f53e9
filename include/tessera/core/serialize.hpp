#pragma once
/// @file
/// Wire form of task values, for values that cross ranks.
///
/// A value is written as a small header plus "segments": byte ranges of its bulk data that
/// point into the value's own memory, so that a chunk is sent without being copied. The
/// receiver reads the header (which lists the segment sizes), receives each segment into a
/// fresh 64-byte-aligned buffer, and rebuilds the value around those buffers (a Block adopts
/// its buffer: no copy on this side either).
///
/// Built in: arithmetic types, std::string, Block, and — of serialisable types — std::vector,
/// std::pair, std::tuple, std::optional, std::map and std::unordered_map (default comparator,
/// hash and allocator); xt::xarray<T> and xt::xtensor<T, N> of arithmetic T (their elements
/// are one segment, sent without a copy; the receiver copies them once into the container,
/// which cannot adopt a buffer). They nest: `std::map<std::string, std::vector<double>>` works.
///
/// Any other type takes part through one customisation point, a specialisation of
/// `tessera::Serializer<T>` with three static functions. A complete example (it is also a
/// test, `Serialize.UserTypeFromTheFileComment` in tests/core/test_serialize.cpp, and crosses
/// ranks in tests/core/mpi_test_serialize.cpp):
///
///     struct Spectrum {                   // a user's value type
///       std::string name;
///       std::vector<double> edges;
///       xt::xarray<std::int64_t> counts;   // bulk data: one segment, not copied on send
///       bool operator==(const Spectrum&) const = default;
///     };
///
///     template <>
///     struct tessera::Serializer<Spectrum> {
///       // Identifies the type on the wire: unique, and the same on every rank (a hash of it
///       // is sent, so keep it stable between builds that talk to each other).
///       static std::string name() { return "example.Spectrum"; }
///       // Members by their own serializers (w.write), fixed-size bytes by w.put(x), bulk
///       // memory that outlives the send by w.segment(bytes).
///       static void write(const Spectrum& h, tessera::WireWriter& w) {
///         w.write(h.name);
///         w.write(h.edges);
///         w.write(h.counts);
///       }
///       // Reads back in the same order (a braced list is evaluated left to right).
///       static Spectrum read(tessera::WireReader& r) {
///         return Spectrum{r.read<std::string>(), r.read<std::vector<double>>(),
///                          r.read<xt::xarray<std::int64_t>>()};
///       }
///     };
///
///     // Once, on every rank, before the first run that moves a Spectrum between ranks:
///     tessera::register_serializer<Spectrum>();
///
/// Only the type a task returns needs registering (its members' serializers are compiled in);
/// raw task graphs and delayed values register their result types themselves. Registering a
/// type without a serializer fails to compile with a static_assert that says so, naming the
/// innermost type lacking one; two types registered under one name are a value_error.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "tessera/core/block.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/value.hpp"

namespace tessera {

/// A received bulk buffer: 64-byte aligned, owned by `owner`.
struct Segment {
  std::shared_ptr<void> owner;
  std::byte* data = nullptr;
  std::size_t size = 0;
};

/// What a Serializer writes a value into: header bytes, and segments pointing at bulk data.
class WireWriter {
 public:
  /// Fixed-size bytes into the header.
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& v);
  /// Length-prefixed bytes into the header (short variable-size data: names, strings).
  void put_bytes(std::span<const std::byte> bytes);
  /// Bulk data sent as is, without a copy: it must stay alive as long as the value does.
  void segment(std::span<const std::byte> bytes) { m_segments.push_back(bytes); }
  /// A serialisable value, by its Serializer (what composite serializers write members with).
  template <class T>
  void write(const T& v);

  std::vector<std::byte>& header() noexcept { return m_header; }
  std::vector<std::span<const std::byte>>& segments() noexcept { return m_segments; }

 private:
  std::vector<std::byte> m_header;
  std::vector<std::span<const std::byte>> m_segments;
};

/// What a Serializer reads a value back from, in the order it was written.
class WireReader {
 public:
  WireReader(std::span<const std::byte> header, std::vector<Segment> segments)
      : m_header(header), m_segments(std::move(segments)) {}

  template <class T>
  requires std::is_trivially_copyable_v<T> T get();
  std::span<const std::byte> get_bytes() {
    return take(static_cast<std::size_t>(get<std::uint64_t>()));
  }
  /// The next `n` header bytes, whose length the reader knows from what it read before.
  std::span<const std::byte> get_raw(std::size_t n) { return take(n); }
  /// The next received segment.
  Segment segment();
  /// A serialisable value, by its Serializer.
  template <class T>
  T read();

  /// Header bytes not read yet (a bound on element counts a malformed header may claim).
  std::size_t remaining() const noexcept { return m_header.size() - m_pos; }

 private:
  std::span<const std::byte> take(std::size_t n);
  std::span<const std::byte> m_header;
  std::size_t m_pos = 0;
  std::vector<Segment> m_segments;
  std::size_t m_next_segment = 0;
};

/// The customisation point (see the file comment). Unspecialised: not serialisable.
template <class T>
struct Serializer;

/// Whether values of T can cross ranks.
template <class T>
concept Serializable = requires(const T& v, WireWriter& w, WireReader& r) {
  { Serializer<T>::name() } -> std::convertible_to<std::string>;
  Serializer<T>::write(v, w);
  { Serializer<T>::read(r) } -> std::same_as<T>;
};

/// Compiles only for a serialisable T; otherwise one static_assert, whose message says how to
/// make it so, names the innermost type lacking a serializer (a `std::vector<Mine>` names
/// `Mine`) in the compiler's "required from here" note.
template <class T>
constexpr void require_serializable();

/// A value in wire form. `header` starts with the type's id and the segment sizes.
struct WireValue {
  std::vector<std::byte> header;
  std::vector<std::span<const std::byte>> segments;  // point into the encoded Value
};

/// Encodes `v` (its type must be registered); throws dtype_error naming the type otherwise.
WireValue encode(const Value& v);
/// Segment sizes listed in an encoded header (what the receiver must allocate).
std::vector<std::size_t> segment_sizes(std::span<const std::byte> header);
/// Rebuilds a value from its header and received segments.
Value decode(std::span<const std::byte> header, std::vector<Segment> segments);
/// A fresh aligned buffer for a segment of `size` bytes.
Segment allocate_segment(std::size_t size);

/// Makes values of T transferable between ranks. Idempotent and thread-safe; call it on every
/// rank (a rank that receives a T must know it too). Throws value_error when another type is
/// registered under T's name.
template <class T>
void register_serializer();

// --- built-in serializers (bodies below) ---------------------------------------------------------

namespace detail {
template <class U>
constexpr const char* arithmetic_name();  // below
}  // namespace detail

// name() is defined in the class: Clang 14 rejects an out-of-line member of a partial
// specialisation that differs from the primary template only by its constraints.
template <class T>
requires std::is_arithmetic_v<T>
struct Serializer<T> {
  static std::string name() { return detail::arithmetic_name<T>(); }
  static void write(const T& v, WireWriter& w) { w.put(v); }
  static T read(WireReader& r) { return r.get<T>(); }
};

template <>
struct Serializer<std::string> {
  static std::string name() { return "string"; }
  static void write(const std::string& v, WireWriter& w);
  static std::string read(WireReader& r);
};

/// A Block's elements are one segment; the receiver's Block adopts the received buffer.
template <>
struct Serializer<Block> {
  static std::string name() { return "tessera.Block"; }
  static void write(const Block& b, WireWriter& w);
  static Block read(WireReader& r);
};

template <Serializable T>
struct Serializer<std::vector<T>> {
  static std::string name();
  static void write(const std::vector<T>& v, WireWriter& w);
  static std::vector<T> read(WireReader& r);
};

template <Serializable A, Serializable B>
struct Serializer<std::pair<A, B>> {
  static std::string name();
  static void write(const std::pair<A, B>& v, WireWriter& w);
  static std::pair<A, B> read(WireReader& r);
};

template <Serializable... Ts>
struct Serializer<std::tuple<Ts...>> {
  static std::string name();
  static void write(const std::tuple<Ts...>& v, WireWriter& w);
  static std::tuple<Ts...> read(WireReader& r);
};

template <Serializable T>
struct Serializer<std::optional<T>> {
  static std::string name();
  static void write(const std::optional<T>& v, WireWriter& w);
  static std::optional<T> read(WireReader& r);
};

template <Serializable K, Serializable V>
struct Serializer<std::map<K, V>> {
  static std::string name();
  static void write(const std::map<K, V>& m, WireWriter& w);
  static std::map<K, V> read(WireReader& r);
};

template <Serializable K, Serializable V>
struct Serializer<std::unordered_map<K, V>> {
  static std::string name();
  static void write(const std::unordered_map<K, V>& m, WireWriter& w);
  static std::unordered_map<K, V> read(WireReader& r);
};

/// Shape in the header, elements (row-major) as one segment.
template <class T>
requires std::is_arithmetic_v<T>
struct Serializer<xt::xarray<T>> {
  static std::string name();
  static void write(const xt::xarray<T>& a, WireWriter& w);
  static xt::xarray<T> read(WireReader& r);
};

/// As xt::xarray; a received rank other than N is a value_error.
template <class T, std::size_t N>
requires std::is_arithmetic_v<T>
struct Serializer<xt::xtensor<T, N>> {
  static std::string name();
  static void write(const xt::xtensor<T, N>& a, WireWriter& w);
  static xt::xtensor<T, N> read(WireReader& r);
};

// --- implementation -----------------------------------------------------------------------------

namespace detail {

using EncodeFn = void (*)(const Value&, WireWriter&);
using DecodeFn = Value (*)(WireReader&);
void register_codec(std::type_index type, const std::string& name, EncodeFn encode,
                    DecodeFn decode);

/// Wire names of arithmetic types. Fixed-width integers get "i64", "u8", ...; a distinct type of
/// the same size (long long beside a 64-bit long, char16_t beside uint16_t) gets its own name,
/// so that no two types share one.
template <class U>
constexpr const char* arithmetic_name() {
  if constexpr (std::is_same_v<U, bool>)
    return "bool";
  else if constexpr (std::is_same_v<U, char>)
    return "char";
  else if constexpr (std::is_same_v<U, wchar_t>)
    return "wchar_t";
  else if constexpr (std::is_same_v<U, char8_t>)
    return "char8_t";
  else if constexpr (std::is_same_v<U, char16_t>)
    return "char16_t";
  else if constexpr (std::is_same_v<U, char32_t>)
    return "char32_t";
  else if constexpr (std::is_same_v<U, float>)
    return "f32";
  else if constexpr (std::is_same_v<U, double>)
    return "f64";
  else if constexpr (std::is_same_v<U, long double>)
    return "f128";
  else if constexpr (std::is_same_v<U, std::int8_t>)
    return "i8";
  else if constexpr (std::is_same_v<U, std::int16_t>)
    return "i16";
  else if constexpr (std::is_same_v<U, std::int32_t>)
    return "i32";
  else if constexpr (std::is_same_v<U, std::int64_t>)
    return "i64";
  else if constexpr (std::is_same_v<U, std::uint8_t>)
    return "u8";
  else if constexpr (std::is_same_v<U, std::uint16_t>)
    return "u16";
  else if constexpr (std::is_same_v<U, std::uint32_t>)
    return "u32";
  else if constexpr (std::is_same_v<U, std::uint64_t>)
    return "u64";
  else if constexpr (std::is_same_v<U, long>)
    return "long";
  else if constexpr (std::is_same_v<U, unsigned long>)
    return "ulong";
  else if constexpr (std::is_same_v<U, long long>)
    return "longlong";
  else if constexpr (std::is_same_v<U, unsigned long long>)
    return "ulonglong";
  else if constexpr (std::is_same_v<U, int>)
    return "int";
  else if constexpr (std::is_same_v<U, unsigned>)
    return "uint";
  else if constexpr (std::is_same_v<U, short>)
    return "short";
  else if constexpr (std::is_same_v<U, unsigned short>)
    return "ushort";
  else if constexpr (std::is_same_v<U, signed char>)
    return "schar";
  else
    static_assert(sizeof(U) == 0, "tessera has no wire name for this arithmetic type");
}

/// "kind<a,b,extra>" from the wire names a, b of Ts. (Appended piece by piece: GCC 12 warns
/// falsely, -Wrestrict, about `"literal" + std::string`.)
template <class... Ts>
std::string composite_name(std::string_view kind, std::string_view extra = {}) {
  std::string out(kind);
  out += '<';
  bool first = true;
  const auto add = [&](std::string_view piece) {
    if (!first) out += ',';
    out += piece;
    first = false;
  };
  (add(std::string(Serializer<Ts>::name())), ...);
  if (!extra.empty()) add(extra);
  out += '>';
  return out;
}

/// The types a composite serializer needs serializers for: where require_serializable looks
/// first, so that its error names the innermost culprit.
template <class T>
struct ComponentsOf {
  using type = std::tuple<>;
};
template <class T>
struct ComponentsOf<std::vector<T>> {
  using type = std::tuple<T>;
};
template <class A, class B>
struct ComponentsOf<std::pair<A, B>> {
  using type = std::tuple<A, B>;
};
template <class... Ts>
struct ComponentsOf<std::tuple<Ts...>> {
  using type = std::tuple<Ts...>;
};
template <class T>
struct ComponentsOf<std::optional<T>> {
  using type = std::tuple<T>;
};
template <class K, class V>
struct ComponentsOf<std::map<K, V>> {
  using type = std::tuple<K, V>;
};
template <class K, class V>
struct ComponentsOf<std::unordered_map<K, V>> {
  using type = std::tuple<K, V>;
};

template <class Tuple>
struct AllSerializable;
template <class... Ts>
struct AllSerializable<std::tuple<Ts...>> : std::bool_constant<(Serializable<Ts> && ...)> {};

template <class... Ts>
constexpr void require_each(std::tuple<Ts...>*) {
  (require_serializable<Ts>(), ...);
}

/// Rank and extents of an xtensor container, then its elements as one segment.
template <class T, class Container>
void write_xtensor(const Container& a, WireWriter& w) {
  w.put(static_cast<std::uint32_t>(a.dimension()));
  for (std::size_t e : a.shape()) w.put(static_cast<std::uint64_t>(e));
  w.segment(std::as_bytes(std::span(a.data(), a.size())));
}

/// value_error: an xt::xtensor<T, N> received with another rank.
[[noreturn]] void throw_rank_mismatch(std::size_t expected, std::uint32_t received);
/// value_error: a received container claims more dimensions than its header has bytes for.
[[noreturn]] void throw_too_many_dimensions(std::uint32_t received);

/// Copies a received segment into `a`, which has the sent shape already.
template <class T, class Container>
void fill_xtensor(Container& a, const Segment& s) {
  if (s.size != a.size() * sizeof(T))
    throw value_error("malformed value: an xtensor container's data does not match its shape");
  if (s.size > 0) std::memcpy(a.data(), s.data, s.size);
}

}  // namespace detail

template <class T>
requires std::is_trivially_copyable_v<T>
void WireWriter::put(const T& v) {
  // resize + memcpy rather than insert: GCC 12 warns falsely (stringop-overflow) about an
  // insert into a vector it believes empty.
  const std::size_t at = m_header.size();
  m_header.resize(at + sizeof(T));
  std::memcpy(m_header.data() + at, &v, sizeof(T));
}

inline void WireWriter::put_bytes(std::span<const std::byte> bytes) {
  put<std::uint64_t>(bytes.size());
  m_header.insert(m_header.end(), bytes.begin(), bytes.end());
}

template <class T>
void WireWriter::write(const T& v) {
  require_serializable<T>();
  if constexpr (Serializable<T>) Serializer<T>::write(v, *this);
}

template <class T>
requires std::is_trivially_copyable_v<T> T WireReader::get() {
  T v;
  std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
  return v;
}

template <class T>
T WireReader::read() {
  require_serializable<T>();
  if constexpr (Serializable<T>)
    return Serializer<T>::read(*this);
  else
    __builtin_unreachable();  // the static_assert above has failed: one error, not three
}

template <class T>
constexpr void require_serializable() {
  using Components = typename detail::ComponentsOf<T>::type;
  detail::require_each(static_cast<Components*>(nullptr));
  // Only when the components have serializers: otherwise the error is theirs, reported above.
  static_assert(!detail::AllSerializable<Components>::value || Serializable<T>,
                "This type has no tessera::Serializer, so its values cannot cross MPI ranks. "
                "Specialise tessera::Serializer<T> for it with static functions name(), "
                "write(const T&, WireWriter&) and read(WireReader&) returning a T, as the "
                "example at the top of tessera/core/serialize.hpp shows.");
}

template <class T>
void register_serializer() {
  require_serializable<T>();
  if constexpr (Serializable<T>) {
    detail::register_codec(
        typeid(T), std::string(Serializer<T>::name()),
        [](const Value& v, WireWriter& w) { Serializer<T>::write(v.get<T>(), w); },
        [](WireReader& r) { return Value::make<T>(Serializer<T>::read(r)); });
  }
}

template <Serializable T>
std::string Serializer<std::vector<T>>::name() {
  return detail::composite_name<T>("vector");
}
template <Serializable T>
void Serializer<std::vector<T>>::write(const std::vector<T>& v, WireWriter& w) {
  w.put<std::uint64_t>(v.size());
  for (const T& x : v) Serializer<T>::write(x, w);
}
template <Serializable T>
std::vector<T> Serializer<std::vector<T>>::read(WireReader& r) {
  const auto n = static_cast<std::size_t>(r.get<std::uint64_t>());
  std::vector<T> v;
  v.reserve(std::min(n, r.remaining()));  // a malformed count must not allocate terabytes
  for (std::size_t i = 0; i < n; ++i) v.push_back(Serializer<T>::read(r));
  return v;
}

template <Serializable A, Serializable B>
std::string Serializer<std::pair<A, B>>::name() {
  return detail::composite_name<A, B>("pair");
}
template <Serializable A, Serializable B>
void Serializer<std::pair<A, B>>::write(const std::pair<A, B>& v, WireWriter& w) {
  Serializer<A>::write(v.first, w);
  Serializer<B>::write(v.second, w);
}
template <Serializable A, Serializable B>
std::pair<A, B> Serializer<std::pair<A, B>>::read(WireReader& r) {
  return std::pair<A, B>{Serializer<A>::read(r), Serializer<B>::read(r)};  // in order
}

template <Serializable... Ts>
std::string Serializer<std::tuple<Ts...>>::name() {
  return detail::composite_name<Ts...>("tuple");
}
template <Serializable... Ts>
void Serializer<std::tuple<Ts...>>::write(const std::tuple<Ts...>& v, WireWriter& w) {
  // [&], not [&w]: an empty tuple does not use w, and Clang warns about an unused capture.
  std::apply([&](const Ts&... x) { (Serializer<Ts>::write(x, w), ...); }, v);
}
template <Serializable... Ts>
std::tuple<Ts...> Serializer<std::tuple<Ts...>>::read([[maybe_unused]] WireReader& r) {
  return std::tuple<Ts...>{Serializer<Ts>::read(r)...};  // a braced list: in order
}

template <Serializable T>
std::string Serializer<std::optional<T>>::name() {
  return detail::composite_name<T>("optional");
}
template <Serializable T>
void Serializer<std::optional<T>>::write(const std::optional<T>& v, WireWriter& w) {
  w.put<std::uint8_t>(v.has_value() ? 1 : 0);
  if (v) Serializer<T>::write(*v, w);
}
template <Serializable T>
std::optional<T> Serializer<std::optional<T>>::read(WireReader& r) {
  if (r.get<std::uint8_t>() == 0) return std::nullopt;
  return Serializer<T>::read(r);
}

template <Serializable K, Serializable V>
std::string Serializer<std::map<K, V>>::name() {
  return detail::composite_name<K, V>("map");
}
template <Serializable K, Serializable V>
void Serializer<std::map<K, V>>::write(const std::map<K, V>& m, WireWriter& w) {
  w.put<std::uint64_t>(m.size());
  for (const auto& [k, v] : m) {
    Serializer<K>::write(k, w);
    Serializer<V>::write(v, w);
  }
}
template <Serializable K, Serializable V>
std::map<K, V> Serializer<std::map<K, V>>::read(WireReader& r) {
  const auto n = static_cast<std::size_t>(r.get<std::uint64_t>());
  std::map<K, V> m;
  for (std::size_t i = 0; i < n; ++i) {
    K k = Serializer<K>::read(r);
    m.emplace_hint(m.end(), std::move(k), Serializer<V>::read(r));  // sent in key order
  }
  return m;
}

template <Serializable K, Serializable V>
std::string Serializer<std::unordered_map<K, V>>::name() {
  return detail::composite_name<K, V>("unordered_map");
}
template <Serializable K, Serializable V>
void Serializer<std::unordered_map<K, V>>::write(const std::unordered_map<K, V>& m, WireWriter& w) {
  w.put<std::uint64_t>(m.size());
  for (const auto& [k, v] : m) {
    Serializer<K>::write(k, w);
    Serializer<V>::write(v, w);
  }
}
template <Serializable K, Serializable V>
std::unordered_map<K, V> Serializer<std::unordered_map<K, V>>::read(WireReader& r) {
  const auto n = static_cast<std::size_t>(r.get<std::uint64_t>());
  std::unordered_map<K, V> m;
  m.reserve(std::min(n, r.remaining()));
  for (std::size_t i = 0; i < n; ++i) {
    K k = Serializer<K>::read(r);
    m.emplace(std::move(k), Serializer<V>::read(r));
  }
  return m;
}

template <class T>
requires std::is_arithmetic_v<T> std::string Serializer<xt::xarray<T>>::name() {
  return detail::composite_name<T>("xarray");
}
template <class T>
requires std::is_arithmetic_v<T>
void Serializer<xt::xarray<T>>::write(const xt::xarray<T>& a, WireWriter& w) {
  detail::write_xtensor<T>(a, w);
}
template <class T>
requires std::is_arithmetic_v<T> xt::xarray<T> Serializer<xt::xarray<T>>::read(WireReader& r) {
  const auto nd = r.get<std::uint32_t>();
  // A malformed rank must not allocate gigabytes before the reads past the end fail.
  if (nd > r.remaining() / sizeof(std::uint64_t)) detail::throw_too_many_dimensions(nd);
  typename xt::xarray<T>::shape_type shape(nd);
  for (auto& e : shape) e = static_cast<std::size_t>(r.get<std::uint64_t>());
  xt::xarray<T> a(shape);
  detail::fill_xtensor<T>(a, r.segment());
  return a;
}

template <class T, std::size_t N>
requires std::is_arithmetic_v<T> std::string Serializer<xt::xtensor<T, N>>::name() {
  return detail::composite_name<T>("xtensor", std::to_string(N));
}
template <class T, std::size_t N>
requires std::is_arithmetic_v<T>
void Serializer<xt::xtensor<T, N>>::write(const xt::xtensor<T, N>& a, WireWriter& w) {
  detail::write_xtensor<T>(a, w);
}
template <class T, std::size_t N>
requires std::is_arithmetic_v<T> xt::xtensor<T, N> Serializer<xt::xtensor<T, N>>::read(
    WireReader& r) {
  if (const auto nd = r.get<std::uint32_t>(); nd != N) {
    detail::throw_rank_mismatch(N, nd);
  }
  typename xt::xtensor<T, N>::shape_type shape;
  for (auto& e : shape) e = static_cast<std::size_t>(r.get<std::uint64_t>());
  xt::xtensor<T, N> a(shape);
  detail::fill_xtensor<T>(a, r.segment());
  return a;
}

}  // namespace tessera
