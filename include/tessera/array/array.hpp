#pragma once
/// @file
/// `Array`: a lazy, chunked N-d array — Tessera's counterpart of dask.array.Array.
///
/// An Array is a cheap handle on an immutable expression node. Operations build new nodes;
/// nothing runs until compute(), item() or persist().

#include <array>
#include <concepts>
#include <initializer_list>
#include <optional>
#include <variant>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tessera/core/block.hpp"
#include "tessera/core/chunk_grid.hpp"
#include "tessera/exec/scheduler.hpp"
#include "tessera/graph/expr.hpp"
#include "tessera/graph/lower.hpp"

namespace tessera {

/// A start:stop:step slice with NumPy semantics (negative values count from the end;
/// omitted bounds mean "from the beginning/end" in the step's direction).
struct Slice {
  std::optional<index_t> start;
  std::optional<index_t> stop;
  index_t step = 1;
};

/// A new size-1 axis in an index (NumPy's `None` / `np.newaxis`): `x[{newaxis, Slice{}}]`.
struct NewAxis {};
inline constexpr NewAxis newaxis{};
/// As many whole axes as the rest of the index leaves (NumPy's `...`): `x[{ellipsis, 0}]`.
struct Ellipsis {};
inline constexpr Ellipsis ellipsis{};

/// One entry of an index: an integer (drops the axis), a slice, a new axis, or an ellipsis.
using IndexItem = std::variant<index_t, Slice, NewAxis, Ellipsis>;

/// Axes to reduce over: all of them (the default, `Axes()`), one, or several. An explicit empty
/// list, `Axes(std::vector<int>{})`, reduces no axis (NumPy's `axis=()`): the result has the
/// input's shape, with the reduction's result dtype (sum of int32 is int64, mean is float64).
class Axes {
 public:
  Axes() = default;
  Axes(int axis) : m_axes{axis}, m_all(false) {}  // NOLINT: implicit, like NumPy's axis=0
  Axes(std::initializer_list<int> axes) : m_axes(axes), m_all(false) {}
  explicit Axes(std::vector<int> axes) : m_axes(std::move(axes)), m_all(false) {}
  /// One axis, or all of them for std::nullopt (NumPy's axis=None).
  Axes(std::optional<int> axis)  // NOLINT: implicit, as from an int
      : m_axes(axis ? std::vector<int>{*axis} : std::vector<int>{}), m_all(!axis) {}
  bool all() const noexcept { return m_all; }
  const std::vector<int>& list() const noexcept { return m_axes; }

 private:
  std::vector<int> m_axes;
  bool m_all = true;
};

struct ReduceOptions {
  bool keepdims = false;
  /// Delta degrees of freedom for var and std.
  int ddof = 0;
  /// Fan-in of the combine tree (0: the default, 8).
  int split_every = 0;
};

/// How compute() and persist() run.
struct ComputeOptions {
  /// nullptr: default_scheduler().
  Scheduler* scheduler = nullptr;
  LowerOptions lowering = {};
  /// Where compute() results land under a distributed scheduler: -1, every rank (the
  /// default); r >= 0, only rank r — the other ranks take part but get an empty result (an
  /// empty Block or xarray, and 0 from item()), and no chunk is sent to them.
  int root = -1;
};

namespace detail {
/// shape_error: item() on an array whose size is not 1.
[[noreturn]] void throw_item_size(const Shape& shape);
}  // namespace detail

class Array {
 public:
  /// A 0-d float64 zero (so that Array is regular); arrays come from the creation functions.
  Array();
  explicit Array(ExprPtr expr);

