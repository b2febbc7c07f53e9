// sort, topk and argtopk along an axis (include/tessera/array/sorting.hpp).
//
// sort is a sample sort with exact output chunks, per lane along the axis (a lane: the
// elements of one chunk that differ only in their index along the axis), in five stages of
// BlockwiseExpr nodes:
//   A. SortChunkExpr: each chunk sorted along the axis, where it lives.
//   B. SampleExpr: each sorted chunk's regular sample: per lane, the last element of every
//      group of g_j consecutive elements (the last group may be shorter).
//   C. SplitterExpr, one task per row of chunks along the axis: from every sample, for each
//      output chunk k (global ranks [s_k, e_k) of its lane), values lo_k and hi_k with
//      count(< lo_k) <= s_k and count(<= hi_k) >= e_k. A sample element stands for its group:
//      the elements of a group whose sample is < v are all < v, and at most g_j - 1 elements
//      of the first group whose sample is >= v are < v; so with W(< v) the weight of the
//      samples below v and G = sum_j (g_j - 1), count(< v) <= W(< v) + G and
//      count(<= v) >= W(<= v). lo_k is the largest sample value with W(< lo_k) <= s_k - G (the
//      dtype's lowest value when s_k < G), hi_k the smallest with W(<= hi_k) >= e_k.
//   D. Per (input chunk j, output chunk k), where sorted chunk j is: CutCountsExpr, per lane
//      how many of chunk j's elements are < lo_k and how many lie in [lo_k, hi_k]; and
//      CutValuesExpr, those elements (a view of the sorted chunk when it has one lane).
//   E. MergeExpr, one task per output chunk: C = the global count(< lo_k) (the sum of the
//      counts), merged candidates; it keeps merged[s_k - C, e_k - C), exactly its ranks
//      (every element of rank r in [s_k, e_k) is >= lo_k because r >= C, and <= hi_k because
//      r < e_k <= count(<= hi_k)). It also reads AnchorExpr k (an empty Block made where
//      sorted chunk k is), which only steers placement: output chunk k is made where input
//      chunk k was.
// Only the samples (small), the cuts (each element about once: the candidates past an output
// chunk's own elements are about 2 G) and the splitters (two values per lane and output
// chunk) cross ranks. The cut values have data-dependent sizes: 1-d Blocks that only
// MergeExpr reads; their node's declared chunk shapes are estimates, used by placement only.
// The engine never checks an intermediate Block's shape against its node's grid (lowering
// takes whole chunks of these nodes, never pieces), and memory accounting counts the Blocks'
// real bytes (a view counts its own; it keeps its sorted chunk alive until the merges that
// read it have run).
//
// topk/argtopk: TopkPartialExpr keeps each chunk's |k| best (value, global index) pairs per
// lane, in order, as int64 slots (values bit-copied); TopkCombineExpr merges groups of up to
// kFanIn of them until one chunk is left along the axis; TopkFinalExpr unpacks the values or
// the indices. Those shapes are exact.

#include "tessera/array/sorting.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace tessera {

namespace {

// --- order ----------------------------------------------------------------------------------

/// a < b in NumPy's sort order: NaN after every number, all NaNs equal (a strict weak order).
template <class T>
inline bool before(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a < b || (b != b && a == a);
  } else {
    return a < b;
  }
}

/// A value no element is before: count(< lowest) is 0.
template <class T>
T lowest() {
  if constexpr (std::is_floating_point_v<T>) {
    return -std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::lowest();
  }
}

/// Uninitialised scratch of n T, as Block allocates (aligned; huge pages from 4 MiB on).
template <class T>
struct Scratch {
  std::shared_ptr<void> owner;
  T* data = nullptr;
  index_t size = 0;
  T* get(index_t n) {
    if (n > size) {
      owner = detail::allocate_buffer(static_cast<std::size_t>(n) * sizeof(T));
      data = static_cast<T*>(owner.get());
      size = n;
    }
    return data;
  }
};

// --- lanes ----------------------------------------------------------------------------------

/// A row-major block seen as lanes along `axis`: lane l = (o, i) holds elements
/// (o * n + t) * inner + i for t in [0, n).
struct Lanes {
  index_t outer = 1, n = 0, inner = 1;
  index_t count() const { return outer * inner; }
  index_t base(index_t lane) const { return lane / inner * n * inner + lane % inner; }
};

Lanes lanes_of(const Shape& shape, int axis) {
  Lanes l;
  const auto a = static_cast<std::size_t>(axis);
  for (std::size_t d = 0; d < a; ++d) l.outer *= shape[d];
  l.n = shape[a];
  for (std::size_t d = a + 1; d < shape.size(); ++d) l.inner *= shape[d];
  return l;
}

/// `shape` with extent `n` along `axis`.
Shape with_extent(Shape shape, int axis, index_t n) {
  shape[static_cast<std::size_t>(axis)] = n;
  return shape;
}

/// `grid` with `sizes` along `axis`.
ChunkGrid with_sizes(const ChunkGrid& grid, int axis, std::vector<index_t> sizes) {
  std::vector<std::vector<index_t>> all;
  for (int a = 0; a < grid.ndim(); ++a) all.push_back(a == axis ? sizes : grid.sizes(a));
  return ChunkGrid(std::move(all));
}

// --- sorting one run ------------------------------------------------------------------------

template <class T>
using key_t = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;

template <class T>
constexpr bool radix_sortable = sizeof(T) >= 4 && !std::is_same_v<T, bool>;

/// Runs shorter than this are sorted by comparison.
constexpr index_t kRadixMin = 1024;

