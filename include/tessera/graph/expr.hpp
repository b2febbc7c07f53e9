#pragma once
/// @file
/// Expression nodes: the lazy, immutable DAG an Array stands for.
///
/// The graph layer knows the *kinds* of node (how a node's chunks depend on its inputs'
/// chunks, which nodes may fuse) but not what any operation means: the array layer
/// implements the virtual kernels (`fill`, `apply`, the reducer hooks, `compute`).
///
/// - SourceExpr: values that are a function of the global index (zeros, arange, random, ...).
/// - DataExpr: chunks that already exist (a user's buffer, a persisted result).
/// - ElementwiseExpr: an element-by-element function of broadcast inputs.
/// - ReduceExpr: a reduction over some axes, lowered to a tree of partials.
/// - BlockwiseExpr: any other chunk-to-chunk mapping (slicing, later rechunk, map_blocks).
///
/// Sources and elementwise nodes fuse: a chain of them becomes one task per chunk that
/// evaluates in cache-sized tiles, and fuses into the reduction that consumes it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/block.hpp"
#include "tessera/core/chunk_grid.hpp"
#include "tessera/core/chunk_owners.hpp"
#include "tessera/core/serialize.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

class Expr;
using ExprPtr = std::shared_ptr<const Expr>;

enum class ExprKind { Source, Data, Elementwise, Reduce, Blockwise };

class Expr {
 public:
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  ExprKind kind() const noexcept { return m_kind; }
  const Shape& shape() const noexcept { return m_shape; }
  int ndim() const noexcept { return static_cast<int>(m_shape.size()); }
  DType dtype() const noexcept { return m_dtype; }
  const ChunkGrid& chunks() const noexcept { return m_chunks; }
  const std::vector<ExprPtr>& inputs() const noexcept { return m_inputs; }
  Token token() const noexcept { return m_token; }
  /// "add-3fa2c1de": the operation's name and short token; labels the node's tasks.
  std::string label() const;
  /// The operation's name ("add", "random_normal", "sum", "getitem").
  virtual std::string_view op_name() const = 0;

  bool fusable() const noexcept {
    return m_kind == ExprKind::Source || m_kind == ExprKind::Elementwise;
  }

 protected:
  /// `params` is the token of the node's own parameters; the node's token combines it with
  /// the kind, name, shape, dtype, chunks and the input tokens.
  Expr(ExprKind kind, Shape shape, DType dtype, ChunkGrid chunks, std::vector<ExprPtr> inputs,
       Token params, std::string_view name);

 private:
  ExprKind m_kind;
  Shape m_shape;
  DType m_dtype;
  ChunkGrid m_chunks;
  std::vector<ExprPtr> m_inputs;
  Token m_token;
};

/// Values defined by their global index. Must be a pure function of the index: a chunk may
/// be evaluated in any order, in pieces, on any rank.
class SourceExpr : public Expr {
 public:
  /// Writes `n` elements (of dtype()) that lie along the last axis from global multi-index
  /// `start` (ndim() entries; nothing for 0-d) into `out`.
  virtual void fill(void* out, const index_t* start, index_t n) const = 0;
  /// A 1-d float64 source whose element i is start + double(i) * step (a float arange) says
  /// so, and fused chains generate it in registers instead of calling fill().
  struct Affine {
    double start, step;
  };
  virtual std::optional<Affine> affine() const { return std::nullopt; }
  /// Whether the source produces a whole region at once more cheaply than row by row (a file
  /// read): fused evaluation then calls fill_region() once per chunk, into a chunk-sized buffer,
  /// instead of fill() once per row of each tile.
  virtual bool reads_regions() const noexcept { return false; }
  /// Writes the region that starts at global multi-index `start` and has shape `count` (ndim()
  /// entries each) into `out`, row-major. The default calls fill() once per row.
  virtual void fill_region(void* out, const Shape& start, const Shape& count) const;

 protected:
  SourceExpr(Shape shape, DType dtype, ChunkGrid chunks, Token params, std::string_view name)
      : Expr(ExprKind::Source, std::move(shape), dtype, std::move(chunks), {}, params, name) {}
};

