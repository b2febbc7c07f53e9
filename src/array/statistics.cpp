// Order statistics (median, quantile, percentile and their nan- forms) and counting
// (histogram, bincount, unique).
//
// Quantiles: the input is rechunked so that the axis is one chunk (Dask's plan), then a
// blockwise node selects the order statistics of every lane of a chunk with std::nth_element.
// Counting: a blockwise node makes one count vector per input chunk (rows of a
// (chunks, bins) array, one chunk per row), and sum() over the rows adds them in a tree, so
// only count vectors cross ranks.
// unique: each chunk's sorted distinct values and counts (a first pass counts them, so that the
// second has a shape), gathered on every rank at call time and merged there.

#include "tessera/array/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "tessera/array/creation.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/manipulation.hpp"
#include "tessera/array/rechunk.hpp"
#include "tessera/array/reductions.hpp"

namespace tessera {

namespace {

constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

// --- quantiles ---------------------------------------------------------------------------------

/// What a QuantileExpr selects from every lane.
struct QuantileKind {
  bool median = false;   // the mean of the middle two (NumPy's median), else the quantiles
  bool skipnan = false;  // leave NaNs out (the nan- forms)
  bool leading = false;  // one output row per quantile (a vector q)
};

/// NumPy's _lerp: a + (b - a) t, computed from b's side for t >= 0.5 (exact at t = 1).
double lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/// The q-quantile (method "linear") of the `n` values in `v` (reordered in place), n > 0.
double linear_quantile(std::vector<double>& v, double q) {
  const auto n = static_cast<index_t>(v.size());
  const double virt = q * static_cast<double>(n - 1);
  index_t prev = static_cast<index_t>(std::floor(virt));
  prev = std::clamp<index_t>(prev, 0, n - 1);
  const index_t next = std::min<index_t>(prev + 1, n - 1);
  const double gamma = virt - static_cast<double>(prev);
  std::nth_element(v.begin(), v.begin() + prev, v.end());
  const double a = v[static_cast<std::size_t>(prev)];
  const double b = next == prev ? a : *std::min_element(v.begin() + next, v.end());
  return lerp(a, b, gamma);
}

/// NumPy's median of the `n` values in `v` (reordered in place), n > 0.
double middle(std::vector<double>& v) {
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const double b = v[h];
  if (v.size() % 2) return b;
  const double a = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h));
  return (a + b) / 2;
}

/// The selected statistics of every input chunk's lanes along `axis` (one chunk along it).
class QuantileExpr final : public BlockwiseExpr {
 public:
  QuantileExpr(const ExprPtr& x, int axis, std::vector<double> qs, QuantileKind kind, Shape shape,
               ChunkGrid grid, std::string_view name)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), float_result(x->dtype()),
                      std::move(grid), {x},
                      Tokenizer()
                          .add(axis)
                          .add_range(qs)
                          .add(kind.median)
                          .add(kind.skipnan)
                          .add(kind.leading)
                          .finish(),
                      name),
        m_axis(axis),
        m_qs(std::move(qs)),
        m_kind(kind),
        m_name(name) {}

  std::string_view op_name() const override { return m_name; }

  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(input_coords(coords))}};
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    if (out.size() == 0) return out;
    const Shape& s = in[0]->shape();
    index_t outer = 1, inner = 1;
    const index_t n = s[static_cast<std::size_t>(m_axis)];
    for (int a = 0; a < m_axis; ++a) outer *= s[static_cast<std::size_t>(a)];
    for (std::size_t a = static_cast<std::size_t>(m_axis) + 1; a < s.size(); ++a) inner *= s[a];
    const index_t lanes = outer * inner;
    const std::size_t nq = m_kind.median ? 1 : m_qs.size();
    std::vector<double> result(nq * static_cast<std::size_t>(lanes));
    visit_dtype(in[0]->dtype(), [&]<class S>() {
      const S* p = static_cast<const S*>(in[0]->data());
      std::vector<double> lane;
      lane.reserve(static_cast<std::size_t>(n));
      for (index_t o = 0; o < outer; ++o) {
        for (index_t i = 0; i < inner; ++i) {
          lane.clear();
          bool has_nan = false;
          for (index_t k = 0; k < n; ++k) {
            const auto v = static_cast<double>(p[(o * n + k) * inner + i]);
            if constexpr (std::is_floating_point_v<S>) {
              if (std::isnan(v)) {
                has_nan = true;
                continue;
              }
            }
            lane.push_back(v);
          }
          const auto at = static_cast<std::size_t>(o * inner + i);
          const bool none = lane.empty() || (has_nan && !m_kind.skipnan);
          for (std::size_t q = 0; q < nq; ++q) {
            result[q * static_cast<std::size_t>(lanes) + at] = none ? nan_v
                                                               : m_kind.median
                                                                   ? middle(lane)
                                                                   : linear_quantile(lane, m_qs[q]);
          }
        }
      }
    });
    visit_dtype(dtype(), [&]<class R>() {
      if constexpr (std::is_floating_point_v<R>) {
        std::transform(result.begin(), result.end(), out.data_as<R>(),
                       [](double v) { return static_cast<R>(v); });
      }
    });
    return out;
  }

 private:
  /// The input chunk (whole along the axis) that output chunk `coords` comes from.
  Shape input_coords(const Shape& coords) const {
    Shape ic;
    std::size_t k = m_kind.leading ? 1 : 0;
    for (int d = 0; d < inputs()[0]->ndim(); ++d) ic.push_back(d == m_axis ? 0 : coords[k++]);
    return ic;
  }

  int m_axis;
  std::vector<double> m_qs;
  QuantileKind m_kind;
  std::string m_name;
};

