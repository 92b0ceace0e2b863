// Agent configs loaded into a loop: LoopOptions::enabled_tools and
// ::system_prompt as the loop uses them, and learn::apply_agent_config.
// Without toml++ (LEASH_HAS_TOMLPLUSPLUS undefined) the suite is empty, as
// agent_config.hpp, which apply_config.hpp needs, is not built.
#if defined(LEASH_HAS_TOMLPLUSPLUS)
#include <leash/learn/apply_config.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_TOMLPLUSPLUS)

#include "support.hpp"

#include <string>
#include <vector>

namespace test_learn_apply_config {

using namespace leash;
using leash_test::env_options;
using leash_test::Env;
using leash_test::events_of;
using leash_test::Fix;
using leash_test::fix_call;
using leash_test::make_env;
using learn::AgentConfig;
using learn::apply_agent_config;

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))

/// echo(text): returns the text, counting its calls.
struct Echo {
  static constexpr std::string_view name = "echo";
  static constexpr std::string_view description = "Echo a text.";
  using args = EchoArgs;
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::string operator()(args const& a) const {
    ++*calls;
    return a.text;
  }
};

using Tools = ToolSet<Fix, Echo>;

/// A scripted planner that keeps, per request, the messages and the names of
/// the tools offered (ScriptedPlanner's record mode keeps no tools).
struct RecordingPlanner {
  struct Seen {
    std::vector<Message> messages;
    std::vector<std::string> tools;
  };
  ScriptedPlanner script;
  std::vector<Seen> seen;

  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& request) {
    Seen s;
    s.messages = request.messages();
    BOOST_TEST(request.size_chars() == chars(s.messages));  // estimates stay exact
    for (auto const& t : request.tools()) s.tools.emplace_back(t.as_object().at("name").as_string());
    seen.push_back(std::move(s));
    return script.plan(request);
  }
  std::string_view model_id() const noexcept { return "scripted"; }

  static std::size_t chars(std::vector<Message> const& ms) {
    std::size_t n = 0;
    for (auto const& m : ms) n += m.content.size();
    return n;
  }
};

using Agent = Loop<RecordingPlanner, Tools, PolicyList<>>;

Plan echo_call(std::string text) { return Plan::single_call("echo", {{"text", std::move(text)}}); }

std::vector<std::string> names(std::initializer_list<char const*> list) { return {list.begin(), list.end()}; }

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace test_learn_apply_config

using namespace test_learn_apply_config;

BOOST_AUTO_TEST_SUITE(learn_apply_config)

BOOST_AUTO_TEST_CASE(every_tool_is_offered_by_default) {
  auto env = make_env({"t1"});
  Agent loop("fix t1", RecordingPlanner{ScriptedPlanner{fix_call("t1")}, {}}, Tools{Fix{env}, Echo{}}, {}, {}, {},
             env_options(env));
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == Status::success);
  BOOST_REQUIRE(!loop.planner().seen.empty());
  BOOST_TEST(loop.planner().seen[0].tools == names({"fix", "echo"}), boost::test_tools::per_element());
  BOOST_TEST(&loop.offered_tools() == &Tools::schemas());
  BOOST_TEST(!contains(loop.planner().seen[0].messages[0].content, "Agent instructions:"));
}

BOOST_AUTO_TEST_CASE(only_enabled_tools_are_offered,
                     *boost::unit_test::description("the planner sees the enabled tools' schemas, in ToolSet order")) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.enabled_tools = names({"echo"});
  opts.limits.max_iterations = 1;
  Agent loop("say hi", RecordingPlanner{ScriptedPlanner{echo_call("hi")}, {}}, Tools{Fix{env}, Echo{}}, {}, {}, {},
             opts);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(!loop.planner().seen.empty());
  BOOST_TEST(loop.planner().seen[0].tools == names({"echo"}), boost::test_tools::per_element());
  BOOST_REQUIRE(loop.offered_tools().size() == 1u);
  BOOST_TEST(loop.offered_tools()[0] == Tools::schemas()[1]);
  // The schema hash a resume checks stays the ToolSet's.
  BOOST_TEST(loop.state().tool_schema_hash == Tools::schema_hash());

  Agent both("x", RecordingPlanner{}, Tools{Fix{env}, Echo{}}, {}, {}, {}, [&] {
    auto o = env_options(env);
    o.enabled_tools = names({"echo", "fix"});  // listed out of order: offered in ToolSet order
    return o;
  }());
  BOOST_REQUIRE(both.offered_tools().size() == 2u);
  BOOST_TEST(both.offered_tools()[0].as_object().at("name").as_string() == "fix");

  Agent none("x", RecordingPlanner{}, Tools{Fix{env}, Echo{}}, {}, {}, {}, [&] {
    auto o = env_options(env);
    o.enabled_tools.emplace();  // an empty list: no tool at all
    return o;
  }());
  BOOST_TEST(none.offered_tools().empty());
  BOOST_TEST(!none.config_error());
}

