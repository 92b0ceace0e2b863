// Tests of leash/learn/optimize/llm_optimizer.hpp: prompts, reply parsing,
// the corrective round trip and clamping, analysis, ids.
#include <leash/learn/optimize/llm_optimizer.hpp>
#include <boost/test/unit_test.hpp>

#include <leash/llm/scripted.hpp>
#include <leash/sync_wait.hpp>

#include <memory>
#include <string>
#include <vector>

namespace test_learn_optimize_llm_optimizer {

namespace json = leash::json;
namespace opt = leash::learn::optimize;
namespace llm = leash::llm;
using leash::Errc;
using opt::DimensionType;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

opt::SearchSpace space() {
  opt::SearchSpace s;
  auto add = [&](std::string name, DimensionType type) -> opt::SearchDimension& {
    auto& d = s.dimensions.emplace_back();
    d.name = std::move(name);
    d.type = type;
    d.primitive = opt::primitive_of(d.name);
    return d;
  };
  add("intelligence.model", DimensionType::categorical).values = {json::value("small"), json::value("large")};
  auto& temperature = add("intelligence.temperature", DimensionType::continuous);
  temperature.low = 0.0;
  temperature.high = 1.0;
  auto& turns = add("agent.max_turns", DimensionType::integer);
  turns.low = 1;
  turns.high = 30;
  add("tools.tool_set", DimensionType::subset).values = {json::value("read_file"), json::value("run_tests")};
  s.fixed["engine.backend"] = "vllm";
  return s;
}

leash::result<llm::Completion> reply(std::string text) {
  llm::Completion c;
  c.text = std::move(text);
  c.usage = {100, 20};
  return c;
}

/// An optimizer over a scripted transport replaying `replies` (the last repeats).
struct Fixture {
  std::shared_ptr<llm::ScriptedTransport> transport;
  opt::LlmOptimizer optimizer;

  explicit Fixture(std::vector<leash::result<llm::Completion>> replies, std::uint64_t seed = 7)
      : transport(std::make_shared<llm::ScriptedTransport>(std::move(replies))),
        optimizer(llm::AnyTransport(transport), options(seed)) {
    transport->record_requests();
  }
  static opt::LlmOptimizerOptions options(std::uint64_t seed) {
    opt::LlmOptimizerOptions o;
    o.search_space = space();
    o.seed = seed;
    return o;
  }
  std::vector<llm::CompletionRequest> requests() const { return transport->requests(); }
  std::string user_text(std::size_t i) const { return requests().at(i).messages.at(1).content; }
};

Fixture fixture(std::vector<std::string> texts) {
  std::vector<leash::result<llm::Completion>> replies;
  for (auto& t : texts) replies.push_back(reply(std::move(t)));
  return Fixture(std::move(replies));
}

opt::Proposal initial(Fixture& f) {
  auto p = leash::sync_wait(f.optimizer.propose_initial());
  BOOST_TEST_REQUIRE(p.has_value(), (p ? std::string() : p.error().what()));
  return std::move(p).value();
}

opt::TrialResult trial(std::string id, json::object params, double accuracy, double latency, double cost) {
  opt::TrialResult r;
  r.trial_id = id;
  r.config.trial_id = std::move(id);
  r.config.params = std::move(params);
  r.accuracy = accuracy;
  r.mean_latency_seconds = latency;
  r.total_cost_usd = cost;
  return r;
}

std::string const valid = R"(```json
{"params": {"intelligence.model": "large", "intelligence.temperature": 0.3}, "reasoning": "bigger model"}
```)";

}  // namespace test_learn_optimize_llm_optimizer

using namespace test_learn_optimize_llm_optimizer;

BOOST_AUTO_TEST_SUITE(learn_optimize_llm_optimizer)

BOOST_AUTO_TEST_CASE(defaults_are_the_references) {
  opt::LlmOptimizerOptions o;
  BOOST_TEST(o.max_tokens == 2048u);
  BOOST_TEST(o.proposal_temperature == 0.7);
  BOOST_TEST(o.analysis_temperature == 0.3);
  BOOST_TEST(o.objectives.size() == 3u);
  BOOST_TEST(!o.proposal_system_prompt.empty());
  BOOST_TEST(!o.analysis_system_prompt.empty());
  BOOST_TEST(o.proposal_system_prompt != o.analysis_system_prompt);
  BOOST_TEST(!o.search_space.dimensions.empty());
}

BOOST_AUTO_TEST_CASE(initial_request_has_space_objectives_keys_and_proposal_temperature) {
  auto f = fixture({valid});
  initial(f);
  auto requests = f.requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  auto const& r = requests[0];
  BOOST_TEST(r.max_tokens == 2048u);
  BOOST_TEST_REQUIRE(r.temperature.has_value());
  BOOST_TEST(*r.temperature == 0.7);
  BOOST_TEST_REQUIRE(r.messages.size() == 2u);
  BOOST_TEST(r.messages[0].role == "system");
  BOOST_TEST(r.messages[0].content == f.optimizer.options().proposal_system_prompt);
  auto const& text = r.messages[1].content;
  BOOST_TEST(contains(text, "# Search Space"));
  BOOST_TEST(contains(text, "intelligence.temperature"));
  BOOST_TEST(contains(text, "## Objectives"));
  BOOST_TEST(contains(text, "maximize accuracy"));
  BOOST_TEST(contains(text, "minimize mean_latency_seconds"));
  BOOST_TEST(contains(text, "minimize total_cost_usd"));
  BOOST_TEST(contains(text, "\"params\""));
  BOOST_TEST(contains(text, "\"reasoning\""));
  BOOST_TEST(contains(text, "```json"));
}

