// Tests of leash/learn/spec_search/types.hpp: enum spellings, the tier and
// pillar tables, edit validation per op, clusters, JSON round trips, ids and seeds.
#include <leash/learn/spec_search/types.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>
#include <string>

namespace test_learn_spec_search_types {

namespace json = leash::json;
namespace ss = leash::learn::spec_search;
using leash::Errc;
using ss::EditOp;
using ss::EditRiskTier;

leash::result<ss::Edit> edit(std::string_view text, std::size_t index = 1) {
  return ss::edit_from_json(json::parse(text), index);
}

BOOST_AUTO_TEST_SUITE(learn_spec_search_types)

BOOST_AUTO_TEST_CASE(enum_spellings_round_trip_and_match_the_reference) {
  BOOST_TEST(ss::to_string(EditRiskTier::automatic) == "auto");
  BOOST_TEST(ss::to_string(ss::AutonomyMode::automatic) == "auto");
  BOOST_TEST(ss::to_string(ss::SessionStatus::awaiting_review) == "awaiting_review");
  BOOST_TEST(ss::to_string(ss::OutcomeStatus::rejected_by_gate) == "rejected_by_gate");
  BOOST_TEST(ss::to_string(ss::TriggerKind::user_flag) == "user_flag");
  for (int i = 0; i <= static_cast<int>(EditOp::lora_finetune); ++i) {
    auto op = static_cast<EditOp>(i);
    BOOST_TEST((ss::op_from_string(ss::to_string(op)) == op));
  }
  BOOST_TEST(!ss::op_from_string("delete_everything").has_value());
  BOOST_TEST(!ss::risk_tier_from_string("automatic").has_value());  // JSON says "auto"
}

BOOST_AUTO_TEST_CASE(tier_table_is_the_references) {
  using enum EditOp;
  for (auto op : {set_model_for_query_class, set_model_param, set_agent_param, add_tool_to_agent,
                  remove_tool_from_agent, edit_tool_description})
    BOOST_TEST((ss::risk_tier_of(op) == EditRiskTier::automatic), ss::to_string(op));
  for (auto op : {patch_system_prompt, replace_system_prompt, set_agent_class, edit_few_shot_exemplars})
    BOOST_TEST((ss::risk_tier_of(op) == EditRiskTier::review), ss::to_string(op));
  BOOST_TEST((ss::risk_tier_of(lora_finetune) == EditRiskTier::manual));
  BOOST_TEST((ss::pillar_of(add_tool_to_agent) == ss::EditPillar::tools));
  BOOST_TEST((ss::pillar_of(set_model_param) == ss::EditPillar::intelligence));
  BOOST_TEST((ss::pillar_of(patch_system_prompt) == ss::EditPillar::agent));
}

BOOST_AUTO_TEST_CASE(tier_and_pillar_come_from_the_op_not_the_teacher) {
  auto e = edit(R"({"id": "e1", "op": "replace_system_prompt", "risk_tier": "auto", "pillar": "engine",
                    "payload": {"agent": "calc", "new_content": "Be exact."}})");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST((e.value().risk_tier == EditRiskTier::review));
  BOOST_TEST((e.value().pillar == ss::EditPillar::agent));
}

