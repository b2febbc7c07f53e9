#pragma once
/// @file
/// `ChunkOwners`: which rank holds each chunk of an array (a distribution of chunks over
/// ranks), with the two cases that are no single rank named: a chunk on every rank, and a chunk
/// not placed yet (the scheduler's choice).

#include <vector>

#include "tessera/core/shape.hpp"

namespace tessera {

/// The owner of every chunk, by row-major (linear) chunk index: a rank (>= 0), every rank, or
/// no rank yet. A value type: copies are independent, equal distributions compare equal.
///
/// DataExpr holds one. Layers that keep one `int` per chunk (RunResult::owners) use the
/// encoding of ranks(): a rank, `every_rank` or `no_rank` — never bare numbers.
class ChunkOwners {
 public:
  /// owner(c) of a chunk that every rank holds (a buffer every rank passed, a compute()
  /// result, a one-process run). The value RunResult::owners and DataExpr use for it.
  static constexpr int every_rank = -1;
  /// owner(c) of a chunk not placed on any rank yet: wherever the scheduler chooses.
  static constexpr int no_rank = -2;

  /// No chunks.
  ChunkOwners() = default;

  /// Every chunk on every rank.
  static ChunkOwners everywhere(index_t num_chunks);
  /// No chunk placed yet (to be filled with set(), or left to the scheduler).
  static ChunkOwners unplaced(index_t num_chunks);
  /// Contiguous runs of chunks, in row-major chunk order, one run per rank: chunk c on rank
  /// floor(c * num_ranks / num_chunks), the scheduler's default distribution of sources. Runs
  /// differ in length by at most one chunk; with fewer chunks than ranks some ranks hold none.
  static ChunkOwners block(index_t num_chunks, int num_ranks);
  /// Runs of `block_size` chunks dealt to the ranks in turn (ScaLAPACK's block-cyclic
  /// distribution, in row-major chunk order): chunk c on rank (c / block_size) % num_ranks.
  /// block_size 1 is the cyclic distribution.
  static ChunkOwners block_cyclic(index_t num_chunks, int num_ranks, index_t block_size);
  /// An explicit owner per chunk: each entry a rank (>= 0), every_rank or no_rank.
  static ChunkOwners from_ranks(std::vector<int> ranks);

  index_t num_chunks() const noexcept { return static_cast<index_t>(m_ranks.size()); }
  /// Chunk c's rank, or every_rank, or no_rank. Throws index_error for a chunk outside
  /// [0, num_chunks()).
  int owner(index_t c) const;
  bool is_everywhere(index_t c) const { return owner(c) == every_rank; }
  bool is_unplaced(index_t c) const { return owner(c) == no_rank; }
  /// Whether `rank` holds chunk c: it is its owner, or the chunk is on every rank.
  bool holds(index_t c, int rank) const {
    const int o = owner(c);
    return o == rank || o == every_rank;
  }
  /// The chunks `rank` (>= 0, else value_error) holds: its own and those on every rank, in
  /// increasing order.
  std::vector<index_t> chunks_of(int rank) const;

  /// Places chunk c on `rank` (>= 0, every_rank or no_rank).
  void set(index_t c, int rank);

  /// Whether every chunk has an owner (a rank or every rank): none is left to the scheduler.
  bool all_placed() const noexcept;
  /// Throws value_error naming the chunk when a chunk's owner is a rank >= num_ranks.
  void check_ranks(int num_ranks) const;

  /// One entry per chunk in the encoding above, for layers that take a std::vector<int>.
  const std::vector<int>& ranks() const noexcept { return m_ranks; }

  friend bool operator==(const ChunkOwners&, const ChunkOwners&) = default;

 private:
  explicit ChunkOwners(std::vector<int> ranks) : m_ranks(std::move(ranks)) {}

  std::vector<int> m_ranks;
};

}  // namespace tessera
