#pragma once
/// @file
/// What ranks tell each other in from_local and to_local (through Scheduler::allgather), in
/// core's wire format (core/serialize.hpp: WireWriter/WireReader, bounds-checked).

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/dtype.hpp"
#include "tessera/core/shape.hpp"

namespace tessera::detail {

/// One rank's block in from_local: its dtype, global offset and shape; or, when `problem` is
/// not empty, what is wrong with its arguments (the offset is then zeros of the block's rank).
struct BlockDescription {
  DType dtype = DType::Float64;
  Shape offset, shape;
  std::string problem;
};

/// One rank's region in to_local: its global offset and shape; or, when `problem` is not
/// empty, what is wrong with its arguments (offset and shape are then empty).
struct RegionDescription {
  Shape offset, shape;
  std::string problem;
};

std::vector<std::byte> encode_description(const BlockDescription& d);
std::vector<std::byte> encode_description(const RegionDescription& d);

/// Decode what `rank` sent. Bytes that do not hold exactly one description (cut short, too
/// long, an unknown dtype, an element count past the bytes) are a value_error naming `rank` and
/// the call, never a read out of bounds.
BlockDescription decode_block_description(std::span<const std::byte> bytes, int rank);
RegionDescription decode_region_description(std::span<const std::byte> bytes, int rank);

}  // namespace tessera::detail
