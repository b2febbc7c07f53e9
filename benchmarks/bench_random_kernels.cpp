/// Speed of the counter-based random kernels, as the engine uses them: one call per 4096-element
/// tile. Prints one line per kernel, e.g. `random_normal_f64 ns_per_value=1.7`:
///  - ns_per_value: filling a 1e7-element array tile by tile (the results go to memory, as a
///    chunk's do);
///  - hot_ns_per_value: refilling one 4096-element tile that stays in L1 (the kernel alone).
/// Each figure is the median of 5 runs (the minimum follows it). A last line times normal f64 on
/// every hardware thread, the shape of the 20000x20000 normal workload.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string_view>
#include <thread>
#include <vector>

#include "array/random_kernels.hpp"

namespace {

namespace td = tessera::detail;

constexpr std::int64_t kValues = 10'000'000;
constexpr std::int64_t kTile = 4096;
constexpr int kRuns = 5;
constexpr std::uint64_t kSeed = 20240611;
constexpr std::uint64_t kStream = 3;

using Fill = std::function<void(std::int64_t first, std::int64_t n, void* out)>;

/// Median and minimum of the runs: the median is the figure; the minimum shows how much of it
/// is noise from other load on the machine.
struct Timing {
  double median;
  double min;
};

Timing summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front()};
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// ns per value filling [0, kValues) in tiles, split over `threads` threads by tile.
Timing time_array(const Fill& fill, std::size_t elem_size, unsigned threads) {
  std::vector<unsigned char> out(static_cast<std::size_t>(kValues) * elem_size);
  const std::int64_t tiles = (kValues + kTile - 1) / kTile;
  auto work = [&](unsigned t) {
    for (std::int64_t k = t; k < tiles; k += threads) {
      const std::int64_t first = k * kTile;
      fill(first, std::min(kTile, kValues - first), out.data() + first * elem_size);
    }
  };
  for (unsigned t = 0; t < threads; ++t) work(t);  // touch every page and warm up
  std::vector<double> ns;
  for (int r = 0; r < kRuns; ++r) {
    ns.push_back(seconds([&] {
                   std::vector<std::thread> pool;
                   for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
                   work(0);
                   for (auto& th : pool) th.join();
                 }) *
                 1e9 / static_cast<double>(kValues));
  }
  return summarise(ns);
}

/// ns per value refilling one tile kValues / kTile times (walking the index forward).
Timing time_hot(const Fill& fill, std::size_t elem_size) {
  std::vector<unsigned char> out(static_cast<std::size_t>(kTile) * elem_size);
  const std::int64_t tiles = kValues / kTile;
  std::vector<double> ns;
  for (int r = 0; r < kRuns; ++r) {
    ns.push_back(seconds([&] {
                   for (std::int64_t k = 0; k < tiles; ++k) fill(k * kTile, kTile, out.data());
                 }) *
                 1e9 / static_cast<double>(tiles * kTile));
  }
  return summarise(ns);
}

template <class T>
Fill typed(void (*kernel)(std::uint64_t, std::uint64_t, std::int64_t, std::int64_t, T, T, T*), T a,
           T b) {
  return [=](std::int64_t first, std::int64_t n, void* out) {
    kernel(kSeed, kStream, first, n, a, b, static_cast<T*>(out));
  };
}

}  // namespace

int main() {
  struct Case {
    const char* name;
    Fill fill;
    std::size_t elem_size;
  };
  const std::vector<Case> cases = {
      {"random_words",
       [](std::int64_t first, std::int64_t n, void* out) {
         td::random_words(kSeed, kStream, first, n, static_cast<std::uint64_t*>(out));
       },
       8},
      {"random_uniform_f64", typed<double>(td::random_uniform_f64, 0.0, 1.0), 8},
      {"random_uniform_f32", typed<float>(td::random_uniform_f32, 0.0f, 1.0f), 4},
      {"random_normal_f64", typed<double>(td::random_normal_f64, 0.0, 1.0), 8},
      {"random_normal_f32", typed<float>(td::random_normal_f32, 0.0f, 1.0f), 4},
      {"random_integers_i64",
       typed<std::int64_t>(td::random_integers_i64, std::int64_t{0}, std::int64_t{1000}), 8},
      {"random_integers_i32",
       typed<std::int32_t>(td::random_integers_i32, std::int32_t{-5}, std::int32_t{1'000'003}), 4},
      {"random_integers_i64_huge_span",
       typed<std::int64_t>(td::random_integers_i64, std::int64_t{0}, (std::int64_t{1} << 62) + 1),
       8},
  };
  std::printf("simd=%s values=%lld tile=%lld runs=%d\n", td::random_kernels_simd(),
              static_cast<long long>(kValues), static_cast<long long>(kTile), kRuns);
  for (const Case& c : cases) {
    const Timing array = time_array(c.fill, c.elem_size, 1);
    const Timing hot = time_hot(c.fill, c.elem_size);
    std::printf("%s ns_per_value=%.3f min=%.3f hot_ns_per_value=%.3f min=%.3f\n", c.name,
                array.median, array.min, hot.median, hot.min);
    std::fflush(stdout);
  }
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const auto normal = std::find_if(cases.begin(), cases.end(), [](const Case& c) {
    return std::string_view(c.name) == "random_normal_f64";
  });
  const Timing parallel = time_array(normal->fill, normal->elem_size, threads);
  std::printf("random_normal_f64_threads%u ns_per_value=%.3f min=%.3f (wall time / values)\n",
              threads, parallel.median, parallel.min);
  return 0;
}
