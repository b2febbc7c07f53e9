// Elementwise kernels, compiled once per instruction set (see kernels/kernel_set.hpp). The
// loops are plain C++ that the compiler vectorises for the set it compiles for.

#include <cmath>
#include <functional>
#include <limits>

#include "kernels/per_isa/functions.hpp"

namespace tessera::detail::TESSERA_ISA_NAMESPACE {

namespace {

/// out[i] = f(a[i], b[i]) where either operand may be one repeated value.
template <class T, class R, class F>
void binary_loop(const TileArg& a, const TileArg& b, R* __restrict out, index_t n, F f) {
  const T* __restrict pa = static_cast<const T*>(a.data);
  const T* __restrict pb = static_cast<const T*>(b.data);
  if (!a.scalar && !b.scalar) {
    for (index_t i = 0; i < n; ++i) out[i] = f(pa[i], pb[i]);
  } else if (a.scalar && !b.scalar) {
    const T va = *pa;
    for (index_t i = 0; i < n; ++i) out[i] = f(va, pb[i]);
  } else if (!a.scalar) {
    const T vb = *pb;
    for (index_t i = 0; i < n; ++i) out[i] = f(pa[i], vb);
  } else {
    const R v = f(*pa, *pb);
    for (index_t i = 0; i < n; ++i) out[i] = v;
  }
}

/// NumPy's npy_divmod for floats: floor quotient and modulo with the divisor's sign.
template <class T>
T float_floordiv(T a, T b) {
  if (b == 0) return a / b;
  T m = std::fmod(a, b);
  T div = (a - m) / b;
  if (m != 0 && ((b < 0) != (m < 0))) div -= 1;
  if (div != 0) {
    T fd = std::floor(div);
    if (div - fd > T(0.5)) fd += 1;
    return fd;
  }
  return std::copysign(T(0), a / b);
}
template <class T>
T float_mod(T a, T b) {
  if (b == 0) return std::fmod(a, b);
  T m = std::fmod(a, b);
  if (m != 0) {
    if ((b < 0) != (m < 0)) m += b;
  } else {
    m = std::copysign(T(0), b);
  }
  return m;
}
/// The unsigned type integer arithmetic on T wraps in: at least `unsigned`, since narrower
/// types promote to (signed) int, where 65535 * 65535 overflows.
template <class T>
using wrap_unsigned_t = std::common_type_t<std::make_unsigned_t<T>, unsigned>;

/// x op y with two's complement wrap-around for integers (NumPy's behaviour; signed overflow
/// is undefined in C++), plain arithmetic for floats.
template <class T, class Op>
T wrapping(T x, T y, Op op) {
  if constexpr (std::is_integral_v<T>) {
    using U = wrap_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(op(static_cast<U>(x), static_cast<U>(y))));
  } else {
    return static_cast<T>(op(x, y));
  }
}

/// -x: wraps for integers (-MIN == MIN), flips the sign bit for floats (-(0.0) == -0.0).
template <class T>
T negate(T x) {
  if constexpr (std::is_integral_v<T>)
    return wrapping<T>(T(0), x, std::minus<>());
  else
    return -x;
}

/// Whether v < 0 (false for unsigned T, without a tautological comparison).
template <class T>
constexpr bool negative(T v) {
  if constexpr (std::is_signed_v<T>)
    return v < 0;
  else
    return false;
}

template <class T>
T int_floordiv(T a, T b) {
  if (b == 0) return 0;  // NumPy: 0 with a RuntimeWarning
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return static_cast<T>(-static_cast<wrap_unsigned_t<T>>(a));  // no UB at MIN
  }
  T q = static_cast<T>(a / b);
  if ((a % b != 0) && (negative(a) != negative(b))) --q;
  return q;
}
template <class T>
T int_mod(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;  // x % -1 is 0 (no UB at MIN)
  }
  T r = static_cast<T>(a % b);
  if (r != 0 && (negative(r) != negative(b))) r = static_cast<T>(r + b);
  return r;
}
template <class T>
T int_fmod(T a, T b) {
  if (b == 0) return 0;  // NumPy: 0 for a divisor of 0
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;  // no UB at MIN
  }
  return static_cast<T>(a % b);
}
/// NumPy's shifts: by the type's width or more (or by a negative amount) give 0, or -1 for a
/// negative value shifted right.
template <class T>
T shift_left(T a, T b) {
  using U = wrap_unsigned_t<T>;
  if (negative(b) || b >= static_cast<T>(sizeof(T) * 8)) return 0;
  return static_cast<T>(static_cast<U>(a) << b);
}
template <class T>
T shift_right(T a, T b) {
  if (negative(b) || b >= static_cast<T>(sizeof(T) * 8)) return negative(a) ? T(-1) : T(0);
  return static_cast<T>(a >> b);
}
template <class T>
T int_pow(T base, T exp) {
  if (negative(exp)) throw_negative_integer_power();
  using U = wrap_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  for (U e = static_cast<U>(exp); e; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<T>(result);
}
template <class T>
T nan_max(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? b : a;
}
template <class T>
T nan_min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}

