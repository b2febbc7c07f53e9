#include "tessera/core/chunk_grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

Shape grid_shape_of(const std::vector<std::vector<index_t>>& sizes) {
  Shape s;
  for (const auto& sz : sizes) s.push_back(static_cast<index_t>(sz.size()));
  return s;
}

/// Every ChunkGrid holds one size and one offset per chunk and axis, and lowering makes one
/// task per chunk: a grid past this bound is a mistake (chunks far too small for the shape),
/// and would otherwise fail as a bare std::bad_alloc — or never finish.
[[noreturn]] void throw_too_many_chunks(const Shape& grid, const Shape& shape = {},
                                        const std::vector<index_t>& chunk = {}) {
  std::uint64_t total = 1;
  bool overflow = false;
  for (index_t g : grid) {
    overflow = overflow || __builtin_mul_overflow(total, static_cast<std::uint64_t>(g), &total);
  }
  const std::string what =
      shape.empty() && chunk.empty()
          ? std::string("a chunk grid")
          : fmt::format("shape {} in chunks of {}", shape_string(shape), shape_string(chunk));
  throw shape_error(fmt::format(
      "too many chunks: {} has {} chunks {}, more than the {} Tessera allows; use larger chunks",
      what, overflow ? std::string("more than 2^64") : std::to_string(total), shape_string(grid),
      ChunkGrid::max_chunks));
}

}  // namespace

ChunkGrid::ChunkGrid(std::vector<std::vector<index_t>> sizes) : m_sizes(std::move(sizes)) {
  m_offsets.reserve(m_sizes.size());
  index_t total_chunks = 1;
  for (std::size_t a = 0; a < m_sizes.size(); ++a) {
    std::vector<index_t> off{0};
    off.reserve(m_sizes[a].size() + 1);
    for (index_t s : m_sizes[a]) {
      if (s < 0) throw shape_error(fmt::format("negative chunk size {} on axis {}", s, a));
      const auto end = checked_add(off.back(), s);
      if (!end) {
        throw shape_error(fmt::format(
            "array is too big; the chunk sizes on axis {} add up to more than 2^63 - 1", a));
      }
      off.push_back(*end);
    }
    const auto n = checked_mul(total_chunks, static_cast<index_t>(m_sizes[a].size()));
    if (!n || *n > max_chunks) throw_too_many_chunks(grid_shape_of(m_sizes));
    total_chunks = *n;
    if (m_sizes[a].empty()) throw shape_error(fmt::format("axis {} has no chunks", a));
    if (off.back() > 0 && std::find(m_sizes[a].begin(), m_sizes[a].end(), 0) != m_sizes[a].end()) {
      throw shape_error(fmt::format("zero-size chunk on non-empty axis {}", a));
    }
    m_offsets.push_back(std::move(off));
  }
}

Shape ChunkGrid::shape() const {
  Shape s;
  for (const auto& off : m_offsets) s.push_back(off.back());
  return s;
}

Shape ChunkGrid::grid_shape() const { return grid_shape_of(m_sizes); }

index_t ChunkGrid::num_chunks() const { return shape_size(grid_shape()); }

Shape ChunkGrid::chunk_coords(index_t linear) const {
  Shape c(m_sizes.size());
  for (std::size_t a = m_sizes.size(); a-- > 0;) {
    const auto n = static_cast<index_t>(m_sizes[a].size());
    c[a] = linear % n;
    linear /= n;
  }
  return c;
}

index_t ChunkGrid::chunk_linear(const Shape& coords) const {
  index_t linear = 0;
  for (std::size_t a = 0; a < m_sizes.size(); ++a) {
    linear = linear * static_cast<index_t>(m_sizes[a].size()) + coords[a];
  }
  return linear;
}

Shape ChunkGrid::chunk_shape(const Shape& coords) const {
  Shape s(m_sizes.size());
  for (std::size_t a = 0; a < m_sizes.size(); ++a)
    s[a] = m_sizes[a][static_cast<std::size_t>(coords[a])];
  return s;
}

