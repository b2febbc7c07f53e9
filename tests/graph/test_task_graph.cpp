// Tests of graph/task_graph.hpp: building a graph (labels, dense ids, CSR dependency lists),
// task names as Dask prints keys, literal tasks, the topological-order invariant enforced by
// add() and priorities. Running graphs is tested with the schedulers (tests/exec).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/value.hpp"
#include "tessera/graph/task_graph.hpp"

namespace tessera {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Coords = std::vector<std::int64_t>;
using Deps = std::vector<TaskId>;

TaskFn sum_inputs() {
  return [](std::span<const Value> in) {
    std::int64_t s = 0;
    for (const Value& v : in) s += v.get<std::int64_t>();
    return Value::make<std::int64_t>(s);
  };
}

TEST(TaskGraph, StartsEmpty) {
  const TaskGraph g;
  EXPECT_EQ(g.size(), 0u);
}

TEST(TaskGraph, LabelsAndTaskIdsAreDense) {
  TaskGraph g;
  EXPECT_EQ(g.add_label("ones-3fa2c1de"), 0u);
  EXPECT_EQ(g.add_label("add-0badc0de"), 1u);
  EXPECT_EQ(g.add(0, Coords{0}, Deps{}, sum_inputs()), 0);
  EXPECT_EQ(g.add(0, Coords{1}, Deps{}, sum_inputs()), 1);
  EXPECT_EQ(g.add(1, Coords{0}, Deps{0, 1}, sum_inputs()), 2);
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g.label(0), "ones-3fa2c1de");
  EXPECT_EQ(g.label(2), "add-0badc0de");
}

TEST(TaskGraph, DependenciesKeepTheirDeclaredOrder) {
  TaskGraph g;
  const auto l = g.add_label("t");
  const TaskId a = g.add(l, Coords{}, Deps{}, sum_inputs());
  const TaskId b = g.add(l, Coords{}, Deps{}, sum_inputs());
  const TaskId c = g.add(l, Coords{}, Deps{b, a, b}, sum_inputs());  // repeats allowed
  const TaskId d = g.add(l, Coords{}, Deps{c}, sum_inputs());
  EXPECT_THAT(g.deps(a), IsEmpty());
  EXPECT_THAT(g.deps(b), IsEmpty());
  EXPECT_THAT(g.deps(c), ElementsAre(b, a, b));
  EXPECT_THAT(g.deps(d), ElementsAre(c));
}

TEST(TaskGraph, FunctionsReceiveInputsInDeclaredOrder) {
  TaskGraph g;
  const auto l = g.add_label("t");
  const TaskId a = g.add_value(l, Coords{}, Value::make<std::int64_t>(1));
  const TaskId b = g.add_value(l, Coords{}, Value::make<std::int64_t>(10));
  const TaskId c = g.add(l, Coords{}, Deps{b, a}, [](std::span<const Value> in) {
    return Value::make<std::int64_t>(in[0].get<std::int64_t>() - in[1].get<std::int64_t>());
  });
  std::vector<Value> inputs;
  for (TaskId d : g.deps(c)) inputs.push_back(g.literal(d));
  EXPECT_EQ(g.fn(c)(inputs).get<std::int64_t>(), 9);
}

TEST(TaskGraph, NamesFormatLikeDaskKeys) {
  TaskGraph g;
  const auto l = g.add_label("label");
  const TaskId a = g.add(l, Coords{1, 2}, Deps{}, sum_inputs());
  const TaskId b = g.add(l, Coords{0}, Deps{}, sum_inputs());
  const TaskId c = g.add(l, Coords{}, Deps{}, sum_inputs());
  const TaskId d = g.add(l, Coords{-1, 10000000000, 3}, Deps{}, sum_inputs());
  EXPECT_EQ(g.name(a), "('label', 1, 2)");
  EXPECT_EQ(g.name(b), "('label', 0)");
  EXPECT_EQ(g.name(c), "'label'");
  EXPECT_EQ(g.name(d), "('label', -1, 10000000000, 3)");
}

TEST(TaskGraph, OneLabelIsSharedByManyTasks) {
  TaskGraph g;
  const auto l = g.add_label("sum-partial-abc");
  for (std::int64_t i = 0; i < 100; ++i) g.add(l, Coords{i}, Deps{}, sum_inputs());
  EXPECT_EQ(g.name(42), "('sum-partial-abc', 42)");
  EXPECT_EQ(g.label(99), "sum-partial-abc");
}

TEST(TaskGraph, AddValueStoresALiteral) {
  TaskGraph g;
  const auto l = g.add_label("literal");
  const TaskId v = g.add_value(l, Coords{3}, Value::make<std::string>("hello"));
  const TaskId t = g.add(l, Coords{4}, Deps{v}, sum_inputs());
  ASSERT_FALSE(g.literal(v).empty());
  EXPECT_EQ(g.literal(v).get<std::string>(), "hello");
  EXPECT_FALSE(g.fn(v));  // nothing to run
  EXPECT_THAT(g.deps(v), IsEmpty());
  EXPECT_EQ(g.name(v), "('literal', 3)");
  EXPECT_TRUE(g.literal(t).empty());  // a computed task has no literal
  EXPECT_TRUE(static_cast<bool>(g.fn(t)));
}

