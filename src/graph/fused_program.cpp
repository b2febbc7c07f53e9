#include "fused_program.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "kernels/kernel_set.hpp"

namespace tessera::detail {

namespace {

/// Copies element 0 of `out` into elements 1..n-1.
void replicate(std::byte* out, std::size_t esize, index_t n) {
  for (index_t i = 1; i < n; ++i)
    std::memcpy(out + static_cast<std::size_t>(i) * esize, out, esize);
}

/// Root axis `a` of a root with `root_nd` axes, seen from a node with `nd` axes: the node's
/// axis, or -1 when the node has no such axis (it broadcasts along it).
int node_axis(int a, int root_nd, int nd) { return a - (root_nd - nd); }

/// A leaf read, a run at a time, from the pieces that tile its chunk.
class GatheredLeaf {
 public:
  /// `offset`: where the evaluated region starts within the leaf's chunk.
  GatheredLeaf(const PieceGrid& grid, Shape offset)
      : m_grid(&grid), m_offset(std::move(offset)), m_at(m_offset.size()), m_k(m_offset.size()) {
    m_strides.reserve(grid.pieces.size());
    for (const Piece& p : grid.pieces) m_strides.push_back(row_major_strides(p.block().shape()));
  }

  /// Copies the `len` elements along the last axis from region index `at` into `out`: from
  /// each piece the run crosses, in turn.
  void copy_run(const index_t* at, index_t len, std::size_t es, std::byte* out) {
    const auto& starts = m_grid->starts;
    const std::size_t nd = m_offset.size(), last = nd - 1;
    std::size_t lin = 0;  // the piece holding `at`, row-major over the grid
    for (std::size_t a = 0; a < nd; ++a) {
      m_at[a] = at[a] + m_offset[a];
      const auto& s = starts[a];
      m_k[a] =
          static_cast<std::size_t>(std::upper_bound(s.begin(), s.end(), m_at[a]) - s.begin()) - 1;
      lin = lin * s.size() + m_k[a];
    }
    for (;;) {
      const Piece& p = m_grid->pieces[lin];
      const Shape& stride = m_strides[lin];
      index_t e = 0;
      for (std::size_t a = 0; a < nd; ++a)
        e += (p.start()[a] + m_at[a] - starts[a][m_k[a]]) * stride[a];
      const index_t n = std::min(len, starts[last][m_k[last]] + p.count()[last] - m_at[last]);
      std::memcpy(
          out, static_cast<const std::byte*>(p.block().data()) + static_cast<std::size_t>(e) * es,
          static_cast<std::size_t>(n) * es);
      len -= n;
      if (len == 0) return;
      out += static_cast<std::size_t>(n) * es;
      m_at[last] += n;
      ++m_k[last];
      ++lin;  // the next piece along the last axis
    }
  }

