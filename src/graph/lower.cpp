#include "tessera/graph/lower.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "fused_program.hpp"
#include "tessera/core/copy_region.hpp"

namespace tessera {

std::vector<TaskId> LoweredGraph::all_outputs() const {
  std::vector<TaskId> out;
  for (const auto& r : outputs) out.insert(out.end(), r.begin(), r.end());
  return out;
}

namespace {

struct PairHash {
  std::size_t operator()(const std::pair<const Expr*, index_t>& k) const noexcept {
    return std::hash<const void*>()(k.first) * 31 + std::hash<index_t>()(k.second);
  }
};

/// The region of `src` at `start` with shape `count`, as a Block of its own.
Block cut(const Block& src, const Shape& start, const Shape& count) {
  Block out(src.dtype(), count);
  copy_region(src, {start}, out, {Shape(count.size(), 0)}, count);
  return out;
}

/// Per leaf of a fused program, the grid of pieces a task reads it from
/// (BlockwiseExpr::piece_grid), or empty when it reads the leaf's chunk.
using LeafGrids = std::vector<std::vector<std::vector<index_t>>>;

Piece as_piece(const Value& v) { return v.holds<Piece>() ? v.get<Piece>() : Piece(v.get<Block>()); }

/// A fused program's leaf chunks, from the inputs of the task that runs it: a chunk per leaf,
/// or the pieces that tile it (the leaf's entry in `grids` is not empty).
class LeafChunks {
 public:
  LeafChunks(std::span<const Value> in, const LeafGrids& grids) {
    m_grids.reserve(grids.size());  // m_grid_of points into it
    std::size_t i = 0;
    for (const auto& g : grids) {
      if (g.empty()) {
        m_blocks.push_back(&in[i++].get<Block>());
        m_grid_of.push_back(nullptr);
        continue;
      }
      detail::PieceGrid& pg = m_grids.emplace_back(detail::PieceGrid{g, {}});
      std::size_t n = 1;
      for (const auto& s : g) n *= s.size();
      for (std::size_t j = 0; j < n; ++j) pg.pieces.push_back(as_piece(in[i++]));
      m_blocks.push_back(nullptr);
      m_grid_of.push_back(&pg);
    }
  }
  std::span<const Block* const> blocks() const { return m_blocks; }
  std::span<const detail::PieceGrid* const> grids() const { return m_grid_of; }

 private:
  std::vector<const Block*> m_blocks;
  std::vector<detail::PieceGrid> m_grids;
  std::vector<const detail::PieceGrid*> m_grid_of;
};

class Lowerer {
 public:
  explicit Lowerer(const LowerOptions& options) : m_options(options) {}

  /// Registers a root: canonicalises its DAG and counts consumers (for fusion decisions).
  const Expr* add_root(const ExprPtr& root) {
    const Expr* r = canonical(root.get());
    std::vector<const Expr*> stack{r};
    while (!stack.empty()) {
      const Expr* e = stack.back();
      stack.pop_back();
      if (!m_visited.insert(e).second) continue;
      std::unordered_set<const Expr*> distinct;
      for (const auto& in : e->inputs()) {
        const Expr* c = canonical(in.get());
        if (distinct.insert(c).second) {
          ++m_consumers[c];
          m_parents[c].push_back(e);
        }
        stack.push_back(c);
      }
    }
    ++m_consumers[r];  // the caller is a consumer too: roots are never fused away
    return r;
  }