/// The unsigned key whose order is before()'s: unsigned integers and bool as they are; signed
/// integers sign-extended to the key's width with the sign bit flipped; for floats the sign
/// bit set on non-negative values and every bit flipped on negative ones, every NaN made the
/// positive quiet NaN first (above +inf).
template <class T>
inline key_t<T> to_key(T v) {
  using U = key_t<T>;
  constexpr U sign = U{1} << (8 * sizeof(U) - 1);
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) v = std::numeric_limits<T>::quiet_NaN();
    const U u = std::bit_cast<U>(v);
    return (u & sign) != 0 ? ~u : (u | sign);
  } else if constexpr (std::is_unsigned_v<T>) {  // bool included
    return static_cast<U>(v);
  } else {
    return static_cast<U>(v) ^ sign;
  }
}

template <class T>
inline T from_key(key_t<T> k) {
  using U = key_t<T>;
  constexpr U sign = U{1} << (8 * sizeof(U) - 1);
  if constexpr (std::is_floating_point_v<T>) {
    return std::bit_cast<T>((k & sign) != 0 ? (k & ~sign) : ~k);
  } else if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(k);
  } else {
    return static_cast<T>(k ^ sign);
  }
}

/// LSD radix sort of in[0, n) into out (not `in`), 8-bit digits, through one scratch of n
/// keys and `out` itself (seen as keys: may_alias, as it is written as keys and then as T);
/// digits equal in every element are skipped. Fresh memory is costly (first-touch page
/// faults), so no more scratch than this.
template <class T>
void radix_sort(const T* in, T* out, index_t n, key_t<T>* scratch) {
  using U = key_t<T>;
  using AliasU [[gnu::may_alias]] = U;
  constexpr int kDigits = static_cast<int>(sizeof(U));
  std::array<std::array<index_t, 256>, kDigits> count{};
  for (index_t i = 0; i < n; ++i) {
    const U k = to_key(in[i]);
    for (int d = 0; d < kDigits; ++d) ++count[static_cast<std::size_t>(d)][(k >> (8 * d)) & 255];
  }
  std::array<int, kDigits> passes{};
  int num_passes = 0;
  const U k0 = to_key(in[0]);
  for (int d = 0; d < kDigits; ++d) {
    if (count[static_cast<std::size_t>(d)][(k0 >> (8 * d)) & 255] != n) passes[num_passes++] = d;
  }
  if (num_passes == 0) {
    for (index_t i = 0; i < n; ++i) out[i] = from_key<T>(to_key(in[i]));  // NaNs made one
    return;
  }
  AliasU* const keys_in_out = reinterpret_cast<AliasU*>(out);
  const AliasU* src = nullptr;  // null: read (and convert) `in`
  for (int q = 0; q < num_passes; ++q) {
    const auto digit = static_cast<std::size_t>(passes[static_cast<std::size_t>(q)]);
    const int shift = 8 * static_cast<int>(digit);
    std::array<index_t, 256> at{};
    index_t sum = 0;
    for (std::size_t v = 0; v < 256; ++v) {
      at[v] = sum;
      sum += count[digit][v];
    }
    const bool last = q + 1 == num_passes;
    // The last pass reads the scratch and writes `out`, so the passes before it alternate
    // back from there.
    AliasU* dst = (num_passes - 1 - q) % 2 == 1 ? scratch : keys_in_out;
    if (src == nullptr) {
      if (last) {
        for (index_t i = 0; i < n; ++i) {
          const U k = to_key(in[i]);
          out[at[(k >> shift) & 255]++] = from_key<T>(k);
        }
      } else {
        for (index_t i = 0; i < n; ++i) {
          const U k = to_key(in[i]);
          dst[at[(k >> shift) & 255]++] = k;
        }
      }
    } else if (last) {
      for (index_t i = 0; i < n; ++i) {
        const U k = src[i];
        out[at[(k >> shift) & 255]++] = from_key<T>(k);
      }
    } else {
      for (index_t i = 0; i < n; ++i) {
        const U k = src[i];
        dst[at[(k >> shift) & 255]++] = k;
      }
    }
    src = dst;
  }
}

/// Sorts in[0, n) into out (not `in`) in before()'s order; `scratch` for the radix sort.
template <class T>
void sort_run(const T* in, T* out, index_t n, Scratch<key_t<T>>& scratch) {
  if (n <= 0) return;
  if constexpr (std::is_same_v<T, bool>) {
    index_t trues = 0;
    for (index_t i = 0; i < n; ++i) trues += in[i] ? 1 : 0;
    std::fill(out, out + (n - trues), false);
    std::fill(out + (n - trues), out + n, true);
  } else {
    if constexpr (radix_sortable<T>) {
      if (n >= kRadixMin) {
        radix_sort(in, out, n, scratch.get(n));
        return;
      }
    }
    std::copy(in, in + n, out);
    std::sort(out, out + n, before<T>);
  }
}

/// Every lane of `in` sorted along `axis`.
Block sort_block(const Block& in, int axis) {
  Block out(in.dtype(), in.shape());
  visit_dtype(in.dtype(), [&]<class T>() {
    const Lanes ln = lanes_of(in.shape(), axis);
    if (ln.n == 0 || ln.count() == 0) return;
    const T* src = in.data_as<T>();
    T* dst = out.data_as<T>();
    Scratch<key_t<T>> scratch;
    if (ln.inner == 1) {
      for (index_t o = 0; o < ln.outer; ++o)
        sort_run(src + o * ln.n, dst + o * ln.n, ln.n, scratch);
      return;
    }
    Scratch<T> gathered, sorted;
    T* a = gathered.get(ln.n);
    T* b = sorted.get(ln.n);
    for (index_t l = 0; l < ln.count(); ++l) {
      const index_t base = ln.base(l);
      for (index_t t = 0; t < ln.n; ++t) a[t] = src[base + t * ln.inner];
      sort_run(a, b, ln.n, scratch);
      for (index_t t = 0; t < ln.n; ++t) dst[base + t * ln.inner] = b[t];
    }
  });
  return out;
}

