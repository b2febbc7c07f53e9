#include "tessera/exec/thread_pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "core/spin_wait.hpp"
#include "exec/chaos.hpp"
#include "exec/trace.hpp"
#include "tessera/core/error.hpp"

namespace tessera {

namespace detail {

/// The Chase-Lev work-stealing deque (Chase & Lev 2005; memory orders after Lê et al. 2013),
/// holding Job pointers. The owner pushes and pops at the bottom; thieves take from the top.
/// Every access to `m_top` and `m_bottom` that the algorithm's correctness argument relies
/// on is seq_cst instead of relaxed-plus-fences: ThreadSanitizer understands seq_cst
/// operations but not standalone fences, and on x86 the cost is the same.
class WorkStealingDeque {
 public:
  WorkStealingDeque() : m_ring(new Ring(kInitialCapacity)) { m_owned.emplace_back(m_ring.load()); }

  /// Owner only.
  void push(ThreadPool::Job* job) {
    const std::int64_t b = m_bottom.load(std::memory_order_relaxed);
    const std::int64_t t = m_top.load(std::memory_order_acquire);
    Ring* ring = m_ring.load(std::memory_order_relaxed);
    if (b - t >= ring->capacity) ring = grow(ring, t, b);
    ring->put(b, job);
    // seq_cst (not just release): the pusher's following read of the sleeper count must not
    // be ordered before this store, or a worker going to sleep could miss the job.
    m_bottom.store(b + 1, std::memory_order_seq_cst);
  }

  /// Owner only: the most recently pushed job, or nullptr.
  ThreadPool::Job* pop() noexcept {
    const std::int64_t b = m_bottom.load(std::memory_order_relaxed) - 1;
    Ring* ring = m_ring.load(std::memory_order_relaxed);
    m_bottom.store(b, std::memory_order_seq_cst);
    std::int64_t t = m_top.load(std::memory_order_seq_cst);
    if (t > b) {  // empty
      m_bottom.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    ThreadPool::Job* job = ring->get(b);
    if (t == b) {  // the last entry: race the thieves for it
      if (!m_top.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
        job = nullptr;
      }
      m_bottom.store(b + 1, std::memory_order_relaxed);
    }
    return job;
  }

  /// Any thread: the oldest job, or nullptr when empty. Retries when it loses a race to
  /// another thief, so nullptr really means "was empty" (which the sleep protocol needs).
  ThreadPool::Job* steal() noexcept {
    for (;;) {
      std::int64_t t = m_top.load(std::memory_order_seq_cst);
      const std::int64_t b = m_bottom.load(std::memory_order_seq_cst);
      if (t >= b) return nullptr;
      // The ring loaded after `bottom` holds entry t: it is either the ring that entry was
      // pushed into or a grown copy of it. A stale read (t stolen meanwhile) fails the CAS.
      ThreadPool::Job* job = m_ring.load(std::memory_order_acquire)->get(t);
      if (m_top.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        return job;
      }
    }
  }

  bool empty() const noexcept {
    return m_top.load(std::memory_order_seq_cst) >= m_bottom.load(std::memory_order_seq_cst);
  }

 private:
  static constexpr std::int64_t kInitialCapacity = 1024;

  struct Ring {
    explicit Ring(std::int64_t cap)
        : capacity(cap), mask(cap - 1), slots(new std::atomic<ThreadPool::Job*>[cap]) {}
    void put(std::int64_t i, ThreadPool::Job* job) noexcept {
      slots[i & mask].store(job, std::memory_order_relaxed);
    }
    ThreadPool::Job* get(std::int64_t i) const noexcept {
      return slots[i & mask].load(std::memory_order_relaxed);
    }
    const std::int64_t capacity;  // a power of two
    const std::int64_t mask;
    std::unique_ptr<std::atomic<ThreadPool::Job*>[]> slots;
  };

  Ring* grow(Ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<Ring>(old->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    Ring* ring = bigger.get();
    // Old rings stay alive until the deque dies: a thief may still be reading one.
    m_owned.push_back(std::move(bigger));
    m_ring.store(ring, std::memory_order_release);
    return ring;
  }

  alignas(64) std::atomic<std::int64_t> m_top{0};
  alignas(64) std::atomic<std::int64_t> m_bottom{0};
  alignas(64) std::atomic<Ring*> m_ring;
  std::vector<std::unique_ptr<Ring>> m_owned;  // owner only
};

}  // namespace detail

namespace {

thread_local ThreadPool::Worker* t_current_worker = nullptr;

/// Rounds of looking for work before a worker goes to sleep: the first ones with a CPU pause,
/// the rest yielding the core. Long enough to bridge the gap between two tasks of a busy graph
/// (a sleep/wake round trip costs ~10 us), short enough not to burn a core while idle.
constexpr int kPauseRounds = 64;
constexpr int kYieldRounds = 64;

/// A heap-allocated job that frees itself; the job type behind submit(std::function).
class FunctionJob final : public ThreadPool::Job {
 public:
  explicit FunctionJob(std::function<void()> fn) : m_fn(std::move(fn)) {}
  void execute(ThreadPool::Worker&) override {
    std::function<void()> fn = std::move(m_fn);
    delete this;
    fn();
  }