BOOST_AUTO_TEST_CASE(a_disabled_tool_is_rejected_as_unknown,
                     *boost::unit_test::description("fed back to the planner and counted like an unknown tool")) {
  auto env = make_env({"t1"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.enabled_tools = names({"fix"});
  Echo echo;
  Agent loop("fix t1", RecordingPlanner{ScriptedPlanner{echo_call("hi"), fix_call("t1")}, {}}, Tools{Fix{env}, echo},
             {}, {}, {}, opts);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == Status::success, r.value().reason);
  BOOST_TEST(*echo.calls == 0);  // never ran
  BOOST_TEST(env->fix_calls == 1);

  auto invalid = events_of(*sink, event::plan_invalid);
  BOOST_REQUIRE(invalid.size() == 1u);
  auto errors = invalid[0].fields.at("errors").as_array();
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0].as_string() == "unknown tool 'echo'");

  // The retry saw the rejected reply and the same words an unknown tool gets.
  auto const& seen = loop.planner().seen;
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_REQUIRE(seen[1].messages.size() == 4u);
  BOOST_TEST(seen[1].messages[2].role == "assistant");
  BOOST_TEST(seen[1].messages[3].role == "user");
  BOOST_TEST(contains(seen[1].messages[3].content, "Tool call rejected:\nunknown tool 'echo'"));

  // Counted as an invalid plan when every attempt tries it.
  auto env2 = make_env({"t1"});
  auto opts2 = env_options(env2);
  opts2.enabled_tools = names({"fix"});
  Agent stubborn("fix t1", RecordingPlanner{ScriptedPlanner{echo_call("hi")}, {}}, Tools{Fix{env2}, Echo{}}, {}, {},
                 {}, opts2);
  auto r2 = stubborn.run();
  BOOST_REQUIRE(r2.has_value());
  BOOST_TEST(r2.value().status == Status::plan_failed);
  BOOST_TEST(stubborn.state().plan_invalid_streak == 2u);
  for (auto const& it : stubborn.state().iterations) BOOST_TEST(it.plan_invalid);
}

BOOST_AUTO_TEST_CASE(enabled_tools_the_toolset_lacks_are_a_config_error) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.enabled_tools = names({"fix", "nope", "grep", "nope"});
  Agent loop("fix t1", RecordingPlanner{ScriptedPlanner{fix_call("t1")}, {}}, Tools{Fix{env}, Echo{}}, {}, {}, {},
             opts);
  BOOST_REQUIRE(loop.config_error().has_value());
  auto r = loop.run();
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == Errc::invalid_config));
  BOOST_TEST(r.error().what() ==
             "LoopOptions::enabled_tools names tools the ToolSet does not have: 'nope', 'grep'; "
             "available: 'fix', 'echo'");
  BOOST_TEST(loop.planner().seen.empty());
  BOOST_TEST(env->fix_calls == 0);
}

BOOST_AUTO_TEST_CASE(system_prompt_is_in_the_system_message,
                     *boost::unit_test::description("after leash's instruction, before the goal, delimited")) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.system_prompt = "You fix failing tests.\nKeep diffs small.";
  Agent loop("fix t1", RecordingPlanner{ScriptedPlanner{fix_call("t1")}, {}}, Tools{Fix{env}, Echo{}}, {}, {}, {},
             opts);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(!loop.planner().seen.empty());
  auto const& system = loop.planner().seen[0].messages.at(0);
  BOOST_TEST(system.role == "system");
  BOOST_TEST(system.content == std::string(agent_instruction) +
                                   "\n\nAgent instructions:\nYou fix failing tests.\nKeep diffs small."
                                   "\n\nGoal: fix t1");
  // Counted in the budget's pinned system section.
  Agent plain("fix t1", RecordingPlanner{}, Tools{Fix{env}, Echo{}}, {}, {}, {}, env_options(env));
  BOOST_TEST(loop.budget_report().pinned_system_tokens > plain.budget_report().pinned_system_tokens);
}

BOOST_AUTO_TEST_CASE(context_manager_sizes_include_the_prompt) {
  State s;
  s.goal = "g";
  s.pinned_facts = {"fact"};
  ContextManager cm(3, {}, "be brief");
  std::vector<Message> feedback;
  auto request = cm.request(s, "obs", feedback);
  BOOST_TEST(request.size_chars() == RecordingPlanner::chars(request.build()));
  BOOST_TEST(cm.system_prompt() == "be brief");
  BOOST_TEST(contains(cm.system_message(s), "\n\nAgent instructions:\nbe brief\n\nGoal: g\n\nKey facts"));
}

