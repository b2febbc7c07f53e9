// Property-based differential test: random array programs, run on every scheduler (and, built
// as mpi_test_random_programs, on the distributed scheduler at 1-4 ranks), against a serial
// reference written here, independently of the engine: a plain row-major vector of doubles
// with its own broadcasting, slicing, promotion and reduction rules, taken from NumPy's
// documentation rather than from Tessera's code.
//
// A program starts from one or two leaves (random shapes with size-0 and size-1 axes, random
// dtypes, random and uneven chunkings) and applies a few random steps: elementwise chains with
// broadcasting and promotion, comparisons inside where, slices with negative steps and integer
// indices, reductions over random axis lists (the empty list included) with and without
// keepdims, casts, persist midway, and an operand used twice. One or two of its arrays are
// then computed and compared with the reference.
//
// RapidCheck draws the programs (RC_PARAMS="max_success=N seed=S" to replay or run longer;
// scripts/stress does). Under MPI every rank must draw the same programs, so the seed is
// rank 0's and shrinking is off (shrinking steps could differ between ranks).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {
namespace {

// --- the reference ----------------------------------------------------------------------------

/// A whole array in memory. Every value is kept as a double rounded to its dtype; `mag` bounds
/// the magnitude of what went into each element, which is what float rounding errors scale with.
struct Ref {
  Shape shape;
  DType dtype = DType::Float64;
  std::vector<double> v;
  std::vector<double> mag;
};

index_t count(const Shape& s) {
  index_t n = 1;
  for (index_t e : s) n *= e;
  return n;
}

/// The multi-index of flat position `flat` in `shape` (row-major).
Shape unravel(index_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (std::size_t k = shape.size(); k-- > 0;) {
    idx[k] = shape[k] == 0 ? 0 : flat % shape[k];
    if (shape[k] != 0) flat /= shape[k];
  }
  return idx;
}

index_t ravel(const Shape& idx, const Shape& shape) {
  index_t flat = 0;
  for (std::size_t k = 0; k < shape.size(); ++k) flat = flat * shape[k] + idx[k];
  return flat;
}

/// A value as `dtype` holds it: float32 rounds, integers truncate toward zero (the values the
/// programs cast stay far inside every integer range).
double as_dtype(double x, DType t) {
  switch (t) {
    case DType::Bool:
      return x != 0 ? 1 : 0;
    case DType::Int32:
    case DType::Int64:
      return std::trunc(x);
    case DType::Float32:
      return static_cast<double>(static_cast<float>(x));
    default:
      return x;
  }
}

/// NumPy's promotion for two arrays: within a kind the wider wins; int32 or int64 with float32
/// gives float64 (float32 cannot hold every int32).
DType numpy_promote(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_float(a) && is_float(b)) return DType::Float64;
  if (is_integer(a) && is_integer(b)) return DType::Int64;
  const DType f = is_float(a) ? a : b;
  return f == DType::Float64 ? f : DType::Float64;
}

std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t k = 0; k < n; ++k) {
    const index_t x = k + a.size() >= n ? a[k + a.size() - n] : 1;
    const index_t y = k + b.size() >= n ? b[k + b.size() - n] : 1;
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[k] = x == 1 ? y : x;
  }
  return out;
}

/// The element of `r` that broadcasting reads for output index `idx` (of a larger or equal rank).
std::size_t broadcast_source(const Ref& r, const Shape& idx) {
  Shape src(r.shape.size());
  const std::size_t lead = idx.size() - r.shape.size();
  for (std::size_t k = 0; k < r.shape.size(); ++k) src[k] = r.shape[k] == 1 ? 0 : idx[lead + k];
  return static_cast<std::size_t>(ravel(src, r.shape));
}

template <class F>
Ref elementwise(const Ref& a, const Ref& b, DType out, F f) {
  Ref r;
  r.shape = *broadcast(a.shape, b.shape);
  r.dtype = out;
  const index_t n = count(r.shape);
  for (index_t i = 0; i < n; ++i) {
    const Shape idx = unravel(i, r.shape);
    const std::size_t ia = broadcast_source(a, idx), ib = broadcast_source(b, idx);
    const auto [value, mag] = f(a.v[ia], b.v[ib], a.mag[ia], b.mag[ib]);
    r.v.push_back(as_dtype(value, out));
    r.mag.push_back(mag);
  }
  return r;
}

