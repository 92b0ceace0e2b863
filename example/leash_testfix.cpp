// leash_testfix.cpp — `leash-testfix`: an agent that makes a repository's
// failing tests pass (the testfix blueprint), on any model and any store.
//
//   leash-testfix REPO --model SPEC [--store SPEC] [--max-iterations N]
//                 [--approve-edits] [--test-command CMD] [--framework ctest|pytest]
//                 [--resume RUN_ID] [--trace FILE] [--quiet]
//
// It edits REPO in place. One progress line per iteration, then the report
// on why the loop stopped. Exit codes: 0 SUCCESS, 1 stopped with another
// status (the report says what to do next), 2 bad usage, 3 could not start
// (model, store or repository unusable; the message says which).
#include <leash/blueprint/testfix.hpp>
#include <leash/leash.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

namespace {

constexpr int exit_success = 0;
constexpr int exit_stopped = 1;
constexpr int exit_usage = 2;
constexpr int exit_cannot_start = 3;

/// `s` as one shell word.
std::string shell_quote(std::string const& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./:#=@+,") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int cannot_start(std::string const& what) {
  std::cerr << "leash-testfix: " << what << '\n';
  return exit_cannot_start;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs an agent that makes the failing tests of a repository pass, editing it in place.",
               "leash-testfix"};
  std::string repo = ".";
  std::string model = [] {
    char const* env = std::getenv("LEASH_MODEL");
    return std::string(env ? env : "");
  }();
  std::string store_spec = "sqlite:.leash/runs.db";
  std::uint64_t max_iterations = 20;
  bool approve_edits = false;
  std::string test_command;
  std::string framework = "detect";
  unsigned test_timeout_s = 300;
  std::string resume_id;
  std::string trace_path;
  bool quiet = false;

  app.add_option("REPO", repo, "The repository to fix (edited in place)")->capture_default_str();
  app.add_option("--model", model,
                 "Transport spec: openai:MODEL, anthropic:MODEL, openai-compatible:URL#MODEL, scripted:FILE "
                 "(default: $LEASH_MODEL)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--store", store_spec, "Where runs are kept: sqlite:PATH, file:DIR or memory:")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--max-iterations", max_iterations, "A hard ceiling on iterations (with --resume: the new ceiling)")
      ->capture_default_str();
  app.add_flag("--approve-edits", approve_edits, "Ask on the terminal before every edit (EOF denies)");
  app.add_option("--test-command", test_command,
                 "Shell command that runs the tests in REPO (default: configure, build and ctest for a CMake "
                 "project; python3 -m pytest otherwise)");
  app.add_option("--framework", framework, "Whose output to read")
      ->check(CLI::IsMember({"detect", "ctest", "pytest"}))
      ->capture_default_str();
  app.add_option("--test-timeout", test_timeout_s, "Seconds one test run may take")->capture_default_str();
  app.add_option("--resume", resume_id, "Continue this run of the store instead of starting one");
  app.add_option("--trace", trace_path, "Also append every event to this JSONL file");
  app.add_flag("--quiet", quiet, "Only the final report");
  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    int code = app.exit(e);
    return code == 0 ? exit_success : exit_usage;
  }

  if (model.empty()) {
    std::cerr << "leash-testfix: no model; pass --model SPEC (openai:gpt-4o, anthropic:claude-sonnet-4-6, "
                 "openai-compatible:http://127.0.0.1:8080/v1#MODEL, scripted:FILE) or set LEASH_MODEL\n";
    return exit_usage;
  }

  auto transport = leash::llm::make_transport(model);
  if (!transport) return cannot_start("model '" + model + "': " + transport.error().what());
  auto store = leash::open_store(store_spec);
  if (!store) return cannot_start(store.error().what());

  leash::LoopOptions options;
  options.limits.max_iterations = max_iterations;
  options.console = &std::cout;
  options.quiet = quiet;
  if (!quiet) options.trace_sinks.push_back(std::make_shared<leash::ProgressLineSink>(std::cout));
  if (!trace_path.empty()) {
    auto sink = leash::JsonlFileSink::open(trace_path);
    if (!sink) return cannot_start(sink.error().what());
    options.trace_sinks.push_back(std::move(sink).value());
  }
  if (approve_edits) options.approval = std::make_shared<leash::CliApprovalRunner>();

  leash::blueprint::TestfixOptions fix;
  fix.repo = repo;
  fix.test_command = test_command;
  fix.framework = framework == "ctest"    ? leash::blueprint::TestFramework::ctest
                  : framework == "pytest" ? leash::blueprint::TestFramework::pytest
                                          : leash::blueprint::TestFramework::detect;
  fix.test_timeout = std::chrono::seconds(test_timeout_s);
  fix.approve_edits = approve_edits;

  auto agent = leash::blueprint::make_testfix(leash::LlmPlanner(std::move(transport).value()), std::move(fix),
                                              std::move(options), std::move(store).value());
  if (!agent) return cannot_start(agent.error().what());
  auto& loop = *agent.value();

  // A resumed run keeps the limits it was started with unless raised here.
  leash::ResumeOptions resume;
  if (app.count("--max-iterations")) resume.extend.max_iterations = max_iterations;
  auto result = resume_id.empty() ? loop.run() : loop.resume(resume_id, resume);
  if (!result) return cannot_start(result.error().what());

  std::cout << '\n' << loop.explain().render();
  auto const& r = result.value();
  std::cout << "\nrun " << loop.state().run_id << " in " << store_spec << '\n';
  if (r.status != leash::Status::success && r.resumable) {
    // Every option that shapes the run, so continuing it cannot drop a gate.
    std::string again = "leash-testfix " + shell_quote(repo) + " --model " + shell_quote(model) + " --store " +
                        shell_quote(store_spec);
    if (approve_edits) again += " --approve-edits";
    if (!test_command.empty()) again += " --test-command " + shell_quote(test_command);
    if (framework != "detect") again += " --framework " + framework;
    if (app.count("--test-timeout")) again += " --test-timeout " + std::to_string(test_timeout_s);
    std::cout << "continue it with: " << again << " --resume " << loop.state().run_id << '\n';
  }
  return r.status == leash::Status::success ? exit_success : exit_stopped;
}
