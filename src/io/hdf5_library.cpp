#include "io/hdf5_library.hpp"

#include <fmt/format.h>

#include <cstring>

#include "tessera/core/error.hpp"

namespace tessera::detail {

std::unique_lock<std::recursive_mutex> lock_hdf5() {
  static std::recursive_mutex m;
  std::unique_lock<std::recursive_mutex> lock(m);
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
  return lock;
}

void Hid::reset() noexcept {
  if (m_id < 0) return;
  switch (H5Iget_type(m_id)) {
    case H5I_FILE:
      H5Fclose(m_id);
      break;
    case H5I_GROUP:
      H5Gclose(m_id);
      break;
    case H5I_DATASET:
      H5Dclose(m_id);
      break;
    case H5I_DATASPACE:
      H5Sclose(m_id);
      break;
    case H5I_DATATYPE:
      H5Tclose(m_id);
      break;
    case H5I_ATTR:
      H5Aclose(m_id);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(m_id);
      break;
    default:
      H5Idec_ref(m_id);
      break;
  }
  m_id = H5I_INVALID_HID;
}

namespace {
herr_t innermost(unsigned n, const H5E_error2_t* e, void* out) {
  // The stack is walked from the innermost call outwards: the first entry is the root cause.
  auto* s = static_cast<std::string*>(out);
  if (n == 0 && e->desc) *s = e->desc;
  return 0;
}
}  // namespace

void throw_hdf5(const std::string& what) {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  throw io_error(reason.empty() ? what : fmt::format("{}: {}", what, reason));
}

hid_t check_hdf5(hid_t id, const std::string& what) {
  if (id < 0) throw_hdf5(what);
  return id;
}

namespace {

bool is_bool_enum(hid_t type) {
  if (H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    std::int8_t value = -1;
    H5Tget_member_value(type, i, &value);
    const bool ok = name && ((std::strcmp(name, "FALSE") == 0 && value == 0) ||
                             (std::strcmp(name, "TRUE") == 0 && value == 1));
    H5free_memory(name);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string type_text(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  const char* order = H5Tget_order(type) == H5T_ORDER_BE && size > 1 ? ">" : "";
  switch (cls) {
    case H5T_FLOAT:
      return fmt::format("{}float{}", order, size * 8);
    case H5T_INTEGER:
      return fmt::format("{}{}int{}", order, H5Tget_sign(type) == H5T_SGN_2 ? "" : "u", size * 8);
    case H5T_ENUM:
      return is_bool_enum(type) ? "bool (enum)" : "enum";
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "variable-length";
    case H5T_REFERENCE:
      return "reference";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_BITFIELD:
      return "bitfield";
    default:
      return "other";
  }
}

StoredType stored_type(hid_t type, const std::string& where) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  const bool little = H5Tget_order(type) == H5T_ORDER_LE;
  const bool native_little = H5Tget_order(H5T_NATIVE_INT) == H5T_ORDER_LE;
  StoredType st{DType::Float64, Hid(), false, false};
  auto native = [](hid_t t) { return Hid(H5Tcopy(t)); };
  if (cls == H5T_FLOAT) {
    if (size != 4 && size != 8) {
      throw dtype_error(fmt::format("{} holds {}-bit floats; Tessera reads float32 and float64",
                                    where, size * 8));
    }
    st.dtype = size == 4 ? DType::Float32 : DType::Float64;
    st.memory_type = native(size == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE);
    st.raw = H5Tequal(type, size == 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE) > 0 ||
             H5Tequal(type, size == 4 ? H5T_IEEE_F32BE : H5T_IEEE_F64BE) > 0;
  } else if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (size != 1 && size != 2 && size != 4 && size != 8)
      throw dtype_error(fmt::format("{} holds {}-bit integers", where, size * 8));
    // Every integer type has its dtype: int8 ... int64, uint8 ... uint64.
    static const std::pair<DType, hid_t> signed_types[] = {{DType::Int8, H5T_NATIVE_INT8},
                                                           {DType::Int16, H5T_NATIVE_INT16},
                                                           {DType::Int32, H5T_NATIVE_INT32},
                                                           {DType::Int64, H5T_NATIVE_INT64}};
    static const std::pair<DType, hid_t> unsigned_types[] = {{DType::UInt8, H5T_NATIVE_UINT8},
                                                             {DType::UInt16, H5T_NATIVE_UINT16},
                                                             {DType::UInt32, H5T_NATIVE_UINT32},
                                                             {DType::UInt64, H5T_NATIVE_UINT64}};
    const std::size_t k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    const auto& [dtype, memory] = is_signed ? signed_types[k] : unsigned_types[k];
    st.dtype = dtype;
    st.memory_type = native(memory);
    st.raw = H5Tget_precision(type) == size * 8 && H5Tget_offset(type) == 0;
  } else if (cls == H5T_ENUM && is_bool_enum(type)) {
    st.dtype = DType::Bool;
    st.memory_type = Hid(H5Tget_native_type(type, H5T_DIR_ASCEND));
    st.raw = true;
  } else {
    throw dtype_error(
        fmt::format("{} has a {} type; Tessera reads numeric datasets (floats, integers, booleans)",
                    where, type_text(type)));
  }
  st.swapped = st.raw && size > 1 && little != native_little;
  return st;
}

Hid file_type(DType dtype) {
  switch (dtype) {
    case DType::Float64:
      return Hid(H5Tcopy(H5T_IEEE_F64LE));
    case DType::Float32:
      return Hid(H5Tcopy(H5T_IEEE_F32LE));
    case DType::Int8:
      return Hid(H5Tcopy(H5T_STD_I8LE));
    case DType::Int16:
      return Hid(H5Tcopy(H5T_STD_I16LE));
    case DType::Int32:
      return Hid(H5Tcopy(H5T_STD_I32LE));
    case DType::Int64:
      return Hid(H5Tcopy(H5T_STD_I64LE));
    case DType::UInt8:
      return Hid(H5Tcopy(H5T_STD_U8LE));
    case DType::UInt16:
      return Hid(H5Tcopy(H5T_STD_U16LE));
    case DType::UInt32:
      return Hid(H5Tcopy(H5T_STD_U32LE));
    case DType::UInt64:
      return Hid(H5Tcopy(H5T_STD_U64LE));
    case DType::Bool: {
      Hid t(H5Tenum_create(H5T_STD_I8LE));
      std::int8_t f = 0, tr = 1;
      H5Tenum_insert(t, "FALSE", &f);
      H5Tenum_insert(t, "TRUE", &tr);
      return t;
    }
  }
  throw dtype_error("no HDF5 type for this dtype");
}

}  // namespace tessera::detail
