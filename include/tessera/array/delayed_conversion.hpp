#pragma once
/// @file
/// Between arrays and delayed values: `to_delayed` (one Delayed<Block> per chunk) and
/// `from_delayed` (an Array whose chunks are Delayed<Block> values), as dask.array's
/// to_delayed/from_delayed. They belong to the array layer, as they belong to dask.array: arrays
/// may build on delayed values, the delayed layer knows nothing of arrays.
///
/// Limitation (both directions): the two layers lower to separate task graphs, so a chunk
/// crossing over is computed by a graph run *inside* one task, on a SynchronousScheduler:
/// - to_delayed: chunk c's task computes `x`'s slice over chunk c; what chunks share (a
///   reduction's inputs, an intermediate under several chunks) is recomputed per chunk, and an
///   array whose chunks are pinned to ranks (persisted under a distributed scheduler,
///   from_local) cannot be converted — its chunks are not there inside the task;
/// - from_delayed: chunk c's task runs blocks[c]'s delayed graph; delayed intermediates that
///   several blocks share are computed once per block.
/// Both stay lazy and run on any scheduler, distributed included (the chunk tasks are placed
/// and their Blocks cross ranks like any other).

#include <vector>

#include "tessera/array/array.hpp"
#include "tessera/core/block.hpp"
#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/dtype.hpp"
#include "tessera/delayed/delayed.hpp"

namespace tessera {

/// One pure task per chunk of `x`, in row-major chunk order, each yielding the chunk as a
/// Block of the chunk's shape (see the file comment for how it is computed).
std::vector<Delayed<Block>> to_delayed(const Array& x);

/// An Array over `chunks` whose chunk c (row-major) is blocks[c]. Each Block is checked when
/// its chunk is computed: a Block of another shape or dtype fails that chunk's task with a
/// shape_error or dtype_error message naming the chunk. Throws shape_error when the number
/// of blocks is not the number of chunks, value_error for an empty Delayed.
Array from_delayed(std::vector<Delayed<Block>> blocks, const ChunkGrid& chunks, DType dtype);

}  // namespace tessera
