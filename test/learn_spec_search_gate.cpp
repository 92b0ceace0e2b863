// The spec search benchmark gate: the reference's gate and regression tests
// (§3 "Gate [5]/regression [6]": improvement accepted, zero delta and
// cluster drops rejected, threshold honoured, new clusters ignored, missing
// ones flagged), plus the Scorer requirement, the seeded subsample and
// DatasetScorer's per-cluster scores.
#include <leash/learn/spec_search/gate.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"
#include "support.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace test_learn_spec_search_gate {

namespace asio = boost::asio;
namespace ss = leash::learn::spec_search;
using leash::Errc;
using leash::result;
using leash::learn::Answer;
using leash::learn::EvalSample;
using leash::learn::ExactGrader;
using leash_test::run_sync;
using leash_test::why;

ss::BenchmarkSnapshot snap(double overall, std::map<std::string, double> clusters = {}) {
  ss::BenchmarkSnapshot s;
  s.overall_score = overall;
  s.cluster_scores = std::move(clusters);
  return s;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

/// The exemplar of Scorer: a fixed score.
struct FixedScorer {
  asio::awaitable<result<ss::BenchmarkSnapshot>> score(ss::ScoreRequest const& r) {
    auto s = snap(0.5);
    s.benchmark_version = r.benchmark_version;
    co_return s;
  }
};
static_assert(ss::Scorer<FixedScorer> && ss::check_scorer<FixedScorer>());
static_assert(!ss::Scorer<int>);

/// The student: right on "math" questions, wrong elsewhere; remembers what it
/// was asked. Not copyable, so the scorer must call it in place.
struct Student {
  std::unique_ptr<std::vector<std::string>> asked = std::make_unique<std::vector<std::string>>();

  asio::awaitable<result<Answer>> operator()(EvalSample const& s) {
    asked->push_back(s.id);
    Answer a;
    auto const* c = s.metadata.if_contains("cluster");
    a.text = c && c->is_string() && c->get_string() == "math" ? s.expected : "no idea";
    a.cost_usd = 0.01;
    co_return a;
  }
};
static_assert(!std::is_copy_constructible_v<Student>);
static_assert(ss::Scorer<ss::DatasetScorer<Student>> && ss::Scorer<ss::DatasetScorer<Student, ExactGrader>>);

EvalSample sample(std::string id, std::string expected, std::string key = "", std::string label = "") {
  EvalSample s;
  s.id = std::move(id);
  s.query = "q " + s.id;
  s.expected = std::move(expected);
  if (!key.empty()) s.metadata[key] = label;
  return s;
}

/// "s<i>", appended rather than `"s" + to_string(i)`, which GCC 12 at -O2
/// falsely reports under -Wrestrict.
std::string sample_id(std::size_t i) {
  std::string id = "s";
  id += std::to_string(i);
  return id;
}

std::vector<EvalSample> numbered(std::size_t n) {
  std::vector<EvalSample> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(sample(sample_id(i), std::to_string(i), "cluster", i % 2 ? "math" : "geo"));
  return out;
}

}  // namespace test_learn_spec_search_gate

using namespace test_learn_spec_search_gate;

BOOST_AUTO_TEST_SUITE(learn_spec_search_gate)

// ---------------------------------------------------------------- the gate

