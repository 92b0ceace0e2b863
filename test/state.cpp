#include <leash/state.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

namespace test_state {

namespace bj = leash::json;

leash::MetricSnapshot metric(double v, bool regression, char const* failing) {
  leash::MetricSnapshot m;
  m.value = v;
  m.regression = regression;
  m.detail["failing"] = bj::array{failing};
  m.detail["exit_code"] = 1;
  return m;
}

// Every field set to something other than its default.
leash::State populated() {
  leash::State s;
  s.schema_version = 1;
  s.run_id = "20261123T101500Z-1f2e3d4c5b6a7980";
  s.goal = "fix the tests";
  s.config.max_iterations = 7;
  s.config.token_limit = 12345;
  s.config.wall_clock_s = 99.5;
  s.config.cost_limit_usd = 2.5;
  s.config.verbatim_window = 2;
  s.config.max_tokens_per_call = 512;
  s.config.approval_ttl_s = 60.0;
  s.tool_schema_hash = "0123456789abcdef";

  leash::IterationRecord it0;
  it0.index = 0;
  it0.observation = "failing: a,b";
  it0.plan_text = "fix a";
  it0.actions.push_back({"fix", R"({"name":"a"})", leash::ActionStatus::ok, "fixed a", 0.25, "fp0"});
  it0.actions.push_back({"fix", R"({"name":"b"})", leash::ActionStatus::aborted, "aborted", 1.5, "fp1"});
  it0.metric = metric(-2, false, "b");
  it0.input_tokens = 50;
  it0.output_tokens = 10;
  leash::IterationRecord it1;
  it1.index = 1;
  it1.observation = "failing: b";
  it1.plan_invalid = true;
  it1.repetition = true;
  it1.actions.push_back({"edit", "{}", leash::ActionStatus::uncertain, "", 0.0, "fp2"});
  // it1.metric stays empty: optional members must survive as empty too.
  s.iterations = {it0, it1};

  s.artifacts.push_back({"summary", 0, "tried fix a", {"0.1.0", "deterministic-truncate", "abc"}});
  s.artifacts.push_back({"fact", std::nullopt, "the repo uses pytest", {"0.1.0", "summ-1", "def"}});
  s.pinned_facts = {"python 3.12"};
  s.failed_approaches = {"iteration 0: fix a -> metric regressed"};
  s.metrics.input_tokens = 100;
  s.metrics.output_tokens = 20;
  s.metrics.llm_calls = 2;
  s.metrics.elapsed_s = 3.75;
  s.metrics.cost_usd = 0.000225;
  s.no_progress_streak = 1;
  s.plan_invalid_streak = 1;
  s.state_version = 2;

  leash::PendingApproval p;
  p.token_sha256 = leash::sha256_hex("tok");
  p.tool = "fix";
  p.args = bj::object{{"name", "b"}};
  p.reason = "requires approval";
  p.action_hash = "fedcba9876543210";
  p.state_version = 2;
  p.created_at = 1763800000.5;
  p.ttl_s = 30.0;
  p.plan_text = "fix b then c";
  p.precondition_metric = metric(-1, true, "b");
  p.remaining_calls.push_back({"call_2", "fix", bj::object{{"name", "c"}}});
  s.pending_approval = p;
  s.status = leash::Status::awaiting_approval;
  s.reason = "action 'fix' awaits approval (token tok)";
  s.info.agent = "fixer";
  s.info.model = "gpt-4o";
  s.info.engine = "openai";
  s.info.result = "fixed b";
  s.info.started_at = 1763800000.25;
  s.info.ended_at = 1763800009.5;
  s.info.metadata = bj::object{{"source", "test"}};
  s.info.feedback = 0.75;
  s.info.feedback_source = "judge";
  s.info.feedback_at = 1763800010.0;
  return s;
}

void check_equal(leash::ActionRecord const& a, leash::ActionRecord const& b) {
  BOOST_TEST(a.tool == b.tool);
  BOOST_TEST(a.args_excerpt == b.args_excerpt);
  BOOST_TEST((a.status == b.status));
  BOOST_TEST(a.result_excerpt == b.result_excerpt);
  BOOST_TEST(a.duration_s == b.duration_s);
  BOOST_TEST(a.fingerprint == b.fingerprint);
}

void check_equal(leash::State const& a, leash::State const& b) {
  BOOST_TEST(a.schema_version == b.schema_version);
  BOOST_TEST(a.run_id == b.run_id);
  BOOST_TEST(a.goal == b.goal);
  BOOST_TEST(a.config.max_iterations == b.config.max_iterations);
  BOOST_TEST(a.config.token_limit == b.config.token_limit);
  BOOST_TEST(a.config.wall_clock_s == b.config.wall_clock_s);
  BOOST_TEST((a.config.cost_limit_usd == b.config.cost_limit_usd));
  BOOST_TEST(a.config.verbatim_window == b.config.verbatim_window);
  BOOST_TEST(a.config.max_tokens_per_call == b.config.max_tokens_per_call);
  BOOST_TEST(a.config.approval_ttl_s == b.config.approval_ttl_s);
  BOOST_TEST(a.tool_schema_hash == b.tool_schema_hash);

  BOOST_REQUIRE(a.iterations.size() == b.iterations.size());
  for (std::size_t i = 0; i < a.iterations.size(); ++i) {
    auto const& x = a.iterations[i];
    auto const& y = b.iterations[i];
    BOOST_TEST_CONTEXT("iteration " << i) {
      BOOST_TEST(x.index == y.index);
      BOOST_TEST(x.observation == y.observation);
      BOOST_TEST(x.plan_text == y.plan_text);
      BOOST_REQUIRE(x.actions.size() == y.actions.size());
      for (std::size_t j = 0; j < x.actions.size(); ++j) check_equal(x.actions[j], y.actions[j]);
      BOOST_TEST((x.metric == y.metric));
      BOOST_TEST(x.repetition == y.repetition);
      BOOST_TEST(x.plan_invalid == y.plan_invalid);
      BOOST_TEST(x.input_tokens == y.input_tokens);
      BOOST_TEST(x.output_tokens == y.output_tokens);
    }
  }

  BOOST_REQUIRE(a.artifacts.size() == b.artifacts.size());
  for (std::size_t i = 0; i < a.artifacts.size(); ++i) {
    BOOST_TEST(a.artifacts[i].kind == b.artifacts[i].kind);
    BOOST_TEST((a.artifacts[i].iteration == b.artifacts[i].iteration));
    BOOST_TEST(a.artifacts[i].content == b.artifacts[i].content);
    BOOST_TEST((a.artifacts[i].stamp == b.artifacts[i].stamp));
  }
  BOOST_TEST(a.pinned_facts == b.pinned_facts);
  BOOST_TEST(a.failed_approaches == b.failed_approaches);
  BOOST_TEST(a.metrics.input_tokens == b.metrics.input_tokens);
  BOOST_TEST(a.metrics.output_tokens == b.metrics.output_tokens);
  BOOST_TEST(a.metrics.llm_calls == b.metrics.llm_calls);
  BOOST_TEST(a.metrics.elapsed_s == b.metrics.elapsed_s);
  BOOST_TEST((a.metrics.cost_usd == b.metrics.cost_usd));
  BOOST_TEST(a.no_progress_streak == b.no_progress_streak);
  BOOST_TEST(a.plan_invalid_streak == b.plan_invalid_streak);
  BOOST_TEST(a.state_version == b.state_version);
  BOOST_TEST(a.info.agent == b.info.agent);
  BOOST_TEST(a.info.model == b.info.model);
  BOOST_TEST(a.info.engine == b.info.engine);
  BOOST_TEST(a.info.result == b.info.result);
  BOOST_TEST(a.info.started_at == b.info.started_at);
  BOOST_TEST(a.info.ended_at == b.info.ended_at);
  BOOST_TEST((a.info.metadata == b.info.metadata));
  BOOST_TEST((a.info.feedback == b.info.feedback));
  BOOST_TEST(a.info.feedback_source == b.info.feedback_source);
  BOOST_TEST(a.info.feedback_at == b.info.feedback_at);

  BOOST_REQUIRE(a.pending_approval.has_value() == b.pending_approval.has_value());
  if (a.pending_approval) {
    auto const& p = *a.pending_approval;
    auto const& q = *b.pending_approval;
    BOOST_TEST(p.token_sha256 == q.token_sha256);
    BOOST_TEST(p.tool == q.tool);
    BOOST_TEST((p.args == q.args));
    BOOST_TEST(p.reason == q.reason);
    BOOST_TEST(p.action_hash == q.action_hash);
    BOOST_TEST(p.state_version == q.state_version);
    BOOST_TEST(p.created_at == q.created_at);
    BOOST_TEST(p.ttl_s == q.ttl_s);
    BOOST_TEST(p.plan_text == q.plan_text);
    BOOST_TEST((p.precondition_metric == q.precondition_metric));
    BOOST_REQUIRE(p.remaining_calls.size() == q.remaining_calls.size());
    for (std::size_t i = 0; i < p.remaining_calls.size(); ++i) {
      BOOST_TEST(p.remaining_calls[i].id == q.remaining_calls[i].id);
      BOOST_TEST(p.remaining_calls[i].tool == q.remaining_calls[i].tool);
      BOOST_TEST((p.remaining_calls[i].args == q.remaining_calls[i].args));
    }
  }
  BOOST_TEST((a.status == b.status));
  BOOST_TEST(a.reason == b.reason);
}

}  // namespace test_state

