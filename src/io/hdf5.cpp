// from_hdf5, to_hdf5 and HDF5 attributes (include/tessera/io/hdf5.hpp).
//
// Reading: rank 0 reads the dataset's metadata and shares it, so every rank builds the same
// array (and raises the same error). Chunk reads run as tasks on whichever rank owns the chunk:
// a contiguous dataset without filters is read with positioned reads straight from the file at
// the offset HDF5 reports (in parallel from every thread; HDF5 itself is not thread-safe here),
// anything else through H5Dread under the process's HDF5 lock.
//
// Writing: rank 0 creates the file under a temporary name with every dataset's storage
// allocated at creation, and shares where each dataset's (or each HDF5 chunk's) bytes lie;
// every rank then writes the chunks it computes with positioned writes, and rank 0 renames the
// file once all have succeeded (io/atomic_output.hpp). No MPI-IO collective is needed in the
// middle of a run, so reads and writes stay ordinary dataflow tasks.

#include "tessera/io/hdf5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "io/atomic_output.hpp"
#include "io/collective.hpp"
#include "io/file_source.hpp"
#include "io/hdf5_library.hpp"
#include "io/store.hpp"
#include "tessera/core/copy_region.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera {

namespace detail {
namespace {

std::string where(const std::string& path, const std::string& dataset) {
  return fmt::format("dataset '{}' of '{}'", dataset, path);
}

std::vector<hsize_t> hsizes(const Shape& s) { return {s.begin(), s.end()}; }

// --- reading -------------------------------------------------------------------------------

/// What rank 0 learns about a dataset.
struct DatasetInfo {
  Shape shape;
  DType dtype = DType::Float64;
  Shape file_chunks;  // empty: not chunked
  bool flat = false;  // contiguous, unfiltered, raw type, allocated: read with pread
  std::uint64_t offset = 0;
  bool swapped = false;
  // Chunked, raw type, every chunk allocated, no filters but shuffle and deflate: where each
  // chunk lies, read with pread and decoded by Tessera (io/chunk_filters.hpp).
  StoredChunks chunks;
  FileStamp stamp;

  void write(WireWriter& w) const {
    w.write(shape);
    w.put(dtype);
    w.write(file_chunks);
    w.put(flat);
    w.put(offset);
    w.put(swapped);
    chunks.write(w);
    w.put(stamp);
  }
  static DatasetInfo read(WireReader& r) {
    DatasetInfo i;
    i.shape = r.read<Shape>();
    i.dtype = r.get<DType>();
    i.file_chunks = r.read<Shape>();
    i.flat = r.get<bool>();
    i.offset = r.get<std::uint64_t>();
    i.swapped = r.get<bool>();
    i.chunks = StoredChunks::read(r);
    i.stamp = r.get<FileStamp>();
    return i;
  }
};

/// Opens `path` read-only; io_error naming the path when it is missing or not HDF5.
Hid open_file_for_reading(const std::string& path) {
  stat_file(path);  // a clear "No such file or directory" before HDF5's longer story
  const htri_t is = H5Fis_hdf5(path.c_str());
  if (is == 0) throw io_error(fmt::format("'{}' is not an HDF5 file", path));
  return Hid(check_hdf5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                        fmt::format("cannot open '{}' as HDF5", path)));
}

Hid open_dataset(hid_t file, const std::string& path, const std::string& dataset) {
  if (dataset.empty() || H5Lexists(file, dataset.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    // H5Lexists fails on a missing intermediate group: name the dataset either way.
    throw io_error(fmt::format("'{}' has no dataset '{}'", path, dataset));
  }
  H5O_info_t info;
  check_hdf5_status(H5Oget_info_by_name(file, dataset.c_str(), &info, H5P_DEFAULT),
                    fmt::format("cannot open {}", where(path, dataset)));
  if (info.type != H5O_TYPE_DATASET) {
    throw io_error(fmt::format("'{}' in '{}' is a group, not a dataset", dataset, path));
  }
  return Hid(check_hdf5(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT),
                        fmt::format("cannot open {}", where(path, dataset))));
}

Shape dataspace_shape(hid_t space, const std::string& what) {
  const int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0) throw_hdf5(fmt::format("cannot read the shape of {}", what));
  if (H5Sget_simple_extent_type(space) == H5S_NULL)
    throw io_error(fmt::format("{} has no dataspace (an empty H5S_NULL dataset)", what));
  std::vector<hsize_t> dims(static_cast<std::size_t>(nd));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

/// The filters of a chunked dataset when Tessera applies them itself (shuffle, then deflate);
/// nullopt for any other pipeline, which HDF5 must decode.
std::optional<ChunkFilters> own_filters(hid_t dcpl) {
  ChunkFilters f;
  const int n = H5Pget_nfilters(dcpl);
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0, values[8] = {};
    std::size_t nvalues = 8;
    char name[64] = {};
    const H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nvalues, values,
                                           sizeof name, name, &config);
    if (id == H5Z_FILTER_SHUFFLE && i == 0) {
      f.shuffle = true;
    } else if (id == H5Z_FILTER_DEFLATE && i == n - 1 && nvalues >= 1) {
      f.deflate_level = static_cast<int>(values[0]);
    } else {
      return std::nullopt;
    }
  }
  return f;
}

