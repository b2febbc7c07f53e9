#include "tessera/core/copy_region.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

/// "offset (1, 2), step (1, -1), count (3, 4)": a region for messages.
std::string describe(const RegionPosition& p, const Shape& step, const Shape& count) {
  return fmt::format("offset {}, step {}, count {}", shape_string(p.offset), shape_string(step),
                     shape_string(count));
}

/// Checks that the region `p` (steps `step`) of `count` elements fits an array of `shape`;
/// `side` is "source" or "destination".
void check_fits(const char* side, const Shape& shape, const RegionPosition& p, const Shape& step,
                const Shape& count) {
  for (std::size_t a = 0; a < count.size(); ++a) {
    if (step[a] == 0) {
      throw value_error(fmt::format("copy_region: the {} step is 0 along axis {} ({})", side, a,
                                    describe(p, step, count)));
    }
    const index_t first = p.offset[a];
    bool fits;
    if (count[a] == 0) {
      fits = first >= 0 && first <= shape[a];
    } else {
      // offset + (count - 1) * step, which may overflow for a bad region.
      const auto span = checked_mul(count[a] - 1, step[a]);
      const auto last = span ? checked_add(first, *span) : std::nullopt;
      fits = last && first >= 0 && first < shape[a] && *last >= 0 && *last < shape[a];
    }
    if (!fits) {
      throw shape_error(
          fmt::format("copy_region: the {} region ({}) does not fit the {} shape {} "
                      "along axis {}",
                      side, describe(p, step, count), side, shape_string(shape), a));
    }
  }
}

/// One axis of the copy after the checks: element count and element strides in both arrays.
struct Axis {
  index_t count, src, dst;
};

/// Copies n elements of N bytes with element strides (in elements) sstep and dstep.
template <std::size_t N>
void copy_strided(std::byte* d, const std::byte* s, index_t n, index_t dstep, index_t sstep) {
  const auto ds = dstep * static_cast<index_t>(N), ss = sstep * static_cast<index_t>(N);
  for (index_t k = 0; k < n; ++k) std::memcpy(d + k * ds, s + k * ss, N);
}

void copy_strided_bytes(std::byte* d, const std::byte* s, index_t n, index_t dstep, index_t sstep,
                        std::size_t itemsize) {
  const auto ds = dstep * static_cast<index_t>(itemsize);
  const auto ss = sstep * static_cast<index_t>(itemsize);
  for (index_t k = 0; k < n; ++k) std::memcpy(d + k * ds, s + k * ss, itemsize);
}

}  // namespace

