// from_hdf5 / to_hdf5 at 1-4 ranks: round trips over dtypes, shapes and chunkings; files
// written by h5py read by Tessera and the reverse (tests/io/numpy_peer.py); every bad input raised
// on every rank with one message; no file left at the target after a failure.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "io/file_test.hpp"
#include "tessera/io/hdf5.hpp"

namespace tessera {
namespace {

using Hdf5Test = FileTest;

TEST_F(Hdf5Test, RoundTripsEveryDtypeShapeAndChunking) {
  const auto cases = round_trip_cases();
  int k = 0;
  for (const auto& [shape, chunks] : cases) {
    for (const auto& file_chunks :
         {std::optional<ChunkSpec>(), std::optional<ChunkSpec>(ChunkSpec(3))}) {
      const std::vector<Array> arrays = {
          peer_values<double>(shape, chunks), peer_values<float>(shape, chunks),
          peer_values<std::int64_t>(shape, chunks), peer_values<std::int32_t>(shape, chunks),
          peer_values<bool>(shape, chunks), peer_values<std::uint8_t>(shape, chunks),
          peer_values<std::int16_t>(shape, chunks), peer_values<std::uint64_t>(shape, chunks)};
      const std::string p = path(fmt::format("case{}.h5", k++));
      std::vector<Hdf5Dataset> ds;
      for (std::size_t i = 0; i < arrays.size(); ++i)
        ds.push_back({fmt::format("g/d{}", i), arrays[i], {}});
      to_hdf5(p, ds, {.chunks = file_chunks, .compute = on_all()});
      for (std::size_t i = 0; i < arrays.size(); ++i) {
        SCOPED_TRACE(fmt::format("shape {} dataset {} file chunks {}", shape_string(shape), i,
                                 file_chunks.has_value()));
        expect_same(from_hdf5(p, ds[i].name, {.scheduler = &distributed()}), arrays[i]);
        expect_same(from_hdf5(p, ds[i].name, {.chunks = chunks, .scheduler = &distributed()}),
                    arrays[i]);
      }
    }
  }
  EXPECT_EQ(files().size(), static_cast<std::size_t>(k));  // no temporaries left
}

TEST_F(Hdf5Test, CompressedRoundTripsAtAnyChunking) {
  // File chunks that match the array's, that cut across them (3: every file chunk gathered from
  // pieces of several array chunks), and the default; each with gzip, shuffle, or both.
  const std::vector<Hdf5Compression> compressions = {
      {.gzip = 1, .shuffle = true}, {.gzip = 9}, {.shuffle = true}};
  int k = 0;
  for (const auto& [shape, chunks] : round_trip_cases()) {
    for (const auto& file_chunks : {std::optional<ChunkSpec>(), std::optional<ChunkSpec>(chunks),
                                    std::optional<ChunkSpec>(ChunkSpec(3))}) {
      const auto& compression = compressions[static_cast<std::size_t>(k) % compressions.size()];
      const std::vector<Array> arrays = {peer_values<double>(shape, chunks),
                                         peer_values<std::int32_t>(shape, chunks),
                                         peer_values<bool>(shape, chunks)};
      const std::string p = path(fmt::format("z{}.h5", k++));
      std::vector<Hdf5Dataset> ds;
      for (std::size_t i = 0; i < arrays.size(); ++i)
        ds.push_back({fmt::format("g/d{}", i), arrays[i], {}});
      to_hdf5(p, ds, {.chunks = file_chunks, .compression = compression, .compute = on_all()});
      for (std::size_t i = 0; i < arrays.size(); ++i) {
        SCOPED_TRACE(fmt::format("shape {} dataset {} case {}", shape_string(shape), i, k));
        expect_same(from_hdf5(p, ds[i].name, {.scheduler = &distributed()}), arrays[i]);
        expect_same(from_hdf5(p, ds[i].name, {.chunks = chunks, .scheduler = &distributed()}),
                    arrays[i]);
      }
      if (shape.empty() || shape_size(shape) == 0) continue;  // stored contiguous, unfiltered
      const auto listing = list_hdf5(p, "g/d0", &distributed());
      ASSERT_EQ(listing.size(), 1u);
      std::vector<std::string> filters;
      if (compression.shuffle) filters.emplace_back("shuffle");
      if (compression.gzip > 0) filters.emplace_back("deflate");
      EXPECT_THAT(listing[0].filters, ::testing::ElementsAreArray(filters));
      EXPECT_EQ(listing[0].chunks.size(), shape.size());
    }
  }
  // Compressible data is stored smaller.
  const Array ramp = peer_values<double>({400, 300}, ChunkSpec({100, 300}));
  to_hdf5(path("ramp.h5"), "x", ramp,
          {.compression = {.gzip = 4, .shuffle = true}, .compute = on_all()});
  const auto listing = list_hdf5(path("ramp.h5"), "x", &distributed());
  EXPECT_LT(listing[0].storage_bytes, ramp.nbytes() / 4);
  expect_same(from_hdf5(path("ramp.h5"), "x", {.scheduler = &distributed()}), ramp);
  EXPECT_THAT(error_of<value_error>([&] {
                to_hdf5(path("bad.h5"), "x", ramp,
                        {.compression = {.gzip = 10}, .compute = on_all()});
              }),
              ::testing::HasSubstr("gzip level 10 is not in 0-9"));
  EXPECT_EQ(files().size(), static_cast<std::size_t>(k) + 1);  // no temporaries left
}

TEST_F(Hdf5Test, ReadsFusedIntoReductionsAndCulled) {
  const Array x = peer_values<double>({300, 40}, ChunkSpec({50, 40}));
  to_hdf5(path("x.h5"), "x", x, {.chunks = ChunkSpec({25, 20}), .compute = on_all()});
  const Array y =
      from_hdf5(path("x.h5"), "x", {.chunks = ChunkSpec({50, 40}), .scheduler = &distributed()});
  // One task per chunk reads and reduces: no separate read tasks.
  const auto lg = ((y * 2 + 1).sum(0)).lower();
  std::size_t reads = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < lg.graph.size(); ++t)
    reads += lg.graph.label(t).starts_with("from_hdf5");
  EXPECT_EQ(reads, 0u);
  expect_same((y * 2 + 1).sum(0), (x * 2 + 1).sum(0));
  // x - x.mean(0): x is read again by the subtraction, never held whole between the two.
  const auto la = (y - y.mean(0)).lower();
  reads = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < la.graph.size(); ++t)
    reads += la.graph.label(t).starts_with("from_hdf5");
  EXPECT_EQ(reads, 0u);
  expect_same((y - y.mean(0)), (x - x.mean(0)));
  // x[::100] needs two of the six row chunks.
  const auto sliced = y[{Slice{0, std::nullopt, 100}}];
  const auto ls = sliced.lower();
  reads = 0;
  for (TaskId t = 0; static_cast<std::size_t>(t) < ls.graph.size(); ++t)
    reads += ls.graph.label(t).starts_with("from_hdf5");
  EXPECT_EQ(reads, 3u);  // rows 0, 100, 200: chunks 0, 2, 4
  expect_same(sliced, x[{Slice{0, std::nullopt, 100}}]);
}

