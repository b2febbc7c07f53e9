#include "tessera/core/serialize.hpp"

#include "tessera/core/type_name.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace tessera {

namespace {

/// Stable across ranks and processes: a hash of the registered name.
std::uint64_t type_id(const std::string& name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

struct Codec {
  std::type_index type;
  std::uint64_t id;
  std::string name;
  detail::EncodeFn encode;
  detail::DecodeFn decode;
};

class Registry {
 public:
  Registry() {
    add<bool>();
    add<std::int32_t>();
    add<std::int64_t>();
    add<std::uint64_t>();
    add<float>();
    add<double>();
    add<std::string>();
    add<Block>();
    add<std::vector<std::int64_t>>();
    add<std::vector<double>>();
    add<xt::xarray<bool>>();
    add<xt::xarray<std::int32_t>>();
    add<xt::xarray<std::int64_t>>();
    add<xt::xarray<float>>();
    add<xt::xarray<double>>();
  }
  void insert(std::type_index type, const std::string& name, detail::EncodeFn e,
              detail::DecodeFn d) {
    std::lock_guard lock(m_mutex);
    const std::uint64_t id = type_id(name);
    if (auto it = m_by_id.find(id); it != m_by_id.end()) {
      // A receiver finds the type by the name's hash: one name, one type, on every rank.
      if (it->second.name != name) {
        throw value_error(fmt::format("serializer names '{}' and '{}' collide (equal hashes)", name,
                                      it->second.name));
      }
      if (it->second.type != type) {
        throw value_error(fmt::format(
            "serializer name '{}' is taken by {}, so {} cannot have it: give each type its own "
            "Serializer<T>::name()",
            name, detail::readable_type_name(it->second.type.name()),
            detail::readable_type_name(type.name())));
      }
    }
    Codec c{type, id, name, e, d};
    m_by_type.insert_or_assign(type, c);
    m_by_id.insert_or_assign(id, c);
  }
  Codec by_type(const std::type_info& t) const {
    std::lock_guard lock(m_mutex);
    auto it = m_by_type.find(t);
    if (it == m_by_type.end()) {
      throw dtype_error(fmt::format(
          "values of type {} cannot cross ranks: no tessera::Serializer is registered for it "
          "(specialise tessera::Serializer<T> and call tessera::register_serializer<T>() on "
          "every rank)",
          detail::readable_type_name(t)));
    }
    return it->second;
  }
  Codec by_id(std::uint64_t id) const {
    std::lock_guard lock(m_mutex);
    auto it = m_by_id.find(id);
    if (it == m_by_id.end())
      throw dtype_error(fmt::format(
          "received a value of unregistered type id {:016x}: call register_serializer<T>() on "
          "every rank, not only on those that send it",
          id));
    return it->second;
  }

 private:
  template <class T>
  void add() {
    insert(
        typeid(T), std::string(Serializer<T>::name()),
        [](const Value& v, WireWriter& w) { Serializer<T>::write(v.get<T>(), w); },
        [](WireReader& r) { return Value::make<T>(Serializer<T>::read(r)); });
  }
  mutable std::mutex m_mutex;
  std::unordered_map<std::type_index, Codec> m_by_type;
  std::unordered_map<std::uint64_t, Codec> m_by_id;
};

Registry& registry() {
  static Registry r;
  return r;
}

// Header layout: [u64 type id][u32 segment count][u64 size per segment][type's own header].
constexpr std::size_t prefix_bytes(std::size_t segments) { return 8 + 4 + 8 * segments; }

}  // namespace

namespace detail {
void register_codec(std::type_index type, const std::string& name, EncodeFn encode,
                    DecodeFn decode) {
  registry().insert(type, name, encode, decode);
}

void throw_rank_mismatch(std::size_t expected, std::uint32_t received) {
  throw value_error(fmt::format(
      "malformed value: an xt::xtensor of rank {} was received with rank {}", expected, received));
}

void throw_too_many_dimensions(std::uint32_t received) {
  throw value_error(fmt::format(
      "malformed value: an xtensor container of {} dimensions, more than its header holds",
      received));
}
}  // namespace detail

Segment WireReader::segment() {
  if (m_next_segment >= m_segments.size())
    throw value_error("malformed value: fewer segments than its header reads");
  return m_segments[m_next_segment++];
}

std::span<const std::byte> WireReader::take(std::size_t n) {
  // Not m_pos + n > size: a malformed length near 2^64 would wrap around and pass.
  if (n > m_header.size() - m_pos) {
    throw value_error(
        fmt::format("malformed value: header of {} bytes read past its end", m_header.size()));
  }
  auto s = m_header.subspan(m_pos, n);
  m_pos += n;
  return s;
}

WireValue encode(const Value& v) {
  if (v.empty()) throw value_error("cannot encode an empty Value");
  const Codec c = registry().by_type(*v.type());
  WireWriter w;
  c.encode(v, w);
  const auto& segs = w.segments();
  WireWriter prefix;
  prefix.put<std::uint64_t>(c.id);
  prefix.put<std::uint32_t>(static_cast<std::uint32_t>(segs.size()));
  for (const auto& seg : segs) prefix.put<std::uint64_t>(seg.size());
  WireValue out;
  out.header = std::move(prefix.header());
  out.header.insert(out.header.end(), w.header().begin(), w.header().end());
  out.segments = std::move(w.segments());
  return out;
}

namespace {
/// Reads the prefix (type id, segment sizes) of an encoded header; value_error when it is cut
/// short or claims more segments than its bytes hold.
std::vector<std::size_t> read_prefix(WireReader& r, std::uint64_t& id) {
  id = r.get<std::uint64_t>();
  const auto n = r.get<std::uint32_t>();
  if (n > r.remaining() / 8) {
    throw value_error(fmt::format("malformed value header: {} segments claimed", n));
  }
  std::vector<std::size_t> sizes(n);
  for (auto& size : sizes) size = static_cast<std::size_t>(r.get<std::uint64_t>());
  return sizes;
}
}  // namespace

std::vector<std::size_t> segment_sizes(std::span<const std::byte> header) {
  WireReader r(header, {});
  std::uint64_t id;
  return read_prefix(r, id);
}

Segment allocate_segment(std::size_t size) {
  // The same buffers as Block's: a received chunk is adopted by a Block as it is.
  std::shared_ptr<void> buffer = detail::allocate_buffer(size);
  auto* data = static_cast<std::byte*>(buffer.get());
  return Segment{std::move(buffer), data, size};
}

Value decode(std::span<const std::byte> header, std::vector<Segment> segments) {
  WireReader prefix(header, {});
  std::uint64_t id;
  const auto sizes = read_prefix(prefix, id);
  const Codec c = registry().by_id(id);
  WireReader r(header.subspan(prefix_bytes(sizes.size())), std::move(segments));
  return c.decode(r);
}

void Serializer<std::string>::write(const std::string& v, WireWriter& w) {
  w.put_bytes(std::as_bytes(std::span(v.data(), v.size())));
}

std::string Serializer<std::string>::read(WireReader& r) {
  const auto b = r.get_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

void Serializer<Block>::write(const Block& b, WireWriter& w) {
  w.put(static_cast<std::uint8_t>(b.dtype()));
  w.put(static_cast<std::uint32_t>(b.ndim()));
  for (index_t e : b.shape()) w.put(e);
  w.segment(std::span(static_cast<const std::byte*>(b.data()), b.nbytes()));
}

Block Serializer<Block>::read(WireReader& r) {
  const auto dtype = static_cast<DType>(r.get<std::uint8_t>());
  const auto nd = r.get<std::uint32_t>();
  // A malformed rank must not allocate gigabytes before the reads past the end fail.
  if (nd > r.remaining() / sizeof(index_t)) {
    throw value_error(
        fmt::format("malformed value: a block of {} dimensions, more than its header holds", nd));
  }
  Shape shape(nd);
  for (auto& e : shape) e = r.get<index_t>();
  Segment s = r.segment();
  Block b = Block::adopt(dtype, std::move(shape), s.data, s.owner);
  if (b.nbytes() != s.size) {
    throw value_error(
        fmt::format("received block of shape {} with {} bytes", shape_string(b.shape()), s.size));
  }
  return b;
}

}  // namespace tessera
