#pragma once
/// @file
/// `Block`: one chunk's data — an aligned, contiguous, row-major N-d buffer of one dtype.

#include <cstddef>
#include <memory>

#include <xtensor/xadapt.hpp>

#include "tessera/core/dtype.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/shape.hpp"
#include "tessera/core/value.hpp"

namespace tessera {

namespace detail {
/// An uninitialised buffer of `nbytes` as Block allocates it: 64-byte aligned, and on
/// transparent huge pages from 4 MiB on (received chunks use it too).
std::shared_ptr<void> allocate_buffer(std::size_t nbytes);
}  // namespace detail

class Block {
 public:
  /// Alignment of every buffer Block allocates: a cache line, enough for AVX-512 loads.
  static constexpr std::size_t alignment = 64;

  /// An empty float64 block of shape (0,).
  Block() : m_shape{0} {}
  /// Uninitialised storage for `shape` elements of `dtype`.
  Block(DType dtype, Shape shape);
  /// Zero-filled storage.
  static Block zeros(DType dtype, Shape shape);
  /// Wraps external contiguous row-major memory without copying; `keep_alive` owns it (may
  /// be null when the caller guarantees the memory outlives every copy of the Block).
  static Block adopt(DType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive);

  DType dtype() const noexcept { return m_dtype; }
  const Shape& shape() const noexcept { return m_shape; }
  int ndim() const noexcept { return static_cast<int>(m_shape.size()); }
  index_t size() const noexcept { return m_size; }
  std::size_t nbytes() const noexcept {
    return static_cast<std::size_t>(m_size) * dtype_size(m_dtype);
  }

  /// Untyped buffer. Copies of a Block share it; a block is treated as immutable once a task
  /// has returned it.
  void* data() noexcept { return m_data.get(); }
  const void* data() const noexcept { return m_data.get(); }

  /// Typed buffer; throws dtype_error when T does not match dtype().
  template <ElementType T>
  T* data_as() {
    check<T>();
    return static_cast<T*>(m_data.get());
  }
  template <ElementType T>
  const T* data_as() const {
    check<T>();
    return static_cast<const T*>(m_data.get());
  }

  /// An xtensor view over the buffer (no copy).
  template <ElementType T>
  auto view() {
    return xt::adapt(data_as<T>(), static_cast<std::size_t>(m_size), xt::no_ownership(), xshape());
  }
  template <ElementType T>
  auto view() const {
    return xt::adapt(data_as<T>(), static_cast<std::size_t>(m_size), xt::no_ownership(), xshape());
  }

  /// A deep copy with its own buffer.
  Block clone() const;
  /// The same buffer seen with another shape of equal size.
  Block reshaped(Shape shape) const;

 private:
  template <class T>
  void check() const {
    if (dtype_of<T>() != m_dtype) detail::throw_dtype_mismatch("block", m_dtype, dtype_of<T>());
  }
  std::vector<std::size_t> xshape() const { return {m_shape.begin(), m_shape.end()}; }

  DType m_dtype = DType::Float64;
  Shape m_shape;
  index_t m_size = 0;
  std::shared_ptr<void> m_data;
};

/// A Block's value counts its buffer (see ValueBytes in value.hpp).
template <>
struct ValueBytes<Block> {
  static std::size_t of(const Block& b) noexcept { return sizeof(Block) + b.nbytes(); }
};

}  // namespace tessera