Array order_statistic(const Array& x, std::vector<double> qs, QuantileKind kind,
                      std::optional<int> axis_in, std::string_view name) {
  if (!axis_in) return order_statistic(ravel(x), std::move(qs), kind, 0, name);
  const int axis = normalize_axis(*axis_in, x.ndim());
  const auto ax = static_cast<std::size_t>(axis);
  // Rechunk: the axis whole; the other axes keep their chunks while a chunk stays within the
  // automatic chunk size, else they take automatic chunks that fit with the whole axis.
  const index_t n = x.shape()[ax];
  const double target = static_cast<double>(ChunkSpec::default_auto_bytes) /
                        static_cast<double>(dtype_size(x.dtype()));
  double across = static_cast<double>(std::max<index_t>(n, 1));
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == axis) continue;
    const auto& sz = x.chunks().sizes(d);
    across *= static_cast<double>(std::max<index_t>(1, *std::max_element(sz.begin(), sz.end())));
  }
  std::vector<AxisChunks> spec;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == axis)
      spec.emplace_back(index_t{-1});
    else if (across <= target)
      spec.emplace_back(x.chunks().sizes(d));
    else
      spec.emplace_back(AxisChunks::Auto{});
  }
  const Array y = rechunk(x, ChunkSpec(std::move(spec)));
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  if (kind.leading) {
    shape.push_back(static_cast<index_t>(qs.size()));
    sizes.push_back({static_cast<index_t>(qs.size())});
  }
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == axis) continue;
    shape.push_back(x.shape()[static_cast<std::size_t>(d)]);
    sizes.push_back(y.chunks().sizes(d));
  }
  return Array(std::make_shared<QuantileExpr>(y.expr(), axis, std::move(qs), kind, std::move(shape),
                                              ChunkGrid(std::move(sizes)), name));
}

/// q divided by `scale` (1 for quantiles, 100 for percentiles), checked to lie in [0, scale].
std::vector<double> checked_q(const std::vector<double>& q, double scale, std::string_view name) {
  std::vector<double> out;
  for (double v : q) {
    if (!(v >= 0 && v <= scale)) {
      throw value_error(fmt::format("{}: q = {} is outside [0, {}]", name, v, scale));
    }
    out.push_back(scale == 1 ? v : v / scale);
  }
  return out;
}

Array quantiles(const Array& x, const std::vector<double>& q, bool leading, double scale,
                bool skipnan, std::optional<int> axis, std::string_view name) {
  return order_statistic(x, checked_q(q, scale, name),
                         {.median = false, .skipnan = skipnan, .leading = leading}, axis, name);
}

