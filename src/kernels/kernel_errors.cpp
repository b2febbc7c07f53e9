// The errors the kernels raise (kernels/kernel_set.hpp says why they live here).

#include <string>

#include <fmt/format.h>

#include "kernels/kernel_set.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

void throw_negative_integer_power() {
  throw value_error("Integers to negative integer powers are not allowed.");
}

void throw_unsupported(BinaryOp op, DType t) {
  if (t == DType::Bool)
    throw dtype_error(fmt::format("{} is not supported for bool", binary_name(op)));
  throw dtype_error(
      fmt::format("internal: unhandled binary op {} on {}", binary_name(op), dtype_name(t)));
}

void throw_unsupported(UnaryOp op, DType t) {
  throw dtype_error(fmt::format("internal: {} on {}", unary_name(op), dtype_name(t)));
}

void throw_random_range(std::int64_t first, std::int64_t n) {
  throw value_error("random kernels: element range [" + std::to_string(first) + ", " +
                    std::to_string(first) + " + " + std::to_string(n) +
                    ") must be non-negative and below 2^63");
}

void throw_random_uniform(double low, double high) {
  throw value_error("random uniform: need finite low <= high with a finite high - low, got [" +
                    std::to_string(low) + ", " + std::to_string(high) + ")");
}

void throw_random_normal(double mean, double stddev) {
  throw value_error("random normal: need finite mean and finite stddev >= 0, got mean " +
                    std::to_string(mean) + ", stddev " + std::to_string(stddev));
}

void throw_random_integers(std::int64_t low, std::int64_t high) {
  throw value_error("random integers: need low < high, got [" + std::to_string(low) + ", " +
                    std::to_string(high) + ")");
}

}  // namespace tessera::detail
