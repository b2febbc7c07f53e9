// Pictures of task graphs: the DOT text says exactly what the graph holds (read back here),
// Graphviz really renders it, and a failed or impossible render leaves no file behind.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/array/creation.hpp"
#include "tessera/array/elementwise.hpp"
#include "tessera/array/reductions.hpp"
#include "tessera/array/visualize.hpp"
#include "tessera/graph/visualize.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

/// What to_dot wrote, read back with the grammar it writes (one statement per line).
struct ParsedDot {
  std::string graph_name;
  std::string rankdir;
  std::string title;
  std::map<TaskId, std::string> labels;
  std::map<TaskId, std::string> shapes;
  std::multimap<TaskId, TaskId> edges;  // dependency -> consumer
};

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

ParsedDot parse(const std::string& dot) {
  static const std::string q = R"re("((?:[^"\\]|\\.)*)")re";  // a quoted string; group: its inside
  static const std::regex header("^digraph " + q + " \\{$");
  static const std::regex graph_attrs("^  graph \\[rankdir=" + q + "(?:, label=" + q + ")?");
  static const std::regex node("^  t(\\d+) \\[label=" + q + ", shape=(\\w+)");
  static const std::regex edge("^  t(\\d+) -> t(\\d+);$");
  ParsedDot p;
  std::istringstream in(dot);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, header)) {
      p.graph_name = unescape(m[1]);
    } else if (std::regex_search(line, m, graph_attrs)) {
      p.rankdir = unescape(m[1]);
      p.title = unescape(m[2]);
    } else if (std::regex_search(line, m, node)) {
      const auto id = static_cast<TaskId>(std::stoi(m[1]));
      EXPECT_EQ(p.labels.count(id), 0u) << "task " << id << " drawn twice";
      p.labels[id] = unescape(m[2]);
      p.shapes[id] = m[3];
    } else if (std::regex_search(line, m, edge)) {
      p.edges.emplace(static_cast<TaskId>(std::stoi(m[1])), static_cast<TaskId>(std::stoi(m[2])));
    }
  }
  return p;
}

/// Every task is a node labelled with its name, every dependency an edge, nothing else.
void expect_matches(const TaskGraph& g, const ParsedDot& p) {
  ASSERT_EQ(p.labels.size(), g.size());
  std::size_t num_deps = 0;
  for (TaskId id = 0; static_cast<std::size_t>(id) < g.size(); ++id) {
    ASSERT_EQ(p.labels.count(id), 1u) << "task " << id << " is not drawn";
    EXPECT_EQ(p.labels.at(id), g.name(id));
    EXPECT_EQ(p.shapes.at(id), g.fn(id) ? "ellipse" : "box") << g.name(id);
    for (TaskId dep : g.deps(id)) {
      ++num_deps;
      const auto [begin, end] = p.edges.equal_range(dep);
      EXPECT_TRUE(std::any_of(begin, end, [&](const auto& e) { return e.second == id; }))
          << "no edge " << g.name(dep) << " -> " << g.name(id);
    }
  }
  EXPECT_EQ(p.edges.size(), num_deps);
}

Value constant(std::span<const Value>) { return Value::make(1.0); }

/// Two literals, two tasks reading them, a task reading one input twice and the first task.
TaskGraph small_graph() {
  TaskGraph g;
  const auto data = g.add_label("data-1a2b");
  const auto add = g.add_label("add-3fa2c1de");
  const auto total = g.add_label("total");
  const std::int64_t c0[] = {0}, c1[] = {1};
  const TaskId a = g.add_value(data, c0, Value::make(1.0));
  const TaskId b = g.add_value(data, c1, Value::make(2.0));
  const TaskId ab[] = {a, b};
  const TaskId x = g.add(add, c0, ab, constant);
  const TaskId bb[] = {b, b};
  const TaskId y = g.add(add, c1, bb, constant);
  const TaskId xy[] = {x, y};
  g.add(total, {}, xy, constant);
  g.pin(a, 1);
  return g;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// A fresh folder per test, removed afterwards; PATH restored if a test replaced it.
class Visualize : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("tessera-visualize-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    if (const char* p = std::getenv("PATH")) m_path = p;
  }
  void TearDown() override {
    ::setenv("PATH", m_path.c_str(), 1);
    fs::remove_all(m_dir);
  }
  fs::path dir() const { return m_dir; }
  /// A folder holding only an executable `dot` with the given shell body.
  fs::path fake_dot(const std::string& body) const {
    const fs::path bin = m_dir / "fake-bin";
    fs::create_directories(bin);
    std::ofstream(bin / "dot") << "#!/bin/sh\n" << body << "\n";
    fs::permissions(bin / "dot", fs::perms::owner_all);
    return bin;
  }

 private:
  fs::path m_dir;
  std::string m_path;
};

