#pragma once
/// @file
/// User kernels on chunks, as Dask's `map_blocks`: a C++ callable makes each chunk of the
/// result from the chunks of one or more arrays at the same place in the chunk grid.
///
///     // y = 2 x + z, chunk by chunk, on xtensor views of the chunks (no copies)
///     Array y = map_blocks<double>(
///         [](const BlockInfo&, auto& out, const auto& x, const auto& z) { out = 2.0 * x + z; },
///         x, z);
///
/// - The inputs have one shape; their chunks are aligned first (each rechunked to the first
///   input's chunks, as Dask's `unify_chunks`).
/// - The kernel runs once per output chunk, on whichever rank the scheduler places it, possibly
///   on several threads at once: it must not share mutable state unguarded.
/// - `drop_axis`: input axes the kernel removes (say, summing along them); each is made one
///   chunk first, so the kernel sees it whole. `new_axis`: output axes the kernel adds, one chunk
///   each (size 1, or what `chunks` says).
/// - A kernel that throws fails the compute on every rank with a task_error naming the chunk;
///   an untyped kernel that returns a block of the wrong shape or dtype fails it with a
///   value_error naming both. Bad arguments (no inputs, different shapes, bad axes, an output
///   chunking that does not fit, dtypes that differ from the typed kernel's) raise when the
///   expression is built.

#include <concepts>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tessera/array/array.hpp"

