// The reference's scenario catalogue (tightloop.md §3 and §4) run against
// leash::Loop. Where leash deliberately differs (DESIGN.md §6), the test name
// says "improved" and a comment gives the reference's outcome.
#include <leash/loop.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

using namespace leash;
using namespace leash_test;

namespace {

template <class L>
LoopResult run_ok(L& loop) {
  auto r = loop.run();
  BOOST_REQUIRE_MESSAGE(r.has_value(), "run() failed: " << (r.has_error() ? r.error().what() : ""));
  return r.value();
}

std::vector<std::string> kinds(MemorySink const& sink) { return sink.kinds(); }

using V = std::vector<std::string>;

/// An approval policy that gates `fix`.
using GateFix = RequireApproval<ToolNamed<"fix">>;

struct OnlyT1 {
  bool operator()(std::string_view tool, json::object const& args) const {
    auto it = args.find("name");
    return tool == "fix" && it != args.end() && it->value() == "t1";
  }
};

/// States its input usage exactly, so the loop's pre-call estimate is exact.
struct ExactPlanner {
  ScriptedPlanner script;
  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& r) { return script.plan(r); }
  std::string_view model_id() const { return script.model_id(); }
  std::uint64_t input = 1'000'000;
  std::uint64_t estimate_input_tokens(PlanRequest const&) const { return input; }
};

struct OnlyNamedB {
  bool operator()(std::string_view, json::object const& args) const {
    auto it = args.find("name");
    return it != args.end() && it->value() == "b";
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(loop_scenarios)

// §3.1
BOOST_AUTO_TEST_CASE(quickstart_reaches_success) {
  auto env = make_env({"t1", "t2"});
  auto sink = std::make_shared<MemorySink>();
  Loop<ScriptedPlanner, FixTools> loop("Fix the failing tests", ScriptedPlanner{fix_call("t1"), fix_call("t2")},
                                       FixTools{Fix{env}}, {}, {}, {}, env_options(env, sink));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "SUCCESS");
  BOOST_TEST(!r.resumable);
  BOOST_TEST(env->snapshot().empty());
  BOOST_TEST(r.iterations == 3u);
  BOOST_TEST(r.reason == "goal metric reports success");
  BOOST_TEST(r.metrics.llm_calls == 2u);
  BOOST_TEST(r.metrics.input_tokens == 100u);
  BOOST_TEST(r.metrics.output_tokens == 20u);
  BOOST_TEST(loop.explain().render().find("SUCCESS") != std::string::npos);
  V expected{"loop.start",     "iteration.start", "llm.call",      "action.executed", "iteration.end",
             "iteration.start", "llm.call",       "action.executed", "iteration.end",  "iteration.start",
             "iteration.end",  "loop.end"};
  BOOST_TEST(kinds(*sink) == expected, boost::test_tools::per_element());
  V trends;
  for (auto const& e : events_of(*sink, event::iteration_end)) trends.emplace_back(e.fields.at("trend").as_string());
  BOOST_TEST(trends == (V{"unknown", "improving", "improving"}), boost::test_tools::per_element());
}

// §3.2 (first half; resume is the durability issue's)
BOOST_AUTO_TEST_CASE(budget_exhaustion_preempts_and_is_resumable) {
  auto env = make_env({"a", "b", "c"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.limits.token_limit = 120;
  // The planner states its input exactly (50), so the second call is allowed
  // the 10 output tokens that remain and the total lands exactly on the limit.
  ExactPlanner planner{ScriptedPlanner{fix_call("a"), fix_call("b")}};
  planner.input = 50;
  Loop<ExactPlanner, FixTools> loop("g", planner, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.resumable);
  BOOST_TEST(r.reason == "token_limit (120) reached");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"b", "c"}));
  BOOST_TEST(r.iterations == 2u);
  auto preempts = events_of(*sink, event::budget_preempt);
  BOOST_REQUIRE_EQUAL(preempts.size(), 1u);
  BOOST_TEST(preempts[0].fields.at("dropped_action").as_string() == "fix");
  auto k = kinds(*sink);
  BOOST_TEST((V(k.end() - 4, k.end()) == V{"llm.call", "budget.preempt", "iteration.end", "loop.end"}));
}

// Improved: with the loop's own len/4 estimate the second call would need more
// input than remains, so it is not made at all (the reference made it).
BOOST_AUTO_TEST_CASE(budget_stops_before_a_call_it_cannot_afford_improved) {
  auto env = make_env({"a", "b", "c"});
  auto opts = env_options(env);
  opts.limits.token_limit = 120;
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {},
                                       {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.reason.rfind("token_limit (120) reached: the next call needs about", 0) == 0u);
  BOOST_TEST(r.metrics.llm_calls == 1u);
  BOOST_TEST(r.metrics.total_tokens() == 60u);
  BOOST_TEST(r.iterations == 1u);
}

