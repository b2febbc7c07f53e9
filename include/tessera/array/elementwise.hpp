#pragma once
/// @file
/// Element-by-element operations with NumPy broadcasting and dtype promotion.
///
/// C++ scalars are "weak" (NumPy 2, NEP 50): `x + 1` keeps x's dtype, `int_array + 0.5` is
/// float64, `float32_array * 2.0` stays float32. Shape errors are raised when the
/// expression is built and name both shapes.

#include <cstdint>
#include <limits>
#include <type_traits>
#include <variant>

#include "tessera/array/array.hpp"

namespace tessera {

/// A 0-d array holding `value` with the dtype C++ gives it (for use where a weak scalar
/// should instead count as an array).
template <class S>
Array scalar(S value);

namespace detail {
/// A weak scalar operand of `kind`, with its value as double and (exactly) as int64; an
/// unsigned value above INT64_MAX is kept modulo 2^64 in `i`, with `above_int64` set (it fits
/// uint64 arrays only).
struct WeakScalar {
  Kind kind;
  double f;
  std::int64_t i;
  bool above_int64 = false;
  template <class S>
  static WeakScalar of(S v) {
    static_assert(std::is_arithmetic_v<S>, "A scalar operand must be an arithmetic type.");
    if constexpr (std::is_floating_point_v<S>) {
      return {scalar_kind<S>(), static_cast<double>(v), float_to_int<std::int64_t>(v)};
    } else if constexpr (std::is_unsigned_v<S> && sizeof(S) == 8) {
      return {scalar_kind<S>(), static_cast<double>(v), static_cast<std::int64_t>(v),
              v > static_cast<S>(std::numeric_limits<std::int64_t>::max())};
    } else {
      return {scalar_kind<S>(), static_cast<double>(v), static_cast<std::int64_t>(v)};
    }
  }
};
using Operand = std::variant<Array, WeakScalar>;

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  FloorDiv,
  Mod,
  Pow,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  And,
  Or,
  Maximum,
  Minimum,
  Arctan2,
  Hypot,
  Copysign,
  Fmod,
  Xor,
  BitAnd,
  BitOr,
  BitXor,
  LeftShift,
  RightShift,
  Fmax,
  Fmin
};
enum class UnaryOp {
  Neg,
  Abs,
  Sqrt,
  Exp,
  Log,
  Sin,
  Cos,
  Tanh,
  Floor,
  Ceil,
  Not,
  Tan,
  Arcsin,
  Arccos,
  Arctan,
  Sinh,
  Cosh,
  Arcsinh,
  Arccosh,
  Arctanh,
  Log2,
  Log10,
  Log1p,
  Expm1,
  Trunc,
  Rint,
  Sign,
  IsNan,
  IsFinite,
  IsInf,
  Invert
};

Array binary(BinaryOp op, const Operand& a, const Operand& b);
Array unary(UnaryOp op, const Array& x);
Array where(const Operand& cond, const Operand& a, const Operand& b);
Array clip(const Operand& x, const Operand& lo, const Operand& hi);
Array cast(const Array& x, DType dtype);
Array constant(WeakScalar s, DType dtype);
}  // namespace detail

#define TESSERA_BINARY_OPERATOR(SYMBOL, OP)                                     \
  inline Array operator SYMBOL(const Array& a, const Array& b) {                \
    return detail::binary(detail::BinaryOp::OP, a, b);                          \
  }                                                                             \
  template <class S>                                                            \
  requires std::is_arithmetic_v<S> Array operator SYMBOL(const Array& a, S b) { \
    return detail::binary(detail::BinaryOp::OP, a, detail::WeakScalar::of(b));  \
  }                                                                             \
  template <class S>                                                            \
  requires std::is_arithmetic_v<S> Array operator SYMBOL(S a, const Array& b) { \
    return detail::binary(detail::BinaryOp::OP, detail::WeakScalar::of(a), b);  \
  }

TESSERA_BINARY_OPERATOR(+, Add)
TESSERA_BINARY_OPERATOR(-, Sub)
TESSERA_BINARY_OPERATOR(*, Mul)
/// True division: integers give float64.
TESSERA_BINARY_OPERATOR(/, Div)
/// Python's modulo: the result has the divisor's sign.
TESSERA_BINARY_OPERATOR(%, Mod)
TESSERA_BINARY_OPERATOR(==, Eq)
TESSERA_BINARY_OPERATOR(!=, Ne)
TESSERA_BINARY_OPERATOR(<, Lt)
TESSERA_BINARY_OPERATOR(<=, Le)
TESSERA_BINARY_OPERATOR(>, Gt)
TESSERA_BINARY_OPERATOR(>=, Ge)
TESSERA_BINARY_OPERATOR(&&, And)
TESSERA_BINARY_OPERATOR(||, Or)
/// Bitwise operators, for bool and integers (NumPy's `&`, `|`, `^`, `<<`, `>>`): a float operand
/// is a dtype_error. Shifts by the width of the type or more give 0 (or -1 for a negative
/// value shifted right), as NumPy's do.
TESSERA_BINARY_OPERATOR(&, BitAnd)
TESSERA_BINARY_OPERATOR(|, BitOr)
TESSERA_BINARY_OPERATOR(^, BitXor)
TESSERA_BINARY_OPERATOR(<<, LeftShift)
TESSERA_BINARY_OPERATOR(>>, RightShift)
#undef TESSERA_BINARY_OPERATOR

