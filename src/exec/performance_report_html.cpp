#include "exec/performance_report_html.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <map>
#include <numeric>
#include <vector>

#include "exec/trace_format.hpp"
#include "tessera/exec/memory.hpp"

namespace tessera::detail::trace {

namespace {

/// Colours of task families, in order of first appearance (then round again).
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                    "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                    "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"};
constexpr std::size_t kPaletteSize = std::size(kPalette);

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string seconds_text(double s) {
  if (s >= 1) return fmt::format("{:.2f} s", s);
  if (s >= 1e-3) return fmt::format("{:.2f} ms", s * 1e3);
  return fmt::format("{:.1f} us", s * 1e6);
}

double seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

/// What the tables and charts need, computed once.
struct Summary {
  struct Rank {
    int rank = 0;
    int threads = 0;
    double compute_s = 0;  // the computes' wall time on this rank
    double busy_s = 0;     // running tasks, all threads
    double comm_s = 0;     // message work on the driver, encoding sends on workers
    std::int64_t tasks = 0;
    std::int64_t failed = 0;
    std::uint64_t peak_held = 0, peak_spilled = 0, budget = 0;
    std::vector<const Event*> memory;  // samples in time order
  };
  struct Family {
    std::string name;
    std::int64_t count = 0;
    double total_s = 0, max_s = 0;
    std::uint64_t bytes_out = 0;
  };
  std::vector<Rank> ranks;
  std::vector<Family> families;                           // by first appearance (colour order)
  std::vector<std::uint32_t> label_family;                // label -> index in families
  std::vector<std::vector<std::uint64_t>> bytes_between;  // [from][to]
  std::vector<const Event*> runs;                         // rank 0's computes
  std::int64_t tasks = 0;
  std::uint64_t bytes_moved = 0;
  std::int64_t transfers = 0;
  double duration_s = 0;
};

Summary summarize(const Recording& rec) {
  Summary s;
  s.duration_s = seconds(rec.end - rec.start);
  std::map<std::string, std::uint32_t> family_ids;
  std::string scratch;
  s.label_family.resize(rec.labels.size());
  for (std::size_t l = 0; l < rec.labels.size(); ++l) {
    const std::string name(label_family(rec.labels[l], scratch));
    auto [it, inserted] =
        family_ids.try_emplace(name, static_cast<std::uint32_t>(s.families.size()));
    if (inserted) s.families.push_back({name});
    s.label_family[l] = it->second;
  }
  int max_rank = 0;
  for (const RankTrace& r : rec.ranks) max_rank = std::max(max_rank, r.rank);
  s.bytes_between.assign(static_cast<std::size_t>(max_rank) + 1,
                         std::vector<std::uint64_t>(static_cast<std::size_t>(max_rank) + 1, 0));
  std::vector<bool> family_seen(s.families.size(), false);
  for (const RankTrace& r : rec.ranks) {
    Summary::Rank sr;
    sr.rank = r.rank;
    sr.threads = r.threads;
    sr.budget = r.budget;
    for (const Event& e : r.events) {
      const double d = seconds(e.end - e.start);
      switch (e.kind) {
        case EventKind::task: {
          sr.busy_s += d;
          ++sr.tasks;
          sr.failed += e.failed;
          auto& f = s.families[s.label_family[e.label]];
          ++f.count;
          f.total_s += d;
          f.max_s = std::max(f.max_s, d);
          f.bytes_out += e.b;
          break;
        }
        case EventKind::send:
          sr.comm_s += d;
          if (e.peer >= 0 && e.peer <= max_rank) {
            s.bytes_between[static_cast<std::size_t>(r.rank)][static_cast<std::size_t>(e.peer)] +=
                e.a;
          }
          s.bytes_moved += e.a;
          ++s.transfers;
          break;
        case EventKind::comm:
          sr.comm_s += d;
          break;
        case EventKind::receive:
          break;  // inside a comm slice
        case EventKind::run:
          sr.compute_s += d;
          if (r.rank == 0) s.runs.push_back(&e);
          break;
        case EventKind::memory:
          sr.peak_held = std::max(sr.peak_held, e.a);
          sr.peak_spilled = std::max(sr.peak_spilled, e.b);
          sr.memory.push_back(&e);
          break;
      }
    }
    s.tasks += sr.tasks;
    s.ranks.push_back(std::move(sr));
  }
  return s;
}

void section_summary(std::string& out, const Recording& rec, const Summary& s) {
  auto it = std::back_inserter(out);
  std::uint64_t peak = 0;
  int threads = 0;
  for (const auto& r : s.ranks) {
    peak = std::max(peak, r.peak_held);
    threads = std::max(threads, r.threads);
  }
  std::uint64_t largest_graph = 0, graph_tasks = 0;
  for (const Event* e : s.runs) {
    largest_graph = std::max(largest_graph, e->a);
    graph_tasks += static_cast<std::uint64_t>(e->task);
  }
  std::uint64_t dropped = 0, bytes_read = 0;
  for (const auto& r : rec.ranks) {
    dropped += r.dropped;
    bytes_read += r.bytes_read;
  }
  out += "<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">";
  const auto row = [&](std::string_view k, const std::string& v) {
    fmt::format_to(it, "<tr><th>{}</th><td>{}</td></tr>", k, v);
  };
  row("wall time recorded", seconds_text(s.duration_s));
  row("ranks &times; worker threads", fmt::format("{} &times; {}", s.ranks.size(), threads));
  row("computes", fmt::format("{}", s.runs.size()));
  row("tasks run", fmt::format("{} (scheduled in the computes' graphs: {}; largest graph: {} "
                               "tasks)",
                               s.tasks, graph_tasks, largest_graph));
  std::int64_t failed = 0;
  for (const auto& r : s.ranks) failed += r.failed;
  if (failed > 0) row("tasks failed", fmt::format("<b>{}</b>", failed));
  row("task families", fmt::format("{}", s.families.size()));
  row("moved between ranks",
      fmt::format("{} in {} transfers", bytes_text(s.bytes_moved), s.transfers));
  if (bytes_read > 0) {
    row("read from files",
        fmt::format("{} ({}/s)", bytes_text(bytes_read),
                    bytes_text(static_cast<std::size_t>(static_cast<double>(bytes_read) /
                                                        std::max(s.duration_s, 1e-9)))));
  }
  row("peak task values held on a rank (what the budget counts)", bytes_text(peak));
  if (dropped > 0) row("events dropped", fmt::format("{} (a thread's log was full)", dropped));
  out += "</table></section>\n";
}

void section_stream(std::string& out) {
  out += R"(<section id="stream"><h2>Task stream</h2>
<p class="note">One row per thread of each rank; each box a task, coloured by family. Grey: communication on a rank's main thread. Wheel: zoom, drag: pan, double-click: all.</p>
<div id="stream-box"><canvas id="stream-canvas"></canvas><div id="tip"></div></div>
<div id="legend"></div></section>
)";
}

void section_ranks(std::string& out, const Summary& s) {
  auto it = std::back_inserter(out);
  out +=
      "<section id=\"ranks\"><h2>Time per rank</h2>"
      "<p class=\"note\">Shares of the worker threads' time during the computes (threads "
      "&times; compute wall time): busy running tasks, in communication (message work on "
      "the main thread, encoding values to send), and idle.</p>\n";
  const int bar_w = 600, row_h = 22, left = 70;
  fmt::format_to(it, "<svg class=\"chart\" width=\"{}\" height=\"{}\" role=\"img\">",
                 left + bar_w + 10, row_h * static_cast<int>(s.ranks.size()) + 24);
  int y = 0;
  for (const auto& r : s.ranks) {
    const double capacity = std::max(1e-12, r.compute_s * std::max(1, r.threads));
    const double busy = std::min(1.0, r.busy_s / capacity);
    const double comm = std::min(1.0 - busy, r.comm_s / capacity);
    const double idle = std::max(0.0, 1.0 - busy - comm);
    fmt::format_to(it, "<text x=\"0\" y=\"{}\" class=\"lbl\">rank {}</text>", y + 15, r.rank);
    double x = left;
    const auto bar = [&](double share, const char* colour, const char* what) {
      const double w = share * bar_w;
      fmt::format_to(it,
                     "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\">"
                     "<title>rank {}: {} {:.1f}%</title></rect>",
                     x, y + 3, w, row_h - 6, colour, r.rank, what, share * 100);
      x += w;
    };
    bar(busy, "#59a14f", "busy");
    bar(comm, "#f28e2b", "communication");
    bar(idle, "#d3d3d3", "idle");
    y += row_h;
  }
  fmt::format_to(it,
                 "<rect x=\"{0}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#59a14f\"/><text "
                 "x=\"{2}\" y=\"{3}\" class=\"lbl\">busy</text>"
                 "<rect x=\"{4}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#f28e2b\"/><text "
                 "x=\"{5}\" y=\"{3}\" class=\"lbl\">communication</text>"
                 "<rect x=\"{6}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#d3d3d3\"/><text "
                 "x=\"{7}\" y=\"{3}\" class=\"lbl\">idle</text></svg>\n",
                 left, y + 6, left + 14, y + 15, left + 70, left + 84, left + 200, left + 214);
  out +=
      "<table><tr><th>rank</th><th>threads</th><th>compute time</th><th>tasks</th>"
      "<th>busy</th><th>communication</th><th>idle</th><th>peak held</th><th>budget</th></tr>";
  for (const auto& r : s.ranks) {
    const double capacity = r.compute_s * std::max(1, r.threads);
    const double idle = std::max(0.0, capacity - r.busy_s - r.comm_s);
    const auto pct = [&](double v) {
      return capacity > 0 ? fmt::format("{} ({:.0f}%)", seconds_text(v), 100 * v / capacity)
                          : seconds_text(v);
    };
    fmt::format_to(
        it,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>",
        r.rank, r.threads, seconds_text(r.compute_s), r.tasks, pct(r.busy_s), pct(r.comm_s),
        pct(idle), bytes_text(r.peak_held), r.budget ? bytes_text(r.budget) : std::string("-"));
  }
  out += "</table></section>\n";
}

void section_transfers(std::string& out, const Summary& s) {
  auto it = std::back_inserter(out);
  out += "<section id=\"transfers\"><h2>Bytes between ranks</h2>";
  if (s.bytes_moved == 0) {
    out += "<p class=\"note\">Nothing was sent between ranks.</p></section>\n";
    return;
  }
  out +=
      "<p class=\"note\">Row: the sending rank; column: the receiving rank.</p>"
      "<table class=\"matrix\"><tr><th>from \\ to</th>";
  std::uint64_t most = 1;
  for (const auto& row : s.bytes_between)
    for (const auto b : row) most = std::max(most, b);
  for (std::size_t c = 0; c < s.bytes_between.size(); ++c) fmt::format_to(it, "<th>{}</th>", c);
  out += "</tr>";
  for (std::size_t r = 0; r < s.bytes_between.size(); ++r) {
    fmt::format_to(it, "<tr><th>{}</th>", r);
    for (std::size_t c = 0; c < s.bytes_between.size(); ++c) {
      const auto b = s.bytes_between[r][c];
      const double shade = static_cast<double>(b) / static_cast<double>(most);
      fmt::format_to(it, "<td style=\"background:rgba(78,121,167,{:.2f})\">{}</td>",
                     0.08 + 0.6 * shade, b ? bytes_text(b) : std::string("&middot;"));
    }
    out += "</tr>";
  }
  out += "</table></section>\n";
}

void section_memory(std::string& out, const Recording& rec, const Summary& s) {
  auto it = std::back_inserter(out);
  out +=
      "<section id=\"memory\"><h2>Memory per rank</h2>"
      "<p class=\"note\">Bytes of task values held (blue) and in the spill file (orange) "
      "over time; red: the rank's memory budget.</p>\n";
  const int w = 640, h = 120, left = 70;
  const double span = std::max(1e-9, s.duration_s);
  for (const auto& r : s.ranks) {
    if (r.memory.empty()) {
      fmt::format_to(it, "<p>rank {}: no samples (no task values counted).</p>", r.rank);
      continue;
    }
    const double peak = static_cast<double>(std::max(r.peak_held, r.peak_spilled));
    const bool budget_on_scale =
        r.budget > 0 && static_cast<double>(r.budget) <= 4 * std::max(peak, 1.0);
    const double top =
        std::max(1.0, budget_on_scale ? static_cast<double>(r.budget) * 1.05 : peak * 1.1);
    fmt::format_to(it, "<svg class=\"chart\" width=\"{}\" height=\"{}\" role=\"img\">",
                   left + w + 10, h + 20);
    fmt::format_to(it, "<text x=\"0\" y=\"14\" class=\"lbl\">rank {}</text>", r.rank);
    fmt::format_to(it, "<text x=\"0\" y=\"30\" class=\"small\">{}</text>",
                   bytes_text(static_cast<std::size_t>(top)));
    fmt::format_to(it, "<text x=\"0\" y=\"{}\" class=\"small\">0</text>", h);
    fmt::format_to(it, "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" class=\"frame\"/>", left,
                   w, h);
    const auto px = [&](std::int64_t t) {
      return left + static_cast<double>(w) * seconds(t - rec.start) / span;
    };
    const auto py = [&](double v) { return static_cast<double>(h) * (1 - v / top); };
    for (int series = 0; series < 2; ++series) {
      std::string points;
      double last_y = py(0);
      for (const Event* e : r.memory) {
        const double v = static_cast<double>(series == 0 ? e->a : e->b);
        const double x =
            std::clamp(px(e->start), static_cast<double>(left), static_cast<double>(left + w));
        // a step chart: the value holds until the next sample
        fmt::format_to(std::back_inserter(points), "{:.1f},{:.1f} {:.1f},{:.1f} ", x, last_y, x,
                       py(v));
        last_y = py(v);
      }
      fmt::format_to(std::back_inserter(points), "{},{:.1f}", left + w, last_y);
      fmt::format_to(it,
                     "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>",
                     series == 0 ? "#4e79a7" : "#f28e2b", points);
    }
    if (budget_on_scale) {
      const double by = py(static_cast<double>(r.budget));
      fmt::format_to(it,
                     "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e15759\" "
                     "stroke-dasharray=\"4 3\"/>",
                     left, left + w, by, by);
    }
    fmt::format_to(
        it, "<text x=\"{}\" y=\"{}\" class=\"small\">peak held {}, budget {}{}</text></svg>\n",
        left, h + 14, bytes_text(r.peak_held),
        r.budget ? bytes_text(r.budget) : std::string("unknown"),
        budget_on_scale || r.budget == 0 ? "" : " (above the scale)");
  }
  out += "</section>\n";
}

void section_slowest(std::string& out, const Recording& rec, const Summary& s) {
  auto it = std::back_inserter(out);
  struct Ref {
    const RankTrace* rank;
    const Event* e;
  };
  std::vector<Ref> tasks;
  for (const auto& r : rec.ranks)
    for (const auto& e : r.events)
      if (e.kind == EventKind::task) tasks.push_back({&r, &e});
  const std::size_t n = std::min<std::size_t>(20, tasks.size());
  std::partial_sort(
      tasks.begin(), tasks.begin() + static_cast<std::ptrdiff_t>(n), tasks.end(),
      [](const Ref& a, const Ref& b) { return a.e->end - a.e->start > b.e->end - b.e->start; });
  out +=
      "<section id=\"slowest\"><h2>Slowest tasks</h2><table><tr><th>task</th><th>rank</th>"
      "<th>thread</th><th>start</th><th>duration</th><th>bytes in</th><th>bytes out</th></tr>";
  for (std::size_t k = 0; k < n; ++k) {
    const auto& [r, e] = tasks[k];
    std::string thread;
    for (const auto& t : r->tracks)
      if (t.index == e->thread) thread = t.name;
    fmt::format_to(it,
                   "<tr><td class=\"name\">{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                   "<td>{}</td><td>{}</td></tr>",
                   html_escape(task_name(rec, *e)), e->failed ? " <b>(failed)</b>" : "", r->rank,
                   html_escape(thread), seconds_text(seconds(e->start - rec.start)),
                   seconds_text(seconds(e->end - e->start)), bytes_text(e->a), bytes_text(e->b));
  }
  out += "</table></section>\n";

  out +=
      "<section id=\"families\"><h2>Time per task family</h2><table><tr><th></th><th>family</th>"
      "<th>tasks</th><th>total</th><th>share</th><th>mean</th><th>longest</th><th>bytes "
      "out</th></tr>";
  std::vector<std::size_t> order(s.families.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return s.families[a].total_s > s.families[b].total_s;
  });
  double busy = 0;
  for (const auto& f : s.families) busy += f.total_s;
  for (const std::size_t i : order) {
    const auto& f = s.families[i];
    if (f.count == 0) continue;
    fmt::format_to(it,
                   "<tr><td><span class=\"swatch\" style=\"background:{}\"></span></td><td "
                   "class=\"name\">{}</td>"
                   "<td>{}</td><td>{}</td><td>{:.1f}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                   kPalette[i % kPaletteSize], html_escape(f.name), f.count,
                   seconds_text(f.total_s), busy > 0 ? 100 * f.total_s / busy : 0.0,
                   seconds_text(f.total_s / static_cast<double>(f.count)), seconds_text(f.max_s),
                   bytes_text(f.bytes_out));
  }
  out += "</table></section>\n";
}