  TaskId chunk(const Expr* e, index_t c) {
    if (auto it = m_memo.find({e, c}); it != m_memo.end()) return it->second;
    TaskId id = -1;
    const Shape coords = e->chunks().chunk_coords(c);
    switch (e->kind()) {
      case ExprKind::Data: {
        const auto& d = static_cast<const DataExpr&>(*e);
        // The node's token covers its data when it was hashed by content (from_buffer).
        id = m_graph.add_value(label(e), coords, d.holds(c) ? Value::make(d.block(c)) : Value(),
                               d.token());
        // A chunk on one rank runs there; one on every rank is read wherever it is needed.
        if (!d.owners().is_everywhere(c)) m_graph.pin(id, d.owners().owner(c));
        break;
      }
      case ExprKind::Blockwise:
        id = blockwise_chunk(static_cast<const BlockwiseExpr&>(*e), coords);
        break;
      case ExprKind::Reduce:
        id = reduce_chunk(static_cast<const ReduceExpr&>(*e), coords);
        break;
      case ExprKind::Source:
      case ExprKind::Elementwise: {
        auto prog = program(e);
        auto [deps, grids] = leaf_reads(*prog, coords);
        id = m_graph.add(
            label(e), coords, deps,
            [prog, coords, grids = std::move(grids)](std::span<const Value> in) {
              const LeafChunks leaves(in, grids);
              return Value::make(prog->evaluate(coords, leaves.blocks(), leaves.grids()));
            });
        break;
      }
    }
    // Placement weighs a task's inputs by their bytes.
    m_graph.set_size_hint(id,
                          static_cast<std::size_t>(shape_size(e->chunks().chunk_shape(coords))) *
                              dtype_size(e->dtype()));
    m_memo.emplace(std::pair{e, c}, id);
    return id;
  }

  TaskGraph& graph() { return m_graph; }

 private:
  const Expr* canonical(const Expr* e) {
    auto [it, inserted] = m_canon.emplace(e->token(), e);
    return it->second;
  }

  std::uint32_t label(const Expr* e) {
    auto it = m_labels.find(e);
    if (it != m_labels.end()) return it->second;
    const auto l = m_graph.add_label(e->label());
    m_labels.emplace(e, l);
    return l;
  }

  std::uint32_t label(const Expr* e, std::string_view suffix) {
    const auto key = std::pair{e, std::string(suffix)};
    auto it = m_suffix_labels.find(key);
    if (it != m_suffix_labels.end()) return it->second;
    const auto l = m_graph.add_label(fmt::format("{}-{}", e->label(), suffix));
    m_suffix_labels.emplace(key, l);
    return l;
  }

  /// Sources evaluated again by every consumer instead of computed once and held: a single
  /// value, and a source that reads a file when one of its consumers also waits for a
  /// reduction over it (x - x.mean(0): the subtraction can start only after the whole mean, so
  /// holding x would keep all of it; reading a chunk again costs what reading a spilled copy
  /// back would, without the write). Consumers that all run together (x.sum() and x.max()
  /// computed at once) share one read.
  bool reevaluated(const Expr* c) {
    if (c->kind() != ExprKind::Source) return false;
    if (shape_size(c->shape()) == 1) return true;
    if (!static_cast<const SourceExpr*>(c)->reads_regions()) return false;
    if (auto it = m_late_reread.find(c); it != m_late_reread.end()) return it->second;
    bool late = false;
    for (const Expr* parent : m_parents[c]) {
      for (const auto& in : parent->inputs()) {
        const Expr* other = canonical(in.get());
        if (other != c && reduces_over(other, c)) late = true;
      }
    }
    m_late_reread.emplace(c, late);
    return late;
  }

  /// Whether `e` depends on a reduction whose input depends on `source`.
  bool reduces_over(const Expr* e, const Expr* source) {
    std::vector<const Expr*> stack{e};
    std::unordered_set<const Expr*> seen;
    while (!stack.empty()) {
      const Expr* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      if (n->kind() == ExprKind::Reduce && depends_on(n, source)) return true;
      for (const auto& in : n->inputs()) stack.push_back(canonical(in.get()));
    }
    return false;
  }
  bool depends_on(const Expr* e, const Expr* source) {
    std::vector<const Expr*> stack{e};
    std::unordered_set<const Expr*> seen;
    while (!stack.empty()) {
      const Expr* n = stack.back();
      stack.pop_back();
      if (n == source) return true;
      if (!seen.insert(n).second) continue;
      for (const auto& in : n->inputs()) stack.push_back(canonical(in.get()));
    }
    return false;
  }

