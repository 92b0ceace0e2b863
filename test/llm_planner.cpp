// LlmPlanner: PlanRequest → CompletionRequest, Completion → Plan, transport
// failures as planner errors, and whole loops over a scripted transport.
#include <leash/llm/llm_planner.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm/scripted.hpp>

#include "support.hpp"

#include <memory>
#include <string>
#include <vector>

namespace test_llm_planner {

namespace json = leash::json;
using leash::Errc;
using leash::LlmPlanner;
using leash::Plan;
using leash::PlanRequest;
using leash::Status;
using leash::llm::AnyTransport;
using leash::llm::Completion;
using leash::llm::ScriptedTransport;
using leash_test::run_sync;

static_assert(leash::Planner<LlmPlanner>);

using leash_test::why;

std::shared_ptr<ScriptedTransport> scripted(std::string const& jsonl, std::string model = "gpt-4o") {
  auto t = std::make_shared<ScriptedTransport>(leash::llm::parse_script(jsonl).value(), std::move(model));
  t->record_requests();
  return t;
}

std::vector<leash::Message> two_messages() {
  return {{"system", "You are an agent."}, {"user", "## Current observation\nfailing: a"}};
}

using Agent = leash::Loop<LlmPlanner, leash_test::FixTools>;

}  // namespace test_llm_planner

using namespace test_llm_planner;

BOOST_AUTO_TEST_SUITE(llm_planner)

BOOST_AUTO_TEST_CASE(request_and_plan_mapping) {
  auto t = scripted(
      R"({"text":"fix a","tool_calls":[{"name":"fix","args":{"name":"a"},"id":"c1"}],"usage":{"input_tokens":70,"output_tokens":9},"model":"gpt-4o-2024-08-06"})");
  leash::LlmPlannerOptions o;
  o.temperature = 0.2;
  o.tool_choice = "required";
  o.parallel_tool_calls = false;
  LlmPlanner planner(AnyTransport(t), o);
  BOOST_TEST(planner.model_id() == "gpt-4o");

  auto const& tools = leash_test::FixTools::schemas();
  PlanRequest request(two_messages(), tools, 321);
  auto plan = run_sync(planner.plan(request));
  BOOST_TEST_REQUIRE(plan.has_value(), why(plan));
  BOOST_TEST(plan.value().text == "fix a");
  BOOST_TEST(plan.value().usage.input_tokens == 70u);
  BOOST_TEST(plan.value().usage.output_tokens == 9u);
  // The configured model (what a pricing table knows), not the dated snapshot.
  BOOST_TEST(plan.value().model_id == "gpt-4o");
  BOOST_TEST_REQUIRE(plan.value().tool_calls.size() == 1u);
  BOOST_TEST(plan.value().tool_calls[0].name == "fix");
  BOOST_TEST(plan.value().tool_calls[0].id == "c1");
  BOOST_TEST_REQUIRE(planner.last_completion().has_value());
  BOOST_TEST(planner.last_completion()->model == "gpt-4o-2024-08-06");

  auto sent = t->requests();
  BOOST_TEST_REQUIRE(sent.size() == 1u);
  BOOST_TEST_REQUIRE(sent[0].messages.size() == 2u);
  BOOST_TEST(sent[0].messages[0].role == "system");
  BOOST_TEST(sent[0].messages[1].content == "## Current observation\nfailing: a");
  BOOST_TEST(sent[0].tools == tools);
  BOOST_TEST(sent[0].max_tokens == 321u);
  BOOST_TEST(sent[0].temperature.value_or(-1.0) == 0.2);
  BOOST_TEST(sent[0].tool_choice == "required");
  BOOST_TEST(!sent[0].parallel_tool_calls);
}

BOOST_AUTO_TEST_CASE(transport_errors_are_planner_errors) {
  auto t = scripted(R"({"error":{"code":"llm_auth_failed","message":"openai: HTTP 401: bad key"}})");
  LlmPlanner planner{AnyTransport(t)};
  json::array const no_tools;
  auto plan = run_sync(planner.plan(PlanRequest(two_messages(), no_tools, 10)));
  BOOST_TEST_REQUIRE(plan.has_error());
  BOOST_TEST((plan.error() == Errc::llm_auth_failed));
  BOOST_TEST(plan.error().message == "openai: HTTP 401: bad key");

  LlmPlanner empty{AnyTransport{}};
  BOOST_TEST(empty.model_id() == "none");
  auto none = run_sync(empty.plan(PlanRequest(two_messages(), no_tools, 10)));
  BOOST_TEST_REQUIRE(none.has_error());
  BOOST_TEST((none.error() == Errc::planner_failed));
}

BOOST_AUTO_TEST_CASE(estimate_counts_tool_schemas_and_framing) {
  LlmPlanner planner{AnyTransport(scripted(R"({"text":"x"})"))};
  auto const& tools = leash_test::FixTools::schemas();
  PlanRequest request(two_messages(), tools, 10);
  auto plain = request.size_chars() / 4;
  auto ours = planner.estimate_input_tokens(request);
  BOOST_TEST(ours >= plain + json::serialize(tools).size() / 4);
  BOOST_TEST(ours <= plain + json::serialize(tools).size() / 4 + 20);
  BOOST_TEST(planner.estimate_input_tokens(request) == ours);  // cached schema size, same answer
}