Shape ChunkGrid::chunk_offset(const Shape& coords) const {
  Shape s(m_sizes.size());
  for (std::size_t a = 0; a < m_sizes.size(); ++a)
    s[a] = m_offsets[a][static_cast<std::size_t>(coords[a])];
  return s;
}

index_t ChunkGrid::chunk_of(int axis, index_t i) const {
  const auto& off = offsets(axis);
  auto it = std::upper_bound(off.begin(), off.end() - 1, i);
  return static_cast<index_t>(it - off.begin()) - 1;
}

index_t ChunkGrid::max_chunk_size() const {
  Shape biggest;
  for (const auto& sz : m_sizes) biggest.push_back(*std::max_element(sz.begin(), sz.end()));
  return shape_size(biggest);
}

std::string ChunkGrid::to_string() const {
  std::vector<std::string> axes;
  for (const auto& sz : m_sizes) {
    axes.push_back(sz.size() == 1 ? fmt::format("({},)", sz[0])
                                  : fmt::format("({})", fmt::join(sz, ", ")));
  }
  if (axes.size() == 1) return "(" + axes[0] + ",)";
  return fmt::format("({})", fmt::join(axes, ", "));
}

ChunkSpec ChunkSpec::automatic(std::size_t target_bytes) {
  ChunkSpec s;
  s.m_axes = {AxisChunks(AxisChunks::Auto{})};
  s.m_broadcast = true;
  s.m_auto_bytes = target_bytes;
  return s;
}

ChunkSpec ChunkSpec::explicit_sizes(std::vector<std::vector<index_t>> sizes) {
  ChunkSpec s;
  for (auto& v : sizes) s.m_axes.emplace_back(std::move(v));
  return s;
}

namespace {

std::vector<index_t> regular_sizes(index_t extent, index_t chunk) {
  if (extent == 0) return {0};
  std::vector<index_t> out(static_cast<std::size_t>(extent / chunk), chunk);
  if (extent % chunk) out.push_back(extent % chunk);
  return out;
}

/// The largest integer edge e >= 1 with e^k <= budget. std::pow alone can land just below an
/// exact root (pow(2^24, 1/3) = 255.99999999999991), which would turn the default 128 MiB
/// float64 cube of 256^3 into chunks of 171^3.
index_t integer_root(double budget, std::size_t k) {
  const double kd = static_cast<double>(k);
  budget = std::min(budget, 0x1p52);  // doubles are exact integers up to here
  auto e = std::max<index_t>(1, static_cast<index_t>(std::pow(budget, 1.0 / kd)));
  while (std::pow(static_cast<double>(e + 1), kd) <= budget) ++e;
  while (e > 1 && std::pow(static_cast<double>(e), kd) > budget) --e;
  return e;
}

}  // namespace