  /// The fused program rooted at `root`: the fusable nodes below it whose every consumer is
  /// already in the region. Everything else it reads is a leaf (materialised chunks).
  std::shared_ptr<detail::FusedProgram> program(const Expr* root) {
    if (auto it = m_programs.find(root); it != m_programs.end()) return it->second;
    std::vector<const Expr*> region, leaves;
    if (!root->fusable()) {
      leaves.push_back(root);
    } else {
      region.push_back(root);
      std::unordered_map<const Expr*, int> seen;
      std::vector<const Expr*> work{root};
      std::unordered_set<const Expr*> leaf_set;
      while (!work.empty()) {
        const Expr* e = work.back();
        work.pop_back();
        std::unordered_set<const Expr*> distinct;
        for (const auto& in : e->inputs()) {
          const Expr* c = canonical(in.get());
          if (!distinct.insert(c).second) continue;
          const bool fuse =
              m_options.fuse && c->fusable() && (reevaluated(c) || ++seen[c] == m_consumers.at(c));
          if (fuse) {
            if (std::find(region.begin(), region.end(), c) == region.end()) {
              region.push_back(c);
              leaf_set.erase(c);
              work.push_back(c);
            }
          } else if (std::find(region.begin(), region.end(), c) == region.end()) {
            leaf_set.insert(c);
          }
        }
      }
      // A node first seen as a leaf may have joined the region once all its consumers did.
      for (const Expr* l : leaf_set) {
        if (std::find(region.begin(), region.end(), l) == region.end()) leaves.push_back(l);
      }
      std::sort(leaves.begin(), leaves.end(),
                [](const Expr* a, const Expr* b) { return a->token() < b->token(); });
    }
    auto prog =
        std::make_shared<detail::FusedProgram>(root, region, leaves, m_options.tile_elements);
    // A leaf that only this program reads, and that is its pieces side by side, is read from
    // them and never assembled. A root that is a leaf (a reduction over a rechunk) is read by
    // the reductions only: partial_program() asks for this program only then.
    std::vector<char> gather(leaves.size(), 0);
    for (std::size_t k = 0; k < leaves.size(); ++k) {
      const Expr* l = leaves[k];
      if (!m_options.fuse || l->kind() != ExprKind::Blockwise || !prog->can_gather(k)) continue;
      int readers = 0;
      for (const Expr* e : region) {
        readers += std::any_of(e->inputs().begin(), e->inputs().end(),
                               [&](const ExprPtr& in) { return canonical(in.get()) == l; });
      }
      gather[k] = l == root || readers == m_consumers.at(l);
    }
    m_gather.emplace(prog.get(), std::move(gather));
    m_programs.emplace(root, prog);
    return prog;
  }

  /// A program that only reads `e`'s materialised chunks.
  std::shared_ptr<detail::FusedProgram> materialised(const Expr* e) {
    if (auto it = m_read_programs.find(e); it != m_read_programs.end()) return it->second;
    auto prog = std::make_shared<detail::FusedProgram>(
        e, std::vector<const Expr*>{}, std::vector<const Expr*>{e}, m_options.tile_elements);
    m_gather.emplace(prog.get(), std::vector<char>{0});
    m_read_programs.emplace(e, prog);
    return prog;
  }

  /// What a task that runs `prog` for root chunk `coords` reads: per leaf its chunk, or the
  /// pieces that tile it (a leaf the program gathers).
  struct LeafReads {
    std::vector<TaskId> deps;
    LeafGrids grids;
  };
  LeafReads leaf_reads(const detail::FusedProgram& prog, const Shape& coords) {
    LeafReads r;
    const auto& gather = m_gather.at(&prog);
    for (std::size_t k = 0; k < prog.leaves().size(); ++k) {
      const Expr* leaf = prog.leaves()[k];
      const index_t c = prog.leaf_chunk(k, coords);
      if (gather[k]) {
        const auto& b = static_cast<const BlockwiseExpr&>(*leaf);
        const Shape leaf_coords = leaf->chunks().chunk_coords(c);
        if (auto grid = b.piece_grid(leaf_coords)) {
          const auto pieces = blockwise_deps(b, leaf_coords);
          r.deps.insert(r.deps.end(), pieces.begin(), pieces.end());
          r.grids.push_back(std::move(*grid));
          continue;
        }
      }
      r.deps.push_back(chunk(leaf, c));
      r.grids.emplace_back();
    }
    return r;
  }