/// Where every chunk of a chunked dataset lies (with the sizes and filter masks of filtered
/// ones); empty when some chunk is not allocated (HDF5 must supply fill values) or there are
/// very many.
StoredChunks stored_chunks(hid_t d, hid_t space, const Shape& shape, const Shape& chunk,
                           const ChunkFilters& filters) {
  index_t total = 1;
  Shape grid(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a) {
    grid[a] = (shape[a] + chunk[a] - 1) / chunk[a];
    total *= grid[a];
  }
  hsize_t allocated = 0;
  if (total == 0 || total > (index_t{1} << 20) || H5Dget_num_chunks(d, space, &allocated) < 0 ||
      allocated != static_cast<hsize_t>(total)) {
    H5Eclear2(H5E_DEFAULT);
    return {};
  }
  StoredChunks out;
  out.filters = filters;
  out.addresses.assign(static_cast<std::size_t>(total), 0);
  if (filters.any()) {
    out.sizes.assign(static_cast<std::size_t>(total), 0);
    out.skipped.assign(static_cast<std::size_t>(total), 0);
  }
  std::vector<hsize_t> offset(shape.size());
  for (hsize_t i = 0; i < allocated; ++i) {
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info(d, space, i, offset.data(), &mask, &addr, &size) < 0 ||
        addr == HADDR_UNDEF) {
      H5Eclear2(H5E_DEFAULT);
      return {};
    }
    index_t linear = 0;
    for (std::size_t a = 0; a < shape.size(); ++a)
      linear = linear * grid[a] + static_cast<index_t>(offset[a]) / chunk[a];
    const auto at = static_cast<std::size_t>(linear);
    out.addresses[at] = addr;
    if (filters.any()) {
      out.sizes[at] = size;
      out.skipped[at] = mask;
    }
  }
  return out;
}

DatasetInfo probe(const std::string& path, const std::string& dataset) {
  auto lock = lock_hdf5();
  DatasetInfo info;
  info.stamp = stat_file(path);
  Hid file = open_file_for_reading(path);
  Hid d = open_dataset(file, path, dataset);
  const std::string w = where(path, dataset);
  Hid space(check_hdf5(H5Dget_space(d), "cannot read the dataspace of " + w));
  info.shape = dataspace_shape(space, w);
  Hid type(check_hdf5(H5Dget_type(d), "cannot read the type of " + w));
  const StoredType st = stored_type(type, w);
  info.dtype = st.dtype;
  Hid dcpl(check_hdf5(H5Dget_create_plist(d), "cannot read the layout of " + w));
  const H5D_layout_t layout = H5Pget_layout(dcpl);
  if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> c(info.shape.size());
    H5Pget_chunk(dcpl, static_cast<int>(c.size()), c.data());
    info.file_chunks.assign(c.begin(), c.end());
  }
  const haddr_t addr = H5Dget_offset(d);
  H5Eclear2(
      H5E_DEFAULT);  // HADDR_UNDEF (chunked, compact or unallocated) is an answer, not an error
  if (layout == H5D_CHUNKED && st.raw) {
    if (const auto filters = own_filters(dcpl)) {
      info.chunks = stored_chunks(d, space, info.shape, info.file_chunks, *filters);
      info.swapped = st.swapped;
    }
  }
  if (layout == H5D_CONTIGUOUS && H5Pget_nfilters(dcpl) == 0 && st.raw && addr != HADDR_UNDEF) {
    info.flat = true;
    info.offset = addr;
    info.swapped = st.swapped;
  }
  return info;
}

