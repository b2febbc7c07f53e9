// A short tour of the Tessera API (shown in README.md; built with the apps so it stays true).
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tessera/tessera.hpp"

int main() {
  using namespace tessera;

  // Lazy, chunked arrays: nothing is computed yet.
  Array x = default_rng(0).normal(0, 1, {10000, 2000}, {1000, 500});  // 10 x 4 chunks
  Array y = where(x > 0, sqrt(abs(x)) * 2 + 1, 0.0);                  // fused: one task per chunk

  // Reductions are tree reductions fused with the elementwise chain that feeds them.
  double total = y.sum().item<double>();
  xt::xarray<double> col_means =
      y.mean(0)[{Slice{0, 10}}].compute<double>();  // only 1 of 4 column chunks
  std::cout << "sum " << total << "\nfirst column means "
            << fmt::format("{:.4f}", fmt::join(col_means, " ")) << "\n";

  // Pick a scheduler per call: synchronous (for debugging) or threaded (the default).
  SynchronousScheduler sync;
  std::cout << "max " << y.max().item<double>({.scheduler = &sync}) << "\n";

  // Keep a result in memory for reuse, and look at the task graph compute() would run.
  Array z = (x * x).persist();
  std::cout << "var " << z.var(Axes{0, 1}, {.ddof = 1}).item<double>()
            << ", tasks for z.mean(1): " << z.mean(1).lower().graph.size() << "\n";

  // Bad input is reported when the expression is built, naming the shapes.
  try {
    Array bad = x + ones({3, 4});
  } catch (const shape_error& e) {
    std::cout << "shape_error: " << e.what() << "\n";
  }
}