  /// The tasks that make the input chunks, or pieces, that chunk `coords` of `b` reads.
  std::vector<TaskId> blockwise_deps(const BlockwiseExpr& b, const Shape& coords) {
    const bool in_place = b.reads_pieces_in_place();
    std::vector<TaskId> deps;
    for (const auto& d : b.deps(coords)) {
      const Expr* in = canonical(b.inputs()[static_cast<std::size_t>(d.input)].get());
      const bool whole = d.count.empty() ||
                         d.count == in->chunks().chunk_shape(in->chunks().chunk_coords(d.chunk));
      if (whole) {
        deps.push_back(chunk(in, d.chunk));
      } else {
        deps.push_back(piece(in, d.chunk, d.start, d.count, in_place));
      }
    }
    return deps;
  }

  TaskId blockwise_chunk(const BlockwiseExpr& b, const Shape& coords) {
    const std::vector<TaskId> deps = blockwise_deps(b, coords);
    const Expr* e = &b;
    if (b.reads_pieces_in_place()) {
      return m_graph.add(label(e), coords, deps, [e, coords](std::span<const Value> in) {
        std::vector<Piece> pieces;
        pieces.reserve(in.size());
        for (const auto& v : in) pieces.push_back(as_piece(v));
        return Value::make(static_cast<const BlockwiseExpr*>(e)->compute_pieces(coords, pieces));
      });
    }
    return m_graph.add(label(e), coords, deps, [e, coords](std::span<const Value> in) {
      std::vector<const Block*> blocks;
      for (const auto& v : in) blocks.push_back(&v.get<Block>());
      return Value::make(static_cast<const BlockwiseExpr*>(e)->compute(coords, blocks));
    });
  }

  /// The region (`start`, `count`, relative to the chunk's origin) of chunk `c` of `e`, as a
  /// Block of its own, made where the chunk is. A stored chunk is cut directly; a fused chain
  /// that only the blockwise node reads and that reads no file is evaluated for just the
  /// region (a transpose of random numbers never makes the row panels it cuts); anything else
  /// is cut from the materialised chunk. With `in_place` (a consumer that
  /// reads_pieces_in_place()), a stored chunk's piece is a Piece instead: the block and the
  /// region, copied only if it is sent to another rank.
  TaskId piece(const Expr* e, index_t c, const Shape& start, const Shape& count,
               bool in_place = false) {
    in_place = in_place && e->kind() == ExprKind::Data;  // what else makes a piece is a Block
    auto key = std::tuple{e, c, start, count, in_place};
    if (auto it = m_pieces.find(key); it != m_pieces.end()) return it->second;
    const Shape coords = e->chunks().chunk_coords(c);
    Shape name = coords;
    name.insert(name.end(), start.begin(), start.end());
    TaskId id = -1;
    std::shared_ptr<detail::FusedProgram> prog;
    if (m_options.fuse && e->fusable() && m_consumers.at(e) == 1) {
      prog = program(e);
      if (prog->reads_files()) prog.reset();
    }
    if (e->kind() == ExprKind::Data) {
      // Stored chunks are read in place, as a file is: the piece reads the block itself rather
      // than waiting on the chunk's task, so pieces are roots that run in output order (a
      // chunk's task would make all of its pieces ready at once, and they would all be cut
      // long before the output chunks that read them could run).
      const auto* d = static_cast<const DataExpr*>(e);
      id = m_graph.add(label(e, in_place ? "region" : "piece"), name, {},
                       [d, c, start, count, in_place](std::span<const Value>) {
                         return in_place ? Value::make(Piece(d->block(c), start, count))
                                         : Value::make(cut(d->block(c), start, count));
                       });
      m_graph.set_content(id, d->token());
      if (!d->owners().is_everywhere(c)) m_graph.pin(id, d->owners().owner(c));
    } else if (prog) {
      Shape origin = e->chunks().chunk_offset(coords);
      for (std::size_t a = 0; a < origin.size(); ++a) origin[a] += start[a];
      auto [deps, grids] = leaf_reads(*prog, coords);
      id = m_graph.add(
          label(e, "piece"), name, deps,
          [prog, coords, origin, count, grids = std::move(grids)](std::span<const Value> in) {
            const LeafChunks leaves(in, grids);
            return Value::make(
                prog->evaluate_region(coords, origin, count, leaves.blocks(), leaves.grids()));
          });
    } else {
      const TaskId whole = chunk(e, c);
      id = m_graph.add(label(e, "piece"), name, std::span(&whole, 1),
                       [start, count](std::span<const Value> in) {
                         return Value::make(cut(in[0].get<Block>(), start, count));
                       });
    }
    m_graph.set_size_hint(id, static_cast<std::size_t>(shape_size(count)) * dtype_size(e->dtype()));
    m_pieces.emplace(std::move(key), id);
    return id;
  }