/// Reads hyperslabs through HDF5 (chunked, compressed, converted or unallocated datasets).
class Hdf5Reader final : public RegionReader {
 public:
  Hdf5Reader(std::string path, std::string dataset)
      : m_path(std::move(path)), m_dataset(std::move(dataset)) {}
  ~Hdf5Reader() override {
    auto lock = lock_hdf5();
    m_memory_type.reset();
    m_dataset_id.reset();
    m_file.reset();
  }
  void read(void* out, const Shape& start, const Shape& count) const override {
    auto lock = lock_hdf5();
    if (m_dataset_id.get() < 0) {
      Hid file = open_file_for_reading(m_path);
      Hid d = open_dataset(file, m_path, m_dataset);
      Hid type(check_hdf5(H5Dget_type(d), "cannot read the type of " + where(m_path, m_dataset)));
      m_memory_type = std::move(stored_type(type, where(m_path, m_dataset)).memory_type);
      m_file = std::move(file);
      m_dataset_id = std::move(d);
    }
    const std::string what =
        fmt::format("cannot read {} at {} of shape {}", where(m_path, m_dataset),
                    shape_string(start), shape_string(count));
    Hid fspace(check_hdf5(H5Dget_space(m_dataset_id), what));
    Hid mspace;
    if (start.empty()) {
      mspace = Hid(H5Screate(H5S_SCALAR));
    } else {
      const auto s = hsizes(start), c = hsizes(count);
      check_hdf5_status(
          H5Sselect_hyperslab(fspace, H5S_SELECT_SET, s.data(), nullptr, c.data(), nullptr), what);
      mspace = Hid(H5Screate_simple(static_cast<int>(c.size()), c.data(), nullptr));
    }
    check_hdf5_status(H5Dread(m_dataset_id, m_memory_type, mspace, fspace, H5P_DEFAULT, out), what);
  }

 private:
  std::string m_path, m_dataset;
  mutable Hid m_file, m_dataset_id, m_memory_type;
};

// --- writing -------------------------------------------------------------------------------

/// Where one dataset's bytes lie in the new file: at one offset (contiguous), or chunk by chunk.
struct WriteLayout {
  Shape shape;
  std::size_t itemsize = 0;
  std::uint64_t offset = 0;                    // contiguous
  Shape file_chunks;                           // chunked: the HDF5 chunk shape
  std::vector<std::uint64_t> chunk_addresses;  // chunked: row-major over the HDF5 chunk grid
};

void put_attribute(hid_t object, const std::string& name, const AttributeValue& value,
                   const std::string& what) {
  const std::string err = fmt::format("cannot set attribute '{}' of {}", name, what);
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        Hid type, space;
        const void* data = nullptr;
        if constexpr (std::is_same_v<V, std::string>) {
          type = Hid(H5Tcopy(H5T_C_S1));
          H5Tset_size(type, std::max<std::size_t>(v.size(), 1));
          H5Tset_strpad(type, H5T_STR_NULLPAD);
          H5Tset_cset(type, H5T_CSET_UTF8);
          space = Hid(H5Screate(H5S_SCALAR));
          data = v.c_str();
        } else if constexpr (std::is_same_v<V, std::int64_t> || std::is_same_v<V, double>) {
          type = Hid(H5Tcopy(std::is_same_v<V, double> ? H5T_IEEE_F64LE : H5T_STD_I64LE));
          space = Hid(H5Screate(H5S_SCALAR));
          data = &v;
        } else {
          type =
              Hid(H5Tcopy(std::is_same_v<V, std::vector<double>> ? H5T_IEEE_F64LE : H5T_STD_I64LE));
          const hsize_t n = v.size();
          // An empty list is a null dataspace (HDF5 has no zero-length simple one to write).
          space = n == 0 ? Hid(H5Screate(H5S_NULL)) : Hid(H5Screate_simple(1, &n, nullptr));
          data = v.data();
        }
        Hid mem(H5Tcopy(type));
        if constexpr (std::is_same_v<V, double> || std::is_same_v<V, std::vector<double>>) {
          mem = Hid(H5Tcopy(H5T_NATIVE_DOUBLE));
        } else if constexpr (!std::is_same_v<V, std::string>) {
          mem = Hid(H5Tcopy(H5T_NATIVE_INT64));
        }
        if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
        Hid attr(check_hdf5(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                            err));
        if (data != nullptr) check_hdf5_status(H5Awrite(attr, mem, data), err);
      },
      value);
}

/// The filters every chunked dataset of the output gets (none: not compressed).
ChunkFilters write_filters(const Hdf5WriteOptions& options) {
  return {options.compression.shuffle,
          options.compression.gzip > 0 ? options.compression.gzip : -1};
}

