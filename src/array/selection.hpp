#pragma once
// What one index item selects along an axis of length n: basic indexing's arithmetic, shared by
// slicing (x[{...}]) and assignment (setitem).

#include <vector>

#include "tessera/array/array.hpp"

namespace tessera::detail {

/// Elements start, start + step, ... (len of them) of the axis.
struct AxisRange {
  index_t start = 0;
  index_t step = 1;
  index_t len = 0;
  bool drop = false;  // an integer index: the axis disappears
};

/// NumPy's resolution of an integer (index_error when out of bounds) or a slice (value_error
/// for a zero step) against an axis of length n.
AxisRange resolve_index(const IndexItem& item, index_t n, int axis);

/// An index with its ellipsis expanded: one integer or slice per axis of the array (whole
/// slices for the axes after the last item), and where the new axes (`newaxis`) go in the
/// result, which has them after the selection of `items`.
struct ExpandedIndex {
  std::vector<IndexItem> items;
  std::vector<int> new_axes;
};
/// index_error for more than one ellipsis or more indexed axes than `ndim`.
ExpandedIndex expand_index(const std::vector<IndexItem>& index, int ndim);

}  // namespace tessera::detail