// §3.3
BOOST_AUTO_TEST_CASE(three_invalid_plans_then_plan_failed) {
  auto env = make_env({"a"});
  auto sink = std::make_shared<MemorySink>();
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{Plan::single_call("fix", {{"bogus", 1}})},
                                       FixTools{Fix{env}}, {}, {}, {}, env_options(env, sink));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "PLAN_FAILED");
  BOOST_TEST(r.resumable);
  BOOST_TEST(r.iterations == 2u);
  BOOST_TEST(r.metrics.llm_calls == 6u);
  for (auto const& it : loop.state().iterations) BOOST_TEST(it.plan_invalid);
  V one{"iteration.start", "llm.call", "plan.invalid", "llm.call", "plan.invalid", "llm.call", "plan.invalid",
        "iteration.end"};
  V expected{"loop.start"};
  expected.insert(expected.end(), one.begin(), one.end());
  expected.insert(expected.end(), one.begin(), one.end());
  expected.push_back("loop.end");
  BOOST_TEST(kinds(*sink) == expected, boost::test_tools::per_element());
  std::vector<std::int64_t> streaks;
  for (auto const& e : events_of(*sink, event::iteration_end)) streaks.push_back(e.fields.at("no_progress_streak").to_number<std::int64_t>());
  BOOST_TEST(streaks == (std::vector<std::int64_t>{1, 2}), boost::test_tools::per_element());
  auto errors = events_of(*sink, event::plan_invalid)[0].fields.at("errors").as_array();
  BOOST_REQUIRE(!errors.empty());
  // Strict: the unknown key and the missing field are both named.
  std::string text(errors[0].as_string());
  BOOST_TEST(text.find("invalid arguments for tool 'fix'") != std::string::npos);
  BOOST_TEST(text.find("args.name") != std::string::npos);
  BOOST_TEST(text.find("args.bogus") != std::string::npos);
}

// §3.4
BOOST_AUTO_TEST_CASE(no_progress_on_repetition_with_flat_metric) {
  auto env = make_env({"a", "b"});
  auto sink = std::make_shared<MemorySink>();
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, {},
                                       env_options(env, sink));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "NO_PROGRESS");
  BOOST_TEST(r.resumable);
  BOOST_TEST(r.iterations == 4u);
  BOOST_TEST(r.metrics.llm_calls == 4u);
  BOOST_TEST(r.reason == "3 consecutive iterations with repeated/invalid actions and zero goal-metric delta");
  std::vector<bool> reps;
  for (auto const& it : loop.state().iterations) reps.push_back(it.repetition);
  BOOST_TEST(reps == (std::vector<bool>{false, true, true, true}), boost::test_tools::per_element());
  auto stops = events_of(*sink, event::policy_stop);
  BOOST_REQUIRE_EQUAL(stops.size(), 1u);
  BOOST_TEST(stops[0].fields.at("policy").as_string() == "NoProgress");
}

// §3.5
namespace {
struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct Nested {
  static constexpr std::string_view name = "nested";
  static constexpr std::string_view description = "Runs another loop (which must be refused).";
  using args = NoArgs;
  result<std::string> operator()(args const&) const {
    Loop<ScriptedPlanner, ToolSet<>> inner("inner", ScriptedPlanner{Plan::text_only("hi")});
    auto r = inner.run();
    if (r.has_error()) return r.error();
    return std::string("inner ran");
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(nested_loop_is_a_tool_error) {
  LoopOptions o;
  o.quiet = true;
  o.limits.max_iterations = 1;
  Loop<ScriptedPlanner, ToolSet<Nested>> loop("outer", ScriptedPlanner{Plan::single_call("nested", {})}, {}, {},
                                              {}, {}, o);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.reason == "max_iterations (1) reached");
  auto const& action = loop.state().iterations.at(0).actions.at(0);
  BOOST_TEST(to_string(action.status) == "error");
  BOOST_TEST(action.result_excerpt.find("nested loop") != std::string::npos);
}

// §3.6
namespace {
struct Slow {
  static constexpr std::string_view name = "slow";
  static constexpr std::string_view description = "Sleeps past its timeout.";
  static constexpr auto timeout = std::chrono::milliseconds(200);
  using args = NoArgs;
  std::string operator()(args const&, std::stop_token stop) const {
    for (int i = 0; i < 100 && !stop.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return "done";
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(tool_timeout_marks_aborted) {
  LoopOptions o;
  o.quiet = true;
  o.limits.max_iterations = 1;
  Loop<ScriptedPlanner, ToolSet<Slow>> loop("g", ScriptedPlanner{Plan::single_call("slow", {})}, {}, {}, {}, {}, o);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  auto const& action = loop.state().iterations.at(0).actions.at(0);
  BOOST_TEST(to_string(action.status) == "aborted");
  BOOST_TEST(action.result_excerpt == "aborted: exceeded timeout of 0.2s");
}

// §3.7
BOOST_AUTO_TEST_CASE(budget_report_is_itemized) {
  auto env = make_env({"a"});
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("a")}, FixTools{Fix{env}}, {}, {}, {},
                                       env_options(env));
  run_ok(loop);
  auto report = loop.budget_report().to_json();
  for (auto key : {"pinned_system_tokens", "summary_tokens", "verbatim_tokens", "observation_tokens",
                   "total_context_tokens", "spent_input_tokens", "spent_output_tokens", "note"})
    BOOST_TEST(report.contains(key), key);
  BOOST_TEST(report.at("spent_input_tokens").to_number<std::uint64_t>() == 50u);
  BOOST_TEST(report.at("pinned_system_tokens").to_number<std::uint64_t>() > 0u);
}

// §3.8
BOOST_AUTO_TEST_CASE(callback_deny_ends_loop) {
  auto env = make_env({"t1"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.approval = std::make_shared<CallbackApprovalRunner>([](ApprovalRequest const&) { return false; });
  Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                            FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "APPROVAL_DENIED");
  BOOST_TEST(r.resumable);
  BOOST_TEST(r.reason == "denied via callback");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"t1"}));
  BOOST_TEST(r.iterations == 1u);
  V expected{"loop.start", "iteration.start", "llm.call", "approval.requested", "approval.decision",
             "iteration.end", "loop.end"};
  BOOST_TEST(kinds(*sink) == expected, boost::test_tools::per_element());
  BOOST_TEST(events_of(*sink, event::approval_decision)[0].fields.at("decision").as_string() == "DENIED");
}

// §3.9
BOOST_AUTO_TEST_CASE(callback_exception_denies) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.approval = std::make_shared<CallbackApprovalRunner>(
      [](ApprovalRequest const&) -> bool { throw std::runtime_error("approval service down"); });
  Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                            FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "APPROVAL_DENIED");
  BOOST_TEST(r.reason == "callback raised std::runtime_error: approval service down (deny-on-exception)");
}

