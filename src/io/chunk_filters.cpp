#include "io/chunk_filters.hpp"

#include <fmt/format.h>
#include <libdeflate.h>

#include <array>
#include <cstring>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera::detail {
namespace {

/// One compressor per level and one decompressor per thread: libdeflate's objects are not
/// thread-safe, and allocating one per chunk costs more than small chunks take to compress.
libdeflate_compressor* compressor(int level) {
  struct Compressors {
    std::array<libdeflate_compressor*, 13> at{};
    ~Compressors() {
      for (auto* c : at) libdeflate_free_compressor(c);
    }
  };
  thread_local Compressors cs;
  auto*& c = cs.at.at(static_cast<std::size_t>(level));
  if (c == nullptr) c = libdeflate_alloc_compressor(level);
  if (c == nullptr) throw std::bad_alloc();
  return c;
}

libdeflate_decompressor* decompressor() {
  struct Decompressor {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    ~Decompressor() { libdeflate_free_decompressor(d); }
  };
  thread_local Decompressor d;
  if (d.d == nullptr) throw std::bad_alloc();
  return d.d;
}

/// HDF5's shuffle: byte j of element i goes to position j * count + i (the bytes of each
/// significance together, which deflate compresses better). The element size is a template
/// parameter for the common sizes, so that the compiler unrolls the inner loop.
template <std::size_t S>
void shuffle_as(const std::byte* in, std::byte* out, std::size_t count, std::size_t itemsize,
                bool forward) {
  const std::size_t s = S ? S : itemsize;
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t j = 0; j < s; ++j) {
      if (forward) {
        out[j * count + i] = in[i * s + j];
      } else {
        out[i * s + j] = in[j * count + i];
      }
    }
}

void shuffle(const std::byte* in, std::byte* out, std::size_t n, std::size_t itemsize,
             bool forward) {
  const std::size_t count = n / itemsize;
  switch (itemsize) {
    case 2:
      shuffle_as<2>(in, out, count, itemsize, forward);
      break;
    case 4:
      shuffle_as<4>(in, out, count, itemsize, forward);
      break;
    case 8:
      shuffle_as<8>(in, out, count, itemsize, forward);
      break;
    default:
      shuffle_as<0>(in, out, count, itemsize, forward);
  }
  // Bytes past the last whole element stay where they are (HDF5 does the same).
  std::memcpy(out + count * itemsize, in + count * itemsize, n - count * itemsize);
}

std::shared_ptr<std::byte[]> buffer(std::size_t n) {
  return std::shared_ptr<std::byte[]>(new std::byte[std::max<std::size_t>(n, 1)]);
}

}  // namespace

EncodedChunk encode_chunk(const void* data, std::size_t n, std::size_t itemsize,
                          const ChunkFilters& filters) {
  const auto* in = static_cast<const std::byte*>(data);
  const bool shuffles = filters.shuffle && itemsize > 1;  // HDF5 skips a 1-byte shuffle
  EncodedChunk out;
  std::shared_ptr<std::byte[]> shuffled;
  if (shuffles) {
    shuffled = buffer(n);
    shuffle(in, shuffled.get(), n, itemsize, true);
    in = shuffled.get();
  }
  if (filters.deflate_level >= 0) {
    libdeflate_compressor* c = compressor(filters.deflate_level);
    // HDF5's deflate stores a chunk that does not get smaller as it is, and marks it skipped.
    auto packed = buffer(n);
    const std::size_t size = libdeflate_zlib_compress(c, in, n, packed.get(), n);
    if (size > 0 && size < n) {
      out.bytes = std::move(packed);
      out.size = size;
      return out;
    }
    out.skipped |= 1u << (filters.shuffle ? 1 : 0);
  }
  out.bytes = shuffles ? std::move(shuffled) : buffer(n);
  if (!shuffles) std::memcpy(out.bytes.get(), in, n);
  out.size = n;
  return out;
}

void decode_chunk(std::span<const std::byte> encoded, void* out, std::size_t n,
                  std::size_t itemsize, const ChunkFilters& filters, unsigned skipped,
                  const std::string& what) {
  const unsigned deflate_bit = 1u << (filters.shuffle ? 1 : 0);
  const bool inflates = filters.deflate_level >= 0 && (skipped & deflate_bit) == 0;
  const bool unshuffles = filters.shuffle && itemsize > 1 && (skipped & 1u) == 0;
  // Inflate into a per-thread scratch buffer when the shuffle still has to be undone.
  thread_local std::vector<std::byte> scratch;
  std::byte* stage = static_cast<std::byte*>(out);
  if (unshuffles) {
    if (scratch.size() < n) scratch.resize(n);
    stage = scratch.data();
  }
  if (inflates) {
    std::size_t got = 0;
    const auto r =
        libdeflate_zlib_decompress(decompressor(), encoded.data(), encoded.size(), stage, n, &got);
    if (r != LIBDEFLATE_SUCCESS || got != n) {
      throw io_error(
          fmt::format("{}: the compressed chunk is corrupt ({} bytes do not inflate "
                      "to the chunk's {} bytes)",
                      what, encoded.size(), n));
    }
  } else {
    if (encoded.size() != n) {
      throw io_error(fmt::format("{}: the stored chunk has {} bytes, not the chunk's {}", what,
                                 encoded.size(), n));
    }
    std::memcpy(stage, encoded.data(), n);
  }
  if (unshuffles) shuffle(stage, static_cast<std::byte*>(out), n, itemsize, false);
}

}  // namespace tessera::detail