/// Chunks that exist already, one per chunk in row-major chunk order: on every rank
/// (a user's buffer that every rank holds), or each on its owner rank (a persisted result,
/// a simulation's own blocks).
class DataExpr final : public Expr {
 public:
  /// Every rank holds every block (a unique token: see token.hpp).
  DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks,
           std::string_view name = "array");
  /// Every rank holds every block, and `content` hashes them (content_hash of each block):
  /// the node's token, so that ranks whose blocks differ build different graphs.
  DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks, Token content,
           std::string_view name);
  /// Chunk c lives where `owners` says: on one rank, or on every rank (no chunk may be
  /// unplaced: its data exists, so it lives somewhere; else value_error). blocks[c] is read only
  /// on the ranks that hold it (elsewhere it may be anything, e.g. an empty Block).
  DataExpr(ChunkGrid chunks, DType dtype, std::vector<Block> blocks, ChunkOwners owners,
           int this_rank, std::string_view name, Token params = unique_token());
  const Block& block(index_t linear_chunk) const {
    return m_blocks[static_cast<std::size_t>(linear_chunk)];
  }
  /// Where each chunk lives (every chunk on every rank, for the constructors without owners).
  const ChunkOwners& owners() const noexcept { return m_owners; }
  /// Whether this rank holds chunk `c`.
  bool holds(index_t c) const { return m_owners.holds(c, m_rank); }
  std::string_view op_name() const override { return m_name; }

 private:
  std::vector<Block> m_blocks;
  ChunkOwners m_owners;
  int m_rank = 0;
  std::string m_name;
};

/// One operand of a tile: `n` contiguous elements, or one element repeated (`scalar`).
struct TileArg {
  const void* data;
  bool scalar;
};

/// The elementwise operations a fused chain can evaluate in registers (src/kernels): on floats,
/// one input that varies and constants (size-1 inputs). Pow only with the exponent 2 or 3.
enum class ChainOp : std::uint8_t { Add, Sub, Mul, Div, Pow, Neg, Abs, Sqrt };

/// An element-by-element function. Inputs broadcast to the output shape (NumPy rules) and
/// all have the dtypes the node was built with (casts are nodes of their own).
class ElementwiseExpr : public Expr {
 public:
  /// Computes `n` output elements from the inputs' tiles.
  virtual void apply(std::span<const TileArg> inputs, void* out, index_t n) const = 0;
  /// The operation as a step of a chain evaluated in registers, where it is one of those
  /// (exactly: same results as apply()); none by default.
  virtual std::optional<ChainOp> chain_op() const { return std::nullopt; }

 protected:
  /// The output chunk grid is the common refinement of the inputs' grids (after
  /// broadcasting), so every output chunk lies inside exactly one chunk of every input.
  ElementwiseExpr(Shape shape, DType dtype, std::vector<ExprPtr> inputs, Token params,
                  std::string_view name);
};

/// A reduction's running state for one region of its output: one or more blocks of the
/// output region's shape (keepdims form), e.g. (sum) or (count, mean, M2) or (value, index).
struct Partial {
  std::vector<Block> fields;
};

template <>
struct ValueBytes<Partial> {
  static std::size_t of(const Partial& p) noexcept {
    std::size_t n = sizeof(Partial);
    for (const Block& b : p.fields) n += ValueBytes<Block>::of(b);
    return n;
  }
};

template <>
struct Serializer<Partial> {
  static std::string name() { return "tessera.Partial"; }
  static void write(const Partial& p, WireWriter& w);
  static Partial read(WireReader& r);
};

/// A region of a chunk, read in place: `count()` elements per axis from `start()` of
/// `block()`. Pieces of stored chunks reach a BlockwiseExpr that reads_pieces_in_place()
/// without being cut on their own rank; sent to another rank, a piece travels as its region
/// alone (cut once, when it is first sent) and arrives as a piece of all of a new block.
class Piece {
 public:
  Piece(Block block, Shape start, Shape count);
  /// All of `block`.
  explicit Piece(Block block);

  const Block& block() const noexcept { return m_block; }
  const Shape& start() const noexcept { return m_start; }
  const Shape& count() const noexcept { return m_count; }
  /// The region as a Block of its own: the block itself when the piece is all of it, else a
  /// view of its buffer when the region is one contiguous range, else a copy made on the first
  /// call and kept with the piece (so that a send may point at it).
  const Block& region() const;

 private:
  struct Cut {
    std::once_flag once;
    Block region;
  };
  Block m_block;
  Shape m_start, m_count;
  std::shared_ptr<Cut> m_cut;
};

template <>
struct ValueBytes<Piece> {
  /// The region's bytes: what holding it costs beyond the chunk it lies in, at most.
  static std::size_t of(const Piece& p) noexcept {
    return sizeof(Piece) +
           static_cast<std::size_t>(shape_size(p.count())) * dtype_size(p.block().dtype());
  }
};

