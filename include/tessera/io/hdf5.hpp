#pragma once
/// @file
/// HDF5 datasets as lazy arrays, and arrays written to HDF5 files.
///
///     auto x = tessera::from_hdf5("run/fields.h5", "/u/velocity");      // collective, lazy
///     tessera::to_hdf5("out.h5", "anomaly", x - x.mean(0));              // collective, atomic
///
/// Reading: every chunk of the array is a task that reads its hyperslab of the dataset on the
/// rank that runs it, and fuses with the operations that consume it (`x.sum()` reads each chunk
/// once and keeps no copy of x). Only the chunks an expression needs are read.
///
/// Writing: one pass over the arrays' graph; every rank writes the chunks it computed in place
/// (the datasets' storage is allocated when the file is created), or, compressed, compresses
/// them and sends the compressed bytes to rank 0, which writes them. The file appears at `path`
/// only when every rank has succeeded: it is written under a temporary name in the same directory
/// and renamed at the end; after a failure on any rank the temporary is removed and `path` is
/// untouched.
///
/// Every function here is collective: all ranks call it, in the same order, with the same
/// arguments; an error (a missing file or dataset, an unsupported type, an existing output) is
/// raised on every rank with the same message.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// An attribute value: a number, a string, or a 1-d list of numbers.
using AttributeValue =
    std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>>;
using Attributes = std::map<std::string, AttributeValue>;

struct Hdf5ReadOptions {
  /// The array's chunks. Default: the dataset's own chunks when they hold 4 MiB or more (each
  /// is then read straight into its array chunk), else multiplied up to about
  /// `target_chunk_bytes`; for a contiguous dataset, blocks of whole rows of about that size.
  std::optional<ChunkSpec> chunks = std::nullopt;
  std::size_t target_chunk_bytes = std::size_t{32} << 20;
  /// Where the metadata query runs (nullptr: the default scheduler).
  Scheduler* scheduler = nullptr;
};

/// The dataset `dataset` ("/group/name" or "name") of the HDF5 file at `path`, as a lazy array.
/// Every numeric dtype and byte order is read: float64/float32, int64/int32, bool (h5py's enum);
/// int8, int16, uint8 and uint16 are read as int32 and uint32 as int64 (exact); uint64 is
/// rejected (dtype_error) as are compound, string and other non-numeric types. Throws io_error
/// for a missing or unreadable file or dataset. Collective.
Array from_hdf5(const std::string& path, const std::string& dataset,
                const Hdf5ReadOptions& options = {});

/// Compression of a file's chunked datasets, with HDF5's own filters (h5py's
/// `compression="gzip", compression_opts=N, shuffle=True`): any HDF5 reader decompresses them.
struct Hdf5Compression {
  int gzip = 0;          ///< deflate level 1-9 (1 fastest); 0: not compressed
  bool shuffle = false;  ///< HDF5's byte shuffle first (numbers often compress much better)
};

struct Hdf5WriteOptions {
  /// The dataset's chunking in the file (regular: the first chunk of each axis sets the chunk
  /// shape). Default: contiguous; compressed, the array's chunks, halved along their longest
  /// axes down to 4 MiB.
  std::optional<ChunkSpec> chunks = std::nullopt;
  /// Each chunk is compressed on the rank that computed it (in parallel); rank 0 writes the
  /// compressed chunks into the file as they arrive.
  Hdf5Compression compression = {};
  /// Replace an existing file at `path` (else io_error, and the file is kept).
  bool overwrite = false;
  /// Attributes of the file's root group.
  Attributes file_attributes = {};
  /// How the arrays are computed (scheduler, lowering).
  ComputeOptions compute = {};
};

/// One dataset of a file written by to_hdf5.
struct Hdf5Dataset {
  std::string name;  ///< "/group/name" or "name"; groups are created
  Array array;
  Attributes attributes = {};
};

/// Writes `array` as dataset `dataset` of a new HDF5 file `path`. value_error for a gzip level
/// outside 0-9. Collective.
void to_hdf5(const std::string& path, const std::string& dataset, const Array& array,
             const Hdf5WriteOptions& options = {});
/// Writes several arrays into one new file in one pass over their graph: inputs they share are
/// read or computed once (Dask's `store`). Collective.
void to_hdf5(const std::string& path, const std::vector<Hdf5Dataset>& datasets,
             const Hdf5WriteOptions& options = {});

/// One group or dataset of an HDF5 file (what `tessera-h5 info` shows).
struct Hdf5Object {
  std::string path;  ///< "/group/name"
  bool is_dataset = false;
  Shape shape = {};  ///< datasets: the dataspace's dimensions
  std::string type =
      {};  ///< the stored type: "float64", "uint8", ">int32", "compound", "string", ...
  std::optional<DType> dtype =
      std::nullopt;                       ///< the dtype from_hdf5 reads it as (none: unsupported)
  Shape chunks = {};                      ///< empty: contiguous or compact
  std::vector<std::string> filters = {};  ///< "deflate", "shuffle", ...
  std::uint64_t storage_bytes = 0;        ///< bytes the data takes in the file
};

/// `object` and every group and dataset below it, `object` first, then in name order
/// (io_error for a missing file or object). Collective.
std::vector<Hdf5Object> list_hdf5(const std::string& path, const std::string& object = "/",
                                  Scheduler* scheduler = nullptr);

/// The attributes of object `object` ("/" for the file, or a group or dataset) of the file at
/// `path`. Numbers come back as int64 or double, strings as strings. Collective.
Attributes read_hdf5_attributes(const std::string& path, const std::string& object = "/",
                                Scheduler* scheduler = nullptr);

}  // namespace tessera
