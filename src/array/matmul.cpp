// Products of arrays: matmul on block GEMMs with a SUMMA-like schedule (see linalg.hpp), and
// dot, tensordot, vdot, outer, trace and einsum built from it and from the elementwise and
// reduction operations.

#include <algorithm>
#include <map>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dense_blocks.hpp"
#include "tessera/array/creation.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/linalg.hpp"
#include "tessera/array/manipulation.hpp"
#include "tessera/array/rechunk.hpp"
#include "tessera/array/reductions.hpp"

namespace tessera {

namespace {

/// Fewer output chunks than this, and matmul splits the contracted axis into groups (see
/// linalg.hpp): enough tasks to keep 16 ranks or threads busy.
constexpr index_t kParallelOutputChunks = 16;

constexpr std::size_t u(int i) { return static_cast<std::size_t>(i); }

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

/// The block products of a @ b: a (..., m, k) and b (..., k, n) of one ndim and dtype, b's k
/// chunks aligned with a's, and batch axes of length 1 (broadcast) or the output's (aligned
/// chunks where both are longer). Output chunk (..., i, j) sums a[..., i, k] b[..., k, j] over
/// the k chunks of its group; with several groups the output has a leading axis, one chunk per
/// group, that the caller sums.
class MatmulExpr final : public BlockwiseExpr {
 public:
  MatmulExpr(ExprPtr a, ExprPtr b, Shape shape, ChunkGrid grid, index_t group, index_t groups)
      : BlockwiseExpr(ExprKind::Blockwise, std::move(shape), a->dtype(), std::move(grid), {a, b},
                      Tokenizer().add(group).add(groups).finish(), "matmul"),
        m_group(group),
        m_lead(groups > 1 ? 1 : 0) {}

  std::string_view op_name() const override { return "matmul"; }

  std::vector<Dep> deps(const Shape& coords) const override {
    const Expr& a = *inputs()[0];
    const Expr& b = *inputs()[1];
    const int nd = a.ndim();
    Shape ca(u(nd)), cb(u(nd));
    for (int d = 0; d < nd - 2; ++d) {
      const index_t c = coords[u(m_lead + d)];
      ca[u(d)] = a.chunks().num_chunks(d) == 1 ? 0 : c;
      cb[u(d)] = b.chunks().num_chunks(d) == 1 ? 0 : c;
    }
    ca[u(nd - 2)] = coords[u(m_lead + nd - 2)];
    cb[u(nd - 1)] = coords[u(m_lead + nd - 1)];
    const index_t nk = a.chunks().num_chunks(nd - 1);
    const index_t first = (m_lead ? coords[0] : 0) * m_group;
    std::vector<Dep> out;
    for (index_t k = first; k < std::min(nk, first + m_group); ++k) {
      ca[u(nd - 1)] = k;
      cb[u(nd - 2)] = k;
      out.push_back({0, a.chunks().chunk_linear(ca)});
      out.push_back({1, b.chunks().chunk_linear(cb)});
    }
    return out;
  }

  Block compute(const Shape& coords, std::span<const Block* const> in) const override {
    const Shape shape = chunks().chunk_shape(coords);
    Shape product(shape.begin() + m_lead, shape.end());
    Block out = in.empty() ? Block::zeros(dtype(), product) : Block(dtype(), product);
    for (std::size_t t = 0; t + 1 < in.size(); t += 2)
      detail::batched_gemm(*in[t], *in[t + 1], out, t > 0);
    return m_lead ? out.reshaped(shape) : out;
  }