// --- counting ------------------------------------------------------------------------------------

enum class CountMode { Uniform, Edges, Bincount };

/// Where value `v` falls among `edges` (NumPy's histogram rules: [e_k, e_k+1), the last bin
/// closed), or -1 when it is outside them or NaN.
index_t bin_of(const std::vector<double>& edges, double v, bool uniform) {
  const auto nb = static_cast<index_t>(edges.size()) - 1;
  if (nb < 1 || !(v >= edges.front() && v <= edges.back())) return -1;
  if (uniform) {
    // NumPy's computed index, then corrected against the edges themselves.
    const double lo = edges.front(), hi = edges.back();
    // (Clamped before the conversion: for a range wider than the largest double, f is NaN.)
    const double f = (v - lo) / (hi - lo) * static_cast<double>(nb);
    index_t k = f >= static_cast<double>(nb) ? nb - 1 : f > 0 ? static_cast<index_t>(f) : 0;
    if (v < edges[static_cast<std::size_t>(k)]) --k;
    if (k + 1 < nb && v >= edges[static_cast<std::size_t>(k + 1)]) ++k;
    return k;
  }
  const auto k = std::upper_bound(edges.begin(), edges.end(), v) - edges.begin() - 1;
  return std::min<index_t>(k, nb - 1);
}

/// Row c: the counts (or summed weights) of input chunk c, for the bins of the output chunk.
class CountsExpr final : public BlockwiseExpr {
 public:
  CountsExpr(std::vector<ExprPtr> in, CountMode mode, std::vector<double> edges, Shape shape,
             ChunkGrid grid, std::string_view name)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape),
                      in.size() > 1 ? DType::Float64 : DType::Int64, std::move(grid), in,
                      Tokenizer().add(static_cast<int>(mode)).add_range(edges).finish(), name),
        m_mode(mode),
        m_edges(std::move(edges)),
        m_name(name) {}

  std::string_view op_name() const override { return m_name; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out{{0, coords[0]}};
    if (inputs().size() > 1) out.push_back({1, coords[0]});
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const index_t lo = chunks().offsets(1)[static_cast<std::size_t>(coords[1])];
    const index_t len = out.size();
    const double* w = in.size() > 1 ? in[1]->data_as<double>() : nullptr;
    visit_dtype(dtype(), [&]<class C>() {
      if constexpr (std::is_same_v<C, std::int64_t> || std::is_same_v<C, double>) {
        C* c = out.data_as<C>();
        std::fill(c, c + len, C(0));
        visit_dtype(in[0]->dtype(), [&]<class S>() {
          const S* p = static_cast<const S*>(in[0]->data());
          for (index_t i = 0; i < in[0]->size(); ++i) {
            index_t k;
            if (m_mode == CountMode::Bincount) {
              if constexpr (std::is_integral_v<S>) {
                if constexpr (std::is_signed_v<S>) {
                  if (p[i] < 0) throw value_error("bincount: x holds a negative value");
                }
                k = static_cast<index_t>(p[i]);
              } else {
                k = -1;  // not reached: bincount takes integers only
              }
            } else {
              k = bin_of(m_edges, static_cast<double>(p[i]), m_mode == CountMode::Uniform);
            }
            k -= lo;
            if (k < 0 || k >= len) continue;
            if constexpr (std::is_same_v<C, double>)
              c[k] += w ? w[i] : 1.0;
            else
              ++c[k];
          }
        });
      }
    });
    return out;
  }

 private:
  CountMode m_mode;
  std::vector<double> m_edges;
  std::string m_name;
};