void section_computes(std::string& out, const Recording& rec, const Summary& s) {
  auto it = std::back_inserter(out);
  out += "<section id=\"computes\"><h2>Computes</h2>";
  if (s.runs.empty()) {
    out += "<p class=\"note\">No compute ran while the report recorded.</p></section>\n";
    return;
  }
  out +=
      "<table><tr><th>compute</th><th>start</th><th>duration</th><th>tasks in the graph</th>"
      "<th>tasks run (all ranks)</th><th>on rank 0</th></tr>";
  constexpr std::size_t kShown = 200;
  for (std::size_t k = 0; k < std::min(kShown, s.runs.size()); ++k) {
    const Event* e = s.runs[k];
    fmt::format_to(it,
                   "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                   e->label, seconds_text(seconds(e->start - rec.start)),
                   seconds_text(seconds(e->end - e->start)), e->a, e->task, e->b);
  }
  out += "</table>";
  if (s.runs.size() > kShown)
    fmt::format_to(it, "<p class=\"note\">... and {} more computes.</p>", s.runs.size() - kShown);
  out += "</section>\n";
}

/// The task stream's data for the script: rows, families, labels, tasks, communication.
void stream_data(std::string& out, const Recording& rec, const Summary& s) {
  auto it = std::back_inserter(out);
  const auto us = [&](std::int64_t t) { return static_cast<double>(t - rec.start) / 1e3; };
  out += "{\"duration\":";
  fmt::format_to(it, "{:.1f}", us(rec.end));
  out += ",\"palette\":[";
  for (std::size_t k = 0; k < kPaletteSize; ++k)
    fmt::format_to(it, "{}\"{}\"", k ? "," : "", kPalette[k]);
  out += "],\"families\":[";
  for (std::size_t k = 0; k < s.families.size(); ++k) {
    if (k) out += ',';
    append_json_string(out, s.families[k].name);
  }
  out += "],\"labels\":[";
  for (std::size_t k = 0; k < rec.labels.size(); ++k) {
    if (k) out += ',';
    fmt::format_to(it, "[{},", s.label_family[k]);
    append_json_string(out, rec.labels[k]);
    out += ']';
  }
  out += "],\"rows\":[";
  std::map<std::pair<int, int>, int> row_of;  // (rank, thread) -> row
  int rows = 0;
  for (const auto& r : rec.ranks) {
    for (const auto& t : r.tracks) {
      if (rows) out += ',';
      row_of[{r.rank, t.index}] = rows++;
      append_json_string(out, fmt::format("r{} {}", r.rank, t.name));
    }
  }
  // The longest tasks, when there are too many to draw.
  std::vector<std::pair<int, const Event*>> tasks;
  for (const auto& r : rec.ranks)
    for (const auto& e : r.events)
      if (e.kind == EventKind::task) tasks.push_back({row_of[{r.rank, e.thread}], &e});
  const std::size_t total = tasks.size();
  if (tasks.size() > kReportStreamTasks) {
    std::nth_element(tasks.begin(), tasks.begin() + kReportStreamTasks, tasks.end(),
                     [](const auto& a, const auto& b) {
                       return a.second->end - a.second->start > b.second->end - b.second->start;
                     });
    tasks.resize(kReportStreamTasks);
  }
  fmt::format_to(it, "],\"total_tasks\":{},\"tasks\":[", total);
  bool first = true;
  for (const auto& [row, e] : tasks) {
    fmt::format_to(it, "{}[{},{:.1f},{:.1f},{},{},{},{},[", first ? "" : ",", row, us(e->start),
                   static_cast<double>(e->end - e->start) / 1e3, e->label, e->a, e->b, e->failed);
    for (std::size_t k = 0; k < std::min<std::size_t>(e->num_coords, kCoords); ++k)
      fmt::format_to(it, "{}{}", k ? "," : "", e->coords[k]);
    out += e->num_coords > kCoords ? ",\"...\"]]" : "]]";
    first = false;
  }
  out += "],\"comm\":[";
  first = true;
  for (const auto& r : rec.ranks) {
    for (const auto& e : r.events) {
      if (e.kind != EventKind::comm && e.kind != EventKind::send) continue;
      fmt::format_to(it, "{}[{},{:.1f},{:.1f}]", first ? "" : ",", row_of[{r.rank, e.thread}],
                     us(e.start), static_cast<double>(e.end - e.start) / 1e3);
      first = false;
    }
  }
  out += "]}";
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.sub, .note { color: #666; } .note { font-size: 13px; margin: 4px 0 8px; }
table { border-collapse: collapse; font-size: 13px; } th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; }
th { background: #f6f6f6; } table.kv th { text-align: left; } table.kv td { text-align: left; }
td.name { text-align: left; font-family: ui-monospace, monospace; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
svg.chart { display: block; margin: 6px 0; } svg .lbl { font-size: 12px; fill: #333; } svg .small { font-size: 10px; fill: #666; }
svg .frame { fill: none; stroke: #ccc; }
#stream-box { position: relative; border: 1px solid #ddd; }
#stream-canvas { display: block; width: 100%; cursor: grab; }
#tip { position: absolute; pointer-events: none; display: none; background: rgba(30,30,30,.92); color: #fff; font-size: 12px; padding: 4px 7px; border-radius: 3px; white-space: nowrap; }
#legend span { display: inline-block; margin: 6px 12px 0 0; font-size: 12px; }
)";

constexpr const char* kScript = R"(
(function () {
  var D = JSON.parse(document.getElementById('stream-data').textContent);
  var canvas = document.getElementById('stream-canvas'), tip = document.getElementById('tip');
  var ctx = canvas.getContext('2d');
  var ROW = 16, LEFT = 120, AXIS = 22;
  var rows = D.rows.length;
  var byRow = [];
  for (var r = 0; r < rows; r++) byRow.push([]);
  D.tasks.forEach(function (t) { byRow[t[0]].push(t); });
  byRow.forEach(function (list) { list.sort(function (a, b) { return a[1] - b[1]; }); });
  var v0 = 0, v1 = Math.max(D.duration, 1e-3);
  function fmtT(us) { return us >= 1e6 ? (us / 1e6).toFixed(3) + ' s' : us >= 1e3 ? (us / 1e3).toFixed(2) + ' ms' : us.toFixed(1) + ' us'; }
  function fmtB(b) { var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], k = 0; while (b >= 1024 && k < 4) { b /= 1024; k++; } return (k ? b.toFixed(1) : b) + ' ' + u[k]; }
  function colour(t) { return t[6] ? '#d62728' : D.palette[D.labels[t[3]][0] % D.palette.length]; }
  function width() { return canvas.clientWidth - LEFT; }
  function draw() {
    var dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = rows * ROW + AXIS;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); canvas.style.height = h + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var scale = width() / (v1 - v0);
    ctx.font = '11px sans-serif'; ctx.textBaseline = 'middle';
    for (var r = 0; r < rows; r++) {
      ctx.fillStyle = r % 2 ? '#fafafa' : '#fff'; ctx.fillRect(0, r * ROW, w, ROW);
      ctx.fillStyle = '#333'; ctx.fillText(D.rows[r], 4, r * ROW + ROW / 2);
    }
    ctx.save(); ctx.beginPath(); ctx.rect(LEFT, 0, w - LEFT, rows * ROW); ctx.clip();
    ctx.fillStyle = '#9e9e9e';
    D.comm.forEach(function (c) {
      if (c[1] + c[2] < v0 || c[1] > v1) return;
      ctx.fillRect(LEFT + (c[1] - v0) * scale, c[0] * ROW + 5, Math.max(1, c[2] * scale), ROW - 10);
    });
    for (var r = 0; r < rows; r++) {
      var list = byRow[r];
      for (var i = 0; i < list.length; i++) {
        var t = list[i];
        if (t[1] > v1) break;
        if (t[1] + t[2] < v0) continue;
        ctx.fillStyle = colour(t);
        ctx.fillRect(LEFT + (t[1] - v0) * scale, r * ROW + 2, Math.max(1, t[2] * scale - 0.3), ROW - 4);
      }
    }
    ctx.restore();
    ctx.fillStyle = '#333'; ctx.strokeStyle = '#bbb';
    var step = Math.pow(10, Math.floor(Math.log10((v1 - v0) / 6)));
    if ((v1 - v0) / step > 12) step *= 2;
    if ((v1 - v0) / step > 12) step *= 2.5;
    for (var x = Math.ceil(v0 / step) * step; x <= v1; x += step) {
      var px = LEFT + (x - v0) * scale;
      ctx.beginPath(); ctx.moveTo(px, rows * ROW); ctx.lineTo(px, rows * ROW + 5); ctx.stroke();
      ctx.fillText(fmtT(x), px + 2, rows * ROW + 13);
    }
  }
  function timeAt(x) { return v0 + (x - LEFT) / width() * (v1 - v0); }
  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var rect = canvas.getBoundingClientRect(), t = timeAt(ev.clientX - rect.left);
    var f = ev.deltaY > 0 ? 1.25 : 0.8;
    v0 = t - (t - v0) * f; v1 = t + (v1 - t) * f;
    if (v1 - v0 < 0.01) { v1 = v0 + 0.01; }
    draw();
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, v0: v0, v1: v1 }; });
  window.addEventListener('mouseup', function () { drag = null; });
  canvas.addEventListener('dblclick', function () { v0 = 0; v1 = Math.max(D.duration, 1e-3); draw(); });
  canvas.addEventListener('mousemove', function (ev) {
    var rect = canvas.getBoundingClientRect(), x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    if (drag) {
      var dt = (ev.clientX - drag.x) / width() * (drag.v1 - drag.v0);
      v0 = drag.v0 - dt; v1 = drag.v1 - dt; draw(); return;
    }
    var r = Math.floor(y / ROW), t = timeAt(x), hit = null;
    if (r >= 0 && r < rows && x > LEFT) {
      var list = byRow[r], lo = 0, hi = list.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (list[mid][1] <= t) lo = mid + 1; else hi = mid; }
      var slack = 3 * (v1 - v0) / width();
      for (var i = lo - 1; i >= 0 && i >= lo - 50; i--) {
        if (list[i][1] + list[i][2] + slack >= t) { hit = list[i]; break; }
      }
    }
    if (!hit) { tip.style.display = 'none'; return; }
    var c = hit[7], name = c.length ? "('" + D.labels[hit[3]][1] + "', " + c.join(', ') + ')' : "'" + D.labels[hit[3]][1] + "'";
    tip.textContent = name + ' \u2014 ' + fmtT(hit[2]) + ' at ' + fmtT(hit[1]) + ', in ' + fmtB(hit[4]) + ', out ' + fmtB(hit[5]) + (hit[6] ? ' (failed)' : '');
    tip.style.display = 'block';
    tip.style.left = Math.min(x + 12, canvas.clientWidth - tip.offsetWidth - 4) + 'px';
    tip.style.top = (y + 14) + 'px';
  });
  canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  var legend = document.getElementById('legend');
  D.families.forEach(function (f, i) {
    var s = document.createElement('span');
    var sw = document.createElement('span'); sw.className = 'swatch'; sw.style.background = D.palette[i % D.palette.length];
    s.appendChild(sw); s.appendChild(document.createTextNode(' ' + f)); legend.appendChild(s);
  });
  if (D.tasks.length < D.total_tasks) {
    var p = document.createElement('p'); p.className = 'note';
    p.textContent = 'Showing the ' + D.tasks.length + ' longest of ' + D.total_tasks + ' tasks.';
    legend.appendChild(p);
  }
  window.addEventListener('resize', draw);
  draw();
  document.body.setAttribute('data-rendered', 'ok');
})();
)";

}  // namespace

