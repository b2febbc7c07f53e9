#include "array/local_description.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <utility>

#include "tessera/core/error.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera::detail {

namespace {

std::vector<std::byte> take_header(WireWriter& w) { return std::move(w.header()); }

/// Runs `read` on a reader over `bytes`, requires it to consume them exactly, and turns any
/// error of the reader into one value_error that names the call and the sending rank.
template <class Read>
auto decode_exactly(std::span<const std::byte> bytes, int rank, const char* call, Read read) {
  try {
    WireReader r(bytes, {});
    auto d = read(r);
    if (r.remaining() != 0) {
      throw value_error(fmt::format("{} bytes past its end", r.remaining()));
    }
    return d;
  } catch (const error& e) {
    throw value_error(fmt::format("{}: rank {} sent a malformed description ({} bytes): {}", call,
                                  rank, bytes.size(), e.what()));
  }
}

}  // namespace

std::vector<std::byte> encode_description(const BlockDescription& d) {
  WireWriter w;
  w.put(static_cast<std::uint8_t>(d.dtype));
  w.write(d.offset);
  w.write(d.shape);
  w.write(d.problem);
  return take_header(w);
}

std::vector<std::byte> encode_description(const RegionDescription& d) {
  WireWriter w;
  w.write(d.offset);
  w.write(d.shape);
  w.write(d.problem);
  return take_header(w);
}

BlockDescription decode_block_description(std::span<const std::byte> bytes, int rank) {
  return decode_exactly(bytes, rank, "from_local", [](WireReader& r) {
    BlockDescription d;
    d.dtype = static_cast<DType>(r.get<std::uint8_t>());
    visit_dtype(d.dtype, []<class T>() {});  // dtype_error for a value no DType has
    d.offset = r.read<Shape>();
    d.shape = r.read<Shape>();
    d.problem = r.read<std::string>();
    for (index_t e : d.shape) {
      if (e < 0) throw value_error(fmt::format("block shape {}", shape_string(d.shape)));
    }
    return d;
  });
}

RegionDescription decode_region_description(std::span<const std::byte> bytes, int rank) {
  return decode_exactly(bytes, rank, "to_local", [](WireReader& r) {
    RegionDescription d;
    d.offset = r.read<Shape>();
    d.shape = r.read<Shape>();
    d.problem = r.read<std::string>();
    return d;
  });
}

}  // namespace tessera::detail
