// The seed workloads, in C++: the example job that README's first command runs.
//
//   tessera_seeds [--threads N] [--scheduler threaded|synchronous] [--scale S]
//
// 1. linspace_sum:      linspace(1, 10, 1e6) in 1000 chunks, sum.
// 2. normal_mean_axis0: a 20000x20000 normal(10, 0.1) array in 1000x1000 chunks (3.2 GB,
//                       never held in memory: it is generated and reduced chunk by chunk),
//                       mean over axis 0, every 100th element.
// 3. poly_sum:          (2*x + 1) ** 3 over x = arange(2e8) / 2e8 (1.6 GB), summed without
//                       any full-size temporary.
// --scale shrinks or grows the two large arrays (1 = the seed sizes).

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <xtensor/xview.hpp>

#include "tessera/tessera.hpp"

namespace {

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tessera seed workloads: NumPy-style expressions on chunked arrays"};
  int threads = 0;
  std::string scheduler_name = "threaded";
  double scale = 1.0;
  std::uint64_t seed = 42;
  app.add_option("--threads", threads, "worker threads (0: one per core)");
  app.add_option("--scheduler", scheduler_name, "threaded or synchronous")
      ->check(CLI::IsMember({"threaded", "synchronous"}));
  app.add_option("--scale", scale, "size factor for the two large workloads")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);

  using namespace tessera;
  std::unique_ptr<Scheduler> scheduler;
  if (scheduler_name == "synchronous")
    scheduler = std::make_unique<SynchronousScheduler>();
  else
    scheduler = std::make_unique<ThreadedScheduler>(threads);
  const ComputeOptions on{.scheduler = scheduler.get()};
  fmt::print("tessera seeds: {} scheduler, {} thread(s)\n\n", scheduler->name(),
             scheduler->num_threads());

  try {
    // 1. linspace_sum
    double total = 0;
    const double t1 =
        seconds([&] { total = linspace(1, 10, 1'000'000, 1000).sum().item<double>(on); });
    fmt::print("linspace_sum       sum(linspace(1, 10, 1e6), 1000 chunks) = {:.6f}   {:.4f} s\n",
               total, t1);

    // 2. normal_mean_axis0
    const auto n = static_cast<index_t>(std::round(20000 * std::sqrt(scale)));
    xt::xarray<double> means;
    const double t2 = seconds([&] {
      Array x = default_rng(seed).normal(10, 0.1, {n, n}, 1000);
      means = x.mean(0)[{Slice{std::nullopt, std::nullopt, 100}}].compute<double>(on);
    });
    fmt::print(
        "normal_mean_axis0  normal(10, 0.1, ({0}, {0})).mean(axis=0)[::100]: {1} values, "
        "first {2:.6f}, sum {3:.6f}   {4:.4f} s\n",
        n, means.size(), means.size() ? means(0) : 0.0, xt::sum(means)(), t2);

    // 3. poly_sum
    const auto len = static_cast<index_t>(std::round(2e8 * scale));
    double poly = 0;
    const double t3 = seconds([&] {
      Array x = arange(0.0, static_cast<double>(len), 1.0, 10'000'000) / static_cast<double>(len);
      poly = pow(2 * x + 1, 3).sum().item<double>(on);
    });
    fmt::print("poly_sum           sum((2*x + 1) ** 3), x = arange({}) / {} = {:.6f}   {:.4f} s\n",
               len, len, poly, t3);
  } catch (const tessera::error& e) {
    fmt::print(stderr, "tessera_seeds: {}\n", e.what());
    return 1;
  }
  return 0;
}