 private:
  const PieceGrid* m_grid;
  Shape m_offset;
  std::vector<Shape> m_strides;  // of each piece's block
  Shape m_at;                    // scratch: the run's index in the chunk
  std::vector<std::size_t> m_k;  // scratch: its piece along each axis
};

}  // namespace

FusedProgram::FusedProgram(const Expr* root, const std::vector<const Expr*>& region,
                           const std::vector<const Expr*>& leaves, index_t tile_elements)
    : m_root(root), m_leaves(leaves), m_tile(std::max<index_t>(tile_elements, 1)) {
  std::unordered_map<Token, int> index;
  auto in_region = [&](const Expr* e) {
    return std::find(region.begin(), region.end(), e) != region.end();
  };
  // Iterative DFS post-order from the root over region nodes; leaves terminate.
  struct Frame {
    const Expr* e;
    std::size_t next;
  };
  std::vector<Frame> stack{{root, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const Expr* e = f.e;
    if (index.count(e->token())) {
      stack.pop_back();
      continue;
    }
    const auto leaf_it = std::find_if(m_leaves.begin(), m_leaves.end(),
                                      [&](const Expr* l) { return l->token() == e->token(); });
    const bool is_leaf = leaf_it != m_leaves.end() && !(e == root && in_region(e));
    if (!is_leaf && f.next < e->inputs().size()) {
      stack.push_back({e->inputs()[f.next++].get(), 0});
      continue;
    }
    Node n;
    n.expr = e;
    n.constant = shape_size(e->shape()) == 1;
    if (is_leaf) {
      n.kind = Node::Kind::Leaf;
      n.leaf = static_cast<int>(leaf_it - m_leaves.begin());
    } else if (e->kind() == ExprKind::Source) {
      n.kind = Node::Kind::Source;
    } else if (e->kind() == ExprKind::Elementwise) {
      n.kind = Node::Kind::Op;
      for (const auto& in : e->inputs()) n.args.push_back(index.at(in->token()));
    } else {
      throw graph_error(fmt::format("node {} cannot be fused", e->label()));
    }
    index[e->token()] = static_cast<int>(m_nodes.size());
    m_nodes.push_back(std::move(n));
    stack.pop_back();
  }
  m_last_use.assign(m_nodes.size(), m_nodes.size());  // the root is read by the sink
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    for (int a : m_nodes[i].args) m_last_use[static_cast<std::size_t>(a)] = i;
  }
  find_chain();
}

void FusedProgram::find_chain() {
  const DType t = m_root->dtype();
  if (t != DType::Float64 && t != DType::Float32) return;
  Chain chain;
  int previous = -1;
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    const Node& n = m_nodes[i];
    if (n.constant) continue;
    if (n.expr->dtype() != t) return;
    if (previous < 0) {  // the head: anything that varies
      chain.head = previous = static_cast<int>(i);
      if (n.kind == Node::Kind::Source && m_root->ndim() == 1 && n.expr->ndim() == 1 &&
          n.expr->shape() == m_root->shape())
        chain.affine_head = static_cast<const SourceExpr*>(n.expr)->affine().has_value();
      continue;
    }
    if (n.kind != Node::Kind::Op) return;
    const auto op = static_cast<const ElementwiseExpr*>(n.expr)->chain_op();
    if (!op) return;
    Chain::Link link{static_cast<int>(i), *op};
    if (n.args.size() == 1) {
      if (n.args[0] != previous) return;
    } else if (n.args.size() == 2) {
      const int varying = n.args[0] == previous ? 0 : n.args[1] == previous ? 1 : -1;
      if (varying < 0) return;
      link.constant = n.args[static_cast<std::size_t>(1 - varying)];
      link.reversed = varying == 1;
      if (!m_nodes[static_cast<std::size_t>(link.constant)].constant) return;
      if (link.op == ChainOp::Pow && link.reversed) return;  // a constant base: libm's pow
    } else {
      return;
    }
    chain.links.push_back(link);
    previous = link.node;
  }
  if (chain.links.empty() || previous != static_cast<int>(m_nodes.size()) - 1) return;
  m_chain = std::move(chain);
}

bool FusedProgram::can_gather(std::size_t k) const {
  const Expr& leaf = *m_leaves[k];
  // The same chunk grid is the same shape (and the leaf is not a constant of the program).
  return leaf.ndim() >= 1 && leaf.chunks() == m_root->chunks() && shape_size(m_root->shape()) > 1;
}

bool FusedProgram::reads_files() const {
  return std::any_of(m_nodes.begin(), m_nodes.end(), [](const Node& n) {
    return n.kind == Node::Kind::Source && static_cast<const SourceExpr*>(n.expr)->reads_regions();
  });
}

index_t FusedProgram::leaf_chunk(std::size_t k, const Shape& coords) const {
  const Expr& leaf = *m_leaves[k];
  const int nd = m_root->ndim(), ld = leaf.ndim();
  const Shape off = m_root->chunks().chunk_offset(coords);
  Shape lc(static_cast<std::size_t>(ld), 0);
  for (int la = 0; la < ld; ++la) {
    const int a = la + (nd - ld);
    if (leaf.shape()[static_cast<std::size_t>(la)] == 1) continue;  // broadcast: chunk 0
    lc[static_cast<std::size_t>(la)] = leaf.chunks().chunk_of(la, off[static_cast<std::size_t>(a)]);
  }
  return leaf.chunks().chunk_linear(lc);
}

struct FusedProgram::Run {
  index_t pos;  // offset in the tile
  index_t len;
};

