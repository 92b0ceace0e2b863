// Spec search diagnosis and planning: clusters read from the teacher's
// reply (fence, bare array, percentages, prose brackets), triage of
// clusters without evidence, the planning prompt, edits read from the plan
// (malformed → empty, invalid → rejected with a reason, tiers from the op,
// unique ids) and the cluster ↔ edit links. The reference's planner tests
// (§3 "planner [7]", "risk tiers") are among them.
#include <leash/learn/spec_search/plan.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <string>
#include <vector>

namespace test_learn_spec_search_plan {

namespace ss = leash::learn::spec_search;
using leash::Errc;
using leash_test::why;

ss::FailureCluster cluster(std::string id, double fail, double teach, std::string gap = "gap") {
  ss::FailureCluster c;
  c.id = std::move(id);
  c.description = "fails at " + c.id;
  c.student_failure_rate = fail;
  c.teacher_success_rate = teach;
  c.skill_gap = std::move(gap);
  return c;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace test_learn_spec_search_plan

using namespace test_learn_spec_search_plan;

BOOST_AUTO_TEST_SUITE(learn_spec_search_plan)

// ---------------------------------------------------------------- diagnosis

BOOST_AUTO_TEST_CASE(diagnosis_instructions_ask_for_backed_clusters_in_a_json_array) {
  auto p = ss::diagnosis_instructions;
  BOOST_TEST(contains(p, "2 to 5 clusters"));
  BOOST_TEST(contains(p, "at least 3 runs"));
  BOOST_TEST(contains(p, "```json"));
  for (auto key : {"\"id\"", "\"description\"", "\"sample_trace_ids\"", "\"student_failure_rate\"",
                   "\"teacher_success_rate\"", "\"skill_gap\""})
    BOOST_TEST(contains(p, key), key);
}

BOOST_AUTO_TEST_CASE(clusters_from_a_json_fence) {
  auto r = ss::parse_clusters(
      "I looked at 12 traces [t1..t12].\n"
      "```json\n"
      "[{\"id\": \"arith\", \"description\": \"multi-step arithmetic\",\n"
      "  \"sample_trace_ids\": [\"t1\", \"t4\", \"t9\"],\n"
      "  \"student_failure_rate\": 0.7, \"teacher_success_rate\": 0.95, \"skill_gap\": \"no calculator\"},\n"
      " {\"description\": \"dates\", \"student_failure_rate\": 0.4, \"teacher_success_rate\": 1}]\n"
      "```\n"
      "That is all.");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& c = r.value();
  BOOST_REQUIRE(c.size() == 2u);
  BOOST_TEST(c[0].id == "arith");
  BOOST_TEST(c[0].sample_trace_ids == (std::vector<std::string>{"t1", "t4", "t9"}), boost::test_tools::per_element());
  BOOST_TEST(c[0].student_failure_rate == 0.7);
  BOOST_TEST(c[0].skill_gap == "no calculator");
  BOOST_TEST(c[1].id == "cluster-2");  // the position in the array, from 1
  BOOST_TEST(c[1].teacher_success_rate == 1.0);
}

BOOST_AUTO_TEST_CASE(clusters_from_an_object_in_a_fence_and_the_last_fence_first) {
  auto r = ss::parse_clusters(
      "Draft:\n```json\n[{\"id\": \"old\", \"description\": \"draft\"}]\n```\n"
      "Final:\n```json\n{\"failure_clusters\": [{\"id\": \"new\", \"description\": \"final\"}]}\n```\n");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_REQUIRE(r.value().size() == 1u);
  BOOST_TEST(r.value()[0].id == "new");

  auto o = ss::parse_clusters("```json\n{\"clusters\": [{\"id\": \"a\", \"description\": \"x\"}]}\n```");
  BOOST_REQUIRE_MESSAGE(o.has_value(), why(o));
  BOOST_TEST(o.value()[0].id == "a");
}

BOOST_AUTO_TEST_CASE(clusters_from_a_bare_array_among_prose_brackets) {
  // Brackets before, inside and after the array: the reference's greedy
  // first-'[' to last-']' span would not parse here.
  auto r = ss::parse_clusters(
      "Findings [see traces t1-t5]: the student [sic] fails twice.\n"
      "[{\"id\": \"tools\", \"description\": \"never calls [search] when it should\", "
      "\"sample_trace_ids\": [\"t1\", \"t2\", \"t3\"], \"student_failure_rate\": 0.5, \"teacher_success_rate\": 0.9}]\n"
      "Confidence [high]; rates in [0, 1].");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_REQUIRE(r.value().size() == 1u);
  BOOST_TEST(r.value()[0].id == "tools");
  BOOST_TEST(r.value()[0].description == "never calls [search] when it should");
  BOOST_TEST(r.value()[0].sample_trace_ids.size() == 3u);
}

BOOST_AUTO_TEST_CASE(percent_rates_are_divided_and_clamped) {
  auto r = ss::parse_clusters(
      "```json\n[{\"id\": \"a\", \"description\": \"x\", \"student_failure_rate\": 65, \"teacher_success_rate\": 250},"
      " {\"id\": \"b\", \"description\": \"y\", \"student_failure_rate\": \"high\",\n"
      "  \"teacher_success_rate\": -0.3}]\n```");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& c = r.value();
  BOOST_REQUIRE(c.size() == 2u);
  BOOST_TEST(c[0].student_failure_rate == 0.65);
  BOOST_TEST(c[0].teacher_success_rate == 1.0);
  BOOST_TEST(c[1].student_failure_rate == 0.0);  // not a number
  BOOST_TEST(c[1].teacher_success_rate == 0.0);
}

BOOST_AUTO_TEST_CASE(unreadable_elements_are_skipped_and_duplicate_ids_made_unique) {
  auto r = ss::parse_clusters(
      "```json\n[{\"id\": \"a\", \"description\": \"one\"}, 7, {\"id\": \"nodesc\"}, {\"id\": \"a\", "
      "\"description\": \"two\"}, {\"description\": \"three\"}]\n```");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& c = r.value();
  BOOST_REQUIRE(c.size() == 3u);
  BOOST_TEST(c[0].id == "a");
  BOOST_TEST(c[1].id == "a-2");
  BOOST_TEST(c[1].description == "two");
  BOOST_TEST(c[2].id == "cluster-5");
}

BOOST_AUTO_TEST_CASE(no_clusters_is_a_bad_response) {
  for (std::string text : {"", "I could not find any pattern.", "```json\n[]\n```", "[1, 2, 3] and [\"a\"]",
                           "```json\n[{\"id\": \"x\"}]\n```", "[{\"id\": \"cut off\", \"description\": \"trun"}) {
    auto r = ss::parse_clusters(text);
    BOOST_REQUIRE_MESSAGE(r.has_error(), text);
    BOOST_TEST((r.error().code == Errc::llm_bad_response));
    BOOST_TEST(r.error().what() == "diagnosis produced no actionable clusters");
  }
}

BOOST_AUTO_TEST_CASE(clusters_with_both_rates_zero_are_dropped) {
  auto t = ss::triage_clusters({cluster("a", 0.5, 0.9), cluster("b", 0.0, 0.0, "unclear"), cluster("c", 0.0, 0.8),
                                cluster("d", 0.0, 0.0, "")});
  BOOST_REQUIRE(t.kept.size() == 2u);
  BOOST_TEST(t.kept[0].id == "a");
  BOOST_TEST(t.kept[1].id == "c");  // one rate is evidence enough
  BOOST_TEST(t.kept[0].skill_gap == "gap");
  BOOST_REQUIRE(t.dropped.size() == 2u);
  BOOST_TEST(t.dropped[0].id == "b");
  BOOST_TEST(t.dropped[0].skill_gap == "dropped: insufficient evidence; unclear");
  BOOST_TEST(t.dropped[1].skill_gap == "dropped: insufficient evidence");
}

// ---------------------------------------------------------------- planning

BOOST_AUTO_TEST_CASE(planning_prompt_has_clusters_config_and_the_op_catalogue) {
  auto c = cluster("arith", 0.7, 0.9, "no calculator");
  c.sample_trace_ids = {"t1", "t2", "t3"};
  auto p = ss::planning_prompt({c}, "[agent]\nname = \"calc\"\ntools = []");
  BOOST_TEST(contains(p, "\"id\":\"arith\""));
  BOOST_TEST(contains(p, "\"skill_gap\":\"no calculator\""));
  BOOST_TEST(contains(p, "\"sample_trace_ids\":[\"t1\",\"t2\",\"t3\"]"));
  BOOST_TEST(!contains(p, "addressed_by_edit_ids"));
  BOOST_TEST(contains(p, "[agent]\nname = \"calc\"\ntools = []\n"));
  BOOST_TEST(contains(p, "{\"edits\": ["));
  BOOST_TEST(contains(p, "1 to 3 edits for each cluster"));
  BOOST_TEST(contains(p, "expected_improvement"));
  // Every op with its payload keys and the tier it gets.
  BOOST_TEST(contains(p, "- set_model_for_query_class (tier auto)"));
  BOOST_TEST(contains(p, "- replace_system_prompt (tier review)"));
  BOOST_TEST(contains(p, "- lora_finetune (tier manual)"));
  for (auto key : {"query_class", "\"param\"", "\"diff\"", "new_content", "new_class", "exemplars", "tool_name",
                   "new_description"})
    BOOST_TEST(contains(p, key), key);
  for (int k = 0; k <= static_cast<int>(ss::EditOp::lora_finetune); ++k)
    BOOST_TEST(contains(p, std::string("- ") + std::string(ss::to_string(static_cast<ss::EditOp>(k))) + " ("));
  BOOST_TEST(!ss::planning_instructions.empty());
  BOOST_TEST(contains(ss::planning_prompt({}, ""), "(empty)"));
}

BOOST_AUTO_TEST_CASE(edits_from_the_whole_text_a_fence_or_prose) {
  std::string const plan =
      R"({"edits": [{"id": "e1", "op": "add_tool_to_agent", "target": "agents.calc.tools",
          "payload": {"tool_name": "calculator"}, "rationale": "r", "expected_improvement": "arith",
          "references": ["t1"]}]})";
  for (std::string text : {plan, "Here is the plan.\n```json\n" + plan + "\n```\nDone.",
                           "Plan {roughly}: " + plan + " -- end {of plan}", "```\n" + plan + "\n```"}) {
    auto p = ss::parse_edits(text);
    BOOST_REQUIRE_MESSAGE(p.edits.size() == 1u, text);
    auto const& e = p.edits[0];
    BOOST_TEST(e.id == "e1");
    BOOST_TEST(e.op == ss::EditOp::add_tool_to_agent);
    BOOST_TEST(e.target == "agents.calc.tools");
    BOOST_TEST(e.expected_improvement == "arith");
    BOOST_TEST(e.references == (std::vector<std::string>{"t1"}), boost::test_tools::per_element());
    BOOST_TEST(p.rejected.empty());
  }
}

