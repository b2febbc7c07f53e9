#include "io/file_source.hpp"

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

}  // namespace tessera::detail