// --- merging ---------------------------------------------------------------------------------

template <class T>
struct Run {
  const T* data;
  index_t size;
};

/// The unsigned key merges compare: to_key's, for every dtype (the 8- and 16-bit ones, which
/// are not radix-sorted, in a 32-bit key).
template <class T>
inline key_t<T> merge_key(T v) {
  return to_key(v);
}

/// Elements [from, to) of the merge of sorted `runs` (to <= their total), written to
/// out[0, to - from) with no scratch: a loser tree over the runs' keys, padded to a power of
/// two with runs that never win (so every element climbs the same number of levels, without
/// branches), rebuilt without a run when that runs out.
template <class T>
void merge_range(const std::vector<Run<T>>& runs, index_t from, index_t to, T* out) {
  using U = key_t<T>;
  struct Cursor {
    const T* at;
    const T* end;
  };
  std::vector<Cursor> cur;
  for (const auto& r : runs)
    if (r.size > 0) cur.push_back({r.data, r.data + r.size});
  index_t skip = from, left = to - from;
  std::vector<U> head;
  std::vector<int> loser, winner;
  while (left > 0) {
    const int real = static_cast<int>(cur.size());
    if (real == 1) {
      std::copy(cur[0].at + skip, cur[0].at + skip + left, out);
      return;
    }
    // Leaves n .. 2n - 1 are the runs (padding from `real` on, with the largest key); node
    // i > 0 holds the loser of its children's winners.
    int n = 1, depth = 0;
    while (n < real) {
      n *= 2;
      ++depth;
    }
    head.assign(static_cast<std::size_t>(n), std::numeric_limits<U>::max());
    loser.assign(static_cast<std::size_t>(n), 0);
    winner.assign(2 * static_cast<std::size_t>(n), 0);
    for (int r = 0; r < n; ++r) {
      if (r < real)
        head[static_cast<std::size_t>(r)] = merge_key(*cur[static_cast<std::size_t>(r)].at);
      winner[static_cast<std::size_t>(n + r)] = r;
    }
    for (int i = n - 1; i >= 1; --i) {
      const int a = winner[2 * static_cast<std::size_t>(i)];
      const int b = winner[2 * static_cast<std::size_t>(i) + 1];
      const U ka = head[static_cast<std::size_t>(a)], kb = head[static_cast<std::size_t>(b)];
      // A padding run never beats a real one, even one whose key is the largest.
      const bool b_first = kb < ka || (kb == ka && a >= real);
      winner[static_cast<std::size_t>(i)] = b_first ? b : a;
      loser[static_cast<std::size_t>(i)] = b_first ? a : b;
    }
    U* const keys = head.data();
    int* const losers = loser.data();
    int w = winner[1];
    for (;;) {
      auto& c = cur[static_cast<std::size_t>(w)];
      if (skip > 0) {
        --skip;
      } else {
        *out++ = *c.at;
        if (--left == 0) return;
      }
      if (++c.at == c.end) {
        cur.erase(cur.begin() + w);
        break;
      }
      // The run's next key climbs to the root; it stays the candidate on ties, so padding
      // (never the candidate) never wins.
      U v = merge_key(*c.at);
      keys[w] = v;
      int node = (w + n) >> 1;
      for (int d = 0; d < depth; ++d, node >>= 1) {
        const int l = losers[node];
        const U lv = keys[l];
        const bool swap = lv < v;
        losers[node] = swap ? w : l;
        w = swap ? l : w;
        v = swap ? lv : v;
      }
    }
  }
}

// --- sort: the plan ---------------------------------------------------------------------------

/// What every stage of one sort agrees on: the chunks along the axis, and each chunk's sample
/// (one element per group of `group[j]`, `samples[j]` of them per lane).
struct SortPlan {
  int axis = 0;
  std::vector<index_t> sizes, offsets;  // along the axis: J sizes, J + 1 offsets
  std::vector<index_t> group, samples;
  index_t slack = 0;  // G = sum_j (group[j] - 1)

  index_t chunks() const { return static_cast<index_t>(sizes.size()); }
  /// How many elements sample i of chunk j stands for.
  index_t weight(index_t j, index_t i) const {
    const auto u = static_cast<std::size_t>(j);
    return i + 1 < samples[u] ? group[u] : sizes[u] - (samples[u] - 1) * group[u];
  }
};

/// Samples per lane and chunk (never more than the chunk's elements): 1024 J (the candidates
/// an output chunk of n merges beyond its own are about 2 G = 2 J n / S: n / 512), fewer so
/// that a splitter task gets about 2^21 values over all its lanes, and at least 4 J (at most
/// about n / 2 extra candidates).
index_t sample_target(index_t chunks, index_t lanes) {
  const index_t budget = (index_t{1} << 21) / chunks / std::max<index_t>(1, lanes);
  return std::max(4 * chunks, std::min(1024 * chunks, budget));
}

std::shared_ptr<const SortPlan> make_plan(const ChunkGrid& grid, int axis) {
  auto plan = std::make_shared<SortPlan>();
  plan->axis = axis;
  plan->sizes = grid.sizes(axis);
  plan->offsets = grid.offsets(axis);
  index_t lanes = 1;  // the most lanes of any chunk
  for (int a = 0; a < grid.ndim(); ++a) {
    if (a == axis) continue;
    const auto& s = grid.sizes(a);
    const index_t widest = *std::max_element(s.begin(), s.end());
    constexpr index_t kCap = index_t{1} << 40;  // more lanes than this sample 4 J each anyway
    lanes = widest > kCap / lanes ? kCap : lanes * widest;
  }
  const index_t target = sample_target(plan->chunks(), lanes);
  for (index_t n : plan->sizes) {
    const index_t g = std::max<index_t>(1, (n + target - 1) / target);
    plan->group.push_back(g);
    plan->samples.push_back((n + g - 1) / g);
    plan->slack += g - 1;
  }
  return plan;
}