BOOST_AUTO_TEST_CASE(the_last_object_with_edits_wins_over_examples_before_it) {
  auto p = ss::parse_edits(
      "An edit looks like {\"op\": \"...\"}; a draft was {\"edits\": [{\"id\": \"draft\", \"op\": "
      "\"add_tool_to_agent\", \"payload\": {\"tool_name\": \"x\"}}]}.\nFinal: {\"edits\": [{\"id\": \"final\", "
      "\"op\": \"add_tool_to_agent\", \"payload\": {\"tool_name\": \"y\"}}]}");
  BOOST_REQUIRE(p.edits.size() == 1u);
  BOOST_TEST(p.edits[0].id == "final");
}

BOOST_AUTO_TEST_CASE(malformed_output_is_an_empty_plan) {
  for (std::string text : {"", "I have no suggestions.", "{\"edits\": \"none\"}", "{\"changes\": []}",
                           "```json\n{\"edits\": [{\"op\": \"add_tool_to_agent\"\n```", "[1, 2]"}) {
    auto p = ss::parse_edits(text);
    BOOST_TEST(p.edits.empty(), text);
  }
  auto p = ss::parse_edits("{\"edits\": []}");
  BOOST_TEST(p.edits.empty());
  BOOST_TEST(p.rejected.empty());
}