std::string performance_report_html(const Recording& rec) {
  const Summary s = summarize(rec);
  std::string out;
  auto it = std::back_inserter(out);
  const std::time_t now = std::time(nullptr);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Tessera performance report</title><style>";
  out += kStyle;
  // Errors of the page's script are kept where a test (or a curious user) can read them.
  out +=
      "</style><script>window.addEventListener('error', function (e) { "
      "document.documentElement.setAttribute('data-errors', "
      "(document.documentElement.getAttribute('data-errors') || '') + e.message + '; '); });"
      "</script></head><body>\n";
  fmt::format_to(it,
                 "<h1>Tessera performance report</h1><p class=\"sub\">Written {:%Y-%m-%d %H:%M:%S} "
                 "on rank 0; {} of recording on {} rank{}.</p>\n",
                 fmt::localtime(now), seconds_text(s.duration_s), s.ranks.size(),
                 s.ranks.size() == 1 ? "" : "s");
  section_summary(out, rec, s);
  section_stream(out);
  section_ranks(out, s);
  section_transfers(out, s);
  section_memory(out, rec, s);
  section_slowest(out, rec, s);
  section_computes(out, rec, s);
  out += "<script type=\"application/json\" id=\"stream-data\">";
  stream_data(out, rec, s);
  out += "</script>\n<script>";
  out += kScript;
  out += "</script>\n</body></html>\n";
  return out;
}

}  // namespace tessera::detail::trace
