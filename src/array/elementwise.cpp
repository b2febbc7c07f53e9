#include "tessera/array/elementwise.hpp"

#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "sources.hpp"

namespace tessera::detail {

namespace {

std::string_view binary_name(BinaryOp op) {
  static constexpr std::string_view names[] = {
      "add",           "subtract",    "multiply",    "true_divide", "floor_divide", "mod",
      "power",         "equal",       "not_equal",   "less",        "less_equal",   "greater",
      "greater_equal", "logical_and", "logical_or",  "maximum",     "minimum",      "arctan2",
      "hypot",         "copysign",    "fmod",        "logical_xor", "bitwise_and",  "bitwise_or",
      "bitwise_xor",   "left_shift",  "right_shift", "fmax",        "fmin"};
  return names[static_cast<int>(op)];
}

std::string_view unary_name(UnaryOp op) {
  static constexpr std::string_view names[] = {
      "negative", "absolute", "sqrt",        "exp",     "log",      "sin",    "cos",    "tanh",
      "floor",    "ceil",     "logical_not", "tan",     "arcsin",   "arccos", "arctan", "sinh",
      "cosh",     "arcsinh",  "arccosh",     "arctanh", "log2",     "log10",  "log1p",  "expm1",
      "trunc",    "rint",     "sign",        "isnan",   "isfinite", "isinf",  "invert"};
  return names[static_cast<int>(op)];
}

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }
bool is_logical(BinaryOp op) {
  return op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Xor;
}
bool is_bitwise(BinaryOp op) { return op >= BinaryOp::BitAnd && op <= BinaryOp::RightShift; }
bool is_float_function(BinaryOp op) { return op >= BinaryOp::Arctan2 && op <= BinaryOp::Copysign; }
bool is_predicate(UnaryOp op) { return op >= UnaryOp::IsNan && op <= UnaryOp::IsInf; }

// --- kernels --------------------------------------------------------------------------------

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
  if (negative(exp)) throw value_error("Integers to negative integer powers are not allowed.");
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

class BinaryExpr final : public ElementwiseExpr {
 public:
  BinaryExpr(BinaryOp op, Shape shape, DType out, ExprPtr a, ExprPtr b)
      : ElementwiseExpr(std::move(shape), out, {std::move(a), std::move(b)},
                        Tokenizer().add(static_cast<int>(op)).finish(), binary_name(op)),
        m_op(op),
        m_in(inputs()[0]->dtype()) {}
  std::string_view op_name() const override { return binary_name(m_op); }

  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    visit_dtype(m_in, [&]<class T>() { run<T>(in[0], in[1], out, n); });
  }