#define TESSERA_BINARY_FUNCTION(NAME, OP)                                      \
  inline Array NAME(const Array& a, const Array& b) {                          \
    return detail::binary(detail::BinaryOp::OP, a, b);                         \
  }                                                                            \
  template <class S>                                                           \
  requires std::is_arithmetic_v<S> Array NAME(const Array& a, S b) {           \
    return detail::binary(detail::BinaryOp::OP, a, detail::WeakScalar::of(b)); \
  }                                                                            \
  template <class S>                                                           \
  requires std::is_arithmetic_v<S> Array NAME(S a, const Array& b) {           \
    return detail::binary(detail::BinaryOp::OP, detail::WeakScalar::of(a), b); \
  }

/// NumPy's `**`: integer powers stay integers (a negative integer exponent is an error).
TESSERA_BINARY_FUNCTION(pow, Pow)
/// NumPy's `//`: floor division (integers divided by zero give 0, as NumPy does).
TESSERA_BINARY_FUNCTION(floor_divide, FloorDiv)
TESSERA_BINARY_FUNCTION(mod, Mod)
TESSERA_BINARY_FUNCTION(logical_and, And)
TESSERA_BINARY_FUNCTION(logical_or, Or)
/// Element-wise maximum / minimum (NaN propagates, as in NumPy).
TESSERA_BINARY_FUNCTION(maximum, Maximum)
TESSERA_BINARY_FUNCTION(minimum, Minimum)
/// Element-wise maximum / minimum ignoring NaN (NaN only where both are NaN).
TESSERA_BINARY_FUNCTION(fmax, Fmax)
TESSERA_BINARY_FUNCTION(fmin, Fmin)
/// Python's modulo (the result has the divisor's sign), NumPy's `remainder`.
TESSERA_BINARY_FUNCTION(remainder, Mod)
/// C's remainder (the result has the dividend's sign); integers divided by 0 give 0.
TESSERA_BINARY_FUNCTION(fmod, Fmod)
TESSERA_BINARY_FUNCTION(logical_xor, Xor)
TESSERA_BINARY_FUNCTION(bitwise_and, BitAnd)
TESSERA_BINARY_FUNCTION(bitwise_or, BitOr)
TESSERA_BINARY_FUNCTION(bitwise_xor, BitXor)
TESSERA_BINARY_FUNCTION(bitwise_left_shift, LeftShift)
TESSERA_BINARY_FUNCTION(bitwise_right_shift, RightShift)
TESSERA_BINARY_FUNCTION(left_shift, LeftShift)
TESSERA_BINARY_FUNCTION(right_shift, RightShift)
/// arctan2, hypot and copysign compute in floating point (the rule of sqrt, for the operands'
/// common dtype).
TESSERA_BINARY_FUNCTION(arctan2, Arctan2)
TESSERA_BINARY_FUNCTION(atan2, Arctan2)
TESSERA_BINARY_FUNCTION(hypot, Hypot)
TESSERA_BINARY_FUNCTION(copysign, Copysign)
#undef TESSERA_BINARY_FUNCTION

inline Array operator-(const Array& x) { return detail::unary(detail::UnaryOp::Neg, x); }
inline Array operator!(const Array& x) { return detail::unary(detail::UnaryOp::Not, x); }
inline Array logical_not(const Array& x) { return detail::unary(detail::UnaryOp::Not, x); }
inline Array abs(const Array& x) { return detail::unary(detail::UnaryOp::Abs, x); }
/// sqrt, exp, log, sin, cos, tanh, floor, ceil: one rule (float_function_result) — float32
/// stays float32, bool gives float32 (NumPy gives float16, which Tessera lacks), int32,
/// int64 and float64 give float64.
inline Array sqrt(const Array& x) { return detail::unary(detail::UnaryOp::Sqrt, x); }
inline Array exp(const Array& x) { return detail::unary(detail::UnaryOp::Exp, x); }
inline Array log(const Array& x) { return detail::unary(detail::UnaryOp::Log, x); }
inline Array sin(const Array& x) { return detail::unary(detail::UnaryOp::Sin, x); }
inline Array cos(const Array& x) { return detail::unary(detail::UnaryOp::Cos, x); }
inline Array tanh(const Array& x) { return detail::unary(detail::UnaryOp::Tanh, x); }
/// floor and ceil follow the same rule (NumPy 1.x and 2.0; 2.1+ keeps integer dtypes).
inline Array floor(const Array& x) { return detail::unary(detail::UnaryOp::Floor, x); }
inline Array ceil(const Array& x) { return detail::unary(detail::UnaryOp::Ceil, x); }

