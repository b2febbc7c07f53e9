// Raw task graphs at 1-4 ranks: the whole serial suite (test_raw_graph.cpp, included here so
// that all_schedulers() adds the DistributedScheduler), plus what only a distributed run
// shows: values of every entry type cross ranks, and errors reach every rank with one message.

#include "delayed/test_raw_graph.cpp"  // NOLINT(bugprone-suspicious-include): the same suite

namespace tessera::testing {
namespace raw_graph_tests {

int ranks() { return distributed().num_ranks(); }

TEST(RawGraphDistributed, ValuesCrossRanks) {
  // Many independent loads spread over the ranks, gathered by one task: every load's value
  // (a vector, a string) travels to the rank that runs the consumer, then to every rank.
  RawGraph g;
  std::vector<Key> loads, names;
  for (int i = 0; i < 12; ++i) {
    g.set(Key("load", i),
          task([](std::int64_t k) { return std::vector<double>(3, double(k)); }, i));
    g.set(Key("name", i), task([](std::int64_t k) { return "part-" + std::to_string(k); }, i));
    loads.emplace_back("load", i);
    names.emplace_back("name", i);
  }
  g.set("total", task(
                     [](const std::vector<std::vector<double>>& v) {
                       double t = 0;
                       for (const auto& x : v) t = std::accumulate(x.begin(), x.end(), t);
                       return t;
                     },
                     loads));
  g.set("joined", task(
                      [](const std::vector<std::string>& v) {
                        std::string out;
                        for (const auto& s : v) out += s + ";";
                        return out;
                      },
                      names));
  const auto v = get(g, {"total", "joined", Key("load", 11)}, distributed());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].get<double>(), 3.0 * 66);
  EXPECT_EQ(v[1].get<std::string>().substr(0, 14), "part-0;part-1;");
  EXPECT_EQ(v[2].get<std::vector<double>>(), std::vector<double>(3, 11.0));
  // Each task ran once, somewhere.
  EXPECT_EQ(sum_over_ranks(distributed().last_transfers().tasks_here), 2 * 12 + 2);
}

TEST(RawGraphDistributed, TaskErrorReachesEveryRankWithOneMessage) {
  RawGraph g = dask_example();
  g.set("clean-3", task([](const std::vector<double>&)
                            -> std::vector<double> { throw std::runtime_error("corrupt record"); },
                        Key("load-3")));
  std::string what;
  try {
    get(g, "store", distributed());
    ADD_FAILURE() << "no error";
  } catch (const task_error& e) {
    what = e.what();
    EXPECT_EQ(e.task(), "'clean-3'");
    EXPECT_GE(e.rank(), 0);
    EXPECT_LT(e.rank(), ranks());
  }
  for (const auto& w : gather_strings(what)) EXPECT_EQ(w, what);
  EXPECT_EQ(get<std::string>(dask_example(), "store", distributed()), store(kAnalyzed));
}

TEST(RawGraphDistributed, MalformedGraphErrorsAreTheSameOnEveryRank) {
  const auto id = [](std::int64_t x) { return x; };
  const RawGraph g{
      {"a", task(id, Key("b"))},         {"b", task(id, Key("a"))}, {"c", task(id, Key("missing"))},
      {"d", value(std::string("text"))}, {"e", task(id, Key("d"))},
  };
  for (const char* key : {"a", "c", "e"}) {
    std::string what;
    try {
      get(g, key, distributed());
      ADD_FAILURE() << "no error for " << key;
    } catch (const error& e) {
      what = e.what();
    }
    EXPECT_NE(what.find(std::string("'") + key + "'"), std::string::npos) << what;
    for (const auto& w : gather_strings(what)) EXPECT_EQ(w, what);
  }
}

}  // namespace raw_graph_tests
}  // namespace tessera::testing
