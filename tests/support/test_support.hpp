#pragma once
// Shared helpers for tests: the schedulers every operation runs on, chunkings to sweep, and
// comparison of a computed array with an xtensor reference.

#include <gtest/gtest.h>
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xio.hpp>

#include "support/launcher.hpp"
#include "tessera/exec/distributed_scheduler.hpp"
#include "tessera/tessera.hpp"

namespace tessera::testing {

/// Whether the tests run on every rank of an MPI job: always in the MPI-only tests
/// (TESSERA_TEST_DISTRIBUTED), and in the array and property tests when a launcher started them.
inline bool distributed_run() {
#ifdef TESSERA_TEST_DISTRIBUTED
  return true;
#else
  return launched_by_mpi();
#endif
}

/// Releases the distributed scheduler at the end of RUN_ALL_TESTS, before MPI is finalised.
class SchedulerRelease : public ::testing::Environment {
 public:
  explicit SchedulerRelease(std::vector<std::shared_ptr<Scheduler>>* s) : m_s(s) {}
  void TearDown() override { m_s->clear(); }

 private:
  std::vector<std::shared_ptr<Scheduler>>* m_s;
};

/// Synchronous, and threaded with 1, 2 and 4 workers (4 oversubscribes a 2-core machine).
/// In a distributed run (distributed_run()) a DistributedScheduler over every rank follows,
/// with 1 worker per rank: each computes collectively on 1 to 4 ranks.
inline std::vector<std::shared_ptr<Scheduler>> all_schedulers() {
  static std::vector<std::shared_ptr<Scheduler>> s = [] {
    std::vector<std::shared_ptr<Scheduler>> v = {
        std::make_shared<SynchronousScheduler>(), std::make_shared<ThreadedScheduler>(1),
        std::make_shared<ThreadedScheduler>(2), std::make_shared<ThreadedScheduler>(4)};
    if (distributed_run()) {
      v.push_back(std::make_shared<DistributedScheduler>(comm::Communicator::world(), 1));
    }
    return v;
  }();
  static const bool registered = [] {
    if (distributed_run()) ::testing::AddGlobalTestEnvironment(new SchedulerRelease(&s));
    return true;
  }();
  (void)registered;
  return s;
}

/// The distributed scheduler of all_schedulers() (distributed runs only).
inline DistributedScheduler& distributed() {
  if (!distributed_run()) throw std::logic_error("distributed(): not a distributed test run");
  return static_cast<DistributedScheduler&>(*all_schedulers().back());
}

/// Every rank's `text`, in rank order (collective): to check that all ranks saw one message.
inline std::vector<std::string> gather_strings(const std::string& text) {
  const auto all = distributed().allgather(std::as_bytes(std::span(text.data(), text.size())));
  std::vector<std::string> out;
  for (const auto& b : all) out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  return out;
}

/// How many schedulers all_schedulers() has (for parameterised test suites, which are
/// instantiated before main: so it asks the launcher, not MPI).
inline int num_schedulers() { return distributed_run() ? 5 : 4; }

/// The test-name suffix of a suite parameterised by scheduler index (Range(0,
/// num_schedulers())): "synchronous", "threaded2", "distributed1".
inline std::string scheduler_param_name(const ::testing::TestParamInfo<int>& info) {
  const Scheduler& s = *all_schedulers()[static_cast<std::size_t>(info.param)];
  return std::string(s.name()) + (s.name() == "synchronous" ? "" : std::to_string(s.num_threads()));
}

/// The number of ranks running the test executable (1 unless it is a distributed run).
inline int test_ranks() {
  int n = 1;
  if (distributed_run()) MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

/// `local` summed over the ranks running the test (collective in MPI tests): counts of calls
/// that a distributed scheduler splits between ranks.
inline std::int64_t sum_over_ranks(std::int64_t local) {
  if (!distributed_run()) return local;
  std::int64_t sum = 0;
  MPI_Allreduce(&local, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

/// How many ranks compute a whole graph when it runs on `s`: a distributed scheduler splits
/// the work between all ranks (1 copy), a local one runs it on every rank of the test.
inline int copies_of_work(const Scheduler& s) {
  return s.name() == "distributed" ? 1 : test_ranks();
}

/// Whether `calls` (this rank's count of a task function's calls) adds up over the ranks to
/// `per_copy` times the number of ranks that computed the whole graph on `s`. Collective in
/// MPI tests.
inline ::testing::AssertionResult called(const std::atomic<std::int64_t>& calls,
                                         std::int64_t per_copy, const Scheduler& s) {
  const std::int64_t got = sum_over_ranks(calls.load());
  const std::int64_t want = per_copy * copies_of_work(s);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << got << " calls over all ranks, expected " << want << " (scheduler " << s.name() << ")";
}

/// Distinct float64 values (1.5 i - 20 for flat index i), so that any element taken from the
/// wrong place shows.
inline xt::xarray<double> distinct_values(const Shape& shape) {
  xt::xarray<double> x =
      xt::xarray<double>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  for (std::size_t i = 0; i < x.size(); ++i) x.flat(i) = static_cast<double>(i) * 1.5 - 20;
  return x;
}

/// Chunk specs to sweep for `shape`: one chunk, single elements (when small), uneven sizes,
/// and an explicit irregular grid.
inline std::vector<ChunkSpec> chunkings(const Shape& shape) {
  std::vector<ChunkSpec> out;
  out.emplace_back(index_t{-1});  // a single chunk
  std::vector<AxisChunks> uneven, irregular;
  for (index_t n : shape) {
    uneven.emplace_back(std::max<index_t>(1, n / 3 + 1));  // last chunk shorter
    std::vector<index_t> sizes;
    index_t left = n, k = 1;
    while (left > 0) {
      const index_t s = std::min(left, k);
      sizes.push_back(s);
      left -= s;
      k = k % 3 + 1;  // 1, 2, 3, 1, 2, 3, ...
    }
    if (sizes.empty()) sizes.push_back(0);
    irregular.emplace_back(sizes);
  }
  out.emplace_back(uneven);
  out.emplace_back(irregular);
  if (shape_size(shape) <= 64) out.emplace_back(index_t{1});  // single-element chunks
  return out;
}

/// Computes `x` on `s` and compares it with `ref` (shape, dtype and values; floats with a
/// relative tolerance `rtol`, NaNs equal).
template <class T>
::testing::AssertionResult matches(const Array& x, const xt::xarray<T>& ref, Scheduler& s,
                                   double rtol = 1e-12) {
  if (x.dtype() != dtype_of<T>()) {
    return ::testing::AssertionFailure()
           << "dtype " << dtype_name(x.dtype()) << " != " << dtype_name(dtype_of<T>());
  }
  xt::xarray<T> got = x.compute<T>({.scheduler = &s});
  Shape want(ref.shape().begin(), ref.shape().end()), have(got.shape().begin(), got.shape().end());
  if (want != have) {
    return ::testing::AssertionFailure()
           << "shape " << shape_string(have) << " != " << shape_string(want);
  }
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const T a = got.flat(i), b = ref.flat(i);
    bool ok;
    if constexpr (std::is_floating_point_v<T>) {
      ok = (std::isnan(a) && std::isnan(b)) || a == b ||
           std::abs(static_cast<double>(a) - static_cast<double>(b)) <=
               rtol * std::max(1.0, std::abs(static_cast<double>(b)));
    } else {
      ok = a == b;
    }
    if (!ok) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << +a << ", expected " << +b << " (scheduler "
             << s.name() << ", chunks " << x.chunks().to_string() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace tessera::testing
