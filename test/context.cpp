#include <leash/context.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

namespace test_context {

using leash::ContextManager;
using leash::IterationRecord;
using leash::Message;
using leash::State;

IterationRecord make_iteration(std::uint64_t index, std::string observation = "failing: a,b") {
  IterationRecord it;
  it.index = index;
  it.observation = std::move(observation);
  it.plan_text = "fix a";
  it.actions.push_back({"fix", R"({"name":"a"})", leash::ActionStatus::ok, "fixed a", 0.01, "fp"});
  it.metric = leash::MetricSnapshot{};
  it.metric->value = -1.0 - double(index);
  return it;
}

/// Appends iterations 0..n-1 as the loop does: push, then tell the manager.
void record(ContextManager& cm, State& s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    s.iterations.push_back(make_iteration(s.iterations.size()));
    cm.on_iteration_recorded(s);
  }
}

/// Summaries for every iteration that left the window, deterministic form.
void summarize(ContextManager& cm, State& s) {
  for (auto i : cm.missing_summaries(s)) cm.add_summary(s, i, leash::deterministic_summary(s.iterations[i]));
}

std::size_t built_size(std::vector<Message> const& messages) {
  std::size_t n = 0;
  for (auto const& m : messages) n += m.content.size();
  return n;
}

/// The equality budgets rely on: the size known without rendering is the size rendered.
void check_size(ContextManager const& cm, State const& s, std::string_view observation,
                std::vector<Message> const& feedback = {}) {
  auto req = cm.request(s, observation, feedback);
  auto messages = req.build();
  BOOST_REQUIRE(messages.size() == 2 + feedback.size());
  BOOST_TEST(messages[0].role == "system");
  BOOST_TEST(messages[1].role == "user");
  BOOST_TEST(req.size_chars() == built_size(messages));
  leash::json::array tools;
  leash::PlanRequest plan_request(req, tools, 100);
  BOOST_TEST(plan_request.size_chars() == built_size(messages));
}

