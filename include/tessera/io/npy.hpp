#pragma once
/// @file
/// NumPy's .npy files and flat binary files as lazy arrays, and arrays written to them.
///
///     auto x = tessera::from_npy("field.npy");                    // collective, lazy
///     tessera::to_npy("mean.npy", x.mean(0));                      // numpy.load reads it
///     auto y = tessera::from_raw("dump.bin", DType::Float32, {512, 512, 512}, {.offset = 4096});
///
/// As for HDF5 (tessera/io/hdf5.hpp): chunks are read by the rank that needs them, with
/// positioned reads fused into the consuming operations; every rank writes the chunks it
/// computed, and the file appears at its path only when every rank has succeeded (a
/// temporary in the same directory, renamed at the end; removed after a failure). Every
/// function is collective, and raises the same error on every rank.

#include <cstdint>
#include <optional>
#include <string>

#include "tessera/array/array.hpp"

namespace tessera {

struct FileReadOptions {
  /// The array's chunks. Default: blocks of whole rows of about `target_chunk_bytes` (each one
  /// contiguous run of the file).
  std::optional<ChunkSpec> chunks = std::nullopt;
  std::size_t target_chunk_bytes = std::size_t{32} << 20;
  /// Where the file's header is read (nullptr: the default scheduler).
  Scheduler* scheduler = nullptr;
};

struct FileWriteOptions {
  /// Replace an existing file at the path (else io_error, and the file is kept).
  bool overwrite = false;
  /// How the array is computed (scheduler, lowering).
  ComputeOptions compute = {};
};

/// The array stored in the .npy file at `path` (format versions 1-3; dtypes '<f8', '<f4',
/// '<i8', '<i4', '|b1' and their big-endian forms). C order only: a Fortran-ordered file is
/// rejected (value_error), as is any other dtype (dtype_error). Collective.
Array from_npy(const std::string& path, const FileReadOptions& options = {});

/// Writes `array` as a .npy file (version 1.0, or 2.0 for a header over 64 KiB; little-endian,
/// C order) that numpy.load reads. Collective.
void to_npy(const std::string& path, const Array& array, const FileWriteOptions& options = {});

struct RawReadOptions {
  /// Byte offset of the first element (a header to skip).
  std::uint64_t offset = 0;
  /// The file's byte order is the other one than this machine's (e.g. big-endian data on x86).
  bool swap_bytes = false;
  std::optional<ChunkSpec> chunks = std::nullopt;
  std::size_t target_chunk_bytes = std::size_t{32} << 20;
  Scheduler* scheduler = nullptr;
};

/// A flat binary file of `shape` elements of `dtype` in C order from byte `options.offset`.
/// io_error when the file is shorter than that. Collective.
Array from_raw(const std::string& path, DType dtype, const Shape& shape,
               const RawReadOptions& options = {});

/// Writes `array`'s elements in C order, this machine's byte order, nothing else. Collective.
void to_raw(const std::string& path, const Array& array, const FileWriteOptions& options = {});

}  // namespace tessera