/// The counts of `x`'s values in `length` bins: one row per chunk of x, summed by a tree.
Array counts(const Array& x, const std::optional<Array>& weights, CountMode mode,
             std::vector<double> edges, index_t length, std::string_view name) {
  std::vector<ExprPtr> in{x.expr()};
  if (weights) {
    std::vector<std::vector<index_t>> sizes;
    for (int d = 0; d < x.ndim(); ++d) sizes.push_back(x.chunks().sizes(d));
    in.push_back(
        rechunk(weights->astype(DType::Float64), ChunkSpec::explicit_sizes(std::move(sizes)))
            .expr());
  }
  // The bins in chunks of at most the automatic chunk size.
  const index_t per = static_cast<index_t>(ChunkSpec::default_auto_bytes / 8);
  std::vector<index_t> bin_sizes;
  for (index_t left = length; left > 0; left -= per) bin_sizes.push_back(std::min(left, per));
  if (bin_sizes.empty()) bin_sizes.push_back(0);
  const index_t rows = x.chunks().num_chunks();
  const auto expr = std::make_shared<CountsExpr>(
      std::move(in), mode, std::move(edges), Shape{rows, length},
      ChunkGrid({std::vector<index_t>(static_cast<std::size_t>(rows), 1), std::move(bin_sizes)}),
      name);
  return Array(expr).sum(0);
}

void check_weights(const Array& x, const std::optional<Array>& weights, std::string_view name) {
  if (weights && weights->shape() != x.shape()) {
    throw shape_error(fmt::format("{}: weights of shape {} for x of shape {}", name,
                                  shape_string(weights->shape()), shape_string(x.shape())));
  }
}

/// `options` with results landing on every rank: a call-time compute decides what every rank
/// builds next.
ComputeOptions everywhere(ComputeOptions options) {
  options.root = -1;
  return options;
}

/// The single value of a computed size-1 block, as double.
double value_of(const Block& b) {
  return visit_dtype(b.dtype(), [&]<class T>() { return static_cast<double>(*b.data_as<T>()); });
}

Histogram finish_histogram(const Array& x, std::vector<double> edges, bool uniform,
                           const std::optional<Array>& weights, bool density) {
  check_weights(x, weights, "histogram");
  const auto nb = static_cast<index_t>(edges.size()) - 1;
  Array c =
      counts(x, weights, uniform ? CountMode::Uniform : CountMode::Edges, edges, nb, "histogram");
  if (density) {
    std::vector<double> widths;
    for (std::size_t k = 0; k + 1 < edges.size(); ++k) widths.push_back(edges[k + 1] - edges[k]);
    const Array f = c.astype(DType::Float64);
    c = f / from_buffer(std::span<const double>(widths), {nb}, ChunkSpec(index_t{-1})) / f.sum();
  }
  return {std::move(c), std::move(edges)};
}

// --- unique --------------------------------------------------------------------------------------

/// NumPy's sort order (NaN last) and its unique's equality (NaNs equal).
template <class T>
bool before(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return a < b || (!std::isnan(a) && std::isnan(b));
  else
    return a < b;
}
template <class T>
bool same(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return a == b || (std::isnan(a) && std::isnan(b));
  else
    return a == b;
}

enum class UniqueMode { Sizes, Values, Counts };

/// Per chunk c of x (any shape): the number of its distinct values (Sizes: one element per
/// chunk), or its distinct values in order (Values) or their counts (Counts): chunk c of a 1-D
/// output whose chunk sizes are those numbers.
class ChunkUniqueExpr final : public BlockwiseExpr {
 public:
  ChunkUniqueExpr(const ExprPtr& x, UniqueMode mode, std::vector<index_t> sizes)
      : BlockwiseExpr(ExprKind::Blockwise,
                      Shape{std::accumulate(sizes.begin(), sizes.end(), index_t{0})},
                      mode == UniqueMode::Values ? x->dtype() : DType::Int64, ChunkGrid({sizes}),
                      {x}, Tokenizer().add(static_cast<int>(mode)).finish(), "unique"),
        m_mode(mode) {}

  std::string_view op_name() const override { return "unique"; }

  std::vector<Dep> deps(const Shape& coords) const override { return {{0, coords[0]}}; }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    visit_dtype(in[0]->dtype(), [&]<class T>() {
      const T* p = static_cast<const T*>(in[0]->data());
      std::vector<T> v(p, p + in[0]->size());
      std::sort(v.begin(), v.end(), before<T>);
      index_t u = 0;
      for (std::size_t i = 0; i < v.size(); ++i) {
        const bool first = i == 0 || !same<T>(v[i - 1], v[i]);
        if (m_mode == UniqueMode::Values && first) out.data_as<T>()[u] = v[i];
        if (m_mode == UniqueMode::Counts) {
          if (first) out.data_as<std::int64_t>()[u] = 0;
          ++out.data_as<std::int64_t>()[u - (first ? 0 : 1)];
        }
        if (first) ++u;
      }
      if (m_mode == UniqueMode::Sizes) *out.data_as<std::int64_t>() = u;
    });
    return out;
  }

 private:
  UniqueMode m_mode;
};