void copy_region(const void* src, const Shape& src_shape, const RegionPosition& from, void* dst,
                 const Shape& dst_shape, const RegionPosition& to, const Shape& count,
                 std::size_t itemsize) {
  const std::size_t nd = count.size();
  const Shape src_step = from.step.empty() ? Shape(nd, 1) : from.step;
  const Shape dst_step = to.step.empty() ? Shape(nd, 1) : to.step;
  if (src_shape.size() != nd || dst_shape.size() != nd || from.offset.size() != nd ||
      to.offset.size() != nd || src_step.size() != nd || dst_step.size() != nd) {
    throw shape_error(fmt::format(
        "copy_region: the number of axes differ: count {}; source shape {}, offset {}, step {}; "
        "destination shape {}, offset {}, step {}",
        shape_string(count), shape_string(src_shape), shape_string(from.offset),
        shape_string(from.step), shape_string(dst_shape), shape_string(to.offset),
        shape_string(to.step)));
  }
  if (itemsize == 0) throw value_error("copy_region: the element size is 0 bytes");
  for (std::size_t a = 0; a < nd; ++a) {
    if (count[a] < 0) {
      throw shape_error(
          fmt::format("copy_region: negative count {} along axis {}", shape_string(count), a));
    }
  }
  check_fits("source", src_shape, from, src_step, count);
  check_fits("destination", dst_shape, to, dst_step, count);
  // Both arrays must be addressable: their byte sizes fit index_t, and so every byte offset of
  // an element inside them does.
  shape_nbytes(src_shape, itemsize, "copy_region source elements");
  shape_nbytes(dst_shape, itemsize, "copy_region destination elements");
  for (index_t c : count) {
    if (c == 0) return;
  }

  // Offsets of the first element, and the axes that move: size-1 axes only add to the offsets
  // (their steps may be anything, even past the extent).
  const Shape sstr = row_major_strides(src_shape), dstr = row_major_strides(dst_shape);
  index_t s0 = 0, d0 = 0;
  std::vector<Axis> axes;  // outermost first
  for (std::size_t a = 0; a < nd; ++a) {
    s0 += from.offset[a] * sstr[a];
    d0 += to.offset[a] * dstr[a];
    if (count[a] > 1) axes.push_back({count[a], src_step[a] * sstr[a], dst_step[a] * dstr[a]});
  }
  // Merge an axis into the one inside it when it continues that axis's stride in both arrays:
  // a copy of whole rows is one axis, and a copy of whole arrays one memcpy.
  std::vector<Axis> merged;  // innermost first
  for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
    if (!merged.empty()) {
      Axis& inner = merged.back();
      if (it->src == inner.src * inner.count && it->dst == inner.dst * inner.count) {
        inner.count *= it->count;
        continue;
      }
    }
    merged.push_back(*it);
  }

  const auto* sp = static_cast<const std::byte*>(src);
  auto* dp = static_cast<std::byte*>(dst);
  const auto is = static_cast<index_t>(itemsize);
  if (merged.empty()) {  // one element
    std::memcpy(dp + d0 * is, sp + s0 * is, itemsize);
    return;
  }
  const Axis run = merged[0];
  auto copy_run = [&](index_t s, index_t d) {
    std::byte* o = dp + d * is;
    const std::byte* i = sp + s * is;
    if (run.src == 1 && run.dst == 1) {
      std::memcpy(o, i, static_cast<std::size_t>(run.count) * itemsize);
      return;
    }
    switch (itemsize) {
      case 1:
        return copy_strided<1>(o, i, run.count, run.dst, run.src);
      case 2:
        return copy_strided<2>(o, i, run.count, run.dst, run.src);
      case 4:
        return copy_strided<4>(o, i, run.count, run.dst, run.src);
      case 8:
        return copy_strided<8>(o, i, run.count, run.dst, run.src);
      case 16:
        return copy_strided<16>(o, i, run.count, run.dst, run.src);
      default:
        return copy_strided_bytes(o, i, run.count, run.dst, run.src, itemsize);
    }
  };
  // An odometer over the outer axes, with element offsets (never pointers past the arrays).
  std::vector<index_t> idx(merged.size(), 0);
  index_t s = s0, d = d0;
  for (;;) {
    copy_run(s, d);
    std::size_t k = 1;
    for (; k < merged.size(); ++k) {
      const Axis& ax = merged[k];
      s += ax.src;
      d += ax.dst;
      if (++idx[k] < ax.count) break;
      s -= ax.src * ax.count;
      d -= ax.dst * ax.count;
      idx[k] = 0;
    }
    if (k == merged.size()) return;
  }
}

void copy_region(const Block& src, const RegionPosition& from, Block& dst, const RegionPosition& to,
                 const Shape& count) {
  if (src.dtype() != dst.dtype()) {
    throw dtype_error(fmt::format(
        "copy_region: the source block has dtype {} (shape {}), the destination {} (shape {})",
        dtype_name(src.dtype()), shape_string(src.shape()), dtype_name(dst.dtype()),
        shape_string(dst.shape())));
  }
  copy_region(src.data(), src.shape(), from, dst.data(), dst.shape(), to, count,
              dtype_size(src.dtype()));
}

}  // namespace tessera