/// Creates the file and its datasets and returns each dataset's layout, encoded. Datasets
/// written in place have their storage allocated (no fill), and the layout says where it lies;
/// compressed ones get their chunks from rank 0 as they come (EncodedChunkWriter). Runs on
/// rank 0 only.
std::string create_file(const std::string& temporary, const std::vector<Hdf5Dataset>& datasets,
                        const std::vector<ChunkGrid>& file_chunks,
                        const Hdf5WriteOptions& options) {
  const ChunkFilters filters = write_filters(options);
  auto lock = lock_hdf5();
  Hid file(check_hdf5(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                      fmt::format("cannot create '{}'", temporary)));
  for (const auto& [name, value] : options.file_attributes)
    put_attribute(file, name, value, "the file");
  WireWriter out;
  Hid lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl, 1);
  for (std::size_t k = 0; k < datasets.size(); ++k) {
    const Hdf5Dataset& ds = datasets[k];
    const Shape& shape = ds.array.shape();
    const std::string w = fmt::format("dataset '{}'", ds.name);
    Hid space =
        shape.empty()
            ? Hid(H5Screate(H5S_SCALAR))
            : Hid(H5Screate_simple(static_cast<int>(shape.size()), hsizes(shape).data(), nullptr));
    Hid dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    Shape hchunk;
    if (!file_chunks[k].shape().empty() && shape_size(shape) > 0) {
      for (int a = 0; a < ds.array.ndim(); ++a) hchunk.push_back(file_chunks[k].sizes(a)[0]);
      check_hdf5_status(H5Pset_chunk(dcpl, static_cast<int>(hchunk.size()), hsizes(hchunk).data()),
                        "cannot chunk " + w);
    }
    const bool encoded = !hchunk.empty() && filters.any();
    if (encoded) {
      // HDF5's order: shuffle, then deflate (io/chunk_filters.hpp applies them the same way).
      if (filters.shuffle) check_hdf5_status(H5Pset_shuffle(dcpl), "cannot shuffle " + w);
      if (filters.deflate_level >= 0) {
        check_hdf5_status(H5Pset_deflate(dcpl, static_cast<unsigned>(filters.deflate_level)),
                          "cannot compress " + w);
      }
    } else {
      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    }
    Hid type = file_type(ds.array.dtype());
    Hid d(check_hdf5(H5Dcreate2(file, ds.name.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT),
                     fmt::format("cannot create {} in '{}'", w, temporary)));
    for (const auto& [an, av] : ds.attributes) put_attribute(d, an, av, w);
    out.write(hchunk);
    if (encoded) {
      out.write(std::vector<std::uint64_t>{});
    } else if (hchunk.empty()) {
      const haddr_t addr = H5Dget_offset(d);
      H5Eclear2(H5E_DEFAULT);
      out.put<std::uint64_t>(addr == HADDR_UNDEF ? 0 : addr);
    } else {
      const ChunkGrid& grid = file_chunks[k];
      std::vector<std::uint64_t> addresses;
      for (index_t c = 0; c < grid.num_chunks(); ++c) {
        const auto origin = hsizes(grid.chunk_offset(grid.chunk_coords(c)));
        unsigned mask = 0;
        haddr_t addr = HADDR_UNDEF;
        hsize_t size = 0;
        check_hdf5_status(H5Dget_chunk_info_by_coord(d, origin.data(), &mask, &addr, &size),
                          "cannot locate the chunks of " + w);
        addresses.push_back(addr);
      }
      out.write(addresses);
    }
  }
  check_hdf5_status(H5Fflush(file, H5F_SCOPE_GLOBAL), fmt::format("cannot write '{}'", temporary));
  return shared_bytes(out);
}

std::vector<WriteLayout> decode_layouts(const std::string& s,
                                        const std::vector<Hdf5Dataset>& datasets) {
  WireReader r = decode_shared(s);
  std::vector<WriteLayout> out;
  for (std::size_t k = 0; k < datasets.size(); ++k) {
    WriteLayout l;
    l.shape = datasets[k].array.shape();
    l.itemsize = dtype_size(datasets[k].array.dtype());
    l.file_chunks = r.read<Shape>();
    if (l.file_chunks.empty()) {
      l.offset = r.get<std::uint64_t>();
    } else {
      l.chunk_addresses = r.read<std::vector<std::uint64_t>>();
    }
    out.push_back(std::move(l));
  }
  return out;
}