/// The distinct values of x in order and their counts, landed on every rank (collective).
UniqueCounts unique_impl(const Array& x, const ComputeOptions& options) {
  const ComputeOptions o = everywhere(options);
  std::vector<Block> b;
  if (x.size() > 0) {
    // First how many each chunk holds (the shape of the second pass), then the values.
    const index_t nc = x.chunks().num_chunks();
    const Block sizes = Array(std::make_shared<ChunkUniqueExpr>(
                                  x.expr(), UniqueMode::Sizes,
                                  std::vector<index_t>(static_cast<std::size_t>(nc), 1)))
                            .compute_block(o);
    const std::int64_t* s = sizes.data_as<std::int64_t>();
    const std::vector<index_t> per(s, s + nc);
    b = compute_blocks(
        {Array(std::make_shared<ChunkUniqueExpr>(x.expr(), UniqueMode::Values, per)),
         Array(std::make_shared<ChunkUniqueExpr>(x.expr(), UniqueMode::Counts, per))},
        o);
  }
  // Merge the chunks' sorted runs.
  return visit_dtype(x.dtype(), [&]<class T>() {
    std::vector<std::pair<T, std::int64_t>> all;
    if (!b.empty()) {
      for (index_t i = 0; i < b[0].size(); ++i)
        all.emplace_back(b[0].data_as<T>()[i], b[1].data_as<std::int64_t>()[i]);
    }
    std::sort(all.begin(), all.end(),
              [](const auto& l, const auto& r) { return before(l.first, r.first); });
    std::vector<T> values;
    std::vector<std::int64_t> counts;
    for (const auto& [v, c] : all) {
      if (!values.empty() && same<T>(values.back(), v)) {
        counts.back() += c;
      } else {
        values.push_back(v);
        counts.push_back(c);
      }
    }
    const Shape shape{static_cast<index_t>(values.size())};
    // std::vector<bool> has no data(): copy bools through a plain buffer.
    std::vector<std::conditional_t<std::is_same_v<T, bool>, char, T>> raw(values.begin(),
                                                                          values.end());
    static_assert(sizeof(bool) == sizeof(char));
    return UniqueCounts{from_buffer(raw.data(), x.dtype(), shape),
                        from_buffer(counts.data(), DType::Int64, shape)};
  });
}

}  // namespace

// --- public functions ----------------------------------------------------------------------------

Array median(const Array& x, std::optional<int> axis) {
  return order_statistic(x, {}, {.median = true}, axis, "median");
}
Array nanmedian(const Array& x, std::optional<int> axis) {
  return order_statistic(x, {}, {.median = true, .skipnan = true}, axis, "nanmedian");
}

Array quantile(const Array& x, double q, std::optional<int> axis) {
  return quantiles(x, {q}, false, 1, false, axis, "quantile");
}
Array quantile(const Array& x, const std::vector<double>& q, std::optional<int> axis) {
  return quantiles(x, q, true, 1, false, axis, "quantile");
}
Array percentile(const Array& x, double q, std::optional<int> axis) {
  return quantiles(x, {q}, false, 100, false, axis, "percentile");
}
Array percentile(const Array& x, const std::vector<double>& q, std::optional<int> axis) {
  return quantiles(x, q, true, 100, false, axis, "percentile");
}
Array nanquantile(const Array& x, double q, std::optional<int> axis) {
  return quantiles(x, {q}, false, 1, true, axis, "nanquantile");
}
Array nanquantile(const Array& x, const std::vector<double>& q, std::optional<int> axis) {
  return quantiles(x, q, true, 1, true, axis, "nanquantile");
}
Array nanpercentile(const Array& x, double q, std::optional<int> axis) {
  return quantiles(x, {q}, false, 100, true, axis, "nanpercentile");
}
Array nanpercentile(const Array& x, const std::vector<double>& q, std::optional<int> axis) {
  return quantiles(x, q, true, 100, true, axis, "nanpercentile");
}

