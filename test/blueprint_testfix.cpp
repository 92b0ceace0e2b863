// Tests of leash/blueprint/testfix.hpp, end to end: the shipped sample
// project (example/testfix/sample, a CMake project with two failing tests)
// copied to a temporary directory, fixed by the shipped replay
// (example/testfix/replay.jsonl) through the real transport stack, with
// real cmake, compiler and ctest runs.
#include <leash/blueprint/testfix.hpp>

#include <leash/llm/llm_planner.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/store/open.hpp>

#include "store_kinds.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace bp = leash::blueprint;
namespace fs = std::filesystem;
using leash_test::TempDir;

namespace {

std::string const source_dir = LEASH_SOURCE_DIR;
fs::path const sample = fs::path(source_dir) / "example" / "testfix" / "sample";
std::string const replay = source_dir + "/example/testfix/replay.jsonl";

std::string slurp(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

leash::LlmPlanner replay_planner() {
  auto t = leash::llm::ScriptedTransport::from_file(replay, "gpt-4o");
  BOOST_TEST_REQUIRE(t.has_value(), (t.has_error() ? t.error().what() : ""));
  return leash::LlmPlanner(leash::llm::AnyTransport(std::move(t).value()));
}

/// A fresh copy of the sample in a temporary directory.
struct SampleCopy {
  TempDir dir{"leash-testfix"};
  fs::path repo = dir.path() / "sample";
  SampleCopy() { fs::copy(sample, repo, fs::copy_options::recursive); }
};

std::string const buggy_clamp = "if (v > hi) return lo;";

leash::LoopOptions quiet_options() {
  leash::LoopOptions o;
  o.quiet = true;
  o.limits.max_iterations = 10;
  return o;
}

std::vector<std::string> failing_at(leash::State const& s, std::size_t i) {
  std::vector<std::string> out;
  for (auto const& v : s.iterations.at(i).metric->detail.at("failing").as_array()) out.emplace_back(v.as_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blueprint_testfix)

// Reference scenario 16 (test_testfix_loop_end_to_end), on a CMake project.
BOOST_AUTO_TEST_CASE(the_replay_fixes_a_copy_of_the_sample_and_ends_in_success) {
  SampleCopy copy;
  bp::TestfixOptions fix;
  fix.repo = copy.repo;
  auto store = leash::open_store("sqlite:" + (copy.dir.path() / "runs.db").string());
  BOOST_TEST_REQUIRE(store.has_value());
  auto sink = std::make_shared<leash::MemorySink>();
  auto options = quiet_options();
  options.trace_sinks.push_back(sink);
  auto agent = bp::make_testfix(replay_planner(), fix, options, std::move(store).value());
  BOOST_TEST_REQUIRE(agent.has_value());
  auto r = agent.value()->run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(leash::to_string(r.value().status) == "SUCCESS", agent.value()->explain().render());

  auto const& s = agent.value()->state();
  BOOST_TEST(s.goal == "Fix the failing tests in sample until all pass");
  BOOST_TEST(failing_at(s, 0) == (std::vector<std::string>{"stats.clamp", "stats.median"}));
  BOOST_TEST(failing_at(s, 2) == (std::vector<std::string>{"stats.median"}));
  BOOST_TEST(s.iterations.back().metric->value == 2.0);
  BOOST_TEST(s.iterations.size() == 4u);
  BOOST_TEST(s.metrics.llm_calls == 3u);

  // The copy is fixed (tests pass when run again by hand); the shipped sample is untouched.
  std::string fixed = slurp(copy.repo / "src" / "stats.hpp");
  BOOST_TEST(fixed.find("if (v > hi) return hi;") != std::string::npos);
  BOOST_TEST(slurp(sample / "src" / "stats.hpp").find(buggy_clamp) != std::string::npos);
  auto again = leash::run_command(leash::Command::shell(std::string(bp::CtestParser::default_command)),
                                  [&] {
                                    leash::CommandOptions o;
                                    o.cwd = copy.repo;
                                    o.timeout = std::chrono::minutes(5);
                                    return o;
                                  }());
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again.value().exit_code == 0, again.value().out);

  // The explain report tells the story the progress lines told.
  BOOST_TEST(agent.value()->explain().render().find("3. iteration 2: edit_file[ok] metric=1") != std::string::npos);
  std::size_t edits = 0;
  for (auto const& e : sink->events())
    if (e.kind == leash::event::action_executed && e.fields.at("tool") == "edit_file") ++edits;
  BOOST_TEST(edits == 2u);
}

// --approve-edits, headless: the run pauses before the first edit with a
// token; resumed with it approved, the edit runs and the run goes on (the
// second edit pauses again; approving that one ends in SUCCESS).
BOOST_AUTO_TEST_CASE(gated_edits_pause_and_resume_with_the_token) {
  SampleCopy copy;
  auto spec = "sqlite:" + (copy.dir.path() / "runs.db").string();
  bp::TestfixOptions fix;
  fix.repo = copy.repo;
  fix.approve_edits = true;
  auto options = quiet_options();
  options.approval = std::make_shared<leash::HeadlessApprovalRunner>();
  auto transport = leash::llm::ScriptedTransport::from_file(replay, "gpt-4o");
  BOOST_TEST_REQUIRE(transport.has_value());
  leash::llm::AnyTransport shared(std::move(transport).value());  // one script position across both loops

  auto first = bp::make_testfix(leash::LlmPlanner(shared), fix, options, leash::open_store(spec).value());
  BOOST_TEST_REQUIRE(first.has_value());
  auto paused = first.value()->run();
  BOOST_TEST_REQUIRE(paused.has_value());
  BOOST_TEST(leash::to_string(paused.value().status) == "AWAITING_APPROVAL");
  BOOST_TEST(slurp(copy.repo / "src" / "stats.hpp").find(buggy_clamp) != std::string::npos);  // nothing edited yet
  std::string run_id = first.value()->state().run_id;

  // A later process: same store, same options, the token from the result.
  std::string token = *paused.value().approval_token;
  for (int round = 0; round < 2; ++round) {
    auto later = bp::make_testfix(leash::LlmPlanner(shared), fix, options, leash::open_store(spec).value());
    BOOST_TEST_REQUIRE(later.has_value());
    leash::ResumeOptions answer;
    answer.approval = leash::ApprovalAnswer{token, true};
    auto r = later.value()->resume(run_id, answer);
    BOOST_TEST_REQUIRE(r.has_value(), (r.has_error() ? r.error().what() : ""));
    if (round == 0) {
      BOOST_TEST(leash::to_string(r.value().status) == "AWAITING_APPROVAL");
      BOOST_TEST(slurp(copy.repo / "src" / "stats.hpp").find("if (v > hi) return hi;") != std::string::npos);
      token = *r.value().approval_token;
    } else {
      BOOST_TEST(leash::to_string(r.value().status) == "SUCCESS", later.value()->explain().render());
    }
  }
}

// --approve-edits on a terminal: the person sees the edit as a diff, not as
// a JSON string holding the whole file; "n" denies and nothing changes.
BOOST_AUTO_TEST_CASE(a_terminal_approver_sees_a_diff_and_a_denied_edit_changes_nothing) {
  SampleCopy copy;
  bp::TestfixOptions fix;
  fix.repo = copy.repo;
  fix.approve_edits = true;
  auto options = quiet_options();
  std::istringstream answers("n\n");
  std::ostringstream shown;
  options.approval = std::make_shared<leash::CliApprovalRunner>(answers, shown);
  auto agent = bp::make_testfix(replay_planner(), fix, options);
  BOOST_TEST_REQUIRE(agent.has_value());
  auto r = agent.value()->run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(leash::to_string(r.value().status) == "APPROVAL_DENIED");
  BOOST_TEST(r.value().reason == "denied via CLI");
  BOOST_TEST(slurp(copy.repo / "src" / "stats.hpp") == slurp(sample / "src" / "stats.hpp"));
  BOOST_TEST(shown.str().find("[leash] approval required: edit_file\n--- a/src/stats.hpp\n+++ b/src/stats.hpp\n@@ ") !=
                 std::string::npos,
             shown.str());
  BOOST_TEST(shown.str().find("\n-  if (v > hi) return lo;\n+  if (v > hi) return hi;\n") != std::string::npos);
  BOOST_TEST(shown.str().find("\\n") == std::string::npos);  // no escaped JSON blob
}

BOOST_AUTO_TEST_CASE(the_framework_is_detected_and_the_repository_checked) {
  TempDir dir{"leash-testfix"};
  auto root = bp::RepoRoot::open(sample).value();
  bp::TestfixOptions detect;
  BOOST_TEST((bp::resolve_framework(detect, root) == bp::TestFramework::ctest));
  auto py = bp::RepoRoot::open(dir.path()).value();
  BOOST_TEST((bp::resolve_framework(detect, py) == bp::TestFramework::pytest));
  bp::TestfixOptions ctest;
  ctest.framework = bp::TestFramework::ctest;
  BOOST_TEST((bp::resolve_framework(ctest, py) == bp::TestFramework::ctest));

  bp::TestfixOptions nowhere;
  nowhere.repo = dir.path() / "nope";
  auto missing = bp::make_testfix(replay_planner(), nowhere, quiet_options());
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST(missing.error() == leash::Errc::invalid_config);
  bp::TestfixOptions here;
  here.repo = dir.path();
  auto no_command = bp::make_testfix_with<bp::PytestParser>(replay_planner(), here, quiet_options());
  BOOST_TEST_REQUIRE(no_command.has_error());
  BOOST_TEST(std::string(no_command.error().what()).find("test_command") != std::string::npos);
}

#ifdef LEASH_TESTFIX_PATH
// The README's main job, as a user runs it: the program, its progress lines,
// its report and exit code, a store on disk.
BOOST_AUTO_TEST_CASE(the_leash_testfix_program_fixes_the_sample) {
  SampleCopy copy;
  auto store = "sqlite:" + (copy.dir.path() / "runs.db").string();
  auto r = leash::run_command(
      leash::Command::exec({LEASH_TESTFIX_PATH, copy.repo.string(), "--model", "scripted:" + replay + "#gpt-4o",
                            "--store", store}),
      [] {
        leash::CommandOptions o;
        o.timeout = std::chrono::minutes(5);
        return o;
      }());
  BOOST_TEST_REQUIRE(r.has_value());
  auto const& out = r.value().out;
  BOOST_TEST(r.value().exit_code == 0, out << r.value().err);
  BOOST_TEST(out.find("iteration 0 | metric 0 (2 failing) | calls: list_files[ok] read_file[ok] | tokens ") != std::string::npos,
             out);
  BOOST_TEST(out.find("iteration 2 | metric 1 (1 failing) | calls: edit_file[ok] | tokens ") != std::string::npos);
  BOOST_TEST(out.find("# Why the loop stopped: SUCCESS") != std::string::npos);
  BOOST_TEST(out.find("cost $0.0") != std::string::npos);  // priced as gpt-4o

  auto usage = leash::run_command(leash::Command::exec({LEASH_TESTFIX_PATH, copy.repo.string()}),
                                  [] {
                                    leash::CommandOptions o;
                                    o.unset_env = {"LEASH_MODEL"};
                                    return o;
                                  }());
  BOOST_TEST_REQUIRE(usage.has_value());
  BOOST_TEST(usage.value().exit_code == 2);
  BOOST_TEST(usage.value().err.find("no model") != std::string::npos);
  auto bad_model = leash::run_command(
      leash::Command::exec({LEASH_TESTFIX_PATH, copy.repo.string(), "--model", "scripted:/nonexistent.jsonl"}));
  BOOST_TEST_REQUIRE(bad_model.has_value());
  BOOST_TEST(bad_model.value().exit_code == 3);
  BOOST_TEST(bad_model.value().err.find("/nonexistent.jsonl") != std::string::npos);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