  /// Where a reduction's partial over one input chunk is: the fields [first, first + count) of
  /// the Partial that task `id` makes (count 0: all of them).
  struct PartialRef {
    TaskId id;
    std::size_t first = 0;
    std::size_t count = 0;
  };

  /// The reductions over `input` when there are several and they are all its consumers (x.mean(),
  /// x.std() and x.max() computed together): one task per input chunk makes all their partials
  /// in one pass over the chunk. Empty otherwise.
  const std::vector<const ReduceExpr*>& reduction_group(const Expr* input) {
    auto [it, inserted] = m_groups.try_emplace(input);
    if (inserted) {
      const auto& parents = m_parents[input];
      const bool all_reductions =
          parents.size() > 1 && std::all_of(parents.begin(), parents.end(), [](const Expr* e) {
            return e->kind() == ExprKind::Reduce &&
                   !static_cast<const ReduceExpr*>(e)->folds_whole_chunks();
          });
      if (all_reductions) {
        // The shared partial holds the group's fields in turn; a reduction's field count is
        // that of its identity state.
        const Shape empty(static_cast<std::size_t>(input->ndim()), 0);
        std::size_t first = 0;
        for (const Expr* e : parents) {
          const auto* r = static_cast<const ReduceExpr*>(e);
          const std::size_t count = r->init(empty).fields.size();
          it->second.push_back(r);
          m_group_fields.emplace(r, std::pair{first, count});
          first += count;
        }
      }
    }
    return it->second;
  }

  /// The program a reduction's partials evaluate over `input`, read by `readers` reductions:
  /// the input fused in when they are its only consumers (or it is cheaper to evaluate again);
  /// otherwise its chunks are computed once, as tasks of their own, and read by every consumer.
  std::shared_ptr<detail::FusedProgram> partial_program(const Expr* input, std::size_t readers) {
    return static_cast<std::size_t>(m_consumers.at(input)) == readers || reevaluated(input)
               ? program(input)
               : materialised(input);
  }

  /// Partial of reduction `r` over input chunk `c` (fused with the input's producers).
  PartialRef partial(const ReduceExpr& r, index_t c) {
    const Expr* input = canonical(r.inputs()[0].get());
    const auto& group = reduction_group(input);
    if (!group.empty()) return group_partial(r, group, input, c);
    const Expr* key = &r;
    if (auto it = m_partials.find({key, c}); it != m_partials.end()) return {it->second};
    auto prog = partial_program(input, 1);
    const Shape coords = input->chunks().chunk_coords(c);
    auto [deps, grids] = leaf_reads(*prog, coords);
    const ReduceExpr* rp = &r;
    TaskId id = m_graph.add(
        label(&r, "partial"), coords, deps,
        [prog, rp, coords, grids = std::move(grids)](std::span<const Value> in) {
          const LeafChunks leaves(in, grids);
          if (rp->folds_whole_chunks()) {
            return Value::make(
                rp->chunk_partial(prog->evaluate(coords, leaves.blocks(), leaves.grids())));
          }
          return Value::make(
              prog->reduce(std::span(&rp, 1), coords, leaves.blocks(), leaves.grids()));
        });
    m_partials.emplace(std::pair{key, c}, id);
    return {id};
  }