Histogram histogram(const Array& x, int bins, std::optional<std::pair<double, double>> range,
                    std::optional<Array> weights, bool density, const ComputeOptions& options) {
  if (bins < 1) throw value_error(fmt::format("histogram: bins must be at least 1, got {}", bins));
  check_weights(x, weights, "histogram");
  double lo = 0, hi = 1;
  if (range) {
    std::tie(lo, hi) = *range;
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
      throw value_error(fmt::format("histogram: supplied range of [{}, {}] is not finite", lo, hi));
    }
    if (lo > hi) {
      throw value_error(
          fmt::format("histogram: range ({}, {}) has its minimum above its maximum", lo, hi));
    }
  } else if (x.size() > 0) {
    // Collective: every rank computes the same min and max.
    const auto b = compute_blocks({nanmin(x), nanmax(x)}, everywhere(options));
    const double mn = value_of(b[0]), mx = value_of(b[1]);
    if (!std::isnan(mn)) {  // else all NaN: NumPy's range of an empty array, (0, 1)
      if (!std::isfinite(mn) || !std::isfinite(mx)) {
        throw value_error(
            fmt::format("histogram: autodetected range of [{}, {}] is not finite", mn, mx));
      }
      lo = mn;
      hi = mx;
    }
  }
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // numpy.linspace(lo, hi, bins + 1).
  std::vector<double> edges(static_cast<std::size_t>(bins) + 1);
  const double step = (hi - lo) / bins;
  for (int k = 0; k <= bins; ++k) edges[static_cast<std::size_t>(k)] = k * step + lo;
  edges.back() = hi;
  return finish_histogram(x, std::move(edges), true, weights, density);
}

Histogram histogram(const Array& x, std::vector<double> edges, std::optional<Array> weights,
                    bool density) {
  if (edges.empty()) throw value_error("histogram: no bin edges given");
  for (std::size_t k = 0; k < edges.size(); ++k) {
    if (std::isnan(edges[k]) || (k > 0 && edges[k] < edges[k - 1])) {
      throw value_error(
          fmt::format("histogram: bin edges must increase monotonically (edge {} is {}, after {})",
                      k, edges[k], k > 0 ? edges[k - 1] : nan_v));
    }
  }
  return finish_histogram(x, std::move(edges), false, weights, density);
}

Array bincount(const Array& x, std::optional<Array> weights, index_t minlength,
               const ComputeOptions& options) {
  if (x.ndim() != 1) {
    throw shape_error(fmt::format("bincount: x of shape {} is not 1-D", shape_string(x.shape())));
  }
  if (is_float(x.dtype())) {
    throw dtype_error(fmt::format("bincount: x has dtype {}; it must hold non-negative integers",
                                  dtype_name(x.dtype())));
  }
  if (minlength < 0) {
    throw value_error(fmt::format("bincount: minlength must be non-negative, got {}", minlength));
  }
  check_weights(x, weights, "bincount");
  index_t length = minlength;
  if (x.size() > 0) {
    // Collective: every rank computes the same min and max.
    const auto b = compute_blocks({x.min(), x.max()}, everywhere(options));
    if (value_of(b[0]) < 0) throw value_error("bincount: x holds a negative value");
    const index_t mx = visit_dtype(b[1].dtype(), [&]<class T>() -> index_t {
      const T v = *b[1].data_as<T>();
      if constexpr (std::is_integral_v<T>) {
        if (static_cast<std::uint64_t>(v) >= std::uint64_t{1} << 62) {
          throw value_error(fmt::format("bincount: x holds {}, too large for a count vector", v));
        }
      }
      return static_cast<index_t>(v);
    });
    length = std::max(length, mx + 1);
  }
  return counts(x, weights, CountMode::Bincount, {}, length, "bincount");
}

UniqueCounts unique_counts(const Array& x, const ComputeOptions& options) {
  return unique_impl(x, options);
}

Array unique(const Array& x, const ComputeOptions& options) {
  return unique_impl(x, options).values;
}

}  // namespace tessera