BOOST_AUTO_TEST_CASE(objectives_in_the_prompt_are_the_configured_ones) {
  auto o = Fixture::options(1);
  o.objectives = {opt::ObjectiveSpec{"ttft_seconds", opt::ObjectiveSpec::Direction::minimize, 1.0}};
  opt::LlmOptimizer optimizer(llm::AnyTransport(), o);
  auto text = optimizer.initial_prompt();
  BOOST_TEST(contains(text, "minimize ttft_seconds"));
  BOOST_TEST(!contains(text, "maximize accuracy"));
}

BOOST_AUTO_TEST_CASE(parses_a_json_fence) {
  auto f = fixture({"Here it is:\n" + valid + "\nGood luck."});
  auto p = initial(f);
  BOOST_TEST(p.parsed);
  BOOST_TEST(p.config.params.at("intelligence.model") == json::value("large"));
  BOOST_TEST(p.config.params.at("intelligence.temperature") == json::value(0.3));
  BOOST_TEST(p.config.reasoning == "bigger model");
  BOOST_TEST(p.errors_first_try.empty());
  BOOST_TEST(p.clamped.empty());
  BOOST_TEST(p.llm_calls == 1u);
  BOOST_TEST(p.usage.input_tokens == 100u);
}

BOOST_AUTO_TEST_CASE(parses_a_generic_fence) {
  auto f = fixture({"```\n{\"params\": {\"agent.max_turns\": 12}, \"reasoning\": \"more turns\"}\n```"});
  auto p = initial(f);
  BOOST_TEST(p.parsed);
  BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(12));
  BOOST_TEST(p.config.reasoning == "more turns");
}

BOOST_AUTO_TEST_CASE(parses_raw_json_and_json_in_surrounding_text) {
  {
    auto f = fixture({R"({"params": {"agent.max_turns": 4}, "reasoning": "raw"})"});
    auto p = initial(f);
    BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(4));
    BOOST_TEST(p.config.reasoning == "raw");
  }
  {
    auto f = fixture({R"(I think {"params": {"agent.max_turns": 5}, "reasoning": "in text"} is best. {"x": 1})"});
    auto p = initial(f);
    BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(5));
    BOOST_TEST(p.config.reasoning == "in text");
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_fence_falls_through_to_a_later_object) {
  auto f = fixture({"```json\n{not json at all}\n```\nSorry, here: {\"params\": {\"agent.max_turns\": 7}}"});
  auto p = initial(f);
  BOOST_TEST(p.parsed);
  BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(7));
  BOOST_TEST(p.config.reasoning == "");
}

BOOST_AUTO_TEST_CASE(a_fence_holding_a_non_object_falls_through) {
  auto o = opt::detail::extract_json_object("```json\n[1, 2]\n```\n{\"a\": 1}");
  BOOST_TEST_REQUIRE(o.has_value());
  BOOST_TEST(o->at("a") == json::value(1));
  BOOST_TEST(!opt::detail::extract_json_object("no json here [1] {broken").has_value());
}