// --- sort: the stages --------------------------------------------------------------------------

/// A: every chunk sorted along the axis (the result itself when the axis is one chunk).
class SortChunkExpr final : public BlockwiseExpr {
 public:
  SortChunkExpr(const ExprPtr& x, int axis, std::string_view name)
      : BlockwiseExpr(ExprKind::Blockwise, x->shape(), x->dtype(), x->chunks(), {x},
                      Tokenizer().add(axis).finish(), name),
        m_axis(axis),
        m_name(name) {}
  std::string_view op_name() const override { return m_name; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }
  Block compute(const Shape&, std::span<const Block* const> in) const override {
    return sort_block(*in[0], m_axis);
  }

 private:
  int m_axis;
  std::string m_name;
};

/// B: the regular sample of every sorted chunk (samples[j] along the axis).
class SampleExpr final : public BlockwiseExpr {
 public:
  SampleExpr(const ExprPtr& sorted, std::shared_ptr<const SortPlan> plan)
      : BlockwiseExpr(ExprKind::Blockwise,
                      with_extent(sorted->shape(), plan->axis, sum(plan->samples)), sorted->dtype(),
                      with_sizes(sorted->chunks(), plan->axis, plan->samples), {sorted},
                      Tokenizer().add(plan->axis).add_range(plan->group).finish(), "sort-sample"),
        m_plan(std::move(plan)) {}
  std::string_view op_name() const override { return "sort-sample"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const int axis = m_plan->axis;
    const index_t j = coords[static_cast<std::size_t>(axis)];
    const index_t g = m_plan->group[static_cast<std::size_t>(j)];
    Block out(dtype(), chunks().chunk_shape(coords));
    visit_dtype(dtype(), [&]<class T>() {
      const Lanes src = lanes_of(in[0]->shape(), axis), dst = lanes_of(out.shape(), axis);
      const T* s = in[0]->data_as<T>();
      T* d = out.data_as<T>();
      for (index_t l = 0; l < src.count(); ++l) {
        const index_t sb = src.base(l), db = dst.base(l);
        for (index_t i = 0; i < dst.n; ++i)
          d[db + i * dst.inner] = s[sb + std::min((i + 1) * g - 1, src.n - 1) * src.inner];
      }
    });
    return out;
  }

 private:
  static index_t sum(const std::vector<index_t>& v) {
    index_t s = 0;
    for (index_t x : v) s += x;
    return s;
  }
  std::shared_ptr<const SortPlan> m_plan;
};

/// C: per row of chunks along the axis, lo_k and hi_k of every output chunk k (elements 2k and
/// 2k + 1 of each lane).
class SplitterExpr final : public BlockwiseExpr {
 public:
  SplitterExpr(const ExprPtr& samples, std::shared_ptr<const SortPlan> plan)
      : BlockwiseExpr(
            ExprKind::Blockwise, with_extent(samples->shape(), plan->axis, 2 * plan->chunks()),
            samples->dtype(), with_sizes(samples->chunks(), plan->axis, {2 * plan->chunks()}),
            {samples}, Tokenizer().add(plan->axis).finish(), "sort-splitters"),
        m_plan(std::move(plan)) {}
  std::string_view op_name() const override { return "sort-splitters"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    Shape c = coords;
    for (index_t j = 0; j < m_plan->chunks(); ++j) {
      c[static_cast<std::size_t>(m_plan->axis)] = j;
      out.push_back({0, inputs()[0]->chunks().chunk_linear(c)});
    }
    return out;
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const SortPlan& p = *m_plan;
    Block out(dtype(), chunks().chunk_shape(coords));
    visit_dtype(dtype(), [&]<class T>() {
      const Lanes dst = lanes_of(out.shape(), p.axis);
      T* d = out.data_as<T>();
      std::vector<std::pair<T, index_t>> items;  // (sample, weight)
      std::vector<index_t> prefix;
      for (index_t l = 0; l < dst.count(); ++l) {
        items.clear();
        for (index_t j = 0; j < p.chunks(); ++j) {
          const Block& b = *in[static_cast<std::size_t>(j)];
          const Lanes src = lanes_of(b.shape(), p.axis);
          const T* s = b.data_as<T>() + src.base(l);
          for (index_t i = 0; i < src.n; ++i) items.emplace_back(s[i * src.inner], p.weight(j, i));
        }
        std::sort(items.begin(), items.end(),
                  [](const auto& x, const auto& y) { return before(x.first, y.first); });
        // prefix[q]: the weight of items[0, q).
        prefix.assign(items.size() + 1, 0);
        for (std::size_t q = 0; q < items.size(); ++q) prefix[q + 1] = prefix[q] + items[q].second;
        const index_t base = dst.base(l);
        for (index_t k = 0; k < p.chunks(); ++k) {
          const index_t s = p.offsets[static_cast<std::size_t>(k)];
          const index_t e = p.offsets[static_cast<std::size_t>(k) + 1];
          T lo = lowest<T>();
          if (s >= p.slack) {
            // The last q with prefix[q] <= s - G: its value is the largest v with W(< v) <= s - G.
            const auto q = std::upper_bound(prefix.begin(), prefix.end() - 1, s - p.slack) -
                           prefix.begin() - 1;
            lo = items[static_cast<std::size_t>(q)].first;
          }
          // The first q with prefix[q + 1] >= e: the smallest v with W(<= v) >= e.
          const auto q = std::lower_bound(prefix.begin() + 1, prefix.end(), e) - prefix.begin() - 1;
          d[base + 2 * k * dst.inner] = lo;
          d[base + (2 * k + 1) * dst.inner] = items[static_cast<std::size_t>(q)].first;
        }
      }
    });
    return out;
  }

