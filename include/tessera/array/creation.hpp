#pragma once
/// @file
/// Array creation: constants, ranges, identity, functions of the index, existing buffers.
/// Chunk specs follow Dask (`1000`, `{1000, 500}`, explicit lists, ChunkSpec::automatic()).

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>

#include <xtensor/xarray.hpp>

#include "tessera/array/array.hpp"

namespace tessera {

Array zeros(const Shape& shape, const ChunkSpec& chunks = ChunkSpec::automatic(),
            DType dtype = DType::Float64);
Array ones(const Shape& shape, const ChunkSpec& chunks = ChunkSpec::automatic(),
           DType dtype = DType::Float64);
/// NumPy's argument order, `zeros(shape, dtype)`: `ones({3}, DType::Int32)`.
Array zeros(const Shape& shape, DType dtype, const ChunkSpec& chunks = ChunkSpec::automatic());
Array ones(const Shape& shape, DType dtype, const ChunkSpec& chunks = ChunkSpec::automatic());
/// Every element `value`; dtype defaults to what C++ gives the value (bool -> bool, integers ->
/// int64, floating point -> float64). Integer values are stored exactly (no trip through double).
Array full(const Shape& shape, double value, const ChunkSpec& chunks = ChunkSpec::automatic(),
           DType dtype = DType::Float64);
Array full(const Shape& shape, std::int64_t value, const ChunkSpec& chunks = ChunkSpec::automatic(),
           DType dtype = DType::Int64);
/// Any other arithmetic value (`int`, `bool`, `float`, ...): an exact match for it, so that
/// `full(shape, 7)` is int64 and `full(shape, 7, chunks, DType::Int32)` is not ambiguous.
template <class S>
requires(std::is_arithmetic_v<S> && !std::is_same_v<S, double> &&
         !std::is_same_v<S, std::int64_t>) Array
    full(const Shape& shape, S value, const ChunkSpec& chunks = ChunkSpec::automatic(),
         DType dtype = std::is_same_v<S, bool> ? DType::Bool
                       : std::is_integral_v<S> ? DType::Int64
                                               : DType::Float64) {
  if constexpr (std::is_floating_point_v<S>)
    return full(shape, static_cast<double>(value), chunks, dtype);
  else
    return full(shape, static_cast<std::int64_t>(value), chunks, dtype);
}
/// NumPy's argument order, `full(shape, value, dtype)`: `full({3}, 7, DType::Int32)`.
template <class S>
requires std::is_arithmetic_v<S> Array full(const Shape& shape, S value, DType dtype,
                                            const ChunkSpec& chunks = ChunkSpec::automatic()) {
  if constexpr (std::is_floating_point_v<S>)
    return full(shape, static_cast<double>(value), chunks, dtype);
  else
    return full(shape, static_cast<std::int64_t>(value), chunks, dtype);
}

/// How arange cuts and stores its values. Passed as a struct so that no chunk size can be
/// read as a number of the range: `arange(1000, {.chunks = 100})` is 1000 values in chunks
/// of 100, `arange(1000, 100)` is NumPy's (empty) range from 1000 to 100.
struct ArangeOptions {
  ChunkSpec chunks = ChunkSpec::automatic();
  /// Default: int64 when every argument is an integer, float64 when any is floating point
  /// (NumPy). Integer ranges are computed exactly in int64, never through double.
  std::optional<DType> dtype = std::nullopt;
};

/// NumPy's arange: start, start + step, ... up to but excluding stop. `arange(10)` and
/// `arange(2, 10, 3)` are int64; `arange(0.0, 1.0, 0.25)` or `arange(0, 1, 0.25)` float64
/// (computed as NumPy does: start + i * ((start + step) - start)). Throws value_error for a
/// zero or non-finite step, and shape_error ("array is too big") when the range has more than
/// 2^63 - 1 elements, as NumPy raises for arange(0, 1e19) or arange(0, 1, 1e-300).
template <class Start, class Stop, class Step = std::int64_t>
requires(std::is_arithmetic_v<Start>&& std::is_arithmetic_v<Stop>&& std::is_arithmetic_v<Step>)
    Array arange(Start start, Stop stop, Step step = 1, const ArangeOptions& options = {});
/// 0, 1, ..., stop - 1 (int64 for an integer stop, float64 for a floating one).
template <class Stop>
requires std::is_arithmetic_v<Stop> Array arange(Stop stop, const ArangeOptions& options = {}) {
  return arange(Stop{0}, stop, Stop{1}, options);
}
/// `num` evenly spaced values from start to stop (inclusive when endpoint).
Array linspace(double start, double stop, index_t num,
               const ChunkSpec& chunks = ChunkSpec::automatic(), bool endpoint = true,
               DType dtype = DType::Float64);
/// An (n, m) matrix with ones on diagonal k (m = n when m < 0).
Array eye(index_t n, const ChunkSpec& chunks = ChunkSpec::automatic(), index_t m = -1,
          index_t k = 0, DType dtype = DType::Float64);

/// An array whose element at global index (i, j, ...) is `f(i, j, ...)` — `f` takes one
/// index_t per axis, or a `std::span<const index_t>` of them. It is called in tasks, in any
/// order, possibly from several threads: it must be a pure, thread-safe function.
template <ElementType T, class F>
Array fromfunction(F f, const Shape& shape, const ChunkSpec& chunks = ChunkSpec::automatic());

namespace detail {
[[noreturn]] void throw_buffer_size(std::size_t elements, const Shape& shape);
[[noreturn]] void throw_arity(int arity, const Shape& shape);
}  // namespace detail

/// Copies a contiguous row-major buffer into a chunked array. Collective data: every rank must
/// pass the same bytes (every rank holds every chunk, and any rank may compute from any of
/// them). The contents are hashed into the array's token, so ranks that pass different data
/// — one rank read the file, the others hold zeros — get a graph_error naming them when the
/// array is computed, instead of a silent blend. For data that differs by rank (each rank's
/// own block of a decomposition) use from_local (tessera/array/local.hpp).
Array from_buffer(const void* data, DType dtype, const Shape& shape,
                  const ChunkSpec& chunks = ChunkSpec::automatic());
template <ElementType T>
Array from_buffer(std::span<const T> data, const Shape& shape,
                  const ChunkSpec& chunks = ChunkSpec::automatic()) {
  if (static_cast<index_t>(data.size()) != shape_size(shape)) {
    detail::throw_buffer_size(data.size(), shape);
  }
  return from_buffer(data.data(), dtype_of<T>(), shape, chunks);
}
/// Copies an xtensor expression (evaluated first) into a chunked array.
template <class E>
Array from_xtensor(const E& expression, const ChunkSpec& chunks = ChunkSpec::automatic());

// --- implementation ---------------------------------------------------------------------------

namespace detail {
Array from_function(const Shape& shape, const ChunkSpec& chunks, DType dtype,
                    std::function<void(const index_t*, void*)> fn);
Array arange_int(std::int64_t start, std::int64_t stop, std::int64_t step,
                 const ArangeOptions& options);
Array arange_float(double start, double stop, double step, const ArangeOptions& options);
/// value_error: an unsigned arange argument above the int64 range.
[[noreturn]] void throw_arange_argument(unsigned long long value);

template <class T>
std::int64_t arange_int_arg(T v) {
  if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
      throw_arange_argument(static_cast<unsigned long long>(v));
  }
  return static_cast<std::int64_t>(v);
}
}  // namespace detail

