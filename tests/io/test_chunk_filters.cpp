// HDF5's shuffle and deflate filters as Tessera applies them (src/io/chunk_filters.hpp): round
// trips for every element size and pipeline, incompressible chunks stored as they are (HDF5's
// filter mask), and corrupt or short chunks rejected with a message. That the bytes are HDF5's
// own is checked against h5py in tests/io/mpi_test_hdf5.cpp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "io/chunk_filters.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {
namespace {

std::vector<std::byte> ramp(std::size_t n, std::size_t itemsize) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>((i % itemsize == 0) ? (i / itemsize) % 7 : 0);
  return v;
}

std::vector<std::byte> noise(std::size_t n) {
  std::mt19937_64 gen(42);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(gen());
  return v;
}

TEST(ChunkFilters, RoundTripEveryElementSizeAndPipeline) {
  for (std::size_t itemsize : {1, 2, 4, 8}) {
    for (const ChunkFilters f : {ChunkFilters{true, -1}, ChunkFilters{false, 1},
                                 ChunkFilters{true, 6}, ChunkFilters{false, 0}}) {
      for (std::size_t n : {itemsize, itemsize * 1000, itemsize * 4099}) {
        SCOPED_TRACE(::testing::Message() << "itemsize " << itemsize << " shuffle " << f.shuffle
                                          << " level " << f.deflate_level << " n " << n);
        const auto data = ramp(n, itemsize);
        const EncodedChunk e = encode_chunk(data.data(), n, itemsize, f);
        if (f.deflate_level > 0 && n > 1000) {
          EXPECT_LT(e.size, n / 4);
        }
        std::vector<std::byte> back(n);
        decode_chunk(e.view(), back.data(), n, itemsize, f, e.skipped, "chunk");
        EXPECT_EQ(back, data);
      }
    }
  }
}

TEST(ChunkFilters, IncompressibleChunksAreStoredAsTheyAreAndMarkedSkipped) {
  const auto data = noise(8000);
  for (const ChunkFilters f : {ChunkFilters{false, 9}, ChunkFilters{true, 1}}) {
    const EncodedChunk e = encode_chunk(data.data(), data.size(), 8, f);
    EXPECT_EQ(e.size, data.size());
    EXPECT_EQ(e.skipped, f.shuffle ? 2u : 1u);  // the deflate filter's bit
    std::vector<std::byte> back(data.size());
    decode_chunk(e.view(), back.data(), back.size(), 8, f, e.skipped, "chunk");
    EXPECT_EQ(back, data);
  }
}

TEST(ChunkFilters, CorruptOrShortChunksRaiseNamingTheChunk) {
  const auto data = ramp(8000, 8);
  const ChunkFilters f{true, 4};
  EncodedChunk e = encode_chunk(data.data(), data.size(), 8, f);
  std::vector<std::byte> bytes(e.view().begin(), e.view().end());
  bytes[bytes.size() / 2] ^= std::byte{0x5a};
  bytes[bytes.size() / 3] ^= std::byte{0xa5};
  std::vector<std::byte> back(data.size());
  try {
    decode_chunk(bytes, back.data(), back.size(), 8, f, 0, "dataset 'x' of 'f.h5'");
    ADD_FAILURE() << "a corrupt chunk decoded";
  } catch (const io_error& err) {
    EXPECT_THAT(err.what(), ::testing::HasSubstr("dataset 'x' of 'f.h5'"));
    EXPECT_THAT(err.what(), ::testing::HasSubstr("corrupt"));
  }
  EXPECT_THROW(decode_chunk(std::span(data.data(), 100), back.data(), back.size(), 8,
                            ChunkFilters{}, 0, "chunk"),
               io_error);
}

}  // namespace
}  // namespace tessera::detail