TEST_F(Hdf5Test, ReadsWhatH5pyWrites) {
  ASSERT_EQ(peer("write " + dir), 0) << "tests/io/numpy_peer.py failed (python3-h5py installed?)";
  const std::string f = path("layouts.h5");
  auto read = [&](const std::string& ds, std::optional<ChunkSpec> chunks = {}) {
    return from_hdf5(f, ds, {.chunks = chunks, .scheduler = &distributed()});
  };
  expect_same(read("contiguous_f8"), peer_values<double>({37, 11}, ChunkSpec(-1)));
  expect_same(read("contiguous_f8", ChunkSpec({5, 4})),
              peer_values<double>({37, 11}, ChunkSpec(-1)));
  expect_same(read("chunked_f4"), peer_values<float>({40, 30}, ChunkSpec(-1)));
  expect_same(read("chunked_f4", ChunkSpec({9, 13})), peer_values<float>({40, 30}, ChunkSpec(-1)));
  expect_same(read("gzip_i8", ChunkSpec({3, 4, 3})),
              peer_values<std::int64_t>({25, 9, 4}, ChunkSpec(-1)));
  expect_same(read("big_endian_i4", ChunkSpec(7)), peer_values<std::int32_t>({50}, ChunkSpec(-1)));
  expect_same(read("big_endian_f8_chunked", ChunkSpec(5)),
              peer_values<double>({19, 6}, ChunkSpec(-1)));
  expect_same(read("/a/b/c/nested_i4"), peer_values<std::int32_t>({6, 5}, ChunkSpec(-1)));
  expect_same(read("flags", ChunkSpec(4)), peer_values<bool>({17}, ChunkSpec(-1)));
  expect_same(read("shuffled_f8", ChunkSpec({7, 7})), peer_values<double>({30, 20}, ChunkSpec(-1)));
  // Every integer type reads as its own dtype.
  expect_same(read("small_u1"), peer_values<std::uint8_t>({9, 4}, ChunkSpec(-1)));
  expect_same(read("small_i2", ChunkSpec({4, 3})), peer_values<std::int16_t>({9, 4}, ChunkSpec(-1)));
  expect_same(read("u4"), peer_values<std::uint32_t>({8}, ChunkSpec(-1)));
  expect_same(read("u8", ChunkSpec(3)), peer_values<std::uint64_t>({4}, ChunkSpec(-1)));
  EXPECT_EQ(read("scalar_f8").item<double>(on_all()), 2.5);
  EXPECT_EQ(read("empty_f8").shape(), (Shape{0, 3}));
  const Attributes attrs = read_hdf5_attributes(f, "/", &distributed());
  EXPECT_EQ(std::get<std::string>(attrs.at("title")), "made by h5py");
  EXPECT_EQ(std::get<std::int64_t>(attrs.at("version")), 3);
  EXPECT_EQ(std::get<std::vector<double>>(attrs.at("scale")), (std::vector<double>{0.5, 2.0}));
}