BOOST_AUTO_TEST_CASE(no_reported_usage_is_charged_an_estimate) {
  // A compatible server that reports no usage: zero in, zero out.
  // ScriptedTransport fills in usage for scripts without it; this stub does not.
  struct Bare final : leash::llm::TransportInterface {
    boost::asio::awaitable<leash::result<Completion>> complete(leash::llm::CompletionRequest const&) override {
      co_return Completion{"done, all fixed", {}, {}, "m", "stop", "", "", 0, 0.0};
    }
    boost::asio::awaitable<leash::result<Completion>> stream(leash::llm::CompletionRequest const& r,
                                                             leash::llm::StreamCallback) override {
      return complete(r);
    }
    std::string_view model_id() const override { return "local"; }
    std::string_view provider() const override { return "openai-compatible"; }
  };
  LlmPlanner planner{AnyTransport(std::make_shared<Bare>())};
  json::array const no_tools;
  PlanRequest request(two_messages(), no_tools, 10);
  auto plan = run_sync(planner.plan(request));
  BOOST_TEST_REQUIRE(plan.has_value());
  BOOST_TEST(plan.value().usage.input_tokens == planner.estimate_input_tokens(request));
  BOOST_TEST(plan.value().usage.output_tokens == 4u);  // 15 characters
  BOOST_TEST(plan.value().model_id == "local");
}

BOOST_AUTO_TEST_CASE(streaming_option_delivers_deltas) {
  auto t = scripted(R"({"text":"streamed text here","tool_calls":[{"name":"fix","args":{"name":"a"}}]})");
  leash::LlmPlannerOptions o;
  o.stream = true;
  std::string seen;
  o.on_delta = [&](leash::llm::StreamDelta const& d) { seen += d.text; };
  LlmPlanner planner(AnyTransport(t), o);
  json::array const no_tools;
  auto plan = run_sync(planner.plan(PlanRequest(two_messages(), no_tools, 10)));
  BOOST_TEST_REQUIRE(plan.has_value());
  BOOST_TEST(seen == "streamed text here{\"name\":\"a\"}");
  BOOST_TEST(plan.value().text == "streamed text here");
}

BOOST_AUTO_TEST_CASE(loop_runs_to_success_over_a_scripted_transport) {
  auto env = leash_test::make_env({"a", "b"});
  auto t = scripted(
      R"({"text":"fix a","tool_calls":[{"name":"fix","args":{"name":"a"}}],"usage":{"input_tokens":100,"output_tokens":10}})"
      "\n"
      R"({"text":"fix b","tool_calls":[{"name":"fix","args":{"name":"b"}}],"usage":{"input_tokens":120,"output_tokens":10}})"
      "\n");
  Agent agent("fix the failing tests", LlmPlanner(AnyTransport(t)), leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {},
              leash_test::env_options(env));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST((r.value().status == Status::success), r.value().reason);
  BOOST_TEST(env->snapshot().empty());
  BOOST_TEST(r.value().metrics.input_tokens == 220u);
  BOOST_TEST(r.value().metrics.llm_calls == 2u);
  // gpt-4o is in the default pricing table: the plan's model id priced the calls.
  BOOST_TEST(r.value().metrics.cost_usd.has_value());

  auto sent = t->requests();
  BOOST_TEST_REQUIRE(sent.size() == 2u);
  BOOST_TEST(sent[0].messages.front().role == "system");
  BOOST_TEST(sent[1].messages.back().content.find("fixed a") != std::string::npos);
  BOOST_TEST(sent[0].tools == leash_test::FixTools::schemas());
}

BOOST_AUTO_TEST_CASE(loop_feeds_back_arguments_that_are_not_an_object) {
  auto env = leash_test::make_env({"a"});
  auto t = scripted(
      R"({"tool_calls":[{"name":"fix","args":"{\"name\": \"a\""}]})"
      "\n"
      R"({"text":"fix a","tool_calls":[{"name":"fix","args":{"name":"a"}}]})"
      "\n");
  Agent agent("fix", LlmPlanner(AnyTransport(t)), leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {}, leash_test::env_options(env));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST((r.value().status == Status::success), r.value().reason);
  auto sent = t->requests();
  BOOST_TEST_REQUIRE(sent.size() == 2u);
  BOOST_TEST_REQUIRE(sent[1].messages.size() == 4u);  // system, user, the rejected reply, the rejection
  BOOST_TEST(sent[1].messages[2].role == "assistant");
  BOOST_TEST(sent[1].messages[3].content.find("Tool call rejected:") == 0u, sent[1].messages[3].content);
}

BOOST_AUTO_TEST_CASE(loop_ends_with_error_when_the_transport_fails) {
  auto env = leash_test::make_env({"a"});
  auto t = scripted(R"({"error":{"code":"llm_server_error","message":"openai: HTTP 503: retries exhausted"}})");
  Agent agent("fix", LlmPlanner(AnyTransport(t)), leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {}, leash_test::env_options(env));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST((r.value().status == Status::error));
  BOOST_TEST(r.value().reason.find("HTTP 503: retries exhausted") != std::string::npos, r.value().reason);
}

BOOST_AUTO_TEST_SUITE_END()