 private:
  template <class T>
  void run(const TileArg& a, const TileArg& b, void* out_, index_t n) const {
    if (is_comparison(m_op) || is_logical(m_op)) {
      bool* out = static_cast<bool*>(out_);
      switch (m_op) {
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
      switch (m_op) {  // NumPy's bool arithmetic: + is or, * is and
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
          throw dtype_error(fmt::format("{} is not supported for bool", binary_name(m_op)));
      }
    } else {
      switch (m_op) {
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
        switch (m_op) {
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
        switch (m_op) {
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
    throw dtype_error(fmt::format("internal: unhandled binary op {}", binary_name(m_op)));
  }

  BinaryOp m_op;
  DType m_in;
};

class UnaryExpr final : public ElementwiseExpr {
 public:
  UnaryExpr(UnaryOp op, DType out, ExprPtr x)
      : ElementwiseExpr(x->shape(), out, {x}, Tokenizer().add(static_cast<int>(op)).finish(),
                        unary_name(op)),
        m_op(op) {}
  std::string_view op_name() const override { return unary_name(m_op); }

  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    visit_dtype(inputs()[0]->dtype(), [&]<class T>() { run<T>(in[0], out, n); });
  }

 private:
  template <class T, class R, class F>
  static void loop(const TileArg& a, R* __restrict out, index_t n, F f) {
    const T* __restrict x = static_cast<const T*>(a.data);
    if (a.scalar) {
      const R v = f(*x);
      for (index_t i = 0; i < n; ++i) out[i] = v;
    } else {
      for (index_t i = 0; i < n; ++i) out[i] = f(x[i]);
    }
  }
  template <class T>
  void run(const TileArg& a, void* out_, index_t n) const {
    if (m_op == UnaryOp::Not)
      return loop<T>(a, static_cast<bool*>(out_), n, [](T x) { return x == T(0); });
    if (is_predicate(m_op)) {
      bool* out = static_cast<bool*>(out_);
      if constexpr (std::is_floating_point_v<T>) {
        if (m_op == UnaryOp::IsNan) return loop<T>(a, out, n, [](T x) { return std::isnan(x); });
        if (m_op == UnaryOp::IsInf) return loop<T>(a, out, n, [](T x) { return std::isinf(x); });
        return loop<T>(a, out, n, [](T x) { return std::isfinite(x); });
      } else {
        const bool finite = m_op == UnaryOp::IsFinite;
        return loop<T>(a, out, n, [finite](T) { return finite; });
      }
    }
    T* out = static_cast<T*>(out_);
    if constexpr (std::is_same_v<T, bool>) {
      if (m_op == UnaryOp::Abs) return loop<T>(a, out, n, [](T x) { return x; });
      if (m_op == UnaryOp::Invert) return loop<T>(a, out, n, [](T x) { return !x; });
    } else {
      if constexpr (std::is_integral_v<T>) {
        if (m_op == UnaryOp::Invert)
          return loop<T>(a, out, n, [](T x) { return static_cast<T>(~x); });
      }
      if (m_op == UnaryOp::Sign) {
        return loop<T>(a, out, n, [](T x) {
          if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(x)) return x;
          }
          return static_cast<T>((T(0) < x) - (x < T(0)));
        });
      }
      switch (m_op) {
        case UnaryOp::Neg:
          return loop<T>(a, out, n, negate<T>);
        case UnaryOp::Abs:
          if constexpr (std::is_floating_point_v<T>)
            return loop<T>(a, out, n, [](T x) { return std::abs(x); });
          else
            return loop<T>(a, out, n, [](T x) { return negative(x) ? negate<T>(x) : x; });
        default:
          break;
      }
      if constexpr (std::is_floating_point_v<T>) {
        switch (m_op) {
          case UnaryOp::Sqrt:
            return loop<T>(a, out, n, [](T x) { return std::sqrt(x); });
          case UnaryOp::Exp:
            return loop<T>(a, out, n, [](T x) { return std::exp(x); });
          case UnaryOp::Log:
            return loop<T>(a, out, n, [](T x) { return std::log(x); });
          case UnaryOp::Sin:
            return loop<T>(a, out, n, [](T x) { return std::sin(x); });
          case UnaryOp::Cos:
            return loop<T>(a, out, n, [](T x) { return std::cos(x); });
          case UnaryOp::Tanh:
            return loop<T>(a, out, n, [](T x) { return std::tanh(x); });
          case UnaryOp::Floor:
            return loop<T>(a, out, n, [](T x) { return std::floor(x); });
          case UnaryOp::Ceil:
            return loop<T>(a, out, n, [](T x) { return std::ceil(x); });
          case UnaryOp::Tan:
            return loop<T>(a, out, n, [](T x) { return std::tan(x); });
          case UnaryOp::Arcsin:
            return loop<T>(a, out, n, [](T x) { return std::asin(x); });
          case UnaryOp::Arccos:
            return loop<T>(a, out, n, [](T x) { return std::acos(x); });
          case UnaryOp::Arctan:
            return loop<T>(a, out, n, [](T x) { return std::atan(x); });
          case UnaryOp::Sinh:
            return loop<T>(a, out, n, [](T x) { return std::sinh(x); });
          case UnaryOp::Cosh:
            return loop<T>(a, out, n, [](T x) { return std::cosh(x); });
          case UnaryOp::Arcsinh:
            return loop<T>(a, out, n, [](T x) { return std::asinh(x); });
          case UnaryOp::Arccosh:
            return loop<T>(a, out, n, [](T x) { return std::acosh(x); });
          case UnaryOp::Arctanh:
            return loop<T>(a, out, n, [](T x) { return std::atanh(x); });
          case UnaryOp::Log2:
            return loop<T>(a, out, n, [](T x) { return std::log2(x); });
          case UnaryOp::Log10:
            return loop<T>(a, out, n, [](T x) { return std::log10(x); });
          case UnaryOp::Log1p:
            return loop<T>(a, out, n, [](T x) { return std::log1p(x); });
          case UnaryOp::Expm1:
            return loop<T>(a, out, n, [](T x) { return std::expm1(x); });
          case UnaryOp::Trunc:
            return loop<T>(a, out, n, [](T x) { return std::trunc(x); });
          case UnaryOp::Rint:
            return loop<T>(a, out, n, [](T x) { return std::nearbyint(x); });
          default:
            break;
        }
      }
    }
    throw dtype_error(
        fmt::format("internal: {} on {}", unary_name(m_op), dtype_name(dtype_of<T>())));
  }

  UnaryOp m_op;
};

class CastExpr final : public ElementwiseExpr {
 public:
  CastExpr(DType to, ExprPtr x)
      : ElementwiseExpr(x->shape(), to, {x}, Tokenizer().add(static_cast<int>(to)).finish(),
                        "astype") {}
  std::string_view op_name() const override { return "astype"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    visit_dtype(inputs()[0]->dtype(), [&]<class S>() {
      visit_dtype(dtype(), [&]<class D>() {
        const S* __restrict x = static_cast<const S*>(in[0].data);
        D* __restrict o = static_cast<D*>(out);
        auto conv = [](S v) {
          if constexpr (std::is_same_v<D, bool>)
            return v != S(0);
          else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>)
            return float_to_int<D>(v);
          else
            return static_cast<D>(v);
        };
        if (in[0].scalar) {
          const D v = conv(*x);
          for (index_t i = 0; i < n; ++i) o[i] = v;
        } else {
          for (index_t i = 0; i < n; ++i) o[i] = conv(x[i]);
        }
      });
    });
  }
};

class WhereExpr final : public ElementwiseExpr {
 public:
  WhereExpr(Shape shape, ExprPtr c, ExprPtr a, ExprPtr b)
      : ElementwiseExpr(std::move(shape), b->dtype(), {c, a, b}, 0, "where") {}
  std::string_view op_name() const override { return "where"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    visit_dtype(dtype(), [&]<class T>() {
      const bool* c = static_cast<const bool*>(in[0].data);
      const T* a = static_cast<const T*>(in[1].data);
      const T* b = static_cast<const T*>(in[2].data);
      T* o = static_cast<T*>(out);
      const index_t sc = in[0].scalar ? 0 : 1, sa = in[1].scalar ? 0 : 1, sb = in[2].scalar ? 0 : 1;
      for (index_t i = 0; i < n; ++i) o[i] = c[i * sc] ? a[i * sa] : b[i * sb];
    });
  }
};

class ClipExpr final : public ElementwiseExpr {
 public:
  ClipExpr(Shape shape, ExprPtr x, ExprPtr lo, ExprPtr hi)
      : ElementwiseExpr(std::move(shape), hi->dtype(), {x, lo, hi}, 0, "clip") {}
  std::string_view op_name() const override { return "clip"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    visit_dtype(dtype(), [&]<class T>() {
      const T* x = static_cast<const T*>(in[0].data);
      const T* lo = static_cast<const T*>(in[1].data);
      const T* hi = static_cast<const T*>(in[2].data);
      T* o = static_cast<T*>(out);
      const index_t sx = in[0].scalar ? 0 : 1, sl = in[1].scalar ? 0 : 1, sh = in[2].scalar ? 0 : 1;
      for (index_t i = 0; i < n; ++i)
        o[i] = nan_min<T>(nan_max<T>(x[i * sx], lo[i * sl]), hi[i * sh]);
    });
  }
};

// --- building -------------------------------------------------------------------------------

/// The dtype of an operand for promotion: arrays are strong, scalars weak.
DType result_dtype(const std::vector<const Operand*>& ops) {
  std::optional<DType> strong;
  Kind weak = Kind::Bool;
  bool any_weak = false;
  for (const Operand* o : ops) {
    if (const auto* a = std::get_if<Array>(o))
      strong = strong ? promote(*strong, a->dtype()) : a->dtype();
    else {
      any_weak = true;
      weak = std::max(weak, std::get<WeakScalar>(*o).kind);
    }
  }
  if (!strong)
    return weak == Kind::Bool ? DType::Bool : weak == Kind::Int ? DType::Int64 : DType::Float64;
  return any_weak ? promote_with_scalar(*strong, weak) : *strong;
}

/// The operand as an array of `dtype` (casting arrays, materialising scalars).
ExprPtr as_expr(const Operand& o, DType dtype) {
  if (const auto* a = std::get_if<Array>(&o)) return cast(*a, dtype).expr();
  const WeakScalar& s = std::get<WeakScalar>(o);
  if (is_integer(dtype) && s.kind == Kind::Int) {
    // NEP 50: a weak integer scalar takes the array's integer dtype, and must fit it.
    const bool fits = visit_dtype(dtype, [&]<class T>() {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (s.above_int64) return std::is_same_v<T, std::uint64_t>;
        if (s.i < 0) {
          if constexpr (std::is_signed_v<T>)
            return s.i >= std::int64_t{std::numeric_limits<T>::min()};
          else
            return false;
        }
        return static_cast<std::uint64_t>(s.i) <=
               static_cast<std::uint64_t>(std::numeric_limits<T>::max());
      } else {
        return true;
      }
    });
    if (!fits) {
      throw value_error(fmt::format(
          "Python integer {} out of bounds for {}",
          s.above_int64 ? fmt::to_string(static_cast<std::uint64_t>(s.i)) : fmt::to_string(s.i),
          dtype_name(dtype)));
    }
  }
  return constant(s, dtype).expr();
}

