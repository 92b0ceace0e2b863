// Tests of leash/blueprint/test_report.hpp: the parsers on real ctest and
// pytest output (captured into test/data/testfix), and the failing-test metric.
#include <leash/blueprint/test_report.hpp>

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace bp = leash::blueprint;
namespace bj = boost::json;

namespace {

std::string data(std::string const& name) {
  std::ifstream in(std::string(LEASH_SOURCE_DIR) + "/test/data/testfix/" + name, std::ios::binary);
  BOOST_TEST_REQUIRE(static_cast<bool>(in), "missing test data " << name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Names = std::set<std::string>;

/// Appends a measured iteration to `s`, as the loop would.
void record(leash::State& s, leash::MetricSnapshot const& m) {
  leash::IterationRecord it;
  it.index = s.iterations.size();
  it.metric = m;
  s.iterations.push_back(std::move(it));
}

Names failing_of(leash::MetricSnapshot const& m) {
  Names out;
  for (auto const& v : m.detail.at("failing").as_array()) out.emplace(v.as_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blueprint_test_report)

BOOST_AUTO_TEST_CASE(ctest_summary_names_failed_crashed_timed_out_and_not_run_tests_but_not_disabled_ones) {
  auto r = bp::CtestParser{}.parse(data("ctest_mixed.txt"));
  BOOST_TEST(r.summary_seen);
  BOOST_TEST(r.failing == (Names{"fails", "crashes", "slow", "missing_exe", "name with spaces"}));
  // -j2 interleaves the progress lines; the summary is the same.
  auto p = bp::CtestParser{}.parse(data("ctest_parallel.txt"));
  BOOST_TEST(p.failing == r.failing);
  auto sample = bp::CtestParser{}.parse(data("ctest_sample.txt"));
  BOOST_TEST(sample.failing == (Names{"stats.clamp", "stats.median"}));
}

BOOST_AUTO_TEST_CASE(ctest_cut_short_before_its_summary_falls_back_to_progress_lines) {
  std::string out = data("ctest_mixed.txt");
  out.resize(out.find("17% tests passed"));
  auto r = bp::CtestParser{}.parse(out);
  BOOST_TEST(!r.summary_seen);
  BOOST_TEST(r.failing == (Names{"fails", "crashes", "slow", "missing_exe", "name with spaces"}));
}

BOOST_AUTO_TEST_CASE(ctest_with_no_tests_reports_a_summary_and_no_failures) {
  auto r = bp::CtestParser{}.parse(data("ctest_no_tests.txt"));
  BOOST_TEST(r.summary_seen);
  BOOST_TEST(r.failing.empty());
  BOOST_TEST(bp::exit_code_marker(data("ctest_no_tests.txt")).value_or(-1000) == 0);
}

BOOST_AUTO_TEST_CASE(pytest_short_summary_ids_keep_classes_and_parameters) {
  auto r = bp::PytestParser{}.parse(data("pytest_failures.txt"));
  BOOST_TEST(r.summary_seen);
  BOOST_TEST(r.failing == (Names{"tests/test_calc.py::test_add", "tests/test_calc.py::test_add_param[1-1-2]",
                                 "tests/test_calc.py::test_add_param[2-2-4]",
                                 "tests/test_calc.py::TestGroup::test_in_class_fails",
                                 "tests/test_calc.py::test_uses_broken_fixture"}));
  // Without -q the summary line is framed by '='; the ids are the same.
  auto v = bp::PytestParser{}.parse(data("pytest_failures_verbose_header.txt"));
  BOOST_TEST(v.summary_seen);
  BOOST_TEST(v.failing == r.failing);
}

BOOST_AUTO_TEST_CASE(pytest_collection_error_names_the_module_and_a_clean_run_names_nothing) {
  auto r = bp::PytestParser{}.parse(data("pytest_collection_error.txt"));
  BOOST_TEST(r.summary_seen);
  BOOST_TEST(r.failing == (Names{"tests/test_import.py"}));
  BOOST_TEST(bp::exit_code_marker(data("pytest_collection_error.txt")).value_or(-1000) == 2);
  auto ok = bp::PytestParser{}.parse(data("pytest_all_pass.txt"));
  BOOST_TEST(ok.summary_seen);
  BOOST_TEST(ok.failing.empty());
}

// Reference scenario 14 (test_parse_failing), with noise lines around.
BOOST_AUTO_TEST_CASE(pytest_reference_lines_with_and_without_messages) {
  auto r = bp::PytestParser{}.parse(
      "noise\nFAILED tests/test_a.py::test_one - AssertionError\nFAILED tests/test_b.py::test_two\n"
      "ERROR tests/test_c.py::test_three\n  FAILED indented::is_not_a_summary\nsomething FAILED x\n");
  BOOST_TEST(r.failing == (Names{"tests/test_a.py::test_one", "tests/test_b.py::test_two",
                                 "tests/test_c.py::test_three"}));
  BOOST_TEST(!r.summary_seen);
}

BOOST_AUTO_TEST_CASE(exit_code_marker_takes_the_last_well_formed_one) {
  BOOST_TEST(bp::exit_code_marker("x\n[exit code: 0]\ny\n[exit code: -9] [timed out]").value_or(-1000) == -9);
  BOOST_TEST(!bp::exit_code_marker("no marker").has_value());
  BOOST_TEST(!bp::exit_code_marker("[exit code: x]").has_value());
  BOOST_TEST(!bp::exit_code_marker("[exit code: 3").has_value());
}

// Reference scenario 15: identity, not counts.
BOOST_AUTO_TEST_CASE(metric_tracks_identity_not_counts) {
  bp::TestFailureMetric<bp::PytestParser> metric;
  leash::State s;
  auto m0 = metric.measure("FAILED t::a\nFAILED t::b\n2 failed in 0.1s\n[exit code: 1]", s);
  BOOST_TEST(m0.value == 0.0);
  BOOST_TEST(!m0.regression);
  BOOST_TEST(failing_of(m0) == (Names{"t::a", "t::b"}));
  BOOST_TEST(!metric.is_success(m0));
  record(s, m0);

  auto m1 = metric.measure("FAILED t::b\nFAILED t::c\n2 failed in 0.1s\n[exit code: 1]", s);
  BOOST_TEST(m1.value == 0.0);  // one fixed, one newly broken
  BOOST_TEST(m1.regression);
  BOOST_TEST(m1.detail.at("newly_broken").to_number<int>() == 1);
  BOOST_TEST(m1.detail.at("fixed").to_number<int>() == 1);
  BOOST_TEST(m1.detail.at("baseline") == (bj::array{"t::a", "t::b"}));
  record(s, m1);

  auto m2 = metric.measure("2 passed in 0.1s\n[exit code: 0]", s);
  BOOST_TEST(metric.is_success(m2));
  BOOST_TEST(m2.value == 2.0);
  BOOST_TEST(!m2.regression);
  BOOST_TEST(!metric.is_success(m1));
}

BOOST_AUTO_TEST_CASE(metric_flags_a_test_failing_again_that_the_previous_run_had_fixed) {
  bp::TestFailureMetric<bp::CtestParser> metric;
  leash::State s;
  auto out = [](std::string names) {
    std::string o = "50% tests passed, 1 tests failed out of 2\n\nThe following tests FAILED:\n";
    o += names + "Errors while running CTest\n[exit code: 8]";
    return o;
  };
  record(s, metric.measure(out("\t  1 - a (Failed)\n\t  2 - b (Failed)\n"), s));
  auto fixed_b = metric.measure(out("\t  1 - a (Failed)\n"), s);
  BOOST_TEST(!fixed_b.regression);
  BOOST_TEST(fixed_b.value == 1.0);
  record(s, fixed_b);
  auto b_again = metric.measure(out("\t  1 - a (Failed)\n\t  2 - b (Failed)\n"), s);
  BOOST_TEST(b_again.regression);  // not newly broken against the baseline, but against the last run
  BOOST_TEST(b_again.value == 0.0);
}

// Where leash differs from the reference on purpose: a build that breaks
// names no failing test, and must not read as "everything fixed".
BOOST_AUTO_TEST_CASE(a_failed_command_without_test_ids_is_a_regression_never_progress) {
  bp::TestFailureMetric<bp::CtestParser> metric;
  leash::State s;
  record(s, metric.measure(data("ctest_sample.txt"), s));
  auto broken = metric.measure("stats.hpp:3:1: error: expected ';'\ngmake: *** [all] Error 2\n[exit code: 2]", s);
  BOOST_TEST(broken.regression);
  BOOST_TEST(broken.value == -1.0);
  BOOST_TEST(failing_of(broken) == (Names{"stats.clamp", "stats.median", std::string(bp::unidentified_failure)}));
  BOOST_TEST(!metric.is_success(broken));

  // No exit marker at all (a custom observation) is not a success either.
  leash::State fresh;
  auto unknown = metric.measure("nothing to see", fresh);
  BOOST_TEST(!metric.is_success(unknown));
  BOOST_TEST(unknown.detail.at("exit_code").is_null());
}

BOOST_AUTO_TEST_CASE(the_baseline_survives_a_metric_stored_and_read_back) {
  bp::TestFailureMetric<bp::PytestParser> metric;
  leash::State s;
  auto m0 = metric.measure("FAILED t::a\n[exit code: 1]", s);
  // What a store gives back (JSON round trip: numbers may come back unsigned).
  leash::MetricSnapshot back;
  back.value = m0.value;
  back.detail = bj::parse(bj::serialize(m0.detail)).as_object();
  record(s, back);
  auto m1 = metric.measure("1 passed in 0.01s\n[exit code: 0]", s);
  BOOST_TEST(m1.detail.at("baseline") == (bj::array{"t::a"}));
  BOOST_TEST(metric.is_success(m1));
  auto stored = m1;
  stored.detail["exit_code"] = std::uint64_t{0};
  BOOST_TEST(metric.is_success(stored));
}

// Found in review: with -rA or log capture, pytest prints log records such as
// "ERROR    root:calc.py:7 overflow" before the summary; they are not test ids.
BOOST_AUTO_TEST_CASE(pytest_ids_come_from_the_summary_section_when_there_is_one) {
  auto r = bp::PytestParser{}.parse(
      "------ Captured log call ------\nERROR    root:calc.py:7 overflow 42\n"
      "=== short test summary info ===\nFAILED t.py::test_x - boom\n1 failed in 0.1s\n[exit code: 1]");
  BOOST_TEST(r.failing == (Names{"t.py::test_x"}));
}

BOOST_AUTO_TEST_CASE(a_first_run_with_a_broken_build_does_not_become_the_baseline) {
  bp::TestFailureMetric<bp::CtestParser> metric;
  leash::State s;
  auto broken = metric.measure("error: expected ';'\n[exit code: 2]", s);
  BOOST_TEST(failing_of(broken) == (Names{std::string(bp::unidentified_failure)}));
  record(s, broken);
  auto built = metric.measure(data("ctest_sample.txt"), s);  // the build works; two tests fail
  BOOST_TEST(built.detail.at("baseline") == (bj::array{"stats.clamp", "stats.median"}));
  BOOST_TEST(built.value == 0.0);
  record(s, built);
  std::string one_left = data("ctest_sample.txt");
  std::string const clamp_line = "\t  3 - stats.clamp (Failed)\n";
  one_left.erase(one_left.find(clamp_line), clamp_line.size());
  auto better = metric.measure(one_left, s);
  BOOST_TEST(better.value == 1.0);
  BOOST_TEST(!better.regression);
}

// Found in review: the model sees a cut observation; the metric must count
// every failure of the full output.
BOOST_AUTO_TEST_CASE(the_metric_parses_the_uncut_output_when_it_has_one) {
  std::string full, cut = "FAILED t::a\n... [left out] ...\n[exit code: 1]";
  for (int i = 0; i < 300; ++i) full += "FAILED t::test_" + std::to_string(i) + "\n";
  full += "300 failed in 1.0s\n[exit code: 1]";
  bp::TestFailureMetric<bp::PytestParser> metric;
  metric.full_output = [&](std::string_view shown) { return shown == cut ? full : std::string(shown); };
  leash::State s;
  auto m = metric.measure(cut, s);
  BOOST_TEST(failing_of(m).size() == 300u);
}

struct CountLines {
  bp::TestRunReport parse(std::string_view out) const {
    bp::TestRunReport r;
    if (out.find("BAD") != std::string_view::npos) r.failing.emplace("bad");
    r.summary_seen = true;
    return r;
  }
};
static_assert(bp::TestOutputParser<CountLines>);
static_assert(bp::TestOutputParser<bp::CtestParser> && bp::TestOutputParser<bp::PytestParser>);
static_assert(leash::GoalMetric<bp::TestFailureMetric<CountLines>>);

BOOST_AUTO_TEST_CASE(a_user_supplied_parser_drives_the_same_metric) {
  bp::TestFailureMetric<CountLines> metric;
  leash::State s;
  auto m = metric.measure("BAD\n[exit code: 1]", s);
  BOOST_TEST(failing_of(m) == (Names{"bad"}));
  record(s, m);
  BOOST_TEST(metric.is_success(metric.measure("good\n[exit code: 0]", s)));
}

BOOST_AUTO_TEST_SUITE_END()