BOOST_AUTO_TEST_CASE(an_improvement_is_accepted) {
  ss::BenchmarkGate gate;
  auto r = gate.judge(snap(0.60, {{"arith", 0.5}, {"dates", 0.7}}), snap(0.68, {{"arith", 0.7}, {"dates", 0.68}}));
  BOOST_TEST(r.accepted, r.reason);
  BOOST_TEST(r.delta == 0.08, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.snapshot.overall_score == 0.68);
  BOOST_REQUIRE(r.cluster_deltas.size() == 2u);
  BOOST_TEST(r.cluster_deltas.at("arith") == 0.2, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.cluster_deltas.at("dates") == -0.02, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(contains(r.reason, "improved by 0.080"), r.reason);
}

BOOST_AUTO_TEST_CASE(a_zero_delta_is_rejected) {
  ss::BenchmarkGate gate;
  auto r = gate.judge(snap(0.6, {{"a", 0.6}}), snap(0.6, {{"a", 0.6}}));
  BOOST_TEST(!r.accepted);
  BOOST_TEST(r.delta == 0.0);
  BOOST_TEST(contains(r.reason, "no improvement"), r.reason);
  BOOST_TEST(contains(r.reason, "min_improvement 0.000"), r.reason);

  auto worse = gate.judge(snap(0.6), snap(0.5));
  BOOST_TEST(!worse.accepted);
  BOOST_TEST(worse.delta == -0.1, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(min_improvement_is_honoured) {
  ss::BenchmarkGate gate;
  gate.min_improvement = 0.05;
  BOOST_TEST(!gate.judge(snap(0.70), snap(0.74)).accepted);
  BOOST_TEST(!gate.judge(snap(0.70), snap(0.75)).accepted);  // equal to the threshold: rejected
  BOOST_TEST(gate.judge(snap(0.70), snap(0.76)).accepted);
}

BOOST_AUTO_TEST_CASE(a_cluster_drop_is_rejected_even_when_overall_improves) {
  ss::BenchmarkGate gate;
  auto r = gate.judge(snap(0.6, {{"arith", 0.8}, {"dates", 0.5}, {"units", 0.9}}),
                      snap(0.7, {{"arith", 0.6}, {"dates", 0.9}, {"units", 0.7}}));
  BOOST_TEST(!r.accepted);
  BOOST_TEST(r.delta == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(contains(r.reason, "cluster 'arith' fell by 0.200 (0.800 -> 0.600)"), r.reason);
  BOOST_TEST(contains(r.reason, "cluster 'units' fell by 0.200 (0.900 -> 0.700)"), r.reason);
  BOOST_TEST(!contains(r.reason, "dates"), r.reason);
  BOOST_TEST(r.cluster_deltas.at("dates") == 0.4, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(the_regression_threshold_is_honoured) {
  ss::BenchmarkGate gate;  // 0.05
  BOOST_TEST(gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.75}})).accepted);  // exactly 0.05
  BOOST_TEST(gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.77}})).accepted);
  BOOST_TEST(!gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.74}})).accepted);
  gate.max_regression = 0.2;
  BOOST_TEST(gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.65}})).accepted);
  gate.max_regression = 0.0;
  BOOST_TEST(!gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.79}})).accepted);
  BOOST_TEST(gate.judge(snap(0.5, {{"a", 0.8}}), snap(0.6, {{"a", 0.8}})).accepted);
}

BOOST_AUTO_TEST_CASE(regression_ignores_new_clusters) {
  auto r = ss::regressed_clusters(snap(0.5, {{"a", 0.5}}), snap(0.5, {{"a", 0.5}, {"new", 0.0}}), 0.05);
  BOOST_TEST(r.empty());
  auto g = ss::BenchmarkGate{}.judge(snap(0.5, {{"a", 0.5}}), snap(0.6, {{"a", 0.5}, {"new", 0.0}}));
  BOOST_TEST(g.accepted, g.reason);
  BOOST_TEST(g.cluster_deltas.count("new") == 0u);
}

BOOST_AUTO_TEST_CASE(regression_flags_missing_clusters) {
  auto r = ss::regressed_clusters(snap(0.5, {{"a", 0.5}, {"b", 0.3}, {"tiny", 0.01}}), snap(0.5, {{"b", 0.3}}), 0.05);
  BOOST_TEST(r == (std::vector<std::string>{"a"}), boost::test_tools::per_element());  // 0.01 → 0 is within 0.05
  auto g = ss::BenchmarkGate{}.judge(snap(0.5, {{"a", 0.5}}), snap(0.9, {}));
  BOOST_TEST(!g.accepted);
  BOOST_TEST(contains(g.reason, "cluster 'a' fell by 0.500 (0.500 -> 0.000, missing after)"), g.reason);
  BOOST_TEST(g.cluster_deltas.at("a") == -0.5);
}

