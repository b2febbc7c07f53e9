#include "tessera/core/shape.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tessera/core/error.hpp"

namespace tessera {

std::string shape_string(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

std::optional<index_t> checked_mul(index_t a, index_t b) noexcept {
  index_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<index_t> checked_add(index_t a, index_t b) noexcept {
  index_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<index_t> checked_shape_size(const Shape& shape) noexcept {
  // NumPy: any zero extent makes the array empty, however large the others are.
  if (std::find(shape.begin(), shape.end(), index_t{0}) != shape.end()) return 0;
  index_t n = 1;
  for (index_t e : shape) {
    const auto m = checked_mul(n, e);
    if (!m) return std::nullopt;
    n = *m;
  }
  return n;
}

namespace {
[[noreturn]] void throw_too_big(const Shape& shape, std::string_view what) {
  throw shape_error(fmt::format(
      "array is too big; shape {}{} is larger than the maximum possible size (2^63 - 1 {})",
      shape_string(shape), what, what.empty() ? "elements" : "bytes"));
}
}  // namespace

index_t shape_size(const Shape& shape) {
  const auto n = checked_shape_size(shape);
  if (!n) throw_too_big(shape, {});
  return *n;
}

index_t shape_nbytes(const Shape& shape, std::size_t itemsize, std::string_view dtype_name) {
  const auto n = checked_shape_size(shape);
  const auto bytes = n ? checked_mul(*n, static_cast<index_t>(itemsize)) : std::nullopt;
  if (!bytes) throw_too_big(shape, fmt::format(" of {} ({} bytes each)", dtype_name, itemsize));
  return *bytes;
}

Shape row_major_strides(const Shape& shape) {
  Shape strides(shape.size());
  // Unsigned: an empty shape may have extents whose product overflows; its strides are never
  // used to address anything. For a non-empty shape shape_size has bounded the product.
  std::uint64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = static_cast<index_t>(s);
    s *= static_cast<std::uint64_t>(shape[i]);
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
  for (int a : axes) out.push_back(normalize_axis(a, ndim));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    throw index_error(fmt::format("repeated axis in ({})", fmt::join(axes, ", ")));
  }
  return out;
}

}  // namespace tessera