template <class T>
void float_pow(const TileArg& a, const TileArg& b, T* out, index_t n) {
  if (b.scalar && !a.scalar) {
    const T e = *static_cast<const T*>(b.data);
    const T* __restrict x = static_cast<const T*>(a.data);
    // Small integral exponents as products (what NumPy's fast_scalar_power does for 2).
    if (e == 2) {
      for (index_t i = 0; i < n; ++i) out[i] = x[i] * x[i];
      return;
    }
    if (e == 3) {
      for (index_t i = 0; i < n; ++i) out[i] = x[i] * x[i] * x[i];
      return;
    }
    if (e == 1) {
      for (index_t i = 0; i < n; ++i) out[i] = x[i];
      return;
    }
    if (e == 0) {
      for (index_t i = 0; i < n; ++i) out[i] = 1;
      return;
    }
    if (e == T(0.5)) {
      for (index_t i = 0; i < n; ++i) out[i] = std::sqrt(x[i]);
      return;
    }
    if (e == -1) {
      for (index_t i = 0; i < n; ++i) out[i] = T(1) / x[i];
      return;
    }
  }
  binary_loop<T>(a, b, out, n, [](T x, T y) { return std::pow(x, y); });
}

template <class T, class R, class F>
void unary_loop(const TileArg& a, R* __restrict out, index_t n, F f) {
  const T* __restrict x = static_cast<const T*>(a.data);
  if (a.scalar) {
    const R v = f(*x);
    for (index_t i = 0; i < n; ++i) out[i] = v;
  } else {
    for (index_t i = 0; i < n; ++i) out[i] = f(x[i]);
  }
}

template <class T>
void binary_typed(BinaryOp op, const TileArg& a, const TileArg& b, void* out_, index_t n) {
  if (is_comparison(op) || is_logical(op)) {
    bool* out = static_cast<bool*>(out_);
    switch (op) {
      case BinaryOp::Eq:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x == y; });
      case BinaryOp::Ne:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x != y; });
      case BinaryOp::Lt:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x < y; });
      case BinaryOp::Le:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x <= y; });
      case BinaryOp::Gt:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x > y; });
      case BinaryOp::Ge:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x >= y; });
      case BinaryOp::And:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x != T(0) && y != T(0); });
      case BinaryOp::Or:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x != T(0) || y != T(0); });
      case BinaryOp::Xor:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return (x != T(0)) != (y != T(0)); });
      default:
        break;
    }
  }
  T* out = static_cast<T*>(out_);
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {  // NumPy's bool arithmetic: + is or, * is and
      case BinaryOp::Add:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x || y; });
      case BinaryOp::Mul:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x && y; });
      case BinaryOp::Maximum:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x || y; });
      case BinaryOp::Minimum:
      case BinaryOp::Fmin:
      case BinaryOp::BitAnd:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x && y; });
      case BinaryOp::Fmax:
      case BinaryOp::BitOr:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x || y; });
      case BinaryOp::BitXor:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return x != y; });
      default:
        throw_unsupported(op, DType::Bool);
    }
  } else {
    switch (op) {
      case BinaryOp::Add:
        return binary_loop<T>(a, b, out, n,
                              [](T x, T y) { return wrapping<T>(x, y, std::plus<>()); });
      case BinaryOp::Sub:
        return binary_loop<T>(a, b, out, n,
                              [](T x, T y) { return wrapping<T>(x, y, std::minus<>()); });
      case BinaryOp::Mul:
        return binary_loop<T>(a, b, out, n,
                              [](T x, T y) { return wrapping<T>(x, y, std::multiplies<>()); });
      case BinaryOp::Div:
        return binary_loop<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x / y); });
      case BinaryOp::Maximum:
        return binary_loop<T>(a, b, out, n, nan_max<T>);
      case BinaryOp::Minimum:
        return binary_loop<T>(a, b, out, n, nan_min<T>);
      case BinaryOp::FloorDiv:
        if constexpr (std::is_floating_point_v<T>)
          return binary_loop<T>(a, b, out, n, float_floordiv<T>);
        else
          return binary_loop<T>(a, b, out, n, int_floordiv<T>);
      case BinaryOp::Mod:
        if constexpr (std::is_floating_point_v<T>)
          return binary_loop<T>(a, b, out, n, float_mod<T>);
        else
          return binary_loop<T>(a, b, out, n, int_mod<T>);
      case BinaryOp::Pow:
        if constexpr (std::is_floating_point_v<T>)
          return float_pow<T>(a, b, out, n);
        else
          return binary_loop<T>(a, b, out, n, int_pow<T>);
      case BinaryOp::Fmod:
        if constexpr (std::is_floating_point_v<T>)
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::fmod(x, y); });
        else
          return binary_loop<T>(a, b, out, n, int_fmod<T>);
      case BinaryOp::Fmax:
        if constexpr (std::is_floating_point_v<T>)
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::fmax(x, y); });
        else
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return x < y ? y : x; });
      case BinaryOp::Fmin:
        if constexpr (std::is_floating_point_v<T>)
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::fmin(x, y); });
        else
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return y < x ? y : x; });
      default:
        break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case BinaryOp::Arctan2:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::atan2(x, y); });
        case BinaryOp::Hypot:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::hypot(x, y); });
        case BinaryOp::Copysign:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return std::copysign(x, y); });
        default:
          break;
      }
    } else {
      switch (op) {
        case BinaryOp::BitAnd:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x & y); });
        case BinaryOp::BitOr:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x | y); });
        case BinaryOp::BitXor:
          return binary_loop<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x ^ y); });
        case BinaryOp::LeftShift:
          return binary_loop<T>(a, b, out, n, shift_left<T>);
        case BinaryOp::RightShift:
          return binary_loop<T>(a, b, out, n, shift_right<T>);
        default:
          break;
      }
    }
  }
  throw_unsupported(op, dtype_of<T>());
}

