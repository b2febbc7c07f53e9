#pragma once
// Walking the combinations of per-axis lists, row-major: how rechunk enumerates the pieces of an
// output chunk and map_overlap the halo segments of a grown block.

#include <cstddef>
#include <vector>

#include "tessera/core/shape.hpp"

namespace tessera::detail {

/// Calls f(items) with items[a] pointing at one element of lists[a], for every combination in
/// row-major order (the last list fastest). Nothing when there are no lists or one is empty.
template <class T, class F>
void for_each_combination(const std::vector<const std::vector<T>*>& lists, F&& f) {
  const std::size_t nd = lists.size();
  if (nd == 0) return;
  for (const auto* l : lists) {
    if (l->empty()) return;
  }
  std::vector<std::size_t> k(nd, 0);
  std::vector<const T*> items(nd);
  for (;;) {
    for (std::size_t a = 0; a < nd; ++a) items[a] = &(*lists[a])[k[a]];
    f(items);
    std::size_t a = nd;
    while (a > 0 && ++k[a - 1] == lists[a - 1]->size()) k[--a] = 0;
    if (a == 0) return;
  }
}

/// for_each_combination over the lists of chunk `coords` in a per-axis, per-chunk table:
/// per_axis[a][coords[a]] along each axis a.
template <class T, class F>
void for_each_combination(const std::vector<std::vector<std::vector<T>>>& per_axis,
                          const Shape& coords, F&& f) {
  std::vector<const std::vector<T>*> lists;
  for (std::size_t a = 0; a < per_axis.size(); ++a)
    lists.push_back(&per_axis[a][static_cast<std::size_t>(coords[a])]);
  for_each_combination(lists, f);
}

}  // namespace tessera::detail