/// Writes one computed chunk (at `origin`) of a dataset into the file.
void write_chunk(const PosixFile& f, const WriteLayout& l, const ChunkGrid& file_grid,
                 const Block& b, const Shape& origin) {
  if (l.file_chunks.empty()) {
    write_region(f, FlatLayout{l.offset, l.shape, l.itemsize, false}, b.data(), origin, b.shape());
    return;
  }
  // Every HDF5 chunk the block overlaps: its part of the block goes to that chunk's storage
  // (a full-size row-major array of the chunk's shape, edge chunks included).
  const int nd = static_cast<int>(l.shape.size());
  Shape first(static_cast<std::size_t>(nd)), last(static_cast<std::size_t>(nd));
  for (int a = 0; a < nd; ++a) {
    const auto ua = static_cast<std::size_t>(a);
    first[ua] = file_grid.chunk_of(a, origin[ua]);
    last[ua] = file_grid.chunk_of(a, origin[ua] + b.shape()[ua] - 1);
  }
  Shape hc = first;
  for (;;) {
    const Shape hoff = file_grid.chunk_offset(hc);
    Shape start(static_cast<std::size_t>(nd)), count(static_cast<std::size_t>(nd)),
        in_block(static_cast<std::size_t>(nd));
    for (std::size_t a = 0; a < static_cast<std::size_t>(nd); ++a) {
      const index_t lo = std::max(origin[a], hoff[a]);
      const index_t hi = std::min(origin[a] + b.shape()[a], hoff[a] + l.file_chunks[a]);
      start[a] = lo - hoff[a];
      count[a] = hi - lo;
      in_block[a] = lo - origin[a];
    }
    const FlatLayout chunk{l.chunk_addresses[static_cast<std::size_t>(file_grid.chunk_linear(hc))],
                           l.file_chunks, l.itemsize, false};
    if (count == b.shape()) {
      write_region(f, chunk, b.data(), start, count);
    } else {
      Block part(b.dtype(), count);
      copy_region(b, {in_block}, part, {Shape(static_cast<std::size_t>(nd), 0)}, count);
      write_region(f, chunk, part.data(), start, count);
    }
    int a = nd - 1;
    for (; a >= 0; --a) {
      const auto ua = static_cast<std::size_t>(a);
      if (++hc[ua] <= last[ua]) break;
      hc[ua] = first[ua];
    }
    if (a < 0) break;
  }
}

/// Rank 0's handle on the new file for its compressed datasets: each encoded chunk goes into the
/// dataset's chunk index with H5Dwrite_chunk (HDF5 allocates its place), from any thread.
class EncodedChunkWriter {
 public:
  EncodedChunkWriter(std::string path, const std::vector<Hdf5Dataset>& datasets)
      : m_path(std::move(path)), m_datasets(datasets.size()) {
    for (const auto& d : datasets) m_names.push_back(d.name);
  }
  ~EncodedChunkWriter() {
    auto lock = lock_hdf5();
    m_datasets.clear();
    m_file.reset();
  }
  EncodedChunkWriter(const EncodedChunkWriter&) = delete;
  EncodedChunkWriter& operator=(const EncodedChunkWriter&) = delete;

  void write(std::size_t k, const Shape& origin, const EncodedChunk& c) {
    auto lock = lock_hdf5();
    const std::string what = fmt::format("cannot write the chunk at {} of {}", shape_string(origin),
                                         where(m_path, m_names[k]));
    if (m_file.get() < 0)
      m_file = Hid(check_hdf5(H5Fopen(m_path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), what));
    if (m_datasets[k].get() < 0)
      m_datasets[k] = Hid(check_hdf5(H5Dopen2(m_file, m_names[k].c_str(), H5P_DEFAULT), what));
    const auto offset = hsizes(origin);
    check_hdf5_status(
        H5Dwrite_chunk(m_datasets[k], H5P_DEFAULT, c.skipped, offset.data(), c.size, c.bytes.get()),
        what);
  }

  /// Writes HDF5's metadata (the chunk indexes) and closes the file; throws when that fails.
  void close() {
    auto lock = lock_hdf5();
    m_datasets.clear();
    if (m_file.get() >= 0)
      check_hdf5_status(H5Fclose(m_file.release()), fmt::format("cannot write '{}'", m_path));
  }

 private:
  std::string m_path;
  std::vector<std::string> m_names;
  std::vector<Hid> m_datasets;
  Hid m_file;
};