// §3.11, first half: the pause (resume is the durability issue's).
BOOST_AUTO_TEST_CASE(headless_pause_awaits_approval_with_a_token) {
  auto env = make_env({"t1"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.approval = std::make_shared<HeadlessApprovalRunner>();
  Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                            FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "AWAITING_APPROVAL");
  BOOST_TEST(r.resumable);
  BOOST_REQUIRE(r.approval_token.has_value());
  BOOST_TEST(r.approval_token->size() == 26u);
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"t1"}));
  BOOST_TEST(r.iterations == 1u);
  auto const& pending = loop.state().pending_approval;
  BOOST_REQUIRE(pending.has_value());
  BOOST_TEST(pending->token_sha256 == leash::sha256_hex(*r.approval_token));
  BOOST_TEST(pending->tool == "fix");
  BOOST_TEST(!pending->plan_text.empty());
  BOOST_REQUIRE(pending->precondition_metric.has_value());
  BOOST_TEST(pending->precondition_metric->value == -1.0);
  BOOST_TEST(pending->action_hash == action_hash("fix", pending->args, pending->state_version));
  auto k = kinds(*sink);
  BOOST_TEST((V(k.end() - 3, k.end()) == V{"approval.decision", "iteration.end", "loop.end"}));
  // The token is a capability: the trace carries its digest only.
  for (auto const& e : sink->events())
    BOOST_TEST(json::serialize(e.to_json()).find(*r.approval_token) == std::string::npos);
  // §4.32: running a paused run again is refused (resume instead).
  auto again = loop.run();
  BOOST_REQUIRE(again.has_error());
  BOOST_TEST(again.error() == Errc::pending_approval);
}

// §4.24
BOOST_AUTO_TEST_CASE(announce_line_and_loop_start) {
  auto env = make_env({});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.quiet = false;
  std::ostringstream console;
  opts.console = &console;
  opts.limits.cost_limit_usd = 1.5;
  opts.pricing.as_of = "2026-11-01";  // fresh enough not to warn
  Loop<ScriptedPlanner, FixTools> loop("Fix the failing tests", ScriptedPlanner{fix_call("x")}, FixTools{Fix{env}},
                                       {}, {}, {}, opts);
  run_ok(loop);
  BOOST_TEST(console.str().find("[leash] goal='Fix the failing tests' | limits: 20 iterations, 500,000 tokens, "
                                "1800s wall-clock, $1.50 cost") != std::string::npos);
  auto starts = events_of(*sink, event::loop_start);
  BOOST_REQUIRE_EQUAL(starts.size(), 1u);
  BOOST_TEST(starts[0].fields.at("limits").as_string() ==
             "20 iterations, 500,000 tokens, 1800s wall-clock, $1.50 cost");
}

// §4.25
BOOST_AUTO_TEST_CASE(trace_file_is_jsonl) {
  auto env = make_env({"t1"});
  auto path = std::filesystem::temp_directory_path() / ("leash-trace-" + new_run_id() + ".jsonl");
  auto sink = JsonlFileSink::open(path.string());
  BOOST_REQUIRE(sink.has_value());
  auto opts = env_options(env);
  opts.trace_sinks.push_back(sink.value());
  {
    Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, {}, opts);
    run_ok(loop);
  }
  std::ifstream in(path);
  std::string line;
  V seen;
  while (std::getline(in, line)) {
    auto v = json::parse(line).as_object();
    BOOST_TEST(v.contains("ts"));
    seen.emplace_back(v.at("kind").as_string());
    if (seen.back() == "iteration.end") BOOST_TEST(v.contains("accounting"));
  }
  V expected{"loop.start", "iteration.start", "llm.call", "action.executed", "iteration.end",
             "iteration.start", "iteration.end", "loop.end"};
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
  std::filesystem::remove(path);
}

// §4.26
BOOST_AUTO_TEST_CASE(throwing_event_callback_does_not_break_the_loop) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.trace_sinks.push_back(std::make_shared<CallbackSink>([](Event const&) { throw std::runtime_error("x"); }));
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, {}, opts);
  BOOST_TEST(to_string(run_ok(loop).status) == "SUCCESS");
}

// §4.27
BOOST_AUTO_TEST_CASE(callback_approval_approves) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.approval = std::make_shared<CallbackApprovalRunner>([](ApprovalRequest const&) { return true; });
  Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                            FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "SUCCESS");
  BOOST_TEST(r.iterations == 2u);
  BOOST_TEST(r.metrics.llm_calls == 1u);
}

// §4.28
BOOST_AUTO_TEST_CASE(callback_timeout_denies) {
  auto env = make_env({"t1"});
  auto opts = env_options(env);
  opts.approval = std::make_shared<CallbackApprovalRunner>(
      [](ApprovalRequest const&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return true;
      },
      std::chrono::milliseconds(100));
  Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                            FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "APPROVAL_DENIED");
  BOOST_TEST(r.reason == "callback timed out after 0.1s (deny-on-timeout)");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"t1"}));
}