namespace tessera {

/// Where a chunk lies: its index in the chunk grid, the global index of its first element,
/// and its shape.
struct BlockLocation {
  Shape index;
  Shape offset;
  Shape shape;
};

/// What a kernel is told about the chunk it makes (Dask's `block_info`).
struct BlockInfo {
  BlockLocation output;
  std::vector<BlockLocation> inputs;  // the chunk each input gives, in input order
  Shape array_shape;                  // the whole output's shape
  Shape num_blocks;                   // the output's chunks per axis
};

struct MapBlocksOptions {
  /// The output's dtype (default: the first input's; the typed form sets it).
  std::optional<DType> dtype = {};
  /// Input axes the kernel removes; each is made one chunk so that the kernel sees it whole.
  std::vector<int> drop_axis = {};
  /// Output axes the kernel adds (positions in the output, after drop_axis), one chunk each.
  std::vector<int> new_axis = {};
  /// The output's chunk sizes per axis. Default: the inputs' along the axes they keep, one
  /// element along new axes. Given, it must have the default's number of chunks per axis (one
  /// along new axes); the sizes may differ (a kernel that halves every chunk).
  std::optional<std::vector<std::vector<index_t>>> chunks = {};
  /// Names the node in graphs and messages.
  std::string name = "map_blocks";
};

/// A kernel in its untyped form: the output chunk (a new Block of `info.output.shape` and the
/// output dtype) from the inputs' chunks.
using BlockKernel = std::function<Block(const BlockInfo& info, std::span<const Block> inputs)>;

/// Applies `kernel` to every chunk of `inputs` (see the file comment).
Array map_blocks(BlockKernel kernel, const std::vector<Array>& inputs,
                 MapBlocksOptions options = {});

/// The typed form: `kernel(info, out, in...)` writes the output chunk `out`, an xtensor adaptor
/// of element type Out over the new chunk, from read-only adaptors `in...` over the inputs'
/// chunks, whose element types are `In...` (each Out when none are given). Nothing is copied.
/// An input whose dtype is not its element type raises dtype_error when the expression is
/// built. Options, when there are any, come first: `map_blocks<float>(options, kernel, x)`.
template <ElementType Out, ElementType... In, class Kernel, std::same_as<Array>... Arrays>
requires(sizeof...(Arrays) > 0 && (sizeof...(In) == 0 || sizeof...(In) == sizeof...(Arrays))) Array
    map_blocks(const MapBlocksOptions& options, Kernel kernel, const Arrays&... inputs);
template <ElementType Out, ElementType... In, class Kernel, std::same_as<Array>... Arrays>
requires(!std::same_as<Kernel, MapBlocksOptions> && sizeof...(Arrays) > 0 &&
         (sizeof...(In) == 0 || sizeof...(In) == sizeof...(Arrays))) Array
    map_blocks(Kernel kernel, const Arrays&... inputs) {
  return map_blocks<Out, In...>(MapBlocksOptions{}, std::move(kernel), inputs...);
}

/// One input of blockwise(): an array and the index letters of its axes ("ij").
struct IndexedArray {
  Array array;
  std::string index;
};

struct BlockwiseOptions {
  /// The output's dtype (default: the first input's).
  std::optional<DType> dtype = {};
  /// The lengths of output letters that no input has (Dask's new_axes), one chunk each.
  std::vector<std::pair<char, index_t>> new_axes = {};
  /// Names the node in graphs and messages.
  std::string name = "blockwise";
};

/// Dask's blockwise with index strings: output chunk `out_index` (one letter per output axis)
/// is `kernel(info, blocks)` of the inputs' chunks whose letters match it. A letter shared by
/// inputs must have one length in all of them (shape_error), and its chunks are aligned to those
/// of its first appearance; a letter that the output lacks is contracted: it is made one chunk
/// in every input, so the kernel sees it whole (Dask's concatenate=True). So
///     blockwise(k, "ik", {{a, "ij"}, {b, "jk"}})   // k sees a's row panel and b's column panel
///     blockwise(k, "ij", {{x, "ij"}, {y, "ji"}})   // y's chunk at the transposed place
///     blockwise(k, "ij", {{x, "ij"}, {v, "j"}})    // v's chunk along x's columns
/// value_error for a letter repeated within one index, an index whose length is not its
/// array's ndim, or an output letter that is in no input and not in new_axes.
Array blockwise(BlockKernel kernel, std::string_view out_index,
                const std::vector<IndexedArray>& inputs, BlockwiseOptions options = {});

// --- implementation ---------------------------------------------------------------------------

namespace detail {
/// Raises dtype_error unless every inputs[k] has dtype want[k].
void check_map_blocks_dtypes(const std::vector<Array>& inputs, const std::vector<DType>& want,
                             const std::string& name);

/// The element type of input K: In...'s K-th, or Out when In... is empty.
template <std::size_t K, class Out, class... In>
struct map_blocks_input {
  using type = std::tuple_element_t<K, std::tuple<In...>>;
};
template <std::size_t K, class Out>
struct map_blocks_input<K, Out> {
  using type = Out;
};

/// The dtypes the typed kernel reads its inputs as.
template <class Out, class... In, std::size_t... K>
std::vector<DType> map_blocks_dtypes(std::index_sequence<K...>) {
  return {dtype_of<typename map_blocks_input<K, Out, In...>::type>()...};
}

template <class Out, class... In, class Kernel, std::size_t... K>
Block run_typed_kernel(const Kernel& kernel, const BlockInfo& info, std::span<const Block> inputs,
                       std::index_sequence<K...>) {
  Block out(dtype_of<Out>(), info.output.shape);
  auto out_view = out.view<Out>();
  kernel(info, out_view,
         inputs[K].template view<typename map_blocks_input<K, Out, In...>::type>()...);
  return out;
}
}  // namespace detail

template <ElementType Out, ElementType... In, class Kernel, std::same_as<Array>... Arrays>
requires(sizeof...(Arrays) > 0 && (sizeof...(In) == 0 || sizeof...(In) == sizeof...(Arrays))) Array
    map_blocks(const MapBlocksOptions& options, Kernel kernel, const Arrays&... inputs) {
  using Indices = std::index_sequence_for<Arrays...>;
  const std::vector<Array> arrays{inputs...};
  const std::vector<DType> want = detail::map_blocks_dtypes<Out, In...>(Indices{});
  detail::check_map_blocks_dtypes(arrays, want, options.name);
  MapBlocksOptions typed = options;
  typed.dtype = dtype_of<Out>();
  return map_blocks(
      BlockKernel([kernel = std::move(kernel)](const BlockInfo& info, std::span<const Block> in) {
        return detail::run_typed_kernel<Out, In...>(kernel, info, in, Indices{});
      }),
      arrays, std::move(typed));
}

}  // namespace tessera
