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
/// Types take part through one customisation point: a specialisation of `Serializer<T>`
///
///     template <> struct tessera::Serializer<MyType> {
///       static std::string name() { return "my.Type"; }         // same on every rank
///       static void write(const MyType& v, WireWriter& w);    // w.put(x), w.segment(bytes)
///       static MyType read(WireReader& r);                    // r.get<T>(), r.segment()
///     };
///
/// plus `register_serializer<MyType>()` once before the first run. Arithmetic types, strings,
/// Block, and vectors of serialisable types are built in.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

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

class WireWriter {
 public:
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    m_header.insert(m_header.end(), p, p + sizeof(T));
  }
  void put_bytes(std::span<const std::byte> bytes) {
    put<std::uint64_t>(bytes.size());
    m_header.insert(m_header.end(), bytes.begin(), bytes.end());
  }
  /// Bulk data sent as is, without a copy: it must stay alive as long as the value does.
  void segment(std::span<const std::byte> bytes) { m_segments.push_back(bytes); }

  std::vector<std::byte>& header() noexcept { return m_header; }
  std::vector<std::span<const std::byte>>& segments() noexcept { return m_segments; }

 private:
  std::vector<std::byte> m_header;
  std::vector<std::span<const std::byte>> m_segments;
};

class WireReader {
 public:
  WireReader(std::span<const std::byte> header, std::vector<Segment> segments)
      : m_header(header), m_segments(std::move(segments)) {}
  template <class T>
  requires std::is_trivially_copyable_v<T> T get() {
    T v;
    std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
    return v;
  }
  std::span<const std::byte> get_bytes() {
    return take(static_cast<std::size_t>(get<std::uint64_t>()));
  }
  /// The next received segment.
  Segment segment();

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

namespace detail {
using EncodeFn = void (*)(const Value&, WireWriter&);
using DecodeFn = Value (*)(WireReader&);
void register_codec(std::type_index type, const std::string& name, EncodeFn encode,
                    DecodeFn decode);

template <class U>
constexpr const char* arithmetic_name() {
  if constexpr (std::is_same_v<U, bool>)
    return "bool";
  else if constexpr (std::is_same_v<U, char>)
    return "char";
  else if constexpr (std::is_floating_point_v<U>)
    return sizeof(U) == 4 ? "f32" : sizeof(U) == 8 ? "f64" : "f128";
  else if constexpr (std::is_signed_v<U>)
    return sizeof(U) == 1 ? "i8" : sizeof(U) == 2 ? "i16" : sizeof(U) == 4 ? "i32" : "i64";
  else
    return sizeof(U) == 1 ? "u8" : sizeof(U) == 2 ? "u16" : sizeof(U) == 4 ? "u32" : "u64";
}
}  // namespace detail

/// Makes values of T transferable between ranks. Idempotent; call on every rank.
template <Serializable T>
void register_serializer() {
  detail::register_codec(
      typeid(T), std::string(Serializer<T>::name()),
      [](const Value& v, WireWriter& w) { Serializer<T>::write(v.get<T>(), w); },
      [](WireReader& r) { return Value::make<T>(Serializer<T>::read(r)); });
}

// --- built-in serializers ---------------------------------------------------------------------

template <class T>
requires std::is_arithmetic_v<T>
struct Serializer<T> {
  static std::string name() { return detail::arithmetic_name<T>(); }
  static void write(const T& v, WireWriter& w) { w.put(v); }
  static T read(WireReader& r) { return r.get<T>(); }
};

template <Serializable T>
struct Serializer<std::vector<T>> {
  static std::string name() { return "vector<" + std::string(Serializer<T>::name()) + ">"; }
  static void write(const std::vector<T>& v, WireWriter& w) {
    w.put<std::uint64_t>(v.size());
    for (const T& x : v) Serializer<T>::write(x, w);
  }
  static std::vector<T> read(WireReader& r) {
    std::vector<T> v(static_cast<std::size_t>(r.get<std::uint64_t>()));
    for (T& x : v) x = Serializer<T>::read(r);
    return v;
  }
};

template <>
struct Serializer<std::string> {
  static std::string name() { return "string"; }
  static void write(const std::string& v, WireWriter& w) {
    w.put_bytes(std::as_bytes(std::span(v.data(), v.size())));
  }
  static std::string read(WireReader& r) {
    const auto b = r.get_bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
};

template <>
struct Serializer<Block> {
  static std::string name() { return "tessera.Block"; }
  static void write(const Block& b, WireWriter& w);
  static Block read(WireReader& r);
};

}  // namespace tessera