template <>
struct Serializer<Piece> {
  static std::string name() { return "tessera.Piece"; }
  static void write(const Piece& p, WireWriter& w);
  static Piece read(WireReader& r);
};

namespace detail {
/// Registers the graph layer's value types (Partial, Piece) for transfer; idempotent. lower()
/// calls it.
void register_graph_serializers();
}  // namespace detail

/// A reduction over `axes()` of its single input. Lowered to one partial per input chunk
/// (fused with the input's elementwise producers), combined in a tree with fan-in
/// `split_every()`, then finalised into the output chunk.
class ReduceExpr : public Expr {
 public:
  const std::vector<int>& axes() const noexcept { return m_axes; }
  bool keepdims() const noexcept { return m_keepdims; }
  int split_every() const noexcept { return m_split_every; }
  bool reduces(int axis) const noexcept;

  /// Identity state for an output region of `shape` (keepdims form).
  virtual Partial init(const Shape& shape) const = 0;
  /// Folds `n` input elements that lie along the input's last axis, starting at global
  /// input index `gidx`, into `p`. If the last axis is reduced they all fold into element
  /// `out_offset` of `p`; otherwise into elements out_offset .. out_offset+n-1.
  virtual void accumulate(Partial& p, const void* in, index_t n, index_t out_offset,
                          const index_t* gidx) const = 0;
  /// Folds `from` into `into` (same shape; `from` covers later input positions).
  virtual void combine(Partial& into, const Partial& from) const = 0;
  /// The output values (keepdims form) from the complete state.
  virtual Block finalize(const Partial& p) const = 0;
  /// Whether partials come from whole input chunks (chunk_partial) instead of runs folded one
  /// by one (init, accumulate): a user's reduction() sees each chunk as one Block.
  virtual bool folds_whole_chunks() const { return false; }
  /// The partial of one whole input chunk (reductions that fold whole chunks only).
  virtual Partial chunk_partial(const Block& chunk) const;

 protected:
  ReduceExpr(ExprPtr input, std::vector<int> axes, bool keepdims, int split_every, DType dtype,
             Token params, std::string_view name);

 private:
  std::vector<int> m_axes;
  bool m_keepdims;
  int m_split_every;
};

/// Any other chunk-to-chunk mapping (slicing, rechunk, shape operations).
///
/// An output chunk reads whole input chunks or pieces of them. A piece is its own task, run
/// where the input chunk is, so that only the piece travels to another rank; a piece of a
/// fused chain (random numbers, arithmetic on them) is evaluated for just its region, and the
/// chunk it lies in is never materialised.
class BlockwiseExpr : public Expr {
 public:
  struct Dep {
    int input;      // which of inputs()
    index_t chunk;  // linear chunk index in that input's grid
    /// The piece of that chunk needed, relative to the chunk's origin: empty for the whole
    /// chunk; else start and count along every axis of the input.
    Shape start = {};
    Shape count = {};
  };
  /// The input chunks, or pieces, output chunk `coords` needs, in the order compute()
  /// receives them (a piece arrives as a Block of its own `count` shape).
  virtual std::vector<Dep> deps(const Shape& coords) const = 0;
  /// The output chunk from its inputs. Nodes that reads_pieces_in_place() may leave it: the
  /// default sees each Block as a piece of all of it and calls compute_pieces().
  virtual Block compute(const Shape& coords, std::span<const Block* const> inputs) const;
  /// Whether compute_pieces() takes the inputs as Pieces read in place: then a piece of a
  /// stored chunk is not cut on its own rank first (one copy fewer), only when it is sent.
  virtual bool reads_pieces_in_place() const { return false; }
  /// compute() with every input as a Piece (a whole chunk is a piece of all of it), for nodes
  /// that read_pieces_in_place().
  virtual Block compute_pieces(const Shape& coords, std::span<const Piece> inputs) const;
  /// For a node whose output chunk is nothing but its pieces side by side (rechunk): along
  /// every axis, where the pieces of output chunk `coords` start within it, so that deps(),
  /// in row-major order of that grid, tile the chunk. A consumer fused over the chunk may then
  /// read the pieces where they lie, and the chunk is never assembled. nullopt for any other
  /// node.
  virtual std::optional<std::vector<std::vector<index_t>>> piece_grid(const Shape& coords) const {
    (void)coords;
    return std::nullopt;
  }

 protected:
  using Expr::Expr;
};

}  // namespace tessera