template <class Sink>
void FusedProgram::run_tiles(const Shape& coords, const Shape& origin, const Shape& shape,
                             std::span<const Block* const> leaf_blocks,
                             std::span<const PieceGrid* const> grids, Sink&& sink) const {
  const int nd = m_root->ndim();
  const index_t total = shape_size(shape);
  if (total == 0) return;
  const index_t last = nd ? shape[static_cast<std::size_t>(nd - 1)] : 1;
  // Whole rows per tile when rows are shorter than a tile, so that no run is a fragment.
  const index_t tile = std::min(last < m_tile ? m_tile / last * last : m_tile, total);

  // Per-node bindings.
  const std::size_t nn = m_nodes.size();
  std::vector<const std::byte*> ptr(nn, nullptr);
  std::vector<std::byte*> buf(nn, nullptr);
  std::vector<std::vector<index_t>> leaf_stride(nn);  // per root axis, in elements
  std::vector<const std::byte*> leaf_base(nn, nullptr);
  std::vector<char> zero_copy(nn, 0);
  std::vector<std::uint64_t> constants(nn);  // one element of any dtype

  // Tile buffers are assigned by liveness: a node takes a free slot, then the slots of the
  // arguments it was the last reader of are freed. A chain of operations thus alternates
  // between two slots and stays in L1; a node never writes into its own input.
  // Slots are staggered by a few cache lines so that reading one and writing another at the
  // same offset does not alias in the L1 (4 KiB aliasing, set conflicts).
  const std::size_t slot_bytes =
      (static_cast<std::size_t>(tile) * sizeof(std::uint64_t) + 63) / 64 * 64 + 320;
  std::size_t num_slots = 0;
  std::vector<std::size_t> free_slots;
  std::vector<std::ptrdiff_t> slot(nn, -1);
  auto release_args = [&](std::size_t i) {
    for (int a : m_nodes[i].args) {
      const auto ai = static_cast<std::size_t>(a);
      if (slot[ai] >= 0 && m_last_use[ai] == i) {
        free_slots.push_back(static_cast<std::size_t>(slot[ai]));
        slot[ai] = -1 - slot[ai];  // freed (keeps the offset recoverable)
      }
    }
  };
  // A materialised block bound to node i: its global origin `loff` (in the node's own axes)
  // gives the strides by which each tile reads it; read in place when it has the chunk's shape.
  auto bind_block = [&](std::size_t i, const Block& b, const Expr& le, const Shape& loff) {
    const int ld = le.ndim();
    const Shape bstr = row_major_strides(b.shape());
    leaf_stride[i].assign(static_cast<std::size_t>(nd), 0);
    index_t base = 0;
    bool exact = ld == nd;
    for (int a = 0; a < nd; ++a) {
      const int la = node_axis(a, nd, ld);
      if (la < 0 || le.shape()[static_cast<std::size_t>(la)] == 1) {
        if (shape[static_cast<std::size_t>(a)] != 1) exact = false;
        continue;
      }
      leaf_stride[i][static_cast<std::size_t>(a)] = bstr[static_cast<std::size_t>(la)];
      base += (origin[static_cast<std::size_t>(a)] - loff[static_cast<std::size_t>(la)]) *
              bstr[static_cast<std::size_t>(la)];
      if (b.shape()[static_cast<std::size_t>(la)] != shape[static_cast<std::size_t>(a)])
        exact = false;
    }
    leaf_base[i] = static_cast<const std::byte*>(b.data()) +
                   static_cast<std::size_t>(base) * dtype_size(le.dtype());
    zero_copy[i] = exact;
  };
  // Sources that read regions (files) read this chunk's region once, then act as leaves.
  std::vector<Block> regions;
  std::vector<char> as_block(nn, 0);
  std::vector<std::optional<GatheredLeaf>> gathered(nn);
  regions.reserve(nn);
  std::vector<std::size_t> buf_offset(nn, 0);
  for (std::size_t i = 0; i < nn; ++i) {
    const Node& n = m_nodes[i];
    if (n.constant) {
      release_args(i);
      continue;
    }
    if (n.kind == Node::Kind::Leaf) {
      const auto k = static_cast<std::size_t>(n.leaf);
      const Expr& le = *n.expr;
      const Shape loff = le.chunks().chunk_offset(le.chunks().chunk_coords(leaf_chunk(k, coords)));
      if (k < grids.size() && grids[k]) {  // the leaf's shape is the root's (can_gather)
        Shape offset(static_cast<std::size_t>(nd));
        for (std::size_t a = 0; a < offset.size(); ++a) offset[a] = origin[a] - loff[a];
        gathered[i].emplace(*grids[k], std::move(offset));
      } else {
        bind_block(i, *leaf_blocks[k], le, loff);
        as_block[i] = 1;
      }
    } else if (n.kind == Node::Kind::Source &&
               static_cast<const SourceExpr*>(n.expr)->reads_regions()) {
      const auto& src = static_cast<const SourceExpr&>(*n.expr);
      const int sd = src.ndim();
      Shape start(static_cast<std::size_t>(sd), 0), count(static_cast<std::size_t>(sd), 1);
      for (int sa = 0; sa < sd; ++sa) {
        const auto usa = static_cast<std::size_t>(sa);
        const auto a = static_cast<std::size_t>(sa + (nd - sd));
        if (src.shape()[usa] == 1) continue;  // broadcast along this axis
        start[usa] = origin[a];
        count[usa] = shape[a];
      }
      regions.emplace_back(src.dtype(), count);
      src.fill_region(regions.back().data(), start, count);
      bind_block(i, regions.back(), src, start);
      as_block[i] = 1;
    }
    if (as_block[i] && zero_copy[i]) {
      release_args(i);
      continue;  // read in place: no slot
    }
    if (!(i + 1 == nn && sink.direct_root())) {  // else the root writes into the output
      std::size_t k;
      if (free_slots.empty()) {
        k = num_slots++;
      } else {
        k = free_slots.back();
        free_slots.pop_back();
      }
      slot[i] = static_cast<std::ptrdiff_t>(k);
      buf_offset[i] = k * slot_bytes;
    }
    release_args(i);
  }
  const std::size_t scratch_bytes = num_slots * slot_bytes;
  std::unique_ptr<std::byte[]> scratch(new std::byte[scratch_bytes + 64]);
  auto* aligned = reinterpret_cast<std::byte*>(
      (reinterpret_cast<std::uintptr_t>(scratch.get()) + 63) / 64 * 64);
  for (std::size_t i = 0; i < nn; ++i) buf[i] = aligned + buf_offset[i];

  // Constants: evaluated once per chunk.
  std::vector<TileArg> args;
  for (std::size_t i = 0; i < nn; ++i) {
    const Node& n = m_nodes[i];
    if (!n.constant) continue;
    auto* c = reinterpret_cast<std::byte*>(&constants[i]);
    if (n.kind == Node::Kind::Leaf) {
      ptr[i] = static_cast<const std::byte*>(leaf_blocks[static_cast<std::size_t>(n.leaf)]->data());
      continue;
    }
    if (n.kind == Node::Kind::Source) {
      const Shape zero(static_cast<std::size_t>(n.expr->ndim()), 0);
      static_cast<const SourceExpr*>(n.expr)->fill(c, zero.data(), 1);
    } else {
      args.clear();
      for (int a : n.args) args.push_back({ptr[static_cast<std::size_t>(a)], true});
      static_cast<const ElementwiseExpr*>(n.expr)->apply(args, c, 1);
    }
    ptr[i] = c;
  }

  // A chain takes this chunk's constants into its steps, unless a power's exponent is not 2 or
  // 3 (then the nodes run one by one, as any program's do).
  std::vector<ChainStep> steps;
  std::vector<char> in_chain(nn, 0);  // nodes the chain computes in registers
  bool chain = m_chain.has_value();
  if (chain) {
    const bool f64 = m_root->dtype() == DType::Float64;
    for (const Chain::Link& l : m_chain->links) {
      ChainStep st{l.op, l.reversed, 0.0};
      if (l.constant >= 0) {
        const std::byte* c = ptr[static_cast<std::size_t>(l.constant)];
        st.constant = f64 ? *reinterpret_cast<const double*>(c)
                          : static_cast<double>(*reinterpret_cast<const float*>(c));
      }
      if (l.op == ChainOp::Pow && st.constant != 2 && st.constant != 3) chain = false;
      steps.push_back(st);
      in_chain[static_cast<std::size_t>(l.node)] = 1;
    }
    if (m_chain->affine_head) in_chain[static_cast<std::size_t>(m_chain->head)] = 1;
  }
  const auto affine =
      chain && m_chain->affine_head
          ? static_cast<const SourceExpr*>(m_nodes[static_cast<std::size_t>(m_chain->head)].expr)
                ->affine()
          : std::nullopt;

  // Tiles.
  Shape idx(static_cast<std::size_t>(nd), 0);  // local multi-index of the current run start
  std::vector<Run> runs;
  std::vector<index_t> run_idx;  // nd entries per run
  Shape gstart;
  for (index_t f = 0; f < total; f += tile) {
    const index_t len = std::min(tile, total - f);
    runs.clear();
    run_idx.clear();
    for (index_t pos = 0; pos < len;) {
      const index_t rl = nd ? std::min(last - idx[static_cast<std::size_t>(nd - 1)], len - pos) : 1;
      runs.push_back({pos, rl});
      run_idx.insert(run_idx.end(), idx.begin(), idx.end());
      pos += rl;
      if (nd) {  // advance idx by rl with carry
        idx[static_cast<std::size_t>(nd - 1)] += rl;
        for (int a = nd - 1;
             a > 0 && idx[static_cast<std::size_t>(a)] == shape[static_cast<std::size_t>(a)]; --a) {
          idx[static_cast<std::size_t>(a)] = 0;
          ++idx[static_cast<std::size_t>(a - 1)];
        }
      }
    }
    for (std::size_t i = 0; i < nn; ++i) {
      const Node& n = m_nodes[i];
      if (n.constant) continue;
      const std::size_t es = dtype_size(n.expr->dtype());
      std::byte* out = (i + 1 == nn && sink.direct_root()) ? sink.root_target(f) : buf[i];
      if (chain && in_chain[i]) {
        if (i + 1 == nn) {  // the whole chain, in registers
          const int count = static_cast<int>(steps.size());
          if (affine) {
            kernels().chain_affine(steps.data(), count, affine->start, affine->step, origin[0] + f,
                                   reinterpret_cast<double*>(out), len);
          } else {
            kernels().chain(m_root->dtype(), steps.data(), count,
                            ptr[static_cast<std::size_t>(m_chain->head)], out, len);
          }
          ptr[i] = out;
        }
        continue;
      }
      if (gathered[i]) {
        for (std::size_t r = 0; r < runs.size(); ++r) {
          gathered[i]->copy_run(run_idx.data() + r * static_cast<std::size_t>(nd), runs[r].len, es,
                                out + static_cast<std::size_t>(runs[r].pos) * es);
        }
      } else if (as_block[i]) {
        if (zero_copy[i]) {
          ptr[i] = leaf_base[i] + static_cast<std::size_t>(f) * es;
          if (out != buf[i]) std::memcpy(out, ptr[i], static_cast<std::size_t>(len) * es);
          continue;
        }
        const auto& st = leaf_stride[i];
        const bool bcast_last = nd && st[static_cast<std::size_t>(nd - 1)] == 0;
        for (std::size_t r = 0; r < runs.size(); ++r) {
          index_t e = 0;
          for (int a = 0; a < nd; ++a)
            e += run_idx[r * static_cast<std::size_t>(nd) + static_cast<std::size_t>(a)] *
                 st[static_cast<std::size_t>(a)];
          std::byte* o = out + static_cast<std::size_t>(runs[r].pos) * es;
          const std::byte* s = leaf_base[i] + static_cast<std::size_t>(e) * es;
          if (bcast_last) {
            std::memcpy(o, s, es);
            replicate(o, es, runs[r].len);
          } else {
            std::memcpy(o, s, static_cast<std::size_t>(runs[r].len) * es);
          }
        }
      } else if (n.kind == Node::Kind::Source) {
        const auto& src = static_cast<const SourceExpr&>(*n.expr);
        const int sd = src.ndim();
        gstart.assign(static_cast<std::size_t>(sd), 0);
        const bool bcast_last =
            sd && src.shape()[static_cast<std::size_t>(sd - 1)] == 1 && last != 1;
        for (std::size_t r = 0; r < runs.size(); ++r) {
          for (int sa = 0; sa < sd; ++sa) {
            const auto a = static_cast<std::size_t>(sa + (nd - sd));
            gstart[static_cast<std::size_t>(sa)] =
                src.shape()[static_cast<std::size_t>(sa)] == 1
                    ? 0
                    : origin[a] + run_idx[r * static_cast<std::size_t>(nd) + a];
          }
          std::byte* o = out + static_cast<std::size_t>(runs[r].pos) * es;
          if (bcast_last) {
            src.fill(o, gstart.data(), 1);
            replicate(o, es, runs[r].len);
          } else {
            src.fill(o, gstart.data(), runs[r].len);
          }
        }
      } else {
        args.clear();
        for (int a : n.args) {
          const auto ai = static_cast<std::size_t>(a);
          args.push_back({ptr[ai], m_nodes[ai].constant});
        }
        static_cast<const ElementwiseExpr*>(n.expr)->apply(args, out, len);
      }
      ptr[i] = out;
    }
    sink.consume(ptr[nn - 1], f, len, runs, run_idx, origin);
  }
}

