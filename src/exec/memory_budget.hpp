#pragma once
/// @file
/// `MemoryBudget`: one rank's account of the task values its executor holds, and the spill
/// file that keeps it under its budget (include/tessera/exec/memory.hpp says what users see).
///
/// Runs (DataflowRun) count every value they keep for a later consumer (`hold`/`release`); a
/// value that must wait for a consumer while the budget is full is written to the spill file
/// instead of being kept (`spill`), and each consumer reads it back (`read_back`). Values under
/// kTracked bytes are not counted: they cost more to count than they weigh.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "tessera/core/value.hpp"
#include "tessera/exec/memory.hpp"

namespace tessera::detail {

/// Where a spilled value lies in the spill file.
struct SpillRecord {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class MemoryBudget {
 public:
  static constexpr std::size_t kTracked = 1024;

  explicit MemoryBudget(std::size_t budget);
  ~MemoryBudget();
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  std::size_t budget() const noexcept { return m_budget; }
  /// Whether `more` bytes fit beside what is held.
  bool fits(std::size_t more) const noexcept {
    return m_held.load(std::memory_order_relaxed) + more <= m_budget;
  }
  /// Bytes of values held now, and bytes of live records in the spill file.
  std::size_t held() const noexcept { return m_held.load(std::memory_order_relaxed); }
  std::size_t in_spill_file() const noexcept { return m_in_file.load(std::memory_order_relaxed); }
  void hold(std::size_t bytes) noexcept;
  void release(std::size_t bytes) noexcept;
  /// Waits until something is released or `timeout` passes.
  void wait_for_release(std::chrono::microseconds timeout);

  /// Writes `v` to the spill file; nullopt when its type has no serializer (it is then kept).
  /// Throws io_error when the file cannot be written.
  std::optional<SpillRecord> spill(const Value& v);
  /// The value `r` holds (each call reads it again).
  Value read_back(const SpillRecord& r);
  /// The record's last reader is done with it.
  void drop(const SpillRecord& r) noexcept;

  void count_tasks(std::int64_t n) noexcept { m_tasks.fetch_add(n, std::memory_order_relaxed); }
  void count_held_back() noexcept { m_held_back.fetch_add(1, std::memory_order_relaxed); }
  MemoryStats stats() const;

 private:
  int spill_fd();

  const std::size_t m_budget;
  std::atomic<std::size_t> m_held{0};
  std::atomic<std::size_t> m_peak{0};
  std::atomic<std::int64_t> m_tasks{0};
  std::atomic<std::int64_t> m_held_back{0};
  std::mutex m_wait_mutex;
  std::condition_variable m_released;

  std::mutex m_file_mutex;  // guards the file's creation, writes, and the two below
  int m_fd = -1;
  std::uint64_t m_end = 0;  // bytes used in the file
  std::int64_t m_live = 0;  // records not dropped yet
  std::atomic<std::size_t> m_spilled_bytes{0}, m_read_back_bytes{0};
  std::atomic<std::size_t> m_in_file{0};  // bytes of records not dropped yet
  std::atomic<std::int64_t> m_spilled_values{0}, m_read_back_values{0};
};

}  // namespace tessera::detail