BOOST_AUTO_TEST_CASE(payload_is_validated_per_op) {
  BOOST_TEST(edit(R"({"op": "set_model_param", "payload": {"model": "m", "param": "temperature", "value": 0.2}})").has_value());
  BOOST_TEST(edit(R"({"op": "set_agent_param", "payload": {"param": "tools", "value": ["a", "b"]}})").has_value());
  BOOST_TEST(edit(R"({"op": "lora_finetune", "payload": {}})").has_value());

  struct Bad {
    char const* json;
    char const* says;
  };
  for (auto const& b : {
           Bad{R"({"op": "set_model_param", "payload": {"model": "m", "param": "t"}})", "'value'"},
           Bad{R"({"op": "set_model_param", "payload": {"model": "m", "param": "t", "value": {"x": 1}}})", "'value'"},
           Bad{R"({"op": "add_tool_to_agent", "payload": {"agent": "calc"}})", "'tool_name'"},
           Bad{R"({"op": "add_tool_to_agent", "payload": {"agent": 3, "tool_name": "x"}})", "'agent'"},
           Bad{R"({"op": "patch_system_prompt", "payload": {"diff": ""}})", "'diff'"},
           Bad{R"({"op": "edit_few_shot_exemplars", "payload": {"exemplars": []}})", "'exemplars'"},
           Bad{R"({"op": "edit_few_shot_exemplars", "payload": {"exemplars": [{"input": "q"}]}})", "exemplar 1"},
           Bad{R"({"op": "edit_tool_description", "payload": {"tool_name": "x"}})", "'new_description'"},
           Bad{R"({"op": "set_model_for_query_class", "payload": {"query_class": "math"}})", "'model'"},
           Bad{R"({"op": "teleport", "payload": {}})", "unknown op 'teleport'"},
           Bad{R"({"payload": {}})", "'op' field is missing"},
           Bad{R"({"op": "set_agent_class", "payload": "calc"})", "'payload' must be an object"},
           Bad{R"([1, 2])", "not a JSON object"},
       }) {
    auto r = edit(b.json);
    BOOST_REQUIRE_MESSAGE(r.has_error(), b.json);
    BOOST_TEST((r.error().code == Errc::invalid_input));
    BOOST_TEST(r.error().message.find(b.says) != std::string::npos, r.error().message << " ← " << b.json);
  }
}

BOOST_AUTO_TEST_CASE(secrets_and_addresses_are_never_set_by_an_edit) {
  for (auto name : {"api_key", "OPENAI_API_KEY", "token", "accessToken", "client_secret", "password", "credentials",
                    "base_url", "url", "Host"})
    BOOST_TEST(ss::is_sensitive_param(name), name);
  for (auto name : {"temperature", "max_tokens", "top_p", "tools", "urgency"}) BOOST_TEST(!ss::is_sensitive_param(name), name);
  auto model = edit(R"({"op": "set_model_param", "payload": {"model": "m", "param": "api_key", "value": "sk-x"}})");
  BOOST_REQUIRE(model.has_error());
  BOOST_TEST(model.error().message.find("holds a secret or an address") != std::string::npos, model.error().message);
  BOOST_TEST(edit(R"({"op": "set_agent_param", "payload": {"param": "base_url", "value": "http://evil"}})").has_error());
}

BOOST_AUTO_TEST_CASE(agent_comes_from_payload_then_target_then_default) {
  auto with = [](char const* text) { return ss::agent_of(edit(text).value()); };
  BOOST_TEST(with(R"({"op": "set_agent_class", "target": "agents.x.class", "payload": {"agent": "y", "new_class": "c"}})") == "y");
  BOOST_TEST(with(R"({"op": "set_agent_class", "target": "agents.x.class", "payload": {"new_class": "c"}})") == "x");
  BOOST_TEST(with(R"({"op": "set_agent_class", "target": "agents.calc", "payload": {"new_class": "c"}})") == "calc");
  BOOST_TEST(with(R"({"op": "set_agent_class", "target": "", "payload": {"new_class": "c"}})") == "default");
}

BOOST_AUTO_TEST_CASE(edit_ids_default_to_their_position) {
  auto e = edit(R"({"op": "add_tool_to_agent", "payload": {"tool_name": "calculator"}})", 3);
  BOOST_TEST(e.value().id == "edit-3");
}

BOOST_AUTO_TEST_CASE(clusters_take_percentages_and_clamp) {
  auto c = ss::cluster_from_json(json::parse(R"({"description": "arithmetic", "student_failure_rate": 80,
                                                 "teacher_success_rate": 1.4e9, "sample_trace_ids": ["a", 3, "b"]})"),
                                 1);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c.value().id == "cluster-2");
  BOOST_TEST(c.value().student_failure_rate == 0.8);
  BOOST_TEST(c.value().teacher_success_rate == 1.0);
  BOOST_TEST(c.value().sample_trace_ids.size() == 2u);  // the number is not an id
  auto negative = ss::cluster_from_json(json::parse(R"({"description": "d", "student_failure_rate": -3})"));
  BOOST_TEST(negative.value().student_failure_rate == 0.0);
  BOOST_TEST(ss::cluster_from_json(json::parse(R"({"id": "c"})")).has_error());
}

