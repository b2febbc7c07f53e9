// map_blocks and blockwise: a user's kernel makes each output chunk from the inputs' chunks that
// its axes (map_blocks: the same place in the chunk grid) or index letters (blockwise) name, as
// Dask's. The inputs' chunks are aligned first; dropped axes and contracted letters are made
// whole, new axes are one chunk each. The kernel's result is checked where it runs.

#include "tessera/array/map_blocks.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "tessera/array/rechunk.hpp"
#include "user_kernels.hpp"

namespace tessera {

namespace {

/// A user's kernel on chunks (map_blocks, blockwise): input k's axis a reads output axis
/// m_axis_of[k][a], or its only chunk (-1: an axis the kernel drops, a contracted letter).
class UserKernelExpr final : public BlockwiseExpr {
 public:
  /// `op` ("map_blocks", "blockwise") names the operation in errors.
  UserKernelExpr(std::vector<ExprPtr> inputs, Shape shape, DType dtype, ChunkGrid grid,
                 std::vector<std::vector<int>> axis_of, BlockKernel kernel, std::string name,
                 std::string_view op)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), dtype, std::move(grid),
                      std::move(inputs), unique_token(), name),
        m_axis_of(std::move(axis_of)),
        m_kernel(std::move(kernel)),
        m_name(std::move(name)),
        m_op(op) {}

  std::string_view op_name() const override { return m_name; }

  std::vector<Dep> deps(const Shape& coords) const override {
    std::vector<Dep> out;
    for (std::size_t k = 0; k < inputs().size(); ++k)
      out.push_back(
          {static_cast<int>(k), inputs()[k]->chunks().chunk_linear(input_coords(k, coords))});
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    BlockInfo info = detail::output_block_info(*this, coords);
    for (std::size_t k = 0; k < inputs().size(); ++k) {
      const Shape ic = input_coords(k, coords);
      const ChunkGrid& g = inputs()[k]->chunks();
      info.inputs.push_back({ic, g.chunk_offset(ic), g.chunk_shape(ic)});
    }
    std::vector<Block> blocks;
    blocks.reserve(in.size());
    for (const Block* b : in) blocks.push_back(*b);
    return detail::run_user_kernel(m_kernel, info, blocks, *this, m_op, m_name);
  }

 private:
  Shape input_coords(std::size_t k, const Shape& coords) const {
    const auto& axes = m_axis_of[k];
    Shape ic(axes.size(), 0);
    for (std::size_t a = 0; a < axes.size(); ++a)
      if (axes[a] >= 0) ic[a] = coords[static_cast<std::size_t>(axes[a])];
    return ic;
  }

  std::vector<std::vector<int>> m_axis_of;
  BlockKernel m_kernel;
  std::string m_name;
  std::string_view m_op;  // a literal
};

}  // namespace

namespace detail {

BlockInfo output_block_info(const Expr& node, const Shape& coords) {
  BlockInfo info;
  info.output = {coords, node.chunks().chunk_offset(coords), node.chunks().chunk_shape(coords)};
  info.array_shape = node.shape();
  for (int a = 0; a < node.ndim(); ++a) info.num_blocks.push_back(node.chunks().num_chunks(a));
  return info;
}

Block run_user_kernel(const BlockKernel& kernel, const BlockInfo& info,
                      std::span<const Block> inputs, const Expr& node, std::string_view op,
                      std::string_view name, std::string_view expected) {
  Block out = kernel(info, inputs);
  if (out.shape() != info.output.shape || out.dtype() != node.dtype()) {
    throw value_error(fmt::format(
        "{} '{}': the kernel returned a {} block of shape {} for chunk {}; expected {} of shape "
        "{}{}",
        op, name, dtype_name(out.dtype()), shape_string(out.shape()),
        shape_string(info.output.index), dtype_name(node.dtype()), shape_string(info.output.shape),
        expected));
  }
  return out;
}

void check_map_blocks_dtypes(const std::vector<Array>& inputs, const std::vector<DType>& want,
                             const std::string& name) {
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k].dtype() != want[k]) {
      throw dtype_error(
          fmt::format("map_blocks '{}': input {} has dtype {}, but the kernel reads "
                      "it as {} (astype() it, or name its element type)",
                      name, k, dtype_name(inputs[k].dtype()), dtype_name(want[k])));
    }
  }
}
}  // namespace detail

