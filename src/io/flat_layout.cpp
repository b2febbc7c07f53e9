#include "io/flat_layout.hpp"

#include <algorithm>

namespace tessera::detail {

namespace {

/// Calls `run(file_offset, region_offset_elements, elements)` for each contiguous run of the
/// region in the file, in row-major order.
template <class F>
void for_each_run(const FlatLayout& l, const Shape& start, const Shape& count, F&& run) {
  const int nd = static_cast<int>(l.shape.size());
  if (shape_size(count) == 0) return;
  if (nd == 0) {
    run(l.offset, index_t{0}, index_t{1});
    return;
  }
  // Axes j+1.. are whole in the region, so each index of axes ..j starts one run of
  // count[j] * (product of the whole axes) elements.
  int j = nd - 1;
  index_t inner = 1;
  while (j > 0 && count[static_cast<std::size_t>(j)] == l.shape[static_cast<std::size_t>(j)]) {
    inner *= l.shape[static_cast<std::size_t>(j)];
    --j;
  }
  const index_t run_len = count[static_cast<std::size_t>(j)] * inner;
  const Shape strides = row_major_strides(l.shape);
  Shape idx(start.begin(), start.begin() + j + 1);
  index_t done = 0;
  const index_t runs = shape_size(count) / run_len;
  for (index_t r = 0; r < runs; ++r) {
    index_t flat = 0;
    for (int a = 0; a <= j; ++a)
      flat += idx[static_cast<std::size_t>(a)] * strides[static_cast<std::size_t>(a)];
    for (int a = j + 1; a < nd; ++a)
      flat += start[static_cast<std::size_t>(a)] * strides[static_cast<std::size_t>(a)];
    run(l.offset + static_cast<std::uint64_t>(flat) * l.itemsize, done, run_len);
    done += run_len;
    for (int a = j - 1; a >= 0; --a) {  // next run: advance the axes before j with carry
      const auto ua = static_cast<std::size_t>(a);
      if (++idx[ua] < start[ua] + count[ua]) break;
      idx[ua] = start[ua];
    }
  }
}

}  // namespace

void swap_bytes(void* data, std::size_t itemsize, std::size_t n) {
  auto* p = static_cast<unsigned char*>(data);
  if (itemsize <= 1) return;
  for (std::size_t i = 0; i < n; ++i, p += itemsize) std::reverse(p, p + itemsize);
}

void read_region(const PosixFile& f, const FlatLayout& l, void* out, const Shape& start,
                 const Shape& count) {
  auto* o = static_cast<std::byte*>(out);
  for_each_run(l, start, count, [&](std::uint64_t at, index_t pos, index_t n) {
    f.read_at(o + static_cast<std::size_t>(pos) * l.itemsize,
              static_cast<std::size_t>(n) * l.itemsize, at);
  });
  if (l.swapped) swap_bytes(out, l.itemsize, static_cast<std::size_t>(shape_size(count)));
}

void write_region(const PosixFile& f, const FlatLayout& l, const void* data, const Shape& start,
                  const Shape& count) {
  const auto* d = static_cast<const std::byte*>(data);
  for_each_run(l, start, count, [&](std::uint64_t at, index_t pos, index_t n) {
    f.write_at(d + static_cast<std::size_t>(pos) * l.itemsize,
               static_cast<std::size_t>(n) * l.itemsize, at);
  });
}

}  // namespace tessera::detail
