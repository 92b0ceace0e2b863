#include <leash/explain.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

namespace test_explain {

namespace bj = leash::json;
using leash::IterationRecord;
using leash::State;

std::vector<std::string> const signal_keys = {
    "iterations", "input_tokens", "output_tokens", "llm_calls", "elapsed_s", "cost_usd_estimate",
    "no_progress_streak", "plan_invalid_streak", "last_metric", "failed_approaches"};

std::vector<std::string> keys(leash::ExplainReport const& r) {
  std::vector<std::string> out;
  for (auto const& [k, v] : r.signals) out.push_back(k);
  return out;
}

std::string signal(leash::ExplainReport const& r, std::string const& key) {
  for (auto const& [k, v] : r.signals)
    if (k == key) return v;
  return "<missing>";
}

IterationRecord with_action(std::uint64_t index, leash::ActionStatus status, double metric, bool regression = false,
                            bool repetition = false) {
  IterationRecord it;
  it.index = index;
  it.plan_text = "fix a";
  it.actions.push_back({"fix", R"({"name":"a"})", status, "", 0.0, "fp"});
  it.metric = leash::MetricSnapshot{metric, regression, {}};
  it.repetition = repetition;
  return it;
}

/// Four iterations: plan-invalid, regression, repetition, text only.
State eventful() {
  State s;
  IterationRecord invalid;
  invalid.index = 0;
  invalid.plan_invalid = true;
  s.iterations.push_back(invalid);
  s.iterations.push_back(with_action(1, leash::ActionStatus::ok, -2.0, true));
  auto repeated = with_action(2, leash::ActionStatus::error, -2.0, false, true);
  repeated.actions.push_back({"edit", "{}", leash::ActionStatus::aborted, "", 0.0, "fp2"});
  s.iterations.push_back(repeated);
  IterationRecord text;
  text.index = 3;
  text.plan_text = "nothing to call";
  text.metric = leash::MetricSnapshot{0.5, false, {{"failing", bj::array{}}}};
  s.iterations.push_back(text);
  s.metrics.input_tokens = 200;
  s.metrics.output_tokens = 40;
  s.metrics.llm_calls = 6;
  s.metrics.elapsed_s = 1.234;
  s.metrics.cost_usd = 1.5;
  s.no_progress_streak = 2;
  s.plan_invalid_streak = 0;
  s.failed_approaches = {"iteration 1: fix a -> metric regressed"};
  return s;
}

}  // namespace test_explain

using namespace test_explain;

BOOST_AUTO_TEST_SUITE(explain)

BOOST_AUTO_TEST_CASE(before_any_run, *boost::unit_test::description("reference scenario 61")) {
  auto r = leash::explain(State{});
  BOOST_TEST(r.status == "RUNNING");
  BOOST_TEST(r.reason == "loop has not exited");
  BOOST_TEST(r.decision_chain.empty());
  BOOST_TEST(keys(r) == signal_keys, boost::test_tools::per_element());
  std::vector<std::string> values;
  for (auto const& [k, v] : r.signals) values.push_back(v);
  std::vector<std::string> zeroed = {"0", "0", "0", "0", "0.00", "None", "0", "0", "None", "0"};
  BOOST_TEST(values == zeroed, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(signals_reflect_the_state) {
  auto r = leash::explain(eventful());
  BOOST_TEST(keys(r) == signal_keys, boost::test_tools::per_element());
  BOOST_TEST(signal(r, "iterations") == "4");
  BOOST_TEST(signal(r, "input_tokens") == "200");
  BOOST_TEST(signal(r, "output_tokens") == "40");
  BOOST_TEST(signal(r, "llm_calls") == "6");
  BOOST_TEST(signal(r, "elapsed_s") == "1.23");
  BOOST_TEST(signal(r, "cost_usd_estimate") == "$1.50");
  BOOST_TEST(leash::detail::format_cost(0.0004) == "$0.000400");  // below a cent, not "$0.00"
  BOOST_TEST(signal(r, "no_progress_streak") == "2");
  BOOST_TEST(signal(r, "plan_invalid_streak") == "0");
  BOOST_TEST(signal(r, "failed_approaches") == "1");
  auto last = bj::parse(signal(r, "last_metric")).as_object();  // the last iteration's metric, as JSON
  BOOST_TEST(last.at("value").as_double() == 0.5);
  BOOST_TEST(last.at("detail").as_object().contains("failing"));
}

BOOST_AUTO_TEST_CASE(decision_chain_lines) {
  auto r = leash::explain(eventful());
  std::vector<std::string> expected = {
      "iteration 0: plan failed validation;",
      "iteration 1: fix[ok] metric=-2 (REGRESSION)",
      "iteration 2: fix[error] edit[aborted] metric=-2 (repetition flagged)",
      "iteration 3: text only metric=0.5",
  };
  BOOST_TEST(r.decision_chain == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(exit_line_and_status_from_the_result) {
  State s = eventful();
  auto result = leash::LoopResult::make(leash::Status::no_progress, "3 consecutive iterations", 4, s.metrics, "run-1");
  auto r = leash::explain(s, result);
  BOOST_TEST(r.status == "NO_PROGRESS");
  BOOST_TEST(r.reason == "3 consecutive iterations");
  BOOST_REQUIRE(r.decision_chain.size() == 5u);
  BOOST_TEST(r.decision_chain.back() == "exit: NO_PROGRESS — 3 consecutive iterations");
}

BOOST_AUTO_TEST_CASE(render_headings) {
  State s = eventful();
  auto r = leash::explain(s, leash::LoopResult::make(leash::Status::success, "goal metric reports success", 4,
                                                     s.metrics, "run-1"));
  std::string md = r.render();
  BOOST_TEST(md.find("# Why the loop stopped: SUCCESS\n\n**Reason:** goal metric reports success\n\n## Signals\n") == 0u);
  BOOST_TEST(md.find("- iterations: 4\n") != std::string::npos);
  BOOST_TEST(md.find("- cost_usd_estimate: $1.50\n") != std::string::npos);
  BOOST_TEST(md.find("## Warnings") == std::string::npos);
  auto chain = md.find("\n## Decision chain\n1. iteration 0: plan failed validation;\n2. iteration 1:");
  BOOST_TEST(chain != std::string::npos);
  BOOST_TEST(md.find("5. exit: SUCCESS — goal metric reports success\n") != std::string::npos);
  BOOST_TEST(md.find("- iterations") < chain);

  r.warnings.push_back("pricing table is 311 days old");
  std::string warned = r.render();
  auto w = warned.find("\n## Warnings\n- pricing table is 311 days old\n");
  BOOST_TEST(w != std::string::npos);
  BOOST_TEST(w < warned.find("## Decision chain"));
}

BOOST_AUTO_TEST_SUITE_END()
