// demo_agent.cpp — a complete leash agent with no network: a scripted "LLM"
// makes a tiny world's failing tests pass.
//
// It shows, in order: tools as types, a rejected tool call fed back to the
// model, a gated action approved by a callback, progress lines from the trace
// events, and the final report on why the loop stopped.
//
//   leash-demo [--quiet]      exit code 0 when the goal is reached, 1 otherwise
#include <leash/leash.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace json = boost::json;

// ---- The world the agent acts on ---------------------------------------------

struct World {
  std::set<std::string> failing{"test_flaky_upload", "test_login", "test_logout"};

  /// What the agent is shown at the start of each iteration.
  std::string observe() const {
    std::string s = "failing tests:";
    for (auto const& name : failing) s += ' ' + name;
    return failing.empty() ? "all tests pass" : s;
  }
};

// ---- Tools: a tool is a type ------------------------------------------------------

// The arguments are a described struct: leash derives the JSON schema the model
// sees from it, and parses the model's JSON back into it, strictly.
struct TestName {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(TestName, (), (name))

struct Fix {
  static constexpr std::string_view name = "fix";
  static constexpr std::string_view description = "Fix one failing test, named by its id.";
  // Only touches memory: run inline on the loop's thread (no worker, no timeout).
  static constexpr bool non_blocking = true;
  using args = TestName;
  std::shared_ptr<World> world;

  // An error result is recorded as the action's error and shown to the model.
  leash::result<std::string> operator()(args const& a) const {
    if (world->failing.erase(a.name) == 0)
      return leash::Error{leash::Errc::tool_failed, "no failing test named '" + a.name + "'"};
    return "fixed " + a.name;
  }
};

struct Quarantine {
  static constexpr std::string_view name = "quarantine";
  static constexpr std::string_view description = "Skip a flaky test until a person looks at it.";
  static constexpr bool non_blocking = true;
  using args = TestName;
  std::shared_ptr<World> world;

  std::string operator()(args const& a) const {
    world->failing.erase(a.name);
    return "quarantined " + a.name;
  }
};

// ---- The goal: no failing test ---------------------------------------------------

/// value = -(number failing), so "improving" means fewer failures.
struct FailingTests {
  std::shared_ptr<World> world;

  leash::MetricSnapshot measure(std::string_view /*observation*/, leash::State const&) const {
    leash::MetricSnapshot m;
    auto n = world->failing.size();
    m.value = n == 0 ? 0.0 : -static_cast<double>(n);  // 0, not -0, once all pass
    json::array names;
    for (auto const& n : world->failing) names.emplace_back(n);
    m.detail["failing"] = std::move(names);
    return m;
  }
  bool is_success(leash::MetricSnapshot const& m) const { return m.value == 0.0; }
};

int main(int argc, char** argv) {
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quiet") {
      quiet = true;
    } else {
      bool help = a == "--help" || a == "-h";
      (help ? std::cout : std::cerr)
          << "usage: leash-demo [--quiet]\n"
             "Runs a scripted agent that fixes a tiny world's failing tests, then prints why it stopped.\n"
             "  --quiet   only the final report\n";
      return help ? 0 : 2;
    }
  }

  auto world = std::make_shared<World>();

  // The "LLM": replies in order, as a model would. Its first call passes a
  // number where the schema says string; the loop rejects it before anything
  // runs and retries with the error in the conversation.
  leash::ScriptedPlanner planner(
      {leash::Plan::single_call("fix", {{"name", 42}}),
       leash::Plan::single_call("fix", {{"name", "test_login"}}),
       leash::Plan::single_call("fix", {{"name", "test_logout"}}),
       leash::Plan::single_call("quarantine", {{"name", "test_flaky_upload"}},
                                "test_flaky_upload fails one run in ten: quarantine it")},
      "claude-haiku-4-5-20251001");  // a priced model id, so the costs below are not zero

  leash::LoopOptions options;
  options.observe = [world](leash::State const&) { return world->observe(); };
  options.goal_metric = FailingTests{world};
  options.limits.max_iterations = 10;  // a hard ceiling, whatever the model does
  options.quiet = quiet;
  options.console = &std::cout;

  // Gated actions go to this runner. A callback decides here; a terminal prompt
  // (CliApprovalRunner) or a later resume (HeadlessApprovalRunner) also can.
  options.approval = std::make_shared<leash::CallbackApprovalRunner>([quiet](leash::ApprovalRequest const& r) {
    if (!quiet)
      std::printf("  approval: %s %s (%s) -> approved\n", r.tool().c_str(), json::serialize(r.args()).c_str(),
                  r.reason().c_str());
    return true;
  });

  // Progress lines come from the loop's trace events: sinks are how a program
  // watches a loop (the same events go to files and stores).
  if (!quiet) options.trace_sinks.push_back(std::make_shared<leash::ProgressLineSink>(std::cout));

  // Everything fixed at compile time is a type: the planner, the tools, the
  // policies (default no-progress stop + approval before any quarantine), the
  // exits (none besides the goal metric) and the store (in memory).
  using Tools = leash::ToolSet<Fix, Quarantine>;
  using Policies = leash::PolicyList<leash::NoProgress<3>, leash::RequireApproval<leash::ToolNamed<"quarantine">>>;
  Policies policies({}, {.reason = "quarantining hides a failure from CI"});  // policies carry parameters
  leash::Loop<leash::ScriptedPlanner, Tools, Policies> agent("make the failing tests pass", std::move(planner),
                                                             Tools(Fix{world}, Quarantine{world}),
                                                             std::move(policies), {}, {}, std::move(options));

  auto result = agent.run();  // never throws: every ending is a Status
  if (!result) {
    std::cerr << "leash-demo: the loop could not start: " << result.error().what() << '\n';
    return 1;
  }
  std::cout << '\n' << agent.explain().render();
  return result.value().status == leash::Status::success ? 0 : 1;
}