BOOST_AUTO_TEST_CASE(regression_lists_every_cluster_in_name_order) {
  auto r = ss::regressed_clusters(snap(0, {{"z", 0.9}, {"m", 0.9}, {"a", 0.9}, {"ok", 0.1}}),
                                  snap(0, {{"z", 0.1}, {"m", 0.1}, {"a", 0.1}, {"ok", 0.9}}), 0.05);
  BOOST_TEST(r == (std::vector<std::string>{"a", "m", "z"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(non_finite_scores_never_pass) {
  double const nan = std::numeric_limits<double>::quiet_NaN();
  ss::BenchmarkGate gate;
  auto r = gate.judge(snap(0.5), snap(nan));
  BOOST_TEST(!r.accepted);
  BOOST_TEST(contains(r.reason, "finite"), r.reason);
  // A cluster that became NaN counts as 0, so it regressed.
  auto c = gate.judge(snap(0.5, {{"a", 0.6}}), snap(0.7, {{"a", nan}}));
  BOOST_TEST(!c.accepted);
  BOOST_TEST(contains(c.reason, "'a'"), c.reason);
}

BOOST_AUTO_TEST_CASE(thresholds_are_validated) {
  ss::BenchmarkGate gate;
  BOOST_TEST(gate.validate().has_value());
  for (double bad : {-0.01, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    ss::BenchmarkGate g1;
    g1.max_regression = bad;
    auto v = g1.validate();
    BOOST_REQUIRE(v.has_error());
    BOOST_TEST((v.error().code == Errc::invalid_input));
    BOOST_TEST(contains(v.error().what(), "max_regression"), v.error().what());
    auto r = g1.judge(snap(0.1), snap(0.9));
    BOOST_TEST(!r.accepted);
    BOOST_TEST(contains(r.reason, "max_regression"), r.reason);

    ss::BenchmarkGate g2;
    g2.min_improvement = bad;
    BOOST_TEST(g2.validate().has_error());
    BOOST_TEST(contains(why(g2.validate()), "min_improvement"));
  }
}

// ---------------------------------------------------------------- subsamples

BOOST_AUTO_TEST_CASE(the_subsample_is_fixed_by_the_seed) {
  auto a = ss::subsample_indices(200, 50, 7);
  auto b = ss::subsample_indices(200, 50, 7);
  auto c = ss::subsample_indices(200, 50, 8);
  BOOST_TEST(a == b, boost::test_tools::per_element());
  BOOST_TEST(a != c);
  BOOST_REQUIRE(a.size() == 50u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  BOOST_TEST(std::set<std::size_t>(a.begin(), a.end()).size() == 50u);
  BOOST_TEST(a.back() < 200u);
  // Pinned: the draw is ours over std::mt19937, so these are the same
  // indices with every standard library.
  BOOST_TEST(ss::subsample_indices(10, 3, 42) == (std::vector<std::size_t>{1, 2, 6}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_subsample_of_zero_or_more_than_all_is_all) {
  std::vector<std::size_t> all = {0, 1, 2, 3, 4};
  BOOST_TEST(ss::subsample_indices(5, 0, 1) == all, boost::test_tools::per_element());
  BOOST_TEST(ss::subsample_indices(5, 5, 1) == all, boost::test_tools::per_element());
  BOOST_TEST(ss::subsample_indices(5, 99, 1) == all, boost::test_tools::per_element());
  BOOST_TEST(ss::subsample_indices(0, 3, 1).empty());
}

BOOST_AUTO_TEST_CASE(every_item_can_be_drawn) {
  std::vector<int> seen(20, 0);
  for (std::uint32_t seed = 0; seed < 400; ++seed)
    for (auto i : ss::subsample_indices(20, 2, seed)) ++seen[i];
  for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i] > 10, "index " << i << " drawn " << seen[i]);
}

BOOST_AUTO_TEST_CASE(cluster_labels_fall_back_to_category_then_all) {
  BOOST_TEST(ss::cluster_label(sample("a", "1", "cluster", "math")) == "math");
  BOOST_TEST(ss::cluster_label(sample("a", "1", "category", "geo")) == "geo");
  auto both = sample("a", "1", "category", "geo");
  both.metadata["cluster"] = "math";
  BOOST_TEST(ss::cluster_label(both) == "math");
  auto number = sample("a", "1");
  number.metadata["cluster"] = 3;  // not a string
  BOOST_TEST(ss::cluster_label(number) == "all");
  BOOST_TEST(ss::cluster_label(sample("a", "1")) == "all");
}

// ---------------------------------------------------------------- DatasetScorer

BOOST_AUTO_TEST_CASE(dataset_scorer_scores_per_cluster) {
  std::vector<EvalSample> bench = {sample("m1", "1", "cluster", "math"), sample("m2", "2", "cluster", "math"),
                                   sample("g1", "Paris", "cluster", "geo"), sample("c1", "x", "category", "misc"),
                                   sample("n1", "y")};
  ss::DatasetScorer scorer(bench, Student{});
  ss::ScoreRequest req;
  req.benchmark_version = "personal_v2";
  req.subsample_size = 0;
  auto r = run_sync(scorer.score(req));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& s = r.value();
  BOOST_TEST(s.benchmark_version == "personal_v2");
  BOOST_TEST(s.overall_score == 0.4, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.task_count == 5u);
  BOOST_REQUIRE(s.cluster_scores.size() == 4u);
  BOOST_TEST(s.cluster_scores.at("math") == 1.0);
  BOOST_TEST(s.cluster_scores.at("geo") == 0.0);
  BOOST_TEST(s.cluster_scores.at("misc") == 0.0);
  BOOST_TEST(s.cluster_scores.at("all") == 0.0);
  BOOST_TEST(s.cost_usd == 0.05, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.elapsed_seconds >= 0.0);
  BOOST_TEST(scorer.agent().asked->size() == 5u);
}

BOOST_AUTO_TEST_CASE(dataset_scorer_subsample_follows_the_seed) {
  ss::DatasetScorer<Student, ExactGrader> scorer(numbered(60), Student{});
  ss::ScoreRequest req;
  req.subsample_size = 10;
  req.seed = 12345;
  auto asked = [&] {
    scorer.agent().asked->clear();
    auto r = run_sync(scorer.score(req));
    BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
    BOOST_TEST(r.value().task_count == 10u);
    return std::set<std::string>(scorer.agent().asked->begin(), scorer.agent().asked->end());
  };
  auto first = asked();
  auto again = asked();
  BOOST_TEST(first.size() == 10u);
  BOOST_TEST((first == again));
  req.seed = 54321;
  auto other = asked();
  BOOST_TEST((first != other));
  // Exactly the indices subsample_indices names.
  std::set<std::string> expected;
  for (auto i : ss::subsample_indices(60, 10, 12345)) expected.insert(sample_id(i));
  BOOST_TEST((first == expected));
}

BOOST_AUTO_TEST_CASE(dataset_scorer_snapshots_feed_the_gate) {
  ss::DatasetScorer scorer(numbered(8), Student{});
  ss::ScoreRequest req;
  auto before = run_sync(scorer.score(req));
  BOOST_REQUIRE_MESSAGE(before.has_value(), why(before));
  BOOST_TEST(before.value().cluster_scores.at("math") == 1.0);
  BOOST_TEST(before.value().cluster_scores.at("geo") == 0.0);
  BOOST_TEST(before.value().overall_score == 0.5);
  // The same student measured again: nothing changed, so the gate says no.
  auto after = run_sync(scorer.score(req));
  BOOST_REQUIRE_MESSAGE(after.has_value(), why(after));
  auto verdict = ss::BenchmarkGate{}.judge(before.value(), std::move(after).value());
  BOOST_TEST(!verdict.accepted);
  BOOST_TEST(verdict.delta == 0.0);
}

BOOST_AUTO_TEST_CASE(dataset_scorer_refuses_an_empty_benchmark) {
  ss::DatasetScorer scorer(std::vector<EvalSample>{}, Student{});
  ss::ScoreRequest req;
  auto r = run_sync(scorer.score(req));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error().code == Errc::invalid_input));
}

BOOST_AUTO_TEST_SUITE_END()