 private:
  std::function<void()> m_fn;
};

/// The job behind run_batch: queued once per worker that should take part; every copy claims
/// chunks of indices from a shared cursor until none are left.
class BatchJob final : public ThreadPool::Job {
 public:
  BatchJob(std::int64_t count, std::int64_t grain, const std::function<void(std::int64_t)>& fn,
           std::int64_t copies)
      : m_count(count), m_grain(grain), m_fn(fn), m_wait(copies) {}

  void execute(ThreadPool::Worker&) override {
    while (!m_failed.load(std::memory_order_relaxed)) {
      const std::int64_t begin = m_next.fetch_add(m_grain, std::memory_order_relaxed);
      if (begin >= m_count) break;
      const std::int64_t end = std::min(begin + m_grain, m_count);
      try {
        for (std::int64_t i = begin; i < end; ++i) m_fn(i);
      } catch (...) {
        std::lock_guard lock(m_error_mutex);
        if (!m_error) m_error = std::current_exception();
        m_failed.store(true, std::memory_order_relaxed);
      }
    }
    m_wait.done();  // the last touch of *this
  }

  void wait_and_rethrow(ThreadPool& pool) {
    m_wait.wait(pool);
    if (m_error) std::rethrow_exception(m_error);
  }

 private:
  const std::int64_t m_count;
  const std::int64_t m_grain;
  const std::function<void(std::int64_t)>& m_fn;
  std::atomic<std::int64_t> m_next{0};
  std::atomic<bool> m_failed{false};
  std::mutex m_error_mutex;
  std::exception_ptr m_error;
  ThreadPool::WaitGroup m_wait;
};

}  // namespace

// --- ThreadPool::Worker ---

ThreadPool::Worker::Worker(ThreadPool& pool, int index)
    : m_pool(&pool), m_index(index), m_deque(std::make_unique<detail::WorkStealingDeque>()) {}

ThreadPool::Worker::~Worker() = default;

void ThreadPool::Worker::push(Job& job) {
  m_deque->push(&job);
  m_pool->wake_one();
}

ThreadPool::Job* ThreadPool::Worker::pop() noexcept { return m_deque->pop(); }

bool ThreadPool::Worker::run_one() {
  Job* job = m_pool->find_job(*this);
  if (job == nullptr) return false;
  job->execute(*this);
  return true;
}

// --- ThreadPool ---

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) {
    throw value_error(fmt::format("a thread pool needs at least 1 thread, got {}", num_threads));
  }
  m_workers.reserve(static_cast<std::size_t>(num_threads));
  for (int i = 0; i < num_threads; ++i) {
    m_workers.push_back(std::unique_ptr<Worker>(new Worker(*this, i)));
  }
  // Start threads only once every worker exists: a worker steals from all the others.
  for (auto& worker : m_workers) {
    Worker& w = *worker;
    w.m_thread = std::thread([this, &w] { worker_main(w); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(m_sleep_mutex);
    m_stopping = true;
    ++m_epoch;
  }
  m_sleep_cv.notify_all();
  for (auto& worker : m_workers) worker->m_thread.join();
}

ThreadPool::Worker* ThreadPool::current_worker() const noexcept {
  Worker* w = t_current_worker;
  return (w != nullptr && w->m_pool == this) ? w : nullptr;
}

void ThreadPool::submit(Job& job) {
  if (Worker* self = current_worker()) {
    self->push(job);
    return;
  }
  {
    std::lock_guard lock(m_injected_mutex);
    m_injected.push_back(&job);
    m_injected_size.store(m_injected.size(), std::memory_order_seq_cst);
  }
  wake_one();
}

void ThreadPool::submit(std::function<void()> fn) { submit(*new FunctionJob(std::move(fn))); }

void ThreadPool::run_batch(std::int64_t count, const std::function<void(std::int64_t)>& fn,
                           std::int64_t grain) {
  if (count <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t chunks = (count + grain - 1) / grain;
  const std::int64_t copies = std::min<std::int64_t>(chunks, num_threads());
  BatchJob job(count, grain, fn, copies);
  for (std::int64_t i = 0; i < copies; ++i) submit(job);
  job.wait_and_rethrow(*this);
}

void ThreadPool::wake_one() noexcept {
  if (m_sleepers.load(std::memory_order_seq_cst) == 0) return;
  {
    std::lock_guard lock(m_sleep_mutex);
    ++m_epoch;
  }
  m_sleep_cv.notify_one();
}

ThreadPool::Job* ThreadPool::take_injected() {
  if (m_injected_size.load(std::memory_order_seq_cst) == 0) return nullptr;
  std::lock_guard lock(m_injected_mutex);
  if (m_injected.empty()) return nullptr;
  Job* job = m_injected.front();
  m_injected.pop_front();
  m_injected_size.store(m_injected.size(), std::memory_order_seq_cst);
  return job;
}

ThreadPool::Job* ThreadPool::steal_for(Worker& self) {
  const auto n = m_workers.size();
  for (std::size_t k = 1; k < n; ++k) {
    Worker& victim = *m_workers[(static_cast<std::size_t>(self.m_index) + k) % n];
    if (Job* job = victim.m_deque->steal()) return job;
  }
  return nullptr;
}

ThreadPool::Job* ThreadPool::find_job(Worker& self) {
  // Own work first (depth-first, cache-warm), then work other workers have started, and only
  // then new work from outside: finishing what is under way keeps memory low.
  if (Job* job = self.m_deque->pop()) return job;
  if (Job* job = steal_for(self)) return job;
  return take_injected();
}

void ThreadPool::worker_main(Worker& self) {
  t_current_worker = &self;
  detail::trace::name_this_thread(fmt::format("worker {}", self.index()));
  for (;;) {
    Job* job = find_job(self);
    for (int round = 0; job == nullptr && round < kPauseRounds + kYieldRounds; ++round) {
      if (round < kPauseRounds) {
        detail::cpu_relax();
      } else {
        std::this_thread::yield();
      }
      job = find_job(self);
    }
    if (job == nullptr) {
      std::uint64_t epoch = 0;
      {
        std::lock_guard lock(m_sleep_mutex);
        epoch = m_epoch;
      }
      m_sleepers.fetch_add(1, std::memory_order_seq_cst);
      job = find_job(self);  // the last look, now that pushers can see us
      if (job == nullptr) {
        std::unique_lock lock(m_sleep_mutex);
        if (m_stopping) {
          m_sleepers.fetch_sub(1, std::memory_order_seq_cst);
          return;  // nothing queued anywhere and no more submissions allowed
        }
        m_sleep_cv.wait(lock, [&] { return m_epoch != epoch || m_stopping; });
      }
      m_sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
    if (job != nullptr) job->execute(self);
  }
}

// --- ThreadPool::WaitGroup ---

void ThreadPool::WaitGroup::done() noexcept {
  const bool last = m_count.fetch_sub(1, std::memory_order_acq_rel) == 1;
  detail::chaos_point();  // a waiter that sees the count at zero may not return before we do
  if (!last) return;
  // Notify while holding the lock: the waiter cannot return (and destroy *this) before we
  // release it, and we touch nothing after that.
  std::lock_guard lock(m_mutex);
  m_released.store(true, std::memory_order_release);
  m_cv.notify_all();
}

void ThreadPool::WaitGroup::wait(ThreadPool& pool) {
  if (Worker* self = pool.current_worker()) {
    // Waiting on a worker: keep executing jobs (ours are among them), so a task that runs a
    // graph on its own pool cannot deadlock it. When there is nothing to run, poll slowly.
    int idle_rounds = 0;
    while (!m_released.load(std::memory_order_acquire)) {
      if (self->run_one()) {
        idle_rounds = 0;
      } else if (++idle_rounds < kPauseRounds) {
        detail::cpu_relax();
      } else {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::microseconds(100),
                      [&] { return m_released.load(std::memory_order_relaxed); });
      }
    }
  }
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_released.load(std::memory_order_relaxed); });
}

}  // namespace tessera
