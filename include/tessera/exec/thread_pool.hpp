#pragma once
/// @file
/// `ThreadPool`: a fixed set of worker threads that balance load by work stealing.
///
/// Each worker owns a Chase-Lev deque. The owner pushes and pops at the bottom (LIFO: the
/// work it just created runs next, while its inputs are still in cache, which keeps a task
/// graph's execution depth-first); idle workers steal from the top of the others' deques
/// (FIFO: the oldest entries, which are the least urgent ones). Jobs submitted from threads
/// outside the pool go to a shared injection queue. A worker that finds nothing spins
/// briefly, then sleeps on a condition variable until new work is pushed, so an idle pool
/// costs no CPU.
///
/// Jobs are intrusive (`ThreadPool::Job`): the pool never allocates per job, which is what
/// lets a scheduler hand it 10^5 tiny tasks per run. `submit(std::function)` and
/// `run_batch` are the convenient, allocating layer on top.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

namespace detail {
class WorkStealingDeque;
}  // namespace detail

class ThreadPool {
 public:
  class Job;
  class Worker;
  class WaitGroup;

  /// Starts `num_threads` workers (at least 1; throws value_error otherwise).
  explicit ThreadPool(int num_threads);
  /// Runs the jobs still queued, then joins the workers. No job may be submitted once
  /// destruction has begun.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const noexcept { return static_cast<int>(m_workers.size()); }

  /// Queues `job`: on the calling worker's own deque when called from a worker of this pool,
  /// else on the injection queue. The caller keeps `job` alive until it has run. The same job
  /// may be queued several times at once if its `execute` is reentrant.
  void submit(Job& job);

  /// Fire and forget: runs `fn` once on some worker. `fn` must not throw (an escaping
  /// exception calls std::terminate, as with std::thread); to wait for completion or get
  /// errors back, use run_batch or a WaitGroup.
  void submit(std::function<void()> fn);

  /// Runs `fn(i)` for every i in [0, count) and returns when all calls have finished. Workers
  /// claim indices in increasing order, `grain` at a time. The first exception thrown by `fn`
  /// is rethrown here, and indices not yet claimed are skipped. Callable from a worker of
  /// this pool: the caller then executes jobs while it waits instead of blocking.
  void run_batch(std::int64_t count, const std::function<void(std::int64_t)>& fn,
                 std::int64_t grain = 1);

  /// The worker of this pool that runs the calling thread, or nullptr.
  Worker* current_worker() const noexcept;

 private:
  friend class Worker;

  void worker_main(Worker& self);
  Job* find_job(Worker& self);
  Job* steal_for(Worker& self);
  Job* take_injected();
  void wake_one() noexcept;

  std::vector<std::unique_ptr<Worker>> m_workers;

  std::mutex m_injected_mutex;
  std::deque<Job*> m_injected;
  std::atomic<std::size_t> m_injected_size{0};  // mirrors m_injected.size() for lock-free peeks

  // Sleep protocol: a worker reads m_epoch, registers in m_sleepers, looks for work once
  // more, and only then waits for m_epoch to change. A pusher that sees m_sleepers > 0 bumps
  // m_epoch. All accesses to the counters are seq_cst, so either the pusher sees the sleeper
  // or the sleeper's last look sees the pushed job: no wake-up is lost.
  std::mutex m_sleep_mutex;
  std::condition_variable m_sleep_cv;
  std::uint64_t m_epoch = 0;  // guarded by m_sleep_mutex
  bool m_stopping = false;    // guarded by m_sleep_mutex
  std::atomic<int> m_sleepers{0};
};

/// A unit of work. The pool only stores pointers to jobs; whoever queues one owns it.
class ThreadPool::Job {
 public:
  /// Runs on the worker thread `self`. It may push more jobs through `self`. Exceptions must
  /// not escape (the pool cannot know whom to tell; an escaping one calls std::terminate).
  virtual void execute(Worker& self) = 0;

 protected:
  Job() = default;
  Job(const Job&) = default;
  Job& operator=(const Job&) = default;
  ~Job() = default;
};

/// One worker thread and its deque. `push` and `pop` are for code running on this worker
/// (inside a Job's execute), which is how a scheduler keeps newly ready tasks local.
class ThreadPool::Worker {
 public:
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int index() const noexcept { return m_index; }
  ThreadPool& pool() const noexcept { return *m_pool; }

  /// Pushes `job` on this worker's deque and wakes a sleeping worker to steal it.
  /// Only from this worker's own thread.
  void push(Job& job);
  /// The job pushed last on this worker's deque, or nullptr. Only from this worker's thread.
  Job* pop() noexcept;
  /// Runs one job found anywhere in the pool (own deque, other deques, injection queue);
  /// false when there was none. Only from this worker's thread.
  bool run_one();

 private:
  friend class ThreadPool;
  Worker(ThreadPool& pool, int index);

  ThreadPool* m_pool;
  int m_index;
  std::unique_ptr<detail::WorkStealingDeque> m_deque;
  std::thread m_thread;
};

/// Waits for a known number of jobs: `done()` once per job, `wait()` until all are done.
/// Single use. Built for the "last one out" problem: `wait()` returns only after the final
/// `done()` has stopped touching the WaitGroup, so the waiter may destroy it (and the jobs
/// around it) as soon as `wait()` returns.
class ThreadPool::WaitGroup {
 public:
  /// Expects `count` calls to done() (more may be announced with add()).
  explicit WaitGroup(std::int64_t count) noexcept : m_count(count), m_released(count == 0) {}
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  /// Announces `n` more jobs; only while the count is still positive (from a job that has
  /// not called done() yet, or before the first done()).
  void add(std::int64_t n) noexcept { m_count.fetch_add(n, std::memory_order_relaxed); }
  void done() noexcept;
  /// Jobs announced and not done yet (a snapshot).
  std::int64_t pending() const noexcept { return m_count.load(std::memory_order_acquire); }
  /// Blocks until the count reaches zero. On a worker of `pool` it runs other jobs while it
  /// waits (so a task may itself run a graph on the pool it runs on without deadlock).
  void wait(ThreadPool& pool);

 private:
  std::atomic<std::int64_t> m_count;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::atomic<bool> m_released;  // written under m_mutex; read without it by helping waiters
};

}  // namespace tessera