 private:
  index_t m_group;
  int m_lead;
};

}  // namespace

Array matmul(const Array& a_in, const Array& b_in) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw value_error(fmt::format(
        "matmul: operand {} is 0-d (shapes {} and {}); multiply by a scalar instead",
        a_in.ndim() == 0 ? 0 : 1, shape_string(a_in.shape()), shape_string(b_in.shape())));
  }
  Array a = a_in.ndim() == 1 ? expand_dims(a_in, 0) : a_in;
  Array b = b_in.ndim() == 1 ? expand_dims(b_in, 1) : b_in;
  const index_t k = a.shape().back();
  if (b.shape()[b.shape().size() - 2] != k) {
    throw shape_error(fmt::format(
        "matmul: shapes {} and {} do not align: the contracted axis has {} elements in a "
        "(its last axis) and {} in b ({})",
        shape_string(a_in.shape()), shape_string(b_in.shape()), k, b.shape()[b.shape().size() - 2],
        b_in.ndim() == 1 ? "its only axis" : "its axis -2"));
  }
  const int nd = std::max(a.ndim(), b.ndim());
  while (a.ndim() < nd) a = expand_dims(a, 0);
  while (b.ndim() < nd) b = expand_dims(b, 0);
  Shape out_shape(u(nd));
  for (int d = 0; d < nd - 2; ++d) {
    const index_t da = a.shape()[u(d)], db = b.shape()[u(d)];
    if (da != db && da != 1 && db != 1) {
      throw shape_error(
          fmt::format("matmul: the batch axes of shapes {} and {} do not broadcast ({} against {})",
                      shape_string(a_in.shape()), shape_string(b_in.shape()), da, db));
    }
    out_shape[u(d)] = da == 1 ? db : da;
  }
  out_shape[u(nd - 2)] = a.shape()[u(nd - 2)];
  out_shape[u(nd - 1)] = b.shape()[u(nd - 1)];

  const DType dtype = promote(a.dtype(), b.dtype());
  const DType work = dtype == DType::Bool ? DType::Int64 : dtype;  // NumPy: any(a and b)
  a = a.astype(work);
  b = b.astype(work);

  // b's contracted axis in a's chunks, and its batch axes in a's where both are longer.
  std::vector<AxisChunks> b_chunks;
  std::vector<std::vector<index_t>> sizes;
  for (int d = 0; d < nd; ++d) {
    const bool both = d < nd - 2 && a.shape()[u(d)] == b.shape()[u(d)];
    b_chunks.emplace_back(d == nd - 2 || both ? a.chunks().sizes(d == nd - 2 ? nd - 1 : d)
                                              : b.chunks().sizes(d));
    if (d == nd - 1 || (d < nd - 2 && a.shape()[u(d)] != out_shape[u(d)]))
      sizes.push_back(b.chunks().sizes(d));
    else
      sizes.push_back(a.chunks().sizes(d));
  }
  b = rechunk(b, ChunkSpec(b_chunks));

  index_t outputs = 1;
  for (const auto& s : sizes) outputs *= static_cast<index_t>(s.size());
  const index_t nk = a.chunks().num_chunks(nd - 1);
  index_t groups =
      outputs >= kParallelOutputChunks || nk <= 1
          ? 1
          : std::min(nk, ceil_div(kParallelOutputChunks, std::max<index_t>(outputs, 1)));
  const index_t group = groups > 1 ? ceil_div(nk, groups) : std::max<index_t>(nk, 1);
  groups = groups > 1 ? ceil_div(nk, group) : 1;

  Array out;
  if (groups == 1) {
    out = Array(
        std::make_shared<MatmulExpr>(a.expr(), b.expr(), out_shape, ChunkGrid(sizes), group, 1));
  } else {
    Shape parts_shape = out_shape;
    parts_shape.insert(parts_shape.begin(), groups);
    sizes.insert(sizes.begin(), std::vector<index_t>(static_cast<std::size_t>(groups), 1));
    const Array parts(std::make_shared<MatmulExpr>(a.expr(), b.expr(), std::move(parts_shape),
                                                   ChunkGrid(sizes), group, groups));
    out = parts.sum(0).astype(work);
  }
  if (dtype == DType::Bool) out = out != 0;
  const int last = out.ndim() - 1;
  if (b_in.ndim() == 1) out = squeeze(out, last);
  if (a_in.ndim() == 1) out = squeeze(out, last - 1);
  return out;
}