using namespace test_state;

BOOST_AUTO_TEST_SUITE(state)

BOOST_AUTO_TEST_CASE(populated_state_round_trips_through_json) {
  leash::State original = populated();
  bj::value v = bj::value_from(original);
  // Through text as well, as a store would write it.
  leash::State back = bj::value_to<leash::State>(bj::parse(bj::serialize(v)));
  check_equal(back, original);
  // And the JSON of the copy is the JSON of the original.
  BOOST_TEST(bj::serialize(bj::value_from(back)) == bj::serialize(v));
}

BOOST_AUTO_TEST_CASE(json_uses_member_and_enumerator_names) {
  bj::object o = bj::value_from(populated()).as_object();
  BOOST_TEST(o.at("goal").as_string() == "fix the tests");
  BOOST_TEST(o.at("status").as_string() == "awaiting_approval");
  auto const& actions = o.at("iterations").as_array().at(0).as_object().at("actions").as_array();
  BOOST_TEST(actions.at(1).as_object().at("status").as_string() == "aborted");
  BOOST_TEST(o.at("iterations").as_array().at(1).as_object().at("metric").is_null());
  BOOST_TEST(o.at("pending_approval").as_object().at("remaining_calls").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(default_state_round_trips_with_empty_optionals) {
  leash::State s;
  BOOST_TEST(s.schema_version == leash::state_schema_version);
  leash::State back = bj::value_to<leash::State>(bj::value_from(s));
  check_equal(back, s);
  BOOST_TEST(!back.pending_approval.has_value());
  BOOST_TEST(!back.status.has_value());
  BOOST_TEST(!back.metrics.cost_usd.has_value());
}

BOOST_AUTO_TEST_CASE(a_version_1_state_is_brought_up_to_date_and_a_newer_one_is_not) {
  bj::object o = bj::value_from(populated()).as_object();
  o.erase("info");
  o["schema_version"] = 1;
  BOOST_TEST(leash::detail::upgrade_state_json(o));
  leash::State back = bj::value_to<leash::State>(bj::value(o));
  BOOST_TEST(back.schema_version == leash::state_schema_version);
  BOOST_TEST(back.info.agent.empty());
  BOOST_TEST(!back.info.feedback.has_value());
  BOOST_TEST(back.goal == "fix the tests");

  bj::object newer = bj::value_from(leash::State{}).as_object();
  newer["schema_version"] = leash::state_schema_version + 1;
  BOOST_TEST(!leash::detail::upgrade_state_json(newer));
  newer.erase("schema_version");
  BOOST_TEST(!leash::detail::upgrade_state_json(newer));
}

BOOST_AUTO_TEST_CASE(the_final_answer_is_what_the_planner_last_said_else_the_last_good_output) {
  leash::State s;
  BOOST_TEST(leash::final_answer(s).empty());
  leash::IterationRecord first;
  first.plan_text = "I will look";
  leash::ActionRecord ok;
  ok.tool = "read";
  ok.result_excerpt = "contents";
  first.actions.push_back(ok);
  s.iterations.push_back(first);
  leash::IterationRecord second;  // no words this time, one failed action
  leash::ActionRecord failed;
  failed.status = leash::ActionStatus::error;
  failed.result_excerpt = "boom";
  second.actions.push_back(failed);
  s.iterations.push_back(second);
  BOOST_TEST(leash::final_answer(s) == "I will look");
  s.iterations[0].plan_text.clear();
  BOOST_TEST(leash::final_answer(s) == "contents");
}

BOOST_AUTO_TEST_CASE(total_tokens_adds_input_and_output) {
  leash::Metrics m;
  m.input_tokens = 100;
  m.output_tokens = 20;
  BOOST_TEST(m.total_tokens() == 120u);
}

BOOST_AUTO_TEST_SUITE_END()