TEST_F(Hdf5Test, H5pyReadsWhatTesseraWrites) {
  const Array x = peer_values<double>({31, 17}, ChunkSpec({4, 5}));
  const std::vector<Hdf5Dataset> datasets = {
      {"x",
       x,
       {{"units", std::string("m/s")},
        {"scale", std::vector<double>{0.5, 2.0}},
        {"count", std::int64_t{7}}}},
      {"group/flags", peer_values<bool>({11, 3}, ChunkSpec({2, 2}))},
      {"group/n", peer_values<std::int32_t>({100}, ChunkSpec(9))}};
  const Attributes title = {{"title", std::string("made by tessera")}};
  to_hdf5(path("t.h5"), datasets,
          {.chunks = ChunkSpec(6), .file_attributes = title, .compute = on_all()});
  EXPECT_EQ(peer("check " + path("t.h5")), 0);
  // Compressed, in chunks that cut across the arrays' (6 against 4x5, 2x2 and 9).
  to_hdf5(path("tz.h5"), datasets,
          {.chunks = ChunkSpec(6),
           .compression = {.gzip = 4, .shuffle = true},
           .file_attributes = title,
           .compute = on_all()});
  EXPECT_EQ(peer("check_compressed " + path("tz.h5")), 0);
  std::vector<Hdf5Dataset> bare = datasets;
  bare[0].attributes.clear();
  to_hdf5(path("t.h5"), bare, {.overwrite = true, .compute = on_all()});
  EXPECT_NE(peer("check " + path("t.h5")), 0);  // contiguous now, and without the attributes
}

