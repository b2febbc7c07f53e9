#include "tessera/core/shape.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

std::string shape_string(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

index_t shape_size(const Shape& shape) noexcept {
  index_t n = 1;
  for (index_t e : shape) n *= e;
  return n;
}

Shape row_major_strides(const Shape& shape) {
  Shape strides(shape.size());
  index_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const index_t ea = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const index_t eb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (ea != eb && ea != 1 && eb != 1) {
      throw shape_error(fmt::format("operands could not be broadcast together with shapes {} {}",
                                    shape_string(a), shape_string(b)));
    }
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

int normalize_axis(int axis, int ndim) {
  if (axis < -ndim || axis >= ndim) {
    throw index_error(
        fmt::format("axis {} is out of bounds for array of dimension {}", axis, ndim));
  }
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int a : axes) out.push_back(normalize_axis(a, ndim));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    throw index_error(fmt::format("repeated axis in ({})", fmt::join(axes, ", ")));
  }
  return out;
}

}  // namespace tessera