Array tensordot(const Array& a, const Array& b, const std::vector<int>& a_axes_in,
                const std::vector<int>& b_axes_in) {
  if (a_axes_in.size() != b_axes_in.size()) {
    throw value_error(fmt::format("tensordot: {} axes of a against {} axes of b", a_axes_in.size(),
                                  b_axes_in.size()));
  }
  std::vector<int> a_axes, b_axes;
  for (std::size_t i = 0; i < a_axes_in.size(); ++i) {
    a_axes.push_back(normalize_axis(a_axes_in[i], a.ndim()));
    b_axes.push_back(normalize_axis(b_axes_in[i], b.ndim()));
    if (a.shape()[u(a_axes.back())] != b.shape()[u(b_axes.back())]) {
      throw shape_error(fmt::format(
          "tensordot: shapes {} and {} do not align: a's axis {} has {} elements, b's axis {} {}",
          shape_string(a.shape()), shape_string(b.shape()), a_axes.back(),
          a.shape()[u(a_axes.back())], b_axes.back(), b.shape()[u(b_axes.back())]));
    }
  }
  const auto others = [](int ndim, const std::vector<int>& axes) {
    std::vector<int> out;
    for (int d = 0; d < ndim; ++d)
      if (std::find(axes.begin(), axes.end(), d) == axes.end()) out.push_back(d);
    if (out.size() + axes.size() != static_cast<std::size_t>(ndim))
      throw value_error(fmt::format("tensordot: an axis is repeated in {}", axes));
    return out;
  };
  const std::vector<int> free_a = others(a.ndim(), a_axes), free_b = others(b.ndim(), b_axes);
  Shape out_shape;
  index_t m = 1, n = 1, k = 1;
  for (int d : free_a) m *= a.shape()[u(d)], out_shape.push_back(a.shape()[u(d)]);
  for (int d : free_b) n *= b.shape()[u(d)], out_shape.push_back(b.shape()[u(d)]);
  for (int d : a_axes) k *= a.shape()[u(d)];
  std::vector<int> pa = free_a, pb = b_axes;
  pa.insert(pa.end(), a_axes.begin(), a_axes.end());
  pb.insert(pb.end(), free_b.begin(), free_b.end());
  const Array a2 = reshape(permute_dims(a, pa), Shape{m, k});
  const Array b2 = reshape(permute_dims(b, pb), Shape{k, n});
  return reshape(matmul(a2, b2), out_shape);
}

Array tensordot(const Array& a, const Array& b, int axes) {
  if (axes < 0 || axes > a.ndim() || axes > b.ndim()) {
    throw value_error(
        fmt::format("tensordot: {} axes for operands of {} and {} axes", axes, a.ndim(), b.ndim()));
  }
  std::vector<int> a_axes, b_axes;
  for (int i = 0; i < axes; ++i) {
    a_axes.push_back(a.ndim() - axes + i);
    b_axes.push_back(i);
  }
  return tensordot(a, b, a_axes, b_axes);
}

Array dot(const Array& a, const Array& b) {
  if (a.ndim() == 0 || b.ndim() == 0) return a * b;
  if (a.ndim() <= 2 && b.ndim() <= 2) return matmul(a, b);
  return tensordot(a, b, {a.ndim() - 1}, {b.ndim() == 1 ? 0 : b.ndim() - 2});
}

Array vdot(const Array& a, const Array& b) {
  if (a.size() != b.size()) {
    throw shape_error(fmt::format("vdot: operands of sizes {} and {} (shapes {} and {})", a.size(),
                                  b.size(), shape_string(a.shape()), shape_string(b.shape())));
  }
  const DType dtype = promote(a.dtype(), b.dtype());
  const Array fa = ravel(a), fb = ravel(b);
  if (dtype == DType::Bool) return any(logical_and(fa, fb));
  return sum(fa.astype(dtype) * fb.astype(dtype)).astype(dtype);
}

Array outer(const Array& a, const Array& b) {
  return expand_dims(ravel(a), 1) * expand_dims(ravel(b), 0);
}

Array trace(const Array& a, index_t offset, int axis1, int axis2) {
  if (a.ndim() < 2) {
    throw value_error(
        fmt::format("trace: an array of shape {} has fewer than 2 axes", shape_string(a.shape())));
  }
  const int a1 = normalize_axis(axis1, a.ndim()), a2 = normalize_axis(axis2, a.ndim());
  if (a1 == a2) throw value_error(fmt::format("trace: axis1 and axis2 are both {}", a1));
  // The two axes last, then the diagonal kept by a mask in their chunks.
  const Array x = moveaxis(a, {a1, a2}, {-2, -1});
  const int nd = x.ndim();
  const Array mask =
      eye(x.shape()[u(nd - 2)],
          ChunkSpec::explicit_sizes({x.chunks().sizes(nd - 2), x.chunks().sizes(nd - 1)}),
          x.shape()[u(nd - 1)], offset, DType::Bool);
  return sum(where(mask, x, 0), {nd - 2, nd - 1});
}