template <class T>
void unary_typed(UnaryOp op, const TileArg& a, void* out_, index_t n) {
  if (op == UnaryOp::Not)
    return unary_loop<T>(a, static_cast<bool*>(out_), n, [](T x) { return x == T(0); });
  if (is_predicate(op)) {
    bool* out = static_cast<bool*>(out_);
    if constexpr (std::is_floating_point_v<T>) {
      if (op == UnaryOp::IsNan) return unary_loop<T>(a, out, n, [](T x) { return std::isnan(x); });
      if (op == UnaryOp::IsInf) return unary_loop<T>(a, out, n, [](T x) { return std::isinf(x); });
      return unary_loop<T>(a, out, n, [](T x) { return std::isfinite(x); });
    } else {
      const bool finite = op == UnaryOp::IsFinite;
      return unary_loop<T>(a, out, n, [finite](T) { return finite; });
    }
  }
  T* out = static_cast<T*>(out_);
  if constexpr (std::is_same_v<T, bool>) {
    if (op == UnaryOp::Abs) return unary_loop<T>(a, out, n, [](T x) { return x; });
    if (op == UnaryOp::Invert) return unary_loop<T>(a, out, n, [](T x) { return !x; });
  } else {
    if constexpr (std::is_integral_v<T>) {
      if (op == UnaryOp::Invert)
        return unary_loop<T>(a, out, n, [](T x) { return static_cast<T>(~x); });
    }
    if (op == UnaryOp::Sign) {
      return unary_loop<T>(a, out, n, [](T x) {
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(x)) return x;
        }
        return static_cast<T>((T(0) < x) - (x < T(0)));
      });
    }
    switch (op) {
      case UnaryOp::Neg:
        return unary_loop<T>(a, out, n, negate<T>);
      case UnaryOp::Abs:
        if constexpr (std::is_floating_point_v<T>)
          return unary_loop<T>(a, out, n, [](T x) { return std::abs(x); });
        else
          return unary_loop<T>(a, out, n, [](T x) { return negative(x) ? negate<T>(x) : x; });
      default:
        break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case UnaryOp::Sqrt:
          return unary_loop<T>(a, out, n, [](T x) { return std::sqrt(x); });
        case UnaryOp::Exp:
          return unary_loop<T>(a, out, n, [](T x) { return std::exp(x); });
        case UnaryOp::Log:
          return unary_loop<T>(a, out, n, [](T x) { return std::log(x); });
        case UnaryOp::Sin:
          return unary_loop<T>(a, out, n, [](T x) { return std::sin(x); });
        case UnaryOp::Cos:
          return unary_loop<T>(a, out, n, [](T x) { return std::cos(x); });
        case UnaryOp::Tanh:
          return unary_loop<T>(a, out, n, [](T x) { return std::tanh(x); });
        case UnaryOp::Floor:
          return unary_loop<T>(a, out, n, [](T x) { return std::floor(x); });
        case UnaryOp::Ceil:
          return unary_loop<T>(a, out, n, [](T x) { return std::ceil(x); });
        case UnaryOp::Tan:
          return unary_loop<T>(a, out, n, [](T x) { return std::tan(x); });
        case UnaryOp::Arcsin:
          return unary_loop<T>(a, out, n, [](T x) { return std::asin(x); });
        case UnaryOp::Arccos:
          return unary_loop<T>(a, out, n, [](T x) { return std::acos(x); });
        case UnaryOp::Arctan:
          return unary_loop<T>(a, out, n, [](T x) { return std::atan(x); });
        case UnaryOp::Sinh:
          return unary_loop<T>(a, out, n, [](T x) { return std::sinh(x); });
        case UnaryOp::Cosh:
          return unary_loop<T>(a, out, n, [](T x) { return std::cosh(x); });
        case UnaryOp::Arcsinh:
          return unary_loop<T>(a, out, n, [](T x) { return std::asinh(x); });
        case UnaryOp::Arccosh:
          return unary_loop<T>(a, out, n, [](T x) { return std::acosh(x); });
        case UnaryOp::Arctanh:
          return unary_loop<T>(a, out, n, [](T x) { return std::atanh(x); });
        case UnaryOp::Log2:
          return unary_loop<T>(a, out, n, [](T x) { return std::log2(x); });
        case UnaryOp::Log10:
          return unary_loop<T>(a, out, n, [](T x) { return std::log10(x); });
        case UnaryOp::Log1p:
          return unary_loop<T>(a, out, n, [](T x) { return std::log1p(x); });
        case UnaryOp::Expm1:
          return unary_loop<T>(a, out, n, [](T x) { return std::expm1(x); });
        case UnaryOp::Trunc:
          return unary_loop<T>(a, out, n, [](T x) { return std::trunc(x); });
        case UnaryOp::Rint:
          return unary_loop<T>(a, out, n, [](T x) { return std::nearbyint(x); });
        default:
          break;
      }
    }
  }
  throw_unsupported(op, dtype_of<T>());
}

}  // namespace
void binary(BinaryOp op, DType in, const TileArg& a, const TileArg& b, void* out, index_t n) {
  visit_dtype(in, [&]<class T>() { binary_typed<T>(op, a, b, out, n); });
}