template <class F>
Ref map(const Ref& a, DType out, F f) {
  Ref r{a.shape, out, {}, {}};
  for (std::size_t i = 0; i < a.v.size(); ++i) {
    const auto [value, mag] = f(a.v[i], a.mag[i]);
    r.v.push_back(as_dtype(value, out));
    r.mag.push_back(mag);
  }
  return r;
}

/// Python's slice rules for one axis of extent n: the start and the number of elements.
std::pair<index_t, index_t> slice_range(const Slice& s, index_t n) {
  const index_t step = s.step;
  const index_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  const auto clamp = [&](std::optional<index_t> v, index_t fallback) {
    if (!v) return fallback;
    if (*v < 0) return std::max(*v + n, lower);
    return std::min(*v, upper);
  };
  const index_t start = clamp(s.start, step > 0 ? lower : upper);
  const index_t stop = clamp(s.stop, step > 0 ? upper : lower);
  index_t len = 0;
  if (step > 0 && stop > start) len = (stop - start + step - 1) / step;
  if (step < 0 && start > stop) len = (start - stop - step - 1) / (-step);
  return {start, len};
}

Ref slice(const Ref& a, const std::vector<IndexItem>& index) {
  Ref r{{}, a.dtype, {}, {}};
  std::vector<std::pair<index_t, index_t>> axes;  // (start, step) per input axis
  for (std::size_t k = 0; k < index.size(); ++k) {
    if (const auto* i = std::get_if<index_t>(&index[k])) {
      axes.emplace_back(*i < 0 ? *i + a.shape[k] : *i, 0);
    } else {
      const Slice& s = std::get<Slice>(index[k]);
      const auto [start, len] = slice_range(s, a.shape[k]);
      axes.emplace_back(start, s.step);
      r.shape.push_back(len);
    }
  }
  const index_t n = count(r.shape);
  for (index_t i = 0; i < n; ++i) {
    const Shape out = unravel(i, r.shape);
    Shape src(a.shape.size());
    std::size_t o = 0;
    for (std::size_t k = 0; k < a.shape.size(); ++k) {
      src[k] = axes[k].second == 0 ? axes[k].first : axes[k].first + out[o++] * axes[k].second;
    }
    const auto j = static_cast<std::size_t>(ravel(src, a.shape));
    r.v.push_back(a.v[j]);
    r.mag.push_back(a.mag[j]);
  }
  return r;
}

enum class ReduceKind { Sum, Mean, Min, Max };

DType reduce_dtype(ReduceKind kind, DType in) {
  if (kind == ReduceKind::Min || kind == ReduceKind::Max) return in;
  if (kind == ReduceKind::Sum) return is_float(in) ? in : DType::Int64;
  return in == DType::Float32 ? DType::Float32 : DType::Float64;  // mean
}

