#pragma once
/// @file
/// Counter-based random arrays (Philox4x32-10 from Random123).
///
/// Element i of an array is a pure function of (seed, stream, i), i being the row-major
/// global index: the same seed gives the same array for every chunking, every scheduler and
/// every rank count.

#include "tessera/array/array.hpp"

namespace tessera {

/// Like NumPy's Generator: each draw from the same generator gets a new stream, so two
/// draws differ, and a program that draws in the same order gets the same arrays.
class RandomGenerator {
 public:
  explicit RandomGenerator(std::uint64_t seed) : m_seed(seed) {}

  /// Uniform in [low, high); float32 or float64.
  Array uniform(double low, double high, const Shape& shape,
                const ChunkSpec& chunks = ChunkSpec::automatic(), DType dtype = DType::Float64);
  /// Normal with the given mean and standard deviation; float32 or float64.
  Array normal(double mean, double stddev, const Shape& shape,
               const ChunkSpec& chunks = ChunkSpec::automatic(), DType dtype = DType::Float64);
  /// Integers uniform in [low, high), of any integer dtype the bounds fit (value_error if not).
  Array integers(std::int64_t low, std::int64_t high, const Shape& shape,
                 const ChunkSpec& chunks = ChunkSpec::automatic(), DType dtype = DType::Int64);

  std::uint64_t seed() const noexcept { return m_seed; }

 private:
  std::uint64_t m_seed;
  std::uint64_t m_next_stream = 0;
};

/// NumPy's default_rng(seed).
inline RandomGenerator default_rng(std::uint64_t seed) { return RandomGenerator(seed); }

}  // namespace tessera
