// leash/blueprint/testfix.hpp — a ready agent for "make the failing tests of
// this repository pass".
//
//   auto transport = leash::llm::make_transport("openai:gpt-4o");
//   leash::blueprint::TestfixOptions fix;
//   fix.repo = "path/to/repo";                       // ctest or pytest, detected
//   auto agent = leash::blueprint::make_testfix(leash::LlmPlanner(*transport), fix);
//   if (!agent) return fail(agent.error());
//   auto result = (*agent)->run();                   // SUCCESS once nothing fails
//
// Each iteration the test command runs (the observation); the goal metric
// tracks failing tests by identity; the model reads, searches and edits files
// under the repository root, and may run the tests again. Reference:
// tightloop's blueprints/testfix.py, with the differences its header lists.
#ifndef LEASH_BLUEPRINT_TESTFIX_HPP
#define LEASH_BLUEPRINT_TESTFIX_HPP

#include <leash/blueprint/repo_tools.hpp>
#include <leash/blueprint/test_report.hpp>
#include <leash/loop.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace leash::blueprint {

/// Gates `edit_file` when enabled (RequireApproval's predicate). The flag is
/// runtime; the policy's type stays fixed.
struct EditGate {
  bool enabled = false;
  bool operator()(std::string_view tool, json::object const&) const noexcept {
    return enabled && tool == EditFile::name;
  }
};

using TestfixTools = ToolSet<RunTests, ReadFile, EditFile, ListFiles, SearchText>;
using TestfixPolicies = PolicyList<NoProgress<3>, RequireApproval<EditGate>>;

/// The testfix agent: any planner, any store.
template <class Planner, class Store = AnyStore>
using TestfixLoop = Loop<Planner, TestfixTools, TestfixPolicies, ExitList<>, Store>;

/// Which test runner's output to read.
enum class TestFramework {
  detect,  ///< ctest when the root has CMakeLists.txt, else pytest
  ctest,
  pytest,
};

/// What make_testfix needs besides the planner and the store.
struct TestfixOptions {
  std::filesystem::path repo = ".";
  TestFramework framework = TestFramework::detect;
  /// Runs through /bin/sh in the repository. Empty: the framework's default
  /// (CtestParser::default_command, PytestParser::default_command).
  std::string test_command;
  std::chrono::seconds test_timeout{300};
  /// Ask the approval runner (LoopOptions::approval) before every edit.
  bool approve_edits = false;
  /// Empty: "Fix the failing tests in <repo dir> until all pass".
  std::string goal;
};

/// The framework `options` name, with `detect` settled against the repository.
TestFramework resolve_framework(TestfixOptions const& options, RepoRoot const& root);

/// Builds the agent: checks the repository, picks the command and the parser,
/// and sets `loop_options.observe` and `goal_metric` (replacing any set).
/// Errc::invalid_config when the repository is not a directory.
template <class Planner, class Store = AnyStore>
result<std::unique_ptr<TestfixLoop<Planner, Store>>> make_testfix(Planner planner, TestfixOptions options,
                                                                 LoopOptions loop_options = {}, Store store = {});

/// The same with a parser of the caller's (for a runner neither shipped parser
/// reads); `options.test_command` is then required.
template <TestOutputParser Parser, class Planner, class Store = AnyStore>
result<std::unique_ptr<TestfixLoop<Planner, Store>>> make_testfix_with(Planner planner, TestfixOptions options,
                                                                      LoopOptions loop_options = {},
                                                                      Store store = {});

}  // namespace leash::blueprint

#include <leash/blueprint/impl/testfix.hpp>

#endif