template <class Start, class Stop, class Step>
requires(std::is_arithmetic_v<Start>&& std::is_arithmetic_v<Stop>&& std::is_arithmetic_v<Step>)
    Array arange(Start start, Stop stop, Step step, const ArangeOptions& options) {
  if constexpr (std::is_integral_v<Start> && std::is_integral_v<Stop> && std::is_integral_v<Step>) {
    return detail::arange_int(detail::arange_int_arg(start), detail::arange_int_arg(stop),
                              detail::arange_int_arg(step), options);
  } else {
    return detail::arange_float(static_cast<double>(start), static_cast<double>(stop),
                                static_cast<double>(step), options);
  }
}

template <ElementType T, class F>
Array fromfunction(F f, const Shape& shape, const ChunkSpec& chunks) {
  const int nd = static_cast<int>(shape.size());
  auto call = [f = std::move(f), nd](const index_t* idx, void* out) {
    (void)nd;  // read only by the span form (Clang: -Wunused-lambda-capture otherwise)
    T v{};
    if constexpr (std::is_invocable_v<F&, std::span<const index_t>>) {
      v = static_cast<T>(f(std::span<const index_t>(idx, static_cast<std::size_t>(nd))));
    } else if constexpr (std::is_invocable_v<F&, index_t>) {
      v = static_cast<T>(f(idx[0]));
    } else if constexpr (std::is_invocable_v<F&, index_t, index_t>) {
      v = static_cast<T>(f(idx[0], idx[1]));
    } else if constexpr (std::is_invocable_v<F&, index_t, index_t, index_t>) {
      v = static_cast<T>(f(idx[0], idx[1], idx[2]));
    } else if constexpr (std::is_invocable_v<F&, index_t, index_t, index_t, index_t>) {
      v = static_cast<T>(f(idx[0], idx[1], idx[2], idx[3]));
    } else {
      static_assert(std::is_invocable_v<F&, std::span<const index_t>>,
                    "fromfunction needs a callable taking one index_t per axis (up to 4) or a "
                    "std::span<const index_t>.");
    }
    *static_cast<T*>(out) = v;
  };
  if constexpr (!std::is_invocable_v<F&, std::span<const index_t>>) {
    const int arity = std::is_invocable_v<F&, index_t>                     ? 1
                      : std::is_invocable_v<F&, index_t, index_t>          ? 2
                      : std::is_invocable_v<F&, index_t, index_t, index_t> ? 3
                                                                           : 4;
    if (arity != nd) {
      detail::throw_arity(arity, shape);
    }
  }
  return detail::from_function(shape, chunks, dtype_of<T>(), std::move(call));
}

template <class E>
Array from_xtensor(const E& expression, const ChunkSpec& chunks) {
  using T = typename E::value_type;
  static_assert(is_element_type_v<T>,
                "from_xtensor needs elements of bool, a fixed-width integer type of 8 to 64 bits, "
                "float or double.");
  xt::xarray<T, xt::layout_type::row_major> dense = expression;
  Shape shape(dense.shape().begin(), dense.shape().end());
  return from_buffer(dense.data(), dtype_of<T>(), shape, chunks);
}

}  // namespace tessera
