#pragma once
// What map_blocks and map_overlap share: the block info of an output chunk, and running the
// user's kernel with its result checked where it runs.

#include <span>
#include <string_view>

#include "tessera/array/map_blocks.hpp"

namespace tessera::detail {

/// The BlockInfo of output chunk `coords` of `node`, without the inputs' locations.
BlockInfo output_block_info(const Expr& node, const Shape& coords);

/// `kernel(info, inputs)`, or a value_error naming `op` and `name` when the result is not a
/// block of output chunk info.output's shape and `node`'s dtype (`expected` says what that
/// chunk is, for the message).
Block run_user_kernel(const BlockKernel& kernel, const BlockInfo& info,
                      std::span<const Block> inputs, const Expr& node, std::string_view op,
                      std::string_view name, std::string_view expected = "");

}  // namespace tessera::detail
