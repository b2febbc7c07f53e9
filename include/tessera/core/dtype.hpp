#pragma once
/// @file
/// Element types and NumPy's promotion rules.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "tessera/core/error.hpp"

namespace tessera {

/// The element types an Array can hold: NumPy's bool, signed and unsigned integers of 8 to 64
/// bits, float32 and float64. (Promotion follows NumPy's table, not this order.)
enum class DType : std::uint8_t {
  Bool,
  Int8,
  Int16,
  Int32,
  Int64,
  UInt8,
  UInt16,
  UInt32,
  UInt64,
  Float32,
  Float64
};

/// Every dtype, in enum order (for tests and tables).
inline constexpr DType all_dtypes[] = {DType::Bool,   DType::Int8,    DType::Int16,  DType::Int32,
                                       DType::Int64,  DType::UInt8,   DType::UInt16, DType::UInt32,
                                       DType::UInt64, DType::Float32, DType::Float64};

/// The kind of a scalar or dtype: how NumPy orders "weak" Python scalars.
enum class Kind : std::uint8_t { Bool, Int, Float };

std::size_t dtype_size(DType t) noexcept;
std::string_view dtype_name(DType t) noexcept;  // "bool", "int32", ... as NumPy spells them
Kind dtype_kind(DType t) noexcept;
inline bool is_float(DType t) noexcept { return dtype_kind(t) == Kind::Float; }
inline bool is_integer(DType t) noexcept { return dtype_kind(t) == Kind::Int; }
/// uint8, uint16, uint32 and uint64.
bool is_unsigned(DType t) noexcept;

/// Parses "float64", "f8", "int32", "i4", "uint8", "u1", "bool", ...; throws dtype_error naming
/// the text.
DType dtype_from_name(std::string_view name);

/// NumPy's result_type for two array dtypes: the smallest dtype that holds every value of both
/// where one exists (int8+uint8 -> int16, uint32+int32 -> int64, int16+float32 -> float32),
/// float64 where none does (uint64+int64, int32+float32).
DType promote(DType a, DType b) noexcept;

/// NumPy 2 (NEP 50) promotion of an array dtype with a "weak" C++ scalar of kind `k`: the
/// scalar adopts the array's dtype unless its kind is higher (int array + 2.5 -> float64,
/// bool array + 2 -> int64, float32 array + 2.5 -> float32, uint8 array + 2 -> uint8).
DType promote_with_scalar(DType array, Kind scalar) noexcept;

/// The floating dtype that true division and mean/var/std produce for `t`: float32 stays
/// float32, everything else (bool included: NumPy's bool / bool is float64) becomes float64.
DType float_result(DType t) noexcept;

/// The dtype of the floating-point functions sqrt, exp, log, sin, cos, tanh, floor and ceil for
/// input `t`: NumPy's smallest float that holds every value of `t` exactly, from the floats
/// Tessera has. bool, int8 and uint8 -> float32 (NumPy gives float16, which Tessera lacks;
/// float32 is the nearest), int16, uint16 and float32 -> float32, the 32- and 64-bit
/// integers and float64 -> float64.
DType float_function_result(DType t) noexcept;

/// The dtype sum, prod, cumsum and cumprod accumulate bool and integers in: NumPy's int64 for
/// bool and signed integers, uint64 for unsigned ones; floats keep their dtype.
DType sum_result(DType t) noexcept;

/// The C++ type that stores elements of each dtype.
template <DType D>
struct dtype_traits;
template <>
struct dtype_traits<DType::Bool> {
  using type = bool;
};
template <>
struct dtype_traits<DType::Int8> {
  using type = std::int8_t;
};
template <>
struct dtype_traits<DType::Int16> {
  using type = std::int16_t;
};
template <>
struct dtype_traits<DType::UInt8> {
  using type = std::uint8_t;
};
template <>
struct dtype_traits<DType::UInt16> {
  using type = std::uint16_t;
};
template <>
struct dtype_traits<DType::UInt32> {
  using type = std::uint32_t;
};
template <>
struct dtype_traits<DType::UInt64> {
  using type = std::uint64_t;
};
template <>
struct dtype_traits<DType::Int32> {
  using type = std::int32_t;
};
template <>
struct dtype_traits<DType::Int64> {
  using type = std::int64_t;
};
template <>
struct dtype_traits<DType::Float32> {
  using type = float;
};
template <>
struct dtype_traits<DType::Float64> {
  using type = double;
};

template <class T>
inline constexpr bool is_element_type_v =
    std::is_same_v<T, bool> || std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::int16_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t> ||
    std::is_same_v<T, std::uint32_t> || std::is_same_v<T, std::uint64_t> ||
    std::is_same_v<T, float> || std::is_same_v<T, double>;

/// A C++ type Tessera can store as array elements (bool, the <cstdint> fixed-width integers of
/// 8 to 64 bits, float, double).
template <class T>
concept ElementType = is_element_type_v<T>;

/// The dtype that stores `T`.
template <ElementType T>
constexpr DType dtype_of() noexcept {
  if constexpr (std::is_same_v<T, bool>)
    return DType::Bool;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return DType::Int8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return DType::Int16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return DType::Int32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return DType::Int64;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return DType::UInt8;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return DType::UInt16;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return DType::UInt32;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return DType::UInt64;
  else if constexpr (std::is_same_v<T, float>)
    return DType::Float32;
  else
    return DType::Float64;
}

/// The kind of a C++ scalar type (used for weak-scalar promotion).
template <class T>
constexpr Kind scalar_kind() noexcept {
  static_assert(std::is_arithmetic_v<T>, "A scalar operand must be an arithmetic type.");
  if constexpr (std::is_same_v<T, bool>)
    return Kind::Bool;
  else if constexpr (std::is_integral_v<T>)
    return Kind::Int;
  else
    return Kind::Float;
}

namespace detail {
/// C's floating -> integer conversion made total, instead of undefined behaviour, as NumPy on
/// x86-64 gives it where it can: 8- and 16-bit D take the int32 conversion modulo 2^bits
/// (300.0 -> int8 44, -1.0 -> uint8 255, NaN -> 0); NaN and values outside D's range give D's
/// minimum for signed 32- and 64-bit D; unsigned 32- and 64-bit D take the int64 conversion
/// modulo 2^bits (-1.0 -> all ones). NumPy's own results for out-of-range values vary with the
/// instruction set; these are fixed. astype and item<T>() both convert through it.
template <class D, class S>
constexpr D float_to_int(S v) noexcept {
  static_assert(std::is_integral_v<D> && !std::is_same_v<D, bool> && std::is_floating_point_v<S>);
  if constexpr (sizeof(D) < 4) {
    return static_cast<D>(float_to_int<std::int32_t>(v));  // x86's 32-bit conversion, truncated
  } else if constexpr (std::is_signed_v<D>) {
    constexpr S lo = static_cast<S>(std::numeric_limits<D>::min());  // -2^(bits-1): exact
    if (!(v >= lo && v < -lo)) return std::numeric_limits<D>::min();
  } else {
    constexpr S hi = static_cast<S>(std::numeric_limits<D>::max() / 2 + 1) * S(2);  // 2^bits
    if (!(v > S(-1) && v < hi)) return static_cast<D>(float_to_int<std::int64_t>(v));
  }
  return static_cast<D>(v);
}

/// static_cast<T>(v) made total for every arithmetic T and element type S: item<T>() uses it,
/// so that item<int>() of NaN or 1e20 gives what astype(int32) gives, not undefined behaviour.
template <class T, class S>
constexpr T convert_value(S v) noexcept {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return float_to_int<T>(v);
  else
    return static_cast<T>(v);
}

// Out of line so that inlined templates do not build strings (GCC 12 -Wrestrict false positives).
[[noreturn]] void throw_invalid_dtype(int value);
/// dtype_error "<context> of dtype <have> accessed as <want>".
[[noreturn]] void throw_dtype_mismatch(std::string_view context, DType have, DType want);
}  // namespace detail

/// Calls `f.template operator()<T>()` with T the storage type of `t`:
///   visit_dtype(t, [&]<class T>() { ... });
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool:
      return f.template operator()<bool>();
    case DType::Int8:
      return f.template operator()<std::int8_t>();
    case DType::Int16:
      return f.template operator()<std::int16_t>();
    case DType::Int32:
      return f.template operator()<std::int32_t>();
    case DType::Int64:
      return f.template operator()<std::int64_t>();
    case DType::UInt8:
      return f.template operator()<std::uint8_t>();
    case DType::UInt16:
      return f.template operator()<std::uint16_t>();
    case DType::UInt32:
      return f.template operator()<std::uint32_t>();
    case DType::UInt64:
      return f.template operator()<std::uint64_t>();
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
  }
  detail::throw_invalid_dtype(static_cast<int>(t));
}

}  // namespace tessera
