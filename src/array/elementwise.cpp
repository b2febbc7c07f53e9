#include "tessera/array/elementwise.hpp"

#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "kernels/kernel_set.hpp"
#include "sources.hpp"

namespace tessera::detail {

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

namespace {

class BinaryExpr final : public ElementwiseExpr {
 public:
  BinaryExpr(BinaryOp op, Shape shape, DType out, ExprPtr a, ExprPtr b)
      : ElementwiseExpr(std::move(shape), out, {std::move(a), std::move(b)},
                        Tokenizer().add(static_cast<int>(op)).finish(), binary_name(op)),
        m_op(op),
        m_in(inputs()[0]->dtype()) {}
  std::string_view op_name() const override { return binary_name(m_op); }

  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    kernels().binary(m_op, m_in, in[0], in[1], out, n);
  }
  std::optional<ChainOp> chain_op() const override {
    if (!is_float(m_in)) return std::nullopt;
    switch (m_op) {
      case BinaryOp::Add:
        return ChainOp::Add;
      case BinaryOp::Sub:
        return ChainOp::Sub;
      case BinaryOp::Mul:
        return ChainOp::Mul;
      case BinaryOp::Div:
        return ChainOp::Div;
      case BinaryOp::Pow:
        return ChainOp::Pow;
      default:
        return std::nullopt;
    }
  }

 private:
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
    kernels().unary(m_op, inputs()[0]->dtype(), in[0], out, n);
  }
  std::optional<ChainOp> chain_op() const override {
    if (!is_float(inputs()[0]->dtype())) return std::nullopt;
    switch (m_op) {
      case UnaryOp::Neg:
        return ChainOp::Neg;
      case UnaryOp::Abs:
        return ChainOp::Abs;
      case UnaryOp::Sqrt:
        return ChainOp::Sqrt;
      default:
        return std::nullopt;
    }
  }

 private:
  UnaryOp m_op;
};

class CastExpr final : public ElementwiseExpr {
 public:
  CastExpr(DType to, ExprPtr x)
      : ElementwiseExpr(x->shape(), to, {x}, Tokenizer().add(static_cast<int>(to)).finish(),
                        "astype") {}
  std::string_view op_name() const override { return "astype"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    kernels().cast(inputs()[0]->dtype(), dtype(), in[0], out, n);
  }
};

class WhereExpr final : public ElementwiseExpr {
 public:
  WhereExpr(Shape shape, ExprPtr c, ExprPtr a, ExprPtr b)
      : ElementwiseExpr(std::move(shape), b->dtype(), {c, a, b}, 0, "where") {}
  std::string_view op_name() const override { return "where"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    kernels().where(dtype(), in[0], in[1], in[2], out, n);
  }
};

class ClipExpr final : public ElementwiseExpr {
 public:
  ClipExpr(Shape shape, ExprPtr x, ExprPtr lo, ExprPtr hi)
      : ElementwiseExpr(std::move(shape), hi->dtype(), {x, lo, hi}, 0, "clip") {}
  std::string_view op_name() const override { return "clip"; }
  void apply(std::span<const TileArg> in, void* out, index_t n) const override {
    kernels().clip(dtype(), in[0], in[1], in[2], out, n);
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
