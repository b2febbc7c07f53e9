// Writes a recording (exec/trace.hpp) as Chrome trace-event JSON.
#include <fmt/format.h>

#include <iterator>

#include "exec/trace.hpp"
#include "exec/trace_format.hpp"

namespace tessera::detail::trace {

std::string chrome_trace_json(const Recording& rec) {
  std::string out;
  auto it = std::back_inserter(out);
  out += "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  const auto sep = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  const auto us = [&](std::int64_t t) { return static_cast<double>(t - rec.start) / 1e3; };
  for (const RankTrace& r : rec.ranks) {
    sep();
    fmt::format_to(
        it,
        R"({{"ph":"M","pid":{0},"name":"process_name","args":{{"name":"rank {0}"}}}},)"
        "\n"
        R"({{"ph":"M","pid":{0},"name":"process_sort_index","args":{{"sort_index":{0}}}}})",
        r.rank);
    for (const ThreadTrack& t : r.tracks) {
      sep();
      fmt::format_to(it, R"({{"ph":"M","pid":{},"tid":{},"name":"thread_name","args":{{"name":)",
                     r.rank, t.index);
      append_json_string(out, t.name);
      fmt::format_to(
          it,
          "}}}},\n"
          R"({{"ph":"M","pid":{},"tid":{},"name":"thread_sort_index","args":{{"sort_index":{}}}}})",
          r.rank, t.index, t.index);
    }
    for (const Event& e : r.events) {
      sep();
      const double ts = us(e.start), dur = static_cast<double>(e.end - e.start) / 1e3;
      switch (e.kind) {
        case EventKind::task:
          fmt::format_to(
              it, R"({{"ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"cat":"{}","name":)",
              r.rank, e.thread, ts, dur, e.failed ? "task,failed" : "task");
          append_json_string(out, rec.labels.at(e.label));
          out += R"(,"args":{"task":)";
          append_json_string(out, task_name(rec, e));
          fmt::format_to(it, R"(,"bytes_in":{},"bytes_out":{}{}}}}})", e.a, e.b,
                         e.failed ? R"(,"failed":true)" : "");
          break;
        case EventKind::send:
        case EventKind::receive: {
          const bool send = e.kind == EventKind::send;
          fmt::format_to(
              it,
              R"({{"ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"cat":"comm","name":"{}","args":{{"task":)",
              r.rank, e.thread, ts, dur, send ? "send" : "receive");
          append_json_string(out, task_name(rec, e));
          fmt::format_to(
              it,
              R"(,"{}":{},"bytes":{}}}}},)"
              "\n"
              R"({{"ph":"{}",{}"id":{},"pid":{},"tid":{},"ts":{:.3f},"cat":"transfer","name":"transfer"}})",
              send ? "to_rank" : "from_rank", e.peer, e.a, send ? "s" : "f",
              send ? "" : R"("bp":"e",)", e.b, r.rank, e.thread, ts);
          break;
        }
        case EventKind::comm:
          fmt::format_to(
              it,
              R"({{"ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"cat":"comm","name":"comm"}})",
              r.rank, e.thread, ts, dur);
          break;
        case EventKind::run:
          fmt::format_to(
              it,
              R"({{"ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"cat":"compute","name":"compute #{}","args":{{"graph_tasks":{},"tasks_all_ranks":{},"tasks_here":{}}}}})",
              r.rank, e.thread, ts, dur, e.label, e.a, e.task, e.b);
          break;
        case EventKind::memory:
          fmt::format_to(
              it,
              R"({{"ph":"C","pid":{},"ts":{:.3f},"name":"memory","args":{{"held":{},"spilled":{}}}}})",
              r.rank, ts, e.a, e.b);
          break;
      }
    }
  }
  out += "\n],\"otherData\":{";
  fmt::format_to(it, R"("ranks":{},"duration_ms":{:.3f})", rec.ranks.size(),
                 static_cast<double>(rec.end - rec.start) / 1e6);
  for (const RankTrace& r : rec.ranks) {
    fmt::format_to(it, R"(,"rank {}":"{} threads, budget {} bytes, clock offset {} ns{}")", r.rank,
                   r.threads, r.budget, r.clock_offset,
                   r.dropped ? fmt::format(", {} events dropped (log full)", r.dropped) : "");
  }
  out += "}}\n";
  return out;
}

}  // namespace tessera::detail::trace
