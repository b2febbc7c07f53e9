#pragma once
// An array whose values are read from a file: a source node that reads a whole region (a
// chunk's hyperslab) per call, so that fused evaluation reads each chunk once and consumes it
// in place (src/graph/fused_program.cpp). The reader opens the file lazily, on the rank and
// thread that first reads, and is shared by every task of the array.

#include <memory>
#include <string>

#include "io/chunk_filters.hpp"
#include "io/flat_layout.hpp"
#include "tessera/graph/expr.hpp"

namespace tessera::detail {

class RegionReader {
 public:
  virtual ~RegionReader() = default;
  /// Reads region [start, start + count) into `out` (row-major, native byte order). Thread-safe.
  virtual void read(void* out, const Shape& start, const Shape& count) const = 0;
};

/// Reads a FlatLayout (raw, .npy, contiguous HDF5) with positioned reads, from many threads at
/// once.
class FlatReader final : public RegionReader {
 public:
  FlatReader(std::string path, FlatLayout layout)
      : m_file(std::move(path), PosixFile::Mode::read), m_layout(std::move(layout)) {}
  void read(void* out, const Shape& start, const Shape& count) const override;

 private:
  mutable LazyFile m_file;
  FlatLayout m_layout;
};

/// Where each chunk of a chunked HDF5 dataset lies in the file, row-major over its chunk grid,
/// and the filters its bytes went through (sizes and masks only when there are filters).
struct StoredChunks {
  std::vector<std::uint64_t> addresses;
  std::vector<std::uint64_t> sizes;
  std::vector<unsigned> skipped;  ///< HDF5's per-chunk filter masks
  ChunkFilters filters;

  void write(WireWriter& w) const;
  static StoredChunks read(WireReader& r);
};

/// Reads a chunked dataset (HDF5's chunked layout) without the HDF5 library: every chunk is a
/// full-size row-major block at its own offset, maybe shuffled and deflated. Each file chunk a
/// region touches is read whole with one positioned read and decoded (straight into the output
/// when it is exactly the region), and its part copied out; from many threads at once, so that
/// decompression runs in parallel.
class ChunkedReader final : public RegionReader {
 public:
  ChunkedReader(std::string path, std::string what, Shape shape, Shape chunk, std::size_t itemsize,
                bool swapped, StoredChunks chunks);
  void read(void* out, const Shape& start, const Shape& count) const override;

 private:
  /// Reads chunk `linear` (decoded) into `out`, which holds the chunk's whole bytes.
  void read_chunk(std::size_t linear, void* out) const;

  std::string m_what;
  Shape m_shape, m_chunk;
  std::size_t m_itemsize;
  bool m_swapped;
  StoredChunks m_chunks;
  mutable LazyFile m_file;
};

class FileSource final : public SourceExpr {
 public:
  /// `identity` hashes what names the data (format, path, dataset, the file's size and time),
  /// the same on every rank; `name` is the operation's name ("from_hdf5").
  FileSource(Shape shape, ChunkGrid chunks, DType dtype, Token identity, std::string_view name,
             std::shared_ptr<const RegionReader> reader);
  std::string_view op_name() const override { return m_name; }
  bool reads_regions() const noexcept override { return true; }
  void fill_region(void* out, const Shape& start, const Shape& count) const override;
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  std::string m_name;
  std::shared_ptr<const RegionReader> m_reader;
};

/// The default chunks of an array read from a file: the file's own chunks (`file_chunks`, empty
/// for a contiguous layout) as they are when they hold kKeepFileChunkBytes or more, else
/// multiplied up to about `target` bytes, axis by axis; for a contiguous layout, blocks of whole
/// rows of about `target` bytes (each one contiguous run in the file).
inline constexpr std::size_t kKeepFileChunkBytes = std::size_t{4} << 20;
ChunkGrid default_file_chunks(const Shape& shape, DType dtype, const Shape& file_chunks,
                              std::size_t target);

}  // namespace tessera::detail