/// The file's chunking for dataset `ds` (empty grid: contiguous). Compressed output is always
/// chunked: by `options.chunks`, or else by the array's own chunks, halved along their longest
/// axes down to kEncodedChunkBytes (a chunk is the unit every reader decompresses whole).
constexpr std::size_t kEncodedChunkBytes = std::size_t{4} << 20;
ChunkGrid file_chunking(const Hdf5Dataset& ds, const Hdf5WriteOptions& options) {
  if (ds.array.ndim() == 0 || ds.array.size() == 0) return ChunkGrid();
  if (!options.chunks && write_filters(options).any()) {
    const ChunkGrid& g = ds.array.chunks();
    Shape c(static_cast<std::size_t>(g.ndim()));
    for (int a = 0; a < g.ndim(); ++a) c[static_cast<std::size_t>(a)] = g.sizes(a)[0];
    const std::size_t itemsize = dtype_size(ds.array.dtype());
    while (static_cast<std::size_t>(shape_size(c)) * itemsize > kEncodedChunkBytes) {
      auto longest = std::max_element(c.begin(), c.end());
      if (*longest == 1) break;
      *longest = (*longest + 1) / 2;
    }
    std::vector<AxisChunks> axes;
    for (index_t v : c) axes.emplace_back(v);
    return ChunkSpec(std::move(axes)).resolve(ds.array.shape(), ds.array.dtype());
  }
  if (!options.chunks) return ChunkGrid();
  const ChunkGrid g = options.chunks->resolve(ds.array.shape(), ds.array.dtype());
  // HDF5 chunks are regular: the first chunk of every axis is the chunk shape.
  std::vector<AxisChunks> axes;
  for (int a = 0; a < g.ndim(); ++a) axes.emplace_back(g.sizes(a)[0]);
  return ChunkSpec(std::move(axes)).resolve(ds.array.shape(), ds.array.dtype());
}

}  // namespace
}  // namespace detail

Array from_hdf5(const std::string& path, const std::string& dataset,
                const Hdf5ReadOptions& options) {
  Scheduler& s = detail::scheduler_or_default(options.scheduler);
  const std::string shared = detail::query_on_root(s, [&] {
    WireWriter w;
    detail::probe(path, dataset).write(w);
    return detail::shared_bytes(w);
  });
  WireReader r = detail::decode_shared(shared);
  const auto info = detail::DatasetInfo::read(r);
  const ChunkGrid grid = options.chunks
                             ? options.chunks->resolve(info.shape, info.dtype)
                             : detail::default_file_chunks(info.shape, info.dtype, info.file_chunks,
                                                           options.target_chunk_bytes);
  std::shared_ptr<const detail::RegionReader> reader;
  if (!info.chunks.addresses.empty()) {
    reader = std::make_shared<detail::ChunkedReader>(path, detail::where(path, dataset), info.shape,
                                                     info.file_chunks, dtype_size(info.dtype),
                                                     info.swapped, info.chunks);
  } else if (info.flat) {
    reader = std::make_shared<detail::FlatReader>(
        path, detail::FlatLayout{info.offset, info.shape, dtype_size(info.dtype), info.swapped});
  } else {
    reader = std::make_shared<detail::Hdf5Reader>(path, dataset);
  }
  const Token identity = Tokenizer()
                             .add(std::string_view("hdf5"))
                             .add(path)
                             .add(dataset)
                             .add(info.stamp.size)
                             .add(info.stamp.mtime_ns)
                             .finish();
  return Array(std::make_shared<detail::FileSource>(info.shape, grid, info.dtype, identity,
                                                    "from_hdf5", std::move(reader)));
}

void to_hdf5(const std::string& path, const std::string& dataset, const Array& array,
             const Hdf5WriteOptions& options) {
  to_hdf5(path, std::vector<Hdf5Dataset>{{dataset, array, {}}}, options);
}

void to_hdf5(const std::string& path, const std::vector<Hdf5Dataset>& datasets,
             const Hdf5WriteOptions& options) {
  Scheduler& s = detail::scheduler_or_default(options.compute.scheduler);
  if (datasets.empty()) throw value_error(fmt::format("to_hdf5 '{}': no datasets to write", path));
  if (options.compression.gzip < 0 || options.compression.gzip > 9) {
    throw value_error(
        fmt::format("to_hdf5 '{}': gzip level {} is not in 0-9", path, options.compression.gzip));
  }
  std::vector<ChunkGrid> file_grids;
  for (std::size_t k = 0; k < datasets.size(); ++k) {
    const auto& name = datasets[k].name;
    if (name.empty() || name == "/" || name.back() == '/')
      throw value_error(fmt::format("to_hdf5 '{}': '{}' is not a dataset name", path, name));
    for (std::size_t j = 0; j < k; ++j) {
      if (datasets[j].name == name)
        throw value_error(fmt::format("to_hdf5 '{}': dataset '{}' is given twice", path, name));
    }
    file_grids.push_back(detail::file_chunking(datasets[k], options));
  }
  detail::AtomicOutput out(s, path, options.overwrite, [&](const std::string& tmp) {
    return detail::create_file(tmp, datasets, file_grids, options);
  });
  const auto layouts = detail::decode_layouts(out.layout(), datasets);

  std::exception_ptr failed;
  try {
    std::vector<ExprPtr> roots;
    for (const auto& d : datasets) roots.push_back(d.array.expr());
    auto file = std::make_shared<detail::LazyFile>(out.temporary(), detail::PosixFile::Mode::write);
    const detail::ChunkFilters filters = detail::write_filters(options);
    detail::EncodedChunkWriter encoded_writer(out.temporary(), datasets);
    detail::EncodedOutputs encoded;
    for (const auto& g : file_grids) encoded.grids.push_back(filters.any() ? g : ChunkGrid());
    encoded.encode = [&](std::size_t, const Block& chunk) {
      return detail::encode_chunk(chunk.data(), chunk.nbytes(), dtype_size(chunk.dtype()), filters);
    };
    encoded.write = [&](std::size_t k, const Shape& origin, const detail::EncodedChunk& c) {
      encoded_writer.write(k, origin, c);
    };
    detail::store_chunks(
        s, roots, options.compute.lowering,
        [&](std::size_t k, const Shape& origin, const Block& b) {
          detail::write_chunk(file->get(), layouts[k], file_grids[k], b, origin);
        },
        filters.any() ? &encoded : nullptr);
    encoded_writer.close();
  } catch (...) {
    failed = std::current_exception();
  }
  out.commit(failed);
}

