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

/// The element types an Array can hold. Ordered by promotion rank within NumPy's lattice.
enum class DType : std::uint8_t { Bool, Int32, Int64, Float32, Float64 };

/// The kind of a scalar or dtype: how NumPy orders "weak" Python scalars.
enum class Kind : std::uint8_t { Bool, Int, Float };

std::size_t dtype_size(DType t) noexcept;
std::string_view dtype_name(DType t) noexcept;  // "bool", "int32", ... as NumPy spells them
Kind dtype_kind(DType t) noexcept;
inline bool is_float(DType t) noexcept { return dtype_kind(t) == Kind::Float; }
inline bool is_integer(DType t) noexcept { return dtype_kind(t) == Kind::Int; }

/// Parses "float64", "f8", "int32", "i4", "bool", ...; throws dtype_error naming the text.
DType dtype_from_name(std::string_view name);

/// NumPy's result_type for two array dtypes: int32+float32 -> float64, int64+float32 ->
/// float64, bool+int32 -> int32, float32+float64 -> float64, ...
DType promote(DType a, DType b) noexcept;

/// NumPy 2 (NEP 50) promotion of an array dtype with a "weak" C++ scalar of kind `k`: the
/// scalar adopts the array's dtype unless its kind is higher (int array + 2.5 -> float64,
/// bool array + 2 -> int64, float32 array + 2.5 -> float32).
DType promote_with_scalar(DType array, Kind scalar) noexcept;

/// The floating dtype that true division and mean/var/std produce for `t`: float32 stays
/// float32, everything else (bool included: NumPy's bool / bool is float64) becomes float64.
DType float_result(DType t) noexcept;

/// The dtype of the floating-point functions sqrt, exp, log, sin, cos, tanh, floor and ceil for
/// input `t`: NumPy's smallest float that holds every value of `t` exactly, from the floats
/// Tessera has. bool -> float32 (NumPy gives float16, which Tessera lacks; float32 is the
/// nearest), float32 stays float32, int32, int64 and float64 -> float64.
DType float_function_result(DType t) noexcept;

/// The C++ type that stores elements of each dtype.
template <DType D>
struct dtype_traits;
template <>
struct dtype_traits<DType::Bool> {
  using type = bool;
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
    std::is_same_v<T, bool> || std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, float> || std::is_same_v<T, double>;

/// A C++ type Tessera can store as array elements (bool, int32_t, int64_t, float, double).
template <class T>
concept ElementType = is_element_type_v<T>;

/// The dtype that stores `T`.
template <ElementType T>
constexpr DType dtype_of() noexcept {
  if constexpr (std::is_same_v<T, bool>)
    return DType::Bool;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return DType::Int32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return DType::Int64;
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
/// C's floating -> integer conversion made total: NaN and values outside D's range give D's
/// minimum for signed D (what x86-64, and so NumPy there, produces), and for unsigned D the
/// int64 conversion taken modulo 2^bits (-1.0 -> all ones, as NumPy on x86-64), instead of
/// undefined behaviour. astype and item<T>() both convert through it.
template <class D, class S>
constexpr D float_to_int(S v) noexcept {
  static_assert(std::is_integral_v<D> && !std::is_same_v<D, bool> && std::is_floating_point_v<S>);
  if constexpr (std::is_signed_v<D>) {
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
    case DType::Int32:
      return f.template operator()<std::int32_t>();
    case DType::Int64:
      return f.template operator()<std::int64_t>();
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
  }
  detail::throw_invalid_dtype(static_cast<int>(t));
}

}  // namespace tessera
