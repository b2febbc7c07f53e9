// from_npy / to_npy / from_raw / to_raw (include/tessera/io/npy.hpp): a header read or written
// by rank 0, the data as one flat layout read and written with positioned I/O by every rank.

#include "tessera/io/npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <regex>

#include "io/atomic_output.hpp"
#include "io/collective.hpp"
#include "io/file_source.hpp"
#include "io/store.hpp"

namespace tessera {

namespace detail {
namespace {

/// The .npy type code of a dtype without its byte order: b1, i1 ... i8, u1 ... u8, f4, f8.
std::string npy_code(DType t) {
  const char kind = t == DType::Bool ? 'b' : is_float(t) ? 'f' : is_unsigned(t) ? 'u' : 'i';
  return fmt::format("{}{}", kind, dtype_size(t));
}

/// What an .npy header says.
struct NpyHeader {
  DType dtype = DType::Float64;
  bool swapped = false;
  Shape shape;
  std::uint64_t data_offset = 0;
};

NpyHeader read_npy_header(const std::string& path) {
  PosixFile f(path, PosixFile::Mode::read);
  const std::uint64_t size = f.size();
  if (size < 10) throw io_error(fmt::format("'{}' is not a .npy file (only {} bytes)", path, size));
  unsigned char pre[12] = {};
  f.read_at(pre, std::min<std::uint64_t>(12, size), 0);
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0)
    throw io_error(fmt::format("'{}' is not a .npy file (no \\x93NUMPY magic)", path));
  const int major = pre[6];
  std::uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = pre[8] | (pre[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    header_len =
        pre[8] | (pre[9] << 8) | (pre[10] << 16) | (static_cast<std::uint64_t>(pre[11]) << 24);
    prefix = 12;
  } else {
    throw io_error(
        fmt::format("'{}': .npy format version {} is not supported (1, 2 and 3 are)", path, major));
  }
  std::string text(header_len, '\0');
  f.read_at(text.data(), header_len, prefix);
  std::smatch m;
  NpyHeader h;
  if (!std::regex_search(text, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw io_error(fmt::format("'{}': the .npy header has no 'descr': {}", path, text));
  const std::string descr = m[1];
  const char order = descr.empty() ? '?' : descr[0];
  const auto it = std::find_if(std::begin(all_dtypes), std::end(all_dtypes), [&](DType t) {
    return descr.size() == 3 && descr.substr(1) == npy_code(t);
  });
  if (it == std::end(all_dtypes) ||
      (order != '<' && order != '>' && order != '|' && order != '=')) {
    throw dtype_error(fmt::format(
        "'{}' holds dtype '{}'; Tessera reads bool, signed and unsigned integers of 1 to 8 bytes, "
        "float32 and float64 (b1, i1-i8, u1-u8, f4, f8)",
        path, descr));
  }
  h.dtype = *it;
  const bool little = std::endian::native == std::endian::little;
  h.swapped = dtype_size(h.dtype) > 1 && ((order == '<' && !little) || (order == '>' && little));
  if (std::regex_search(text, m, std::regex(R"('fortran_order'\s*:\s*True)"))) {
    throw value_error(fmt::format(
        "'{}' is stored in Fortran order, which from_npy does not read yet (save it with "
        "numpy.ascontiguousarray)",
        path));
  }
  if (!std::regex_search(text, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw io_error(fmt::format("'{}': the .npy header has no 'shape': {}", path, text));
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator i(dims.begin(), dims.end(), number), e; i != e; ++i)
    h.shape.push_back(std::stoll(i->str()));
  h.data_offset = prefix + header_len;
  const auto need = h.data_offset + static_cast<std::uint64_t>(shape_nbytes(
                                        h.shape, dtype_size(h.dtype), dtype_name(h.dtype)));
  if (size < need) {
    throw io_error(
        fmt::format("'{}' is truncated: its header says {} bytes of {} {} data, the file has {}",
                    path, need - h.data_offset, shape_string(h.shape), dtype_name(h.dtype),
                    size - std::min(size, h.data_offset)));
  }
  return h;
}

std::string npy_header(const Array& a) {
  std::string descr;
  const char order = std::endian::native == std::endian::little ? '<' : '>';
  descr = fmt::format("{}{}", dtype_size(a.dtype()) == 1 ? '|' : order, npy_code(a.dtype()));
  std::string shape = a.ndim() == 1 ? fmt::format("({},)", a.shape()[0])
                                    : fmt::format("({})", fmt::join(a.shape(), ", "));
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  // Version 1.0 has a 2-byte length; the whole header is padded to a multiple of 64 bytes.
  const bool v1 = dict.size() + 1 + 10 < 65536;
  const std::size_t prefix = v1 ? 10 : 12;
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back(0);
  const auto len = static_cast<std::uint32_t>(dict.size());
  for (std::size_t i = 0; i < prefix - 8; ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return out + dict;
}

Array flat_array(const std::string& path, std::string_view name, DType dtype, const Shape& shape,
                 const FlatLayout& layout, const FileStamp& stamp,
                 const std::optional<ChunkSpec>& chunks, std::size_t target) {
  const ChunkGrid grid =
      chunks ? chunks->resolve(shape, dtype) : default_file_chunks(shape, dtype, {}, target);
  const Token identity = Tokenizer()
                             .add(name)
                             .add(path)
                             .add(layout.offset)
                             .add(layout.swapped)
                             .add(stamp.size)
                             .add(stamp.mtime_ns)
                             .finish();
  return Array(std::make_shared<FileSource>(shape, grid, dtype, identity, name,
                                            std::make_shared<FlatReader>(path, layout)));
}

/// Writes `header` and then `array`'s elements in C order as a new file at `path`. Collective.
void write_flat(const std::string& path, const Array& array, const std::string& header,
                const FileWriteOptions& options) {
  Scheduler& s = scheduler_or_default(options.compute.scheduler);
  AtomicOutput out(s, path, options.overwrite, [&](const std::string& tmp) {
    {
      PosixFile f(tmp, PosixFile::Mode::write);
      if (!header.empty()) f.write_at(header.data(), header.size(), 0);
    }
    resize_file(tmp, header.size() + array.nbytes());
    return std::string();
  });
  std::exception_ptr failed;
  try {
    const FlatLayout layout{header.size(), array.shape(), dtype_size(array.dtype()), false};
    auto file = std::make_shared<LazyFile>(out.temporary(), PosixFile::Mode::write);
    store_chunks(s, {array.expr()}, options.compute.lowering,
                 [&](std::size_t, const Shape& origin, const Block& b) {
                   write_region(file->get(), layout, b.data(), origin, b.shape());
                 });
  } catch (...) {
    failed = std::current_exception();
  }
  out.commit(failed);
}

}  // namespace
}  // namespace detail

Array from_npy(const std::string& path, const FileReadOptions& options) {
  Scheduler& s = detail::scheduler_or_default(options.scheduler);
  const std::string shared = detail::query_on_root(s, [&] {
    WireWriter w;
    w.put(detail::stat_file(path));
    const detail::NpyHeader h = detail::read_npy_header(path);
    w.put(h.dtype);
    w.put(h.swapped);
    w.put(h.data_offset);
    w.write(h.shape);
    return detail::shared_bytes(w);
  });
  WireReader r = detail::decode_shared(shared);
  const auto stamp = r.get<detail::FileStamp>();
  detail::NpyHeader h;
  h.dtype = r.get<DType>();
  h.swapped = r.get<bool>();
  h.data_offset = r.get<std::uint64_t>();
  h.shape = r.read<Shape>();
  return detail::flat_array(path, "from_npy", h.dtype, h.shape,
                            {h.data_offset, h.shape, dtype_size(h.dtype), h.swapped}, stamp,
                            options.chunks, options.target_chunk_bytes);
}

void to_npy(const std::string& path, const Array& array, const FileWriteOptions& options) {
  detail::write_flat(path, array, detail::npy_header(array), options);
}

Array from_raw(const std::string& path, DType dtype, const Shape& shape,
               const RawReadOptions& options) {
  Scheduler& s = detail::scheduler_or_default(options.scheduler);
  const auto bytes =
      static_cast<std::uint64_t>(shape_nbytes(shape, dtype_size(dtype), dtype_name(dtype)));
  const std::string shared = detail::query_on_root(s, [&] {
    const detail::FileStamp st = detail::stat_file(path);
    if (st.size < options.offset + bytes) {
      throw io_error(fmt::format(
          "'{}' has {} bytes, too few for {} {} elements of shape {} from offset {} ({} bytes)",
          path, st.size, shape_size(shape), dtype_name(dtype), shape_string(shape), options.offset,
          options.offset + bytes));
    }
    WireWriter w;
    w.put(st);
    return detail::shared_bytes(w);
  });
  WireReader r = detail::decode_shared(shared);
  return detail::flat_array(
      path, "from_raw", dtype, shape,
      {options.offset, shape, dtype_size(dtype), options.swap_bytes && dtype_size(dtype) > 1},
      r.get<detail::FileStamp>(), options.chunks, options.target_chunk_bytes);
}

void to_raw(const std::string& path, const Array& array, const FileWriteOptions& options) {
  detail::write_flat(path, array, std::string(), options);
}

}  // namespace tessera