Block FusedProgram::evaluate(const Shape& coords, std::span<const Block* const> leaf_blocks,
                             std::span<const PieceGrid* const> grids) const {
  if (m_nodes.size() == 1 && m_nodes[0].kind == Node::Kind::Leaf && (grids.empty() || !grids[0])) {
    return *leaf_blocks[0];  // nothing to compute: the root is materialised already
  }
  return evaluate_region(coords, m_root->chunks().chunk_offset(coords),
                         m_root->chunks().chunk_shape(coords), leaf_blocks, grids);
}

Block FusedProgram::evaluate_region(const Shape& coords, const Shape& start, const Shape& count,
                                    std::span<const Block* const> leaf_blocks,
                                    std::span<const PieceGrid* const> grids) const {
  Block out(m_root->dtype(), count);
  if (m_nodes.size() == 1 && m_nodes[0].kind == Node::Kind::Source &&
      static_cast<const SourceExpr*>(m_root)->reads_regions()) {
    // A region source alone (a file read that is computed or persisted): straight into the chunk.
    static_cast<const SourceExpr*>(m_root)->fill_region(out.data(), start, count);
    return out;
  }
  const std::size_t es = dtype_size(m_root->dtype());
  const bool root_constant = m_nodes.back().constant;
  struct Sink {
    Block* out;
    std::size_t es;
    bool constant;
    bool direct_root() const { return !constant; }
    std::byte* root_target(index_t f) const {
      return static_cast<std::byte*>(out->data()) + static_cast<std::size_t>(f) * es;
    }
    void consume(const std::byte* root, index_t f, index_t len, const std::vector<Run>&,
                 const std::vector<index_t>&, const Shape&) const {
      std::byte* target = root_target(f);
      if (root != target) std::memcpy(target, root, static_cast<std::size_t>(len) * es);
    }
  } sink{&out, es, root_constant};
  run_tiles(coords, start, count, leaf_blocks, grids, sink);
  return out;
}

