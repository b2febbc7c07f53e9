// Reduction semantics: the ReduceExpr hooks (init, accumulate, combine, finalize) for every
// NumPy reduction, and the Array members that build them.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "kernels/extrema.hpp"
#include "kernels/kernel_set.hpp"
#include "kernels/lane_sum.hpp"
#include "tessera/array/array.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/reductions.hpp"

namespace tessera {

namespace {

using detail::lane_sum;
using detail::max_of;
using detail::min_of;
using detail::wrap_t;

enum class Op { Sum, Prod, Min, Max, Any, All, Mean, Var, Std, Argmin, Argmax };

std::string_view op_name_of(Op op) {
  static constexpr std::string_view names[] = {"sum",  "prod", "min", "max",    "any",   "all",
                                               "mean", "var",  "std", "argmin", "argmax"};
  return names[static_cast<int>(op)];
}

std::string_view nan_name(Op op) {
  static constexpr std::string_view names[] = {"nansum", "nanprod",   "nanmin",   "nanmax",
                                               "nanany", "nanall",    "nanmean",  "nanvar",
                                               "nanstd", "nanargmin", "nanargmax"};
  return names[static_cast<int>(op)];
}

bool is_moment(Op op) { return op == Op::Var || op == Op::Std; }
bool is_arg(Op op) { return op == Op::Argmin || op == Op::Argmax; }

/// The accumulator dtype of the first field.
DType acc_dtype(Op op, DType in) {
  switch (op) {
    case Op::Sum:
    case Op::Prod:
      return is_float(in) ? DType::Float64 : sum_result(in);
    case Op::Mean:
    case Op::Var:
    case Op::Std:
      return DType::Float64;
    case Op::Any:
    case Op::All:
      return DType::Bool;
    default:
      return in;  // min, max, argmin, argmax keep the input's values
  }
}

DType out_dtype(Op op, DType in) {
  switch (op) {
    case Op::Sum:
    case Op::Prod:
      return sum_result(in);
    case Op::Mean:
    case Op::Var:
    case Op::Std:
      return float_result(in);
    case Op::Any:
    case Op::All:
      return DType::Bool;
    case Op::Argmin:
    case Op::Argmax:
      return DType::Int64;
    default:
      return in;
  }
}

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}

template <class A>
A wrap_add(A a, A b) {
  using U = wrap_t<A>;
  return static_cast<A>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class A>
A wrap_mul(A a, A b) {
  using U = wrap_t<A>;
  return static_cast<A>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
}

/// lane_sum, on the instruction set's kernels for floats.
template <class A, class T>
A sum_run(const T* x, index_t n) {
  if constexpr (std::is_same_v<A, double> && std::is_same_v<T, double>)
    return detail::kernels().sum_f64(x, n);
  else if constexpr (std::is_same_v<A, float> && std::is_same_v<T, float>)
    return detail::kernels().sum_f32(x, n);
  else
    return lane_sum<A>(x, n);
}

/// lane_sum_squared_deviations, on the instruction set's kernels for floats.
template <class T>
double squared_deviations_run(const T* x, index_t n, double mean) {
  if constexpr (std::is_same_v<T, double>)
    return detail::kernels().sum_squared_deviations_f64(x, n, mean);
  else if constexpr (std::is_same_v<T, float>)
    return detail::kernels().sum_squared_deviations_f32(x, n, mean);
  else
    return detail::lane_sum_squared_deviations(x, n, mean);
}

class Reduction final : public ReduceExpr {
 public:
  /// `skip_nan`: the nan- variant (nanmin, nanvar, nanargmax, ...): NaN inputs are left out.
  Reduction(Op op, const Array& x, std::vector<int> axes, bool keepdims, int split_every, int ddof,
            index_t count, bool flat_arg, bool skip_nan)
      : ReduceExpr(
            x.expr(), std::move(axes), keepdims, split_every, out_dtype(op, x.dtype()),
            Tokenizer().add(static_cast<int>(op)).add(ddof).add(flat_arg).add(skip_nan).finish(),
            skip_nan ? nan_name(op) : op_name_of(op)),
        m_op(op),
        m_in(x.dtype()),
        m_ddof(ddof),
        m_count(count),
        m_skip_nan(skip_nan) {}

  std::string_view op_name() const override {
    return m_skip_nan ? nan_name(m_op) : op_name_of(m_op);
  }

  Partial init(const Shape& shape) const override {
    Partial p;
    Block acc(acc_dtype(m_op, m_in), shape);
    visit_dtype(acc.dtype(), [&]<class A>() {
      A* a = acc.data_as<A>();
      A v{};
      switch (m_op) {
        case Op::Prod:
        case Op::All:
          v = A(1);
          break;
        case Op::Min:
        case Op::Argmin:
          v = max_value<A>();
          break;
        case Op::Max:
        case Op::Argmax:
          v = lowest_value<A>();
          break;
        default:
          v = A(0);
      }
      // nanmin/nanmax start from NaN, which any number replaces: a slice of NaNs stays NaN.
      if constexpr (std::is_floating_point_v<A>) {
        if (m_skip_nan && (m_op == Op::Min || m_op == Op::Max))
          v = std::numeric_limits<A>::quiet_NaN();
      }
      std::fill(a, a + acc.size(), v);
    });
    p.fields.push_back(std::move(acc));
    if (is_moment(m_op)) {
      p.fields.push_back(Block::zeros(DType::Float64, shape));  // M2
      p.fields.push_back(Block::zeros(DType::Float64, shape));  // count
    }
    if (is_arg(m_op)) {
      Block idx(DType::Int64, shape);
      std::fill(idx.data_as<std::int64_t>(), idx.data_as<std::int64_t>() + idx.size(),
                std::int64_t{-1});
      p.fields.push_back(std::move(idx));
    }
    return p;
  }

  void accumulate(Partial& p, const void* in, index_t n, index_t out,
                  const index_t* gidx) const override {
    const int nd = inputs()[0]->ndim();
    const bool fold_run = nd == 0 || reduces(nd - 1);
    visit_dtype(m_in, [&]<class T>() {
      accumulate_typed<T>(p, static_cast<const T*>(in), n, out, gidx, fold_run);
    });
  }

  void combine(Partial& into, const Partial& from) const override {
    const index_t n = into.fields[0].size();
    if (is_moment(m_op)) {
      double* mean = into.fields[0].data_as<double>();
      double* m2 = into.fields[1].data_as<double>();
      double* cnt = into.fields[2].data_as<double>();
      const double* fmean = from.fields[0].data_as<double>();
      const double* fm2 = from.fields[1].data_as<double>();
      const double* fcnt = from.fields[2].data_as<double>();
      for (index_t i = 0; i < n; ++i)
        merge_moments(mean[i], m2[i], cnt[i], fmean[i], fm2[i], fcnt[i]);
      return;
    }
    visit_dtype(into.fields[0].dtype(), [&]<class A>() {
      A* a = into.fields[0].data_as<A>();
      const A* b = from.fields[0].data_as<A>();
      if (is_arg(m_op)) {
        std::int64_t* ai = into.fields[1].data_as<std::int64_t>();
        const std::int64_t* bi = from.fields[1].data_as<std::int64_t>();
        // `from` may hold earlier positions than `into`: in a flat argmin over several axes,
        // a chunk later in row-major chunk order can start at a smaller flat index (chunk
        // (0, 1) holds flat 2 while chunk (0, 0) holds flat 4). Ties go to the smaller index.
        for (index_t i = 0; i < n; ++i) {
          if (bi[i] >= 0 &&
              (ai[i] < 0 || better(b[i], a[i]) || (!better(a[i], b[i]) && bi[i] < ai[i]))) {
            a[i] = b[i];
            ai[i] = bi[i];
          }
        }
        return;
      }
      for (index_t i = 0; i < n; ++i) a[i] = fold(a[i], b[i]);
    });
  }

  Block finalize(const Partial& p) const override {
    const Block& acc = p.fields[0];
    Block out(dtype(), acc.shape());
    const index_t n = acc.size();
    if (is_arg(m_op)) {
      std::memcpy(out.data(), p.fields[1].data(), out.nbytes());
      if (m_skip_nan) {
        const std::int64_t* idx = p.fields[1].data_as<std::int64_t>();
        if (std::any_of(idx, idx + n, [](std::int64_t i) { return i < 0; }))
          throw value_error(fmt::format("{}: All-NaN slice encountered", op_name()));
      }
      return out;
    }
    if (is_moment(m_op)) {
      const double* m2 = p.fields[1].data_as<double>();
      const double* cnt = p.fields[2].data_as<double>();
      visit_dtype(dtype(), [&]<class R>() {
        if constexpr (std::is_floating_point_v<R>) {
          R* o = out.data_as<R>();
          for (index_t i = 0; i < n; ++i) {
            // NumPy divides by max(n - ddof, 0): 0/0 gives NaN, a positive M2 over 0 gives inf.
            const double dof = std::max(cnt[i] - m_ddof, 0.0);
            double v = m2[i] / dof;
            if (m_op == Op::Std) v = std::sqrt(v);
            o[i] = static_cast<R>(v);
          }
        }
      });
      return out;
    }
    visit_dtype(acc.dtype(), [&]<class A>() {
      visit_dtype(dtype(), [&]<class R>() {
        const A* a = acc.data_as<A>();
        R* o = out.data_as<R>();
        if (m_op == Op::Mean) {
          if constexpr (std::is_floating_point_v<R>) {
            const double c = static_cast<double>(m_count);
            for (index_t i = 0; i < n; ++i) o[i] = static_cast<R>(static_cast<double>(a[i]) / c);
          }
        } else {
          for (index_t i = 0; i < n; ++i) o[i] = static_cast<R>(a[i]);
        }
      });
    });
    return out;
  }

 private:
  template <class A>
  static A max_value() {
    if constexpr (std::is_floating_point_v<A>)
      return std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::max();
  }
  template <class A>
  static A lowest_value() {
    if constexpr (std::is_floating_point_v<A>)
      return -std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::lowest();
  }

  /// For argmin/argmax: whether `b` is strictly better than `a`. NaN wins (the first NaN),
  /// equal values are ties, which the callers give to the smaller index (NumPy).
  template <class A>
  bool better(A b, A a) const {
    if (m_skip_nan && is_nan(b)) return false;
    if (is_nan(a)) return false;
    if (is_nan(b)) return true;
    return m_op == Op::Argmin ? b < a : a < b;
  }

  /// The min or max (m_op) of a run, NaN if it holds one: the kernels' for floats.
  template <class A, class T>
  A extreme_run(const T* x, index_t n) const {
    const bool max = m_op == Op::Max;
    if constexpr (std::is_same_v<A, double> && std::is_same_v<T, double>) {
      return max ? detail::kernels().max_f64(x, n) : detail::kernels().min_f64(x, n);
    } else if constexpr (std::is_same_v<A, float> && std::is_same_v<T, float>) {
      return max ? detail::kernels().max_f32(x, n) : detail::kernels().min_f32(x, n);
    } else {
      if (n == 0) return max ? lowest_value<A>() : max_value<A>();
      A acc = static_cast<A>(x[0]);
      if constexpr (std::is_floating_point_v<A>) {
        for (index_t i = 1; i < n; ++i) acc = fold(acc, static_cast<A>(x[i]));
      } else if (max) {
        for (index_t i = 1; i < n; ++i) acc = max_of(acc, static_cast<A>(x[i]));
      } else {
        for (index_t i = 1; i < n; ++i) acc = min_of(acc, static_cast<A>(x[i]));
      }
      return acc;
    }
  }

  template <class A>
  A fold(A a, A b) const {
    switch (m_op) {
      case Op::Sum:
      case Op::Mean:
        if constexpr (std::is_same_v<A, bool>)
          return a || b;
        else
          return wrap_add(a, b);
      case Op::Prod:
        if constexpr (std::is_same_v<A, bool>)
          return a && b;
        else
          return wrap_mul(a, b);
      case Op::Min:
        if (m_skip_nan && (is_nan(a) || is_nan(b))) return is_nan(b) ? a : b;
        return (is_nan(a) || is_nan(b)) ? (is_nan(a) ? a : b) : min_of(a, b);
      case Op::Max:
        if (m_skip_nan && (is_nan(a) || is_nan(b))) return is_nan(b) ? a : b;
        return (is_nan(a) || is_nan(b)) ? (is_nan(a) ? a : b) : max_of(a, b);
      case Op::Any:
        return a || b;
      case Op::All:
        return a && b;
      default:
        return a;
    }
  }

  static void merge_moments(double& mean, double& m2, double& cnt, double bmean, double bm2,
                            double bcnt) {
    if (bcnt == 0) return;
    if (cnt == 0) {
      mean = bmean, m2 = bm2, cnt = bcnt;
      return;
    }
    const double n = cnt + bcnt, delta = bmean - mean;
    mean += delta * bcnt / n;
    m2 += bm2 + delta * delta * cnt * bcnt / n;
    cnt = n;
  }

  template <class T>
  void accumulate_typed(Partial& p, const T* x, index_t n, index_t out, const index_t* gidx,
                        bool fold_run) const {
    if (is_moment(m_op)) {
      double* mean = p.fields[0].data_as<double>() + out;
      double* m2 = p.fields[1].data_as<double>() + out;
      double* cnt = p.fields[2].data_as<double>() + out;
      if (m_skip_nan) {  // nanvar/nanstd: Welford over the values that are not NaN
        for (index_t i = 0; i < n; ++i) {
          if (is_nan(x[i])) continue;
          const index_t o = fold_run ? 0 : i;
          const double v = static_cast<double>(x[i]);
          cnt[o] += 1;
          const double d = v - mean[o];
          mean[o] += d / cnt[o];
          m2[o] += d * (v - mean[o]);
        }
        return;
      }
      if (fold_run) {  // two passes over the (cached) run, then one merge
        const double rmean = sum_run<double>(x, n) / static_cast<double>(n);
        const double rm2 = squared_deviations_run(x, n, rmean);
        merge_moments(*mean, *m2, *cnt, rmean, rm2, static_cast<double>(n));
      } else {  // one observation per output element: Welford
        for (index_t i = 0; i < n; ++i) {
          const double v = static_cast<double>(x[i]);
          cnt[i] += 1;
          const double d = v - mean[i];
          mean[i] += d / cnt[i];
          m2[i] += d * (v - mean[i]);
        }
      }
      return;
    }
    if (is_arg(m_op)) {
      T* val = p.fields[0].data_as<T>() + out;
      std::int64_t* idx = p.fields[1].data_as<std::int64_t>() + out;
      const Shape& shape = inputs()[0]->shape();
      const int nd = static_cast<int>(shape.size());
      // The run's first position within the reduced axes: its row-major index over them
      // (NumPy's index along one axis; the flat index when every axis is reduced). The last
      // axis is the innermost of them when the run's axis is reduced, so the run steps by 1.
      index_t base = 0;
      for (int a = 0; a < nd; ++a) {
        if (reduces(a)) base = base * shape[static_cast<std::size_t>(a)] + gidx[a];
      }
      const index_t step = fold_run ? 1 : 0;
      for (index_t i = 0; i < n; ++i) {
        const index_t o = fold_run ? 0 : i;
        if (m_skip_nan && is_nan(x[i])) continue;
        if (idx[o] < 0 || better(x[i], val[o])) {
          val[o] = x[i];
          idx[o] = base + i * step;
        }
      }
      return;
    }
    visit_dtype(p.fields[0].dtype(), [&]<class A>() {
      A* a = p.fields[0].data_as<A>() + out;
      if (fold_run) {
        if constexpr (!std::is_same_v<A, bool> && !std::is_same_v<T, bool>) {
          if (m_op == Op::Sum || m_op == Op::Mean) {
            *a = wrap_add(*a, sum_run<A>(x, n));
            return;
          }
          if (!m_skip_nan && (m_op == Op::Min || m_op == Op::Max)) {
            *a = fold(*a, extreme_run<A>(x, n));
            return;
          }
        }
        A acc = *a;
        for (index_t i = 0; i < n; ++i) acc = fold(acc, static_cast<A>(x[i]));
        *a = acc;
      } else if constexpr (!std::is_same_v<A, bool>) {
        // One observation per output element: keep the loops free of the op switch so they
        // vectorise (this is the inner loop of e.g. mean(axis=0)).
        switch (m_op) {
          case Op::Sum:
          case Op::Mean:
            for (index_t i = 0; i < n; ++i) a[i] = wrap_add(a[i], static_cast<A>(x[i]));
            return;
          case Op::Prod:
            for (index_t i = 0; i < n; ++i) a[i] = wrap_mul(a[i], static_cast<A>(x[i]));
            return;
          case Op::Min:
          case Op::Max:
            if constexpr (!std::is_floating_point_v<A>) {  // no NaN: a plain min or max
              if (m_op == Op::Min) {
                for (index_t i = 0; i < n; ++i) a[i] = min_of(a[i], static_cast<A>(x[i]));
              } else {
                for (index_t i = 0; i < n; ++i) a[i] = max_of(a[i], static_cast<A>(x[i]));
              }
              return;
            }
            [[fallthrough]];
          default:
            for (index_t i = 0; i < n; ++i) a[i] = fold(a[i], static_cast<A>(x[i]));
        }
      } else {
        for (index_t i = 0; i < n; ++i) a[i] = fold(a[i], static_cast<A>(x[i]));
      }
    });
  }

  Op m_op;
  DType m_in;
  int m_ddof;
  index_t m_count;  // elements folded into each output element (for mean)
  bool m_skip_nan;
};

Array make_reduction(Op op, const Array& x, const Axes& axes_in, const ReduceOptions& o,
                     bool skip_nan = false) {
  // Every axis only when none were named: an empty list reduces nothing (NumPy's axis=()),
  // so each output element folds exactly one input element.
  std::vector<int> axes;
  if (axes_in.all()) {
    for (int a = 0; a < x.ndim(); ++a) axes.push_back(a);
  } else {
    axes = normalize_axes(axes_in.list(), x.ndim());
  }
  index_t count = 1;
  for (int a : axes) count *= x.shape()[static_cast<std::size_t>(a)];
  if (count == 0 && (op == Op::Min || op == Op::Max || is_arg(op))) {
    throw value_error(
        fmt::format("zero-size array of shape {} to reduction operation {} which has no identity",
                    shape_string(x.shape()), op_name_of(op)));
  }
  if (is_moment(op) && o.ddof < 0)
    throw value_error(fmt::format("{}: ddof must be non-negative, got {}", op_name_of(op), o.ddof));
  const int split = o.split_every == 0 ? 8 : o.split_every;
  if (split < 2)
    throw value_error(
        fmt::format("{}: split_every must be at least 2, got {}", op_name_of(op), split));
  const bool flat_arg = is_arg(op) && axes_in.all();
  return Array(std::make_shared<Reduction>(op, x, std::move(axes), o.keepdims, split, o.ddof, count,
                                           flat_arg, skip_nan && is_float(x.dtype())));
}

}  // namespace

Array Array::sum(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Sum, *this, axes, o);
}
Array Array::prod(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Prod, *this, axes, o);
}
Array Array::mean(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Mean, *this, axes, o);
}
Array Array::min(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Min, *this, axes, o);
}
Array Array::max(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Max, *this, axes, o);
}
Array Array::var(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Var, *this, axes, o);
}
Array Array::std(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Std, *this, axes, o);
}
Array Array::any(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::Any, *this, axes, o);
}
Array Array::all(Axes axes, ReduceOptions o) const {
  return make_reduction(Op::All, *this, axes, o);
}

