#pragma once
// Walking the combinations of per-axis lists, row-major: how rechunk enumerates the pieces of an
// output chunk and map_overlap the halo segments of a grown block.

#include <cstddef>
#include <vector>

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

}  // namespace tessera::detail