Ref reduce(const Ref& a, ReduceKind kind, const std::vector<int>& axes, bool keepdims) {
  std::vector<bool> reduced(a.shape.size(), false);
  for (int ax : axes) reduced[static_cast<std::size_t>(ax)] = true;
  Ref r{{}, reduce_dtype(kind, a.dtype), {}, {}};
  for (std::size_t k = 0; k < a.shape.size(); ++k) {
    if (!reduced[k]) {
      r.shape.push_back(a.shape[k]);
    } else if (keepdims) {
      r.shape.push_back(1);
    }
  }
  const index_t n = count(r.shape);
  const double init = kind == ReduceKind::Min   ? INFINITY
                      : kind == ReduceKind::Max ? -INFINITY
                                                : 0.0;
  std::vector<double> acc(static_cast<std::size_t>(n), init), mag(acc.size(), 0.0);
  std::vector<index_t> members(acc.size(), 0);
  const index_t total = count(a.shape);
  for (index_t i = 0; i < total; ++i) {
    const Shape idx = unravel(i, a.shape);
    Shape out;
    for (std::size_t k = 0; k < a.shape.size(); ++k) {
      if (!reduced[k]) {
        out.push_back(idx[k]);
      } else if (keepdims) {
        out.push_back(0);
      }
    }
    const auto o = static_cast<std::size_t>(ravel(out, r.shape));
    const double x = a.v[static_cast<std::size_t>(i)];
    switch (kind) {
      // NaN wins in NumPy's min and max.
      case ReduceKind::Min:
        if (!std::isnan(acc[o]) && (std::isnan(x) || x < acc[o])) acc[o] = x;
        break;
      case ReduceKind::Max:
        if (!std::isnan(acc[o]) && (std::isnan(x) || x > acc[o])) acc[o] = x;
        break;
      default:
        acc[o] += x;
    }
    mag[o] += a.mag[static_cast<std::size_t>(i)];
    ++members[o];
  }
  for (std::size_t o = 0; o < acc.size(); ++o) {
    double value = acc[o];
    if (kind == ReduceKind::Mean) {
      value = members[o] == 0 ? NAN : value / static_cast<double>(members[o]);
      mag[o] = members[o] == 0 ? 0 : mag[o] / static_cast<double>(members[o]) * members[o];
    }
    r.v.push_back(as_dtype(value, r.dtype));
    r.mag.push_back(mag[o]);
  }
  return r;
}

// --- programs ---------------------------------------------------------------------------------

enum class StepKind { Leaf, Unary, Binary, WhereGreater, Slice, Reduce, Cast, Persist, Twice };
enum class UnaryKind { Neg, Abs, Square, SqrtAbs };
enum class BinaryKind { Add, Sub, Mul };

/// One step of a program: what it does and to which earlier arrays (by position).
struct Step {
  StepKind kind = StepKind::Leaf;
  std::size_t a = 0, b = 0;
  // Leaf
  Shape shape;
  DType dtype = DType::Float64;
  std::vector<AxisChunks> chunks;
  int seed = 0;
  // Unary, Binary, Reduce
  UnaryKind unary = UnaryKind::Neg;
  BinaryKind binary = BinaryKind::Add;
  ReduceKind reduce = ReduceKind::Sum;
  std::vector<int> axes;
  bool keepdims = false;
  // Slice
  std::vector<IndexItem> index;
};

struct Program {
  std::vector<Step> steps;
  std::vector<Ref> refs;  // the reference value of every step
  std::vector<std::size_t> outputs;
};

double leaf_value(int seed, index_t flat, DType t) {
  const auto u =
      static_cast<std::uint64_t>(flat) * 7919u + static_cast<std::uint64_t>(seed) * 104729u;
  const double v = static_cast<double>(static_cast<int>(u % 19) - 9);
  return is_float(t) ? v / 4 : v;  // quarters: exact in float32 too
}

Ref leaf_ref(const Step& s) {
  Ref r{s.shape, s.dtype, {}, {}};
  for (index_t i = 0; i < count(s.shape); ++i) {
    r.v.push_back(leaf_value(s.seed, i, s.dtype));
    r.mag.push_back(std::abs(r.v.back()));
  }
  return r;
}

template <class T>
Array leaf_array_as(const Step& s) {
  const Shape shape = s.shape;
  const int seed = s.seed;
  const DType t = s.dtype;
  return fromfunction<T>(
      [shape, seed, t](std::span<const index_t> idx) {
        return static_cast<T>(leaf_value(seed, ravel(Shape(idx.begin(), idx.end()), shape), t));
      },
      s.shape, ChunkSpec(s.chunks));
}

Array leaf_array(const Step& s) {
  switch (s.dtype) {
    case DType::Int32:
      return leaf_array_as<std::int32_t>(s);
    case DType::Int64:
      return leaf_array_as<std::int64_t>(s);
    case DType::Float32:
      return leaf_array_as<float>(s);
    default:
      return leaf_array_as<double>(s);
  }
}

double max_abs(const Ref& r) {
  double m = 0;
  for (double x : r.v) m = std::max(m, std::abs(x));
  return m;
}