  /// `r`'s share of the partials of all of `group` over input chunk `c`, made by one task.
  PartialRef group_partial(const ReduceExpr& r, const std::vector<const ReduceExpr*>& group,
                           const Expr* input, index_t c) {
    const Shape coords = input->chunks().chunk_coords(c);
    TaskId id;
    if (auto it = m_partials.find({input, c}); it != m_partials.end()) {
      id = it->second;
    } else {
      auto prog = partial_program(input, group.size());
      auto [deps, grids] = leaf_reads(*prog, coords);
      id = m_graph.add(
          label(input, "partials"), coords, deps,
          [prog, group, coords, grids = std::move(grids)](std::span<const Value> in) {
            const LeafChunks leaves(in, grids);
            return Value::make(prog->reduce(group, coords, leaves.blocks(), leaves.grids()));
          });
      m_partials.emplace(std::pair{input, c}, id);
    }
    const auto [first, count] = m_group_fields.at(&r);
    return {id, first, count};
  }

  TaskId reduce_chunk(const ReduceExpr& r, const Shape& out_coords) {
    const Expr& input = *r.inputs()[0];
    // Input chunks that fold into this output chunk: non-reduced axes fixed by out_coords,
    // reduced axes enumerated in row-major order.
    Shape base(static_cast<std::size_t>(input.ndim()), 0);
    std::vector<int> reduced;
    for (int a = 0, o = 0; a < input.ndim(); ++a) {
      if (r.reduces(a)) {
        reduced.push_back(a);
        if (r.keepdims()) ++o;
      } else {
        base[static_cast<std::size_t>(a)] = out_coords[static_cast<std::size_t>(o++)];
      }
    }
    std::vector<TaskId> level;
    std::size_t first = 0, count = 0;  // the fields of the level's partials that are r's
    Shape cur = base;
    for (;;) {
      const PartialRef p = partial(r, input.chunks().chunk_linear(cur));
      level.push_back(p.id);
      first = p.first, count = p.count;
      int k = static_cast<int>(reduced.size()) - 1;
      for (; k >= 0; --k) {
        const auto a = static_cast<std::size_t>(reduced[static_cast<std::size_t>(k)]);
        if (++cur[a] < input.chunks().num_chunks(static_cast<int>(a))) break;
        cur[a] = 0;
      }
      if (k < 0) break;
    }
    const ReduceExpr* rp = &r;
    // r's fields of a partial (a shared partial task holds other reductions' too).
    auto fields = [](const Value& v, std::size_t from, std::size_t n) {
      const Partial& p = v.get<Partial>();
      if (n == 0) return p;
      const auto b = p.fields.begin() + static_cast<std::ptrdiff_t>(from);
      return Partial{{b, b + static_cast<std::ptrdiff_t>(n)}};
    };
    auto combine_all = [rp, fields](std::span<const Value> in, std::size_t from, std::size_t n) {
      Partial acc;
      for (const Block& b : fields(in[0], from, n).fields) acc.fields.push_back(b.clone());
      for (std::size_t i = 1; i < in.size(); ++i) rp->combine(acc, fields(in[i], from, n));
      return acc;
    };
    const auto split = static_cast<std::size_t>(r.split_every());
    int depth = 0;
    while (level.size() > split) {
      std::vector<TaskId> next;
      for (std::size_t i = 0; i < level.size(); i += split) {
        const auto n = std::min(split, level.size() - i);
        Shape name = out_coords;
        name.insert(name.begin(), {depth, static_cast<index_t>(i / split)});
        next.push_back(m_graph.add(label(&r, "combine"), name, std::span(level).subspan(i, n),
                                   [combine_all, first, count](std::span<const Value> in) {
                                     return Value::make(combine_all(in, first, count));
                                   }));
      }
      level = std::move(next);
      first = count = 0;  // combined partials hold r's fields only
      ++depth;
    }
    const Shape out_shape = r.chunks().chunk_shape(out_coords);
    return m_graph.add(
        label(&r), out_coords, level,
        [rp, fields, combine_all, first, count, out_shape](std::span<const Value> in) {
          const Partial p =
              in.size() > 1 ? combine_all(in, first, count) : fields(in[0], first, count);
          return Value::make(rp->finalize(p).reshaped(out_shape));
        });
  }

