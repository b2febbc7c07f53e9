#pragma once
// What the io layer needs from the HDF5 C library: a process-wide lock (Debian's parallel HDF5
// is built without thread safety, so no two threads may be inside the library at once), owning
// handles, errors that carry the library's own reason, and the mapping of HDF5 types to dtypes.

#include <hdf5.h>

#include <mutex>
#include <string>
#include <utility>

#include "tessera/core/dtype.hpp"

namespace tessera::detail {

/// Held by every call into HDF5 in this process. Also silences the library's own printing of
/// errors the first time it is taken (the io layer reports them as exceptions).
std::unique_lock<std::recursive_mutex> lock_hdf5();

/// An HDF5 identifier that is closed when the handle goes (the caller holds lock_hdf5()).
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : m_id(id) {}
  ~Hid() { reset(); }
  Hid(Hid&& o) noexcept : m_id(o.m_id) { o.m_id = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      m_id = o.m_id;
      o.m_id = H5I_INVALID_HID;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  hid_t get() const noexcept { return m_id; }
  operator hid_t() const noexcept { return m_id; }  // NOLINT: passes straight to the C API
  void reset() noexcept;
  /// The identifier, which the handle no longer closes.
  hid_t release() noexcept { return std::exchange(m_id, H5I_INVALID_HID); }

 private:
  hid_t m_id = H5I_INVALID_HID;
};

/// io_error "<what>: <the innermost message of HDF5's error stack>".
[[noreturn]] void throw_hdf5(const std::string& what);
/// `id`, or throw_hdf5(what) when it is negative.
hid_t check_hdf5(hid_t id, const std::string& what);
inline void check_hdf5_status(herr_t status, const std::string& what) {
  if (status < 0) throw_hdf5(what);
}

/// How a dataset's elements are read into an array.
struct StoredType {
  DType dtype;
  Hid memory_type;       ///< the type H5Dread converts to (this machine's)
  bool raw = false;      ///< the file holds exactly the dtype's bytes (maybe swapped)
  bool swapped = false;  ///< ...in the other byte order
};
/// The stored type as people name it: "float64", ">int32" (big-endian), "uint8", "bool (enum)",
/// "compound", "string", ...
std::string type_text(hid_t type);
/// The dtype for file type `type` of `where` ("dataset '/x' of 'f.h5'"); dtype_error for types
/// Tessera does not hold (compound, string, uint64, half floats...).
StoredType stored_type(hid_t type, const std::string& where);
/// The little-endian file type Tessera writes for `dtype` (bool as h5py's FALSE/TRUE enum).
Hid file_type(DType dtype);

}  // namespace tessera::detail