BOOST_AUTO_TEST_CASE(invalid_edits_are_rejected_with_their_reason) {
  auto p = ss::parse_edits(R"({"edits": [
      {"id": "ok", "op": "edit_tool_description", "payload": {"tool_name": "t", "new_description": "d"}},
      {"id": "bad-op", "op": "delete_everything"},
      {"id": "no-key", "op": "set_model_param", "payload": {"model": "m", "value": 1}},
      {"op": "edit_few_shot_exemplars", "payload": {"exemplars": [{"input": "q"}]}},
      "not an edit"]})");
  BOOST_REQUIRE(p.edits.size() == 1u);
  BOOST_TEST(p.edits[0].id == "ok");
  BOOST_REQUIRE(p.rejected.size() == 4u);
  BOOST_TEST(contains(p.rejected[0], "unknown op 'delete_everything'"), p.rejected[0]);
  BOOST_TEST(contains(p.rejected[1], "'no-key'"), p.rejected[1]);
  BOOST_TEST(contains(p.rejected[1], "'param'"), p.rejected[1]);
  BOOST_TEST(contains(p.rejected[2], "edit-4"), p.rejected[2]);  // default id from the position, from 1
  BOOST_TEST(contains(p.rejected[2], "exemplar 1"), p.rejected[2]);
  BOOST_TEST(contains(p.rejected[3], "edit 5"), p.rejected[3]);
}