/// Random chunks for an axis of extent n: one chunk, a uniform size, or an uneven list.
rc::Gen<AxisChunks> gen_axis_chunks(index_t n) {
  return rc::gen::exec([n]() -> AxisChunks {
    const int how = *rc::gen::inRange(0, 3);
    if (how == 0 || n == 0) return AxisChunks(std::vector<index_t>{n});
    if (how == 1) return AxisChunks(*rc::gen::inRange<index_t>(1, n + 1));
    std::vector<index_t> sizes;
    for (index_t left = n; left > 0;) {
      const index_t s = *rc::gen::inRange<index_t>(1, left + 1);
      sizes.push_back(s);
      left -= s;
    }
    return AxisChunks(sizes);
  });
}

Step gen_leaf(Shape shape) {
  Step s;
  s.kind = StepKind::Leaf;
  s.shape = std::move(shape);
  s.dtype = *rc::gen::element(DType::Int32, DType::Int64, DType::Float32, DType::Float64);
  for (index_t n : s.shape) s.chunks.push_back(*gen_axis_chunks(n));
  s.seed = *rc::gen::inRange(0, 1000);
  return s;
}

Shape gen_shape() {
  const int ndim = *rc::gen::inRange(1, 4);
  Shape shape;
  for (int k = 0; k < ndim; ++k)
    shape.push_back(*rc::gen::element<index_t>(0, 1, 1, 2, 3, 4, 5, 7));
  return shape;
}

/// A shape that broadcasts against `shape`: some leading axes dropped, some axes of size 1,
/// now and then a new leading axis.
Shape gen_broadcast_partner(const Shape& shape) {
  const auto drop =
      static_cast<std::size_t>(*rc::gen::inRange<int>(0, static_cast<int>(shape.size())));
  Shape out;
  if (drop == 0 && *rc::gen::inRange(0, 6) == 0) out.push_back(*rc::gen::element<index_t>(1, 2));
  for (std::size_t k = drop; k < shape.size(); ++k) {
    out.push_back(*rc::gen::inRange(0, 3) == 0 ? 1 : shape[k]);
  }
  return out;
}