std::size_t count(std::string const& hay, std::string const& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace test_context

using namespace test_context;

BOOST_AUTO_TEST_SUITE(context)

BOOST_AUTO_TEST_CASE(render_iteration_content) {
  IterationRecord it = make_iteration(3);
  it.metric->regression = true;
  it.actions.push_back({"edit", "{}", leash::ActionStatus::aborted, "aborted: exceeded timeout of 0.2s", 0.2, "fp2"});
  BOOST_TEST(leash::render_iteration(it) ==
             "### Iteration 3\nObserved:\nfailing: a,b\nPlanned: fix a\n"
             "Action fix({\"name\":\"a\"}) -> [ok] fixed a\n"
             "Action edit({}) -> [aborted] aborted: exceeded timeout of 0.2s\n"
             "Metric: -4 (REGRESSION)\n");

  IterationRecord invalid;
  invalid.index = 1;
  invalid.plan_invalid = true;
  BOOST_TEST(leash::render_iteration(invalid) == "### Iteration 1\nObserved:\n\n(every plan attempt failed validation)\n");
}

BOOST_AUTO_TEST_CASE(render_iteration_caps) {
  IterationRecord it = make_iteration(0, std::string(5000, 'o'));
  it.plan_text = std::string(1000, 'p');
  it.actions[0].args_excerpt = std::string(400, 'a');
  it.actions[0].result_excerpt = std::string(3000, 'r');
  std::string out = leash::render_iteration(it);
  BOOST_TEST(out.find(leash::excerpt(it.observation, 2000)) != std::string::npos);
  BOOST_TEST(out.find("truncated 3000 chars") != std::string::npos);
  BOOST_TEST(out.find(leash::excerpt(it.plan_text, 600)) != std::string::npos);
  BOOST_TEST(out.find("truncated 400 chars") != std::string::npos);
  BOOST_TEST(out.find(leash::excerpt(it.actions[0].args_excerpt, 300)) != std::string::npos);
  BOOST_TEST(out.find(leash::excerpt(it.actions[0].result_excerpt, 2000)) != std::string::npos);
  BOOST_TEST(out.find(std::string(2001, 'o')) == std::string::npos);

  leash::RenderCaps small{10, 10, 10, 10};
  BOOST_TEST(leash::render_iteration(it, small).size() < 400u);
}

BOOST_AUTO_TEST_CASE(deterministic_summary_is_at_most_800_chars) {
  IterationRecord small = make_iteration(0);
  BOOST_TEST(leash::deterministic_summary(small) == leash::render_iteration(small));

  IterationRecord big = make_iteration(0, std::string(5000, 'o'));
  std::string s = leash::deterministic_summary(big);
  BOOST_TEST(s.size() == 800u);
  BOOST_TEST(leash::render_iteration(big).substr(0, 800) == s);

  // Results are cut at 600 chars before the 800-char cut.
  IterationRecord result = make_iteration(0, "o");
  result.actions[0].result_excerpt = std::string(700, 'r');
  std::string r = leash::deterministic_summary(result);
  BOOST_TEST(r.size() <= 800u);
  BOOST_TEST(r.find("truncated 100 chars") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stamp_names_the_producer) {
  ContextManager deterministic;
  BOOST_TEST(deterministic.stamp().engine_version == "0.1.0");
  BOOST_TEST(deterministic.stamp().model_id == "deterministic-truncate");
  BOOST_TEST(deterministic.stamp().prompt_hash == leash::digest(leash::summary_instruction));
  ContextManager with_model(3, "summ-1");
  BOOST_TEST(with_model.stamp().model_id == "summ-1");
}

BOOST_AUTO_TEST_CASE(missing_summaries_with_window_2_over_4_iterations,
                     *boost::unit_test::description("reference scenario 58")) {
  ContextManager cm(2);
  State s;
  std::vector<std::vector<std::uint64_t>> newly;
  for (int i = 0; i < 4; ++i) {
    record(cm, s, 1);
    auto missing = cm.missing_summaries(s);
    newly.push_back(missing);
    summarize(cm, s);
  }
  BOOST_TEST((newly == std::vector<std::vector<std::uint64_t>>{{}, {}, {0}, {1}}));
  BOOST_TEST(s.artifacts.size() == 2u);
  BOOST_TEST(s.artifacts[0].iteration.value() == 0u);
  BOOST_TEST(s.artifacts[1].iteration.value() == 1u);
  BOOST_TEST((s.artifacts[0].stamp == cm.stamp()));
  BOOST_TEST(s.artifacts[0].kind == "summary");
  BOOST_TEST(cm.missing_summaries(s).empty());

  // All at once: both leave the window together.
  ContextManager late(2);
  State t;
  record(late, t, 4);
  BOOST_TEST((late.missing_summaries(t) == std::vector<std::uint64_t>{0, 1}));
}

BOOST_AUTO_TEST_CASE(add_summary_with_another_producer) {
  ContextManager cm(1, "summ-1");
  State s;
  record(cm, s, 2);
  leash::ArtifactStamp fallback{"0.1.0", "deterministic-truncate", "x"};
  cm.add_summary(s, 0, "short", fallback);
  BOOST_TEST((s.artifacts.back().stamp == fallback));
  BOOST_TEST(s.artifacts.back().content == "short");
  BOOST_TEST(cm.missing_summaries(s).empty());
}

BOOST_AUTO_TEST_CASE(messages_headings_and_order, *boost::unit_test::description("reference scenario 58")) {
  ContextManager cm(2);
  State s;
  s.goal = "Fix the failing tests";
  for (int i = 0; i < 4; ++i) {
    record(cm, s, 1);
    summarize(cm, s);
  }
  std::string sys = cm.system_message(s);
  BOOST_TEST(sys.find(leash::agent_instruction) == 0u);
  BOOST_TEST(sys.find("\n\nGoal: Fix the failing tests") != std::string::npos);
  BOOST_TEST(sys.find("Key facts (pinned):") == std::string::npos);
  BOOST_TEST(sys.find("FAILED") == std::string::npos);

  std::string user = cm.user_message(s, "failing: b");
  auto summarized = user.find("## Earlier iterations (summarized)\n");
  auto iter0 = user.find("- iter 0: ");
  auto iter1 = user.find("- iter 1: ");
  auto recent = user.find("## Recent iterations\n");
  auto it2 = user.find("### Iteration 2", recent);
  auto it3 = user.find("### Iteration 3", recent);
  auto current = user.find("## Current observation\nfailing: b");
  BOOST_TEST(summarized == 0u);
  BOOST_TEST(summarized < iter0);
  BOOST_TEST(iter0 < iter1);
  BOOST_TEST(iter1 < recent);
  BOOST_TEST(recent < it2);
  BOOST_TEST(it2 < it3);
  BOOST_TEST(it3 < current);
  BOOST_TEST(current != std::string::npos);
  BOOST_TEST(user.find("### Iteration 0", recent) == std::string::npos);  // summarized, not verbatim
  BOOST_TEST(std::string_view(user).ends_with("\n\nDecide the next action(s)."));

  auto msgs = cm.request(s, "failing: b", {}).build();
  BOOST_REQUIRE(msgs.size() == 2u);
  BOOST_TEST(msgs[0].content == sys);
  BOOST_TEST(msgs[1].content == user);
}

BOOST_AUTO_TEST_CASE(first_request_has_only_the_observation) {
  ContextManager cm;
  State s;
  s.goal = "g";
  BOOST_TEST(cm.user_message(s, "obs") == "## Current observation\nobs\n\nDecide the next action(s).");
}

BOOST_AUTO_TEST_CASE(facts_and_failed_approaches_in_the_system_message,
                     *boost::unit_test::description("reference scenario 60")) {
  ContextManager cm;
  State s;
  s.goal = "g";
  s.pinned_facts = {"uses pytest", "python 3.12"};
  cm.attach(s);
  s.failed_approaches.push_back("iteration 0: fix a -> metric regressed");
  s.iterations.push_back(make_iteration(0));
  cm.on_iteration_recorded(s);
  s.failed_approaches.push_back("iteration 1: fix b -> metric regressed");
  s.iterations.push_back(make_iteration(1));
  cm.on_iteration_recorded(s);

  std::string sys = cm.system_message(s);
  BOOST_TEST(sys.find("\n\nKey facts (pinned):\n- uses pytest\n- python 3.12") != std::string::npos);
  BOOST_TEST(sys.find("\n\nApproaches already tried that FAILED (do not repeat):\n"
                      "- iteration 0: fix a -> metric regressed\n- iteration 1: fix b -> metric regressed") !=
             std::string::npos);
  BOOST_TEST(sys.find("Key facts") < sys.find("Approaches already tried"));
  check_size(cm, s, "obs");
}

BOOST_AUTO_TEST_CASE(request_size_equals_built_messages,
                     *boost::unit_test::description("budgets estimate input tokens from size_chars() without rendering")) {
  std::vector<Message> feedback = {{"assistant", R"([{"name":"fix","args":{"bogus":1}}])"},
                                   {"user", "Tool call rejected:\nargs.name: missing required field\nRetry with valid "
                                            "arguments matching the tool schemas."}};
  for (std::uint64_t window : {0u, 1u, 2u, 3u}) {
    BOOST_TEST_CONTEXT("window " << window) {
      ContextManager cm(window);
      State s;
      s.goal = "Fix the failing tests";
      check_size(cm, s, "");
      check_size(cm, s, "failing: a,b", feedback);
      for (int i = 0; i < 5; ++i) {
        record(cm, s, 1);
        check_size(cm, s, "failing: a");  // before summaries exist
        summarize(cm, s);
        check_size(cm, s, "failing: a");
        check_size(cm, s, std::string(3000, 'o'), feedback);
      }
      s.failed_approaches.push_back("iteration 5: fix z -> metric regressed");
      record(cm, s, 1);
      summarize(cm, s);
      check_size(cm, s, "obs", feedback);

      s.pinned_facts = {"fact one"};
      cm.attach(s);  // facts are read when attaching (resume)
      check_size(cm, s, "obs", feedback);
    }
  }
}

BOOST_AUTO_TEST_CASE(attach_rebuilds_what_recording_built) {
  ContextManager live(2);
  State s;
  s.goal = "g";
  for (int i = 0; i < 5; ++i) {
    record(live, s, 1);
    summarize(live, s);
  }
  s.failed_approaches.push_back("iteration 4: x -> metric regressed");
  ContextManager resumed(2);
  resumed.attach(s);
  live.attach(s);
  BOOST_TEST(resumed.system_message(s) == live.system_message(s));
  BOOST_TEST(resumed.user_message(s, "o") == live.user_message(s, "o"));
  BOOST_TEST(resumed.missing_summaries(s).empty());
  check_size(resumed, s, "o");
}

BOOST_AUTO_TEST_CASE(check_artifact_drift_lists_foreign_summaries, *boost::unit_test::description("reference scenario 59")) {
  ContextManager deterministic(1);
  State s;
  record(deterministic, s, 3);
  summarize(deterministic, s);
  s.artifacts.push_back({"fact", std::nullopt, "not a summary", {"0.0.1", "other", "h"}});
  BOOST_TEST(deterministic.check_artifact_drift(s).empty());

  ContextManager summarizer(1, "summ-1");
  auto drift = summarizer.check_artifact_drift(s);
  BOOST_REQUIRE(drift.size() == 2u);
  BOOST_TEST(drift[0] == "summary for iteration 0: produced by 0.1.0/deterministic-truncate, current is 0.1.0/summ-1");
  BOOST_TEST(drift[1] == "summary for iteration 1: produced by 0.1.0/deterministic-truncate, current is 0.1.0/summ-1");
}

BOOST_AUTO_TEST_CASE(budget_report_keys_and_values, *boost::unit_test::description("reference scenario 7")) {
  ContextManager cm(1);
  State s;
  s.goal = "g";
  record(cm, s, 3);
  summarize(cm, s);
  s.metrics.input_tokens = 150;
  s.metrics.output_tokens = 30;
  std::string obs(400, 'o');
  auto r = cm.budget_report(s, obs);
  auto o = r.to_json();
  std::set<std::string> keys;
  for (auto const& kv : o) keys.insert(std::string(kv.key()));
  BOOST_TEST((keys == std::set<std::string>{"pinned_system_tokens", "summary_tokens", "verbatim_tokens",
                                            "observation_tokens", "total_context_tokens", "spent_input_tokens",
                                            "spent_output_tokens", "note"}));
  BOOST_TEST(o.at("note").as_string() == "estimates use a len/4 heuristic; provider-reported usage is authoritative");
  BOOST_TEST(o.at("spent_input_tokens").to_number<std::uint64_t>() == 150u);
  BOOST_TEST(o.at("spent_output_tokens").to_number<std::uint64_t>() == 30u);
  BOOST_TEST(r.observation_tokens == 100u);
  BOOST_TEST(r.pinned_system_tokens == cm.system_message(s).size() / 4);
  BOOST_TEST(r.verbatim_tokens == leash::render_iteration(s.iterations.back()).size() / 4);
  BOOST_TEST(r.summary_tokens > 0u);
  BOOST_TEST(r.total_context_tokens == cm.request(s, obs, {}).size_chars() / 4);
  BOOST_TEST(r.total_context_tokens >= r.pinned_system_tokens + r.summary_tokens + r.verbatim_tokens + r.observation_tokens);
}

BOOST_AUTO_TEST_SUITE_END()