Array map_blocks(BlockKernel kernel, const std::vector<Array>& inputs, MapBlocksOptions options) {
  const std::string& name = options.name;
  if (inputs.empty()) throw value_error(fmt::format("map_blocks '{}': no input arrays", name));
  if (!kernel) throw value_error(fmt::format("map_blocks '{}': no kernel", name));
  const Shape& shape = inputs[0].shape();
  for (std::size_t k = 1; k < inputs.size(); ++k) {
    if (inputs[k].shape() != shape) {
      throw shape_error(fmt::format(
          "map_blocks '{}': input {} has shape {}, but input 0 has shape {} (the inputs' chunks "
          "are matched one to one: broadcast_to() them first)",
          name, k, shape_string(inputs[k].shape()), shape_string(shape)));
    }
  }
  const int in_nd = static_cast<int>(shape.size());
  const std::vector<int> dropped = normalize_axes(options.drop_axis, in_nd);
  const int kept = in_nd - static_cast<int>(dropped.size());
  const int out_nd = kept + static_cast<int>(options.new_axis.size());
  const std::vector<int> added = normalize_axes(options.new_axis, out_nd);

  // Align the inputs' chunks with the first's, dropped axes whole.
  std::vector<AxisChunks> aligned;
  for (int a = 0; a < in_nd; ++a) {
    const bool drop = std::binary_search(dropped.begin(), dropped.end(), a);
    aligned.emplace_back(drop ? AxisChunks(index_t{-1}) : AxisChunks(inputs[0].chunks().sizes(a)));
  }
  std::vector<ExprPtr> exprs;
  for (const Array& x : inputs) exprs.push_back(rechunk(x, ChunkSpec(aligned)).expr());
  const ChunkGrid& in_grid = exprs[0]->chunks();

  // Output axes: the kept input axes in order, with the new ones inserted. Every input's axis
  // is read at the output axis that keeps it (-1: dropped).
  std::vector<int> axis_of(static_cast<std::size_t>(in_nd), -1);
  std::vector<std::vector<index_t>> sizes;
  for (int a = 0, next = 0; a < out_nd; ++a) {
    if (std::binary_search(added.begin(), added.end(), a)) {
      sizes.push_back({1});
      continue;
    }
    while (std::binary_search(dropped.begin(), dropped.end(), next)) ++next;
    axis_of[static_cast<std::size_t>(next)] = a;
    sizes.push_back(in_grid.sizes(next));
    ++next;
  }
  if (options.chunks) {
    const auto& want = *options.chunks;
    bool fits = static_cast<int>(want.size()) == out_nd;
    for (std::size_t a = 0; fits && a < want.size(); ++a) {
      fits = want[a].size() == sizes[a].size() &&
             std::all_of(want[a].begin(), want[a].end(), [](index_t n) { return n >= 0; });
    }
    if (!fits) {
      std::vector<std::size_t> counts;
      for (const auto& s : sizes) counts.push_back(s.size());
      throw shape_error(fmt::format(
          "map_blocks '{}': chunks must give {} axes with [{}] chunks along them (the inputs' "
          "chunk grid, one chunk along new axes); got {} axes",
          name, out_nd, fmt::join(counts, ", "), want.size()));
    }
    sizes = want;
  }
  ChunkGrid grid(sizes);
  Shape out_shape;
  for (const auto& s : sizes) {
    index_t n = 0;
    for (index_t c : s) n += c;
    out_shape.push_back(n);
  }
  const DType dtype = options.dtype.value_or(inputs[0].dtype());
  return Array(std::make_shared<UserKernelExpr>(
      std::move(exprs), std::move(out_shape), dtype, std::move(grid),
      std::vector<std::vector<int>>(inputs.size(), axis_of), std::move(kernel), options.name,
      "map_blocks"));
}