BOOST_AUTO_TEST_CASE(apply_sets_the_options) {
  AgentConfig config;
  config.name = "coder";
  config.tools = names({"echo"});
  config.max_turns = 7;
  config.temperature = 0.25;
  config.system_prompt = "Be terse.";

  LoopOptions options;
  LlmPlannerOptions planner;
  auto applied = apply_agent_config<Tools>(config, options, planner);
  BOOST_REQUIRE_MESSAGE(applied.has_value(), (applied.has_error() ? applied.error().what() : ""));
  BOOST_TEST(options.limits.max_iterations == 7u);
  BOOST_REQUIRE(options.enabled_tools.has_value());
  BOOST_TEST(*options.enabled_tools == names({"echo"}), boost::test_tools::per_element());
  BOOST_TEST(options.system_prompt == "Be terse.");
  BOOST_TEST(options.agent_name == "coder");
  BOOST_REQUIRE(planner.temperature.has_value());
  BOOST_TEST(*planner.temperature == 0.25);

  // No tools listed: every tool.
  config.tools.clear();
  LoopOptions all;
  BOOST_REQUIRE(apply_agent_config<Tools>(config, all).has_value());
  BOOST_TEST(!all.enabled_tools.has_value());
  BOOST_TEST(all.limits.max_iterations == 7u);
}

BOOST_AUTO_TEST_CASE(apply_rejects_what_the_toolset_lacks,
                     *boost::unit_test::description("clear error; the options are left as they were")) {
  AgentConfig config;
  config.name = "coder";
  config.tools = names({"read_file", "fix", "run_tests"});
  config.max_turns = 3;
  config.system_prompt = "changed";

  LoopOptions options;
  options.system_prompt = "before";
  LlmPlannerOptions planner;
  auto applied = apply_agent_config<Tools>(config, options, planner);
  BOOST_REQUIRE(applied.has_error());
  BOOST_TEST((applied.error() == Errc::invalid_config));
  BOOST_TEST(applied.error().what() ==
             "agent config 'coder' names tools the ToolSet does not have: 'read_file', 'run_tests'; "
             "available: 'fix', 'echo'");
  BOOST_TEST(options.system_prompt == "before");
  BOOST_TEST(!options.enabled_tools.has_value());
  BOOST_TEST(options.limits.max_iterations == LoopConfig{}.max_iterations);
  BOOST_TEST(!planner.temperature.has_value());

  config.tools = names({"fix"});
  config.max_turns = 0;
  auto zero = apply_agent_config<Tools>(config, options);
  BOOST_REQUIRE(zero.has_error());
  BOOST_TEST(contains(zero.error().what(), "max_turns must be at least 1"));

  config.max_turns = 3;
  config.temperature = -1.0;
  auto cold = apply_agent_config<Tools>(config, options, planner);
  BOOST_REQUIRE(cold.has_error());
  BOOST_TEST(contains(cold.error().what(), "temperature"));
  BOOST_TEST(!options.enabled_tools.has_value());

  config.tools = names({"nope"});
  auto one = apply_agent_config<ToolSet<>>(config, options);
  BOOST_REQUIRE(one.has_error());
  BOOST_TEST(one.error().what() == "agent config 'coder' names a tool the ToolSet does not have: 'nope'; available: none");
}

BOOST_AUTO_TEST_CASE(a_parsed_config_drives_a_loop, *boost::unit_test::description("TOML to a bounded run")) {
  auto config = learn::parse_agent_config(R"([agent]
name = "echoer"
tools = ["echo"]
max_turns = 2
temperature = 0.0
system_prompt = "Echo things."
)");
  BOOST_REQUIRE(config.has_value());
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  BOOST_REQUIRE(apply_agent_config<Tools>(config.value(), opts).has_value());
  Agent loop("fix t1", RecordingPlanner{ScriptedPlanner{echo_call("a")}, {}}, Tools{Fix{env}, Echo{}}, {}, {}, {},
             opts);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == Status::budget_exhausted, r.value().reason);
  BOOST_TEST(r.value().iterations == 2u);
  BOOST_TEST(loop.state().info.agent == "echoer");
  auto const& seen = loop.planner().seen;
  BOOST_REQUIRE(!seen.empty());
  BOOST_TEST(seen[0].tools == names({"echo"}), boost::test_tools::per_element());
  BOOST_TEST(contains(seen[0].messages[0].content, "Agent instructions:\nEcho things."));
}

BOOST_AUTO_TEST_SUITE_END()

#else

BOOST_AUTO_TEST_SUITE(learn_apply_config)
BOOST_AUTO_TEST_CASE(needs_tomlplusplus) { BOOST_TEST_MESSAGE("toml++ not found: nothing to test"); }
BOOST_AUTO_TEST_SUITE_END()

#endif
