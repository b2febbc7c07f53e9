#include "tessera/array/creation.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "sources.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

namespace {

void check_shape(const Shape& shape, std::string_view what) {
  for (index_t e : shape) {
    if (e < 0)
      throw shape_error(
          fmt::format("{}: negative dimension in shape {}", what, shape_string(shape)));
  }
}

}  // namespace

Array zeros(const Shape& shape, const ChunkSpec& chunks, DType dtype) {
  return full(shape, std::int64_t{0}, chunks, dtype);
}
Array ones(const Shape& shape, const ChunkSpec& chunks, DType dtype) {
  return full(shape, std::int64_t{1}, chunks, dtype);
}
Array zeros(const Shape& shape, DType dtype, const ChunkSpec& chunks) {
  return full(shape, std::int64_t{0}, chunks, dtype);
}
Array ones(const Shape& shape, DType dtype, const ChunkSpec& chunks) {
  return full(shape, std::int64_t{1}, chunks, dtype);
}

Array full(const Shape& shape, double value, const ChunkSpec& chunks, DType dtype) {
  check_shape(shape, "full");
  return Array(std::make_shared<detail::FullSource>(shape, chunks.resolve(shape, dtype), dtype,
                                                    value,
                                                    detail::float_to_int<std::int64_t>(value)));
}

Array full(const Shape& shape, std::int64_t value, const ChunkSpec& chunks, DType dtype) {
  check_shape(shape, "full");
  return Array(std::make_shared<detail::FullSource>(shape, chunks.resolve(shape, dtype), dtype,
                                                    static_cast<double>(value), value));
}

namespace detail {

void throw_arange_argument(unsigned long long value) {
  throw value_error(fmt::format("arange: argument {} is outside the int64 range", value));
}

Array arange_int(std::int64_t start, std::int64_t stop, std::int64_t step,
                 const ArangeOptions& options) {
  if (step == 0) throw value_error("arange: step must not be zero");
  // ceil((stop - start) / step) exactly, in unsigned 64 bits: |stop - start| and |step| fit
  // there though stop - start may not fit int64 (arange(INT64_MIN, INT64_MAX)).
  std::uint64_t n = 0;
  if (step > 0 ? stop > start : stop < start) {
    const std::uint64_t span =
        step > 0 ? static_cast<std::uint64_t>(stop) - static_cast<std::uint64_t>(start)
                 : static_cast<std::uint64_t>(start) - static_cast<std::uint64_t>(stop);
    const std::uint64_t mag =
        step > 0 ? static_cast<std::uint64_t>(step) : static_cast<std::uint64_t>(-(step + 1)) + 1;
    n = span / mag + (span % mag != 0);
  }
  if (n > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
    throw shape_error(fmt::format(
        "array is too big; arange({}, {}, {}) has more than the maximum possible size (2^63 - 1 "
        "elements)",
        start, stop, step));
  }
  const auto len = static_cast<index_t>(n);
  const DType dtype = options.dtype.value_or(DType::Int64);
  return Array(std::make_shared<ArangeSource>(len, options.chunks.resolve({len}, dtype), dtype,
                                              start, step));
}

Array arange_float(double start, double stop, double step, const ArangeOptions& options) {
  if (step == 0) throw value_error("arange: step must not be zero");
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step)) {
    throw value_error(
        fmt::format("arange: start {}, stop {} and step {} must be finite", start, stop, step));
  }
  // NumPy's length, ceil((stop - start) / step), checked before it becomes an integer: past
  // 2^63 (arange(0, 1e19), arange(0, 1, 1e-300), or an overflowing stop - start) the cast
  // would be undefined behaviour, and gave an empty array. NumPy raises.
  const double len = std::ceil((stop - start) / step);
  if (!(len < 0x1p63)) {
    throw shape_error(fmt::format(
        "array is too big; arange({}, {}, {}) has {} elements, more than the maximum possible "
        "size (2^63 - 1)",
        start, stop, step, len));
  }
  // Clamped before the conversion: a negative length out of index_t's range is still empty.
  const index_t n = len > 0 ? static_cast<index_t>(len) : 0;
  const DType dtype = options.dtype.value_or(DType::Float64);
  return Array(
      std::make_shared<ArangeSource>(n, options.chunks.resolve({n}, dtype), dtype, start, step));
}

}  // namespace detail

Array linspace(double start, double stop, index_t num, const ChunkSpec& chunks, bool endpoint,
               DType dtype) {
  if (num < 0)
    throw value_error(fmt::format("linspace: number of samples, {}, must be non-negative", num));
  return Array(std::make_shared<detail::LinspaceSource>(num, chunks.resolve({num}, dtype), dtype,
                                                        start, stop, endpoint));
}

Array eye(index_t n, const ChunkSpec& chunks, index_t m, index_t k, DType dtype) {
  if (m < 0) m = n;
  check_shape({n, m}, "eye");
  return Array(std::make_shared<detail::EyeSource>(n, m, k, chunks.resolve({n, m}, dtype), dtype));
}

Array from_buffer(const void* data, DType dtype, const Shape& shape, const ChunkSpec& chunks) {
  check_shape(shape, "from_buffer");
  ChunkGrid grid = chunks.resolve(shape, dtype);
  const std::size_t es = dtype_size(dtype);
  const Shape origin(shape.size(), 0);
  std::vector<Block> blocks;
  blocks.reserve(static_cast<std::size_t>(grid.num_chunks()));
  Tokenizer content;
  for (index_t c = 0; c < grid.num_chunks(); ++c) {
    const Shape coords = grid.chunk_coords(c);
    const Shape cshape = grid.chunk_shape(coords), off = grid.chunk_offset(coords);
    Block b(dtype, cshape);
    copy_region(data, shape, {off}, b.data(), cshape, {origin}, cshape, es);
    // Hashed while the copy is in cache: the token says what the data is, so that ranks that
    // passed different data fail the compute with a graph_error instead of mixing chunks.
    content.add(content_hash(b.data(), b.nbytes()));
    blocks.push_back(std::move(b));
  }
  return Array(std::make_shared<DataExpr>(std::move(grid), dtype, std::move(blocks),
                                          content.finish(), "from_buffer"));
}

namespace detail {
void throw_buffer_size(std::size_t elements, const Shape& shape) {
  throw shape_error(
      fmt::format("from_buffer: {} elements given for shape {}", elements, shape_string(shape)));
}
void throw_arity(int arity, const Shape& shape) {
  throw shape_error(
      fmt::format("fromfunction: the callable takes {} indices but the shape {} has {} axes", arity,
                  shape_string(shape), shape.size()));
}

Array from_function(const Shape& shape, const ChunkSpec& chunks, DType dtype,
                    std::function<void(const index_t*, void*)> fn) {
  check_shape(shape, "fromfunction");
  return Array(
      std::make_shared<FunctionSource>(shape, chunks.resolve(shape, dtype), dtype, std::move(fn)));
}
}  // namespace detail

}  // namespace tessera