/// More floating-point functions, by the same rule as sqrt: tan, arcsin, arccos, arctan, sinh,
/// cosh, arcsinh, arccosh, arctanh, log2, log10, log1p, expm1, trunc (and the array API's
/// names asin, acos, atan, asinh, acosh, atanh).
#define TESSERA_UNARY_FUNCTION(NAME, OP) \
  inline Array NAME(const Array& x) { return detail::unary(detail::UnaryOp::OP, x); }
TESSERA_UNARY_FUNCTION(tan, Tan)
TESSERA_UNARY_FUNCTION(arcsin, Arcsin)
TESSERA_UNARY_FUNCTION(arccos, Arccos)
TESSERA_UNARY_FUNCTION(arctan, Arctan)
TESSERA_UNARY_FUNCTION(sinh, Sinh)
TESSERA_UNARY_FUNCTION(cosh, Cosh)
TESSERA_UNARY_FUNCTION(arcsinh, Arcsinh)
TESSERA_UNARY_FUNCTION(arccosh, Arccosh)
TESSERA_UNARY_FUNCTION(arctanh, Arctanh)
TESSERA_UNARY_FUNCTION(asin, Arcsin)
TESSERA_UNARY_FUNCTION(acos, Arccos)
TESSERA_UNARY_FUNCTION(atan, Arctan)
TESSERA_UNARY_FUNCTION(asinh, Arcsinh)
TESSERA_UNARY_FUNCTION(acosh, Arccosh)
TESSERA_UNARY_FUNCTION(atanh, Arctanh)
TESSERA_UNARY_FUNCTION(log2, Log2)
TESSERA_UNARY_FUNCTION(log10, Log10)
TESSERA_UNARY_FUNCTION(log1p, Log1p)
TESSERA_UNARY_FUNCTION(expm1, Expm1)
TESSERA_UNARY_FUNCTION(trunc, Trunc)
/// Round half to even, by the rule of floor (integers give float64, as NumPy's rint does).
TESSERA_UNARY_FUNCTION(rint, Rint)
/// -1, 0 or 1 (NaN for NaN) in x's dtype; not for bool (dtype_error).
TESSERA_UNARY_FUNCTION(sign, Sign)
/// bool: NaN, finite (not NaN or infinite), infinite. Integers are finite.
TESSERA_UNARY_FUNCTION(isnan, IsNan)
TESSERA_UNARY_FUNCTION(isfinite, IsFinite)
TESSERA_UNARY_FUNCTION(isinf, IsInf)
/// Bitwise not for integers, logical not for bool; not for floats (dtype_error).
TESSERA_UNARY_FUNCTION(invert, Invert)
TESSERA_UNARY_FUNCTION(bitwise_not, Invert)
TESSERA_UNARY_FUNCTION(bitwise_invert, Invert)
#undef TESSERA_UNARY_FUNCTION
inline Array operator~(const Array& x) { return detail::unary(detail::UnaryOp::Invert, x); }
/// x * x, in x's dtype.
inline Array square(const Array& x) { return x * x; }
/// NumPy's round(x, decimals): half to even at 10^-decimals, floats only for decimals < 0
/// (value_error for integers then); integers and bool are returned as they are otherwise.
Array round(const Array& x, int decimals = 0);

/// Elements of `a` where `cond` is true, of `b` elsewhere; all three broadcast together.
/// Each of the three may be an Array or a C++ scalar.
template <class C, class A, class B>
Array where(const C& cond, const A& a, const B& b);
/// Limits `x` to [lo, hi] (NumPy's minimum(maximum(x, lo), hi)); lo and hi may be scalars.
template <class L, class H>
Array clip(const Array& x, const L& lo, const H& hi);

// --- implementation ---------------------------------------------------------------------------

namespace detail {
template <class T>
Operand operand(const T& v) {
  if constexpr (std::is_same_v<T, Array>)
    return v;
  else
    return WeakScalar::of(v);
}
}  // namespace detail

template <class S>
Array scalar(S value) {
  return detail::constant(
      detail::WeakScalar::of(value),
      dtype_of<
          std::conditional_t<std::is_same_v<S, bool>, bool,
                             std::conditional_t<std::is_integral_v<S>, std::int64_t, double>>>());
}

template <class C, class A, class B>
Array where(const C& cond, const A& a, const B& b) {
  return detail::where(detail::operand(cond), detail::operand(a), detail::operand(b));
}

template <class L, class H>
Array clip(const Array& x, const L& lo, const H& hi) {
  return detail::clip(x, detail::operand(lo), detail::operand(hi));
}

}  // namespace tessera