 private:
  std::shared_ptr<const SortPlan> m_plan;
};

/// Where the candidates for output chunk k lie in each lane of sorted chunk j: [first, last),
/// `first` being the count of the lane's elements below lo_k.
struct CutBounds {
  Lanes lanes;
  std::vector<index_t> first, last;
};

template <class T>
CutBounds cut_bounds(const Block& sorted, const Block& split, int axis, index_t k) {
  CutBounds c{lanes_of(sorted.shape(), axis), {}, {}};
  const Lanes& src = c.lanes;
  const Lanes sp = lanes_of(split.shape(), axis);
  const T* s = sorted.data_as<T>();
  const T* bounds = split.data_as<T>();
  for (index_t l = 0; l < src.count(); ++l) {
    const T lo = bounds[sp.base(l) + 2 * k * sp.inner];
    const T hi = bounds[sp.base(l) + (2 * k + 1) * sp.inner];
    const T* lane = s + src.base(l);
    const index_t st = src.inner;
    // Binary searches on the strided lane: the first element not before lo, then the first
    // element after hi.
    index_t a = 0, b = src.n;
    while (a < b) {
      const index_t m = a + (b - a) / 2;
      if (before(lane[m * st], lo))
        a = m + 1;
      else
        b = m;
    }
    c.first.push_back(a);
    b = src.n;
    while (a < b) {
      const index_t m = a + (b - a) / 2;
      if (before(hi, lane[m * st]))
        b = m;
      else
        a = m + 1;
    }
    c.last.push_back(a);
  }
  return c;
}

/// The chunk (.., j, ..) of x that cut (.., j, k, ..) reads, and the splitters' row.
std::vector<BlockwiseExpr::Dep> cut_deps(const Shape& coords, int axis, const Expr& sorted,
                                         const Expr& splitters) {
  const auto a = static_cast<std::size_t>(axis);
  Shape in = coords;
  in.erase(in.begin() + static_cast<std::ptrdiff_t>(a) + 1);
  Shape row = in;
  row[a] = 0;
  return {{0, sorted.chunks().chunk_linear(in)}, {1, splitters.chunks().chunk_linear(row)}};
}

/// `grid` with J one-chunks inserted before the sort axis (the input chunk j) and `sizes`
/// along the sort axis, one after it (the output chunk k).
ChunkGrid cut_grid(const ChunkGrid& grid, const SortPlan& plan, std::vector<index_t> sizes) {
  std::vector<std::vector<index_t>> all;
  for (int a = 0; a < grid.ndim(); ++a) {
    if (a == plan.axis) {
      all.emplace_back(static_cast<std::size_t>(plan.chunks()), 1);
      all.push_back(sizes);
    } else {
      all.push_back(grid.sizes(a));
    }
  }
  return ChunkGrid(std::move(all));
}

/// D, counts: per lane of input chunk j and output chunk k (the coordinates (.., j, k, ..)),
/// the number of chunk j's elements below lo_k and of its candidates (2 along axis + 1).
class CutCountsExpr final : public BlockwiseExpr {
 public:
  CutCountsExpr(const ExprPtr& sorted, const ExprPtr& splitters,
                std::shared_ptr<const SortPlan> plan)
      : BlockwiseExpr(ExprKind::Blockwise, grid_of(*sorted, *plan).shape(), DType::Int64,
                      grid_of(*sorted, *plan), {sorted, splitters},
                      Tokenizer().add(plan->axis).finish(), "sort-cut-counts"),
        m_plan(std::move(plan)) {}
  std::string_view op_name() const override { return "sort-cut-counts"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return cut_deps(coords, m_plan->axis, *inputs()[0], *inputs()[1]);
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const int axis = m_plan->axis;
    Block out(DType::Int64, chunks().chunk_shape(coords));
    visit_dtype(in[0]->dtype(), [&]<class T>() {
      const CutBounds c =
          cut_bounds<T>(*in[0], *in[1], axis, coords[static_cast<std::size_t>(axis) + 1]);
      const Lanes dst = lanes_of(out.shape(), axis + 1);
      std::int64_t* d = out.data_as<std::int64_t>();
      for (index_t l = 0; l < dst.count(); ++l) {
        const auto u = static_cast<std::size_t>(l);
        d[dst.base(l)] = c.first[u];
        d[dst.base(l) + dst.inner] = c.last[u] - c.first[u];
      }
    });
    return out;
  }

 private:
  static ChunkGrid grid_of(const Expr& sorted, const SortPlan& plan) {
    return cut_grid(sorted.chunks(), plan, std::vector<index_t>(plan.sizes.size(), 2));
  }
  std::shared_ptr<const SortPlan> m_plan;
};

