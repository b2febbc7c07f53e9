// The low-level layer in one program (README's second tour): delayed functions, a raw task
// graph, futures and a picture of a graph. Runs on one process or under mpirun (every compute
// is then collective; rank 0 prints).
//
//   tessera_low_level_tour [picture.svg]

#include <cstdint>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

std::vector<double> load(const std::string& name) {
  return std::vector<double>(name.size(), static_cast<double>(name.size()));
}
double analyze(const std::vector<std::vector<double>>& parts) {
  double s = 0;
  for (const auto& p : parts) s = std::accumulate(p.begin(), p.end(), s);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Runtime rt(argc, argv);
  const bool report = rt.rank() == 0;

  // delayed: calls record tasks; pure calls with equal arguments are one task.
  auto inc = delayed([](std::int64_t x) { return x + 1; }, {.name = "inc", .pure = true});
  auto add = delayed([](std::int64_t a, std::int64_t b) { return a + b; }, {.name = "add"});
  auto sum = delayed(
      [](const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), 0L); },
      {.name = "sum"});
  std::vector<Delayed<std::int64_t>> parts;
  for (std::int64_t i = 0; i < 10; ++i) parts.push_back(add(inc(i), inc(i) * 2));
  Delayed<std::int64_t> total = sum(parts);
  const std::int64_t t = total.compute();  // or tessera::compute(a, b, c) for several

  // A graph written by hand: keys -> values or tasks whose arguments name other keys.
  RawGraph g{{"load-1", task(load, std::string("a.dat"))},
             {"load-2", task(load, std::string("bb.dat"))},
             {"analyze", task(analyze, KeyList{"load-1", "load-2"})}};
  const double r = get<double>(g, "analyze");

  // Futures: work starts at once; futures can be arguments of later submits.
  std::int64_t v = 0;
  {
    Client client;  // on default_scheduler(): the Runtime's ranks and threads
    auto plus = [](std::int64_t a, std::int64_t b) { return a + b; };
    Future<std::int64_t> a = client.submit([](std::int64_t x) { return x + 1; }, 10);
    Future<std::int64_t> b = client.submit(plus, a, 5);
    v = b.result();  // also gather, map, wait, as_completed
  }

  // Pictures: DOT, or SVG/PNG/PDF through Graphviz's dot.
  if (argc > 1 && report) visualize(total.lower().graph, argv[1], {.rankdir = "LR"});

  if (report) {
    std::cout << "result delayed " << t << "\nresult raw_graph " << r << "\nresult future " << v
              << "\n";
  }
  return 0;
}
