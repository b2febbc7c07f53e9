#include "exec/memory_budget.hpp"

#include "exec/trace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "tessera/core/error.hpp"
#include "tessera/core/serialize.hpp"

namespace tessera::detail {

namespace {
void write_all(int fd, const void* data, std::size_t n, std::uint64_t at) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw io_error(fmt::format("cannot write the spill file: {}", std::strerror(errno)));
    p += w;
    n -= static_cast<std::size_t>(w);
    at += static_cast<std::uint64_t>(w);
  }
}
void read_all(int fd, void* out, std::size_t n, std::uint64_t at) {
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(at));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      throw io_error(fmt::format("cannot read the spill file back: {}",
                                 r < 0 ? std::strerror(errno) : "short read"));
    p += r;
    n -= static_cast<std::size_t>(r);
    at += static_cast<std::uint64_t>(r);
  }
}
}  // namespace

MemoryBudget::MemoryBudget(std::size_t budget) : m_budget(budget) {}

MemoryBudget::~MemoryBudget() {
  if (m_fd >= 0) ::close(m_fd);
}

void MemoryBudget::hold(std::size_t bytes) noexcept {
  const std::size_t now = m_held.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::size_t peak = m_peak.load(std::memory_order_relaxed);
  while (now > peak && !m_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  if (trace::on()) trace::maybe_sample_memory(trace::now());
}

void MemoryBudget::release(std::size_t bytes) noexcept {
  m_held.fetch_sub(bytes, std::memory_order_relaxed);
  if (trace::on()) trace::maybe_sample_memory(trace::now());
  std::lock_guard lock(m_wait_mutex);
  m_released.notify_all();
}

void MemoryBudget::wait_for_release(std::chrono::microseconds timeout) {
  std::unique_lock lock(m_wait_mutex);
  m_released.wait_for(lock, timeout);
}

int MemoryBudget::spill_fd() {
  std::lock_guard lock(m_file_mutex);
  if (m_fd >= 0) return m_fd;
  namespace fs = std::filesystem;
  const char* tmp = std::getenv("TMPDIR");
  const fs::path dir = tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
  std::string name = (dir / "tessera-spill-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    throw io_error(
        fmt::format("cannot create a spill file in '{}' (set TMPDIR to a writable "
                    "local directory): {}",
                    dir.string(), std::strerror(errno)));
  }
  ::unlink(name.c_str());  // gone with the process, however it ends
  m_fd = fd;
  return m_fd;
}

std::optional<SpillRecord> MemoryBudget::spill(const Value& v) {
  WireValue w;
  try {
    w = encode(v);
  } catch (const dtype_error&) {
    return std::nullopt;  // no serializer: it stays in memory
  }
  std::uint64_t length = sizeof(std::uint64_t) + w.header.size();
  for (const auto& s : w.segments) length += s.size();
  const int fd = spill_fd();
  // Writers take turns (the disk is the limit anyway), so that a rewind by drop() never meets
  // a write in progress.
  std::lock_guard lock(m_file_mutex);
  SpillRecord r{m_end, length};
  m_end += length;
  ++m_live;
  std::uint64_t at = r.offset;
  const std::uint64_t header_size = w.header.size();
  write_all(fd, &header_size, sizeof header_size, at);
  at += sizeof header_size;
  write_all(fd, w.header.data(), w.header.size(), at);
  at += w.header.size();
  for (const auto& s : w.segments) {
    write_all(fd, s.data(), s.size(), at);
    at += s.size();
  }
  m_spilled_bytes.fetch_add(length, std::memory_order_relaxed);
  m_in_file.fetch_add(length, std::memory_order_relaxed);
  if (trace::on()) trace::maybe_sample_memory(trace::now());
  m_spilled_values.fetch_add(1, std::memory_order_relaxed);
  return r;
}

Value MemoryBudget::read_back(const SpillRecord& r) {
  const int fd = spill_fd();
  std::uint64_t header_size = 0;
  read_all(fd, &header_size, sizeof header_size, r.offset);
  std::vector<std::byte> header(header_size);
  std::uint64_t at = r.offset + sizeof header_size;
  read_all(fd, header.data(), header.size(), at);
  at += header.size();
  std::vector<Segment> segments;
  for (std::size_t size : segment_sizes(header)) {
    Segment s = allocate_segment(size);
    read_all(fd, s.data, size, at);
    at += size;
    segments.push_back(std::move(s));
  }
  m_read_back_bytes.fetch_add(r.length, std::memory_order_relaxed);
  m_read_back_values.fetch_add(1, std::memory_order_relaxed);
  return decode(header, std::move(segments));
}

void MemoryBudget::drop(const SpillRecord& r) noexcept {
  m_in_file.fetch_sub(r.length, std::memory_order_relaxed);
  if (trace::on()) trace::maybe_sample_memory(trace::now());
  std::lock_guard lock(m_file_mutex);
  if (--m_live == 0 && m_fd >= 0) {
    // Nothing spilled is alive: the file starts again from the beginning.
    m_end = 0;
    [[maybe_unused]] const int rc = ::ftruncate(m_fd, 0);
  }
}

MemoryStats MemoryBudget::stats() const {
  MemoryStats s;
  s.budget = m_budget;
  s.held = m_held.load(std::memory_order_relaxed);
  s.peak_held = m_peak.load(std::memory_order_relaxed);
  s.spilled_bytes = m_spilled_bytes.load(std::memory_order_relaxed);
  s.spilled_values = m_spilled_values.load(std::memory_order_relaxed);
  s.read_back_bytes = m_read_back_bytes.load(std::memory_order_relaxed);
  s.read_back_values = m_read_back_values.load(std::memory_order_relaxed);
  s.tasks_run = m_tasks.load(std::memory_order_relaxed);
  s.held_back = m_held_back.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tessera::detail
