#include "tessera/array/local.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "array/local_description.hpp"
#include "tessera/core/chunk_owners.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

using detail::BlockDescription;
using detail::RegionDescription;

Scheduler& scheduler_or_default(Scheduler* s) { return s ? *s : default_scheduler(); }

bool holds_elements(const BlockDescription& b) { return shape_size(b.shape) != 0; }

std::string describe(const std::vector<BlockDescription>& blocks) {
  std::string out;
  for (std::size_t r = 0; r < blocks.size(); ++r) {
    out += fmt::format("{}rank {}: offset {} shape {}", r ? "; " : "", r,
                       shape_string(blocks[r].offset), shape_string(blocks[r].shape));
  }
  return out;
}

[[noreturn]] void throw_decomposition(const std::string& what,
                                      const std::vector<BlockDescription>& b) {
  throw shape_error(fmt::format("from_local: {} ({})", what, describe(b)));
}

/// The chunk grid the blocks form, and which rank holds each chunk; throws shape_error (on
/// every rank alike: all decide from the same gathered description) when they do not tile it.
std::pair<ChunkGrid, ChunkOwners> decomposition(const std::vector<BlockDescription>& blocks) {
  const auto nd = blocks[0].offset.size();
  for (std::size_t r = 0; r < blocks.size(); ++r) {
    if (blocks[r].offset.size() != nd || blocks[r].shape.size() != nd) {
      throw_decomposition(fmt::format("ranks disagree on the number of dimensions (rank {})", r),
                          blocks);
    }
    if (blocks[r].dtype != blocks[0].dtype) {
      throw shape_error(fmt::format("from_local: rank {} has dtype {}, rank 0 has {}", r,
                                    dtype_name(blocks[r].dtype), dtype_name(blocks[0].dtype)));
    }
    for (std::size_t a = 0; a < nd; ++a) {
      if (blocks[r].offset[a] < 0) {
        throw_decomposition(fmt::format("rank {} has a negative offset", r), blocks);
      }
      if (!checked_add(blocks[r].offset[a], blocks[r].shape[a])) {
        throw_decomposition(fmt::format("rank {}'s block ends past 2^63 - 1", r), blocks);
      }
    }
  }
  // Per axis: the boundaries of the non-empty blocks are the grid's.
  std::vector<std::vector<index_t>> bounds(nd);
  Shape extent(nd, 0);
  for (const auto& b : blocks) {
    for (std::size_t a = 0; a < nd; ++a) extent[a] = std::max(extent[a], b.offset[a] + b.shape[a]);
    if (!holds_elements(b)) continue;
    for (std::size_t a = 0; a < nd; ++a) {
      bounds[a].push_back(b.offset[a]);
      bounds[a].push_back(b.offset[a] + b.shape[a]);
    }
  }
  const bool any = std::any_of(blocks.begin(), blocks.end(), holds_elements);
  if (!any) {
    if (shape_size(extent) != 0) throw_decomposition("no rank holds any element", blocks);
    std::vector<std::vector<index_t>> sizes(nd);
    for (std::size_t a = 0; a < nd; ++a) sizes[a] = {extent[a]};
    return {ChunkGrid(sizes), ChunkOwners::from_ranks({0})};
  }
  std::vector<std::vector<index_t>> sizes(nd);
  for (std::size_t a = 0; a < nd; ++a) {
    auto& v = bounds[a];
    v.push_back(0);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    for (std::size_t k = 1; k < v.size(); ++k) sizes[a].push_back(v[k] - v[k - 1]);
  }
  const ChunkGrid grid(sizes);
  ChunkOwners owners = ChunkOwners::unplaced(grid.num_chunks());
  for (std::size_t r = 0; r < blocks.size(); ++r) {
    const auto& b = blocks[r];
    if (!holds_elements(b)) continue;
    Shape coords(nd);
    for (std::size_t a = 0; a < nd; ++a) {
      const auto& v = bounds[a];
      const auto k = std::lower_bound(v.begin(), v.end(), b.offset[a]) - v.begin();
      if (v[static_cast<std::size_t>(k) + 1] != b.offset[a] + b.shape[a]) {
        throw_decomposition(
            fmt::format("the blocks do not form a grid: rank {}'s block spans several cells "
                        "along axis {}",
                        r, a),
            blocks);
      }
      coords[a] = k;
    }
    const index_t c = grid.chunk_linear(coords);
    if (!owners.is_unplaced(c)) {
      throw_decomposition(fmt::format("ranks {} and {} overlap", owners.owner(c), r), blocks);
    }
    owners.set(c, static_cast<int>(r));
  }
  for (index_t c = 0; c < owners.num_chunks(); ++c) {
    if (owners.is_unplaced(c)) {
      throw_decomposition(fmt::format("no rank holds the block at offset {}",
                                      shape_string(grid.chunk_offset(grid.chunk_coords(c)))),
                          blocks);
    }
  }
  return {grid, owners};
}