  LowerOptions m_options;
  TaskGraph m_graph;
  std::unordered_map<Token, const Expr*> m_canon;
  std::unordered_set<const Expr*> m_visited;
  std::unordered_map<const Expr*, int> m_consumers;
  std::unordered_map<const Expr*, std::vector<const Expr*>> m_parents;  // distinct consumers
  std::unordered_map<const Expr*, bool> m_late_reread;
  std::unordered_map<const Expr*, std::uint32_t> m_labels;
  std::map<std::pair<const Expr*, std::string>, std::uint32_t> m_suffix_labels;
  std::unordered_map<std::pair<const Expr*, index_t>, TaskId, PairHash> m_memo;
  std::unordered_map<std::pair<const Expr*, index_t>, TaskId, PairHash> m_partials;
  std::map<std::tuple<const Expr*, index_t, Shape, Shape, bool>, TaskId> m_pieces;
  std::unordered_map<const Expr*, std::shared_ptr<detail::FusedProgram>> m_programs;
  std::unordered_map<const Expr*, std::shared_ptr<detail::FusedProgram>> m_read_programs;
  // Per program, per leaf: whether tasks read the leaf from its pieces (leaf_reads).
  std::unordered_map<const detail::FusedProgram*, std::vector<char>> m_gather;
  std::unordered_map<const Expr*, std::vector<const ReduceExpr*>> m_groups;
  std::unordered_map<const ReduceExpr*, std::pair<std::size_t, std::size_t>> m_group_fields;
};

}  // namespace

LoweredGraph lower(std::span<const ExprPtr> roots, std::span<const std::vector<index_t>> chunks,
                   const LowerOptions& options) {
  detail::register_graph_serializers();
  Lowerer l(options);
  std::vector<const Expr*> canon;
  for (const auto& r : roots) canon.push_back(l.add_root(r));
  LoweredGraph out;
  out.roots.assign(roots.begin(), roots.end());
  for (std::size_t i = 0; i < roots.size(); ++i) {
    std::vector<TaskId> ids;
    if (i < chunks.size() && !chunks[i].empty()) {
      for (index_t c : chunks[i]) {
        if (c < 0 || c >= canon[i]->chunks().num_chunks()) {
          throw index_error(fmt::format("chunk {} out of range for {} with {} chunks", c,
                                        canon[i]->label(), canon[i]->chunks().num_chunks()));
        }
        ids.push_back(l.chunk(canon[i], c));
      }
    } else {
      for (index_t c = 0; c < canon[i]->chunks().num_chunks(); ++c)
        ids.push_back(l.chunk(canon[i], c));
    }
    out.outputs.push_back(std::move(ids));
  }
  out.graph = std::move(l.graph());
  order_tasks(out.graph, out.all_outputs());
  return out;
}

void order_tasks(TaskGraph& graph, std::span<const TaskId> outputs) {
  // Depth-first post-order from the outputs, visiting dependencies in declared order: every
  // task comes after its dependencies, and a subtree finishes before its sibling starts.
  const auto n = graph.size();
  std::vector<std::int32_t> priority(n, -1);
  std::int32_t next = 0;
  std::vector<std::pair<TaskId, std::size_t>> stack;
  for (TaskId root : outputs) {
    if (priority[static_cast<std::size_t>(root)] >= 0) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [t, k] = stack.back();
      const auto deps = graph.deps(t);
      if (k < deps.size()) {
        const TaskId d = deps[k++];
        if (priority[static_cast<std::size_t>(d)] < 0) stack.push_back({d, 0});
        continue;
      }
      if (priority[static_cast<std::size_t>(t)] < 0) priority[static_cast<std::size_t>(t)] = next++;
      stack.pop_back();
    }
  }
  for (auto& p : priority) {
    if (p < 0) p = next++;  // not needed by any output: last
  }
  graph.set_priorities(std::move(priority));
}

}  // namespace tessera