TEST(TaskGraph, FingerprintCoversTheContentOfItsData) {
  // Two ranks with the same structure but different literal data must not agree: the
  // distributed scheduler compares fingerprints to report rank-dependent data.
  const auto build = [](std::uint64_t value_content, std::uint64_t task_content) {
    TaskGraph g;
    const auto l = g.add_label("x");
    const TaskId v = g.add_value(l, Coords{0}, Value::make<double>(1.0), value_content);
    const TaskId t = g.add(l, Coords{1}, Deps{v}, sum_inputs());
    g.set_content(t, task_content);
    return g.fingerprint();
  };
  EXPECT_EQ(build(1, 2), build(1, 2));
  EXPECT_NE(build(1, 2), build(3, 2));
  EXPECT_NE(build(1, 2), build(1, 3));
  EXPECT_NE(build(0, 0), build(1, 0));
}

TEST(TaskGraph, DependencyOnATaskNotYetAddedThrowsGraphError) {
  TaskGraph g;
  const auto l = g.add_label("late");
  const TaskId a = g.add(l, Coords{0}, Deps{}, sum_inputs());
  for (TaskId bad : {TaskId{1} /* its own id */, TaskId{5}, TaskId{-1}}) {
    try {
      g.add(l, Coords{1}, Deps{a, bad}, sum_inputs());
      ADD_FAILURE() << "no error for dependency " << bad;
    } catch (const graph_error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr("'late'"), HasSubstr(std::to_string(bad))));
    }
  }
  // A rejected task leaves the graph as it was.
  EXPECT_EQ(g.size(), 1u);
  EXPECT_EQ(g.add(l, Coords{1}, Deps{a}, sum_inputs()), 1);
  EXPECT_THAT(g.deps(1), ElementsAre(a));
  EXPECT_EQ(g.name(1), "('late', 1)");
}

TEST(TaskGraph, UnknownLabelThrowsGraphError) {
  TaskGraph g;
  EXPECT_THROW(g.add(0, Coords{}, Deps{}, sum_inputs()), graph_error);
  g.add_label("only");
  EXPECT_THROW(g.add(1, Coords{}, Deps{}, sum_inputs()), graph_error);
  EXPECT_THROW(g.add_value(7, Coords{}, Value::make<int>(1)), graph_error);
  EXPECT_EQ(g.size(), 0u);
}

TEST(TaskGraph, PrioritiesDefaultToTaskIds) {
  TaskGraph g;
  const auto l = g.add_label("p");
  for (int i = 0; i < 5; ++i) g.add(l, Coords{i}, Deps{}, sum_inputs());
  for (TaskId i = 0; i < 5; ++i) EXPECT_EQ(g.priority(i), i);
}

TEST(TaskGraph, SetPriorities) {
  TaskGraph g;
  const auto l = g.add_label("p");
  for (int i = 0; i < 3; ++i) g.add(l, Coords{i}, Deps{}, sum_inputs());
  g.set_priorities({2, 0, 1});
  EXPECT_EQ(g.priority(0), 2);
  EXPECT_EQ(g.priority(1), 0);
  EXPECT_EQ(g.priority(2), 1);
}

TEST(TaskGraph, SetPrioritiesOfTheWrongSizeThrowsGraphErrorNamingBothSizes) {
  TaskGraph g;
  const auto l = g.add_label("p");
  for (int i = 0; i < 3; ++i) g.add(l, Coords{i}, Deps{}, sum_inputs());
  try {
    g.set_priorities({0, 1});
    ADD_FAILURE() << "no error";
  } catch (const graph_error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("2"), HasSubstr("3")));
  }
  EXPECT_THROW(g.set_priorities({0, 1, 2, 3}), graph_error);
  EXPECT_EQ(g.priority(2), 2);  // unchanged
  EXPECT_NO_THROW(TaskGraph().set_priorities({}));
}

TEST(TaskGraph, ScalesToManyTasks) {
  // A chain plus fan-in: CSR storage must keep every task's own deps.
  TaskGraph g;
  const auto l = g.add_label("chain");
  constexpr int n = 100000;
  g.add(l, Coords{0}, Deps{}, sum_inputs());
  for (int i = 1; i < n; ++i) g.add(l, Coords{i}, Deps{i - 1, i / 2}, sum_inputs());
  ASSERT_EQ(g.size(), static_cast<std::size_t>(n));
  EXPECT_THAT(g.deps(n - 1), ElementsAre(n - 2, (n - 1) / 2));
  EXPECT_THAT(g.deps(12345), ElementsAre(12344, 6172));
  EXPECT_EQ(g.name(n - 1), "('chain', 99999)");
}

}  // namespace
}  // namespace tessera