TEST_F(Hdf5Test, BadInputRaisesOneMessageOnEveryRank) {
  ASSERT_EQ(peer("write " + dir), 0);
  const std::string f = path("layouts.h5");
  const ComputeOptions all = on_all();
  auto read = [&](const std::string& p, const std::string& ds) {
    return from_hdf5(p, ds, {.scheduler = &distributed()});
  };
  EXPECT_THAT(
      error_of<io_error>([&] { read(path("missing.h5"), "x"); }),
      ::testing::AllOf(::testing::HasSubstr("missing.h5"), ::testing::HasSubstr("No such file")));
  EXPECT_THAT(error_of<io_error>([&] { read(f, "nope"); }),
              ::testing::HasSubstr("has no dataset 'nope'"));
  EXPECT_THAT(error_of<io_error>([&] { read(f, "a/zz/c"); }),
              ::testing::HasSubstr("has no dataset 'a/zz/c'"));
  EXPECT_THAT(error_of<io_error>([&] { read(f, "a/b"); }),
              ::testing::HasSubstr("is a group, not a dataset"));
  EXPECT_THAT(error_of<dtype_error>([&] { read(f, "compound"); }),
              ::testing::HasSubstr("compound"));
  EXPECT_THAT(error_of<dtype_error>([&] { read(f, "strings"); }), ::testing::HasSubstr("string"));
  if (distributed().rank() == 0) std::ofstream(path("text.h5")) << "not hdf5\n";
  EXPECT_THAT(error_of<io_error>([&] { read(path("text.h5"), "x"); }),
              ::testing::HasSubstr("is not an HDF5 file"));
  // A truncated file: its first half.
  if (distributed().rank() == 0) {
    fs::copy_file(f, path("cut.h5"));
    fs::resize_file(path("cut.h5"), fs::file_size(f) / 2);
  }
  gather_strings("");
  EXPECT_THAT(error_of<error>([&] {
                read(path("cut.h5"), "contiguous_f8").sum().item<double>(all);
                read(path("cut.h5"), "shuffled_f8").sum().item<double>(all);
              }),
              ::testing::AnyOf(::testing::HasSubstr("truncated"), ::testing::HasSubstr("cut.h5")));

  // Outputs: an existing file is kept; an unwritable place names itself; nothing is left.
  const Array x = peer_values<double>({10}, ChunkSpec(3));
  to_hdf5(path("out.h5"), "x", x, {.compute = all});
  const auto before = fs::file_size(path("out.h5"));
  EXPECT_THAT(error_of<io_error>([&] { to_hdf5(path("out.h5"), "x", x * 2, {.compute = all}); }),
              ::testing::HasSubstr("exists"));
  EXPECT_EQ(fs::file_size(path("out.h5")), before);
  EXPECT_THAT(
      error_of<io_error>([&] { to_hdf5(path("no/such/dir/o.h5"), "x", x, {.compute = all}); }),
      ::testing::HasSubstr("no/such/dir"));
  EXPECT_THAT(error_of<value_error>([&] {
                to_hdf5(path("o.h5"), {{"x", x}, {"x", x}}, {.compute = all});
              }),
              ::testing::HasSubstr("given twice"));
  const auto listing = files();
  for (const auto& name : listing) EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
}

TEST_F(Hdf5Test, AFailedComputeLeavesNoFileAndTheOldOneIntact) {
  const ComputeOptions all = on_all();
  to_hdf5(path("keep.h5"), "x", peer_values<double>({20}, ChunkSpec(5)), {.compute = all});
  const auto before = fs::file_size(path("keep.h5"));
  const Array bad = fromfunction<double>(
      [](index_t i) {
        if (i == 17) throw value_error("element 17 is bad");
        return static_cast<double>(i);
      },
      {20}, 5);
  for (int round = 0; round < 20; ++round) {
    EXPECT_THAT(error_of<error>([&] { to_hdf5(path("new.h5"), "x", bad, {.compute = all}); }),
                ::testing::HasSubstr("element 17 is bad"));
    EXPECT_THAT(error_of<error>([&] {
                  to_hdf5(path("keep.h5"), "x", bad, {.overwrite = true, .compute = all});
                }),
                ::testing::HasSubstr("element 17 is bad"));
  }
  gather_strings("");
  EXPECT_EQ(files(), (std::vector<std::string>{"keep.h5"}));
  EXPECT_EQ(fs::file_size(path("keep.h5")), before);
  expect_same(from_hdf5(path("keep.h5"), "x", {.scheduler = &distributed()}),
              peer_values<double>({20}, ChunkSpec(5)));
}

}  // namespace
}  // namespace tessera