namespace detail {
namespace {

Hdf5Object describe(hid_t file, const std::string& path, const std::string& name) {
  Hdf5Object o;
  o.path = name;
  H5O_info_t info;
  check_hdf5_status(H5Oget_info_by_name(file, name.c_str(), &info, H5P_DEFAULT),
                    fmt::format("cannot open '{}' in '{}'", name, path));
  if (info.type != H5O_TYPE_DATASET) return o;
  o.is_dataset = true;
  Hid d(check_hdf5(H5Dopen2(file, name.c_str(), H5P_DEFAULT),
                   fmt::format("cannot open {}", where(path, name))));
  Hid space(H5Dget_space(d)), type(H5Dget_type(d)), dcpl(H5Dget_create_plist(d));
  if (H5Sget_simple_extent_type(space) != H5S_NULL)
    o.shape = dataspace_shape(space, where(path, name));
  o.type = type_text(type);
  try {
    o.dtype = stored_type(type, where(path, name)).dtype;
  } catch (const dtype_error&) {
  }
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    std::vector<hsize_t> c(o.shape.size());
    H5Pget_chunk(dcpl, static_cast<int>(c.size()), c.data());
    o.chunks.assign(c.begin(), c.end());
  }
  for (int f = 0; f < H5Pget_nfilters(dcpl); ++f) {
    unsigned flags = 0, config = 0;
    std::size_t n = 0;
    char fname[64] = {};
    H5Pget_filter2(dcpl, static_cast<unsigned>(f), &flags, &n, nullptr, sizeof fname, fname,
                   &config);
    o.filters.emplace_back(fname[0] ? fname : "filter");
  }
  o.storage_bytes = H5Dget_storage_size(d);
  return o;
}

/// Group or dataset `object` ("/" for the file's root group); io_error naming it when missing.
Hid open_object(hid_t file, const std::string& path, const std::string& object) {
  if (object != "/" && H5Lexists(file, object.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw io_error(fmt::format("'{}' has no object '{}'", path, object));
  }
  return Hid(check_hdf5(H5Oopen(file, object.c_str(), H5P_DEFAULT),
                        fmt::format("cannot open '{}' in '{}'", object, path)));
}

herr_t collect_names(hid_t, const char* name, const H5O_info_t*, void* out) {
  auto* names = static_cast<std::vector<std::string>*>(out);
  if (std::string_view(name) != ".") names->emplace_back(name);
  return 0;
}

}  // namespace
}  // namespace detail

std::vector<Hdf5Object> list_hdf5(const std::string& path, const std::string& object,
                                  Scheduler* scheduler) {
  Scheduler& s = detail::scheduler_or_default(scheduler);
  const std::string encoded = detail::query_on_root(s, [&] {
    auto lock = detail::lock_hdf5();
    detail::Hid file = detail::open_file_for_reading(path);
    detail::Hid root = detail::open_object(file, path, object);
    std::vector<std::string> names;
    detail::check_hdf5_status(
        H5Ovisit(root, H5_INDEX_NAME, H5_ITER_INC, detail::collect_names, &names),
        fmt::format("cannot list '{}' in '{}'", object, path));
    const std::string base = object == "/" ? "" : (object.front() == '/' ? object : "/" + object);
    std::vector<std::string> full{base.empty() ? "/" : base};
    for (const auto& n : names) full.push_back(base + "/" + n);
    WireWriter w;
    w.put<std::uint64_t>(full.size());
    for (const auto& n : full) {
      const Hdf5Object o = detail::describe(file, path, n);
      w.write(o.path);
      w.put(o.is_dataset);
      w.write(o.shape);
      w.write(o.type);
      w.put<std::int32_t>(o.dtype ? static_cast<std::int32_t>(*o.dtype) : -1);
      w.write(o.chunks);
      w.write(o.filters);
      w.put(o.storage_bytes);
    }
    return detail::shared_bytes(w);
  });
  WireReader r = detail::decode_shared(encoded);
  std::vector<Hdf5Object> out(static_cast<std::size_t>(r.get<std::uint64_t>()));
  for (auto& o : out) {
    o.path = r.read<std::string>();
    o.is_dataset = r.get<bool>();
    o.shape = r.read<Shape>();
    o.type = r.read<std::string>();
    if (const auto dt = r.get<std::int32_t>(); dt >= 0) o.dtype = static_cast<DType>(dt);
    o.chunks = r.read<Shape>();
    o.filters = r.read<std::vector<std::string>>();
    o.storage_bytes = r.get<std::uint64_t>();
  }
  return out;
}

