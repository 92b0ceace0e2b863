// leash/blueprint/test_report.hpp — reading a test run's output: which tests
// fail, by identity, and the goal metric of the testfix blueprint.
//
//   leash::blueprint::CtestParser ctest;
//   auto report = ctest.parse(output);          // report.failing: {"calc.add", …}
//   options.goal_metric = leash::blueprint::TestFailureMetric<leash::blueprint::PytestParser>{};
//
// A TestOutputParser is any type with `TestRunReport parse(std::string_view)
// const`; CtestParser and PytestParser are the two shipped. The metric tracks
// failing tests by identity, not by count (reference: tightloop's
// PytestFailureMetric), so fixing one test while breaking another is no gain.
#ifndef LEASH_BLUEPRINT_TEST_REPORT_HPP
#define LEASH_BLUEPRINT_TEST_REPORT_HPP

#include <leash/progress.hpp>
#include <leash/state.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace leash::blueprint {

/// What a parser read from one run of a test command.
struct TestRunReport {
  /// Identities of the tests that failed, errored, timed out or did not run.
  std::set<std::string> failing;
  /// The output holds the runner's closing summary ("67% tests passed, …",
  /// "4 failed, 2 passed in 0.03s"): the run got as far as reporting.
  bool summary_seen = false;
};

/// The TestOutputParser requirement: `p.parse(output)` gives a TestRunReport.
template <class P>
concept TestOutputParser = std::default_initializable<P> && requires(P const& p, std::string_view output) {
  { p.parse(output) } -> std::convertible_to<TestRunReport>;
};

/// CTest's console output (the default command fails when no test is
/// found: deleting every test must not read as success). A test fails when the "The following tests FAILED:"
/// list names it, or when its progress line ends in `***Failed`, `***Timeout`,
/// `***Exception…` or `***Not Run…` (so a run cut short before the summary
/// still counts). Disabled tests are not failures.
struct CtestParser {
  static constexpr std::string_view name = "ctest";
  /// `ctest --test-dir BUILD --output-on-failure` after configuring and building.
  static constexpr std::string_view default_command =
      "cmake -S . -B build/leash-testfix -DCMAKE_BUILD_TYPE=Debug > /dev/null"
      " && cmake --build build/leash-testfix"
      " && ctest --test-dir build/leash-testfix --output-on-failure --no-tests=error";
  TestRunReport parse(std::string_view output) const;
};

/// pytest's console output with a short summary (`-rfE`): the id after a
/// line-leading `FAILED ` or `ERROR `, up to a ` - ` message, trimmed; only
/// below the "short test summary info" banner when there is one (captured
/// log lines also start with `ERROR`). Unlike
/// the reference, which keeps the first whitespace-separated word, an id with
/// spaces in its parameters stays whole.
struct PytestParser {
  static constexpr std::string_view name = "pytest";
  static constexpr std::string_view default_command = "python3 -m pytest -q -rfE --tb=short";
  TestRunReport parse(std::string_view output) const;
};

/// The exit code in a `[exit code: N]` marker (the last one), as the testfix
/// test runner appends it to every output.
std::optional<int> exit_code_marker(std::string_view observation);

/// Stands for "failures the output does not name": the command failed and no
/// failing test could be read (a build error, a collection error without
/// `-rE`, a crash before any test ran).
inline constexpr std::string_view unidentified_failure = "<unidentified failure>";

/// The testfix goal metric over a parser.
///
/// Detail: `failing`, `baseline` (the failing set of the run's first measured
/// iteration), `fixed` and `newly_broken` (counts against the baseline),
/// `exit_code` (null when the output has no marker). Value = fixed − newly
/// broken. Regression: something newly broken against the baseline, or
/// failing now that did not fail at the previous measurement. The baseline
/// is the first measurement that named its failures (a run whose first
/// build was broken gets its baseline once the build works).
///
/// Differs from the reference on purpose: when the command fails and the
/// parser finds no failing test, the reference reads "nothing fails", so a
/// broken build counts as every baseline test fixed. Here the previous
/// failing set is kept and `<unidentified failure>` is added: a regression,
/// never progress.
template <TestOutputParser Parser>
struct TestFailureMetric {
  Parser parser{};
  /// Maps an observation to the uncut output it was made from
  /// (TestRunner::full_output_for), so failures cut from a long output still
  /// count. Empty: the observation is parsed as it is.
  std::function<std::string(std::string_view)> full_output;

  MetricSnapshot measure(std::string_view observation, State const& state) const;
  /// Nothing fails and the command exited 0.
  bool is_success(MetricSnapshot const& snapshot) const;
};

}  // namespace leash::blueprint

#include <leash/blueprint/impl/test_report.hpp>

#endif
