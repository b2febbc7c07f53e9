#include "io/file_source.hpp"

#include <algorithm>

namespace tessera::detail {

const PosixFile& FlatReader::file() const {
  // call_once: a failed open throws to this caller and lets the next one try again.
  std::call_once(m_opened, [this] { m_file.emplace(m_path, PosixFile::Mode::read); });
  return *m_file;
}

void FlatReader::read(void* out, const Shape& start, const Shape& count) const {
  read_region(file(), m_layout, out, start, count);
}

FileSource::FileSource(Shape shape, ChunkGrid chunks, DType dtype, Token identity,
                       std::string_view name, std::shared_ptr<const RegionReader> reader)
    : SourceExpr(std::move(shape), dtype, std::move(chunks), identity, name),
      m_name(name),
      m_reader(std::move(reader)) {}

void FileSource::fill_region(void* out, const Shape& start, const Shape& count) const {
  if (shape_size(count) == 0) return;
  m_reader->read(out, start, count);
}

void FileSource::fill(void* out, const index_t* start, index_t n) const {
  const auto nd = static_cast<std::size_t>(ndim());
  Shape s(start, start + nd), c(nd, 1);
  if (nd) c.back() = n;
  m_reader->read(out, s, c);
}

/// The default chunks: the file's chunks multiplied up to about `target` bytes (axis by axis,
/// doubling), or blocks of whole rows for a contiguous dataset.
ChunkGrid default_file_chunks(const Shape& shape, DType dtype, const Shape& file_chunks,
                              std::size_t target) {
  const std::size_t es = dtype_size(dtype);
  if (shape.empty() || shape_size(shape) == 0) return ChunkSpec::automatic(target).resolve(shape, dtype);
  std::vector<AxisChunks> axes;
  if (!file_chunks.empty()) {
    Shape c = file_chunks;
    for (std::size_t a = 0; a < c.size(); ++a) c[a] = std::min(c[a], shape[a]);
    std::size_t bytes = static_cast<std::size_t>(shape_size(c)) * es;
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
  axes.emplace_back(std::clamp<index_t>(static_cast<index_t>(target / std::max<std::size_t>(row_bytes, 1)),
                                        1, shape[0]));
  for (std::size_t a = 1; a < shape.size(); ++a) axes.emplace_back(index_t{-1});
  return ChunkSpec(std::move(axes)).resolve(shape, dtype);
}

}  // namespace tessera::detail
