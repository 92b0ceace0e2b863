// Definitions for leash/blueprint/testfix.hpp.
#ifndef LEASH_BLUEPRINT_IMPL_TESTFIX_HPP
#define LEASH_BLUEPRINT_IMPL_TESTFIX_HPP

#include <system_error>
#include <utility>

namespace leash::blueprint {

inline TestFramework resolve_framework(TestfixOptions const& options, RepoRoot const& root) {
  if (options.framework != TestFramework::detect) return options.framework;
  std::error_code ec;
  return std::filesystem::exists(root.path() / "CMakeLists.txt", ec) ? TestFramework::ctest : TestFramework::pytest;
}

namespace detail {

template <class Parser, class Planner, class Store>
result<std::unique_ptr<TestfixLoop<Planner, Store>>> build_testfix(Planner planner, TestfixOptions options,
                                                                  LoopOptions loop_options, Store store,
                                                                  RepoRoot root, std::string command) {
  auto runner = std::make_shared<TestRunner const>(root, std::move(command), options.test_timeout);
  loop_options.observe = [runner](State const&) { return runner->run(); };
  TestFailureMetric<Parser> metric;
  metric.full_output = [runner](std::string_view shown) { return runner->full_output_for(shown); };
  loop_options.goal_metric = std::move(metric);

  std::string goal = options.goal.empty()
                         ? "Fix the failing tests in " + root.path().filename().string() + " until all pass"
                         : std::move(options.goal);
  TestfixTools tools(RunTests{runner}, ReadFile{root}, EditFile{root}, ListFiles{root}, SearchText{root});
  TestfixPolicies policies(NoProgress<3>{},
                           RequireApproval<EditGate>{EditGate{options.approve_edits}, "edits need approval"});
  return std::make_unique<TestfixLoop<Planner, Store>>(std::move(goal), std::move(planner), std::move(tools),
                                                      std::move(policies), ExitList<>{}, std::move(store),
                                                      std::move(loop_options));
}

}  // namespace detail

template <class Planner, class Store>
result<std::unique_ptr<TestfixLoop<Planner, Store>>> make_testfix(Planner planner, TestfixOptions options,
                                                                 LoopOptions loop_options, Store store) {
  auto root = RepoRoot::open(options.repo);
  if (!root) return root.error();
  TestFramework framework = resolve_framework(options, root.value());
  if (framework == TestFramework::ctest) {
    std::string command = options.test_command.empty() ? std::string(CtestParser::default_command)
                                                       : options.test_command;
    return detail::build_testfix<CtestParser>(std::move(planner), std::move(options), std::move(loop_options),
                                              std::move(store), std::move(root).value(), std::move(command));
  }
  std::string command = options.test_command.empty() ? std::string(PytestParser::default_command)
                                                     : options.test_command;
  return detail::build_testfix<PytestParser>(std::move(planner), std::move(options), std::move(loop_options),
                                             std::move(store), std::move(root).value(), std::move(command));
}

template <TestOutputParser Parser, class Planner, class Store>
result<std::unique_ptr<TestfixLoop<Planner, Store>>> make_testfix_with(Planner planner, TestfixOptions options,
                                                                      LoopOptions loop_options, Store store) {
  if (options.test_command.empty())
    return Error{Errc::invalid_config, "a custom test-output parser needs TestfixOptions::test_command"};
  auto root = RepoRoot::open(options.repo);
  if (!root) return root.error();
  std::string command = options.test_command;
  return detail::build_testfix<Parser>(std::move(planner), std::move(options), std::move(loop_options),
                                       std::move(store), std::move(root).value(), std::move(command));
}

}  // namespace leash::blueprint

#endif