Array blockwise(BlockKernel kernel, std::string_view out_index,
                const std::vector<IndexedArray>& inputs, BlockwiseOptions options) {
  const std::string& name = options.name;
  if (inputs.empty()) throw value_error(fmt::format("blockwise '{}': no input arrays", name));
  if (!kernel) throw value_error(fmt::format("blockwise '{}': no kernel", name));
  const auto repeated = [](std::string_view index) {
    for (std::size_t i = 0; i < index.size(); ++i)
      if (index.find(index[i], i + 1) != std::string_view::npos) return true;
    return false;
  };
  if (repeated(out_index)) {
    throw value_error(fmt::format("blockwise '{}': a letter is repeated in the output index '{}'",
                                  name, out_index));
  }
  // Each letter's length and chunks: those of its first appearance.
  std::map<char, std::pair<index_t, std::vector<index_t>>> letters;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const auto& [x, index] = inputs[k];
    if (static_cast<int>(index.size()) != x.ndim() || repeated(index)) {
      throw value_error(fmt::format(
          "blockwise '{}': input {} of shape {} has the index '{}' (one distinct letter per "
          "axis)",
          name, k, shape_string(x.shape()), index));
    }
    for (std::size_t a = 0; a < index.size(); ++a) {
      const index_t n = x.shape()[a];
      auto [it, fresh] =
          letters.emplace(index[a], std::pair{n, x.chunks().sizes(static_cast<int>(a))});
      if (!fresh && it->second.first != n) {
        throw shape_error(fmt::format(
            "blockwise '{}': letter '{}' has length {} in input {} (shape {}) but {} before", name,
            index[a], n, k, shape_string(x.shape()), it->second.first));
      }
    }
  }
  for (const auto& [letter, n] : options.new_axes) {
    if (n < 0)
      throw value_error(fmt::format("blockwise '{}': new axis '{}' of length {}", name, letter, n));
    if (letters.contains(letter)) {
      throw value_error(
          fmt::format("blockwise '{}': new axis '{}' is a letter of an input", name, letter));
    }
    letters.emplace(letter, std::pair{n, std::vector<index_t>{n}});
  }
  Shape shape;
  std::vector<std::vector<index_t>> sizes;
  for (char c : out_index) {
    auto it = letters.find(c);
    if (it == letters.end()) {
      throw value_error(fmt::format(
          "blockwise '{}': output letter '{}' is in no input (give its length in new_axes)", name,
          c));
    }
    shape.push_back(it->second.first);
    sizes.push_back(it->second.second);
  }
  // Align every input: its letters' chunks, contracted letters whole.
  std::vector<ExprPtr> exprs;
  std::vector<std::vector<int>> axis_of;
  for (const auto& [x, index] : inputs) {
    std::vector<AxisChunks> spec;
    std::vector<int> axes;
    for (char c : index) {
      const auto pos = out_index.find(c);
      axes.push_back(pos == std::string_view::npos ? -1 : static_cast<int>(pos));
      spec.emplace_back(pos == std::string_view::npos ? AxisChunks(index_t{-1})
                                                      : AxisChunks(letters.at(c).second));
    }
    exprs.push_back((x.ndim() == 0 ? x : rechunk(x, ChunkSpec(spec))).expr());
    axis_of.push_back(std::move(axes));
  }
  const DType dtype = options.dtype.value_or(inputs[0].array.dtype());
  return Array(std::make_shared<UserKernelExpr>(std::move(exprs), std::move(shape), dtype,
                                                ChunkGrid(sizes), std::move(axis_of),
                                                std::move(kernel), name, "blockwise"));
}

}  // namespace tessera