/// Copies the part of `chunk` (at global offset `coff`) that lies in the region
/// [roff, roff + rshape) into `dst`, the region's row-major buffer.
void copy_intersection(const Block& chunk, const Shape& coff, void* dst, const Shape& roff,
                       const Shape& rshape) {
  const std::size_t nd = rshape.size();
  const Shape& cs = chunk.shape();
  Shape from(nd), to(nd), count(nd);
  for (std::size_t a = 0; a < nd; ++a) {
    const index_t lo = std::max(coff[a], roff[a]);
    const index_t hi = std::min(coff[a] + cs[a], roff[a] + rshape[a]);
    if (lo >= hi) return;
    from[a] = lo - coff[a];
    to[a] = lo - roff[a];
    count[a] = hi - lo;
  }
  copy_region(chunk.data(), cs, {from}, dst, rshape, {to}, count, dtype_size(chunk.dtype()));
}

bool intersects(const Shape& aoff, const Shape& ashape, const Shape& boff, const Shape& bshape) {
  for (std::size_t a = 0; a < aoff.size(); ++a) {
    if (std::max(aoff[a], boff[a]) >= std::min(aoff[a] + ashape[a], boff[a] + bshape[a])) {
      return false;
    }
  }
  return shape_size(ashape) > 0 && shape_size(bshape) > 0;
}

}  // namespace

namespace detail {

Array from_local(const Block& local, const Shape& offset, const std::string& problem,
                 Scheduler* scheduler) {
  Scheduler& s = scheduler_or_default(scheduler);
  std::string mine = problem;
  if (mine.empty() && offset.size() != local.shape().size()) {
    mine = fmt::format("offset {} and block shape {} differ in length", shape_string(offset),
                       shape_string(local.shape()));
  }
  const auto all = s.allgather(detail::encode_description(BlockDescription{
      local.dtype(), mine.empty() ? offset : Shape(local.shape().size(), 0), local.shape(), mine}));
  std::vector<BlockDescription> blocks;
  for (std::size_t r = 0; r < all.size(); ++r) {
    blocks.push_back(detail::decode_block_description(all[r], static_cast<int>(r)));
  }
  for (std::size_t r = 0; r < blocks.size(); ++r) {
    if (!blocks[r].problem.empty()) {
      throw shape_error(fmt::format("from_local: rank {}: {}", r, blocks[r].problem));
    }
  }
  auto [grid, owners] = decomposition(blocks);
  std::vector<Block> chunks(static_cast<std::size_t>(grid.num_chunks()));
  const int me = s.rank();
  for (index_t c : owners.chunks_of(me)) {
    // The empty-array case: the one chunk is rank 0's, whatever shape rank 0 passed.
    chunks[static_cast<std::size_t>(c)] =
        local.size() == 0 ? Block(local.dtype(), grid.shape()) : local;
  }
  return Array(std::make_shared<DataExpr>(grid, blocks[0].dtype, std::move(chunks),
                                          std::move(owners), me, "from_local"));
}

}  // namespace detail