/// Draws a program and computes its reference as it goes (the draws depend on shapes).
Program gen_program() {
  Program p;
  const auto add = [&](Step s, Ref r) {
    p.steps.push_back(std::move(s));
    p.refs.push_back(std::move(r));
  };
  {
    Step s = gen_leaf(gen_shape());
    Ref r = leaf_ref(s);
    add(std::move(s), std::move(r));
  }
  const int steps = *rc::gen::inRange(1, 7);
  for (int i = 0; i < steps; ++i) {
    const std::size_t a = *rc::gen::inRange<std::size_t>(0, p.steps.size());
    const Ref ra = p.refs[a];  // a copy: steps below may add to p.refs
    Step s;
    s.a = a;
    s.kind = *rc::gen::element(StepKind::Unary, StepKind::Binary, StepKind::Binary,
                               StepKind::WhereGreater, StepKind::Slice, StepKind::Slice,
                               StepKind::Reduce, StepKind::Reduce, StepKind::Cast,
                               StepKind::Persist, StepKind::Twice);
    // Keep integer products far from overflow (NumPy wraps; the reference does not).
    const bool small = max_abs(ra) < 1000;
    switch (s.kind) {
      case StepKind::Unary: {
        s.unary = *rc::gen::element(UnaryKind::Neg, UnaryKind::Abs, UnaryKind::Square,
                                    UnaryKind::SqrtAbs);
        if (s.unary == UnaryKind::Square && !small) s.unary = UnaryKind::Abs;
        Ref r;
        if (s.unary == UnaryKind::Neg) {
          r = map(ra, ra.dtype, [](double x, double m) { return std::pair(-x, m); });
        } else if (s.unary == UnaryKind::Abs) {
          r = map(ra, ra.dtype, [](double x, double m) { return std::pair(std::abs(x), m); });
        } else if (s.unary == UnaryKind::Square) {
          r = map(ra, ra.dtype, [](double x, double m) { return std::pair(x * x, m * m); });
        } else {
          // sqrt of an integer is float64; of float32, float32.
          const DType out = ra.dtype == DType::Float32 ? DType::Float32 : DType::Float64;
          r = map(ra, out, [](double x, double m) {
            return std::pair(std::sqrt(std::abs(x)), std::sqrt(m));
          });
        }
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Binary:
      case StepKind::WhereGreater: {
        // The other operand: an earlier array that broadcasts, else a new leaf that does.
        std::size_t b = *rc::gen::inRange<std::size_t>(0, p.steps.size());
        if (!broadcast(ra.shape, p.refs[b].shape)) {
          Step leaf = gen_leaf(gen_broadcast_partner(ra.shape));
          Ref rl = leaf_ref(leaf);
          add(std::move(leaf), std::move(rl));
          b = p.steps.size() - 1;
        }
        s.b = b;
        const Ref& x = p.refs[a];
        const Ref& y = p.refs[b];
        const DType out = numpy_promote(x.dtype, y.dtype);
        Ref r;
        if (s.kind == StepKind::WhereGreater) {
          r = elementwise(x, y, out, [out](double u, double v, double mu, double mv) {
            // The comparison sees both operands in the promoted type.
            return as_dtype(u, out) > as_dtype(v, out) ? std::pair(u, mu) : std::pair(v, mv);
          });
        } else {
          s.binary = *rc::gen::element(BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul);
          if (s.binary == BinaryKind::Mul && (max_abs(x) > 1000 || max_abs(y) > 1000)) {
            s.binary = BinaryKind::Add;
          }
          const BinaryKind op = s.binary;
          r = elementwise(x, y, out, [op](double u, double v, double mu, double mv) {
            if (op == BinaryKind::Add) return std::pair(u + v, mu + mv);
            if (op == BinaryKind::Sub) return std::pair(u - v, mu + mv);
            return std::pair(u * v, mu * mv);
          });
        }
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Twice: {
        // One array on both sides of an operator: the graph shares the node.
        s.b = a;
        Ref r = elementwise(ra, ra, ra.dtype, [](double u, double v, double mu, double mv) {
          return std::pair(u + v, mu + mv);
        });
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Slice: {
        for (index_t n : ra.shape) {
          if (n > 0 && *rc::gen::inRange(0, 5) == 0) {
            s.index.emplace_back(*rc::gen::inRange<index_t>(-n, n));
            continue;
          }
          Slice sl;
          if (*rc::gen::inRange(0, 3) > 0) sl.start = *rc::gen::inRange<index_t>(-n - 2, n + 3);
          if (*rc::gen::inRange(0, 3) > 0) sl.stop = *rc::gen::inRange<index_t>(-n - 2, n + 3);
          sl.step = *rc::gen::element<index_t>(1, 1, 2, 3, -1, -1, -2, -3);
          s.index.emplace_back(sl);
        }
        Ref r = slice(ra, s.index);
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Reduce: {
        s.reduce =
            *rc::gen::element(ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Min, ReduceKind::Max);
        for (int k = 0; k < static_cast<int>(ra.shape.size()); ++k) {
          if (*rc::gen::inRange(0, 2) == 0) s.axes.push_back(k);
        }
        s.keepdims = *rc::gen::inRange(0, 3) == 0;
        // A min or max over no elements has no identity: NumPy raises. Programs sum instead.
        bool empty_reduction = false;
        for (int k : s.axes) empty_reduction |= ra.shape[static_cast<std::size_t>(k)] == 0;
        if (empty_reduction && (s.reduce == ReduceKind::Min || s.reduce == ReduceKind::Max)) {
          s.reduce = ReduceKind::Sum;
        }
        Ref r = reduce(ra, s.reduce, s.axes, s.keepdims);
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Cast: {
        s.dtype = *rc::gen::element(DType::Int32, DType::Int64, DType::Float32, DType::Float64);
        bool finite = true;
        for (double x : ra.v) finite &= std::isfinite(x);
        if (!finite && !is_float(s.dtype)) s.dtype = DType::Float64;  // NaN to int: no value
        Ref r = map(ra, s.dtype, [](double x, double m) { return std::pair(x, m); });
        add(std::move(s), std::move(r));
        break;
      }
      case StepKind::Persist:
      case StepKind::Leaf: {
        s.kind = StepKind::Persist;
        Ref r = ra;
        add(std::move(s), std::move(r));
        break;
      }
    }
  }
  p.outputs.push_back(p.steps.size() - 1);
  if (p.steps.size() > 1 && *rc::gen::inRange(0, 2) == 0) {
    p.outputs.push_back(*rc::gen::inRange<std::size_t>(0, p.steps.size() - 1));
  }
  return p;
}

/// The program's arrays on the engine, persisting on `s` where the program says so.
std::vector<Array> build(const Program& p, Scheduler& s) {
  std::vector<Array> arrays;
  for (const Step& st : p.steps) {
    Array out;
    switch (st.kind) {
      case StepKind::Leaf:
        out = leaf_array(st);
        break;
      case StepKind::Unary: {
        const Array& x = arrays[st.a];
        out = st.unary == UnaryKind::Neg      ? -x
              : st.unary == UnaryKind::Abs    ? abs(x)
              : st.unary == UnaryKind::Square ? x * x
                                              : sqrt(abs(x));
        break;
      }
      case StepKind::Binary: {
        const Array &x = arrays[st.a], &y = arrays[st.b];
        out = st.binary == BinaryKind::Add ? x + y : st.binary == BinaryKind::Sub ? x - y : x * y;
        break;
      }
      case StepKind::WhereGreater: {
        const Array &x = arrays[st.a], &y = arrays[st.b];
        out = where(x > y, x, y);
        break;
      }
      case StepKind::Twice:
        out = arrays[st.a] + arrays[st.a];
        break;
      case StepKind::Slice:
        out = arrays[st.a].slice(st.index);
        break;
      case StepKind::Reduce: {
        const Array& x = arrays[st.a];
        const Axes axes(st.axes);
        const ReduceOptions o{.keepdims = st.keepdims};
        out = st.reduce == ReduceKind::Sum    ? x.sum(axes, o)
              : st.reduce == ReduceKind::Mean ? x.mean(axes, o)
              : st.reduce == ReduceKind::Min  ? x.min(axes, o)
                                              : x.max(axes, o);
        break;
      }
      case StepKind::Cast:
        out = arrays[st.a].astype(st.dtype);
        break;
      case StepKind::Persist:
        out = arrays[st.a].persist({.scheduler = &s});
        break;
    }
    arrays.push_back(std::move(out));
  }
  return arrays;
}

/// The program as text, for a failure report.
std::string describe(const Program& p) {
  static const char* kinds[] = {"leaf",   "unary", "binary",  "where>", "slice",
                                "reduce", "cast",  "persist", "twice"};
  std::ostringstream out;
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    out << "  %" << i << " = " << kinds[static_cast<int>(s.kind)];
    if (s.kind == StepKind::Leaf) {
      out << " " << shape_string(s.shape) << " " << dtype_name(s.dtype) << " seed " << s.seed
          << " chunks ";
      for (const AxisChunks& c : s.chunks) {
        if (const auto* n = std::get_if<index_t>(&c.spec)) {
          out << *n << " ";
        } else if (const auto* v = std::get_if<std::vector<index_t>>(&c.spec)) {
          out << shape_string(*v) << " ";
        }
      }
    } else {
      out << " %" << s.a;
      if (s.kind == StepKind::Binary || s.kind == StepKind::WhereGreater) out << " %" << s.b;
      if (s.kind == StepKind::Unary) out << " op" << static_cast<int>(s.unary);
      if (s.kind == StepKind::Binary) out << " op" << static_cast<int>(s.binary);
      if (s.kind == StepKind::Reduce) {
        out << " op" << static_cast<int>(s.reduce) << " axes (";
        for (int k : s.axes) out << k << ",";
        out << ")" << (s.keepdims ? " keepdims" : "");
      }
      if (s.kind == StepKind::Cast) out << " " << dtype_name(s.dtype);
      if (s.kind == StepKind::Slice) {
        out << " [";
        for (const auto& item : s.index) {
          if (const auto* k = std::get_if<index_t>(&item)) {
            out << *k << ", ";
          } else {
            const Slice& sl = std::get<Slice>(item);
            out << (sl.start ? std::to_string(*sl.start) : "") << ":"
                << (sl.stop ? std::to_string(*sl.stop) : "") << ":" << sl.step << ", ";
          }
        }
        out << "]";
      }
    }
    out << " -> " << shape_string(p.refs[i].shape) << " " << dtype_name(p.refs[i].dtype) << "\n";
  }
  return out.str();
}

double element_as_double(const Block& b, std::size_t i) {
  switch (b.dtype()) {
    case DType::Bool:
      return static_cast<const bool*>(b.data())[i] ? 1 : 0;
    case DType::Int32:
      return static_cast<const std::int32_t*>(b.data())[i];
    case DType::Int64:
      return static_cast<double>(static_cast<const std::int64_t*>(b.data())[i]);
    case DType::Float32:
      return static_cast<const float*>(b.data())[i];
    default:
      return static_cast<const double*>(b.data())[i];
  }
}

/// An empty string when the engine's array `x` equals the reference `r`, else what differs.
std::string compare(const Array& x, const Ref& r, Scheduler& s) {
  if (x.dtype() != r.dtype) {
    return fmt::format("dtype {} != {}", dtype_name(x.dtype()), dtype_name(r.dtype));
  }
  if (x.shape() != r.shape) {
    return fmt::format("shape {} != {}", shape_string(x.shape()), shape_string(r.shape));
  }
  const Block b = x.compute_block({.scheduler = &s});
  if (b.shape() != r.shape) return "computed shape " + shape_string(b.shape());
  // Float results may differ by rounding in a different summation order: by at most a few
  // units in the last place of the magnitudes that went into them.
  const double rtol = r.dtype == DType::Float32 ? 1e-5 : r.dtype == DType::Float64 ? 1e-12 : 0;
  for (std::size_t i = 0; i < r.v.size(); ++i) {
    const double got = element_as_double(b, i), want = r.v[i];
    const bool same = (std::isnan(got) && std::isnan(want)) || got == want ||
                      std::abs(got - want) <= rtol * std::max(1.0, r.mag[i]);
    if (!same) return fmt::format("element {}: got {}, expected {}", i, got, want);
  }
  return {};
}

/// RapidCheck's parameters, equal on every rank: the seed is rank 0's.
void configure_rapidcheck(int default_cases) {
  if (std::getenv("RC_PARAMS") != nullptr && test_ranks() == 1) return;
  std::string params = std::getenv("RC_PARAMS") != nullptr ? std::getenv("RC_PARAMS") : "";
  if (params.find("max_success") == std::string::npos) {
    params += " max_success=" + std::to_string(default_cases);
  }
  if (params.find("seed") == std::string::npos) {
    std::string seed = std::to_string(std::random_device{}() % 1000000000u);
    if (distributed_run()) seed = gather_strings(seed).front();  // rank 0's
    params += " seed=" + seed;
  }
  if (distributed_run() && params.find("noshrink") == std::string::npos) params += " noshrink=1";
  setenv("RC_PARAMS", params.c_str(), 1);
}

TEST(RandomPrograms, MatchTheSerialReferenceOnEveryScheduler) {
  configure_rapidcheck(distributed_run() ? 300 : 2000);
  int programs = 0, outputs = 0;
  const bool ok = rc::check("random array programs match the serial reference", [&] {
    const Program p = gen_program();
    ++programs;
    for (const auto& s : all_schedulers()) {
      const std::vector<Array> arrays = build(p, *s);
      for (std::size_t out : p.outputs) {
        const std::string diff = compare(arrays[out], p.refs[out], *s);
        ++outputs;
        if (!diff.empty()) {
          RC_FAIL(
              fmt::format("scheduler {}, output %{}: {}\n{}", s->name(), out, diff, describe(p)));
        }
      }
    }
  });
  EXPECT_TRUE(ok);
  std::printf("random programs: %d programs, %d outputs compared\n", programs, outputs);
}

}  // namespace
}  // namespace tessera::testing
