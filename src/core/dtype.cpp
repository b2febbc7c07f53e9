#include "tessera/core/dtype.hpp"

#include <fmt/format.h>

namespace tessera {

std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::Bool:
      return 1;
    case DType::Int32:
      return 4;
    case DType::Int64:
      return 8;
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
  }
  return 0;
}

std::string_view dtype_name(DType t) noexcept {
  switch (t) {
    case DType::Bool:
      return "bool";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
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
    case DType::Int32:
    case DType::Int64:
      return Kind::Int;
    default:
      return Kind::Float;
  }
}

DType dtype_from_name(std::string_view name) {
  if (name == "bool" || name == "?" || name == "b1") return DType::Bool;
  if (name == "int32" || name == "i4") return DType::Int32;
  if (name == "int64" || name == "i8" || name == "int") return DType::Int64;
  if (name == "float32" || name == "f4") return DType::Float32;
  if (name == "float64" || name == "f8" || name == "float" || name == "double")
    return DType::Float64;
  throw dtype_error(
      fmt::format("unknown dtype '{}' (supported: bool, int32, int64, float32, float64)", name));
}

DType promote(DType a, DType b) noexcept {
  if (a == b) return a;
  if (a > b) std::swap(a, b);  // now a < b in the enum order
  // Mixed int/float: float32 cannot hold every int32/int64 exactly, so NumPy goes to float64.
  if (is_integer(a) && b == DType::Float32) return DType::Float64;
  return b;
}

DType promote_with_scalar(DType array, Kind scalar) noexcept {
  const Kind k = dtype_kind(array);
  if (scalar <= k) return array;
  return scalar == Kind::Int ? DType::Int64 : DType::Float64;
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
  return t == DType::Bool ? DType::Float32 : float_result(t);
}

DType float_result(DType t) noexcept {
  return t == DType::Float32 ? DType::Float32 : DType::Float64;
}

}  // namespace tessera