TEST_F(Visualize, DotHasEveryTaskAsANodeAndEveryDependencyAsAnEdge) {
  const TaskGraph g = small_graph();
  const std::string dot = to_dot(g);
  const ParsedDot p = parse(dot);
  expect_matches(g, p);
  EXPECT_EQ(p.labels.size(), 5u);
  EXPECT_EQ(p.edges.size(), 6u);    // y reads b twice: two edges
  EXPECT_EQ(p.edges.count(0), 1u);  // a -> x
  EXPECT_EQ(p.edges.count(1), 3u);  // b -> x, b -> y twice
  EXPECT_EQ(p.rankdir, "TB");
  EXPECT_EQ(p.graph_name, "tessera");
  EXPECT_EQ(p.title, "");
  EXPECT_THAT(dot, HasSubstr("pinned to rank 1"));
}

TEST_F(Visualize, RankdirTitleAndName) {
  const TaskGraph g = small_graph();
  const ParsedDot p = parse(to_dot(g, {.rankdir = "LR", .title = "sum of x", .name = "seeds"}));
  expect_matches(g, p);
  EXPECT_EQ(p.rankdir, "LR");
  EXPECT_EQ(p.title, "sum of x");
  EXPECT_EQ(p.graph_name, "seeds");
  EXPECT_THAT([&] { to_dot(g, {.rankdir = "left"}); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("\"left\"")));
}

TEST_F(Visualize, ColoursFollowLabels) {
  const std::string coloured = to_dot(small_graph());
  EXPECT_THAT(coloured, HasSubstr("fillcolor=\"#8dd3c7\""));  // first label
  EXPECT_THAT(coloured, HasSubstr("fillcolor=\"#bebada\""));  // third label
  const std::string plain = to_dot(small_graph(), {.color = false});
  EXPECT_THAT(plain, ::testing::Not(HasSubstr("#8dd3c7")));
}

TEST_F(Visualize, QuotesBackslashesAndNewlinesAreEscaped) {
  TaskGraph g;
  const std::string nasty = "say \"hi\" \\ C:\\temp\\n\nnext \"line\"";
  const std::int64_t c[] = {3};
  const TaskId a = g.add_value(g.add_label(nasty), c, Value::make(1.0));
  const TaskId deps[] = {a};
  g.add(g.add_label("tail\\"), {}, deps, constant);  // a backslash before the closing quote
  const std::string dot = to_dot(g, {.title = "a \"quoted\" title", .name = "n\"ame"});
  const ParsedDot p = parse(dot);
  expect_matches(g, p);
  EXPECT_EQ(p.labels.at(0), "('" + nasty + "', 3)");
  EXPECT_EQ(p.title, "a \"quoted\" title");
  EXPECT_EQ(p.graph_name, "n\"ame");
  EXPECT_THAT(dot, HasSubstr(R"(say \"hi\" \\ C:\\temp\\n\nnext)"));
  // Graphviz reads it: the rendered SVG shows the label text (XML-escaped).
  visualize(g, (dir() / "nasty.svg").string(), {.title = "a \"quoted\" title"});
  const std::string svg = read_file(dir() / "nasty.svg");
  EXPECT_THAT(svg, HasSubstr("say &quot;hi&quot; \\ C:\\temp\\n"));
  EXPECT_THAT(svg, HasSubstr("next &quot;line&quot;"));
  EXPECT_THAT(svg, HasSubstr("tail\\"));
}

TEST_F(Visualize, InvalidUtf8AndControlBytesAreReplaced) {
  TaskGraph g;
  g.add(g.add_label(std::string("bad\xff\x01 h\xc3\xa9llo")), {}, {}, constant);
  const ParsedDot p = parse(to_dot(g));
  EXPECT_EQ(p.labels.at(0), "'bad?? h\xc3\xa9llo'");
}

TEST_F(Visualize, WritesDotTextAsItIs) {
  const TaskGraph g = small_graph();
  visualize(g, (dir() / "graph.dot").string(), {.rankdir = "LR"});
  visualize(g, (dir() / "graph.GV").string());
  EXPECT_EQ(read_file(dir() / "graph.dot"), to_dot(g, {.rankdir = "LR"}));
  EXPECT_EQ(read_file(dir() / "graph.GV"), to_dot(g));
  EXPECT_THAT(files_in(dir()), ::testing::ElementsAre("graph.GV", "graph.dot"));  // no temporaries
}