  const Shape& shape() const noexcept { return m_expr->shape(); }
  int ndim() const noexcept { return m_expr->ndim(); }
  /// Elements (every Array's count and bytes fit index_t: checked when it is built).
  index_t size() const { return shape_size(shape()); }
  DType dtype() const noexcept { return m_expr->dtype(); }
  const ChunkGrid& chunks() const noexcept { return m_expr->chunks(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(size()) * dtype_size(dtype()); }
  const ExprPtr& expr() const noexcept { return m_expr; }
  Token token() const noexcept { return m_expr->token(); }
  std::string name() const { return m_expr->label(); }

  // --- evaluation (runs tasks) -------------------------------------------------------------

  /// The whole array as one contiguous Block (an empty Block of shape (0,) on ranks other
  /// than `options.root` when a root is set).
  Block compute_block(const ComputeOptions& options = {}) const;
  /// The whole array as an xtensor container; T must be the array's element type.
  template <ElementType T>
  xt::xarray<T> compute(const ComputeOptions& options = {}) const;
  /// The single element of a size-1 array (a full reduction), converted to T as astype
  /// converts (NaN or out-of-range floats to an integer T give its minimum, never undefined
  /// behaviour); 0 on ranks other than `options.root` when a root is set.
  template <class T>
  T item(const ComputeOptions& options = {}) const;
  /// Computes every chunk and returns an array backed by them, for reuse without recomputing.
  Array persist(const ComputeOptions& options = {}) const;
  /// The chunk-level task graph compute() would run (for inspection and tests).
  LoweredGraph lower(const LowerOptions& options = {}) const;

  // --- conversions and indexing --------------------------------------------------------------

  Array astype(DType dtype) const;
  /// x[{Slice{0, 10, 2}, 3}]: NumPy basic indexing (with `newaxis` and `ellipsis`); only the
  /// chunks touched are computed.
  Array operator[](std::initializer_list<IndexItem> index) const;
  /// x[mask]: the elements where a bool mask of x's shape is true, as a 1-D array (collective:
  /// counts the mask now; see extract() in array/indexing.hpp).
  Array operator[](const Array& mask) const;
  Array slice(const std::vector<IndexItem>& index) const;

  // --- reductions (also as free functions) ---------------------------------------------------

  Array sum(Axes axes = {}, ReduceOptions options = {}) const;
  Array prod(Axes axes = {}, ReduceOptions options = {}) const;
  Array mean(Axes axes = {}, ReduceOptions options = {}) const;
  Array min(Axes axes = {}, ReduceOptions options = {}) const;
  Array max(Axes axes = {}, ReduceOptions options = {}) const;
  Array var(Axes axes = {}, ReduceOptions options = {}) const;
  Array std(Axes axes = {}, ReduceOptions options = {}) const;
  Array any(Axes axes = {}, ReduceOptions options = {}) const;
  Array all(Axes axes = {}, ReduceOptions options = {}) const;
  /// Index of the minimum along `axis` (flat index over the whole array when omitted).
  Array argmin(std::optional<int> axis = std::nullopt, ReduceOptions options = {}) const;
  Array argmax(std::optional<int> axis = std::nullopt, ReduceOptions options = {}) const;

 private:
  ExprPtr m_expr;
};

/// Computes several arrays in one pass over one graph: what they share (a file's chunks, a
/// common sub-expression) is read or computed once, as in Dask's `dask.compute(a, b)`. Returns
/// each array as one Block, in order (empty Blocks on ranks other than `options.root` when a
/// root is set). Collective under a distributed scheduler.
std::vector<Block> compute_blocks(const std::vector<Array>& arrays,
                                  const ComputeOptions& options = {});

/// compute_blocks for arrays named one by one, as the delayed layer's `compute(a, b)`:
/// `auto [m, s] = tessera::compute(x.mean(), x.std());`, options first when there are any.
template <class... Arrays>
requires(sizeof...(Arrays) > 0 &&
         (std::same_as<Arrays, Array> &&
          ...)) std::array<Block, sizeof...(Arrays)> compute(const ComputeOptions& options,
                                                             const Arrays&... arrays) {
  std::vector<Block> blocks = compute_blocks({arrays...}, options);
  std::array<Block, sizeof...(Arrays)> out;
  std::move(blocks.begin(), blocks.end(), out.begin());
  return out;
}
template <class... Arrays>
requires(sizeof...(Arrays) > 0 &&
         (std::same_as<Arrays, Array> &&
          ...)) std::array<Block, sizeof...(Arrays)> compute(const Arrays&... arrays) {
  return compute(ComputeOptions{}, arrays...);
}

/// Persists several arrays in one pass over one graph (Dask's `dask.persist(a, b)`): what they
/// share is computed once, and each comes back as an array of stored chunks, kept where they
/// were computed (Array::persist). Arrays that are stored already come back as they are.
/// Collective under a distributed scheduler.
std::vector<Array> persist(const std::vector<Array>& arrays, const ComputeOptions& options = {});

// --- implementation ---------------------------------------------------------------------------

template <ElementType T>
xt::xarray<T> Array::compute(const ComputeOptions& options) const {
  if (dtype_of<T>() != dtype()) {
    detail::throw_dtype_mismatch("compute<T>() (call astype() first): array", dtype(),
                                 dtype_of<T>());
  }
  Block b = compute_block(options);
  auto v = b.view<T>();
  return xt::xarray<T>(v);
}

template <class T>
T Array::item(const ComputeOptions& options) const {
  static_assert(std::is_arithmetic_v<T>, "item<T>() needs an arithmetic T.");
  if (size() != 1) {
    detail::throw_item_size(shape());
  }
  Block b = compute_block(options);
  if (b.size() == 0) return T{};  // not the root: nothing landed here
  return visit_dtype(b.dtype(),
                     [&]<class E>() { return detail::convert_value<T>(*b.data_as<E>()); });
}

}  // namespace tessera
