// reduction(): a tree reduction whose steps the user writes (Dask's da.reduction). Each input
// chunk becomes a state (ReductionSteps::chunk), states fold pairwise up the same combine tree
// as the built-in reductions (ReduceOptions::split_every), and the last one becomes the output
// (aggregate). The steps are checked where they run: a state or output of the wrong shape or
// dtype fails the compute with a value_error that names the reduction and the shapes.

#include <fmt/format.h>

#include "tessera/array/reductions.hpp"

namespace tessera {

namespace {

class UserReduction final : public ReduceExpr {
 public:
  UserReduction(const Array& x, std::vector<int> axes, ReductionSteps steps, DType dtype,
                const ReduceOptions& o, std::string name)
      : ReduceExpr(x.expr(), std::move(axes), o.keepdims, o.split_every == 0 ? 8 : o.split_every,
                   dtype, unique_token(), name),
        m_steps(std::move(steps)),
        m_name(std::move(name)) {}

  std::string_view op_name() const override { return m_name; }
  bool folds_whole_chunks() const override { return true; }

  Partial chunk_partial(const Block& chunk) const override {
    Shape want = chunk.shape();
    for (int a : axes()) want[static_cast<std::size_t>(a)] = 1;
    Partial p{m_steps.chunk(chunk, axes())};
    check_state(p.fields, want, "chunk");
    return p;
  }

  Partial init(const Shape&) const override {
    throw std::logic_error("reduction(): states come from whole chunks, not init()");
  }
  void accumulate(Partial&, const void*, index_t, index_t, const index_t*) const override {
    throw std::logic_error("reduction(): states come from whole chunks, not accumulate()");
  }

  void combine(Partial& into, const Partial& from) const override {
    const Shape want = into.fields.empty() ? Shape{} : into.fields[0].shape();
    std::vector<Block> folded = m_steps.combine(into.fields, from.fields);
    check_state(folded, want, "combine");
    into.fields = std::move(folded);
  }

  Block finalize(const Partial& p) const override {
    const Shape want = p.fields.empty() ? Shape{} : p.fields[0].shape();
    Block out = m_steps.aggregate(p.fields);
    if (out.shape() != want || out.dtype() != dtype()) {
      throw value_error(fmt::format(
          "reduction '{}': aggregate returned a {} block of shape {}; expected {} of shape {} "
          "(the state's shape, with the reduced axes of size 1)",
          m_name, dtype_name(out.dtype()), shape_string(out.shape()), dtype_name(dtype()),
          shape_string(want)));
    }
    return out;
  }

 private:
  /// A state is one or more blocks, each of the output region's keepdims shape.
  void check_state(const std::vector<Block>& state, const Shape& want,
                   std::string_view step) const {
    if (state.empty()) {
      throw value_error(fmt::format(
          "reduction '{}': {} returned no blocks (a state needs at least one)", m_name, step));
    }
    for (std::size_t k = 0; k < state.size(); ++k) {
      if (state[k].shape() != want) {
        throw value_error(fmt::format(
            "reduction '{}': {} returned a state block {} of shape {}; expected {} (the chunk's "
            "shape with the reduced axes of size 1)",
            m_name, step, k, shape_string(state[k].shape()), shape_string(want)));
      }
    }
  }

  ReductionSteps m_steps;
  std::string m_name;
};

}  // namespace

Array reduction(const Array& x, ReductionSteps steps, DType dtype, Axes axes, ReduceOptions o,
                std::string name) {
  if (!steps.chunk || !steps.combine || !steps.aggregate) {
    throw value_error(
        fmt::format("reduction '{}': chunk, combine and aggregate are all required", name));
  }
  if (o.split_every != 0 && o.split_every < 2) {
    throw value_error(
        fmt::format("reduction '{}': split_every must be at least 2, got {}", name, o.split_every));
  }
  std::vector<int> list;
  if (axes.all()) {
    for (int a = 0; a < x.ndim(); ++a) list.push_back(a);
  } else {
    list = normalize_axes(axes.list(), x.ndim());
  }
  return Array(std::make_shared<UserReduction>(x, std::move(list), std::move(steps), dtype, o,
                                               std::move(name)));
}

}  // namespace tessera