// §4.29 — improved: closed input denies with a reason; the reference raised EOFError.
BOOST_AUTO_TEST_CASE(cli_runner_yes_no_and_closed_input_improved) {
  for (auto [input, status] : {std::pair{"yes\n", "SUCCESS"}, {"n\n", "APPROVAL_DENIED"}, {"", "APPROVAL_DENIED"}}) {
    auto env = make_env({"t1"});
    auto opts = env_options(env);
    std::istringstream in(input);
    std::ostringstream out;
    opts.approval = std::make_shared<CliApprovalRunner>(in, out);
    Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                              FixTools{Fix{env}}, {}, {}, {}, opts);
    auto r = run_ok(loop);
    BOOST_TEST(to_string(r.status) == status, "input '" << input << "'");
    BOOST_TEST(out.str().find("approve? [y/N]") != std::string::npos);
    if (std::string(input) == "n\n") BOOST_TEST(r.reason == "denied via CLI");
    if (std::string(input).empty()) BOOST_TEST(r.reason.find("deny-on-eof") != std::string::npos);
  }
}

// §4.30
BOOST_AUTO_TEST_CASE(require_approval_with_a_predicate) {
  auto env = make_env({"t1", "t2"});
  auto opts = env_options(env);
  auto asked = std::make_shared<std::vector<std::string>>();
  opts.approval = std::make_shared<CallbackApprovalRunner>([asked](ApprovalRequest const& r) {
    asked->push_back(std::string(r.args().at("name").as_string()));
    return true;
  });
  Loop<ScriptedPlanner, FixTools, PolicyList<RequireApproval<OnlyT1>>> loop(
      "g", ScriptedPlanner{fix_call("t2"), fix_call("t1")}, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "SUCCESS");
  BOOST_TEST(*asked == (V{"t1"}), boost::test_tools::per_element());
}

// §4.35 — improved: calls after the gated one stay pending with it (the
// reference dropped them), and the precondition is measured right before the
// gated call (the reference took it at the start of the iteration).
BOOST_AUTO_TEST_CASE(multi_call_plan_second_gated_keeps_the_rest_pending_improved) {
  auto env = make_env({"a", "b", "c"});
  auto opts = env_options(env);
  opts.approval = std::make_shared<HeadlessApprovalRunner>();
  Plan three;
  three.text = "fix all three";
  for (auto n : {"a", "b", "c"}) three.tool_calls.push_back(ToolCall{{}, "fix", json::object{{"name", n}}});
  three.usage = {50, 10};
  Loop<ScriptedPlanner, FixTools, PolicyList<RequireApproval<OnlyNamedB>>> loop(
      "g", ScriptedPlanner{three}, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "AWAITING_APPROVAL");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"b", "c"}));
  BOOST_TEST(r.iterations == 1u);
  auto const& pending = *loop.state().pending_approval;
  BOOST_TEST(pending.args.at("name").as_string() == "b");
  BOOST_REQUIRE_EQUAL(pending.remaining_calls.size(), 1u);
  BOOST_TEST(pending.remaining_calls[0].args.at("name").as_string() == "c");
  // a already ran: the precondition is the situation after it (2 failing), not before (3).
  BOOST_REQUIRE(pending.precondition_metric.has_value());
  BOOST_TEST(pending.precondition_metric->value == -2.0);
}