Shape broadcast_all(const std::vector<const Operand*>& ops, std::string_view what) {
  Shape out;
  std::string shapes;
  try {
    for (const Operand* o : ops) {
      if (const auto* a = std::get_if<Array>(o)) {
        out = broadcast_shapes(out, a->shape());
        shapes += shape_string(a->shape()) + " ";
      }
    }
  } catch (const shape_error&) {
    shapes.clear();
    for (const Operand* o : ops) {
      if (const auto* a = std::get_if<Array>(o)) shapes += " " + shape_string(a->shape());
    }
    throw shape_error(
        fmt::format("{}: operands could not be broadcast together with shapes{}", what, shapes));
  }
  return out;
}

}  // namespace

Array constant(WeakScalar s, DType dtype) {
  return Array(
      std::make_shared<FullSource>(Shape{}, ChunkGrid(), dtype, s.f,
                                   s.kind == Kind::Float ? float_to_int<std::int64_t>(s.f) : s.i));
}

Array cast(const Array& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return Array(std::make_shared<CastExpr>(dtype, x.expr()));
}

Array binary(BinaryOp op, const Operand& a, const Operand& b) {
  const std::vector<const Operand*> ops{&a, &b};
  const Shape shape = broadcast_all(ops, binary_name(op));
  DType common = result_dtype(ops);
  if (op == BinaryOp::Div) common = float_result(common);
  if (is_float_function(op)) common = float_function_result(common);
  if (is_bitwise(op) && is_float(common)) {
    std::string types;
    for (const Operand* o : ops) {
      if (const auto* arr = std::get_if<Array>(o))
        types += std::string(types.empty() ? "" : ", ") + std::string(dtype_name(arr->dtype()));
      else
        types += std::string(types.empty() ? "" : ", ") + "a C++ floating-point scalar";
    }
    throw dtype_error(fmt::format(
        "ufunc '{}' not supported for the input types ({}): bitwise operations need bool or "
        "integers",
        binary_name(op), types));
  }
  if (is_logical(op)) common = DType::Bool;
  if (common == DType::Bool &&
      (op == BinaryOp::Sub || op == BinaryOp::Div || op == BinaryOp::FloorDiv ||
       op == BinaryOp::Mod || op == BinaryOp::Pow || op == BinaryOp::Fmod ||
       op == BinaryOp::LeftShift || op == BinaryOp::RightShift)) {
    if (op == BinaryOp::Sub) {
      throw dtype_error(
          "numpy boolean subtract, the `-` operator, is not supported, use logical_xor or != "
          "instead");
    }
    common =
        DType::Int64;  // NumPy: bool // bool, bool % bool, bool ** bool give int8; we use int64
  }
  const DType out = (is_comparison(op) || is_logical(op)) ? DType::Bool : common;
  return Array(
      std::make_shared<BinaryExpr>(op, shape, out, as_expr(a, common), as_expr(b, common)));
}