// --- einsum ----------------------------------------------------------------------------------

namespace {

struct Subscripts {
  std::vector<std::string> inputs;
  std::string output;
};

Subscripts parse_subscripts(std::string_view spec, const std::vector<const Array*>& operands) {
  std::string s;
  for (char c : spec)
    if (c != ' ') s.push_back(c);
  if (s.find('.') != std::string::npos)
    throw value_error(fmt::format("einsum '{}': ellipses are not supported", spec));
  Subscripts out;
  const auto arrow = s.find("->");
  const std::string lhs = s.substr(0, arrow);
  for (std::size_t start = 0;;) {
    const auto comma = lhs.find(',', start);
    out.inputs.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.inputs.size() != operands.size()) {
    throw value_error(fmt::format("einsum '{}': {} subscript groups for {} operands", spec,
                                  out.inputs.size(), operands.size()));
  }
  std::map<char, int> count;
  std::map<char, index_t> length;
  for (std::size_t i = 0; i < out.inputs.size(); ++i) {
    const std::string& in = out.inputs[i];
    const Array& x = *operands[i];
    if (static_cast<int>(in.size()) != x.ndim()) {
      throw value_error(
          fmt::format("einsum '{}': operand {} has {} axes (shape {}) but '{}' names {}", spec, i,
                      x.ndim(), shape_string(x.shape()), in, in.size()));
    }
    for (std::size_t d = 0; d < in.size(); ++d) {
      const char c = in[d];
      if (!std::isalpha(static_cast<unsigned char>(c)))
        throw value_error(fmt::format("einsum '{}': '{}' is not an index letter", spec, c));
      ++count[c];
      const index_t n = x.shape()[d];
      if (auto [it, fresh] = length.emplace(c, n); !fresh && it->second != n) {
        throw shape_error(
            fmt::format("einsum '{}': index '{}' has length {} and {}", spec, c, it->second, n));
      }
    }
  }
  if (arrow == std::string::npos) {
    for (const auto& [c, n] : count)
      if (n == 1) out.output.push_back(c);  // std::map: sorted
  } else {
    out.output = s.substr(arrow + 2);
    for (std::size_t i = 0; i < out.output.size(); ++i) {
      const char c = out.output[i];
      if (!count.contains(c) || out.output.find(c, i + 1) != std::string::npos) {
        throw value_error(fmt::format("einsum '{}': output index '{}' is {}", spec, c,
                                      count.contains(c) ? "repeated" : "in no operand"));
      }
    }
  }
  return out;
}

bool has_repeats(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s.find(s[i], i + 1) != std::string::npos) return true;
  return false;
}

/// `x` with the axes its subscripts `in` name that `keep` lacks summed away (in x's dtype, as
/// NumPy's einsum gives it), and the subscripts left.
std::pair<Array, std::string> sum_unused(const Array& x, const std::string& in,
                                         const std::string& keep) {
  std::vector<int> axes;
  std::string left;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (keep.find(in[d]) == std::string::npos)
      axes.push_back(static_cast<int>(d));
    else
      left.push_back(in[d]);
  }
  if (axes.empty()) return {x, in};
  const DType dtype = x.dtype() == DType::Bool ? DType::Int64 : x.dtype();
  return {sum(x, Axes(axes)).astype(dtype), left};
}

/// The permutation of `from`'s axes that gives `to` (the same letters).
std::vector<int> permutation(const std::string& from, const std::string& to) {
  std::vector<int> p;
  for (char c : to) p.push_back(static_cast<int>(from.find(c)));
  return p;
}

}  // namespace