Array from_local(const Block& local, const Shape& offset, Scheduler* scheduler) {
  return detail::from_local(local, offset, {}, scheduler);
}

void to_local(const Array& x, void* out, std::size_t out_elements, DType out_dtype,
              const Shape& offset, const Shape& shape, const ComputeOptions& options) {
  Scheduler& s = scheduler_or_default(options.scheduler);
  // Check locally, then tell every rank: a bad region on one rank fails the call on all.
  std::string problem;
  if (out_dtype != x.dtype()) {
    problem = fmt::format("the buffer holds {}, the array is {}", dtype_name(out_dtype),
                          dtype_name(x.dtype()));
  } else if (offset.size() != shape.size() || static_cast<int>(shape.size()) != x.ndim()) {
    problem = fmt::format("region offset {} shape {} for an array of shape {}",
                          shape_string(offset), shape_string(shape), shape_string(x.shape()));
  } else if (const auto size = checked_shape_size(shape);
             !size || static_cast<index_t>(out_elements) != *size) {
    problem = fmt::format("the buffer has {} elements, the region {} needs {}", out_elements,
                          shape_string(shape),
                          size ? std::to_string(*size) : std::string("more than 2^63 - 1"));
  } else {
    for (std::size_t a = 0; a < shape.size(); ++a) {
      // shape[a] > extent - offset[a]: offset[a] + shape[a] could overflow.
      if (offset[a] < 0 || shape[a] < 0 || shape[a] > x.shape()[a] - offset[a]) {
        problem = fmt::format("region offset {} shape {} lies outside the array's shape {}",
                              shape_string(offset), shape_string(shape), shape_string(x.shape()));
        break;
      }
    }
  }
  const auto all = s.allgather(detail::encode_description(
      problem.empty() ? RegionDescription{offset, shape, {}} : RegionDescription{{}, {}, problem}));
  std::vector<std::pair<Shape, Shape>> regions;
  for (std::size_t r = 0; r < all.size(); ++r) {
    RegionDescription d = detail::decode_region_description(all[r], static_cast<int>(r));
    if (!d.problem.empty()) throw value_error(fmt::format("to_local: rank {}: {}", r, d.problem));
    regions.emplace_back(std::move(d.offset), std::move(d.shape));
  }
  // The chunks someone needs, and who needs each.
  const ChunkGrid& grid = x.chunks();
  std::vector<index_t> needed;
  std::vector<std::vector<int>> destinations;
  for (index_t c = 0; c < grid.num_chunks(); ++c) {
    const Shape coords = grid.chunk_coords(c);
    const Shape coff = grid.chunk_offset(coords), cshape = grid.chunk_shape(coords);
    std::vector<int> ranks;
    for (std::size_t r = 0; r < regions.size(); ++r) {
      const bool zero_d = x.ndim() == 0;
      if (zero_d || intersects(coff, cshape, regions[r].first, regions[r].second)) {
        ranks.push_back(static_cast<int>(r));
      }
    }
    if (ranks.empty()) continue;
    needed.push_back(c);
    destinations.push_back(std::move(ranks));
  }
  if (needed.empty()) return;
  const ExprPtr roots[] = {x.expr()};
  const std::vector<index_t> chunk_lists[] = {needed};
  LoweredGraph lg = lower(roots, chunk_lists, options.lowering);
  const RunResult result = s.execute_to(lg.graph, lg.outputs[0], destinations);
  for (std::size_t k = 0; k < needed.size(); ++k) {
    if (result.values[k].empty()) continue;  // not for this rank
    const Shape coords = grid.chunk_coords(needed[k]);
    copy_intersection(result.values[k].get<Block>(), grid.chunk_offset(coords), out, offset, shape);
  }
}

}  // namespace tessera