Attributes read_hdf5_attributes(const std::string& path, const std::string& object,
                                Scheduler* scheduler) {
  Scheduler& s = detail::scheduler_or_default(scheduler);
  const std::string encoded = detail::query_on_root(s, [&] {
    auto lock = detail::lock_hdf5();
    detail::Hid file = detail::open_file_for_reading(path);
    detail::Hid obj = detail::open_object(file, path, object);
    H5O_info_t oi;
    H5Oget_info(obj, &oi);
    Attributes found;
    for (hsize_t i = 0; i < oi.num_attrs; ++i) {
      detail::Hid a(
          H5Aopen_by_idx(obj, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
      if (a.get() < 0)
        a = detail::Hid(
            H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
      H5Eclear2(H5E_DEFAULT);
      const ssize_t nlen = H5Aget_name(a, 0, nullptr);
      std::string name(static_cast<std::size_t>(std::max<ssize_t>(nlen, 0)), '\0');
      H5Aget_name(a, name.size() + 1, name.data());
      detail::Hid type(H5Aget_type(a)), space(H5Aget_space(a));
      const hssize_t n = H5Sget_simple_extent_npoints(space);
      const bool scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
      const H5T_class_t cls = H5Tget_class(type);
      if (cls == H5T_STRING) {
        std::string v;
        if (H5Tis_variable_str(type) > 0) {
          char* p = nullptr;
          detail::Hid mem(H5Tcopy(H5T_C_S1));
          H5Tset_size(mem, H5T_VARIABLE);
          H5Tset_cset(mem, H5Tget_cset(type));
          detail::check_hdf5_status(H5Aread(a, mem, &p),
                                    fmt::format("cannot read attribute '{}'", name));
          v = p ? p : "";
          H5free_memory(p);
        } else {
          v.resize(H5Tget_size(type));
          H5Aread(a, type, v.data());
          v.resize(std::strlen(v.c_str()));
        }
        found[name] = std::move(v);
      } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        // A scalar dataspace gives a number; any other (a list, even of one) gives a list.
        auto read = [&]<class T>(hid_t memory_type) {
          std::vector<T> v(static_cast<std::size_t>(n));
          if (n > 0) H5Aread(a, memory_type, v.data());
          if (scalar && n == 1) {
            found[name] = v[0];
          } else {
            found[name] = std::move(v);
          }
        };
        if (cls == H5T_FLOAT) {
          read.template operator()<double>(H5T_NATIVE_DOUBLE);
        } else {
          read.template operator()<std::int64_t>(H5T_NATIVE_INT64);
        }
      } else {
        throw dtype_error(fmt::format("attribute '{}' of '{}' in '{}' is not a number or a string",
                                      name, object, path));
      }
    }
    WireWriter w;
    w.put<std::uint64_t>(found.size());
    for (const auto& [name, value] : found) {
      w.write(name);
      w.put<std::uint8_t>(static_cast<std::uint8_t>(value.index()));
      std::visit([&](const auto& v) { w.write(v); }, value);
    }
    return detail::shared_bytes(w);
  });
  WireReader r = detail::decode_shared(encoded);
  Attributes out;
  for (auto n = r.get<std::uint64_t>(); n > 0; --n) {
    auto name = r.read<std::string>();
    // The alternatives in AttributeValue's order.
    switch (r.get<std::uint8_t>()) {
      case 0:
        out[name] = r.read<std::int64_t>();
        break;
      case 1:
        out[name] = r.read<double>();
        break;
      case 2:
        out[name] = r.read<std::string>();
        break;
      case 3:
        out[name] = r.read<std::vector<std::int64_t>>();
        break;
      default:
        out[name] = r.read<std::vector<double>>();
        break;
    }
  }
  return out;
}

}  // namespace tessera