Array einsum(std::string_view spec, const Array& a) {
  const Subscripts s = parse_subscripts(spec, {&a});
  const std::string& in = s.inputs[0];
  if (has_repeats(in)) {
    if (in.size() == 2 && s.output.empty()) return trace(a);
    throw value_error(fmt::format(
        "einsum '{}': an index repeated within an operand is supported only as a full trace "
        "('ii->')",
        spec));
  }
  const auto [x, left] = sum_unused(a, in, s.output);
  return permute_dims(x, permutation(left, s.output));
}

Array einsum(std::string_view spec, const Array& a_in, const Array& b_in) {
  const Subscripts s = parse_subscripts(spec, {&a_in, &b_in});
  if (has_repeats(s.inputs[0]) || has_repeats(s.inputs[1])) {
    throw value_error(fmt::format(
        "einsum '{}': an index repeated within an operand is not supported with two operands",
        spec));
  }
  // Sum first what only one operand has and the output lacks.
  const auto [a, sa] = sum_unused(a_in, s.inputs[0], s.output + s.inputs[1]);
  const auto [b, sb] = sum_unused(b_in, s.inputs[1], s.output + s.inputs[0]);
  std::string batch, free_a, free_b, contracted;
  for (char c : s.output) {
    const bool in_a = sa.find(c) != std::string::npos, in_b = sb.find(c) != std::string::npos;
    if (in_a && in_b) batch.push_back(c);
  }
  for (char c : sa) {
    const bool in_b = sb.find(c) != std::string::npos;
    const bool in_out = s.output.find(c) != std::string::npos;
    if (!in_b) free_a.push_back(c);
    if (in_b && !in_out) contracted.push_back(c);
  }
  for (char c : sb)
    if (sa.find(c) == std::string::npos) free_b.push_back(c);

  const auto lengths = [](const Array& x, const std::string& subs, const std::string& which) {
    Shape out;
    for (char c : which) out.push_back(x.shape()[subs.find(c)]);
    return out;
  };
  const auto product = [](const Shape& shape) { return shape_size(shape); };
  const Shape batch_shape = lengths(a, sa, batch), m_shape = lengths(a, sa, free_a),
              n_shape = lengths(b, sb, free_b);
  const index_t m = product(m_shape), n = product(n_shape), k = product(lengths(a, sa, contracted));

  Shape a_shape = batch_shape, b_shape = batch_shape;
  a_shape.insert(a_shape.end(), {m, k});
  b_shape.insert(b_shape.end(), {k, n});
  const Array a3 = reshape(permute_dims(a, permutation(sa, batch + free_a + contracted)), a_shape);
  const Array b3 = reshape(permute_dims(b, permutation(sb, batch + contracted + free_b)), b_shape);
  Array c = matmul(a3, b3);
  // (batch..., m, n) -> (batch..., free_a..., free_b...) -> the output's order.
  Shape c_shape = batch_shape;
  c_shape.insert(c_shape.end(), m_shape.begin(), m_shape.end());
  c_shape.insert(c_shape.end(), n_shape.begin(), n_shape.end());
  return permute_dims(reshape(c, c_shape), permutation(batch + free_a + free_b, s.output));
}

Array einsum(std::string_view spec, const std::vector<Array>& operands) {
  if (operands.empty()) throw value_error(fmt::format("einsum '{}': no operands", spec));
  std::vector<const Array*> pointers;
  for (const Array& x : operands) pointers.push_back(&x);
  const Subscripts s = parse_subscripts(spec, pointers);
  if (operands.size() == 1)
    return einsum(fmt::format("{}->{}", s.inputs[0], s.output), operands[0]);
  Array current = operands[0];
  std::string subs = s.inputs[0];
  for (std::size_t i = 1; i < operands.size(); ++i) {
    // Indices still needed: the output's and those of the operands not yet contracted.
    std::string needed = s.output;
    for (std::size_t j = i + 1; j < operands.size(); ++j) needed += s.inputs[j];
    const bool last = i + 1 == operands.size();
    std::string next;
    if (last) {
      next = s.output;
    } else {
      for (char c : subs + s.inputs[i])
        if (needed.find(c) != std::string::npos && next.find(c) == std::string::npos)
          next.push_back(c);
    }
    current = einsum(fmt::format("{},{}->{}", subs, s.inputs[i], next), current, operands[i]);
    subs = next;
  }
  return current;
}

}  // namespace tessera
