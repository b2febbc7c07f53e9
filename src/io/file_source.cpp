#include "io/file_source.hpp"

#include <algorithm>

#include "exec/bytes_read.hpp"
#include "tessera/core/block.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera::detail {

void FlatReader::read(void* out, const Shape& start, const Shape& count) const {
  read_region(m_file.get(), m_layout, out, start, count);
}

void StoredChunks::write(WireWriter& w) const {
  w.write(addresses);
  w.write(sizes);
  w.write(skipped);
  w.put(filters.shuffle);
  w.put(filters.deflate_level);
}

StoredChunks StoredChunks::read(WireReader& r) {
  StoredChunks c;
  c.addresses = r.read<std::vector<std::uint64_t>>();
  c.sizes = r.read<std::vector<std::uint64_t>>();
  c.skipped = r.read<std::vector<unsigned>>();
  c.filters.shuffle = r.get<bool>();
  c.filters.deflate_level = r.get<int>();
  return c;
}

ChunkedReader::ChunkedReader(std::string path, std::string what, Shape shape, Shape chunk,
                             std::size_t itemsize, bool swapped, StoredChunks chunks)
    : m_what(std::move(what)),
      m_shape(std::move(shape)),
      m_chunk(std::move(chunk)),
      m_itemsize(itemsize),
      m_swapped(swapped),
      m_chunks(std::move(chunks)),
      m_file(std::move(path), PosixFile::Mode::read) {}

void ChunkedReader::read_chunk(std::size_t linear, void* out) const {
  const std::size_t chunk_bytes = static_cast<std::size_t>(shape_size(m_chunk)) * m_itemsize;
  const std::uint64_t at = m_chunks.addresses[linear];
  if (!m_chunks.filters.any()) {
    m_file.get().read_at(out, chunk_bytes, at);
    return;
  }
  thread_local std::vector<std::byte> stored;
  const auto size = static_cast<std::size_t>(m_chunks.sizes[linear]);
  if (stored.size() < size) stored.resize(size);
  m_file.get().read_at(stored.data(), size, at);
  decode_chunk(std::span(stored.data(), size), out, chunk_bytes, m_itemsize, m_chunks.filters,
               m_chunks.skipped[linear], m_what);
}

void ChunkedReader::read(void* out, const Shape& start, const Shape& count) const {
  const auto nd = m_shape.size();
  if (shape_size(count) == 0) return;
  const std::size_t chunk_bytes = static_cast<std::size_t>(shape_size(m_chunk)) * m_itemsize;
  Shape first(nd), last(nd), grid(nd);
  for (std::size_t a = 0; a < nd; ++a) {
    first[a] = start[a] / m_chunk[a];
    last[a] = (start[a] + count[a] - 1) / m_chunk[a];
    grid[a] = (m_shape[a] + m_chunk[a] - 1) / m_chunk[a];
  }
  // One chunk's bytes at a time; per thread, so that its pages are not faulted in again for
  // every chunk.
  thread_local std::vector<std::byte> scratch;
  Shape c = first;
  for (;;) {
    index_t linear = 0;
    Shape origin(nd), from(nd), to(nd), n(nd);
    bool whole = true;
    for (std::size_t a = 0; a < nd; ++a) {
      linear = linear * grid[a] + c[a];
      origin[a] = c[a] * m_chunk[a];
      const index_t lo = std::max(start[a], origin[a]);
      const index_t hi = std::min(start[a] + count[a], origin[a] + m_chunk[a]);
      from[a] = lo - origin[a];
      to[a] = lo - start[a];
      n[a] = hi - lo;
      whole = whole && lo == start[a] && n[a] == count[a] && n[a] == m_chunk[a];
    }
    if (whole) {  // the region is exactly this chunk: straight into the output
      read_chunk(static_cast<std::size_t>(linear), out);
    } else {
      if (scratch.size() < chunk_bytes) scratch.resize(chunk_bytes);
      read_chunk(static_cast<std::size_t>(linear), scratch.data());
      copy_region(scratch.data(), m_chunk, {from}, out, count, {to}, n, m_itemsize);
    }
    std::size_t a = nd;
    while (a-- > 0) {
      if (++c[a] <= last[a]) break;
      c[a] = first[a];
    }
    if (a == static_cast<std::size_t>(-1)) break;
  }
  if (m_swapped) swap_bytes(out, m_itemsize, static_cast<std::size_t>(shape_size(count)));
}

FileSource::FileSource(Shape shape, ChunkGrid chunks, DType dtype, Token identity,
                       std::string_view name, std::shared_ptr<const RegionReader> reader)
    : SourceExpr(std::move(shape), dtype, std::move(chunks), identity, name),
      m_name(name),
      m_reader(std::move(reader)) {}

void FileSource::fill_region(void* out, const Shape& start, const Shape& count) const {
  if (shape_size(count) == 0) return;
  m_reader->read(out, start, count);
  count_bytes_read(static_cast<std::uint64_t>(shape_size(count)) * dtype_size(dtype()));
}

void FileSource::fill(void* out, const index_t* start, index_t n) const {
  const auto nd = static_cast<std::size_t>(ndim());
  Shape s(start, start + nd), c(nd, 1);
  if (nd) c.back() = n;
  m_reader->read(out, s, c);
  count_bytes_read(static_cast<std::uint64_t>(n) * dtype_size(dtype()));
}

/// The default chunks: the file's chunks multiplied up to about `target` bytes (axis by axis,
/// doubling), or blocks of whole rows for a contiguous dataset.
ChunkGrid default_file_chunks(const Shape& shape, DType dtype, const Shape& file_chunks,
                              std::size_t target) {
  const std::size_t es = dtype_size(dtype);
  if (shape.empty() || shape_size(shape) == 0)
    return ChunkSpec::automatic(target).resolve(shape, dtype);
  std::vector<AxisChunks> axes;
  if (!file_chunks.empty()) {
    Shape c = file_chunks;
    for (std::size_t a = 0; a < c.size(); ++a) c[a] = std::min(c[a], shape[a]);
    std::size_t bytes = static_cast<std::size_t>(shape_size(c)) * es;
    // A file chunk of a few MiB is already a good task: each is then read straight into its
    // array chunk. Cutting or merging file chunks costs a copy through a scratch buffer
    // (hdf5_mean: 12.5 GB/s with the file's 8 MB chunks, 8 GB/s with 32 MB array chunks).
    if (bytes >= kKeepFileChunkBytes) target = 0;
    for (bool grew = true; grew;) {
      grew = false;
      for (std::size_t a = 0; a < c.size(); ++a) {
        if (c[a] < shape[a] && bytes * 2 <= target) {
          const index_t next = std::min(c[a] * 2, shape[a]);
          bytes = bytes / static_cast<std::size_t>(c[a]) * static_cast<std::size_t>(next);
          c[a] = next;
          grew = true;
        }
      }
    }
    for (index_t v : c) axes.emplace_back(v);
    return ChunkSpec(std::move(axes)).resolve(shape, dtype);
  }
  const std::size_t row_bytes =
      static_cast<std::size_t>(shape_size(Shape(shape.begin() + 1, shape.end()))) * es;
  if (row_bytes > target) return ChunkSpec::automatic(target).resolve(shape, dtype);
  axes.emplace_back(std::clamp<index_t>(
      static_cast<index_t>(target / std::max<std::size_t>(row_bytes, 1)), 1, shape[0]));
  for (std::size_t a = 1; a < shape.size(); ++a) axes.emplace_back(index_t{-1});
  return ChunkSpec(std::move(axes)).resolve(shape, dtype);
}

}  // namespace tessera::detail
