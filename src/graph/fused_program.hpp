#pragma once
// A fused region of sources and elementwise nodes, compiled once and evaluated per chunk in
// cache-sized tiles. Internal to the graph layer.

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tessera/graph/expr.hpp"

namespace tessera::detail {

/// A leaf chunk given as the pieces that tile it (BlockwiseExpr::piece_grid: a rechunk's
/// output chunk). A program reads it where the pieces lie, and it is never assembled.
struct PieceGrid {
  std::vector<std::vector<index_t>> starts;  // per axis, where each piece starts in the chunk
  std::vector<Piece> pieces;                 // row-major over that grid
};

class FusedProgram {
 public:
  /// `root` and every node in `region` are fusable; `leaves` are the materialised inputs the
  /// region reads (their chunks arrive as Blocks, in this order). A non-fusable root is a
  /// program of one leaf (itself).
  FusedProgram(const Expr* root, const std::vector<const Expr*>& region,
               const std::vector<const Expr*>& leaves, index_t tile_elements);

  const Expr& root() const { return *m_root; }
  const std::vector<const Expr*>& leaves() const { return m_leaves; }
  /// Whether a node of the program reads a file (a source that reads regions).
  bool reads_files() const;
  /// The chunk of leaf `k` that holds output chunk `coords` of root().
  index_t leaf_chunk(std::size_t k, const Shape& coords) const;

  /// Whether leaf `k` may come as a PieceGrid: it has the root's chunk grid, so that its
  /// chunk is the root chunk's.
  bool can_gather(std::size_t k) const;

  // The leaves' chunks come as `leaf_blocks`, in leaves() order; where `grids` has an entry
  // for leaf k that is not null (can_gather(k) only), leaf k comes as those pieces instead and
  // leaf_blocks[k] is not read.

  /// Evaluates root chunk `coords` into a new Block.
  Block evaluate(const Shape& coords, std::span<const Block* const> leaf_blocks,
                 std::span<const PieceGrid* const> grids = {}) const;
  /// Evaluates the region of root chunk `coords` that starts at global index `start` and has
  /// shape `count` (it lies inside the chunk) into a new Block of that shape.
  Block evaluate_region(const Shape& coords, const Shape& start, const Shape& count,
                        std::span<const Block* const> leaf_blocks,
                        std::span<const PieceGrid* const> grids = {}) const;
  /// Evaluates root chunk `coords` once and folds it into a partial of each of `reductions`
  /// (whose input is root()): one Partial with their fields in turn.
  Partial reduce(std::span<const ReduceExpr* const> reductions, const Shape& coords,
                 std::span<const Block* const> leaf_blocks,
                 std::span<const PieceGrid* const> grids = {}) const;

 private:
  struct Node {
    enum class Kind { Leaf, Source, Op } kind;
    const Expr* expr;
    std::vector<int> args;  // program node indices
    int leaf = -1;          // for Kind::Leaf
    bool constant = false;  // one value broadcast everywhere (size-1 shape)
  };
  struct Run;
  /// A program that is one chain: a head node that varies, then operations that each read the
  /// previous one and constants only (ElementwiseExpr::chain_op), the last being the root. Its
  /// tiles go through the kernels' chain in registers, with no pass per operation.
  struct Chain {
    int head = -1;
    bool affine_head = false;  // a float arange: generated in registers too
    struct Link {
      int node;
      ChainOp op;
      int constant = -1;  // the node of the constant operand (binary operations)
      bool reversed = false;
    };
    std::vector<Link> links;
  };
  void find_chain();
  template <class Sink>
  void run_tiles(const Shape& coords, const Shape& origin, const Shape& shape,
                 std::span<const Block* const> leaf_blocks, std::span<const PieceGrid* const> grids,
                 Sink&& sink) const;

  const Expr* m_root;
  std::vector<const Expr*> m_leaves;
  std::vector<Node> m_nodes;            // topological order; the root is last
  std::vector<std::size_t> m_last_use;  // the last node that reads each node's tile
  std::optional<Chain> m_chain;
  index_t m_tile;
};

}  // namespace tessera::detail
