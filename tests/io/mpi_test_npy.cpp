// from_npy / to_npy / from_raw / to_raw at 1-4 ranks: round trips over dtypes, shapes and
// chunkings; files numpy.save wrote read by Tessera, and Tessera's read by numpy.load
// (tests/io/numpy_peer.py); bad input raised alike on every rank; no file left after a failure.

#include "io/file_test.hpp"
#include "tessera/io/npy.hpp"

namespace tessera {
namespace {

using NpyTest = FileTest;

FileReadOptions read_options(std::optional<ChunkSpec> chunks = {}) {
  return {.chunks = chunks, .scheduler = &distributed()};
}

TEST_F(NpyTest, RoundTripsEveryDtypeShapeAndChunking) {
  const auto cases = round_trip_cases();
  int k = 0;
  for (const auto& [shape, chunks] : cases) {
    const std::vector<Array> arrays = {
        peer_values<double>(shape, chunks), peer_values<float>(shape, chunks),
        peer_values<std::int64_t>(shape, chunks), peer_values<std::int32_t>(shape, chunks),
        peer_values<bool>(shape, chunks), peer_values<std::int8_t>(shape, chunks),
        peer_values<std::uint16_t>(shape, chunks), peer_values<std::uint64_t>(shape, chunks)};
    for (const Array& a : arrays) {
      SCOPED_TRACE(fmt::format("shape {} dtype {}", shape_string(shape), dtype_name(a.dtype())));
      const std::string npy = path(fmt::format("a{}.npy", k)),
                        raw = path(fmt::format("a{}.bin", k));
      ++k;
      to_npy(npy, a, {.compute = on_all()});
      to_raw(raw, a, {.compute = on_all()});
      expect_same(from_npy(npy, read_options()), a);
      expect_same(from_npy(npy, read_options(chunks)), a);
      expect_same(from_raw(raw, a.dtype(), shape, {.chunks = chunks, .scheduler = &distributed()}),
                  a);
      if (shape.size() == 2) {
        const std::string want = fmt::format("{},{}", shape[0], shape[1]);
        EXPECT_EQ(peer(fmt::format("check_npy {} {} {}", npy, want, dtype_name(a.dtype()))), 0);
      }
    }
  }
  EXPECT_EQ(files().size(), static_cast<std::size_t>(2 * k));  // no temporaries left
}

TEST_F(NpyTest, ReadsWhatNumpyWrites) {
  ASSERT_EQ(peer("write_npy " + dir), 0)
      << "tests/io/numpy_peer.py failed (python3-numpy installed?)";
  expect_same(from_npy(path("f8.npy"), read_options()), peer_values<double>({37, 11}, -1));
  expect_same(from_npy(path("f8.npy"), read_options(ChunkSpec({5, 4}))),
              peer_values<double>({37, 11}, -1));
  expect_same(from_npy(path("f4.npy"), read_options(ChunkSpec({2, 5, 3}))),
              peer_values<float>({5, 6, 7}, -1));
  expect_same(from_npy(path("big_i4.npy"), read_options(ChunkSpec(7))),
              peer_values<std::int32_t>({50}, -1));
  expect_same(from_npy(path("big_f8.npy"), read_options(ChunkSpec(4))),
              peer_values<double>({9, 8}, -1));
  expect_same(from_npy(path("i8.npy"), read_options(ChunkSpec(4))),
              peer_values<std::int64_t>({13}, -1));
  expect_same(from_npy(path("bool.npy"), read_options(ChunkSpec({5, 1}))),
              peer_values<bool>({17, 2}, -1));
  expect_same(from_npy(path("u2.npy"), read_options(ChunkSpec(3))),
              peer_values<std::uint16_t>({4}, -1));
  expect_same(from_npy(path("i1.npy"), read_options(ChunkSpec({4, 2}))),
              peer_values<std::int8_t>({9, 5}, -1));
  expect_same(from_npy(path("big_u4.npy"), read_options(ChunkSpec(5))),
              peer_values<std::uint32_t>({12}, -1));
  expect_same(from_npy(path("u8.npy"), read_options(ChunkSpec(2))),
              peer_values<std::uint64_t>({7}, -1));
  EXPECT_EQ(from_npy(path("scalar.npy"), read_options()).item<double>(on_all()), 2.5);
  EXPECT_EQ(from_npy(path("empty.npy"), read_options()).shape(), (Shape{0, 4}));
  expect_same(from_raw(path("raw.bin"), DType::Float64, {20, 3},
                       {.chunks = ChunkSpec(7), .scheduler = &distributed()}),
              peer_values<double>({20, 3}, -1));
  // A header to skip: the last 10 rows only.
  expect_same(from_raw(path("raw.bin"), DType::Float64, {10, 3},
                       {.offset = 10 * 3 * 8, .scheduler = &distributed()}),
              peer_values<double>({20, 3}, -1)[{Slice{10, std::nullopt}}]);
  // Fused and culled like any source.
  const Array x = from_npy(path("f8.npy"), read_options(ChunkSpec({5, 11})));
  expect_same((x - x.mean(0)).sum(1),
              (peer_values<double>({37, 11}, 5) - peer_values<double>({37, 11}, 5).mean(0)).sum(1));
}

TEST_F(NpyTest, BadInputRaisesOneMessageOnEveryRank) {
  ASSERT_EQ(peer("write_npy " + dir), 0);
  EXPECT_THAT(
      error_of<io_error>([&] { from_npy(path("missing.npy"), read_options()); }),
      ::testing::AllOf(::testing::HasSubstr("missing.npy"), ::testing::HasSubstr("No such file")));
  EXPECT_THAT(error_of<value_error>([&] { from_npy(path("fortran.npy"), read_options()); }),
              ::testing::HasSubstr("Fortran order"));
  EXPECT_THAT(error_of<dtype_error>([&] { from_npy(path("f2.npy"), read_options()); }),
              ::testing::HasSubstr("<f2"));
  EXPECT_THAT(error_of<io_error>([&] { from_npy(path("raw.bin"), read_options()); }),
              ::testing::HasSubstr("not a .npy file"));
  if (distributed().rank() == 0) {
    fs::copy_file(path("f8.npy"), path("cut.npy"));
    fs::resize_file(path("cut.npy"), fs::file_size(path("f8.npy")) - 8);
  }
  gather_strings("");
  EXPECT_THAT(error_of<io_error>([&] { from_npy(path("cut.npy"), read_options()); }),
              ::testing::HasSubstr("truncated"));
  EXPECT_THAT(error_of<io_error>([&] {
                from_raw(path("raw.bin"), DType::Float64, {21, 3}, {.scheduler = &distributed()});
              }),
              ::testing::HasSubstr("too few"));
  const Array a = peer_values<double>({10}, 3);
  to_npy(path("out.npy"), a, {.compute = on_all()});
  EXPECT_THAT(error_of<io_error>([&] { to_npy(path("out.npy"), a, {.compute = on_all()}); }),
              ::testing::HasSubstr("exists"));
  EXPECT_THAT(error_of<io_error>([&] { to_npy(path("nodir/x.npy"), a, {.compute = on_all()}); }),
              ::testing::HasSubstr("nodir"));
  // A file that disappears between building the array and computing it fails the compute.
  if (distributed().rank() == 0) fs::copy_file(path("f8.npy"), path("gone.npy"));
  gather_strings("");
  const Array g = from_npy(path("gone.npy"), read_options(ChunkSpec({5, 11})));
  gather_strings("");
  if (distributed().rank() == 0) fs::remove(path("gone.npy"));
  gather_strings("");
  EXPECT_THAT(error_of<error>([&] { g.sum().item<double>(on_all()); }),
              ::testing::HasSubstr("gone.npy"));
  for (int round = 0; round < 20; ++round) {
    EXPECT_THAT(error_of<error>([&] { to_npy(path("g.npy"), g * 2, {.compute = on_all()}); }),
                ::testing::HasSubstr("gone.npy"));
  }
  gather_strings("");
  for (const auto& name : files()) EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(path("g.npy")));
}

}  // namespace
}  // namespace tessera