BOOST_AUTO_TEST_CASE(tiers_and_pillars_follow_the_op_not_the_teacher) {
  auto p = ss::parse_edits(R"({"edits": [
      {"id": "a", "op": "replace_system_prompt", "risk_tier": "auto", "pillar": "tools",
       "payload": {"new_content": "Be careful."}},
      {"id": "b", "op": "lora_finetune", "risk_tier": "auto"},
      {"id": "c", "op": "set_model_for_query_class", "risk_tier": "manual",
       "payload": {"query_class": "math", "model": "big"}},
      {"id": "d", "op": "patch_system_prompt", "payload": {"diff": "@@ -1 +1 @@\n-a\n+b\n"}}]})");
  BOOST_REQUIRE(p.edits.size() == 4u);
  BOOST_TEST(p.edits[0].risk_tier == ss::EditRiskTier::review);
  BOOST_TEST(p.edits[0].pillar == ss::EditPillar::agent);
  BOOST_TEST(p.edits[1].risk_tier == ss::EditRiskTier::manual);
  BOOST_TEST(p.edits[1].pillar == ss::EditPillar::intelligence);
  BOOST_TEST(p.edits[2].risk_tier == ss::EditRiskTier::automatic);
  BOOST_TEST(p.edits[3].risk_tier == ss::EditRiskTier::review);
}

BOOST_AUTO_TEST_CASE(edit_ids_are_made_unique) {
  auto p = ss::parse_edits(R"({"edits": [
      {"id": "e", "op": "add_tool_to_agent", "payload": {"tool_name": "a"}},
      {"id": "e", "op": "add_tool_to_agent", "payload": {"tool_name": "b"}},
      {"id": "e-2", "op": "add_tool_to_agent", "payload": {"tool_name": "c"}},
      {"op": "add_tool_to_agent", "payload": {"tool_name": "d"}},
      {"id": "edit-4", "op": "add_tool_to_agent", "payload": {"tool_name": "e"}}]})");
  BOOST_REQUIRE(p.edits.size() == 5u);
  BOOST_TEST(p.edits[0].id == "e");
  BOOST_TEST(p.edits[1].id == "e-2");
  BOOST_TEST(p.edits[2].id == "e-2-2");  // its own id was taken by the renamed duplicate
  BOOST_TEST(p.edits[3].id == "edit-4");
  BOOST_TEST(p.edits[4].id == "edit-4-2");
}

BOOST_AUTO_TEST_CASE(clusters_are_linked_to_the_edits_that_address_them) {
  std::vector<ss::FailureCluster> clusters = {cluster("arith", 0.5, 0.9), cluster("dates", 0.4, 0.8)};
  clusters[1].addressed_by_edit_ids = {"stale"};
  auto p = ss::parse_edits(R"({"edits": [
      {"id": "e1", "op": "add_tool_to_agent", "payload": {"tool_name": "calc"}, "expected_improvement": "arith"},
      {"id": "e2", "op": "set_agent_param", "payload": {"param": "max_turns", "value": 8},
       "expected_improvement": "nope"},
      {"id": "e3", "op": "edit_tool_description", "payload": {"tool_name": "calc", "new_description": "d"},
       "expected_improvement": "arith"}]})");
  ss::link_clusters(clusters, p.edits);
  BOOST_TEST(clusters[0].addressed_by_edit_ids == (std::vector<std::string>{"e1", "e3"}),
             boost::test_tools::per_element());
  BOOST_TEST(clusters[1].addressed_by_edit_ids.empty());
}

BOOST_AUTO_TEST_SUITE_END()
