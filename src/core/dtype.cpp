#include "tessera/core/dtype.hpp"

#include <utility>

#include <fmt/format.h>

namespace tessera {

std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::Bool:
    case DType::Int8:
    case DType::UInt8:
      return 1;
    case DType::Int16:
    case DType::UInt16:
      return 2;
    case DType::Int32:
    case DType::UInt32:
    case DType::Float32:
      return 4;
    case DType::Int64:
    case DType::UInt64:
    case DType::Float64:
      return 8;
  }
  return 0;
}

std::string_view dtype_name(DType t) noexcept {
  switch (t) {
    case DType::Bool:
      return "bool";
    case DType::Int8:
      return "int8";
    case DType::Int16:
      return "int16";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::UInt8:
      return "uint8";
    case DType::UInt16:
      return "uint16";
    case DType::UInt32:
      return "uint32";
    case DType::UInt64:
      return "uint64";
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
  }
  return "invalid";
}

Kind dtype_kind(DType t) noexcept {
  switch (t) {
    case DType::Bool:
      return Kind::Bool;
    case DType::Float32:
    case DType::Float64:
      return Kind::Float;
    default:
      return Kind::Int;
  }
}

bool is_unsigned(DType t) noexcept {
  return t == DType::UInt8 || t == DType::UInt16 || t == DType::UInt32 || t == DType::UInt64;
}

DType dtype_from_name(std::string_view name) {
  static constexpr std::pair<std::string_view, DType> aliases[] = {
      {"?", DType::Bool},     {"b1", DType::Bool},       {"i1", DType::Int8},
      {"i2", DType::Int16},   {"i4", DType::Int32},      {"i8", DType::Int64},
      {"int", DType::Int64},  {"u1", DType::UInt8},      {"u2", DType::UInt16},
      {"u4", DType::UInt32},  {"u8", DType::UInt64},     {"f4", DType::Float32},
      {"f8", DType::Float64}, {"float", DType::Float64}, {"double", DType::Float64}};
  for (DType t : all_dtypes)
    if (name == dtype_name(t)) return t;
  for (const auto& [alias, t] : aliases)
    if (name == alias) return t;
  throw dtype_error(fmt::format(
      "unknown dtype '{}' (supported: bool, int8, int16, int32, int64, uint8, uint16, uint32, "
      "uint64, float32, float64)",
      name));
}

namespace {
/// An integer dtype's width in bits and signedness.
int int_bits(DType t) noexcept { return static_cast<int>(dtype_size(t)) * 8; }

DType signed_of_bits(int bits) noexcept {
  switch (bits) {
    case 8:
      return DType::Int8;
    case 16:
      return DType::Int16;
    case 32:
      return DType::Int32;
    default:
      return DType::Int64;
  }
}
}  // namespace

DType promote(DType a, DType b) noexcept {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_float(a) || is_float(b)) {
    if (is_float(a) && is_float(b)) return DType::Float64;  // float32 with float64
    const DType i = is_float(a) ? b : a;
    // float32 holds every 8- and 16-bit integer exactly, not the 32- and 64-bit ones.
    const DType f = is_float(a) ? a : b;
    return f == DType::Float32 && dtype_size(i) <= 2 ? DType::Float32 : DType::Float64;
  }
  // Two integers.
  if (is_unsigned(a) == is_unsigned(b)) return dtype_size(a) >= dtype_size(b) ? a : b;
  const DType u = is_unsigned(a) ? a : b, s = is_unsigned(a) ? b : a;
  if (int_bits(s) > int_bits(u)) return s;        // the signed one holds every value of the other
  if (u == DType::UInt64) return DType::Float64;  // no integer holds both: NumPy's float64
  return signed_of_bits(2 * int_bits(u));
}

DType promote_with_scalar(DType array, Kind scalar) noexcept {
  const Kind k = dtype_kind(array);
  if (scalar <= k) return array;
  return scalar == Kind::Int ? DType::Int64 : DType::Float64;
}

DType sum_result(DType t) noexcept {
  if (is_float(t)) return t;
  return is_unsigned(t) ? DType::UInt64 : DType::Int64;
}

namespace detail {
void throw_invalid_dtype(int value) {
  throw dtype_error(fmt::format("invalid dtype value {}", value));
}
void throw_dtype_mismatch(std::string_view context, DType have, DType want) {
  throw dtype_error(
      fmt::format("{} of dtype {} accessed as {}", context, dtype_name(have), dtype_name(want)));
}
}  // namespace detail

DType float_function_result(DType t) noexcept {
  if (t == DType::Bool || (is_integer(t) && dtype_size(t) <= 2)) return DType::Float32;
  return float_result(t);
}

DType float_result(DType t) noexcept {
  return t == DType::Float32 ? DType::Float32 : DType::Float64;
}

}  // namespace tessera