ChunkGrid ChunkSpec::resolve(const Shape& shape, DType dtype) const {
  const std::size_t nd = shape.size();
  for (index_t e : shape) {
    if (e < 0)
      throw shape_error(fmt::format("negative dimension in shape {}", shape_string(shape)));
  }
  // "array is too big" before "too many chunks": the size is the first thing wrong.
  shape_nbytes(shape, dtype_size(dtype), dtype_name(dtype));
  if (!m_broadcast && m_axes.size() != nd) {
    throw shape_error(fmt::format("chunk spec has {} axes but the array shape {} has {}",
                                  m_axes.size(), shape_string(shape), nd));
  }
  auto axis_spec = [&](std::size_t a) -> const AxisChunks& {
    return m_broadcast ? m_axes[0] : m_axes[a];
  };

  std::vector<std::vector<index_t>> sizes(nd);
  std::vector<index_t> regular(nd, 0);  // a regular chunk size per axis, 0 for other specs
  std::vector<std::size_t> auto_axes;
  double fixed_elems = 1;
  for (std::size_t a = 0; a < nd; ++a) {
    const auto& spec = axis_spec(a).spec;
    if (const auto* n = std::get_if<index_t>(&spec)) {
      if (*n == -1 || (*n > shape[a])) {
        sizes[a] = {shape[a]};
      } else if (*n <= 0) {
        throw value_error(fmt::format(
            "chunk size {} on axis {} must be positive (or -1 for the whole axis)", *n, a));
      } else {
        regular[a] = *n;  // materialised once the whole grid is known to be small enough
      }
      fixed_elems *= static_cast<double>(std::max<index_t>(regular[a] ? regular[a] : shape[a], 1));
    } else if (const auto* list = std::get_if<std::vector<index_t>>(&spec)) {
      index_t total = 0;
      for (index_t s : *list) {
        if (s < 0 || (s == 0 && shape[a] != 0)) {
          throw value_error(fmt::format("explicit chunk sizes ({}) on axis {} must be positive",
                                        fmt::join(*list, ", "), a));
        }
        const auto t = checked_add(total, s);
        if (!t) {
          throw shape_error(
              fmt::format("explicit chunk sizes on axis {} add up to more than 2^63 - 1 (shape {})",
                          a, shape_string(shape)));
        }
        total = *t;
      }
      if (total != shape[a]) {
        throw shape_error(fmt::format(
            "explicit chunk sizes ({}) on axis {} add up to {}, not the axis length {} of shape {}",
            fmt::join(*list, ", "), a, total, shape[a], shape_string(shape)));
      }
      sizes[a] = list->empty() ? std::vector<index_t>{0} : *list;
      fixed_elems *= static_cast<double>(
          std::max<index_t>(*std::max_element(sizes[a].begin(), sizes[a].end()), 1));
    } else {
      auto_axes.push_back(a);
    }
  }

  // Automatic axes: equal-ish edges so that a chunk holds about m_auto_bytes. Axes shorter
  // than the ideal edge are taken whole and the edge is recomputed for the rest.
  double budget = std::max(1.0, static_cast<double>(m_auto_bytes) /
                                    static_cast<double>(dtype_size(dtype)) / fixed_elems);
  // An empty array has nothing to split: automatic axes are taken whole (NumPy-sized
  // extents like (0, 2^32, 2^32) would otherwise ask for 2^40 empty chunks).
  if (checked_shape_size(shape) == index_t{0}) {
    for (std::size_t a : auto_axes) sizes[a] = {shape[a]};
    auto_axes.clear();
  }
  std::vector<std::size_t> pending = auto_axes;
  bool changed = true;
  while (changed && !pending.empty()) {
    changed = false;
    const index_t edge = integer_root(budget, pending.size());
    for (auto it = pending.begin(); it != pending.end();) {
      if (shape[*it] <= edge) {
        sizes[*it] = {shape[*it]};
        budget /= static_cast<double>(std::max<index_t>(shape[*it], 1));
        budget = std::max(budget, 1.0);
        it = pending.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  if (!pending.empty()) {
    const index_t ideal = integer_root(budget, pending.size());
    for (std::size_t a : pending) {
      // As few chunks as `ideal` allows, then the smallest regular size that still needs only
      // that many: 10000 at ideal 4096 gives (3334, 3334, 3332), not (4096, 4096, 1808).
      const index_t n = shape[a] / ideal + (shape[a] % ideal != 0);
      regular[a] = shape[a] / n + (shape[a] % n != 0);
    }
  }
  // Bound the number of chunks before building per-chunk lists: (2^62, 4) in chunks of 2^22
  // rows would otherwise ask for a list of 2^40 sizes.
  Shape grid(nd), chunk(nd);
  for (std::size_t a = 0; a < nd; ++a) {
    if (regular[a] > 0) {
      grid[a] = shape[a] == 0 ? 1 : shape[a] / regular[a] + (shape[a] % regular[a] != 0);
      chunk[a] = regular[a];
    } else {
      grid[a] = static_cast<index_t>(sizes[a].size());
      chunk[a] = *std::max_element(sizes[a].begin(), sizes[a].end());
    }
  }
  index_t total = 1;
  for (index_t g : grid) {
    const auto t = checked_mul(total, g);
    if (!t || *t > ChunkGrid::max_chunks) throw_too_many_chunks(grid, shape, chunk);
    total = *t;
  }
  for (std::size_t a = 0; a < nd; ++a) {
    if (regular[a] > 0) sizes[a] = regular_sizes(shape[a], regular[a]);
  }
  return ChunkGrid(std::move(sizes));
}

}  // namespace tessera