/// D, values: chunk j's candidates for output chunk k, lane after lane, in a 1-d Block of a
/// size that depends on the data. From a chunk of one lane they are a view of the sorted
/// chunk (no copy: it stays alive while a view does; a transfer to another rank copies the
/// view alone). The declared extent along the sort axis is an estimate (n_k / J): placement
/// weighs inputs by it.
class CutValuesExpr final : public BlockwiseExpr {
 public:
  CutValuesExpr(const ExprPtr& sorted, const ExprPtr& splitters,
                std::shared_ptr<const SortPlan> plan)
      : BlockwiseExpr(ExprKind::Blockwise, grid_of(*sorted, *plan).shape(), sorted->dtype(),
                      grid_of(*sorted, *plan), {sorted, splitters},
                      Tokenizer().add(plan->axis).finish(), "sort-cut"),
        m_plan(std::move(plan)) {}
  std::string_view op_name() const override { return "sort-cut"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return cut_deps(coords, m_plan->axis, *inputs()[0], *inputs()[1]);
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const int axis = m_plan->axis;
    const Block& sorted = *in[0];
    Block out;
    visit_dtype(sorted.dtype(), [&]<class T>() {
      const CutBounds c =
          cut_bounds<T>(sorted, *in[1], axis, coords[static_cast<std::size_t>(axis) + 1]);
      const Lanes& src = c.lanes;
      const T* s = sorted.data_as<T>();
      if (src.count() == 1) {
        auto keep = std::make_shared<Block>(sorted);
        out = Block::adopt(dtype(), {c.last[0] - c.first[0]}, const_cast<T*>(s + c.first[0]),
                           std::move(keep));
        return;
      }
      index_t total = 0;
      for (std::size_t l = 0; l < c.first.size(); ++l) total += c.last[l] - c.first[l];
      out = Block(dtype(), {total});
      T* d = out.data_as<T>();
      for (index_t l = 0; l < src.count(); ++l) {
        const T* lane = s + src.base(l);
        const auto u = static_cast<std::size_t>(l);
        for (index_t t = c.first[u]; t < c.last[u]; ++t) *d++ = lane[t * src.inner];
      }
    });
    return out;
  }

 private:
  static ChunkGrid grid_of(const Expr& sorted, const SortPlan& plan) {
    std::vector<index_t> est;
    for (index_t n : plan.sizes) est.push_back(std::max<index_t>(1, n / plan.chunks()));
    return cut_grid(sorted.chunks(), plan, std::move(est));
  }
  std::shared_ptr<const SortPlan> m_plan;
};

/// Where output chunk k is merged: an empty Block made where sorted chunk k is, whose declared
/// size (chunk k's) outweighs the cuts the merge reads from any other rank, so that placement
/// puts output chunk k where input chunk k was (the output spread as the input was; with the
/// cuts alone, ties aside, every merge would go to the rank holding the most input chunks).
class AnchorExpr final : public BlockwiseExpr {
 public:
  explicit AnchorExpr(const ExprPtr& sorted)
      : BlockwiseExpr(ExprKind::Blockwise, sorted->shape(), sorted->dtype(), sorted->chunks(),
                      {sorted}, Tokenizer().finish(), "sort-anchor") {}
  std::string_view op_name() const override { return "sort-anchor"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }
  Block compute(const Shape&, std::span<const Block* const>) const override {
    return Block(dtype(), {0});
  }
};

/// E: output chunk k, merged from the cuts (j, k) of every input chunk j: their counts, then
/// their values, then the anchor.
class MergeExpr final : public BlockwiseExpr {
 public:
  MergeExpr(const ExprPtr& x, const ExprPtr& counts, const ExprPtr& values, const ExprPtr& anchor,
            std::shared_ptr<const SortPlan> plan)
      : BlockwiseExpr(ExprKind::Blockwise, x->shape(), x->dtype(), x->chunks(),
                      {counts, values, anchor}, Tokenizer().add(plan->axis).finish(), "sort"),
        m_plan(std::move(plan)) {}
  std::string_view op_name() const override { return "sort"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    const auto a = static_cast<std::size_t>(m_plan->axis);
    std::vector<Dep> out;
    Shape c = coords;
    c.insert(c.begin() + static_cast<std::ptrdiff_t>(a), 0);
    for (int input = 0; input < 2; ++input) {
      for (index_t j = 0; j < m_plan->chunks(); ++j) {
        c[a] = j;
        out.push_back({input, inputs()[static_cast<std::size_t>(input)]->chunks().chunk_linear(c)});
      }
    }
    out.push_back({2, inputs()[2]->chunks().chunk_linear(coords)});
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const SortPlan& p = *m_plan;
    const auto num = static_cast<std::size_t>(p.chunks());
    const index_t k = coords[static_cast<std::size_t>(p.axis)];
    const index_t s = p.offsets[static_cast<std::size_t>(k)];
    const index_t e = p.offsets[static_cast<std::size_t>(k) + 1];
    Block out(dtype(), chunks().chunk_shape(coords));
    visit_dtype(dtype(), [&]<class T>() {
      const Lanes dst = lanes_of(out.shape(), p.axis);
      T* d = out.data_as<T>();
      std::vector<const T*> next;  // each cut's next lane
      for (std::size_t j = 0; j < num; ++j) next.push_back(in[num + j]->data_as<T>());
      Scratch<T> lane;
      std::vector<Run<T>> runs;
      for (index_t l = 0; l < dst.count(); ++l) {
        index_t below = 0, total = 0;
        runs.clear();
        for (std::size_t j = 0; j < num; ++j) {
          const Lanes cl = lanes_of(in[j]->shape(), p.axis + 1);
          const std::int64_t* c = in[j]->data_as<std::int64_t>() + cl.base(l);
          below += c[0];
          total += c[cl.inner];
          runs.push_back({next[j], c[cl.inner]});
          next[j] += c[cl.inner];
        }
        if (below > s || below + total < e) {
          throw error(fmt::format(
              "sort: internal error: output chunk {} (ranks [{}, {})) got {} candidates above "
              "{} smaller elements",
              k, s, e, total, below));
        }
        T* target = dst.inner == 1 ? d + dst.base(l) : lane.get(dst.n);
        merge_range(runs, s - below, e - below, target);
        if (dst.inner != 1) {
          const index_t base = dst.base(l);
          for (index_t t = 0; t < dst.n; ++t) d[base + t * dst.inner] = target[t];
        }
      }
    });
    return out;
  }

 private:
  std::shared_ptr<const SortPlan> m_plan;
};

