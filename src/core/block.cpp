#include "tessera/core/block.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <fmt/format.h>

namespace tessera {

namespace {

/// Buffers at least this large are placed on transparent huge pages (2 MiB on x86-64).
constexpr std::size_t huge_page_threshold = std::size_t{4} << 20;
constexpr std::size_t huge_page = std::size_t{2} << 20;

/// Recently freed large buffers, kept for the next allocation of the same size. A new buffer's
/// pages are faulted in and zeroed by the kernel on first touch, which costs about as much as
/// writing it: a step of map_overlap or an elementwise chain over 8 MB chunks allocates and
/// frees blocks of one size over and over, and halves its time by reusing them. At most
/// `capacity` bytes are kept (outside the memory budget: the budget counts values, not this).
class BufferCache {
 public:
  static constexpr std::size_t capacity = std::size_t{64} << 20;

  static BufferCache& instance() {
    static auto* cache = new BufferCache;  // never destroyed: buffers are freed to it at exit
    return *cache;
  }
  void* take(std::size_t bytes) {
    const std::lock_guard lock(m_mutex);
    auto it = m_free.find(bytes);
    if (it == m_free.end()) return nullptr;
    void* p = it->second;
    m_free.erase(it);
    m_held -= bytes;
    return p;
  }
  /// Keeps `p` (of `bytes`) when there is room, else frees it.
  void give(void* p, std::size_t bytes) {
    {
      const std::lock_guard lock(m_mutex);
      if (m_held + bytes <= capacity) {
        m_free.emplace(bytes, p);
        m_held += bytes;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex m_mutex;
  std::multimap<std::size_t, void*> m_free;
  std::size_t m_held = 0;
};

}  // namespace

namespace detail {

std::shared_ptr<void> allocate_buffer(std::size_t nbytes) {
  // Large chunks are streamed through once per task: huge pages cut their first-touch page
  // faults by 512x and their TLB misses while streaming. With THP in "madvise" mode (Debian's
  // default) they must be asked for, on 2 MiB-aligned memory.
  const bool huge = nbytes >= huge_page_threshold;
  const std::size_t align = huge ? huge_page : Block::alignment;
  // aligned_alloc requires a multiple of the alignment; never ask for 0 bytes.
  const std::size_t rounded = (std::max<std::size_t>(nbytes, 1) + align - 1) / align * align;
  if (!huge) {
    void* p = std::aligned_alloc(align, rounded);
    if (p == nullptr) throw std::bad_alloc();
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  void* p = BufferCache::instance().take(rounded);
  if (p == nullptr) {
    p = std::aligned_alloc(align, rounded);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
  }
  return std::shared_ptr<void>(p, [rounded](void* q) { BufferCache::instance().give(q, rounded); });
}

}  // namespace detail

namespace {

void check_shape(const Shape& shape) {
  for (index_t e : shape) {
    if (e < 0)
      throw shape_error(fmt::format("negative dimension in shape {}", shape_string(shape)));
  }
}

}  // namespace

Block::Block(DType dtype, Shape shape) : m_dtype(dtype), m_shape(std::move(shape)) {
  check_shape(m_shape);
  const index_t bytes = shape_nbytes(m_shape, dtype_size(dtype), dtype_name(dtype));
  m_size = shape_size(m_shape);
  try {
    m_data = detail::allocate_buffer(static_cast<std::size_t>(bytes));
  } catch (const std::bad_alloc&) {
    throw memory_error(fmt::format("unable to allocate {} for a block of shape {} and dtype {}",
                                   detail::format_bytes(static_cast<std::size_t>(bytes)),
                                   shape_string(m_shape), dtype_name(dtype)));
  }
}

Block Block::zeros(DType dtype, Shape shape) {
  Block b(dtype, std::move(shape));
  std::memset(b.data(), 0, b.nbytes());
  return b;
}

Block Block::adopt(DType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive) {
  check_shape(shape);
  Block b;
  b.m_dtype = dtype;
  shape_nbytes(shape, dtype_size(dtype), dtype_name(dtype));  // sizes past 2^63 - 1 bytes
  b.m_shape = std::move(shape);
  b.m_size = shape_size(b.m_shape);
  b.m_data = std::shared_ptr<void>(std::move(keep_alive), data);  // aliasing constructor
  return b;
}

Block Block::clone() const {
  Block b(m_dtype, m_shape);
  if (nbytes()) std::memcpy(b.data(), data(), nbytes());
  return b;
}

Block Block::reshaped(Shape shape) const {
  check_shape(shape);  // (-3, -4) has the size of (3, 4) but is no shape
  if (shape_size(shape) != m_size) {
    throw shape_error(fmt::format("cannot reshape block of shape {} into shape {}",
                                  shape_string(m_shape), shape_string(shape)));
  }
  Block b = *this;
  b.m_shape = std::move(shape);
  return b;
}

}  // namespace tessera