BOOST_AUTO_TEST_CASE(unparseable_reply_gives_fixed_params_and_says_so) {
  auto f = fixture({"I would try a larger model."});
  auto p = initial(f);
  BOOST_TEST(!p.parsed);
  BOOST_TEST(p.config.params == obj(R"({"engine.backend": "vllm"})"));
  BOOST_TEST(p.config.reasoning == std::string(opt::unparsed_reasoning));
  BOOST_TEST(p.llm_calls == 1u);  // nothing to correct: no round trip
  BOOST_TEST(p.config.trial_id.size() == 12u);
}

BOOST_AUTO_TEST_CASE(missing_keys_are_tolerated) {
  {
    auto f = fixture({"```json\n{}\n```"});
    auto p = initial(f);
    BOOST_TEST(p.parsed);
    BOOST_TEST(p.config.params == obj(R"({"engine.backend": "vllm"})"));
    BOOST_TEST(p.config.reasoning == "");
  }
  {
    auto f = fixture({R"({"reasoning": "no params"})"});
    auto p = initial(f);
    BOOST_TEST(p.config.reasoning == "no params");
    BOOST_TEST(p.config.params.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(fixed_values_overwrite_the_proposal) {
  auto f = fixture({R"({"params": {"engine.backend": "llamacpp", "agent.max_turns": 3}})"});
  auto p = initial(f);
  BOOST_TEST(p.config.params.at("engine.backend") == json::value("vllm"));
  BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(3));
  BOOST_TEST(p.errors_first_try.empty());  // a fixed key is not an error: it is overwritten
}

BOOST_AUTO_TEST_CASE(trial_ids_are_12_lowercase_hex_and_fresh) {
  auto f = fixture({valid});
  auto a = initial(f);
  auto b = initial(f);
  for (auto const* id : {&a.config.trial_id, &b.config.trial_id}) {
    BOOST_TEST(id->size() == 12u);
    BOOST_TEST(id->find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  BOOST_TEST(a.config.trial_id != b.config.trial_id);
  // The same seed draws the same ids.
  auto g = fixture({valid});
  BOOST_TEST(initial(g).config.trial_id == a.config.trial_id);
}

BOOST_AUTO_TEST_CASE(invalid_proposal_is_sent_back_once_then_the_correction_is_used) {
  auto f = fixture({R"({"params": {"intelligence.temperature": 1.5, "intelligence.model": "huge"}, "reasoning": "first"})",
                    R"({"params": {"intelligence.temperature": 0.9, "intelligence.model": "large"}, "reasoning": "fixed"})"});
  auto p = initial(f);
  BOOST_TEST(p.llm_calls == 2u);
  BOOST_TEST(p.usage.input_tokens == 200u);
  BOOST_TEST(p.usage.output_tokens == 40u);
  BOOST_TEST_REQUIRE(p.errors_first_try.size() == 2u);
  BOOST_TEST(p.errors_first_try[0].key == "intelligence.temperature");
  BOOST_TEST(p.errors_first_try[1].key == "intelligence.model");
  BOOST_TEST(p.clamped.empty());
  BOOST_TEST(p.config.params.at("intelligence.temperature") == json::value(0.9));
  BOOST_TEST(p.config.params.at("intelligence.model") == json::value("large"));
  BOOST_TEST(p.config.reasoning == "fixed");

  auto requests = f.requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  auto const& m = requests[1].messages;
  BOOST_TEST_REQUIRE(m.size() == 4u);
  BOOST_TEST(m[0].role == "system");
  BOOST_TEST(m[1].content == requests[0].messages[1].content);
  BOOST_TEST(m[2].role == "assistant");
  BOOST_TEST(contains(m[2].content, "\"first\""));
  BOOST_TEST(m[3].role == "user");
  BOOST_TEST(contains(m[3].content, "`intelligence.temperature`"));
  BOOST_TEST(contains(m[3].content, "`intelligence.model`"));
  BOOST_TEST(contains(m[3].content, "\"huge\""));
  BOOST_TEST(contains(m[3].content, p.errors_first_try[0].message));
}

BOOST_AUTO_TEST_CASE(still_invalid_after_the_round_trip_is_clamped_and_recorded) {
  auto f = fixture({R"({"params": {"intelligence.temperature": 1.5, "agent.max_turns": 99, "bogus.key": 1}})"});
  auto p = initial(f);  // the script repeats: the correction is as wrong as the first answer
  BOOST_TEST(p.llm_calls == 2u);
  BOOST_TEST(f.transport->calls() == 2u);  // once, not again and again
  BOOST_TEST(p.errors_first_try.size() == 3u);
  BOOST_TEST_REQUIRE(p.clamped.size() == 3u);
  BOOST_TEST(p.clamped[0].key == "intelligence.temperature");
  BOOST_TEST(contains(p.clamped[0].message, "clamped"));
  BOOST_TEST(p.config.params.at("intelligence.temperature") == json::value(1.0));
  BOOST_TEST(p.config.params.at("agent.max_turns") == json::value(30));
  BOOST_TEST(!p.config.params.contains("bogus.key"));
  BOOST_TEST(p.config.params.at("engine.backend") == json::value("vllm"));
}

BOOST_AUTO_TEST_CASE(an_unparseable_correction_keeps_the_first_answer_clamped) {
  auto f = fixture({R"({"params": {"intelligence.temperature": -2}, "reasoning": "cold"})", "I cannot."});
  auto p = initial(f);
  BOOST_TEST(p.parsed);
  BOOST_TEST(p.llm_calls == 2u);
  BOOST_TEST(p.errors_first_try.size() == 1u);
  BOOST_TEST(p.clamped.size() == 1u);
  BOOST_TEST(p.config.params.at("intelligence.temperature") == json::value(0.0));
  BOOST_TEST(p.config.reasoning == "cold");
}

BOOST_AUTO_TEST_CASE(params_that_are_not_an_object_are_sent_back) {
  auto f = fixture({R"({"params": "large model please"})", R"({"params": {"intelligence.model": "small"}})"});
  auto p = initial(f);
  BOOST_TEST(p.llm_calls == 2u);
  BOOST_TEST_REQUIRE(p.errors_first_try.size() == 1u);
  BOOST_TEST(p.errors_first_try[0].key == "params");
  BOOST_TEST(p.config.params.at("intelligence.model") == json::value("small"));
}

BOOST_AUTO_TEST_CASE(transport_errors_are_returned) {
  {
    Fixture f({leash::result<llm::Completion>(leash::Error(Errc::llm_server_error, "down"))});
    auto p = leash::sync_wait(f.optimizer.propose_initial());
    BOOST_TEST_REQUIRE(p.has_error());
    BOOST_TEST((p.error() == Errc::llm_server_error));
    BOOST_TEST(f.optimizer.llm_calls() == 1u);
  }
  {  // the corrective call fails
    Fixture f({reply(R"({"params": {"intelligence.temperature": 3}})"),
               leash::result<llm::Completion>(leash::Error(Errc::llm_rate_limited, "slow"))});
    auto p = leash::sync_wait(f.optimizer.propose_initial());
    BOOST_TEST_REQUIRE(p.has_error());
    BOOST_TEST((p.error() == Errc::llm_rate_limited));
  }
}

BOOST_AUTO_TEST_CASE(next_prompt_shows_history_frontier_feedback_and_failures) {
  auto f = fixture({valid});
  std::vector<opt::TrialResult> history = {
      trial("aaaaaaaaaaaa", obj(R"({"intelligence.model": "small"})"), 0.8, 1.25, 0.01),
      trial("bbbbbbbbbbbb", obj(R"({"intelligence.model": "large"})"), 0.6, 3.0, 0.02),
      trial("cccccccccccc", obj(R"({"agent.max_turns": 3})"), 0.0, 0.0, 0.0)};
  history[1].analysis = "the large model rambles";
  history[1].failure_modes = {"3 evaluation errors"};
  history[2].failed = true;
  history[2].error = "runner crashed: out of memory";
  std::vector<opt::TrialFeedback> feedback(1);
  feedback[0].summary_text = "solid start";
  feedback[0].failure_patterns = {"gives up early", "wrong format"};
  feedback[0].primitive_ratings = {{"tools", "low"}, {"intelligence", "high"}};
  feedback[0].target_primitive = "tools";
  std::vector<std::size_t> frontier = {0};

  auto p = leash::sync_wait(f.optimizer.propose_next(history, frontier, feedback));
  BOOST_TEST_REQUIRE(p.has_value());
  auto text = f.user_text(0);
  BOOST_TEST(contains(text, "## Optimization History"));
  BOOST_TEST(contains(text, "### Trial 1 (id=aaaaaaaaaaaa) [FRONTIER]"));
  BOOST_TEST(contains(text, "### Trial 2 (id=bbbbbbbbbbbb)\n"));
  BOOST_TEST(!contains(text, "(id=bbbbbbbbbbbb) [FRONTIER]"));
  BOOST_TEST(contains(text, R"({"intelligence.model": "small"})"));
  BOOST_TEST(contains(text, "accuracy: 0.8000"));
  BOOST_TEST(contains(text, "mean_latency_seconds: 1.2500"));
  BOOST_TEST(contains(text, "total_cost_usd: 0.0100"));
  BOOST_TEST(contains(text, "solid start"));
  BOOST_TEST(contains(text, "gives up early; wrong format"));
  BOOST_TEST(contains(text, "intelligence=high, tools=low"));  // sorted
  BOOST_TEST(contains(text, "Change next: tools"));
  BOOST_TEST(contains(text, "the large model rambles"));  // free-text analysis when no feedback
  BOOST_TEST(contains(text, "Failure modes: 3 evaluation errors"));
  BOOST_TEST(contains(text, "FAILED: runner crashed: out of memory"));
  BOOST_TEST(contains(text, "# Search Space"));
}

BOOST_AUTO_TEST_CASE(next_prompt_without_history_says_so) {
  auto f = fixture({valid});
  auto text = f.optimizer.next_prompt({}, {});
  BOOST_TEST(contains(text, "No trials have been run yet."));
}

BOOST_AUTO_TEST_CASE(targeted_keeps_the_other_params_and_takes_only_the_primitive) {
  auto f = fixture({R"({"params": {"intelligence.temperature": 0.2, "agent.max_turns": 20, "intelligence.model": "small"}, "reasoning": "cooler"})"});
  opt::TrialConfig base;
  base.trial_id = "base00000000";
  base.params = obj(R"({"intelligence.model": "large", "intelligence.temperature": 0.5, "agent.max_turns": 10, "engine.backend": "vllm"})");
  auto p = leash::sync_wait(f.optimizer.propose_targeted(base, "intelligence"));
  BOOST_TEST_REQUIRE(p.has_value());
  auto const& params = p.value().config.params;
  BOOST_TEST(params.at("intelligence.temperature") == json::value(0.2));
  BOOST_TEST(params.at("intelligence.model") == json::value("small"));
  BOOST_TEST(params.at("agent.max_turns") == json::value(10));  // not the target: kept
  BOOST_TEST(params.at("engine.backend") == json::value("vllm"));
  BOOST_TEST(p.value().config.trial_id != base.trial_id);
  BOOST_TEST(p.value().config.reasoning == "cooler");
  auto text = f.user_text(0);
  BOOST_TEST(contains(text, "## Target Primitive: intelligence"));
  BOOST_TEST(contains(text, "## Current Configuration"));
  // The base configuration, sorted by name.
  auto a = text.find("- agent.max_turns = 10");
  auto b = text.find("- intelligence.model = \"large\"");
  BOOST_TEST_REQUIRE(a != std::string::npos);
  BOOST_TEST_REQUIRE(b != std::string::npos);
  BOOST_TEST(a < b);
}

BOOST_AUTO_TEST_CASE(targeted_prefix_is_exact) {
  // "tool" is not "tools": no rstrip("s") guessing in propose_targeted.
  auto f = fixture({R"({"params": {"tools.tool_set": ["run_tests"]}})"});
  opt::TrialConfig base;
  base.params = obj(R"({"tools.tool_set": ["read_file"]})");
  auto p = leash::sync_wait(f.optimizer.propose_targeted(base, "tool"));
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p.value().config.params.at("tools.tool_set") == json::parse(R"(["read_file"])"));
}

BOOST_AUTO_TEST_CASE(targeted_unparseable_keeps_the_base) {
  auto f = fixture({"no idea"});
  opt::TrialConfig base;
  base.params = obj(R"({"agent.max_turns": 10})");
  auto p = leash::sync_wait(f.optimizer.propose_targeted(base, "agent"));
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(!p.value().parsed);
  BOOST_TEST(p.value().config.params == obj(R"({"agent.max_turns": 10, "engine.backend": "vllm"})"));
}

BOOST_AUTO_TEST_CASE(merge_lists_the_candidates) {
  auto f = fixture({valid});
  std::vector<opt::TrialResult> candidates = {
      trial("111111111111", obj(R"({"intelligence.model": "small"})"), 0.7, 0.5, 0.001),
      trial("222222222222", obj(R"({"intelligence.model": "large"})"), 0.9, 4.0, 0.05)};
  auto p = leash::sync_wait(f.optimizer.propose_merge(candidates));
  BOOST_TEST_REQUIRE(p.has_value());
  auto text = f.user_text(0);
  BOOST_TEST(contains(text, "## Candidates"));
  BOOST_TEST(contains(text, "### Candidate 1 (id=111111111111)"));
  BOOST_TEST(contains(text, "### Candidate 2 (id=222222222222)"));
  BOOST_TEST(contains(text, R"({"intelligence.model": "large"})"));
  BOOST_TEST(contains(text, "accuracy: 0.9000"));
  BOOST_TEST(contains(text, "combines"));
}

BOOST_AUTO_TEST_CASE(analysis_uses_the_low_temperature_and_parses_feedback) {
  auto f = fixture({R"(```json
{"summary_text": "slow but right", "failure_patterns": ["timeouts"], "primitive_ratings": {"intelligence": "high", "agent": "low"},
 "suggested_changes": ["fewer turns"], "target_primitive": "agent"}
```)"});
  auto r = trial("abcabcabcabc", obj(R"({"agent.max_turns": 30})"), 0.9, 12.0, 0.1);
  r.config.reasoning = "many turns";
  r.failure_modes = {"2 evaluation errors"};
  auto fb = leash::sync_wait(f.optimizer.analyze(r));
  BOOST_TEST_REQUIRE(fb.has_value());
  BOOST_TEST(fb.value().parsed);
  BOOST_TEST(fb.value().summary_text == "slow but right");
  BOOST_TEST(fb.value().failure_patterns == std::vector<std::string>{"timeouts"});
  BOOST_TEST(fb.value().suggested_changes == std::vector<std::string>{"fewer turns"});
  BOOST_TEST(fb.value().primitive_ratings.at("agent") == "low");
  BOOST_TEST(fb.value().target_primitive == "agent");

  auto requests = f.requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  BOOST_TEST_REQUIRE(requests[0].temperature.has_value());
  BOOST_TEST(*requests[0].temperature == 0.3);
  BOOST_TEST(requests[0].messages[0].content == f.optimizer.options().analysis_system_prompt);
  auto const& text = requests[0].messages[1].content;
  BOOST_TEST(contains(text, R"({"agent.max_turns": 30})"));
  BOOST_TEST(contains(text, "many turns"));
  BOOST_TEST(contains(text, "accuracy: 0.9000"));
  BOOST_TEST(contains(text, "2 evaluation errors"));
  BOOST_TEST(contains(text, "agent, intelligence, tools"));
  for (auto key : {"summary_text", "failure_patterns", "primitive_ratings", "suggested_changes", "target_primitive"})
    BOOST_TEST(contains(text, std::string("\"") + key + "\""));
}

BOOST_AUTO_TEST_CASE(unparseable_analysis_keeps_the_raw_reply) {
  auto f = fixture({"It went fine, mostly."});
  auto fb = leash::sync_wait(f.optimizer.analyze(trial("x", {}, 0.5, 1, 0)));
  BOOST_TEST_REQUIRE(fb.has_value());
  BOOST_TEST(!fb.value().parsed);
  BOOST_TEST(fb.value().summary_text == "It went fine, mostly.");
  BOOST_TEST(fb.value().target_primitive == "");
}

BOOST_AUTO_TEST_CASE(analysis_target_is_mapped_to_a_primitive_of_the_space) {
  auto target_of = [](std::string reply_target) {
    auto f = fixture({R"({"summary_text": "s", "target_primitive": ")" + reply_target + R"("})"});
    auto fb = leash::sync_wait(f.optimizer.analyze(trial("x", {}, 0.5, 1, 0)));
    BOOST_TEST_REQUIRE(fb.has_value());
    return fb.value().target_primitive;
  };
  BOOST_TEST(target_of("tools") == "tools");
  BOOST_TEST(target_of("tool") == "tools");
  BOOST_TEST(target_of("Agents") == "agent");
  BOOST_TEST(target_of("engine") == "");  // only fixed: nothing to change
  BOOST_TEST(target_of("") == "");
}

BOOST_AUTO_TEST_CASE(calls_and_usage_are_counted_on_the_optimizer) {
  auto f = fixture({R"({"params": {"intelligence.temperature": 5}})"});
  initial(f);                                                     // 2 calls
  (void)leash::sync_wait(f.optimizer.analyze(trial("x", {}, 0.5, 1, 0)));  // 1 call
  BOOST_TEST(f.optimizer.llm_calls() == 3u);
  BOOST_TEST(f.optimizer.usage().input_tokens == 300u);
}

BOOST_AUTO_TEST_SUITE_END()