Array unary(UnaryOp op, const Array& x) {
  switch (op) {
    case UnaryOp::Not:
      return Array(std::make_shared<UnaryExpr>(op, DType::Bool, x.expr()));
    case UnaryOp::Neg:
      if (x.dtype() == DType::Bool) {
        throw dtype_error(
            "the numpy boolean negative, the `-` operator, is not supported, use logical_not "
            "instead");
      }
      return Array(std::make_shared<UnaryExpr>(op, x.dtype(), x.expr()));
    case UnaryOp::Abs:
      return Array(std::make_shared<UnaryExpr>(op, x.dtype(), x.expr()));
    case UnaryOp::IsNan:
    case UnaryOp::IsFinite:
    case UnaryOp::IsInf:
      return Array(std::make_shared<UnaryExpr>(op, DType::Bool, x.expr()));
    case UnaryOp::Sign:
      if (x.dtype() == DType::Bool)
        throw dtype_error("ufunc 'sign' not supported for the input types (bool)");
      return Array(std::make_shared<UnaryExpr>(op, x.dtype(), x.expr()));
    case UnaryOp::Invert:
      if (is_float(x.dtype())) {
        throw dtype_error(fmt::format(
            "ufunc 'invert' not supported for the input types ({}): it needs bool or integers",
            dtype_name(x.dtype())));
      }
      return Array(std::make_shared<UnaryExpr>(op, x.dtype(), x.expr()));
    default: {
      // Transcendentals and floor/ceil compute in floating point, all by one rule (bool ->
      // float32 stands in for NumPy's float16, for floor and ceil too).
      const DType f = float_function_result(x.dtype());
      return Array(std::make_shared<UnaryExpr>(op, f, cast(x, f).expr()));
    }
  }
}

