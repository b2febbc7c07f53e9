#pragma once
/// @file
/// Order statistics and counting: median, quantile, percentile (and their nan- forms),
/// histogram, bincount and unique, with NumPy's semantics.
///
/// Quantiles along an axis work as Dask's do: the array is rechunked so that the axis is one
/// chunk (the other axes' chunks shrink where needed so a chunk stays within the automatic
/// chunk size, 128 MiB), then every chunk selects its order statistics with std::nth_element
/// (no full sort). A lane along the axis must therefore fit one chunk in memory.
///
/// histogram and bincount make one count vector per input chunk and sum them in a tree, so only
/// count vectors cross ranks. Where NumPy needs the data to know the result's shape
/// (histogram without a range, bincount), the data's min and max are computed at call time:
/// that call is a collective compute (every rank must call it, in the same order). unique and
/// unique_counts, whose length depends on the data, compute at call time too.

#include <optional>
#include <utility>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// The median along `axis` (of the whole array when none): NumPy's median. The result drops the
/// axis and is float64 (float32 stays float32). A lane holding a NaN gives NaN, an empty lane NaN.
/// With no axis the flattened array is gathered into one chunk (the median needs every value in
/// one place); along an axis, one lane must fit one chunk.
Array median(const Array& x, std::optional<int> axis = std::nullopt);
/// median that leaves NaNs out (NumPy's nanmedian); an all-NaN lane gives NaN.
Array nanmedian(const Array& x, std::optional<int> axis = std::nullopt);

/// The q-th quantile along `axis` (of the whole array when none), q in [0, 1]: NumPy's
/// quantile with method "linear" (interpolating between the two nearest order statistics).
/// value_error for q outside [0, 1] (or NaN). Dtypes, NaN and memory as for median; an empty
/// lane gives NaN (NumPy raises IndexError). Values are interpolated in float64 (int64 values
/// beyond 2^53 round, as in NumPy's interpolation).
Array quantile(const Array& x, double q, std::optional<int> axis = std::nullopt);
/// Several quantiles in one pass: the result has a leading axis of len(q), as NumPy's.
Array quantile(const Array& x, const std::vector<double>& q,
               std::optional<int> axis = std::nullopt);
/// quantile with q in [0, 100] (value_error outside).
Array percentile(const Array& x, double q, std::optional<int> axis = std::nullopt);
Array percentile(const Array& x, const std::vector<double>& q,
                 std::optional<int> axis = std::nullopt);
/// The nan- forms leave NaNs out; an all-NaN (or empty) lane gives NaN.
Array nanquantile(const Array& x, double q, std::optional<int> axis = std::nullopt);
Array nanquantile(const Array& x, const std::vector<double>& q,
                  std::optional<int> axis = std::nullopt);
Array nanpercentile(const Array& x, double q, std::optional<int> axis = std::nullopt);
Array nanpercentile(const Array& x, const std::vector<double>& q,
                    std::optional<int> axis = std::nullopt);

/// A histogram: `counts` (a lazy 1-D array of len(edges) - 1 bins) and the bin edges.
struct Histogram {
  Array counts;
  std::vector<double> edges;
};

/// NumPy's histogram of all of x's values in `bins` equal bins over `range` (lo, hi): bins are
/// [e_k, e_k+1), the last one closed; values outside the range and NaN are not counted; an empty
/// range lo == hi is widened to [lo - 0.5, hi + 0.5]. Counts are int64, float64 with `weights`
/// (an array of x's shape: each value counts its weight) or `density` (counts / (total * bin
/// width), so that the histogram integrates to 1).
///
/// Without a range the range is x's min and max, which this call computes at once: a collective
/// compute (on `options`' scheduler), unlike NumPy leaving NaNs out (NumPy raises for them); an
/// empty or all-NaN x gives (0, 1) as NumPy's empty one. value_error for bins < 1, a range with
/// lo > hi or a non-finite range (an infinite value in x without a range), shape_error for
/// weights of another shape. Edges and comparisons are float64 for every dtype (NumPy's edges of
/// float32 data are float32).
Histogram histogram(const Array& x, int bins = 10,
                    std::optional<std::pair<double, double>> range = std::nullopt,
                    std::optional<Array> weights = std::nullopt, bool density = false,
                    const ComputeOptions& options = {});
/// histogram with explicit bin edges (at least one, non-decreasing as NumPy requires, else
/// value_error). Builds lazily: nothing is computed at call time.
Histogram histogram(const Array& x, std::vector<double> edges,
                    std::optional<Array> weights = std::nullopt, bool density = false);

/// NumPy's bincount: how often each value 0, 1, ..., occurs in the 1-D non-negative integer
/// array x (int64), or the sum of the `weights` (same shape) of its occurrences (float64). The
/// length is max(minlength, max(x) + 1); to know it, this call computes x's min and max at once:
/// a collective compute (on `options`' scheduler). value_error "bincount: x holds a negative
/// value" then, and for minlength < 0; dtype_error for a float x, shape_error for an x that is
/// not 1-D or weights of another shape. The counts are chunked along their length (chunks of at
/// most the automatic chunk size), each chunk of counts made from every chunk of x.
Array bincount(const Array& x, std::optional<Array> weights = std::nullopt, index_t minlength = 0,
               const ComputeOptions& options = {});

/// The sorted distinct values of x (all of its elements), with their counts: NumPy's
/// unique_counts (NumPy 2; unique(x, return_counts=True)). NaNs sort last and count as one value
/// (NumPy's equal_nan). The result's length depends on the data, so this call computes it at
/// once, collectively (on `options`' scheduler): each chunk's sorted distinct values and counts
/// are computed where the chunk is, then gathered on every rank and merged, and the result is an
/// array over that local copy (every rank holds the same). Memory: the distinct values of every
/// chunk (at most x's size) on every rank.
struct UniqueCounts {
  Array values;
  Array counts;
};
UniqueCounts unique_counts(const Array& x, const ComputeOptions& options = {});
/// The sorted distinct values of x: NumPy's unique (unique_values). Computed at call time,
/// collectively, as unique_counts.
Array unique(const Array& x, const ComputeOptions& options = {});

}  // namespace tessera
