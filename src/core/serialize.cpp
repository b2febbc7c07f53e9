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
}  // namespace detail

Segment WireReader::segment() {
  if (m_next_segment >= m_segments.size())
    throw value_error("malformed value: fewer segments than its header reads");
  return m_segments[m_next_segment++];
}

std::span<const std::byte> WireReader::take(std::size_t n) {
  if (m_pos + n > m_header.size()) {
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
  WireValue out;
  const auto& segs = w.segments();
  out.header.resize(prefix_bytes(segs.size()));
  std::byte* p = out.header.data();
  std::memcpy(p, &c.id, 8);
  const auto n = static_cast<std::uint32_t>(segs.size());
  std::memcpy(p + 8, &n, 4);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::uint64_t size = segs[i].size();
    std::memcpy(p + 12 + 8 * i, &size, 8);
  }
  out.header.insert(out.header.end(), w.header().begin(), w.header().end());
  out.segments = std::move(w.segments());
  return out;
}

std::vector<std::size_t> segment_sizes(std::span<const std::byte> header) {
  if (header.size() < prefix_bytes(0)) throw value_error("malformed value header");
  std::uint32_t n;
  std::memcpy(&n, header.data() + 8, 4);
  if (header.size() < prefix_bytes(n)) throw value_error("malformed value header");
  std::vector<std::size_t> sizes(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t s;
    std::memcpy(&s, header.data() + 12 + 8 * i, 8);
    sizes[i] = static_cast<std::size_t>(s);
  }
  return sizes;
}

Segment allocate_segment(std::size_t size) {
  // The same buffers as Block's: a received chunk is adopted by a Block as it is.
  std::shared_ptr<void> buffer = detail::allocate_buffer(size);
  auto* data = static_cast<std::byte*>(buffer.get());
  return Segment{std::move(buffer), data, size};
}

Value decode(std::span<const std::byte> header, std::vector<Segment> segments) {
  const auto sizes = segment_sizes(header);
  std::uint64_t id;
  std::memcpy(&id, header.data(), 8);
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