// --- topk -----------------------------------------------------------------------------------

constexpr index_t kFanIn = 8;

template <class T>
struct Candidate {
  T value;
  index_t index;
};

/// Whether `a` ranks before `b` in topk's order: larger values first when `largest` (smaller
/// first otherwise), NaN the largest value; the lower index first among equal values.
template <class T>
inline bool ranks_before(const Candidate<T>& a, const Candidate<T>& b, bool largest) {
  if (before(a.value, b.value)) return !largest;
  if (before(b.value, a.value)) return largest;
  return a.index < b.index;
}

template <class T>
inline std::int64_t to_slot(T v) {
  std::int64_t s = 0;
  std::memcpy(&s, &v, sizeof(T));
  return s;
}

template <class T>
inline T from_slot(std::int64_t s) {
  T v;
  std::memcpy(&v, &s, sizeof(T));
  return v;
}

/// Writes the best `keep` of `c` (in order) to a packed lane: values in slots [0, keep),
/// indices in [keep, 2 keep), `stride` apart.
template <class T>
void keep_best(std::vector<Candidate<T>>& c, index_t keep, bool largest, std::int64_t* lane,
               index_t stride) {
  const auto cmp = [largest](const Candidate<T>& a, const Candidate<T>& b) {
    return ranks_before(a, b, largest);
  };
  const auto mid = c.begin() + static_cast<std::ptrdiff_t>(keep);
  if (mid != c.end()) std::nth_element(c.begin(), mid, c.end(), cmp);
  std::sort(c.begin(), mid, cmp);
  for (index_t t = 0; t < keep; ++t) {
    lane[t * stride] = to_slot(c[static_cast<std::size_t>(t)].value);
    lane[(keep + t) * stride] = c[static_cast<std::size_t>(t)].index;
  }
}

/// The |k| best (value, index) pairs of each lane of every chunk: 2 min(|k|, n_j) int64 slots
/// along the axis.
class TopkPartialExpr final : public BlockwiseExpr {
 public:
  TopkPartialExpr(const ExprPtr& x, index_t k, int axis)
      : BlockwiseExpr(ExprKind::Blockwise, grid_of(*x, k, axis).shape(), DType::Int64,
                      grid_of(*x, k, axis), {x}, Tokenizer().add(k).add(axis).finish(),
                      "topk-chunk"),
        m_k(k),
        m_axis(axis) {}
  std::string_view op_name() const override { return "topk-chunk"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(DType::Int64, chunks().chunk_shape(coords));
    const index_t offset =
        inputs()[0]->chunks().chunk_offset(coords)[static_cast<std::size_t>(m_axis)];
    visit_dtype(in[0]->dtype(), [&]<class T>() {
      const Lanes src = lanes_of(in[0]->shape(), m_axis), dst = lanes_of(out.shape(), m_axis);
      const T* s = in[0]->data_as<T>();
      std::int64_t* d = out.data_as<std::int64_t>();
      const index_t keep = dst.n / 2;
      const bool largest = m_k > 0;
      const auto cmp = [largest](const Candidate<T>& a, const Candidate<T>& b) {
        return ranks_before(a, b, largest);
      };
      std::vector<Candidate<T>> c;
      for (index_t l = 0; l < src.count(); ++l) {
        c.clear();
        const index_t base = src.base(l);
        if (keep * 16 <= src.n) {
          // Few kept: a heap of the best so far, its worst on top (no lane-sized copy).
          for (index_t t = 0; t < src.n; ++t) {
            const Candidate<T> x{s[base + t * src.inner], offset + t};
            if (static_cast<index_t>(c.size()) < keep) {
              c.push_back(x);
              std::push_heap(c.begin(), c.end(), cmp);
            } else if (cmp(x, c.front())) {
              std::pop_heap(c.begin(), c.end(), cmp);
              c.back() = x;
              std::push_heap(c.begin(), c.end(), cmp);
            }
          }
        } else {
          for (index_t t = 0; t < src.n; ++t) c.push_back({s[base + t * src.inner], offset + t});
        }
        keep_best(c, keep, largest, d + dst.base(l), dst.inner);
      }
    });
    return out;
  }

 private:
  static ChunkGrid grid_of(const Expr& x, index_t k, int axis) {
    std::vector<index_t> sizes;
    for (index_t n : x.chunks().sizes(axis)) sizes.push_back(2 * std::min(std::abs(k), n));
    return with_sizes(x.chunks(), axis, std::move(sizes));
  }
  index_t m_k;
  int m_axis;
};

/// Groups of up to kFanIn consecutive chunks along the axis of a packed level, merged into
/// one: the best min(|k|, their elements) pairs.
class TopkCombineExpr final : public BlockwiseExpr {
 public:
  TopkCombineExpr(const ExprPtr& level, DType value_dtype, index_t k, int axis)
      : BlockwiseExpr(ExprKind::Blockwise, grid_of(*level, k, axis).shape(), DType::Int64,
                      grid_of(*level, k, axis), {level}, Tokenizer().add(k).add(axis).finish(),
                      "topk-combine"),
        m_value_dtype(value_dtype),
        m_k(k),
        m_axis(axis) {}
  std::string_view op_name() const override { return "topk-combine"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    const auto a = static_cast<std::size_t>(m_axis);
    const ChunkGrid& g = inputs()[0]->chunks();
    std::vector<Dep> out;
    Shape c = coords;
    const index_t first = coords[a] * kFanIn;
    for (index_t i = first; i < std::min(first + kFanIn, g.num_chunks(m_axis)); ++i) {
      c[a] = i;
      out.push_back({0, g.chunk_linear(c)});
    }
    return out;
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(DType::Int64, chunks().chunk_shape(coords));
    visit_dtype(m_value_dtype, [&]<class T>() {
      const Lanes dst = lanes_of(out.shape(), m_axis);
      std::int64_t* d = out.data_as<std::int64_t>();
      std::vector<Candidate<T>> c;
      for (index_t l = 0; l < dst.count(); ++l) {
        c.clear();
        for (const Block* b : in) {
          const Lanes src = lanes_of(b->shape(), m_axis);
          const std::int64_t* s = b->data_as<std::int64_t>() + src.base(l);
          const index_t kk = src.n / 2;
          for (index_t t = 0; t < kk; ++t)
            c.push_back({from_slot<T>(s[t * src.inner]), s[(kk + t) * src.inner]});
        }
        keep_best(c, dst.n / 2, m_k > 0, d + dst.base(l), dst.inner);
      }
    });
    return out;
  }