Partial FusedProgram::reduce(std::span<const ReduceExpr* const> reductions, const Shape& coords,
                             std::span<const Block* const> leaf_blocks,
                             std::span<const PieceGrid* const> grids) const {
  const int nd = m_root->ndim();
  const Shape chunk_shape = m_root->chunks().chunk_shape(coords);
  // Per reduction: its partial, and the strides that map an input position to its element.
  struct Target {
    const ReduceExpr* reduce;
    Partial p;
    Shape pstride;
  };
  std::vector<Target> targets;
  for (const ReduceExpr* r : reductions) {
    Shape pshape = chunk_shape;
    for (int a : r->axes()) pshape[static_cast<std::size_t>(a)] = 1;
    Shape pstride = row_major_strides(pshape);
    for (int a : r->axes()) pstride[static_cast<std::size_t>(a)] = 0;
    targets.push_back({r, r->init(pshape), std::move(pstride)});
  }
  const std::size_t es = dtype_size(m_root->dtype());
  struct Sink {
    std::vector<Target>& targets;
    int nd;
    std::size_t es;
    Shape gidx;
    bool direct_root() const { return false; }
    std::byte* root_target(index_t) const { return nullptr; }
    void consume(const std::byte* root, index_t, index_t, const std::vector<Run>& runs,
                 const std::vector<index_t>& run_idx, const Shape& origin) {
      gidx.resize(static_cast<std::size_t>(nd));
      for (std::size_t r = 0; r < runs.size(); ++r) {
        const index_t* local = run_idx.data() + r * static_cast<std::size_t>(nd);
        for (int a = 0; a < nd; ++a) {
          gidx[static_cast<std::size_t>(a)] = origin[static_cast<std::size_t>(a)] + local[a];
        }
        // Every reduction folds the run while it is in cache.
        for (Target& t : targets) {
          index_t out_offset = 0;
          for (int a = 0; a < nd; ++a)
            out_offset += local[a] * t.pstride[static_cast<std::size_t>(a)];
          t.reduce->accumulate(t.p, root + static_cast<std::size_t>(runs[r].pos) * es, runs[r].len,
                               out_offset, gidx.data());
        }
      }
    }
  } sink{targets, nd, es, {}};
  run_tiles(coords, m_root->chunks().chunk_offset(coords), chunk_shape, leaf_blocks, grids, sink);
  Partial all = std::move(targets[0].p);
  for (std::size_t k = 1; k < targets.size(); ++k) {
    for (Block& b : targets[k].p.fields) all.fields.push_back(std::move(b));
  }
  return all;
}

}  // namespace tessera::detail