BOOST_AUTO_TEST_CASE(a_session_round_trips_through_json) {
  ss::LearningSession s;
  s.id = "session-20261207T120000_0badcafe";
  s.parent_session_id = "session-20261206T120000_00000001";
  s.trigger = ss::Trigger::user_flag("run-7");
  s.status = ss::SessionStatus::awaiting_review;
  s.autonomy_mode = ss::AutonomyMode::manual;
  s.started_at = 1.5e9;
  s.ended_at = 1.5e9 + 30;
  ss::BenchmarkSnapshot before;
  before.overall_score = 0.5;
  before.cluster_scores = {{"arith", 0.25}, {"facts", 0.75}};
  before.task_count = 8;
  s.benchmark_before = before;
  ss::EditOutcome o;
  o.edit = edit(R"({"id": "e1", "op": "add_tool_to_agent", "payload": {"agent": "calc", "tool_name": "calculator"}})").value();
  o.status = ss::OutcomeStatus::rejected_by_gate;
  o.benchmark_delta = -0.125;
  o.cluster_deltas = {{"facts", -0.5}};
  o.error = "cluster facts fell by 0.5";
  s.edit_outcomes.push_back(o);
  s.checkpoint_pre = "abc";
  s.teacher_cost_usd = 0.75;

  auto back = ss::session_from_json(json::parse(json::serialize(ss::to_json(s))));
  BOOST_REQUIRE(back.has_value());
  auto const& b = back.value();
  BOOST_TEST(b.id == s.id);
  BOOST_TEST(b.parent_session_id.value() == s.parent_session_id.value());
  BOOST_TEST((b.trigger.kind == ss::TriggerKind::user_flag));
  BOOST_TEST(b.trigger.metadata.at("trace_id").as_string() == "run-7");
  BOOST_TEST((b.status == ss::SessionStatus::awaiting_review));
  BOOST_TEST((b.autonomy_mode == ss::AutonomyMode::manual));
  BOOST_TEST(b.ended_at.value() == s.ended_at.value());
  BOOST_TEST(b.benchmark_before.value().cluster_scores.at("arith") == 0.25);
  BOOST_TEST(!b.benchmark_after.has_value());
  BOOST_REQUIRE(b.edit_outcomes.size() == 1u);
  BOOST_TEST(b.edit_outcomes[0].edit.payload.at("tool_name").as_string() == "calculator");
  BOOST_TEST((b.edit_outcomes[0].status == ss::OutcomeStatus::rejected_by_gate));
  BOOST_TEST(b.edit_outcomes[0].cluster_deltas.at("facts") == -0.5);
  BOOST_TEST(b.edit_outcomes[0].error.value() == "cluster facts fell by 0.5");
  BOOST_TEST(!b.checkpoint_post.has_value());
  BOOST_TEST(b.teacher_cost_usd == 0.75);
}

BOOST_AUTO_TEST_CASE(a_snapshot_outside_the_unit_interval_is_refused) {
  BOOST_TEST(ss::snapshot_from_json(json::parse(R"({"overall_score": 1.5})")).has_error());
  BOOST_TEST(ss::snapshot_from_json(json::parse(R"({"task_count": 3})")).has_error());
  BOOST_TEST(ss::snapshot_from_json(json::parse(R"({"overall_score": 0.5})")).has_value());
}

BOOST_AUTO_TEST_CASE(session_ids_have_the_reference_format) {
  std::mt19937_64 rng(7);
  auto id = ss::make_session_id(0.0, rng);
  BOOST_TEST(id.rfind("session-19700101T000000_", 0) == 0u, id);
  BOOST_TEST(id.size() == std::string("session-19700101T000000_").size() + 8);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(ss::make_session_id(1.8e9, rng));
  BOOST_TEST(ids.size() == 100u);
}

BOOST_AUTO_TEST_CASE(seeds_are_stable_and_31_bit) {
  // The first 8 hex of SHA-256("session-x") fixed here: any process, any machine.
  auto seed = ss::stable_seed("session-x");
  BOOST_TEST(seed == ss::stable_seed("session-x"));
  BOOST_TEST(seed < (1u << 31));
  BOOST_TEST(seed == (std::stoul(leash::sha256_hex("session-x").substr(0, 8), nullptr, 16) & 0x7fffffffu));
  BOOST_TEST(ss::stable_seed("session-y") != seed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_spec_search_types