 private:
  static ChunkGrid grid_of(const Expr& level, index_t k, int axis) {
    const auto& in = level.chunks().sizes(axis);
    std::vector<index_t> sizes;
    for (std::size_t i = 0; i < in.size(); i += static_cast<std::size_t>(kFanIn)) {
      index_t n = 0;
      for (std::size_t j = i; j < std::min(in.size(), i + static_cast<std::size_t>(kFanIn)); ++j)
        n += in[j] / 2;
      sizes.push_back(2 * std::min(std::abs(k), n));
    }
    return with_sizes(level.chunks(), axis, std::move(sizes));
  }
  DType m_value_dtype;
  index_t m_k;
  int m_axis;
};

/// The values (x's dtype) or the indices (int64) of the last level's one chunk along the axis.
class TopkFinalExpr final : public BlockwiseExpr {
 public:
  TopkFinalExpr(const ExprPtr& level, DType value_dtype, index_t k, int axis, bool indices)
      : BlockwiseExpr(ExprKind::Blockwise, with_extent(level->shape(), axis, std::abs(k)),
                      indices ? DType::Int64 : value_dtype,
                      with_sizes(level->chunks(), axis, {std::abs(k)}), {level},
                      Tokenizer().add(k).add(axis).add(indices).finish(),
                      indices ? "argtopk" : "topk"),
        m_value_dtype(value_dtype),
        m_axis(axis),
        m_indices(indices) {}
  std::string_view op_name() const override { return m_indices ? "argtopk" : "topk"; }
  std::vector<Dep> deps(const Shape& coords) const override {
    return {{0, inputs()[0]->chunks().chunk_linear(coords)}};
  }
  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    Block out(dtype(), chunks().chunk_shape(coords));
    const Lanes src = lanes_of(in[0]->shape(), m_axis), dst = lanes_of(out.shape(), m_axis);
    const std::int64_t* s = in[0]->data_as<std::int64_t>();
    const index_t kk = dst.n;
    if (m_indices) {
      std::int64_t* d = out.data_as<std::int64_t>();
      for (index_t l = 0; l < dst.count(); ++l)
        for (index_t t = 0; t < kk; ++t)
          d[dst.base(l) + t * dst.inner] = s[src.base(l) + (kk + t) * src.inner];
      return out;
    }
    visit_dtype(m_value_dtype, [&]<class T>() {
      T* d = out.data_as<T>();
      for (index_t l = 0; l < dst.count(); ++l)
        for (index_t t = 0; t < kk; ++t)
          d[dst.base(l) + t * dst.inner] = from_slot<T>(s[src.base(l) + t * src.inner]);
    });
    return out;
  }

 private:
  DType m_value_dtype;
  int m_axis;
  bool m_indices;
};

Array topk_impl(const Array& x, index_t k, int axis_in, bool indices) {
  const char* name = indices ? "argtopk" : "topk";
  const int axis = normalize_axis(axis_in, x.ndim());
  if (k == 0) throw value_error(fmt::format("{}: k must not be 0", name));
  const index_t len = x.shape()[static_cast<std::size_t>(axis)];
  if (k == std::numeric_limits<index_t>::min() || std::abs(k) > len) {
    throw shape_error(
        fmt::format("{}: k={} is larger than axis {} of length {}", name, k, axis, len));
  }
  ExprPtr level = std::make_shared<TopkPartialExpr>(x.expr(), k, axis);
  while (level->chunks().num_chunks(axis) > 1)
    level = std::make_shared<TopkCombineExpr>(level, x.dtype(), k, axis);
  return Array(std::make_shared<TopkFinalExpr>(level, x.dtype(), k, axis, indices));
}

}  // namespace

Array sort(const Array& x, int axis_in) {
  const int axis = normalize_axis(axis_in, x.ndim());
  if (x.size() == 0) return x;
  if (x.chunks().num_chunks(axis) == 1)
    return Array(std::make_shared<SortChunkExpr>(x.expr(), axis, "sort"));
  auto plan = make_plan(x.chunks(), axis);
  const ExprPtr sorted = std::make_shared<SortChunkExpr>(x.expr(), axis, "sort-chunk");
  const ExprPtr samples = std::make_shared<SampleExpr>(sorted, plan);
  const ExprPtr splitters = std::make_shared<SplitterExpr>(samples, plan);
  const ExprPtr counts = std::make_shared<CutCountsExpr>(sorted, splitters, plan);
  const ExprPtr values = std::make_shared<CutValuesExpr>(sorted, splitters, plan);
  const ExprPtr anchor = std::make_shared<AnchorExpr>(sorted);
  return Array(std::make_shared<MergeExpr>(x.expr(), counts, values, anchor, plan));
}

Array topk(const Array& x, index_t k, int axis) { return topk_impl(x, k, axis, false); }
Array argtopk(const Array& x, index_t k, int axis) { return topk_impl(x, k, axis, true); }

}  // namespace tessera