Array Array::argmin(std::optional<int> axis, ReduceOptions o) const {
  return make_reduction(Op::Argmin, *this, axis ? Axes(*axis) : Axes(), o);
}
Array Array::argmax(std::optional<int> axis, ReduceOptions o) const {
  return make_reduction(Op::Argmax, *this, axis ? Axes(*axis) : Axes(), o);
}

// --- the nan- reductions and count_nonzero ---------------------------------------------------

Array nansum(const Array& x, Axes axes, ReduceOptions o) {
  if (!is_float(x.dtype())) return x.sum(std::move(axes), o);
  return where(isnan(x), 0, x).sum(std::move(axes), o);
}
Array nanprod(const Array& x, Axes axes, ReduceOptions o) {
  if (!is_float(x.dtype())) return x.prod(std::move(axes), o);
  return where(isnan(x), 1, x).prod(std::move(axes), o);
}
Array nanmean(const Array& x, Axes axes, ReduceOptions o) {
  if (!is_float(x.dtype())) return x.mean(std::move(axes), o);
  // NumPy's: the sum of the numbers over their count (NaN for a slice of NaNs: 0 / 0).
  const DType f = float_result(x.dtype());
  return (nansum(x, axes, o).astype(DType::Float64) / count_nonzero(!isnan(x), axes, o)).astype(f);
}
Array nanmin(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Min, x, axes, o, true);
}
Array nanmax(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Max, x, axes, o, true);
}
Array nanvar(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Var, x, axes, o, true);
}
Array nanstd(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Std, x, axes, o, true);
}
Array argmin(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Argmin, x, axes, o);
}
Array argmax(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Argmax, x, axes, o);
}
Array nanargmin(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Argmin, x, axes, o, true);
}
Array nanargmax(const Array& x, Axes axes, ReduceOptions o) {
  return make_reduction(Op::Argmax, x, axes, o, true);
}
Array count_nonzero(const Array& x, Axes axes, ReduceOptions o) {
  return (x != 0).sum(std::move(axes), o);
}

}  // namespace tessera
