#pragma once
// What the file tests share: a directory every rank sees, the NumPy/h5py peer script
// (numpy_peer.py), its formula for values, and the check that an error is raised alike on
// every rank.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/test_support.hpp"

namespace tessera {

namespace fs = std::filesystem;
using testing::distributed;
using testing::gather_strings;

/// A directory shared by every rank (rank 0 names it), removed at the end of the test.
class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name;
    if (distributed().rank() == 0) {
      name = (fs::temp_directory_path() /
              fmt::format("tessera-io-{}-{}", ::getpid(),
                          ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                 .string();
      fs::create_directories(name);
    }
    dir = gather_strings(name)[0];
  }
  void TearDown() override {
    gather_strings("");  // every rank is done with the files
    if (distributed().rank() == 0) fs::remove_all(dir);
  }
  std::string path(const std::string& name) const { return dir + "/" + name; }
  /// The files in the directory (to check that no temporary is left behind).
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  /// Runs the h5py peer on rank 0; every rank gets its exit status.
  int peer(const std::string& args) {
    int status = 0;
    if (distributed().rank() == 0) {
      const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
      status = std::system(
          fmt::format("{} {}/io/numpy_peer.py {}", python, TESSERA_TESTS_DIR, args).c_str());
    }
    return std::stoi(gather_strings(std::to_string(status))[0]);
  }
  std::string dir;
};

/// Shapes and chunkings every round trip covers: uneven chunks, one chunk, size 1, a size-0 axis,
/// a size-1 axis, 0-d, and an explicit irregular grid.
inline std::vector<std::pair<Shape, ChunkSpec>> round_trip_cases() {
  return {{{13, 7}, ChunkSpec({4, 3})},
          {{13, 7}, ChunkSpec(-1)},
          {{1}, ChunkSpec(1)},
          {{0, 5}, ChunkSpec({1, 2})},
          {{5, 1, 4}, ChunkSpec({2, 1, 3})},
          {{}, ChunkSpec(-1)},
          {{23}, ChunkSpec(std::vector<AxisChunks>{std::vector<index_t>{1, 10, 2, 10}})}};
}

inline ComputeOptions on_all() { return {.scheduler = &distributed()}; }

/// The peer's formula: a function of the flat index, for each dtype.
template <class T>
Array peer_values(const Shape& shape, const ChunkSpec& chunks) {
  auto flat = [shape](std::span<const index_t> idx) {
    index_t f = 0;
    for (std::size_t a = 0; a < shape.size(); ++a) f = f * shape[a] + idx[a];
    return f;
  };
  if constexpr (std::is_floating_point_v<T>) {
    return fromfunction<T>(
        [flat](std::span<const index_t> i) { return static_cast<double>(flat(i)) * 0.5 - 3.0; },
        shape, chunks);
  } else if constexpr (std::is_same_v<T, bool>) {
    return fromfunction<T>([flat](std::span<const index_t> i) { return flat(i) % 3 == 0; }, shape,
                           chunks);
  } else {
    // numpy_peer.py's values(): signed integers go negative, unsigned ones do not.
    constexpr index_t shift = std::is_signed_v<T> ? 100 : 0;
    return fromfunction<T>(
        [flat](std::span<const index_t> i) { return (flat(i) * 7) % 251 - shift; }, shape, chunks);
  }
}

/// Both arrays computed on every rank are equal element for element (and in dtype and shape).
inline void expect_same(const Array& got, const Array& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  const Block g = got.compute_block(on_all()), w = want.compute_block(on_all());
  ASSERT_EQ(g.nbytes(), w.nbytes());
  EXPECT_EQ(std::memcmp(g.data(), w.data(), g.nbytes()), 0) << got.name() << " differs";
}

/// Runs `f` on every rank and returns the message it threw (the same on every rank, checked).
template <class E, class F>
std::string error_of(F&& f) {
  std::string message = "(nothing thrown)";
  try {
    f();
  } catch (const E& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = fmt::format("(wrong exception type) {}", e.what());
  }
  const auto all = gather_strings(message);
  for (const auto& m : all) EXPECT_EQ(m, all[0]) << "ranks raised different messages";
  return message;
}

}  // namespace tessera