void unary(UnaryOp op, DType in, const TileArg& a, void* out, index_t n) {
  visit_dtype(in, [&]<class T>() { unary_typed<T>(op, a, out, n); });
}

void cast(DType from, DType to, const TileArg& a, void* out, index_t n) {
  visit_dtype(from, [&]<class S>() {
    visit_dtype(to, [&]<class D>() {
      const S* __restrict x = static_cast<const S*>(a.data);
      D* __restrict o = static_cast<D*>(out);
      auto conv = [](S v) {
        if constexpr (std::is_same_v<D, bool>)
          return v != S(0);
        else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>)
          return float_to_int<D>(v);
        else
          return static_cast<D>(v);
      };
      if (a.scalar) {
        const D v = conv(*x);
        for (index_t i = 0; i < n; ++i) o[i] = v;
      } else {
        for (index_t i = 0; i < n; ++i) o[i] = conv(x[i]);
      }
    });
  });
}

void where(DType t, const TileArg& cond, const TileArg& a, const TileArg& b, void* out, index_t n) {
  visit_dtype(t, [&]<class T>() {
    const bool* c = static_cast<const bool*>(cond.data);
    const T* pa = static_cast<const T*>(a.data);
    const T* pb = static_cast<const T*>(b.data);
    T* o = static_cast<T*>(out);
    const index_t sc = cond.scalar ? 0 : 1, sa = a.scalar ? 0 : 1, sb = b.scalar ? 0 : 1;
    for (index_t i = 0; i < n; ++i) o[i] = c[i * sc] ? pa[i * sa] : pb[i * sb];
  });
}

void clip(DType t, const TileArg& x, const TileArg& lo, const TileArg& hi, void* out, index_t n) {
  visit_dtype(t, [&]<class T>() {
    const T* px = static_cast<const T*>(x.data);
    const T* pl = static_cast<const T*>(lo.data);
    const T* ph = static_cast<const T*>(hi.data);
    T* o = static_cast<T*>(out);
    const index_t sx = x.scalar ? 0 : 1, sl = lo.scalar ? 0 : 1, sh = hi.scalar ? 0 : 1;
    for (index_t i = 0; i < n; ++i)
      o[i] = nan_min<T>(nan_max<T>(px[i * sx], pl[i * sl]), ph[i * sh]);
  });
}

}  // namespace tessera::detail::TESSERA_ISA_NAMESPACE