TEST_F(Visualize, RendersSvgPngAndPdfWithGraphviz) {
  const TaskGraph g = small_graph();
  for (const char* ext : {"svg", "png", "pdf"}) {
    visualize(g, (dir() / (std::string("graph.") + ext)).string());
  }
  const std::string svg = read_file(dir() / "graph.svg");
  EXPECT_TRUE(svg.starts_with("<?xml") || svg.starts_with("<svg")) << svg.substr(0, 40);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("add&#45;3fa2c1de"));  // a label, as Graphviz escapes '-'
  EXPECT_TRUE(read_file(dir() / "graph.png").starts_with("\x89PNG\r\n\x1a\n"));
  EXPECT_TRUE(read_file(dir() / "graph.pdf").starts_with("%PDF"));
  EXPECT_THAT(files_in(dir()), ::testing::ElementsAre("graph.pdf", "graph.png", "graph.svg"));
}

TEST_F(Visualize, MissingDotIsAClearErrorAndWritesNothing) {
  const fs::path empty = dir() / "empty-bin";
  fs::create_directories(empty);
  ::setenv("PATH", empty.c_str(), 1);
  EXPECT_THAT(
      [&] { visualize(small_graph(), (dir() / "graph.svg").string()); },
      ::testing::ThrowsMessage<error>(HasSubstr(
          "Graphviz's `dot` was not found on PATH; install graphviz (scripts/install-deps does) "
          "or write a .dot file")));
  EXPECT_THAT(files_in(dir()), ::testing::ElementsAre("empty-bin"));
  // Writing DOT text needs no Graphviz.
  visualize(small_graph(), (dir() / "graph.dot").string());
  EXPECT_TRUE(fs::exists(dir() / "graph.dot"));
}

TEST_F(Visualize, FailingDotLeavesNoPartialFileAndReportsItsMessage) {
  // A `dot` that writes half a file, complains and fails (what a real failure looks like).
  const fs::path bin = fake_dot(
      "while [ $# -gt 1 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
      "echo '<svg half' > \"$out\"\n"
      "echo 'Error: <stdin>: syntax error in line 3 near \"x\"' >&2\n"
      "exit 1");
  ::setenv("PATH", bin.c_str(), 1);
  std::ofstream(dir() / "graph.svg") << "the previous picture";
  EXPECT_THAT([&] { visualize(small_graph(), (dir() / "graph.svg").string()); },
              ::testing::ThrowsMessage<error>(
                  ::testing::AllOf(HasSubstr("`dot -Tsvg` failed"), HasSubstr("exit status 1"),
                                   HasSubstr("syntax error in line 3 near \"x\""))));
  EXPECT_THAT(files_in(dir()), ::testing::ElementsAre("fake-bin", "graph.svg"));
  EXPECT_EQ(read_file(dir() / "graph.svg"), "the previous picture");  // not clobbered
}

TEST_F(Visualize, UnknownExtensionIsAValueErrorNamingIt) {
  EXPECT_THAT([&] { visualize(small_graph(), (dir() / "graph.jpeg").string()); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("unknown extension '.jpeg'")));
  EXPECT_THAT([&] { visualize(small_graph(), (dir() / "graph").string()); },
              ::testing::ThrowsMessage<value_error>(HasSubstr("no file extension")));
  EXPECT_TRUE(files_in(dir()).empty());
}

TEST_F(Visualize, UnwritableFolderIsAnError) {
  EXPECT_THAT([&] { visualize(small_graph(), (dir() / "missing" / "graph.svg").string()); },
              ::testing::ThrowsMessage<error>(HasSubstr("cannot write")));
  EXPECT_THAT(files_in(dir()), ::testing::IsEmpty());
}

TEST_F(Visualize, ArrayOptimisedGraphIsTheFusedOne) {
  const Array x = arange(0.0, 60.0, 1.0, {.chunks = 10});  // 6 chunks
  const Array y = ((x * 2.0 + 1.0) * x).sum({}, {.split_every = 3});
  const LoweredGraph fused = y.lower();
  const LoweredGraph raw = y.lower({.fuse = false});
  const ParsedDot p_fused = parse(to_dot(y));
  const ParsedDot p_raw = parse(to_dot(y, {.optimized = false}));
  expect_matches(fused.graph, p_fused);
  expect_matches(raw.graph, p_raw);
  EXPECT_LT(p_fused.labels.size(), p_raw.labels.size());
  EXPECT_LT(p_fused.edges.size(), p_raw.edges.size());
  visualize(y, (dir() / "fused.png").string(), {.rankdir = "LR", .title = "sum((2x + 1) x)"});
  visualize(y, (dir() / "raw.svg").string(), {.optimized = false});
  EXPECT_TRUE(read_file(dir() / "fused.png").starts_with("\x89PNG\r\n\x1a\n"));
  EXPECT_THAT(read_file(dir() / "raw.svg"), HasSubstr("<svg"));
}

}  // namespace
}  // namespace tessera
