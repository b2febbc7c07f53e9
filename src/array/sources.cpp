#include "sources.hpp"

#include <cstring>

#include <fmt/format.h>

#include "random_kernels.hpp"

namespace tessera::detail {

index_t flat_index(const Shape& shape, const index_t* start) {
  index_t f = 0;
  for (std::size_t a = 0; a < shape.size(); ++a) f = f * shape[a] + start[a];
  return f;
}

namespace {

/// The value a FullSource stores for `dtype`: floats keep `f`, integers `i`, and bool is
/// "non-zero" (f is the value as double, non-zero exactly when the value is: 0.5 is true).
std::int64_t full_int_value(DType dtype, double f, std::int64_t i) {
  return dtype == DType::Bool ? std::int64_t{f != 0 || i != 0} : i;
}

}  // namespace

FullSource::FullSource(Shape shape, ChunkGrid chunks, DType dtype, double f, std::int64_t i)
    // The token hashes the value actually stored, so equal constants (and only those) merge.
    : SourceExpr(std::move(shape), dtype, std::move(chunks),
                 is_float(dtype) ? Tokenizer().add(f).finish()
                                 : Tokenizer().add(full_int_value(dtype, f, i)).finish(),
                 "full"),
      m_f(f),
      m_i(full_int_value(dtype, f, i)) {}

void FullSource::fill(void* out, const index_t*, index_t n) const {
  visit_dtype(dtype(), [&]<class T>() {
    const T v = std::is_floating_point_v<T> ? static_cast<T>(m_f) : static_cast<T>(m_i);
    T* o = static_cast<T*>(out);
    for (index_t k = 0; k < n; ++k) o[k] = v;
  });
}

ArangeSource::ArangeSource(index_t n, ChunkGrid chunks, DType dtype, double start, double step)
    : SourceExpr({n}, dtype, std::move(chunks),
                 Tokenizer().add(false).add(start).add(step).finish(), "arange"),
      m_integer(false),
      m_start(start),
      // NumPy fills with delta = (start + step) - start, which can differ from step by rounding.
      m_step(is_float(dtype) ? (start + step) - start : step),
      m_istart(float_to_int<std::int64_t>(start)),
      m_istep(float_to_int<std::int64_t>(step)) {}

ArangeSource::ArangeSource(index_t n, ChunkGrid chunks, DType dtype, std::int64_t start,
                           std::int64_t step)
    : SourceExpr({n}, dtype, std::move(chunks), Tokenizer().add(true).add(start).add(step).finish(),
                 "arange"),
      m_integer(true),
      m_start(static_cast<double>(start)),
      m_step(static_cast<double>(step)),
      m_istart(start),
      m_istep(step) {}

void ArangeSource::fill(void* out, const index_t* start, index_t n) const {
  const index_t i0 = start[0];
  visit_dtype(dtype(), [&]<class T>() {
    T* o = static_cast<T*>(out);
    if (m_integer || !std::is_floating_point_v<T>) {
      // Unsigned, so that a float range cast to an integer dtype wraps instead of overflowing;
      // an integer range never wraps (its values lie between start and stop).
      const auto s = static_cast<std::uint64_t>(m_istart), d = static_cast<std::uint64_t>(m_istep);
      for (index_t k = 0; k < n; ++k) {
        o[k] =
            static_cast<T>(static_cast<std::int64_t>(s + static_cast<std::uint64_t>(i0 + k) * d));
      }
    } else {
      const double s = m_start, d = m_step;
      for (index_t k = 0; k < n; ++k) o[k] = static_cast<T>(s + static_cast<double>(i0 + k) * d);
    }
  });
}

LinspaceSource::LinspaceSource(index_t num, ChunkGrid chunks, DType dtype, double start,
                               double stop, bool endpoint)
    : SourceExpr({num}, dtype, std::move(chunks),
                 Tokenizer().add(start).add(stop).add(endpoint).finish(), "linspace"),
      m_start(start),
      m_stop(stop),
      m_step((stop - start) / static_cast<double>(endpoint ? std::max<index_t>(num - 1, 1)
                                                           : std::max<index_t>(num, 1))),
      m_num(num),
      m_endpoint(endpoint) {}

void LinspaceSource::fill(void* out, const index_t* start, index_t n) const {
  const index_t i0 = start[0];
  visit_dtype(dtype(), [&]<class T>() {
    T* o = static_cast<T*>(out);
    for (index_t k = 0; k < n; ++k) {
      const index_t i = i0 + k;
      const double v = (m_endpoint && i == m_num - 1 && m_num > 1)
                           ? m_stop
                           : static_cast<double>(i) * m_step + m_start;
      o[k] = static_cast<T>(v);
    }
  });
}

EyeSource::EyeSource(index_t n, index_t m, index_t k, ChunkGrid chunks, DType dtype)
    : SourceExpr({n, m}, dtype, std::move(chunks), Tokenizer().add(k).finish(), "eye"), m_k(k) {}

void EyeSource::fill(void* out, const index_t* start, index_t n) const {
  const index_t row = start[0], col0 = start[1];
  visit_dtype(dtype(), [&]<class T>() {
    T* o = static_cast<T*>(out);
    for (index_t k = 0; k < n; ++k) o[k] = static_cast<T>(col0 + k - row == m_k ? 1 : 0);
  });
}

FunctionSource::FunctionSource(Shape shape, ChunkGrid chunks, DType dtype, Fn fn)
    : SourceExpr(std::move(shape), dtype, std::move(chunks), unique_token(), "fromfunction"),
      m_fn(std::move(fn)) {}

void FunctionSource::fill(void* out, const index_t* start, index_t n) const {
  Shape idx(start, start + ndim());
  const std::size_t es = dtype_size(dtype());
  auto* o = static_cast<std::byte*>(out);
  for (index_t k = 0; k < n; ++k) {
    m_fn(idx.data(), o + static_cast<std::size_t>(k) * es);
    if (!idx.empty()) ++idx.back();
  }
}

RandomSource::RandomSource(RandomKind kind, std::uint64_t seed, std::uint64_t stream, Shape shape,
                           ChunkGrid chunks, DType dtype, double a, double b, std::int64_t ia,
                           std::int64_t ib)
    : SourceExpr(std::move(shape), dtype, std::move(chunks),
                 Tokenizer()
                     .add(static_cast<int>(kind))
                     .add(seed)
                     .add(stream)
                     .add(a)
                     .add(b)
                     .add(ia)
                     .add(ib)
                     .finish(),
                 kind == RandomKind::Uniform  ? "random_uniform"
                 : kind == RandomKind::Normal ? "random_normal"
                                              : "random_integers"),
      m_kind(kind),
      m_seed(seed),
      m_stream(stream),
      m_a(a),
      m_b(b),
      m_ia(ia),
      m_ib(ib) {}

std::string_view RandomSource::op_name() const {
  switch (m_kind) {
    case RandomKind::Uniform:
      return "random_uniform";
    case RandomKind::Normal:
      return "random_normal";
    default:
      return "random_integers";
  }
}

void RandomSource::fill(void* out, const index_t* start, index_t n) const {
  const index_t first = flat_index(shape(), start);
  switch (m_kind) {
    case RandomKind::Uniform:
      if (dtype() == DType::Float32)
        random_uniform_f32(m_seed, m_stream, first, n, static_cast<float>(m_a),
                           static_cast<float>(m_b), static_cast<float*>(out));
      else
        random_uniform_f64(m_seed, m_stream, first, n, m_a, m_b, static_cast<double*>(out));
      break;
    case RandomKind::Normal:
      if (dtype() == DType::Float32)
        random_normal_f32(m_seed, m_stream, first, n, static_cast<float>(m_a),
                          static_cast<float>(m_b), static_cast<float*>(out));
      else
        random_normal_f64(m_seed, m_stream, first, n, m_a, m_b, static_cast<double*>(out));
      break;
    case RandomKind::Integers:
      if (dtype() == DType::Int64) {
        random_integers_i64(m_seed, m_stream, first, n, m_ia, m_ib,
                            static_cast<std::int64_t*>(out));
      } else if (dtype() == DType::Int32 && m_ib <= INT32_MAX) {
        random_integers_i32(m_seed, m_stream, first, n, static_cast<std::int32_t>(m_ia),
                            static_cast<std::int32_t>(m_ib), static_cast<std::int32_t*>(out));
      } else {
        // Other integer dtypes, and int32 with high = 2^31 (which does not fit int32): draw
        // int64 values (the same numbers, as the kernels guarantee) and narrow them, a buffer
        // at a time. The bounds were checked to fit the dtype when the array was built.
        visit_dtype(dtype(), [&]<class T>() {
          std::int64_t buf[512];
          auto* o = static_cast<T*>(out);
          for (index_t done = 0; done < n; done += 512) {
            const index_t k = std::min<index_t>(512, n - done);
            random_integers_i64(m_seed, m_stream, first + done, k, m_ia, m_ib, buf);
            for (index_t i = 0; i < k; ++i) o[done + i] = static_cast<T>(buf[i]);
          }
        });
      }
      break;
  }
}

}  // namespace tessera::detail
