#include "tessera/core/chunk_owners.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/error.hpp"

namespace tessera {

namespace {

/// A distribution is one int per chunk: as many chunks as a grid may have, no more.
std::size_t checked_count(index_t num_chunks, const char* what) {
  if (num_chunks < 0 || num_chunks > ChunkGrid::max_chunks) {
    throw value_error(fmt::format("ChunkOwners::{}: {} chunks (must lie in [0, {}])", what,
                                  num_chunks, ChunkGrid::max_chunks));
  }
  return static_cast<std::size_t>(num_chunks);
}

void check_num_ranks(int num_ranks, const char* what) {
  if (num_ranks < 1) {
    throw value_error(
        fmt::format("ChunkOwners::{}: {} ranks (must be at least 1)", what, num_ranks));
  }
}

std::string owner_string(int rank) {
  if (rank == ChunkOwners::every_rank) return "every rank";
  if (rank == ChunkOwners::no_rank) return "no rank";
  return fmt::format("rank {}", rank);
}

void check_entry(int rank, index_t c, const char* what) {
  if (rank < 0 && rank != ChunkOwners::every_rank && rank != ChunkOwners::no_rank) {
    throw value_error(fmt::format(
        "ChunkOwners::{}: owner {} of chunk {} is neither a rank (>= 0) nor every_rank ({}) nor "
        "no_rank ({})",
        what, rank, c, ChunkOwners::every_rank, ChunkOwners::no_rank));
  }
}

}  // namespace

ChunkOwners ChunkOwners::everywhere(index_t num_chunks) {
  return ChunkOwners(std::vector<int>(checked_count(num_chunks, "everywhere"), every_rank));
}

ChunkOwners ChunkOwners::unplaced(index_t num_chunks) {
  return ChunkOwners(std::vector<int>(checked_count(num_chunks, "unplaced"), no_rank));
}

ChunkOwners ChunkOwners::block(index_t num_chunks, int num_ranks) {
  const std::size_t n = checked_count(num_chunks, "block");
  check_num_ranks(num_ranks, "block");
  std::vector<int> ranks(n);
  // c * num_ranks < 2^26 * 2^31: no overflow.
  for (std::size_t c = 0; c < n; ++c) {
    ranks[c] = static_cast<int>(static_cast<index_t>(c) * num_ranks / num_chunks);
  }
  return ChunkOwners(std::move(ranks));
}

ChunkOwners ChunkOwners::block_cyclic(index_t num_chunks, int num_ranks, index_t block_size) {
  const std::size_t n = checked_count(num_chunks, "block_cyclic");
  check_num_ranks(num_ranks, "block_cyclic");
  if (block_size < 1) {
    throw value_error(fmt::format(
        "ChunkOwners::block_cyclic: block size {} (must be at least 1 chunk)", block_size));
  }
  std::vector<int> ranks(n);
  for (std::size_t c = 0; c < n; ++c) {
    ranks[c] = static_cast<int>(static_cast<index_t>(c) / block_size % num_ranks);
  }
  return ChunkOwners(std::move(ranks));
}

ChunkOwners ChunkOwners::from_ranks(std::vector<int> ranks) {
  checked_count(static_cast<index_t>(ranks.size()), "from_ranks");
  for (std::size_t c = 0; c < ranks.size(); ++c) {
    check_entry(ranks[c], static_cast<index_t>(c), "from_ranks");
  }
  return ChunkOwners(std::move(ranks));
}

int ChunkOwners::owner(index_t c) const {
  if (c < 0 || c >= num_chunks()) {
    throw index_error(
        fmt::format("chunk {} is out of bounds for a distribution of {} chunks", c, num_chunks()));
  }
  return m_ranks[static_cast<std::size_t>(c)];
}

std::vector<index_t> ChunkOwners::chunks_of(int rank) const {
  if (rank < 0) {
    throw value_error(fmt::format("ChunkOwners::chunks_of: rank {} (must be >= 0)", rank));
  }
  std::vector<index_t> out;
  for (std::size_t c = 0; c < m_ranks.size(); ++c) {
    if (m_ranks[c] == rank || m_ranks[c] == every_rank) out.push_back(static_cast<index_t>(c));
  }
  return out;
}

void ChunkOwners::set(index_t c, int rank) {
  owner(c);  // bounds
  check_entry(rank, c, "set");
  m_ranks[static_cast<std::size_t>(c)] = rank;
}

bool ChunkOwners::all_placed() const noexcept {
  return std::none_of(m_ranks.begin(), m_ranks.end(), [](int r) { return r == no_rank; });
}

void ChunkOwners::check_ranks(int num_ranks) const {
  for (std::size_t c = 0; c < m_ranks.size(); ++c) {
    if (m_ranks[c] >= num_ranks) {
      throw value_error(fmt::format("chunk {} is owned by {}, but there are {} rank(s)", c,
                                    owner_string(m_ranks[c]), num_ranks));
    }
  }
}

}  // namespace tessera