Array where(const Operand& cond, const Operand& a, const Operand& b) {
  const std::vector<const Operand*> ops{&cond, &a, &b};
  const Shape shape = broadcast_all(ops, "where");
  const DType t = result_dtype({&a, &b});
  return Array(
      std::make_shared<WhereExpr>(shape, as_expr(cond, DType::Bool), as_expr(a, t), as_expr(b, t)));
}

Array clip(const Operand& x, const Operand& lo, const Operand& hi) {
  const std::vector<const Operand*> ops{&x, &lo, &hi};
  const Shape shape = broadcast_all(ops, "clip");
  const DType t = result_dtype(ops);
  return Array(std::make_shared<ClipExpr>(shape, as_expr(x, t), as_expr(lo, t), as_expr(hi, t)));
}

}  // namespace tessera::detail

namespace tessera {

Array round(const Array& x, int decimals) {
  if (!is_float(x.dtype())) {
    if (decimals >= 0) return x;
    throw value_error(fmt::format(
        "round: decimals {} < 0 is supported for floating-point arrays only (this one is {})",
        decimals, dtype_name(x.dtype())));
  }
  if (decimals == 0) return rint(x);
  // NumPy's: scale, round half to even, scale back (in x's dtype: the scale is a weak scalar).
  const double scale = std::pow(10.0, std::abs(static_cast<double>(decimals)));
  return decimals > 0 ? rint(x * scale) / scale : rint(x / scale) * scale;
}

}  // namespace tessera