// §4.36 — improved: a STOP from before_action stops; the reference paused.
namespace {
struct StopOnFix {
  Decision before_action(State const&, ActionView const& a) const {
    if (a.tool == "fix") return Decision::stop("fix is forbidden today", Status::approval_denied);
    return Decision::proceed();
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(before_action_stop_stops_improved) {
  auto env = make_env({"t1"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.approval = std::make_shared<AlwaysApprove>();  // would approve, but STOP never asks
  Loop<ScriptedPlanner, FixTools, PolicyList<StopOnFix>> loop("g", ScriptedPlanner{fix_call("t1")},
                                                              FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "APPROVAL_DENIED");
  BOOST_TEST(r.reason == "fix is forbidden today");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"t1"}));
  BOOST_TEST(events_of(*sink, event::approval_requested).empty());
  auto stops = events_of(*sink, event::policy_stop);
  BOOST_REQUIRE_EQUAL(stops.size(), 1u);
  BOOST_TEST(stops[0].fields.at("policy").as_string() == "StopOnFix");
}

// §4.37
namespace {
struct StopNow {
  static constexpr std::string_view name = "StopNow";
  Decision before_iteration(State const&) const { return Decision::stop("no status given"); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(before_iteration_stop_without_status_is_error) {
  auto sink = std::make_shared<MemorySink>();
  LoopOptions o;
  o.quiet = true;
  o.trace_sinks.push_back(sink);
  Loop<ScriptedPlanner, ToolSet<>, PolicyList<StopNow>> loop("g", ScriptedPlanner{Plan::text_only("x")}, {}, {}, {},
                                                             {}, o);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "ERROR");
  BOOST_TEST(!r.resumable);
  BOOST_TEST(r.iterations == 0u);
  BOOST_TEST(kinds(*sink) == (V{"loop.start", "policy.stop", "loop.end"}), boost::test_tools::per_element());
}

// §4.38
namespace {
struct AtLeastOne {
  bool operator()(State const& s) const { return !s.iterations.empty(); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(exit_conditions) {
  {
    auto env = make_env({"a", "b"});
    Loop<ScriptedPlanner, FixTools, DefaultPolicies, ExitList<Success<AtLeastOne>>> loop(
        "g", ScriptedPlanner{fix_call("a")}, FixTools{Fix{env}}, {}, ExitList<Success<AtLeastOne>>{{{}, "one done"}},
        {}, env_options(env));
    auto r = run_ok(loop);
    BOOST_TEST(to_string(r.status) == "SUCCESS");
    BOOST_TEST(r.reason == "one done");
    BOOST_TEST(r.iterations == 1u);
  }
  {
    auto env = make_env({"a", "b"});
    Loop<ScriptedPlanner, FixTools, PolicyList<>, ExitList<Stagnation<2>>> loop(
        "g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, {}, env_options(env));
    auto r = run_ok(loop);
    BOOST_TEST(to_string(r.status) == "NO_PROGRESS");
    BOOST_TEST(r.reason == "stagnation: 2 flat iterations");
    BOOST_TEST(r.iterations == 3u);
  }
  {
    auto env = make_env({"a", "b", "c"});
    Loop<ScriptedPlanner, FixTools, DefaultPolicies, ExitList<MaxIterations>> loop(
        "g", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {}, ExitList<MaxIterations>{{2}}, {},
        env_options(env));
    auto r = run_ok(loop);
    BOOST_TEST(r.reason == "max_iterations 2 reached");
    BOOST_TEST(r.iterations == 2u);
  }
  {
    auto env = make_env({"a", "b", "c"});
    Loop<ScriptedPlanner, FixTools, DefaultPolicies, ExitList<TokenLimit>> loop(
        "g", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {}, ExitList<TokenLimit>{{100}}, {},
        env_options(env));
    auto r = run_ok(loop);
    BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
    BOOST_TEST(r.iterations == 2u);
    BOOST_TEST(r.metrics.total_tokens() == 120u);
  }
  for (auto [model, iterations] : {std::pair{"unknown-model", 20u}, {"gpt-4o", 1u}}) {
    auto env = make_env({"a", "b", "c"});
    Loop<ScriptedPlanner, FixTools, PolicyList<>, ExitList<CostLimitExit>> loop(
        "g", ScriptedPlanner({fix_call("a"), fix_call("b"), fix_call("zz")}, model), FixTools{Fix{env}}, {},
        ExitList<CostLimitExit>{{0.0}}, {}, env_options(env));
    auto r = run_ok(loop);
    BOOST_TEST(r.iterations == iterations, model);
    if (std::string(model) == "gpt-4o") {
      BOOST_TEST(r.reason == "cost_limit $0.00 reached");
      BOOST_REQUIRE(r.metrics.cost_usd.has_value());
      BOOST_TEST(*r.metrics.cost_usd == 0.000225, boost::test_tools::tolerance(1e-12));
    }
  }
}

// §4.39
BOOST_AUTO_TEST_CASE(cost_limit_policy) {
  auto env = make_env({"a", "b", "c", "d", "e"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.limits.token_limit = 1'000'000'000;
  opts.pricing.models["m"] = ModelPrice{1.0, 1.0};
  Loop<ScriptedPlanner, FixTools, PolicyList<CostLimit>> loop(
      "g", ScriptedPlanner({fix_call("a", {1'000'000, 0}), fix_call("b", {1'000'000, 0}), fix_call("c", {1'000'000, 0}),
                            fix_call("d", {1'000'000, 0})},
                           "m"),
      FixTools{Fix{env}}, PolicyList<CostLimit>{CostLimit{2.5, "m", opts.pricing}}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.iterations == 3u);
  BOOST_TEST(r.reason == "estimated cost $3.00 >= limit $2.50 (tokens are authoritative)");
  BOOST_TEST(events_of(*sink, event::policy_stop).size() == 1u);
}

// §4.40 — improved: the call that would cross the USD limit is not made (the
// reference made it and preempted the action afterwards).

BOOST_AUTO_TEST_CASE(cost_ceiling_never_overshoots_improved) {
  auto env = make_env({"a", "b", "c", "d"});
  auto opts = env_options(env);
  opts.limits.token_limit = 1'000'000'000;
  opts.limits.cost_limit_usd = 2.5;
  opts.pricing = Pricing{"2026-11-01", {{"m", {1.0, 1.0}}}};
  Loop<ExactPlanner, FixTools> loop(
      "g",
      ExactPlanner{ScriptedPlanner({fix_call("a", {1'000'000, 0}), fix_call("b", {1'000'000, 0}),
                                    fix_call("c", {1'000'000, 0})},
                                   "m")},
      FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.reason == "cost_limit ($2.50) reached — estimate; tokens authoritative");
  BOOST_REQUIRE(r.metrics.cost_usd.has_value());
  BOOST_TEST(*r.metrics.cost_usd <= 2.5);
  BOOST_TEST(r.metrics.llm_calls == 2u);
}

BOOST_AUTO_TEST_CASE(cost_limit_with_stale_pricing) {
  auto make = [](PricingStaleness behaviour) {
    auto env = make_env({"a"});
    auto opts = env_options(env);
    opts.limits.cost_limit_usd = 1.0;
    opts.pricing = Pricing{"2020-01-01", {{"gpt-4o", {2.5, 10.0}}}};
    opts.pricing_staleness = behaviour;
    return std::make_unique<Loop<ScriptedPlanner, FixTools>>("g", ScriptedPlanner({fix_call("a")}, "gpt-4o"),
                                                             FixTools{Fix{env}}, DefaultPolicies{}, ExitList<>{},
                                                             AnyStore{}, opts);
  };
  auto warned = make(PricingStaleness::warn);
  BOOST_TEST(warned->warnings().size() == 1u);
  BOOST_TEST(run_ok(*warned).metrics.cost_usd.has_value());
  auto token_only = make(PricingStaleness::token_only);
  BOOST_TEST(!run_ok(*token_only).metrics.cost_usd.has_value());
  // refuse: a typed error before anything runs, not an exception.
  auto refused = make(PricingStaleness::refuse);
  BOOST_REQUIRE(refused->config_error().has_value());
  auto r = refused->run();
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::pricing_stale);
  BOOST_TEST(r.error().message.find("2020-01-01") != std::string::npos);
}

// §4.41
namespace {
struct Nap {
  static constexpr std::string_view name = "nap";
  static constexpr std::string_view description = "Sleeps 300 ms.";
  using args = NoArgs;
  std::string operator()(args const&) const {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return "rested";
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(wall_clock_limit) {
  LoopOptions o;
  o.quiet = true;
  o.limits.wall_clock_s = 0.5;
  Loop<ScriptedPlanner, ToolSet<Nap>, PolicyList<>> loop("g", ScriptedPlanner{Plan::single_call("nap", {})}, {}, {},
                                                         {}, {}, o);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(r.reason == "wall_clock limit (0s) reached");
  BOOST_TEST(r.iterations == 2u);
}

// §4.42 — improved: the clamp has no floor and counts the input, so the total
// stays within the limit (the reference passed 100, 100, 20 and ended at 270 > 200).
BOOST_AUTO_TEST_CASE(max_tokens_clamp_never_overshoots_improved) {
  auto env = make_env({"a", "b", "c", "d"});
  auto opts = env_options(env);
  opts.limits.token_limit = 200;
  opts.limits.max_tokens_per_call = 100;
  ExactPlanner planner{ScriptedPlanner{fix_call("a", {40, 50}), fix_call("b", {40, 50}), fix_call("c", {40, 50})}};
  planner.input = 40;
  planner.script.record_requests();
  Loop<ExactPlanner, FixTools> loop("g", planner, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  std::vector<std::uint64_t> max_tokens;
  for (auto const& req : loop.planner().script.requests()) max_tokens.push_back(req.max_tokens);
  BOOST_TEST(max_tokens == (std::vector<std::uint64_t>{100, 70}), boost::test_tools::per_element());
  BOOST_TEST(r.metrics.total_tokens() <= 200u);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
}

// Improvement test: under a planner whose usage is random (but never above
// what it was allowed), the total never exceeds the limit.
namespace {
struct RandomUsagePlanner {
  std::mt19937 rng{12345};
  std::uint64_t next_input = 0;
  std::uint64_t estimate_input_tokens(PlanRequest const&) const { return next_input; }
  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& r) {
    Plan p = Plan::single_call("fix", {{"name", "t" + std::to_string(rng() % 1000)}});
    p.usage.input_tokens = next_input;
    p.usage.output_tokens = std::uniform_int_distribution<std::uint64_t>(0, r.max_tokens())(rng);
    next_input = std::uniform_int_distribution<std::uint64_t>(1, 400)(rng);
    co_return p;
  }
  std::string_view model_id() const { return "random"; }
};
}  // namespace

BOOST_AUTO_TEST_CASE(no_overshoot_under_random_usage_improved) {
  for (std::uint64_t limit : {500u, 1000u, 4321u, 20000u}) {
    auto env = make_env({"a"});
    auto opts = env_options(env);
    opts.limits.token_limit = limit;
    opts.limits.max_iterations = 10000;
    opts.limits.max_tokens_per_call = 300;
    RandomUsagePlanner planner;
    planner.next_input = 123;
    planner.rng.seed(static_cast<unsigned>(limit));
    Loop<RandomUsagePlanner, FixTools, PolicyList<>> loop("g", planner, FixTools{Fix{env}}, {}, {}, {}, opts);
    auto r = run_ok(loop);
    BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
    BOOST_TEST(r.metrics.total_tokens() <= limit, "limit " << limit << " spent " << r.metrics.total_tokens());
  }
}

// §4.43
BOOST_AUTO_TEST_CASE(plan_hitting_the_limit_preempts_every_call) {
  auto env = make_env({"a", "b", "c"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.limits.token_limit = 100;
  Plan three;
  for (auto n : {"a", "b", "c"}) three.tool_calls.push_back(ToolCall{{}, "fix", json::object{{"name", n}}});
  three.usage = {90, 10};
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{three}, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(events_of(*sink, event::budget_preempt).size() == 1u);
  BOOST_TEST(env->snapshot().size() == 3u);
}

// §4.44
BOOST_AUTO_TEST_CASE(invalid_then_valid_in_one_iteration) {
  auto env = make_env({"a"});
  auto sink = std::make_shared<MemorySink>();
  ScriptedPlanner planner{Plan::single_call("fix", {{"name", 5}}), fix_call("a")};
  planner.record_requests();
  Loop<ScriptedPlanner, FixTools> loop("g", planner, FixTools{Fix{env}}, {}, {}, {}, env_options(env, sink));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "SUCCESS");
  auto const& requests = loop.planner().requests();
  BOOST_REQUIRE(requests.size() >= 2u);
  BOOST_REQUIRE_EQUAL(requests[1].messages.size(), 4u);
  BOOST_TEST(requests[1].messages[3].role == "user");
  BOOST_TEST(requests[1].messages[3].content.rfind("Tool call rejected:", 0) == 0u);
  BOOST_TEST(requests[1].messages[3].content.find("args.name: expected string, got number") != std::string::npos);
  auto k = kinds(*sink);
  V first_iteration(k.begin() + 2, k.begin() + 6);
  BOOST_TEST(first_iteration == (V{"llm.call", "plan.invalid", "llm.call", "action.executed"}),
             boost::test_tools::per_element());
}

// §4.45
BOOST_AUTO_TEST_CASE(unknown_tool_name) {
  auto env = make_env({"a"});
  auto sink = std::make_shared<MemorySink>();
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{Plan::single_call("nope", {})}, FixTools{Fix{env}}, {},
                                       {}, {}, env_options(env, sink));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "PLAN_FAILED");
  BOOST_TEST(r.metrics.llm_calls == 6u);
  auto errors = events_of(*sink, event::plan_invalid)[0].fields.at("errors").as_array();
  BOOST_TEST(errors.size() == 1u);
  BOOST_TEST(errors[0].as_string() == "unknown tool 'nope'");
}

// §4.46
BOOST_AUTO_TEST_CASE(mixed_valid_and_invalid_calls_reject_the_whole_reply) {
  auto env = make_env({"a"});
  Plan mixed;
  mixed.tool_calls.push_back(ToolCall{{}, "fix", json::object{{"name", "a"}}});
  mixed.tool_calls.push_back(ToolCall{{}, "fix", json::object{}});
  mixed.usage = {50, 10};
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{mixed}, FixTools{Fix{env}}, {}, {}, {}, env_options(env));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "PLAN_FAILED");
  BOOST_TEST(env->fix_calls == 0);
}

// §4.47 — improved: text-only replies count toward no-progress (the reference
// never counted them and ran to max_iterations, 20).
BOOST_AUTO_TEST_CASE(text_only_replies_reach_no_progress_improved) {
  auto env = make_env({"a"});
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{Plan::text_only("I think we are done.")},
                                       FixTools{Fix{env}}, {}, {}, {}, env_options(env));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "NO_PROGRESS");
  BOOST_TEST(r.iterations == 3u);
  BOOST_TEST(loop.state().iterations.at(0).actions.empty());
}

// §4.48
BOOST_AUTO_TEST_CASE(repetition_without_a_metric) {
  auto env = make_env({"a"});
  auto opts = env_options(env);
  opts.goal_metric = AnyGoalMetric{};
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "NO_PROGRESS");
  BOOST_TEST(r.iterations == 4u);
}

// §4.49 — improved: a planner failure ends the loop with ERROR and the state
// saved; the reference let the exception escape run().
BOOST_AUTO_TEST_CASE(planner_failure_is_error_status_improved) {
  auto env = make_env({"a", "b"});
  AnyStore store;
  Loop<ScriptedPlanner, FixTools> loop(
      "g", ScriptedPlanner(std::vector<result<Plan>>{fix_call("a"), Error{Errc::planner_failed, "HTTP 500 from provider"}}),
      FixTools{Fix{env}}, {}, {}, store, env_options(env));
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "ERROR");
  BOOST_TEST(r.reason == "planner failed: HTTP 500 from provider");
  BOOST_TEST(r.iterations == 1u);
  boost::asio::io_context io;
  std::optional<result<State>> saved;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { saved = co_await store.load(r.run_id); },
                        boost::asio::detached);
  io.run();
  BOOST_REQUIRE(saved && saved->has_value());
  BOOST_TEST(saved->value().iterations.size() == 1u);
  BOOST_TEST(saved->value().status.value_or(Status::success) == Status::error);
}

// §4.50 — improved: a throwing observe ends with ERROR, not an exception.
BOOST_AUTO_TEST_CASE(observe_failure_is_error_status_improved) {
  LoopOptions o;
  o.quiet = true;
  o.observe = [](State const&) -> std::string { throw std::runtime_error("disk gone"); };
  Loop<ScriptedPlanner, ToolSet<>> loop("g", ScriptedPlanner{Plan::text_only("x")}, {}, {}, {}, {}, o);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "ERROR");
  BOOST_TEST(r.reason == "observe failed: std::runtime_error: disk gone");
}

// §4.54 — improved: validation is strict (the reference coerced "5" to 5 and dropped unknown keys).
namespace {
struct CountArgs {
  std::string name;
  int count = 1;
};
BOOST_DESCRIBE_STRUCT(CountArgs, (), (name, count))
struct Count {
  static constexpr std::string_view name = "count";
  static constexpr std::string_view description = "Counts.";
  using args = CountArgs;
  std::string operator()(args const& a) const { return std::to_string(a.count); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(strict_validation_improved) {
  ToolSet<Count> tools;
  BOOST_TEST(tools.validate("count", json::parse(R"({"name":"a","count":"5"})")).has_error());
  BOOST_TEST(tools.validate("count", json::parse(R"({"name":"a","count":1,"bogus":1})")).has_error());
  BOOST_TEST(tools.validate("count", json::parse(R"({"name":"a","count":2.5})")).has_error());
  BOOST_TEST(tools.validate("count", json::parse(R"({"name":5,"count":1})")).has_error());
  BOOST_TEST(tools.validate("count", json::parse(R"({"__malformed__":"{oops"})")).has_error());
  auto ok = tools.validate("count", json::parse(R"({"name":"a","count":5})"));
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(ok.value().normalized.at("count").as_int64() == 5);
}

// §4.58
BOOST_AUTO_TEST_CASE(summaries_with_a_verbatim_window) {
  auto env = make_env({"a", "b", "c", "d", "e"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  opts.limits.verbatim_window = 2;
  ScriptedPlanner planner{fix_call("a"), fix_call("b"), fix_call("c"), fix_call("d"), fix_call("e")};
  planner.record_requests();
  Loop<ScriptedPlanner, FixTools, DefaultPolicies, ExitList<MaxIterations>> loop(
      "g", planner, FixTools{Fix{env}}, {}, ExitList<MaxIterations>{{4}}, {}, opts);
  run_ok(loop);
  std::vector<std::string> summarized;
  for (auto const& e : events_of(*sink, event::iteration_end))
    summarized.push_back(json::serialize(e.fields.at("summarized_iterations")));
  BOOST_TEST(summarized == (V{"[]", "[]", "[0]", "[1]"}), boost::test_tools::per_element());
  // The 4th request (iteration 3) sees iteration 0 summarised and 1, 2 verbatim.
  auto const& user = loop.planner().requests().at(3).messages.at(1).content;
  auto summaries = user.find("## Earlier iterations (summarized)");
  auto recent = user.find("## Recent iterations");
  BOOST_REQUIRE(summaries != std::string::npos);
  BOOST_REQUIRE(recent != std::string::npos);
  BOOST_TEST(summaries < recent);
  BOOST_TEST(user.find("- iter 0:") != std::string::npos);
  BOOST_TEST(user.find("### Iteration 1") > recent);
  BOOST_TEST(user.find("### Iteration 2") != std::string::npos);
  // Iteration 0 appears only inside its summary line, before the recent section.
  BOOST_TEST(user.find("### Iteration 0") < recent);
}

BOOST_AUTO_TEST_CASE(summarizer_calls_are_counted) {
  // The reference's case: window 1, 7 iterations (6 fixes, then success).
  auto env = make_env({"a", "b", "c", "d", "e", "f"});
  auto opts = env_options(env);
  opts.limits.verbatim_window = 1;
  opts.summarizer = ScriptedPlanner({Plan::text_only("a summary", {30, 5})}, "summ-1");
  Loop<ScriptedPlanner, FixTools> loop(
      "g", ScriptedPlanner{fix_call("a"), fix_call("b"), fix_call("c"), fix_call("d"), fix_call("e"), fix_call("f")},
      FixTools{Fix{env}}, {}, {}, {}, opts);
  auto r = run_ok(loop);
  BOOST_TEST(to_string(r.status) == "SUCCESS");
  BOOST_TEST(r.iterations == 7u);
  BOOST_TEST(loop.state().artifacts.size() == 6u);
  BOOST_TEST(r.metrics.llm_calls == 12u);
  BOOST_TEST(r.metrics.input_tokens == 6u * 50u + 6u * 30u);
  for (auto const& a : loop.state().artifacts) {
    BOOST_TEST(a.content == "a summary");
    BOOST_TEST(a.stamp.model_id == "summ-1");
  }
}

// §4.60
namespace {
/// Reads the metric from the observation: "value[:regression]".
struct ScriptedMetric {
  MetricSnapshot measure(std::string_view obs, State const&) const {
    MetricSnapshot m;
    auto colon = obs.find(':');
    m.value = std::stod(std::string(obs.substr(0, colon)));
    m.regression = colon != std::string_view::npos;
    return m;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(regressions_become_failed_approaches) {
  auto env = make_env({"a"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  auto step = std::make_shared<int>(0);
  opts.observe = [step](State const&) {
    static char const* seq[] = {"0", "-1", "-1:r", "5"};
    return std::string(seq[std::min(*step, 3)]);
  };
  opts.goal_metric = ScriptedMetric{};
  opts.trace_sinks.push_back(std::make_shared<CallbackSink>([step](Event const& e) {
    if (e.kind == event::iteration_end) ++*step;
  }));
  ScriptedPlanner planner{fix_call("p0"), fix_call("p1"), fix_call("p2"), fix_call("p3"), fix_call("p4")};
  planner.record_requests();
  Loop<ScriptedPlanner, FixTools, PolicyList<>, ExitList<MaxIterations>> loop(
      "g", planner, FixTools{Fix{env}}, {}, ExitList<MaxIterations>{{4}}, {}, opts);
  run_ok(loop);
  V trends;
  for (auto const& e : events_of(*sink, event::iteration_end)) trends.emplace_back(e.fields.at("trend").as_string());
  BOOST_TEST(trends == (V{"unknown", "regressing", "regressing", "improving"}), boost::test_tools::per_element());
  BOOST_TEST(loop.state().failed_approaches.size() == 2u);
  auto const& system = loop.planner().requests().at(3).messages.at(0).content;
  BOOST_TEST(system.find("Approaches already tried that FAILED (do not repeat):") != std::string::npos);
  BOOST_TEST(system.find("iteration 1: fix {\"name\":\"p1\"} -> metric regressed") != std::string::npos);
}

// §4.61
BOOST_AUTO_TEST_CASE(explain_before_any_run) {
  Loop<ScriptedPlanner, ToolSet<>> loop("g", ScriptedPlanner{Plan::text_only("x")});
  auto report = loop.explain();
  BOOST_TEST(report.status == "RUNNING");
  BOOST_TEST(report.reason == "loop has not exited");
  BOOST_TEST(report.decision_chain.empty());
}

// §4.62
BOOST_AUTO_TEST_CASE(run_twice_with_max_iterations_one) {
  auto env = make_env({"a", "b"});
  auto opts = env_options(env);
  opts.limits.max_iterations = 1;
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {}, {},
                                       {}, opts);
  auto first = run_ok(loop);
  BOOST_TEST(to_string(first.status) == "BUDGET_EXHAUSTED");
  auto version = loop.state().state_version;
  auto second = run_ok(loop);
  BOOST_TEST(to_string(second.status) == "BUDGET_EXHAUSTED");
  BOOST_TEST(second.iterations == 1u);
  BOOST_TEST(loop.state().state_version == version);
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"b"}));
}

BOOST_AUTO_TEST_SUITE_END()
