#pragma once
// Source nodes (values defined by their global index) used by creation, random and scalars.

#include <functional>

#include "tessera/graph/expr.hpp"

namespace tessera::detail {

/// Global row-major flat index of multi-index `start` in `shape`.
index_t flat_index(const Shape& shape, const index_t* start);

/// Every element equal to one value (zeros, ones, full, scalar operands).
class FullSource final : public SourceExpr {
 public:
  /// `f` is used for float dtypes, `i` for integers and bool (so int64 values stay exact).
  FullSource(Shape shape, ChunkGrid chunks, DType dtype, double f, std::int64_t i);
  std::string_view op_name() const override { return "full"; }
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  double m_f;
  std::int64_t m_i;
};

/// start + i * step along a 1-d axis, computed as NumPy's arange does.
class ArangeSource final : public SourceExpr {
 public:
  /// Floating arguments: values computed in double, as NumPy does.
  ArangeSource(index_t n, ChunkGrid chunks, DType dtype, double start, double step);
  /// Integer arguments: values computed exactly in int64 (every value lies between start and
  /// stop, so none overflows).
  ArangeSource(index_t n, ChunkGrid chunks, DType dtype, std::int64_t start, std::int64_t step);
  std::string_view op_name() const override { return "arange"; }
  void fill(void* out, const index_t* start, index_t n) const override;
  std::optional<Affine> affine() const override {
    if (m_integer || dtype() != DType::Float64) return std::nullopt;
    return Affine{m_start, m_step};
  }

 private:
  bool m_integer;
  double m_start, m_step;
  std::int64_t m_istart, m_istep;
};

/// NumPy's linspace: start + i * step, the last element exactly `stop` when endpoint.
class LinspaceSource final : public SourceExpr {
 public:
  LinspaceSource(index_t num, ChunkGrid chunks, DType dtype, double start, double stop,
                 bool endpoint);
  std::string_view op_name() const override { return "linspace"; }
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  double m_start, m_stop, m_step;
  index_t m_num;
  bool m_endpoint;
};

/// Ones on the k-th diagonal of an (n, m) matrix.
class EyeSource final : public SourceExpr {
 public:
  EyeSource(index_t n, index_t m, index_t k, ChunkGrid chunks, DType dtype);
  std::string_view op_name() const override { return "eye"; }
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  index_t m_k;
};

/// A user callable of the global multi-index, returning one element (stored as `dtype`).
class FunctionSource final : public SourceExpr {
 public:
  using Fn = std::function<void(const index_t* index, void* out)>;
  FunctionSource(Shape shape, ChunkGrid chunks, DType dtype, Fn fn);
  std::string_view op_name() const override { return "fromfunction"; }
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  Fn m_fn;
};

enum class RandomKind { Uniform, Normal, Integers };

/// Counter-based random values: element i is a pure function of (seed, stream, global flat
/// index i), so every chunking and rank count gives the same array.
class RandomSource final : public SourceExpr {
 public:
  /// Uniform and normal use (a, b) = (low, high) or (mean, stddev); integers use the exact
  /// (ia, ib) = (low, high).
  RandomSource(RandomKind kind, std::uint64_t seed, std::uint64_t stream, Shape shape,
               ChunkGrid chunks, DType dtype, double a, double b, std::int64_t ia = 0,
               std::int64_t ib = 0);
  std::string_view op_name() const override;
  void fill(void* out, const index_t* start, index_t n) const override;

 private:
  RandomKind m_kind;
  std::uint64_t m_seed, m_stream;
  double m_a, m_b;
  std::int64_t m_ia, m_ib;
};

}  // namespace tessera::detail
