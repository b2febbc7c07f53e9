#include "tessera/array/random.hpp"

#include <limits>

#include <fmt/format.h>

#include "sources.hpp"

namespace tessera {

Array RandomGenerator::uniform(double low, double high, const Shape& shape, const ChunkSpec& chunks,
                               DType dtype) {
  if (!is_float(dtype))
    throw dtype_error(
        fmt::format("uniform: dtype must be float32 or float64, not {}", dtype_name(dtype)));
  if (!(low < high))
    throw value_error(fmt::format("uniform: low ({}) must be less than high ({})", low, high));
  return Array(std::make_shared<detail::RandomSource>(
      detail::RandomKind::Uniform, m_seed, m_next_stream++, shape, chunks.resolve(shape, dtype),
      dtype, low, high));
}

Array RandomGenerator::normal(double mean, double stddev, const Shape& shape,
                              const ChunkSpec& chunks, DType dtype) {
  if (!is_float(dtype))
    throw dtype_error(
        fmt::format("normal: dtype must be float32 or float64, not {}", dtype_name(dtype)));
  if (!(stddev >= 0))
    throw value_error(fmt::format("normal: scale ({}) must be non-negative", stddev));
  return Array(std::make_shared<detail::RandomSource>(
      detail::RandomKind::Normal, m_seed, m_next_stream++, shape, chunks.resolve(shape, dtype),
      dtype, mean, stddev));
}

Array RandomGenerator::integers(std::int64_t low, std::int64_t high, const Shape& shape,
                                const ChunkSpec& chunks, DType dtype) {
  if (!is_integer(dtype))
    throw dtype_error(
        fmt::format("integers: dtype must be an integer dtype, not {}", dtype_name(dtype)));
  if (low >= high)
    throw value_error(fmt::format("integers: low ({}) must be less than high ({})", low, high));
  const bool fits = visit_dtype(dtype, [&]<class T>() {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Compared in int64 where T's range reaches past it (uint64: only the upper bound).
      const bool low_ok = std::is_unsigned_v<T>
                              ? low >= 0
                              : low >= static_cast<std::int64_t>(std::numeric_limits<T>::min());
      const bool high_ok =
          sizeof(T) == 8 || high - 1 <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
      return low_ok && high_ok;
    } else {
      return false;
    }
  });
  if (!fits) {
    throw value_error(
        fmt::format("integers: [{}, {}) does not fit {}", low, high, dtype_name(dtype)));
  }
  return Array(std::make_shared<detail::RandomSource>(
      detail::RandomKind::Integers, m_seed, m_next_stream++, shape, chunks.resolve(shape, dtype),
      dtype, 0.0, 0.0, low, high));
}

}  // namespace tessera
